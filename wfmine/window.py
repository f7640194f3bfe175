"""The period an analysis covers: all data, a fixed ``start``/``end``, or the last ``span``.

One window object is shared by the CLI, the notebook and the reports, so each
states the same period in the same words (:meth:`Window.describe`).

>>> parse_window("90d").describe()
'last 90 days'
>>> parse_window(None).describe()
'all data'
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from wfmine.errors import ConfigError

__all__ = ["Window", "parse_window"]

_SPAN: Final = re.compile(r"^\s*(\d+)\s*([hdw])\s*$")
_UNITS: Final = {"h": 3600, "d": 86400, "w": 604800}


@dataclass(frozen=True)
class Window:
    """The period a report covers: a fixed ``start``/``end``, or the last ``span`` before now.

    A relative window ends at the report time, or at the last event when the
    data ends earlier (an export that is not refreshed), so "90d" over an old
    export still shows its last 90 days.
    """

    start: dt.datetime | None = None
    end: dt.datetime | None = None
    span: dt.timedelta | None = None

    def resolve(
        self, now: dt.datetime, data_end: dt.datetime | None = None
    ) -> tuple[dt.datetime | None, dt.datetime | None]:
        """The concrete ``(start, end)``; ``None`` means unbounded on that side."""
        if self.span is None:
            return self.start, self.end
        end = now if data_end is None else min(now, data_end + dt.timedelta(microseconds=1))
        return end - self.span, end

    def describe(self) -> str:
        """Short text for the report header (``last 90 days``, ``2024-01-01 → 2024-03-31``)."""
        if self.span is not None:
            days = self.span.total_seconds() / 86400
            return f"last {days:g} days" if days >= 1 else f"last {self.span}"
        if self.start is None and self.end is None:
            return "all data"
        lo = self.start.strftime("%Y-%m-%d") if self.start else "…"
        hi = self.end.strftime("%Y-%m-%d") if self.end else "…"
        return f"{lo} → {hi}"


def _utc(value: Any, where: str) -> dt.datetime:
    if isinstance(value, dt.datetime):
        return value if value.tzinfo else value.replace(tzinfo=dt.UTC)
    if isinstance(value, dt.date):
        return dt.datetime(value.year, value.month, value.day, tzinfo=dt.UTC)
    if isinstance(value, str):
        try:
            return _utc(dt.datetime.fromisoformat(value.replace("Z", "+00:00")), where)
        except ValueError:
            pass
    raise ConfigError(f"{where}: expected a date or date-time (2024-01-31), got {value!r}")


def parse_window(value: Any, where: str = "window") -> Window:
    """Read a window: ``"90d"``/``"12w"``/``"48h"``, ``"all"``, a ``(start, end)`` pair or a mapping.

    >>> parse_window("90d").span
    datetime.timedelta(days=90)
    """
    if value is None or value == "all":
        return Window()
    if isinstance(value, Window):
        return value
    if isinstance(value, dt.timedelta):
        return Window(span=value)
    if isinstance(value, str):
        m = _SPAN.match(value)
        if not m or int(m.group(1)) == 0:
            raise ConfigError(f'{where}: expected "<n>h", "<n>d", "<n>w" or "all", got {value!r}')
        return Window(span=dt.timedelta(seconds=int(m.group(1)) * _UNITS[m.group(2)]))
    if isinstance(value, Mapping):
        extra = set(value) - {"start", "end"}
        if extra:
            raise ConfigError(f"{where}: unknown keys {sorted(extra)}; use start and end")
        start = _utc(value["start"], f"{where}.start") if value.get("start") is not None else None
        end = _utc(value["end"], f"{where}.end") if value.get("end") is not None else None
        if start and end and start >= end:
            raise ConfigError(f"{where}: start {start:%Y-%m-%d} is not before end {end:%Y-%m-%d}")
        return Window(start=start, end=end)
    if isinstance(value, Sequence) and len(value) == 2:
        return parse_window({"start": value[0], "end": value[1]}, where)
    raise ConfigError(f'{where}: expected a span like "90d" or start/end, got {value!r}')
