"""Is it getting better: the architect's metrics week by week, failure trends, agent readiness."""

from __future__ import annotations

import datetime as dt
from typing import Any, Final

import polars as pl
from markupsafe import Markup

from wfmine.maps._render import figure_dict
from wfmine.reports._render import render
from wfmine.reports.sections._context import Context, Unavailable
from wfmine.reports.sections._evidence import label, views, words
from wfmine.units import duration_unit

__all__ = ["section_agent_readiness", "section_failure_patterns", "section_metrics"]

#: metric frame → (chart title, what it shows), for the frames wfmine.findings.metrics returns
_KNOWN: Final = {
    "throughput": ("Work completed per week", "Cases whose last event falls in the week (with a design: in an end stage)."),
    "recovery": ("Time to recover from a stall", "From the moment a stage visit passed its stall limit to the next progress; by the week it got stuck."),
    "seam_coverage": ("Handoffs through an owned seam", "Share of each week's handoffs between teams that the design gives an owner."),
}  # fmt: skip
#: series names of the known metric columns
_SERIES: Final = {
    "completions": "completed",
    "recovery_median_s": "median",
    "recovery_p90_s": "slowest tenth",
    "owned_share": "owned",
}
_ELSEWHERE: Final = frozenset({"stability", "agent_readiness", "failure_weekly", "pr_cohorts"})


def _time_column(df: pl.DataFrame) -> str | None:
    for name, dtype in df.schema.items():
        if dtype.is_temporal():
            return name
    return None


def _x(values: pl.Series) -> list[Any]:
    return [v.isoformat() if isinstance(v, dt.date) else v for v in values]


def _line_chart(ctx: Context, df: pl.DataFrame, title: str, *, tcol: str, groups: str | None = None,
                value: str | None = None) -> Markup:  # fmt: skip
    """A weekly line chart; durations in one human unit (never seconds), shares in percent."""
    df = df.sort(tcol)
    nums = [value] if value else [c for c, t in df.schema.items() if t.is_numeric() and c != tcol]
    if not groups:
        durations = [c for c in nums if c.endswith("_s")]
        shares = [c for c in nums if "share" in c]
        nums = durations or shares or nums  # one scale per chart: no counts beside waits
    unit, size = duration_unit(max((abs(float(v)) for c in nums if c.endswith("_s")
                                    for v in df.get_column(c).drop_nulls()), default=0.0))  # fmt: skip
    lines: list[dict[str, Any]] = []
    ytitle = ""
    top = 0.0
    series: list[tuple[str, pl.DataFrame, str]] = []
    if groups:
        # ties broken by name: the six series shown, and their order, do not depend on hashing
        keys = (df.group_by(groups).agg(pl.col(nums[0]).sum())
                .sort([nums[0], groups], descending=[True, False])
                .head(6).get_column(groups).to_list())  # fmt: skip
        series = [(str(k), df.filter(pl.col(groups) == k), nums[0]) for k in keys]
    else:
        series = [(_SERIES.get(c, label(c)), df, c) for c in nums[:4]]
    for name, part, c in series:
        ys: list[Any] = part.get_column(c).to_list()
        if c.endswith("_s"):
            ys = [None if v is None else float(v) / size for v in ys]
            ytitle = unit
        elif "share" in c:
            ys = [None if v is None else float(v) * 100 for v in ys]
            ytitle = "% of handoffs" if "owned" in c else "%"
        else:
            ytitle = "cases"
        lines.append(
            {"x": _x(part.get_column(tcol)), "y": ys, "name": name, "mode": "lines+markers"}
        )
        top = max([top, *(float(v) for v in ys if v is not None)])
    yaxis: dict[str, Any] = {"title": {"text": ytitle}, "rangemode": "tozero"}
    if ytitle == "cases" and top <= 6:
        yaxis["dtick"] = 1  # whole cases, not 0.2 of one
    layout = {
        "title": {"text": title},
        "yaxis": yaxis,
        "legend": {"orientation": "h", "y": -0.2},
        "showlegend": len(series) > 1,
    }
    return ctx.charts.embed(figure_dict(lines, layout), height=300)


def _stability(df: pl.DataFrame | None) -> str:
    if df is None or not df.height:
        return ""
    r = df.row(0, named=True)
    mean, cv, p10, p90 = r.get("mean"), r.get("cv"), r.get("p10"), r.get("p90")
    if not isinstance(mean, float):
        return ""
    text = f"Over {r.get('weeks')} weeks, {mean:.1f} cases were completed in a typical week"
    if isinstance(p10, float) and isinstance(p90, float):
        text += f" (between {p10:.0f} and {p90:.0f} in eight weeks of ten)"
    if isinstance(cv, float):
        steady = "steady" if cv < 0.25 else ("uneven" if cv < 0.6 else "erratic")
        text += f"; week-to-week variation {cv * 100:.0f}% ({steady})"
    within = r.get("within_expected_share")
    if isinstance(within, float):
        text += f". {within * 100:.0f}% of finished cases took no longer than the design's expected times"
    return text + "."


def section_metrics(ctx: Context) -> Markup:
    """The architect's metrics over time, in human units."""
    metrics = ctx.analysis.metrics
    charts = []
    for name, df in metrics.items():
        if name in _ELSEWHERE or not isinstance(df, pl.DataFrame):
            continue
        title, how = _KNOWN.get(name, (label(name).capitalize(), ""))
        tcol = _time_column(df)
        if not df.height or tcol is None:
            charts.append({"title": title, "how": how, "chart": None, "empty": not df.height})
            continue
        charts.append({"title": title, "how": how, "chart": _line_chart(ctx, df, title, tcol=tcol),
                       "empty": False})  # fmt: skip
    cohorts = metrics.get("pr_cohorts")
    stability = metrics.get("stability")
    if not charts and cohorts is None:
        raise Unavailable("no metrics in this window")
    return render(
        "sections/metrics.html.j2",
        charts=charts,
        stability=_stability(stability if isinstance(stability, pl.DataFrame) else None),
        cohorts=cohorts.to_dicts() if isinstance(cohorts, pl.DataFrame) else [],
    )


def _pattern_chart(ctx: Context) -> Markup | None:
    weekly = ctx.analysis.metrics.get("failure_weekly")
    if not isinstance(weekly, pl.DataFrame) or not weekly.height or "week" not in weekly.columns:
        return None
    named = weekly.with_columns(
        pl.concat_str(
            pl.col("type").replace_strict({k: words(k) for k in weekly.get_column("type").unique()},
                                          default=pl.col("type")),
            pl.lit(" in "),
            pl.col("stage").fill_null("any stage"),
        ).alias("pattern")
    )  # fmt: skip
    return _line_chart(ctx, named, "Cases showing each failure pattern, per week",
                       tcol="week", groups="pattern", value="cases")  # fmt: skip


def section_failure_patterns(ctx: Context) -> Markup:
    """Recurring failure patterns: weekly recurrence and trend of each, and every occurrence."""
    items = views(ctx, ctx.findings_of("failure_pattern"))
    return render("sections/failure_patterns.html.j2", items=items, chart=_pattern_chart(ctx))


def section_agent_readiness(ctx: Context) -> Markup:
    """Share of each stage's work done by agents, as a heat table with a verdict per stage."""
    df = ctx.analysis.metrics.get("agent_readiness")
    if not isinstance(df, pl.DataFrame) or "stage" not in df.columns:
        raise Unavailable("the metrics have no agent-readiness table")
    if not df.height:
        raise Unavailable("no stage work in this window")
    rows: list[dict[str, Any]] = df.to_dicts()
    return render("sections/agent_readiness.html.j2", rows=rows, has_design=ctx.design is not None)
