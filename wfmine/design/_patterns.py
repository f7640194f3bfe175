"""Activity patterns and durations as a design file writes them.

``"<source>:<activity glob>"`` patterns become regular expressions valid in
both Python's ``re`` and polars' (Rust) engine; ``"2w"``-style durations
become :class:`datetime.timedelta`.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Final

__all__ = [
    "PATTERN_SOURCES",
    "as_list",
    "check_pattern",
    "glob_regex",
    "parse_duration",
    "pattern_regex",
]

#: sources a pattern may name (a glob such as ``*`` matches any of them)
PATTERN_SOURCES: Final = ("jira", "github", "slack", "email", "xes", "ocel", "csv", "parquet")

_UNITS: Final = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_DURATION: Final = re.compile(r"(\d+(?:\.\d+)?)\s*([smhdw])")


def parse_duration(value: object) -> dt.timedelta:
    """Read a duration such as ``"30m"``, ``"4h"``, ``"2d"``, ``"1w"`` or ``"1d12h"``.

    A bare number is seconds. Raises ``ValueError`` with the accepted forms.

    >>> parse_duration("1d12h")
    datetime.timedelta(days=1, seconds=43200)
    """
    if isinstance(value, dt.timedelta):
        return value
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a duration like 30m, 4h, 2d, 1w")
    if isinstance(value, int | float):
        return dt.timedelta(seconds=float(value))
    if isinstance(value, str):
        text = value.strip().lower()
        parts = _DURATION.findall(text)
        if parts and _DURATION.sub("", text).strip() == "":
            return dt.timedelta(seconds=sum(float(n) * _UNITS[u] for n, u in parts))
    raise ValueError(f"{value!r} is not a duration like 30m, 4h, 2d, 1w")


def glob_regex(glob: str, *, paths: bool = False) -> str:
    """Translate a glob into an anchored-free regular expression body.

    ``*`` matches any text (with ``paths=True`` any text without ``/``, and
    ``**`` crosses folders), ``?`` one character, ``[abc]`` a class.
    Everything else is literal, so activity names with dots or brackets in
    patterns need no escaping beyond ``[``.

    Not :func:`fnmatch.translate`: its output uses Python-only syntax
    (``(?s:…)\\Z``) that polars' Rust regex engine rejects, and it has no
    ``**`` for paths; this body is valid in both engines.

    >>> import re
    >>> bool(re.fullmatch(glob_regex("infra/prod/**", paths=True), "infra/prod/db/main.tf"))
    True
    """
    out: list[str] = []
    i = 0
    while i < len(glob):
        ch = glob[i]
        if ch == "*":
            if paths and glob[i : i + 2] == "**":
                out.append(".*")
                i += 2
                if glob[i : i + 1] == "/":
                    # "a/**/b" also matches "a/b"
                    out[-1] = "(?:.*/)?"
                    i += 1
                continue
            out.append("[^/]*" if paths else ".*")
        elif ch == "?":
            out.append("[^/]" if paths else ".")
        elif ch == "[":
            end = glob.find("]", i + 1)
            if end == -1:
                out.append(re.escape(ch))
            else:
                body = glob[i + 1 : end]
                if body.startswith("!"):
                    body = "^" + body[1:]
                out.append("[" + body.replace("\\", "\\\\") + "]")
                i = end
        else:
            out.append(re.escape(ch))
        i += 1
    return "".join(out)


def pattern_regex(pattern: str) -> str:
    """The regular expression (unanchored) matching ``source:activity`` keys for ``pattern``."""
    source, _, activity = pattern.partition(":")
    src = glob_regex(source).replace(".*", "[^:]*").replace(".", "[^:]")
    return f"(?:{src}):(?:{glob_regex(activity)})"


def check_pattern(value: str) -> str:
    source, sep, activity = value.partition(":")
    if not sep or not activity:
        raise ValueError(f"activity pattern {value!r} must be '<source>:<activity glob>'")
    if not any(re.fullmatch(glob_regex(source), s) for s in PATTERN_SOURCES):
        raise ValueError(
            f"activity pattern {value!r} names no known source "
            f"(one of {', '.join(PATTERN_SOURCES)}, or a glob such as '*')"
        )
    return value


def as_list(value: object) -> object:
    return [value] if isinstance(value, str) else value
