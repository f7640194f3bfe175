"""HTML reports: one self-contained file per run, rendered from one Analysis.

>>> import polars as pl, datetime as dt
>>> from wfmine.reports import build_report
>>> log = pl.DataFrame({"case_id": ["c1", "c1"], "activity": ["open", "close"],
...                     "timestamp": [dt.datetime(2024, 1, 1), dt.datetime(2024, 1, 2)]})
>>> report = build_report(log, sections=["summary"], title="Demo")
>>> "What to act on" in report.html()
True

The report renders; it computes no analytics of its own. Scope, findings,
conformance and every figure come from the :class:`~wfmine.analysis.Analysis`
it is given (or builds from a store or log), so the terminal, the notebook
and the report always show the same cases and findings. It opens with what
to act on, then how work flows, then whether it is getting better; case
trails are collapsed at the end. It works offline (plotly.js embedded once,
compressed) and every text that came from a source is escaped by the
templates' autoescape. A section that fails is a loud warning in the page
and in :attr:`Report.failed_sections`, never a silent gap.

Scheduled reports are described by ``reports/*.toml`` in a workspace (see
:mod:`wfmine.reports.definition`); :func:`generate` runs one end to end into a
dated archive (:mod:`wfmine.reports.archive`), :func:`run_due` runs whatever
is due (``wfmine schedule --once``), :func:`serve` keeps running them in the
foreground, and :func:`install_lines` prints crontab and systemd units.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import gc
import json
import time
import traceback
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl
from markupsafe import Markup

from wfmine.analysis import Analysis
from wfmine.design import Design
from wfmine.reports._charts import Charts, plotly_bundle
from wfmine.reports._render import asset, render
from wfmine.reports.archive import (
    atomic_write,
    previous_summary,
    prune,
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
from wfmine.reports.sections import GROUPS, READS, SECTION_TITLES, Context, render_section
from wfmine.store import Store

__all__ = [
    "ALL_SECTIONS",
    "Generated",
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
    "run_definition",
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
        """Write the report to ``path`` (atomically, readable like any file the user writes)."""
        return atomic_write(Path(path), self._html)

    def __repr__(self) -> str:
        sections = self.section_status
        failed = self.failed_sections
        state = f", {len(failed)} failed" if failed else ""
        return (
            f"<Report {self.title!r}: {self.summary.get('scope', '')}; "
            f"{len(sections)} sections{state}; {len(self._html) / 1e6:.1f} MB of HTML>"
        )

    def _repr_html_(self) -> str:
        """In a notebook: the scope and how to open the report (the page itself is large)."""
        from html import escape

        return (
            f"<b>{escape(self.title)}</b><br>{escape(str(self.summary.get('scope', '')))}"
            f"<br>{len(self.section_status)} sections, {len(self._html) / 1e6:.1f} MB: "
            "<code>report.save('report.html')</code> and open it in a browser."
        )

    @property
    def section_status(self) -> dict[str, str]:
        """``{section id: "ok" | "skipped: <why>" | "failed: <error>"}``."""
        return dict(self.summary.get("sections") or {})

    @property
    def failed_sections(self) -> dict[str, str]:
        """``{section id: error}`` of the sections that failed (empty when all rendered)."""
        return {
            k: v.removeprefix("failed: ")
            for k, v in self.section_status.items()
            if v.startswith("failed")
        }


def _analysis(
    source: Analysis | Store | pl.DataFrame,
    design: Design | str | Path | None,
    window: Window | str | None,
    now: dt.datetime,
    case_notion: str,
) -> Analysis:
    if isinstance(source, Analysis):
        return source
    if isinstance(source, pl.LazyFrame):
        source = source.collect()
    return Analysis.of(source, design, window=window, case_notion=case_notion, now=now)


def _nav(chosen: Sequence[str]) -> list[tuple[str, str]]:
    return [(f"g-{gid}", title) for gid, title, _, ids in GROUPS if set(ids) & set(chosen)]


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """Python's cyclic garbage collector paused while a report renders, if it runs.

    A report at 1M events makes ~12,000 finding dicts and a few MB of template output,
    short-lived objects without cycles to speak of; the collector's passes over them cost
    about 0.15 s CPU (a quarter of the rendering), for nothing to collect. It runs again
    afterwards, and collects then whatever cycles rendering left.
    """
    running = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if running:
            gc.enable()


def build_report(
    source: Analysis | Store | pl.DataFrame,
    design: Design | str | Path | None = None,
    *,
    window: Window | str | None = None,
    sections: Sequence[str] | None = None,
    title: str = "Process report",
    previous: Mapping[str, Any] | None = None,
    notes: Sequence[str] = (),
    now: dt.datetime | None = None,
    case_notion: str = "work_item",
    max_cases: int = 200,
    top_variants: int = 20,
) -> Report:
    """Render an :class:`~wfmine.analysis.Analysis` as one self-contained HTML page.

    ``source`` is the Analysis to render; a store or a flat log is turned into
    one first (with ``design``, ``window``, ``case_notion``; ignored for an
    Analysis). ``sections`` picks sections (default: all, see
    :data:`ALL_SECTIONS`; unknown names raise :class:`~wfmine.errors.ConfigError`);
    ``previous`` is an earlier report's ``summary`` to compare with; ``notes``
    are shown in a banner (e.g. a failed pull). Never reads environment
    variables, so no token can leak.

    >>> report = build_report(Analysis.of(store, "design.yaml", window="90d"))  # doctest: +SKIP
    >>> report.failed_sections  # doctest: +SKIP
    {}
    >>> report.save("report.html")  # doctest: +SKIP
    """
    with _collector_paused():
        return _build_report(
            source, design, window=window, sections=sections, title=title, previous=previous,
            notes=notes, now=now, case_notion=case_notion, max_cases=max_cases,
            top_variants=top_variants,
        )  # fmt: skip


def _build_report(
    source: Analysis | Store | pl.DataFrame,
    design: Design | str | Path | None,
    *,
    window: Window | str | None,
    sections: Sequence[str] | None,
    title: str,
    previous: Mapping[str, Any] | None,
    notes: Sequence[str],
    now: dt.datetime | None,
    case_notion: str,
    max_cases: int,
    top_variants: int,
) -> Report:
    started = time.perf_counter()
    now = now or dt.datetime.now(dt.UTC)
    if now.tzinfo is None:
        now = now.replace(tzinfo=dt.UTC)
    chosen = select_sections(sections)
    analysis = _analysis(source, design, window, now, case_notion)
    ctx = Context(
        analysis=analysis,
        charts=Charts(),
        previous=previous,
        chosen=chosen,
        max_cases=max_cases,
        top_variants=top_variants,
    )
    # the summary fills the figures the next report compares with; the cases appendix
    # lists the cases the other sections linked to: so the one renders first, the other last
    order = [s for s in chosen if s == "summary"] + [
        s for s in chosen if s not in ("summary", "cases")
    ]
    # what the other sections read is computed on the second core while the summary renders
    # (the findings, the longest chain): the same figures, made once, whichever thread asks
    alongside = [f for s, reads in READS.items() if s in chosen for f in reads]
    with analysis.alongside(*alongside):
        outcomes = {
            sid: render_section(ctx, sid) for sid in order + [s for s in chosen if s == "cases"]
        }
    groups = []
    for gid, heading, lede, ids in GROUPS:
        shown = [outcomes[s].html for s in ids if s in outcomes]
        if shown:
            groups.append({"id": gid, "title": heading, "lede": lede, "sections": shown})
    body = render("groups.html.j2", groups=groups)
    scope = analysis.scope
    notes = [*notes, *analysis.warnings]  # e.g. design patterns that match no activity
    summary = dict(ctx.summary)
    summary.setdefault("cases", scope.cases)
    summary.setdefault("events", scope.events)
    summary.update(
        title=title,
        generated_at=now.isoformat(),
        scope=scope.describe(),
        window={
            "start": scope.start.isoformat() if scope.start else None,
            "end": scope.end.isoformat() if scope.end else None,
            "text": analysis.window.describe(),
        },
        sections={k: o.status for k, o in outcomes.items()},
        section_seconds={k: round(o.seconds, 3) for k, o in outcomes.items()},
        notes=list(notes),
    )
    failures = [
        (k, SECTION_TITLES[k], o.status.removeprefix("failed: "))
        for k, o in outcomes.items()
        if o.failed
    ]
    html_text = render(
        "page.html.j2",
        title=title,
        scope=scope.describe(),
        subtitle=f"Generated {now:%Y-%m-%d %H:%M} UTC",
        nav=_nav(chosen),
        failures=failures,
        notes=list(notes),
        body=body,
        css=asset("report.css"),
        script=asset("report.js"),
        bundle=Markup(plotly_bundle()) if ctx.charts.count else None,
        footer=f"Generated by wfmine on {now:%Y-%m-%d %H:%M} UTC. Works offline; no data leaves this file.",
    )
    summary["build_seconds"] = round(time.perf_counter() - started, 3)
    return Report(title=title, generated_at=now, summary=summary, _html=str(html_text) + "\n")


@dataclass(frozen=True)
class Generated:
    """What :func:`run_definition` wrote: the report file (``None`` for ``out=*.html``) and the report."""

    path: Path
    report: Report

    @property
    def failed_sections(self) -> dict[str, str]:
        """The sections that failed (see :attr:`Report.failed_sections`)."""
        return self.report.failed_sections


def _matches(analysis: Analysis, definition: ReportDefinition) -> bool:
    same_design = (
        analysis.design_path is not None
        and definition.design is not None
        and Path(analysis.design_path).resolve() == definition.design.resolve()
    ) or (analysis.design is None and definition.design is None)
    return same_design and analysis.window == definition.window


def run_definition(
    definition_path: str | Path | ReportDefinition,
    *,
    store: Store | pl.DataFrame | str | Path,
    analysis: Analysis | None = None,
    out: str | Path | None = None,
    now: dt.datetime | None = None,
    notes: Sequence[str] = (),
    pull_error: str | None = None,
    slot: dt.datetime | None = None,
) -> Generated:
    """Run one report definition end to end; return the written file and the report.

    Builds the Analysis with the definition's design and window (or reuses
    ``analysis`` when its design and window are the definition's), renders
    it, writes it into the dated archive (``<output>/<name>/<YYYY-MM-DD_HHMM>.html``
    plus its ``summary.json``), keeps the newest ``retain`` reports, rewrites
    ``index.html`` and ``last_run.json``. ``store`` is a
    :class:`~wfmine.store.Store`, a store path, or a flat log frame. ``out``
    ending in ``.html`` writes just that file (no archive); any other ``out``
    replaces the definition's output folder. ``pull_error`` says a pull before
    this run failed: the report is built from stored data and says so.
    ``slot`` is the schedule slot this run serves (default ``now``). A failed
    run records the error in ``last_run.json`` and the index, leaves earlier
    reports untouched, and re-raises.
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
    opened: Store | None = None
    try:
        if analysis is None or not _matches(analysis, definition):
            handle: Store | pl.DataFrame
            if isinstance(store, str | Path):
                from wfmine.store import open_store

                handle = opened = open_store(store, read_only=True)
            else:
                handle = store
            analysis = Analysis.of(handle, definition.design, window=definition.window,
                                      case_notion=definition.case_notion, now=now)  # fmt: skip
        report = build_report(
            analysis,
            sections=definition.sections,
            title=definition.title,
            previous=None if single else previous_summary(folder, before=stem),
            notes=all_notes,
            now=now,
            max_cases=definition.max_cases,
            top_variants=definition.top_variants,
        )
        if single:
            assert out is not None
            return Generated(report.save(out), report)
        target = folder / f"{stem}.html"
        report.save(target)
        atomic_write(target.with_suffix(".summary.json"), _json(report.summary))
        pruned = prune(folder, keep=definition.retain) if definition.retain else []
        failed = pull_error is not None or bool(report.failed_sections)
        problem = "; ".join(
            ([f"pulling new data failed: {pull_error}"] if pull_error else [])
            + [f"section {k} failed: {v}" for k, v in report.failed_sections.items()]
        )
        # a run that could not pull, or whose sections failed, wrote its report but is not
        # ok: the index says so, and the slot stays due so the next run tries again
        record.update(status="error" if failed else "ok", report=str(target),
                      error=problem or None,
                      last_ok_slot=record["last_ok_slot"] if failed else record["slot"],
                      size_bytes=target.stat().st_size, seconds=report.summary.get("build_seconds"),
                      failed_sections=report.failed_sections, pruned=[p.name for p in pruned])  # fmt: skip
        return Generated(target, report)
    except BaseException as exc:
        record.update(status="error", error=f"{type(exc).__name__}: {exc}", report=None,
                      traceback=traceback.format_exc(limit=8))  # fmt: skip
        raise
    finally:
        if opened is not None:
            opened.close()
        if not single:
            record["finished_at"] = dt.datetime.now(dt.UTC).isoformat()
            write_last_run(folder, record)
            write_index(folder, definition.title)


def generate(
    definition_path: str | Path | ReportDefinition,
    *,
    store: Store | pl.DataFrame | str | Path,
    analysis: Analysis | None = None,
    out: str | Path | None = None,
    now: dt.datetime | None = None,
    notes: Sequence[str] = (),
    pull_error: str | None = None,
    slot: dt.datetime | None = None,
) -> Path:
    """:func:`run_definition`, returning just the written file's path."""
    return run_definition(definition_path, store=store, analysis=analysis, out=out, now=now,
                          notes=notes, pull_error=pull_error, slot=slot).path  # fmt: skip


def _json(value: Any) -> str:
    return json.dumps(value, indent=2, default=str, ensure_ascii=False) + "\n"
