"""The report archive: dated reports, their summaries, an index and the last run's status.

Layout of one report's archive folder (``<output>/<name>/``)::

    2024-05-06_0700.html           a report, named by its UTC generation time
    2024-05-06_0700.summary.json   its headline figures (the next report compares with it)
    index.html                     every report, newest first, and the last run's status
    last_run.json                  status of the last run: ok / error, slot, error text

Every file is written to a temporary file in the same folder and renamed into
place, so a run that fails half-way leaves the previous reports intact. Files
get the permissions any file the user writes gets (``0o666`` less the umask,
e.g. ``0o644`` or ``0o640``), so the group that runs the reports can read
them. A definition's ``retain = N`` keeps the newest N reports
(:func:`prune`); the index lists exactly the reports kept.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import re
import tempfile
from pathlib import Path
from typing import Any, Final

__all__ = [
    "archive_files",
    "atomic_write",
    "file_mode",
    "previous_summary",
    "prune",
    "read_last_run",
    "stamp",
    "write_index",
    "write_last_run",
]

_STAMP: Final = re.compile(r"^\d{4}-\d{2}-\d{2}_\d{4}$")


def stamp(when: dt.datetime) -> str:
    """The archive file stem for ``when`` (``YYYY-MM-DD_HHMM`` in UTC)."""
    return when.astimezone(dt.UTC).strftime("%Y-%m-%d_%H%M")


def file_mode() -> int:
    """The mode a new file gets from ``open()``: ``0o666`` less the process umask."""
    mask = os.umask(0o022)
    os.umask(mask)
    return 0o666 & ~mask


def atomic_write(path: Path, text: str) -> Path:
    """Write ``text`` to ``path`` through a temporary file and an atomic rename.

    The file gets :func:`file_mode` (a temporary file alone would be ``0o600``,
    unreadable by the group that serves or mails the reports).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:  # name the file asked for, not the temporary one
        raise OSError(exc.errno, exc.strerror, str(path)) from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, file_mode())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return path


def archive_files(folder: Path) -> list[Path]:
    """The archived report files of ``folder``, oldest first."""
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.glob("*.html") if _STAMP.match(p.stem))


def prune(folder: Path, *, keep: int) -> list[Path]:
    """Delete all but the newest ``keep`` reports of ``folder`` (and their summaries); return them."""
    if keep < 1:
        raise ValueError("keep at least one report")
    old = archive_files(folder)[:-keep]
    for report in old:
        for path in (report, report.with_suffix(".summary.json")):
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
    return old


def previous_summary(folder: Path, *, before: str | None = None) -> dict[str, Any] | None:
    """The summary sidecar of the newest archived report (older than stem ``before``)."""
    for report in reversed(archive_files(folder)):
        if before is not None and report.stem >= before:
            continue
        side = report.with_suffix(".summary.json")
        try:
            data = json.loads(side.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(data, dict):
            return data
    return None


def read_last_run(folder: Path) -> dict[str, Any] | None:
    """The ``last_run.json`` of ``folder``, or ``None`` if there is none (or it is unreadable)."""
    try:
        data = json.loads((folder / "last_run.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def write_last_run(folder: Path, data: dict[str, Any]) -> Path:
    """Record the status of a run in ``last_run.json``."""
    return atomic_write(folder / "last_run.json", json.dumps(data, indent=2, default=str) + "\n")


def write_index(folder: Path, title: str) -> Path:
    """(Re)write ``index.html``: the last run's status and every archived report, newest first."""
    from wfmine.reports._render import asset, render

    last = read_last_run(folder) or {}
    reports = []
    for report in reversed(archive_files(folder)):
        try:
            s = json.loads(report.with_suffix(".summary.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            s = {}
        failed = [k for k, v in (s.get("sections") or {}).items() if str(v).startswith("failed")]
        reports.append({"file": report.name, "when": report.stem.replace("_", " "),
                        "scope": s.get("scope") or "", "findings": s.get("findings_total"),
                        "failed": failed, "notes": "; ".join(s.get("notes") or [])})  # fmt: skip
    html_text = render("index.html.j2", title=title, last=last, reports=reports,
                       css=asset("report.css"))  # fmt: skip
    return atomic_write(folder / "index.html", str(html_text) + "\n")
