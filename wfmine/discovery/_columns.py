"""Column selection and the one sort every discovery kernel starts from.

Every public function takes a flat log (a polars ``DataFrame`` or
``LazyFrame``) and the names of its columns as keywords, pm4py-style, with
wfmine's flat-log names (:data:`wfmine.model.LOG_SCHEMA`) as defaults. A
pm4py-named frame works by passing ``case_id_key="case:concept:name"`` and
so on.

Order of events: by case, then timestamp, then ``seq_key`` when the column
exists, then ``event_id`` when the log has that column (the store's order,
see :mod:`wfmine.model`). Remaining ties keep input row order (the sort is
stable), so without ``seq``/``event_id`` a result can depend on row order,
and only through events of one case that share a timestamp.
"""

from __future__ import annotations

from typing import Final, TypeAlias

import polars as pl

from wfmine.errors import InputError

#: what every discovery function takes: an eager or a lazy polars frame of events
EventFrame: TypeAlias = pl.DataFrame | pl.LazyFrame

# internal names; the input's columns are renamed to these after selection
CASE: Final = "__case"
ACT: Final = "__activity"
TS: Final = "__ts"
SEQ: Final = "__seq"
EVENT_ID: Final = "__event_id"
RES: Final = "__resource"

DEFAULT_CASE: Final = "case_id"
DEFAULT_ACTIVITY: Final = "activity"
DEFAULT_TIMESTAMP: Final = "timestamp"
DEFAULT_RESOURCE: Final = "resource"
DEFAULT_SEQ: Final = "seq"


def lazy(log: EventFrame) -> pl.LazyFrame:
    """``log`` as a LazyFrame (no copy for a DataFrame)."""
    if isinstance(log, pl.LazyFrame):
        return log
    if isinstance(log, pl.DataFrame):
        return log.lazy()
    raise InputError(
        f"expected a polars DataFrame or LazyFrame, got {type(log).__name__}; "
        "convert a pandas frame with polars.from_pandas(df)"
    )


def sorted_events(
    log: EventFrame,
    *,
    case_id_key: str,
    timestamp_key: str,
    seq_key: str | None,
    columns: dict[str, str],
    lexical: bool = False,
) -> pl.LazyFrame:
    """Select ``columns`` (input name -> internal name) and order events once.

    Every kernel needs each case's events *together* and in (timestamp, seq,
    event_id) order; none needs the cases themselves in any order, since each
    sorts its own output. So:

    - input that already has that shape (the store's log, most exported
      files) is not sorted again: a linear check costs a fraction of a sort;
    - otherwise cases are grouped by the hash of their id (then the id, so
      collisions cannot interleave cases), which is several times cheaper
      than a string sort on millions of events. ``lexical=True`` sorts cases by their id instead (for output
      that lists events, such as :func:`~wfmine.discovery.bridge.to_pm4py`).

    The result always has :data:`CASE` and :data:`TS`; ``TS`` is a UTC-aware
    datetime (naive input is read as UTC).
    """
    lf = lazy(log)
    schema = lf.collect_schema()
    wanted = {case_id_key: CASE, timestamp_key: TS, **columns}
    missing = [name for name in wanted if name not in schema]
    if missing:
        raise InputError(
            f"log has no column(s) {missing}; it has {list(schema.names())}. "
            "Pass the right names with case_id_key=, activity_key=, timestamp_key=, resource_key="
        )
    ts_type = schema[timestamp_key]
    if not isinstance(ts_type, pl.Datetime | pl.Date):
        raise InputError(
            f"column {timestamp_key!r} must be a datetime, not {ts_type}; "
            "parse it first, e.g. pl.col(...).str.to_datetime()"
        )
    exprs = [pl.col(src).alias(dst) for src, dst in wanted.items()]
    order = [CASE, TS]
    if seq_key is not None and seq_key in schema:
        exprs.append(pl.col(seq_key).alias(SEQ))
        order.append(SEQ)
    if "event_id" in schema and "event_id" not in wanted:
        exprs.append(pl.col("event_id").alias(EVENT_ID))
        order.append(EVENT_ID)
    out = lf.select(exprs).with_columns(utc(pl.col(TS), ts_type))
    if lexical:
        # stable: with no seq column, the input order breaks timestamp ties
        return out.sort(order, maintain_order=True, nulls_last=True)
    events = out.collect()
    if _grouped_and_ordered(events, order):
        return events.lazy()
    # hash first (a cheap fixed-width key that groups a case's events), the id
    # itself to separate hash collisions, then time order; the row index makes
    # the unstable (faster) sort give exactly the stable result
    keys = [pl.col(CASE).hash(), *(pl.col(c) for c in order), pl.col("__row")]
    return events.with_row_index("__row").sort(keys).drop("__row").lazy()


def _grouped_and_ordered(events: pl.DataFrame, order: list[str]) -> bool:
    """Whether each case's events are contiguous and already in ``order[1:]`` order."""
    if events.height < 2:
        return True
    if any(events.get_column(c).null_count() for c in order):
        return False
    same = pl.col(CASE) == pl.col(CASE).shift(1)
    # (ts, seq, event_id) must not decrease inside a case: lexicographic comparison
    backwards = pl.lit(False)
    equal_so_far = pl.lit(True)
    for col in order[1:]:
        prev = pl.col(col).shift(1)
        backwards = backwards | (equal_so_far & (pl.col(col) < prev))
        equal_so_far = equal_so_far & (pl.col(col) == prev)
    flags = events.select(
        (same & backwards).fill_null(False).any().alias("backwards"),
        (~same.fill_null(False)).alias("head"),
    )
    if flags.get_column("backwards")[0]:
        return False
    # the cases are contiguous when the first rows of their runs name distinct cases: only
    # those rows (one per run, not one per event) are compared and hashed
    heads = events.get_column(CASE).filter(flags.get_column("head"))
    if not (heads < heads.shift(1)).fill_null(False).any():
        return True  # runs in ascending order (the store's log) are distinct cases
    # a hash collision can only make the check fail (then we sort), never pass wrongly
    return bool(heads.hash().n_unique() == heads.len())


def utc(expr: pl.Expr, dtype: pl.DataType) -> pl.Expr:
    """A datetime expression as UTC-aware (naive values are taken as UTC)."""
    if isinstance(dtype, pl.Date):
        return expr.cast(pl.Datetime("us")).dt.replace_time_zone("UTC")
    assert isinstance(dtype, pl.Datetime)
    if dtype.time_zone is None:
        return expr.dt.replace_time_zone("UTC")
    return expr.dt.convert_time_zone("UTC")


def seconds(delta: pl.Expr) -> pl.Expr:
    """A duration expression in seconds as float (nanosecond precision)."""
    return delta.dt.total_nanoseconds().cast(pl.Float64) / 1e9


def successor_pairs(sorted_lf: pl.LazyFrame, value: str) -> pl.LazyFrame:
    """Consecutive events of one case: ``source``, ``target`` and ``wait_s``.

    ``sorted_lf`` comes from :func:`sorted_events`; one linear pass with a
    global shift, keeping rows whose successor belongs to the same case.
    ``source``/``target`` are Categorical (a handful of distinct activities
    over millions of rows: grouping on their codes is about twice as fast);
    callers cast them back to String in their output.
    """
    nxt_case = pl.col(CASE).shift(-1)
    code = pl.col(value).cast(pl.String).cast(pl.Categorical)
    return (
        sorted_lf.select(
            pl.col(CASE),
            code.alias("source"),
            code.shift(-1).alias("target"),
            seconds(pl.col(TS).shift(-1) - pl.col(TS)).alias("wait_s"),
            (nxt_case == pl.col(CASE)).alias("__same"),
        )
        .filter(pl.col("__same"))
        .drop("__same")
    )
