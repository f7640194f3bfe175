"""How work flows: the stage and activity maps, the paths cases take, time per stage, handoffs."""

from __future__ import annotations

from typing import Any, Final

import polars as pl
from markupsafe import Markup

from wfmine.maps import process_map, stage_map
from wfmine.maps._render import figure_dict
from wfmine.reports._charts import duration_axis
from wfmine.reports._render import render
from wfmine.reports.sections._context import Context, Unavailable
from wfmine.reports.sections._evidence import views

__all__ = ["section_process_map", "section_seams", "section_stage_times", "section_variants"]

_MAP_HOW: Final = (
    "Boxes are activities (darker: more events), from where cases start (top) to where they "
    "end (bottom); an arrow is one activity directly followed by another, wider when more "
    "frequent. Arrows leaving or entering a box by its side go back upwards (rework)."
)
_STAGE_HOW: Final = (
    "Each box is a stage of the design with the team that owns it; consecutive events in one "
    "stage are one visit. Solid arrows are moves the design allows, dashed red ones moves it "
    "does not allow, dotted grey ones allowed moves no case took."
)


def _map(ctx: Context, fig: dict[str, Any], caption: str) -> Markup:
    # wfmine's maps escape their source text themselves and are sized in pixels; they come
    # as plain figure dicts (as_dict=True): no plotly objects are built for the page
    height = int(fig["layout"].get("height") or 560)
    return ctx.charts.embed(fig, height=height, caption=caption, escaped=True)


def _steps(acts: list[Any], limit: int = 14) -> list[str]:
    items = [str(a) for a in acts]
    if len(items) <= limit:
        return items
    return [*items[: limit - 2], f"… {len(items) - limit + 1} more …", items[-1]]


def _transitions(dfg: pl.DataFrame, n: int = 12) -> list[list[Any]]:
    top = dfg.sort("frequency", descending=True).head(n)
    return [[r["source"], r["target"], r["frequency"], r["wait_median_s"], r["wait_p90_s"]]
            for r in top.iter_rows(named=True)]  # fmt: skip


def _boundary(ctx: Context) -> tuple[dict[str, int] | None, dict[str, int] | None]:
    """The start and end activities when the Analysis holds its variants already (the CLI's
    summary read them): the same counts, without another pass over the events. Otherwise
    ``None``: the map finds them in the log, and this section does not fail with variants."""
    a = ctx.analysis
    if "variants" not in vars(a):  # not computed yet (a cached_property keeps it there)
        return None, None
    frames = a.discover_frames()
    return frames["start_activities"], frames["end_activities"]


def section_process_map(ctx: Context) -> Markup:
    """The stage map (with a design), the activity map, and the busiest transitions."""
    a = ctx.analysis
    if not a.log.height:
        raise Unavailable("no events in this window")
    stage = None
    if a.design is not None:
        stage = _map(ctx, stage_map(a.log, a.design, visits=a.visits, as_dict=True), _STAGE_HOW)
    start, end = _boundary(ctx)
    drawn = process_map(
        a.log, metric="frequency", log_dfg=a.dfg, start=start, end=end, as_dict=True
    )
    activity = _map(ctx, drawn, _MAP_HOW)
    return render(
        "sections/process_map.html.j2",
        stage=stage,
        activity=activity,
        activities=a.summary.get("activities"),
        transitions=_transitions(a.dfg),
        transitions_total=a.dfg.height,
    )


def section_variants(ctx: Context) -> Markup:
    """Paths through the designed stages with their fitness, and the activity variants."""
    a = ctx.analysis
    paths = []
    if a.stage_paths is not None:
        cumulative = 0.0
        for r in a.stage_paths.head(ctx.top_variants).iter_rows(named=True):
            cumulative += float(r.get("coverage") or 0.0)
            paths.append({**r, "steps": _steps(list(r.get("stages") or [])),
                          "cumulative": cumulative})  # fmt: skip
    variants = []
    cumulative = 0.0
    for r in a.variants.head(ctx.top_variants).iter_rows(named=True):
        cumulative += float(r.get("coverage") or 0.0)
        acts = list(r.get("activities") or [])
        variants.append({**r, "steps": _steps(acts), "n": len(acts), "cumulative": cumulative})
    if not paths and not variants:
        raise Unavailable("no cases in this window")
    return render(
        "sections/variants.html.j2",
        paths=paths,
        paths_total=a.stage_paths.height if a.stage_paths is not None else 0,
        variants=variants,
        variants_total=a.variants.height,
        cases=a.scope.cases,
    )


def _duration_chart(ctx: Context) -> Markup | None:
    d = ctx.analysis.case_durations.get_column("duration_s").drop_nulls()
    if not d.len():
        return None
    hi = max(ctx.analysis.duration_stats["p99_s"] or 0.0, 1.0)
    (scaled_hi,), unit = duration_axis([hi])
    assert scaled_hi is not None
    size = hi / scaled_hi if scaled_hi else 1.0
    width = hi / 30
    bins = (d.clip(0, hi) / width).floor().clip(0, 29).value_counts().sort(d.name)
    xs = [(b + 0.5) * width / size for b in bins.get_column(d.name)]
    bar = {
        "type": "bar",
        "x": xs,
        "y": bins.get_column("count").to_list(),
        "marker": {"color": "#0d6e6e"},
        "hovertemplate": "about %{x:.1f} " + unit + ": %{y} cases<extra></extra>",
    }
    fig = figure_dict(
        [bar],
        {
            "title": {"text": "How long cases take"},
            "xaxis": {"title": {"text": f"{unit}, first to last event"}},
            "yaxis": {"title": {"text": "cases"}},
            "bargap": 0.05,
        },
    )
    return ctx.charts.embed(fig, height=300)


def _slow_waits(ctx: Context) -> tuple[list[list[Any]], int]:
    a = ctx.analysis
    floor = max(3, -(-max(a.scope.cases, 1) // 100))
    slow = (
        a.dfg.filter(pl.col("frequency") >= floor)
        .sort("wait_median_s", descending=True, nulls_last=True)
        .head(10)
    )
    return [[r["source"], r["target"], r["frequency"], r["wait_median_s"], r["wait_p90_s"]]
            for r in slow.iter_rows(named=True)], floor  # fmt: skip


def section_stage_times(ctx: Context) -> Markup:
    """How long cases take, time in each stage against the design, the slowest waits."""
    a = ctx.analysis
    if not a.log.height:
        raise Unavailable("no events in this window")
    stats = a.duration_stats
    slow, floor = _slow_waits(ctx)
    stages = a.stage_times
    return render(
        "sections/stage_times.html.j2",
        chart=_duration_chart(ctx),
        median=stats["median_s"],
        p90=stats["p90_s"],
        stages=stages.to_dicts() if stages is not None else [],
        has_design=a.design is not None,
        slow=slow,
        floor=floor,
    )


def section_seams(ctx: Context) -> Markup:
    """Handoffs between teams and between humans and agents, ranked by waiting, owned or not."""
    a = ctx.analysis
    seams = a.seams
    rows: list[dict[str, Any]] = []
    total = 0
    if seams is not None and seams.height:
        total = seams.height
        rank = "wait_total_s" if "wait_total_s" in seams.columns else "handoffs"
        for r in seams.sort(rank, descending=True, nulls_last=True).head(15).iter_rows(named=True):
            rows.append(
                {**r, "examples": ctx.case_links(list(r.get("example_cases") or []), limit=3)}
            )
    unowned = views(ctx, ctx.findings_of("unowned_seam"))
    if seams is None and not unowned:
        raise Unavailable("no handoffs to show")
    return render(
        "sections/seams.html.j2",
        rows=rows,
        total=total,
        has_design=a.design is not None,
        unowned=unowned,
    )
