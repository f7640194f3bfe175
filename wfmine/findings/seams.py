"""Seams: where work passes from one team (or performer kind) to another, and who owns that.

A seam is a handoff of *work*: between two consecutive workflow steps of a
case, the performing team changes (``team`` seams), or the performer kind
changes between human and agent (``performer`` seams); in a classic log
that names resources and no groups, between resources. Workflow steps are
the acts someone performed that the design maps onto the stage the item is
in (late work of an earlier stage, such as an approval landing after the
tracker moved the item on, is not the item coming back), and the acts
of the team owning the stage the item is in (a tester's comments while the
item is in QA are QA's work) -- every act without a design, or when the
design maps none -- read from the stage events of the one stage-visit
kernel (:func:`wfmine.stages.stage_events`). Other teams' messages and
e-mails around a work item are conversation about the work, not the work
changing hands, so they do not make a seam.

Steps performed by automation (a bot account: CI, a tracker automation
rule, a sync script) make no seam by themselves: automation moving an item
to Done hands nothing to anyone. Consecutive steps of one side are one run;
acts with no team are skipped, so no seam is invented across unknown ground.

The *wait* of a handoff is from the handing side's last act on the item to
the receiving side's first act after it -- any act, including those that map
to no stage (an assignment, a message on the item's thread): the work waits
from the moment the giver let go until the taker picks it up, not between
the two status changes.

For every ``from -> to`` pair the table gives handoffs, median / p90 wait,
total wait, the share that stalls, and the share followed by rework (the case
comes back to the giving side later). Against a design each seam is owned
(listed under ``seams:``, or the way back of a designed round trip:
:attr:`wfmine.design.Design.owned_seams`) or unowned.

>>> import polars as pl
>>> seams(pl.DataFrame(schema={"case_id": pl.String, "timestamp": pl.Datetime("us", "UTC"),
...     "seq": pl.Int64, "event_id": pl.String, "team": pl.String,
...     "actor_kind": pl.String})).height
0
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import Any, Final

import polars as pl

from wfmine.design import Design
from wfmine.findings._events import MAPPED, performed, staged_events
from wfmine.findings._runs import dense_numbers, run_starts
from wfmine.findings._shape import Finding
from wfmine.model import is_sorted
from wfmine.stages import first_in_group, index_in_group, shift_in_group
from wfmine.units import human_count, human_duration

__all__ = [
    "MIN_HANDOFFS",
    "STALL_FACTOR",
    "TOP_SEAMS",
    "handoffs",
    "seams",
    "unowned_seams",
    "workflow_steps",
]

#: a handoff stalls when its wait exceeds this many times the median wait of all handoffs
STALL_FACTOR: Final = 3.0
#: an unowned seam needs this many handoffs to become a finding
MIN_HANDOFFS: Final = 3
#: without a design: the seams reported one by one (the rest in one summary finding)
TOP_SEAMS: Final = 5

_SEAM_SCHEMA: Final[dict[str, Any]] = {
    "dimension": pl.String, "from": pl.String, "to": pl.String, "handoffs": pl.UInt32,
    "cases": pl.UInt32, "wait_median_s": pl.Float64, "wait_p90_s": pl.Float64,
    "wait_total_s": pl.Float64, "stall_share": pl.Float64, "rework_share": pl.Float64,
    "owned": pl.Boolean, "owner": pl.String, "first_seen": pl.Datetime("us", "UTC"),
    "last_seen": pl.Datetime("us", "UTC"), "example_cases": pl.List(pl.String),
}  # fmt: skip

_HANDOFF_SCHEMA: Final[dict[str, Any]] = {
    "case_id": pl.String, "from": pl.String, "to": pl.String,
    "left_at": pl.Datetime("us", "UTC"), "taken_at": pl.Datetime("us", "UTC"),
    "wait_s": pl.Float64, "rework": pl.Boolean, "dimension": pl.String,
}  # fmt: skip


def _events(log: pl.DataFrame, design: Design | None) -> pl.DataFrame:
    """Stage events of ``log`` (``log`` itself when it already is one)."""
    if "at_stage" in log.columns and "performed" in log.columns:
        return log
    return staged_events(log, design)


def _acts(events: pl.DataFrame, automation: Collection[str]) -> pl.DataFrame:
    """The acts of people and agents: performed, not by a bot or known automation."""
    return events.filter(_is_act(events, automation))


def _is_act(
    events: pl.DataFrame, automation: Collection[str], *, agents_act: bool = False
) -> pl.Expr:
    """Performed, and not by a bot or known automation (``automation``: actors that *behave*
    like automation). ``agents_act``: an actor the log or its identity knows as an AI agent
    is kept however machine-like its behaviour -- between humans and agents, an agent
    reviewing in seconds is still a party to the work; between teams, its steps are
    automation's and hand nothing over."""
    # the kinds compared first and the unknown filled after: no filled copy of the strings
    kind = pl.col("actor_kind")
    listed = pl.col("actor_id").is_in(sorted(automation)).fill_null(False)
    agent = (kind == "agent").fill_null(False)
    bot = (kind == "bot").fill_null(False) | ((listed & ~agent) if agents_act else listed)
    return performed(events) & ~bot


def _is_step(design: Design | None, *, assigned: bool = False) -> pl.Expr:
    """An act that moves the work: mapped onto the stage the item is in (or a later one), by
    the team owning the stage it is in, or (``assigned``: events carry ``assigned_team``) by
    the team of the person the item is assigned to.

    A tester commenting on an item in QA is doing QA's work; a question from
    another team on the item's thread is conversation about it. Late work of
    an earlier stage (a second approval landing after the tracker moved the
    item on to QA) is that stage's work finishing, not the item handed back:
    the item never left QA. Once the item is in an end stage, work of an
    earlier stage is new work on a finished item (a revert), not late work.
    """
    if design is None:
        return pl.lit(True)
    owners = {s.id: s.team for s in design.stages if s.team}
    owner = pl.col("at_stage").replace_strict(owners, default=None, return_dtype=pl.String)
    order = design.order
    own = pl.col("stage").replace_strict(order, default=None, return_dtype=pl.Int64)
    at = pl.col("at_stage").replace_strict(order, default=None, return_dtype=pl.Int64)
    # after the end stage, work of an earlier stage is new work on a finished item (a
    # revert), not late work: its handoff into it is the root event's and counts
    finished = pl.col("at_stage").is_in(list(design.end_stages))
    late = ((own < at) & ~finished).fill_null(False)
    step = (MAPPED & ~late) | (pl.col("team") == owner).fill_null(False)
    if assigned:
        # the item reassigned to someone of another team: their acts take the work on
        step = step | (pl.col("team") == pl.col("assigned_team")).fill_null(False)
    return step


def workflow_steps(
    log: pl.DataFrame, design: Design | None = None, *, automation: Collection[str] = ()
) -> pl.DataFrame:
    """The acts of ``log`` that are workflow steps (see the module docstring)."""
    acts = _acts(_events(log, design), automation)
    if design is None:
        return acts
    steps = acts.filter(_is_step(design))
    return steps if steps.height else acts


def _side(dimension: str) -> pl.Expr:
    if dimension == "resource":
        return pl.coalesce(pl.col("resource"), pl.col("actor_id"))
    if dimension == "performer":
        kind = (
            pl.when(pl.col("agent").is_not_null())
            .then(pl.lit("agent"))
            .otherwise(pl.col("actor_kind"))
        )
        return pl.when(kind.is_in(["human", "agent"])).then(kind).otherwise(None)
    return pl.col("team")


def handoffs(
    log: pl.DataFrame,
    design: Design | None = None,
    *,
    dimension: str = "team",
    automation: Collection[str] = (),
) -> pl.DataFrame:
    """One row per handoff: ``case_id, from, to, left_at, taken_at, wait_s, rework, dimension``.

    ``log``: a flat log or its stage events. ``dimension`` is ``"team"``
    (the ``team`` column), ``"performer"`` (human / agent) or ``"resource"``
    (the resource, for classic logs that name no group).
    """
    events = _events(log, design)
    # only the columns the handoffs read: the filtered copies of a million events stay small
    keep = ["case_id", "timestamp", *(["stage", "at_stage", "team"] if design is not None else [])]
    if design is not None and "assigned_team" in events.columns:
        keep.append("assigned_team")
    side = _side(dimension).alias("_side")
    wanted = _is_act(events, automation, agents_act=dimension == "performer") & side.is_not_null()
    chosen = events.select(wanted.fill_null(False).alias("_act")).to_series()
    if not chosen.any():
        return pl.DataFrame(schema=_HANDOFF_SCHEMA)
    # every event an act with a side (a plain log's teams): its columns as they are, no copy
    acts = events.select(*keep, side)
    acts = acts if chosen.all() else acts.filter(chosen)
    step = None
    if design is not None:
        marked = acts.select(_is_step(design, assigned="assigned_team" in acts.columns))
        moved = marked.to_series().fill_null(False)
        # no act a step (the design maps none of them) or every act one: the runs are the acts'
        step = moved if moved.any() and not moved.all() else None
    found = _run_handoffs(acts, step, dimension)
    if found is not None:
        return found
    acts = _coded(acts)
    return _finish(_asof_handoffs(acts if step is None else acts.filter(step), acts), dimension)


def _sides(frame: pl.DataFrame) -> pl.Series:
    """The distinct sides of ``frame`` in sort order: side number ``i`` is ``sides[i - 1]``."""
    return frame.get_column("_side").unique().drop_nulls().sort()


def _coded(frame: pl.DataFrame, sides: pl.Series | None = None) -> pl.DataFrame:
    """``frame`` with ``_case`` (the case's number) and ``_code`` (its side's number) added.

    The cases are contiguous, so a case's number is a running count; sides are
    numbered by their sorted value (``sides``: :func:`_sides` of ``frame``, when the
    caller has them). The as-of joins match on these integers instead of string pairs.
    """
    sides = _sides(frame) if sides is None else sides
    codes = pl.int_range(1, sides.len() + 1, dtype=pl.Int64, eager=True)
    return frame.with_columns(
        first_in_group("case_id").cum_sum().cast(pl.Int64).alias("_case"),
        pl.col("_side").replace_strict(sides, codes, return_dtype=pl.Int64).alias("_code"),
    )


_RUN_COLUMNS: Final = (
    "case_id", "from", "to", "_b_first", "_run", "_case", "_code", "_from_code", "rework",
)  # fmt: skip


def _runs(steps: pl.DataFrame, keep: Sequence[str] = ()) -> pl.DataFrame:
    """One row per handoff: ``case_id, from, to, _b_first, _run, _case, _code, _from_code, rework``
    and the ``keep`` columns of the taker's first step.

    ``steps`` carry ``_case`` and ``_code`` (:func:`_coded`): the runs are found
    and numbered on these integers. ``_b_first``: the taker's first step;
    ``rework``: the case comes back to the giving side later -- the giver's
    run is not the last run of that side in the case.
    """
    change = first_in_group("_case") | (pl.col("_code") != pl.col("_code").shift(1))
    width = int(steps.select(pl.col("_code").max().fill_null(0)).item()) + 1
    side_of_case = pl.col("_case") * width + pl.col("_code")
    return (
        steps.filter(change)
        .with_columns(
            index_in_group("_case").alias("_run"),
            (~side_of_case.is_last_distinct()).alias("_again"),
        )
        .with_columns(
            shift_in_group(pl.col("_side"), "_case", 1).alias("from"),
            pl.col("_side").alias("to"),
            pl.col("timestamp").alias("_b_first"),
            shift_in_group(pl.col("_code"), "_case", 1).alias("_from_code"),
            shift_in_group(pl.col("_again"), "_case", 1).alias("rework"),
        )
        .filter(pl.col("from").is_not_null())
        .select(*_RUN_COLUMNS, *keep)
    )


def _asof_handoffs(steps: pl.DataFrame, acts: pl.DataFrame) -> pl.DataFrame:
    """The handoffs of ``steps`` with ``left_at`` and ``taken_at`` from the acts (as-of joins).

    The giver's last act before the taker's first step, and the taker's first
    act after it; both frames carry ``_case`` and ``_code`` (:func:`_coded`,
    numbered over ``acts``, of which ``steps`` is a subset). The joins match
    on one integer per (case, side) and need no sort: both frames are in case
    order, so every (case, side) group is in time order already -- the
    handoffs' ``_b_first`` and, as each giver lets go no earlier than the
    previous handoff into the same taker began, their ``left_at`` too.
    """
    h = _runs(steps)
    width = int(acts.select(pl.col("_code").max().fill_null(0)).item()) + 1

    def group(code: str) -> pl.Expr:
        return (pl.col("_case") * width + pl.col(code)).alias("_group")

    any_acts = acts.select(group("_code"), "timestamp")
    left = h.with_columns(group("_from_code")).join_asof(
        any_acts.rename({"timestamp": "left_at"}),
        left_on="_b_first",
        right_on="left_at",
        by="_group",
        strategy="backward",
        check_sortedness=False,
    )
    left = left.with_columns(pl.coalesce("left_at", "_b_first").alias("left_at"), group("_code"))
    taken = left.join_asof(
        any_acts.rename({"timestamp": "taken_at"}),
        left_on="left_at",
        right_on="taken_at",
        by="_group",
        strategy="forward",
        check_sortedness=False,
    )
    return taken.drop("_group").with_columns(
        pl.min_horizontal(pl.coalesce("taken_at", "_b_first"), "_b_first").alias("taken_at")
    )


def _run_handoffs(
    acts: pl.DataFrame, step: pl.Series | None, dimension: str
) -> pl.DataFrame | None:
    """:func:`handoffs` between the runs of the ``step`` rows of ``acts`` (``None``: every
    act is a step), or ``None`` when a case of ``acts`` is not in time order or a stamp is
    missing (then the as-of joins find them).

    The as-of joins' answer, read off integers with array operations. The runs of steps
    are where the case or the side (:func:`_side_numbers`) changes, a handoff each run but
    a case's first. Down the frame a *block* is the rows of one case at one instant,
    numbered in frame order: in a case in time order the blocks follow its stamps, ties
    sharing one. A key of ``side * blocks + block`` sorts the acts by side, case and time
    (a stable sort of the side numbers: the rows are in block order already), so the
    giver's last act at or before the taker's first step is the last key at or below
    ``(giver, that step's block)``, and the taker's first act at or after it the first key
    at or above ``(taker, that act's block)`` (:func:`_search`). Both exist within the
    case -- the giver's run before it and the step itself are such acts -- so no taker is
    taken later than its step.

    When every act is a step, the giver's last act is the row before the change and the
    taker's first act the step itself, unless stamps tie around the change (another act of
    the giver at the very instant the taker starts, or of the taker at the instant the
    giver left): only those handoffs are searched.
    """
    import numpy as np

    physical = acts.get_column("timestamp").to_physical()
    if physical.has_nulls():
        return None
    ts = physical.to_numpy()
    first = acts.select(first_in_group("case_id")).to_series().to_numpy()
    inner = ~first[1:]
    if bool((inner & (ts[1:] < ts[:-1])).any()):
        return None
    sides, code = _side_numbers(acts.get_column("_side"))
    rows = None if step is None else np.flatnonzero(step.to_numpy()).astype(np.int32)
    case = np.cumsum(first, dtype=np.int32)  # each act's case number, from 1
    step_case = case if rows is None else case[rows]
    step_code = code if rows is None else code[rows]
    starts = np.ones(step_code.size, dtype=bool)
    starts[1:] = (step_case[1:] != step_case[:-1]) | (step_code[1:] != step_code[:-1])
    runs = np.flatnonzero(starts).astype(np.int32)
    del starts
    opens = np.ones(runs.size, dtype=bool)  # the run opens its case
    run_case, run_code = step_case[runs], step_code[runs]
    opens[1:] = run_case[1:] != run_case[:-1]
    run_row = runs if rows is None else rows[runs]
    del rows, step_case, step_code, runs
    # the side comes back later in the case: the run is not the last of its (case, side) --
    # the next run of the same side, in a stable sort of the runs by side (each side's runs
    # stay in case order), is in the same case
    by_side = _by_number(run_code)
    nxt, cur = by_side[1:], by_side[:-1]
    again = np.zeros(run_code.size, dtype=bool)
    again[cur] = (run_code[nxt] == run_code[cur]) & (run_case[nxt] == run_case[cur])
    del by_side, nxt, cur
    handing = np.flatnonzero(~opens).astype(np.int32)
    at = run_row[handing]
    from_code, to_code = run_code[handing - 1], run_code[handing]
    rework, at_case = again[handing - 1], run_case[handing]
    del opens, run_code, run_case, run_row, again, handing
    if step is None:
        left, taken = ts[at - 1], ts[at]
        # tie[i]: row i goes on with row i - 1's case at the same instant (none past the end)
        tie = np.zeros(ts.size + 1, dtype=bool)
        np.logical_and(inner, ts[1:] == ts[:-1], out=tie[1:-1])
        # a tie with the next row of the case, or between the two rows before (both in it)
        searched = np.flatnonzero(tie[at + 1] | tie[at - 1])
        del tie
    else:
        left, taken = np.empty(at.size, dtype=ts.dtype), np.empty(at.size, dtype=ts.dtype)
        searched = np.arange(at.size)
    del inner
    if searched.size:
        block = np.empty(ts.size, dtype=np.int64)
        block[0] = 0
        np.cumsum(first[1:] | (ts[1:] != ts[:-1]), out=block[1:])
        blocks = int(block[-1]) + 1
        by_side = _by_number(code)
        keys = code[by_side].astype(np.int64) * blocks + block[by_side]
        given = by_side[
            _search(keys, from_code[searched], blocks, block[at[searched]], "right") - 1
        ]
        left[searched] = ts[given]
        took = _search(keys, to_code[searched], blocks, block[given], "left")
        taken[searched] = ts[by_side[took]]
        del block, by_side, keys, given, took
    del searched, code, case
    # down a case the takings never go back in time (each giver lets go no earlier than its
    # own taking): handoffs taken at one instant are put in :data:`_FINISH_ORDER`, their
    # cases' handoffs sorted in place (the sides' numbers sort as their names do)
    tie = (taken[1:] == taken[:-1]) & (at_case[1:] == at_case[:-1])
    if bool(tie.any()):
        cases = np.unique(at_case[1:][tie])
        picked = _ranges(np.searchsorted(at_case, cases), np.searchsorted(at_case, cases, "right"))
        columns = (rework, left, to_code, from_code, taken, at_case)
        order = picked[np.lexsort(tuple(c[picked] for c in columns))]
        for column in (at, from_code, to_code, left, taken, rework):
            column[picked] = column[order]
    del tie, at_case
    ids = acts.get_column("case_id")
    # each case's handoffs are in :data:`_FINISH_ORDER`: the whole is when the case ids
    # ascend -- they do when the acts' cases come in id order (one test of a row per case)
    opened = ids.filter(pl.Series(first))
    del first
    in_order = opened.null_count() == 0 and opened.is_sorted()
    del opened
    stamp = acts.schema["timestamp"]
    done = pl.DataFrame(
        [
            ids.gather(pl.Series(at.astype(np.uint32))).alias("case_id"),
            sides.gather(pl.Series((from_code - 1).astype(np.uint32))).alias("from"),
            sides.gather(pl.Series((to_code - 1).astype(np.uint32))).alias("to"),
            pl.Series("left_at", left).cast(stamp),
            pl.Series("taken_at", taken).cast(stamp),
            pl.Series("rework", rework),
        ]
    )
    del at, from_code, to_code, left, taken, rework
    done = (
        done.cast({c: _HANDOFF_SCHEMA[c] for c in _FINISH_COLUMNS})
        .with_columns(
            (pl.col("taken_at") - pl.col("left_at"))
            .dt.total_seconds(fractional=True)
            .alias("wait_s"),
            pl.lit(dimension).alias("dimension"),
        )
        .select(list(_HANDOFF_SCHEMA))
    )
    if in_order:
        return done
    handed = done.get_column("case_id")
    if handed.null_count() == 0 and handed.is_sorted():
        return done
    return done.sort(*_FINISH_ORDER)


def _by_number(numbers: Any) -> Any:
    """The stable order of small non-negative integers (a radix sort below 2**16)."""
    import numpy as np

    small = numbers.astype(np.uint16) if int(numbers.max(initial=0)) < 1 << 16 else numbers
    return np.argsort(small, kind="stable")


def _search(keys: Any, code: Any, blocks: int, block: Any, side: Any) -> Any:
    """``np.searchsorted(keys, code * blocks + block, side)``, the queries searched in key
    order: ``block`` ascends down them, so their stable order by ``code`` sorts them, and a
    binary search started from the last one's answer walks the keys once instead of
    jumping about them."""
    import numpy as np

    order = _by_number(code)
    found = np.empty(order.size, dtype=np.int64)
    found[order] = np.searchsorted(keys, code[order].astype(np.int64) * blocks + block[order], side)
    return found


def _ranges(lo: Any, hi: Any) -> Any:
    """The numbers ``lo[i] .. hi[i] - 1`` for every ``i``, one range after another."""
    import numpy as np

    lengths = hi - lo
    return np.repeat(lo - np.cumsum(lengths) + lengths, lengths) + np.arange(lengths.sum())


def _side_numbers(side: pl.Series) -> tuple[pl.Series, Any]:
    """The distinct sides (no null among them) in sort order, and each row's side number
    (1-based: side number ``i`` is ``sides[i - 1]``; :func:`~wfmine.findings._runs.dense_numbers`).
    """
    names, numbers = dense_numbers(side, start=1, dtype="int32")
    return names.alias(side.name), numbers


#: the order of :func:`handoffs`' rows
_FINISH_ORDER: Final = ("case_id", "taken_at", "from", "to", "left_at", "rework")
#: the columns :func:`handoffs` reads off the runs (``wait_s`` and ``dimension`` come after)
_FINISH_COLUMNS: Final = ("case_id", "from", "to", "left_at", "taken_at", "rework")


def _finish(taken: pl.DataFrame, dimension: str) -> pl.DataFrame:
    """The handoff rows of ``taken`` in :data:`_FINISH_ORDER`."""
    kept = taken.select(_FINISH_COLUMNS).cast({c: _HANDOFF_SCHEMA[c] for c in _FINISH_COLUMNS})
    done = kept.with_columns(
        (pl.col("taken_at") - pl.col("left_at")).dt.total_seconds(fractional=True).alias("wait_s"),
        pl.lit(dimension).alias("dimension"),
    ).select(list(_HANDOFF_SCHEMA))
    # handoffs found in case order are mostly in this order already: one pass says so
    return done if is_sorted(done, _FINISH_ORDER) else done.sort(*_FINISH_ORDER)


def _owned_expr(design: Design | None) -> tuple[pl.Expr, pl.Expr]:
    if design is None:
        return pl.lit(None, dtype=pl.Boolean), pl.lit(None, dtype=pl.String)
    owned: Any = pl.lit(False)
    owner: Any = pl.lit(None, dtype=pl.String)
    for seam in reversed(design.owned_seams):
        cond = ((pl.col("from") == seam.from_) | pl.lit(seam.from_ == "*")) & (
            (pl.col("to") == seam.to) | pl.lit(seam.to == "*")
        )
        owned = pl.when(cond).then(pl.lit(True)).otherwise(owned)
        owner = pl.when(cond).then(pl.lit(seam.owner)).otherwise(owner)
    return owned, owner


def seams(
    log: pl.DataFrame,
    design: Design | None = None,
    *,
    stall_factor: float = STALL_FACTOR,
    dimensions: tuple[str, ...] = ("team", "performer"),
    automation: Collection[str] = (),
    roots: pl.DataFrame | None = None,
    computed: Mapping[str, pl.DataFrame] | None = None,
) -> pl.DataFrame:
    """The seam table: every observed ``from -> to`` with its figures, owned or not.

    ``computed``: :func:`handoffs` of the same events, design and automation by
    dimension, where the caller has them already.

    ``log``: a flat log or its stage events (:func:`wfmine.stages.stage_events`).
    Stall threshold: ``stall_factor`` x the median wait of all handoffs of
    the same dimension. ``owned`` is null without a design. ``automation``:
    actor ids taken for automation beyond the log's ``actor_kind`` (e.g.
    detected by behaviour), whose steps hand nothing over. ``roots``
    (``case_id, root_at``): when a case was reverted or reopened; the
    handoffs that follow are that event's consequences (evidence on its
    finding), not a seam's (the handoff *into* a reopen -- the one who
    reopens takes the work -- is the event itself and counts).
    """
    events = _events(log, design)
    if design is None and "team" in dimensions and not _has(events, "team"):
        # a classic log with resources and no groups: work passes between resources
        dimensions = ("resource", *(d for d in dimensions if d != "team"))
    given = computed or {}
    parts = [
        given[d] if d in given else handoffs(events, design, dimension=d, automation=automation)
        for d in dimensions
        if _has(events, d)
    ]
    parts = [p for p in parts if p.height]
    if not parts:
        return pl.DataFrame(schema=_SEAM_SCHEMA)
    if roots is not None and roots.height:
        first = roots.group_by("case_id").agg(pl.col("root_at").min())
        parts = [
            p.join(first, on="case_id", how="left", maintain_order="left")
            .filter(pl.col("root_at").is_null() | (pl.col("taken_at") <= pl.col("root_at")))
            .drop("root_at")
            for p in parts
        ]
    # each dimension's handoffs (one part each) make their own seams: figured part by part
    figures = [_seam_figures(p, stall_factor) for p in parts if p.height]
    if not figures:
        return pl.DataFrame(schema=_SEAM_SCHEMA)
    table = pl.concat(figures)
    owned, owner = _owned_expr(design)
    return (
        table.with_columns(owned.alias("owned"), owner.alias("owner"))
        .select(list(_SEAM_SCHEMA))
        .cast(_SEAM_SCHEMA)  # type: ignore[arg-type]
        .sort(["wait_total_s", "dimension", "from", "to"], descending=[True, False, False, False])
    )


#: the columns of :func:`_seam_figures` before ``cases`` and ``example_cases``
_FIGURE_COLUMNS: Final = (
    "dimension", "from", "to", "handoffs", "wait_median_s", "wait_p90_s", "wait_total_s",
    "stall_share", "rework_share", "first_seen", "last_seen",
)  # fmt: skip


def _seam_figures(handoffs: pl.DataFrame, stall_factor: float) -> pl.DataFrame:
    """The seam rows of one dimension's ``handoffs``, without ``owned`` and ``owner``.

    The handoffs are grouped on one integer per (from, to) pair (the sides' categorical
    codes, :func:`_pair_numbers`), and the group-by reads only numbers: a median, a distinct
    count or a first value over string groups costs several times as much. One stable sort
    of the pair numbers (a radix sort of small integers) gives each seam's first row -- its
    dimension and sides, as a group's first value would -- and its handoffs in case order,
    where its cases are counted and its first ten listed (:func:`_seam_cases`); cases are
    numbered in id order, and only the examples' ids are gathered.
    """
    import numpy as np

    ids = handoffs.get_column("case_id")
    # handoffs() gives them in case order already: one pass says so, instead of a sort
    in_order = ids.null_count() == 0 and ids.is_sorted()
    rows = handoffs if in_order else handoffs.sort(["case_id", "taken_at"])
    ids = rows.get_column("case_id")
    opens = ids.ne_missing(ids.shift(1)).to_numpy()
    pair = _pair_numbers(rows, opens)
    case = np.cumsum(opens, dtype=np.int32)
    by_pair = np.argsort(pair, kind="stable")
    threshold = rows.select(stall_factor * pl.col("wait_s").median()).item()
    seams, first_rows, cases, example_pairs, example_rows = _seam_cases(pair, case, by_pair)
    at = pl.Series(first_rows.astype(np.uint32))
    named = pl.DataFrame(
        [
            pl.Series("_pair", seams),
            rows.get_column("dimension").gather(at),
            rows.get_column("from").gather(at),
            rows.get_column("to").gather(at),
        ]
    )
    # the group-by keeps the figures whose floats depend on how they are added up (a sum,
    # the order statistics); counts, shares and extremes are exact whoever computes them:
    # counted on the pair numbers, the extremes over the stable sort's segments
    counted = _counted_figures(rows, pair, by_pair, seams, threshold)
    del by_pair
    figures = (
        rows.select("wait_s", "rework", "taken_at")
        .with_columns(pl.Series("_pair", pair))
        .group_by("_pair")
        .agg(
            *([] if counted is not None else [pl.len().alias("handoffs")]),
            pl.col("wait_s").median().alias("wait_median_s"),
            pl.col("wait_s").quantile(0.9, interpolation="linear").alias("wait_p90_s"),
            pl.col("wait_s").sum().alias("wait_total_s"),
            *(
                []
                if counted is not None
                else [
                    (pl.col("wait_s") > threshold).mean().alias("stall_share"),
                    pl.col("rework").mean().alias("rework_share"),
                    pl.col("taken_at").min().alias("first_seen"),
                    pl.col("taken_at").max().alias("last_seen"),
                ]
            ),
        )
    )
    examples = (
        pl.DataFrame(
            [
                pl.Series("_pair", example_pairs),
                ids.gather(pl.Series(example_rows.astype(np.uint32))).alias("example_cases"),
            ]
        )
        .group_by("_pair", maintain_order=True)
        .agg("example_cases")
    )
    table = named.join(figures, on="_pair", maintain_order="left")
    if counted is not None:
        table = table.with_columns(counted)
    return (
        table.select("_pair", *_FIGURE_COLUMNS)
        .with_columns(pl.Series("cases", cases))
        .join(examples, on="_pair", how="left", maintain_order="left")
        .drop("_pair")
    )


def _counted_figures(
    rows: pl.DataFrame, pair: Any, by_pair: Any, seams: Any, threshold: float | None
) -> list[pl.Series] | None:
    """``handoffs, stall_share, rework_share, first_seen, last_seen`` of each of ``seams``
    (pair numbers, in that order), or ``None`` when a wait, a rework flag or a time is
    missing (then the group-by counts them, leaving the missing out as it does).

    A share is a count over a count, so it is the same division wherever it is done.
    """
    import numpy as np

    wait, rework, taken = (rows.get_column(c) for c in ("wait_s", "rework", "taken_at"))
    if threshold is None or wait.has_nulls() or rework.has_nulls() or taken.has_nulls():
        return None
    size = int(seams.max()) + 1
    handed = np.bincount(pair, minlength=size)[seams]
    stalled = np.bincount(pair, weights=wait.to_numpy() > threshold, minlength=size)[seams]
    reworked = np.bincount(pair, weights=rework.to_numpy(), minlength=size)[seams]
    stamps = taken.to_physical().to_numpy()[by_pair]
    bounds = np.append(0, np.cumsum(handed)[:-1])
    return [
        pl.Series("handoffs", handed, dtype=pl.UInt32),
        pl.Series("stall_share", stalled / handed),
        pl.Series("rework_share", reworked / handed),
        pl.Series("first_seen", np.minimum.reduceat(stamps, bounds)).cast(taken.dtype),
        pl.Series("last_seen", np.maximum.reduceat(stamps, bounds)).cast(taken.dtype),
    ]


def _pair_numbers(handoffs: pl.DataFrame, opens: Any) -> Any:
    """Each handoff's (from, to) as one small integer, ``from * sides + to`` over the sides'
    dense numbers (their categorical codes renumbered through a table), 16 bits wide up to
    256 sides, so a stable sort by it is a radix sort of small integers. Every handoff has both sides (:func:`handoffs`).

    ``opens``: the rows opening a case. A case's handoffs chain -- each but the first is
    given by the side the one before handed to -- so the givers' codes are the takers'
    one row down, and only the givers that do not chain (a case's first) are looked up.
    """
    import numpy as np

    given, taker = handoffs.get_column("from"), handoffs.get_column("to")
    # the takers' categorical held while the givers are cast: a string's code is the same in
    # both only while some categorical holds the codes given so far
    takers = taker.cast(pl.Categorical)
    chained = given.eq_missing(taker.shift(1)).to_numpy() & ~opens
    own = given.filter(pl.Series(~chained)).cast(pl.Categorical).to_physical()
    to_codes = takers.to_physical()
    del takers
    if to_codes.has_nulls() or own.has_nulls():
        raise ValueError("a handoff without a side")
    to_side = to_codes.to_numpy()
    from_side = np.empty_like(to_side)
    from_side[1:] = to_side[:-1]
    from_side[~chained] = own.to_numpy()
    seen = np.flatnonzero(np.bincount(np.concatenate([to_side, from_side])))
    # the smallest integers that hold every pair: a quarter of the memory, a radix sort
    width = np.uint16 if seen.size * seen.size <= 1 << 16 else np.int64
    dense: Any = np.zeros(int(seen.max()) + 1 if seen.size else 0, dtype=width)
    dense[seen] = np.arange(seen.size, dtype=width)
    return dense[from_side] * seen.size + dense[to_side]


def _seam_cases(pair: Any, case: Any, by_pair: Any) -> tuple[Any, Any, Any, Any, Any]:
    """Each seam's pair, first row and number of cases, and its first ten cases' rows.

    ``pair``, ``case``: the handoffs' pair and case numbers, in case order; ``by_pair``:
    their stable sort by pair, which puts each seam's handoffs in case order, where its
    distinct cases are the runs of case numbers -- counted and cut at ten there instead
    of a distinct count and a sorted distinct list per seam. Returns ``(seams, first rows,
    cases, example pairs, example rows)``, the last two one row per example.
    """
    import numpy as np

    sorted_pair, sorted_case = pair[by_pair], case[by_pair]
    distinct = np.flatnonzero(run_starts(sorted_pair, sorted_case))
    pairs = sorted_pair[distinct]
    opens = run_starts(pairs)
    opening = np.flatnonzero(opens)
    rank = np.arange(pairs.size) - opening[np.cumsum(opens) - 1]
    shown = distinct[rank < 10]
    counts = np.diff(np.append(opening, pairs.size)).astype(np.uint32)
    return (
        pairs[opening],
        by_pair[distinct[opening]],
        counts,
        sorted_pair[shown],
        by_pair[shown],
    )


def _has(events: pl.DataFrame, dimension: str) -> bool:
    column = {"performer": "actor_kind", "resource": "resource"}.get(dimension, "team")
    if dimension == "performer" and column in events.columns:
        # one pass of comparisons, no distinct values of a million strings
        return bool(events.select(pl.col(column).is_in(["human", "agent"]).any()).item())
    return column in events.columns and events.get_column(column).null_count() < events.height


def _severity(prev_share: float, stall_share: float) -> str:
    if prev_share < 0.5 or stall_share >= 1 / 3:
        return "high"
    if prev_share < 0.8:
        return "medium"
    return "low"


def unowned_seams(
    log: pl.DataFrame,
    design: Design | None,
    *,
    stall_factor: float = STALL_FACTOR,
    min_handoffs: int = MIN_HANDOFFS,
    table: pl.DataFrame | None = None,
    automation: Collection[str] = (),
    top: int = TOP_SEAMS,
    roots: pl.DataFrame | None = None,
) -> list[Finding]:
    """Findings for seams nobody owns, ranked by the total waiting they cause.

    With a design: every seam it does not own with at least ``min_handoffs``
    handoffs. Without one nothing is owned, so only the ``top`` seams by
    waiting caused are reported one by one and the rest in one summary
    finding. Severity: ``high`` for the seams that together cause the first
    half of all unowned waiting or that stall in a third of handoffs,
    ``medium`` for the next 30 %, ``low`` for the rest.
    """
    t = (
        table
        if table is not None
        else seams(log, design, stall_factor=stall_factor, automation=automation, roots=roots)
    )
    un = t.filter((pl.col("owned") != True).fill_null(True) & (pl.col("handoffs") >= min_handoffs))  # noqa: E712
    if un.height == 0:
        return []
    total = float(un["wait_total_s"].sum()) or 1.0
    un = un.with_columns((pl.col("wait_total_s").cum_sum() / total).alias("_cum"))
    rest = un.slice(top) if design is None else un.head(0)
    shown = un.head(top) if design is None else un
    out: list[Finding] = []
    for row in shown.iter_rows(named=True):
        prev = row["_cum"] - row["wait_total_s"] / total
        subject = f"{row['from']} -> {row['to']}"
        name = f"{row['from']} → {row['to']}"
        what = {"team": "handoff", "resource": "handoff between people"}.get(
            row["dimension"], "handoff between performer kinds"
        )
        median = human_duration(row["wait_median_s"])
        owner = row["to"] if row["dimension"] == "team" else "<team>"
        owner_note = (
            "  # the receiving team; name whoever should own it" if owner != "<team>" else ""
        )
        out.append(
            Finding(
                kind="unowned_seam",
                subject=subject,
                severity=_severity(prev, row["stall_share"] or 0.0),
                summary=(
                    f"No one owns the {what} {name}: {human_count(row['handoffs'])} handoffs, "
                    f"median wait {median}, {row['stall_share']:.0%} stall; name an owner in "
                    "the design's seams."
                    if design is not None
                    else f"Work handed over {name} waits among the longest: "
                    f"{human_count(row['handoffs'])} handoffs, median wait {median}, "
                    f"{human_duration(row['wait_total_s'])} of waiting in all."
                ),
                evidence={
                    "dimension": row["dimension"],
                    "from": row["from"],
                    "to": row["to"],
                    "handoffs": row["handoffs"],
                    "events": row["handoffs"] * 2,
                    "cases": row["example_cases"],
                    "case_count": row["cases"],
                    "wait_median_s": _r(row["wait_median_s"]),
                    "wait_p90_s": _r(row["wait_p90_s"]),
                    "wait_total_s": _r(row["wait_total_s"]),
                    "wait_share": _r(row["wait_total_s"] / total),
                    "stall_share": _r(row["stall_share"]),
                    "stall_rule": f"wait > {stall_factor:g} x median wait of all handoffs",
                    "rework_share": _r(row["rework_share"]),
                    "wait_rule": "giver's last act on the item -> taker's first act after it",
                },
                first_seen=row["first_seen"],
                last_seen=row["last_seen"],
                subject_name=name,
                assumption=(
                    f"The design assumes every handoff from {row['from']} to {row['to']} has an "
                    "owner."
                    if design is not None
                    else f"Handoffs from {row['from']} to {row['to']} have someone who sees them "
                    "through."
                ),
                suggestion={
                    "patch": (
                        f"seams:\n  - {{from: {row['from']}, to: {row['to']}, owner: {owner}}}"
                        + owner_note
                    ),
                    "effect": (
                        f"covers {human_count(row['handoffs'])} handoffs in "
                        f"{human_count(row['cases'])} cases with a median wait of {median} "
                        f"({human_duration(row['wait_total_s'])} of waiting in all)"
                    ),
                },
            )
        )
    if rest.height:
        waited = float(rest["wait_total_s"].sum())
        out.append(
            Finding(
                kind="unowned_seam",
                subject="other handoffs",
                severity="low",
                summary=(
                    f"{human_count(rest.height)} more handoff pairs "
                    f"({human_count(int(rest['handoffs'].sum()))} handoffs) cause the remaining "
                    f"{waited / total:.0%} of the waiting."
                ),
                evidence={
                    "pairs": rest.height,
                    "handoffs": int(rest["handoffs"].sum()),
                    "events": int(rest["handoffs"].sum()) * 2,
                    "cases": [],
                    "wait_total_s": _r(waited),
                    "wait_share": _r(waited / total),
                    "seams": [
                        {
                            "from": r["from"],
                            "to": r["to"],
                            "dimension": r["dimension"],
                            "handoffs": r["handoffs"],
                            "wait_total_s": _r(r["wait_total_s"]),
                        }
                        for r in rest.head(50).iter_rows(named=True)
                    ],
                },
                first_seen=rest["first_seen"].min(),
                last_seen=rest["last_seen"].max(),
                subject_name="other handoffs",
                assumption=None,
                suggestion=None,
            )
        )
    return out


def _r(value: float | None) -> float | None:
    return None if value is None else round(float(value), 3)
