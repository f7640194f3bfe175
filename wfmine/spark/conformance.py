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

Two failure types need statistics over *all* cases, not only a bucket's:
``stall`` where the design gives a stage no expected time (its limit is then
statistical, over every finished visit of the stage, per project where the
log has several: :func:`wfmine.findings.stalls.stall_limits`) and
``abandoned`` (idle until the log's end, against the limit of the stage the
case is in). They are computed once, before the buckets are judged: a first
pass per bucket returns one row per finished stage visit of its cases in
scope (stage, project, weekday duration: the embedded
:func:`wfmine.stages.stage_visits` and
:func:`wfmine.findings.stalls.visit_durations`) and its last timestamp. Those
rows stay on the executors: Spark computes, per stage and per project, the
exact quantiles a statistical limit is made of
(:func:`wfmine.findings.stalls.limit_aggregates` on Spark), and the driver
composes the limits from those few numbers with the embedded
:func:`wfmine.findings.stalls.limits_of_aggregates` -- the same code the
embedded ``stall_limits`` composes them with -- and takes the log's end as the
buckets' maximum. Limits and end reach every bucket's
:func:`failure_occurrences` (its ``limits=`` and ``log_end=``), so
:func:`failure_counts` reports every type of
:data:`wfmine.findings.failures.FAILURE_TYPES`, equal to the embedded counts
(the shared engine suite). No visit reaches the driver. (Limits per kind of
work item need event attrs the lake does not carry: docs/scale.md.)

The summary's headline figures are left to the single-machine step over
the per-case rows returned here.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any, Final

import polars as pl

from wfmine.conformance import check as embedded_check
from wfmine.design import Design
from wfmine.findings._events import PROJECT
from wfmine.findings.failures import OCCURRENCE_SCHEMA, failure_occurrences
from wfmine.findings.stalls import (
    LIMIT_AGGREGATES,
    STALL_FACTOR,
    limits_of_aggregates,
    visit_durations,
)
from wfmine.spark._engine import to_polars
from wfmine.spark.stages import STAGE_EVENT_SCHEMA, log_flags, stage_events
from wfmine.stages import UnknownKind, case_scope, stage_visits

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

__all__ = [
    "CHECK_CASE_SCHEMA",
    "check",
    "check_spark",
    "failure_counts",
    "failure_occurrences_spark",
    "stall_limits",
]

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
        pl.UInt32(): pa.int64(),
        pl.Float64(): pa.float64(),
        pl.Boolean(): pa.bool_(),
        pl.Datetime("us", "UTC"): pa.timestamp("us", tz="UTC"),
        pl.List(pl.String()): pa.list_(pa.string()),
    }
    target = pa.schema([pa.field(n, plain[d]) for n, d in schema.items()])
    return table.cast(target)


def _bucket_count(events: DataFrame) -> int:
    partitions = int(events.sparkSession.conf.get("spark.sql.shuffle.partitions") or "8")
    return max(1, partitions * _BUCKETS_PER_PARTITION)


def _bucketed(events: DataFrame) -> Any:
    """``events`` grouped by a hash bucket of the case id (a few buckets per shuffle partition)."""
    from pyspark.sql import functions as F

    buckets = _bucket_count(events)
    return events.groupBy(F.pmod(F.xxhash64("case_id"), F.lit(buckets)).alias("_bucket"))


def _partitioned(events: DataFrame) -> DataFrame:
    """``events`` with their ``_bucket`` (as :func:`_bucketed`), exchanged into partitions by it:
    grouping the result by ``_bucket`` again needs no second exchange (several passes over
    the same buckets, :func:`failure_counts`, read one persisted exchange)."""
    from pyspark.sql import functions as F

    buckets = _bucket_count(events)
    bucket = F.pmod(F.xxhash64("case_id"), F.lit(buckets))
    return events.withColumn("_bucket", bucket).repartition(buckets, "_bucket")


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


def check_spark(
    df: DataFrame,
    design: Design,
    *,
    accounts: pl.DataFrame | None = None,
    unknown_kind: UnknownKind = "human",
    staged: DataFrame | None = None,
) -> DataFrame:
    """:func:`check`'s per-case rows as a Spark DataFrame (:data:`CHECK_CASE_SCHEMA`, unordered),
    for a log whose cases are too many to collect: write it where the cluster writes."""
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

    out: DataFrame = _bucketed(events).applyInArrow(run, _ddl(CHECK_CASE_SCHEMA))
    return out


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
    out = check_spark(df, design, accounts=accounts, unknown_kind=unknown_kind, staged=staged)
    return to_polars(out, CHECK_CASE_SCHEMA).sort("case_id")


_END: Final = pl.Datetime("us", "UTC")
#: a bucket's finished visits for the stall limits (and its last timestamp, ``_end``)
_DURATIONS: Final = pl.Schema(
    {"stage": pl.String(), "scope": pl.String(), "_wdur": pl.Float64(), "_end": _END}
)


def _in_scope(table: Any, work_items: bool) -> pl.DataFrame:
    """A bucket's stage events of the cases in scope (as the findings judge them), in case order."""
    frame = _bucket_frame(table, work_items)
    in_scope, _ = case_scope(frame)
    return frame.join(in_scope, on="case_id", how="semi", maintain_order="left")


def _whole_log(
    parted: DataFrame, design: Design, work_items: bool, factor: float
) -> tuple[pl.DataFrame, dt.datetime | None]:
    """The stall limits over every case in scope, and the last timestamp of those cases.

    ``parted``: the stage events with their bucket (:func:`_partitioned`). Each
    bucket returns one row per finished stage visit of its cases in scope --
    stage, project and weekday duration (the embedded
    :func:`wfmine.findings.stalls.visit_durations` of
    :func:`wfmine.stages.stage_visits`) -- and its last timestamp. The rows
    stay on the executors: Spark computes the figures each limit is made of
    per stage and per project (:func:`_limit_aggregates`, exact
    percentiles), and the driver composes the limits from those few numbers
    with the embedded :func:`wfmine.findings.stalls.limits_of_aggregates`.
    """
    from pyspark import StorageLevel
    from pyspark.sql import functions as F

    def durations(table: Any) -> Any:
        frame = _in_scope(table, work_items)
        out = visit_durations(stage_visits(frame), design).select(
            "stage", PROJECT.alias("scope"), "_wdur", pl.lit(None, dtype=_END).alias("_end")
        )
        last = pl.DataFrame({"_end": [frame["timestamp"].max()]}, schema={"_end": _END})
        return _arrow(pl.concat([out, last], how="diagonal_relaxed"), _DURATIONS)

    rows = (
        parted.groupBy("_bucket")
        .applyInArrow(durations, _ddl(_DURATIONS))
        .persist(StorageLevel.MEMORY_AND_DISK)
    )
    try:
        end = to_polars(rows.agg(F.max("_end").alias("_end")), {"_end": _END})
        log_end = end["_end"][0] if end.height else None
        visits = rows.filter(F.col("stage").isNotNull())
        expected = [st.id for st in design.stages if st.expected is not None]
        scoped = visits.filter(~F.col("stage").isin(expected) & F.col("scope").isNotNull())
        projects = scoped.select(F.countDistinct("scope").alias("n")).first()
        several = projects is not None and int(projects["n"]) >= 2
        limits = limits_of_aggregates(
            _limit_aggregates(visits, ["stage"]),
            _limit_aggregates(scoped, ["stage", "scope"]) if several else None,
            design,
            factor=factor,
            per_project=True,
        )
    finally:
        rows.unpersist()
    return limits, log_end


def _limit_aggregates(visits: DataFrame, by: list[str]) -> pl.DataFrame:
    """:func:`wfmine.findings.stalls.limit_aggregates` on Spark: per group ``by``, the
    visits and the exact quantiles (``percentile``, linear interpolation as polars') of the
    log durations, of the slower half's (duration >= the group's median), and of the
    durations; only these rows are collected."""
    from pyspark.sql import functions as F

    log_dur = F.ln(F.greatest(F.col("_wdur"), F.lit(1.0)))
    first = visits.groupBy(*by).agg(
        F.count(F.lit(1)).alias("visits"),
        F.percentile(log_dur, [0.25, 0.75]).alias("_q"),
        F.percentile(F.col("_wdur"), [0.5, 0.9]).alias("_m"),
    )
    first = first.select(
        *by,
        "visits",
        F.col("_q")[0].alias("q1"),
        F.col("_q")[1].alias("q3"),
        F.col("_m")[0].alias("median"),
        F.col("_m")[1].alias("p90"),
    )
    slow = (
        visits.join(first.select(*by, F.col("median").alias("_med")), on=by)
        .filter(F.col("_wdur") >= F.col("_med"))
        .groupBy(*by)
        .agg(F.percentile(log_dur, [0.25, 0.75]).alias("_s"))
        .select(*by, F.col("_s")[0].alias("s1"), F.col("_s")[1].alias("s3"))
    )
    schema = {
        **{k: pl.String() for k in by},
        "visits": pl.UInt32(), "q1": pl.Float64(), "q3": pl.Float64(), "s1": pl.Float64(),
        "s3": pl.Float64(), "median": pl.Float64(), "p90": pl.Float64(),
    }  # fmt: skip
    return to_polars(first.join(slow, on=by, how="left"), schema).select(*by, *LIMIT_AGGREGATES)


def _occurrences(parted: DataFrame, design: Design, work_items: bool, factor: float) -> DataFrame:
    """Every occurrence, per bucket, against the whole log's limits and end (``parted``: as above)."""
    limits, log_end = _whole_log(parted, design, work_items, factor)
    schema = pl.Schema(OCCURRENCE_SCHEMA)

    def run(table: Any) -> Any:
        frame = _in_scope(table, work_items)
        occ = failure_occurrences(
            frame, design, stall_factor=factor, limits=limits, log_end=log_end
        )
        return _arrow(occ, schema)

    occurrences: DataFrame = parted.groupBy("_bucket").applyInArrow(run, _ddl(schema))
    return occurrences


def stall_limits(
    df: DataFrame,
    design: Design,
    *,
    accounts: pl.DataFrame | None = None,
    staged: DataFrame | None = None,
    factor: float = STALL_FACTOR,
) -> pl.DataFrame:
    """The whole log's stall limits, as :func:`failure_counts` judges stalls and abandoned cases.

    The embedded :func:`wfmine.findings.stalls.stall_limits` (``per_project=True``,
    as :func:`wfmine.findings.failures.failure_occurrences` takes it) over the
    stage visits of every case in scope, computed per bucket on Spark and
    collected to the driver (see :func:`_whole_log`).
    """
    flags = log_flags(df)
    events = (
        staged if staged is not None else stage_events(df, design, accounts=accounts, flags=flags)
    )
    limits, _ = _whole_log(_partitioned(events), design, flags["work_items"], factor)
    return limits


def failure_occurrences_spark(
    df: DataFrame,
    design: Design,
    *,
    accounts: pl.DataFrame | None = None,
    staged: DataFrame | None = None,
    stall_factor: float = STALL_FACTOR,
) -> DataFrame:
    """Every failure occurrence (:data:`wfmine.findings.failures.OCCURRENCE_SCHEMA`) as a Spark DataFrame.

    Each bucket runs the embedded :func:`failure_occurrences` on the stage
    events of its cases in scope (as the findings judge them), with the
    stall limits and the log's end of the whole log (:func:`stall_limits`,
    computed here first). The stage events are computed for that pass and
    again for the returned frame unless ``staged`` is persisted;
    :func:`failure_counts` keeps them for both.
    """
    flags = log_flags(df)
    events = (
        staged if staged is not None else stage_events(df, design, accounts=accounts, flags=flags)
    )
    return _occurrences(_partitioned(events), design, flags["work_items"], stall_factor)


def failure_counts(
    df: DataFrame,
    design: Design,
    *,
    accounts: pl.DataFrame | None = None,
    staged: DataFrame | None = None,
    stall_factor: float = STALL_FACTOR,
) -> pl.DataFrame:
    """Failure-pattern counts on Spark: per (``type``, ``stage``) ``occurrences`` and ``cases``.

    Every type of :data:`wfmine.findings.failures.FAILURE_TYPES` (the
    whole-log stall limits and log end computed first, :func:`stall_limits`);
    sorted by type, stage. :func:`failure_counts_polars` is the embedded side.
    The stage events are computed and exchanged into buckets once, kept
    (memory, then disk) for the two passes over them, and released.
    """
    from pyspark import StorageLevel
    from pyspark.sql import functions as F

    flags = log_flags(df)
    events = (
        staged if staged is not None else stage_events(df, design, accounts=accounts, flags=flags)
    )
    parted = _partitioned(events).persist(StorageLevel.MEMORY_AND_DISK)
    try:
        occ = _occurrences(parted, design, flags["work_items"], stall_factor)
        agg = occ.groupBy("type", "stage").agg(
            F.count(F.lit(1)).alias("occurrences"), F.count_distinct("case_id").alias("cases")
        )
        return to_polars(agg, OCCURRENCE_COUNT_SCHEMA).sort(["type", "stage"], nulls_last=True)
    finally:
        parted.unpersist()


def failure_counts_polars(occurrences: pl.DataFrame) -> pl.DataFrame:
    """The same counts from embedded occurrences (:func:`wfmine.findings.failures.failure_occurrences`)."""
    return (
        occurrences.group_by("type", "stage")
        .agg(
            pl.len().cast(pl.Int64).alias("occurrences"),
            pl.col("case_id").n_unique().cast(pl.Int64).alias("cases"),
        )
        .sort(["type", "stage"], nulls_last=True)
    )
