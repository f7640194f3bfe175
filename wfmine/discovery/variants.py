"""Variants: the distinct activity sequences of cases, with how many cases follow each.

A case's sequence is its activities in (case, timestamp, seq) order; with no
``seq_key`` column, input order breaks timestamp ties.

>>> import datetime as dt, polars as pl
>>> t = dt.datetime(2024, 1, 1)
>>> log = pl.DataFrame({"case_id": ["a", "a", "b"], "activity": ["x", "y", "x"],
...                     "timestamp": [t, t + dt.timedelta(hours=1), t]})
>>> variants(log).rows()
[(['x'], 1, 0.5), (['x', 'y'], 1, 0.5)]
"""

from __future__ import annotations

import polars as pl

from wfmine.discovery._columns import (
    ACT,
    CASE,
    DEFAULT_ACTIVITY,
    DEFAULT_CASE,
    DEFAULT_SEQ,
    DEFAULT_TIMESTAMP,
    EventFrame,
    sorted_events,
)

__all__ = ["case_variants", "variants"]


def _traces(
    log: EventFrame, case_id_key: str, activity_key: str, timestamp_key: str, seq_key: str | None
) -> pl.LazyFrame:
    events = sorted_events(
        log,
        case_id_key=case_id_key,
        timestamp_key=timestamp_key,
        seq_key=seq_key,
        columns={activity_key: ACT},
    )
    # a case's events are contiguous after sorted_events: numbering the runs is
    # cheaper than hashing case ids; group_by keeps row order inside a group,
    # so each list is the case's trace in order
    run = (pl.col(CASE) != pl.col(CASE).shift(1)).fill_null(True).cum_sum().alias("__run")
    return (
        events.with_columns(run)
        .group_by("__run")
        .agg(pl.col(CASE).first(), pl.col(ACT).alias("activities"))
        .drop("__run")
    )


def _ranked(traces: pl.LazyFrame) -> pl.LazyFrame:
    return (
        traces.group_by("activities")
        .agg(pl.len().cast(pl.Int64).alias("cases"))
        .with_columns((pl.col("cases") / pl.col("cases").sum()).alias("coverage"))
        .sort(["cases", "activities"], descending=[True, False])
    )


def variants(
    log: EventFrame,
    *,
    case_id_key: str = DEFAULT_CASE,
    activity_key: str = DEFAULT_ACTIVITY,
    timestamp_key: str = DEFAULT_TIMESTAMP,
    seq_key: str | None = DEFAULT_SEQ,
) -> pl.DataFrame:
    """Variants, most frequent first: ``activities`` (list), ``cases``, ``coverage``.

    ``coverage`` is the share of all cases that follow the variant. Variants
    with equal counts are ordered by their activity lists, lexicographically,
    so the order never depends on the input.

    >>> v = variants(log)  # doctest: +SKIP
    >>> v.filter(pl.col("coverage").cum_sum() <= 0.8)  # variants covering 80% of cases  # doctest: +SKIP
    """
    traces = _traces(log, case_id_key, activity_key, timestamp_key, seq_key)
    return _ranked(traces).collect()


def case_variants(
    log: EventFrame,
    *,
    case_id_key: str = DEFAULT_CASE,
    activity_key: str = DEFAULT_ACTIVITY,
    timestamp_key: str = DEFAULT_TIMESTAMP,
    seq_key: str | None = DEFAULT_SEQ,
) -> pl.DataFrame:
    """Each case's variant: columns ``<case_id_key>``, ``variant``, ``activities``.

    ``variant`` is the variant's rank in :func:`variants` (0 is the most
    frequent), so the two frames join on it. Rows are ordered by case.

    >>> cv = case_variants(log)  # doctest: +SKIP
    >>> cv.filter(pl.col("variant") == 0)[case_id_key]  # cases of the top variant  # doctest: +SKIP
    """
    traces = _traces(log, case_id_key, activity_key, timestamp_key, seq_key).collect()
    ranks = (
        _ranked(traces.lazy())
        .select("activities", pl.int_range(pl.len(), dtype=pl.Int64).alias("variant"))
        .collect()
    )
    return (
        traces.join(ranks, on="activities", how="left")
        .select(pl.col(CASE).alias(case_id_key), "variant", "activities")
        .sort(case_id_key)
    )
