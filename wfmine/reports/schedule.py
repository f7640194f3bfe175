"""Running report definitions on their cron schedules.

A report is *due* when its schedule has fired (the latest cron time at or
before now, read in the definition's time zone) since the slot of its last
successful run, as recorded in ``last_run.json``. So :func:`run_due` is
idempotent within a slot: run it as often as you like (``wfmine schedule
--once`` from cron or a systemd timer) and each slot yields one report. A
new definition is due at once. A failed run is retried by the next
:func:`run_due` call; :func:`serve` retries it at the next slot instead of
looping on the error.

>>> run_due(".", now=dt.datetime(2024, 5, 6, 7, 5, tzinfo=dt.UTC))  # doctest: +SKIP
[RunResult(name='weekly', status='ok', ...)]
"""

from __future__ import annotations

import datetime as dt
import logging
import shlex
import signal
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any, Final

from wfmine.reports.archive import read_last_run
from wfmine.reports.definition import ReportDefinition, load_definitions

__all__ = [
    "RunResult",
    "current_slot",
    "install_lines",
    "is_due",
    "next_slot",
    "run_due",
    "serve",
]

log: Final = logging.getLogger("wfmine.reports")

#: A connector pull run before a report; receives the definition about to run.
Pull = Callable[[ReportDefinition], Any]

_DOW: Final = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]


@dataclass(frozen=True)
class RunResult:
    """What happened to one report definition in one :func:`run_due` call."""

    name: str
    status: str  # "ok" | "error"
    slot: dt.datetime
    report: Path | None = None
    error: str | None = None
    pull_error: str | None = None
    seconds: float = 0.0
    #: sections that failed in an otherwise written report: ``{section id: error}``
    failed_sections: dict[str, str] = field(default_factory=dict)


def _aware(now: dt.datetime | None) -> dt.datetime:
    now = now or dt.datetime.now(dt.UTC)
    return now if now.tzinfo else now.replace(tzinfo=dt.UTC)


def current_slot(definition: ReportDefinition, now: dt.datetime | None = None) -> dt.datetime:
    """The latest time at or before ``now`` when ``definition``'s schedule fired (UTC)."""
    from croniter import croniter

    local = _aware(now).astimezone(definition.tz) + dt.timedelta(seconds=1)
    prev = croniter(definition.schedule, local).get_prev(dt.datetime)
    assert isinstance(prev, dt.datetime)
    return prev.astimezone(dt.UTC)


def next_slot(definition: ReportDefinition, now: dt.datetime | None = None) -> dt.datetime:
    """The first time after ``now`` when ``definition``'s schedule fires (UTC)."""
    from croniter import croniter

    nxt = croniter(definition.schedule, _aware(now).astimezone(definition.tz)).get_next(dt.datetime)
    assert isinstance(nxt, dt.datetime)
    return nxt.astimezone(dt.UTC)


def is_due(definition: ReportDefinition, now: dt.datetime | None = None) -> bool:
    """True when the schedule fired since the slot of the last successful run."""
    slot = current_slot(definition, now)
    last = (read_last_run(definition.archive) or {}).get("last_ok_slot")
    if not last:
        return True
    try:
        done = dt.datetime.fromisoformat(str(last))
    except ValueError:
        return True
    return _aware(done) < slot


def _store_path(workspace_root: Path) -> Path:
    from wfmine.workspace import DEFAULT_DB

    return workspace_root / DEFAULT_DB


def _run_one(
    definition: ReportDefinition,
    *,
    now: dt.datetime,
    slot: dt.datetime,
    pull: Pull | None,
    store: Any,
) -> RunResult:
    from wfmine.reports import run_definition

    started = time.perf_counter()
    pull_error = None
    if pull is not None:
        try:
            pull(definition)
        except Exception as exc:  # report on what is stored, and say so
            pull_error = f"{type(exc).__name__}: {exc}"
            log.warning("%s: pull failed: %s", definition.name, pull_error)
    try:
        done = run_definition(definition, store=store, now=now, pull_error=pull_error, slot=slot)
    except Exception as exc:
        log.error("%s: report failed: %s", definition.name, exc)
        return RunResult(definition.name, "error", slot, None, f"{type(exc).__name__}: {exc}",
                         pull_error, time.perf_counter() - started)  # fmt: skip
    problems = [f"pulling new data failed ({pull_error})"] if pull_error else []
    if done.failed_sections:
        problems.append(
            "sections failed: " + "; ".join(f"{k}: {v}" for k, v in done.failed_sections.items())
        )
    if problems:
        # the report is written from what was stored, but the run failed: cron must see it
        log.warning("%s: wrote %s, but %s", definition.name, done.path, "; ".join(problems))
        return RunResult(definition.name, "error", slot, done.path, "; ".join(problems),
                         pull_error, time.perf_counter() - started, done.failed_sections)  # fmt: skip
    log.info("%s: wrote %s", definition.name, done.path)
    return RunResult(definition.name, "ok", slot, done.path, None, pull_error,
                     time.perf_counter() - started, done.failed_sections)  # fmt: skip


def run_due(
    workspace_root: str | Path,
    *,
    now: dt.datetime | None = None,
    pull: Pull | None = None,
    store: Any = None,
    skip: dict[str, dt.datetime] | None = None,
) -> list[RunResult]:
    """Generate every report of ``workspace_root/reports/*.toml`` that is due; return what ran.

    ``pull`` (optional) is called with each due definition before its report
    (an incremental connector pull); if it raises, the report is still built
    from the stored data and says so. ``store`` defaults to the workspace's
    store (``.wfmine/store.duckdb``). ``skip`` maps report names to slots not
    to retry (``serve`` uses it so a failing report waits for its next slot).
    A report that fails is recorded in its ``last_run.json`` and index, and
    the others still run. Bad definitions raise :class:`~wfmine.ConfigError`.
    """
    root = Path(workspace_root).resolve()
    now = _aware(now)
    results = []
    for definition in load_definitions(root):
        slot = current_slot(definition, now)
        if skip is not None and skip.get(definition.name) == slot:
            continue
        if not is_due(definition, now):
            continue
        result = _run_one(
            definition,
            now=now,
            slot=slot,
            pull=pull,
            store=store if store is not None else _store_path(root),
        )
        results.append(result)
        if skip is not None:
            skip[definition.name] = slot
    return results


def serve(
    workspace_root: str | Path,
    stop_event: threading.Event | None = None,
    *,
    pull: Pull | None = None,
    store: Any = None,
    poll_seconds: float = 30.0,
    clock: Callable[[], dt.datetime] | None = None,
    handle_signals: bool = True,
) -> int:
    """Run due reports in the foreground until ``stop_event`` is set or SIGINT/SIGTERM arrives.

    A signal lets the report being generated finish, then returns 0. The loop
    re-reads the definitions every ``poll_seconds`` (so edits apply without a
    restart) and sleeps on the event, so stopping takes effect at once. A
    definition error is logged and retried, never fatal.
    """
    stop = stop_event or threading.Event()
    root = Path(workspace_root)
    tick = clock or (lambda: dt.datetime.now(dt.UTC))
    previous: dict[signal.Signals, Any] = {}
    if handle_signals and threading.current_thread() is threading.main_thread():

        def on_signal(signum: int, frame: FrameType | None) -> None:
            log.info("signal %s: finishing the current report, then stopping", signum)
            stop.set()

        for sig in (signal.SIGINT, signal.SIGTERM):
            previous[sig] = signal.signal(sig, on_signal)
    attempted: dict[str, dt.datetime] = {}
    try:
        while not stop.is_set():
            wait = poll_seconds
            try:
                run_due(root, now=tick(), pull=pull, store=store, skip=attempted)
                definitions = load_definitions(root)
                if definitions:
                    now = tick()
                    soonest = min(next_slot(d, now) for d in definitions)
                    wait = max(0.5, min(poll_seconds, (soonest - now).total_seconds() + 0.5))
            except Exception as exc:  # keep serving: the next poll may succeed
                log.error("schedule: %s", exc)
            stop.wait(wait)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 0


def _on_calendar(schedule: str, timezone: str) -> str | None:
    """A systemd ``OnCalendar=`` value equal to a simple cron expression, else ``None``."""
    minute, hour, dom, month, dow = schedule.split()
    if dom != "*" and dow != "*":
        return None  # cron ORs day-of-month and day-of-week; systemd ANDs them

    def field(value: str, width: int) -> str | None:
        if value == "*":
            return "*"
        if value.startswith("*/") and value[2:].isdigit():
            return f"0/{int(value[2:])}"
        out = []
        for part in value.split(","):
            if part.isdigit():
                out.append(f"{int(part):0{width}d}")
            elif "-" in part and all(x.isdigit() for x in part.split("-", 1)):
                a, b = part.split("-", 1)
                out.append(f"{int(a):0{width}d}..{int(b):0{width}d}")
            else:
                return None
        return ",".join(out)

    parts = [field(minute, 2), field(hour, 2), field(dom, 2), field(month, 2)]
    if any(p is None for p in parts):
        return None
    days = ""
    if dow != "*":
        names = []
        for part in dow.split(","):
            if part.isdigit() and int(part) <= 7:
                names.append(_DOW[int(part)])
            elif "-" in part and all(x.isdigit() and int(x) <= 7 for x in part.split("-", 1)):
                a, b = part.split("-", 1)
                names.append(f"{_DOW[int(a)]}..{_DOW[int(b)]}")
            else:
                return None
        days = ",".join(names) + " "
    m, h, d, mo = parts
    return f"{days}*-{mo}-{d} {h}:{m}:00 {timezone}"


def _exe(python_exe: str | None, wfmine_exe: str | None) -> list[str]:
    if wfmine_exe:
        return [wfmine_exe]
    python = Path(python_exe or sys.executable)
    sibling = python.parent / "wfmine"
    if sibling.exists():
        return [str(sibling)]
    return [str(python), "-m", "wfmine"]


def _systemd_quote(arg: str) -> str:
    if arg and all(c.isalnum() or c in "/._-+:=@" for c in arg):
        return arg
    return '"' + arg.replace("\\", "\\\\").replace('"', '\\"') + '"'


def install_lines(
    workspace_root: str | Path,
    python_exe: str | None = None,
    wfmine_exe: str | None = None,
) -> str:
    """Text to install the schedule: crontab lines and a systemd service + timer pair.

    Both run ``wfmine schedule --once`` in the workspace; it is idempotent per
    slot, so running it at each report's cron time (or more often) yields one
    report per slot. Nothing is installed: the text is for a person to paste.
    """
    root = Path(workspace_root).resolve()
    cmd = [*_exe(python_exe, wfmine_exe), "schedule", "--once"]
    definitions = load_definitions(root)
    logfile = root / ".wfmine" / "schedule.log"
    shell = f"cd {shlex.quote(str(root))} && {' '.join(shlex.quote(c) for c in cmd)} >> {shlex.quote(str(logfile))} 2>&1"
    lines = ["# --- crontab: add with `crontab -e` (one line per report definition) ---"]
    if not definitions:
        lines.append(f"# no reports/*.toml in {root}: add a report definition first")
    calendars = []
    for d in definitions:
        if d.timezone.upper() != "UTC":
            lines.append(
                f"# {d.name}: schedule is in {d.timezone}; cron reads it in the system zone"
            )
        else:
            lines.append(f"# {d.name}: schedule is in UTC; cron reads it in the system zone")
        lines.append(f"{d.schedule} {shell}")
        calendars.append(
            _on_calendar(d.schedule, "UTC" if d.timezone.upper() == "UTC" else d.timezone)
            or "*:0/15"
        )
    service = "wfmine-reports"
    exec_start = " ".join(_systemd_quote(c) for c in cmd)
    lines += [
        "",
        f"# --- systemd (user units): ~/.config/systemd/user/{service}.service ---",
        "[Unit]",
        f"Description=wfmine scheduled reports for {root}",
        "",
        "[Service]",
        "Type=oneshot",
        f"WorkingDirectory={_systemd_quote(str(root))}",
        f"ExecStart={exec_start}",
        "",
        f"# --- ~/.config/systemd/user/{service}.timer ---",
        "[Unit]",
        f"Description=Run {service}.service on each report's schedule",
        "",
        "[Timer]",
    ]
    lines += [f"OnCalendar={c}" for c in dict.fromkeys(calendars)] or ["OnCalendar=*:0/15"]
    lines += [
        "Persistent=true",
        "",
        "[Install]",
        "WantedBy=timers.target",
        "",
        f"# enable: systemctl --user daemon-reload && systemctl --user enable --now {service}.timer",
        f"# or run in the foreground instead: cd {shlex.quote(str(root))} && "
        + " ".join(shlex.quote(c) for c in cmd[:-1]),
    ]
    return "\n".join(lines) + "\n"
