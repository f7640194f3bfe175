"""Charts in a report: plotly figures embedded as escaped JSON, drawn by the page's script.

Two rules keep a report safe to open and safe to mail around:

- every data string of a figure (labels, names, categories, hover text) is
  HTML-escaped, and the figure JSON goes through :func:`script_json`, which
  also escapes ``<``, ``>`` and ``&`` so a ``</script>`` inside a label
  cannot end the script element;
- nothing is fetched: plotly.js is embedded once, gzip-compressed and
  base64-encoded (about 2 MB instead of 4.8 MB), and unpacked in the browser
  with ``DecompressionStream``.

Duration axes are drawn in the unit :func:`wfmine.units.duration_unit` picks
(hours, days), never in raw seconds.
"""

from __future__ import annotations

import base64
import functools
import gzip
import html
import json
import math
import os
from collections.abc import Mapping, Sequence
from typing import Any, Final

from markupsafe import Markup

from wfmine.units import duration_unit

__all__ = ["Charts", "duration_axis", "plotly_bundle", "script_json"]

# Keys of plotly objects whose strings are formatting instructions, not data.
_FORMAT_KEYS: Final = frozenset(
    {"hovertemplate", "texttemplate", "tickformat", "hoverformat", "xhoverformat",
     "yhoverformat", "valueformat", "type", "mode", "color", "bgcolor", "bordercolor",
     "fillcolor", "colorscale", "font", "family", "hoverinfo", "textposition", "orientation",
     "xref", "yref", "xaxis", "yaxis", "anchor", "side", "shape", "dash", "symbol",
     "arrangement", "template", "ticksuffix", "automargin", "fixedrange"}
)  # fmt: skip


def script_json(value: Any) -> str:
    """JSON safe to place inside ``<script type="application/json">``.

    ``<``, ``>`` and ``&`` become ``\\u003c`` … so no source text can close
    the element or start a comment; so do the line separators U+2028/U+2029.
    """
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return (
        text.replace("&", "\\u0026")
        .replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("\u2028", "\\u2028")
        .replace("\u2029", "\\u2029")
    )


def duration_axis(seconds: Sequence[float | None]) -> tuple[list[float | None], str]:
    """Durations in seconds as values in one human unit, and that unit's name (``"days"``).

    >>> duration_axis([3600.0, 7 * 86400.0])
    ([0.041666666666666664, 7.0], 'days')
    """
    finite = [abs(s) for s in seconds if s is not None and math.isfinite(s)]
    unit, size = duration_unit(max(finite) if finite else 0.0)
    return [None if s is None or not math.isfinite(s) else s / size for s in seconds], unit


def _clean_figure(value: Any, key: str = "") -> Any:
    """Escape every data string of a figure (labels, names, categories, hover text)."""
    if isinstance(value, str):
        return value if key in _FORMAT_KEYS else html.escape(value, quote=False)
    if isinstance(value, Mapping):
        return {str(k): _clean_figure(v, str(k)) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean_figure(v, key) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _finite(value: Any) -> Any:
    """``value`` with non-finite floats as ``None`` (JSON has no NaN)."""
    if isinstance(value, Mapping):
        return {str(k): _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


class Charts:
    """Collects the plotly figures of one report and embeds them as JSON data blocks.

    Each figure becomes a ``<div class="wf-chart">`` plus a
    ``<script type="application/json">`` holding its escaped spec; the page's
    script draws them all once plotly.js is unpacked. The default template is
    dropped from every figure (it would add ~10 kB each) and replaced by one
    small shared template in the page script.
    """

    def __init__(self, max_bytes: int = 1_500_000) -> None:
        self.count = 0
        self.max_bytes = max_bytes

    def embed(
        self, fig: Any, *, height: int | None = None, caption: str = "", escaped: bool = False
    ) -> Markup:
        """HTML for ``fig`` (a plotly ``Figure`` or a ``{"data", "layout"}`` dict).

        Every data string is escaped, unless ``escaped=True`` says the figure
        escaped its source text itself and its remaining markup (``<br>``,
        ``<b>``) is its own, as wfmine's process and stage maps do.
        """
        if isinstance(fig, dict):
            spec = fig
        else:  # a plotly figure: plotly is imported only for it
            import plotly.io as pio

            spec = json.loads(pio.to_json(fig, validate=False))
        layout = dict(spec.get("layout") or {})
        layout.pop("template", None)
        if height is not None:
            layout["height"] = height
        if escaped:
            clean = {"data": _finite(spec.get("data") or []), "layout": _finite(layout)}
        else:
            clean = {"data": _clean_figure(spec.get("data") or []), "layout": _clean_figure(layout)}
        data = script_json(clean)
        if len(data) > self.max_bytes:
            raise ValueError(
                f"figure too large to embed ({len(data):,} bytes > {self.max_bytes:,}); "
                "filter the log to fewer activities"
            )
        self.count += 1
        fid = f"wf-fig-{self.count}"
        h = int(layout.get("height") or 360)
        cls = "wf-chart map" if layout.get("width") else "wf-chart"
        cap = Markup('<p class="caption">{}</p>').format(caption) if caption else Markup("")
        if cls.endswith("map"):
            cap = (
                Markup('<p class="caption map-hint">Scroll sideways to see the whole map.</p>')
                + cap
            )
        # data is escaped JSON (script_json): it cannot leave its script element
        return Markup(
            '<div class="{cls}" id="{fid}" data-spec="{fid}-spec" style="min-height:{h}px">'
            "<noscript>Charts need JavaScript.</noscript></div>{cap}"
            '<script type="application/json" id="{fid}-spec">'
        ).format(cls=cls, fid=fid, h=h, cap=cap) + Markup(data + "</script>")


@functools.lru_cache(maxsize=1)
def plotly_bundle() -> str:
    """plotly.js, gzip-compressed and base64-encoded (computed once per process).

    Packing 4.8 MB at gzip level 9 takes a fifth of a second, so the packed
    text is also kept in :func:`wfmine.reports._render.user_cache`, keyed by
    the size and modification time of the installed ``plotly.min.js``: the
    same bytes as packing it again.
    """
    import importlib.util
    from pathlib import Path

    from wfmine.reports._render import user_cache

    spec = importlib.util.find_spec("plotly")
    source = (
        Path(spec.origin).parent / "package_data" / "plotly.min.js"
        if spec is not None and spec.origin
        else None
    )
    cached: Path | None = None
    cache = user_cache()
    if cache is not None and source is not None and source.is_file():
        st = source.stat()
        cached = cache / f"plotly-{st.st_size}-{st.st_mtime_ns}.gz.b64"
        try:
            return cached.read_text("ascii")
        except OSError:
            pass
    from plotly.offline import get_plotlyjs

    packed = gzip.compress(get_plotlyjs().encode("utf-8"), compresslevel=9, mtime=0)
    text = base64.b64encode(packed).decode("ascii")
    if cached is not None:
        try:  # written whole, then renamed: a reader never sees half of it
            partial = cached.with_suffix(f".{os.getpid()}.part")
            partial.write_text(text, "ascii")
            partial.replace(cached)
        except OSError:
            pass
    return text
