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
from wfmine.findings._runs import run_starts
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
    if design is None and _in_time_order(acts):
        return _adjacent_handoffs(acts, dimension)
    acts = _coded(acts)
    assigned = "assigned_team" in acts.columns
    steps = acts.filter(_is_step(design, assigned=assigned)) if design is not None else acts
    if design is not None and steps.height == 0:
        steps = acts
    return _finish(_asof_handoffs(steps, acts), dimension)


def _in_time_order(steps: pl.DataFrame) -> bool:
    """Is every case's timestamp non-decreasing down the frame (cases contiguous)?"""
    back = (pl.col("timestamp") < pl.col("timestamp").shift(1)) & ~first_in_group("case_id")
    return not bool(steps.select(back.fill_null(True).any()).item())


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


def _adjacent_handoffs(steps: pl.DataFrame, dimension: str) -> pl.DataFrame:
    """:func:`handoffs` when every act is a step (no design), in time order within each case.

    The giver's last act before the taker's first step is then the row before
    it, and the taker's first act after that is the step itself -- unless
    timestamps tie around the change (another act of the giver at the very
    instant the taker starts, or of the taker at the instant the giver left):
    those handoffs, and only those, are taken through the as-of joins.
    """
    sides = _sides(steps)
    coded = _coded(steps, sides)
    h = _adjacent_runs(coded, sides)
    plain = h.with_columns(
        pl.col("_prev_at").alias("left_at"), pl.col("_b_first").alias("taken_at")
    )
    tied = h.with_row_index("_i").filter(pl.col("_tied"))
    if tied.height:
        import numpy as np

        cases = tied.select("_case").unique()
        # the tied cases' acts by a membership test of their numbers (few), not a join
        of_tied = np.isin(coded.get_column("_case").to_numpy(), cases.to_series().to_numpy())
        acts = coded.filter(pl.Series(of_tied))
        redo = _asof_handoffs(acts, acts).select("_case", "_run", "left_at", "taken_at")
        # each tied handoff takes the as-of times in its own row (a run is one per case and
        # run number); one the as-of joins do not give is left out
        fixed = tied.select("_i", "_case", "_run").join(redo, on=["_case", "_run"], how="inner")
        at = fixed.get_column("_i")
        plain = plain.with_columns(
            plain.get_column("left_at").clone().scatter(at, fixed.get_column("left_at")),
            plain.get_column("taken_at").clone().scatter(at, fixed.get_column("taken_at")),
        )
        if fixed.height < tied.height:
            lost = tied.join(fixed, on="_i", how="anti").get_column("_i")
            plain = plain.with_row_index("_i").filter(~pl.col("_i").is_in(lost.implode()))
        order = _cases_sorted(plain, cases.get_column("_case"))
        return _finish(plain, dimension, order=order, cases_ordered=True)
    return _finish(plain, dimension, cases_ordered=True)


def _adjacent_runs(coded: pl.DataFrame, sides: pl.Series) -> pl.DataFrame:
    """:func:`_runs` of ``coded`` (:func:`_coded` by ``sides``, every case in time order, no
    null stamp),
    with ``_prev_at`` (the stamp of the row before the taker's first step) and ``_tied``
    (a stamp ties around the change: with the next row, or between the two rows before).

    Read off the rows' integers with array operations: the runs are where the case or the
    side changes, a handoff each run but a case's first; the strings are gathered once, at
    the handoffs' rows (a side's name from the few names by its number).
    """
    import numpy as np

    case = coded.get_column("_case").to_numpy()
    code = coded.get_column("_code").to_numpy()
    stamps = coded.get_column("timestamp")
    ts = stamps.to_physical().to_numpy()
    first = run_starts(case)
    change = run_starts(case, code)
    runs = np.flatnonzero(change)
    opens = first[runs]  # the run opens its case
    width = int(code.max()) + 1
    # the side comes back later in the case: the run is not the last of its (case, side),
    # read in a stable sort of the runs by (case, side) (half the time of a hash of them)
    pair = case[runs] * width + code[runs]
    by_pair = np.argsort(pair, kind="stable")
    paired = pair[by_pair]
    again = np.empty(runs.size, dtype=bool)
    again[by_pair[:-1]] = paired[1:] == paired[:-1]
    again[by_pair[-1:]] = False
    opening = np.flatnonzero(opens)
    number = np.arange(runs.size) - opening[np.cumsum(opens) - 1]
    handing = np.flatnonzero(~opens)
    at, giver = runs[handing], runs[handing - 1]
    # a tie with the next row of the case, or between the two rows before (both in it)
    later = np.zeros(at.size, dtype=bool)
    inner = at + 1 < case.size
    later[inner] = ~first[at[inner] + 1] & (ts[at[inner]] == ts[at[inner] + 1])
    earlier = np.zeros(at.size, dtype=bool)
    deep = at >= 2
    back = at[deep]
    earlier[deep] = ~first[back - 1] & (ts[back - 1] == ts[back - 2])
    return pl.DataFrame(
        {
            "case_id": coded.get_column("case_id").gather(at),
            "from": sides.gather(code[giver] - 1).alias("from"),
            "to": sides.gather(code[at] - 1).alias("to"),
            "_b_first": pl.Series(ts[at]).cast(stamps.dtype),
            "_run": number[handing].astype(np.int64),
            "_case": case[at].astype(np.int64),
            "_code": code[at].astype(np.int64),
            "_from_code": code[giver].astype(np.int64),
            "rework": again[handing - 1],
            "_prev_at": pl.Series(ts[at - 1]).cast(stamps.dtype),
            "_tied": later | earlier,
        }
    )


def _cases_sorted(handoffs: pl.DataFrame, cases: pl.Series) -> pl.Series:
    """The row order that puts the rows of ``cases`` of ``handoffs`` (in case order, ``_case``
    numbers) in :data:`_FINISH_ORDER` within each case, in place: the other cases hand over at
    strictly later times down their rows, so the whole is then in that order when the cases'
    ids are ascending (:func:`_finish` checks) without a sort of every handoff. An order, not
    the reordered frame: :func:`_finish` gathers only the columns it keeps."""
    rows = handoffs.with_row_index("_at").filter(pl.col("_case").is_in(cases.implode()))
    ordered = rows.sort("_case", *_FINISH_ORDER[1:]).get_column("_at")
    order = pl.int_range(handoffs.height, dtype=pl.UInt32, eager=True)
    return order.scatter(rows.get_column("_at"), ordered)


#: the order of :func:`handoffs`' rows
_FINISH_ORDER: Final = ("case_id", "taken_at", "from", "to", "left_at", "rework")


def _finish(
    taken: pl.DataFrame,
    dimension: str,
    *,
    order: pl.Series | None = None,
    cases_ordered: bool = False,
) -> pl.DataFrame:
    """The handoff rows of ``taken`` (its rows in ``order``, when given) in :data:`_FINISH_ORDER`.

    ``cases_ordered``: each case's rows are contiguous and in that order already
    (:func:`_adjacent_handoffs`), so the whole is when the case ids ascend down the rows --
    one comparison of one column instead of every key's.
    """
    columns = ("case_id", "from", "to", "left_at", "taken_at", "rework")
    kept = taken.select(columns).cast({c: _HANDOFF_SCHEMA[c] for c in columns})
    if order is not None:
        kept = kept.gather(order)
    done = kept.with_columns(
        (pl.col("taken_at") - pl.col("left_at")).dt.total_seconds(fractional=True).alias("wait_s"),
        pl.lit(dimension).alias("dimension"),
    ).select(list(_HANDOFF_SCHEMA))
    # handoffs found in case order are mostly in this order already: one pass says so
    ids = done.get_column("case_id")
    in_order = (
        ids.null_count() == 0 and ids.is_sorted()
        if cases_ordered
        else is_sorted(done, _FINISH_ORDER)
    )
    return done if in_order else done.sort(*_FINISH_ORDER)


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
    ordered = (handoffs if in_order else handoffs.sort(["case_id", "taken_at"])).with_columns(
        (pl.col("wait_s") > stall_factor * pl.col("wait_s").median()).alias("_stall"),
        pl.col("case_id").ne_missing(pl.col("case_id").shift(1)).cum_sum().alias("_case"),
        _pair_numbers(handoffs),
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
    numbered = ordered.filter(starts).select("_case", "case_id")
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


def _pair_numbers(handoffs: pl.DataFrame) -> pl.Expr:
    """``_pair``: each handoff's (from, to) as one small integer, ``from * sides + to`` over the
    sides' dense numbers (their categorical codes renumbered through a table), so a stable
    sort by it is a radix sort of small integers."""
    import numpy as np

    codes = [handoffs.get_column(c).cast(pl.Categorical).to_physical() for c in ("from", "to")]
    seen = np.unique(np.concatenate([c.unique().drop_nulls().to_numpy() for c in codes]))
    dense = np.zeros(int(seen.max()) + 1 if seen.size else 0, dtype=np.int64)
    dense[seen] = np.arange(seen.size)
    number = [pl.Series(dense[c.fill_null(0).to_numpy()]) for c in codes]
    # a null side (none from handoffs()) keeps its pair null
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
    pair, case = pair[by_pair], case[by_pair]
    distinct = run_starts(pair, case)
    pair, case = pair[distinct], case[distinct]
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
