"""Jira: recognising export files by content and reading them (JSON pages, CSV exports)."""

from __future__ import annotations

import csv
import datetime as dt
import functools
import io
import json
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

from wfmine.connectors._base import (
    FOLDER_SNIFF_BYTES,
    SNIFF_BYTES,
    export_files,
    export_paths,
    read_head,
    read_text,
    sniff_memo,
)
from wfmine.connectors._batch import parse_json
from wfmine.connectors.jira._collect import _Reader
from wfmine.connectors.jira._common import (
    _CSV_DATE_FORMATS,
    _iso,
    _safe_ts,
)
from wfmine.connectors.jira._records import finish
from wfmine.errors import FormatError
from wfmine.model import Batch

# -- detection -------------------------------------------------------------------------


def sniff(path: Path) -> bool:
    """True when ``path`` (a file, or a folder holding one) looks like a Jira export.

    Reads 64 KiB of a file, 8 KiB of each file of a folder until one matches (every file of a
    folder may be read: no cut-off that splits a big export); never raises on
    foreign input.
    """
    try:
        if path.is_dir():  # by path text: a folder of thousands of files makes no Path of each
            return any(_sniff_file(f, FOLDER_SNIFF_BYTES) for f in export_paths(path, _SUFFIXES))
        return _sniff_file(os.fspath(path), SNIFF_BYTES)
    except OSError:
        return False


def _sniff_file(path: str, size: int) -> bool:
    memo = sniff_memo("jira")  # within one detection pass: no stat to ask again
    if memo is not None:
        known = memo.get((path, size))
        if known is not None:
            return known
    try:
        st = os.stat(path)
    except OSError:
        return False
    found = _sniff_content(path, st.st_size, st.st_mtime_ns, size)
    if memo is not None:
        memo[(path, size)] = found
    return found


@functools.lru_cache(maxsize=1 << 16)
def _sniff_content(path: str, file_size: int, mtime_ns: int, size: int) -> bool:
    """The sniff of one file, remembered while its size and modification time stay: detection
    asks again for every folder above the file (a folder of 4,000 GitHub files, 3 times)."""
    del file_size, mtime_ns  # the key: a changed file is read again
    try:
        head = read_head(path, size)
    except OSError:
        return False
    if os.path.splitext(path)[1].lower() == ".csv" or head[:1] not in "{[":
        first = head.splitlines()[0] if head else ""
        return "Issue key" in first and "Summary" in first
    # plain substring tests first: most files of a mixed folder have none of the names
    if '"fields"' in head and '"key"' in head:
        compact = re.sub(r"\s+", "", head)
        if '"fields":{' in compact and '"key":"' in compact:
            return True
    # a changelog page: histories with "items" and a Jira-style "fieldtype"
    if '"values"' not in head or '"items"' not in head or '"fieldtype"' not in head:
        return False
    compact = re.sub(r"\s+", "", head)
    return '"values":[' in compact and '"items":[' in compact and '"fieldtype":"' in compact


_SUFFIXES: Final = (".json", ".csv", ".ndjson", ".jsonl")


def _files(folder: Path) -> list[Path]:
    return export_files(folder, _SUFFIXES)


# -- reading ---------------------------------------------------------------------------


def add_file(reader: _Reader, path: Path, *, single: bool) -> None:
    reader.stats["files"] += 1
    origin = str(path)
    if path.suffix.lower() == ".csv" or _is_csv(path):
        add_csv(reader, path)
        return
    try:
        data = path.read_bytes()
        doc = parse_json(data)
    except OSError as exc:
        if single:
            raise FormatError(path, f"cannot be read: {exc}") from None
        reader.reject(origin, f"file cannot be read: {type(exc).__name__}", "")
        return
    except json.JSONDecodeError as exc:
        if single:
            raise FormatError(
                path,
                f"not valid JSON: {exc.msg}",
                position=f"line {exc.lineno}, column {exc.colno}",
            ) from None
        reader.reject(
            origin,
            f"not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}",
            exc.doc[:2000],
        )
        return
    if not reader.add_document(doc, origin):
        reader.stats["skipped_files"] += 1
        why = _not_jira(doc)
        if single:
            raise FormatError(path, why)
        reader.skip(origin, why)


def _not_jira(doc: Any) -> str:
    """Why a JSON document is not read: a saved Jira error answer says so, with its message."""
    if isinstance(doc, dict) and ("errorMessages" in doc or "errors" in doc):
        messages = doc.get("errorMessages")
        shown = "; ".join(str(m) for m in messages[:3]) if isinstance(messages, list) else ""
        return f"a Jira error response, not data ({shown or 'no message'})"
    return "not a Jira export (no issues, changelog, comments or statuses)"


def add_csv(reader: _Reader, path: Path) -> None:
    try:
        text = read_text(path)
    except OSError as exc:
        reader.reject(str(path), f"file cannot be read: {type(exc).__name__}", "")
        return
    rows = list(csv.reader(io.StringIO(text)))
    if not rows or "Issue key" not in rows[0]:
        reader.stats["skipped_files"] += 1
        reader.skip(str(path), "a CSV file without an 'Issue key' column")
        return
    header = rows[0]
    reader.warnings.append(
        f"{path.name}: a Jira CSV export has no change history; only creation, the current "
        "status, resolution and comments are known (export JSON with expand=changelog for the flow)"
    )
    for i, row in enumerate(rows[1:], start=1):
        if not any(cell.strip() for cell in row):
            continue
        record: dict[str, Any] = {}
        for name, value in zip(header, row, strict=False):
            if name in record:
                existing = record[name]
                record[name] = (
                    [*existing, value] if isinstance(existing, list) else [existing, value]
                )
            else:
                record[name] = value
        issue = _issue_from_csv(record)
        if issue is None:
            reader.stats["records"] += 1
            reader.reject(
                f"{path}#{i}",
                "CSV row without 'Issue key' or a readable 'Created' date",
                record,
            )
            continue
        reader.add_issue(issue, str(path), f"{path}#{i}", from_csv=True)


def _is_csv(path: Path) -> bool:
    try:
        with path.open("rb") as fh:
            head = fh.read(4096).decode("utf-8", errors="replace").lstrip("\ufeff")
    except OSError:
        return False
    return not head.lstrip().startswith(("{", "[")) and "Issue key" in head.split("\n", 1)[0]


# -- CSV ---------------------------------------------------------------------------------


def _csv_ts(value: Any) -> str | None:
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    moment = _safe_ts(text)
    if moment is not None:
        return _iso(moment)
    for fmt in _CSV_DATE_FORMATS:
        try:
            return _iso(dt.datetime.strptime(text, fmt).replace(tzinfo=dt.UTC))
        except ValueError:
            continue
    return None


def _as_list(value: Any) -> list[str]:
    items = value if isinstance(value, list) else [value]
    return [str(v).strip() for v in items if v is not None and str(v).strip()]


def _first(record: Mapping[str, Any], *names: str) -> str | None:
    for name in names:
        values = _as_list(record.get(name))
        if values:
            return values[0]
    return None


def _csv_user(record: Mapping[str, Any], role: str) -> dict[str, Any] | None:
    ident = _first(record, f"{role} Id")
    name = _first(record, role)
    if not ident and not name:
        return None
    user: dict[str, Any] = {"displayName": name}
    if ident:
        user["accountId"] = ident
    else:
        user["name"] = name
    return user


def _issue_from_csv(record: Mapping[str, Any]) -> dict[str, Any] | None:
    """Turn one CSV row into the shape of a REST issue without ``changelog``."""
    key = _first(record, "Issue key")
    created = _csv_ts(_first(record, "Created"))
    if not key or not created:
        return None
    comments = []
    for n, text in enumerate(_as_list(record.get("Comment"))):
        when, _, rest = text.partition(";")
        author, _, body = rest.partition(";")
        stamp = _csv_ts(when)
        if stamp is None:
            continue
        comments.append(
            {"id": f"csv{n}", "created": stamp, "author": {"accountId": author} if author else None,
             "body": body}
        )  # fmt: skip
    resolution = _first(record, "Resolution")
    fields: dict[str, Any] = {
        "summary": _first(record, "Summary"),
        "created": created,
        "updated": _csv_ts(_first(record, "Updated")) or created,
        "resolutiondate": _csv_ts(_first(record, "Resolved")),
        "status": {"name": _first(record, "Status")},
        "issuetype": {"name": _first(record, "Issue Type")},
        "priority": {"name": _first(record, "Priority")} if _first(record, "Priority") else None,
        "resolution": {"name": resolution} if resolution and resolution != "Unresolved" else None,
        "project": {"key": _first(record, "Project key"), "name": _first(record, "Project name")},
        "labels": _as_list(record.get("Labels")),
        "components": [{"name": c} for c in _as_list(record.get("Component/s"))],
        "assignee": _csv_user(record, "Assignee"),
        "reporter": _csv_user(record, "Reporter"),
        "creator": _csv_user(record, "Creator"),
        "comment": {"comments": comments},
    }
    return {"key": key, "id": _first(record, "Issue id"), "fields": fields, "_csv": dict(record)}


def load(path: Path | str, options: Mapping[str, Any] | None = None) -> Batch:
    """Read a Jira export (a file or a folder of them) into a batch.

    A single input that cannot be parsed raises :class:`FormatError` (the user
    named that file: nothing else would load). Inside a folder an unreadable
    file is quarantined with its reason so the rest still loads. Bad records
    are quarantined as ``"<file>#<index>"``.

    >>> batch = load("/work/shared/realdata/jira/merico")  # doctest: +SKIP
    >>> batch.objects.height  # doctest: +SKIP
    55
    """
    path = Path(path)
    if not path.exists():
        raise FormatError(path, "no such file or folder")
    reader = _Reader()
    if path.is_dir():
        for file in _files(path):
            add_file(reader, file, single=False)
    else:
        add_file(reader, path, single=True)
    return finish(reader, options)
