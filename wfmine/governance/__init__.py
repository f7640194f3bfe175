"""Governing agents: reviewer audit, human vs agent cohorts, delivery (DORA) metrics.

Reads one :class:`wfmine.analysis.Analysis` (or a flat log with its design)
and answers the questions of issue 19:

- :func:`reviewer_audit` -- what happened to the work each reviewer (review
  agent or human) approved, by risk tier, as counts and rates with 95 %
  Wilson intervals; :func:`reviewer_comparison` -- each agent reviewer against
  human approvals of comparable work (same tier, same stage), Fisher's exact
  test per stratum and a pooled Cochran–Mantel–Haenszel test;
  :func:`reviewer_findings` -- a ``reviewer_quality`` finding when an agent
  reviewer is measurably worse;
- :func:`metric_by` / :func:`cohort_table` -- every metric split by who did
  the work: human, human with AI, agent, automation;
- :func:`dora_weekly` / :func:`dora_summary` -- the four DORA metrics, and
  :func:`delivery` beside them the architect's measures.

Definitions, and where they differ from Apache DevLake's: docs/metrics.md.
"""

from __future__ import annotations

from wfmine.governance._inputs import (
    COHORTS,
    HasInputs,
    Inputs,
    build_inputs,
    inputs_of,
    store_attrs,
    store_commit_links,
)
from wfmine.governance.cohorts import METRICS, cohort_table, metric_by
from wfmine.governance.delivery import delivery, failure_decline
from wfmine.governance.dora import deployments, dora_summary, dora_weekly, failures
from wfmine.governance.reviewers import (
    ALPHA,
    MIN_RATE_DIFF,
    OUTCOMES,
    approvals,
    pr_outcomes,
    reviewer_audit,
    reviewer_comparison,
    reviewer_findings,
    wilson,
)

__all__ = [
    "ALPHA",
    "COHORTS",
    "METRICS",
    "MIN_RATE_DIFF",
    "OUTCOMES",
    "HasInputs",
    "Inputs",
    "approvals",
    "build_inputs",
    "cohort_table",
    "delivery",
    "deployments",
    "dora_summary",
    "dora_weekly",
    "failure_decline",
    "failures",
    "inputs_of",
    "metric_by",
    "pr_outcomes",
    "reviewer_audit",
    "reviewer_comparison",
    "reviewer_findings",
    "store_attrs",
    "store_commit_links",
    "wilson",
]
