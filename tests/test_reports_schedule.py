"""Scheduled reports: cron due logic, idempotent --once, failures, install lines, serve loop."""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
from pathlib import Path

import polars as pl
import pytest

from wfmine.reports import install_lines, is_due, load_definition, run_due, serve
from wfmine.reports.schedule import current_slot, next_slot

from ._reports_helpers import hostile_findings, synthetic_log

MON_0700 = dt.datetime(2024, 5, 6, 7, 0, tzinfo=dt.UTC)  # a Monday


@pytest.fixture
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "reports").mkdir()
    (tmp_path / "reports" / "weekly.toml").write_text(
        'name = "weekly"\nschedule = "0 7 * * 1"\nwindow = "all"\nsections = ["summary", "variants"]\n',
        encoding="utf-8",
    )
    # keep the scheduler tests fast and independent of the findings layer
    from wfmine.analysis import Analysis

    monkeypatch.setattr(Analysis, "findings", property(lambda self: hostile_findings()))
    return tmp_path


def test_cron_slots_follow_the_schedule(workspace: Path) -> None:
    d = load_definition(workspace / "reports" / "weekly.toml")
    assert current_slot(d, MON_0700) == MON_0700
    assert current_slot(d, MON_0700 + dt.timedelta(days=3)) == MON_0700
    assert current_slot(d, MON_0700 - dt.timedelta(minutes=1)) == MON_0700 - dt.timedelta(days=7)
    assert next_slot(d, MON_0700) == MON_0700 + dt.timedelta(days=7)


def test_once_is_idempotent_within_a_slot(workspace: Path) -> None:
    log = synthetic_log(evil=False)
    first = run_due(workspace, now=MON_0700 + dt.timedelta(minutes=1), store=log)
    assert [r.status for r in first] == ["ok"]
    assert run_due(workspace, now=MON_0700 + dt.timedelta(hours=5), store=log) == []
    d = load_definition(workspace / "reports" / "weekly.toml")
    assert not is_due(d, MON_0700 + dt.timedelta(days=6))
    assert is_due(d, MON_0700 + dt.timedelta(days=7))
    again = run_due(workspace, now=MON_0700 + dt.timedelta(days=7, minutes=2), store=log)
    assert [r.status for r in again] == ["ok"]
    assert len(list((workspace / "reports" / "out" / "weekly").glob("*.html"))) == 3  # 2 + index


def test_a_failing_run_keeps_previous_reports_and_records_the_error(workspace: Path) -> None:
    log = synthetic_log(evil=False)
    [ok] = run_due(workspace, now=MON_0700, store=log)
    assert ok.report is not None
    before = ok.report.read_bytes()
    broken = pl.DataFrame({"no_case_column": [1]})
    [failed] = run_due(workspace, now=MON_0700 + dt.timedelta(days=7), store=broken)
    assert failed.status == "error" and "case_id" in (failed.error or "")
    folder = workspace / "reports" / "out" / "weekly"
    assert ok.report.read_bytes() == before
    assert sorted(p.name for p in folder.glob("2024-*.html")) == [ok.report.name]
    last = json.loads((folder / "last_run.json").read_text())
    assert last["status"] == "error" and "case_id" in last["error"]
    assert last["last_ok_slot"].startswith("2024-05-06T07:00")
    index = (folder / "index.html").read_text()
    assert "error" in index and ok.report.name in index
    assert not list(folder.glob(".*.tmp"))
    # the failed slot is retried by the next --once, and then succeeds
    [retried] = run_due(workspace, now=MON_0700 + dt.timedelta(days=7, hours=1), store=log)
    assert retried.status == "ok"


def test_a_failed_pull_still_reports_and_says_so(workspace: Path) -> None:
    def pull(definition: object) -> None:
        raise ConnectionError("jira unreachable")

    [result] = run_due(workspace, now=MON_0700, store=synthetic_log(evil=False), pull=pull)
    # the report is built from what was stored, and says so; but the run failed, for cron
    assert result.status == "error" and result.pull_error == "ConnectionError: jira unreachable"
    assert result.error is not None and "pulling new data failed" in result.error
    assert result.report is not None
    assert (
        "Pulling new data failed (ConnectionError: jira unreachable)" in result.report.read_text()
    )
    last = json.loads((result.report.parent / "last_run.json").read_text())
    assert last["status"] == "error" and "jira unreachable" in last["error"]
    # the slot stays due: the next run tries the pull again
    assert last["last_ok_slot"] is None
    index = (result.report.parent / "index.html").read_text()
    assert "jira unreachable" in index


def test_install_lines_hold_the_commands(workspace: Path) -> None:
    text = install_lines(workspace, "/opt/venv/bin/python", "/opt/venv/bin/wfmine")
    root = str(workspace.resolve())
    assert f"0 7 * * 1 cd {root} && /opt/venv/bin/wfmine schedule --once" in text
    assert "ExecStart=/opt/venv/bin/wfmine schedule --once" in text
    assert f"WorkingDirectory={root}" in text
    assert "OnCalendar=Mon *-*-* 07:00:00 UTC" in text
    assert "[Timer]" in text and "Persistent=true" in text and "WantedBy=timers.target" in text
    fallback = install_lines(workspace, "/nowhere/python")
    assert "/nowhere/python -m wfmine schedule --once" in fallback


def test_serve_stops_within_a_second(workspace: Path) -> None:
    stop = threading.Event()
    log = synthetic_log(evil=False)
    results: list[int] = []
    thread = threading.Thread(
        target=lambda: results.append(
            serve(workspace, stop, store=log, poll_seconds=30, clock=lambda: MON_0700)
        )
    )
    thread.start()
    deadline = time.monotonic() + 30
    folder = workspace / "reports" / "out" / "weekly"
    while time.monotonic() < deadline and not (folder / "last_run.json").exists():
        time.sleep(0.05)
    time.sleep(0.2)
    started = time.monotonic()
    stop.set()
    thread.join(timeout=5)
    assert not thread.is_alive()
    assert time.monotonic() - started < 1.0
    assert results == [0]
    assert json.loads((folder / "last_run.json").read_text())["status"] == "ok"


def test_a_report_that_cannot_be_written_names_the_file_asked_for(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A read-only folder: the error names ``r.html``, not the temporary file beside it."""
    import tempfile

    from wfmine.reports.archive import atomic_write

    def refuse(*args: object, **kwargs: object) -> tuple[int, str]:
        raise PermissionError(13, "Permission denied", str(tmp_path / ".r.html.x1.tmp"))

    monkeypatch.setattr(tempfile, "mkstemp", refuse)
    with pytest.raises(PermissionError) as caught:
        atomic_write(tmp_path / "r.html", "<html></html>")
    assert caught.value.filename == str(tmp_path / "r.html")
    assert not (tmp_path / "r.html").exists()
