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
) -> tuple[pl.LazyFrame, pl.Series]:
    """Each case's trace as activity *codes* (``CASE``, ``codes``), and the activity names.

    Codes are positions in the sorted list of names (an ``Enum``'s physical
    value), so comparing two code lists orders them as their activity lists
    would order, and grouping a million traces hashes integers, not strings.
    """
    events = sorted_events(
        log,
        case_id_key=case_id_key,
        timestamp_key=timestamp_key,
        seq_key=seq_key,
        columns={activity_key: ACT},
    ).collect()
    names = events.get_column(ACT).drop_nulls().unique().sort()
    # a case's events are contiguous after sorted_events: numbering the runs is
    # cheaper than hashing case ids; group_by keeps row order inside a group,
    # so each list is the case's trace in order
    run = (pl.col(CASE) != pl.col(CASE).shift(1)).fill_null(True).cum_sum().alias("__run")
    code = pl.col(ACT).cast(pl.Enum(names.to_list())).to_physical()
    traces = (
        events.lazy()
        .with_columns(run, code.alias("codes"))
        .group_by("__run")
        .agg(pl.col(CASE).first(), pl.col("codes"))
        .drop("__run")
    )
    return traces, names


def _ranked(traces: pl.LazyFrame) -> pl.LazyFrame:
    return (
        traces.group_by("codes")
        .agg(pl.len().cast(pl.Int64).alias("cases"))
        .with_columns((pl.col("cases") / pl.col("cases").sum()).alias("coverage"))
        .sort(["cases", "codes"], descending=[True, False])
    )


def _named(frame: pl.DataFrame, names: pl.Series, keep: list[str]) -> pl.DataFrame:
    """``frame`` with its ``codes`` lists turned back into ``activities`` (names), row order kept."""
    flat = frame.select(pl.int_range(pl.len(), dtype=pl.UInt32).alias("__row"), "codes").explode(
        "codes"
    )
    acts = (
        flat.with_columns(names.gather(flat.get_column("codes")).alias("activities"))
        .group_by("__row", maintain_order=True)
        .agg("activities")
        .get_column("activities")
    )
    return frame.with_columns(acts).select(keep)


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
    traces, names = _traces(log, case_id_key, activity_key, timestamp_key, seq_key)
    return _named(_ranked(traces).collect(), names, ["activities", "cases", "coverage"])


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
    lazy_traces, names = _traces(log, case_id_key, activity_key, timestamp_key, seq_key)
    traces = lazy_traces.collect()
    ranks = (
        _ranked(traces.lazy())
        .select("codes", pl.int_range(pl.len(), dtype=pl.Int64).alias("variant"))
        .collect()
    )
    cases = (
        traces.join(ranks, on="codes", how="left")
        .select(pl.col(CASE).alias(case_id_key), "variant", "codes")
        .sort(case_id_key)
    )
    return _named(cases, names, [case_id_key, "variant", "activities"])
