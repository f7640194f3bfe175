"""The discovery kernels on Spark: one window over each case's events, then group-bys.

Each function takes a Spark DataFrame of the flat log (:func:`log_from_parquet`)
and returns the *same* polars frame as the embedded kernel of
:mod:`wfmine.discovery` (columns, dtypes, row order): the heavy part — the
case-ordered window and the group-bys over millions of events — runs on
Spark; the collected aggregates (one row per edge, variant or case) are
sorted and finished in polars with the embedded kernels' own expressions, so
shares and ranks are computed exactly as they are there.

Events of a case are ordered by ``(timestamp, seq, event_id)``, nulls last,
as :func:`wfmine.discovery._columns.sorted_events` orders them: Spark
partitions the log by case hash and sorts each partition once
(``Window.partitionBy(case).orderBy(ts, seq, event_id)``); every pair,
first/last and trace comes from that one sort.

**Figures.** Frequencies, counts, minima, maxima, durations and waits are
exact and bit-identical to polars (a wait is ``(µs difference × 1000) as
double / 1e9``, the embedded formula). Medians and percentiles use Spark's
exact ``percentile`` aggregate (not ``percentile_approx``): the same
definition as polars' ``quantile(q, interpolation="linear")`` — linear
interpolation between the closest ranks at position ``(n - 1) q`` — so they
are exact; the interpolation is written ``(hi - pos) lo + (pos - lo) hi``
there and ``lo + (hi - lo) frac`` in polars, which can differ in the last
bit or two (relative error below 1e-15). Means, sums and standard deviations
are sums whose order differs between engines: equal up to floating rounding
(relative 1e-12 in the shared test suite).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

import polars as pl

from wfmine.spark._engine import to_polars

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame, WindowSpec

__all__ = [
    "case_durations",
    "directly_follows",
    "end_activities",
    "handover",
    "log_summary",
    "performance_dfg",
    "start_activities",
    "variants",
]

_ORDER: Final = ["frequency", "source", "target"]
_DESCENDING: Final = [True, False, False]
_EDGE: Final = {"source": pl.String(), "target": pl.String(), "frequency": pl.Int64()}


def _f() -> Any:
    from pyspark.sql import functions

    return functions


def case_window(df: DataFrame, case: str = "case_id", ts: str = "timestamp") -> WindowSpec:
    """The case window: partitioned by case, ordered by (timestamp, seq, event_id), nulls last."""
    from pyspark.sql import Window

    F = _f()
    order = [F.col(ts).asc_nulls_last()]
    for tie in ("seq", "event_id"):
        if tie in df.columns and tie not in (case, ts):
            order.append(F.col(tie).asc_nulls_last())
    return Window.partitionBy(case).orderBy(*order)


def wait_seconds(a: Column, b: Column) -> Column:
    """``b - a`` in seconds, as the embedded kernels compute it (bit-identical)."""
    F = _f()
    micros: Column = F.unix_micros(b) - F.unix_micros(a)
    seconds: Column = (micros * F.lit(1000)).cast("double") / F.lit(1e9)
    return seconds


def _pairs(df: DataFrame, value: str, *, case: str = "case_id", ts: str = "timestamp") -> DataFrame:
    """Consecutive events of a case: ``source``, ``target``, ``wait_s``."""
    F = _f()
    w = case_window(df, case, ts)
    return (
        df.select(
            F.col(value).cast("string").alias("source"),
            F.lead(F.col(value).cast("string")).over(w).alias("target"),
            wait_seconds(F.col(ts), F.lead(F.col(ts)).over(w)).alias("wait_s"),
            F.lead(F.lit(True)).over(w).alias("_has_next"),
        )
        .filter(F.col("_has_next"))
        .drop("_has_next")
    )


def directly_follows(
    df: DataFrame,
    *,
    case_id_key: str = "case_id",
    activity_key: str = "activity",
    timestamp_key: str = "timestamp",
) -> pl.DataFrame:
    """:func:`wfmine.discovery.directly_follows` on Spark (same columns, order and figures)."""
    F = _f()
    wait = F.col("wait_s")
    agg = (
        _pairs(df, activity_key, case=case_id_key, ts=timestamp_key)
        .groupBy("source", "target")
        .agg(
            F.count(F.lit(1)).alias("frequency"),
            F.avg(wait).alias("wait_mean_s"),
            F.percentile(wait, 0.5).alias("wait_median_s"),
            F.percentile(wait, 0.9).alias("wait_p90_s"),
        )
    )
    schema = {
        **_EDGE,
        "wait_mean_s": pl.Float64(),
        "wait_median_s": pl.Float64(),
        "wait_p90_s": pl.Float64(),
    }
    return to_polars(agg, schema).sort(_ORDER, descending=_DESCENDING)


def performance_dfg(
    df: DataFrame,
    *,
    case_id_key: str = "case_id",
    activity_key: str = "activity",
    timestamp_key: str = "timestamp",
) -> pl.DataFrame:
    """:func:`wfmine.discovery.performance_dfg` on Spark (``stdev`` is the sample one, null for n=1)."""
    F = _f()
    wait = F.col("wait_s")
    agg = (
        _pairs(df, activity_key, case=case_id_key, ts=timestamp_key)
        .groupBy("source", "target")
        .agg(
            F.count(F.lit(1)).alias("frequency"),
            F.avg(wait).alias("mean"),
            F.percentile(wait, 0.5).alias("median"),
            F.max(wait).alias("max"),
            F.min(wait).alias("min"),
            F.sum(wait).alias("sum"),
            F.stddev_samp(wait).alias("stdev"),
        )
    )
    floats = ("mean", "median", "max", "min", "sum", "stdev")
    schema = {**_EDGE, **{name: pl.Float64() for name in floats}}
    return to_polars(agg, schema).sort(_ORDER, descending=_DESCENDING)


def _numbered(df: DataFrame, case: str, ts: str, *extra: str) -> DataFrame:
    """``df`` with ``_i`` (1-based position in its case) and ``_last`` (the case's last event)."""
    F = _f()
    w = case_window(df, case, ts)
    return df.select(
        case,
        ts,
        *extra,
        F.row_number().over(w).alias("_i"),
        F.lead(F.lit(False), 1, True).over(w).alias("_last"),
    )


def _boundary(df: DataFrame, first: bool, case: str, activity: str, ts: str) -> pl.DataFrame:
    F = _f()
    numbered = _numbered(df, case, ts, activity)
    pick = F.col("_i") == 1 if first else F.col("_last")
    agg = (
        numbered.filter(pick)
        .groupBy(F.col(activity).cast("string").alias("activity"))
        .agg(F.count(F.lit(1)).alias("cases"))
    )
    out = to_polars(agg, {"activity": pl.String(), "cases": pl.Int64()})
    return out.sort(["cases", "activity"], descending=[True, False])


def start_activities(
    df: DataFrame,
    *,
    case_id_key: str = "case_id",
    activity_key: str = "activity",
    timestamp_key: str = "timestamp",
) -> dict[str, int]:
    """:func:`wfmine.discovery.start_activities` on Spark: ``{activity: cases}``, most first."""
    frame = _boundary(df, True, case_id_key, activity_key, timestamp_key)
    return dict(zip(frame["activity"].to_list(), frame["cases"].to_list(), strict=True))


def end_activities(
    df: DataFrame,
    *,
    case_id_key: str = "case_id",
    activity_key: str = "activity",
    timestamp_key: str = "timestamp",
) -> dict[str, int]:
    """:func:`wfmine.discovery.end_activities` on Spark: ``{activity: cases}``, most first."""
    frame = _boundary(df, False, case_id_key, activity_key, timestamp_key)
    return dict(zip(frame["activity"].to_list(), frame["cases"].to_list(), strict=True))


def variants(
    df: DataFrame,
    *,
    case_id_key: str = "case_id",
    activity_key: str = "activity",
    timestamp_key: str = "timestamp",
) -> pl.DataFrame:
    """:func:`wfmine.discovery.variants` on Spark: ``activities``, ``cases``, ``coverage``.

    Each case's trace is its activities collected with their position in the
    case window and sorted by it (``collect_list`` alone keeps no order).
    """
    F = _f()
    numbered = _numbered(df, case_id_key, timestamp_key, activity_key)
    traces = numbered.groupBy(case_id_key).agg(
        F.array_sort(
            F.collect_list(F.struct(F.col("_i"), F.col(activity_key).cast("string").alias("a")))
        ).alias("_t")
    )
    agg = (
        traces.select(F.transform(F.col("_t"), lambda x: x["a"]).alias("activities"))
        .groupBy("activities")
        .agg(F.count(F.lit(1)).alias("cases"))
    )
    out = to_polars(agg, {"activities": pl.List(pl.String()), "cases": pl.Int64()})
    return out.with_columns((pl.col("cases") / pl.col("cases").sum()).alias("coverage")).sort(
        ["cases", "activities"], descending=[True, False]
    )


def case_durations(
    df: DataFrame,
    *,
    case_id_key: str = "case_id",
    activity_key: str = "activity",
    timestamp_key: str = "timestamp",
) -> pl.DataFrame:
    """:func:`wfmine.discovery.case_durations` on Spark: one row per case, ordered by case."""
    F = _f()
    ts = F.col(timestamp_key)
    agg = df.groupBy(F.col(case_id_key).alias(case_id_key)).agg(
        F.min(ts).alias("start"),
        F.max(ts).alias("end"),
        F.count(F.lit(1)).alias("events"),
    )
    agg = agg.select(
        case_id_key,
        "start",
        "end",
        wait_seconds(F.col("start"), F.col("end")).alias("duration_s"),
        "events",
    )
    schema = {
        case_id_key: pl.String(),
        "start": pl.Datetime("us", "UTC"),
        "end": pl.Datetime("us", "UTC"),
        "duration_s": pl.Float64(),
        "events": pl.Int64(),
    }
    return to_polars(agg, schema).sort(case_id_key)


def handover(
    df: DataFrame,
    *,
    resource: str = "resource",
    case_id_key: str = "case_id",
    timestamp_key: str = "timestamp",
    self_handovers: bool = False,
) -> pl.DataFrame:
    """:func:`wfmine.discovery.handover_frame` on Spark (``resource="team"``: seams between teams).

    Events with no ``resource`` are left out first, as in the embedded kernel.
    """
    F = _f()
    known = df.filter(F.col(resource).isNotNull())
    agg = (
        _pairs(known, resource, case=case_id_key, ts=timestamp_key)
        .groupBy("source", "target")
        .agg(F.count(F.lit(1)).alias("handovers"))
    )
    edges = to_polars(
        agg, {"source": pl.String(), "target": pl.String(), "handovers": pl.Int64()}
    ).with_columns((pl.col("handovers") / pl.col("handovers").sum()).alias("share"))
    if not self_handovers:
        edges = edges.filter(pl.col("source") != pl.col("target"))
    return edges.sort(["handovers", "source", "target"], descending=[True, False, False])


def log_summary(
    df: DataFrame,
    *,
    case_id_key: str = "case_id",
    activity_key: str = "activity",
    timestamp_key: str = "timestamp",
) -> dict[str, Any]:
    """:func:`wfmine.discovery.log_summary` on Spark (a missing value counts as one, as in polars)."""
    F = _f()

    def distinct(name: str) -> Column:
        has_null = F.max(F.col(name).isNull().cast("int"))
        count: Column = F.count_distinct(F.col(name))
        total: Column = count + F.coalesce(has_null, F.lit(0))
        return total

    row = df.agg(
        distinct(case_id_key).alias("cases"),
        F.count(F.lit(1)).alias("events"),
        distinct(activity_key).alias("activities"),
        F.min(timestamp_key).alias("start"),
        F.max(timestamp_key).alias("end"),
    )
    out = to_polars(row).row(0, named=True)
    events = int(out["events"])
    return {
        "cases": int(out["cases"]) if events else 0,
        "events": events,
        "activities": int(out["activities"]) if events else 0,
        "start": out["start"].isoformat() if out["start"] is not None else None,
        "end": out["end"].isoformat() if out["end"] is not None else None,
    }
