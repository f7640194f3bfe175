"""The appendix: the event trail of every case a finding links to, collapsed."""

from __future__ import annotations

from typing import Any

import polars as pl
from markupsafe import Markup

from wfmine.reports._render import render, slug
from wfmine.reports.sections._context import Context

__all__ = ["section_cases"]


def section_cases(ctx: Context) -> Markup:
    """One collapsed trail per linked case (capped), read from the Analysis's window log."""
    ids = list(ctx.cases)[: ctx.max_cases]
    trail = (
        ctx.analysis.window_log.filter(pl.col("case_id").is_in(ids))
        .with_columns(
            pl.int_range(pl.len()).over("case_id").alias("_n"),
            pl.len().over("case_id").alias("_total"),
        )
        .filter(pl.col("_n") < ctx.max_events_per_case)
        .select("case_id", "timestamp", "activity", "resource", "actor_id", "actor_kind", "team",
                "source", "_total")
    )  # fmt: skip
    by_case: dict[str, list[dict[str, Any]]] = {}
    for row in trail.iter_rows(named=True):
        by_case.setdefault(row["case_id"], []).append(row)
    blocks = [
        {
            "id": slug("case", case),
            "name": ctx.case_name(case),
            "title": ctx.titles.get(case, ""),
            "events": by_case.get(case, []),
            "total": by_case[case][0]["_total"] if by_case.get(case) else 0,
        }
        for case in ids
    ]
    return render("sections/cases.html.j2", blocks=blocks, cap=ctx.max_cases)
