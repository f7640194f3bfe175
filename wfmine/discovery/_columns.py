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

from dataclasses import dataclass
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


@dataclass(frozen=True)
class Events:
    """A log's events in kernel order, with where each case starts.

    ``frame`` has :data:`CASE`, :data:`TS` and the selected columns, each
    case's events together and in (timestamp, seq, event_id) order. ``head``
    is True at the first event of each run of equal case ids (consecutive
    null ids are one run, as a group-by makes them one case): the order check
    computes it anyway, and every kernel cuts the events into cases with it,
    so it is computed once, not once per kernel.
    """

    frame: pl.DataFrame
    head: pl.Series

    def case_starts(self) -> pl.Series:
        """``head``, with every null-id event a case of its own.

        The directly-follows pairs and the variants never join two events of
        unknown case (``null == null`` is not true), unlike :attr:`head`.
        """
        case = self.frame.get_column(CASE)
        if not case.null_count():
            return self.head
        return self.head | case.is_null()

    def last_of_case(self) -> pl.Series:
        """True at the last event of each run of :attr:`head` (a case's last event)."""
        return self.head.shift(-1, fill_value=True)


def ordered_events(
    log: EventFrame,
    *,
    case_id_key: str,
    timestamp_key: str,
    seq_key: str | None,
    columns: dict[str, str],
) -> Events:
    """Select ``columns`` (input name -> internal name) and order events once.

    Every kernel needs each case's events *together* and in (timestamp, seq,
    event_id) order; none needs the cases themselves in any order, since each
    sorts its own output. So:

    - input that already has that shape (the store's log, most exported
      files) is not sorted again: a linear check costs a fraction of a sort,
      and its case boundaries are what the kernels read next;
    - otherwise cases are grouped by the hash of their id (then the id, so
      collisions cannot interleave cases), which is several times cheaper
      than a string sort on millions of events.

    ``TS`` is a UTC-aware datetime (naive input is read as UTC).
    """
    lf, order = _projection(log, case_id_key, timestamp_key, seq_key, columns)
    events = lf.collect()
    head = _head_if_ordered(events, order)
    if head is not None:
        return Events(events, head)
    # hash first (a cheap fixed-width key that groups a case's events), the id
    # itself to separate hash collisions, then time order; the row index makes
    # the unstable (faster) sort give exactly the stable result
    keys = [pl.col(CASE).hash(), *(pl.col(c) for c in order), pl.col("__row")]
    ordered = events.with_row_index("__row").sort(keys).drop("__row")
    return Events(ordered, ordered.select(_runs()).to_series())


def sorted_events(
    log: EventFrame,
    *,
    case_id_key: str,
    timestamp_key: str,
    seq_key: str | None,
    columns: dict[str, str],
    lexical: bool = False,
) -> pl.LazyFrame:
    """:func:`ordered_events` as a LazyFrame, for kernels that go on lazily.

    ``lexical=True`` sorts cases by their id instead of grouping them (for
    output that lists events, such as :func:`~wfmine.discovery.bridge.to_pm4py`);
    the sort is stable, so with no seq column the input order breaks
    timestamp ties.
    """
    if not lexical:
        return ordered_events(
            log,
            case_id_key=case_id_key,
            timestamp_key=timestamp_key,
            seq_key=seq_key,
            columns=columns,
        ).frame.lazy()
    lf, order = _projection(log, case_id_key, timestamp_key, seq_key, columns)
    return lf.sort(order, maintain_order=True, nulls_last=True)


def _projection(
    log: EventFrame,
    case_id_key: str,
    timestamp_key: str,
    seq_key: str | None,
    columns: dict[str, str],
) -> tuple[pl.LazyFrame, list[str]]:
    """The columns under their internal names, ``TS`` in UTC, and the order keys."""
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
    return lf.select(exprs).with_columns(utc(pl.col(TS), ts_type)), order


def _runs() -> pl.Expr:
    """True where a run of equal case ids starts (consecutive nulls are one run)."""
    return pl.col(CASE).ne_missing(pl.col(CASE).shift(1)).alias("head")


def _head_if_ordered(events: pl.DataFrame, order: list[str]) -> pl.Series | None:
    """The case starts when each case's events are contiguous and in ``order[1:]`` order.

    ``None`` when they are not (or a key is null: the sort decides where nulls go).
    The first later key (the timestamp) is compared on every row; the ones after
    it only on the rows where all before it tie with the row above, usually few,
    so an ``event_id`` string is rarely compared at all.
    """
    if events.height < 2:
        return pl.Series("head", [True] * events.height, dtype=pl.Boolean)
    if any(events.get_column(c).null_count() for c in order):
        return None
    ts, prev = pl.col(order[1]), pl.col(order[1]).shift(1)
    marks = events.select(_runs(), (ts < prev).alias("lt"), (ts == prev).alias("eq"))
    inside = ~pl.col("head")
    verdict = marks.select(
        (inside & pl.col("lt")).any().alias("back"),
        (inside & pl.col("eq")).arg_true().implode().alias("ties"),
    )
    if verdict.item(0, "back"):
        return None
    ties: pl.Series = verdict.item(0, "ties")
    for col in order[2:]:
        if ties.is_empty():
            break
        values = events.get_column(col)
        here, above = values.gather(ties), values.gather(ties - 1)
        if (here < above).any():
            return None
        ties = ties.filter(here == above)
    head = marks.get_column("head")
    if _distinct_runs(events.get_column(CASE), head):
        return head
    return None


def _distinct_runs(case: pl.Series, head: pl.Series) -> bool:
    """Whether no case id starts two runs (each case's events are contiguous)."""
    if case.flags["SORTED_ASC"]:
        return True  # the frame says its ids ascend (polars' flag, e.g. the store's log)
    # only the runs' first rows (one per case, not one per event) are compared and hashed
    heads = case.filter(head)
    if not (heads < heads.shift(1)).any():
        return True  # runs in ascending order (the store's log) are distinct cases
    # a hash collision can only make the check fail (then we sort), never pass wrongly
    return bool(heads.hash().n_unique() == heads.len())


def activity_codes(events: pl.DataFrame, column: str) -> tuple[pl.Series, pl.Series]:
    """The sorted distinct names of ``column`` and each event's code (UInt32).

    A code is 1 + the name's position in the sorted list (an ``Enum``'s
    physical value), 0 for a null: codes compare as the names do, a null
    first, as polars orders them. Kernels group and count codes, integers of
    a handful of values, instead of hashing a string per event.

    The names are first taken from a sample of the events: casting to an
    ``Enum`` of them codes every event whose name the sample holds (one hash
    lookup per event, where finding the names first took another pass, 0.14
    CPU s at 10M events) and leaves null the events of names it missed, which
    are then added: the names are always exactly the column's.
    """
    values = events.get_column(column)
    sample = values.gather_every(max(1, values.len() // _SAMPLE)).drop_nulls().unique()
    names = sample.sort()
    coded = values.cast(pl.Enum(names.to_list()), strict=False)
    if coded.null_count() != values.null_count():
        missed = values.filter(coded.is_null() & values.is_not_null()).unique()
        names = pl.concat([sample, missed]).sort()
        coded = values.cast(pl.Enum(names.to_list()))
    return names, (coded.to_physical().cast(pl.UInt32) + 1).fill_null(0)


#: events sampled for the names of :func:`activity_codes` (a tiny share of a large log)
_SAMPLE: Final = 1 << 16


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
