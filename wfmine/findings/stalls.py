"""Stall limits: how long a stage visit may sit idle before the work counts as stuck.

One definition, read by the failure detectors (``stall``, ``abandoned``),
the seams, governance and the Spark engine: where the design gives a stage
an expected time, that is the limit; where it is silent, a statistical limit
from the stage's finished visits (:func:`stall_limits`), per project where
the log has several. Visit times are counted on weekdays
(:func:`weekday_seconds`) -- work waiting over a weekend is not stuck.
"""

from __future__ import annotations

from typing import Final

import polars as pl

from wfmine.design import Design
from wfmine.findings._events import PROJECT
from wfmine.stages import shift_in_group

__all__ = [
    "EXPECTED_BASIS",
    "FENCE_BASIS",
    "MIN_VISITS",
    "PROJECT_BASIS",
    "SMALL_BASIS",
    "STALL_FACTOR",
    "WEEKDAYS_NOTE",
    "limit_of",
    "stall_limits",
    "visit_durations",
    "weekday_seconds",
]

#: fallback stall limit (x median visit) when a stage has too few visits for a fence
STALL_FACTOR: Final = 3.0
#: Tukey's fence multiplier on the IQR of log visit durations
FENCE_IQR: Final = 1.5
#: the statistical limit never exceeds this x the p90 visit (a mixture of fast and
#: slow visits widens the IQR without bound)
P90_CAP: Final = 4.0
#: ... and is never below this x the median visit, nor below ``MIN_LIMIT_S``
MEDIAN_FLOOR: Final = 2.0
MIN_LIMIT_S: Final = 3600.0
#: visits of a stage needed to estimate its fence
MIN_VISITS: Final = 10
#: the ``basis`` of a stall limit that is the design's expected time (calendar time)
EXPECTED_BASIS: Final = "the design's expected time"
#: how the ``basis`` of a statistical stall limit says it counts weekdays only
WEEKDAYS_NOTE: Final = "on weekdays"
#: the ``basis`` of a statistical limit set by the fence (``MIN_VISITS`` visits or more)
FENCE_BASIS: Final = (
    "Q3 + 1.5 IQR of log visit durations, all or the slower half (within 2x median .. 4x p90, "
    f">= 1 h), {WEEKDAYS_NOTE}"
)
#: ... and with fewer visits (``{}``: the factor)
SMALL_BASIS: Final = "{} x median visit (>= 1 h), " + WEEKDAYS_NOTE
#: ... and one project's own limit adds
PROJECT_BASIS: Final = ", of the project's own visits"


def weekday_seconds(start: pl.Expr, end: pl.Expr) -> pl.Expr:
    """Seconds of ``[start, end)`` that fall on a weekday (Monday to Friday, UTC).

    Work waits over a weekend without being stuck: for a stage worked in
    hours, most of the spread of its calendar times is nights and weekends.
    """
    cal = (end - start).dt.total_seconds(fractional=True)
    d0, d1 = start.dt.date(), end.dt.date()
    weekend_days = (d1 - d0).dt.total_days() - pl.business_day_count(d0, d1)
    into_day = (start - start.dt.truncate("1d")).dt.total_seconds(fractional=True)
    into_end = (end - end.dt.truncate("1d")).dt.total_seconds(fractional=True)
    weekend_s = (
        86400.0 * weekend_days
        - pl.when(start.dt.weekday() >= 6).then(into_day).otherwise(0.0)
        + pl.when(end.dt.weekday() >= 6).then(into_end).otherwise(0.0)
    )
    return cal - weekend_s


def visit_durations(visits: pl.DataFrame, design: Design | None) -> pl.DataFrame:
    """Finished visits with ``_dur`` (seconds), ``_wdur`` (of them, the seconds on weekdays:
    :func:`weekday_seconds`) and ``_until`` (when the visit ended).

    A visit lasts until the case's next visit starts -- the waiting belongs
    to the stage the work sits in. In an *end* stage the case is finished, so
    the visit lasts only as long as its own events: the quiet time before a
    later reopen is not time spent in that stage. A case's last visit is not
    finished (it may still be going on): see ``abandoned``.
    """
    ends = list(design.end_stages) if design is not None else []
    nxt = shift_in_group(pl.col("start"), "case_id", -1)
    until = pl.when(pl.col("stage").is_in(ends)).then(pl.col("last")).otherwise(nxt)
    return (
        visits.with_columns(nxt.alias("next_start"), until.alias("_until"))
        .filter(pl.col("next_start").is_not_null())
        .with_columns(
            (pl.col("_until") - pl.col("start")).dt.total_seconds(fractional=True).alias("_dur"),
            weekday_seconds(pl.col("start"), pl.col("_until")).alias("_wdur"),
        )
    )


def _limit_stats(d: pl.DataFrame, by: list[str], factor: float) -> pl.DataFrame:
    """The statistical stall limit (weekday seconds) of the visits ``d`` per group ``by``."""
    d = d.with_columns(pl.col("_wdur").alias("_dur"))
    log_dur = pl.col("_dur").clip(lower_bound=1.0).log()
    q1 = log_dur.quantile(0.25, interpolation="linear")
    q3 = log_dur.quantile(0.75, interpolation="linear")
    # the same fence on the slower half of the visits: with a hump of fast visits (moved
    # straight through) and one of real work, the full IQR spans both humps
    slow = log_dur.filter(pl.col("_dur") >= pl.col("_dur").median())
    s1 = slow.quantile(0.25, interpolation="linear")
    s3 = slow.quantile(0.75, interpolation="linear")
    per = d.group_by(by).agg(
        pl.len().alias("visits"),
        pl.min_horizontal(q3 + FENCE_IQR * (q3 - q1), s3 + FENCE_IQR * (s3 - s1))
        .exp()
        .alias("_fence"),
        (factor * pl.col("_dur").median()).alias("_small"),
        (P90_CAP * pl.col("_dur").quantile(0.9, interpolation="linear")).alias("_cap"),
        (MEDIAN_FLOOR * pl.col("_dur").median()).alias("_floor"),
    )
    use_fence = pl.col("visits") >= MIN_VISITS
    raw = pl.when(use_fence).then(pl.col("_fence")).otherwise(pl.col("_small"))
    statistical = pl.max_horizontal(
        pl.min_horizontal(raw, pl.col("_cap")), pl.col("_floor"), pl.lit(MIN_LIMIT_S)
    )
    basis = (
        pl.when(use_fence)
        .then(pl.lit(FENCE_BASIS))
        .otherwise(pl.format(SMALL_BASIS, pl.lit(factor)))
    )
    return per.with_columns(statistical.alias("_stat"), basis.alias("_basis"))


def stall_limits(
    visits: pl.DataFrame,
    design: Design | None,
    *,
    factor: float = STALL_FACTOR,
    per_project: bool = False,
) -> pl.DataFrame:
    """Stall limits per stage: ``stage``, ``visits``, ``limit_s`` and ``basis`` (how it was set).

    ``visits`` are :func:`wfmine.stages.stage_visits` rows. Where the design
    gives the stage an expected time, that is the limit. Where it is silent
    the limit is statistical, from the finished visits' time on weekdays
    (:func:`weekday_seconds`; the idle spells it is compared with are counted
    the same way -- work waiting over a weekend is not stuck, and for a stage
    worked in hours the weekends would otherwise be most of the spread, pushing
    the limit far above any real stall): Tukey's upper fence
    exp(Q3 + 1.5 x IQR) of the log visit durations (visit times are
    right-skewed) -- of all visits or of the slower half, whichever is lower
    (a hump of visits moved straight through widens the IQR of all) -- with at
    least ``MIN_VISITS`` visits, else ``factor`` x the median; capped at
    ``P90_CAP`` x the p90 visit (a mixture of fast and slow visits has an
    unbounded IQR) and never below ``MEDIAN_FLOOR`` x the median nor
    ``MIN_LIMIT_S`` (visits that all take the same time have no spread: a
    visit just over it is no stall).

    ``per_project``: add a ``scope`` column (null on the rows above: the limit
    of all the stage's visits) and, where the design is silent, a statistical
    limit per project (the case's, :data:`wfmine.findings._events.PROJECT`)
    for each project with at least ``MIN_VISITS`` finished visits of the
    stage, when the log has two projects or more: a stage worked at different
    paces in different projects (hours in one, days in another) has a
    different usual time in each, and one limit pooled over both is blind to
    stalls in the fast one. :func:`limit_of` picks a visit's limit: its
    project's, else the stage's.
    """
    schema = {
        "stage": pl.String, "scope": pl.String, "visits": pl.UInt32, "limit_s": pl.Float64,
        "basis": pl.String,
    }  # fmt: skip
    if not per_project:
        schema.pop("scope")
    expected: dict[str, float] = {}
    if design is not None:
        expected = {
            s.id: s.expected.total_seconds() for s in design.stages if s.expected is not None
        }
    d = visit_durations(visits, design)
    if d.height == 0:
        return pl.DataFrame(schema=schema)
    exp_s = pl.col("stage").replace_strict(expected, default=None, return_dtype=pl.Float64)
    pooled = _limit_stats(d, ["stage"], factor).select(
        "stage",
        *([pl.lit(None, dtype=pl.String).alias("scope")] if per_project else []),
        pl.col("visits").cast(pl.UInt32),
        pl.coalesce(exp_s, pl.col("_stat")).alias("limit_s"),
        pl.when(exp_s.is_not_null())
        .then(pl.lit(EXPECTED_BASIS))
        .otherwise(pl.col("_basis"))
        .alias("basis"),
    )
    scoped = d.filter(~pl.col("stage").is_in(list(expected))).with_columns(PROJECT.alias("scope"))
    scoped = scoped.filter(pl.col("scope").is_not_null())
    if not per_project or scoped.get_column("scope").n_unique() < 2:
        return pooled.cast(schema).sort("stage")  # type: ignore[arg-type]
    per_scope = (
        _limit_stats(scoped, ["stage", "scope"], factor)
        .filter(pl.col("visits") >= MIN_VISITS)
        .select(
            "stage",
            "scope",
            pl.col("visits").cast(pl.UInt32),
            pl.col("_stat").alias("limit_s"),
            (pl.col("_basis") + pl.lit(PROJECT_BASIS)).alias("basis"),
        )
    )
    return pl.concat([pooled.cast(schema), per_scope.cast(schema)]).sort(  # type: ignore[arg-type]
        "stage", "scope", nulls_last=False
    )


def limit_of(frame: pl.DataFrame, limits: pl.DataFrame, stage: str = "stage") -> pl.DataFrame:
    """``frame`` (``case_id`` and a ``stage`` column) with ``limit_s``: the stall limit of its
    project's visits of the stage where :func:`stall_limits` set one, else the stage's.

    Adds ``weekdays``: the limit is statistical, counted on weekdays (the
    design's expected time is calendar time). Rows of stages without a limit
    are dropped. ``limits`` without a ``scope`` column (one limit per stage)
    is read as pooled limits.
    """
    if "scope" not in limits.columns:
        limits = limits.with_columns(pl.lit(None, dtype=pl.String).alias("scope"))
    if "weekdays" not in limits.columns:
        # limits set before they were counted on weekdays say so by their basis
        weekdays = (
            pl.col("basis").fill_null("").str.contains(WEEKDAYS_NOTE, literal=True)
            if "basis" in limits.columns
            else pl.lit(False)
        )
        limits = limits.with_columns(weekdays.alias("weekdays"))
    pooled = limits.filter(pl.col("scope").is_null()).select(
        pl.col("stage").alias(stage), pl.col("limit_s").alias("_pooled"), pl.col("weekdays")
    )
    scoped = limits.filter(pl.col("scope").is_not_null()).select(
        pl.col("stage").alias(stage),
        pl.col("scope").alias("_scope"),
        "limit_s",
        pl.col("weekdays").alias("_sw"),
    )
    out = (
        frame.with_columns(PROJECT.alias("_scope"))
        .join(scoped, on=[stage, "_scope"], how="left")
        .join(pooled, on=stage, how="left")
        .with_columns(
            pl.coalesce("limit_s", "_pooled").alias("limit_s"),
            pl.coalesce("_sw", "weekdays").alias("weekdays"),
        )
    )
    return out.filter(pl.col("limit_s").is_not_null()).drop("_scope", "_pooled", "_sw")
