"""The one stage-visit kernel: where each case *is* in the designed workflow, event by event.

Every consumer of stages — conformance (flow, timing), failure patterns
(rework, stalls, reopens), seams and the stage map — reads the frames this
module returns, so they all agree on what a visit is.

**Which events move a case.** A work item's events come from several
systems, and they do not all say where the item is. An event *sets the
stage* (``sets_stage``) when it belongs to the item's authoritative state:

- the events matching the design's ``state:`` patterns, when it lists any
  (e.g. ``["jira:Status: *", "jira:Issue created"]``);
- otherwise the events of the work item itself (an object of a type in
  :data:`wfmine.store.WORK_ITEM_TYPES`: a Jira issue, a standard log's case);
- a case with no such event (a pull request linked to no issue, a classic
  XES log's trace) takes every performed stage event as authoritative, so on
  a standard log every event is its own step, as in pm4py.

Only events someone performed count (a CI result or a merge record whose
actor the export left out reports on work done earlier); a log that names no
actor at all counts every event.

**How a case moves.** A case moves back only when its authoritative state
does:

- an authoritative event moving the state *back* (QA → In Progress, Done →
  Reopened) moves the case back: rework, reopen;
- an authoritative event into a stage the case has not been in since (QA
  after an early merge) moves the case there, even below the furthest stage
  reached: work done out of order;
- any other stage event (a commit, an approval, a merge) may move the case
  *forward*, never back: an approval that lands after the tracker moved on is
  late work of the earlier stage, not a return to it;
- a tracker that lags behind (the pull request approved and merged before the
  issue was moved to "In Review") does not pull the case back either: it
  names a stage whose work was already seen;
- but the tracker changing status *within* its stage (In Progress → Blocked)
  after other sources carried the case beyond it (the pull request in review)
  says the work is still there: the case is back in the tracker's stage.

Each event keeps its own ``stage`` (the design's mapping, which performer and
gate checks read) and gets ``at_stage`` (the stage the case is in after it,
forward-filled over unmapped events too) and ``visit`` (the visit it belongs
to). :func:`stage_visits` collapses each run of one ``at_stage`` into a visit.

>>> import datetime as dt, polars as pl
>>> from wfmine.design import load_design_text
>>> d = load_design_text('''
... stages:
...   - {id: build, activities: ["jira:Status: In Progress", "github:Commit pushed"]}
...   - {id: review, activities: ["jira:Status: In Review", "github:PR approved"]}
...   - {id: qa, activities: ["jira:Status: QA"]}
... transitions: [[build, review], [review, qa]]
... ''')
>>> t = [dt.datetime(2025, 1, d, tzinfo=dt.UTC) for d in (1, 2, 3, 4)]
>>> log = pl.DataFrame({"case_id": ["jira:A-1"] * 4, "timestamp": t, "seq": [0, 1, 2, 3],
...     "event_id": ["e1", "e2", "e3", "e4"], "actor_id": ["ann", "bob", "ann", "bob"],
...     "source": ["jira", "jira", "jira", "github"],
...     "activity": ["Status: In Progress", "Status: In Review", "Status: QA", "PR approved"],
...     "object_id": ["jira:A-1"] * 3 + ["github:r#pr/1"],
...     "object_type": ["issue"] * 3 + ["pull_request"]})
>>> stage_visits(stage_events(log, d))["stage"].to_list()  # the late approval stays in qa
['build', 'review', 'qa']
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final, Literal

import polars as pl

from wfmine.design import Design, agent_keys, map_stages, pattern_regex
from wfmine.model import is_sorted
from wfmine.store import WORK_ITEM_TYPES

__all__ = [
    "CASE_ORDER",
    "OUT_OF_SCOPE_SCHEMA",
    "SCOPES",
    "VISIT_SCHEMA",
    "Scope",
    "UnknownKind",
    "case_scope",
    "first_in_group",
    "in_case_order",
    "in_kernel_order",
    "index_in_group",
    "last_in_group",
    "shift_in_group",
    "sorted_by",
    "stage_events",
    "stage_visits",
]

#: the order every analysis uses; ``seq`` and ``event_id`` break timestamp ties
CASE_ORDER: Final = ("case_id", "timestamp", "seq", "event_id")
UnknownKind = Literal["human", "agent"] | None
Scope = Literal["work_items", "mapped", "all"]
#: which cases an analysis judges (see :func:`case_scope`)
SCOPES: Final[tuple[Scope, ...]] = ("work_items", "mapped", "all")

OUT_OF_SCOPE_SCHEMA: Final = pl.Schema(
    {
        "case_id": pl.String(),
        "object_type": pl.String(),  # the type of the case's own object (or of its first event's)
        "events": pl.Int64(),
        "reason": pl.String(),  # no_stage_events | no_work_item
    }
)

#: columns of :func:`stage_visits`
VISIT_SCHEMA: Final = pl.Schema(
    {
        "case_id": pl.String(),
        "visit": pl.Int64(),  # 1-based within the case
        "stage": pl.String(),
        "start": pl.Datetime("us", "UTC"),  # the entering event's time
        "last": pl.Datetime("us", "UTC"),  # the visit's last event of its own stage
        "end": pl.Datetime("us", "UTC"),  # the next visit's start, else ``last``
        "event_id": pl.String(),  # the entering event
        "actor_id": pl.String(),
        "pos": pl.Int64(),
        "events": pl.UInt32(),  # stage events attributed to the visit (late ones included)
    }
)

_NEEDED: Final[dict[str, pl.DataType]] = {
    "case_id": pl.String(),
    "activity": pl.String(),
    "timestamp": pl.Datetime("us", "UTC"),
    "seq": pl.Int64(),
    "event_id": pl.String(),
    "actor_id": pl.String(),
    "resource": pl.String(),
    "actor_kind": pl.String(),
    "team": pl.String(),
    "source": pl.String(),
    "object_id": pl.String(),
    "object_type": pl.String(),
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


def _fill_in_group(expr: pl.Expr, key: str) -> pl.Expr:
    """``expr.forward_fill().over(key)`` for a frame grouped contiguously by ``key``."""
    run = first_in_group(key).cum_sum()
    # a value tagged with its run number never leaks into the next run
    tagged = pl.when(expr.is_not_null()).then(run).otherwise(None).forward_fill()
    return pl.when(tagged == run).then(expr.forward_fill()).otherwise(None)


def in_case_order(df: pl.DataFrame, by: Sequence[str] = CASE_ORDER) -> bool:
    """Is ``df`` already sorted by :data:`CASE_ORDER` (or the columns ``by``; no nulls in them)?

    :func:`wfmine.model.is_sorted`, one vectorised comparison of each row with
    the previous one, so an ordered log (``Store.log()`` is) is not sorted, i.e.
    not copied, again; a frame without one of the columns is not in that order.
    """
    if df.height < 2 or any(k not in df.columns for k in by):
        return df.height < 2
    return is_sorted(df, by)


def sorted_by(df: pl.DataFrame, by: Sequence[str]) -> pl.DataFrame:
    """``df.sort(by)``, or ``df`` itself when it is in that order already (no nulls in ``by``).

    For frames derived in case order (visits, their timing): one comparison per row
    instead of a sort on the case ids.
    """
    return df if in_case_order(df, by) else df.sort(list(by))


def _ordered(log: pl.DataFrame, *, ordered: bool = False) -> pl.DataFrame:
    """The kernel's columns of ``log`` (missing ones null), in :data:`CASE_ORDER`, with ``pos``
    (``ordered``: ``log`` is in that order already, nulls last: not checked again)."""
    missing = [
        pl.lit(None, dtype=dtype).alias(name)
        for name, dtype in _NEEDED.items()
        if name not in log.columns
    ]
    df = (log.with_columns(missing) if missing else log).select(list(_NEEDED))
    if df.schema["timestamp"] != _NEEDED["timestamp"]:
        df = df.with_columns(pl.col("timestamp").cast(_NEEDED["timestamp"]))
    if not ordered and not in_case_order(df):  # a store's log is: sorting would copy every column
        df = df.sort(list(CASE_ORDER), nulls_last=True, maintain_order=True)
    return df.with_columns(pl.int_range(pl.len(), dtype=pl.Int64).alias("pos"))


def _state_expr(design: Design) -> pl.Expr:
    """True for events of the authoritative state (before the per-case fallback)."""
    if design.state:
        rx = "^(?:" + "|".join(pattern_regex(p) for p in design.state) + ")$"
        key = pl.concat_str(
            [pl.col("source").fill_null(""), pl.lit(":"), pl.col("activity").fill_null("")]
        )
        return key.str.contains(rx)
    return pl.col("object_type").is_in(list(WORK_ITEM_TYPES)).fill_null(False)


def stage_events(
    log: pl.DataFrame,
    design: Design,
    *,
    accounts: pl.DataFrame | None = None,
    unknown_kind: UnknownKind = "human",
    ordered: bool = False,
) -> pl.DataFrame:
    """The log in case order with where each case is, event by event (see the module docstring).

    Adds ``pos`` (global position: "before" is an integer comparison),
    ``stage`` (the event's own stage; null when unmapped, ``other`` with
    ``unmapped: keep``), ``agent`` (the sanctioned agent it was performed by),
    ``kind`` (effective performer: ``human`` / ``agent`` / null when unknown
    and not assumed), ``performed``, ``sets_stage`` (part of the authoritative
    state), ``moves`` (the event moved the case into a new visit),
    ``at_stage`` (the stage the case is in after the event) and ``visit``
    (1-based; null before the first stage event).

    ``accounts`` (``account_id``, ``actor_id``) lets registry accounts match
    resolved actors. Actors of unknown kind count as ``unknown_kind``. ``ordered``: the
    caller knows ``log`` is in :data:`CASE_ORDER` with nulls last (sorted so, as
    :func:`wfmine.analysis.conform_log` leaves it), so its order is not checked again --
    sorting such a log would leave it as it is.
    """
    df = map_stages(_ordered(log, ordered=ordered), design)
    keys = agent_keys(design, accounts)
    if keys:
        agent = pl.coalesce(
            pl.col("actor_id").replace_strict(keys, default=None, return_dtype=pl.String),
            pl.col("resource").replace_strict(keys, default=None, return_dtype=pl.String),
        )
    else:
        agent = pl.lit(None, dtype=pl.String)
    raw = pl.col("actor_kind").fill_null("unknown")
    nobody = pl.col("actor_id").is_null() & pl.col("resource").is_null()
    kind = (
        pl.when(nobody)
        .then(None)
        .when(pl.col("agent").is_not_null() | raw.is_in(["agent", "bot"]))
        .then(pl.lit("agent"))
        .when(raw == "human")
        .then(pl.lit("human"))
        .otherwise(pl.lit(unknown_kind, dtype=pl.String))
    )
    anyone = bool(df.height) and not bool(df.select(nobody.all()).item())
    performed = ~nobody if anyone else pl.lit(True)
    df = df.with_columns(agent.alias("agent")).with_columns(
        kind.alias("kind"), performed.alias("performed")
    )
    order = {s: i for i, s in enumerate(design.stage_ids)}
    code = pl.col("stage").replace_strict(order, default=None, return_dtype=pl.Int64)
    candidate = code.is_not_null() & pl.col("performed")
    state = candidate & _state_expr(design)
    run = first_in_group("case_id").cum_sum()
    df = df.with_columns(
        code.alias("_code"),
        candidate.alias("_cand"),
        state.alias("_state"),
        run.alias("_case"),
    )
    # a case none of whose stage events is of its authoritative state: every one is. The
    # cases are runs numbered 1, 2, ...: a case has one where the running count of them
    # at its last row exceeds that at the previous case's
    counts = df.select(
        pl.col("_state").fill_null(False).cast(pl.Int64).cum_sum().alias("_n"),
        last_in_group("_case").alias("_l"),
    )
    so_far = counts.filter(pl.col("_l")).get_column("_n")
    has_state = (so_far - so_far.shift(1, fill_value=0)) > 0
    df = df.with_columns(pl.lit(has_state).gather(pl.col("_case") - 1).alias("_has_state"))
    sets = pl.col("_cand") & (pl.col("_state") | ~pl.col("_has_state"))
    df = df.with_columns(sets.alias("sets_stage"))
    # the previous authoritative stage of the case; a lower one moves the case back
    carry = (
        pl.when(pl.col("sets_stage"))
        .then(pl.col("_code"))
        .when(first_in_group("_case"))
        .then(pl.lit(-1, dtype=pl.Int64))
        .otherwise(None)
        .forward_fill()
    )
    previous = pl.when(first_in_group("_case")).then(None).otherwise(carry.shift(1))
    back = pl.col("sets_stage") & (pl.col("_code") < previous).fill_null(False)
    width = len(order) + 1
    df = df.with_columns((first_in_group("_case") | back).cum_sum().alias("_seg"))
    # an authoritative event for a stage with no event yet since the state last moved
    # back is a real visit, even below the furthest stage (QA after an early merge); one
    # for a stage already seen is the tracker catching up, not a move
    seen = pl.when(pl.col("_cand")).then(pl.col("_seg") * width + pl.col("_code"))
    novel = pl.col("sets_stage") & seen.is_first_distinct()
    df = df.with_columns((first_in_group("_case") | back | novel).alias("_starts"))
    df = df.with_columns(pl.col("_starts").cum_sum().alias("_seg"))
    # the furthest stage reached in the segment: a running max made segment-local by
    # offsetting each segment above every earlier one
    tagged = pl.col("_seg") * width + pl.when(pl.col("_cand")).then(pl.col("_code") + 1).otherwise(
        0
    )
    reached = tagged.cum_max() - pl.col("_seg") * width - 1
    # the tracker changing status within its stage (In Progress -> Blocked) after other
    # sources carried the case beyond it (a pull request in review) says the work is still
    # there: the case is back in the tracker's stage (a lagging tracker moving *forward*
    # to a stage already passed names work already seen, and does not)
    status = pl.when(pl.col("sets_stage")).then(pl.col("activity")).forward_fill()
    changed = status != pl.when(first_in_group("_case")).then(None).otherwise(status.shift(1))
    held = (
        pl.col("sets_stage")
        & (pl.col("_code") == previous).fill_null(False)
        & changed.fill_null(False)
        & (pl.col("_code") < shift_in_group(reached, "_case")).fill_null(False)
    )
    df = df.with_columns((pl.col("_starts") | held).cum_sum().alias("_seg"))
    names = pl.Series(design.stage_ids, dtype=pl.String)
    df = df.with_columns(
        pl.when(reached >= 0)
        .then(pl.lit(names).gather(reached.clip(lower_bound=0)))
        .otherwise(None)
        .alias("at_stage")
    )
    at = pl.col("at_stage")
    moves = at.is_not_null() & (
        first_in_group("_case") | (at != at.shift(1)) | at.shift(1).is_null()
    ).fill_null(True)
    df = df.with_columns(moves.alias("moves"))
    visit = pl.col("moves").cast(pl.Int64).cum_sum()
    start_of_case = pl.when(first_in_group("_case")).then(visit - pl.col("moves").cast(pl.Int64))
    df = df.with_columns(
        pl.when(at.is_not_null())
        .then(visit - start_of_case.forward_fill())
        .otherwise(None)
        .alias("visit")
    )
    return df.drop("_code", "_cand", "_state", "_case", "_has_state", "_seg", "_starts")


def in_kernel_order(events: pl.DataFrame) -> bool:
    """Are ``events`` rows of :func:`stage_events` in its order (``pos`` rising)?

    Then each case's rows, and each visit's, are runs of consecutive rows.
    """
    if (
        "pos" not in events.columns
        or events.select(pl.col("pos", "case_id").null_count()).sum_horizontal().item()
    ):
        return False
    return events.height < 2 or bool(events.select((pl.col("pos").diff() > 0).all()).item())


def stage_visits(events: pl.DataFrame) -> pl.DataFrame:
    """One row per stage visit (:data:`VISIT_SCHEMA`), in case order, from :func:`stage_events`.

    A visit starts at the event that moved the case into its stage and runs
    to the next visit's start (``end``); ``last`` is the visit's last event of
    its own stage (late events of other stages are attributed to the visit
    they happen in, but do not extend it). ``events`` counts the stage events
    attributed to the visit.
    """
    read = ["case_id", "visit", "at_stage", "stage", "timestamp", "event_id", "actor_id", "pos"]
    inside = events.select(read).filter(pl.col("visit").is_not_null())  # the columns read
    own = pl.col("stage") == pl.col("at_stage")
    mapped = pl.col("stage").is_not_null() & (pl.col("stage") != "other")
    if in_kernel_order(inside) and inside.get_column("timestamp").null_count() == 0:
        return _visit_runs(inside, own, mapped)
    if in_kernel_order(inside):
        # each (case, visit) is one run of rows: group on the run's number, not on the strings
        run = (first_in_group("case_id") | (pl.col("visit") != pl.col("visit").shift(1))).fill_null(
            True
        )
        groups = inside.with_columns(run.cum_sum().alias("_run")).group_by(
            "_run", maintain_order=True
        )
        keys = [pl.col("case_id").first(), pl.col("visit").first()]
    else:
        groups = inside.group_by("case_id", "visit", maintain_order=True)
        keys = []
    visits = groups.agg(
        *keys,
        pl.col("at_stage").first().alias("stage"),
        pl.col("timestamp").first().alias("start"),
        pl.col("timestamp").filter(own).max().alias("last"),
        pl.col("event_id").first(),
        pl.col("actor_id").first(),
        pl.col("pos").first(),
        mapped.sum().cast(pl.UInt32).alias("events"),
    )
    visits = visits.with_columns(pl.col("last").fill_null(pl.col("start")))
    out = visits.with_columns(
        shift_in_group(pl.col("start"), "case_id", -1).fill_null(pl.col("last")).alias("end")
    )
    return out.select(VISIT_SCHEMA.names()).cast(VISIT_SCHEMA)


def _visit_runs(inside: pl.DataFrame, own: pl.Expr, mapped: pl.Expr) -> pl.DataFrame:
    """:func:`stage_visits` of events in the kernel's order with every timestamp: each visit
    is a run of rows; its first row gives its start, event, actor and position, and its
    figures are read at its last row -- ``last`` is the time of its last own-stage row (times
    rise within a case), ``events`` the mapped rows counted so far less those before it."""
    row = pl.int_range(pl.len(), dtype=pl.Int64)
    head = (first_in_group("case_id") | (pl.col("visit") != pl.col("visit").shift(1))).fill_null(
        True
    )
    marks = inside.select(
        row.alias("_i"),
        head.alias("_head"),
        head.shift(-1, fill_value=True).alias("_tail"),
        # the last own-stage row so far; the mapped rows up to this one and before it
        pl.when(own.fill_null(False)).then(row).forward_fill().alias("_own"),
        mapped.cast(pl.Int64).cum_sum().alias("_mapped"),
        (mapped.cast(pl.Int64).cum_sum() - mapped.cast(pl.Int64)).alias("_prior"),
    )
    firsts = marks.filter(pl.col("_head")).select("_i", "_prior")
    lasts = marks.filter(pl.col("_tail")).select("_own", "_mapped")
    first_at, own_at = firsts.get_column("_i"), lasts.get_column("_own")
    times = inside.get_column("timestamp")
    visits = inside.filter(marks.get_column("_head")).select(
        "case_id",
        "visit",
        pl.col("at_stage").alias("stage"),
        pl.col("timestamp").alias("start"),
        "event_id",
        "actor_id",
        "pos",
    )
    visits = visits.with_columns(
        # a visit without an own-stage row has no last one of its own: its start
        pl.when(own_at >= first_at)
        .then(times.gather(own_at.fill_null(0)))
        .otherwise(pl.col("start"))
        .alias("last"),
        (lasts.get_column("_mapped") - firsts.get_column("_prior")).cast(pl.UInt32).alias("events"),
    )
    out = visits.with_columns(
        shift_in_group(pl.col("start"), "case_id", -1).fill_null(pl.col("last")).alias("end")
    )
    return out.select(VISIT_SCHEMA.names()).cast(VISIT_SCHEMA)


def case_scope(
    events: pl.DataFrame, scope: Scope = "work_items"
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Split the cases of :func:`stage_events`' frame into those the design speaks about and the others.

    A design describes how *work items* flow through its stages, so with
    ``scope="work_items"`` (default) a case is judged when it has at least
    one event mapped to a design stage and — if the log has work items at
    all (objects of a type in :data:`wfmine.store.WORK_ITEM_TYPES`: Jira
    issues, standard logs' cases) — at least one event of a work item. A
    Slack thread or e-mail linked to no issue, a bot's pull request with no
    ticket, a tracking issue: these are other activity, not runs of the
    designed workflow. ``"mapped"`` judges every case with a mapped event,
    ``"all"`` every case.

    Returns (``case_id`` of the cases in scope, the out-of-scope frame,
    :data:`OUT_OF_SCOPE_SCHEMA`).
    """
    mapped = pl.col("stage").is_not_null() & (pl.col("stage") != "other")
    work_item = pl.col("object_type").is_in(list(WORK_ITEM_TYPES)).fill_null(False)
    own = pl.col("object_id") == pl.col("case_id")
    per_case = _case_runs(events, mapped, work_item, own)
    if per_case is None:
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
    in_scope = per_case.filter(pl.col("reason").is_null()).select("case_id").sort("case_id")
    out = (
        per_case.filter(pl.col("reason").is_not_null())
        .select(OUT_OF_SCOPE_SCHEMA.names())
        .cast(OUT_OF_SCOPE_SCHEMA)
        .sort("case_id")
    )
    return in_scope, out


def _case_runs(
    events: pl.DataFrame, mapped: pl.Expr, work_item: pl.Expr, own: pl.Expr
) -> pl.DataFrame | None:
    """:func:`case_scope`'s per-case figures read off the case runs of events in the kernel's
    order (each case one run of rows, the runs in ascending case id; else ``None``): whether
    a case has a mapped event and a work item's (running counts read at its first and last
    rows), its events, and the object type of its own object's first event, else of its
    first event -- no group-by of every event on the case id strings."""
    if events.height == 0 or not in_kernel_order(events):
        return None
    rows = events.select(
        "case_id",
        "object_type",
        first_in_group("case_id").alias("_h"),
        mapped.fill_null(False).cast(pl.Int64).cum_sum().alias("_m"),
        work_item.cast(pl.Int64).cum_sum().alias("_w"),
        own.fill_null(False).alias("_own"),
    )
    heads = rows.with_row_index("_start").filter(pl.col("_h"))
    if not heads.get_column("case_id").is_sorted():  # a case in two runs
        return None
    start = heads.get_column("_start").cast(pl.Int64)
    end = start.shift(-1, fill_value=rows.height) - 1
    before = pl.lit(start) - 1  # the running counts before the case: at the row before it

    def count(col: str) -> pl.Series:
        run = rows.get_column(col)
        prior = pl.select(
            pl.when(before >= 0).then(pl.lit(run).gather(before.clip(lower_bound=0))).otherwise(0)
        ).to_series()
        return run.gather(end) - prior

    owned = (
        rows.select(pl.col("_h").cum_sum().alias("_r"), "object_type", "_own")
        .filter(pl.col("_own"))
        .filter(first_in_group("_r"))
        .select("_r", pl.col("object_type").alias("_own_type"))
    )
    return (
        heads.select(
            "case_id",
            (count("_m") > 0).alias("_mapped"),
            (count("_w") > 0).alias("_work_item"),
            (end - start + 1).alias("events"),
            pl.int_range(1, pl.len() + 1, dtype=pl.UInt32).alias("_r"),
            "object_type",
        )
        .join(owned, on="_r", how="left", maintain_order="left")
        .select(
            "case_id",
            "_mapped",
            "_work_item",
            "events",
            pl.coalesce("_own_type", "object_type").alias("object_type"),
        )
    )
