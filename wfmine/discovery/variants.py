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
    Events,
    activity_codes,
    ordered_events,
)

__all__ = ["case_variants", "variants"]


def _traces(
    log: EventFrame,
    case_id_key: str,
    activity_key: str,
    timestamp_key: str,
    seq_key: str | None,
    *,
    with_case: bool,
) -> tuple[pl.DataFrame, pl.Series, int]:
    """Each case's trace as one binary ``key`` (and its ``CASE`` with ``with_case``), the
    activity names, the key's width.

    A key is the case's activity codes (:func:`activity_codes`) written back to
    back, big-endian, ``width`` bytes each, so the bytes compare as the activity
    lists would (polars orders a null first, a shorter prefix first). Why
    bytes, not a list column: a case's events are contiguous after
    :func:`ordered_events`, so the keys are the code column cut at the cases'
    first rows, built without copying, where a group-by into lists and a
    group-by on lists hash every event twice (at 10M events those two took
    2.9 of 3.2 CPU s).
    """
    events = ordered_events(
        log,
        case_id_key=case_id_key,
        timestamp_key=timestamp_key,
        seq_key=seq_key,
        columns={activity_key: ACT},
    )
    names, code = activity_codes(events.frame, ACT)
    return trace_keys(events, names, code, with_case=with_case), names, _width(names.len() + 1)


def trace_keys(
    events: Events, names: pl.Series, code: pl.Series, *, with_case: bool
) -> pl.DataFrame:
    """:func:`_traces`' keys of events already ordered and coded (:func:`activity_codes`)."""
    # numpy here, not at the top: ``import wfmine`` (every command) stays without it (0.1 s);
    # a log's variants need it anyway. No pyarrow (0.13-0.35 s to import): the codes go in
    # as one binary value, cut into the cases' keys by polars (byte offsets, no copy per row)
    import numpy as np

    width = _width(names.len() + 1)
    # a null id is a case of its own at every event (null != null)
    starts = events.case_starts().arg_true().to_numpy().astype(np.int64)
    ends = np.append(starts[1:], events.frame.height)
    data = pl.Series([code.to_numpy().astype(f">u{width}").tobytes()], dtype=pl.Binary)
    traces = pl.select(
        pl.lit(data)
        .first()
        .bin.slice(pl.lit(pl.Series(starts * width)), pl.lit(pl.Series((ends - starts) * width)))
        .alias("key")
    )
    if with_case:
        traces = traces.with_columns(events.frame.get_column(CASE).gather(starts).alias(CASE))
    return traces


def _width(codes: int) -> int:
    """Bytes per code for ``codes`` distinct codes (1, 2 or 4: numpy's big-endian widths)."""
    return 1 if codes <= 1 << 8 else 2 if codes <= 1 << 16 else 4


def _ranked(traces: pl.DataFrame) -> pl.DataFrame:
    """The distinct keys with their ``cases`` and ``coverage``: most cases first, then by key.

    The keys are sorted once and counted as runs of equal keys; a stable sort
    by count then keeps equal counts in key order. The same rows as a group-by
    sorted on (count, key), without comparing the keys a second time (at 10M
    events 0.39 CPU s against 0.48).
    """
    runs = traces.get_column("key").sort().rle().struct.unnest()
    return (
        runs.select(pl.col("value").alias("key"), pl.col("len").cast(pl.Int64).alias("cases"))
        .sort("cases", descending=True, maintain_order=True)
        .with_columns((pl.col("cases") / pl.col("cases").sum()).alias("coverage"))
    )


def _named(frame: pl.DataFrame, names: pl.Series, width: int, keep: list[str]) -> pl.DataFrame:
    """``frame`` with its binary ``key`` turned back into ``activities`` (names), row order kept.

    Without pyarrow: a key cast to a list of its bytes has each row's codes (one byte each
    for up to 255 activities: the names are looked up in place); wider codes are read from
    the bytes of all keys at once and the looked-up names cut into each row's list by the
    rows' offsets (no group-by either way)."""
    import numpy as np

    # code 0 is a null activity: the names shifted by one, a null in front
    lookup = pl.concat([pl.Series([None], dtype=names.dtype), names])
    numbers = pl.int_range(lookup.len(), dtype=pl.UInt8 if width == 1 else pl.UInt32, eager=True)
    octets = frame.get_column("key").cast(pl.List(pl.UInt8))
    if width == 1:
        listed = octets.list.eval(pl.element().replace_strict(numbers, lookup))
    else:
        lengths = octets.list.len() // width
        flat = octets.explode().to_numpy()  # a key is never empty: a case has an event
        codes = pl.Series(flat.view(f">u{width}").astype(np.uint32))
        acts = lookup.gather(codes).implode()
        starts = lengths.cum_sum() - lengths
        listed = pl.select(
            pl.lit(acts).first().list.slice(pl.lit(starts), pl.lit(lengths))
        ).to_series()
    return frame.with_columns(listed.alias("activities")).select(keep)


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
    traces, names, _ = _traces(
        log, case_id_key, activity_key, timestamp_key, seq_key, with_case=False
    )
    return variant_table(traces, names)


def variant_table(traces: pl.DataFrame, names: pl.Series) -> pl.DataFrame:
    """:func:`variants` from :func:`trace_keys` and the names they code."""
    return _named(_ranked(traces), names, _width(names.len() + 1), _VARIANT_COLUMNS)


_VARIANT_COLUMNS = ["activities", "cases", "coverage"]


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
    traces, names, width = _traces(
        log, case_id_key, activity_key, timestamp_key, seq_key, with_case=True
    )
    ranks = _ranked(traces).select("key", pl.int_range(pl.len(), dtype=pl.Int64).alias("variant"))
    cases = (
        traces.join(ranks, on="key", how="left")
        .select(pl.col(CASE).alias(case_id_key), "variant", "key")
        .sort(case_id_key)
    )
    return _named(cases, names, width, [case_id_key, "variant", "activities"])
