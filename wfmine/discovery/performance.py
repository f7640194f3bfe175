"""Case-level performance: durations, weekly throughput, work in progress, log summary.

A case starts at its first event and ends at its last. Timestamps are read
as UTC (naive values are taken as UTC); weeks are ISO weeks starting Monday
00:00 UTC.

>>> import datetime as dt, polars as pl
>>> t = dt.datetime(2024, 1, 1)
>>> log = pl.DataFrame({"case_id": ["a", "a", "b"], "activity": ["x", "y", "x"],
...                     "timestamp": [t, t + dt.timedelta(days=8), t]})
>>> case_durations(log)["duration_s"].to_list()
[691200.0, 0.0]
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from typing import Any

import polars as pl

from wfmine.discovery._columns import (
    ACT,
    CASE,
    DEFAULT_ACTIVITY,
    DEFAULT_CASE,
    DEFAULT_SEQ,
    DEFAULT_TIMESTAMP,
    TS,
    EventFrame,
    lazy,
    ordered_events,
    seconds,
    utc,
)
from wfmine.errors import InputError

__all__ = ["case_durations", "log_summary", "throughput_weekly", "work_in_progress"]


def _cases(
    log: EventFrame,
    case_id_key: str,
    activity_key: str,
    timestamp_key: str,
    seq_key: str | None,
) -> pl.DataFrame:
    """Per case (in no particular order): ``CASE``, ``start``, ``end``, ``events``, ``last_activity``.

    A case's events are contiguous after :func:`ordered_events` (null ids are
    one case, as a group-by makes them), so its first and last rows are read
    at the run boundaries: no group-by hashes a case id per event.
    """
    events = ordered_events(
        log,
        case_id_key=case_id_key,
        timestamp_key=timestamp_key,
        seq_key=seq_key,
        columns={activity_key: ACT},
    )
    frame = events.frame
    first = events.head.arg_true()
    last = events.last_of_case().arg_true()
    return pl.DataFrame(
        {
            CASE: frame.get_column(CASE).gather(first),
            "start": frame.get_column(TS).gather(first),
            "end": frame.get_column(TS).gather(last),
            "events": (last - first + 1).cast(pl.Int64),
            "last_activity": frame.get_column(ACT).gather(last),
        }
    )


def case_durations(
    log: EventFrame,
    *,
    case_id_key: str = DEFAULT_CASE,
    activity_key: str = DEFAULT_ACTIVITY,
    timestamp_key: str = DEFAULT_TIMESTAMP,
    seq_key: str | None = DEFAULT_SEQ,
) -> pl.DataFrame:
    """One row per case: ``<case_id_key>``, ``start``, ``end``, ``duration_s``, ``events``.

    ``duration_s`` is last minus first timestamp in seconds (float), what
    ``pm4py.get_all_case_durations`` lists. Rows are ordered by case.

    >>> case_durations(log)["duration_s"].median() / 86400  # median days  # doctest: +SKIP
    """
    return (
        _cases(log, case_id_key, activity_key, timestamp_key, seq_key)
        .lazy()
        .select(
            pl.col(CASE).alias(case_id_key),
            "start",
            "end",
            seconds(pl.col("end") - pl.col("start")).alias("duration_s"),
            "events",
        )
        .sort(case_id_key)
        .collect()
    )


def throughput_weekly(
    log: EventFrame,
    *,
    case_id_key: str = DEFAULT_CASE,
    activity_key: str = DEFAULT_ACTIVITY,
    timestamp_key: str = DEFAULT_TIMESTAMP,
    seq_key: str | None = DEFAULT_SEQ,
    end_activities: Collection[str] | None = None,
) -> pl.DataFrame:
    """Cases started and completed per ISO week: ``week`` (Monday, UTC date), ``started``, ``completed``.

    A case is started in the week of its first event and completed in the
    week of its last. A log cannot tell a finished case from one still open
    at the end of the export; pass ``end_activities`` to count as completed
    only cases whose last activity is one of them. Every week between the
    first and the last event appears, with zeros where nothing happened.

    >>> throughput_weekly(log, end_activities={"Status: Done"})  # doctest: +SKIP
    """
    cases = _cases(log, case_id_key, activity_key, timestamp_key, seq_key)
    schema = pl.Schema({"week": pl.Date, "started": pl.Int64, "completed": pl.Int64})
    if cases.height == 0:
        return pl.DataFrame(schema=schema)
    done = cases
    if end_activities is not None:
        done = cases.filter(pl.col("last_activity").is_in(list(end_activities)))
    started = cases.group_by(pl.col("start").dt.truncate("1w").dt.date().alias("week")).agg(
        pl.len().cast(pl.Int64).alias("started")
    )
    completed = done.group_by(pl.col("end").dt.truncate("1w").dt.date().alias("week")).agg(
        pl.len().cast(pl.Int64).alias("completed")
    )
    first = cases["start"].min()
    last = cases["end"].max()
    assert isinstance(first, dt.datetime) and isinstance(last, dt.datetime)
    weeks = pl.DataFrame({"week": pl.date_range(_monday(first), _monday(last), "1w", eager=True)})
    return (
        weeks.join(started, on="week", how="left")
        .join(completed, on="week", how="left")
        .with_columns(pl.col("started", "completed").fill_null(0))
        .select(schema.names())
        .cast(schema)
    )


def _monday(moment: dt.datetime) -> dt.date:
    day = moment.astimezone(dt.UTC).date()
    return day - dt.timedelta(days=day.weekday())


def work_in_progress(
    log: EventFrame,
    freq: str = "1w",
    *,
    case_id_key: str = DEFAULT_CASE,
    activity_key: str = DEFAULT_ACTIVITY,
    timestamp_key: str = DEFAULT_TIMESTAMP,
    seq_key: str | None = DEFAULT_SEQ,
) -> pl.DataFrame:
    """Cases open at the end of each period: ``period_start``, ``period_end``, ``wip``.

    A case is open at instant ``t`` when its first event is at or before
    ``t`` and its last event after ``t``. Periods are polars intervals
    (``"1d"``, ``"1w"`` — Monday-aligned —, ``"1mo"``) from the period holding
    the first event to the one holding the last, in UTC.

    >>> work_in_progress(log, "1d").plot.line(x="period_end", y="wip")  # doctest: +SKIP
    """
    cases = _cases(log, case_id_key, activity_key, timestamp_key, seq_key)
    schema = pl.Schema(
        {
            "period_start": pl.Datetime("us", "UTC"),
            "period_end": pl.Datetime("us", "UTC"),
            "wip": pl.Int64(),
        }
    )
    if cases.height == 0:
        return pl.DataFrame(schema=schema)
    try:
        bounds = cases.select(
            pl.col("start").min().dt.truncate(freq).alias("lo"),
            pl.col("end").max().alias("hi"),
        )
    except pl.exceptions.PolarsError as exc:
        raise InputError(f"bad period {freq!r}: {exc}") from None
    lo, hi = bounds.row(0)
    starts = pl.datetime_range(lo, hi, freq, eager=True, time_zone="UTC", time_unit="us")
    periods = pl.DataFrame({"period_start": starts}).with_columns(
        pl.col("period_start").dt.offset_by(freq).alias("period_end")
    )
    opened = cases["start"].cast(pl.Datetime("us", "UTC")).sort()
    closed = cases["end"].cast(pl.Datetime("us", "UTC")).sort()
    ends = periods["period_end"]
    wip = opened.search_sorted(ends, side="right").cast(pl.Int64) - closed.search_sorted(
        ends, side="right"
    ).cast(pl.Int64)
    return periods.with_columns(wip.alias("wip")).cast(schema)


def log_summary(
    log: EventFrame,
    *,
    case_id_key: str = DEFAULT_CASE,
    activity_key: str = DEFAULT_ACTIVITY,
    timestamp_key: str = DEFAULT_TIMESTAMP,
) -> dict[str, Any]:
    """``{"cases", "events", "activities", "start", "end"}`` of a log (times as ISO 8601 UTC).

    The ``"log"`` object of ``wfmine discover --json``; ``start``/``end`` are
    ``None`` for an empty log.

    >>> log_summary(log)  # doctest: +SKIP
    {'cases': 6, 'events': 42, 'activities': 8, 'start': '2010-12-30T10:02:00+00:00', ...}
    """
    lf = lazy(log)
    schema = lf.collect_schema()
    for key in (case_id_key, activity_key, timestamp_key):
        if key not in schema:
            raise InputError(f"log has no column {key!r}; it has {list(schema.names())}")
    dtype = schema[timestamp_key]
    if not isinstance(dtype, pl.Datetime | pl.Date):
        raise InputError(f"column {timestamp_key!r} must be a datetime, not {dtype}")
    ts = utc(pl.col(timestamp_key), dtype)
    row = lf.select(
        pl.col(case_id_key).n_unique().alias("cases"),
        pl.len().alias("events"),
        pl.col(activity_key).n_unique().alias("activities"),
        ts.min().alias("start"),
        ts.max().alias("end"),
    ).collect()
    out = row.row(0, named=True)
    events = int(out["events"])
    return {
        "cases": int(out["cases"]) if events else 0,
        "events": events,
        "activities": int(out["activities"]) if events else 0,
        "start": out["start"].isoformat() if out["start"] is not None else None,
        "end": out["end"].isoformat() if out["end"] is not None else None,
    }
