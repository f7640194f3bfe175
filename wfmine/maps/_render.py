"""Drawing a laid-out map as a plotly figure, and the colours a map uses.

:func:`render` sizes the boxes to their labels, asks :func:`._layout.layout`
where they go, then draws everything as plotly shapes and annotations in a
pixel-sized figure: arcs below the boxes (heaviest on top), each box with
its label, edge labels placed best first where they overlap no box and no
other label, the caption above the map, invisible markers that carry the
hover texts. ``fig.layout.meta["wfmine"]`` gets the boxes, layers and
caption, for programs and tests.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Final

from wfmine.maps._layout import layout
from wfmine.maps._model import END, START, Arc, Box, Node, Route
from wfmine.maps._text import (
    CAPTION_LINE,
    CAPTION_SIZE,
    EDGE_SIZE,
    FONT,
    LABEL_SIZE,
    LINE,
    SUB_LINE,
    SUB_SIZE,
    esc,
    text_px,
    wrap,
)
from wfmine.units import human_duration

if TYPE_CHECKING:
    import plotly.graph_objects as go

__all__ = [
    "edge_width",
    "end_node",
    "figure_dict",
    "heat",
    "heat_bar",
    "node_colours",
    "render",
    "start_node",
]

# box padding and the narrowest activity box, in pixels
_PAD_X: Final = 10.0
_PAD_Y: Final = 7.0
_MIN_BOX: Final = 72.0


def _size_nodes(nodes: Sequence[Node]) -> None:
    for node in nodes:
        label_w = max(text_px(line, LABEL_SIZE) for line in node.lines)
        sub_w = text_px(node.sub, SUB_SIZE) if node.sub else 0.0
        if node.kind == "activity":
            node.w = max(_MIN_BOX, max(label_w, sub_w) + 2 * _PAD_X)
            node.h = len(node.lines) * LINE + (SUB_LINE if node.sub else 0.0) + 2 * _PAD_Y
        else:
            node.w = max(label_w, sub_w) + 2 * 14.0
            node.h = 24.0 + (SUB_LINE if node.sub else 0.0)


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


def _curve_path(route: Route) -> str:
    f = _fmt
    (x, y) = route.segments[0][0]
    parts = [f"M{f(x)},{f(y)}"]
    for _, (ax, ay), (bx, by), (cx, cy) in route.segments:
        parts.append(f"C{f(ax)},{f(ay)} {f(bx)},{f(by)} {f(cx)},{f(cy)}")
    return " ".join(parts)


def _overlaps(a: Box, b: Box, pad: float = 2.0) -> bool:
    return a[0] < b[2] + pad and b[0] < a[2] + pad and a[1] < b[3] + pad and b[1] < a[3] + pad


def render(
    nodes: Sequence[Node],
    arcs: Sequence[Arc],
    *,
    title: str,
    caption: Sequence[str],
    meta: dict[str, Any],
    rank: Mapping[str, float] | None = None,
    colorbar: dict[str, Any] | None = None,
    as_dict: bool = False,
) -> go.Figure | dict[str, Any]:
    """Lay out ``nodes`` and ``arcs`` and draw them, ``caption`` above, ``meta`` in the layout.

    ``rank`` fixes the top-to-bottom order (a design's stages); ``colorbar``
    is a marker spec (see :func:`heat_bar`) drawn as a scale on the right.
    Node sizes are set here, from their labels. ``as_dict=True`` returns the
    figure as the plain ``{"data", "layout"}`` dict plotly would serialise
    (:func:`figure_dict`), without building plotly objects.
    """
    _size_nodes(nodes)
    placed = layout(nodes, arcs, rank=rank)
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
    taken: list[Box] = []
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
        label_h = len(node.lines) * LINE
        block = label_h + (SUB_LINE if node.sub else 0.0)
        top = (y0 + y1) / 2 - block / 2
        annotations.append(
            {
                "x": cx,
                "y": top + label_h / 2,
                "xref": "x",
                "yref": "y",
                "text": "<br>".join(esc(line) for line in node.lines),
                "showarrow": False,
                "font": {"size": LABEL_SIZE, "color": node.ink, "family": FONT},
                "align": "center",
            }
        )
        if node.sub:
            annotations.append(
                {
                    "x": cx,
                    "y": top + label_h + SUB_LINE / 2,
                    "xref": "x",
                    "yref": "y",
                    "text": esc(node.sub),
                    "showarrow": False,
                    "font": {"size": SUB_SIZE, "color": node.ink, "family": FONT},
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
        w = text_px(arc.label, EDGE_SIZE) + 6.0
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
                        "text": esc(arc.label),
                        "showarrow": False,
                        "font": {"size": EDGE_SIZE, "color": arc.label_color, "family": FONT},
                        "bgcolor": "rgba(255,255,255,0.88)",
                        "borderpad": 1,
                    }
                )
                break
    traces: list[dict[str, Any]] = [
        {
            "x": hover_x,
            "y": hover_y,
            "mode": "markers",
            "marker": {"size": 12, "color": "rgba(0,0,0,0)"},
            "hoverinfo": "text",
            "hovertext": hover_text,
            "name": "paths",
            "showlegend": False,
        },
        {
            "x": [(placed.boxes[n.key][0] + placed.boxes[n.key][2]) / 2 for n in nodes],
            "y": [(placed.boxes[n.key][1] + placed.boxes[n.key][3]) / 2 for n in nodes],
            "mode": "markers",
            "marker": {
                "size": [max(8.0, min(n.h, n.w)) for n in nodes],
                "symbol": "square",
                "color": "rgba(0,0,0,0)",
            },
            "hoverinfo": "text",
            "hovertext": [n.hover for n in nodes],
            "customdata": [n.key for n in nodes],
            "name": "nodes",
            "showlegend": False,
        },
    ]
    right_margin = 12
    if colorbar is not None:
        traces.append(
            {
                "x": [None],
                "y": [None],
                "mode": "markers",
                "showlegend": False,
                "hoverinfo": "skip",
                "marker": colorbar,
            }
        )
        right_margin = 96
    cap_lines = [
        line
        for text in caption
        for line in wrap(text, CAPTION_SIZE, max(placed.width - 20, 420), 4)
    ]
    top_margin = 44 + int(len(cap_lines) * CAPTION_LINE) + (6 if cap_lines else 0)
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
                "text": "<br>".join(esc(line) for line in cap_lines),
                "font": {"size": CAPTION_SIZE, "color": "#5d6b7a", "family": FONT},
            }
        )
    boxes = {k: [round(v, 1) for v in b] for k, b in placed.boxes.items()}
    meta = {**meta, "boxes": boxes, "layers": placed.layers, "caption": " ".join(caption)}
    figure_layout: dict[str, Any] = dict(
        title={
            "text": esc(title),
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
    if as_dict:
        return figure_dict(traces, figure_layout)
    import plotly.graph_objects as go

    fig = go.Figure(data=[go.Scatter(t) for t in traces])
    fig.update_layout(**figure_layout)
    return fig


# plotly's order of a layout's keys after ``update_layout(**layout)``: objects first, then
# lists of objects (an empty one is left out), then plain values, each group in the order
# given ("meta" and ``margin.pad`` are plain values)
_OBJECTS: Final = frozenset({"title", "margin", "xaxis", "yaxis", "legend", "pad", "font"})
_OBJECT_LISTS: Final = frozenset({"shapes", "annotations"})


def _sorted(value: Any) -> Any:
    """``value`` with the keys of every mapping in it in sorted order (plotly's constructors')."""
    if isinstance(value, Mapping):
        return {k: _sorted(value[k]) for k in sorted(value)}
    if isinstance(value, list | tuple):
        return [_sorted(v) for v in value]
    return value


def _updated(layout: Mapping[str, Any]) -> dict[str, Any]:
    objects = {k for k, v in layout.items() if k in _OBJECTS and isinstance(v, Mapping)}
    first = {k: _updated(layout[k]) for k in layout if k in objects}
    lists = {k: _sorted(v) for k, v in layout.items() if k in _OBJECT_LISTS and v}  # [] is unset
    rest = {k: v for k, v in layout.items() if k not in objects and k not in _OBJECT_LISTS}
    return {**first, **lists, **rest}


def figure_dict(traces: Sequence[Mapping[str, Any]], layout: Mapping[str, Any]) -> dict[str, Any]:
    """The figure ``go.Figure(data=traces).update_layout(**layout)`` serialises to
    (``fig.to_plotly_json()`` less its template), built as plain dicts without plotly.

    Each trace is a mapping of its properties with its ``type`` (default
    ``"scatter"``). The result has the same keys in the same order as plotly's,
    so the JSON a report embeds is byte for byte the one it embedded from the
    plotly figure (``tests/test_maps.py`` compares the two). Only for the
    properties wfmine draws: values are not validated.
    """
    data = [
        {**_sorted({k: v for k, v in t.items() if k != "type"}), "type": t.get("type", "scatter")}
        for t in traces
    ]
    return {"data": data, "layout": _updated(layout)}


# -- colour -------------------------------------------------------------------------------


def _blend(a: tuple[int, int, int], b: tuple[int, int, int], share: float) -> str:
    s = min(max(share, 0.0), 1.0)
    r, g, bl = (round(x + (y - x) * s) for x, y in zip(a, b, strict=True))
    return f"rgb({r},{g},{bl})"


_LIGHT: Final = (230, 239, 248)
_DARK: Final = (22, 73, 135)


def node_colours(share: float) -> tuple[str, str, str]:
    """Fill, border and ink for an activity doing ``share`` (0..1) of the busiest's work."""
    s = math.sqrt(min(max(share, 0.0), 1.0))
    fill = _blend(_LIGHT, _DARK, s)
    border = _blend((150, 175, 205), (12, 45, 90), s)
    ink = "#ffffff" if s > 0.5 else "#1d2733"
    return fill, border, ink


def heat(wait: float | None, max_wait: float) -> str:
    """Blue (short) to red (long) on a square-root scale."""
    if wait is None or max_wait <= 0 or math.isnan(wait):
        return "#8a96a3"
    share = math.sqrt(min(max(wait, 0.0) / max_wait, 1.0))
    return _blend((45, 110, 190), (205, 40, 40), share)


def heat_bar(max_wait: float) -> dict[str, Any]:
    """A colour bar (marker spec) matching :func:`heat`, ticks as durations."""
    stops = [k / 8 for k in range(9)]
    ticks = [max_wait * k / 4 for k in range(5)]
    return {
        "color": [0.0],
        "cmin": 0.0,
        "cmax": max_wait,
        "colorscale": [[s, heat(s * max_wait, max_wait)] for s in stops],
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


def edge_width(freq: int, max_freq: int) -> float:
    return 1.0 + 6.0 * math.sqrt(max(freq, 0) / max(max_freq, 1))


# -- the start and end markers --------------------------------------------------------------


def start_node(cases: int) -> Node:
    """The green "▶ start" marker of a map of ``cases`` cases."""
    return Node(
        START,
        [START],
        "",
        esc(f"start: {cases:,} cases"),
        "#e3f4e8",
        "#2f8f4e",
        "#1d5a31",
        kind="start",
        importance=math.inf,
    )


def end_node(cases: int) -> Node:
    """The red "■ end" marker of a map of ``cases`` cases."""
    return Node(
        END,
        [END],
        "",
        esc(f"end: {cases:,} cases"),
        "#fbe7e6",
        "#b42318",
        "#7a1a12",
        kind="end",
        importance=-1.0,
    )
