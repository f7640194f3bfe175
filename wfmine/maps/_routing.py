"""Routing: the curve each arc of a laid-out map follows, and its arrowhead.

Forward arcs leave a box at the bottom and enter the next at the top, through
the bend points the layout gave them; back arcs (rework) leave and enter by
the sides, so they read apart from the downward flow; a self-loop curls over
a box's top-left corner. Where several arcs meet one side, their ports are
spread in the order of where they head, so they do not cross at the box.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from typing import Final

from wfmine.maps._model import Arc, Box, Point, Route

__all__ = ["ARROW", "route"]

#: arrowhead length, in pixels
ARROW: Final = 9.0


def route(
    arcs: Sequence[Arc],
    boxes: Mapping[str, Box],
    chains: Mapping[int, list[int]],
    back: Sequence[bool],
    pts: Sequence[Point],
) -> list[Route | None]:
    """Curves for every arc: forward arcs bottom to top, back arcs side to side."""
    routes: list[Route | None] = [None] * len(arcs)
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
    port: dict[tuple[int, str], Point] = {}
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
            path = [(sx, sy)] + [pts[it] for it in chain[1:-1]] + [(tx, ty - ARROW)]
            segs = []
            for (ax, ay), (bx, by) in itertools.pairwise(path):
                k = max((by - ay) * 0.5, 8.0)
                segs.append(((ax, ay), (ax, ay + k), (bx, by - k), (bx, by)))
            arrow = ((tx, ty), (tx - ARROW * 0.55, ty - ARROW), (tx + ARROW * 0.55, ty - ARROW))
            routes[i] = Route(segs, arrow)
            continue
        (sx, sy), (tx, ty) = port[(i, "s")], port[(i, "t")]
        s_dir = -1.0 if sides[(i, "s")] == "left" else 1.0
        t_dir = -1.0 if sides[(i, "t")] == "left" else 1.0
        end = (tx + t_dir * ARROW, ty)
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
            (tx + t_dir * ARROW, ty - ARROW * 0.55),
            (tx + t_dir * ARROW, ty + ARROW * 0.55),
        )
        routes[i] = Route(segs, arrow, back=True)
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


def _self_loop(box: Box) -> Route:
    """A small loop over the top-left corner of ``box``."""
    x0, y0, _, _ = box
    start = (x0 + 12.0, y0)
    end = (x0 - ARROW, y0 + 12.0)
    seg = (start, (x0 + 12.0, y0 - 26.0), (x0 - 30.0, y0 + 12.0), end)
    arrow = (
        (x0, y0 + 12.0),
        (x0 - ARROW, y0 + 12.0 - ARROW * 0.55),
        (x0 - ARROW, y0 + 12.0 + ARROW * 0.55),
    )
    return Route([seg], arrow)
