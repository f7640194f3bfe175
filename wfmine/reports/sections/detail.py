"""Every finding of a kind with its evidence: shadow agents, gate violations."""

from __future__ import annotations

from markupsafe import Markup

from wfmine.reports._render import render
from wfmine.reports.sections._context import Context
from wfmine.reports.sections._evidence import views

__all__ = ["section_gate_violations", "section_shadow_agents"]

#: gate violations listed in full; the rest are counted
MAX_GATES = 200


def section_shadow_agents(ctx: Context) -> Markup:
    """Undeclared automation, AI signatures and out-of-stage agents, with their evidence."""
    return render(
        "sections/shadow_agents.html.j2", items=views(ctx, ctx.findings_of("shadow_agent"))
    )


def section_gate_violations(ctx: Context) -> Markup:
    """Cases that passed a gate without the approvals their risk tier requires."""
    found = ctx.findings_of("gate_violation")
    return render(
        "sections/gate_violations.html.j2",
        items=views(ctx, found[:MAX_GATES], case_limit=3),
        total=len(found),
        has_design=ctx.design is not None,
    )
