"""The page skeleton, its CSS and script, and the escaping helpers every section uses.

Two rules keep a report safe to open and safe to mail around:

- every piece of text that came from a source (activity names, titles,
  actor names, messages, case ids) goes through :func:`esc` before it is
  placed in HTML, and figure JSON goes through :func:`script_json`, which
  also escapes ``<``, ``>`` and ``&`` so a ``</script>`` inside a label
  cannot end the script element;
- nothing is fetched: plotly.js is embedded once, gzip-compressed and
  base64-encoded (about 2 MB instead of 4.8 MB), and unpacked in the browser
  with ``DecompressionStream``; no fonts, images or stylesheets are linked.
"""

from __future__ import annotations

import base64
import functools
import gzip
import hashlib
import html
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Final

__all__ = [
    "Charts",
    "badge",
    "bar",
    "esc",
    "fmt_duration",
    "fmt_num",
    "heat_color",
    "page",
    "script_json",
    "slug",
    "sparkline",
    "table",
]

# Keys of plotly objects whose strings are formatting instructions, not data.
_FORMAT_KEYS: Final = frozenset(
    {
        "hovertemplate",
        "texttemplate",
        "tickformat",
        "hoverformat",
        "xhoverformat",
        "yhoverformat",
        "valueformat",
        "type",
        "mode",
        "color",
        "bgcolor",
        "bordercolor",
        "fillcolor",
        "colorscale",
        "font",
        "family",
        "hoverinfo",
        "textposition",
        "orientation",
        "xref",
        "yref",
        "xaxis",
        "yaxis",
        "anchor",
        "side",
        "shape",
        "dash",
        "symbol",
        "arrangement",
        "template",
    }
)


def esc(value: object) -> str:
    """HTML-escape ``value`` (``None`` gives an empty string)."""
    if value is None:
        return ""
    return html.escape(str(value), quote=True)


def script_json(value: Any) -> str:
    """JSON text safe inside ``<script type="application/json">``.

    ``<``, ``>`` and ``&`` become ``\\u003c`` etc. (still the same JSON
    value), as do the line separators U+2028/U+2029.
    """
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return (
        text.replace("&", "\\u0026")
        .replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("\u2028", "\\u2028")
        .replace("\u2029", "\\u2029")
    )


def slug(prefix: str, value: str) -> str:
    """A stable, attribute-safe element id for ``value`` (source text never reaches an id)."""
    return f"{prefix}-{hashlib.sha1(value.encode('utf-8')).hexdigest()[:12]}"


def fmt_num(value: object, digits: int = 0) -> str:
    """A number with thousands separators (``—`` for missing values)."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    return esc(value)


def fmt_duration(seconds: object) -> str:
    """Seconds as a short duration a person reads (``3.2 d``, ``45 min``)."""
    if not isinstance(seconds, int | float) or isinstance(seconds, bool):
        return "—"
    s = float(seconds)
    if not math.isfinite(s):
        return "—"
    for unit, size in (("w", 604800.0), ("d", 86400.0), ("h", 3600.0), ("min", 60.0)):
        if abs(s) >= size * (1 if unit == "min" else 1.5):
            return f"{s / size:.1f} {unit}"
    return f"{s:.0f} s"


def badge(text: str, kind: str = "") -> str:
    """A small coloured label; ``kind`` picks the colour (``high``, ``ok``, ``rising`` …)."""
    cls = "".join(c for c in kind.lower() if c.isalnum() or c == "_")
    return f'<span class="badge b-{cls}">{esc(text)}</span>'


def bar(share: float, label: str | None = None) -> str:
    """An inline horizontal bar for a share in [0, 1]."""
    pct = max(0.0, min(1.0, share)) * 100
    text = esc(label if label is not None else f"{pct:.1f}%")
    return (
        f'<span class="bar"><span class="bar-fill" style="width:{pct:.1f}%"></span></span>'
        f'<span class="bar-label">{text}</span>'
    )


def heat_color(share: float) -> str:
    """Background colour for a heat-table cell, white (0) to deep teal (1)."""
    v = max(0.0, min(1.0, share))
    r, g, b = (round(255 - (255 - c) * v) for c in (13, 110, 110))
    return f"rgb({r},{g},{b})"


def sparkline(values: Sequence[float], *, width: int = 120, height: int = 28) -> str:
    """A tiny inline SVG line chart (no script), e.g. a pattern's weekly recurrence."""
    if not values:
        return '<span class="muted">—</span>'
    top = max(max(values), 1.0)
    n = len(values)
    step = width / max(n - 1, 1)
    pts = " ".join(
        f"{i * step:.1f},{height - 2 - (v / top) * (height - 4):.1f}" for i, v in enumerate(values)
    )
    last_x = (n - 1) * step
    last_y = height - 2 - (values[-1] / top) * (height - 4)
    title = esc(", ".join(f"{v:g}" for v in values))
    return (
        f'<svg class="spark" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
        f'role="img" aria-label="weekly counts: {title}"><title>{title}</title>'
        f'<polyline fill="none" stroke="#0d6e6e" stroke-width="1.6" points="{pts}"/>'
        f'<circle cx="{last_x:.1f}" cy="{last_y:.1f}" r="2.2" fill="#0d6e6e"/></svg>'
    )


def table(
    headers: Sequence[str],
    rows: Iterable[Sequence[str]],
    *,
    numeric: Iterable[int] = (),
    cls: str = "",
) -> str:
    """An HTML table; ``headers`` are escaped, cells are HTML already (escape them first)."""
    num = set(numeric)
    head = "".join(
        f'<th class="num">{esc(h)}</th>' if i in num else f"<th>{esc(h)}</th>"
        for i, h in enumerate(headers)
    )
    body = "".join(
        "<tr>"
        + "".join(
            f'<td class="num">{c}</td>' if i in num else f"<td>{c}</td>" for i, c in enumerate(row)
        )
        + "</tr>"
        for row in rows
    )
    return f'<table class="{esc(cls)}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


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
    ) -> str:
        """HTML for ``fig`` (a plotly ``Figure`` or a ``{"data", "layout"}`` dict).

        Every data string is escaped, unless ``escaped=True`` says the figure
        escaped its source text itself and its remaining markup (``<br>``,
        ``<b>``) is its own, as wfmine's process and stage maps do.
        """
        import plotly.io as pio

        spec = json.loads(pio.to_json(fig, validate=False)) if not isinstance(fig, dict) else fig
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
        cap = f'<p class="caption">{esc(caption)}</p>' if caption else ""
        cls = "wf-chart map" if layout.get("width") else "wf-chart"
        return (
            f'<div class="{cls}" id="{fid}" data-spec="{fid}-spec" style="min-height:{h}px">'
            f"<noscript>Charts need JavaScript.</noscript></div>{cap}"
            f'<script type="application/json" id="{fid}-spec">{data}</script>'
        )


@functools.lru_cache(maxsize=1)
def _plotly_bundle() -> str:
    """plotly.js, gzip-compressed and base64-encoded (computed once per process)."""
    from plotly.offline import get_plotlyjs

    packed = gzip.compress(get_plotlyjs().encode("utf-8"), compresslevel=9, mtime=0)
    return base64.b64encode(packed).decode("ascii")


CSS: Final = """
:root{--ink:#1d2733;--muted:#5d6b7a;--line:#dde3ea;--bg:#f6f8fa;--card:#fff;--accent:#0d6e6e;
--high:#b42318;--medium:#b54708;--low:#475467}
*{box-sizing:border-box}
body{margin:0;font:14px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;
color:var(--ink);background:var(--bg)}
header.top{background:#10263b;color:#fff;padding:22px 32px 18px}
header.top h1{margin:0;font-size:24px;font-weight:600}
header.top .sub{color:#b8c7d6;margin-top:4px}
nav.toc{background:#fff;border-bottom:1px solid var(--line);padding:8px 32px;position:sticky;top:0;z-index:5;
white-space:nowrap;overflow-x:auto}
nav.toc a{color:var(--accent);text-decoration:none;margin-right:18px;font-size:13px}
main{max-width:1280px;margin:0 auto;padding:20px 32px 60px}
section.card{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:18px 22px;
margin:0 0 18px}
section.card h2{margin:0 0 10px;font-size:18px;font-weight:600}
h3{font-size:15px;margin:18px 0 8px}
.lede{color:var(--muted);margin:-4px 0 12px}
.muted{color:var(--muted)}
.na{color:var(--muted);font-style:italic;background:var(--bg);border:1px dashed var(--line);
padding:10px 12px;border-radius:6px}
.notes{background:#fff8e6;border:1px solid #f5d48a;border-radius:8px;padding:10px 16px;margin:0 0 18px}
.kpis{display:grid;grid-template-columns:repeat(auto-fill,minmax(170px,1fr));gap:12px;margin-bottom:12px}
.kpi{border:1px solid var(--line);border-radius:8px;padding:10px 14px;background:#fbfcfd}
.kpi .v{font-size:22px;font-weight:600}
.kpi .k{color:var(--muted);font-size:12px;text-transform:uppercase;letter-spacing:.04em}
.kpi .d{font-size:12px}
.up{color:#b42318}.down{color:#067647}.flat{color:var(--muted)}
table{border-collapse:collapse;width:100%;margin:6px 0 10px;font-size:13px}
th,td{text-align:left;padding:6px 8px;border-bottom:1px solid var(--line);vertical-align:top}
th{background:var(--bg);font-weight:600;font-size:12px;color:#344054}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
tbody tr:hover{background:#f9fafb}
.badge{display:inline-block;border-radius:10px;padding:0 8px;font-size:11px;font-weight:600;
background:#eef2f6;color:#344054;white-space:nowrap}
.b-high{background:#fee4e2;color:var(--high)}.b-medium{background:#fef0c7;color:var(--medium)}
.b-low{background:#eef2f6;color:var(--low)}.b-owned,.b-declining,.b-ok{background:#dcfae6;color:#067647}
.b-unowned,.b-rising,.b-error{background:#fee4e2;color:#b42318}.b-stable{background:#eef2f6}
.bar{display:inline-block;width:140px;height:10px;background:#eef2f6;border-radius:5px;
vertical-align:middle;margin-right:8px;overflow:hidden}
.bar-fill{display:block;height:100%;background:var(--accent)}
.bar-label{font-variant-numeric:tabular-nums;font-size:12px}
.variant{font-size:12px;color:#344054}
.variant .step{display:inline-block;background:#eef5f5;border-radius:4px;padding:0 5px;margin:1px 0}
.variant .arr{color:var(--muted);margin:0 3px}
.finding{border:1px solid var(--line);border-left:4px solid var(--low);border-radius:6px;
padding:10px 14px;margin:10px 0}
.finding.sev-high{border-left-color:var(--high)}.finding.sev-medium{border-left-color:var(--medium)}
.finding .subj{font-weight:600}
dl.ev{display:grid;grid-template-columns:max-content 1fr;gap:2px 14px;margin:8px 0;font-size:12px}
dl.ev dt{color:var(--muted)}dl.ev dd{margin:0;word-break:break-word}
.cases a,a.case{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:12px;
color:var(--accent)}
.trail{margin:0 0 16px}
.trail h4{margin:14px 0 4px;font-size:13px;font-family:ui-monospace,SFMono-Regular,Menlo,monospace}
.heat-cell{display:inline-block;min-width:56px;text-align:center;border-radius:3px;padding:1px 6px;
font-variant-numeric:tabular-nums}
td .bar-label{white-space:nowrap}td:has(.bar){white-space:nowrap}
.caption{color:var(--muted);font-size:12px;margin:2px 0 10px}
.wf-chart.map{overflow-x:auto;overflow-y:hidden;max-width:100%}.wf-chart.map .svg-container{margin:0 auto}
.scope{background:#f0f6f6;border-left:3px solid var(--accent);padding:6px 10px;border-radius:4px;
color:var(--ink)}
.grid2{display:grid;grid-template-columns:1fr 1fr;gap:16px}
@media (max-width:900px){.grid2{grid-template-columns:1fr}main{padding:12px}}
footer{color:var(--muted);font-size:12px;text-align:center;padding:20px}
@media print{nav.toc{display:none}section.card{break-inside:avoid;border:none}body{background:#fff}}
"""

# Draws every figure once plotly.js is unpacked. Only data from this page is read.
_SCRIPT: Final = """
(function(){
var T={layout:{font:{family:'system-ui,-apple-system,"Segoe UI",Roboto,Arial,sans-serif',size:12,color:'#1d2733'},
paper_bgcolor:'#fff',plot_bgcolor:'#fff',colorway:['#0d6e6e','#d97706','#3b82f6','#b42318','#7c3aed','#059669','#64748b'],
margin:{l:60,r:20,t:36,b:50},xaxis:{gridcolor:'#eef2f6',zerolinecolor:'#dde3ea'},
yaxis:{gridcolor:'#eef2f6',zerolinecolor:'#dde3ea'},hoverlabel:{font:{size:12}}}};
var charts=document.querySelectorAll('.wf-chart');
function fail(msg){charts.forEach(function(d){d.textContent='Chart not drawn: '+msg;d.className+=' na';});}
function draw(){charts.forEach(function(d){
 try{var s=JSON.parse(document.getElementById(d.getAttribute('data-spec')).textContent);
  s.layout.template=T;
  window.Plotly.newPlot(d,s.data,s.layout,{displaylogo:false,responsive:true,
   modeBarButtonsToRemove:['select2d','lasso2d','sendDataToCloud']});
 }catch(e){d.textContent='Chart not drawn: '+e;}});
 document.documentElement.setAttribute('data-charts','done');}
if(!charts.length){document.documentElement.setAttribute('data-charts','done');return;}
var el=document.getElementById('wf-plotly');
if(!el){fail('chart library missing');return;}
if(!('DecompressionStream' in window)){fail('this browser cannot unpack the embedded chart library');return;}
try{
 var bin=atob(el.textContent.trim()),bytes=new Uint8Array(bin.length);
 for(var i=0;i<bin.length;i++){bytes[i]=bin.charCodeAt(i);}
 new Response(new Blob([bytes]).stream().pipeThrough(new DecompressionStream('gzip'))).text()
 .then(function(code){var s=document.createElement('script');s.text=code;document.head.appendChild(s);draw();})
 .catch(function(e){fail(String(e));});
}catch(e){fail(String(e));}
})();
"""


def page(
    *,
    title: str,
    subtitle: str,
    nav: Sequence[tuple[str, str]],
    body: str,
    charts: Charts,
    footer: str,
) -> str:
    """The whole HTML document. ``title``/``subtitle``/``footer`` are plain text; ``body`` is HTML."""
    toc = "".join(f'<a href="#{esc(anchor)}">{esc(label)}</a>' for anchor, label in nav)
    bundle = ""
    if charts.count:
        bundle = (
            '<script type="application/octet-stream" id="wf-plotly">'
            f"{_plotly_bundle()}</script><script>{_SCRIPT}</script>"
        )
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        '<meta name="generator" content="wfmine">'
        f"<title>{esc(title)}</title><style>{CSS}</style></head><body>"
        f'<header class="top"><h1>{esc(title)}</h1><div class="sub">{esc(subtitle)}</div></header>'
        f'<nav class="toc">{toc}</nav><main>{body}</main>'
        f"<footer>{esc(footer)}</footer>{bundle}</body></html>\n"
    )
