"""The report archive: dated reports, their summaries, an index and the last run's status.

Layout of one report's archive folder (``<output>/<name>/``)::

    2024-05-06_0700.html           a report, named by its UTC generation time
    2024-05-06_0700.summary.json   its headline figures (the next report compares with it)
    index.html                     every report, newest first, and the last run's status
    last_run.json                  status of the last run: ok / error, slot, error text

Every file is written to a temporary file in the same folder and renamed into
place, so a run that fails half-way leaves the previous reports intact.
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

from wfmine.reports._html import badge, esc, fmt_num, page, table

__all__ = [
    "archive_files",
    "atomic_write",
    "previous_summary",
    "read_last_run",
    "stamp",
    "write_index",
    "write_last_run",
]

_STAMP: Final = re.compile(r"^\d{4}-\d{2}-\d{2}_\d{4}$")


def stamp(when: dt.datetime) -> str:
    """The archive file stem for ``when`` (``YYYY-MM-DD_HHMM`` in UTC)."""
    return when.astimezone(dt.UTC).strftime("%Y-%m-%d_%H%M")


def atomic_write(path: Path, text: str) -> Path:
    """Write ``text`` to ``path`` through a temporary file and an atomic rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
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
    from wfmine.reports._html import Charts

    last = read_last_run(folder) or {}
    parts = []
    if last:
        status = str(last.get("status") or "unknown")
        text = f"Last run {esc(str(last.get('finished_at') or '')[:16].replace('T', ' '))} UTC: "
        text += badge(status, "ok" if status == "ok" else "error")
        if last.get("error"):
            text += f'<pre class="na">{esc(last["error"])}</pre>'
        if last.get("pull_error"):
            text += f'<p class="muted">Pulling new data failed: {esc(last["pull_error"])}</p>'
        parts.append(f'<section class="card"><h2>Status</h2><p>{text}</p></section>')
    rows = []
    for report in reversed(archive_files(folder)):
        side = report.with_suffix(".summary.json")
        try:
            s = json.loads(side.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            s = {}
        period = f"{str(s.get('start') or '')[:10]} → {str(s.get('end') or '')[:10]}"
        rows.append([
            f'<a href="{esc(report.name)}">{esc(report.stem.replace("_", " "))}</a>',
            esc(period),
            fmt_num(s.get("cases")),
            fmt_num(s.get("events")),
            fmt_num(s.get("findings_total")),
            esc("; ".join(s.get("notes") or [])),
        ])  # fmt: skip
    listing = (
        table(
            ["report (UTC)", "period", "cases", "events", "findings", "notes"],
            rows,
            numeric=[2, 3, 4],
        )
        if rows
        else '<p class="muted">No report yet.</p>'
    )
    parts.append(f'<section class="card"><h2>Reports</h2>{listing}</section>')
    html_text = page(
        title=title,
        subtitle="Report archive",
        nav=[],
        body="".join(parts),
        charts=Charts(),
        footer="Generated by wfmine",
    )
    return atomic_write(folder / "index.html", html_text)
