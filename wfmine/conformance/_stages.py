"""Prepare a flat log for conformance: order it, map events to stages, judge performer kinds.

Every checker reads the frame :func:`prepare` returns: the log sorted once by
(case, timestamp, seq, event_id) with a global position ``pos`` (so "before"
is a plain integer comparison within a case), the ``stage`` of each event, the
sanctioned ``agent`` it was performed by (if any) and the effective performer
``kind`` (``human`` / ``agent`` / null when unknown and not assumed).
:func:`stage_visits` collapses consecutive events of one stage into a visit.
"""

from __future__ import annotations

from typing import Any, Final, Literal

import polars as pl

from wfmine.design import Design, agent_keys, map_stages

__all__ = ["CASE_ORDER", "UnknownKind", "prepare", "stage_visits"]

#: the order every analysis uses; ``seq`` and ``event_id`` break timestamp ties
CASE_ORDER: Final = ("case_id", "timestamp", "seq", "event_id")
UnknownKind = Literal["human", "agent"] | None

_NEEDED: Final[dict[str, Any]] = {
    "case_id": pl.String,
    "activity": pl.String,
    "timestamp": pl.Datetime("us", "UTC"),
    "seq": pl.Int64,
    "event_id": pl.String,
    "actor_id": pl.String,
    "resource": pl.String,
    "actor_kind": pl.String,
    "team": pl.String,
    "source": pl.String,
    "object_id": pl.String,
}


def prepare(
    log: pl.DataFrame,
    design: Design,
    *,
    accounts: pl.DataFrame | None = None,
    unknown_kind: UnknownKind = "human",
) -> pl.DataFrame:
    """The log ordered, with ``pos``, ``stage``, ``agent`` and ``kind`` columns.

    ``accounts`` (``account_id``, ``actor_id``) lets registry accounts match
    resolved actors. Actors of unknown kind count as ``unknown_kind`` (a
    person unless a platform or the registry says otherwise), or are not
    judged when it is ``None``.
    """
    missing = [
        pl.lit(None, dtype=dtype).alias(name)
        for name, dtype in _NEEDED.items()
        if name not in log.columns
    ]
    df = log.with_columns(missing) if missing else log
    if df.schema["timestamp"] != _NEEDED["timestamp"]:
        df = df.with_columns(pl.col("timestamp").cast(_NEEDED["timestamp"]))
    df = df.sort(list(CASE_ORDER), nulls_last=True, maintain_order=True)
    df = df.with_columns(pl.int_range(pl.len(), dtype=pl.Int64).alias("pos"))
    df = map_stages(df, design)
    keys = agent_keys(design, accounts)
    if keys:
        agent = pl.coalesce(
            pl.col("actor_id").replace_strict(keys, default=None, return_dtype=pl.String),
            pl.col("resource").replace_strict(keys, default=None, return_dtype=pl.String),
        )
    else:
        agent = pl.lit(None, dtype=pl.String)
    df = df.with_columns(agent.alias("agent"))
    raw = pl.col("actor_kind").fill_null("unknown")
    kind = (
        pl.when(pl.col("actor_id").is_null() & pl.col("resource").is_null())
        .then(None)
        .when(pl.col("agent").is_not_null() | raw.is_in(["agent", "bot"]))
        .then(pl.lit("agent"))
        .when(raw == "human")
        .then(pl.lit("human"))
        .otherwise(pl.lit(unknown_kind, dtype=pl.String))
    )
    return df.with_columns(kind.alias("kind"))


def stage_visits(events: pl.DataFrame) -> pl.DataFrame:
    """One row per stage visit: consecutive mapped events of a case in the same stage.

    Columns: ``case_id``, ``visit`` (1-based within the case), ``stage``,
    ``start``/``last`` (first and last event time), ``end`` (the next
    visit's start, else ``last``), ``event_id``/``actor_id`` of the entering
    event, ``pos``, ``events``. Unmapped events (null or ``other``) are skipped,
    so they neither split nor create a visit.
    """
    mapped = events.filter(pl.col("stage").is_not_null() & (pl.col("stage") != "other"))
    mapped = mapped.with_columns(
        (pl.col("stage") != pl.col("stage").shift(1).over("case_id"))
        .fill_null(True)
        .cum_sum()
        .over("case_id")
        .cast(pl.Int64)
        .alias("visit")
    )
    visits = mapped.group_by("case_id", "visit", maintain_order=True).agg(
        pl.col("stage").first(),
        pl.col("timestamp").first().alias("start"),
        pl.col("timestamp").last().alias("last"),
        pl.col("event_id").first(),
        pl.col("actor_id").first(),
        pl.col("pos").first(),
        pl.len().alias("events"),
    )
    return visits.with_columns(
        pl.col("start").shift(-1).over("case_id").fill_null(pl.col("last")).alias("end")
    )
