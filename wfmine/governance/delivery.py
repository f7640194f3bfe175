"""Delivery as users know it: the DORA metrics beside the architect's measures.

:func:`delivery` gathers, for one analysis, the weekly DORA metrics split
by cohort (:mod:`wfmine.governance.dora`) and the architect's measures of
:func:`wfmine.findings.metrics` (read from :attr:`Analysis.metrics`, so the
CLI, the report and a notebook show the same figures): throughput stability
(*our* definition: CV and p10-p90 spread of weekly completions), recovery
time (stuck -> next progress), seam coverage (share of handoffs through owned
seams), failure-pattern decline (Mann–Kendall trend of each failure type's
weekly rate, :func:`wfmine.findings.trend.trend_test`) and agent readiness
per stage (verdict with its evidence: agent share and agent vs human rework
rate).
"""

from __future__ import annotations

from typing import Protocol

import polars as pl

from wfmine.findings.trend import trend_test
from wfmine.governance._inputs import HasInputs, inputs_of
from wfmine.governance.dora import _parts, _summary, _weekly

__all__ = ["delivery", "failure_decline"]


def failure_decline(failure_weekly: pl.DataFrame) -> pl.DataFrame:
    """Per failure type: cases, weeks, and the Mann–Kendall trend of its weekly rate."""
    schema = {"type": pl.String, "cases": pl.Int64, "weeks": pl.Int64, "trend": pl.String,
              "sen_slope": pl.Float64, "p": pl.Float64}  # fmt: skip
    if failure_weekly.height == 0:
        return pl.DataFrame(schema=schema)
    weekly = (
        failure_weekly.group_by("type", "week")
        .agg(pl.col("cases").sum(), pl.col("active_cases").sum())
        .with_columns((pl.col("cases") / pl.col("active_cases")).fill_nan(None).alias("rate"))
        .sort("type", "week")
    )
    rows = []
    for (kind,), g in weekly.group_by(["type"], maintain_order=True):
        test = trend_test(g.get_column("rate").fill_null(0.0).to_list())
        rows.append({
            "type": str(kind), "cases": int(g.get_column("cases").sum()),
            "weeks": int((g.get_column("cases") > 0).sum()), "trend": test["trend"],
            "sen_slope": test.get("sen_slope"), "p": test.get("p"),
        })  # fmt: skip
    return pl.DataFrame(rows, schema=schema, orient="row")


class _Delivering(HasInputs, Protocol):
    """An analysis: its governance inputs and its architect's metrics."""

    @property
    def metrics(self) -> dict[str, pl.DataFrame]: ...


def delivery(analysis: _Delivering, *, window_days: float = 14) -> dict[str, pl.DataFrame]:
    """The delivery figures of an analysis by name (see the module docstring)."""
    inp = inputs_of(analysis)
    m = analysis.metrics
    # the deployments, failures and lead times once for the four DORA frames, and each
    # summary from its weekly frame (dora_summary's own reading of them)
    parts = _parts(inp, window_days)
    weekly = _weekly(parts, "performer_kind")
    weekly_all = _weekly(parts, None)
    return {
        "dora_weekly": weekly,
        "dora_weekly_all": weekly_all,
        "dora_summary": _summary(parts, "performer_kind", weekly),
        "dora_summary_all": _summary(parts, None, weekly_all),
        "stability": m["stability"],
        "recovery": m["recovery"],
        "seam_coverage": m["seam_coverage"],
        "failure_decline": failure_decline(m["failure_weekly"]),
        "agent_readiness": m["agent_readiness"],
    }
