"""Constants, the :class:`InferredDesign` result and the small text helpers of the inference."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Final

import polars as pl

from wfmine.design import Design
from wfmine.errors import InputError
from wfmine.model import LOG_SCHEMA

#: a status left this quickly for the same next status is an automation hop, not a step
PASS_THROUGH_S: Final = 120.0
#: an event followed this soon by a tracker move, nearly every time, triggers the move
TRIGGER_S: Final = 300.0
#: conversation, not steps: never mapped onto a stage
CHAT_SOURCES: Final = ("slack", "email")
_CREATED: Final = "Issue created"
_STATUS: Final = "Status: "
_LEVELS: Final = ("none", "agent_review", "human_approval", "two_humans")
_TIER_OF_LEVEL: Final = ("reversible", "reversible", "irreversible", "high_stakes")
#: the default tier is the weakest approval this share of the other work ships on; a
#: component or label needs twice that share (and a significant difference) to be stricter
_DEFAULT_Q: Final = 0.15


@dataclass(frozen=True)
class InferredDesign:
    """A drafted design: the YAML text (a comment on every line) and what it rests on.

    ``design`` is the text loaded with :func:`wfmine.design.load_design_text`;
    ``statuses`` (``status, stage, cases, dwell_median_s, next, next_share,
    grouped``), ``activities`` (``key, stage, events, share, rule``),
    ``transitions`` (``from, to, cases, share, kept``), ``gate`` (per criterion
    the practised requirement), ``seams`` and ``agents`` are the structured
    draft behind the lines.
    """

    text: str
    design: Design
    statuses: pl.DataFrame
    activities: pl.DataFrame
    transitions: pl.DataFrame
    stages: pl.DataFrame
    gate: pl.DataFrame
    seams: pl.DataFrame
    agents: pl.DataFrame
    notes: list[str] = field(default_factory=list)


# -- helpers ------------------------------------------------------------------------------


def _q(value: str) -> str:
    """A YAML scalar for ``value``: a JSON string is a valid double-quoted YAML scalar."""
    return json.dumps(value, ensure_ascii=False)


def _slug(name: str) -> str:
    s = re.sub(r"[^0-9a-z]+", "_", name.lower()).strip("_")
    return s or "stage"


def _dur(seconds: float) -> str:
    """A design duration (``30m``, ``4h``, ``2d``, ``1w``) at or above ``seconds``."""
    if seconds <= 3600:
        return f"{max(1, int(-(-seconds // 60)))}m"
    if seconds <= 2 * 86400:
        return f"{int(-(-seconds // 3600))}h"
    days = int(-(-seconds // 86400))
    return f"{days // 7}w" if days % 7 == 0 and days >= 7 else f"{days}d"


def _human(seconds: float | None) -> str:
    if seconds is None:
        return "n/a"
    if seconds < 120:
        return f"{seconds:.0f}s"
    if seconds < 7200:
        return f"{seconds / 60:.0f}m"
    if seconds < 2 * 86400:
        return f"{seconds / 3600:.1f}h"
    return f"{seconds / 86400:.1f}d"


def _pct(x: float) -> str:
    return f"{x:.0%}"


def _conform(log: pl.DataFrame) -> pl.DataFrame:
    missing = [c for c in ("case_id", "activity", "timestamp") if c not in log.columns]
    if missing:
        raise InputError(f"the log lacks the columns {missing} (see wfmine.model.LOG_SCHEMA)")
    cols = [
        pl.col(n).cast(t) if n in log.columns else pl.lit(None, dtype=t).alias(n)
        for n, t in LOG_SCHEMA.items()
    ]
    return log.select(cols)


class _Lines:
    """YAML lines, each with its comment, aligned when rendered."""

    def __init__(self) -> None:
        self.rows: list[tuple[str, str]] = []

    def add(self, text: str, comment: str) -> None:
        self.rows.append((text, comment.replace("\n", " ")))

    def render(self) -> str:
        width = min(56, max((len(t) for t, _ in self.rows), default=0)) + 2
        out = []
        for text, comment in self.rows:
            if not text:
                out.append(f"# {comment}")
            else:
                out.append(f"{text.ljust(width)}  # {comment}")
        return "\n".join(out) + "\n"
