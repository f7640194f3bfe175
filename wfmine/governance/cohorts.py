"""Every metric split by who did the work: human, human with AI, agent, automation.

``metric_by(analysis, metric)`` returns one row per cohort (see
:mod:`wfmine.governance._inputs` for how a PR's and a case's cohort is
decided) with the metric's value and a 95 % interval:

================  =====  =================================================================
metric            unit   definition
================  =====  =================================================================
coding_time       s      PR's first commit -> PR opened
pickup_time       s      PR opened (or out of draft, whichever is later) -> first review or
                         comment by a **human other than the author**; bots, automation and
                         agents never count as pickup (SIGNALS.md)
review_time       s      first review (approved / changes requested / reviewed) -> merge
cycle_time        s      PR cycle time: first commit (or opened) -> merge; a merge is the
                         deployment in this data, so deploy time is 0 (see dora.py)
revert_rate       share  merged PRs reverted within ``window_days`` of the merge
rework_rate       share  cases with a ``rework_loop`` occurrence (wfmine.findings.failures)
stall_rate        share  cases with a ``stall`` occurrence
wait_per_stage    s      per stage: finished stage visits' duration (time the case spent in
                         the stage, :func:`wfmine.findings.stalls.visit_durations`)
================  =====  =================================================================

Durations are medians with a distribution-free 95 % interval of the median
(order statistics at ``n/2 ± 1.96·sqrt(n)/2``); negative durations (clock
skew, a review before the PR was opened) are left out. Rates come with the
95 % Wilson interval. PR metrics use the PR's cohort, case metrics the case's.
"""

from __future__ import annotations

from typing import Final

import polars as pl

from wfmine.conformance import ConformanceResult
from wfmine.design import Design
from wfmine.errors import InputError
from wfmine.findings.stalls import visit_durations
from wfmine.governance._inputs import HasInputs, Inputs, inputs_of
from wfmine.governance.reviewers import Z95, pr_outcomes, wilson
from wfmine.stages import stage_visits

__all__ = ["BY", "METRICS", "cohort_table", "metric_by"]

#: the metrics :func:`metric_by` knows
METRICS: Final = (
    "coding_time",
    "pickup_time",
    "review_time",
    "cycle_time",
    "revert_rate",
    "rework_rate",
    "stall_rate",
    "wait_per_stage",
)
#: how a metric can be split
BY: Final = ("performer_kind", None)

SCHEMA: Final = pl.Schema(
    {
        "metric": pl.String,
        "cohort": pl.String,
        "stage": pl.String,
        "n": pl.Int64,
        "value": pl.Float64,
        "low": pl.Float64,
        "high": pl.Float64,
        "unit": pl.String,
    }
)


def _durations(df: pl.DataFrame, keys: list[str]) -> pl.DataFrame:
    """Median of ``v`` per group with the order-statistic 95 % interval of the median.

    Each group's values are sorted once, into a list the three figures are read from
    (the interval's two order statistics each sorted the group again).
    """
    v = pl.col("v")
    n = v.list.len().cast(pl.Int64)
    half = Z95 * n.cast(pl.Float64).sqrt() / 2.0
    lo = (n.cast(pl.Float64) / 2.0 - half).floor().cast(pl.Int64).clip(lower_bound=0)
    hi = (n.cast(pl.Float64) / 2.0 + half).ceil().cast(pl.Int64).clip(upper_bound=n - 1)
    return (
        df.filter(v >= 0)
        .group_by(keys)
        .agg(v.sort())
        .select(
            *keys,
            n.alias("n"),
            v.list.median().alias("value"),
            v.list.get(lo).alias("low"),
            v.list.get(hi).alias("high"),
        )
    )


def _shares(df: pl.DataFrame, keys: list[str]) -> pl.DataFrame:
    out = df.group_by(keys).agg(
        pl.len().cast(pl.Int64).alias("n"), pl.col("y").cast(pl.Int64).sum().alias("_k")
    )
    lo, hi = wilson(pl.col("_k"), pl.col("n"))
    return out.with_columns(
        (pl.col("_k") / pl.col("n")).alias("value"), lo.alias("low"), hi.alias("high")
    ).drop("_k")


def _secs(end: str, start: pl.Expr) -> pl.Expr:
    return (pl.col(end) - start).dt.total_seconds(fractional=True)


def _frame(inp: Inputs, metric: str, window_days: float) -> tuple[pl.DataFrame, str]:
    """The per-unit values of a metric (``cohort``, ``stage``?, ``v`` or ``y``) and its unit."""
    prs = inp.prs
    if metric == "coding_time":
        return prs.select("cohort", _secs("opened", pl.col("first_commit")).alias("v")), "s"
    if metric == "pickup_time":
        start = pl.max_horizontal("opened", "ready")
        return prs.select("cohort", _secs("pickup_at", start).alias("v")), "s"
    if metric == "review_time":
        return prs.select("cohort", _secs("merged", pl.col("first_review")).alias("v")), "s"
    if metric == "cycle_time":
        start = pl.min_horizontal("first_commit", "opened")
        return prs.select("cohort", _secs("merged", start).alias("v")), "s"
    if metric == "revert_rate":
        out = pr_outcomes(inp, window_days).join(prs.select("pr_id", "cohort"), on="pr_id")
        return out.select("cohort", pl.col("reverted").alias("y")), "share"
    if metric in ("rework_rate", "stall_rate"):
        kind = "rework_loop" if metric == "rework_rate" else "stall"
        hit = inp.occurrences.filter(pl.col("type") == kind).select("case_id").unique()
        cases = inp.cases.with_columns(pl.col("case_id").is_in(hit["case_id"].implode()).alias("y"))
        return cases.select("cohort", "y"), "share"
    # wait_per_stage
    if inp.design is None:
        visits = None
    elif inp.conformance is not None:  # the events are the check's cases: its visits are theirs
        visits = inp.conformance.visits
    else:
        visits = stage_visits(inp.events)
    if visits is None or visits.height == 0:
        return pl.DataFrame(schema={"cohort": pl.String, "stage": pl.String,
                                    "v": pl.Float64}), "s"  # fmt: skip
    # the analysis's finished visits are those of the same visits (the check's), found once
    finished = inp.finished if inp.finished is not None else visit_durations(visits, inp.design)
    waits = finished.join(inp.cases, on="case_id", how="left")
    return waits.select(pl.col("cohort").fill_null("unknown"), "stage",
                        pl.col("_dur").alias("v")), "s"  # fmt: skip


def metric_by(
    source: HasInputs | pl.DataFrame | Inputs,
    metric: str,
    by: str | None = "performer_kind",
    *,
    design: Design | None = None,
    conformance: ConformanceResult | None = None,
    events_attrs: pl.DataFrame | None = None,
    window_days: float = 14,
) -> pl.DataFrame:
    """One row per cohort (and stage, for ``wait_per_stage``) of ``metric`` (module docstring).

    ``by="performer_kind"`` splits by cohort; ``by=None`` gives one row
    (cohort ``"all"``). Columns :data:`SCHEMA`: ``metric, cohort, stage, n,
    value, low, high, unit``.

    >>> import wfmine
    >>> metric_by(Analysis.of(wfmine.open(":memory:")), "pickup_time").height
    0
    """
    if metric not in METRICS:
        raise InputError(f"unknown metric {metric!r}; valid metrics: {', '.join(METRICS)}")
    if by not in BY:
        raise InputError(f"unknown split {by!r}; valid: performer_kind (or None for no split)")
    inp = inputs_of(source, design, conformance=conformance, events_attrs=events_attrs)
    values, unit = _frame(inp, metric, window_days)
    if by is None:
        values = values.with_columns(pl.lit("all").alias("cohort"))
    keys = ["cohort", "stage"] if "stage" in values.columns else ["cohort"]
    values = values.filter(pl.all_horizontal(pl.col(k).is_not_null() for k in keys))
    out = _durations(values.drop_nulls("v"), keys) if unit == "s" else _shares(values, keys)
    if "stage" not in out.columns:
        out = out.with_columns(pl.lit(None, dtype=pl.String).alias("stage"))
    return (
        out.with_columns(pl.lit(metric).alias("metric"), pl.lit(unit).alias("unit"))
        .select(SCHEMA.names())
        .cast(dict(SCHEMA))  # type: ignore[arg-type]
        .sort("stage", "cohort", nulls_last=True)
    )


def cohort_table(
    source: HasInputs | pl.DataFrame | Inputs,
    *,
    design: Design | None = None,
    conformance: ConformanceResult | None = None,
    events_attrs: pl.DataFrame | None = None,
    window_days: float = 14,
    metrics: tuple[str, ...] = METRICS,
) -> pl.DataFrame:
    """Every metric by cohort, one frame (:data:`SCHEMA`), metrics in :data:`METRICS` order."""
    inp = inputs_of(source, design, conformance=conformance, events_attrs=events_attrs)
    parts = [metric_by(inp, m, window_days=window_days) for m in metrics]
    return pl.concat(parts) if parts else pl.DataFrame(schema=SCHEMA)
