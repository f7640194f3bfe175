"""Recurring failure patterns: what keeps breaking, in how many cases and weeks, and its trend.

Every detector reads the stage events of :func:`wfmine.stages.stage_events`
(the one stage-visit kernel: a case moves back only when its authoritative
state does) and the visits of :func:`wfmine.stages.stage_visits`, and
returns *occurrences* (``case_id, type, stage, timestamp``). With a design
only the cases conformance judges are considered (:func:`wfmine.stages.case_scope`:
work items with a mapped event): a Slack thread, an e-mail or a bot's pull
request linked to no work item is not a run of the designed workflow.

``rework_loop``  work goes round a loop: the case moves back to an earlier
                 stage (design order) by a move the design does not allow, or
                 by an allowed one twice or more in the case (a designed round
                 trip, once, is the design working); or the work comes back
                 ``MIN_LOOP_CYCLES`` times or more in one stage ("Changes
                 requested" followed by new work). The stage is the one that
                 sent the work back. Leaving an *end* stage is a reopen.
``reopen``       a done item reopened: a status named "Reopened", the
                 reopen flag of the tracker's history, "PR reopened", "GH
                 issue reopened", or the case leaving an end stage for an
                 earlier one (whatever the tracker's status category says).
``revert``       ``Revert merged``.
``ci_fix``       ``Check failed``, then ``Commit pushed``, then ``Check passed``
                 in the same case.
``stall``        work stuck: in a finished stage visit, a spell with nobody
                 acting on the item (no comment, assignment, commit, status
                 change; :func:`idle_spells`) longer than the stage's stall
                 limit (:func:`stall_limits`): the design's expected time where
                 it gives one; where it is silent a statistical limit. A long
                 visit with work going on is over its expected time (a
                 conformance timing deviation), not stalled.
``ping_pong``    A -> B -> A in the case's sequence of distinct consecutive
                 assignees (tracker assignments) -- or, in a log without
                 assignments, of performing teams and of resources -- within one
                 stage visit: moves between stages are the design's to judge.
``abandoned``    an open case idle (no event until the log ends) longer than
                 the stall limit of the stage it is in. A case is closed when it
                 reached an end stage and was not reopened after, or when its
                 last event closes it (``PR merged``, ``PR closed``, ``GH issue
                 closed``, ``Resolution set``).

One root event, one finding: what follows a revert or a reopen in the same
case (the rework, stalls and bounces it causes) is its consequence -- listed
on the revert's or reopen's finding, not counted as patterns of their own.

A pattern's signature is type + stage + scope (the case's project, e.g.
``SHOP`` of ``jira:SHOP-12``, where case ids carry one): a rise in one
project is not diluted by the rest. It *recurs* when it appears in at least
``min_cases`` cases across at least ``min_weeks`` distinct ISO weeks. Its
trend is the Mann–Kendall test (:func:`wfmine.findings.trend.case_trend_test`)
on the cases that could show it (those of its scope that reached its stage),
ordered by when they started: is the share showing it rising or declining?
The weekly counts are in the evidence for charts.

Why one module of about a thousand lines: the detectors share the
occurrence schema and the stage context, and the precedence between them
(a reopen beats a rework loop, a loop's stall belongs to the loop, a
revert's consequences are its evidence) has to read in one place. The stall
limits, which the seams, governance and the Spark engine read too, are
:mod:`wfmine.findings.stalls`.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any, Final

import polars as pl

from wfmine.design import Design
from wfmine.findings._events import MAPPED, performed, stage_context
from wfmine.findings._shape import Finding
from wfmine.findings.stalls import (
    FINISHED,
    STALL_FACTOR,
    WEEKDAYS_NOTE,
    limit_of,
    stall_limits,
    visit_durations,
    weekday_seconds,
    work_item_kinds,
)
from wfmine.findings.trend import ALPHA, case_trend_test
from wfmine.model import case_kinds
from wfmine.stages import (
    first_in_group,
    in_kernel_order,
    last_in_group,
    shift_in_group,
    sorted_by,
    stage_visits,
)
from wfmine.units import human_duration

if TYPE_CHECKING:  # numpy is imported where it is used
    import numpy as np
    from numpy.typing import NDArray

__all__ = [
    "CLOSING_ACTIVITIES",
    "FAILURE_TYPES",
    "MIN_CASES",
    "MIN_LOOP_CYCLES",
    "MIN_WEEKS",
    "OCCURRENCE_SCHEMA",
    "ROOT_TYPES",
    "failure_occurrences",
    "failure_patterns",
    "judged_limits",
    "root_occurrences",
    "stall_recoveries",
    "stalled_visits",
    "weekly_pattern_counts",
]

FAILURE_TYPES: Final = (
    "rework_loop",
    "reopen",
    "revert",
    "ci_fix",
    "stall",
    "ping_pong",
    "abandoned",
)
MIN_CASES: Final = 3
MIN_WEEKS: Final = 2
#: "changes requested, new work" this many times in one stage visit is a loop
MIN_LOOP_CYCLES: Final = 2
#: without a design: idle longer than this x the p90 gap between events of cases
ABANDON_FACTOR: Final = 3.0
#: activities (docs/contracts.md) that close an item on its platform
CLOSING_ACTIVITIES: Final = ("PR merged", "PR closed", "GH issue closed", "Resolution set")
_REOPEN_ACTIVITIES: Final = ("PR reopened", "GH issue reopened", "Issue reopened")
#: failures that cause others: what follows them in the case is their consequence
ROOT_TYPES: Final = ("revert", "reopen")
#: loops whose time is theirs: a stall in the stage they went round in is their consequence
LOOP_TYPES: Final = ("ci_fix", "rework_loop")

OCCURRENCE_SCHEMA: Final = pl.Schema(
    [
        ("case_id", pl.String()),
        ("type", pl.String()),
        ("stage", pl.String()),
        ("timestamp", pl.Datetime("us", "UTC")),
        ("wait_s", pl.Float64()),  # time the occurrence cost where known (a stall's excess)
    ]
)


def _empty() -> pl.DataFrame:
    return pl.DataFrame(schema=OCCURRENCE_SCHEMA)


def _occ(
    df: pl.DataFrame, type_: str, stage: pl.Expr | None = None, wait: pl.Expr | None = None
) -> pl.DataFrame:
    return df.select(
        "case_id",
        pl.lit(type_).alias("type"),
        (stage if stage is not None else pl.col("stage")).cast(pl.String).alias("stage"),
        pl.col("timestamp").cast(pl.Datetime("us", "UTC")),
        (wait if wait is not None else pl.lit(None)).cast(pl.Float64).alias("wait_s"),
    )


def _ctx(events: pl.DataFrame) -> pl.DataFrame:
    """The events with ``stage_ctx``: their own mapped stage, else where the case is."""
    return events.with_columns(stage_context().alias("stage_ctx"))


def _rework(
    ctx: pl.DataFrame, visits: pl.DataFrame, design: Design | None, ci_fixes: pl.DataFrame
) -> pl.DataFrame:
    parts = [_empty()]
    if design is not None and visits.height:
        rank = design.order
        ends = list(design.end_stages)
        allowed = sorted(f"{a}\x00{b}" for a, b in design.allowed)
        # each visit's rank in design order, and the one before's: the rank of the stage
        # before (its ranks looked up once, not twice)
        ranked = visits.select(
            "case_id",
            "stage",
            "start",
            pl.col("stage").replace_strict(rank, default=None, return_dtype=pl.Int64).alias("_o"),
        )
        back = (
            ranked.with_columns(
                shift_in_group(pl.col("stage"), "case_id", 1).alias("_from"),
                shift_in_group(pl.col("_o"), "case_id", 1).alias("_p"),
                # the return visit lasts until the case moves on from it
                shift_in_group(pl.col("start"), "case_id", -1).alias("_moved_on"),
            )
            .filter(pl.col("_o") < pl.col("_p"))
            .filter(~pl.col("_from").is_in(ends))
            .select("case_id", "stage", "start", "_from", "_o", "_p", "_moved_on")
        )
        back = back.with_columns(
            pl.concat_str([pl.col("_from"), pl.lit("\x00"), pl.col("stage")])
            .is_in(allowed)
            .alias("_allowed"),
            pl.len().over("case_id", "_from", "stage").alias("_times"),
        )
        # a designed round trip, once, is the design working; a loop is not
        back = back.filter(~pl.col("_allowed") | (pl.col("_times") >= 2))
        explained = (
            back.select("case_id", "start", "_moved_on")
            .join(ci_fixes.select("case_id", pl.col("timestamp").alias("_fail")), on="case_id")
            .filter(
                (pl.col("_fail") >= pl.col("start"))
                & (pl.col("_moved_on").is_null() | (pl.col("_fail") < pl.col("_moved_on")))
            )
            .select("case_id", "start")
            .unique()
        )
        back = back.join(explained, on=["case_id", "start"], how="anti")
        parts.append(_occ(back.rename({"start": "timestamp"}), "rework_loop", pl.col("_from")))
    # work that comes back again and again within one stage: changes requested, new work
    review = ctx.select("case_id", "activity", "timestamp", "stage_ctx").filter(
        pl.col("activity").is_in(["Changes requested", "Commit pushed"])
    )
    is_request = pl.col("activity") == "Changes requested"
    nxt = shift_in_group(pl.col("activity"), "case_id", -1)
    cycles = review.filter(is_request & (nxt == "Commit pushed"))
    loops = (
        cycles.group_by("case_id", "stage_ctx")
        .agg(pl.len().alias("_n"), pl.col("timestamp").min())
        .filter(pl.col("_n") >= MIN_LOOP_CYCLES)
    )
    parts.append(_occ(loops, "rework_loop", pl.col("stage_ctx")))
    return pl.concat(parts)


def _reopen(
    ctx: pl.DataFrame, visits: pl.DataFrame, attrs: pl.DataFrame | None, design: Design | None
) -> pl.DataFrame:
    act = pl.col("activity").fill_null("")
    named = act.is_in(list(_REOPEN_ACTIVITIES)) | act.str.contains(r"(?i)^status:\s*re-?opened?\b")
    # the test runs on the distinct activities; the events are looked up among those it passes
    reopening = ctx.select(act.unique()).filter(named).get_column("activity")
    cond = act.is_in(reopening.implode())
    df = ctx
    if attrs is not None and attrs.height:
        # only attrs naming the key are parsed (the stored JSON spells its keys out)
        flagged = (
            attrs.select("event_id", "attrs")
            .filter(pl.col("attrs").str.contains("reopen", literal=True))
            .filter(pl.col("attrs").str.json_path_match("$.reopen").str.to_lowercase() == "true")
            .select("event_id")
        )
        df = df.with_columns(pl.col("event_id").is_in(flagged["event_id"].implode()).alias("_flag"))
        cond = cond | pl.col("_flag")
    before = shift_in_group(pl.col("at_stage"), "case_id", 1)
    # the columns an occurrence reads, before the filter copies the rows
    explicit = df.select(
        "case_id",
        "timestamp",
        pl.coalesce(before, "stage_ctx").alias("_at"),
        (cond & performed(df)).alias("_keep"),
    )
    explicit = _occ(explicit.filter(pl.col("_keep")), "reopen", pl.col("_at"))
    if design is None:
        return explicit
    # the item's authoritative state leaving an end stage: a reopen whatever the status
    # category says (a merge before QA reaches deploy early; QA after it is no reopen)
    ends = list(design.end_stages)
    state = ctx.select("case_id", "timestamp", "stage", "sets_stage").filter(
        pl.col("sets_stage").fill_null(False)
    )
    left = state.with_columns(shift_in_group(pl.col("stage"), "case_id", 1).alias("_from")).filter(
        pl.col("_from").is_in(ends) & ~pl.col("stage").is_in(ends)
    )
    inferred = _occ(left, "reopen", pl.col("_from"))
    both = pl.concat([explicit, inferred])
    # one reopen per return: an explicit reopen and the move it makes are the same event
    return (
        both.sort("case_id", "timestamp")
        .with_columns(
            (pl.col("timestamp") - shift_in_group(pl.col("timestamp"), "case_id", 1))
            .dt.total_seconds()
            .alias("_gap")
        )
        .filter(pl.col("_gap").is_null() | (pl.col("_gap") > 3600))
        .drop("_gap")
    )


def _ci_fix(ctx: pl.DataFrame) -> pl.DataFrame:
    ts = pl.col("timestamp")
    df = (
        ctx.filter(pl.col("activity").is_in(["Check failed", "Commit pushed", "Check passed"]))
        .with_columns(pl.when(pl.col("activity") == "Check passed").then(ts).alias("_pass"))
        .with_columns(pl.col("_pass").shift(-1).backward_fill().over("case_id").alias("_next_pass"))
        .with_columns(
            pl.when(pl.col("activity") == "Commit pushed").then(pl.col("_next_pass")).alias("_c")
        )
        .with_columns(pl.col("_c").shift(-1).backward_fill().over("case_id").alias("_fixed"))
        .filter((pl.col("activity") == "Check failed") & pl.col("_fixed").is_not_null())
    )
    return _occ(df, "ci_fix", pl.col("stage_ctx"))


def idle_spells(
    events: pl.DataFrame,
    visits: pl.DataFrame,
    design: Design | None,
    *,
    finished: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """Per finished visit: its longest spell with nobody acting on the item.

    Columns ``case_id, visit, stage, start, idle_from, idle_to, idle_s`` and
    the same of its longest spell counted on weekdays (``idle_wd_from``,
    ``idle_wd_to``, ``idle_wd_s``: :func:`weekday_seconds`). An
    act is any event someone (not a bot) performed on the case while it was
    in the visit -- mapped to a stage or not: a comment, an assignment, a
    commit. The spell runs from one act (or the visit's start) to the next
    act (or the visit's end, :func:`visit_durations`). ``finished``: :func:`visit_durations`
    of ``visits``, when the caller has it.
    """
    schema: dict[str, pl.DataType] = {
        "case_id": pl.String(), "visit": pl.Int64(), "stage": pl.String(),
        "start": pl.Datetime("us", "UTC"), "idle_from": pl.Datetime("us", "UTC"),
        "idle_to": pl.Datetime("us", "UTC"), "idle_s": pl.Float64(),
        "idle_wd_from": pl.Datetime("us", "UTC"), "idle_wd_to": pl.Datetime("us", "UTC"),
        "idle_wd_s": pl.Float64(),
    }  # fmt: skip
    # each visit by its row (``_r``), each finished one by one integer (``_v``): the marks
    # are sorted and grouped on it
    if finished is None:
        finished = visit_durations(visits, design)
    # the rows of ``visits`` the finished ones are
    rows = visits.select(pl.int_range(pl.len(), dtype=pl.Int64).alias("_r"), FINISHED.alias("_f"))
    finished = (
        finished.select("case_id", "visit", "stage", "start", "_until")
        .with_columns(rows.filter(pl.col("_f")).get_column("_r"))
        .with_columns(pl.int_range(pl.len(), dtype=pl.Int64).alias("_v"))
    )
    if finished.height == 0:
        return pl.DataFrame(schema=schema)
    bot = pl.col("actor_kind").fill_null("") == "bot"
    # the columns read, before any filter copies the rows
    kept = ["case_id", "visit", "timestamp"] + [c for c in ("pos",) if c in events.columns]
    inside = events.select(*kept, (performed(events) & ~bot).alias("_act")).filter(
        pl.col("visit").is_not_null()
    )
    # the visits of :func:`stage_visits` are the runs of (case, visit) of the events in order:
    # where they are (the usual case), an event's visit is its run's number, looked up by it
    run = (first_in_group("case_id") | (pl.col("visit") != pl.col("visit").shift(1))).fill_null(
        True
    )
    numbered = inside.with_columns(run.alias("_run"))
    heads = numbered.filter(pl.col("_run")).select("case_id", "visit")
    aligned = heads.height == visits.height and heads.equals(visits.select("case_id", "visit"))
    # in the kernel's order each visit's acts come in time order, after its start and (kept)
    # up to its end: its marks are then in order once the visits are (a stable sort on ``_v``)
    timed = aligned and in_kernel_order(inside) and inside["timestamp"].null_count() == 0
    if aligned:
        # per row of ``visits``, its finished visit's number (null: not finished)
        number = rows.select(
            pl.when(pl.col("_f")).then(pl.col("_f").cum_sum().cast(pl.Int64) - 1).alias("_v")
        ).get_column("_v")
        acts = (
            numbered.select(
                (pl.col("_run").cum_sum() - 1).cast(pl.Int64).alias("_r"),
                pl.col("timestamp").alias("_t"),
                "_act",
            )
            .filter(pl.col("_act"))
            .select(pl.lit(number).gather(pl.col("_r")).alias("_v"), "_t")
            .filter(pl.col("_v").is_not_null())
        )
        acts = acts.with_columns(pl.lit(finished.get_column("_until")).gather(pl.col("_v")))
    else:
        acts = (
            inside.filter(pl.col("_act"))
            .select("case_id", "visit", pl.col("timestamp").alias("_t"))
            .join(finished.select("case_id", "visit", "_v", "_until"), on=["case_id", "visit"])
        )
    acts = acts.filter(pl.col("_t") <= pl.col("_until")).select("_v", "_t")
    ordered = timed and acts.height > 0 and bool(acts.select(pl.col("_v").diff().min() >= 0).item())
    if ordered or (timed and acts.height == 0):
        spells = _spells_in_order(finished, acts)
    else:
        # each visit's marks: its start, its acts, its end; spells run between consecutive ones
        marks = pl.concat(
            [
                finished.select("_v", pl.col("start").alias("_t")),
                acts,
                finished.select("_v", pl.col("_until").alias("_t")),
            ]
        )
        marks = marks.sort("_v", maintain_order=True) if timed else marks.sort("_v", "_t")
        spells = marks.with_columns(shift_in_group(pl.col("_t"), "_v", 1).alias("_from")).filter(
            pl.col("_from").is_not_null()
        )
    spells = spells.with_columns(
        (pl.col("_t") - pl.col("_from")).dt.total_seconds(fractional=True).alias("_s"),
        weekday_seconds(pl.col("_from"), pl.col("_t")).alias("_w"),
    )
    tops = _longest_in_runs(spells)
    begins, ends = spells.get_column("_from"), spells.get_column("_t")
    at, at_wd = tops.get_column("_at"), tops.get_column("_at_wd")
    longest = tops.select(
        "_v",
        "idle_s",
        begins.gather(at).alias("idle_from"),
        ends.gather(at).alias("idle_to"),
        "idle_wd_s",
        begins.gather(at_wd).alias("idle_wd_from"),
        ends.gather(at_wd).alias("idle_wd_to"),
    )
    # every finished visit has a spell (its marks are at least its start and end): the
    # longest ones are then the finished visits' rows, in order, and are put beside them
    beside = longest.height == finished.height and longest["_v"].equals(finished["_v"])
    return (
        (
            pl.concat([finished, longest.drop("_v")], how="horizontal")
            if beside
            else finished.join(longest, on="_v", how="inner")
        )
        .select(list(schema))
        .cast(schema)  # type: ignore[arg-type]
        .pipe(sorted_by, ("case_id", "visit"))
    )


def _spells_in_order(finished: pl.DataFrame, acts: pl.DataFrame) -> pl.DataFrame:
    """:func:`idle_spells`' spells (``_v, _t, _from``) of visits whose acts come grouped by
    visit (``_v`` rising) and, within one, in time order: visit ``v`` with ``a`` acts has
    ``a + 1`` spells, start -> first act -> ... -> last act -> end. Each spell's place is
    arithmetic -- visit ``v`` starts at ``v`` + the acts of earlier visits, act ``j`` (of
    all) ends spell ``v + j`` and begins the next -- so the marks are written to their
    places, not concatenated and sorted (two million rows at 1M events).
    """
    import numpy as np

    n, m = finished.height, acts.height
    v_act = acts.get_column("_v").to_numpy()
    counts = np.bincount(v_act, minlength=n) if m else np.zeros(n, dtype=np.int64)
    before = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(counts, out=before[1:])
    visit, act = np.arange(n, dtype=np.int64), np.arange(m, dtype=np.int64)
    at_act = acts.get_column("_t").dt.epoch("us").to_numpy()
    begins, ends = np.empty(n + m, dtype=np.int64), np.empty(n + m, dtype=np.int64)
    begins[visit + before[:-1]] = finished.get_column("start").dt.epoch("us").to_numpy()
    begins[v_act + act + 1] = at_act
    ends[v_act + act] = at_act
    ends[visit + before[1:]] = finished.get_column("_until").dt.epoch("us").to_numpy()
    when = pl.Datetime("us", "UTC")
    return pl.DataFrame(
        {
            "_v": np.repeat(visit, counts + 1),
            "_t": pl.Series(ends).cast(when),
            "_from": pl.Series(begins).cast(when),
        }
    )


def _longest_in_runs(spells: pl.DataFrame) -> pl.DataFrame:
    """Per visit of ``spells`` (grouped by ``_v``, in runs): ``_v``, the longest spell's
    length and row (``idle_s``, ``_at``) and the same on weekdays (``idle_wd_s``, ``_at_wd``).

    The first of equally long spells, as ``sort_by(...).last()`` picks it. Each visit's
    spells are a run of rows, so each maximum is a segment's (``numpy.maximum.reduceat``)
    and its row the segment's first equal to it -- no hashing of hundreds of thousands
    of small groups.
    """
    import numpy as np

    lengths = spells.select(pl.col("_s", "_w"))
    if (
        lengths.null_count().sum_horizontal().item()
        or lengths.select(pl.any_horizontal(pl.all().is_nan().any())).item()
    ):
        tops = spells.group_by("_v", maintain_order=True).agg(
            pl.col("_s").max().alias("idle_s"),
            pl.col("_s").arg_max().alias("_at"),
            pl.col("_w").max().alias("idle_wd_s"),
            pl.col("_w").arg_max().alias("_at_wd"),
            pl.len().alias("_n"),
        )
        first = (pl.col("_n").cum_sum() - pl.col("_n")).cast(pl.Int64)
        return tops.select(
            "_v",
            "idle_s",
            (first + pl.col("_at")).alias("_at"),
            "idle_wd_s",
            (first + pl.col("_at_wd")).alias("_at_wd"),
        )
    v = spells.get_column("_v").to_numpy()
    starts = np.flatnonzero(np.r_[True, v[1:] != v[:-1]]) if v.size else np.zeros(0, np.int64)
    segment = np.repeat(np.arange(starts.size), np.diff(np.r_[starts, v.size]))
    out: dict[str, Any] = {"_v": v[starts]}
    for column, top, at in (("_s", "idle_s", "_at"), ("_w", "idle_wd_s", "_at_wd")):
        x = spells.get_column(column).to_numpy()
        most = np.maximum.reduceat(x, starts) if x.size else x
        hit = np.flatnonzero(x == most[segment])
        picked = hit[np.r_[True, segment[hit][1:] != segment[hit][:-1]]] if hit.size else hit
        out[top], out[at] = most, picked.astype(np.int64)
    return pl.DataFrame(out, schema={"_v": pl.Int64, "idle_s": pl.Float64, "_at": pl.Int64,
                                     "idle_wd_s": pl.Float64, "_at_wd": pl.Int64})  # fmt: skip


def stalled_visits(
    events: pl.DataFrame,
    visits: pl.DataFrame,
    limits: pl.DataFrame,
    design: Design | None,
    spells: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """The visits whose longest idle spell passed the stage's stall limit, with ``limit_s``.

    The spell is counted as the limit is: on weekdays for a statistical limit,
    in calendar time for the design's expected time (``weekdays``). ``spells``:
    :func:`idle_spells` of the same events and visits, when the caller has them. The
    ``stall`` occurrences and the stall recoveries are both read from these rows.
    """
    if visits.height == 0 or limits.height == 0:
        return (
            idle_spells(events, visits.head(0), design)
            .drop("idle_wd_s", "idle_wd_from", "idle_wd_to")
            .with_columns(
                pl.lit(None, dtype=pl.Float64).alias("limit_s"),
                pl.lit(None, dtype=pl.Boolean).alias("weekdays"),
            )
        )
    if spells is None:
        spells = idle_spells(events, visits, design)
    spells = limit_of(spells, limits)
    wd = pl.col("weekdays")
    spells = spells.with_columns(
        pl.when(wd).then(pl.col("idle_wd_s")).otherwise(pl.col("idle_s")).alias("idle_s"),
        pl.when(wd).then(pl.col("idle_wd_from")).otherwise(pl.col("idle_from")).alias("idle_from"),
        pl.when(wd).then(pl.col("idle_wd_to")).otherwise(pl.col("idle_to")).alias("idle_to"),
    ).drop("idle_wd_s", "idle_wd_from", "idle_wd_to")
    return spells.filter(pl.col("idle_s") > pl.col("limit_s"))


def _stall(
    events: pl.DataFrame,
    visits: pl.DataFrame,
    limits: pl.DataFrame,
    design: Design | None,
    spells: pl.DataFrame | None = None,
    stalled: pl.DataFrame | None = None,
) -> pl.DataFrame:
    d = stalled_visits(events, visits, limits, design, spells) if stalled is None else stalled
    return _occ(
        d.rename({"idle_to": "timestamp"}), "stall", wait=pl.col("idle_s") - pl.col("limit_s")
    )


def judged_limits(
    events: pl.DataFrame,
    design: Design | None,
    events_attrs: pl.DataFrame | None = None,
    *,
    visits: pl.DataFrame | None = None,
    stall_factor: float = STALL_FACTOR,
    kinds: pl.DataFrame | None = None,
    finished: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """The stall limits ``stall`` and ``abandoned`` are judged by: :func:`stall_limits` of the
    visits of ``events`` per project and, where ``events_attrs`` name the work items' kinds
    (:func:`work_item_kinds`), per kind. The detectors, the recovery times and the
    patterns' evidence all read these, so a finding states the limit that found it.
    ``kinds``: the kinds themselves, for a log read without attrs (a lake's ``kinds`` table);
    ``finished``: :func:`visit_durations` of ``visits``, when the caller has it."""
    visits = stage_visits(events) if visits is None else visits
    kinds = (
        case_kinds(kinds, events) if kinds is not None else work_item_kinds(events, events_attrs)
    )
    return stall_limits(
        visits, design, factor=stall_factor, per_project=True, kinds=kinds, finished=finished
    )


def stall_recoveries(
    events: pl.DataFrame,
    design: Design | None = None,
    *,
    stall_factor: float = STALL_FACTOR,
    visits: pl.DataFrame | None = None,
    spells: pl.DataFrame | None = None,
    events_attrs: pl.DataFrame | None = None,
    limits: pl.DataFrame | None = None,
    stalled: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """Every stalled stage visit and how long the work took to move again.

    Columns ``case_id``, ``stage``, ``start`` (visit start), ``stalled_at``
    (the last act before the stall + the stage's stall limit: from then on
    the work counts as stuck), ``recovered_at`` (the next progress: the next
    act on the item, or the case's next stage visit) and ``recovery_s``
    (``recovered_at - stalled_at``). ``events`` are
    :func:`wfmine.stages.stage_events` rows; ``visits`` (their
    :func:`wfmine.stages.stage_visits`) and ``spells`` (:func:`idle_spells` of
    both): taken as given when the caller has them. ``limits``: :func:`judged_limits` of
    the same events (computed from them and ``events_attrs`` otherwise); ``stalled``:
    :func:`stalled_visits` of all these, when the caller has it.
    """
    schema: dict[str, pl.DataType] = {
        "case_id": pl.String(), "stage": pl.String(), "start": pl.Datetime("us", "UTC"),
        "stalled_at": pl.Datetime("us", "UTC"), "recovered_at": pl.Datetime("us", "UTC"),
        "recovery_s": pl.Float64(),
    }  # fmt: skip
    if stalled is None:
        visits = stage_visits(events) if visits is None else visits
        if limits is None:
            limits = judged_limits(
                events, design, events_attrs, visits=visits, stall_factor=stall_factor
            )
        stalled = stalled_visits(events, visits, limits, design, spells)
    limit_us = (pl.col("limit_s") * 1_000_000).cast(pl.Int64)
    return (
        stalled.select(
            "case_id",
            "stage",
            "start",
            # a weekday limit passes at the spell's end minus its excess (weekdays)
            pl.when(pl.col("weekdays"))
            .then(
                pl.col("idle_to")
                - pl.duration(
                    microseconds=((pl.col("idle_s") - pl.col("limit_s")) * 1e6).cast(pl.Int64)
                )
            )
            .otherwise(pl.col("idle_from") + pl.duration(microseconds=limit_us))
            .alias("stalled_at"),
            pl.col("idle_to").alias("recovered_at"),
            (pl.col("idle_s") - pl.col("limit_s")).alias("recovery_s"),
        )
        .cast(schema)  # type: ignore[arg-type]
        .sort("stalled_at", "case_id")
    )


def _bounces(df: pl.DataFrame, side: pl.Expr, within: list[str]) -> pl.DataFrame:
    """Rows where ``side`` returns to the value before the last one (A -> B -> A).

    ``df`` is in case order; ``side`` is collapsed to its distinct consecutive
    values within each group of ``within`` (the case, and the stage visit
    with a design) before the pattern is looked for.
    """
    # the columns read here and by the occurrences made of the rows, before any filter
    kept = dict.fromkeys([*within, "case_id", "timestamp", "stage_ctx"])
    keyed = df.select(*kept, side.alias("_side")).filter(pl.col("_side").is_not_null())
    # the groups are runs of rows (``df`` is in case order): numbered where a key changes,
    # with a missing key value the same as an empty one, as in the text key they stand for
    changes = []
    for c in within:
        col = pl.col(c)
        if keyed.schema[c] == pl.String:
            col = col.fill_null("")
            changes.append((col != col.shift(1)).fill_null(True))
        else:
            changes.append(col.ne_missing(col.shift(1)))
    new_group = pl.any_horizontal(changes)
    keyed = keyed.with_columns(new_group.cum_sum().alias("_grp"))
    changed = first_in_group("_grp") | (pl.col("_side") != pl.col("_side").shift(1))
    runs = keyed.filter(changed)
    p1 = shift_in_group(pl.col("_side"), "_grp", 1)
    p2 = shift_in_group(p1, "_grp", 1)
    return runs.filter((pl.col("_side") == p2) & (pl.col("_side") != p1))


def _ping_pong(ctx: pl.DataFrame, attrs: pl.DataFrame | None, staged: bool) -> pl.DataFrame:
    within = ["case_id", "visit"] if staged else ["case_id"]
    assigned = pl.DataFrame()
    if attrs is not None and attrs.height:
        # the attrs of the assignments only are parsed, not every event's
        assigned = (
            ctx.filter(pl.col("activity") == "Assignee changed")
            .join(
                attrs.select("event_id", pl.col("attrs").alias("_attrs")),
                on="event_id",
                maintain_order="left",  # in case order, whatever order the store holds attrs in
            )
            .with_columns(pl.col("_attrs").str.json_path_match("$.to").alias("_to"))
            .drop("_attrs")
        )
        assigned = assigned.filter(pl.col("_to").is_not_null())
    if assigned.height:
        return _occ(_bounces(assigned, pl.col("_to"), within), "ping_pong", pl.col("stage_ctx"))
    # no assignments: the performing teams (work passing back within one stage visit); in a
    # log without a design or teams, the resources (as in a classic help-desk log)
    act = performed(ctx) & (pl.col("actor_kind").fill_null("") != "bot")
    if staged:
        act = act & MAPPED
    read = dict.fromkeys(
        [*within, "case_id", "timestamp", "stage_ctx", "team", "resource", "actor_id"]
    )
    acts = ctx.select(*read, act.alias("_act")).filter(pl.col("_act"))
    if acts.get_column("team").null_count() < acts.height:
        return _occ(_bounces(acts, pl.col("team"), within), "ping_pong", pl.col("stage_ctx"))
    if staged:
        return _empty()  # an author and a reviewer taking turns within a stage is the work
    who = pl.coalesce(pl.col("resource"), pl.col("actor_id"))
    return _occ(_bounces(acts, who, within), "ping_pong", pl.col("stage_ctx"))


def _abandoned(
    ctx: pl.DataFrame,
    visits: pl.DataFrame,
    design: Design | None,
    limits: pl.DataFrame,
    reopens: pl.DataFrame,
    factor: float,
    log_end: dt.datetime | None = None,
) -> pl.DataFrame:
    if ctx.height == 0:
        return _empty()
    if log_end is None:
        log_end = ctx["timestamp"].max()  # type: ignore[assignment]
    idle = (pl.lit(log_end) - pl.col("timestamp")).dt.total_seconds(fractional=True)
    last = ctx.filter(last_in_group("case_id")).select(
        "case_id", "timestamp", "activity", pl.col("at_stage").alias("_at")
    )
    closing = pl.col("activity").is_in(list(CLOSING_ACTIVITIES))
    if design is not None:
        ends = list(design.end_stages)
        done = (
            visits.select("case_id", "start", pl.col("stage").is_in(ends).alias("_end"))
            .filter(pl.col("_end"))
            .select("case_id", pl.col("start").alias("_done"))
        )
        case, at = pl.col("case_id"), pl.col("_done")
        # visits in case order, each case's in time order: its last end visit is its latest
        # (a filter of one comparison per row, not a group-by on the case ids)
        in_runs = done.select(
            case.is_sorted()
            & case.null_count().eq(0)
            & at.null_count().eq(0)
            & ((at >= at.shift(1)) | (case != case.shift(1))).fill_null(True).all()
        ).item()
        done_at = (
            done.filter(last_in_group("case_id"))
            if in_runs
            else done.group_by("case_id").agg(pl.col("_done").max())
        )
        reopened = (
            reopens.join(done_at, on="case_id")
            .filter(pl.col("timestamp") >= pl.col("_done"))
            .select("case_id")
            .unique()
        )
        open_ = (
            last.filter(pl.col("_at").is_not_null() & ~pl.col("_at").is_in(ends) & ~closing)
            .join(done_at, on="case_id", how="left")
            .filter(
                pl.col("_done").is_null() | pl.col("case_id").is_in(reopened["case_id"].implode())
            )
        )
        open_ = limit_of(open_, limits, stage="_at")
        wd_idle = weekday_seconds(pl.col("timestamp"), pl.lit(log_end))
        counted = pl.when(pl.col("weekdays")).then(wd_idle).otherwise(idle)
        return _occ(open_.filter(counted > pl.col("limit_s")), "abandoned", pl.col("_at"))
    gap = (
        pl.col("timestamp") - shift_in_group(pl.col("timestamp"), "case_id", 1)
    ).dt.total_seconds(fractional=True)
    gaps = ctx.select(gap.alias("_gap")).get_column("_gap").drop_nulls()
    if gaps.len() == 0:
        return _empty()
    limit = factor * float(gaps.quantile(0.9, interpolation="linear") or 0.0)
    counts = (
        last.group_by("activity")
        .agg(pl.len().alias("n"))
        .sort(["n", "activity"], descending=[True, False])
    )
    counts = counts.with_columns((pl.col("n").cum_sum() / pl.col("n").sum()).alias("_c"))
    usual = counts.filter(pl.col("_c").shift(1).fill_null(0) < 0.8)["activity"]
    ended = pl.col("activity").is_in(usual.implode()) | closing
    return _occ(last.filter(~ended & (idle > limit)), "abandoned", pl.col("_at"))


def failure_occurrences(
    events: pl.DataFrame,
    design: Design | None = None,
    events_attrs: pl.DataFrame | None = None,
    *,
    stall_factor: float = STALL_FACTOR,
    abandon_factor: float = ABANDON_FACTOR,
    limits: pl.DataFrame | None = None,
    log_end: dt.datetime | None = None,
    visits: pl.DataFrame | None = None,
    spells: pl.DataFrame | None = None,
    stalled: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """Every occurrence of every failure type (:data:`OCCURRENCE_SCHEMA`, deduplicated).

    ``events``: :func:`wfmine.stages.stage_events` of the cases to judge
    (see :func:`wfmine.findings._events.staged_events` without a design);
    ``events_attrs`` (``event_id``, ``attrs``) enables the attrs-based
    signals (the tracker's reopen flag, assignments). Consequences of a
    revert or reopen are still listed here; :func:`failure_patterns` folds
    them into their root.

    Two inputs are statistics over *all* cases, not only these: the stall
    limits (:func:`stall_limits` with ``per_project=True``) and the log's end
    (the time ``abandoned`` measures idleness to). By default both come from
    ``events``; a caller that judges the cases in parts (the Spark path, one
    bucket of cases at a time) computes them once over the whole log and
    passes them in (limits with no ``scope`` column are one limit per stage).
    ``visits`` (:func:`wfmine.stages.stage_visits` of ``events``) and
    ``spells`` (:func:`idle_spells` of both) and ``stalled`` (:func:`stalled_visits` of
    them and the limits): taken as given when the caller has them.
    """
    ctx = _ctx(events)
    visits = stage_visits(events) if visits is None else visits
    if limits is None:
        limits = judged_limits(
            events, design, events_attrs, visits=visits, stall_factor=stall_factor
        )
    reopens = _reopen(ctx, visits, events_attrs, design)
    ci_fixes = _ci_fix(ctx)
    return _deduplicated(
        [
            _rework(ctx, visits, design, ci_fixes),
            _revert(ctx),
            ci_fixes,
            _stall(events, visits, limits, design, spells, stalled),
            reopens,
            _ping_pong(ctx, events_attrs, design is not None),
            _abandoned(ctx, visits, design, limits, reopens, abandon_factor, log_end),
        ]
    )


def root_occurrences(
    events: pl.DataFrame,
    design: Design | None = None,
    events_attrs: pl.DataFrame | None = None,
    *,
    visits: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """The root occurrences alone -- the ``revert`` and ``reopen`` rows
    :func:`failure_occurrences` gives for the same inputs, by the same detectors.

    What follows a root in its case is its consequence. The seam figures need
    only the roots (the handoffs after one are set aside), and a log analysed
    without findings -- the discovery of a plain log -- should not pay for
    every failure detector to get them.
    """
    ctx = _ctx(events)
    visits = stage_visits(events) if visits is None else visits
    return _deduplicated([_revert(ctx), _reopen(ctx, visits, events_attrs, design)])


def _revert(ctx: pl.DataFrame) -> pl.DataFrame:
    return _occ(ctx.filter(pl.col("activity") == "Revert merged"), "revert", pl.col("stage_ctx"))


def _deduplicated(parts: list[pl.DataFrame]) -> pl.DataFrame:
    """The occurrences of every detector as one frame, deduplicated, in a stable order.

    Sorted on every column first, so a repeated row follows its first: each row unlike
    the one before it is kept (a comparison per row, not a hash of every row; sorting
    a hashed frame's scattered rows costs ten times more).
    """
    rows = pl.concat(parts)
    order = ["type", "stage", "case_id", "timestamp"]
    rows = rows.sort(order + [c for c in rows.columns if c not in order], nulls_last=True)
    new = pl.any_horizontal(pl.col(c).ne_missing(pl.col(c).shift(1)) for c in rows.columns)
    return rows.filter(new.fill_null(True))


def consequences(occ: pl.DataFrame, visits: pl.DataFrame | None = None) -> pl.DataFrame:
    """Split occurrences into roots/independent ones and the consequences of a root.

    Returns ``occ`` with ``root_type`` / ``root_at``: for an occurrence that
    follows a revert or reopen in the same case (at or after it), the
    (first such) root; for a stall of a stage in which the case went round a
    rework or CI-fix loop, that loop; null otherwise. A reopen after a revert
    is the revert's. A root is never its own consequence.

    With the stage ``visits`` (:func:`wfmine.stages.stage_visits`), a stall
    whose quiet time a root ended -- the root comes later in the same visit
    (finished work sitting in its end stage until a revert or reopen) -- is
    that root's too: the visit lasted because the root reopened it.
    """
    # a reopen that follows a revert is the revert's consequence
    after_revert = (
        occ.filter(pl.col("type") == "revert")
        .select("case_id", pl.col("timestamp").min().over("case_id").alias("_rv"))
        .unique()
    )
    # the as-of join matches the cases by their dense numbers, not by their text (ranked
    # here, where :func:`failure_occurrences` left each case's rows together, not once the
    # rows are in time order)
    by = "case_id"
    if occ.get_column("case_id").null_count() == 0:
        by = "_case"
        occ = occ.with_columns(pl.col("case_id").rank("dense").alias(by))
    flagged = occ.join(after_revert, on="case_id", how="left").with_columns(
        ((pl.col("type") == "reopen") & (pl.col("timestamp") >= pl.col("_rv")))
        .fill_null(False)
        .alias("_follows")
    )
    is_root = pl.col("type").is_in(list(ROOT_TYPES)) & ~pl.col("_follows")
    flagged = flagged.sort("timestamp")
    roots = (
        flagged.filter(is_root)
        .select(
            "case_id", by, pl.col("type").alias("root_type"), pl.col("timestamp").alias("root_at")
        )
        .sort("root_at")
    )
    tagged = flagged.join_asof(
        roots.select(by, "root_type", "root_at"),
        left_on="timestamp",
        right_on="root_at",
        by=by,
        strategy="backward",
        check_sortedness=False,
    )
    tagged = tagged.with_columns(
        pl.when(is_root).then(None).otherwise(pl.col("root_type")).alias("root_type"),
        pl.when(is_root).then(None).otherwise(pl.col("root_at")).alias("root_at"),
    ).drop("_rv", "_follows", "_case", strict=False)
    roots = roots.select("case_id", "root_type", "root_at")
    if visits is not None and roots.height and visits.height:
        tagged = _stalls_a_root_ended(tagged, roots, visits)
    if not tagged.select(
        (pl.col("root_type").is_null() & (pl.col("type") == "stall")).any()
    ).item():
        return tagged  # no stall left for a loop to claim
    # the time a loop costs is the loop's: a stall of the stage a loop went round in
    loops = (
        occ.filter(pl.col("type").is_in(list(LOOP_TYPES)))
        .group_by("case_id", "stage")
        .agg(pl.col("type").min().alias("_loop"), pl.col("timestamp").min().alias("_loop_at"))
    )
    tagged = tagged.join(loops, on=["case_id", "stage"], how="left", nulls_equal=True)
    caused = (
        pl.col("root_type").is_null() & (pl.col("type") == "stall") & pl.col("_loop").is_not_null()
    )
    return tagged.with_columns(
        pl.when(caused).then(pl.col("_loop")).otherwise(pl.col("root_type")).alias("root_type"),
        pl.when(caused).then(pl.col("_loop_at")).otherwise(pl.col("root_at")).alias("root_at"),
    ).drop("_loop", "_loop_at")


def _stalls_a_root_ended(
    tagged: pl.DataFrame, roots: pl.DataFrame, visits: pl.DataFrame
) -> pl.DataFrame:
    """:func:`consequences`' stalls whose visit a later root of the case ended, tagged with it."""
    free = pl.col("root_type").is_null() & (pl.col("type") == "stall")
    indexed = tagged.with_row_index("_row")
    free_stalls = indexed.filter(free).select("_row", "case_id", "timestamp")
    if free_stalls.height == 0:  # no stall to tag: the roots' visits are not looked up
        return tagged
    starts = visits.select("case_id", "visit", pl.col("start").alias("_start")).sort("_start")

    def in_visit(df: pl.DataFrame, on: str) -> pl.DataFrame:
        return df.sort(on).join_asof(
            starts, left_on=on, right_on="_start", by="case_id", strategy="backward",
            check_sortedness=False,
        ).drop("_start")  # fmt: skip

    stalls = in_visit(free_stalls, "timestamp")
    root_visits = in_visit(roots, "root_at").rename({"visit": "_visit"})
    ended = (
        stalls.join(root_visits, left_on=["case_id", "visit"], right_on=["case_id", "_visit"])
        .filter(pl.col("root_at") >= pl.col("timestamp"))
        .sort("_row", "root_at")
        .unique("_row", keep="first")
        .select("_row", pl.col("root_type").alias("_rt"), pl.col("root_at").alias("_ra"))
    )
    if ended.height == 0:
        return tagged
    return (
        indexed.join(ended, on="_row", how="left", maintain_order="left")
        .with_columns(
            pl.coalesce("root_type", "_rt").alias("root_type"),
            pl.coalesce("root_at", "_ra").alias("root_at"),
        )
        .drop("_row", "_rt", "_ra")
    )


def _dt(value: object) -> dt.datetime:
    assert isinstance(value, dt.datetime)
    return value


def _week(expr: pl.Expr) -> pl.Expr:
    return expr.dt.truncate("1w")


_WEEKLY: Final[dict[str, Any]] = {
    "type": pl.String,
    "stage": pl.String,
    "scope": pl.String,
    "week": pl.Datetime("us", "UTC"),
    "cases": pl.UInt32,
    "active_cases": pl.UInt32,
    "rate": pl.Float64,
}


def _reached_stages(
    starts: pl.DataFrame, visits: pl.DataFrame, firsts: pl.Series | None = None
) -> tuple[dict[str, int], pl.DataFrame]:
    """The stages the cases of ``starts`` reached, as one bit each: per stage of ``visits`` its
    bit (none when there are more than 62 stages), and ``starts`` with ``_reached``, the bits
    of its case's stages OR-ed (0: none) -- every stage's population a filter of one frame,
    not a semi-join of the stage's visits each. ``firsts``: the case ids whose rows the
    ``_f`` of ``starts`` are; where the visits' cases are these, in this order, each case's
    bits are picked by its row, not joined on its id."""
    stages = sorted(visits.get_column("stage").drop_nulls().unique().to_list())
    if not stages or len(stages) > 62:
        return {}, starts
    bits = {s: 1 << i for i, s in enumerate(stages)}
    bit = pl.col("stage").replace_strict(bits, default=0, return_dtype=pl.Int64)
    marks = visits.select("case_id", bit.alias("_reached"), first_in_group("case_id").alias("_h"))
    heads = marks.with_row_index("_i").filter(pl.col("_h"))
    ids = heads.get_column("case_id")
    if ids.null_count() == 0 and ids.is_sorted():  # each case's visits one run (case order)
        import numpy as np

        at = heads.get_column("_i").to_numpy()
        ored = pl.Series(
            np.bitwise_or.reduceat(marks.get_column("_reached").to_numpy(), at), dtype=pl.Int64
        )
        if firsts is not None and "_f" in starts.columns and ids.equals(firsts):
            return bits, starts.with_columns(ored.gather(starts.get_column("_f")).alias("_reached"))
        per_case = pl.DataFrame({"case_id": ids, "_reached": ored})
    else:
        per_case = (
            marks.filter(pl.col("case_id").is_not_null())
            .group_by("case_id")
            .agg(pl.col("_reached").bitwise_or())
        )
    reaching = starts.join(per_case, on="case_id", how="left", maintain_order="left")
    return bits, reaching.with_columns(pl.col("_reached").fill_null(0))


def _case_starts(events: pl.DataFrame) -> pl.DataFrame:
    """``case_id, _first``: each case's first timestamp, once per case.

    Events in the kernel's order (``pos`` rising: each case's rows together, in time
    order) give it by their first row per case; other frames by a group-by.
    """
    if in_kernel_order(events) and events.get_column("timestamp").null_count() == 0:
        return events.filter(first_in_group("case_id")).select(
            "case_id", pl.col("timestamp").alias("_first")
        )
    return events.group_by("case_id").agg(pl.col("timestamp").min().alias("_first"))


def _scoped(scopes: pl.DataFrame | None) -> pl.DataFrame | None:
    """``scopes``, or ``None`` when they give no case a scope (the join would add nulls alone):
    looked at once by a caller that adds them to several frames."""
    if scopes is None or scopes.height == 0:
        return None
    if scopes.get_column("scope").null_count() == scopes.height and (
        scopes.get_column("case_id").n_unique() == scopes.height
    ):
        return None
    return scopes


def _with_scope(
    df: pl.DataFrame, scopes: pl.DataFrame | None, *, checked: bool = False
) -> pl.DataFrame:
    """Add ``scope`` (the case's project or team) from ``scopes`` (``case_id, scope``;
    ``checked``: :func:`_scoped` already)."""
    if "scope" in df.columns:
        return df
    scopes = scopes if checked else _scoped(scopes)
    if scopes is None:
        return df.with_columns(pl.lit(None, dtype=pl.String).alias("scope"))
    return df.join(scopes, on="case_id", how="left")


def weekly_pattern_counts(
    events: pl.DataFrame, occurrences: pl.DataFrame, scopes: pl.DataFrame | None = None
) -> pl.DataFrame:
    """Per signature (type, stage, scope) and ISO week: cases showing it, active cases, rate.

    Every week between the log's first and last is present (zero counts
    kept), so trends are not biased by quiet weeks. Active cases are counted
    within the signature's scope.
    """
    scopes = _scoped(scopes)
    pairs = events.select("case_id", _week(pl.col("timestamp")).alias("week"))
    # a row repeating the previous row's (case, week) adds nothing: dropped before hashing
    case, week = pl.col("case_id"), pl.col("week")
    pairs = pairs.filter(((case != case.shift(1)) | (week != week.shift(1))).fill_null(True))
    active = (
        _with_scope(pairs.unique(), scopes, checked=True)
        .unique()
        .group_by("week", "scope")
        .agg(pl.len().alias("active_cases"))
    )
    if active.height == 0:
        return pl.DataFrame(schema=_WEEKLY)
    weeks = pl.DataFrame(
        {
            "week": pl.datetime_range(
                _dt(active["week"].min()), _dt(active["week"].max()), "1w", eager=True
            )
        }
    ).with_columns(pl.col("week").cast(pl.Datetime("us", "UTC")))
    occ = _with_scope(occurrences, scopes, checked=True)
    sigs = occ.select("type", "stage", "scope").unique()
    counts = (
        occ.with_columns(_week(pl.col("timestamp")).alias("week"))
        .group_by("type", "stage", "scope", "week")
        .agg(pl.col("case_id").n_unique().alias("cases"))
    )
    grid = sigs.join(weeks, how="cross")
    return (
        grid.join(counts, on=["type", "stage", "scope", "week"], how="left", nulls_equal=True)
        .join(active, on=["week", "scope"], how="left", nulls_equal=True)
        .with_columns(
            pl.col("cases").fill_null(0).cast(pl.UInt32),
            pl.col("active_cases").fill_null(0).cast(pl.UInt32),
        )
        .with_columns(
            pl.when(pl.col("active_cases") > 0)
            .then(pl.col("cases") / pl.col("active_cases"))
            .otherwise(None)
            .alias("rate")
        )
        .select(list(_WEEKLY))
        .sort(["type", "stage", "scope", "week"], nulls_last=True)
    )


_WORDS: Final = {
    "rework_loop": "rework",
    "reopen": "reopens",
    "revert": "reverts",
    "ci_fix": "CI fail-and-fix cycles",
    "stall": "stalls",
    "ping_pong": "ping-pong",
    "abandoned": "abandoned work",
}
_ASSUMPTIONS: Final = {
    "rework_loop": "the design assumes work leaves {where} done, not sent back again and again",
    "reopen": "the design assumes work that reached its end stage stays done",
    "revert": "the design assumes the checks before {where} stop changes that must be reverted",
    "ci_fix": "the design assumes work reaches CI ready to pass",
    "stall": "the design assumes work in {where} is never left untouched for more than {limit}",
    "ping_pong": "the design assumes work in {where} stays with whoever picked it up",
    "abandoned": "the design assumes work that enters {where} moves on within {limit}",
}


def _subject_name(type_: str, stage: str | None, scope: str | None) -> str:
    name = _WORDS.get(type_, type_.replace("_", " "))
    if stage:
        name += f" in {stage}"
    if scope:
        name += f" on {scope}"
    return name


def _suggestion(
    type_: str,
    stage: str | None,
    design: Design | None,
    limit: tuple[float | None, str | None, bool],
    row: dict[str, Any],
) -> dict[str, str] | None:
    """A design edit where the log supports one (a stall limit the design does not state).

    ``limit``: the limit, its basis, whether it is one project's own (a
    design's expected time is the stage's, so a project's limit is no edit).
    """
    limit_s, basis, own = limit
    if design is None or stage is None or stage not in design.order or own:
        return None
    st = design.stage(stage)
    if type_ in ("stall", "abandoned") and st.expected is None and limit_s:
        weekdays = basis is not None and WEEKDAYS_NOTE in basis
        # an expected time is calendar time: five weekdays are a week
        days = max(1, round(limit_s * (7 / 5 if weekdays else 1) / 86400))
        return {
            "patch": f"stages:\n  - id: {stage}\n    expected: {days}d",
            "effect": (
                f"states the {human_duration(days * 86400)} the work in {stage} is expected to "
                f"take; {row['cases']} cases went over it"
            ),
        }
    return None


def _trend(at_risk: pl.DataFrame, hits: NDArray[np.bool_]) -> dict[str, Any]:
    """The case trend test over ``at_risk`` (``case_id, _start[, component]``), by component too.

    ``hits``: per row of ``at_risk``, whether its case shows the pattern. A rise
    confined to one component is diluted by the rest of the project: where cases
    carry a component, each component with enough cases is tested as well,
    Bonferroni-corrected for the number tested, and a significant one is the
    pattern's trend (named in ``component``).
    """
    flagged = at_risk.with_columns(pl.Series("_hit", hits, dtype=pl.Boolean))
    overall = case_trend_test(flagged["_start"].to_numpy(), flagged["_hit"].to_numpy())
    if "component" not in flagged.columns or overall["trend"] in ("rising", "declining"):
        return overall
    tests: list[tuple[str, dict[str, Any]]] = []
    for (component,), part in flagged.filter(pl.col("component").is_not_null()).group_by(
        "component", maintain_order=True
    ):
        result = case_trend_test(part["_start"].to_numpy(), part["_hit"].to_numpy())
        if "p" in result:
            tests.append((str(component), result))
    if not tests:
        return overall
    component, best = min(tests, key=lambda item: (float(item[1]["p"]), item[0]))
    if float(best["p"]) < ALPHA / len(tests) and best["trend"] in ("rising", "declining"):
        return {**best, "component": component, "components_tested": len(tests),
                "overall": overall}  # fmt: skip
    return {**overall, "components_tested": len(tests)}


def _pattern_cases(
    summary: pl.DataFrame, starts: pl.DataFrame, follow: pl.DataFrame
) -> tuple[list[NDArray[np.int64]], dict[int, tuple[list[str], int]]]:
    """Per pattern (row ``i`` of ``summary``, its cases in ``_all``): the rows (``_k``) of
    ``starts`` its cases are, and the consequence labels (``_c`` of ``follow``) of its cases
    with its type as their root's and how many cases had one (patterns with none left out).
    """
    import numpy as np

    members = (
        summary.select(pl.int_range(pl.len(), dtype=pl.Int64).alias("_i"), "type", "_all")
        .explode("_all")
        .rename({"_all": "case_id"})
    )
    rows = (
        members.join(starts.select("case_id", "_k"), on="case_id")
        .select("_i", pl.col("_k").cast(pl.Int64))
        .sort("_i", "_k")
    )
    at = rows.get_column("_i").to_numpy()
    bounds = np.searchsorted(at, np.arange(summary.height + 1))
    ks = rows.get_column("_k").to_numpy()
    hit_rows = [ks[bounds[i] : bounds[i + 1]] for i in range(summary.height)]
    # only the patterns of a type some consequence has as its root's can have any
    causes = members.filter(pl.col("type").is_in(follow.get_column("root_type").implode()))
    caused = (
        causes.join(follow, left_on=["case_id", "type"], right_on=["case_id", "root_type"])
        .group_by("_i")
        .agg(pl.col("_c").unique(), pl.col("case_id").n_unique().alias("_n"))
    )
    caused_by = {int(i): (list(c), int(n)) for i, c, n in caused.iter_rows()}
    return hit_rows, caused_by


def failure_patterns(
    events: pl.DataFrame,
    design: Design | None = None,
    events_attrs: pl.DataFrame | None = None,
    *,
    min_cases: int = MIN_CASES,
    min_weeks: int = MIN_WEEKS,
    occurrences: pl.DataFrame | None = None,
    scopes: pl.DataFrame | None = None,
    tiers: pl.DataFrame | None = None,
    components: pl.DataFrame | None = None,
    visits: pl.DataFrame | None = None,
    limits: pl.DataFrame | None = None,
) -> list[Finding]:
    """Findings for recurring failure patterns, with weekly counts and a Mann–Kendall trend.

    ``events``: :func:`wfmine.stages.stage_events` of the cases to judge.
    ``scopes`` (``case_id, scope``): the project (or team) each case belongs
    to, scoping signatures; ``components`` (``case_id, component``) scopes
    trend tests further. ``tiers`` (``case_id, tier``): risk tiers
    (conformance's), for severity. Severity follows impact: ``high`` when the
    pattern touches at least 10 % of the cases in its scope, is rising, or
    hits high-stakes work; ``medium`` at 3 %; ``low`` otherwise. ``visits``:
    :func:`wfmine.stages.stage_visits` of ``events``, and ``limits``
    (:func:`judged_limits`), when the caller has them.
    """
    occ = (
        occurrences
        if occurrences is not None
        else failure_occurrences(events, design, events_attrs)
    )
    if occ.height == 0:
        return []
    if design is None:
        visits = None  # no stages, no visits
    elif visits is None:
        visits = stage_visits(events)
    scopes = _scoped(scopes)
    occ = _with_scope(consequences(occ, visits), scopes, checked=True)
    roots = occ.filter(pl.col("root_type").is_null())
    # each consequence's label (``type@stage``) once per case and root type: the labels a
    # pattern lists are those of its cases (a distinct pass, not a list per case)
    follow = (
        occ.filter(pl.col("root_type").is_not_null())
        .select(
            "case_id",
            "root_type",
            pl.format("{}@{}", "type", pl.col("stage").fill_null("-")).alias("_c"),
        )
        .unique()
    )
    firsts = _case_starts(events)
    cases_in = _with_scope(firsts.select("case_id"), scopes, checked=True)
    in_scope = dict(cases_in.group_by("scope").len().iter_rows())
    weekly = weekly_pattern_counts(events, roots, scopes)
    # the trend's population: the cases of the scope (that reached the stage), by start
    starts = _with_scope(
        firsts.select(
            "case_id",
            (pl.col("_first").dt.epoch("us") / 1e6).alias("_start"),
            pl.int_range(pl.len(), dtype=pl.UInt32).alias("_f"),  # the case's row in firsts
        ),
        scopes,
        checked=True,
    ).sort("_start", "case_id")
    # cases without a component are tested with the rest only: none with one, none joined
    if components is not None and components.get_column("component").null_count() < (
        components.height
    ):
        starts = starts.join(
            components.select("case_id", "component").unique("case_id", keep="first"),
            on="case_id",
            how="left",
        )
    starts = starts.with_row_index("_k")  # each case's row: the pattern's cases mark theirs
    # per stage, the trend's population of the cases that reached it (a semi-join keeps the
    # rows' order, so filtering by scope before or after it picks the same rows)
    reached_by_stage: dict[str, pl.DataFrame] = {}
    marked: tuple[dict[str, int], pl.DataFrame] | None = None  # (_reached_stages, found once)
    if visits is not None and limits is None:
        limits = judged_limits(events, design, events_attrs, visits=visits)
    by_kind: dict[tuple[str, str | None], list[dict[str, Any]]] = {}
    stated: dict[tuple[str, str | None], tuple[float, str]] = {}
    if visits is not None and limits is not None:
        kind = pl.col("kind") if "kind" in limits.columns else pl.lit(None, dtype=pl.String)
        for r in limits.with_columns(kind.alias("kind")).iter_rows(named=True):
            if r["kind"] is None:
                stated[(r["stage"], r["scope"])] = (r["limit_s"], r["basis"])
            else:  # a kind's own limit: listed on the pattern of its stage (and project)
                by_kind.setdefault((r["stage"], r["scope"]), []).append(
                    {"kind": r["kind"], "limit_s": r["limit_s"], "basis": r["basis"]}
                )
    high_stakes = (
        tiers.filter(pl.col("tier") == "high_stakes").select("case_id")
        if tiers is not None
        else pl.DataFrame(schema={"case_id": pl.String})
    )
    summary = (
        roots.with_columns(
            _week(pl.col("timestamp")).alias("week"),
            pl.col("case_id").is_in(high_stakes["case_id"].implode()).alias("_hs"),
        )
        .group_by("type", "stage", "scope")
        .agg(
            pl.col("case_id").n_unique().alias("cases"),
            pl.len().alias("occurrences"),
            pl.col("week").n_unique().alias("weeks"),
            pl.col("timestamp").min().alias("first_seen"),
            pl.col("timestamp").max().alias("last_seen"),
            pl.col("case_id").unique().sort().alias("_all"),
            pl.col("wait_s").sum().alias("wait_s"),
            pl.col("case_id").filter(pl.col("_hs")).n_unique().alias("high_stakes_cases"),
        )
        .filter((pl.col("cases") >= min_cases) & (pl.col("weeks") >= min_weeks))
        .sort(["type", "stage", "scope"], nulls_last=True)
        .with_columns(pl.col("_all").list.head(10).alias("examples"))
    )
    import numpy as np

    out: list[Finding] = []
    # each pattern's cases as rows of ``starts`` and the consequences they had, for every
    # pattern at once: one join each, not a lookup of its case ids among all per pattern
    hit_rows, caused_by = _pattern_cases(summary, starts, follow)
    marks = np.zeros(starts.height, dtype=bool)
    for i, row in enumerate(summary.drop("_all").iter_rows(named=True)):
        series = weekly.filter(
            (pl.col("type") == row["type"])
            & pl.col("stage").eq_missing(pl.lit(row["stage"], dtype=pl.String))
            & pl.col("scope").eq_missing(pl.lit(row["scope"], dtype=pl.String))
        )
        population = starts
        if row["stage"] is not None and visits is not None:
            if row["stage"] not in reached_by_stage:
                if marked is None:
                    marked = _reached_stages(starts, visits, firsts.get_column("case_id"))
                bits, reaching = marked
                if row["stage"] in bits:
                    reached_by_stage[row["stage"]] = reaching.filter(
                        (pl.col("_reached") & bits[row["stage"]]) != 0
                    ).drop("_reached")
                else:
                    reached = visits.filter(pl.col("stage") == row["stage"]).select("case_id")
                    reached_by_stage[row["stage"]] = starts.join(
                        reached, on="case_id", how="semi", maintain_order="left"
                    )
            population = reached_by_stage[row["stage"]]
        at_risk = population.filter(
            pl.col("scope").eq_missing(pl.lit(row["scope"], dtype=pl.String))
        )
        if row["type"] == "abandoned":
            # open and idle at the log's end: late cases by construction, no trend to test
            mk: dict[str, Any] = {"test": None, "trend": None, "why": "a state at the log's end"}
        else:
            marks[hit_rows[i]] = True
            mk = _trend(at_risk, marks[at_risk.get_column("_k").to_numpy()])
            marks[hit_rows[i]] = False
        trend = mk["trend"]
        total = max(int(in_scope.get(row["scope"], 0)), row["cases"], 1)
        share = row["cases"] / total
        severity = (
            "high"
            if share >= 0.10 or trend == "rising" or row["high_stakes_cases"]
            else "medium"
            if share >= 0.03
            else "low"
        )
        parts = [row["type"]]
        if row["stage"]:
            parts.append(row["stage"])
        subject = "@".join(parts) + (f"/{row['scope']}" if row["scope"] else "")
        name = _subject_name(row["type"], row["stage"], row["scope"])
        where = row["stage"] or "a stage"
        limit_s, basis = (
            stated.get((row["stage"], row["scope"]), stated.get((row["stage"], None), (None, None)))
            if row["stage"]
            else (None, None)
        )
        own_limit = (row["stage"], row["scope"]) in stated
        kind_limits = by_kind.get((row["stage"], row["scope"] if own_limit else None), [])
        on_weekdays = basis is not None and WEEKDAYS_NOTE in basis
        limit_words = (
            human_duration(limit_s) + (", counting weekdays only" if on_weekdays else "")
            if limit_s
            else "its usual time"
        )
        if own_limit and row["scope"]:
            where = f"{where} on {row['scope']}"  # the project's own limit
        labels, consequence_cases = caused_by.get(i, ([], 0))
        consequence_list = sorted(set(labels))
        trend_words = {
            "rising": ", rising",
            "declining": ", declining",
            "stable": ", stable",
        }.get(trend, "")
        cost = (
            f", {human_duration(row['wait_s'])} of work stuck in all"
            if row["type"] == "stall" and row["wait_s"]
            else ""
        )
        summary_text = (
            f"{name[0].upper()}{name[1:]}: {row['cases']} cases ({share:.0%}) still open and "
            f"untouched for more than {limit_words} when the log ends."
            if row["type"] == "abandoned"
            else f"{name[0].upper()}{name[1:]}: {row['cases']} cases ({share:.0%}) over "
            f"{row['weeks']} weeks{cost}{trend_words}."
        )
        assumption = _ASSUMPTIONS.get(row["type"], "the design assumes this does not recur").format(
            where=where, limit=limit_words
        )
        if on_weekdays and row["type"] in ("stall", "abandoned"):
            assumption = (
                f"the design gives {row['stage']} no expected time; its own visits set the limit "
                f"for work in {where}: {limit_words}"
            )
        out.append(
            Finding(
                kind="failure_pattern",
                subject=subject,
                severity=severity,
                summary=summary_text,
                evidence={
                    "type": row["type"],
                    "stage": row["stage"],
                    "scope": row["scope"],
                    "cases": row["examples"],
                    "case_count": row["cases"],
                    "cases_in_scope": total,
                    "events": row["occurrences"],
                    "weeks": row["weeks"],
                    "case_share": round(share, 4),
                    "high_stakes_cases": row["high_stakes_cases"],
                    "wait_s": round(row["wait_s"], 1) if row["wait_s"] else None,
                    "stall_limit_s": round(limit_s, 1) if limit_s else None,
                    "stall_limit_basis": basis if limit_s else None,
                    # where kinds of work item have limits of their own (a bug's hour, a
                    # story's days), each kind's: the one that judged its cases
                    "stall_limits_by_kind": [
                        {**k, "limit_s": round(k["limit_s"], 1)} for k in kind_limits
                    ]
                    if row["type"] in ("stall", "abandoned")
                    else [],
                    "consequences": consequence_list,
                    "consequence_cases": consequence_cases,
                    "weekly": [
                        {"week": w.date().isoformat(), "cases": c, "active_cases": a}
                        for w, c, a in series.select("week", "cases", "active_cases").iter_rows()
                    ],
                    "trend_test": mk,
                    "recurrence_rule": f">= {min_cases} cases across >= {min_weeks} weeks",
                    "judged": "the cases conformance judges"
                    if design is not None
                    else "every case of the log",
                },
                first_seen=row["first_seen"],
                last_seen=row["last_seen"],
                trend=trend,
                subject_name=name,
                assumption=assumption[0].upper() + assumption[1:] + ".",
                suggestion=_suggestion(
                    row["type"], row["stage"], design, (limit_s, basis, own_limit), row
                ),
            )
        )
    return out
