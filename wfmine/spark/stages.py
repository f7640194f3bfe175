"""The stage-visit kernel on Spark, with the semantics of :mod:`wfmine.stages`.

Which events set the stage and how a case moves are exactly those of
:func:`wfmine.stages.stage_events` (read its module docstring); this is the
same algorithm written with window functions over the case window
(``partitionBy(case_id).orderBy(timestamp, seq, event_id)``, nulls last):

- the design's mapping runs on the distinct ``(source, activity)`` pairs
  only — a few hundred rows, mapped on the driver by the embedded
  :func:`wfmine.design.map_stages` and broadcast-joined back — so stage
  mapping and the authoritative-state patterns are *the same code* on both
  engines;
- the previous authoritative stage is ``last(code, ignorenulls)`` over the
  rows before; moves back start a segment (a running sum);
- a stage entered for the first time in its segment is a new visit even
  below the furthest stage (a running "last position of each stage", so
  every step stays in the one case window: one sort per case partition);
- the furthest stage reached is the segment-local running maximum, kept in
  one case window by offsetting each segment above the earlier ones (as the
  embedded kernel does);
- ``visit`` is the running count of moves.

Global facts the kernel needs (does the log name any performer at all?) are
one aggregate before the window.

``pos`` differs on purpose: the embedded kernel numbers events across the
whole log (it is only compared within a case); here it is the event's
0-based position *within its case*, which orders a case's events the same
way without a global sort. Every other column is equal, value for value.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

import polars as pl

from wfmine.design import Design, agent_keys, map_stages, pattern_regex
from wfmine.model import LOG_SCHEMA
from wfmine.spark._engine import to_polars
from wfmine.spark.kernels import case_window
from wfmine.stages import VISIT_SCHEMA, UnknownKind
from wfmine.store import WORK_ITEM_TYPES

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

__all__ = ["STAGE_EVENT_COLUMNS", "log_flags", "stage_events", "stage_visits"]

#: the columns of :func:`stage_events`, in the embedded kernel's order
STAGE_EVENT_COLUMNS: Final = (
    *LOG_SCHEMA.names(),
    "pos",
    "stage",
    "agent",
    "kind",
    "performed",
    "sets_stage",
    "at_stage",
    "moves",
    "visit",
)

#: their polars dtypes (what :func:`stage_events_polars` casts to)
STAGE_EVENT_SCHEMA: Final = pl.Schema(
    {
        **LOG_SCHEMA,
        "pos": pl.Int64(),
        "stage": pl.String(),
        "agent": pl.String(),
        "kind": pl.String(),
        "performed": pl.Boolean(),
        "sets_stage": pl.Boolean(),
        "at_stage": pl.String(),
        "moves": pl.Boolean(),
        "visit": pl.Int64(),
    }
)


def _f() -> Any:
    from pyspark.sql import functions

    return functions


def log_flags(df: DataFrame) -> dict[str, bool]:
    """Whole-log facts the per-case kernels need: ``anyone`` (some event names a performer)
    and ``work_items`` (some event belongs to a work item)."""
    F = _f()
    row = df.agg(
        F.max((F.col("actor_id").isNotNull() | F.col("resource").isNotNull()).cast("int")).alias(
            "anyone"
        ),
        F.max(F.col("object_type").isin(*sorted(WORK_ITEM_TYPES)).cast("int")).alias("work"),
    ).collect()[0]
    return {"anyone": bool(row["anyone"] or 0), "work_items": bool(row["work"] or 0)}


def _pair_table(df: DataFrame, design: Design) -> DataFrame:
    """The distinct (source, activity) pairs with their stage, stage code and state flag."""
    F = _f()
    pairs = to_polars(df.select("source", "activity").distinct())
    pairs = pairs.select(pl.col("source").cast(pl.String), pl.col("activity").cast(pl.String)).pipe(
        map_stages, design
    )
    order = {s: i for i, s in enumerate(design.stage_ids)}
    pairs = pairs.with_columns(
        pl.col("stage").replace_strict(order, default=None, return_dtype=pl.Int64).alias("_code")
    )
    if design.state:
        rx = "^(?:" + "|".join(pattern_regex(p) for p in design.state) + ")$"
        key = pl.concat_str(
            [pl.col("source").fill_null(""), pl.lit(":"), pl.col("activity").fill_null("")]
        )
        pairs = pairs.with_columns(key.str.contains(rx).alias("_by_state"))
    else:
        pairs = pairs.with_columns(pl.lit(None, dtype=pl.Boolean).alias("_by_state"))
    spark = df.sparkSession
    rows = pairs.rename({"source": "_src", "activity": "_act"}).rows()
    table = spark.createDataFrame(
        rows, "_src STRING, _act STRING, stage STRING, _code BIGINT, _by_state BOOLEAN"
    )
    return F.broadcast(table)  # type: ignore[no-any-return]


def stage_events(
    df: DataFrame,
    design: Design,
    *,
    accounts: pl.DataFrame | None = None,
    unknown_kind: UnknownKind = "human",
    flags: dict[str, bool] | None = None,
) -> DataFrame:
    """:func:`wfmine.stages.stage_events` on Spark: a Spark DataFrame of :data:`STAGE_EVENT_COLUMNS`.

    ``flags`` (:func:`log_flags`) when the caller has computed them already.
    """
    from pyspark.sql import Window

    F = _f()
    flags = flags if flags is not None else log_flags(df)
    pairs = _pair_table(df, design)
    cond = F.col("source").eqNullSafe(F.col("_src")) & F.col("activity").eqNullSafe(F.col("_act"))
    ev = df.select(*LOG_SCHEMA.names()).join(pairs, cond, "left").drop("_src", "_act")

    keys = agent_keys(design, accounts)
    if keys:
        lookup = F.create_map(*[F.lit(x) for kv in sorted(keys.items()) for x in kv])
        agent = F.coalesce(
            F.try_element_at(lookup, F.col("actor_id")), F.try_element_at(lookup, F.col("resource"))
        )
    else:
        agent = F.lit(None).cast("string")
    raw = F.coalesce(F.col("actor_kind"), F.lit("unknown"))
    nobody = F.col("actor_id").isNull() & F.col("resource").isNull()
    kind = (
        F.when(nobody, F.lit(None).cast("string"))
        .when(F.col("agent").isNotNull() | raw.isin("agent", "bot"), F.lit("agent"))
        .when(raw == "human", F.lit("human"))
        .otherwise(F.lit(unknown_kind).cast("string"))
    )
    performed = ~nobody if flags["anyone"] else F.lit(True)
    ev = ev.withColumn("agent", agent).withColumn("kind", kind).withColumn("performed", performed)
    if design.state:
        state_flag = F.coalesce(F.col("_by_state"), F.lit(False))
    else:
        state_flag = F.coalesce(F.col("object_type").isin(*sorted(WORK_ITEM_TYPES)), F.lit(False))
    cand = F.col("_code").isNotNull() & F.col("performed")
    ev = ev.withColumn("_cand", cand).withColumn("_state", F.col("_cand") & state_flag)

    w = case_window(ev)
    whole = w.rowsBetween(Window.unboundedPreceding, Window.unboundedFollowing)
    upto = w.rowsBetween(Window.unboundedPreceding, Window.currentRow)
    before = w.rowsBetween(Window.unboundedPreceding, -1)
    ev = ev.withColumn("pos", F.row_number().over(w) - 1).withColumn(
        "_has_state", F.max(F.col("_state").cast("int")).over(whole) == 1
    )
    ev = ev.withColumn("sets_stage", F.col("_cand") & (F.col("_state") | ~F.col("_has_state")))
    previous = F.coalesce(
        F.last(F.when(F.col("sets_stage"), F.col("_code")), ignorenulls=True).over(before),
        F.lit(-1).cast("bigint"),
    )
    first = F.col("pos") == 0
    ev = ev.withColumn(
        "_back",
        F.col("sets_stage") & ~first & F.coalesce(F.col("_code") < previous, F.lit(False)),
    )
    # a stage is novel when no candidate event of it lies between the segment's start
    # and this event: one running "last position of stage k" per stage, all in the
    # same case window (no second sort by (case, segment, stage))
    seg_start = F.max(F.when(first | F.col("_back"), F.col("pos"))).over(upto)
    last_seen = [
        F.when(
            F.col("_code") == k,
            F.max(F.when(F.col("_cand") & (F.col("_code") == k), F.col("pos"))).over(before),
        )
        for k in range(len(design.stage_ids))
    ]
    seen_since = F.coalesce(*last_seen, F.lit(None).cast("bigint")) >= seg_start
    ev = ev.withColumn("_novel", F.col("sets_stage") & ~F.coalesce(seen_since, F.lit(False)))
    ev = ev.withColumn(
        "_seg", F.sum((first | F.col("_back") | F.col("_novel")).cast("bigint")).over(upto)
    )
    width = len(design.stage_ids) + 1
    offset = F.col("_seg") * F.lit(width)
    tagged = offset + F.when(F.col("_cand"), F.col("_code") + 1).otherwise(F.lit(0))
    ev = ev.withColumn("_reached", F.max(tagged).over(upto) - offset - 1)
    # the tracker changing status within its stage after other sources carried the case
    # beyond it: the case is back in the tracker's stage (wfmine.stages, "held")
    status_before = F.last(F.when(F.col("sets_stage"), F.col("activity")), ignorenulls=True).over(
        before
    )
    held = (
        F.col("sets_stage")
        & F.coalesce(F.col("_code") == previous, F.lit(False))
        & F.coalesce(~F.col("activity").eqNullSafe(status_before), F.lit(False))
        & F.coalesce(F.col("_code") < F.lag("_reached").over(w), F.lit(False))
    )
    ev = ev.withColumn(
        "_seg",
        F.sum((first | F.col("_back") | F.col("_novel") | held).cast("bigint")).over(upto),
    )
    ev = ev.withColumn("_reached", F.max(tagged).over(upto) - offset - 1)
    names = F.array(*[F.lit(s) for s in design.stage_ids])
    ev = ev.withColumn(
        "at_stage",
        F.when(
            F.col("_reached") >= 0, F.try_element_at(names, (F.col("_reached") + 1).cast("int"))
        ),
    )
    at = F.col("at_stage")
    prev_at = F.lag(at).over(w)
    ev = ev.withColumn("moves", at.isNotNull() & (first | prev_at.isNull() | (at != prev_at)))
    ev = ev.withColumn(
        "visit", F.when(at.isNotNull(), F.sum(F.col("moves").cast("bigint")).over(upto))
    )
    return ev.select(*STAGE_EVENT_COLUMNS)


def stage_visits_spark(events: DataFrame) -> DataFrame:
    """:func:`wfmine.stages.stage_visits` as a Spark DataFrame (``pos``: see the module docstring)."""
    from pyspark.sql import Window

    F = _f()
    inside = events.filter(F.col("visit").isNotNull())
    own = F.coalesce(F.col("stage") == F.col("at_stage"), F.lit(False))
    mapped = F.col("stage").isNotNull() & (F.col("stage") != "other")
    visits = inside.groupBy("case_id", "visit").agg(
        F.min_by("at_stage", "pos").alias("stage"),
        F.min_by("timestamp", "pos").alias("start"),
        F.max(F.when(own, F.col("timestamp"))).alias("last"),
        F.min_by("event_id", "pos").alias("event_id"),
        F.min_by("actor_id", "pos").alias("actor_id"),
        F.min("pos").alias("pos"),
        F.sum(F.coalesce(mapped, F.lit(False)).cast("bigint")).alias("events"),
    )
    visits = visits.withColumn("last", F.coalesce(F.col("last"), F.col("start")))
    nxt = F.lead("start").over(Window.partitionBy("case_id").orderBy("visit"))
    visits = visits.withColumn("end", F.coalesce(nxt, F.col("last")))
    return visits.select(*VISIT_SCHEMA.names())


def stage_visits(events: DataFrame) -> pl.DataFrame:
    """The stage visits (:data:`wfmine.stages.VISIT_SCHEMA`), collected, in case order."""
    out = to_polars(stage_visits_spark(events), VISIT_SCHEMA)
    return out.sort("case_id", "visit")


def stage_events_polars(events: DataFrame) -> pl.DataFrame:
    """Collect :func:`stage_events` (for tests and small logs), in case order."""
    out = to_polars(events, STAGE_EVENT_SCHEMA)
    return out.sort("case_id", "pos")
