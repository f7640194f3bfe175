"""Process maps: the directly-follows graph drawn as a readable, layered plotly figure.

:func:`process_map` draws activities as labelled boxes flowing from top
(start) to bottom (end), the way Disco or Celonis draw a map:

- **simplified by default**: up to 25 activities are all kept; beyond that
  the most frequent ones covering at least 95% of the events (at most 25).
  Hidden activities are skipped over, so an arrow may pass through them.
  Paths are kept so that every activity stays connected (its strongest
  incoming and outgoing path, and a route from start and to end), then the
  most frequent others up to a budget. ``activities=`` and ``paths=`` (shares
  of events / transitions to cover, as Disco's sliders) override this; a
  caption says what was hidden.
- **layered**: cycles are broken by a greedy order that walks from the
  start, taking next the activity whose incoming flow comes most from
  activities already placed (so the heavier direction of a loop points
  down); activities are layered on the longest path (at most a few per
  layer) and then moved to shorten heavy paths; long paths get bend points
  between the boxes they pass; layers are ordered by weighted barycentres
  and neighbour swaps to reduce crossings; boxes are placed by an exact
  order-preserving least-squares fit, with chains of heaviest paths pulled
  into straight vertical lines (the main flow reads straight down). Back
  edges (rework) leave and enter boxes by their sides, so they read apart
  from the downward flow.
- **deterministic**: every choice breaks ties by frequency, then name.

:func:`stage_map` draws the same kind of map one level up: a case's events
are mapped to the design's stages, consecutive events of one stage collapse
into one visit, and every transition is marked allowed or not by the design.

The figure is sized in pixels (one data unit is one pixel), so labels fit
their boxes; ``fig.layout.meta["wfmine"]`` holds what was drawn (boxes,
edges, hidden activities, the caption) for programs and tests.

>>> fig = process_map(log, metric="wait")  # doctest: +SKIP
>>> fig.write_html("map.html", include_plotlyjs="cdn")  # doctest: +SKIP
>>> stage_map(log, load_design("design.yaml"))  # doctest: +SKIP
"""

from __future__ import annotations

import bisect
import html
import itertools
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final, Literal

import polars as pl

from wfmine.discovery._columns import (
    ACT,
    CASE,
    DEFAULT_ACTIVITY,
    DEFAULT_CASE,
    DEFAULT_SEQ,
    DEFAULT_TIMESTAMP,
    TS,
    Log,
    seconds,
    sorted_events,
)
from wfmine.discovery.dfg import directly_follows, end_activities, start_activities
from wfmine.errors import InputError

if TYPE_CHECKING:
    import plotly.graph_objects as go

    from wfmine.design import Design

__all__ = ["human_duration", "process_map", "stage_map"]

_START: Final = "▶ start"
_END: Final = "■ end"

#: keep every activity up to this many; beyond, cover ``_AUTO_EVENT_SHARE`` of the events
_AUTO_MAX_ACTIVITIES: Final = 25
_AUTO_EVENT_SHARE: Final = 0.95

# geometry, in pixels (one data unit is one pixel)
_FONT: Final = "Arial, 'Liberation Sans', Helvetica, sans-serif"
_LABEL_SIZE: Final = 12
_SUB_SIZE: Final = 10
_EDGE_SIZE: Final = 10
_LINE: Final = 15.0
_SUB_LINE: Final = 13.0
_PAD_X: Final = 10.0
_PAD_Y: Final = 7.0
_MAX_LABEL_PX: Final = 150.0
_MIN_BOX: Final = 72.0
_LAYER_GAP: Final = 62.0
_NODE_GAP: Final = 42.0
_DUMMY_GAP: Final = 14.0
_ARROW: Final = 9.0
_MARGIN: Final = 24.0
_MIN_WIDTH: Final = 600.0
_CAPTION_SIZE: Final = 11
_CAPTION_LINE: Final = 15.0

# Advance widths of ASCII 32..126 in thousandths of an em, from the metrics of
# Liberation Sans (metric-compatible with Arial and Helvetica, the fonts the
# labels ask for first).
_ASCII_WIDTHS: Final = (
    278,
    278,
    355,
    556,
    556,
    889,
    667,
    191,
    333,
    333,
    389,
    584,
    278,
    333,
    278,
    278,
    556,
    556,
    556,
    556,
    556,
    556,
    556,
    556,
    556,
    556,
    278,
    278,
    584,
    584,
    584,
    556,
    1015,
    667,
    667,
    722,
    722,
    667,
    611,
    778,
    722,
    278,
    500,
    667,
    556,
    833,
    722,
    778,
    667,
    778,
    722,
    667,
    611,
    722,
    667,
    944,
    667,
    667,
    611,
    278,
    278,
    278,
    469,
    556,
    333,
    556,
    556,
    500,
    556,
    556,
    278,
    556,
    556,
    222,
    222,
    500,
    222,
    833,
    556,
    556,
    556,
    556,
    333,
    500,
    278,
    556,
    500,
    722,
    500,
    500,
    500,
    334,
    260,
    334,
    584,
)


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


# -- text measuring ---------------------------------------------------------------------


def _text_px(text: str, size: float) -> float:
    """Estimated rendered width of ``text`` at font ``size`` (slightly generous)."""
    total = 0
    for ch in text:
        code = ord(ch)
        if 32 <= code < 127:
            total += _ASCII_WIDTHS[code - 32]
        elif code >= 0x2E80:  # CJK and other wide scripts
            total += 1000
        else:
            total += 640
    return total * size / 1000.0 * 1.07


def _wrap(text: str, size: float, max_px: float, max_lines: int = 3) -> list[str]:
    """``text`` broken into at most ``max_lines`` lines no wider than ``max_px``."""
    pieces: list[str] = []
    for word in text.split():
        while _text_px(word, size) > max_px and len(word) > 1:
            cut = len(word) - 1
            while cut > 1 and _text_px(word[:cut], size) > max_px:
                cut -= 1
            pieces.append(word[:cut])
            word = word[cut:]
        pieces.append(word)
    lines: list[str] = []
    current = ""
    for piece in pieces:
        candidate = f"{current} {piece}" if current else piece
        if current and _text_px(candidate, size) > max_px:
            lines.append(current)
            current = piece
        else:
            current = candidate
    if current:
        lines.append(current)
    if len(lines) > max_lines:
        lines = lines[:max_lines]
        last = lines[-1]
        while last and _text_px(last + "…", size) > max_px:
            last = last[:-1]
        lines[-1] = last.rstrip() + "…"
    return lines or [""]


def _esc(text: object) -> str:
    """Source text made safe for plotly's pseudo-HTML (shown as typed, never as markup)."""
    return html.escape(str(text), quote=False)


# -- the drawing model --------------------------------------------------------------------


@dataclass
class _Node:
    key: str
    lines: list[str]  # label lines (plain text)
    sub: str  # small line under the label (plain text)
    hover: str  # markup, escaped
    fill: str
    border: str
    ink: str
    kind: Literal["activity", "start", "end"] = "activity"
    importance: float = 0.0
    faded: bool = False
    w: float = 0.0
    h: float = 0.0


@dataclass
class _Arc:
    source: str
    target: str
    freq: int
    hover: str  # markup, escaped
    color: str
    width: float
    dash: str = "solid"
    label: str | None = None  # plain text
    label_priority: float = -1.0  # labels are placed best first; < 0: no label
    label_color: str = "#333"
    weight: float = 1.0  # layout weight


@dataclass
class _Route:
    segments: Sequence[tuple[tuple[float, float], ...]]  # cubic Béziers (p0, c1, c2, p3)
    arrow: tuple[tuple[float, float], tuple[float, float], tuple[float, float]] | None
    back: bool = False

    def point(self, share: float) -> tuple[float, float]:
        """A point ``share`` of the way along the route (by segment, then Bézier parameter)."""
        if not self.segments:
            return (0.0, 0.0)
        pos = min(max(share, 0.0), 0.999999) * len(self.segments)
        index = int(pos)
        return _bezier(self.segments[index], pos - index)


def _bezier(seg: tuple[tuple[float, float], ...], t: float) -> tuple[float, float]:
    (x0, y0), (x1, y1), (x2, y2), (x3, y3) = seg
    u = 1 - t
    a, b, c, d = u * u * u, 3 * u * u * t, 3 * u * t * t, t * t * t
    return (a * x0 + b * x1 + c * x2 + d * x3, a * y0 + b * y1 + c * y2 + d * y3)


@dataclass
class _Placement:
    boxes: dict[str, tuple[float, float, float, float]]  # key -> (x0, y0, x1, y1)
    routes: list[_Route | None]
    width: float
    height: float
    layers: dict[str, int] = field(default_factory=dict)


# -- layout ------------------------------------------------------------------------------


def _layout(
    nodes: Sequence[_Node],
    arcs: Sequence[_Arc],
    *,
    rank: Mapping[str, float] | None = None,
) -> _Placement:
    """Place ``nodes`` in top-to-bottom layers and route ``arcs`` between them."""
    keys = [n.key for n in nodes]
    index = {k: i for i, k in enumerate(keys)}
    n_real = len(keys)
    if not n_real:
        return _Placement({}, [None] * len(arcs), 2 * _MARGIN, 2 * _MARGIN)
    first = next((n.key for n in nodes if n.kind == "start"), None)
    last = next((n.key for n in nodes if n.kind == "end"), None)
    importance = {n.key: n.importance for n in nodes}
    max_w = max([a.weight for a in arcs] + [1e-9])

    # 1. a linear order that points the heaviest flow forward; edges against it are back edges
    order = _feedback_order(keys, arcs, first, last, rank, importance)
    pos = {k: i for i, k in enumerate(order)}
    layout_arcs: list[tuple[int, int, int, float]] = []  # (arc index, upper, lower, weight)
    back: list[bool] = []
    for i, arc in enumerate(arcs):
        s, t = index[arc.source], index[arc.target]
        is_back = pos[arc.source] > pos[arc.target]
        back.append(is_back)
        if s == t:
            continue
        w = 0.2 + 8.0 * arc.weight / max_w
        layout_arcs.append((i, t, s, w) if is_back else (i, s, t, w))

    # 2. layers: longest path, then nodes slide down where that shortens heavy paths
    preds: list[list[tuple[int, float]]] = [[] for _ in range(n_real)]
    succs: list[list[tuple[int, float]]] = [[] for _ in range(n_real)]
    for _, u, v, w in layout_arcs:
        preds[v].append((u, w))
        succs[u].append((v, w))
    # a layer holds at most `cap` boxes, so a loosely ordered log grows down, not sideways
    cap = max(5, round(1.2 * math.sqrt(n_real)))
    filled: dict[int, int] = {}
    layer = [0] * n_real
    floor = 1 if first is not None else 0
    for key in order:
        v = index[key]
        if key == first:
            continue
        depth = max([layer[u] + 1 for u, _ in preds[v]] + [floor])
        while key != last and filled.get(depth, 0) >= cap:
            depth += 1
        layer[v] = depth
        filled[depth] = filled.get(depth, 0) + 1
    for _ in range(8):
        moved = False
        for key in reversed(order):
            v = index[key]
            if key in (first, last) or not succs[v]:
                continue
            pull_down = sum(w for _, w in succs[v]) - sum(w for _, w in preds[v])
            if pull_down <= 0:
                continue
            lowest = min(layer[u] for u, _ in succs[v]) - 1
            target = next((d for d in range(lowest, layer[v], -1) if filled.get(d, 0) < cap), None)
            if target is not None:
                filled[layer[v]] -= 1
                filled[target] = filled.get(target, 0) + 1
                layer[v] = target
                moved = True
        if not moved:
            break
    if last is not None:
        others = [layer[i] for i in range(n_real) if keys[i] != last]
        layer[index[last]] = max([*others, 0]) + 1
    # close empty layers
    used = sorted(set(layer))
    compact = {old: new for new, old in enumerate(used)}
    layer = [compact[v] for v in layer]
    n_layers = max(layer) + 1

    # 3. bend points: a path across several layers passes each one at a point of its own
    item_layer = list(layer)
    chains: dict[int, list[int]] = {}
    up: list[list[tuple[int, float]]] = [[] for _ in range(n_real)]
    down: list[list[tuple[int, float]]] = [[] for _ in range(n_real)]
    for arc_i, u, v, w in layout_arcs:
        chain = [u]
        for depth in range(layer[u] + 1, layer[v]):
            item_layer.append(depth)
            up.append([])
            down.append([])
            chain.append(len(item_layer) - 1)
        chain.append(v)
        for a, b in itertools.pairwise(chain):
            down[a].append((b, w))
            up[b].append((a, w))
        chains[arc_i] = chain
    n_items = len(item_layer)
    rows: list[list[int]] = [[] for _ in range(n_layers)]
    for item in range(n_items):
        rows[item_layer[item]].append(item)

    # 4. order inside layers: weighted barycentre sweeps, keeping the fewest crossings
    tie = [0.0] * n_items
    for item in range(n_real):
        tie[item] = -importance[keys[item]]
    place = [0.0] * n_items
    for row in rows:
        row.sort(key=lambda it: (tie[it], keys[it] if it < n_real else "", it))
    for depth in range(1, n_layers):
        for i, it in enumerate(rows[depth - 1]):
            place[it] = float(i)
        rows[depth].sort(key=lambda it: (_barycentre(up[it], place, math.inf), tie[it], it))
    best = [list(r) for r in rows]
    best_cross = _crossings(rows, down)
    big = n_items > 1500  # fewer refinement rounds on huge maps
    huge = n_items > 20000
    for sweep in range(0 if huge else 4 if big else 12):
        downward = sweep % 2 == 0
        depths = range(1, n_layers) if downward else range(n_layers - 2, -1, -1)
        for depth in depths:
            ref = rows[depth - 1] if downward else rows[depth + 1]
            for i, it in enumerate(ref):
                place[it] = float(i)
            current = {it: float(i) for i, it in enumerate(rows[depth])}
            nbrs = up if downward else down
            rows[depth].sort(
                key=lambda it: (_barycentre(nbrs[it], place, current[it]), current[it])
            )
        cross = _crossings(rows, down)
        if cross < best_cross:
            best, best_cross = [list(r) for r in rows], cross
    rows = best
    rows = rows if huge else _transpose(rows, up, down)

    # 5. sizes and x: an exact order-preserving least-squares fit towards neighbours
    width = [0.0] * n_items
    height = [0.0] * n_items
    for i, node in enumerate(nodes):
        width[i], height[i] = node.w, node.h
    x = [0.0] * n_items
    for row in rows:
        cursor = 0.0
        for j, it in enumerate(row):
            if j:
                cursor += _gap(row[j - 1], it, n_real, width)
            x[it] = cursor
    stiff = [1.0 + sum(w for _, w in up[it]) + sum(w for _, w in down[it]) for it in range(n_items)]
    for sweep in range(2 if huge else 12 if big else 40):
        direction = sweep % 3  # 0: towards the layer above, 1: below, 2: both
        sequence = range(n_layers) if direction != 1 else range(n_layers - 1, -1, -1)
        for depth in sequence:
            row = rows[depth]
            desired = []
            for it in row:
                near = (
                    up[it] if direction == 0 else down[it] if direction == 1 else up[it] + down[it]
                )
                total = sum(w for _, w in near)
                desired.append(sum(x[o] * w for o, w in near) / total if total else x[it])
            placed = _fit_row(row, desired, [stiff[it] for it in row], n_real, width)
            for it, value in zip(row, placed, strict=True):
                x[it] = value
    ends = frozenset(index[k] for k in (last,) if k is not None)
    _straighten(
        rows, up, down, x, stiff, n_real, width, ends, rounds=0 if huge else 10 if big else 30
    )
    left = min(x[it] - width[it] / 2 for it in range(n_items))
    right = max(x[it] + width[it] / 2 for it in range(n_items))
    shift = _MARGIN - left + 40.0  # room for back edges and self-loops on the left

    # 6. y: layers as bands, boxes centred in their band
    band = [0.0] * n_layers
    for it in range(n_real):
        band[layer[it]] = max(band[layer[it]], height[it])
    centre = [0.0] * n_layers
    top = _MARGIN + 16.0
    for depth in range(n_layers):
        centre[depth] = top + band[depth] / 2
        top += band[depth] + _LAYER_GAP
    total_h = top - _LAYER_GAP + _MARGIN
    total_w = right - left + 2 * _MARGIN + 80.0
    if total_w < _MIN_WIDTH:  # centre a narrow map so title and caption have room
        shift += (_MIN_WIDTH - total_w) / 2
        total_w = _MIN_WIDTH
    pts = [(x[it] + shift, centre[item_layer[it]]) for it in range(n_items)]
    boxes = {
        keys[i]: (
            pts[i][0] - width[i] / 2,
            pts[i][1] - height[i] / 2,
            pts[i][0] + width[i] / 2,
            pts[i][1] + height[i] / 2,
        )
        for i in range(n_real)
    }
    routes = _route(arcs, boxes, chains, back, pts)
    return _Placement(
        boxes, routes, total_w, total_h, layers={keys[i]: layer[i] for i in range(n_real)}
    )


def _feedback_order(
    keys: Sequence[str],
    arcs: Sequence[_Arc],
    first: str | None,
    last: str | None,
    rank: Mapping[str, float] | None,
    importance: Mapping[str, float],
) -> list[str]:
    """A linear order of the nodes with little flow pointing backwards.

    With ``rank`` (e.g. a design's stage order) that order is used. Otherwise
    a greedy walk from the start: the next node is the one whose incoming
    flow comes most from nodes already placed rather than from nodes still
    to come (only nodes entered from a placed node qualify while there are
    any), so each activity follows the activities work reaches it from, and
    the heavier direction of a loop points forward.
    """
    if rank is not None:
        fallback = max([*rank.values(), 0.0]) + 1.0

        def position(k: str) -> tuple[int, float, float, str]:
            edge = 0 if k == first else 2 if k == last else 1
            return (edge, rank.get(k, fallback), -importance[k], k)

        return sorted(keys, key=position)
    incoming: dict[str, dict[str, float]] = {k: {} for k in keys}
    for arc in arcs:
        if arc.source != arc.target:
            incoming[arc.target][arc.source] = (
                incoming[arc.target].get(arc.source, 0.0) + arc.weight
            )
    stable = sorted(keys, key=lambda k: (-importance[k], k))
    placed: dict[str, None] = {} if first is None else {first: None}
    remaining = [k for k in stable if k not in (first, last)]
    while remaining:
        best: tuple[bool, float, int] | None = None
        chosen = remaining[0]
        for i, k in enumerate(remaining):
            sat = sum(w for s, w in incoming[k].items() if s in placed)
            unsat = sum(w for s, w in incoming[k].items() if s not in placed and s != last)
            score = (sat > 0, sat - unsat, -i)
            if best is None or score > best:
                best, chosen = score, k
        placed[chosen] = None
        remaining.remove(chosen)
    order = list(placed)
    return order + ([last] if last is not None else [])


def _straighten(
    rows: Sequence[Sequence[int]],
    up: Sequence[Sequence[tuple[int, float]]],
    down: Sequence[Sequence[tuple[int, float]]],
    x: list[float],
    stiff: Sequence[float],
    n_real: int,
    width: Sequence[float],
    pinned: frozenset[int] = frozenset(),
    rounds: int = 30,
) -> None:
    """Line up chains of heaviest paths vertically (the main flow reads as a straight line).

    Two items align when each is the other's heaviest neighbour across one
    layer gap and the alignment crosses no heavier one; aligned chains are
    then pulled to one x while the rest of each row makes room.
    """
    layer_of = {it: d for d, row in enumerate(rows) for it in row}
    place = {it: i for row in rows for i, it in enumerate(row)}

    def heaviest(nbrs: Sequence[tuple[int, float]]) -> int | None:
        return max(nbrs, key=lambda o: (o[1], -o[0]))[0] if nbrs else None

    pairs = []
    for v in range(len(x)):
        u = heaviest(up[v])
        if u is not None and heaviest(down[u]) == v:
            weight = max(w for o, w in up[v] if o == u)
            pairs.append((weight, u, v))
    pairs.sort(key=lambda p: (-p[0], p[1], p[2]))
    # accepted alignments of one layer gap never cross, so they are sorted by both ends:
    # a new one fits when it sits strictly between its neighbours on both sides
    accepted: dict[int, list[tuple[int, int, int, int]]] = {}
    for _, u, v in pairs:
        gap = accepted.setdefault(layer_of[u], [])
        pu, pv = place[u], place[v]
        at = bisect.bisect_left(gap, (pu, pv, -1, -1))
        before = gap[at - 1] if at else None
        after = gap[at] if at < len(gap) else None
        if (before is None or (before[0] < pu and before[1] < pv)) and (
            after is None or (after[0] > pu and after[1] > pv)
        ):
            gap.insert(at, (pu, pv, u, v))
    block = list(range(len(x)))
    for depth in sorted(accepted):
        for _, _, u, v in accepted[depth]:
            if v not in pinned:
                block[v] = block[u]
    members: dict[int, list[int]] = {}
    for it in range(len(x)):
        members.setdefault(block[it], []).append(it)
    for _ in range(rounds):
        centre = {}
        for root, items in members.items():
            total = sum(stiff[it] for it in items)
            centre[root] = sum(x[it] * stiff[it] for it in items) / total
        for row in rows:
            desired = []
            weights = []
            for it in row:
                if len(members[block[it]]) > 1:
                    desired.append(centre[block[it]])
                    weights.append(stiff[it] * 20.0)
                else:
                    nbrs = list(up[it]) + list(down[it])
                    total = sum(w for _, w in nbrs)
                    desired.append(sum(x[o] * w for o, w in nbrs) / total if total else x[it])
                    weights.append(stiff[it])
            for it, value in zip(row, _fit_row(row, desired, weights, n_real, width), strict=True):
                x[it] = value


def _barycentre(nbrs: Sequence[tuple[int, float]], place: Sequence[float], default: float) -> float:
    total = sum(w for _, w in nbrs)
    if not total:
        return default
    return sum(place[o] * w for o, w in nbrs) / total


def _crossings(rows: Sequence[Sequence[int]], down: Sequence[Sequence[tuple[int, float]]]) -> float:
    """Weighted number of edge crossings between consecutive layers.

    Per layer pair, edges sorted by their upper end; an edge crosses every
    earlier one whose lower end lies strictly to its right (a weighted
    inversion count with a Fenwick tree, so large maps stay fast).
    """
    total = 0.0
    for depth in range(len(rows) - 1):
        below = {it: i for i, it in enumerate(rows[depth + 1])}
        segs = sorted(
            (i, below[o], w) for i, it in enumerate(rows[depth]) for o, w in down[it] if o in below
        )
        size = len(rows[depth + 1])
        tree = [0.0] * (size + 1)
        seen = 0.0
        for _, low, w in segs:
            j, prefix = low + 1, 0.0  # weight of earlier edges ending at or left of low
            while j > 0:
                prefix += tree[j]
                j -= j & -j
            total += w * (seen - prefix)
            seen += w
            j = low + 1
            while j <= size:
                tree[j] += w
                j += j & -j
    return total


def _pair_cost(
    a: int, b: int, nbrs: Sequence[Sequence[Sequence[tuple[int, float]]]], place: Mapping[int, int]
) -> float:
    """Crossings among the edges of ``a`` and ``b`` when ``a`` stands left of ``b``."""
    cost = 0.0
    for side in nbrs:
        for p, wp in side[a]:
            for q, wq in side[b]:
                if place[p] > place[q]:
                    cost += wp * wq
    return cost


def _transpose(
    rows: list[list[int]],
    up: Sequence[Sequence[tuple[int, float]]],
    down: Sequence[Sequence[tuple[int, float]]],
) -> list[list[int]]:
    """Swap neighbours in a layer while that removes crossings."""
    place = {it: i for row in rows for i, it in enumerate(row)}
    for _ in range(8):
        improved = False
        for row in rows:
            for j in range(len(row) - 1):
                a, b = row[j], row[j + 1]
                if _pair_cost(b, a, (up, down), place) < _pair_cost(a, b, (up, down), place) - 1e-9:
                    row[j], row[j + 1] = b, a
                    place[a], place[b] = j + 1, j
                    improved = True
        if not improved:
            break
    return rows


def _gap(a: int, b: int, n_real: int, width: Sequence[float]) -> float:
    """Distance between the centres of neighbours ``a`` and ``b`` in a layer."""
    reals = (a < n_real) + (b < n_real)
    space = _NODE_GAP if reals == 2 else (_NODE_GAP + _DUMMY_GAP) / 2 if reals == 1 else _DUMMY_GAP
    return width[a] / 2 + space + width[b] / 2


def _fit_row(
    row: Sequence[int],
    desired: Sequence[float],
    weights: Sequence[float],
    n_real: int,
    width: Sequence[float],
) -> list[float]:
    """Positions closest (weighted least squares) to ``desired`` that keep order and gaps.

    With offsets ``o`` the cumulative minimum gaps, ``x - o`` must not
    decrease along the row: an isotonic regression, solved exactly by pooling
    adjacent violators.
    """
    offsets = [0.0]
    for j in range(1, len(row)):
        offsets.append(offsets[-1] + _gap(row[j - 1], row[j], n_real, width))
    blocks: list[list[float]] = []  # [weighted sum, weight, count]
    for d, o, w in zip(desired, offsets, weights, strict=True):
        blocks.append([(d - o) * w, w, 1.0])
        while len(blocks) > 1 and blocks[-2][0] / blocks[-2][1] > blocks[-1][0] / blocks[-1][1]:
            s, wt, c = blocks.pop()
            blocks[-1][0] += s
            blocks[-1][1] += wt
            blocks[-1][2] += c
    out: list[float] = []
    for s, wt, c in blocks:
        out.extend([s / wt] * int(c))
    return [v + o for v, o in zip(out, offsets, strict=True)]


def _route(
    arcs: Sequence[_Arc],
    boxes: Mapping[str, tuple[float, float, float, float]],
    chains: Mapping[int, list[int]],
    back: Sequence[bool],
    pts: Sequence[tuple[float, float]],
) -> list[_Route | None]:
    """Curves for every arc: forward arcs bottom to top, back arcs side to side."""
    routes: list[_Route | None] = [None] * len(arcs)
    # where each arc leaves and enters: (box key, side, sort position)
    bottom: dict[str, list[tuple[float, int]]] = {}
    top: dict[str, list[tuple[float, int]]] = {}
    side_ports: dict[tuple[str, str], list[tuple[float, int, str]]] = {}
    sides: dict[tuple[int, str], str] = {}
    for i, arc in enumerate(arcs):
        if i not in chains:
            continue
        chain = chains[i]
        if not back[i]:
            bottom.setdefault(arc.source, []).append((pts[chain[1]][0], i))
            top.setdefault(arc.target, []).append((pts[chain[-2]][0], i))
            continue
        # a back arc runs up from the source (chain end) to the target (chain start)
        src_box, tgt_box = boxes[arc.source], boxes[arc.target]
        if len(chain) == 2:
            src_cx, tgt_cx = (src_box[0] + src_box[2]) / 2, (tgt_box[0] + tgt_box[2]) / 2
            side = "left" if src_cx < tgt_cx - 4 else "right"
            sides[(i, "s")] = sides[(i, "t")] = side
        else:
            for which, box, nxt in (("s", src_box, pts[chain[-2]]), ("t", tgt_box, pts[chain[1]])):
                sides[(i, which)] = "left" if nxt[0] < (box[0] + box[2]) / 2 else "right"
        side_ports.setdefault((arc.source, sides[(i, "s")]), []).append(
            (pts[chain[-2]][1] if len(chain) > 2 else tgt_box[1], i, "s")
        )
        side_ports.setdefault((arc.target, sides[(i, "t")]), []).append(
            (pts[chain[1]][1] if len(chain) > 2 else src_box[1], i, "t")
        )
    port: dict[tuple[int, str], tuple[float, float]] = {}
    for items, which in ((bottom, "s"), (top, "t")):
        for key, found in items.items():
            x0, y0, x1, y1 = boxes[key]
            found.sort()
            for (_, i), px in zip(found, _ports(x0, x1, [fx for fx, _ in found]), strict=True):
                port[(i, which)] = (px, y1 if which == "s" else y0)
    for (key, side), on_side in side_ports.items():
        x0, y0, x1, y1 = boxes[key]
        for j, (_, i, which) in enumerate(sorted(on_side)):
            y = y0 + (y1 - y0) * (0.3 + 0.4 * (j + 0.5) / len(on_side))
            port[(i, which)] = (x0 if side == "left" else x1, y)

    for i, arc in enumerate(arcs):
        if arc.source == arc.target:
            routes[i] = _self_loop(boxes[arc.source])
            continue
        if i not in chains:
            continue
        chain = chains[i]
        if not back[i]:
            (sx, sy), (tx, ty) = port[(i, "s")], port[(i, "t")]
            path = [(sx, sy)] + [pts[it] for it in chain[1:-1]] + [(tx, ty - _ARROW)]
            segs = []
            for (ax, ay), (bx, by) in itertools.pairwise(path):
                k = max((by - ay) * 0.5, 8.0)
                segs.append(((ax, ay), (ax, ay + k), (bx, by - k), (bx, by)))
            arrow = ((tx, ty), (tx - _ARROW * 0.55, ty - _ARROW), (tx + _ARROW * 0.55, ty - _ARROW))
            routes[i] = _Route(segs, arrow)
            continue
        (sx, sy), (tx, ty) = port[(i, "s")], port[(i, "t")]
        s_dir = -1.0 if sides[(i, "s")] == "left" else 1.0
        t_dir = -1.0 if sides[(i, "t")] == "left" else 1.0
        end = (tx + t_dir * _ARROW, ty)
        bends = [pts[it] for it in reversed(chain[1:-1])]  # from the source upwards
        segs = []
        if not bends:
            reach = 34.0 + min(abs(sy - ty), 400.0) * 0.12
            segs.append(((sx, sy), (sx + s_dir * reach, sy), (end[0] + t_dir * reach, end[1]), end))
        else:
            bx, by = bends[0]
            k = max((sy - by) * 0.6, 10.0)
            segs.append(((sx, sy), (sx + s_dir * 30.0, sy), (bx, by + k), (bx, by)))
            for (ax, ay), (cx, cy) in itertools.pairwise(bends):
                k = max((ay - cy) * 0.5, 8.0)
                segs.append(((ax, ay), (ax, ay - k), (cx, cy + k), (cx, cy)))
            ax, ay = bends[-1]
            k = max((ay - end[1]) * 0.6, 10.0)
            segs.append(((ax, ay), (ax, ay - k), (end[0] + t_dir * 30.0, end[1]), end))
        arrow = (
            (tx, ty),
            (tx + t_dir * _ARROW, ty - _ARROW * 0.55),
            (tx + t_dir * _ARROW, ty + _ARROW * 0.55),
        )
        routes[i] = _Route(segs, arrow, back=True)
    return routes


def _ports(x0: float, x1: float, towards: Sequence[float]) -> list[float]:
    """Where arcs meet a box side: under the point each heads for, in order, kept apart."""
    margin = min(12.0, (x1 - x0) / 4)
    lo, hi = x0 + margin, x1 - margin
    gap = min(9.0, (hi - lo) / max(len(towards) - 1, 1))
    desired = [min(max(t, lo), hi) - j * gap for j, t in enumerate(towards)]
    blocks: list[list[float]] = []  # isotonic fit: pooled [sum, count]
    for d in desired:
        blocks.append([d, 1.0])
        while len(blocks) > 1 and blocks[-2][0] / blocks[-2][1] > blocks[-1][0] / blocks[-1][1]:
            s, c = blocks.pop()
            blocks[-1][0] += s
            blocks[-1][1] += c
    fitted = [s / c for s, c in blocks for _ in range(int(c))]
    shift = max(0.0, lo - fitted[0]) if fitted else 0.0
    out = [v + shift + j * gap for j, v in enumerate(fitted)]
    over = max(0.0, out[-1] - hi) if out else 0.0
    return [v - over for v in out]


def _self_loop(box: tuple[float, float, float, float]) -> _Route:
    """A small loop over the top-left corner of ``box``."""
    x0, y0, _, _ = box
    start = (x0 + 12.0, y0)
    end = (x0 - _ARROW, y0 + 12.0)
    seg = (start, (x0 + 12.0, y0 - 26.0), (x0 - 30.0, y0 + 12.0), end)
    arrow = (
        (x0, y0 + 12.0),
        (x0 - _ARROW, y0 + 12.0 - _ARROW * 0.55),
        (x0 - _ARROW, y0 + 12.0 + _ARROW * 0.55),
    )
    return _Route([seg], arrow)


# -- rendering ---------------------------------------------------------------------------


def _size_nodes(nodes: Sequence[_Node]) -> None:
    for node in nodes:
        label_w = max(_text_px(line, _LABEL_SIZE) for line in node.lines)
        sub_w = _text_px(node.sub, _SUB_SIZE) if node.sub else 0.0
        if node.kind == "activity":
            node.w = max(_MIN_BOX, max(label_w, sub_w) + 2 * _PAD_X)
            node.h = len(node.lines) * _LINE + (_SUB_LINE if node.sub else 0.0) + 2 * _PAD_Y
        else:
            node.w = max(label_w, sub_w) + 2 * 14.0
            node.h = 24.0 + (_SUB_LINE if node.sub else 0.0)


def _fmt(v: float) -> str:
    return f"{v:.1f}".rstrip("0").rstrip(".")


def _box_path(x0: float, y0: float, x1: float, y1: float, r: float) -> str:
    r = min(r, (x1 - x0) / 2, (y1 - y0) / 2)
    f = _fmt
    return (
        f"M{f(x0 + r)},{f(y0)} H{f(x1 - r)} Q{f(x1)},{f(y0)} {f(x1)},{f(y0 + r)} "
        f"V{f(y1 - r)} Q{f(x1)},{f(y1)} {f(x1 - r)},{f(y1)} H{f(x0 + r)} "
        f"Q{f(x0)},{f(y1)} {f(x0)},{f(y1 - r)} V{f(y0 + r)} Q{f(x0)},{f(y0)} {f(x0 + r)},{f(y0)} Z"
    )


def _curve_path(route: _Route) -> str:
    f = _fmt
    (x, y) = route.segments[0][0]
    parts = [f"M{f(x)},{f(y)}"]
    for _, (ax, ay), (bx, by), (cx, cy) in route.segments:
        parts.append(f"C{f(ax)},{f(ay)} {f(bx)},{f(by)} {f(cx)},{f(cy)}")
    return " ".join(parts)


def _overlaps(
    a: tuple[float, float, float, float], b: tuple[float, float, float, float], pad: float = 2.0
) -> bool:
    return a[0] < b[2] + pad and b[0] < a[2] + pad and a[1] < b[3] + pad and b[1] < a[3] + pad


def _render(
    nodes: Sequence[_Node],
    arcs: Sequence[_Arc],
    *,
    title: str,
    caption: Sequence[str],
    meta: dict[str, Any],
    rank: Mapping[str, float] | None = None,
    colorbar: dict[str, Any] | None = None,
) -> go.Figure:
    import plotly.graph_objects as go

    _size_nodes(nodes)
    placed = _layout(nodes, arcs, rank=rank)
    shapes: list[dict[str, Any]] = []
    annotations: list[dict[str, Any]] = []
    # edges below the boxes, the heaviest drawn last (on top)
    drawn = sorted(range(len(arcs)), key=lambda i: (arcs[i].width, -i))
    for i in drawn:
        arc, route = arcs[i], placed.routes[i]
        if route is None:
            continue
        shapes.append(
            {
                "type": "path",
                "path": _curve_path(route),
                "xref": "x",
                "yref": "y",
                "layer": "below",
                "line": {"color": arc.color, "width": round(arc.width, 2), "dash": arc.dash},
            }
        )
        if route.arrow is not None:
            (ax, ay), (bx, by), (cx, cy) = route.arrow
            f = _fmt
            shapes.append(
                {
                    "type": "path",
                    "path": f"M{f(ax)},{f(ay)} L{f(bx)},{f(by)} L{f(cx)},{f(cy)} Z",
                    "xref": "x",
                    "yref": "y",
                    "layer": "below",
                    "fillcolor": arc.color,
                    "line": {"color": arc.color, "width": 1},
                }
            )
    taken: list[tuple[float, float, float, float]] = []
    for node in nodes:
        x0, y0, x1, y1 = placed.boxes[node.key]
        radius = (y1 - y0) / 2 if node.kind != "activity" else 7.0
        shapes.append(
            {
                "type": "path",
                "path": _box_path(x0, y0, x1, y1, radius),
                "xref": "x",
                "yref": "y",
                "layer": "above",
                "fillcolor": node.fill,
                "line": {
                    "color": node.border,
                    "width": 1.2,
                    "dash": "dot" if node.faded else "solid",
                },
            }
        )
        taken.append((x0, y0, x1, y1))
        cx = (x0 + x1) / 2
        label_h = len(node.lines) * _LINE
        block = label_h + (_SUB_LINE if node.sub else 0.0)
        top = (y0 + y1) / 2 - block / 2
        annotations.append(
            {
                "x": cx,
                "y": top + label_h / 2,
                "xref": "x",
                "yref": "y",
                "text": "<br>".join(_esc(line) for line in node.lines),
                "showarrow": False,
                "font": {"size": _LABEL_SIZE, "color": node.ink, "family": _FONT},
                "align": "center",
            }
        )
        if node.sub:
            annotations.append(
                {
                    "x": cx,
                    "y": top + label_h + _SUB_LINE / 2,
                    "xref": "x",
                    "yref": "y",
                    "text": _esc(node.sub),
                    "showarrow": False,
                    "font": {"size": _SUB_SIZE, "color": node.ink, "family": _FONT},
                }
            )
    # edge labels: most important first, each where it overlaps no box and no other label
    hover_x: list[float] = []
    hover_y: list[float] = []
    hover_text: list[str] = []
    labelled = sorted(
        (i for i, a in enumerate(arcs) if placed.routes[i] is not None),
        key=lambda i: (-arcs[i].label_priority, i),
    )
    for i in labelled:
        arc, route = arcs[i], placed.routes[i]
        assert route is not None
        mid = route.point(0.5)
        hover_x.append(mid[0])
        hover_y.append(mid[1])
        hover_text.append(arc.hover)
        if arc.label is None or arc.label_priority < 0:
            continue
        w = _text_px(arc.label, _EDGE_SIZE) + 6.0
        h = 14.0
        for share in (0.5, 0.4, 0.6, 0.3, 0.7, 0.22, 0.78):
            px, py = route.point(share)
            if arc.source == arc.target:
                px, py = px - w / 2 - 6.0, py - 8.0
            rect = (px - w / 2, py - h / 2, px + w / 2, py + h / 2)
            if not any(_overlaps(rect, other) for other in taken):
                taken.append(rect)
                annotations.append(
                    {
                        "x": px,
                        "y": py,
                        "xref": "x",
                        "yref": "y",
                        "text": _esc(arc.label),
                        "showarrow": False,
                        "font": {"size": _EDGE_SIZE, "color": arc.label_color, "family": _FONT},
                        "bgcolor": "rgba(255,255,255,0.88)",
                        "borderpad": 1,
                    }
                )
                break
    traces: list[Any] = [
        go.Scatter(
            x=hover_x,
            y=hover_y,
            mode="markers",
            marker={"size": 12, "color": "rgba(0,0,0,0)"},
            hoverinfo="text",
            hovertext=hover_text,
            name="paths",
            showlegend=False,
        ),
        go.Scatter(
            x=[(placed.boxes[n.key][0] + placed.boxes[n.key][2]) / 2 for n in nodes],
            y=[(placed.boxes[n.key][1] + placed.boxes[n.key][3]) / 2 for n in nodes],
            mode="markers",
            marker={
                "size": [max(8.0, min(n.h, n.w)) for n in nodes],
                "symbol": "square",
                "color": "rgba(0,0,0,0)",
            },
            hoverinfo="text",
            hovertext=[n.hover for n in nodes],
            customdata=[n.key for n in nodes],
            name="nodes",
            showlegend=False,
        ),
    ]
    right_margin = 12
    if colorbar is not None:
        traces.append(
            go.Scatter(
                x=[None],
                y=[None],
                mode="markers",
                showlegend=False,
                hoverinfo="skip",
                marker=colorbar,
            )
        )
        right_margin = 96
    cap_lines = [
        line
        for text in caption
        for line in _wrap(text, _CAPTION_SIZE, max(placed.width - 20, 420), 4)
    ]
    top_margin = 44 + int(len(cap_lines) * _CAPTION_LINE) + (6 if cap_lines else 0)
    if cap_lines:
        annotations.append(
            {
                "x": 0,
                "y": 1,
                "xref": "paper",
                "yref": "paper",
                "xanchor": "left",
                "yanchor": "bottom",
                "yshift": 4,
                "align": "left",
                "showarrow": False,
                "text": "<br>".join(_esc(line) for line in cap_lines),
                "font": {"size": _CAPTION_SIZE, "color": "#5d6b7a", "family": _FONT},
            }
        )
    boxes = {k: [round(v, 1) for v in b] for k, b in placed.boxes.items()}
    meta = {**meta, "boxes": boxes, "layers": placed.layers, "caption": " ".join(caption)}
    fig = go.Figure(data=traces)
    fig.update_layout(
        title={
            "text": _esc(title),
            "x": 0.0,
            "xanchor": "left",
            "xref": "paper",
            "y": 1.0,
            "yanchor": "top",
            "yref": "container",
            "pad": {"t": 12, "l": 4},
            "font": {"size": 16},
        },
        shapes=shapes,
        annotations=annotations,
        width=int(placed.width) + 12 + right_margin,
        height=int(placed.height) + top_margin + 8,
        autosize=False,
        margin={"l": 12, "r": right_margin, "t": top_margin, "b": 8, "pad": 0},
        xaxis={"visible": False, "range": [0, placed.width], "fixedrange": False},
        yaxis={"visible": False, "range": [placed.height, 0], "fixedrange": False},
        plot_bgcolor="white",
        paper_bgcolor="white",
        hovermode="closest",
        dragmode="pan",
        meta={"wfmine": meta},
    )
    return fig


# -- colour -------------------------------------------------------------------------------


def _blend(a: tuple[int, int, int], b: tuple[int, int, int], share: float) -> str:
    s = min(max(share, 0.0), 1.0)
    r, g, bl = (round(x + (y - x) * s) for x, y in zip(a, b, strict=True))
    return f"rgb({r},{g},{bl})"


_LIGHT: Final = (230, 239, 248)
_DARK: Final = (22, 73, 135)


def _node_colours(share: float) -> tuple[str, str, str]:
    """Fill, border and ink for an activity doing ``share`` (0..1) of the busiest's work."""
    s = math.sqrt(min(max(share, 0.0), 1.0))
    fill = _blend(_LIGHT, _DARK, s)
    border = _blend((150, 175, 205), (12, 45, 90), s)
    ink = "#ffffff" if s > 0.5 else "#1d2733"
    return fill, border, ink


def _heat(wait: float | None, max_wait: float) -> str:
    """Blue (short) to red (long) on a square-root scale."""
    if wait is None or max_wait <= 0 or math.isnan(wait):
        return "#8a96a3"
    share = math.sqrt(min(max(wait, 0.0) / max_wait, 1.0))
    return _blend((45, 110, 190), (205, 40, 40), share)


def _heat_bar(max_wait: float) -> dict[str, Any]:
    """A colour bar (marker spec) matching :func:`_heat`, ticks as durations."""
    stops = [k / 8 for k in range(9)]
    ticks = [max_wait * k / 4 for k in range(5)]
    return {
        "color": [0.0],
        "cmin": 0.0,
        "cmax": max_wait,
        "colorscale": [[s, _heat(s * max_wait, max_wait)] for s in stops],
        "showscale": True,
        "colorbar": {
            "title": {"text": "median wait", "side": "right"},
            "tickvals": ticks,
            "ticktext": [human_duration(t) for t in ticks],
            "thickness": 12,
            "len": 0.5,
            "y": 1.0,
            "yanchor": "top",
            "x": 1.0,
            "xpad": 10,
        },
    }


def _edge_width(freq: int, max_freq: int) -> float:
    return 1.0 + 6.0 * math.sqrt(max(freq, 0) / max(max_freq, 1))


# -- process map ---------------------------------------------------------------------------


def _share(value: float | None, name: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value <= 1:
        raise InputError(f"{name} must be a share of the log in (0, 1], not {value!r}")
    return float(value)


def _keep_activities(counts: Mapping[str, int], share: float | None) -> list[str]:
    """The activities to draw: all, or the most frequent ones covering ``share`` of the events."""
    ranked = sorted(counts, key=lambda a: (-counts[a], a))
    if share is None and len(ranked) <= _AUTO_MAX_ACTIVITIES:
        return ranked
    goal = (share if share is not None else _AUTO_EVENT_SHARE) * sum(counts.values())
    kept: list[str] = []
    covered = 0
    for a in ranked:
        if covered >= goal or (share is None and len(kept) >= _AUTO_MAX_ACTIVITIES):
            break
        kept.append(a)
        covered += counts[a]
    return kept


@dataclass
class _Path:
    source: str
    target: str
    freq: int
    wait: float | None = None
    wait_p90: float | None = None


def _keep_paths(
    paths: Sequence[_Path], activities: Sequence[str], share: float | None, budget: int | None
) -> list[bool]:
    """Which paths to draw (``paths`` are most frequent first).

    Every activity keeps its strongest incoming and outgoing path, then paths
    are added so that every activity is reachable from the start and reaches
    the end (strongest first); then the most frequent others until ``share``
    of all transitions are covered, or else until ``budget`` paths.
    """
    keep = [False] * len(paths)
    cases = max(sum(p.freq for p in paths if p.source == _START), 1)
    for i, p in enumerate(paths):  # where many cases start or end
        if (p.source == _START or p.target == _END) and p.freq >= 0.05 * cases:
            keep[i] = True
    for a in activities:
        for side in ("target", "source"):
            for i, p in enumerate(paths):
                if p.source != p.target and getattr(p, side) == a:
                    keep[i] = True
                    break
    for forward in (True, False):
        # grow the set reached from the start (or reaching the end) one strongest bridge at a time
        ends = [(p.source, p.target) if forward else (p.target, p.source) for p in paths]
        adjacent: dict[str, list[str]] = {}
        for (a, b), k in zip(ends, keep, strict=True):
            if k:
                adjacent.setdefault(a, []).append(b)
        reached: set[str] = set()
        frontier = [_START if forward else _END]
        while True:
            while frontier:
                node = frontier.pop()
                if node not in reached:
                    reached.add(node)
                    frontier.extend(adjacent.get(node, []))
            if all(a in reached for a in activities):
                break
            bridge = next(
                (
                    i
                    for i, (a, b) in enumerate(ends)
                    if not keep[i] and a in reached and b not in reached
                ),
                None,
            )
            if bridge is None:
                break
            keep[bridge] = True
            a, b = ends[bridge]
            adjacent.setdefault(a, []).append(b)
            frontier = [b]
    total = sum(p.freq for p in paths)
    covered = sum(p.freq for p, k in zip(paths, keep, strict=True) if k)
    count = sum(k for p, k in zip(paths, keep, strict=True) if p.source != p.target)
    for i, p in enumerate(paths):
        if keep[i]:
            continue
        if share is not None:
            if covered >= share * total:
                break
        elif p.source != p.target:  # self-loops cost no room: they are not budgeted
            if budget is None or count >= budget:
                continue
            count += 1
        keep[i] = True
        covered += p.freq
    return keep


def _counts_of(frame: pl.DataFrame, activity_key: str) -> dict[str, int]:
    return _ranked(frame.group_by(activity_key).len().drop_nulls(activity_key).iter_rows())


def process_map(
    log_or_dfg: Log,
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
) -> go.Figure:
    """Draw the process map of a log, or of a :func:`directly_follows` frame.

    Activities are boxes (colour by how many events they have), flowing from
    start (top) to end (bottom); line width follows how often a path is taken.
    ``metric="frequency"`` labels the important paths with their counts;
    ``"wait"`` labels them with the median wait ("3.2 h") and colours every
    path from short (blue) to long (red).

    Large maps are simplified (see the module docs): ``activities`` keeps the
    most frequent activities covering that share of the events (``1.0``: all;
    events of hidden activities are skipped over, so paths connect the kept
    ones), ``paths`` keeps the most frequent paths covering that share of the
    transitions (``1.0``: all), beyond the ones that keep every activity
    connected. ``top_edges`` keeps exactly the most frequent paths instead.
    For a DFG frame pass ``start``/``end`` (dicts activity → cases) to draw
    the start and end; activities of a DFG frame can only be hidden, not
    skipped over. ``title`` is plain text. The figure has a fixed size in
    pixels (``fig.layout.width``/``height``) so that labels fit their boxes.

    >>> fig = process_map(log)  # doctest: +SKIP
    >>> fig = process_map(log, activities=1.0, paths=1.0)  # everything  # doctest: +SKIP
    >>> fig.layout.meta["wfmine"]["caption"]  # doctest: +SKIP
    """
    if metric not in ("frequency", "wait"):
        raise InputError(f"metric must be 'frequency' or 'wait', not {metric!r}")
    act_share = _share(activities, "activities")
    path_share = _share(paths, "paths")
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
        counts = dict(starts)
        for s, t, n in dfg.select("source", "target", "frequency").iter_rows():
            counts.setdefault(str(s), 0)
            counts[str(t)] = counts.get(str(t), 0) + int(n)
        n_cases = sum(starts.values()) or None
    else:
        missing = [c for c in (case_id_key, activity_key, timestamp_key) if c not in frame.columns]
        if missing:
            raise InputError(
                f"log has no column(s) {missing}; it has {frame.columns}. "
                "Pass the right names with case_id_key=, activity_key=, timestamp_key="
            )
        counts = _counts_of(frame, activity_key)
        n_cases = frame.get_column(case_id_key).n_unique() if frame.height else 0
    kept = _keep_activities(counts, act_share)
    hidden = [a for a in sorted(counts, key=lambda a: (-counts[a], a)) if a not in set(kept)]
    if not is_dfg:
        view = frame if not hidden else frame.filter(pl.col(activity_key).is_in(kept))
        dfg = directly_follows(view, **keys)
        starts = start_activities(view, **keys)
        ends = end_activities(view, **keys)
    kept_set = set(kept)
    dfg = dfg.sort(["frequency", "source", "target"], descending=[True, False, False])
    has_wait = "wait_median_s" in dfg.columns
    has_p90 = "wait_p90_s" in dfg.columns
    flow = [
        _Path(
            str(r["source"]),
            str(r["target"]),
            int(r["frequency"]),
            r["wait_median_s"] if has_wait else None,
            r["wait_p90_s"] if has_p90 else None,
        )
        for r in dfg.iter_rows(named=True)
        if str(r["source"]) in kept_set and str(r["target"]) in kept_set
    ]
    boundary = [_Path(_START, a, n) for a, n in starts.items() if a in kept_set]
    boundary += [_Path(a, _END, n) for a, n in ends.items() if a in kept_set]
    candidates = sorted(
        flow + boundary,
        key=lambda p: (-p.freq, p.source in (_START,) or p.target == _END, p.source, p.target),
    )
    total_paths = len(candidates)
    if top_edges is not None:
        chosen_flow = flow[:top_edges]
        touched = {p.source for p in chosen_flow} | {p.target for p in chosen_flow}
        touched |= {a for a in starts if a in kept_set} | {a for a in ends if a in kept_set}
        kept = [a for a in kept if a in touched]
        shown_set = set(kept)
        chosen = chosen_flow + [
            p for p in boundary if (p.target if p.source == _START else p.source) in shown_set
        ]
        chosen.sort(key=candidates.index)
    else:
        budget = max(20, 2 * len(kept))
        mask = _keep_paths(candidates, kept, path_share, budget)
        chosen = [p for p, k in zip(candidates, mask, strict=True) if k]

    # -- nodes
    events_total = sum(counts.values())
    top_count = max([counts[a] for a in kept] + [1])
    nodes: list[_Node] = []
    has_start = any(p.source == _START for p in chosen)
    has_end = any(p.target == _END for p in chosen)
    case_word = f"{sum(starts.values()):,} cases"
    if has_start:
        nodes.append(
            _Node(
                _START,
                ["▶ start"],
                "",
                _esc(f"start: {case_word}"),
                "#e3f4e8",
                "#2f8f4e",
                "#1d5a31",
                kind="start",
                importance=math.inf,
            )
        )
    starts_at = dict(starts)
    ends_at = dict(ends)
    for a in kept:
        fill, border, ink = _node_colours(counts[a] / top_count)
        hover = (
            f"<b>{_esc(a)}</b><br>{counts[a]:,} events"
            f" ({counts[a] / max(events_total, 1):.1%} of all)"
        )
        if starts_at.get(a):
            hover += f"<br>starts {starts_at[a]:,} cases"
        if ends_at.get(a):
            hover += f"<br>ends {ends_at[a]:,} cases"
        nodes.append(
            _Node(
                a,
                _wrap(a, _LABEL_SIZE, _MAX_LABEL_PX),
                f"{counts[a]:,}",
                hover,
                fill,
                border,
                ink,
                importance=float(counts[a]),
            )
        )
    if has_end:
        nodes.append(
            _Node(
                _END,
                ["■ end"],
                "",
                _esc(f"end: {case_word}"),
                "#fbe7e6",
                "#b42318",
                "#7a1a12",
                kind="end",
                importance=-1.0,
            )
        )
    node_keys = {n.key for n in nodes}
    chosen = [p for p in chosen if p.source in node_keys and p.target in node_keys]

    # -- arcs
    max_freq = max([p.freq for p in chosen] + [1])
    waits = [p.wait for p in chosen if p.wait is not None and not math.isnan(p.wait)]
    max_wait = max([*waits, 0.0])
    flow_rank = sorted(
        (i for i, p in enumerate(chosen) if p.source != _START and p.target != _END),
        key=lambda i: (-chosen[i].freq, i),
    )
    # labels on the most frequent paths (as many as fit without overlapping, best first)
    n_labels = max(16, round(1.5 * len(kept)))
    important = {i for i in flow_rank[:n_labels] if chosen[i].freq >= 0.01 * max_freq}
    if len(chosen) <= 24:
        important = set(flow_rank)
    case_total = max(sum(starts.values()), 1)
    arcs: list[_Arc] = []
    for i, p in enumerate(chosen):
        marker = p.source == _START or p.target == _END
        hover = f"{_esc(p.source)} → {_esc(p.target)}<br>{p.freq:,} times"
        if p.wait is not None:
            hover += f"<br>median wait {human_duration(p.wait)}"
            if p.wait_p90 is not None:
                hover += f" · p90 {human_duration(p.wait_p90)}"
        label: str | None
        if marker:
            color, dash, label = "#a3acb6", "dot", f"{p.freq:,}"
            priority = p.freq / max_freq * 0.5 if p.freq >= 0.05 * case_total else -1.0
        elif metric == "wait":
            color, dash = _heat(p.wait, max_wait), "solid"
            label = human_duration(p.wait) if p.wait is not None else None
            priority = p.freq / max_freq + 1.0 if i in important else -1.0
        else:
            color, dash, label = "#566a85", "solid", f"{p.freq:,}"
            priority = p.freq / max_freq + 1.0 if i in important else -1.0
        arcs.append(
            _Arc(
                p.source,
                p.target,
                p.freq,
                hover,
                color,
                _edge_width(p.freq, max_freq),
                dash,
                label,
                priority,
                weight=float(p.freq),
            )
        )

    # -- caption and meta
    caption: list[str] = []
    n_all = len(counts)
    if hidden:
        covered = sum(counts[a] for a in kept)
        names = ", ".join(hidden[:6]) + (f" and {len(hidden) - 6} more" if len(hidden) > 6 else "")
        caption.append(
            f"Showing {len(kept)} of {n_all} activities ({covered / max(events_total, 1):.0%} of "
            f"events); hidden: {names}." + ("" if is_dfg else " Paths skip over hidden activities.")
        )
    if len(chosen) < total_paths:
        covered_paths = sum(p.freq for p in chosen)
        all_freq = sum(p.freq for p in candidates) or 1
        caption.append(
            f"Showing {len(chosen)} of {total_paths} paths ({covered_paths / all_freq:.0%} of "
            "transitions): every activity keeps its strongest paths in and out, then the most "
            "frequent."
        )
    if metric == "wait":
        caption.append("Labels and colours: median wait between the two activities.")
    meta: dict[str, Any] = {
        "kind": "process_map",
        "metric": metric,
        "cases": n_cases,
        "activities_total": n_all,
        "activities_shown": len(kept),
        "hidden_activities": hidden,
        "paths_total": total_paths,
        "paths_shown": len(chosen),
        "edges": [[p.source, p.target, p.freq] for p in chosen],
    }
    if not nodes:
        caption.append("No events to draw.")
    return _render(
        nodes,
        arcs,
        title=title or f"Process map ({'median wait' if metric == 'wait' else 'frequency'})",
        caption=caption,
        meta=meta,
        colorbar=_heat_bar(max_wait) if metric == "wait" and max_wait > 0 else None,
    )


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


def _stage_visits(
    log: Log,
    design: Design,
    *,
    case_id_key: str,
    activity_key: str,
    timestamp_key: str,
    seq_key: str | None,
    source_key: str,
) -> pl.DataFrame:
    """One row per stage visit: consecutive events of one case in one stage, collapsed.

    Columns ``case``, ``stage``, ``first``, ``last`` (timestamps), ``events``,
    in case order, visits in time order.
    """
    from wfmine.design import map_stages

    events = sorted_events(
        log,
        case_id_key=case_id_key,
        timestamp_key=timestamp_key,
        seq_key=seq_key,
        columns={activity_key: ACT, source_key: "__source"},
    ).collect()
    mapped = map_stages(
        events.rename({ACT: "activity", "__source": "source"}).with_columns(
            pl.col("activity").cast(pl.String), pl.col("source").cast(pl.String)
        ),
        design,
        column="__stage",
    ).filter(pl.col("__stage").is_not_null())
    new_visit = (pl.col(CASE) != pl.col(CASE).shift(1)) | (
        pl.col("__stage") != pl.col("__stage").shift(1)
    )
    return (
        mapped.with_columns(new_visit.fill_null(True).cum_sum().alias("__visit"))
        .group_by("__visit", maintain_order=True)
        .agg(
            pl.col(CASE).first().alias("case"),
            pl.col("__stage").first().alias("stage"),
            pl.col(TS).first().alias("first"),
            pl.col(TS).last().alias("last"),
            pl.len().alias("events"),
        )
        .drop("__visit")
    )


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


def stage_map(
    log: Log,
    design: Design,
    metric: Literal["frequency", "wait"] = "frequency",
    *,
    case_id_key: str = DEFAULT_CASE,
    activity_key: str = DEFAULT_ACTIVITY,
    timestamp_key: str = DEFAULT_TIMESTAMP,
    seq_key: str | None = DEFAULT_SEQ,
    source_key: str = "source",
    title: str | None = None,
) -> go.Figure:
    """Draw the process at the level of the design's stages.

    Events are mapped to stages with :func:`wfmine.design.map_stages`
    (unmapped events are left out, or form stage ``other`` with ``unmapped:
    keep``); consecutive events of a case in one stage are one visit. Each
    box is a stage with the team that owns it and its visits; stages the
    design names but no case visited are drawn faded. Each path is a move
    between stages: solid when the design allows it, dashed red when it does
    not (amber when an ``allow`` rule accepts it), dotted grey when the
    design allows it but no case took it. ``metric="wait"`` labels moves with
    the median time from the last event of one stage to the first of the next.

    >>> fig = stage_map(store.log(), load_design("design.yaml"))  # doctest: +SKIP
    """
    if metric not in ("frequency", "wait"):
        raise InputError(f"metric must be 'frequency' or 'wait', not {metric!r}")
    visits = _stage_visits(
        log,
        design,
        case_id_key=case_id_key,
        activity_key=activity_key,
        timestamp_key=timestamp_key,
        seq_key=seq_key,
        source_key=source_key,
    )
    nxt = pl.col("case").shift(-1) == pl.col("case")
    moves = (
        visits.with_columns(
            pl.col("stage").shift(-1).alias("target"),
            seconds(pl.col("first").shift(-1) - pl.col("last")).alias("wait"),
            nxt.fill_null(False).alias("__same"),
        )
        .filter(pl.col("__same"))
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
        for r in visits.group_by("stage")
        .agg(
            pl.len().alias("visits"),
            pl.col("case").n_unique().alias("cases"),
            pl.col("events").sum().alias("events"),
            seconds(pl.col("last") - pl.col("first")).median().alias("median_s"),
        )
        .iter_rows(named=True)
    }
    firsts = visits.group_by("case", maintain_order=True).agg(
        pl.col("stage").first().alias("start"), pl.col("stage").last().alias("end")
    )
    starts = _ranked(firsts.group_by("start").len().iter_rows())
    ends = _ranked(firsts.group_by("end").len().iter_rows())
    n_cases = firsts.height

    stage_ids = list(design.stage_ids) + (["other"] if "other" in per_stage else [])
    teams = sorted({s.team for s in design.stages if s.team})
    palette = {t: _TEAM_COLOURS[i % len(_TEAM_COLOURS)] for i, t in enumerate(teams)}
    nodes: list[_Node] = []
    if starts:
        nodes.append(
            _Node(
                _START,
                ["▶ start"],
                "",
                _esc(f"start: {n_cases:,} cases"),
                "#e3f4e8",
                "#2f8f4e",
                "#1d5a31",
                kind="start",
                importance=math.inf,
            )
        )
    for sid in stage_ids:
        spec = next((s for s in design.stages if s.id == sid), None)
        stats = per_stage.get(sid)
        team = spec.team if spec is not None else None
        fill, border = palette.get(team or "", _TEAM_COLOURS[-1])
        name = (spec.name if spec is not None and spec.name else sid) if sid != "other" else "other"
        lines = _wrap(name, _LABEL_SIZE, _MAX_LABEL_PX, 2)
        owner = team or ("unmapped events" if sid == "other" else "no owning team")
        if spec is not None:
            owner += f" · {spec.performer}"
        lines.append(owner)
        visits_n = int(stats["visits"]) if stats else 0
        sub = f"{visits_n:,} visits" if stats else "not visited"
        hover = f"<b>{_esc(name)}</b> (stage {_esc(sid)})<br>owner: {_esc(team or '—')}"
        if spec is not None:
            hover += f"<br>performer: {_esc(spec.performer)}"
        if stats:
            hover += (
                f"<br>{visits_n:,} visits in {int(stats['cases']):,} cases, "
                f"{int(stats['events']):,} events<br>median time in stage "
                f"{human_duration(stats['median_s'])}"
            )
        if spec is not None and spec.expected is not None:
            hover += f" (expected {human_duration(spec.expected.total_seconds())})"
        nodes.append(
            _Node(
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
        nodes.append(
            _Node(
                _END,
                ["■ end"],
                "",
                _esc(f"end: {n_cases:,} cases"),
                "#fbe7e6",
                "#b42318",
                "#7a1a12",
                kind="end",
                importance=-1.0,
            )
        )

    observed = [
        _Path(
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
    arcs: list[_Arc] = []
    verdicts: dict[str, int] = {"allowed": 0, "accepted": 0, "not allowed": 0}
    for p in observed:
        verdict = _allowed(design, p.source, p.target)
        verdicts[verdict] += p.freq
        hover = (
            f"{_esc(p.source)} → {_esc(p.target)}<br>{p.freq:,} moves<br>"
            f"median wait {human_duration(p.wait)} · p90 {human_duration(p.wait_p90)}"
            f"<br><b>{verdict} by the design</b>"
        )
        if verdict == "not allowed":
            color, dash, ink = "#d62728", "dash", "#b42318"
        elif verdict == "accepted":
            color, dash, ink = "#d18a00", "dash", "#8a5a00"
        else:
            color = _heat(p.wait, max_wait) if metric == "wait" else "#566a85"
            dash, ink = "solid", "#333"
        label = human_duration(p.wait) if metric == "wait" else f"{p.freq:,}"
        arcs.append(
            _Arc(
                p.source,
                p.target,
                p.freq,
                hover,
                color,
                _edge_width(p.freq, max_freq),
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
                _Arc(
                    a,
                    b,
                    0,
                    f"{_esc(a)} → {_esc(b)}<br>allowed by the design; no case moved so",
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
        hover = f"{n:,} cases start in {_esc(a)}" + (
            "" if ok else "<br><b>the design starts cases elsewhere</b>"
        )
        arcs.append(
            _Arc(
                _START,
                a,
                n,
                hover,
                "#a3acb6" if ok else "#d62728",
                _edge_width(n, max_freq),
                "dot" if ok else "dash",
                f"{n:,}",
                0.5 * n / max_freq,
                "#333" if ok else "#b42318",
                weight=float(n),
            )
        )
    for a, n in ends.items():
        arcs.append(
            _Arc(
                a,
                _END,
                n,
                f"{n:,} cases end (so far) in {_esc(a)}",
                "#a3acb6",
                _edge_width(n, max_freq),
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
    rank = {sid: float(i) for i, sid in enumerate(stage_ids)}
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
    return _render(
        nodes,
        arcs,
        title=title or f"Stage map: {design.name}",
        caption=caption,
        meta=meta,
        rank=rank,
        colorbar=_heat_bar(max_wait) if metric == "wait" and max_wait > 0 else None,
    )
