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
    kind = pl.col("actor_kind").fill_null("")
    listed = pl.col("actor_id").is_in(sorted(automation)).fill_null(False)
    bot = (kind == "bot") | ((listed & (kind != "agent")) if agents_act else listed)
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
    acts = (
        events.lazy()
        .filter(_is_act(events, automation, agents_act=dimension == "performer"))
        .with_columns(_side(dimension).alias("_side"))
        .filter(pl.col("_side").is_not_null())
        .select(*keep, "_side")
        .collect()
    )
    if acts.height == 0:
        return pl.DataFrame(schema=_HANDOFF_SCHEMA)
    if design is None:
        adjacent = _adjacent_handoffs(acts, dimension)
        if adjacent is not None:
            return adjacent
    acts = _coded(acts)
    assigned = "assigned_team" in acts.columns
    steps = acts.filter(_is_step(design, assigned=assigned)) if design is not None else acts
    if design is not None and steps.height == 0:
        steps = acts
    return _finish(_asof_handoffs(steps, acts), dimension)


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


def _adjacent_handoffs(acts: pl.DataFrame, dimension: str) -> pl.DataFrame | None:
    """:func:`handoffs` when every act is a step (no design), or ``None`` when a case of
    ``acts`` is not in time order (then the as-of joins find them).

    In time order within each case, the giver's last act before the taker's first step is
    the row before it, and the taker's first act after that is the step itself -- unless
    timestamps tie around the change (another act of the giver at the very instant the
    taker starts, or of the taker at the instant the giver left): those handoffs, and only
    those, are taken through the as-of joins.

    Read off integers with array operations: a case boundary test of the ids, the sides'
    numbers (:func:`_side_numbers`) and the stamps; the runs are where the case or the side
    changes, a handoff each run but a case's first. The strings are gathered once, at the
    handoffs' rows in their final order.
    """
    import numpy as np

    first = acts.select(first_in_group("case_id")).to_series().to_numpy()
    stamps = acts.get_column("timestamp")
    ts = stamps.to_physical().fill_null(0).to_numpy()
    # every case's stamps non-decreasing down the frame: a null one only opening a case
    inner = ~first[1:]
    back = ts[1:] < ts[:-1]
    if stamps.null_count():
        null = stamps.is_null().to_numpy()
        back |= null[1:] | null[:-1]
    if bool((inner & back).any()):
        return None
    sides, code = _side_numbers(acts.get_column("_side"))
    case = np.cumsum(first, dtype=np.int32)
    runs = np.flatnonzero(run_starts(case, code))
    opens = first[runs]  # the run opens its case
    # the side comes back later in the case: the run is not the last of its (case, side) --
    # the next run of the same side, in a stable sort of the runs by side (a radix sort of
    # small integers; each side's runs stay in case order), is in the same case
    run_code, run_case = code[runs], case[runs]
    small = run_code.astype(np.uint16) if sides.len() < 1 << 16 else run_code
    by_side = np.argsort(small, kind="stable")
    again = np.zeros(runs.size, dtype=bool)
    again[by_side[:-1]] = (run_code[by_side[1:]] == run_code[by_side[:-1]]) & (
        run_case[by_side[1:]] == run_case[by_side[:-1]]
    )
    opening = np.flatnonzero(opens)
    number = np.arange(runs.size, dtype=np.int32) - opening[np.cumsum(opens) - 1]
    handing = np.flatnonzero(~opens)
    at, giver = runs[handing], runs[handing - 1]
    # a tie with the next row of the case, or between the two rows before (both in it)
    later = np.zeros(at.size, dtype=bool)
    inside = at + 1 < case.size
    later[inside] = ~first[at[inside] + 1] & (ts[at[inside]] == ts[at[inside] + 1])
    earlier = np.zeros(at.size, dtype=bool)
    deep = at >= 2
    back_at = at[deep]
    earlier[deep] = ~first[back_at - 1] & (ts[back_at - 1] == ts[back_at - 2])
    tied = np.flatnonzero(later | earlier)
    left, taken = ts[at - 1], ts[at]
    rework = again[handing - 1]
    from_code, to_code, at_case = code[giver], code[at], case[at]
    if tied.size:
        run = number[handing]
        # the tied cases' acts by a table of the case numbers (few tied), not a join
        of_case = np.zeros(int(case[-1]) + 1, dtype=bool)
        of_case[at_case[tied]] = True
        mine = of_case[case]
        sub = acts.filter(pl.Series(mine)).with_columns(
            pl.Series("_case", case[mine].astype(np.int64)),
            pl.Series("_code", code[mine].astype(np.int64)),
        )
        redo = _asof_handoffs(sub, sub).select("_case", "_run", "left_at", "taken_at")
        # each tied handoff takes the as-of times in its own row (a run is one per case and
        # run number); one the as-of joins do not give is left out
        fixed = (
            pl.DataFrame(
                {
                    "_i": tied,
                    "_case": at_case[tied].astype(np.int64),
                    "_run": run[tied].astype(np.int64),
                }
            )
            .join(redo, on=["_case", "_run"], how="inner")
            .select(
                "_i", *(pl.col(c).cast(stamps.dtype).to_physical() for c in ("left_at", "taken_at"))
            )
        )
        if fixed.get_column("left_at").has_nulls() or fixed.get_column("taken_at").has_nulls():
            return None  # a time the as-of joins leave open: theirs is the answer
        fixed_at = fixed.get_column("_i").to_numpy()
        left[fixed_at] = fixed.get_column("left_at").to_numpy()
        taken[fixed_at] = fixed.get_column("taken_at").to_numpy()
        kept = np.ones(at.size, dtype=bool)
        kept[tied] = False
        kept[fixed_at] = True
        rows = np.flatnonzero(kept)
        # the tied cases' handoffs in :data:`_FINISH_ORDER`, in place: the other cases hand
        # over at strictly later times down their rows (the sides' numbers sort as their
        # names do, and a case has one id)
        of_tied = np.flatnonzero(of_case[at_case[rows]])
        picked = rows[of_tied]
        order = pl.DataFrame(
            {
                "_at": picked,
                "_case": at_case[picked],
                "taken_at": taken[picked],
                "_from": from_code[picked],
                "_to": to_code[picked],
                "left_at": left[picked],
                "rework": rework[picked],
            }
        ).sort("_case", "taken_at", "_from", "_to", "left_at", "rework")
        rows[of_tied] = order.get_column("_at").to_numpy()
        left, taken, rework = left[rows], taken[rows], rework[rows]
        from_code, to_code, at = from_code[rows], to_code[rows], at[rows]
    ids = acts.get_column("case_id")
    done = (
        pl.DataFrame(
            [
                ids.gather(pl.Series(at.astype(np.uint32))).alias("case_id"),
                sides.gather(pl.Series((from_code - 1).astype(np.uint32))).alias("from"),
                sides.gather(pl.Series((to_code - 1).astype(np.uint32))).alias("to"),
                pl.Series("left_at", left).cast(stamps.dtype),
                pl.Series("taken_at", taken).cast(stamps.dtype),
                pl.Series("rework", rework),
            ]
        )
        .cast({c: _HANDOFF_SCHEMA[c] for c in _FINISH_COLUMNS})
        .with_columns(
            (pl.col("taken_at") - pl.col("left_at"))
            .dt.total_seconds(fractional=True)
            .alias("wait_s"),
            pl.lit(dimension).alias("dimension"),
        )
        .select(list(_HANDOFF_SCHEMA))
    )
    # each case's handoffs are in :data:`_FINISH_ORDER`: the whole is when the case ids
    # ascend -- they do when the acts' cases come in id order (one test of a row per case)
    opened = ids.filter(pl.Series(first))
    if opened.null_count() == 0 and opened.is_sorted():
        return done
    handed = done.get_column("case_id")
    if handed.null_count() == 0 and handed.is_sorted():
        return done
    return done.sort(*_FINISH_ORDER)


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


def _seam_figures(handoffs: pl.DataFrame, stall_factor: float) -> pl.DataFrame:
    """The seam rows of one dimension's ``handoffs``, without ``owned`` and ``owner``.

    The handoffs are grouped on one integer per (from, to) pair (the sides' categorical
    codes), not on the three strings: a median or a distinct count over string groups costs
    several times as much. Cases are numbered in id order, so a seam's cases are counted
    and listed on these integers, its first ten mapped back to their ids.
    """
    ids = handoffs.get_column("case_id")
    # handoffs() gives them in case order already: one pass says so, instead of a sort
    in_order = ids.null_count() == 0 and ids.is_sorted()
    rows = handoffs if in_order else handoffs.sort(["case_id", "taken_at"])
    # the pair numbers of the rows in the order they are attached to (a Series is by position)
    ordered = rows.with_columns(
        (pl.col("wait_s") > stall_factor * pl.col("wait_s").median()).alias("_stall"),
        pl.col("case_id").ne_missing(pl.col("case_id").shift(1)).cum_sum().alias("_case"),
        _pair_numbers(rows),
    )
    table = (
        ordered.group_by("_pair")
        .agg(
            pl.col("dimension").first(),
            pl.col("from").first(),
            pl.col("to").first(),
            pl.len().alias("handoffs"),
            pl.col("wait_s").median().alias("wait_median_s"),
            pl.col("wait_s").quantile(0.9, interpolation="linear").alias("wait_p90_s"),
            pl.col("wait_s").sum().alias("wait_total_s"),
            pl.col("_stall").mean().alias("stall_share"),
            pl.col("rework").mean().alias("rework_share"),
            pl.col("taken_at").min().alias("first_seen"),
            pl.col("taken_at").max().alias("last_seen"),
        )
        .join(_seam_cases(ordered), on="_pair", maintain_order="left")
        .with_row_index("_seam")
    )
    starts = pl.col("_case").ne_missing(pl.col("_case").shift(1))
    numbered = ordered.select("_case", "case_id").filter(starts)
    examples = (
        table.select("_seam", "_examples")
        .explode("_examples")
        .join(numbered, left_on="_examples", right_on="_case", how="left", maintain_order="left")
        .group_by("_seam", maintain_order=True)
        .agg(pl.col("case_id").alias("example_cases"))
    )
    return table.join(examples, on="_seam", how="left", maintain_order="left").drop(
        "_seam", "_pair", "_examples"
    )


def _pair_numbers(handoffs: pl.DataFrame) -> pl.Expr | pl.Series:
    """``_pair``: each handoff's (from, to) as one small integer, ``from * sides + to`` over the
    sides' dense numbers (their categorical codes renumbered through a table), so a stable
    sort by it is a radix sort of small integers."""
    import numpy as np

    codes = [handoffs.get_column(c).cast(pl.Categorical).to_physical() for c in ("from", "to")]
    seen = np.unique(np.concatenate([c.unique().drop_nulls().to_numpy() for c in codes]))
    dense = np.zeros(int(seen.max()) + 1 if seen.size else 0, dtype=np.int64)
    dense[seen] = np.arange(seen.size)
    if not (codes[0].has_nulls() or codes[1].has_nulls()):  # handoffs() gives none
        pair = dense[codes[0].to_numpy()] * seen.size + dense[codes[1].to_numpy()]
        return pl.Series("_pair", pair, dtype=pl.Int64)
    number = [pl.Series(dense[c.fill_null(0).to_numpy()]) for c in codes]
    # a null side keeps its pair null
    return (
        pl.when(codes[0].is_not_null() & codes[1].is_not_null())
        .then(number[0] * seen.size + number[1])
        .alias("_pair")
    )


def _seam_cases(ordered: pl.DataFrame) -> pl.DataFrame:
    """``_pair, cases, _examples``: each seam's number of cases and its first ten case numbers.

    ``ordered``: handoffs in case order with ``_pair`` and ``_case``. A stable sort by pair
    puts each seam's handoffs in case order, where its distinct cases are the runs of case
    numbers -- counted and cut at ten there instead of a distinct count and a sorted
    distinct list per seam.
    """
    import numpy as np

    pair = ordered.get_column("_pair").to_numpy()
    case = ordered.get_column("_case").to_numpy()
    small = pair.astype(np.uint16) if pair.size and pair.max() < 1 << 16 else pair
    by_pair = np.argsort(small, kind="stable")
    # the small numbers gathered (a quarter of the memory), back to the pairs' type once cut
    sorted_pair, case = small[by_pair], case[by_pair]
    distinct = run_starts(sorted_pair, case)
    pair, case = sorted_pair[distinct].astype(pair.dtype), case[distinct]
    opens = run_starts(pair)
    opening = np.flatnonzero(opens)
    rank = np.arange(pair.size) - opening[np.cumsum(opens) - 1]
    shown = rank < 10
    examples = (
        pl.DataFrame({"_pair": pair[shown], "_examples": case[shown]})
        .group_by("_pair", maintain_order=True)
        .agg("_examples")
    )
    counts = pl.DataFrame(
        {"_pair": pair[opening], "cases": np.diff(np.append(opening, pair.size)).astype(np.uint32)}
    )
    return counts.join(examples, on="_pair", maintain_order="left")


def _has(events: pl.DataFrame, dimension: str) -> bool:
    column = {"performer": "actor_kind", "resource": "resource"}.get(dimension, "team")
    if dimension == "performer" and column in events.columns:
        kinds = events.get_column(column).drop_nulls().unique().to_list()
        return bool(set(kinds) & {"human", "agent"})
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
