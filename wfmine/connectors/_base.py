"""The one contract every reader implements: :class:`Reader` (``kind``, ``standard``, ``sniff``, ``load``).

Every export reader — Jira, GitHub, Slack, email here; XES, OCEL, CSV and
Parquet in :mod:`wfmine.formats` — is an object satisfying :class:`Reader`,
listed in :data:`wfmine.connectors.registry.READERS`. mypy checks each one
against the protocol where the registry names it, so a reader that drifts
from the contract fails the type check, not a user's run.

- ``kind`` — the input kind (``jira``, ``xes`` …), also the ``kind`` of a
  ``connectors/*.toml`` file;
- ``standard`` — true for standard event logs (XES, OCEL, CSV, Parquet):
  each file is its own dataset, never merged with a folder's other files;
- ``sniff(path) -> bool`` — a cheap content check of a file or folder; never
  raises on foreign input;
- ``load(path, options=None) -> Batch`` — read it. Bad records go to
  ``batch.quarantine`` with their position and reason (one rule for every
  reader: :mod:`wfmine.connectors._batch`); an input that cannot be read at
  all raises :class:`~wfmine.errors.FormatError` naming the file.
"""

from __future__ import annotations

import gc
import os
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, Protocol

from wfmine.model import Batch

__all__ = [
    "FOLDER_SNIFF_BYTES",
    "SNIFF_BYTES",
    "FunctionReader",
    "Reader",
    "export_files",
    "export_paths",
    "list_files",
    "paused_gc",
    "read_head",
    "read_text",
    "shared_listings",
    "sniff_memo",
]

#: How much of a file given alone a sniff reads.
SNIFF_BYTES: Final = 65536
#: How much of each file of a folder a sniff reads: every file may be read (no
#: cut-off at some number of files), so each one is read only as far as the
#: markers a reader looks for sit (the first fields of the first record).
FOLDER_SNIFF_BYTES: Final = 8192
_BOM: Final = "\ufeff"


class Reader(Protocol):
    """What every export reader offers (see the module docstring)."""

    @property
    def kind(self) -> str: ...

    @property
    def standard(self) -> bool: ...

    def sniff(self, path: Path) -> bool: ...

    def load(self, path: Path, options: Mapping[str, Any] | None = None) -> Batch: ...


@dataclass(frozen=True)
class FunctionReader:
    """A :class:`Reader` made of a module's ``sniff`` and ``load`` functions."""

    kind: str
    sniff_fn: Callable[[Path], bool]
    load_fn: Callable[[Path, Mapping[str, Any] | None], Batch]
    standard: bool = False

    def sniff(self, path: Path) -> bool:
        """Cheap content check; a sniff that fails is a "no", never an error."""
        try:
            return self.sniff_fn(path)
        except Exception:  # a foreign input must never stop detection
            return False

    def load(self, path: Path, options: Mapping[str, Any] | None = None) -> Batch:
        """Read ``path`` into a batch, the cyclic garbage collector paused meanwhile.

        A reader makes millions of small objects (decoded JSON, row dicts) that
        form no cycles: reference counting frees them, and the collector's
        passes over them cost a third of a GitHub export's load. What it would
        have found is collected when it resumes.
        """
        with paused_gc():
            return self.load_fn(path, options)


@contextmanager
def paused_gc() -> Iterator[None]:
    """Run a block with the cyclic garbage collector off (as it was again after)."""
    was_on = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_on:
            gc.enable()


def read_head(path: str | Path, size: int = SNIFF_BYTES) -> str:
    """The first ``size`` bytes of ``path`` as text for a sniff: a UTF-8 BOM dropped, bad bytes replaced."""
    with open(path, "rb") as fh:
        return fh.read(size).decode("utf-8", errors="replace").removeprefix(_BOM)


def read_text(path: Path) -> str:
    """A whole export file as text, a UTF-8 BOM dropped, never failing on bytes that are not UTF-8.

    Such bytes become lone surrogates (``surrogateescape``), so one bad byte
    in one record does not stop the file: the reader quarantines just the
    records that hold one (:meth:`wfmine.connectors._batch.BatchBuilder.reject_unreadable`),
    with the original bytes recoverable from the payload.
    """
    return path.read_bytes().decode("utf-8", "surrogateescape").removeprefix(_BOM)


def export_files(folder: Path, suffixes: tuple[str, ...]) -> list[Path]:
    """The files under ``folder`` whose suffix (lower-cased) is one of ``suffixes``, sorted.

    Hidden entries (a name starting with ``.``, at any depth) are left out;
    links to folders are not followed, links to files are kept — as
    ``Path.rglob("*")`` with ``is_file()`` gives them, from ``os.scandir``
    entries (their type comes with the listing: no ``stat`` per file).
    """
    return [Path(text) for text in export_paths(folder, suffixes)]


def export_paths(folder: Path, suffixes: tuple[str, ...]) -> list[str]:
    """:func:`export_files` as path texts (``folder`` joined with ``os.sep``), no ``Path`` made:
    a reader of thousands of small files opens them by text. Inside :func:`shared_listings`
    a folder below one already listed is taken from that listing (the same texts, in the
    same order), not listed again."""
    root = os.fspath(folder)
    listings = _LISTINGS.get()
    if listings is None:
        files, _ = _list_tree(root)
    else:
        files = listings.files(root)
    return [text for text, suffix in files if suffix in suffixes]


def list_files(root: str) -> list[str]:
    """Every file under the folder ``root`` as :func:`export_paths` sees them (hidden entries
    left out, links to folders not followed), every suffix, in the order of sorted Paths."""
    return [text for text, _ in _list_tree(root)[0]]


#: (path text, lower-cased suffix) of the files under a folder, in the order of sorted Paths
_Files = list[tuple[str, str]]


def _list_tree(root: str) -> tuple[_Files, set[str]]:
    """Every file under ``root`` (hidden entries left out, links to folders not followed), in
    the order of sorted Paths, and every folder that was listed (``root`` included)."""
    found: _Files = []
    listed: set[str] = set()
    pending = [root]
    while pending:
        here = pending.pop()
        try:
            with os.scandir(here) as entries:
                for entry in entries:
                    name = entry.name
                    if name.startswith("."):
                        continue
                    try:
                        if entry.is_dir(follow_symlinks=False):
                            pending.append(entry.path)
                        elif entry.is_file():
                            found.append((entry.path, os.path.splitext(name)[1].lower()))
                    except OSError:
                        continue
        except OSError:
            continue
        listed.add(here)
    # in the order of sorted Paths: by their parts, so "a/b" comes before "a-c"
    found.sort(key=lambda item: item[0].split(os.sep))
    return found, listed


class _Listings:
    """The trees :func:`export_paths` listed inside one :func:`shared_listings` block."""

    def __init__(self) -> None:
        self._files: dict[str, _Files] = {}
        #: every folder listed as part of a tree -> the tree's root
        self._root_of: dict[str, str] = {}
        #: reader kind -> (file, head size) -> that reader's sniff of the file (see sniff_memo)
        self.sniffs: dict[str, dict[tuple[str, int], bool]] = {}

    def files(self, folder: str) -> _Files:
        held = self._files.get(folder)
        if held is not None:
            return held
        root = self._root_of.get(folder)
        if root is not None:  # listed as part of a tree: its files are the tree's below it
            prefix = folder + os.sep
            files = [item for item in self._files[root] if item[0].startswith(prefix)]
        else:
            files, listed = _list_tree(folder)
            for below in listed:
                self._root_of.setdefault(below, folder)
        self._files[folder] = files
        return files


_LISTINGS: ContextVar[_Listings | None] = ContextVar("wfmine_export_listings", default=None)


def sniff_memo(kind: str) -> dict[tuple[str, int], bool] | None:
    """Inside :func:`shared_listings`, the sniffs of single files reader ``kind`` made in this
    pass, by (file, head size), for it to fill and read (detection sniffs each file again at
    every folder level above it); ``None`` outside, where nothing is remembered. Within a
    pass a file is taken as it was, as its folder's listing is."""
    listings = _LISTINGS.get()
    if listings is None:
        return None
    return listings.sniffs.setdefault(kind, {})


@contextmanager
def shared_listings() -> Iterator[None]:
    """Within the block, :func:`export_paths` lists each folder tree once (detection asks
    every reader about every folder level: a folder of thousands of files was listed at
    each). Files added meanwhile are not seen: for one pass over a folder, as detection."""
    token = _LISTINGS.set(_Listings())
    try:
        yield
    finally:
        _LISTINGS.reset(token)
