"""Findings: shadow agents, unowned seams, recurring failure patterns, gate violations.

Every finding has one shape (DESIGN.md "Findings"): ``kind, subject,
severity, summary, evidence, first_seen, last_seen, trend, finding_id,
subject_name, assumption, suggestion`` (:data:`FINDING_SCHEMA`; in the frame
``evidence`` and ``suggestion`` are JSON text). :func:`findings` runs every
detector over a flat log (and, with a design, against it, on the cases
conformance judges); :func:`findings_json` gives the JSON objects ``wfmine
findings --json`` prints; :func:`store_findings` writes them.

>>> import polars as pl
>>> from wfmine.model import LOG_SCHEMA
>>> findings(pl.DataFrame(schema=LOG_SCHEMA)).columns[:3]
['kind', 'subject', 'severity']
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl

from wfmine.conformance import ConformanceResult, case_attributes, check, check_store
from wfmine.design import Design
from wfmine.findings._events import PROJECT, staged_events
from wfmine.findings._shape import (
    FINDING_KINDS,
    FINDING_SCHEMA,
    Finding,
    finding_id,
    findings_frame,
    findings_json,
    iso_expr,
    sort_findings,
)
from wfmine.findings.actors import AUTOMATION_THRESHOLD, ai_events, classify_actors
from wfmine.findings.failures import ROOT_TYPES, failure_occurrences, failure_patterns
from wfmine.findings.metrics import judged_events, metrics
from wfmine.findings.seams import seams, unowned_seams
from wfmine.findings.shadow import shadow_agents
from wfmine.findings.signals import Signals, load_signals
from wfmine.stages import first_in_group

if TYPE_CHECKING:
    from wfmine.store import Store

__all__ = [
    "FINDING_KINDS",
    "FINDING_SCHEMA",
    "Finding",
    "SeamView",
    "actors_of",
    "automation_actors",
    "classify_actors",
    "failure_occurrences",
    "failure_patterns",
    "finding_id",
    "findings",
    "findings_json",
    "gate_violation_frame",
    "gate_violations",
    "load_signals",
    "metrics",
    "seam_view",
    "seams",
    "shadow_agents",
    "store_findings",
    "unowned_seams",
]


def _accounts(store: Store) -> pl.DataFrame:
    """The store's accounts with their platform fields and the actor each is resolved to."""
    return store.sql(
        "SELECT a.account_id, a.login, a.email, a.platform_kind, CAST(a.attrs AS VARCHAR) AS attrs, "
        "coalesce(m.actor_id, a.account_id) AS actor_id "
        "FROM accounts a LEFT JOIN actor_accounts m ON m.account_id = a.account_id"
    )


def _store_inputs(
    store: Store, *, attrs: bool = True
) -> tuple[pl.DataFrame | None, pl.DataFrame, dict[str, str], pl.DataFrame]:
    """Events' attrs (with account ids), accounts mapped to actors, declared kinds, account links.

    The links (``account_id, actor_id``) include the roster's accounts that no
    ingested record used (e.g. a commit e-mail address), for attributing events.
    ``attrs=False``: the caller has the events' attrs (``None`` in their place).
    """
    events_attrs = (
        store.sql(
            "SELECT event_id, CAST(attrs AS VARCHAR) AS attrs, actor_id AS account_id FROM events"
        )
        if attrs
        else None
    )
    accounts = _accounts(store)
    declared_rows = store.sql(
        "SELECT actor_id, declared_kind FROM actors WHERE declared_kind IS NOT NULL"
    )
    declared = dict(declared_rows.iter_rows()) if declared_rows.height else {}
    links = store.sql(
        "SELECT account_id, actor_id FROM actor_accounts UNION "
        "SELECT a.account_id, coalesce(m.actor_id, a.account_id) AS actor_id "
        "FROM accounts a LEFT JOIN actor_accounts m ON m.account_id = a.account_id"
    )
    return events_attrs, accounts, {str(k): str(v) for k, v in declared.items()}, links


def _performer_teams(events: pl.DataFrame, store: Store) -> pl.DataFrame:
    """``events`` with each event's ``team`` set to its performer's team where identity knows it.

    A seam is work passing between the teams that *perform* consecutive steps.
    A connector's team mapping (Jira component, repository, Slack channel ->
    team) names the team that owns the object; it stays the team only of
    events whose performer has none.
    """
    teams = store.sql("SELECT actor_id, team AS _performer_team FROM actors WHERE team IS NOT NULL")
    if teams.height == 0 or "team" not in events.columns:
        return events
    return (
        events.join(teams, on="actor_id", how="left", maintain_order="left")
        .with_columns(pl.coalesce("_performer_team", "team").alias("team"))
        .drop("_performer_team")
    )


def actors_of(
    log: pl.DataFrame,
    store: Store | None,
    events_attrs: pl.DataFrame | None,
    ai: pl.DataFrame | None = None,
    *,
    threshold: float = AUTOMATION_THRESHOLD,
) -> pl.DataFrame:
    """:func:`classify_actors` of ``log`` with the store's accounts, as :func:`findings` does."""
    accounts = _accounts(store) if store is not None else None
    return classify_actors(
        log, accounts, events_attrs, signals=load_signals(), threshold=threshold, ai=ai
    )


def automation_actors(
    actors: pl.DataFrame, threshold: float = AUTOMATION_THRESHOLD
) -> frozenset[str]:
    """The actors of :func:`classify_actors` that act like plain automation (a bot's behaviour
    score at ``threshold`` or above), whatever they are declared: their steps hand nothing over."""
    bots = actors.filter((pl.col("kind") == "bot") & (pl.col("score") >= threshold))
    return frozenset(str(a) for a in bots.get_column("actor_id").to_list())


@dataclass(frozen=True)
class SeamView:
    """What seams are read from, once for the seam table, the unowned-seam findings, the
    metrics' handoffs and drift: the judged events with each step's *performing* team
    (:func:`_performer_teams`), the actors whose steps are automation's, and the root events
    (reverts, reopens) whose consequences are evidence on their own finding."""

    events: pl.DataFrame
    automation: frozenset[str]
    #: ``case_id, root_at``
    roots: pl.DataFrame


def seam_view(
    judged: pl.DataFrame,
    store: Store | None,
    actors: pl.DataFrame,
    occurrences: pl.DataFrame,
    *,
    threshold: float = AUTOMATION_THRESHOLD,
) -> SeamView:
    """The :class:`SeamView` of the judged events, their actors and failure occurrences."""
    roots = occurrences.filter(pl.col("type").is_in(list(ROOT_TYPES))).select(
        "case_id", pl.col("timestamp").alias("root_at")
    )
    performed = (
        _assigned_teams(_performer_teams(judged, store), store) if store is not None else judged
    )
    return SeamView(performed, automation_actors(actors, threshold), roots)


def _assigned_teams(events: pl.DataFrame, store: Store) -> pl.DataFrame:
    """``events`` with ``assigned_team``: the team of the person the work item was reassigned
    to in its current stage visit, from the visit's last Jira assignment (null before any,
    once unassigned, and in a later visit).

    Reassigning an item to someone of another team hands the work over, whatever the stage
    it is in: the assignee's acts are the work's next steps (:func:`seams._is_step`). An
    assignee left over from an earlier stage (nobody reassigned the item when it moved on)
    hands nothing over: the stage's own team has it.
    """
    if "source" in events.columns and not events.select((pl.col("source") == "jira").any()).item():
        # no Jira event among them, so none is an assignment: no query of every stored event
        # (an all-null ``assigned_team`` hands nothing over either)
        return events
    rows = store.sql(
        "SELECT e.event_id, coalesce(p.team, '') AS assigned_team FROM events e "
        "LEFT JOIN actor_accounts m ON m.account_id = json_extract_string(e.attrs, '$.to') "
        "LEFT JOIN actors p ON p.actor_id = m.actor_id "
        "WHERE e.source = 'jira' AND e.activity = 'Assignee changed'"
    )
    if rows.height == 0 or not rows.get_column("assigned_team").str.len_chars().gt(0).any():
        return events
    # "" marks no assignee (unassigned, or before the first assignment) through the fill
    marked = events.join(rows, on="event_id", how="left", maintain_order="left")
    visit = pl.col("visit") if "visit" in events.columns else pl.lit(None, dtype=pl.Int64)
    new_visit = first_in_group("case_id") | visit.ne_missing(visit.shift(1)).fill_null(True)
    at_start = new_visit & pl.col("assigned_team").is_null()
    filled = pl.when(at_start).then(pl.lit("")).otherwise(pl.col("assigned_team")).forward_fill()
    return marked.with_columns(
        pl.when(filled == "").then(None).otherwise(filled).alias("assigned_team")
    )


def _display_names(store: Store | None) -> dict[str, str]:
    """Actor and account ids -> the name a person reads (the store's ``actors``/``accounts``)."""
    if store is None:
        return {}
    rows = store.sql(
        "SELECT actor_id AS id, display_name AS name FROM actors WHERE display_name IS NOT NULL "
        "UNION ALL SELECT a.account_id AS id, coalesce(p.display_name, a.display_name) AS name "
        "FROM accounts a LEFT JOIN actor_accounts m ON m.account_id = a.account_id "
        "LEFT JOIN actors p ON p.actor_id = m.actor_id"
    )
    return {str(k): str(v) for k, v in rows.iter_rows() if k is not None and v}


def _roster_kinds(roster: str | Path | dict[str, Any] | None) -> dict[str, str]:
    """Declared kinds from a roster file or mapping (actor id and every account id)."""
    if roster is None:
        return {}
    if isinstance(roster, str | Path):
        import yaml

        roster = yaml.safe_load(Path(roster).read_text(encoding="utf-8")) or {}
    assert isinstance(roster, dict)
    out: dict[str, str] = {}
    for person in roster.get("people", []) or []:
        kind = str(person.get("kind", "human"))
        out[str(person.get("id"))] = kind
        for acc in person.get("accounts", []) or []:
            out[str(acc)] = kind
    return out


def _failed_gates(conformance: ConformanceResult | None) -> pl.DataFrame | None:
    """Per case failing a gate: its first failing gate row and ``_violations`` (every one)."""
    if conformance is None or conformance.gates.height == 0:
        return None
    gates = conformance.gates
    bad = gates.filter(~pl.col("ok").fill_null(True)).sort("case_id")
    # per case its first gate row and every violation, in one pass (tens of thousands of
    # cases may fail a gate)
    listed = [pl.col("violation").alias("_violations")] if "violation" in bad.columns else []
    return bad.group_by("case_id", maintain_order=True).agg(pl.exclude("case_id").first(), *listed)


def gate_violations(conformance: ConformanceResult | None) -> list[Finding]:
    """One finding per case that fails a validation gate, from a conformance result's gates.

    :func:`findings` builds the same findings as a frame (:func:`gate_violation_frame`).
    """
    per_case = _failed_gates(conformance)
    if per_case is None:
        return []
    out: list[Finding] = []
    for first in per_case.iter_rows(named=True):
        case = str(first["case_id"])
        violation = str(first.get("violation") or "violation")
        approvers = first.get("approvers") or []
        tier = str(first.get("tier") or "")
        required = str(first.get("required") or "")
        gate = first.get("gate")
        shown = case.partition(":")[2] or case  # ACME-12 of jira:ACME-12
        out.append(
            Finding(
                kind="gate_violation",
                subject=case,
                severity="high" if tier in ("high_stakes", "irreversible") else "medium",
                summary=(
                    f"{shown} passed the gate before {gate} without what it needs: "
                    f"{_VIOLATION_WORDS.get(violation, violation.replace('_', ' '))}; "
                    f"{_TIER_WORDS.get(tier, tier)} work needs "
                    f"{_REQUIREMENT_WORDS.get(required, required.replace('_', ' '))}."
                ),
                evidence={
                    "type": violation,
                    "cases": [case],
                    "events": 1,
                    "gate": gate,
                    "tier": tier,
                    "required": required,
                    "approvers": list(approvers),
                    "author": first.get("author"),
                    "gated_event_id": first.get("gated_event_id"),
                    "violations": first.get("_violations") or [],
                },
                first_seen=first.get("gated_at"),
                last_seen=first.get("gated_at"),
                subject_name=f"{shown}, {_TIER_WORDS.get(tier, tier)} work",
                assumption=(
                    f"The design assumes no {_TIER_WORDS.get(tier, tier)} change reaches {gate} "
                    f"without {_REQUIREMENT_WORDS.get(required, required)}."
                ),
                suggestion=None,
            )
        )
    return out


def _words(column: str, words: dict[str, str], *, spaced: bool) -> pl.Expr:
    """``words[value]``, else the value (with ``_`` read as a space when ``spaced``)."""
    value = pl.col(column)
    other = value.str.replace_all("_", " ", literal=True) if spaced else value
    return value.replace_strict(words, default=other, return_dtype=pl.String)


def gate_violation_frame(conformance: ConformanceResult | None) -> pl.DataFrame:
    """:func:`gate_violations` as rows of :data:`FINDING_SCHEMA`, built column by column.

    The same findings in the same order as ``findings_frame(gate_violations(...))``
    (one per failing case: tens of thousands on a large log), with no Python object
    per finding; the evidence is the same compact, key-sorted JSON text.
    """
    per_case = _failed_gates(conformance)
    if per_case is None or per_case.height == 0:
        return pl.DataFrame(schema=FINDING_SCHEMA)
    text = pl.String()
    wanted: dict[str, pl.DataType] = {
        "violation": text, "approvers": pl.List(text), "tier": text, "required": text,
        "gate": text, "author": text, "gated_event_id": text,
        "gated_at": pl.Datetime("us", "UTC"), "_violations": pl.List(text),
    }  # fmt: skip
    missing = [
        pl.lit(None, dtype=d).alias(c) for c, d in wanted.items() if c not in per_case.columns
    ]
    rows = per_case.with_columns(missing).select(
        pl.col("case_id").cast(text),
        pl.when(pl.col("violation").cast(text).fill_null("") == "")
        .then(pl.lit("violation"))
        .otherwise(pl.col("violation").cast(text))
        .alias("violation"),
        pl.col("approvers").fill_null([]),
        pl.col("tier").cast(text).fill_null(""),
        pl.col("required").cast(text).fill_null(""),
        pl.col("gate"),
        pl.col("author"),
        pl.col("gated_event_id"),
        pl.col("gated_at"),
        pl.col("_violations").fill_null([]),
    )
    at = rows.schema["gated_at"]
    if isinstance(at, pl.Datetime):  # read as UTC, as iso() reads a value (naive: UTC)
        utc = pl.col("gated_at").dt
        rows = rows.with_columns(
            utc.replace_time_zone("UTC") if at.time_zone is None else utc.convert_time_zone("UTC")
        )
    after = pl.col("case_id").str.splitn(":", 2).struct.field("field_1")
    shown = pl.when(after.fill_null("") == "").then(pl.col("case_id")).otherwise(after)
    tier = _words("tier", _TIER_WORDS, spaced=False)
    gate = pl.col("gate").fill_null("None")
    summary = pl.concat_str(
        shown, pl.lit(" passed the gate before "), gate, pl.lit(" without what it needs: "),
        _words("violation", _VIOLATION_WORDS, spaced=True), pl.lit("; "), tier,
        pl.lit(" work needs "), _words("required", _REQUIREMENT_WORDS, spaced=True), pl.lit("."),
    )  # fmt: skip
    evidence = pl.struct(  # keys in sorted order, as to_json writes them
        "approvers", "author", pl.concat_list("case_id").alias("cases"),
        pl.lit(1, dtype=pl.Int64).alias("events"), "gate", "gated_event_id", "required", "tier",
        pl.col("violation").alias("type"), pl.col("_violations").alias("violations"),
    ).struct.json_encode()  # fmt: skip
    seen = iso_expr(pl.col("gated_at"))
    severe = pl.col("tier").is_in(["high_stakes", "irreversible"])
    frame = rows.select(
        pl.lit("gate_violation").alias("kind"),
        pl.col("case_id").alias("subject"),
        pl.when(severe).then(pl.lit("high")).otherwise(pl.lit("medium")).alias("severity"),
        summary.alias("summary"),
        evidence.alias("evidence"),
        seen.alias("first_seen"),
        seen.alias("last_seen"),
        pl.lit(None, dtype=text).alias("trend"),
        pl.lit(None, dtype=text).alias("finding_id"),
        pl.concat_str(shown, pl.lit(", "), tier, pl.lit(" work")).alias("subject_name"),
        pl.concat_str(
            pl.lit("The design assumes no "),
            tier,
            pl.lit(" change reaches "),
            gate,
            pl.lit(" without "),
            _words("required", _REQUIREMENT_WORDS, spaced=False),
            pl.lit("."),
        ).alias("assumption"),
        pl.lit(None, dtype=text).alias("suggestion"),
    )
    ids = [finding_id("gate_violation", s) for s in frame.get_column("subject").to_list()]
    frame = frame.with_columns(pl.Series("finding_id", ids, dtype=text))
    return sort_findings(frame.cast(FINDING_SCHEMA))  # type: ignore[arg-type]


_TIER_WORDS: dict[str, str] = {
    "reversible": "reversible",
    "irreversible": "irreversible",
    "high_stakes": "high-stakes",
}
_REQUIREMENT_WORDS: dict[str, str] = {
    "agent_review": "a review (an agent's will do)",
    "human_approval": "a human approval",
    "two_humans": "two human approvals",
}
_VIOLATION_WORDS: dict[str, str] = {
    "no_approval": "no approval at all",
    "agent_only_approval": "only an agent approved",
    "missing_two_humans": "fewer than two distinct people approved",
    "self_approval": "the author approved their own change",
    "approval_after_merge": "the approval came after the merge",
}


def findings(
    log: pl.DataFrame,
    design: Design | None = None,
    *,
    store: Store | None = None,
    conformance: ConformanceResult | None = None,
    staged: pl.DataFrame | None = None,
    roster: str | Path | dict[str, Any] | None = None,
    accounts: pl.DataFrame | None = None,
    events_attrs: pl.DataFrame | None = None,
    signals: Signals | None = None,
    automation_threshold: float = AUTOMATION_THRESHOLD,
    min_cases: int = 3,
    min_weeks: int = 2,
    min_handoffs: int = 3,
    kinds: Sequence[str] = FINDING_KINDS,
    ai: pl.DataFrame | None = None,
    occurrences: pl.DataFrame | None = None,
    case_attrs: pl.DataFrame | None = None,
    judged: pl.DataFrame | None = None,
    limits: pl.DataFrame | None = None,
    actors: pl.DataFrame | None = None,
    seam_table: pl.DataFrame | Callable[[], pl.DataFrame] | None = None,
) -> pl.DataFrame:
    """Every finding about ``log``, in the DESIGN.md shape, sorted by kind, severity, subject.

    ``design``: the :class:`wfmine.design.Design`; without one, only what
    needs no design is reported (actors acting like automation, AI
    signatures, failure patterns, the seams that cost most waiting).
    ``store``: the store the log came from -- supplies event attrs
    (trailers, branches, reopen flags, assignees), accounts' platform fields,
    declared kinds and display names. ``conformance``: the
    :func:`wfmine.conformance.check` result of the same log and design, and
    ``staged``: its :func:`wfmine.stages.stage_events`, when the caller has
    them (both computed here once otherwise). With a design the detectors
    judge the cases conformance judges. ``roster``: a roster file or
    mapping, for declared kinds when the store has no identity resolution.
    ``ai`` (:func:`wfmine.findings.actors.ai_events` of the events' attrs and
    signals), ``occurrences`` (:func:`failure_occurrences` of the judged
    events) and ``case_attrs`` (:func:`wfmine.conformance.case_attributes` of
    the store and log), ``judged`` (:func:`wfmine.findings.metrics.judged_events`
    of the log, design, stage events and conformance), ``actors``
    (:func:`classify_actors` of the log) and ``seam_table`` (:func:`seams` of
    the :func:`seam_view`, the table the unowned seams are picked from):
    taken as given when the caller has computed them. ``seam_table`` may also be
    a function that gives the table, called once the other detectors are done
    (:attr:`wfmine.analysis.Analysis.findings` computes the table on a second
    thread meanwhile).

    Defaults: automation threshold 0.5 (behaviour score), a failure pattern
    recurs in >= 3 cases across >= 2 weeks, an unowned seam needs >= 3 handoffs.

    >>> import wfmine
    >>> findings(wfmine.open().log()).height
    0
    """
    unknown = sorted(set(kinds) - set(FINDING_KINDS))
    if unknown:
        raise ValueError(f"unknown finding kind {unknown[0]!r}; one of {', '.join(FINDING_KINDS)}")
    declared: dict[str, str] = {}
    links: pl.DataFrame | None = None
    if store is not None:
        ea, acc, declared, links = _store_inputs(store, attrs=events_attrs is None)
        events_attrs = events_attrs if events_attrs is not None else ea
        accounts = accounts if accounts is not None else acc
    declared = {**_roster_kinds(roster), **declared}
    sig = signals or load_signals()
    account_map = links.select("account_id", "actor_id") if links is not None else None
    if design is not None and conformance is None:
        if store is not None:
            conformance = check_store(store, design, log=log)
        else:
            conformance = check(log, design, accounts=account_map)
    if staged is None:
        staged = staged_events(log, design, accounts=account_map)
    if judged is None:
        judged = judged_events(log, design, staged=staged, conformance=conformance)
    names = _display_names(store)
    if case_attrs is None and store is not None:
        case_attrs = case_attributes(store, log)
    found: list[Finding] = []
    ai = ai_events(events_attrs, sig) if ai is None else ai
    if actors is None:
        actors = classify_actors(
            log, accounts, events_attrs, signals=sig, threshold=automation_threshold, ai=ai
        )
    if "shadow_agent" in kinds:
        found += shadow_agents(
            staged, actors, ai, design, declared=declared,
            accounts=links if links is not None else accounts,
            threshold=automation_threshold, signals=sig,
            scopes=_agent_scopes(design, conformance, case_attrs),
        )  # fmt: skip
    if occurrences is None and {"unowned_seam", "failure_pattern"} & set(kinds):
        occurrences = failure_occurrences(judged, design, events_attrs, limits=limits)
    if "failure_pattern" in kinds:
        tiers = conformance.cases.select("case_id", "tier") if conformance is not None else None
        found += failure_patterns(
            judged, design, events_attrs, min_cases=min_cases, min_weeks=min_weeks,
            occurrences=occurrences, scopes=_case_scopes(judged), tiers=tiers,
            components=_case_components(case_attrs),
            # the judged events are the conformance check's cases: its visits are theirs
            visits=conformance.visits if conformance is not None else None, limits=limits,
        )  # fmt: skip
    # the seams last: a caller that hands over a function is computing the table meanwhile
    # (the order of ``found`` is not the order of the frame: findings_frame sorts by kind first)
    if "unowned_seam" in kinds:
        assert occurrences is not None
        if callable(seam_table):
            seam_table = seam_table()
        if seam_table is None:
            view = seam_view(judged, store, actors, occurrences, threshold=automation_threshold)
            seam_table = seams(view.events, design, automation=view.automation, roots=view.roots)
        found += unowned_seams(judged, design, min_handoffs=min_handoffs, table=seam_table)
    out = findings_frame(_named(found, names))
    if "gate_violation" in kinds:  # one per failing case: built as a frame, not one by one
        gated = gate_violation_frame(conformance)
        if gated.height:
            out = sort_findings(pl.concat([out, gated]))
    return out


def _agent_scopes(
    design: Design | None,
    conformance: ConformanceResult | None,
    case_attrs: pl.DataFrame | None,
) -> pl.DataFrame | None:
    """``case_id, tier, project, components`` for the registry's scope limits (or ``None``)."""
    if design is None or not any(a.tiers or a.projects or a.components for a in design.agents):
        return None
    frame = (
        conformance.cases.select("case_id", "tier")
        if conformance is not None
        else pl.DataFrame(schema={"case_id": pl.String, "tier": pl.String})
    )
    if case_attrs is not None:
        attrs = case_attrs.select("case_id", "project", "components")
        return frame.join(attrs, on="case_id", how="full", coalesce=True)
    project = pl.col("case_id").str.extract(r"^jira:([A-Z][A-Z0-9_]*)-\d+$", 1)
    return frame.with_columns(project.alias("project"))


def _case_components(case_attrs: pl.DataFrame | None) -> pl.DataFrame | None:
    """``case_id, component``: each case's first component (the tracker's), where it has one."""
    if case_attrs is None:
        return None
    dtype = case_attrs.schema["components"]
    if (
        isinstance(dtype, pl.List)
        and not case_attrs.select(pl.col("components").list.len().max()).item()
    ):
        # no case has a component (every list empty or null): nothing to sort
        none = pl.lit(None, dtype=dtype.inner).alias("component")
        return case_attrs.select("case_id", none)
    first = pl.col("components").list.sort().list.first()
    return case_attrs.select("case_id", first.alias("component"))


def _case_scopes(events: pl.DataFrame) -> pl.DataFrame:
    """``case_id, scope``: the project a case id names (``SHOP`` of ``jira:SHOP-12``), if any."""
    ids = events.select("case_id").unique()
    if not ids.select(pl.col("case_id").str.starts_with("jira:").any()).item():
        # no case id names a project (PROJECT reads "jira:" ids alone): no regex to run
        return ids.with_columns(pl.lit(None, dtype=pl.String).alias("scope"))
    out = ids.select("case_id", PROJECT.alias("scope"))
    # one project is no scope: the signature would only get longer
    if out.get_column("scope").drop_nulls().n_unique() < 2:
        return out.with_columns(pl.lit(None, dtype=pl.String).alias("scope"))
    return out


def _named(items: list[Finding], names: dict[str, str]) -> list[Finding]:
    """Give actor findings the actor's display name (raw ids stay in subject and evidence)."""
    out: list[Finding] = []
    for f in items:
        name = names.get(f.subject)
        if f.kind == "shadow_agent" and name and f.subject_name in (None, f.subject):
            summary = f.summary
            if name != f.subject and summary.startswith(f.subject):
                summary = f"{name} ({f.subject})" + summary[len(f.subject) :]
            f = replace(f, subject_name=name, summary=summary)
        out.append(f)
    return out


def store_findings(
    store: Store, df: pl.DataFrame, *, generated_at: dt.datetime | None = None
) -> None:
    """Replace the store's findings with ``df`` (adds ``generated_at``, now by default)."""
    at = generated_at or dt.datetime.now(dt.UTC)
    store.replace_findings(
        sort_findings(df).with_columns(
            pl.lit(at, dtype=pl.Datetime("us", "UTC")).alias("generated_at")
        )
    )
