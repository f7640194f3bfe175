"""Read an export that may be a folder or a zip archive, without ever extracting it.

Slack workspace exports arrive as a zip or as the folder it unpacks to. Both
are read through one :class:`Tree`: a sorted list of member names (POSIX
paths relative to the export's root) and a ``read(name) -> bytes``. Zip
members are read in memory, never written to disk, so a member whose name
escapes the folder (``../../etc/passwd``, ``/abs/path``, ``C:\\x``) cannot do
harm; such names are still *refused* (listed in :attr:`Tree.refused` with the
reason) so that the connector can quarantine them and say so.

A zip that is truncated or corrupt raises :class:`~wfmine.errors.FormatError`
naming the file (and the member, when only one member is damaged), because a
half-read archive would silently lose records.
"""

from __future__ import annotations

import os
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Final

from wfmine.errors import FormatError

__all__ = ["MAX_MEMBER_BYTES", "Tree", "open_tree", "unsafe_reason"]

#: A member larger than this (uncompressed) is refused: exports hold small JSON
#: day files, and a bigger member is more likely a zip bomb than a record.
MAX_MEMBER_BYTES: Final = 512 * 1024 * 1024


def unsafe_reason(name: str) -> str | None:
    """Why the archive member ``name`` must not be read as part of the export, or ``None``.

    >>> unsafe_reason("general/2024-01-02.json") is None
    True
    >>> unsafe_reason("../evil.json")
    'member path escapes the export folder'
    """
    if not name or "\x00" in name:
        return "empty or NUL in member name"
    unified = name.replace("\\", "/")
    if unified.startswith("/") or (len(unified) > 1 and unified[1] == ":"):
        return "absolute member path"
    if any(part == ".." for part in PurePosixPath(unified).parts):
        return "member path escapes the export folder"
    return None


@dataclass
class Tree:
    """A read-only view of an export folder or zip: names and bytes, nothing extracted."""

    origin: str
    is_zip: bool
    names: list[str] = field(default_factory=list)
    #: (member name, reason) for members that were not read
    refused: list[tuple[str, str]] = field(default_factory=list)
    #: member name -> how many members of a zip carry it (only names held more than once)
    duplicates: dict[str, int] = field(default_factory=dict)
    _zip: zipfile.ZipFile | None = None
    _root: Path | None = None
    _members: dict[str, list[zipfile.ZipInfo]] = field(default_factory=dict)

    def read(self, name: str) -> bytes:
        """The bytes of member ``name`` (its first copy); a damaged zip member raises ``FormatError``."""
        return self.read_copies(name)[0]

    def read_copies(self, name: str) -> list[bytes]:
        """The bytes of every member named ``name``, in archive order.

        A zip may hold two members of one name; the later must not silently
        shadow the earlier, so a reader takes every copy (a folder has one).
        """
        if self._zip is not None:
            try:
                members: list[str | zipfile.ZipInfo] = [*self._members.get(name, [])] or [name]
                return [self._zip.read(member) for member in members]
            except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError) as exc:
                raise FormatError(
                    self.origin, f"damaged zip member: {exc}", position=name
                ) from None
        assert self._root is not None
        return [(self._root / name).read_bytes()]

    def where(self, name: str) -> str:
        """A human-readable location of member ``name`` (for raw records and quarantine)."""
        return f"{self.origin}!{name}" if self.is_zip else str(Path(self.origin) / name)

    def close(self) -> None:
        """Release the zip file handle, if any."""
        if self._zip is not None:
            self._zip.close()
            self._zip = None


def open_tree(path: str | os.PathLike[str]) -> Tree:
    """Open ``path`` (a folder or a zip file) as a :class:`Tree`.

    Raises ``FormatError`` when a file is not a readable zip archive (corrupt
    or truncated), naming the file.
    """
    p = Path(path)
    if p.is_dir():
        tree = Tree(origin=str(p), is_zip=False, _root=p)
        for dirpath, dirnames, filenames in os.walk(p, followlinks=False):
            dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
            for fname in filenames:
                full = Path(dirpath) / fname
                if full.is_symlink():
                    tree.refused.append((full.relative_to(p).as_posix(), "symbolic link"))
                    continue
                tree.names.append(full.relative_to(p).as_posix())
        tree.names.sort()
        return tree
    try:
        zf = zipfile.ZipFile(p)
        bad = zf.testzip()
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError) as exc:
        raise FormatError(p, f"not a readable zip archive (truncated or corrupt?): {exc}") from None
    if bad is not None:
        zf.close()
        raise FormatError(p, "damaged zip member (CRC mismatch)", position=bad)
    tree = Tree(origin=str(p), is_zip=True, _zip=zf)
    for info in zf.infolist():
        if info.is_dir():
            continue
        reason = unsafe_reason(info.filename)
        if reason is None and info.file_size > MAX_MEMBER_BYTES:
            reason = f"member larger than {MAX_MEMBER_BYTES} bytes uncompressed"
        if reason is not None:
            tree.refused.append((info.filename, reason))
            continue
        copies = tree._members.setdefault(info.filename, [])
        copies.append(info)
        if len(copies) == 1:
            tree.names.append(info.filename)
        else:
            tree.duplicates[info.filename] = len(copies)
    tree.names.sort()
    tree.refused.sort()
    return tree
