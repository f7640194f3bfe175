"""GitHub: recognising REST JSON files by content and reading them (a file, or a folder laid out any way)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

from wfmine.connectors._base import (
    FOLDER_SNIFF_BYTES,
    SNIFF_BYTES,
    export_paths,
    read_head,
    sniff_memo,
)
from wfmine.connectors.github._collect import _Collector
from wfmine.connectors.github._common import (
    _EVENT_TYPES,
    _PATH_PR,
    _iso,
    _records,
    classify,
    read_file_documents,
)
from wfmine.connectors.github._output import finish
from wfmine.errors import FormatError
from wfmine.model import Batch


def sniff(path: Path) -> bool:
    """True when ``path`` (a file, or a folder holding one) holds GitHub REST JSON.

    Reads 64 KiB of a file, 8 KiB of each file of a folder until one matches: every file
    of a folder may be read, so a folder with many files of one kind is still recognised.
    """
    try:  # by path text: a folder of thousands of files makes no Path of each
        files = export_paths(path, _SUFFIXES) if path.is_dir() else [os.fspath(path)]
        size = FOLDER_SNIFF_BYTES if path.is_dir() else SNIFF_BYTES
    except OSError:
        return False
    memo = sniff_memo("github")  # within one detection pass: each file read once
    for file in files:
        known = memo.get((file, size)) if memo is not None else None
        if known is None:
            try:
                known = _sniff_head(read_head(file, size))
            except OSError:
                continue
            if memo is not None:
                memo[(file, size)] = known
        if known:
            return True
    return False


def _sniff_head(head: str) -> bool:
    """Whether a file's first bytes (as text) look like GitHub REST JSON."""
    if head.lstrip()[:1] not in ("[", "{"):
        return False
    if ("api.github.com/repos/" in head or "https://github.com/" in head) and '"node_id"' in head:
        return True
    return any(f'"{t}"' in head for t in _EVENT_TYPES) and '"payload"' in head


_SUFFIXES: Final = (".json", ".ndjson", ".jsonl")


def _add_file(collector: _Collector, path: str, *, single: bool, relative: str) -> None:
    """Read one file (``path``; ``relative`` to the folder read, or its name) into ``collector``."""
    collector.stats["files"] += 1
    origin = path
    try:
        with open(path, "rb") as fh:
            data = fh.read()
    except OSError as exc:
        if single:
            raise FormatError(path, f"cannot be read: {type(exc).__name__}") from None
        collector.reject(origin, f"file cannot be read: {type(exc).__name__}", "")
        return
    docs, problem = read_file_documents(data)
    if problem and not docs:
        if single:
            raise FormatError(path, f"not valid JSON: {problem}")
        text = data.decode("utf-8", "surrogateescape").removeprefix("\ufeff")
        collector.reject(origin, f"not valid JSON: {problem}", text[:2000])
        return
    if problem:
        collector.reject(
            f"{origin}#rest", f"JSON stops part-way ({problem}); the documents before it loaded", ""
        )
    records = [r for doc in docs for r in _records(doc)]
    kinds = [classify(r) for r in records]  # once each: add_record is given it
    if not any(kinds):
        collector.stats["skipped_files"] += 1
        why = _not_github(docs)
        if single:
            raise FormatError(path, why)
        if records:  # an empty page (``[]``) is a page with nothing on it, not a foreign file
            collector.skip(origin, why)
        return
    m = _PATH_PR.search(relative.replace(os.sep, "/"))
    hint = int(m.group(1)) if m else None
    add = collector.add_record
    for i, (record, kind) in enumerate(zip(records, kinds, strict=True)):
        add(record, origin, f"{origin}#{i}", hint, kind=kind)


def _not_github(docs: list[Any]) -> str:
    """Why a JSON file is not read: a saved error answer or a lone object says so."""
    if len(docs) == 1 and isinstance(docs[0], dict):
        doc = docs[0]
        if "message" in doc and ("documentation_url" in doc or "status" in doc):
            return f"a GitHub error response, not data ({str(doc['message'])[:200]})"
        return f"a JSON object that holds no GitHub records (keys: {', '.join(sorted(doc)[:8])})"
    return "no GitHub REST records found"


def load(path: Path | str, options: Mapping[str, Any] | None = None) -> Batch:
    """Read GitHub REST JSON (a file, or a folder of files anywhere below) into a batch.

    A single input that is not JSON raises :class:`FormatError`; inside a
    folder such a file is quarantined and the rest loads. Unrecognisable or
    malformed records are quarantined as ``"<file>#<index>"``. ``batch.cursor``
    is the newest ``updated_at`` seen.

    >>> batch = load("/work/shared/realdata/github/panjf2000-ants")  # doctest: +SKIP
    """
    del options
    path = Path(path)
    if not path.exists():
        raise FormatError(path, "no such file or folder")
    collector = _Collector()
    if path.is_dir():
        # texts, not Paths: thousands of small files (a layout by API path) are opened by name
        folder = os.fspath(path)
        prefix = len(os.path.join(folder, ""))
        for file in export_paths(path, _SUFFIXES):
            # as str(Path(file)) names it: the one "." a Path keeps is a lone "."
            name = file[prefix:] if folder == "." else file
            _add_file(collector, name, single=False, relative=file[prefix:])
    else:
        _add_file(collector, str(path), single=True, relative=path.name)
    cursor = _iso(collector.max_updated) if collector.max_updated else None
    return finish(collector, cursor=cursor)
