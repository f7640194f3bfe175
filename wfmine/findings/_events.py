"""The stage-event frame every detector reads, with or without a design.

With a design it is :func:`wfmine.stages.stage_events` (the one stage-visit
kernel); without one, the same columns with no stage, so the detectors that
need no design (reverts, CI-fix cycles, ping-pong, automation) read one
frame shape either way.
"""

from __future__ import annotations

from typing import Final

import polars as pl

from wfmine.design import Design
from wfmine.model import LOG_SCHEMA
from wfmine.stages import CASE_ORDER, in_case_order, stage_events

__all__ = ["MAPPED", "PROJECT", "performed", "stage_context", "staged_events"]

#: an event the design maps onto one of its stages (``other`` is unmapped activity)
MAPPED: Final = pl.col("stage").is_not_null() & (pl.col("stage") != "other")
#: the project a case id names (``SHOP`` of ``jira:SHOP-12``), null where it names none
PROJECT: Final = pl.col("case_id").str.extract(r"^jira:([A-Z][A-Z0-9_]*)-\d+$", 1)


def stage_context() -> pl.Expr:
    """The stage an event belongs to: its own mapped stage, else where the case is (``at_stage``)."""
    return pl.when(MAPPED).then(pl.col("stage")).otherwise(pl.col("at_stage"))


def performed(events: pl.DataFrame) -> pl.Expr:
    """True for events someone performed (every event when the log names no actor at all)."""
    if "performed" in events.columns:
        return pl.col("performed").fill_null(False)
    return pl.lit(True)


def staged_events(
    log: pl.DataFrame, design: Design | None, *, accounts: pl.DataFrame | None = None
) -> pl.DataFrame:
    """``stage_events(log, design)``, or its columns with no stage when there is no design."""
    if design is not None:
        return stage_events(log, design, accounts=accounts)
    missing = [
        pl.lit(None, dtype=dtype).alias(name)
        for name, dtype in LOG_SCHEMA.items()
        if name not in log.columns
    ]
    df = (log.with_columns(missing) if missing else log).select(LOG_SCHEMA.names())
    df = df.cast(dict(LOG_SCHEMA))  # type: ignore[arg-type]
    if not in_case_order(df):
        df = df.sort(list(CASE_ORDER), nulls_last=True, maintain_order=True)
    nobody = pl.col("actor_id").is_null() & pl.col("resource").is_null()
    anyone = bool(df.height) and not bool(df.select(nobody.all()).item())
    raw = pl.col("actor_kind").fill_null("unknown")
    kind = (
        pl.when(nobody)
        .then(None)
        .when(raw.is_in(["agent", "bot"]))
        .then(pl.lit("agent"))
        .otherwise(pl.lit("human"))
    )
    none = pl.lit(None, dtype=pl.String)
    return df.with_columns(
        pl.int_range(pl.len(), dtype=pl.Int64).alias("pos"),
        none.alias("stage"),
        none.alias("agent"),
        kind.alias("kind"),
        (~nobody if anyone else pl.lit(True)).alias("performed"),
        pl.lit(False).alias("sets_stage"),
        pl.lit(False).alias("moves"),
        none.alias("at_stage"),
        pl.lit(None, dtype=pl.Int64).alias("visit"),
    )
