"""Recurring failure patterns: what keeps breaking, in how many cases and weeks, and its trend.

Each detector is a polars pass over the flat log (with a ``stage`` column when
a design is given) that returns *occurrences* (``case_id, type, stage,
timestamp``). With a design, only cases that touch the designed workflow (at
least one event mapped to a stage) are considered: a Slack thread or an e-mail
nobody linked to a work item is conversation, not work that can fail.

*Stage visits* are built from the **performed** stage events -- those with an
actor. Events no one performed (a CI result, a merge record whose actor the
export left out) report on work done earlier; they never move a case into a
stage on their own. (A log with no actors at all uses every stage event.)

``rework_loop``  the case moves back to an earlier stage of the design
                 (e.g. review -> build); the stage is the one that sent the work
                 back. The most specific explanation wins: leaving an *end*
                 stage is a reopen (or a revert), and a return visit in which CI
                 fails and is fixed is a ``ci_fix`` cycle -- each reported as
                 such, not as rework. Also "Changes requested" followed by a new
                 commit in the same case.
``reopen``       a done item reopened: Jira ``Status:`` with attrs ``reopen``,
                 ``PR reopened``, ``GH issue reopened``. Jira and GitHub say so
                 explicitly; for sources without status categories (XES, CSV,
                 OCEL, ...) an end stage left for another stage is the reopen.
``revert``       ``Revert merged``.
``ci_fix``       ``Check failed``, then ``Commit pushed``, then ``Check passed``
                 in the same case.
``stall``        a stage visit (until the case's next visit starts; in an end
                 stage, where the case is finished, only its own events) longer
                 than the stage's *stall limit*: Tukey's
                 upper fence (Q3 + 1.5 x IQR) of the log-durations of all visits
                 of that stage -- visit times are right-skewed, roughly
                 log-normal -- and never below the design's expected time. Below
                 ``MIN_VISITS`` visits the fence is not estimated and
                 max(``STALL_FACTOR`` x median visit, expected time) is used.
``ping_pong``    ``Assignee changed`` back to the assignee before the last one
                 (A -> B -> A).
``abandoned``    an open case idle (no event until the log ends) for longer
                 than the stall limit of the stage it is in. A case is not open
                 when it reached an end stage and was not reopened after that,
                 or when its last event closes it (``PR closed``,
                 ``GH issue closed``, ``Resolution set``). Without a design:
                 idle longer than ``ABANDON_FACTOR`` x the p90 gap between
                 consecutive events of cases, and the last activity is not one
                 cases usually end with.

A pattern's signature is type + stage. It *recurs* when it appears in at
least ``min_cases`` cases across at least ``min_weeks`` distinct ISO weeks
(defaults 3 and 2). Its trend is the Mann-Kendall test on the weekly share of
active cases showing it (normalised by weekly case volume), p < 0.05.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Final

import polars as pl

from wfmine.findings._design import DesignView
from wfmine.findings._shape import Finding
from wfmine.findings._stats import mann_kendall

__all__ = [
    "FAILURE_TYPES",
    "MIN_CASES",
    "MIN_WEEKS",
    "failure_occurrences",
    "failure_patterns",
    "stall_limits",
    "stall_recoveries",
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
#: fallback stall limit (x median visit) when a stage has too few visits for a fence
STALL_FACTOR: Final = 3.0
#: Tukey's fence multiplier on the IQR of log visit durations
FENCE_IQR: Final = 1.5
#: visits of a stage needed to estimate its fence
MIN_VISITS: Final = 10
#: without a design: idle longer than this x the p90 gap between events of cases
ABANDON_FACTOR: Final = 3.0
#: sources whose exports say explicitly when a done item is reopened
EXPLICIT_REOPEN_SOURCES: Final = frozenset({"jira", "github"})
#: activities (docs/contracts.md) that close an item on its platform
CLOSING_ACTIVITIES: Final = ("PR closed", "GH issue closed", "Resolution set")
_REOPEN_ACTIVITIES: Final = ("PR reopened", "GH issue reopened", "Issue reopened")

_OCC: Final[dict[str, Any]] = {"case_id": pl.String, "type": pl.String, "stage": pl.String,
               "timestamp": pl.Datetime("us", "UTC")}  # fmt: skip
_ORDER: Final = ["case_id", "timestamp", "seq", "event_id"]


def _empty() -> pl.DataFrame:
    return pl.DataFrame(schema=_OCC)


def _occ(df: pl.DataFrame, type_: str, stage: pl.Expr | None = None) -> pl.DataFrame:
    return df.select(
        "case_id",
        pl.lit(type_).alias("type"),
        (stage if stage is not None else pl.col("stage")).cast(pl.String).alias("stage"),
        "timestamp",
    )


def _in_workflow(log: pl.DataFrame, view: DesignView | None) -> pl.DataFrame:
    """With a design, the cases with at least one event mapped onto a stage; else ``log``."""
    if "stage" not in log.columns:
        log = log.with_columns(pl.lit(None, dtype=pl.String).alias("stage"))
    if view is None:
        return log
    in_flow = log.filter(pl.col("stage").is_not_null())["case_id"].unique()
    return log.filter(pl.col("case_id").is_in(in_flow.implode()))


def _with_stage_context(log: pl.DataFrame) -> pl.DataFrame:
    """Add ``stage_ctx``: the event's stage, else the last stage the case was in."""
    return log.sort(_ORDER).with_columns(
        pl.col("stage").forward_fill().over("case_id").alias("stage_ctx")
    )


def _performed(log: pl.DataFrame) -> pl.Expr:
    """True for events someone performed (all events when the log names no actor at all)."""
    if "actor_id" not in log.columns or log["actor_id"].null_count() == log.height:
        return pl.lit(True)
    return pl.col("actor_id").is_not_null()


def _stage_steps(log: pl.DataFrame) -> pl.DataFrame:
    """Collapse each case's performed stage events into stage visits (start, next visit's start)."""
    df = (
        log.filter(pl.col("stage").is_not_null() & _performed(log))
        .sort(_ORDER)
        .with_columns(
            (pl.col("stage") != pl.col("stage").shift(1).over("case_id"))
            .fill_null(True)
            .cum_sum()
            .over("case_id")
            .alias("_visit")
        )
    )
    return (
        df.group_by("case_id", "_visit")
        .agg(
            pl.col("stage").first(),
            pl.col("timestamp").min().alias("start"),
            pl.col("timestamp").max().alias("end"),
        )
        .sort(["case_id", "_visit"])
        .with_columns(
            pl.col("stage").shift(-1).over("case_id").alias("next_stage"),
            pl.col("start").shift(-1).over("case_id").alias("next_start"),
        )
    )


def _visit_durations(steps: pl.DataFrame, view: DesignView | None) -> pl.DataFrame:
    """Finished visits with ``_dur`` (seconds) and ``_until`` (when the visit ended).

    A visit lasts until the case's next visit starts -- the waiting belongs to
    the stage the work sits in. In an *end* stage the case is finished, so the
    visit lasts only as long as its own events: the quiet time before a later
    reopen is not time spent in that stage.
    """
    ends = list(view.end) if view is not None else []
    until = pl.when(pl.col("stage").is_in(ends)).then(pl.col("end")).otherwise(pl.col("next_start"))
    return (
        steps.filter(pl.col("next_start").is_not_null())
        .with_columns(until.alias("_until"))
        .with_columns(
            (pl.col("_until") - pl.col("start")).dt.total_seconds(fractional=True).alias("_dur")
        )
    )


def stall_limits(
    steps: pl.DataFrame, view: DesignView | None, *, factor: float = STALL_FACTOR
) -> pl.DataFrame:
    """Per stage: ``visits``, ``limit_s`` (the stall limit) and ``basis`` (how it was set).

    ``steps`` are stage visits (``stage, start, end, next_start``); only
    finished visits (with a next visit) are measured. The limit is Tukey's upper fence
    exp(Q3 + 1.5 x IQR) of the log visit durations when a stage has at least
    ``MIN_VISITS`` visits, else ``factor`` x the median visit; never below the
    design's expected time for the stage.
    """
    schema = {"stage": pl.String, "visits": pl.UInt32, "limit_s": pl.Float64, "basis": pl.String}
    expected = {s.id: s.expected_s for s in view.stages if s.expected_s} if view else {}
    d = _visit_durations(steps, view)
    if d.height == 0:
        return pl.DataFrame(schema=schema)
    log_dur = pl.col("_dur").clip(lower_bound=1.0).log()
    q1 = log_dur.quantile(0.25, interpolation="linear")
    q3 = log_dur.quantile(0.75, interpolation="linear")
    per = d.group_by("stage").agg(
        pl.len().alias("visits"),
        (q3 + FENCE_IQR * (q3 - q1)).exp().alias("_fence"),
        (factor * pl.col("_dur").median()).alias("_small"),
    )
    exp_s = pl.col("stage").replace_strict(expected, default=0.0, return_dtype=pl.Float64)
    use_fence = pl.col("visits") >= MIN_VISITS
    statistical = pl.when(use_fence).then(pl.col("_fence")).otherwise(pl.col("_small"))
    return per.select(
        "stage",
        pl.col("visits").cast(pl.UInt32),
        pl.max_horizontal(statistical, exp_s).alias("limit_s"),
        pl.when(exp_s > statistical)
        .then(pl.lit("expected time"))
        .when(use_fence)
        .then(pl.lit("Q3 + 1.5 IQR of log visit durations"))
        .otherwise(pl.format("{} x median visit", pl.lit(factor)))
        .alias("basis"),
    ).cast(schema)  # type: ignore[arg-type]


def _rework(
    log: pl.DataFrame, steps: pl.DataFrame, view: DesignView | None, ci_fixes: pl.DataFrame
) -> pl.DataFrame:
    parts = [_empty()]
    if view is not None and steps.height:
        rank = view.order
        ends = list(view.end)
        back = steps.with_columns(
            pl.col("stage").replace_strict(rank, default=None, return_dtype=pl.Int64).alias("_o"),
            pl.col("next_stage")
            .replace_strict(rank, default=None, return_dtype=pl.Int64)
            .alias("_n"),
            # the return visit lasts until the case moves on from it
            pl.col("next_start").shift(-1).over("case_id").alias("_moved_on"),
        ).filter((pl.col("_n") < pl.col("_o")) & ~pl.col("stage").is_in(ends))
        explained = (
            back.select("case_id", "next_start", "_moved_on")
            .join(ci_fixes.select("case_id", pl.col("timestamp").alias("_fail")), on="case_id")
            .filter(
                (pl.col("_fail") >= pl.col("next_start"))
                & (pl.col("_moved_on").is_null() | (pl.col("_fail") < pl.col("_moved_on")))
            )
            .select("case_id", "next_start")
            .unique()
        )
        back = back.join(explained, on=["case_id", "next_start"], how="anti")
        parts.append(_occ(back.rename({"next_start": "timestamp"}).drop("start"), "rework_loop"))
    review = (
        log.filter(pl.col("activity").is_in(["Changes requested", "Commit pushed"]))
        .sort(_ORDER)
        .with_columns(pl.col("activity").shift(-1).over("case_id").alias("_next"))
        .filter((pl.col("activity") == "Changes requested") & (pl.col("_next") == "Commit pushed"))
    )
    parts.append(_occ(review, "rework_loop", pl.col("stage_ctx")))
    return pl.concat([p.cast(_OCC) for p in parts])  # type: ignore[arg-type]


def _reopen(log: pl.DataFrame, attrs: pl.DataFrame | None, view: DesignView | None) -> pl.DataFrame:
    df = log.with_columns(pl.col("stage_ctx").shift(1).over("case_id").alias("_before"))
    cond = pl.col("activity").is_in(list(_REOPEN_ACTIVITIES))
    if attrs is not None and attrs.height:
        flagged = attrs.filter(
            pl.col("attrs").str.json_path_match("$.reopen").str.to_lowercase() == "true"
        ).select("event_id")
        df = df.with_columns(pl.col("event_id").is_in(flagged["event_id"].implode()).alias("_flag"))
        cond = cond | pl.col("_flag")
    if view is not None and view.end:
        inferred = (
            pl.col("_before").is_in(list(view.end))
            & pl.col("stage").is_not_null()
            & ~pl.col("stage").is_in(list(view.end))
        )
        if "source" in df.columns:
            inferred = inferred & ~pl.col("source").is_in(sorted(EXPLICIT_REOPEN_SOURCES))
        cond = cond | inferred
    return _occ(df.filter(cond), "reopen", pl.coalesce("_before", "stage_ctx"))


def _ci_fix(log: pl.DataFrame) -> pl.DataFrame:
    ts = pl.col("timestamp")
    df = (
        log.filter(pl.col("activity").is_in(["Check failed", "Commit pushed", "Check passed"]))
        .sort(_ORDER)
        .with_columns(
            pl.when(pl.col("activity") == "Check passed").then(ts).alias("_pass"),
        )
        .with_columns(pl.col("_pass").shift(-1).backward_fill().over("case_id").alias("_next_pass"))
        .with_columns(
            pl.when(pl.col("activity") == "Commit pushed").then(pl.col("_next_pass")).alias("_c")
        )
        .with_columns(pl.col("_c").shift(-1).backward_fill().over("case_id").alias("_fixed"))
        .filter((pl.col("activity") == "Check failed") & pl.col("_fixed").is_not_null())
    )
    return _occ(df, "ci_fix", pl.col("stage_ctx"))


def _stall(steps: pl.DataFrame, limits: pl.DataFrame, view: DesignView | None) -> pl.DataFrame:
    if steps.height == 0 or limits.height == 0:
        return _empty()
    d = (
        _visit_durations(steps, view)
        .join(limits.select("stage", "limit_s"), on="stage", how="inner")
        .filter(pl.col("_dur") > pl.col("limit_s"))
    )
    return _occ(d.select("case_id", "stage", pl.col("_until").alias("timestamp")), "stall")


def stall_recoveries(
    log: pl.DataFrame, view: DesignView | None = None, *, stall_factor: float = STALL_FACTOR
) -> pl.DataFrame:
    """Every stalled stage visit and how long the work took to move again.

    Columns ``case_id``, ``stage``, ``start`` (visit start), ``stalled_at``
    (start + the stage's stall limit: from then on the work counts as stuck),
    ``recovered_at`` (the next progress: the case's next stage visit) and
    ``recovery_s`` (``recovered_at - stalled_at``). ``log`` needs a ``stage``
    column, as for :func:`failure_occurrences`.
    """
    schema: dict[str, pl.DataType] = {
        "case_id": pl.String(), "stage": pl.String(), "start": pl.Datetime("us", "UTC"),
        "stalled_at": pl.Datetime("us", "UTC"), "recovered_at": pl.Datetime("us", "UTC"),
        "recovery_s": pl.Float64(),
    }  # fmt: skip
    steps = _stage_steps(_with_stage_context(_in_workflow(log, view)))
    limits = stall_limits(steps, view, factor=stall_factor)
    if steps.height == 0 or limits.height == 0:
        return pl.DataFrame(schema=schema)
    limit_us = (pl.col("limit_s") * 1_000_000).cast(pl.Int64)
    return (
        _visit_durations(steps, view)
        .join(limits.select("stage", "limit_s"), on="stage", how="inner")
        .filter(pl.col("_dur") > pl.col("limit_s"))
        .select(
            "case_id",
            "stage",
            "start",
            (pl.col("start") + pl.duration(microseconds=limit_us)).alias("stalled_at"),
            pl.col("_until").alias("recovered_at"),
            (pl.col("_dur") - pl.col("limit_s")).alias("recovery_s"),
        )
        .cast(schema)  # type: ignore[arg-type]
        .sort("stalled_at", "case_id")
    )


def _ping_pong(log: pl.DataFrame, attrs: pl.DataFrame | None) -> pl.DataFrame:
    if attrs is None or attrs.height == 0:
        return _empty()
    df = (
        log.filter(pl.col("activity") == "Assignee changed")
        .join(attrs.select("event_id", "attrs"), on="event_id", how="inner")
        .with_columns(pl.col("attrs").str.json_path_match("$.to").alias("_to"))
        .sort(_ORDER)
        .with_columns(
            pl.col("_to").shift(1).over("case_id").alias("_p1"),
            pl.col("_to").shift(2).over("case_id").alias("_p2"),
        )
        .filter(
            pl.col("_to").is_not_null()
            & (pl.col("_to") == pl.col("_p2"))
            & (pl.col("_to") != pl.col("_p1"))
        )
    )
    return _occ(df, "ping_pong", pl.col("stage_ctx"))


def _abandoned(
    log: pl.DataFrame,
    view: DesignView | None,
    limits: pl.DataFrame,
    reopens: pl.DataFrame,
    factor: float,
) -> pl.DataFrame:
    if log.height == 0:
        return _empty()
    log_end = log["timestamp"].max()
    idle = (pl.lit(log_end) - pl.col("timestamp")).dt.total_seconds(fractional=True)
    last = (
        log.sort(_ORDER)
        .group_by("case_id")
        .agg(  # rows keep their order within groups
            pl.col("timestamp", "activity").last(),
            pl.col("stage").filter(_performed(log)).drop_nulls().last().alias("_at"),
        )
    )
    if view is not None and view.end:
        ends = list(view.end)
        done_at = (
            log.filter(pl.col("stage").is_in(ends))
            .group_by("case_id")
            .agg(pl.col("timestamp").max().alias("_done"))
        )
        reopened = (
            reopens.join(done_at, on="case_id")
            .filter(pl.col("timestamp") >= pl.col("_done"))
            .select("case_id")
            .unique()
        )
        open_ = (
            last.filter(pl.col("_at").is_not_null())
            .join(done_at, on="case_id", how="left")
            .filter(
                pl.col("_done").is_null() | pl.col("case_id").is_in(reopened["case_id"].implode())
            )
            .filter(~pl.col("activity").is_in(list(CLOSING_ACTIVITIES)))
            .join(limits.select(pl.col("stage").alias("_at"), "limit_s"), on="_at", how="inner")
        )
        return _occ(open_.filter(idle > pl.col("limit_s")), "abandoned", pl.col("_at"))
    gaps = log.with_columns(
        (pl.col("timestamp") - pl.col("timestamp").shift(1).over("case_id"))
        .dt.total_seconds(fractional=True)
        .alias("_gap")
    )["_gap"].drop_nulls()
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
    ended = pl.col("activity").is_in(usual.implode()) | pl.col("activity").is_in(
        list(CLOSING_ACTIVITIES)
    )
    return _occ(last.filter(~ended & (idle > limit)), "abandoned", pl.col("_at"))


def failure_occurrences(
    log: pl.DataFrame,
    view: DesignView | None = None,
    events_attrs: pl.DataFrame | None = None,
    *,
    stall_factor: float = STALL_FACTOR,
    abandon_factor: float = ABANDON_FACTOR,
) -> pl.DataFrame:
    """Every occurrence of every failure type: ``case_id, type, stage, timestamp`` (deduplicated).

    ``log`` needs a ``stage`` column (null without a design); ``events_attrs``
    (``event_id``, ``attrs``) enables the attrs-based signals (Jira reopen
    flag, assignee ping-pong).
    """
    log = _in_workflow(log, view)
    ctx = _with_stage_context(log)
    steps = _stage_steps(ctx)
    limits = stall_limits(steps, view, factor=stall_factor)
    reopens = _reopen(ctx, events_attrs, view)
    ci_fixes = _ci_fix(ctx)
    parts = [
        _rework(ctx, steps, view, ci_fixes),
        reopens,
        _occ(ctx.filter(pl.col("activity") == "Revert merged"), "revert", pl.col("stage_ctx")),
        ci_fixes,
        _stall(steps, limits, view),
        _ping_pong(ctx, events_attrs),
        _abandoned(ctx, view, limits, reopens, abandon_factor),
    ]
    out = pl.concat([p.cast(_OCC) for p in parts])  # type: ignore[arg-type]
    return out.unique(maintain_order=False).sort(
        ["type", "stage", "case_id", "timestamp"], nulls_last=True
    )


def _dt(value: object) -> dt.datetime:
    assert isinstance(value, dt.datetime)
    return value


def _week(expr: pl.Expr) -> pl.Expr:
    return expr.dt.truncate("1w")


def weekly_pattern_counts(log: pl.DataFrame, occurrences: pl.DataFrame) -> pl.DataFrame:
    """Per signature and ISO week: cases showing it, active cases, and the rate.

    Every week between the log's first and last is present (zero counts kept),
    so trends are not biased by quiet weeks.
    """
    active = (
        log.select("case_id", _week(pl.col("timestamp")).alias("week"))
        .unique()
        .group_by("week")
        .agg(pl.len().alias("active_cases"))
    )
    if active.height == 0:
        return pl.DataFrame(
            schema={
                "type": pl.String,
                "stage": pl.String,
                "week": pl.Datetime("us", "UTC"),
                "cases": pl.UInt32,
                "active_cases": pl.UInt32,
                "rate": pl.Float64,
            }
        )
    weeks = pl.DataFrame(
        {
            "week": pl.datetime_range(
                _dt(active["week"].min()), _dt(active["week"].max()), "1w", eager=True
            )
        }
    ).with_columns(pl.col("week").cast(pl.Datetime("us", "UTC")))
    sigs = occurrences.select("type", "stage").unique()
    counts = (
        occurrences.with_columns(_week(pl.col("timestamp")).alias("week"))
        .group_by("type", "stage", "week")
        .agg(pl.col("case_id").n_unique().alias("cases"))
    )
    grid = sigs.join(weeks, how="cross")
    return (
        grid.join(counts, on=["type", "stage", "week"], how="left", nulls_equal=True)
        .join(active, on="week", how="left")
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
        .sort(["type", "stage", "week"], nulls_last=True)
    )


def failure_patterns(
    log: pl.DataFrame,
    view: DesignView | None = None,
    events_attrs: pl.DataFrame | None = None,
    *,
    min_cases: int = MIN_CASES,
    min_weeks: int = MIN_WEEKS,
    occurrences: pl.DataFrame | None = None,
) -> list[Finding]:
    """Findings for recurring failure patterns, with weekly counts and a Mann-Kendall trend.

    Severity: ``high`` when the pattern touches at least 10 % of all cases or
    is rising, ``medium`` at 3 %, ``low`` otherwise. With a design, shares and
    weekly rates are of the cases in the workflow (see the module docstring).
    """
    occ = occurrences if occurrences is not None else failure_occurrences(log, view, events_attrs)
    if occ.height == 0:
        return []
    log = _in_workflow(log, view)
    total_cases = max(log["case_id"].n_unique(), 1)
    weekly = weekly_pattern_counts(log, occ)
    summary = (
        occ.with_columns(_week(pl.col("timestamp")).alias("week"))
        .group_by("type", "stage")
        .agg(
            pl.col("case_id").n_unique().alias("cases"),
            pl.len().alias("occurrences"),
            pl.col("week").n_unique().alias("weeks"),
            pl.col("timestamp").min().alias("first_seen"),
            pl.col("timestamp").max().alias("last_seen"),
            pl.col("case_id").unique().sort().head(10).alias("examples"),
        )
        .filter((pl.col("cases") >= min_cases) & (pl.col("weeks") >= min_weeks))
        .sort(["type", "stage"], nulls_last=True)
    )
    out: list[Finding] = []
    for row in summary.iter_rows(named=True):
        series = weekly.filter(
            (pl.col("type") == row["type"]) & pl.col("stage").eq_missing(pl.lit(row["stage"]))
        )
        rates = series.filter(pl.col("rate").is_not_null())
        mk: dict[str, Any] = dict(mann_kendall(rates["rate"].to_list()))
        trend = mk["trend"] if mk["trend"] in ("rising", "declining", "stable") else None
        share = row["cases"] / total_cases
        severity = (
            "high" if share >= 0.10 or trend == "rising" else "medium" if share >= 0.03 else "low"
        )
        where = f" in {row['stage']}" if row["stage"] else ""
        subject = f"{row['type']}@{row['stage']}" if row["stage"] else row["type"]
        out.append(
            Finding(
                kind="failure_pattern",
                subject=subject,
                severity=severity,
                summary=(
                    f"{row['type'].replace('_', ' ').capitalize()}{where} recurs: {row['cases']} "
                    f"cases ({share:.0%}) over {row['weeks']} weeks"
                    + (f", {trend}" if trend else "")
                    + "."
                ),
                evidence={
                    "type": row["type"],
                    "stage": row["stage"],
                    "cases": row["examples"],
                    "case_count": row["cases"],
                    "events": row["occurrences"],
                    "weeks": row["weeks"],
                    "case_share": round(share, 4),
                    "weekly": [
                        {"week": w.date().isoformat(), "cases": c, "active_cases": a}
                        for w, c, a in series.select("week", "cases", "active_cases").iter_rows()
                    ],
                    "trend_test": {**mk, "series": "weekly cases with the pattern / active cases"},
                    "recurrence_rule": f">= {min_cases} cases across >= {min_weeks} weeks",
                },
                first_seen=row["first_seen"],
                last_seen=row["last_seen"],
                trend=trend,
            )
        )
    return out
