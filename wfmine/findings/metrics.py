"""The architect's metrics: is the operating model getting better?

``metrics(log, design)`` returns named polars frames:

``throughput``        weekly completions (cases whose last event falls in the
                      week and, with a design, ends in an end stage);
``stability``         one row: weeks, mean, CV and p10-p90 spread of weekly
                      completions -- *our* definition of throughput stability
                      (SIGNALS.md) -- and the share of finished cases within
                      the design's summed expected stage times;
``recovery``          weekly, by when work became stuck: stalled stage visits
                      (longer than the stage's stall limit, see
                      :mod:`wfmine.findings.failures`) and the median / p90 time
                      from stuck to the next progress (the next stage visit);
``seam_coverage``     weekly share of handoffs (between workflow steps) through
                      owned seams;
``failure_weekly``    weekly counts per failure pattern signature;
``agent_readiness``   per stage: share of events by agents, rework rate of
                      visits where an agent worked vs where only humans did, and a
                      verdict: ``agent-ready`` (agent share >= 30 % and agent
                      rework <= human rework + 5 points), ``agent-augmented``
                      (agents present, > 5 % of events), ``human-only``;
``pr_cohorts``        pickup time (PR opened -> first review/comment by a human
                      other than the author), review time (first review -> merge)
                      and PR cycle time (opened -> merged), medians split by
                      author cohort (human / agent / bot).
"""

from __future__ import annotations

from typing import Final

import polars as pl

from wfmine.conformance import ConformanceResult
from wfmine.design import Design
from wfmine.findings._events import MAPPED, staged_events
from wfmine.findings.failures import (
    failure_occurrences,
    stall_recoveries,
    weekly_pattern_counts,
)
from wfmine.findings.seams import handoffs
from wfmine.stages import case_scope, first_in_group, in_kernel_order, last_in_group

__all__ = ["READY_SHARE", "metrics"]

READY_SHARE: Final = 0.30
AUGMENTED_SHARE: Final = 0.05
_REVIEW_ACTS: Final = ["PR approved", "Changes requested", "PR reviewed", "Review comment added",
                       "PR comment added"]  # fmt: skip


def _week(e: pl.Expr) -> pl.Expr:
    return e.dt.truncate("1w").alias("week")


def judged_events(
    log: pl.DataFrame,
    design: Design | None,
    *,
    staged: pl.DataFrame | None = None,
    conformance: ConformanceResult | None = None,
    accounts: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """The stage events of the cases a design judges (every case without a design).

    ``staged``: :func:`wfmine.stages.stage_events` of ``log`` when the caller
    has it; ``conformance``: the result whose ``cases`` are the judged ones
    (else :func:`wfmine.stages.case_scope` decides, as conformance does).
    """
    events = staged if staged is not None else staged_events(log, design, accounts=accounts)
    if design is None:
        return events
    if conformance is not None:
        every = conformance.out_of_scope.height == 0 and _events_of(conformance) == events.height
        if every and events.get_column("case_id").null_count() == 0:
            return events  # every case of the events is judged: no join needed
        judged = conformance.cases.select("case_id")
    else:
        judged, _ = case_scope(events)
    return events.join(judged, on="case_id", how="semi", maintain_order="left")


def _events_of(conformance: ConformanceResult) -> int:
    """How many events the judged cases of ``conformance`` have together."""
    total = conformance.cases.get_column("events").sum() if conformance.cases.height else 0
    return int(total)


def metrics(
    log: pl.DataFrame,
    design: Design | None = None,
    *,
    events_attrs: pl.DataFrame | None = None,
    staged: pl.DataFrame | None = None,
    conformance: ConformanceResult | None = None,
    occurrences: pl.DataFrame | None = None,
    team_handoffs: pl.DataFrame | None = None,
    visits: pl.DataFrame | None = None,
    spells: pl.DataFrame | None = None,
    judged: pl.DataFrame | None = None,
    limits: pl.DataFrame | None = None,
    stalled: pl.DataFrame | None = None,
) -> dict[str, pl.DataFrame]:
    """The architect's metrics as a dict of frames (see the module docstring).

    ``staged`` / ``conformance``: the stage events and conformance result of
    the same log and design, when the caller has them (computed otherwise).
    ``occurrences`` (:func:`wfmine.findings.failures.failure_occurrences` of the
    judged events and ``events_attrs``) and ``team_handoffs``
    (:func:`wfmine.findings.seams.handoffs` of the judged events, ``"team"``):
    taken as given when the caller has them, as are ``visits``
    (:func:`wfmine.stages.stage_visits` of the judged events) and ``spells``
    (:func:`wfmine.findings.failures.idle_spells` of both), ``judged``
    (:func:`judged_events` of the log, design, stage events and conformance) and
    ``stalled`` (:func:`wfmine.findings.failures.stalled_visits`, the visits the
    recovery times are of).

    >>> import polars as pl
    >>> from wfmine.model import LOG_SCHEMA
    >>> sorted(metrics(pl.DataFrame(schema=LOG_SCHEMA)))[:2]
    ['agent_readiness', 'failure_weekly']
    """
    view = design
    if judged is None:
        judged = judged_events(log, design, staged=staged, conformance=conformance)
    log = judged
    out: dict[str, pl.DataFrame] = {}
    ends = log.select("case_id", "timestamp", "at_stage")  # the columns read
    if in_kernel_order(log) and log.get_column("timestamp").null_count() == 0:
        # each case's rows together, in time order: its first row starts it, its last ends it
        last = ends.filter(first_in_group("case_id")).select(
            "case_id", pl.col("timestamp").alias("start")
        )
        tail = ends.filter(last_in_group("case_id"))
        last = last.with_columns(
            tail.get_column("timestamp").alias("end"),
            tail.get_column("at_stage").alias("last_stage"),
        )
    else:
        last = (
            ends.group_by("case_id")
            .agg(
                pl.col("timestamp").min().alias("start"),
                pl.col("timestamp").max().alias("end"),
            )
            .join(
                ends.filter(last_in_group("case_id")).select(
                    "case_id", pl.col("at_stage").alias("last_stage")
                ),
                on="case_id",
                how="left",
            )
        )
    if view is not None:
        done = last.filter(pl.col("last_stage").is_in(list(view.end_stages)))
    else:
        done = last
    out["throughput"] = (
        done.group_by(_week(pl.col("end"))).agg(pl.len().alias("completions")).sort("week")
    )
    w = out["throughput"]["completions"].cast(pl.Float64)
    expected = (
        sum(s.expected.total_seconds() for s in view.stages if s.expected is not None)
        if view
        else 0.0
    )
    within = (
        done.select(
            ((pl.col("end") - pl.col("start")).dt.total_seconds() <= expected).mean()
        ).item()
        if expected and done.height
        else None
    )
    out["stability"] = pl.DataFrame(
        {
            "weeks": [w.len()],
            "mean": [w.mean() if w.len() else None],
            "cv": [(w.std() or 0.0) / w.mean() if w.len() > 1 and w.mean() else None],  # type: ignore[operator]
            "p10": [w.quantile(0.1) if w.len() else None],
            "p90": [w.quantile(0.9) if w.len() else None],
            "within_expected_share": [within],
            "definition": ["wfmine: CV and p10-p90 spread of weekly completions"],
        },
        schema_overrides={"within_expected_share": pl.Float64, "mean": pl.Float64,
                          "cv": pl.Float64, "p10": pl.Float64, "p90": pl.Float64},
    )  # fmt: skip
    occ = failure_occurrences(log, view, events_attrs) if occurrences is None else occurrences
    recoveries = stall_recoveries(
        log,
        view,
        visits=visits,
        spells=spells,
        events_attrs=events_attrs,
        limits=limits,
        stalled=stalled,
    )
    out["recovery"] = (
        recoveries.group_by(_week(pl.col("stalled_at")))
        .agg(
            pl.len().alias("stalls"),
            pl.col("recovery_s").median().alias("recovery_median_s"),
            pl.col("recovery_s").quantile(0.9, interpolation="linear").alias("recovery_p90_s"),
        )
        .sort("week")
    )
    h = handoffs(log, view, dimension="team") if team_handoffs is None else team_handoffs
    if h.height and view is not None:
        owned = pl.lit(False)
        for s in view.owned_seams:
            owned = owned | ((pl.col("from") == s.from_) & (pl.col("to") == s.to))
        out["seam_coverage"] = (
            h.with_columns(owned.alias("owned"))
            .group_by(_week(pl.col("taken_at")))
            .agg(pl.len().alias("handoffs"), pl.col("owned").mean().alias("owned_share"))
            .sort("week")
        )
    else:
        out["seam_coverage"] = pl.DataFrame(
            schema={
                "week": pl.Datetime("us", "UTC"),
                "handoffs": pl.UInt32,
                "owned_share": pl.Float64,
            }
        )
    out["failure_weekly"] = weekly_pattern_counts(log, occ)
    out["agent_readiness"] = _readiness(log, occ)
    out["pr_cohorts"] = _pr_cohorts(log)
    return out


def _readiness(log: pl.DataFrame, occ: pl.DataFrame) -> pl.DataFrame:
    # in the kernel's order each case's rows come together: its number is a running count
    kernel = in_kernel_order(log)
    numbered = [first_in_group("case_id").cum_sum().cast(pl.Int64).alias("_case")] if kernel else []
    staged = log.select("case_id", "stage", "actor_kind", *numbered).filter(MAPPED)  # read
    if staged.height == 0:
        return pl.DataFrame(schema={"stage": pl.String, "events": pl.UInt32, "agent_share": pl.Float64,
                                    "agent_rework": pl.Float64, "human_rework": pl.Float64,
                                    "verdict": pl.String})  # fmt: skip
    rework = occ.filter(pl.col("type") == "rework_loop").select("case_id", "stage")
    if kernel:
        rates = _readiness_rates(log, staged, rework)  # a pair marked twice is marked
    else:
        rework = rework.unique().with_columns(pl.lit(True).alias("_rw"))
        agent = (pl.col("actor_kind") == "agent").any().alias("_agent")
        grouped = staged.group_by("case_id", "stage").agg(agent)
        per_case = grouped.join(rework, on=["case_id", "stage"], how="left").with_columns(
            pl.col("_rw").fill_null(False)
        )
        rates = per_case.group_by("stage").agg(
            pl.col("_rw").filter(pl.col("_agent")).mean().alias("agent_rework"),
            pl.col("_rw").filter(~pl.col("_agent")).mean().alias("human_rework"),
        )
    shares = staged.group_by("stage").agg(
        pl.len().alias("events"), (pl.col("actor_kind") == "agent").mean().alias("agent_share")
    )
    verdict = (
        pl.when((pl.col("agent_share") >= READY_SHARE)
                & (pl.col("agent_rework").fill_null(0) <= pl.col("human_rework").fill_null(0) + 0.05))
        .then(pl.lit("agent-ready"))
        .when(pl.col("agent_share") > AUGMENTED_SHARE).then(pl.lit("agent-augmented"))
        .otherwise(pl.lit("human-only"))
    )  # fmt: skip
    return (
        shares.join(rates, on="stage", how="left")
        .with_columns(verdict.alias("verdict"))
        .sort("stage")
    )


def _readiness_rates(log: pl.DataFrame, staged: pl.DataFrame, rework: pl.DataFrame) -> pl.DataFrame:
    """``stage, agent_rework, human_rework`` of :func:`_readiness` for a log in the kernel's
    order: per stage, the share of the (case, stage) pairs with an agent's event (and of those
    without one) that went round a rework loop there.

    Each pair is one integer, the case's number (``_case``, 1-based) times the stages plus the
    stage's code, marked in dense arrays (whether it occurs, has an agent's event, a loop)
    and counted per stage by ``bincount``; no group-by or join of a million events.
    """
    import numpy as np

    stages = sorted(staged.get_column("stage").unique().to_list())
    n = len(stages)
    code = pl.col("stage").replace_strict(
        {s: i for i, s in enumerate(stages)}, default=None, return_dtype=pl.Int64
    )
    key = (pl.col("_case") * n + code).alias("_key")
    keys = staged.select(key, (pl.col("actor_kind") == "agent").fill_null(False).alias("_a"))
    numbers = log.select("case_id").filter(first_in_group("case_id"))
    numbers = numbers.with_columns(pl.int_range(1, pl.len() + 1, dtype=pl.Int64).alias("_case"))
    looped = rework.join(numbers, on="case_id").select(key).get_column("_key").drop_nulls()
    size = (numbers.height + 1) * n
    k = keys.get_column("_key").to_numpy()
    present, agent, loop = (np.zeros(size, dtype=bool) for _ in range(3))
    present[k] = True
    agent[k[keys.get_column("_a").to_numpy()]] = True
    loop[looped.to_numpy()] = True
    stage_of = np.arange(size) % n

    def share(mask: np.ndarray) -> list[float | None]:
        pairs = np.bincount(stage_of[mask], minlength=n)
        loops = np.bincount(stage_of[mask & loop], minlength=n)
        return [int(lp) / int(p) if p else None for lp, p in zip(loops, pairs, strict=True)]

    return pl.DataFrame(
        {
            "stage": stages,
            "agent_rework": share(present & agent),
            "human_rework": share(present & ~agent),
        },
        schema={"stage": pl.String, "agent_rework": pl.Float64, "human_rework": pl.Float64},
    )


def _pr_cohorts(log: pl.DataFrame) -> pl.DataFrame:
    pr = log.filter(pl.col("object_type") == "pull_request")
    schema = {"cohort": pl.String, "prs": pl.UInt32, "pickup_median_s": pl.Float64,
              "review_median_s": pl.Float64, "cycle_median_s": pl.Float64}  # fmt: skip
    if pr.height == 0:
        return pl.DataFrame(schema=schema)
    opened = (
        pr.filter(pl.col("activity") == "PR opened")
        .group_by("object_id")
        .agg(
            pl.col("timestamp").min().alias("opened"),
            pl.col("actor_id").sort_by("timestamp").first().alias("author"),
            pl.col("actor_kind").sort_by("timestamp").first().alias("cohort"),
        )
    )
    j = pr.join(opened, on="object_id")
    firsts = j.group_by("object_id").agg(
        pl.col("timestamp").filter(
            pl.col("activity").is_in(_REVIEW_ACTS) & (pl.col("actor_kind") == "human")
            & (pl.col("actor_id") != pl.col("author"))
        ).min().alias("pickup_at"),
        pl.col("timestamp").filter(pl.col("activity").is_in(_REVIEW_ACTS[:3])).min().alias("review_at"),
        pl.col("timestamp").filter(pl.col("activity") == "PR merged").min().alias("merged_at"),
    )  # fmt: skip
    d = opened.join(firsts, on="object_id").with_columns(
        (pl.col("pickup_at") - pl.col("opened")).dt.total_seconds(fractional=True).alias("_p"),
        (pl.col("merged_at") - pl.col("review_at")).dt.total_seconds(fractional=True).alias("_r"),
        (pl.col("merged_at") - pl.col("opened")).dt.total_seconds(fractional=True).alias("_c"),
    )
    return (
        d.group_by(pl.col("cohort").fill_null("unknown"))
        .agg(
            pl.len().alias("prs"),
            pl.col("_p").filter(pl.col("_p") >= 0).median().alias("pickup_median_s"),
            pl.col("_r").filter(pl.col("_r") >= 0).median().alias("review_median_s"),
            pl.col("_c").filter(pl.col("_c") >= 0).median().alias("cycle_median_s"),
        )
        .cast(schema)  # type: ignore[arg-type]
        .sort("cohort")
    )
