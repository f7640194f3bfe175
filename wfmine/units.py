"""How wfmine writes figures for people: one duration formatter, one count formatter.

The CLI, the process maps and the HTML report all call these, so the same
wait reads the same everywhere (a 4,320 s wait is "1.2 h" in the terminal, in
a map label and in the report).

>>> human_duration(4320)
'1.2 h'
>>> human_duration(11 * 86400)
'11 d'
>>> human_count(12345)
'12,345'
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Final

__all__ = ["DASH", "duration_unit", "human_count", "human_duration"]

#: what a missing figure reads as
DASH: Final = "–"

_UNITS: Final = ((60.0, "s", 1.0), (3600.0, "min", 60.0), (86400.0, "h", 3600.0))


def human_duration(seconds: float | int | dt.timedelta | None) -> str:
    """A duration a person reads at a glance: ``"45 s"``, ``"12 min"``, ``"3.2 h"``, ``"4.5 d"``.

    Two significant figures below ten of a unit, whole numbers above; days
    are the largest unit (weeks read worse in tables that compare waits).
    Missing or non-finite values read as a dash; negative durations keep
    their sign.

    >>> human_duration(11520.0)
    '3.2 h'
    >>> human_duration(None)
    '–'
    """
    if isinstance(seconds, dt.timedelta):
        seconds = seconds.total_seconds()
    if seconds is None or isinstance(seconds, bool):
        return DASH
    value = float(seconds)
    if not math.isfinite(value):
        return DASH
    sign = "-" if value < 0 else ""
    value = abs(value)
    for limit, unit, size in _UNITS:
        if value < limit:
            figure = value / size
            text = f"{figure:.0f}" if unit == "s" or figure >= 10 else f"{figure:.1f}"
            return f"{sign}{text} {unit}"
    days = value / 86400.0
    return f"{sign}{days:.0f} d" if days >= 10 else f"{sign}{days:.1f} d"


def duration_unit(max_seconds: float | None) -> tuple[str, float]:
    """The unit (name, seconds) to draw an axis of durations up to ``max_seconds`` in.

    >>> duration_unit(3 * 86400)
    ('days', 86400.0)
    """
    value = abs(max_seconds or 0.0)
    if value >= 2 * 86400:
        return "days", 86400.0
    if value >= 2 * 3600:
        return "hours", 3600.0
    if value >= 2 * 60:
        return "minutes", 60.0
    return "seconds", 1.0


def human_count(n: int | float | None) -> str:
    """A count with thousands separators (``12,345``); a dash when missing."""
    if n is None or (isinstance(n, float) and not math.isfinite(n)):
        return DASH
    return f"{n:,.0f}" if isinstance(n, float) else f"{n:,}"
