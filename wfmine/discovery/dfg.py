"""Directly-follows graph: frequencies, waiting times, start and end activities.

Two events are a directly-follows pair when they are consecutive events of
one case in (case, timestamp, seq) order. The wait of a pair is the target's
timestamp minus the source's, in seconds (float, nanosecond precision).

Percentiles use linear interpolation between the closest ranks, as numpy's
default (``method="linear"``) and pandas do: the median of an even count is
the mean of the two middle values; ``wait_p90_s`` is ``numpy.quantile(w, 0.9)``.

>>> import datetime as dt, polars as pl
>>> t = dt.datetime(2024, 1, 1)
>>> log = pl.DataFrame({"case_id": ["a", "a", "b", "b"], "activity": ["x", "y", "x", "y"],
...                     "timestamp": [t, t + dt.timedelta(hours=1), t, t + dt.timedelta(hours=3)]})
>>> directly_follows(log).select("source", "target", "frequency", "wait_median_s").row(0)
('x', 'y', 2, 7200.0)
"""

from __future__ import annotations

from typing import Literal, overload

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
    successor_pairs,
)

__all__ = [
    "directly_follows",
    "end_activities",
    "performance_dfg",
    "start_activities",
]

_ORDER = ["frequency", "source", "target"]
_DESCENDING = [True, False, False]


def _pairs(
    log: EventFrame, case_id_key: str, activity_key: str, timestamp_key: str, seq_key: str | None
) -> pl.LazyFrame:
    events = sorted_events(
        log,
        case_id_key=case_id_key,
        timestamp_key=timestamp_key,
        seq_key=seq_key,
        columns={activity_key: ACT},
    )
    return successor_pairs(events, ACT)


def directly_follows(
    log: EventFrame,
    *,
    case_id_key: str = DEFAULT_CASE,
    activity_key: str = DEFAULT_ACTIVITY,
    timestamp_key: str = DEFAULT_TIMESTAMP,
    seq_key: str | None = DEFAULT_SEQ,
) -> pl.DataFrame:
    """The directly-follows graph as an edge table, most frequent first.

    Columns ``source``, ``target``, ``frequency`` (number of pairs),
    ``wait_mean_s``, ``wait_median_s``, ``wait_p90_s`` (seconds between the
    two events). Ties in frequency are ordered by source, then target. With
    no ``seq_key`` column, input order breaks timestamp ties.

    >>> dfg = directly_follows(log)  # doctest: +SKIP
    >>> dfg = directly_follows(pm4py_df, case_id_key="case:concept:name",
    ...     activity_key="concept:name", timestamp_key="time:timestamp")  # doctest: +SKIP
    """
    wait = pl.col("wait_s")
    return (
        _pairs(log, case_id_key, activity_key, timestamp_key, seq_key)
        .group_by("source", "target")
        .agg(
            pl.len().cast(pl.Int64).alias("frequency"),
            wait.mean().alias("wait_mean_s"),
            wait.median().alias("wait_median_s"),
            wait.quantile(0.9, interpolation="linear").alias("wait_p90_s"),
        )
        .with_columns(pl.col("source", "target").cast(pl.String))
        .sort(_ORDER, descending=_DESCENDING)
        .collect()
    )


def performance_dfg(
    log: EventFrame,
    *,
    case_id_key: str = DEFAULT_CASE,
    activity_key: str = DEFAULT_ACTIVITY,
    timestamp_key: str = DEFAULT_TIMESTAMP,
    seq_key: str | None = DEFAULT_SEQ,
) -> pl.DataFrame:
    """Waiting-time statistics per directly-follows edge, as pm4py's performance DFG.

    Columns ``source``, ``target``, ``frequency`` and, in seconds, ``mean``,
    ``median``, ``max``, ``min``, ``sum``, ``stdev`` — the six figures of
    ``pm4py.discover_performance_dfg`` (``stdev`` is the sample standard
    deviation, ``ddof=1``; null for an edge seen once, where pandas gives NaN).

    >>> perf = performance_dfg(log)  # doctest: +SKIP
    >>> {(r["source"], r["target"]): r["median"] for r in perf.iter_rows(named=True)}  # doctest: +SKIP
    """
    wait = pl.col("wait_s")
    return (
        _pairs(log, case_id_key, activity_key, timestamp_key, seq_key)
        .group_by("source", "target")
        .agg(
            pl.len().cast(pl.Int64).alias("frequency"),
            wait.mean().alias("mean"),
            wait.median().alias("median"),
            wait.max().alias("max"),
            wait.min().alias("min"),
            wait.sum().alias("sum"),
            wait.std(ddof=1).alias("stdev"),
        )
        .with_columns(pl.col("source", "target").cast(pl.String))
        .sort(_ORDER, descending=_DESCENDING)
        .collect()
    )


def _boundary(
    log: EventFrame,
    first: bool,
    case_id_key: str,
    activity_key: str,
    timestamp_key: str,
    seq_key: str | None,
) -> pl.DataFrame:
    events = sorted_events(
        log,
        case_id_key=case_id_key,
        timestamp_key=timestamp_key,
        seq_key=seq_key,
        columns={activity_key: ACT},
    )
    # a case's events are contiguous after sorted_events (null ids, one case as a
    # group-by would make them, are one block): its first (last) row is where the
    # id differs from the row before (after), no group-by of every event by case
    other = pl.col(CASE).shift(1 if first else -1)
    edge = pl.int_range(pl.len()) == (0 if first else pl.len() - 1)
    return (
        events.filter(pl.col(CASE).ne_missing(other) | edge)
        .select(pl.col(ACT).alias("activity"))
        .group_by("activity")
        .agg(pl.len().cast(pl.Int64).alias("cases"))
        .sort(["cases", "activity"], descending=[True, False])
        .collect()
    )


@overload
def start_activities(
    log: EventFrame,
    *,
    case_id_key: str = ...,
    activity_key: str = ...,
    timestamp_key: str = ...,
    seq_key: str | None = ...,
    as_frame: Literal[False] = ...,
) -> dict[str, int]: ...
@overload
def start_activities(
    log: EventFrame,
    *,
    case_id_key: str = ...,
    activity_key: str = ...,
    timestamp_key: str = ...,
    seq_key: str | None = ...,
    as_frame: Literal[True],
) -> pl.DataFrame: ...
def start_activities(
    log: EventFrame,
    *,
    case_id_key: str = DEFAULT_CASE,
    activity_key: str = DEFAULT_ACTIVITY,
    timestamp_key: str = DEFAULT_TIMESTAMP,
    seq_key: str | None = DEFAULT_SEQ,
    as_frame: bool = False,
) -> dict[str, int] | pl.DataFrame:
    """How many cases start with each activity.

    A dict ``{activity: cases}`` (most frequent first, as ``pm4py``'s), or
    with ``as_frame=True`` a frame with columns ``activity``, ``cases``.

    >>> start_activities(log)  # doctest: +SKIP
    {'register request': 6}
    """
    frame = _boundary(log, True, case_id_key, activity_key, timestamp_key, seq_key)
    if as_frame:
        return frame
    return dict(zip(frame["activity"].to_list(), frame["cases"].to_list(), strict=True))


@overload
def end_activities(
    log: EventFrame,
    *,
    case_id_key: str = ...,
    activity_key: str = ...,
    timestamp_key: str = ...,
    seq_key: str | None = ...,
    as_frame: Literal[False] = ...,
) -> dict[str, int]: ...
@overload
def end_activities(
    log: EventFrame,
    *,
    case_id_key: str = ...,
    activity_key: str = ...,
    timestamp_key: str = ...,
    seq_key: str | None = ...,
    as_frame: Literal[True],
) -> pl.DataFrame: ...
def end_activities(
    log: EventFrame,
    *,
    case_id_key: str = DEFAULT_CASE,
    activity_key: str = DEFAULT_ACTIVITY,
    timestamp_key: str = DEFAULT_TIMESTAMP,
    seq_key: str | None = DEFAULT_SEQ,
    as_frame: bool = False,
) -> dict[str, int] | pl.DataFrame:
    """How many cases end with each activity (dict, or a frame with ``as_frame=True``).

    >>> end_activities(log)  # doctest: +SKIP
    {'pay compensation': 3, 'reject request': 3}
    """
    frame = _boundary(log, False, case_id_key, activity_key, timestamp_key, seq_key)
    if as_frame:
        return frame
    return dict(zip(frame["activity"].to_list(), frame["cases"].to_list(), strict=True))
