"""The sections of a report: one function per section, each returning HTML.

Every section reads a shared :class:`Context` (the windowed flat log, the
design, the findings, the previous report's summary) and returns the HTML of
its body. A section that cannot be computed raises; :func:`render_section`
turns the error into a "not available: <reason>" note so the report always
renders. Analyses come from :mod:`wfmine.discovery`, :mod:`wfmine.conformance`
and :mod:`wfmine.findings`, imported when a section first needs them.

Figures are computed on the full log; only the *detail* is sampled (top
variants, case trails, table rows) so the file stays small.
"""

from __future__ import annotations

import datetime as dt
import importlib
import json
import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

import polars as pl

from wfmine.reports._html import (
    Charts,
    badge,
    bar,
    esc,
    fmt_duration,
    fmt_num,
    heat_color,
    slug,
    sparkline,
    table,
)

__all__ = [
    "SECTIONS",
    "SECTION_TITLES",
    "Context",
    "Unavailable",
    "render_section",
]

FINDING_COLUMNS: Final = (
    "finding_id",
    "kind",
    "subject",
    "severity",
    "summary",
    "evidence",
    "first_seen",
    "last_seen",
    "trend",
)
_SEVERITY_ORDER: Final = {"high": 0, "medium": 1, "low": 2}


class Unavailable(Exception):
    """A section (or an analysis it needs) cannot be shown; the message says why."""


def analysis(module: str, name: str) -> Callable[..., Any]:
    """The analysis function ``module.name``, or :class:`Unavailable` saying what is missing."""
    try:
        mod = importlib.import_module(module)
    except ImportError as exc:
        raise Unavailable(f"{module} is not available ({exc})") from None
    fn = getattr(mod, name, None)
    if not callable(fn):
        raise Unavailable(f"{module}.{name} does not exist")
    return fn  # type: ignore[no-any-return]


_SOURCE_NAMES: Final = {
    "slack": "Slack",
    "email": "email",
    "github": "GitHub",
    "jira": "Jira",
}


@dataclass(frozen=True)
class Scope:
    """The cases the process sections describe: all of them, or those a design speaks about."""

    log: pl.DataFrame
    total: int
    cases: int
    left_out: int
    left_out_by_source: dict[str, int]

    def note(self) -> str:
        """One sentence saying what is in scope (empty when nothing is left out)."""
        if not self.left_out:
            return ""
        kinds = ", ".join(
            f"{n:,} {_SOURCE_NAMES.get(k, k)}" for k, n in self.left_out_by_source.items()
        )
        return (
            f'<p class="lede scope">{self.cases:,} cases in scope of the design; '
            f"{self.left_out:,} other cases (conversations and items linked to no work item"
            f"{': ' + esc(kinds) if kinds else ''}) are left out.</p>"
        )


@dataclass
class Context:
    """Everything the sections of one report share."""

    log: pl.DataFrame
    design: Any = None
    design_error: str | None = None
    findings: list[dict[str, Any]] | None = None
    findings_error: str | None = None
    store: Any = None
    previous: Mapping[str, Any] | None = None
    max_cases: int = 200
    max_events_per_case: int = 60
    top_variants: int = 20
    charts: Charts = field(default_factory=Charts)
    summary: dict[str, Any] = field(default_factory=dict)
    cases: dict[str, None] = field(default_factory=dict)  # case ids the appendix lists, in order
    _cache: dict[str, Any] = field(default_factory=dict)
    _case_ids: frozenset[str] | None = None

    # -- shared computations ---------------------------------------------------------

    def cached(self, key: str, compute: Callable[[], Any]) -> Any:
        """Compute ``key`` once per report; a failure is remembered and re-raised."""
        if key not in self._cache:
            try:
                self._cache[key] = (True, compute())
            except Unavailable as exc:
                self._cache[key] = (False, str(exc))
            except Exception as exc:
                self._cache[key] = (False, f"{type(exc).__name__}: {exc}")
        ok, value = self._cache[key]
        if not ok:
            raise Unavailable(value)
        return value

    def need_design(self) -> Any:
        """The design, or :class:`Unavailable` saying why there is none."""
        if self.design is None:
            raise Unavailable(self.design_error or "no design given")
        return self.design

    def need_findings(self, kind: str | None = None) -> list[dict[str, Any]]:
        """The findings (of ``kind``), or :class:`Unavailable` when they could not be computed."""
        if self.findings is None:
            raise Unavailable(self.findings_error or "no findings")
        if kind is None:
            return self.findings
        return [f for f in self.findings if f["kind"] == kind]

    def scope(self) -> Scope:
        """Which cases the process sections describe (computed once).

        Without a design, every case. With one, the cases the design speaks
        about: those with at least one event mapped to a design stage (not
        ``other``). The rest — conversations, threads and items linked to no
        work item, which the case notion makes cases of their own — would
        otherwise dominate variants and the map.
        """
        return self.cached("scope", self._compute_scope)  # type: ignore[no-any-return]

    def _compute_scope(self) -> Scope:
        log = self.log
        total = log.get_column("case_id").n_unique() if log.height else 0
        if self.design is None or not log.height:
            return Scope(log, total, total, 0, {})
        map_stages = analysis("wfmine.design", "map_stages")
        mapped = map_stages(log.select("case_id", "source", "activity"), self.design)
        stage = pl.col("stage")
        inside = mapped.filter(stage.is_not_null() & (stage != "other")).select("case_id").unique()
        scoped = log.join(inside, on="case_id", how="semi", maintain_order="left")
        outside = (
            log.select("case_id")
            .unique()
            .join(inside, on="case_id", how="anti")
            .select(pl.col("case_id").str.extract(r"^([^:]+):", 1).fill_null("other").alias("src"))
            .group_by("src")
            .len()
            .sort(["len", "src"], descending=[True, False])
        )
        kinds = {str(k): int(n) for k, n in outside.iter_rows()}
        return Scope(scoped, total, inside.height, total - inside.height, kinds)

    @property
    def scoped_log(self) -> pl.DataFrame:
        """The log of the cases in scope (see :meth:`scope`)."""
        return self.scope().log

    def dfg(self) -> pl.DataFrame:
        """The directly-follows frame of the cases in scope (computed once)."""
        fn = analysis("wfmine.discovery", "directly_follows")
        return self.cached("dfg", lambda: _as_frame(fn(self.scoped_log)))  # type: ignore[no-any-return]

    def metrics(self) -> Mapping[str, Any]:
        """The architect's metrics (``wfmine.findings.metrics``), computed once."""
        fn = analysis("wfmine.findings", "metrics")

        def compute() -> Mapping[str, Any]:
            value = fn(self.log, self.design)
            if not isinstance(value, Mapping):
                raise Unavailable("metrics did not return a mapping of frames")
            return value

        return self.cached("metrics", compute)  # type: ignore[no-any-return]

    # -- links into the cases appendix -------------------------------------------------

    def resolve_case(self, ref: str) -> str | None:
        """The log's case id for ``ref`` (``ACME-12`` finds ``jira:ACME-12``), if any."""
        if self._case_ids is None:
            self._case_ids = frozenset(self.log.get_column("case_id").drop_nulls().unique())
        if ref in self._case_ids:
            return ref
        for prefix in ("jira:", "xes:", "github:", "csv:"):
            if prefix + ref in self._case_ids:
                return prefix + ref
        return None

    def case_link(self, ref: object) -> str:
        """A link to ``ref``'s event trail in the appendix (plain text when it is not listed)."""
        text = str(ref)
        case = self.resolve_case(text)
        if case is not None and (case in self.cases or len(self.cases) < self.max_cases):
            self.cases.setdefault(case)
            return f'<a class="case" href="#{slug("case", case)}">{esc(text)}</a>'
        return f'<span class="case">{esc(text)}</span>'

    def case_links(self, refs: Sequence[object], limit: int = 12) -> str:
        """Links to the first ``limit`` cases of ``refs`` plus how many more there are."""
        shown = ", ".join(self.case_link(r) for r in refs[:limit])
        more = len(refs) - limit
        tail = f' <span class="muted">and {more:,} more</span>' if more > 0 else ""
        return (
            f'<span class="cases">{shown}{tail}</span>' if refs else '<span class="muted">—</span>'
        )


# -- helpers ---------------------------------------------------------------------------


def _as_frame(value: Any) -> pl.DataFrame:
    if isinstance(value, pl.LazyFrame):
        return value.collect()
    if isinstance(value, pl.DataFrame):
        return value
    try:
        return pl.DataFrame(value)
    except Exception as exc:
        raise Unavailable(f"expected a frame, got {type(value).__name__}") from exc


def _na(reason: str) -> str:
    return f'<p class="na">not available: {esc(reason)}</p>'


def _is_time(dtype: pl.DataType) -> bool:
    return dtype.is_temporal()


def _time_column(df: pl.DataFrame) -> str | None:
    for name, dtype in df.schema.items():
        if _is_time(dtype):
            return name
    for name in ("week", "period", "month", "date", "day"):
        if name in df.columns:
            return name
    return None


def _cell(name: str, value: Any) -> str:
    """Format one value of a generic frame for a table cell (escaped)."""
    if value is None:
        return '<span class="muted">—</span>'
    lname = name.lower()
    if isinstance(value, bool):
        if lname in {"owned", "sanctioned", "declared"}:
            return badge("owned" if value else "unowned", "owned" if value else "unowned")
        return "yes" if value else "no"
    if isinstance(value, int | float):
        if lname.endswith("_s") or lname.endswith("_seconds"):
            return fmt_duration(value)
        shares = ("share", "coverage", "ratio", "rate", "fitness", "readiness", "rework")
        if any(k in lname for k in shares) and isinstance(value, float) and 0.0 <= value <= 1.0:
            return f"{value * 100:.1f}%"
        return fmt_num(value, 2 if isinstance(value, float) and abs(value) < 100 else 0)
    if isinstance(value, dt.datetime):
        return esc(value.strftime("%Y-%m-%d %H:%M"))
    if isinstance(value, dt.date):
        return esc(value.isoformat())
    if isinstance(value, list):
        return esc(", ".join(str(v) for v in value[:20]) + (" …" if len(value) > 20 else ""))
    if isinstance(value, dict):
        return esc(json.dumps(value, default=str)[:300])
    return esc(value)


def frame_table(
    df: pl.DataFrame, *, max_rows: int = 25, columns: Sequence[str] | None = None
) -> str:
    """A generic table of ``df`` (first ``max_rows`` rows), every value escaped and formatted."""
    cols = [c for c in (columns or df.columns) if c in df.columns]
    numeric = [i for i, c in enumerate(cols) if df.schema[c].is_numeric()]
    rows = [
        [_cell(c, row[c]) for c in cols]
        for row in df.head(max_rows).select(cols).iter_rows(named=True)
    ]
    more = ""
    if df.height > max_rows:
        more = f'<p class="caption">First {max_rows:,} of {df.height:,} rows.</p>'
    return table([c.replace("_", " ") for c in cols], rows, numeric=numeric) + more


def _weekly(log: pl.DataFrame, column: str) -> pl.DataFrame:
    return (
        log.group_by("case_id")
        .agg(pl.col("timestamp").min().alias("first"), pl.col("timestamp").max().alias("last"))
        .select(pl.col(column).dt.truncate("1w").alias("week"))
        .group_by("week")
        .len()
        .sort("week")
    )


def _iso(value: Any) -> str | None:
    if isinstance(value, dt.datetime):
        return value.isoformat()
    return None if value is None else str(value)


def _evidence_cases(finding: Mapping[str, Any]) -> list[str]:
    ev = finding.get("evidence") or {}
    cases = ev.get("cases") if isinstance(ev, Mapping) else None
    if isinstance(cases, list):
        return [str(c) for c in cases]
    if finding.get("kind") == "gate_violation" and finding.get("subject"):
        return [str(finding["subject"])]
    return []


def _evidence_list(finding: Mapping[str, Any]) -> str:
    ev = finding.get("evidence")
    if not isinstance(ev, Mapping):
        return ""
    items = []
    for key, value in ev.items():
        if key == "cases":
            continue
        if isinstance(value, list | dict):
            text = json.dumps(value, ensure_ascii=False, default=str)
            shown = esc(text if len(text) <= 400 else text[:400] + " …")
        else:
            shown = _cell(str(key), value)
        items.append(f"<dt>{esc(str(key).replace('_', ' '))}</dt><dd>{shown}</dd>")
    return f'<dl class="ev">{"".join(items)}</dl>' if items else ""


def _finding_card(ctx: Context, f: Mapping[str, Any]) -> str:
    sev = str(f.get("severity") or "low")
    trend = f.get("trend")
    seen = " – ".join(esc(str(x)[:10]) for x in (f.get("first_seen"), f.get("last_seen")) if x)
    cases = _evidence_cases(f)
    fid = slug("finding", str(f.get("finding_id") or f.get("subject")))
    return (
        f'<div class="finding sev-{esc(sev)}" id="{fid}">'
        f'<div><span class="subj">{esc(f.get("subject"))}</span> {badge(sev, sev)}'
        + (f" {badge(str(trend), str(trend))}" if trend else "")
        + (f' <span class="muted">seen {seen}</span>' if seen else "")
        + f"</div><div>{esc(f.get('summary'))}</div>{_evidence_list(f)}"
        f"<div>cases: {ctx.case_links(cases)}</div></div>"
    )


def _sorted_findings(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(
        items,
        key=lambda f: (_SEVERITY_ORDER.get(str(f.get("severity")), 3), str(f.get("subject"))),
    )


def normalise_findings(df: pl.DataFrame) -> list[dict[str, Any]]:
    """Findings frame → list of dicts with parsed evidence (findings are few, not events)."""
    missing = [c for c in ("kind", "subject") if c not in df.columns]
    if missing:
        raise Unavailable(f"findings frame lacks columns {missing}")
    out = []
    for row in df.iter_rows(named=True):
        item = {c: row.get(c) for c in FINDING_COLUMNS}
        ev = item.get("evidence")
        if isinstance(ev, str):
            try:
                item["evidence"] = json.loads(ev)
            except ValueError:
                item["evidence"] = {"text": ev}
        out.append(item)
    return out


# -- sections --------------------------------------------------------------------------


def section_summary(ctx: Context) -> str:
    """Headline figures, open findings by kind, and what changed since the previous report."""
    log = ctx.log
    n_cases = log.get_column("case_id").n_unique() if log.height else 0
    start = log.get_column("timestamp").min() if log.height else None
    end = log.get_column("timestamp").max() if log.height else None
    weeks = 1.0
    if isinstance(start, dt.datetime) and isinstance(end, dt.datetime):
        weeks = max((end - start).total_seconds() / 604800.0, 1.0)
    ended = _weekly(log, "last") if log.height else pl.DataFrame({"week": [], "len": []})
    started = _weekly(log, "first") if log.height else pl.DataFrame({"week": [], "len": []})
    by_kind: dict[str, int] = {}
    if ctx.findings is not None:
        for f in ctx.findings:
            by_kind[str(f["kind"])] = by_kind.get(str(f["kind"]), 0) + 1
    s = ctx.summary
    s.update(
        cases=n_cases,
        events=log.height,
        activities=log.get_column("activity").n_unique() if log.height else 0,
        actors=log.get_column("actor_id").drop_nulls().n_unique() if log.height else 0,
        start=_iso(start),
        end=_iso(end),
        throughput_per_week=round(n_cases / weeks, 2) if n_cases else 0.0,
        findings_by_kind=dict(sorted(by_kind.items())),
        findings_total=sum(by_kind.values()) if ctx.findings is not None else None,
        finding_ids=sorted(
            str(f.get("finding_id") or f"{f['kind']}|{f['subject']}") for f in ctx.findings or []
        ),
    )
    prev = ctx.previous or {}

    def kpi(label: str, key: str, value: Any, shown: str) -> str:
        delta = ""
        old = prev.get(key)
        if isinstance(old, int | float) and isinstance(value, int | float):
            diff = value - old
            cls = "flat" if diff == 0 else ("up" if diff > 0 else "down")
            sign = "+" if diff > 0 else ""
            delta = f'<div class="d {cls}">{sign}{fmt_num(diff, 1 if isinstance(diff, float) else 0)} since last</div>'
        return f'<div class="kpi"><div class="k">{esc(label)}</div><div class="v">{shown}</div>{delta}</div>'

    period = "—"
    if isinstance(start, dt.datetime) and isinstance(end, dt.datetime):
        period = f"{start:%Y-%m-%d} → {end:%Y-%m-%d}"
    kpis = [kpi("cases", "cases", n_cases, fmt_num(n_cases))]
    scope_note = ""
    if ctx.design is not None and log.height:
        try:
            scope = ctx.scope()
        except Unavailable as exc:
            scope_note = _na(f"design scope: {exc}")
        else:
            s.update(cases_in_scope=scope.cases, cases_out_of_scope=scope.left_out)
            kpis.append(
                kpi("cases in design scope", "cases_in_scope", scope.cases, fmt_num(scope.cases))
            )
            scope_note = scope.note() or (
                f'<p class="lede scope">All {scope.cases:,} cases are in scope of the design.</p>'
            )
    kpis += [
        kpi("events", "events", log.height, fmt_num(log.height)),
        kpi("activities", "activities", s["activities"], fmt_num(s["activities"])),
        kpi("actors", "actors", s["actors"], fmt_num(s["actors"])),
        f'<div class="kpi"><div class="k">period</div><div class="v" style="font-size:15px">{esc(period)}</div></div>',
        kpi(
            "cases / week",
            "throughput_per_week",
            s["throughput_per_week"],
            fmt_num(s["throughput_per_week"], 1),
        ),
    ]
    if ctx.findings is not None:
        kpis.append(
            kpi(
                "open findings", "findings_total", s["findings_total"], fmt_num(s["findings_total"])
            )
        )
    parts = [f'<div class="kpis">{"".join(kpis)}</div>', scope_note]

    if ctx.findings is None:
        parts.append(_na(f"findings: {ctx.findings_error or 'not computed'}"))
    elif by_kind:
        old_kinds = prev.get("findings_by_kind") or {}
        rows = []
        for kind, count in sorted(by_kind.items(), key=lambda kv: -kv[1]):
            high = sum(1 for f in ctx.findings if f["kind"] == kind and f.get("severity") == "high")
            old = old_kinds.get(kind) if isinstance(old_kinds, Mapping) else None
            change = "—" if old is None else (f"{count - int(old):+d}" if count != old else "±0")
            rows.append([esc(kind.replace("_", " ")), fmt_num(count), fmt_num(high), esc(change)])
        parts.append("<h3>Open findings by kind</h3>")
        parts.append(
            table(
                ["kind", "findings", "high severity", "since last report"], rows, numeric=[1, 2, 3]
            )
        )
    else:
        parts.append('<p class="muted">No open findings.</p>')

    parts.append("<h3>What changed since the previous report</h3>")
    if not prev:
        parts.append(
            '<p class="muted">This is the first report in this archive: nothing to compare with yet.</p>'
        )
    else:
        old_ids = set(prev.get("finding_ids") or [])
        new_ids = set(s["finding_ids"])
        new = [
            f
            for f in ctx.findings or []
            if str(f.get("finding_id") or f"{f['kind']}|{f['subject']}") not in old_ids
        ]
        resolved = len(old_ids - new_ids)
        when = esc(str(prev.get("generated_at") or "")[:16].replace("T", " "))
        items = [
            f"<li>Compared with the report of {when} (window {esc(str(prev.get('start') or '')[:10])} → {esc(str(prev.get('end') or '')[:10])}).</li>",
            f"<li>{len(new):,} new finding(s), {resolved:,} no longer present.</li>",
        ]
        for f in _sorted_findings(new)[:8]:
            items.append(
                f"<li>New: {badge(str(f.get('severity') or ''), str(f.get('severity') or ''))} "
                f"{esc(str(f['kind']).replace('_', ' '))} — {esc(f.get('subject'))}: {esc(f.get('summary'))}</li>"
            )
        parts.append(f"<ul>{''.join(items)}</ul>")

    if log.height:
        import plotly.graph_objects as go

        fig = go.Figure()
        fig.add_scatter(
            x=[_iso(w) for w in started["week"]],
            y=started["len"].to_list(),
            name="cases started",
            mode="lines+markers",
        )
        fig.add_scatter(
            x=[_iso(w) for w in ended["week"]],
            y=ended["len"].to_list(),
            name="cases ended (last event)",
            mode="lines+markers",
        )
        fig.update_layout(
            title={"text": "Weekly throughput"},
            yaxis={"title": {"text": "cases"}},
            legend={"orientation": "h", "y": -0.2},
        )
        parts.append(ctx.charts.embed(fig, height=300))
    return "".join(parts)


_MAP_HOW: Final = (
    "Boxes are activities (darker: more events), from where cases start (top) to where they "
    "end (bottom); an arrow is one activity directly followed by another, wider when more "
    "frequent. Arrows leaving or entering a box by its side go back upwards (rework). "
    "Hover for figures; drag to pan."
)


def _map_figure(ctx: Context, fig: Any, how: str) -> str:
    # wfmine's maps escape their source text themselves and are sized in pixels
    return ctx.charts.embed(fig, height=int(fig.layout.height or 560), caption=how, escaped=True)


def section_process_map(ctx: Context) -> str:
    """The stage map (with a design) and the activity map, and the busiest transitions."""
    parts = []
    scope: Scope | None = None
    if ctx.design is not None:
        scope = ctx.scope()
        parts.append(scope.note())
        parts.append("<h3>Stage map</h3>")
        try:
            stage_map = analysis("wfmine.discovery.process_map", "stage_map")
            fig = stage_map(scope.log, ctx.design)
            parts.append(
                _map_figure(
                    ctx,
                    fig,
                    "Each box is a stage of the design with the team that owns it; consecutive "
                    "events in one stage are one visit. Solid arrows are moves the design allows, "
                    "dashed red ones moves it does not allow, dotted grey ones allowed moves no "
                    "case took.",
                )
            )
        except Unavailable as exc:
            parts.append(_na(f"stage map: {exc}"))
        except Exception as exc:
            parts.append(_na(f"stage map: {type(exc).__name__}: {exc}"))
        parts.append("<h3>Activity map</h3>")
    log = ctx.scoped_log
    try:
        fn = analysis("wfmine.discovery", "process_map")
        fig = fn(log, metric="frequency")
        parts.append(_map_figure(ctx, fig, _MAP_HOW))
    except Unavailable as exc:
        parts.append(_na(f"process map: {exc}"))
    except Exception as exc:
        parts.append(_na(f"process map: {type(exc).__name__}: {exc}"))
    dfg = ctx.dfg()
    if dfg.height:
        top = dfg.sort("frequency", descending=True).head(15)
        rows = [
            [
                esc(r["source"]),
                esc(r["target"]),
                fmt_num(r["frequency"]),
                fmt_duration(r.get("wait_median_s")),
                fmt_duration(r.get("wait_p90_s")),
            ]
            for r in top.iter_rows(named=True)
        ]
        parts.append(
            f"<h3>Busiest transitions</h3>{table(['from', 'to', 'times', 'median wait', 'p90 wait'], rows, numeric=[2, 3, 4])}"
        )
        parts.append(f'<p class="caption">{dfg.height:,} distinct transitions in total.</p>')
    return "".join(parts)


def _variant_html(activities: Sequence[Any], limit: int = 14) -> str:
    acts = [str(a) for a in activities]
    shown = (
        acts
        if len(acts) <= limit
        else [*acts[: limit - 2], f"… {len(acts) - limit + 1} more …", acts[-1]]
    )
    return (
        '<span class="variant">'
        + '<span class="arr">→</span>'.join(f'<span class="step">{esc(a)}</span>' for a in shown)
        + "</span>"
    )


def section_variants(ctx: Context) -> str:
    """The most frequent variants with their coverage."""
    fn = analysis("wfmine.discovery", "variants")
    scope = ctx.scope()
    df = _as_frame(fn(scope.log)).sort("cases", descending=True)
    if not df.height:
        return scope.note() + '<p class="muted">No variants: the log is empty.</p>'
    top = df.head(ctx.top_variants)
    rows = []
    cumulative = 0.0
    for i, r in enumerate(top.iter_rows(named=True), 1):
        cov = float(r.get("coverage") or 0.0)
        cumulative += cov
        acts = r.get("activities") or []
        rows.append(
            [
                str(i),
                _variant_html(acts),
                fmt_num(len(acts)),
                fmt_num(r["cases"]),
                bar(cov),
                f"{cumulative * 100:.1f}%",
            ]
        )
    lede = (
        f'<p class="lede">{df.height:,} variants; the top {top.height} cover '
        f"{cumulative * 100:.1f}% of cases.</p>"
    )
    return (
        scope.note()
        + lede
        + table(
            ["#", "variant", "steps", "cases", "coverage", "cumulative"], rows, numeric=[0, 2, 3, 5]
        )
    )


def section_stage_times(ctx: Context) -> str:
    """Case durations, time per stage against the design, and the longest waits."""
    import plotly.graph_objects as go

    scope = ctx.scope()
    parts = [scope.note()]
    log = scope.log
    if log.height:
        durations = log.group_by("case_id").agg(
            (
                (pl.col("timestamp").max() - pl.col("timestamp").min()).dt.total_seconds() / 86400.0
            ).alias("days")
        )
        d = durations.get_column("days")
        q = {p: float(d.quantile(p) or 0.0) for p in (0.5, 0.9)}
        hi = max(float(d.quantile(0.99) or 0.0), 1.0)
        width = hi / 40
        hist = (
            durations.with_columns(
                (pl.col("days").clip(0, hi) / width).floor().clip(0, 39).alias("bin")
            )
            .group_by("bin")
            .len()
            .sort("bin")
        )
        fig = go.Figure(
            go.Bar(
                x=[(b + 0.5) * width for b in hist["bin"]],
                y=hist["len"].to_list(),
                marker={"color": "#0d6e6e"},
                hovertemplate="%{x:.1f} d: %{y} cases<extra></extra>",
            )
        )
        fig.update_layout(
            title={"text": f"Case duration (median {q[0.5]:.1f} d, p90 {q[0.9]:.1f} d)"},
            xaxis={"title": {"text": "days (top 1% folded into the last bar)"}},
            yaxis={"title": {"text": "cases"}},
            bargap=0.05,
        )
        parts.append(ctx.charts.embed(fig, height=300))

    parts.append("<h3>Time per stage against the design</h3>")
    try:
        design = ctx.need_design()
        check = analysis("wfmine.conformance", "check")
        result = ctx.cached("conformance", lambda: check(ctx.log, design))
        timing = getattr(result, "timing", None)
        if timing is None and isinstance(result, Mapping):
            timing = result.get("timing")
        if timing is None:
            raise Unavailable("the conformance result has no timing frame")
        parts.append(_stage_timing_table(_as_frame(timing)))
    except Unavailable as exc:
        parts.append(_na(str(exc)))

    parts.append("<h3>Longest waits between steps</h3>")
    try:
        dfg = ctx.dfg()
        n_cases = max(log.get_column("case_id").n_unique(), 1)
        floor = max(3, math.ceil(n_cases * 0.01))
        slow = (
            dfg.filter(pl.col("frequency") >= floor)
            .sort("wait_median_s", descending=True, nulls_last=True)
            .head(12)
        )
        if not slow.height:
            parts.append('<p class="muted">No transition is frequent enough to rank.</p>')
        else:
            rows = [
                [
                    esc(r["source"]),
                    esc(r["target"]),
                    fmt_num(r["frequency"]),
                    fmt_duration(r["wait_median_s"]),
                    fmt_duration(r.get("wait_mean_s")),
                    fmt_duration(r.get("wait_p90_s")),
                ]
                for r in slow.iter_rows(named=True)
            ]
            parts.append(
                table(
                    ["from", "to", "times", "median wait", "mean wait", "p90 wait"],
                    rows,
                    numeric=[2, 3, 4, 5],
                )
            )
            parts.append(
                f'<p class="caption">Transitions seen at least {floor} times, slowest median first.</p>'
            )
    except Unavailable as exc:
        parts.append(_na(str(exc)))
    return "".join(parts)


def _stage_timing_table(timing: pl.DataFrame) -> str:
    need = {"stage", "duration_s"}
    if not need <= set(timing.columns):
        return frame_table(timing, max_rows=30)
    has_exp = "expected_s" in timing.columns
    agg = (
        timing.group_by("stage")
        .agg(
            pl.len().alias("visits"),
            pl.col("duration_s").median().alias("median"),
            pl.col("duration_s").quantile(0.9).alias("p90"),
            (pl.col("expected_s").first() if has_exp else pl.lit(None, pl.Float64)).alias(
                "expected"
            ),
            (
                (pl.col("duration_s") > pl.col("expected_s")).mean()
                if has_exp
                else pl.lit(None, pl.Float64)
            ).alias("over"),
        )
        .sort("median", descending=True, nulls_last=True)
    )
    rows = []
    for r in agg.iter_rows(named=True):
        over = r["over"]
        over_html = (
            bar(float(over))
            if isinstance(over, float)
            else '<span class="muted">no expectation</span>'
        )
        rows.append(
            [
                esc(r["stage"]),
                fmt_num(r["visits"]),
                fmt_duration(r["median"]),
                fmt_duration(r["p90"]),
                fmt_duration(r["expected"]),
                over_html,
            ]
        )
    return table(
        ["stage", "visits", "median time", "p90 time", "expected", "visits over expectation"],
        rows,
        numeric=[1, 2, 3, 4],
    )


def section_seams(ctx: Context) -> str:
    """Handoffs between teams or performer kinds, ranked, marked owned/unowned."""
    parts = []
    try:
        fn = analysis("wfmine.findings", "seams")
        df = _as_frame(ctx.cached("seams", lambda: fn(ctx.log, ctx.design)))
        if not df.height:
            parts.append(
                '<p class="muted">No seams observed: no handoff changes team or performer kind.</p>'
            )
        else:
            if ctx.design is None:
                parts.append('<p class="lede">No design given, so no seam counts as owned.</p>')
            rank = "wait_total_s" if "wait_total_s" in df.columns else df.columns[0]
            top = df.sort(rank, descending=True, nulls_last=True).head(25)
            rows = []
            for r in top.iter_rows(named=True):
                owned = r.get("owned")
                rows.append([
                    esc(r.get("dimension")),
                    f"{esc(r.get('from'))} → {esc(r.get('to'))}",
                    fmt_num(r.get("handoffs")),
                    fmt_num(r.get("cases")),
                    fmt_duration(r.get("wait_median_s")),
                    fmt_duration(r.get("wait_p90_s")),
                    _cell("stall_share", r.get("stall_share")),
                    _cell("rework_share", r.get("rework_share")),
                    badge("owned", "owned") + (f" {esc(r.get('owner'))}" if r.get("owner") else "") if owned else badge("unowned", "unowned"),
                    ctx.case_links(list(r.get("example_cases") or []), limit=3),
                ])  # fmt: skip
            parts.append(
                table(
                    [
                        "kind",
                        "seam",
                        "handoffs",
                        "cases",
                        "median wait",
                        "p90 wait",
                        "stalled",
                        "rework",
                        "owner",
                        "examples",
                    ],
                    rows,
                    numeric=[2, 3, 4, 5, 6, 7],
                )
            )
            parts.append(
                f'<p class="caption">Ranked by total waiting time across the seam; {df.height:,} seams observed.</p>'
            )
    except Unavailable as exc:
        parts.append(_na(f"seam table: {exc}"))
    try:
        unowned = _sorted_findings(ctx.need_findings("unowned_seam"))
        parts.append(f"<h3>Unowned seams to act on ({len(unowned)})</h3>")
        parts.append(
            "".join(_finding_card(ctx, f) for f in unowned)
            or '<p class="muted">No unowned seam stands out.</p>'
        )
    except Unavailable as exc:
        parts.append(_na(f"unowned seam findings: {exc}"))
    return "".join(parts)


def section_shadow_agents(ctx: Context) -> str:
    """Undeclared automation, AI signatures and out-of-stage agents, with their evidence."""
    items = _sorted_findings(ctx.need_findings("shadow_agent"))
    if not items:
        return '<p class="muted">No shadow agents found.</p>'
    return (
        f'<p class="lede">{len(items)} actor(s) behave like automation or AI without being sanctioned for it.</p>'
        + "".join(_finding_card(ctx, f) for f in items)
    )


def _weekly_counts(ctx: Context, f: Mapping[str, Any], weeks: Sequence[dt.datetime]) -> list[float]:
    ev = f.get("evidence") if isinstance(f.get("evidence"), Mapping) else {}
    assert isinstance(ev, Mapping)
    for key in ("weekly", "weekly_counts", "by_week"):
        raw = ev.get(key)
        if isinstance(raw, Mapping):
            return [float(v) for _, v in sorted(raw.items())]
        if isinstance(raw, list) and all(isinstance(v, int | float) for v in raw):
            return [float(v) for v in raw]
        if isinstance(raw, list) and all(isinstance(v, Mapping) for v in raw):
            vals = [v.get("count", v.get("n", v.get("cases"))) for v in raw]
            return [float(v) for v in vals if isinstance(v, int | float)]
    cases = [c for c in (ctx.resolve_case(r) for r in _evidence_cases(f)) if c]
    if not cases or not weeks:
        return []
    counts = dict(
        ctx.log.filter(pl.col("case_id").is_in(cases))
        .group_by("case_id")
        .agg(pl.col("timestamp").max().dt.truncate("1w").alias("week"))
        .group_by("week")
        .len()
        .iter_rows()
    )
    return [float(counts.get(w, 0)) for w in weeks]


def _case_count(f: Mapping[str, Any], cases: Sequence[str]) -> int:
    ev = f.get("evidence")
    count = ev.get("case_count") if isinstance(ev, Mapping) else None
    return count if isinstance(count, int) else len(cases)


def section_failure_patterns(ctx: Context) -> str:
    """Recurring failure patterns with their weekly recurrence and trend."""
    items = _sorted_findings(ctx.need_findings("failure_pattern"))
    if not items:
        return '<p class="muted">No recurring failure patterns found.</p>'
    weeks: list[dt.datetime] = []
    if ctx.log.height:
        lo = ctx.log.get_column("timestamp").min()
        hi = ctx.log.get_column("timestamp").max()
        if isinstance(lo, dt.datetime) and isinstance(hi, dt.datetime):
            weeks = (
                pl.datetime_range(lo, hi, "1w", eager=True, time_zone="UTC")
                .dt.truncate("1w")
                .unique(maintain_order=True)
                .to_list()
            )
    rows = []
    for f in items:
        series = _weekly_counts(ctx, f, weeks)
        trend = f.get("trend")
        cases = _evidence_cases(f)
        rows.append(
            [
                f'<b>{esc(f.get("subject"))}</b><br><span class="muted">{esc(f.get("summary"))}</span>',
                badge(str(f.get("severity") or ""), str(f.get("severity") or "")),
                sparkline(series[-26:]),
                badge(str(trend), str(trend)) if trend else '<span class="muted">—</span>',
                fmt_num(_case_count(f, cases)),
                ctx.case_links(cases, limit=6),
            ]
        )
    return (
        table(
            ["pattern", "severity", "weekly recurrence", "trend", "cases", "examples"],
            rows,
            numeric=[4],
        )
        + '<p class="caption">Sparklines: cases showing the pattern per week (last 26 weeks).</p>'
    )


def section_gate_violations(ctx: Context) -> str:
    """Cases that reached a gated step without the approvals their risk tier requires."""
    items = _sorted_findings(ctx.need_findings("gate_violation"))
    if not items:
        return '<p class="muted">No gate violations: every gated step had the approvals its risk tier requires.</p>'
    rows = []
    for f in items[:200]:
        ev = f.get("evidence") if isinstance(f.get("evidence"), Mapping) else {}
        assert isinstance(ev, Mapping)
        kind = ev.get("type") or ev.get("violation") or ""
        tier = ev.get("tier") or ev.get("risk") or ""
        cases = _evidence_cases(f) or [str(f.get("subject"))]
        rows.append(
            [
                ctx.case_links(cases, limit=3),
                esc(kind),
                esc(tier),
                badge(str(f.get("severity") or ""), str(f.get("severity") or "")),
                esc(f.get("summary")),
            ]
        )
    more = f'<p class="caption">First 200 of {len(items):,}.</p>' if len(items) > 200 else ""
    return table(["case", "violation", "risk tier", "severity", "summary"], rows) + more


def _metric_chart(ctx: Context, name: str, df: pl.DataFrame) -> str:
    import plotly.graph_objects as go

    tcol = _time_column(df)
    nums = [c for c, t in df.schema.items() if t.is_numeric() and c != tcol]
    if not df.height:
        return (
            f"<h3>{esc(name.replace('_', ' '))}</h3>"
            + '<p class="muted">No data in this window.</p>'
        )
    if tcol is None or not nums or df.height < 2:
        return f"<h3>{esc(name.replace('_', ' '))}</h3>" + frame_table(df, max_rows=20)
    groups = [c for c, t in df.schema.items() if t == pl.String and c != tcol]
    fig = go.Figure()
    df = df.sort(tcol)

    def xs(part: pl.DataFrame) -> list[Any]:
        return [_iso(v) if isinstance(v, dt.date) else v for v in part[tcol]]

    if groups:
        value = next((c for c in nums if not c.startswith("active")), nums[0])
        label = pl.concat_str(
            [pl.col(g).fill_null("") for g in groups], separator=" @ "
        ).str.strip_chars(" @")
        df = df.with_columns(label.alias("_group"))
        keys = (
            df.group_by("_group")
            .agg(pl.col(value).sum())
            .sort(value, descending=True)
            .head(8)["_group"]
            .to_list()
        )
        for key in keys:
            part = df.filter(pl.col("_group") == key)
            fig.add_scatter(
                x=xs(part), y=part[value].to_list(), name=str(key), mode="lines+markers"
            )
        name = f"{name} ({value.replace('_', ' ')})"
    else:
        for c in nums[:4]:
            fig.add_scatter(
                x=xs(df), y=df[c].to_list(), name=c.replace("_", " "), mode="lines+markers"
            )
    fig.update_layout(
        title={"text": name.replace("_", " ")}, legend={"orientation": "h", "y": -0.25}
    )
    return ctx.charts.embed(fig, height=280)


def section_metrics(ctx: Context) -> str:
    """The architect's metrics over time (throughput stability, recovery, ownership, …)."""
    metrics = ctx.metrics()
    charts = []
    for name, value in metrics.items():
        if "readiness" in name.lower():
            continue
        try:
            df = _as_frame(value)
        except Unavailable:
            continue
        charts.append(f"<div>{_metric_chart(ctx, str(name), df)}</div>")
    if not charts:
        return '<p class="muted">No metrics over time.</p>'
    return f'<div class="grid2">{"".join(charts)}</div>'


def section_agent_readiness(ctx: Context) -> str:
    """Share of each stage's work done by agents, as a heat table with a verdict per stage."""
    metrics = ctx.metrics()
    key = next((k for k in metrics if "readiness" in str(k).lower()), None)
    if key is None:
        raise Unavailable("the metrics have no agent-readiness frame")
    df = _as_frame(metrics[key])
    if "stage" not in df.columns:
        raise Unavailable("the agent-readiness frame has no stage column")
    if not df.height:
        return '<p class="muted">No stage work to judge in this window.</p>'
    if ctx.design is None:
        note = '<p class="lede">No design given: stages are the raw activities.</p>'
    else:
        note = ""
    cols = [c for c in df.columns if c != "stage"]
    rows = []
    for r in df.iter_rows(named=True):
        cells = [f"<b>{esc(r['stage'])}</b>"]
        for c in cols:
            v = r[c]
            if c == "verdict" and v is not None:
                cells.append(
                    badge(str(v), {"agent-ready": "ok", "human-only": ""}.get(str(v), "medium"))
                )
            elif isinstance(v, float) and 0.0 <= v <= 1.0:
                fg = "#fff" if v > 0.55 else "#1d2733"
                cells.append(
                    f'<span class="heat-cell" style="background:{heat_color(v)};color:{fg}">{v * 100:.0f}%</span>'
                )
            else:
                cells.append(_cell(c, v))
        rows.append(cells)
    numeric = [i + 1 for i, c in enumerate(cols) if df.schema[c].is_numeric()]
    return (
        note
        + table(["stage", *[c.replace("_", " ") for c in cols]], rows, numeric=numeric, cls="heat")
        + (
            '<p class="caption">Darker = a larger share. agent share: events in the stage done by agents; '
            "rework: share of stage visits that were redone, where an agent worked vs where only humans did.</p>"
        )
    )


def section_cases(ctx: Context) -> str:
    """The event trail of every case a finding links to (capped)."""
    if not ctx.cases:
        return '<p class="muted">No finding links to a case.</p>'
    ids = list(ctx.cases)[: ctx.max_cases]
    trail = (
        ctx.log.filter(pl.col("case_id").is_in(ids))
        .sort("case_id", "timestamp", "seq", "event_id")
        .with_columns(
            pl.int_range(pl.len()).over("case_id").alias("_n"),
            pl.len().over("case_id").alias("_total"),
        )
        .filter(pl.col("_n") < ctx.max_events_per_case)
    )
    titles: dict[str, str] = {}
    if ctx.store is not None:
        try:
            found = ctx.store.sql(
                "SELECT object_id, title FROM objects WHERE object_id IN (SELECT unnest(?))", [ids]
            )
            titles = {k: v for k, v in found.iter_rows() if v}
        except Exception:  # titles are a courtesy; the trail is what matters
            titles = {}
    by_case: dict[str, list[dict[str, Any]]] = {}
    for row in trail.iter_rows(named=True):
        by_case.setdefault(row["case_id"], []).append(row)
    blocks = []
    for case in ids:
        events = by_case.get(case, [])
        title = titles.get(case)
        head = esc(case) + (f' <span class="muted">— {esc(title)}</span>' if title else "")
        rows = [
            [
                esc(e["timestamp"].strftime("%Y-%m-%d %H:%M") if e["timestamp"] else ""),
                esc(e["activity"]),
                esc(e["resource"] or e["actor_id"]),
                esc(e["actor_kind"]),
                esc(e["team"]),
                esc(e["source"]),
            ]
            for e in events
        ]
        more = ""
        if events and events[0]["_total"] > len(events):
            more = f'<p class="caption">First {len(events)} of {events[0]["_total"]:,} events.</p>'
        blocks.append(
            f'<div class="trail" id="{slug("case", case)}"><h4>{head}</h4>'
            + table(["time", "activity", "actor", "kind", "team", "source"], rows)
            + more
            + "</div>"
        )
    lede = f'<p class="lede">{len(ids):,} case(s) linked from the findings above (at most {ctx.max_cases}).</p>'
    return lede + "".join(blocks)


#: Section id → (heading, function), in report order.
SECTIONS: Final[dict[str, tuple[str, Callable[[Context], str]]]] = {
    "summary": ("Summary", section_summary),
    "process_map": ("Process map", section_process_map),
    "variants": ("Variants", section_variants),
    "stage_times": ("Stage times and waits", section_stage_times),
    "seams": ("Seams", section_seams),
    "shadow_agents": ("Shadow agents", section_shadow_agents),
    "failure_patterns": ("Recurring failure patterns", section_failure_patterns),
    "gate_violations": ("Gate violations", section_gate_violations),
    "metrics": ("Metrics over time", section_metrics),
    "agent_readiness": ("Agent readiness", section_agent_readiness),
    "cases": ("Cases", section_cases),
}
SECTION_TITLES: Final = {k: v[0] for k, v in SECTIONS.items()}


def render_section(ctx: Context, section_id: str) -> tuple[str, str, float]:
    """``(html, status, seconds)`` for one section; errors become a "not available" note."""
    title, fn = SECTIONS[section_id]
    started = time.perf_counter()
    try:
        body = fn(ctx)
        status = "ok"
    except Unavailable as exc:
        body, status = _na(str(exc)), f"not available: {exc}"
    except Exception as exc:  # a broken analysis must not take the report down
        reason = f"{type(exc).__name__}: {exc}"
        body, status = _na(reason), f"not available: {reason}"
    seconds = time.perf_counter() - started
    html_text = f'<section class="card" id="s-{section_id}"><h2>{esc(title)}</h2>{body}</section>'
    return html_text, status, seconds
