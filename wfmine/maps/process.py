"""The process map: the directly-follows graph as a readable, layered, simplified figure.

What the map shows comes from discovery (:func:`~wfmine.discovery.directly_follows`,
:func:`~wfmine.discovery.start_activities`, :func:`~wfmine.discovery.end_activities`);
this module decides what to draw (:mod:`._simplify`) and how each box and
arrow looks, then :func:`._render.render` lays it out and draws it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Literal, overload

import polars as pl

from wfmine.discovery import directly_follows, end_activities, start_activities
from wfmine.discovery._columns import (
    DEFAULT_ACTIVITY,
    DEFAULT_CASE,
    DEFAULT_SEQ,
    DEFAULT_TIMESTAMP,
    EventFrame,
)
from wfmine.errors import InputError
from wfmine.maps._model import END, START, Arc, Node, Path
from wfmine.maps._render import (
    edge_width,
    end_node,
    heat,
    heat_bar,
    node_colours,
    render,
    start_node,
)
from wfmine.maps._simplify import caption, choose_paths, keep_activities, share_of
from wfmine.maps._text import LABEL_SIZE, MAX_LABEL_PX, esc, wrap
from wfmine.units import human_duration

if TYPE_CHECKING:
    import plotly.graph_objects as go

__all__ = ["process_map"]


def _event_counts(dfg: pl.DataFrame, starts: Mapping[Any, int]) -> dict[str, int]:
    """Events per activity: every event starts its case or directly follows another.

    ``dfg`` is a :func:`directly_follows` frame, ``starts`` the cases per
    start activity; events without an activity are not counted.
    """
    counts = {str(a): int(n) for a, n in starts.items() if a is not None}
    for s, t, n in dfg.select("source", "target", "frequency").iter_rows():
        if s is not None:
            counts.setdefault(str(s), 0)
        if t is not None:
            counts[str(t)] = counts.get(str(t), 0) + int(n)
    return counts


@overload
def process_map(
    log_or_dfg: EventFrame,
    metric: Literal["frequency", "wait"] = "frequency",
    top_edges: int | None = None,
    *,
    activities: float | None = None,
    paths: float | None = None,
    case_id_key: str = DEFAULT_CASE,
    activity_key: str = DEFAULT_ACTIVITY,
    timestamp_key: str = DEFAULT_TIMESTAMP,
    seq_key: str | None = DEFAULT_SEQ,
    start: Mapping[str, int] | None = None,
    end: Mapping[str, int] | None = None,
    title: str | None = None,
    log_dfg: pl.DataFrame | None = None,
    as_dict: Literal[False] = False,
) -> go.Figure: ...


@overload
def process_map(
    log_or_dfg: EventFrame,
    metric: Literal["frequency", "wait"] = "frequency",
    top_edges: int | None = None,
    *,
    activities: float | None = None,
    paths: float | None = None,
    case_id_key: str = DEFAULT_CASE,
    activity_key: str = DEFAULT_ACTIVITY,
    timestamp_key: str = DEFAULT_TIMESTAMP,
    seq_key: str | None = DEFAULT_SEQ,
    start: Mapping[str, int] | None = None,
    end: Mapping[str, int] | None = None,
    title: str | None = None,
    log_dfg: pl.DataFrame | None = None,
    as_dict: Literal[True],
) -> dict[str, Any]: ...


def process_map(
    log_or_dfg: EventFrame,
    metric: Literal["frequency", "wait"] = "frequency",
    top_edges: int | None = None,
    *,
    activities: float | None = None,
    paths: float | None = None,
    case_id_key: str = DEFAULT_CASE,
    activity_key: str = DEFAULT_ACTIVITY,
    timestamp_key: str = DEFAULT_TIMESTAMP,
    seq_key: str | None = DEFAULT_SEQ,
    start: Mapping[str, int] | None = None,
    end: Mapping[str, int] | None = None,
    title: str | None = None,
    log_dfg: pl.DataFrame | None = None,
    as_dict: bool = False,
) -> go.Figure | dict[str, Any]:
    """Draw the process map of a log, or of a :func:`directly_follows` frame.

    Activities are boxes (colour by how many events they have), flowing from
    start (top) to end (bottom); line width follows how often a path is taken.
    ``metric="frequency"`` labels the important paths with their counts;
    ``"wait"`` labels them with the median wait ("3.2 h") and colours every
    path from short (blue) to long (red).

    Large maps are simplified (see :mod:`wfmine.maps`): ``activities`` keeps the
    most frequent activities covering that share of the events (``1.0``: all;
    events of hidden activities are skipped over, so paths connect the kept
    ones), ``paths`` keeps the most frequent paths covering that share of the
    transitions (``1.0``: all), beyond the ones that keep every activity
    connected. ``top_edges`` keeps exactly the most frequent paths instead.
    For a DFG frame pass ``start``/``end`` (dicts activity → cases) to draw
    the start and end; activities of a DFG frame can only be hidden, not
    skipped over. For a log, ``log_dfg`` (its :func:`directly_follows`) and
    ``start``/``end`` (its start and end activities) are taken as given when
    the caller has them (an :class:`~wfmine.analysis.Analysis` holds the
    DFG). ``title`` is plain text. The figure has a fixed size in
    pixels (``fig.layout.width``/``height``) so that labels fit their boxes.
    ``as_dict=True`` returns the same figure as a plain ``{"data", "layout"}``
    dict (``fig.to_plotly_json()`` less its template) without building plotly
    objects: what a page that embeds the figure's JSON needs, a few times sooner.

    >>> fig = process_map(log)  # doctest: +SKIP
    >>> fig = process_map(log, activities=1.0, paths=1.0)  # everything  # doctest: +SKIP
    >>> fig.layout.meta["wfmine"]["caption"]  # doctest: +SKIP
    """
    if metric not in ("frequency", "wait"):
        raise InputError(f"metric must be 'frequency' or 'wait', not {metric!r}")
    act_share = share_of(activities, "activities")
    path_share = share_of(paths, "paths")
    if top_edges is not None and (isinstance(top_edges, bool) or top_edges < 0):
        raise InputError(f"top_edges must be a non-negative number of paths, not {top_edges!r}")
    frame = log_or_dfg.collect() if isinstance(log_or_dfg, pl.LazyFrame) else log_or_dfg
    keys: dict[str, Any] = {
        "case_id_key": case_id_key,
        "activity_key": activity_key,
        "timestamp_key": timestamp_key,
        "seq_key": seq_key,
    }
    is_dfg = {"source", "target", "frequency"} <= set(frame.columns)
    if is_dfg:
        dfg = frame
        starts = {str(a): int(n) for a, n in (start or {}).items()}
        ends = {str(a): int(n) for a, n in (end or {}).items()}
        counts = _event_counts(dfg, starts)
        n_cases = sum(starts.values()) or None
    else:
        missing = [c for c in (case_id_key, activity_key, timestamp_key) if c not in frame.columns]
        if missing:
            raise InputError(
                f"log has no column(s) {missing}; it has {frame.columns}. "
                "Pass the right names with case_id_key=, activity_key=, timestamp_key="
            )
        dfg = directly_follows(frame, **keys) if log_dfg is None else log_dfg
        starts = start_activities(frame, **keys) if start is None else dict(start)
        ends = end_activities(frame, **keys) if end is None else dict(end)
        n_cases = sum(starts.values())
        counts = _event_counts(dfg, starts)
    kept = keep_activities(counts, act_share)
    hidden = [a for a in sorted(counts, key=lambda a: (-counts[a], a)) if a not in set(kept)]
    if not is_dfg and hidden:  # the log again without the hidden activities: skip over them
        view = frame.filter(pl.col(activity_key).is_in(kept))
        dfg = directly_follows(view, **keys)
        starts = start_activities(view, **keys)
        ends = end_activities(view, **keys)
    kept_set = set(kept)
    dfg = dfg.sort(["frequency", "source", "target"], descending=[True, False, False])
    has_wait = "wait_median_s" in dfg.columns
    has_p90 = "wait_p90_s" in dfg.columns
    flow = [
        Path(
            str(r["source"]),
            str(r["target"]),
            int(r["frequency"]),
            r["wait_median_s"] if has_wait else None,
            r["wait_p90_s"] if has_p90 else None,
        )
        for r in dfg.iter_rows(named=True)
        if str(r["source"]) in kept_set and str(r["target"]) in kept_set
    ]
    boundary = [Path(START, a, n) for a, n in starts.items() if a in kept_set]
    boundary += [Path(a, END, n) for a, n in ends.items() if a in kept_set]
    kept, chosen, candidates = choose_paths(flow, boundary, kept, path_share, top_edges)

    nodes = _nodes(kept, counts, starts, ends, chosen)
    node_keys = {n.key for n in nodes}
    chosen = [p for p in chosen if p.source in node_keys and p.target in node_keys]
    waits = [p.wait for p in chosen if p.wait is not None and not math.isnan(p.wait)]
    max_wait = max([*waits, 0.0])
    arcs = _arcs(chosen, metric, len(kept), sum(starts.values()), max_wait)

    lines = caption(
        counts, kept, hidden, chosen, candidates, skipped_over=not is_dfg, wait=metric == "wait"
    )
    meta: dict[str, Any] = {
        "kind": "process_map",
        "metric": metric,
        "cases": n_cases,
        "activities_total": len(counts),
        "activities_shown": len(kept),
        "hidden_activities": hidden,
        "paths_total": len(candidates),
        "paths_shown": len(chosen),
        "edges": [[p.source, p.target, p.freq] for p in chosen],
    }
    if not nodes:
        lines.append("No events to draw.")
    return render(
        nodes,
        arcs,
        title=title or f"Process map ({'median wait' if metric == 'wait' else 'frequency'})",
        caption=lines,
        meta=meta,
        colorbar=heat_bar(max_wait) if metric == "wait" and max_wait > 0 else None,
        as_dict=as_dict,
    )


def _nodes(
    kept: list[str],
    counts: Mapping[str, int],
    starts: Mapping[str, int],
    ends: Mapping[str, int],
    chosen: list[Path],
) -> list[Node]:
    """A box per kept activity (shaded by its events), and the start and end markers."""
    events_total = sum(counts.values())
    top_count = max([counts[a] for a in kept] + [1])
    nodes: list[Node] = []
    cases = sum(starts.values())
    if any(p.source == START for p in chosen):
        nodes.append(start_node(cases))
    for a in kept:
        fill, border, ink = node_colours(counts[a] / top_count)
        hover = (
            f"<b>{esc(a)}</b><br>{counts[a]:,} events"
            f" ({counts[a] / max(events_total, 1):.1%} of all)"
        )
        if starts.get(a):
            hover += f"<br>starts {starts[a]:,} cases"
        if ends.get(a):
            hover += f"<br>ends {ends[a]:,} cases"
        nodes.append(
            Node(
                a,
                wrap(a, LABEL_SIZE, MAX_LABEL_PX),
                f"{counts[a]:,}",
                hover,
                fill,
                border,
                ink,
                importance=float(counts[a]),
            )
        )
    if any(p.target == END for p in chosen):
        nodes.append(end_node(cases))
    return nodes


def _arcs(
    chosen: list[Path], metric: str, n_activities: int, cases: int, max_wait: float
) -> list[Arc]:
    """An arrow per drawn path; labels on the most frequent ones (as many as fit, best first)."""
    max_freq = max([p.freq for p in chosen] + [1])
    flow_rank = sorted(
        (i for i, p in enumerate(chosen) if p.source != START and p.target != END),
        key=lambda i: (-chosen[i].freq, i),
    )
    n_labels = max(16, round(1.5 * n_activities))
    important = {i for i in flow_rank[:n_labels] if chosen[i].freq >= 0.01 * max_freq}
    if len(chosen) <= 24:
        important = set(flow_rank)
    case_total = max(cases, 1)
    arcs: list[Arc] = []
    for i, p in enumerate(chosen):
        marker = p.source == START or p.target == END
        hover = f"{esc(p.source)} → {esc(p.target)}<br>{p.freq:,} times"
        if p.wait is not None:
            hover += f"<br>median wait {human_duration(p.wait)}"
            if p.wait_p90 is not None:
                hover += f" · p90 {human_duration(p.wait_p90)}"
        label: str | None
        if marker:
            color, dash, label = "#a3acb6", "dot", f"{p.freq:,}"
            priority = p.freq / max_freq * 0.5 if p.freq >= 0.05 * case_total else -1.0
        elif metric == "wait":
            color, dash = heat(p.wait, max_wait), "solid"
            label = human_duration(p.wait) if p.wait is not None else None
            priority = p.freq / max_freq + 1.0 if i in important else -1.0
        else:
            color, dash, label = "#566a85", "solid", f"{p.freq:,}"
            priority = p.freq / max_freq + 1.0 if i in important else -1.0
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
                priority,
                weight=float(p.freq),
            )
        )
    return arcs
