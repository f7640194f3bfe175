"""The sections of a report, grouped the way a reader asks: act, flow, better, detail, appendix.

A report opens with what to act on (:mod:`.act`), then how work flows
(:mod:`.flow`), then whether it is getting better (:mod:`.better`), then
every finding in detail (:mod:`.detail`) and the case trails, collapsed
(:mod:`.cases`). Each section reads the shared :class:`Context` and renders
its template under ``templates/sections/``. A section that does not apply
(no design) says so quietly; a section that fails is a loud warning in the
page and in ``Report.failed_sections``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from markupsafe import Markup

from wfmine.reports._render import render
from wfmine.reports.sections import act, better, cases, detail, flow, governance
from wfmine.reports.sections._context import Context, Unavailable

if TYPE_CHECKING:
    from wfmine.analysis import Analysis

__all__ = [
    "GROUPS",
    "READS",
    "SECTIONS",
    "SECTION_TITLES",
    "Context",
    "Outcome",
    "Unavailable",
    "render_section",
]

#: Section id → (heading, function), in report order.
SECTIONS: Final[dict[str, tuple[str, Callable[[Context], Markup]]]] = {
    "summary": ("Findings that matter most", act.section_summary),
    "process_map": ("Process map", flow.section_process_map),
    "variants": ("Paths through the process", flow.section_variants),
    "stage_times": ("Time in each stage", flow.section_stage_times),
    "seams": ("Handoffs between teams", flow.section_seams),
    "metrics": ("Metrics over time", better.section_metrics),
    "failure_patterns": ("Recurring failures", better.section_failure_patterns),
    "agent_readiness": ("Agent readiness", better.section_agent_readiness),
    "agents": ("Agents and delivery", governance.section_agents),
    "drift": ("Has the practice changed", governance.section_drift),
    "shadow_agents": ("Shadow agents", detail.section_shadow_agents),
    "gate_violations": ("Gate violations", detail.section_gate_violations),
    "cases": ("Case trails", cases.section_cases),
}
SECTION_TITLES: Final = {k: v[0] for k, v in SECTIONS.items()}

#: (group id, heading, one-line lede, section ids) in report order.
GROUPS: Final = (
    ("act", "What to act on", "", ("summary",)),
    ("flow", "How work flows", "Where work goes, how long it waits and where it changes hands.",
     ("process_map", "variants", "stage_times", "seams")),
    ("better", "Is it getting better", "The operating model week by week.",
     ("metrics", "failure_patterns", "agent_readiness", "agents", "drift")),
    ("detail", "Every finding", "The evidence behind each finding.",
     ("shadow_agents", "gate_violations")),
    ("appendix", "Appendix", "", ("cases",)),
)  # fmt: skip


@dataclass(frozen=True)
class Outcome:
    """How one section went: its HTML, ``"ok"`` / ``"skipped: …"`` / ``"failed: …"``, time taken."""

    html: Markup
    status: str
    seconds: float

    @property
    def failed(self) -> bool:
        """True when the section raised an error (not merely "does not apply")."""
        return self.status.startswith("failed")


#: Section id → figures of the analysis it reads that :func:`wfmine.reports.build_report` has
#: computed on a second thread (:meth:`wfmine.analysis.Analysis.alongside`) while the first
#: renders the summary (the findings and metrics: the longest chain), in this order: those
#: that wait for nothing of that chain first.
READS: Final[dict[str, tuple[Callable[[Analysis], object], ...]]] = {
    # the findings' inputs that need no conformance check: made while the summary's thread
    # checks the conformance
    "summary": (lambda a: a.actors,),
    "process_map": (lambda a: a.overview, lambda a: a.visits),
    "variants": (lambda a: a.stage_paths,),
    "stage_times": (lambda a: a.case_durations, lambda a: a.stage_times),
    "agents": (
        lambda a: a.reviewer_audit,
        lambda a: a.reviewer_comparison,
        lambda a: a.cohorts,
        lambda a: a.delivery,
        lambda a: a.display_names,
    ),
    "seams": (lambda a: a.seams,),
    "drift": (lambda a: a.drift,),
}


def render_section(ctx: Context, section_id: str) -> Outcome:
    """Render one section; a section that does not apply or fails says so in its card."""
    title, fn = SECTIONS[section_id]
    started = time.perf_counter()
    body: Markup | None = None
    reason = ""
    try:
        body = fn(ctx)
        status = "ok"
    except Unavailable as exc:
        reason, status = str(exc), f"skipped: {exc}"
    except Exception as exc:  # a broken analysis must not take the report down: say it loudly
        reason = f"{type(exc).__name__}: {exc}"
        status = f"failed: {reason}"
    html = render(
        "section.html.j2",
        id=section_id,
        title=title,
        body=body,
        reason=reason,
        failed=status.startswith("failed"),
    )
    return Outcome(html, status, time.perf_counter() - started)
