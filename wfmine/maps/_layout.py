"""Layered layout: which layer each box is in, its order in the layer, its x.

The steps, in the spirit of Sugiyama's layered drawing:

1. a linear order that points the heaviest flow forward (:func:`_feedback_order`);
   arcs against it are back edges (rework), drawn up the sides;
2. layers on the longest path, at most a few boxes per layer, then boxes
   slide down where that shortens heavy paths;
3. a bend point per layer a long arc passes, so it routes between boxes;
4. order inside layers by weighted barycentre sweeps and neighbour swaps,
   keeping the order with the fewest (weighted) crossings;
5. x by an exact order-preserving least-squares fit (isotonic regression),
   chains of heaviest paths pulled into straight vertical lines;
6. y: layers as bands, boxes centred in their band.

Every choice breaks ties by weight, then name, so the layout is
deterministic. :func:`layout` returns a :class:`~._model.Placement` with the
routes :func:`._routing.route` draws.
"""

from __future__ import annotations

import bisect
import itertools
import math
from collections.abc import Mapping, Sequence
from typing import Final

from wfmine.maps._model import Arc, Node, Placement
from wfmine.maps._routing import route

__all__ = ["layout"]

# in pixels (one data unit is one pixel)
_LAYER_GAP: Final = 62.0
_NODE_GAP: Final = 42.0
_DUMMY_GAP: Final = 14.0
_MARGIN: Final = 24.0
_MIN_WIDTH: Final = 600.0


def layout(
    nodes: Sequence[Node],
    arcs: Sequence[Arc],
    *,
    rank: Mapping[str, float] | None = None,
) -> Placement:
    """Place ``nodes`` in top-to-bottom layers and route ``arcs`` between them."""
    keys = [n.key for n in nodes]
    index = {k: i for i, k in enumerate(keys)}
    n_real = len(keys)
    if not n_real:
        return Placement({}, [None] * len(arcs), 2 * _MARGIN, 2 * _MARGIN)
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
    routes = route(arcs, boxes, chains, back, pts)
    return Placement(
        boxes, routes, total_w, total_h, layers={keys[i]: layer[i] for i in range(n_real)}
    )


def _feedback_order(
    keys: Sequence[str],
    arcs: Sequence[Arc],
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
