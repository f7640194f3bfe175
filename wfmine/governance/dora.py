"""The four DORA metrics, weekly, with the human / agent split (docs/metrics.md).

What the terms mean in this data:

**deployment**   an event ``Deployed``, ``Deployment succeeded`` or ``Release
                 published`` when the log has any (a CI/CD or release export);
                 otherwise a ``PR merged`` -- the merge to the default branch is
                 the deployment (continuous delivery; the GitHub export has no
                 deployment records). DevLake takes deployments from CI/CD
                 tasks configured as production deployments, or falls back to
                 merged PRs in the same way.
**failure**      a deployment reverted (``Revert merged``: the PR its
                 ``reverts`` attribute names, else the case's last deployment
                 before the revert) or whose work item was reopened within
                 ``window_days`` of it (the case's last deployment before the
                 reopen). DevLake counts a deployment as failed when an
                 *incident* (an issue of the configured incident type) is
                 linked to it; trackers here rarely have incident issues, so the
                 failures the data shows -- reverts and reopens -- stand in.

Per week of the deployment (Monday, UTC):

``deployments``          how many; ``deploy_days`` the days with at least one
                         (DevLake's deployment frequency is built on deployment days);
``lead_time_median_s``   median over the commits the week's deployments
                         shipped of deployment time − commit time, values ≤ 0
                         ignored; a commit ships with the first deployment of
                         its work item at or after it;
``change_failure_rate``  failed deployments ÷ deployments;
``restore_median_s``     time to restore: median of restored − detected over
                         the failures (detected: the revert PR opened, else the
                         revert, or the reopen; restored: the revert merged, or
                         the work item's next deployment after the reopen) --
                         SIGNALS.md's "incident resolved − created";
``recovery_median_s``    DevLake's failed deployment recovery time: restored −
                         the failed deployment.

Failures and restore times are counted in the week of the failed deployment.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

import polars as pl

from wfmine.conformance import ConformanceResult
from wfmine.design import Design
from wfmine.errors import InputError
from wfmine.governance._inputs import DEPLOY_ACTIVITIES, HasInputs, Inputs, inputs_of, week

__all__ = ["DEFINITIONS", "deployments", "dora_summary", "dora_weekly", "failures"]

DEFINITIONS: Final = {
    "deployment": "a Deployed / Deployment succeeded / Release published event if the log has "
    "any, else a PR merged (the merge to the default branch)",
    "failure": "a deployment reverted, or whose work item was reopened within the window",
    "lead_time": "median(deployment − commit) over shipped commits, values <= 0 ignored",
    "change_failure_rate": "failed deployments / deployments",
    "time_to_restore": "median(restored − detected) over failures",
    "failed_deployment_recovery": "median(restored − failed deployment) (DevLake)",
}


def deployments(inp: Inputs) -> pl.DataFrame:
    """``deploy_id, case_id, pr_id, deployed_at, cohort``, in time order."""
    ev = inp.events
    explicit = ev.filter(pl.col("activity").is_in(list(DEPLOY_ACTIVITIES)))
    if explicit.height:
        out = explicit.select(
            pl.col("event_id").alias("deploy_id"),
            "case_id",
            pl.lit(None, dtype=pl.String).alias("pr_id"),
            pl.col("timestamp").alias("deployed_at"),
        ).join(inp.cases, on="case_id", how="left")
    else:
        merged = ev.filter(
            (pl.col("activity") == "PR merged") & (pl.col("object_type") == "pull_request")
        )
        out = (
            merged.select(
                pl.col("event_id").alias("deploy_id"),
                "case_id",
                pl.col("object_id").alias("pr_id"),
                pl.col("timestamp").alias("deployed_at"),
            )
            .unique(subset="pr_id", keep="first", maintain_order=True)
            .join(inp.prs.select("pr_id", "cohort"), on="pr_id", how="left")
        )
    return out.with_columns(pl.col("cohort").fill_null("unknown")).sort("deployed_at", "deploy_id")


def failures(inp: Inputs, window_days: float = 14) -> pl.DataFrame:
    """``deploy_id, kind (revert | reopen), detected_at, restored_at`` per failure of a deployment."""
    return _failures(inp, deployments(inp), window_days)


def _failures(inp: Inputs, dep: pl.DataFrame, window_days: float) -> pl.DataFrame:
    """:func:`failures` of the deployments ``dep`` (:func:`deployments` of ``inp``)."""
    last = dep.select("case_id", pl.col("deployed_at").alias("_t"), "deploy_id").sort("_t")
    rv = inp.reverts.select(
        "case_id",
        "target",
        pl.coalesce("revert_opened", "reverted_at").alias("detected_at"),
        pl.col("reverted_at").alias("restored_at"),
    )
    by_pr = rv.join(
        dep.filter(pl.col("pr_id").is_not_null()).select(
            pl.col("pr_id").alias("target"), pl.col("deploy_id").alias("_by_pr")
        ),
        on="target",
        how="left",
    )
    by_pr = (
        by_pr.with_columns(pl.col("restored_at").alias("_t"))
        .sort("_t")
        .join_asof(
            last,
            on="_t",
            by="case_id",
            strategy="backward",
            allow_exact_matches=False,
            check_sortedness=False,
        )
        .select(
            pl.coalesce("_by_pr", "deploy_id").alias("deploy_id"),
            pl.lit("revert").alias("kind"),
            "detected_at",
            "restored_at",
        )
    )
    reopen = (
        inp.occurrences.filter(pl.col("type") == "reopen")
        .select("case_id", pl.col("timestamp").alias("detected_at"))
        .with_columns(pl.col("detected_at").alias("_t"))
        .sort("_t")
        .join_asof(last, on="_t", by="case_id", strategy="backward", check_sortedness=False)
        .join(dep.select("deploy_id", "deployed_at"), on="deploy_id", how="left")
        .filter(
            pl.col("deployed_at").is_not_null()
            & (
                pl.col("detected_at") - pl.col("deployed_at")
                <= pl.duration(seconds=int(window_days * 86400))
            )
        )
        .join_asof(
            last.rename({"deploy_id": "_next", "_t": "restored_at"}),
            left_on="detected_at",
            right_on="restored_at",
            by="case_id",
            strategy="forward",
            allow_exact_matches=False,
            check_sortedness=False,
        )
        .select("deploy_id", pl.lit("reopen").alias("kind"), "detected_at", "restored_at")
    )
    return (
        pl.concat([by_pr, reopen])
        .filter(pl.col("deploy_id").is_not_null())
        .sort("detected_at", "deploy_id")
    )


def _lead_times(inp: Inputs, dep: pl.DataFrame) -> pl.DataFrame:
    commits = (
        inp.events.filter(pl.col("activity") == "Commit pushed")
        .select("case_id", pl.col("timestamp").alias("_t"))
        .with_columns(pl.col("_t").alias("committed_at"))
        .sort("_t")
    )
    ships = dep.select("case_id", pl.col("deployed_at").alias("_t"), "deploy_id").sort("_t")
    return (
        commits.join_asof(ships, on="_t", by="case_id", strategy="forward", check_sortedness=False)
        .filter(pl.col("deploy_id").is_not_null())
        .join(dep.select("deploy_id", "deployed_at"), on="deploy_id")
        .with_columns(
            (pl.col("deployed_at") - pl.col("committed_at"))
            .dt.total_seconds(fractional=True)
            .alias("lead_s")
        )
        .filter(pl.col("lead_s") > 0)
        .select("deploy_id", "lead_s")
    )


@dataclass(frozen=True)
class _Parts:
    """What the weekly and the summary figures of one analysis are both read from."""

    #: deployments with ``failed`` and ``week``
    per: pl.DataFrame
    #: failures with ``restore_s`` and ``recovery_s``
    fl: pl.DataFrame
    #: ``deploy_id, lead_s`` per shipped commit
    leads: pl.DataFrame


def _parts(inp: Inputs, window_days: float) -> _Parts:
    """The deployments, their failures and lead times, each found once (the weekly figures,
    the summary and each split by cohort or not all read these)."""
    dep = deployments(inp)
    per, fl = _per_deployment(inp, window_days, dep)
    return _Parts(per, fl, _lead_times(inp, dep))


def _per_deployment(
    inp: Inputs, window_days: float, deployed: pl.DataFrame | None = None
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Deployments with ``failed`` and ``week``; failures with ``restore_s`` and ``recovery_s``.

    ``deployed``: :func:`deployments` of ``inp`` when the caller has them.
    """
    deployed = deployments(inp) if deployed is None else deployed
    dep = deployed.with_columns(week(pl.col("deployed_at")).alias("week"))
    fail = _failures(inp, deployed, window_days)
    failed = fail.select("deploy_id").unique()
    per = dep.with_columns(pl.col("deploy_id").is_in(failed["deploy_id"].implode()).alias("failed"))
    fl = fail.join(dep.select("deploy_id", "deployed_at"), on="deploy_id").with_columns(
        (pl.col("restored_at") - pl.col("detected_at"))
        .dt.total_seconds(fractional=True)
        .alias("restore_s"),
        (pl.col("restored_at") - pl.col("deployed_at"))
        .dt.total_seconds(fractional=True)
        .alias("recovery_s"),
    )
    return per, fl


_SCHEMA: Final = pl.Schema(
    {
        "week": pl.Datetime("us", "UTC"),
        "cohort": pl.String(),
        "deployments": pl.Int64(),
        "deploy_days": pl.Int64(),
        "commits": pl.Int64(),
        "lead_time_median_s": pl.Float64(),
        "failed": pl.Int64(),
        "change_failure_rate": pl.Float64(),
        "restore_median_s": pl.Float64(),
        "recovery_median_s": pl.Float64(),
    }
)


def _aggregate(
    per: pl.DataFrame, fl: pl.DataFrame, leads: pl.DataFrame, keys: list[str]
) -> pl.DataFrame:
    base = per.group_by(keys).agg(
        pl.len().cast(pl.Int64).alias("deployments"),
        pl.col("deployed_at").dt.date().n_unique().cast(pl.Int64).alias("deploy_days"),
        pl.col("failed").sum().cast(pl.Int64).alias("failed"),
    )
    rc = (
        fl.join(per.select("deploy_id", *keys), on="deploy_id")
        .group_by(keys)
        .agg(
            pl.col("restore_s").median().alias("restore_median_s"),
            pl.col("recovery_s").median().alias("recovery_median_s"),
        )
    )
    lt = (
        leads.join(per.select("deploy_id", *keys), on="deploy_id")
        .group_by(keys)
        .agg(
            pl.len().cast(pl.Int64).alias("commits"),
            pl.col("lead_s").median().alias("lead_time_median_s"),
        )
    )
    return (
        base.join(rc, on=keys, how="left", nulls_equal=True)
        .join(lt, on=keys, how="left", nulls_equal=True)
        .with_columns(
            pl.col("commits").fill_null(0),
            (pl.col("failed") / pl.col("deployments")).alias("change_failure_rate"),
        )
    )


def dora_weekly(
    source: HasInputs | pl.DataFrame | Inputs,
    *,
    by: str | None = None,
    design: Design | None = None,
    conformance: ConformanceResult | None = None,
    events_attrs: pl.DataFrame | None = None,
    window_days: float = 14,
) -> pl.DataFrame:
    """The DORA metrics per week (and per cohort with ``by="performer_kind"``), weeks zero-filled.

    Columns: ``week, cohort`` (``"all"`` without a split), ``deployments,
    deploy_days, commits, lead_time_median_s, failed, change_failure_rate,
    restore_median_s, recovery_median_s`` (see the module docstring).
    """
    if by not in ("performer_kind", None):
        raise InputError(f"unknown split {by!r}; valid: performer_kind (or None for no split)")
    inp = inputs_of(source, design, conformance=conformance, events_attrs=events_attrs)
    return _weekly(_parts(inp, window_days), by)


def _weekly(parts: _Parts, by: str | None) -> pl.DataFrame:
    """:func:`dora_weekly` of the analysis whose :func:`_parts` these are."""
    per = parts.per
    if by is None:
        per = per.with_columns(pl.lit("all").alias("cohort"))
    if per.height == 0:
        return pl.DataFrame(schema=_SCHEMA)
    out = _aggregate(per, parts.fl, parts.leads, ["week", "cohort"])
    weeks = per.select(
        pl.datetime_range(pl.col("week").min(), pl.col("week").max(), interval="1w")
        .dt.convert_time_zone("UTC")
        .alias("week")
    )
    grid = weeks.join(per.select("cohort").unique(), how="cross")
    return (
        grid.with_columns(pl.col("week").cast(pl.Datetime("us", "UTC")))
        .join(out, on=["week", "cohort"], how="left")
        .with_columns(
            pl.col("deployments", "deploy_days", "commits", "failed").fill_null(0),
        )
        .select(_SCHEMA.names())
        .cast(dict(_SCHEMA))  # type: ignore[arg-type]
        .sort("week", "cohort")
    )


def dora_summary(
    source: HasInputs | pl.DataFrame | Inputs,
    *,
    by: str | None = None,
    design: Design | None = None,
    conformance: ConformanceResult | None = None,
    events_attrs: pl.DataFrame | None = None,
    window_days: float = 14,
) -> pl.DataFrame:
    """The DORA metrics over the whole period, one row (per cohort with ``by``).

    ``deployments_per_week`` is the median of weekly deployments over every
    week from the first to the last deployment (weeks without one count as 0);
    ``deploy_days_per_week`` likewise for deployment days.
    """
    inp = inputs_of(source, design, conformance=conformance, events_attrs=events_attrs)
    parts = _parts(inp, window_days)
    return _summary(parts, by, _weekly(parts, by))


def _summary(parts: _Parts, by: str | None, weekly: pl.DataFrame) -> pl.DataFrame:
    """:func:`dora_summary` of the analysis whose :func:`_parts` these are; ``weekly``: its
    :func:`_weekly` with the same ``by``."""
    per = parts.per
    if by is None:
        per = per.with_columns(pl.lit("all").alias("cohort"))
    total = _aggregate(per, parts.fl, parts.leads, ["cohort"])
    freq = weekly.group_by("cohort").agg(
        pl.len().alias("weeks"),
        pl.col("deployments").median().alias("deployments_per_week"),
        pl.col("deploy_days").median().alias("deploy_days_per_week"),
    )
    return total.join(freq, on="cohort", how="left").sort("cohort")


def definitions() -> dict[str, Any]:
    """What a deployment and a failure are here, and each figure's formula (for JSON output)."""
    return dict(DEFINITIONS)
