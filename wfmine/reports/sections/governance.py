"""Agents and delivery, and drift: the governance sections of a report.

Both render what the :class:`~wfmine.analysis.Analysis` computed once: the
reviewer audit and its comparison, the cohorts, the DORA figures
(:mod:`wfmine.governance`) and the change points of the practice
(:mod:`wfmine.drift`).
"""

from __future__ import annotations

from typing import Any, Final

import polars as pl
from markupsafe import Markup

from wfmine.reports._render import render
from wfmine.reports.sections._context import Context, Unavailable

__all__ = ["section_agents", "section_drift"]

#: metric id -> what a person calls it, in the order the cohort table lists them
METRIC_NAMES: Final = {
    "coding_time": "coding time (first commit → PR opened)",
    "pickup_time": "pickup time (PR opened → first review by another human)",
    "review_time": "review time (first review → merge)",
    "cycle_time": "PR cycle time (first commit → merge)",
    "rework_rate": "rework rate",
    "revert_rate": "revert rate",
    "stall_rate": "stall rate",
}
COHORT_NAMES: Final = {
    "human": "people",
    "human_with_ai": "people with AI assistance",
    "agent": "agents",
    "automation": "automation",
    "unknown": "unknown",
}


def _reviewers(audit: pl.DataFrame) -> list[dict[str, Any]]:
    rows = audit.filter((pl.col("level") != "kind") & (pl.col("tier") == "all"))
    return rows.sort(["kind", "approvals"], descending=[False, True]).to_dicts()


def section_agents(ctx: Context) -> Markup:
    """What happened to the work each reviewer approved; metrics by who did the work; DORA."""
    a = ctx.analysis
    audit = a.reviewer_audit
    if audit is None:
        raise Unavailable("needs a design: it says which approvals a gate requires")
    comparison = a.reviewer_comparison
    pooled = (
        comparison.filter(pl.col("level") == "pooled").to_dicts() if comparison is not None else []
    )
    kinds = audit.filter((pl.col("level") == "kind") & (pl.col("tier") == "all")).to_dicts()
    cohorts = a.cohorts.filter(pl.col("metric").is_in(list(METRIC_NAMES)))
    table: list[dict[str, Any]] = []
    present = [c for c in COHORT_NAMES if c in set(cohorts.get_column("cohort").to_list())]
    for metric, name in METRIC_NAMES.items():
        part = cohorts.filter(pl.col("metric") == metric)
        if not part.height:
            continue
        by = {str(r["cohort"]): r for r in part.to_dicts()}
        table.append({"name": name, "cells": [by.get(c) for c in present]})
    delivery = a.delivery
    summary = delivery["dora_summary_all"].to_dicts()
    return render(
        "sections/agents.html.j2",
        reviewers=_reviewers(audit),
        kinds=kinds,
        pooled=pooled,
        names=a.display_names,
        cohorts=[COHORT_NAMES[c] for c in present],
        table=table,
        dora=summary[0] if summary else None,
        dora_by=delivery["dora_summary"].to_dicts(),
        cohort_names=COHORT_NAMES,
    )


def section_drift(ctx: Context) -> Markup:
    """When the practised workflow changed, and whether the design's changes took effect."""
    report = ctx.analysis.drift
    if report is None:
        raise Unavailable("needs a design: it names the stages whose practice is followed")
    points = report.change_points
    return render(
        "sections/drift.html.j2",
        weeks=report.weeks,
        tested=report.series_tested,
        test=points.get_column("test")[0] if points.height else None,
        points=points.sort("week").to_dicts(),
        verdicts=report.verdicts.to_dicts(),
    )
