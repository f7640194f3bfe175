"""What to act on: the headline figures and the few findings that matter most, by kind."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

import polars as pl
from markupsafe import Markup

from wfmine.reports._render import render
from wfmine.reports.sections._context import SEVERITY_ORDER, Context
from wfmine.reports.sections._evidence import KIND_TITLES, views
from wfmine.units import human_count, human_duration

__all__ = ["section_summary"]

#: where the whole list of a kind's findings is shown
DETAIL: Final = {
    "shadow_agent": "shadow_agents",
    "gate_violation": "gate_violations",
    "unowned_seam": "seams",
    "failure_pattern": "failure_patterns",
}
PER_KIND: Final = 3


def _fid(f: Mapping[str, Any]) -> str:
    return str(f.get("finding_id") or f"{f.get('kind')}|{f.get('subject')}")


def _delta(prev: Mapping[str, Any], key: str, value: object) -> tuple[str, str] | None:
    old = prev.get(key)
    if not isinstance(old, int | float) or not isinstance(value, int | float):
        return None
    diff = value - old
    if diff == 0:
        return ("flat", "same as last report")
    shown = f"{diff:+,.1f}" if isinstance(diff, float) else f"{diff:+,}"
    return ("up" if diff > 0 else "down", f"{shown} since last report")


def _kpis(ctx: Context) -> list[tuple[str, str, tuple[str, str] | None]]:
    a = ctx.analysis
    prev = ctx.previous or {}
    s = ctx.summary
    scope = a.scope
    median = a.duration_stats["median_s"]
    s["duration_median_s"] = median
    stability = a.metrics.get("stability") if isinstance(a.metrics, Mapping) else None
    per_week = None
    if isinstance(stability, pl.DataFrame) and stability.height and "mean" in stability.columns:
        per_week = stability.get_column("mean")[0]
    s["completed_per_week"] = per_week
    high = s["findings_by_severity"].get("high", 0)
    kpis = [
        (
            "work items in scope" if a.design is not None else "cases",
            human_count(scope.cases),
            _delta(prev, "cases", scope.cases),
        ),
        (
            "findings",
            f"{human_count(s['findings_total'])} ({high} high)",
            _delta(prev, "findings_total", s["findings_total"]),
        ),
        (
            "median time per case",
            human_duration(median) if isinstance(median, float) else "–",
            None,
        ),
    ]
    if isinstance(per_week, float):
        kpis.append(
            ("completed per week", f"{per_week:.1f}", _delta(prev, "completed_per_week", per_week))
        )
    return kpis


def _changes(ctx: Context) -> dict[str, Any] | None:
    prev = ctx.previous
    if not prev:
        return None
    old_ids = set(prev.get("finding_ids") or [])
    new = [f for f in ctx.findings if _fid(f) not in old_ids]
    gone = len(old_ids - {_fid(f) for f in ctx.findings})
    return {
        "when": str(prev.get("generated_at") or "")[:16].replace("T", " "),
        "new": len(new),
        "gone": gone,
        "listed": views(ctx, new[:5]),
    }


def section_summary(ctx: Context) -> Markup:
    """Headline figures, the top findings of each kind, and what changed since the last report."""
    a = ctx.analysis
    items = ctx.findings
    by_kind: dict[str, list[dict[str, Any]]] = {}
    for f in items:
        by_kind.setdefault(str(f.get("kind")), []).append(f)
    by_sev: dict[str, int] = {}
    for f in items:
        by_sev[str(f.get("severity"))] = by_sev.get(str(f.get("severity")), 0) + 1
    scope = a.scope
    ctx.summary.update(
        cases=scope.cases,
        cases_total=scope.cases_total,
        cases_left_out=scope.left_out,
        events=scope.events,
        scope=scope.describe(),
        start=scope.start.isoformat() if scope.start else None,
        end=scope.end.isoformat() if scope.end else None,
        findings_total=len(items),
        findings_by_kind={k: len(v) for k, v in sorted(by_kind.items())},
        findings_by_severity=by_sev,
        finding_ids=sorted(_fid(f) for f in items),
    )
    # kinds with a high finding first, then by how many findings they have
    order = sorted(
        by_kind,
        key=lambda k: (min(SEVERITY_ORDER.get(str(f.get("severity")), 3) for f in by_kind[k]),
                       -len(by_kind[k]), k),
    )  # fmt: skip
    kinds = []
    for kind in order:
        found = by_kind[kind]
        title, what = KIND_TITLES.get(kind, (kind.replace("_", " ").capitalize(), ""))
        detail = DETAIL.get(kind)
        kinds.append(
            {
                "title": title,
                "what": what,
                "count": len(found),
                "high": sum(1 for f in found if f.get("severity") == "high"),
                "cards": views(ctx, found[:PER_KIND]),
                "more": max(len(found) - PER_KIND, 0),
                "anchor": f"s-{detail}" if detail in ctx.chosen else None,
            }
        )
    return render(
        "sections/summary.html.j2",
        kpis=_kpis(ctx),
        kinds=kinds,
        changes=_changes(ctx),
        first=ctx.previous is None,
    )
