"""A finding's evidence as a person reads it: one "why it matters" line and a few facts.

Each kind of finding has its own wording (a gate violation names the tier,
what it needs and who approved; an unowned seam its handoffs and waits); a
key this module does not know is still shown, as "label: value" with the
label in words and the value formatted (durations, shares, lists) — never
as JSON or a raw field name.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from markupsafe import Markup

from wfmine.reports._render import slug
from wfmine.reports.sections._context import Context
from wfmine.units import human_count, human_duration

__all__ = ["KIND_TITLES", "FindingView", "view"]

#: kind → (heading for a group of them, one-line explanation of what the kind is)
KIND_TITLES: Final = {
    "gate_violation": ("Gate violations", "changes that passed a gate without the approvals their risk requires"),
    "unowned_seam": ("Unowned handoffs", "handoffs between teams that nobody owns in the design"),
    "shadow_agent": ("Shadow agents", "automation or AI at work that the design does not sanction"),
    "failure_pattern": ("Recurring failures", "breakages that keep coming back"),
    "reviewer_quality": ("Agent reviewers", "review agents whose approvals are followed by reverts or reopens more often than people's"),
}  # fmt: skip

_WORDS: Final = {
    "two_humans": "two distinct human approvals",
    "human_approval": "a human approval",
    "agent_review": "an agent review",
    "high_stakes": "high-stakes",
    "approval_after_merge": "approval only after the merge",
    "agent_only_approval": "an agent's approval only",
    "missing_two_humans": "one human approval of the two it needs",
    "self_approval": "its author's own approval",
    "no_approval": "no approval",
    "rework_loop": "rework loop",
    "ai_signature": "AI-signed work",
    "out_of_stage": "agent outside its stages",
    "trailer": "commit trailers",
}
_SKIP: Final = frozenset({"cases", "weekly", "trend_test", "gated_event_id", "violations"})


def words(value: object) -> str:
    """A design or detector code as words (``two_humans`` → ``two distinct human approvals``)."""
    text = str(value)
    return _WORDS.get(text, text.replace("_", " "))


def _list(values: object, limit: int = 6) -> str:
    items = [words(v) for v in values] if isinstance(values, list | tuple) else [words(values)]
    if not items:
        return "none"
    more = len(items) - limit
    return ", ".join(items[:limit]) + (f" and {more} more" if more > 0 else "")


def fact_value(key: str, value: Any) -> str:
    """One evidence value as text: durations for ``*_s``, percentages for shares, lists joined."""
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float):
        if not math.isfinite(float(value)):
            return "–"
        if key.endswith("_s") or key.endswith("_seconds"):
            return human_duration(value)
        if any(k in key for k in ("share", "ratio", "rate", "fitness")) and 0 <= value <= 1:
            return f"{value * 100:.0f}%"
        if isinstance(value, float):
            return f"{value:,.2f}" if abs(value) < 10 else human_count(round(value))
        return human_count(value)
    if isinstance(value, Mapping):
        parts = [f"{label(k)} {fact_value(str(k), v)}" for k, v in list(value.items())[:6]]
        return "; ".join(parts) or "–"
    if isinstance(value, list | tuple):
        return _list(value)
    return words(value)


def label(key: object) -> str:
    """A field name as a label a person reads (``wait_median_s`` → ``median wait``)."""
    text = str(key)
    special = {"wait_median_s": "median wait", "wait_p90_s": "slowest tenth waits",
               "wait_total_s": "waiting in total", "case_count": "cases", "events": "events"}  # fmt: skip
    if text in special:
        return special[text]
    for suffix in ("_s", "_seconds"):
        text = text.removesuffix(suffix)
    return text.replace("_", " ")


@dataclass
class FindingView:
    """A finding ready for the finding-card macro; every text is plain (escaped when placed)."""

    id: str
    kind: str
    name: str
    severity: str
    trend: str | None
    sentence: str
    why: str
    facts: list[tuple[str, str]] = field(default_factory=list)
    cases: Markup = field(default_factory=Markup)
    case_total: int = 0
    seen: str = ""
    weekly: list[float] = field(default_factory=list)
    assumption: str = ""
    patch: str = ""
    effect: str = ""


def _shadow(ev: Mapping[str, Any]) -> tuple[str, list[tuple[str, str]]]:
    kind = ev.get("type") or ev.get("basis")
    facts: list[tuple[str, str]] = []
    events = ev.get("events")
    stages = ev.get("stages") or []
    if kind == "ai_signature":
        why = (
            f"AI-signed work by {_list(ev.get('tools') or ['an unknown tool'])} in {_list(stages)}"
        )
        facts.append(("why it is a finding", _list(ev.get("reasons") or [])))
        facts.append(("signature found in", _list(ev.get("signals") or [])))
    elif kind == "out_of_stage":
        by_stage = ev.get("events_by_stage") or {}
        where = ", ".join(f"{s} ({human_count(n)} events)" for s, n in by_stage.items())
        why = f"Acts in {where or _list(stages)}; allowed only in {_list(ev.get('allowed_stages') or [])}"
    else:
        signals = ev.get("signals") if isinstance(ev.get("signals"), Mapping) else {}
        assert isinstance(signals, Mapping)
        cases = signals.get("cases")
        why = f"{human_count(events)} events" if isinstance(events, int) else "Acts"
        if isinstance(cases, int):
            why += f" in {human_count(cases)} cases"
        human_only = ev.get("human_only_stages") or []
        if human_only:
            why += f", including the human-only stage {_list(human_only)}"
        behaviour = signals.get("behaviour_signals")
        if behaviour:
            facts.append(("looks automated because of", _list(behaviour)))
        declared = ev.get("declared_kind") or signals.get("declared_kind")
        detected = ev.get("detected_kind")
        if detected:
            score = ev.get("score")
            shown = f" (score {score:.2f} of 1)" if isinstance(score, float) else ""
            facts.append(
                ("behaves like", f"a {detected}{shown}; declared as {declared or 'nothing'}")
            )
        if isinstance(signals.get("reaction_median_s"), int | float):
            n = signals.get("reactions")
            facts.append(("reacts within", f"{human_duration(signals['reaction_median_s'])} (median"
                          + (f" of {human_count(n)} reactions)" if isinstance(n, int) else ")")))  # fmt: skip
        off, weekend = signals.get("off_hours_share"), signals.get("weekend_share")
        if isinstance(off, float) and isinstance(weekend, float):
            facts.append(("works", f"{off * 100:.0f}% off-hours, {weekend * 100:.0f}% at weekends"))
        if stages:
            facts.append(("stages", _list(stages)))
    return why, facts


def _gate(ev: Mapping[str, Any]) -> tuple[str, list[tuple[str, str]]]:
    tier = words(ev.get("tier") or "unknown")
    need = words(ev.get("required") or "approval")
    what = words(ev.get("type") or (ev.get("violations") or ["not met"])[0])
    gate = ev.get("gate")
    where = f" before {gate}" if gate else ""
    article = "An" if tier[:1].lower() in "aeiou" else "A"
    why = f"{article} {tier} change passed the gate{where} with {what}; it needs {need}."
    facts = [
        ("approved by", _list(ev.get("approvers") or [])),
        ("author", str(ev.get("author") or "unknown")),
    ]
    return why, facts


def _seam(ev: Mapping[str, Any]) -> tuple[str, list[tuple[str, str]]]:
    parts = []
    if isinstance(ev.get("wait_total_s"), int | float):
        parts.append(f"{human_duration(ev['wait_total_s'])} of waiting in total")
    if isinstance(ev.get("case_count"), int):
        parts.append(f"across {human_count(ev['case_count'])} cases")
    why = " ".join(parts).capitalize()
    if isinstance(ev.get("wait_p90_s"), int | float):
        why += f"; the slowest tenth wait over {human_duration(ev['wait_p90_s'])}"
    facts = []
    if isinstance(ev.get("handoffs"), int):
        facts.append(("handoffs", human_count(ev["handoffs"])))
    if isinstance(ev.get("wait_median_s"), int | float):
        facts.append(("median wait", human_duration(ev["wait_median_s"])))
    if isinstance(ev.get("stall_share"), float):
        facts.append(("stalled", f"{ev['stall_share'] * 100:.0f}% of the handoffs"))
    if isinstance(ev.get("rework_share"), float):
        facts.append(("came back for rework", f"{ev['rework_share'] * 100:.0f}%"))
    return why, facts


def _pattern(ev: Mapping[str, Any]) -> tuple[str, list[tuple[str, str]]]:
    n = ev.get("case_count")
    share = ev.get("case_share")
    why = f"{human_count(n)} cases" if isinstance(n, int) else "Recurs"
    if isinstance(share, float):
        why += f" ({share * 100:.0f}% of the work items)"
    weeks = [w for w in ev.get("weekly") or [] if isinstance(w, Mapping) and w.get("cases")]
    if weeks:
        why += f" in {len(weeks)} different weeks"
    facts = []
    if ev.get("stage"):
        facts.append(("stage", str(ev["stage"])))
    test = ev.get("trend_test")
    if isinstance(test, Mapping) and isinstance(test.get("p"), float):
        facts.append(
            ("trend test", f"{test.get('trend', '–')} (Mann-Kendall, p = {test['p']:.2f})")
        )
    return why, facts


_KINDS: Final[dict[str, Callable[[Mapping[str, Any]], tuple[str, list[tuple[str, str]]]]]] = {
    "shadow_agent": _shadow,
    "gate_violation": _gate,
    "unowned_seam": _seam,
    "failure_pattern": _pattern,
}


def _generic(ev: Mapping[str, Any]) -> tuple[str, list[tuple[str, str]]]:
    facts = [(label(k), fact_value(str(k), v)) for k, v in ev.items() if k not in _SKIP]
    return "", facts[:8]


def weekly_series(ev: Mapping[str, Any]) -> list[float]:
    """The weekly case counts a failure pattern's evidence carries (oldest first)."""
    raw = ev.get("weekly")
    if isinstance(raw, list):
        values = [w.get("cases") for w in raw if isinstance(w, Mapping)]
        return [float(v) for v in values if isinstance(v, int | float)]
    return []


def view(ctx: Context, f: Mapping[str, Any], *, case_limit: int = 6) -> FindingView:
    """``f`` (a finding of the Analysis) ready to render."""
    ev = f.get("evidence") if isinstance(f.get("evidence"), Mapping) else {}
    assert isinstance(ev, Mapping)
    kind = str(f.get("kind") or "")
    try:
        why, facts = _KINDS.get(kind, _generic)(ev)
    except (TypeError, ValueError, KeyError, AttributeError):  # unexpected evidence shape
        why, facts = _generic(ev)
    cases = [str(c) for c in ev.get("cases") or []] if isinstance(ev.get("cases"), list) else []
    subject = str(f.get("subject") or "")
    name = str(f.get("subject_name") or "")
    if not name:
        name = ctx.case_name(subject) if kind == "gate_violation" else subject
        case = ctx.resolve_case(subject) if kind == "gate_violation" else None
        if case and ctx.titles.get(case):
            name += f" — {ctx.titles[case]}"
    sentence = str(f.get("summary") or "")
    if kind == "gate_violation" and why:  # the detector's sentence names design codes
        sentence, why = why, f"{facts[0][0]} {facts[0][1]}; {facts[1][0]} {facts[1][1]}"
        facts = []
    seen = " – ".join(str(x)[:10] for x in (f.get("first_seen"), f.get("last_seen")) if x)
    count = ev.get("case_count")
    hint = f.get("suggestion") if isinstance(f.get("suggestion"), Mapping) else {}
    assert isinstance(hint, Mapping)
    return FindingView(
        id=slug("finding", str(f.get("finding_id") or f"{kind}|{subject}")),
        kind=kind,
        name=name,
        severity=str(f.get("severity") or "low"),
        trend=str(f["trend"]) if f.get("trend") else None,
        sentence=sentence,
        why=why,
        facts=facts,
        cases=ctx.case_links(cases, limit=case_limit),
        case_total=count if isinstance(count, int) else len(cases),
        seen=seen,
        weekly=weekly_series(ev),
        assumption=str(f.get("assumption") or ""),
        patch=str(hint.get("patch") or ""),
        effect=str(hint.get("effect") or ""),
    )


def views(ctx: Context, items: Sequence[Mapping[str, Any]], **kw: Any) -> list[FindingView]:
    """:func:`view` of each finding."""
    return [view(ctx, f, **kw) for f in items]
