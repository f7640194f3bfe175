"""What a map is made of before it is drawn: boxes, arcs, the routes the layout gives them.

:func:`wfmine.maps.process_map` and :func:`wfmine.maps.stage_map` each turn
what the log says into :class:`Path` rows, then into :class:`Node` boxes and
:class:`Arc` arrows (text, colours, weights); :mod:`._layout` places them
(:class:`Placement`, with a :class:`Route` per arc) and :mod:`._render` draws
the plotly figure. Geometry is in pixels, y growing downwards.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Final, Literal

__all__ = ["END", "START", "Arc", "Box", "Node", "Path", "Placement", "Point", "Route", "bezier"]

#: keys (and labels) of the start and end markers
START: Final = "▶ start"
END: Final = "■ end"

Point = tuple[float, float]
#: a box as (x0, y0, x1, y1)
Box = tuple[float, float, float, float]


@dataclass
class Path:
    """A move the log shows: ``freq`` times from ``source`` to ``target``, waits in seconds."""

    source: str
    target: str
    freq: int
    wait: float | None = None
    wait_p90: float | None = None


@dataclass
class Node:
    """A box: an activity or stage, or the start or end marker."""

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
class Arc:
    """An arrow between two boxes, with its look and its weight in the layout."""

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
class Route:
    """Where an arc runs: cubic Béziers (p0, c1, c2, p3) and its arrowhead triangle."""

    segments: Sequence[tuple[Point, ...]]
    arrow: tuple[Point, Point, Point] | None
    back: bool = False

    def point(self, share: float) -> Point:
        """A point ``share`` of the way along the route (by segment, then Bézier parameter)."""
        if not self.segments:
            return (0.0, 0.0)
        pos = min(max(share, 0.0), 0.999999) * len(self.segments)
        index = int(pos)
        return bezier(self.segments[index], pos - index)


def bezier(seg: tuple[Point, ...], t: float) -> Point:
    """The point at parameter ``t`` of the cubic Bézier ``seg``."""
    (x0, y0), (x1, y1), (x2, y2), (x3, y3) = seg
    u = 1 - t
    a, b, c, d = u * u * u, 3 * u * u * t, 3 * u * t * t, t * t * t
    return (a * x0 + b * x1 + c * x2 + d * x3, a * y0 + b * y1 + c * y2 + d * y3)


@dataclass
class Placement:
    """The layout's answer: a box per node, a route per arc (None: not drawn), the size."""

    boxes: dict[str, Box]
    routes: list[Route | None]
    width: float
    height: float
    layers: dict[str, int] = field(default_factory=dict)
