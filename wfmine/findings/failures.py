"""Recurring failure patterns: what keeps breaking, in how many cases and weeks, and its trend.

Each detector is a polars pass over the flat log (with a ``stage`` column when
a design is given) that returns *occurrences* (``case_id, type, stage,
timestamp``):

``rework_loop``  the case moves back to an earlier stage of the design
                 (e.g. review -> build); the stage is the one that sent the work
                 back. Also "Changes requested" followed by a new commit on the
                 same object.
``reopen``       a done item reopened (Jira ``Status:`` with attrs ``reopen``,
                 ``PR reopened``, ``GH issue reopened``, or an end stage left
                 for another stage).
``revert``       ``Revert merged``.
``ci_fix``       ``Check failed``, then ``Commit pushed``, then ``Check passed``
                 on the same object.
``stall``        a stage visit longer than max(3 x the stage's median visit,
                 the stage's expected time).
``ping_pong``    ``Assignee changed`` back to the assignee before the last one
                 (A -> B -> A).
``abandoned``    no event for longer than ``abandon_factor`` x the p90 gap
                 between consecutive events of cases, and the last event is not
                 in an end stage (or, without a design, not a usual last activity).

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
STALL_FACTOR: Final = 3.0
ABANDON_FACTOR: Final = 3.0

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


def _with_stage_context(log: pl.DataFrame) -> pl.DataFrame:
    """Add ``stage_ctx``: the event's stage, else the last stage the case was in."""
    return log.sort(_ORDER).with_columns(
        pl.col("stage").forward_fill().over("case_id").alias("stage_ctx")
    )


def _stage_steps(log: pl.DataFrame) -> pl.DataFrame:
    """Collapse each case's mapped events into stage visits (start, next visit's start)."""
    df = (
        log.filter(pl.col("stage").is_not_null())
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


def _rework(log: pl.DataFrame, steps: pl.DataFrame, view: DesignView | None) -> pl.DataFrame:
    parts = []
    if view is not None and steps.height:
        order = view.order
        rank = {k: v for k, v in order.items()}
        back = steps.with_columns(
            pl.col("stage").replace_strict(rank, default=None, return_dtype=pl.Int64).alias("_o"),
            pl.col("next_stage")
            .replace_strict(rank, default=None, return_dtype=pl.Int64)
            .alias("_n"),
        ).filter(pl.col("_n") < pl.col("_o"))
        parts.append(_occ(back.rename({"next_start": "timestamp"}).drop("start"), "rework_loop"))
    obj = (
        log.filter(pl.col("activity").is_in(["Changes requested", "Commit pushed"]))
        .sort(["object_id", "timestamp", "seq", "event_id"])
        .with_columns(pl.col("activity").shift(-1).over("object_id").alias("_next"))
        .filter((pl.col("activity") == "Changes requested") & (pl.col("_next") == "Commit pushed"))
    )
    parts.append(_occ(obj, "rework_loop", pl.col("stage_ctx")))
    return pl.concat(parts)


def _reopen(log: pl.DataFrame, attrs: pl.DataFrame | None, view: DesignView | None) -> pl.DataFrame:
    df = log.with_columns(pl.col("stage_ctx").shift(1).over("case_id").alias("_before"))
    cond = pl.col("activity").is_in(["PR reopened", "GH issue reopened", "Issue reopened"])
    if attrs is not None and attrs.height:
        flagged = attrs.filter(
            pl.col("attrs").str.json_path_match("$.reopen").str.to_lowercase() == "true"
        ).select("event_id")
        df = df.with_columns(pl.col("event_id").is_in(flagged["event_id"].implode()).alias("_flag"))
        cond = cond | pl.col("_flag")
    if view is not None and view.end:
        cond = cond | (
            pl.col("_before").is_in(list(view.end))
            & pl.col("stage").is_not_null()
            & ~pl.col("stage").is_in(list(view.end))
        )
    return _occ(df.filter(cond), "reopen", pl.coalesce("_before", "stage_ctx"))


def _ci_fix(log: pl.DataFrame) -> pl.DataFrame:
    ts = pl.col("timestamp")
    df = (
        log.filter(pl.col("activity").is_in(["Check failed", "Commit pushed", "Check passed"]))
        .sort(["object_id", "timestamp", "seq", "event_id"])
        .with_columns(
            pl.when(pl.col("activity") == "Check passed").then(ts).alias("_pass"),
        )
        .with_columns(
            pl.col("_pass").shift(-1).backward_fill().over("object_id").alias("_next_pass")
        )
        .with_columns(
            pl.when(pl.col("activity") == "Commit pushed").then(pl.col("_next_pass")).alias("_c")
        )
        .with_columns(pl.col("_c").shift(-1).backward_fill().over("object_id").alias("_fixed"))
        .filter((pl.col("activity") == "Check failed") & pl.col("_fixed").is_not_null())
    )
    return _occ(df, "ci_fix", pl.col("stage_ctx"))


def _stall(steps: pl.DataFrame, view: DesignView | None, factor: float) -> pl.DataFrame:
    if steps.height == 0:
        return _empty()
    expected = {s.id: s.expected_s for s in view.stages if s.expected_s} if view else {}
    d = steps.filter(pl.col("next_start").is_not_null()).with_columns(
        (pl.col("next_start") - pl.col("start")).dt.total_seconds(fractional=True).alias("_dur")
    )
    d = d.with_columns(
        pl.max_horizontal(
            factor * pl.col("_dur").median().over("stage"),
            pl.col("stage").replace_strict(expected, default=0.0, return_dtype=pl.Float64),
        ).alias("_limit")
    ).filter(pl.col("_dur") > pl.col("_limit"))
    return _occ(d.rename({"next_start": "timestamp"}).drop("start"), "stall")


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


def _abandoned(log: pl.DataFrame, view: DesignView | None, factor: float) -> pl.DataFrame:
    if log.height == 0:
        return _empty()
    log_end = log["timestamp"].max()
    gaps = log.with_columns(
        (pl.col("timestamp") - pl.col("timestamp").shift(1).over("case_id"))
        .dt.total_seconds(fractional=True)
        .alias("_gap")
    )["_gap"].drop_nulls()
    if gaps.len() == 0:
        return _empty()
    limit = factor * float(gaps.quantile(0.9, interpolation="linear") or 0.0)
    last = log.group_by("case_id").agg(pl.all().sort_by(["timestamp", "seq", "event_id"]).last())
    if view is not None and view.end:
        ended = pl.col("stage_ctx").is_in(list(view.end))
    else:
        counts = (
            last.group_by("activity")
            .agg(pl.len().alias("n"))
            .sort(["n", "activity"], descending=[True, False])
        )
        counts = counts.with_columns((pl.col("n").cum_sum() / pl.col("n").sum()).alias("_c"))
        usual = counts.filter(pl.col("_c").shift(1).fill_null(0) < 0.8)["activity"]
        ended = pl.col("activity").is_in(usual.implode())
    idle = (pl.lit(log_end) - pl.col("timestamp")).dt.total_seconds(fractional=True)
    df = last.filter(~ended & (idle > limit))
    return _occ(df, "abandoned", pl.col("stage_ctx"))


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
    if "stage" not in log.columns:
        log = log.with_columns(pl.lit(None, dtype=pl.String).alias("stage"))
    ctx = _with_stage_context(log)
    steps = _stage_steps(ctx)
    parts = [
        _rework(ctx, steps, view),
        _reopen(ctx, events_attrs, view),
        _occ(ctx.filter(pl.col("activity") == "Revert merged"), "revert", pl.col("stage_ctx")),
        _ci_fix(ctx),
        _stall(steps, view, stall_factor),
        _ping_pong(ctx, events_attrs),
        _abandoned(ctx, view, abandon_factor),
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
    is rising, ``medium`` at 3 %, ``low`` otherwise.
    """
    occ = occurrences if occurrences is not None else failure_occurrences(log, view, events_attrs)
    if occ.height == 0:
        return []
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
