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
(the shared engine suite). No visit reaches the driver.

Limits per kind of work item (issue type, priority: where one stage's kinds
have usual times far apart) travel the same way. The lake's ``kinds`` table
(per case its kind, :func:`wfmine.lake.read_kinds`) is exchanged into the
same buckets as the stage events and cogrouped with them, so each bucket
knows its own cases' kinds. The first pass returns each visit with its
case's kind; Spark aggregates the visits per (stage, scope, attribute,
value) on the executors (:func:`wfmine.findings.stalls.kind_aggregates`:
count, exact quartiles and median, mean, sum of squares), the driver decides
which kinds split (:func:`wfmine.findings.stalls.kind_groups`, over those
few rows), Spark computes each group's limit figures from its visits (a
join with the broadcast groups) and the driver composes the rows
(:func:`wfmine.findings.stalls.kind_rows`). The small table (stage, scope,
attribute, value) -> group -> limit reaches every bucket with its task, and
each bucket joins it with its own cases' kinds
(:func:`wfmine.findings.stalls.kind_limits`): no list of cases is built
anywhere but in the bucket that judges them.

The summary's headline figures are left to the single-machine step over
the per-case rows returned here.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

import polars as pl

from wfmine.conformance import check as embedded_check
from wfmine.design import Design
from wfmine.findings._events import PROJECT
from wfmine.findings.failures import OCCURRENCE_SCHEMA, failure_occurrences
from wfmine.findings.stalls import (
    KIND_AGGREGATES,
    KIND_GROUP_KEY,
    KIND_GROUP_SCHEMA,
    KIND_KEY,
    LIMIT_AGGREGATES,
    STALL_FACTOR,
    kind_groups,
    kind_limits,
    kind_rows,
    limits_of_aggregates,
    visit_durations,
    with_kind_limits,
)
from wfmine.model import KIND_ATTRIBUTES, KIND_SCHEMA, case_kinds
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
#: a bucket's finished visits for the stall limits, with their case's kind, and (one row of
#: nulls but these) its last timestamp ``_end`` and whether any of its cases has a kind
_DURATIONS: Final = pl.Schema(
    {
        "stage": pl.String(),
        "scope": pl.String(),
        "_wdur": pl.Float64(),
        **{a: pl.String() for a in KIND_ATTRIBUTES},
        "_end": _END,
        "_kinds": pl.Boolean(),
    }
)
#: the scope of a stage's pooled visits while Spark groups them (joins need a value)
_POOL: Final = "\x00pool"

Bucketed = Callable[[Any, Any], Any]


def _in_scope(table: Any, work_items: bool) -> pl.DataFrame:
    """A bucket's stage events of the cases in scope (as the findings judge them), in case order."""
    frame = _bucket_frame(table, work_items)
    in_scope, _ = case_scope(frame)
    return frame.join(in_scope, on="case_id", how="semi", maintain_order="left")


def _bucket_kinds(table: Any, frame: pl.DataFrame) -> pl.DataFrame | None:
    """The kinds (a bucket's rows of the lake's table) of the cases of ``frame``."""
    if table is None:
        return None
    kinds = pl.from_arrow(table)
    assert isinstance(kinds, pl.DataFrame)
    kinds = kinds.select(KIND_SCHEMA.names()).cast(KIND_SCHEMA)  # type: ignore[arg-type]
    return case_kinds(kinds, frame)


def _kinds_parted(kinds: DataFrame | None, events: DataFrame) -> DataFrame | None:
    """The kinds table exchanged into the buckets of :func:`_partitioned` (the same hash of
    the case id, as many partitions): cogrouped with the events without moving them again."""
    if kinds is None:
        return None
    from pyspark.sql import functions as F

    buckets = _bucket_count(events)
    bucket = F.pmod(F.xxhash64("case_id"), F.lit(buckets))
    return (
        kinds.select(*KIND_SCHEMA.names())
        .withColumn("_bucket", bucket)
        .repartition(buckets, "_bucket")
    )


def _per_bucket(parted: DataFrame, kinds: DataFrame | None, run: Bucketed, schema: str) -> Any:
    """``run(events, kinds)`` per bucket (Arrow tables; ``kinds`` ``None`` without a table)."""
    groups = parted.groupBy("_bucket")
    if kinds is None:
        return groups.applyInArrow(lambda table: run(table, None), schema)
    return groups.cogroup(kinds.groupBy("_bucket")).applyInArrow(run, schema)


@dataclass(frozen=True)
class _Judged:
    """What every bucket's stall judgement needs of the whole log (small: sent with the tasks)."""

    limits: pl.DataFrame  #: per stage and project (:func:`limits_of_aggregates`)
    log_end: dt.datetime | None
    kinds: bool  #: some case in scope has a kind (the limits get ``kind`` and ``cases``)
    rows: pl.DataFrame | None  #: the kinds' own limits (:func:`kind_rows`), where kinds split
    groups: pl.DataFrame | None  #: which kinds each of them covers (:func:`kind_groups`)
    own: pl.DataFrame  #: the (stage, project) pairs with a limit of their own

    def for_cases(self, kinds: pl.DataFrame | None) -> pl.DataFrame:
        """The limits with the kind rows' ``cases`` of ``kinds`` (a bucket's cases' kinds)."""
        if not self.kinds:
            return self.limits
        by_kind = None
        if self.rows is not None and self.groups is not None:
            by_kind = kind_limits(self.rows, self.groups, kinds, self.own)
        return with_kind_limits(self.limits, by_kind, per_project=True)


def _whole_log(
    parted: DataFrame,
    kinds: DataFrame | None,
    design: Design,
    work_items: bool,
    factor: float,
) -> _Judged:
    """The stall limits over every case in scope, and the last timestamp of those cases.

    ``parted``: the stage events with their bucket (:func:`_partitioned`);
    ``kinds``: the lake's kinds table in the same buckets (:func:`_kinds_parted`).
    Each bucket returns one row per finished stage visit of its cases in
    scope -- stage, project, weekday duration (the embedded
    :func:`wfmine.findings.stalls.visit_durations` of
    :func:`wfmine.stages.stage_visits`) and its case's kind -- and its last
    timestamp. The rows stay on the executors: Spark computes the figures
    each limit is made of per stage and per project (:func:`_limit_aggregates`,
    exact percentiles), and the driver composes the limits from those few
    numbers with the embedded :func:`wfmine.findings.stalls.limits_of_aggregates`;
    then the same for the kinds (:func:`_kind_split`).
    """
    from pyspark import StorageLevel
    from pyspark.sql import functions as F

    attrs = list(KIND_ATTRIBUTES)

    def durations(table: Any, kinds_table: Any) -> Any:
        frame = _in_scope(table, work_items)
        known = _bucket_kinds(kinds_table, frame)
        d = visit_durations(stage_visits(frame), design)
        if known is not None:
            d = d.join(known, on="case_id", how="left")
        else:
            d = d.with_columns(pl.lit(None, dtype=pl.String).alias(a) for a in attrs)
        out = d.select("stage", PROJECT.alias("scope"), "_wdur", *attrs)
        last = pl.DataFrame(
            {"_end": [frame["timestamp"].max()], "_kinds": [known is not None]},
            schema={"_end": _END, "_kinds": pl.Boolean()},
        )
        return _arrow(pl.concat([out, last], how="diagonal_relaxed"), _DURATIONS)

    rows = _per_bucket(parted, kinds, durations, _ddl(_DURATIONS)).persist(
        StorageLevel.MEMORY_AND_DISK
    )
    try:
        expected = [st.id for st in design.stages if st.expected is not None]
        visits = rows.filter(F.col("stage").isNotNull())
        statistical = ~F.col("stage").isin(expected)
        # one job for the whole log's facts: its end, whether it has kinds, how many projects
        facts = to_polars(
            rows.agg(
                F.max("_end").alias("_end"),
                F.max("_kinds").alias("_kinds"),
                F.countDistinct(
                    F.when(F.col("stage").isNotNull() & statistical, F.col("scope"))
                ).alias("_projects"),
            ),
            {"_end": _END, "_kinds": pl.Boolean(), "_projects": pl.Int64()},
        )
        log_end = facts["_end"][0] if facts.height else None
        has_kinds = bool(facts["_kinds"][0]) if facts.height else False
        several = bool(facts.height) and int(facts["_projects"][0] or 0) >= 2
        scoped = visits.filter(statistical & F.col("scope").isNotNull())
        limits = limits_of_aggregates(
            _limit_aggregates(visits, ["stage"]),
            _limit_aggregates(scoped, ["stage", "scope"]) if several else None,
            design,
            factor=factor,
            per_project=True,
        )
        own = limits.filter(pl.col("scope").is_not_null()).select("stage", "scope")
        split: tuple[pl.DataFrame | None, pl.DataFrame | None] = (None, None)
        if has_kinds:
            split = _kind_split(visits.filter(statistical), own, factor)
    finally:
        rows.unpersist()
    return _Judged(limits, log_end, has_kinds, split[0], split[1], own)


def _kind_split(
    statistical: DataFrame, own: pl.DataFrame, factor: float
) -> tuple[pl.DataFrame | None, pl.DataFrame | None]:
    """The kinds' own limits (:func:`wfmine.findings.stalls.kind_rows`) and groups
    (:func:`wfmine.findings.stalls.kind_groups`), or ``(None, None)`` where no kinds split.

    ``statistical``: the finished visits of the stages without an expected
    time, with their case's kind. A visit is split with its project's where
    the project has its own limit at the stage (``own``, a broadcast join),
    else with the stage's pool; each visit once per attribute its kind names.
    Spark aggregates them per kind on the executors (:func:`_kind_aggregates`);
    the driver decides the groups over those rows; Spark computes each
    group's limit figures (:func:`_limit_aggregates`, after a join with the
    broadcast groups); the driver composes the rows.
    """
    from pyspark.sql import functions as F

    spark = statistical.sparkSession
    if own.height:
        pairs = spark.createDataFrame(own.rows(), "stage STRING, scope STRING")
        statistical = statistical.join(
            F.broadcast(pairs.withColumn("_own", F.lit(True))), on=["stage", "scope"], how="left"
        )
        scope = F.when(F.col("_own"), F.col("scope")).otherwise(F.lit(_POOL))
    else:
        scope = F.lit(_POOL)
    kinds = F.explode(
        F.array(
            *[F.struct(F.lit(a).alias("_attr"), F.col(a).alias("_value")) for a in KIND_ATTRIBUTES]
        )
    )
    long = (
        statistical.select("stage", scope.alias("scope"), "_wdur", kinds.alias("_k"))
        .select("stage", "scope", "_wdur", "_k._attr", "_k._value")
        .filter(F.col("_value").isNotNull())
    )
    groups = kind_groups(_pooled(_kind_aggregates(long)))
    if groups.height == 0:
        return None, None
    shipped = groups.with_columns(pl.col("scope").fill_null(_POOL))
    broadcast = F.broadcast(
        spark.createDataFrame(
            shipped.rows(), "stage STRING, scope STRING, _attr STRING, _value STRING, _group BIGINT"
        )
    )
    grouped = long.join(broadcast, on=list(KIND_KEY))
    keys = {k: KIND_GROUP_SCHEMA[k] for k in KIND_GROUP_KEY}
    stats = _pooled(_limit_aggregates(grouped, list(KIND_GROUP_KEY), keys))
    return kind_rows(stats, groups, factor), groups


def _pooled(frame: pl.DataFrame) -> pl.DataFrame:
    """``frame`` with the pool's scope null again (as the embedded frames have it)."""
    return frame.with_columns(
        pl.when(pl.col("scope") == _POOL).then(None).otherwise(pl.col("scope")).alias("scope")
    )


def _kind_aggregates(long: DataFrame) -> pl.DataFrame:
    """:func:`wfmine.findings.stalls.kind_aggregates` on Spark: per kind (stage, scope,
    attribute, value) the visits and the exact quartiles and median (``percentile``), mean
    and sum of squares (``var_pop`` x visits) of the log durations; kinds with too few visits
    to split are left on the executors, the rest collected."""
    from pyspark.sql import functions as F

    from wfmine.findings.stalls import MIN_VISITS

    log_dur = F.ln(F.greatest(F.col("_wdur"), F.lit(1.0)))
    per = (
        long.groupBy(*KIND_KEY)
        .agg(
            F.count(F.lit(1)).alias("_n"),
            F.percentile(log_dur, [0.25, 0.5, 0.75]).alias("_p"),
            F.avg(log_dur).alias("_m"),
            (F.var_pop(log_dur) * F.count(F.lit(1))).alias("_ss"),
        )
        .filter(F.col("_n") >= MIN_VISITS)
        .select(
            *KIND_KEY,
            "_n",
            F.col("_p")[0].alias("_q1"),
            F.col("_p")[2].alias("_q3"),
            F.col("_p")[1].alias("_med"),
            "_m",
            "_ss",
        )
    )
    schema = {
        **{k: pl.String() for k in KIND_KEY},
        "_n": pl.UInt32(), "_q1": pl.Float64(), "_q3": pl.Float64(), "_med": pl.Float64(),
        "_m": pl.Float64(), "_ss": pl.Float64(),
    }  # fmt: skip
    return to_polars(per, schema).select(*KIND_KEY, *KIND_AGGREGATES)


def _limit_aggregates(
    visits: DataFrame, by: list[str], keys: dict[str, pl.DataType] | None = None
) -> pl.DataFrame:
    """:func:`wfmine.findings.stalls.limit_aggregates` on Spark: per group ``by`` (never null;
    ``keys``: their types, default strings), the visits and the exact quantiles
    (``percentile``, linear interpolation as polars') of the log durations, of the slower
    half's (duration >= the group's median), and of the durations; only these rows are
    collected."""
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
        **(keys if keys is not None else {k: pl.String() for k in by}),
        "visits": pl.UInt32(), "q1": pl.Float64(), "q3": pl.Float64(), "s1": pl.Float64(),
        "s3": pl.Float64(), "median": pl.Float64(), "p90": pl.Float64(),
    }  # fmt: skip
    return to_polars(first.join(slow, on=by, how="left"), schema).select(*by, *LIMIT_AGGREGATES)


def _occurrences(
    parted: DataFrame,
    kinds: DataFrame | None,
    design: Design,
    work_items: bool,
    factor: float,
) -> DataFrame:
    """Every occurrence, per bucket, against the whole log's limits and end (``parted``,
    ``kinds``: as above; each bucket's kind limits name its own cases)."""
    judged = _whole_log(parted, kinds, design, work_items, factor)
    schema = pl.Schema(OCCURRENCE_SCHEMA)

    def run(table: Any, kinds_table: Any) -> Any:
        frame = _in_scope(table, work_items)
        limits = judged.for_cases(_bucket_kinds(kinds_table, frame))
        occ = failure_occurrences(
            frame, design, stall_factor=factor, limits=limits, log_end=judged.log_end
        )
        return _arrow(occ, schema)

    occurrences: DataFrame = _per_bucket(parted, kinds, run, _ddl(schema))
    return occurrences


def stall_limits(
    df: DataFrame,
    design: Design,
    *,
    kinds: DataFrame | None = None,
    accounts: pl.DataFrame | None = None,
    staged: DataFrame | None = None,
    factor: float = STALL_FACTOR,
) -> pl.DataFrame:
    """The whole log's stall limits, as :func:`failure_counts` judges stalls and abandoned cases.

    The embedded :func:`wfmine.findings.stalls.stall_limits` (``per_project=True``,
    as :func:`wfmine.findings.failures.failure_occurrences` takes it, with
    ``kinds``: the lake's kinds table, :func:`wfmine.spark.kinds_from_parquet`)
    over the stage visits of every case in scope, computed per bucket on Spark
    (see :func:`_whole_log`). Its columns are the embedded frame's but
    ``cases``: which cases a kind's row judges is the kinds table's to say
    (its ``kind``, e.g. ``type=Bug``), not a list collected here.
    """
    flags = log_flags(df)
    events = (
        staged if staged is not None else stage_events(df, design, accounts=accounts, flags=flags)
    )
    judged = _whole_log(
        _partitioned(events), _kinds_parted(kinds, events), design, flags["work_items"], factor
    )
    limits = judged.for_cases(None)
    return limits.drop("cases") if "cases" in limits.columns else limits


def failure_occurrences_spark(
    df: DataFrame,
    design: Design,
    *,
    kinds: DataFrame | None = None,
    accounts: pl.DataFrame | None = None,
    staged: DataFrame | None = None,
    stall_factor: float = STALL_FACTOR,
) -> DataFrame:
    """Every failure occurrence (:data:`wfmine.findings.failures.OCCURRENCE_SCHEMA`) as a Spark DataFrame.

    Each bucket runs the embedded :func:`failure_occurrences` on the stage
    events of its cases in scope (as the findings judge them), with the
    stall limits and the log's end of the whole log (:func:`stall_limits`,
    computed here first; per kind of work item with ``kinds``, the lake's
    kinds table). The stage events are computed for that pass and again for
    the returned frame unless ``staged`` is persisted; :func:`failure_counts`
    keeps them for both.
    """
    flags = log_flags(df)
    events = (
        staged if staged is not None else stage_events(df, design, accounts=accounts, flags=flags)
    )
    return _occurrences(
        _partitioned(events),
        _kinds_parted(kinds, events),
        design,
        flags["work_items"],
        stall_factor,
    )


def failure_counts(
    df: DataFrame,
    design: Design,
    *,
    kinds: DataFrame | None = None,
    accounts: pl.DataFrame | None = None,
    staged: DataFrame | None = None,
    stall_factor: float = STALL_FACTOR,
) -> pl.DataFrame:
    """Failure-pattern counts on Spark: per (``type``, ``stage``) ``occurrences`` and ``cases``.

    Every type of :data:`wfmine.findings.failures.FAILURE_TYPES` (the
    whole-log stall limits and log end computed first, :func:`stall_limits`;
    per kind of work item with ``kinds``, the lake's kinds table:
    :func:`wfmine.spark.kinds_from_parquet`); sorted by type, stage.
    :func:`failure_counts_polars` is the embedded side. The stage events
    (and the kinds) are computed and exchanged into buckets once, kept
    (memory, then disk) for the two passes over them, and released.
    """
    from pyspark import StorageLevel
    from pyspark.sql import functions as F

    flags = log_flags(df)
    events = (
        staged if staged is not None else stage_events(df, design, accounts=accounts, flags=flags)
    )
    parted = _partitioned(events).persist(StorageLevel.MEMORY_AND_DISK)
    bucketed = _kinds_parted(kinds, events)
    if bucketed is not None:
        bucketed = bucketed.persist(StorageLevel.MEMORY_AND_DISK)
    try:
        occ = _occurrences(parted, bucketed, design, flags["work_items"], stall_factor)
        agg = occ.groupBy("type", "stage").agg(
            F.count(F.lit(1)).alias("occurrences"), F.count_distinct("case_id").alias("cases")
        )
        return to_polars(agg, OCCURRENCE_COUNT_SCHEMA).sort(["type", "stage"], nulls_last=True)
    finally:
        parted.unpersist()
        if bucketed is not None:
            bucketed.unpersist()


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
