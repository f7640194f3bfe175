"""Prepare a flat log for conformance: order it, map events to stages, judge performer kinds.

Every checker reads the frame :func:`prepare` returns: the log sorted once by
(case, timestamp, seq, event_id) with a global position ``pos`` (so "before"
is a plain integer comparison within a case), the ``stage`` of each event, the
sanctioned ``agent`` it was performed by (if any) and the effective performer
``kind`` (``human`` / ``agent`` / null when unknown and not assumed).
:func:`stage_visits` collapses consecutive events of one stage into a visit.
"""

from __future__ import annotations

from typing import Any, Final, Literal

import polars as pl

from wfmine.design import Design, agent_keys, map_stages
from wfmine.store import WORK_ITEM_TYPES

__all__ = [
    "CASE_ORDER",
    "SCOPES",
    "Scope",
    "UnknownKind",
    "case_scope",
    "first_in_group",
    "in_case_order",
    "index_in_group",
    "last_in_group",
    "prepare",
    "shift_in_group",
    "stage_visits",
]

#: the order every analysis uses; ``seq`` and ``event_id`` break timestamp ties
CASE_ORDER: Final = ("case_id", "timestamp", "seq", "event_id")
UnknownKind = Literal["human", "agent"] | None
Scope = Literal["work_items", "mapped", "all"]
#: which cases :func:`wfmine.conformance.check` judges (see :func:`case_scope`)
SCOPES: Final[tuple[Scope, ...]] = ("work_items", "mapped", "all")

_OUT_OF_SCOPE: Final[dict[str, Any]] = {
    "case_id": pl.String,
    "object_type": pl.String,  # the type of the case's own object (or of its first event's)
    "events": pl.Int64,
    "reason": pl.String,  # no_stage_events | no_work_item
}

_NEEDED: Final[dict[str, Any]] = {
    "case_id": pl.String,
    "activity": pl.String,
    "timestamp": pl.Datetime("us", "UTC"),
    "seq": pl.Int64,
    "event_id": pl.String,
    "actor_id": pl.String,
    "resource": pl.String,
    "actor_kind": pl.String,
    "team": pl.String,
    "source": pl.String,
    "object_id": pl.String,
    "object_type": pl.String,
}


# -- scans over a frame whose groups are contiguous (sorted by the group key) -----------
# ``expr.over(key)`` hashes the key for every call; on a log sorted once by case a
# group boundary is a comparison with the previous row, about a hundred times cheaper.


def first_in_group(key: str) -> pl.Expr:
    """True on the first row of each run of equal ``key`` values."""
    return (pl.col(key) != pl.col(key).shift(1)).fill_null(True)


def last_in_group(key: str) -> pl.Expr:
    """True on the last row of each run of equal ``key`` values."""
    return (pl.col(key) != pl.col(key).shift(-1)).fill_null(True)


def shift_in_group(expr: pl.Expr, key: str, n: int = 1) -> pl.Expr:
    """``expr.shift(n).over(key)`` for a frame grouped contiguously by ``key`` (``n`` = ±1)."""
    edge = first_in_group(key) if n > 0 else last_in_group(key)
    return pl.when(edge).then(None).otherwise(expr.shift(n))


def index_in_group(key: str) -> pl.Expr:
    """0-based row number within each run of equal ``key`` values."""
    row = pl.int_range(pl.len(), dtype=pl.Int64)
    return row - pl.when(first_in_group(key)).then(row).otherwise(None).forward_fill()


def in_case_order(df: pl.DataFrame) -> bool:
    """Is ``df`` already sorted by :data:`CASE_ORDER` (no nulls in the keys)?

    One vectorised comparison of each row with the previous one, so an
    ordered log (``Store.log()`` is) is not sorted, i.e. not copied, again.
    """
    keys = list(CASE_ORDER)
    if df.height < 2 or any(k not in df.columns for k in keys):
        return df.height < 2
    if df.select(pl.any_horizontal(pl.col(keys).is_null().any())).item():
        return False
    ok: pl.Expr = pl.col(keys[-1]) >= pl.col(keys[-1]).shift(1)
    for key in reversed(keys[:-1]):
        col = pl.col(key)
        ok = (col > col.shift(1)) | ((col == col.shift(1)) & ok)
    return bool(df.select(ok.fill_null(True).all()).item())


def prepare(
    log: pl.DataFrame,
    design: Design,
    *,
    accounts: pl.DataFrame | None = None,
    unknown_kind: UnknownKind = "human",
) -> pl.DataFrame:
    """The log ordered, with ``pos``, ``stage``, ``agent`` and ``kind`` columns.

    ``accounts`` (``account_id``, ``actor_id``) lets registry accounts match
    resolved actors. Actors of unknown kind count as ``unknown_kind`` (a
    person unless a platform or the registry says otherwise), or are not
    judged when it is ``None``.
    """
    missing = [
        pl.lit(None, dtype=dtype).alias(name)
        for name, dtype in _NEEDED.items()
        if name not in log.columns
    ]
    df = (log.with_columns(missing) if missing else log).select(list(_NEEDED))
    if df.schema["timestamp"] != _NEEDED["timestamp"]:
        df = df.with_columns(pl.col("timestamp").cast(_NEEDED["timestamp"]))
    if not in_case_order(df):  # a store's log is: sorting would copy every column
        df = df.sort(list(CASE_ORDER), nulls_last=True, maintain_order=True)
    df = df.with_columns(pl.int_range(pl.len(), dtype=pl.Int64).alias("pos"))
    df = map_stages(df, design)
    keys = agent_keys(design, accounts)
    if keys:
        agent = pl.coalesce(
            pl.col("actor_id").replace_strict(keys, default=None, return_dtype=pl.String),
            pl.col("resource").replace_strict(keys, default=None, return_dtype=pl.String),
        )
    else:
        agent = pl.lit(None, dtype=pl.String)
    df = df.with_columns(agent.alias("agent"))
    raw = pl.col("actor_kind").fill_null("unknown")
    kind = (
        pl.when(pl.col("actor_id").is_null() & pl.col("resource").is_null())
        .then(None)
        .when(pl.col("agent").is_not_null() | raw.is_in(["agent", "bot"]))
        .then(pl.lit("agent"))
        .when(raw == "human")
        .then(pl.lit("human"))
        .otherwise(pl.lit(unknown_kind, dtype=pl.String))
    )
    return df.with_columns(kind.alias("kind"))


def stage_visits(events: pl.DataFrame) -> pl.DataFrame:
    """One row per stage visit: consecutive mapped events of a case in the same stage.

    Columns: ``case_id``, ``visit`` (1-based within the case), ``stage``,
    ``start``/``last`` (first and last event time), ``end`` (the next
    visit's start, else ``last``), ``event_id``/``actor_id`` of the entering
    event, ``pos``, ``events``. Unmapped events (null or ``other``) are skipped,
    so they neither split nor create a visit. ``events`` must be in
    :data:`CASE_ORDER` (as :func:`prepare` returns it); so are the visits.
    """
    mapped = events.select("case_id", "stage", "timestamp", "event_id", "actor_id", "pos").filter(
        pl.col("stage").is_not_null() & (pl.col("stage") != "other")
    )
    new_case = first_in_group("case_id")
    new_visit = new_case | (pl.col("stage") != pl.col("stage").shift(1)).fill_null(True)
    mapped = mapped.with_columns(new_visit.cum_sum().cast(pl.Int64).alias("_vid"))
    mapped = mapped.with_columns(
        (
            pl.col("_vid")
            - pl.when(new_case).then(pl.col("_vid")).otherwise(None).forward_fill()
            + 1
        ).alias("visit")
    )
    visits = mapped.group_by("_vid", maintain_order=True).agg(
        pl.col("case_id").first(),
        pl.col("visit").first(),
        pl.col("stage").first(),
        pl.col("timestamp").first().alias("start"),
        pl.col("timestamp").last().alias("last"),
        pl.col("event_id").first(),
        pl.col("actor_id").first(),
        pl.col("pos").first(),
        pl.len().alias("events"),
    )
    return visits.drop("_vid").with_columns(
        shift_in_group(pl.col("start"), "case_id", -1).fill_null(pl.col("last")).alias("end")
    )


def case_scope(
    events: pl.DataFrame, scope: Scope = "work_items"
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Split the cases of a prepared log into those the design speaks about and the others.

    A design describes how *work items* flow through its stages, so with
    ``scope="work_items"`` (default) a case is judged when it has at least
    one event mapped to a design stage and — if the log has work items at
    all (objects of a type in :data:`wfmine.store.WORK_ITEM_TYPES`: Jira
    issues, standard logs' cases) — at least one event of a work item. A
    Slack thread or e-mail linked to no issue, a bot's pull request with no
    ticket, a tracking issue: these are other activity, not runs of the
    designed workflow. ``"mapped"`` judges every case with a mapped event,
    ``"all"`` every case.

    Returns (``case_id`` of the cases in scope, the out-of-scope frame with
    ``case_id``, ``object_type``, ``events`` and ``reason``).
    """
    mapped = pl.col("stage").is_not_null() & (pl.col("stage") != "other")
    work_item = pl.col("object_type").is_in(list(WORK_ITEM_TYPES)).fill_null(False)
    own = pl.col("object_id") == pl.col("case_id")
    per_case = events.group_by("case_id").agg(
        mapped.any().alias("_mapped"),
        work_item.any().alias("_work_item"),
        pl.len().cast(pl.Int64).alias("events"),
        pl.coalesce(
            pl.col("object_type").filter(own.fill_null(False)).first(),
            pl.col("object_type").sort_by("pos").first(),
        ).alias("object_type"),
    )
    need_work_item = scope == "work_items" and bool(per_case.get_column("_work_item").any())
    reason = (
        pl.when(pl.lit(scope == "all"))
        .then(None)
        .when(~pl.col("_mapped"))
        .then(pl.lit("no_stage_events"))
        .when(pl.lit(need_work_item) & ~pl.col("_work_item"))
        .then(pl.lit("no_work_item"))
        .otherwise(None)
    )
    per_case = per_case.with_columns(reason.alias("reason"))
    in_scope = per_case.filter(pl.col("reason").is_null()).select("case_id")
    out = (
        per_case.filter(pl.col("reason").is_not_null())
        .select(list(_OUT_OF_SCOPE))
        .cast(pl.Schema(_OUT_OF_SCOPE))
        .sort("case_id")
    )
    return in_scope, out
