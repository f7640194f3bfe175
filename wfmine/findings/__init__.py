"""Findings: shadow agents, unowned seams, recurring failure patterns, gate violations.

Every finding has one shape (DESIGN.md "Findings"): ``kind, subject,
severity, summary, evidence (JSON), first_seen, last_seen, trend,
finding_id``. :func:`findings` runs every detector over a flat log (and, with
a design, against it); :func:`findings_json` gives the JSON objects
``wfmine findings --json`` prints; :func:`store_findings` writes them.

>>> import polars as pl
>>> from wfmine.model import LOG_SCHEMA
>>> findings(pl.DataFrame(schema=LOG_SCHEMA)).columns[:3]
['kind', 'subject', 'severity']
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl

from wfmine.findings._design import as_view, map_stages
from wfmine.findings._shape import (
    FINDING_SCHEMA,
    Finding,
    finding_id,
    findings_frame,
    findings_json,
    sort_findings,
)
from wfmine.findings.actors import AUTOMATION_THRESHOLD, ai_events, classify_actors
from wfmine.findings.failures import failure_occurrences, failure_patterns
from wfmine.findings.metrics import metrics
from wfmine.findings.seams import seams, unowned_seams
from wfmine.findings.shadow import shadow_agents
from wfmine.findings.signals import Signals, load_signals

if TYPE_CHECKING:
    from wfmine.store import Store

__all__ = [
    "FINDING_SCHEMA",
    "Finding",
    "classify_actors",
    "failure_occurrences",
    "finding_id",
    "findings",
    "findings_json",
    "gate_violations",
    "load_signals",
    "metrics",
    "seams",
    "store_findings",
]


def _store_inputs(
    store: Store,
) -> tuple[pl.DataFrame, pl.DataFrame, dict[str, str], pl.DataFrame]:
    """Events' attrs (with account ids), accounts mapped to actors, declared kinds, account links.

    The links (``account_id, actor_id``) include the roster's accounts that no
    ingested record used (e.g. a commit e-mail address), for attributing events.
    """
    events_attrs = store.sql(
        "SELECT event_id, CAST(attrs AS VARCHAR) AS attrs, actor_id AS account_id FROM events"
    )
    accounts = store.sql(
        "SELECT a.account_id, a.login, a.email, a.platform_kind, CAST(a.attrs AS VARCHAR) AS attrs, "
        "coalesce(m.actor_id, a.account_id) AS actor_id "
        "FROM accounts a LEFT JOIN actor_accounts m ON m.account_id = a.account_id"
    )
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


def _performer_teams(log: pl.DataFrame, store: Store) -> pl.DataFrame:
    """``log`` with each event's ``team`` set to its performer's team where identity knows it.

    A seam is work passing between the teams that *perform* consecutive steps.
    A connector's team mapping (Jira component, repository, Slack channel ->
    team) names the team that owns the object; it stays the team only of
    events whose performer has none.
    """
    teams = store.sql("SELECT actor_id, team AS _performer_team FROM actors WHERE team IS NOT NULL")
    if teams.height == 0 or "team" not in log.columns:
        return log
    return (
        log.join(teams, on="actor_id", how="left")
        .with_columns(pl.coalesce("_performer_team", "team").alias("team"))
        .drop("_performer_team")
    )


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


def gate_violations(log: pl.DataFrame, design: Any, *, store: Store | None = None) -> list[Finding]:
    """One finding per case that fails a validation gate, from the conformance engine.

    Returns nothing when the conformance engine or a design is missing.
    """
    view = as_view(design)
    if view is None or view.source is None or isinstance(view.source, dict):
        return []
    gates = _gate_frame(log, view.source, store)
    if gates is None or gates.height == 0 or "case_id" not in gates.columns:
        return []
    if "ok" in gates.columns:
        bad = gates.filter(pl.col("ok") == False)  # noqa: E712
    else:
        bad = gates.filter(pl.col("violation").is_not_null())
    out: list[Finding] = []
    for case, rows in bad.sort("case_id").group_by("case_id", maintain_order=True):
        first = rows.row(0, named=True)
        violation = first.get("violation") or "violation"
        approvers = first.get("approvers") or []
        out.append(
            Finding(
                kind="gate_violation",
                subject=str(case[0]),
                severity="high"
                if first.get("tier") in ("high_stakes", "irreversible")
                else "medium",
                summary=(
                    f"{case[0]}: gate before {first.get('gate')} not met ({violation.replace('_', ' ')}); "
                    f"{first.get('tier')} tier needs {first.get('required')}."
                ),
                evidence={
                    "type": violation,
                    "cases": [case[0]],
                    "events": 1,
                    "gate": first.get("gate"),
                    "tier": first.get("tier"),
                    "required": first.get("required"),
                    "approvers": list(approvers),
                    "author": first.get("author"),
                    "gated_event_id": first.get("gated_event_id"),
                    "violations": rows["violation"].to_list()
                    if "violation" in rows.columns
                    else [],
                },
                first_seen=first.get("gated_at"),
                last_seen=first.get("gated_at"),
            )
        )
    return out


def _gate_frame(log: pl.DataFrame, design: Any, store: Store | None) -> pl.DataFrame | None:
    try:
        from wfmine import conformance
    except ImportError:
        return None
    check = getattr(conformance, "check", None)
    if check is None:
        return None
    kwargs: dict[str, Any] = {}
    if store is not None:
        attrs_of = getattr(conformance, "case_attributes", None)
        if attrs_of is not None:
            kwargs["case_attrs"] = attrs_of(store, log)
        kwargs["accounts"] = store.sql("SELECT account_id, actor_id FROM actor_accounts")
    result: Any
    try:
        result = check(log, design, **kwargs)
    except TypeError:
        result = check(log, design)
    gates = result.get("gates") if isinstance(result, dict) else getattr(result, "gates", None)
    return gates if isinstance(gates, pl.DataFrame) else None


def findings(
    log: pl.DataFrame,
    design: Any = None,
    *,
    store: Store | None = None,
    roster: str | Path | dict[str, Any] | None = None,
    accounts: pl.DataFrame | None = None,
    events_attrs: pl.DataFrame | None = None,
    signals: Signals | None = None,
    automation_threshold: float = AUTOMATION_THRESHOLD,
    min_cases: int = 3,
    min_weeks: int = 2,
    min_handoffs: int = 3,
    kinds: tuple[str, ...] = ("shadow_agent", "unowned_seam", "failure_pattern", "gate_violation"),
) -> pl.DataFrame:
    """Every finding about ``log``, in the DESIGN.md shape, sorted by kind, severity, subject.

    ``design``: a :class:`wfmine.design.Design`, a path to ``design.yaml`` or
    its mapping; without one, only what needs no design is reported (actors
    acting like automation, AI signatures, failure patterns). ``store``: the
    store the log came from -- supplies event attrs (trailers, branches,
    reopen flags, assignees), accounts' platform fields and declared kinds.
    ``roster``: a roster file or mapping, for declared kinds when the store
    has no identity resolution.

    Defaults: automation threshold 0.5 (behaviour score), a failure pattern
    recurs in >= 3 cases across >= 2 weeks, an unowned seam needs >= 3 handoffs.

    >>> import wfmine
    >>> findings(wfmine.open().log()).height
    0
    """
    view = as_view(design)
    declared: dict[str, str] = {}
    links: pl.DataFrame | None = None
    if store is not None:
        ea, acc, declared, links = _store_inputs(store)
        events_attrs = events_attrs if events_attrs is not None else ea
        accounts = accounts if accounts is not None else acc
    declared = {**_roster_kinds(roster), **declared}
    sig = signals or load_signals()
    staged = map_stages(log, view)
    found: list[Finding] = []
    if "shadow_agent" in kinds:
        actors = classify_actors(
            log, accounts, events_attrs, signals=sig, threshold=automation_threshold
        )
        ai = ai_events(events_attrs, sig)
        found += shadow_agents(
            staged, actors, ai, view, declared=declared,
            accounts=links if links is not None else accounts,
            threshold=automation_threshold, signals=sig,
        )  # fmt: skip
    if "unowned_seam" in kinds:
        performed = _performer_teams(log, store) if store is not None else log
        found += unowned_seams(
            performed, design if view is None else view, min_handoffs=min_handoffs
        )
    if "failure_pattern" in kinds:
        found += failure_patterns(
            staged, view, events_attrs, min_cases=min_cases, min_weeks=min_weeks
        )
    if "gate_violation" in kinds:
        found += gate_violations(log, view, store=store)
    return findings_frame(found)


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
