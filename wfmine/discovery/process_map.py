"""The process map: the directly-follows graph drawn as a plotly figure.

Activities are laid out left to right in layers: edges that close a cycle
(back edges of a depth-first search from the start activities, most frequent
first) are set aside, and every activity sits one layer right of its
furthest predecessor on the remaining acyclic graph. Inside a layer,
activities are ordered by the mean position of their predecessors, then by
frequency and name, so the same log always gives the same picture.

>>> fig = process_map(log, metric="wait", top_edges=30)  # doctest: +SKIP
>>> fig.write_html("map.html", include_plotlyjs="cdn")  # doctest: +SKIP
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Literal

import polars as pl

from wfmine.discovery._columns import (
    DEFAULT_ACTIVITY,
    DEFAULT_CASE,
    DEFAULT_SEQ,
    DEFAULT_TIMESTAMP,
    Log,
)
from wfmine.discovery.dfg import directly_follows, end_activities, start_activities
from wfmine.errors import InputError

if TYPE_CHECKING:
    import plotly.graph_objects as go

__all__ = ["human_duration", "process_map"]

_START = "▶ start"
_END = "■ end"
_X_STEP = 1.0
_Y_STEP = 1.0


def human_duration(seconds: float | None) -> str:
    """A duration a person reads at a glance: ``"45 s"``, ``"12 min"``, ``"3.2 h"``, ``"4.5 d"``.

    >>> human_duration(11520.0)
    '3.2 h'
    """
    if seconds is None or math.isnan(seconds):
        return "–"
    value = abs(seconds)
    for limit, unit, size in ((60, "s", 1), (3600, "min", 60), (86400, "h", 3600)):
        if value < limit:
            figure = value / size
            return f"{figure:.0f} {unit}" if unit == "s" or figure >= 10 else f"{figure:.1f} {unit}"
    days = value / 86400
    return f"{days:.0f} d" if days >= 10 else f"{days:.1f} d"


def process_map(
    log_or_dfg: Log,
    metric: Literal["frequency", "wait"] = "frequency",
    top_edges: int | None = None,
    *,
    case_id_key: str = DEFAULT_CASE,
    activity_key: str = DEFAULT_ACTIVITY,
    timestamp_key: str = DEFAULT_TIMESTAMP,
    seq_key: str | None = DEFAULT_SEQ,
    start: Mapping[str, int] | None = None,
    end: Mapping[str, int] | None = None,
    title: str | None = None,
) -> go.Figure:
    """Draw the process map of a log, or of a :func:`directly_follows` frame.

    ``metric="frequency"`` labels edges with how often they occur (line width
    follows); ``"wait"`` labels them with the median wait ("3.2 h") and
    colours them from short (blue) to long (red). ``top_edges`` keeps only
    the most frequent edges. For a DFG frame, pass ``start``/``end`` (dicts
    activity → cases) to draw the start and end markers.

    >>> fig = process_map(log)  # doctest: +SKIP
    >>> fig  # renders in Jupyter  # doctest: +SKIP
    >>> html = fig.to_html(include_plotlyjs="cdn")  # doctest: +SKIP
    """
    import plotly.graph_objects as go

    if metric not in ("frequency", "wait"):
        raise InputError(f"metric must be 'frequency' or 'wait', not {metric!r}")
    frame = log_or_dfg.collect() if isinstance(log_or_dfg, pl.LazyFrame) else log_or_dfg
    if {"source", "target", "frequency"} <= set(frame.columns):
        dfg = frame
    else:
        dfg = directly_follows(
            frame,
            case_id_key=case_id_key,
            activity_key=activity_key,
            timestamp_key=timestamp_key,
            seq_key=seq_key,
        )
        start = start_activities(
            frame,
            case_id_key=case_id_key,
            activity_key=activity_key,
            timestamp_key=timestamp_key,
            seq_key=seq_key,
        )
        end = end_activities(
            frame,
            case_id_key=case_id_key,
            activity_key=activity_key,
            timestamp_key=timestamp_key,
            seq_key=seq_key,
        )
    dfg = dfg.sort(["frequency", "source", "target"], descending=[True, False, False])
    start = dict(start or {})
    end = dict(end or {})
    has_wait = "wait_median_s" in dfg.columns
    all_edges = [
        (
            str(r["source"]),
            str(r["target"]),
            int(r["frequency"]),
            r["wait_median_s"] if has_wait else None,
        )
        for r in dfg.iter_rows(named=True)
    ]
    # lay out on every edge, so that dropping rare edges does not move activities
    positions = _layout(all_edges, start, end)
    edges = all_edges if top_edges is None else all_edges[:top_edges]
    if top_edges is not None:
        shown = {e[0] for e in edges} | {e[1] for e in edges} | {_START, _END}
        shown |= {a for a in start if a in positions} | {a for a in end if a in positions}
        positions = {name: xy for name, xy in positions.items() if name in shown}
    traces: list[Any] = []
    annotations: list[dict[str, Any]] = []
    max_freq = max([e[2] for e in edges] + list(start.values()) + list(end.values()) + [1])
    waits = [e[3] for e in edges if e[3] is not None]
    max_wait = max(waits) if waits else 0.0

    # edges first so nodes are drawn above them
    flow = [(_START, a, n, None) for a, n in start.items() if a in positions]
    flow += [(a, _END, n, None) for a, n in end.items() if a in positions]
    for source, target, freq, wait in edges + flow:
        marker_edge = source == _START or target == _END
        if metric == "wait" and not marker_edge:
            label = human_duration(wait)
            color = _heat(wait, max_wait)
        else:
            label = f"{freq:,}"
            color = "#b0b0b0" if marker_edge else "#5b6f8a"
        width = 1.0 + 5.0 * math.sqrt(freq / max_freq)
        xs, ys, mid = _curve(positions[source], positions[target])
        hover = f"{source} → {target}<br>{freq:,} times"
        if wait is not None:
            hover += f"<br>median wait {human_duration(wait)}"
        traces.append(
            go.Scatter(
                x=xs,
                y=ys,
                mode="lines",
                line={"width": width, "color": color, "dash": "dot" if marker_edge else "solid"},
                hoverinfo="text",
                text=hover,
                showlegend=False,
            )
        )
        annotations.append(
            {
                "x": xs[-1],
                "y": ys[-1],
                "ax": xs[-2],
                "ay": ys[-2],
                "xref": "x",
                "yref": "y",
                "axref": "x",
                "ayref": "y",
                "showarrow": True,
                "arrowhead": 2,
                "arrowsize": 1.2,
                "arrowcolor": color,
                "standoff": 14,
                "text": "",
            }
        )
        annotations.append(
            {
                "x": mid[0],
                "y": mid[1],
                "text": label,
                "showarrow": False,
                "font": {"size": 10, "color": "#333"},
                "bgcolor": "rgba(255,255,255,0.8)",
            }
        )

    names = list(positions)
    counts = _activity_counts(all_edges, start, end)
    traces.append(
        go.Scatter(
            x=[positions[n][0] for n in names],
            y=[positions[n][1] for n in names],
            mode="markers+text",
            text=[n for n in names],
            textposition="top center",
            marker={
                "size": [18 if n in (_START, _END) else 26 for n in names],
                "symbol": [
                    "triangle-right" if n == _START else "square" if n == _END else "circle"
                    for n in names
                ],
                "color": [
                    "#2ca02c" if n == _START else "#d62728" if n == _END else "#1f77b4"
                    for n in names
                ],
                "line": {"width": 1, "color": "#fff"},
            },
            hoverinfo="text",
            hovertext=[f"{n}<br>{counts.get(n, 0):,} events" for n in names],
            showlegend=False,
        )
    )
    fig = go.Figure(data=traces)
    fig.update_layout(
        annotations=annotations,
        title=title or f"Process map ({'median wait' if metric == 'wait' else 'frequency'})",
        xaxis={"visible": False},
        yaxis={"visible": False, "scaleanchor": None},
        plot_bgcolor="white",
        margin={"l": 20, "r": 20, "t": 50, "b": 20},
        hovermode="closest",
    )
    return fig


def _activity_counts(
    edges: list[tuple[str, str, int, float | None]], start: dict[str, int], end: dict[str, int]
) -> dict[str, int]:
    # events of an activity = incoming pairs + cases starting there
    counts: dict[str, int] = dict(start)
    for _, target, freq, _ in edges:
        counts[target] = counts.get(target, 0) + freq
    counts[_START] = sum(start.values())
    counts[_END] = sum(end.values())
    return counts


def _layout(
    edges: list[tuple[str, str, int, float | None]], start: dict[str, int], end: dict[str, int]
) -> dict[str, tuple[float, float]]:
    activities = sorted({e[0] for e in edges} | {e[1] for e in edges} | set(start) | set(end))
    succ: dict[str, list[str]] = {a: [] for a in activities}
    weight: dict[tuple[str, str], int] = {}
    for source, target, freq, _ in edges:  # already most frequent first
        succ[source].append(target)
        weight[(source, target)] = freq
    # DFS from start activities (most cases first), then any activity not reached
    roots = sorted(start, key=lambda a: (-start[a], a)) + activities
    state: dict[str, int] = {}  # 1 = on stack, 2 = done
    back: set[tuple[str, str]] = set()
    for root in roots:
        if root in state:
            continue
        stack: list[tuple[str, int]] = [(root, 0)]
        state[root] = 1
        while stack:
            node, i = stack[-1]
            if i < len(succ[node]):
                stack[-1] = (node, i + 1)
                nxt = succ[node][i]
                if state.get(nxt) == 1:
                    back.add((node, nxt))
                elif nxt not in state:
                    state[nxt] = 1
                    stack.append((nxt, 0))
            else:
                state[node] = 2
                stack.pop()
    forward = [(s, t) for (s, t) in weight if (s, t) not in back and s != t]
    # longest-path layering on the acyclic part (Kahn order)
    indeg = {a: 0 for a in activities}
    preds: dict[str, list[str]] = {a: [] for a in activities}
    for s, t in forward:
        indeg[t] += 1
        preds[t].append(s)
    layer = {a: 1 for a in activities}
    queue = [a for a in roots if indeg[a] == 0]
    queue = list(dict.fromkeys(queue))
    seen_q: set[str] = set(queue)
    order: list[str] = []
    while queue:
        node = queue.pop(0)
        order.append(node)
        for t in succ[node]:
            if (node, t) in back or node == t:
                continue
            layer[t] = max(layer[t], layer[node] + 1)
            indeg[t] -= 1
            if indeg[t] == 0 and t not in seen_q:
                seen_q.add(t)
                queue.append(t)
    last = max(layer.values(), default=1) + 1
    layers: dict[int, list[str]] = {}
    for a in activities:
        layers.setdefault(layer[a], []).append(a)
    total = {a: start.get(a, 0) for a in activities}
    for (_, t), freq in weight.items():
        total[t] += freq
    pos: dict[str, tuple[float, float]] = {_START: (0.0, 0.0)}
    for depth in sorted(layers):
        members = layers[depth]

        def key(a: str) -> tuple[float, int, str]:
            ys = [pos[p][1] for p in preds[a] if p in pos]
            return (sum(ys) / len(ys) if ys else 0.0, -total[a], a)

        members.sort(key=key)
        offset = (len(members) - 1) / 2
        for i, a in enumerate(members):
            pos[a] = (depth * _X_STEP, (offset - i) * _Y_STEP)
    pos[_END] = (last * _X_STEP, 0.0)
    if not start:
        del pos[_START]
    if not end:
        del pos[_END]
    return pos


def _curve(
    a: tuple[float, float], b: tuple[float, float], samples: int = 24
) -> tuple[list[float], list[float], tuple[float, float]]:
    """Points of a quadratic Bézier from a to b; backward and same-layer edges bend."""
    (x0, y0), (x1, y1) = a, b
    if a == b:  # self-loop: a small circle above the node
        xs = [x0 + 0.15 * math.sin(2 * math.pi * k / samples) for k in range(samples + 1)]
        ys = [y0 + 0.15 - 0.15 * math.cos(2 * math.pi * k / samples) for k in range(samples + 1)]
        return xs, ys, (x0, y0 + 0.32)
    dx, dy = x1 - x0, y1 - y0
    length = math.hypot(dx, dy) or 1.0
    bend = 0.1 if x1 > x0 else 0.35  # forward edges nearly straight, back edges arc
    cx = (x0 + x1) / 2 - dy / length * bend * length
    cy = (y0 + y1) / 2 + dx / length * bend * length
    xs, ys = [], []
    for k in range(samples + 1):
        t = k / samples
        xs.append((1 - t) ** 2 * x0 + 2 * (1 - t) * t * cx + t**2 * x1)
        ys.append((1 - t) ** 2 * y0 + 2 * (1 - t) * t * cy + t**2 * y1)
    mid = (0.25 * x0 + 0.5 * cx + 0.25 * x1, 0.25 * y0 + 0.5 * cy + 0.25 * y1)
    return xs, ys, mid


def _heat(wait: float | None, max_wait: float) -> str:
    """Blue (short) to red (long) on a square-root scale."""
    if wait is None or max_wait <= 0 or math.isnan(wait):
        return "#5b6f8a"
    share = math.sqrt(max(wait, 0.0) / max_wait)
    red = int(40 + 200 * share)
    blue = int(200 - 160 * share)
    return f"rgb({red},70,{blue})"
