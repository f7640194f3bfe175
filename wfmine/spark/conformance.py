"""Conformance and failure patterns on Spark: the embedded kernels, run per bucket of cases.

Conformance (flow against the design's transitions, skipped and out-of-order
stages, performers, gates, timing) and the failure detectors are many
hundreds of lines of case-local polars. They are not written a second time:
the stage events come from the Spark kernel (:func:`wfmine.spark.stages.stage_events`,
proven equal to the embedded one), are grouped into buckets by a hash of the
case id — every case wholly in one bucket — and each bucket runs the
embedded :func:`wfmine.conformance.check` or
:func:`wfmine.findings.failures.failure_occurrences` through
``groupBy(bucket).applyInArrow``. One Python call per bucket (not per case),
so the per-case overhead is that of polars.

Two facts about the *whole* log change per-case answers and are computed on
Spark first: whether any event names a performer (the stage kernel's
``performed``), and whether the log has work items at all (then a case
without one is out of scope, :func:`wfmine.stages.case_scope`). The second
reaches each bucket as a one-event placeholder case of a work-item type and
no stage (always out of scope, removed from every output).

What does not partition by case is left to the single-machine step over the
aggregates: the summary's headline figures (from the per-case rows returned
here), and the two failure types whose thresholds are statistics over all
cases — ``stall`` where the design gives a stage no expected time (its
limit is then a Tukey fence over every visit of the stage) and ``abandoned``
(idle until the log's end, judged against the usual last activities).
:func:`failure_counts` reports the five case-local types, and ``stall`` when
every stage has an expected time.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any, Final

import polars as pl

from wfmine.conformance import check as embedded_check
from wfmine.design import Design
from wfmine.findings.failures import failure_occurrences
from wfmine.spark._engine import to_polars
from wfmine.spark.stages import STAGE_EVENT_SCHEMA, log_flags, stage_events
from wfmine.stages import UnknownKind, case_scope

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

__all__ = [
    "CASE_LOCAL_FAILURES",
    "CHECK_CASE_SCHEMA",
    "case_local_failures",
    "check",
    "failure_counts",
    "failure_occurrences_spark",
]

#: failure types whose every occurrence is decided within its case
CASE_LOCAL_FAILURES: Final = ("rework_loop", "reopen", "revert", "ci_fix", "ping_pong")


def case_local_failures(design: Design) -> tuple[str, ...]:
    """The failure types :func:`failure_counts` reports for ``design``.

    ``stall`` joins :data:`CASE_LOCAL_FAILURES` when the design gives every
    stage an ``expected`` time: the stall limit is then the design's, not a
    statistic over all visits, and every stall is decided within its case.
    """
    if all(stage.expected is not None for stage in design.stages):
        return (*CASE_LOCAL_FAILURES, "stall")
    return CASE_LOCAL_FAILURES


_PLACEHOLDER: Final = "\x00wfmine:placeholder"
_BUCKETS_PER_PARTITION: Final = 2

#: columns of :func:`check`'s per-case frame (those of ``ConformanceResult.cases``)
CHECK_CASE_SCHEMA: Final = pl.Schema(
    {
        "case_id": pl.String(),
        "events": pl.Int64(),
        "visits": pl.Int64(),
        "start": pl.Datetime("us", "UTC"),
        "end": pl.Datetime("us", "UTC"),
        "duration_s": pl.Float64(),
        "variant": pl.List(pl.String()),
        "fitness": pl.Float64(),
        "flow_deviations": pl.Int64(),
        "deviations": pl.Int64(),
        "performer_deviations": pl.Int64(),
        "gate_violations": pl.Int64(),
        "timing_deviations": pl.Int64(),
        "tier": pl.String(),
        "gate_ok": pl.Boolean(),
        "open": pl.Boolean(),
    }
)

OCCURRENCE_COUNT_SCHEMA: Final = pl.Schema(
    {"type": pl.String(), "stage": pl.String(), "occurrences": pl.Int64(), "cases": pl.Int64()}
)

_DDL: Final = {
    pl.String(): "STRING",
    pl.Int64(): "BIGINT",
    pl.UInt32(): "BIGINT",
    pl.Float64(): "DOUBLE",
    pl.Boolean(): "BOOLEAN",
    pl.Datetime("us", "UTC"): "TIMESTAMP",
    pl.List(pl.String()): "ARRAY<STRING>",
}


def _ddl(schema: pl.Schema) -> str:
    return ", ".join(f"`{name}` {_DDL[dtype]}" for name, dtype in schema.items())


def _arrow(df: pl.DataFrame, schema: pl.Schema) -> Any:
    """``df`` as Arrow with the plain (not large) types Spark's Arrow reader expects."""
    import pyarrow as pa

    table = df.select(schema.names()).cast(schema).to_arrow()  # type: ignore[arg-type]
    plain = {
        pl.String(): pa.string(),
        pl.Int64(): pa.int64(),
        pl.Float64(): pa.float64(),
        pl.Boolean(): pa.bool_(),
        pl.Datetime("us", "UTC"): pa.timestamp("us", tz="UTC"),
        pl.List(pl.String()): pa.list_(pa.string()),
    }
    target = pa.schema([pa.field(n, plain[d]) for n, d in schema.items()])
    return table.cast(target)


def _bucketed(events: DataFrame) -> Any:
    """``events`` grouped by a hash bucket of the case id (a few buckets per shuffle partition)."""
    from pyspark.sql import functions as F

    spark = events.sparkSession
    partitions = int(spark.conf.get("spark.sql.shuffle.partitions") or "8")
    buckets = max(1, partitions * _BUCKETS_PER_PARTITION)
    return events.groupBy(F.pmod(F.xxhash64("case_id"), F.lit(buckets)).alias("_bucket"))


def _bucket_frame(table: Any, work_items: bool) -> pl.DataFrame:
    """A bucket's stage events as the embedded kernels expect them: typed, in case order,
    with the placeholder case carrying the whole log's "has work items"."""
    frame = pl.from_arrow(table)
    assert isinstance(frame, pl.DataFrame)
    frame = frame.select(STAGE_EVENT_SCHEMA.names()).cast(STAGE_EVENT_SCHEMA)  # type: ignore[arg-type]
    if work_items:
        placeholder = pl.DataFrame(
            {
                "case_id": [_PLACEHOLDER],
                "timestamp": [dt.datetime(1970, 1, 1, tzinfo=dt.UTC)],
                "event_id": [_PLACEHOLDER],
                "object_id": [_PLACEHOLDER],
                "object_type": ["work_item"],
                "pos": [0],
                "performed": [False],
                "sets_stage": [False],
                "moves": [False],
            }
        )
        frame = pl.concat([frame, placeholder], how="diagonal_relaxed").cast(STAGE_EVENT_SCHEMA)  # type: ignore[arg-type]
    return frame.sort("case_id", "pos")


def check(
    df: DataFrame,
    design: Design,
    *,
    accounts: pl.DataFrame | None = None,
    unknown_kind: UnknownKind = "human",
    staged: DataFrame | None = None,
) -> pl.DataFrame:
    """Per-case conformance on Spark: ``ConformanceResult.cases`` of :func:`wfmine.conformance.check`.

    One row per case in scope (``fitness``, ``flow_deviations``,
    ``performer_deviations``, ``gate_violations``, ``timing_deviations``,
    ``variant``, ``gate_ok``, ...), ordered by case, equal to the embedded
    result. ``staged`` is :func:`wfmine.spark.stages.stage_events` of ``df``
    when the caller has it.
    """
    flags = log_flags(df)
    events = (
        staged
        if staged is not None
        else stage_events(df, design, accounts=accounts, unknown_kind=unknown_kind, flags=flags)
    )
    work_items = flags["work_items"]

    def run(table: Any) -> Any:
        frame = _bucket_frame(table, work_items)
        result = embedded_check(
            frame, design, accounts=accounts, unknown_kind=unknown_kind, staged=frame
        )
        cases = result.cases.filter(pl.col("case_id") != _PLACEHOLDER)
        return _arrow(cases, CHECK_CASE_SCHEMA)

    out = _bucketed(events).applyInArrow(run, _ddl(CHECK_CASE_SCHEMA))
    return to_polars(out, CHECK_CASE_SCHEMA).sort("case_id")


def failure_occurrences_spark(
    df: DataFrame,
    design: Design,
    *,
    accounts: pl.DataFrame | None = None,
    staged: DataFrame | None = None,
) -> DataFrame:
    """The case-local failure occurrences (:func:`case_local_failures`) as a Spark DataFrame.

    Each bucket runs the embedded :func:`failure_occurrences` on the stage
    events of its cases in scope (as the findings judge them).
    """
    from wfmine.findings.failures import OCCURRENCE_SCHEMA

    flags = log_flags(df)
    events = (
        staged if staged is not None else stage_events(df, design, accounts=accounts, flags=flags)
    )
    work_items = flags["work_items"]
    schema = pl.Schema(OCCURRENCE_SCHEMA)
    types = case_local_failures(design)

    def run(table: Any) -> Any:
        frame = _bucket_frame(table, work_items)
        in_scope, _ = case_scope(frame)
        frame = frame.join(in_scope, on="case_id", how="semi", maintain_order="left")
        occ = failure_occurrences(frame, design)
        occ = occ.filter(pl.col("type").is_in(list(types)))
        return _arrow(occ, schema)

    occurrences: DataFrame = _bucketed(events).applyInArrow(run, _ddl(schema))
    return occurrences


def failure_counts(
    df: DataFrame,
    design: Design,
    *,
    accounts: pl.DataFrame | None = None,
    staged: DataFrame | None = None,
) -> pl.DataFrame:
    """Failure-pattern counts on Spark: per (``type``, ``stage``) ``occurrences`` and ``cases``.

    The case-local types (:func:`case_local_failures`: five, and ``stall`` when
    the design gives every stage an expected time); sorted by type, stage.
    """
    from pyspark.sql import functions as F

    occ = failure_occurrences_spark(df, design, accounts=accounts, staged=staged)
    agg = occ.groupBy("type", "stage").agg(
        F.count(F.lit(1)).alias("occurrences"), F.count_distinct("case_id").alias("cases")
    )
    return to_polars(agg, OCCURRENCE_COUNT_SCHEMA).sort(["type", "stage"], nulls_last=True)


def failure_counts_polars(occurrences: pl.DataFrame, design: Design) -> pl.DataFrame:
    """The same counts from embedded occurrences (what the shared test suite compares with)."""
    occ = occurrences.filter(pl.col("type").is_in(list(case_local_failures(design))))
    return (
        occ.group_by("type", "stage")
        .agg(
            pl.len().cast(pl.Int64).alias("occurrences"),
            pl.col("case_id").n_unique().cast(pl.Int64).alias("cases"),
        )
        .sort(["type", "stage"], nulls_last=True)
    )
