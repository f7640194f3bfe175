"""HTML reports: one self-contained file per run, generated on demand or on a schedule.

>>> import polars as pl, datetime as dt
>>> from wfmine.reports import build_report
>>> log = pl.DataFrame({"case_id": ["c1", "c1"], "activity": ["open", "close"],
...                     "timestamp": [dt.datetime(2024, 1, 1), dt.datetime(2024, 1, 2)]})
>>> report = build_report(log, sections=["summary"], title="Demo")
>>> "<h2>Summary</h2>" in report.html()
True

A report works offline (plotly.js is embedded once, compressed), escapes
every text that came from a source, and renders every section it can: a
section whose analysis fails says "not available: <reason>" instead of
taking the report down. Figures use the full log; detail (variants, case
trails) is sampled so the file stays small.

Scheduled reports are described by ``reports/*.toml`` in a workspace (see
:mod:`wfmine.reports.definition`); :func:`generate` runs one end to end into a
dated archive (:mod:`wfmine.reports.archive`), :func:`run_due` runs whatever
is due (``wfmine schedule --once``), :func:`serve` keeps running them in the
foreground, and :func:`install_lines` prints crontab and systemd units.
"""

from __future__ import annotations

import datetime as dt
import time
import traceback
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from wfmine.model import LOG_SCHEMA
from wfmine.reports._html import Charts, esc, page
from wfmine.reports.archive import (
    atomic_write,
    previous_summary,
    read_last_run,
    stamp,
    write_index,
    write_last_run,
)
from wfmine.reports.definition import (
    ALL_SECTIONS,
    ReportDefinition,
    Window,
    load_definition,
    load_definitions,
    parse_window,
    select_sections,
)
from wfmine.reports.schedule import RunResult, install_lines, is_due, run_due, serve
from wfmine.reports.sections import (
    SECTION_TITLES,
    Context,
    analysis,
    normalise_findings,
    render_section,
)

__all__ = [
    "ALL_SECTIONS",
    "Report",
    "ReportDefinition",
    "RunResult",
    "Window",
    "build_report",
    "generate",
    "install_lines",
    "is_due",
    "load_definition",
    "load_definitions",
    "parse_window",
    "run_due",
    "serve",
]


@dataclass
class Report:
    """A rendered report: its HTML and the headline figures the next report compares with."""

    title: str
    generated_at: dt.datetime
    summary: dict[str, Any] = field(default_factory=dict)
    _html: str = field(default="", repr=False)

    def html(self) -> str:
        """The whole self-contained HTML document."""
        return self._html

    def save(self, path: str | Path) -> Path:
        """Write the report to ``path`` (atomically: a failed write leaves any old file intact)."""
        return atomic_write(Path(path), self._html)

    @property
    def section_status(self) -> dict[str, str]:
        """``{section id: "ok" | "not available: <reason>"}``."""
        return dict(self.summary.get("sections") or {})


def _is_store(value: object) -> bool:
    return hasattr(value, "log") and hasattr(value, "sql") and callable(value.log)


def _flat_log(value: Any, case_notion: str) -> tuple[pl.DataFrame, Any]:
    """The flat log (conformed to LOG_SCHEMA) and the store it came from, if any."""
    if _is_store(value):
        return _conform(value.log(case_notion=case_notion)), value
    if isinstance(value, pl.LazyFrame):
        value = value.collect()
    if not isinstance(value, pl.DataFrame):
        raise TypeError(
            f"build_report needs a Store or a polars DataFrame, got {type(value).__name__}"
        )
    missing = [c for c in ("case_id", "activity", "timestamp") if c not in value.columns]
    if missing:
        raise ValueError(f"the log lacks the columns {missing} (see wfmine.model.LOG_SCHEMA)")
    return _conform(value), None


def _conform(df: pl.DataFrame) -> pl.DataFrame:
    cols = []
    for name, dtype in LOG_SCHEMA.items():
        if name not in df.columns:
            cols.append(pl.lit(None, dtype=dtype).alias(name))
        elif name == "timestamp" and df.schema[name] != dtype:
            ts = pl.col(name)
            if isinstance(df.schema[name], pl.Datetime) and df.schema[name].time_zone is None:  # type: ignore[attr-defined]
                ts = ts.dt.replace_time_zone("UTC")
            cols.append(ts.cast(dtype))
        else:
            cols.append(pl.col(name).cast(dtype))
    extra = [c for c in df.columns if c not in LOG_SCHEMA]
    out = df.select(cols + [pl.col(c) for c in extra])
    return out.sort("case_id", "timestamp", "seq", "event_id", nulls_last=True)


def _window_filter(
    log: pl.DataFrame, window: Window, now: dt.datetime
) -> tuple[pl.DataFrame, dt.datetime | None, dt.datetime | None]:
    """Keep whole cases that have at least one event inside the window."""
    data_end = log.get_column("timestamp").max() if log.height else None
    start, end = window.resolve(now, data_end if isinstance(data_end, dt.datetime) else None)
    if start is None and end is None:
        return log, None, None
    cond = pl.lit(True)
    if start is not None:
        cond = cond & (pl.col("timestamp") >= start)
    if end is not None:
        cond = cond & (pl.col("timestamp") < end)
    inside = log.filter(cond).select("case_id").unique()
    return log.join(inside, on="case_id", how="semi", maintain_order="left"), start, end


def _load_design(design: Any) -> tuple[Any, str | None]:
    if design is None:
        return None, "no design given"
    if isinstance(design, str | Path):
        try:
            return analysis("wfmine.design", "load_design")(design), None
        except Exception as exc:
            return None, f"design {design} could not be loaded: {exc}"
    return design, None


def _findings(
    given: pl.DataFrame | None, log: pl.DataFrame, design: Any, store: Any, notes: list[str]
) -> tuple[list[dict[str, Any]] | None, str | None]:
    if given is not None:
        try:
            return normalise_findings(given), None
        except Exception as exc:
            return None, str(exc)
    try:
        fn = analysis("wfmine.findings", "findings")
        frame = fn(log, design, store=store)
        if isinstance(frame, pl.LazyFrame):
            frame = frame.collect()
        return normalise_findings(frame), None
    except Exception as exc:
        reason = f"{type(exc).__name__}: {exc}" if not str(exc).startswith("wfmine") else str(exc)
    if store is not None:
        try:
            stored = store.table("findings")
            if stored.height:
                notes.append(
                    f"Findings could not be computed ({reason}); showing the stored findings."
                )
                return normalise_findings(stored), None
        except Exception:  # no stored findings either: fall through to the reason
            pass
    return None, reason


def build_report(
    store_or_log: Any,
    design: Any = None,
    *,
    window: Any = None,
    sections: Sequence[str] | None = None,
    title: str = "Process report",
    findings: pl.DataFrame | None = None,
    previous: Mapping[str, Any] | None = None,
    notes: Sequence[str] = (),
    now: dt.datetime | None = None,
    case_notion: str = "work_item",
    max_cases: int = 200,
    top_variants: int = 20,
) -> Report:
    """Render a report of a store (or a flat log) as one self-contained HTML page.

    ``design`` is a design path or a loaded design (design-dependent sections
    say so when it is missing); ``window`` is ``"90d"``, ``(start, end)``, a
    :class:`Window` or ``None`` for all data; ``sections`` picks sections
    (default: all, see :data:`ALL_SECTIONS`); ``findings`` overrides the
    computed findings frame; ``previous`` is an earlier report's
    ``summary`` to compare with; ``notes`` are shown in a banner (e.g. a
    failed pull). Never reads environment variables, so no token can leak.

    >>> report = build_report(store, "design.yaml", window="90d")  # doctest: +SKIP
    >>> report.save("report.html")  # doctest: +SKIP
    """
    started = time.perf_counter()
    now = now or dt.datetime.now(dt.UTC)
    if now.tzinfo is None:
        now = now.replace(tzinfo=dt.UTC)
    chosen = select_sections(sections)
    win = parse_window(window)
    notes_out = list(notes)
    log, store = _flat_log(store_or_log, case_notion)
    log, start, end = _window_filter(log, win, now)
    design_obj, design_error = _load_design(design)
    if design_error and design is not None:
        notes_out.append(design_error)
    found, findings_error = _findings(findings, log, design_obj, store, notes_out)
    ctx = Context(
        log=log,
        design=design_obj,
        design_error=design_error,
        findings=found,
        findings_error=findings_error,
        store=store,
        previous=previous,
        max_cases=max_cases,
        top_variants=top_variants,
        charts=Charts(),
    )
    rendered: dict[str, str] = {}
    status: dict[str, str] = {}
    seconds: dict[str, float] = {}
    # the cases appendix lists the cases the other sections linked to, so it renders last
    for sid in [s for s in chosen if s != "cases"] + [s for s in chosen if s == "cases"]:
        rendered[sid], status[sid], seconds[sid] = render_section(ctx, sid)
    body = ""
    if notes_out:
        body += (
            '<div class="notes"><b>Note</b><ul>'
            + "".join(f"<li>{esc(n)}</li>" for n in notes_out)
            + "</ul></div>"
        )
    body += "".join(rendered[s] for s in chosen)
    summary = dict(ctx.summary)
    summary.update(
        title=title,
        generated_at=now.isoformat(),
        window={
            "start": start.isoformat() if start else None,
            "end": end.isoformat() if end else None,
            "text": win.describe(),
        },
        sections=status,
        section_seconds={k: round(v, 3) for k, v in seconds.items()},
        notes=notes_out,
    )
    subtitle = f"{win.describe()} · generated {now:%Y-%m-%d %H:%M} UTC"
    if "cases" not in summary:
        summary["cases"] = log.get_column("case_id").n_unique() if log.height else 0
        summary["events"] = log.height
    subtitle = f"{summary['events']:,} events, {summary['cases']:,} cases · " + subtitle
    html_text = page(
        title=title,
        subtitle=subtitle,
        nav=[(f"s-{s}", SECTION_TITLES[s]) for s in chosen],
        body=body,
        charts=ctx.charts,
        footer=f"Generated by wfmine on {now:%Y-%m-%d %H:%M} UTC. Works offline; no data leaves this file.",
    )
    summary["build_seconds"] = round(time.perf_counter() - started, 3)
    return Report(title=title, generated_at=now, summary=summary, _html=html_text)


def _open_store(store: Any) -> tuple[Any, bool]:
    if store is None or _is_store(store) or isinstance(store, pl.DataFrame):
        return store, False
    from wfmine.store import open_store

    return open_store(store, read_only=True), True


def generate(
    definition_path: str | Path | ReportDefinition,
    *,
    store: Any,
    out: str | Path | None = None,
    now: dt.datetime | None = None,
    notes: Sequence[str] = (),
    pull_error: str | None = None,
    findings: pl.DataFrame | None = None,
    slot: dt.datetime | None = None,
) -> Path:
    """Run one report definition end to end and return the written report's path.

    Loads the design, filters the window, builds the report, writes it into
    the dated archive (``<output>/<name>/<YYYY-MM-DD_HHMM>.html`` plus its
    ``summary.json``), rewrites ``index.html`` and ``last_run.json``. ``store``
    is a :class:`~wfmine.store.Store`, a store path, or a flat log frame.
    ``out`` ending in ``.html`` writes just that file (no archive); any other
    ``out`` replaces the definition's output folder. ``pull_error`` says a
    pull before this run failed: the report is built from stored data and
    says so. ``slot`` is the schedule slot this run serves (recorded for
    :func:`run_due`; default ``now``). A failed run records the error in ``last_run.json`` and the
    index, leaves earlier reports untouched, and re-raises.
    """
    definition = (
        definition_path
        if isinstance(definition_path, ReportDefinition)
        else load_definition(definition_path)
    )
    now = now or dt.datetime.now(dt.UTC)
    if now.tzinfo is None:
        now = now.replace(tzinfo=dt.UTC)
    single = out is not None and str(out).endswith(".html")
    folder = definition.archive if out is None or single else Path(out) / definition.name
    stem = stamp(now)
    all_notes = list(notes)
    if pull_error:
        all_notes.append(
            f"Pulling new data failed ({pull_error}); this report uses the data stored before."
        )
    record: dict[str, Any] = {
        "name": definition.name,
        "definition": str(definition.path),
        "started_at": dt.datetime.now(dt.UTC).isoformat(),
        "slot": (slot or now).isoformat(),
        "pull_error": pull_error,
        "last_ok_slot": (read_last_run(folder) or {}).get("last_ok_slot"),
    }
    opened = False
    try:
        handle, opened = _open_store(store)
        report = build_report(
            handle,
            definition.design,
            window=definition.window,
            sections=definition.sections,
            title=definition.title,
            findings=findings,
            previous=None if single else previous_summary(folder, before=stem),
            notes=all_notes,
            now=now,
            case_notion=definition.case_notion,
            max_cases=definition.max_cases,
            top_variants=definition.top_variants,
        )
        if single:
            assert out is not None
            return report.save(out)
        target = folder / f"{stem}.html"
        report.save(target)
        atomic_write(target.with_suffix(".summary.json"), _json(report.summary))
        record.update(status="ok", report=str(target), error=None, last_ok_slot=record["slot"], size_bytes=target.stat().st_size,
                      seconds=report.summary.get("build_seconds"))  # fmt: skip
        return target
    except BaseException as exc:
        record.update(status="error", error=f"{type(exc).__name__}: {exc}", report=None,
                      traceback=traceback.format_exc(limit=8))  # fmt: skip
        raise
    finally:
        if opened:
            handle.close()
        if not single:
            record["finished_at"] = dt.datetime.now(dt.UTC).isoformat()
            write_last_run(folder, record)
            write_index(folder, definition.title)


def _json(value: Any) -> str:
    import json

    return json.dumps(value, indent=2, default=str, ensure_ascii=False) + "\n"
