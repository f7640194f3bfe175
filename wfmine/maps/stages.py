"""The stage map: the flow between a design's stages, moves the design does not allow dashed red.

One level above the process map: a case's events are mapped to the
design's stages, consecutive events of one stage collapse into one visit,
and every move between visits is marked allowed or not by the design. It is
drawn with the process map's layout and rendering, the stages in design
order from top to bottom.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, Final, Literal, overload

import polars as pl

from wfmine.discovery._columns import (
    DEFAULT_ACTIVITY,
    DEFAULT_CASE,
    DEFAULT_SEQ,
    DEFAULT_TIMESTAMP,
    EventFrame,
    lazy,
    seconds,
    utc,
)
from wfmine.errors import InputError
from wfmine.maps._model import END, START, Arc, Node, Path
from wfmine.maps._render import edge_width, end_node, heat, heat_bar, render, start_node
from wfmine.maps._text import LABEL_SIZE, MAX_LABEL_PX, esc, wrap
from wfmine.model import LOG_SCHEMA
from wfmine.units import human_duration

if TYPE_CHECKING:
    import plotly.graph_objects as go

    from wfmine.design import Design

__all__ = ["stage_map"]

# -- stage map -------------------------------------------------------------------------------

_TEAM_COLOURS: Final = (
    ("#dcecf9", "#3b73b4"),
    ("#ddf3e4", "#2f8f4e"),
    ("#fdebd3", "#c26a12"),
    ("#ece3f8", "#7c4dbb"),
    ("#fde2e1", "#b8433a"),
    ("#dff3f2", "#16807a"),
    ("#f3f0d9", "#8a7a15"),
    ("#e9ecef", "#5d6b7a"),
)


def _visits(
    log: EventFrame,
    design: Design,
    *,
    case_id_key: str,
    activity_key: str,
    timestamp_key: str,
    seq_key: str | None,
    source_key: str,
) -> pl.DataFrame:
    """The stage visits of ``log`` (:func:`wfmine.stages.stage_visits`), read with the caller's keys.

    The keys' columns are renamed to the flat log's (:data:`wfmine.model.LOG_SCHEMA`)
    for the kernel; the log's other flat-log columns (``event_id``,
    ``actor_id``, ``object_type``, …) are passed as they are.
    """
    from wfmine.stages import stage_events, stage_visits

    frame = lazy(log).collect()
    keys = {
        case_id_key: "case_id",
        activity_key: "activity",
        timestamp_key: "timestamp",
        source_key: "source",
    }
    missing = [k for k in keys if k not in frame.columns]
    if missing:
        raise InputError(
            f"log has no column(s) {missing}; it has {frame.columns}. Pass the right names "
            "with case_id_key=, activity_key=, timestamp_key=, source_key="
        )
    ts_type = frame.schema[timestamp_key]
    if not isinstance(ts_type, pl.Datetime | pl.Date):
        raise InputError(
            f"column {timestamp_key!r} must be a datetime, not {ts_type}; "
            "parse it first, e.g. pl.col(...).str.to_datetime()"
        )
    if seq_key is not None and seq_key in frame.columns:
        keys[seq_key] = "seq"
    taken = set(keys) | set(keys.values())
    rest = [n for n in LOG_SCHEMA.names() if n in frame.columns and n not in taken]
    flat = frame.select(
        *(pl.col(src).alias(dst) for src, dst in keys.items() if dst != "timestamp"),
        utc(pl.col(timestamp_key), ts_type).alias("timestamp"),
        *rest,
    ).with_columns(pl.col("activity", "source").cast(pl.String))
    return stage_visits(stage_events(flat, design))


def _ranked(rows: Iterable[tuple[Any, ...]]) -> dict[str, int]:
    """``{name: count}`` most frequent first, ties by name (group-by order is not stable)."""
    pairs = [(str(a), int(n)) for a, n in rows]
    return dict(sorted(pairs, key=lambda p: (-p[1], p[0])))


def _allowed(design: Design, a: str, b: str) -> Literal["allowed", "accepted", "not allowed"]:
    if (a, b) in design.allowed:
        return "allowed"
    for rule in design.allow:
        if rule.kind not in ("transition", "flow"):
            continue
        narrowed = (rule.stage, rule.actor, rule.case, getattr(rule, "activity", None))
        if any(v is not None for v in narrowed):  # accepted only for some cases or events
            continue
        if rule.from_ in (None, a) and rule.to in (None, b):
            return "accepted"
    return "not allowed"


@overload
def stage_map(
    log: EventFrame,
    design: Design,
    metric: Literal["frequency", "wait"] = "frequency",
    *,
    case_id_key: str = DEFAULT_CASE,
    activity_key: str = DEFAULT_ACTIVITY,
    timestamp_key: str = DEFAULT_TIMESTAMP,
    seq_key: str | None = DEFAULT_SEQ,
    source_key: str = "source",
    title: str | None = None,
    visits: pl.DataFrame | None = None,
    as_dict: Literal[False] = False,
) -> go.Figure: ...


@overload
def stage_map(
    log: EventFrame,
    design: Design,
    metric: Literal["frequency", "wait"] = "frequency",
    *,
    case_id_key: str = DEFAULT_CASE,
    activity_key: str = DEFAULT_ACTIVITY,
    timestamp_key: str = DEFAULT_TIMESTAMP,
    seq_key: str | None = DEFAULT_SEQ,
    source_key: str = "source",
    title: str | None = None,
    visits: pl.DataFrame | None = None,
    as_dict: Literal[True],
) -> dict[str, Any]: ...


def stage_map(
    log: EventFrame,
    design: Design,
    metric: Literal["frequency", "wait"] = "frequency",
    *,
    case_id_key: str = DEFAULT_CASE,
    activity_key: str = DEFAULT_ACTIVITY,
    timestamp_key: str = DEFAULT_TIMESTAMP,
    seq_key: str | None = DEFAULT_SEQ,
    source_key: str = "source",
    title: str | None = None,
    visits: pl.DataFrame | None = None,
    as_dict: bool = False,
) -> go.Figure | dict[str, Any]:
    """Draw the process at the level of the design's stages.

    Visits are the stage model's (:func:`wfmine.stages.stage_visits`): events
    are mapped to stages with :func:`wfmine.design.map_stages`, a case moves
    back only when its authoritative state does (other systems' events move
    it forward, never back), and each run of one stage is one visit;
    unmapped events (``other`` with ``unmapped: keep`` too) move no case. Each
    box is a stage with the team that owns it and its visits; stages the
    design names but no case visited are drawn faded. Each path is a move
    between stages: solid when the design allows it, dashed red when it does
    not (amber when an ``allow`` rule accepts it), dotted grey when the
    design allows it but no case took it. ``metric="wait"`` labels moves with
    the median time from the last event of one stage to the first of the next.

    ``visits`` are the kernel's visits of ``log`` under ``design`` when the
    caller has them (:attr:`wfmine.analysis.Analysis.visits`): the map then
    draws them instead of computing them again. ``as_dict=True`` returns the
    figure as a plain dict, as :func:`wfmine.maps.process_map` does.

    >>> fig = stage_map(store.log(), load_design("design.yaml"))  # doctest: +SKIP
    """
    if metric not in ("frequency", "wait"):
        raise InputError(f"metric must be 'frequency' or 'wait', not {metric!r}")
    if visits is None:
        visits = _visits(
            log,
            design,
            case_id_key=case_id_key,
            activity_key=activity_key,
            timestamp_key=timestamp_key,
            seq_key=seq_key,
            source_key=source_key,
        )
    from wfmine.stages import first_in_group, in_case_order

    nxt = pl.col("case_id").shift(-1) == pl.col("case_id")
    # visits in case order (the kernel's are): each case is one run of rows, numbered by a
    # running count of the runs, so its cases are counted on that number and its first and
    # last visits are the runs' ends (not a hash of the case ids, twice)
    ordered = in_case_order(visits, ("case_id", "visit"))
    marked = visits.with_columns(
        pl.col("stage").shift(-1).alias("target"),
        seconds(pl.col("start").shift(-1) - pl.col("last")).alias("wait"),
        nxt.fill_null(False).alias("__same"),
        *([first_in_group("case_id").cum_sum().alias("__case")] if ordered else []),
    )
    moves = (
        marked.filter(pl.col("__same"))
        .group_by("stage", "target")
        .agg(
            pl.len().alias("frequency"),
            pl.col("wait").median().alias("wait_median_s"),
            pl.col("wait").quantile(0.9, interpolation="linear").alias("wait_p90_s"),
        )
        .sort(["frequency", "stage", "target"], descending=[True, False, False])
    )
    per_stage = {
        str(r["stage"]): r
        for r in marked.group_by("stage")
        .agg(
            pl.len().alias("visits"),
            pl.col("__case" if ordered else "case_id").n_unique().alias("cases"),
            pl.col("events").sum().alias("events"),
            seconds(pl.col("last") - pl.col("start")).median().alias("median_s"),
        )
        .iter_rows(named=True)
    }
    if ordered:
        heads = marked.filter(first_in_group("__case")).select(pl.col("stage").alias("start"))
        tails = marked.filter(~pl.col("__same")).select(pl.col("stage").alias("end"))
        n_cases = heads.height
    else:
        firsts = visits.group_by("case_id", maintain_order=True).agg(
            pl.col("stage").first().alias("start"), pl.col("stage").last().alias("end")
        )
        heads = tails = firsts
        n_cases = firsts.height
    starts = _ranked(heads.group_by("start").len().iter_rows())
    ends = _ranked(tails.group_by("end").len().iter_rows())

    teams = sorted({s.team for s in design.stages if s.team})
    palette = {t: _TEAM_COLOURS[i % len(_TEAM_COLOURS)] for i, t in enumerate(teams)}
    nodes: list[Node] = []
    if starts:
        nodes.append(start_node(n_cases))
    for spec in design.stages:
        sid, team = spec.id, spec.team
        stats = per_stage.get(sid)
        fill, border = palette.get(team or "", _TEAM_COLOURS[-1])
        name = spec.name or sid
        lines = wrap(name, LABEL_SIZE, MAX_LABEL_PX, 2)
        lines.append(f"{team or 'no owning team'} · {spec.performer}")
        visits_n = int(stats["visits"]) if stats else 0
        sub = f"{visits_n:,} visits" if stats else "not visited"
        hover = (
            f"<b>{esc(name)}</b> (stage {esc(sid)})<br>owner: {esc(team or '—')}"
            f"<br>performer: {esc(spec.performer)}"
        )
        if stats:
            hover += (
                f"<br>{visits_n:,} visits in {int(stats['cases']):,} cases, "
                f"{int(stats['events']):,} events<br>median time in stage "
                f"{human_duration(stats['median_s'])}"
            )
        if spec.expected is not None:
            hover += f" (expected {human_duration(spec.expected.total_seconds())})"
        nodes.append(
            Node(
                sid,
                lines,
                sub,
                hover,
                fill if stats else "#f7f8fa",
                border,
                "#1d2733",
                importance=float(visits_n),
                faded=not stats,
            )
        )
    if ends:
        nodes.append(end_node(n_cases))

    observed = [
        Path(
            str(r["stage"]),
            str(r["target"]),
            int(r["frequency"]),
            r["wait_median_s"],
            r["wait_p90_s"],
        )
        for r in moves.iter_rows(named=True)
    ]
    seen = {(p.source, p.target) for p in observed}
    max_freq = max([p.freq for p in observed] + list(starts.values()) + [1])
    waits = [p.wait for p in observed if p.wait is not None and not math.isnan(p.wait)]
    max_wait = max([*waits, 0.0])
    arcs: list[Arc] = []
    verdicts: dict[str, int] = {"allowed": 0, "accepted": 0, "not allowed": 0}
    for p in observed:
        verdict = _allowed(design, p.source, p.target)
        verdicts[verdict] += p.freq
        hover = (
            f"{esc(p.source)} → {esc(p.target)}<br>{p.freq:,} moves<br>"
            f"median wait {human_duration(p.wait)} · p90 {human_duration(p.wait_p90)}"
            f"<br><b>{verdict} by the design</b>"
        )
        if verdict == "not allowed":
            color, dash, ink = "#d62728", "dash", "#b42318"
        elif verdict == "accepted":
            color, dash, ink = "#d18a00", "dash", "#8a5a00"
        else:
            color = heat(p.wait, max_wait) if metric == "wait" else "#566a85"
            dash, ink = "solid", "#333"
        label = human_duration(p.wait) if metric == "wait" else f"{p.freq:,}"
        arcs.append(
            Arc(
                p.source,
                p.target,
                p.freq,
                hover,
                color,
                edge_width(p.freq, max_freq),
                dash,
                label,
                1.0 + p.freq / max_freq,
                ink,
                weight=float(p.freq),
            )
        )
    for a, b in design.transitions:
        if a != b and (a, b) not in seen:
            arcs.append(
                Arc(
                    a,
                    b,
                    0,
                    f"{esc(a)} → {esc(b)}<br>allowed by the design; no case moved so",
                    "#c3cad3",
                    1.0,
                    "dot",
                    None,
                    -1.0,
                    weight=0.05 * max_freq,
                )
            )
    design_starts = set(design.start_stages)
    for a, n in starts.items():
        ok = a in design_starts
        hover = f"{n:,} cases start in {esc(a)}" + (
            "" if ok else "<br><b>the design starts cases elsewhere</b>"
        )
        arcs.append(
            Arc(
                START,
                a,
                n,
                hover,
                "#a3acb6" if ok else "#d62728",
                edge_width(n, max_freq),
                "dot" if ok else "dash",
                f"{n:,}",
                0.5 * n / max_freq,
                "#333" if ok else "#b42318",
                weight=float(n),
            )
        )
    for a, n in ends.items():
        arcs.append(
            Arc(
                a,
                END,
                n,
                f"{n:,} cases end (so far) in {esc(a)}",
                "#a3acb6",
                edge_width(n, max_freq),
                "dot",
                f"{n:,}",
                0.5 * n / max_freq,
                weight=float(n),
            )
        )
    total_moves = sum(verdicts.values())
    caption = [
        f"{n_cases:,} cases with events in the design's stages; consecutive events in one stage "
        "are one visit. Solid: a move the design allows; dashed red: one it does not; "
        "dotted grey: allowed but never taken."
    ]
    if total_moves:
        caption.append(
            f"{verdicts['not allowed']:,} of {total_moves:,} moves "
            f"({verdicts['not allowed'] / total_moves:.0%}) are not allowed by the design"
            + (
                f"; {verdicts['accepted']:,} are accepted deviations."
                if verdicts["accepted"]
                else "."
            )
        )
    rank = {sid: float(i) for i, sid in enumerate(design.stage_ids)}
    meta: dict[str, Any] = {
        "kind": "stage_map",
        "metric": metric,
        "cases": n_cases,
        "edges": [[a.source, a.target, a.freq] for a in arcs if a.freq],
        "disallowed": [
            [p.source, p.target, p.freq]
            for p in observed
            if _allowed(design, p.source, p.target) == "not allowed"
        ],
        "moves": total_moves,
        "moves_not_allowed": verdicts["not allowed"],
    }
    return render(
        nodes,
        arcs,
        title=title or f"Stage map: {design.name}",
        caption=caption,
        meta=meta,
        rank=rank,
        colorbar=heat_bar(max_wait) if metric == "wait" and max_wait > 0 else None,
        as_dict=as_dict,
    )
