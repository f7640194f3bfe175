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

Size limits (zip bombs): a member larger than :data:`MAX_MEMBER_BYTES`
uncompressed is refused (quarantined by the connector, the rest loads), and
an archive whose members hold more than :data:`MAX_TOTAL_BYTES` in total is
refused as a whole, naming the member that crosses the limit. Both are
checked twice: first on the sizes the archive *declares*, before a byte is
decompressed, then on the bytes that really come out, while a member is
streamed in chunks, so a member that lies about its size is stopped after at
most its declared size (and then fails its checksum) rather than decompressed
in full. Memory stays bounded by the member limit.
"""

from __future__ import annotations

import io
import os
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Final

from wfmine.errors import FormatError

__all__ = ["MAX_MEMBER_BYTES", "MAX_TOTAL_BYTES", "Tree", "open_tree", "unsafe_reason"]

#: A member larger than this (uncompressed) is refused: exports hold small JSON
#: day files (a users.json of 10,000 people is ~30 MB), and a bigger member is
#: more likely a zip bomb than a record.
MAX_MEMBER_BYTES: Final = 256 * 1024 * 1024
#: An archive whose members hold more than this in total (uncompressed) is refused.
MAX_TOTAL_BYTES: Final = 4 * 1024 * 1024 * 1024
#: Members are decompressed this many bytes at a time.
_CHUNK: Final = 1024 * 1024


def _plain_relative(name: str) -> bool:
    """Whether ``name`` is a relative POSIX path a ``Path`` keeps as it is (no empty, ``.``
    part or trailing ``/``): then joining it to a folder's text is that ``Path``'s text."""
    return (
        bool(name)
        and not name.startswith("/")
        and all(part not in ("", ".") for part in name.split("/"))
    )


def _mib(n: int) -> str:
    return f"{n / 1024 / 1024:,.0f} MiB"


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
    #: uncompressed bytes really read from distinct members so far, and which members
    _read_total: int = 0
    _counted: set[str] = field(default_factory=set)
    #: member name -> :meth:`where` of it
    _where: dict[str, str] = field(default_factory=dict)

    def read(self, name: str) -> bytes:
        """The bytes of member ``name`` (its first copy); a damaged zip member raises ``FormatError``."""
        return self.read_copies(name)[0]

    def read_copies(self, name: str) -> list[bytes]:
        """The bytes of every member named ``name``, in archive order.

        A zip may hold two members of one name; the later must not silently
        shadow the earlier, so a reader takes every copy (a folder has one).
        """
        if self._zip is not None:
            members = self._members.get(name)
            if not members:
                raise FormatError(self.origin, "no such zip member", position=name)
            return [self._stream(info) for info in members]
        assert self._root is not None
        # by path text: the same file as ``self._root / name`` (names come from the walk)
        with open(os.path.join(self._root, name), "rb") as fh:
            return [fh.read()]

    def _stream(self, info: zipfile.ZipInfo) -> bytes:
        """Decompress one member in chunks, counting the bytes that really come out.

        The member and archive limits are enforced on those counts (the declared
        sizes were checked when the archive was opened, but they can lie).
        """
        assert self._zip is not None
        key = f"{info.filename}@{info.header_offset}"
        counted = key in self._counted
        buffer = io.BytesIO()  # grows in place: no second copy of the member to join
        size = 0
        try:
            with self._zip.open(info) as member:
                while chunk := member.read(_CHUNK):
                    size += len(chunk)
                    if size > MAX_MEMBER_BYTES:
                        raise FormatError(
                            self.origin,
                            f"zip member decompresses to more than {_mib(MAX_MEMBER_BYTES)} "
                            f"(it declares {info.file_size:,} bytes): refused as a likely zip bomb",
                            position=info.filename,
                        )
                    if not counted and self._read_total + size > MAX_TOTAL_BYTES:
                        raise FormatError(
                            self.origin,
                            f"the zip's members decompress to more than {_mib(MAX_TOTAL_BYTES)} "
                            "in total: refused as a likely zip bomb",
                            position=info.filename,
                        )
                    buffer.write(chunk)
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError) as exc:
            raise FormatError(
                self.origin,
                f"damaged zip member (its data does not match its declared size or checksum): {exc}",
                position=info.filename,
            ) from None
        if not counted:
            self._counted.add(key)
            self._read_total += size
        return buffer.getvalue()

    def where(self, name: str) -> str:
        """A human-readable location of member ``name`` (for raw records and quarantine);
        remembered per name (a reader asks again for every record of a member)."""
        text = self._where.get(name)
        if text is None:
            if self.is_zip:
                text = f"{self.origin}!{name}"
            elif os.sep == "/" and self.origin != "." and _plain_relative(name):
                # str(Path(origin) / name) by path text: origin is a Path's text already and
                # name a normalised relative POSIX path (a walk's), so joining them is the same
                text = os.path.join(self.origin, name)
            else:
                text = str(Path(self.origin) / name)
            self._where[name] = text
        return text

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
        top = os.fspath(p)
        # by path text (no Path per file): a member's name is its path below ``top`` with
        # "/" between parts, as ``Path.relative_to(p).as_posix()`` gives it
        prefix = len(os.path.join(top, ""))
        for dirpath, dirnames, filenames in os.walk(top, followlinks=False):
            dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
            below = dirpath[prefix:].replace(os.sep, "/") + "/" if dirpath != top else ""
            for fname in filenames:
                if os.path.islink(os.path.join(dirpath, fname)):
                    tree.refused.append((below + fname, "symbolic link"))
                    continue
                tree.names.append(below + fname)
        tree.names.sort()
        return tree
    try:
        # no testzip(): it would decompress every member (a bomb in full) before any
        # check; each member's checksum is verified as it is streamed instead
        zf = zipfile.ZipFile(p)
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError) as exc:
        raise FormatError(p, f"not a readable zip archive (truncated or corrupt?): {exc}") from None
    tree = Tree(origin=str(p), is_zip=True, _zip=zf)
    declared = 0
    for info in zf.infolist():
        if info.is_dir():
            continue
        reason = unsafe_reason(info.filename)
        if reason is None and info.file_size > MAX_MEMBER_BYTES:
            reason = (
                f"member declares {info.file_size:,} bytes uncompressed, more than the "
                f"{_mib(MAX_MEMBER_BYTES)} a member may hold (a likely zip bomb): not decompressed"
            )
        if reason is not None:
            tree.refused.append((info.filename, reason))
            continue
        declared += info.file_size
        if declared > MAX_TOTAL_BYTES:
            zf.close()
            raise FormatError(
                p,
                f"the zip's members declare more than {_mib(MAX_TOTAL_BYTES)} uncompressed in "
                "total: refused as a likely zip bomb, nothing was decompressed",
                position=info.filename,
            )
        copies = tree._members.setdefault(info.filename, [])
        copies.append(info)
        if len(copies) == 1:
            tree.names.append(info.filename)
        else:
            tree.duplicates[info.filename] = len(copies)
    tree.names.sort()
    tree.refused.sort()
    return tree
