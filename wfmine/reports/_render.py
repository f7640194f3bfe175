"""Jinja2 rendering for reports: one environment with autoescape, the filters, the page.

Every template lives in ``wfmine/reports/templates`` and is rendered with
autoescape on, so any text that came from a source (activity names, titles,
actor names, messages, case ids) is escaped where it is placed. Python code
never builds HTML from source text by hand: the few fragments it builds
(case links, embedded charts) go through :class:`markupsafe.Markup.format`,
which escapes its arguments.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import math
import os
from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup

from wfmine.units import DASH, human_count, human_duration

__all__ = ["asset", "environment", "render", "slug", "user_cache"]


def slug(prefix: str, value: str) -> str:
    """A stable, attribute-safe element id for ``value`` (source text never reaches an id)."""
    return f"{prefix}-{hashlib.sha1(value.encode('utf-8')).hexdigest()[:12]}"


def _num(value: object, digits: int = 0) -> str:
    if value is None or isinstance(value, bool):
        return DASH if value is None else ("yes" if value else "no")
    if isinstance(value, float):
        if not math.isfinite(value):
            return DASH
        return f"{value:,.{digits}f}" if digits else human_count(round(value))
    if isinstance(value, int):
        return human_count(value)
    return str(value)


def _pct(value: object, digits: int = 0) -> str:
    if not isinstance(value, int | float) or isinstance(value, bool) or not math.isfinite(value):
        return DASH
    return f"{value * 100:.{digits}f}%"


def _dur(value: object) -> str:
    if isinstance(value, int | float | dt.timedelta) and not isinstance(value, bool):
        return human_duration(value)
    return DASH


def _date(value: object) -> str:
    if isinstance(value, dt.datetime | dt.date):
        return value.strftime("%Y-%m-%d")
    if isinstance(value, str) and value:
        return value[:10]
    return DASH


def _when(value: object) -> str:
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, str) and value:
        return value[:16].replace("T", " ")
    return DASH


def _heat(share: object) -> str:
    """Background colour for a heat-table cell, white (0) to deep teal (1)."""
    v = float(share) if isinstance(share, int | float) else 0.0
    v = max(0.0, min(1.0, v))
    r, g, b = (round(255 - (255 - c) * v) for c in (13, 110, 110))
    return f"rgb({r},{g},{b})"


def _spark(values: Sequence[float], width: int = 120, height: int = 28) -> Markup:
    """A tiny inline SVG line chart of numbers (no source text reaches it)."""
    vals = [float(v) for v in values if isinstance(v, int | float)]
    if not vals:
        return Markup('<span class="muted">{}</span>').format(DASH)
    top = max(max(vals), 1e-9)
    step = width / max(len(vals) - 1, 1)
    pts = [(i * step, height - 2 - (v / top) * (height - 4)) for i, v in enumerate(vals)]
    line = " ".join(f"{x:.1f},{y:.1f}" for x, y in pts)
    label = ", ".join(f"{v:g}" for v in vals)
    return Markup(
        '<svg class="spark" width="{w}" height="{h}" viewBox="0 0 {w} {h}" role="img" '
        'aria-label="{label}"><title>{label}</title>'
        '<polyline fill="none" stroke="#0d6e6e" stroke-width="1.6" points="{line}"/>'
        '<circle cx="{x:.1f}" cy="{y:.1f}" r="2.2" fill="#0d6e6e"/></svg>'
    ).format(w=width, h=height, label=label, line=line, x=pts[-1][0], y=pts[-1][1])


def _words(value: object) -> str:
    """A field name as words (``wait_median_s`` → ``wait median``) — for names we own."""
    text = str(value or "")
    for suffix in ("_s", "_seconds"):
        if text.endswith(suffix):
            text = text[: -len(suffix)]
    return text.replace("_", " ")


def user_cache() -> Path | None:
    """wfmine's cache folder (``$WFMINE_CACHE_DIR``, else ``$XDG_CACHE_HOME/wfmine`` or
    ``~/.cache/wfmine``), made if needed; ``None`` when it cannot be written.

    It holds only what is derived from wfmine's own files and the installed
    packages (compiled templates, the packed plotly.js), each keyed by what it
    was made from: a report never depends on it, it is only made sooner.
    """
    base = os.environ.get("WFMINE_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"),
        "wfmine",
    )
    path = Path(base)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    return path if os.access(path, os.W_OK) else None


@functools.lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    """The report's Jinja2 environment (autoescape on, undefined names are errors).

    Compiled templates are kept in :func:`user_cache` (Jinja's bytecode cache,
    keyed by each template's name and source), so a report in a new process
    does not compile its templates again.
    """
    cache = user_cache()
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("wfmine.reports", "templates"),
        bytecode_cache=(
            jinja2.FileSystemBytecodeCache(str(cache), "__wfmine_jinja2_%s.cache")
            if cache is not None
            else None
        ),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
        extensions=["jinja2.ext.do"],
    )
    env.filters.update(
        num=_num, pct=_pct, dur=_dur, date=_date, when=_when, heat=_heat, spark=_spark,
        words=_words, slug=slug,
    )  # fmt: skip
    return env


@functools.lru_cache(maxsize=4)
def asset(name: str) -> Markup:
    """A static file of the templates folder (the page's CSS and script), as trusted markup."""
    text = resources.files("wfmine.reports").joinpath("templates", name).read_text("utf-8")
    return Markup(text)  # our own file, shipped with the package


def render(template: str, **values: Any) -> Markup:
    """Render ``template`` (a name under ``templates/``) with ``values``."""
    return Markup(environment().get_template(template).render(**values))
