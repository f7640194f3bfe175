"""Shadow agents: automation and AI at work where the design does not sanction it.

Three kinds, all with the actor id as subject:

``undeclared_automation``  an actor classified bot/agent (platform field, known
                           identifier, or behaviour score over the threshold)
                           that neither the roster (declared kind) nor the
                           design's agent registry declares as automation;
``ai_signature``           a human whose work carries an AI tool's signature
                           (trailer, branch prefix, marker) in a stage the
                           design reserves for humans;
``out_of_stage``           a registered agent acting in stages its registry
                           entry does not list.

Severity grows with stage risk (irreversible or human-only stages) and volume.
"""

from __future__ import annotations

from typing import Any, Final

import polars as pl

from wfmine.findings._design import DesignView
from wfmine.findings._shape import Finding

__all__ = ["shadow_agents"]

MIN_AI_EVENTS: Final = 1
MIN_OUT_OF_STAGE_EVENTS: Final = 2


def _severity(events: int, risky: bool) -> str:
    if risky and events >= 5:
        return "high"
    if risky or events >= 20:
        return "medium"
    return "low"


def _agent_map(view: DesignView | None, accounts: pl.DataFrame | None) -> dict[str, str]:
    """Every id under which a registered agent may appear -> the registry id."""
    if view is None:
        return {}
    resolved: dict[str, str] = {}
    if accounts is not None and {"account_id", "actor_id"} <= set(accounts.columns):
        resolved = dict(accounts.select("account_id", "actor_id").drop_nulls().iter_rows())
    out: dict[str, str] = {}
    for a in view.agents:
        for key in (a.id, *a.accounts, *(resolved[x] for x in a.accounts if x in resolved)):
            out.setdefault(key, a.id)
    return out


def shadow_agents(
    log: pl.DataFrame,
    actors: pl.DataFrame,
    ai: pl.DataFrame,
    view: DesignView | None,
    *,
    declared: dict[str, str] | None = None,
    accounts: pl.DataFrame | None = None,
    threshold: float = 0.5,
) -> list[Finding]:
    """Shadow-agent findings.

    ``log`` has a ``stage`` column (null without a design); ``actors`` is
    :func:`wfmine.findings.actors.classify_actors` output; ``ai`` is
    :func:`wfmine.findings.actors.ai_events` output; ``declared`` maps actor
    id -> declared kind (the roster); ``accounts`` maps account ids to actor
    ids (to recognise registry entries given as accounts).
    """
    declared = declared or {}
    agents = _agent_map(view, accounts)
    human_stages = {s.id for s in view.stages if s.performer == "human"} if view else set()
    risky = {s.id for s in view.stages if s.irreversible} | human_stages if view else set()
    ctx = log.sort(["case_id", "timestamp", "seq", "event_id"]).with_columns(
        pl.coalesce(pl.col("stage"), pl.col("stage").forward_fill().over("case_id")).alias("_stage")
    )
    per_actor = ctx.group_by("actor_id").agg(
        pl.col("_stage").drop_nulls().unique().sort().alias("stages"),
        pl.col("case_id").unique().sort().head(5).alias("examples"),
        pl.col("timestamp").min().alias("first"),
        pl.col("timestamp").max().alias("last"),
    )
    info = {r["actor_id"]: r for r in per_actor.iter_rows(named=True)}
    out: list[Finding] = []

    # (a) undeclared automation
    auto = actors.filter(pl.col("kind").is_in(["bot", "agent"]) & (pl.col("score") >= threshold))
    for row in auto.iter_rows(named=True):
        actor = row["actor_id"]
        if actor in agents or declared.get(actor) in ("bot", "agent"):
            continue
        meta = info.get(actor, {})
        stages = meta.get("stages", [])
        sev = _severity(row["events"], bool(set(stages) & risky))
        out.append(
            Finding(
                kind="shadow_agent",
                subject=actor,
                severity=sev,
                summary=(
                    f"{actor} acts like a {row['kind']} ({row['basis']}, score {row['score']:.2f}) "
                    f"in {row['events']} events but is not declared; register it or stop it."
                ),
                evidence={
                    "type": "undeclared_automation",
                    "detected_kind": row["kind"],
                    "basis": row["basis"],
                    "score": row["score"],
                    "tool": row["tool"],
                    "declared_kind": declared.get(actor),
                    "events": row["events"],
                    "stages": stages,
                    "cases": meta.get("examples", []),
                    "signals": _json(row["evidence"]),
                },
                first_seen=meta.get("first"),
                last_seen=meta.get("last"),
            )
        )

    # (b) AI signatures in human-only stages
    kinds = dict(actors.select("actor_id", "kind").iter_rows())
    signed = ctx.join(ai, on="event_id", how="inner")
    if signed.height:
        if view is not None:
            signed = signed.filter(pl.col("_stage").is_in(sorted(human_stages)))
        grouped = signed.group_by("actor_id").agg(
            pl.len().alias("n"),
            pl.col("ai_tool").unique().sort().alias("tools"),
            pl.col("ai_signal").unique().sort().alias("signals"),
            pl.col("_stage").drop_nulls().unique().sort().alias("stages"),
            pl.col("case_id").unique().sort().head(5).alias("cases"),
            pl.col("timestamp").min().alias("first"),
            pl.col("timestamp").max().alias("last"),
        )
        for row in grouped.sort("actor_id").iter_rows(named=True):
            actor = row["actor_id"]
            is_human = declared.get(actor, kinds.get(actor)) in ("human", None, "unknown")
            if not is_human or actor in agents or row["n"] < MIN_AI_EVENTS:
                continue
            where = ", ".join(row["stages"]) or "unmapped stages"
            out.append(
                Finding(
                    kind="shadow_agent",
                    subject=actor,
                    severity=_severity(row["n"], view is not None) if view else "low",
                    summary=(
                        f"{actor} submits work signed by {', '.join(row['tools'])} in "
                        f"{where}, which the design reserves for humans."
                        if view
                        else f"{actor} submits work signed by {', '.join(row['tools'])}."
                    ),
                    evidence={
                        "type": "ai_signature",
                        "tools": row["tools"],
                        "signals": row["signals"],
                        "events": row["n"],
                        "stages": row["stages"],
                        "cases": row["cases"],
                    },
                    first_seen=row["first"],
                    last_seen=row["last"],
                )
            )

    # (c) registered agents outside their stages
    if view is not None and agents:
        allowed = {a.id: set(a.stages) for a in view.agents}
        keys = pl.DataFrame(
            {"actor_id": list(agents), "_agent": list(agents.values())},
            schema={"actor_id": pl.String, "_agent": pl.String},
        )
        acting = ctx.filter(pl.col("stage").is_not_null()).join(keys, on="actor_id", how="inner")
        rows = acting.group_by("actor_id", "_agent", "stage").agg(
            pl.len().alias("n"),
            pl.col("case_id").unique().sort().head(5).alias("cases"),
            pl.col("timestamp").min().alias("first"),
            pl.col("timestamp").max().alias("last"),
        )
        rows = (
            rows.filter(
                ~pl.struct("_agent", "stage").map_elements(
                    lambda s: s["stage"] in allowed.get(s["_agent"], set()), return_dtype=pl.Boolean
                )
            )
            if rows.height
            else rows
        )
        by_actor: dict[str, list[dict[str, Any]]] = {}
        for r in rows.sort(["actor_id", "stage"]).iter_rows(named=True):
            by_actor.setdefault(r["actor_id"], []).append(r)
        for actor, items in by_actor.items():
            n = sum(i["n"] for i in items)
            if n < MIN_OUT_OF_STAGE_EVENTS:
                continue
            stages = [i["stage"] for i in items]
            agent_id = items[0]["_agent"]
            out.append(
                Finding(
                    kind="shadow_agent",
                    subject=actor,
                    severity=_severity(n, bool(set(stages) & risky)),
                    summary=(
                        f"Registered agent {agent_id} acts in {', '.join(stages)} ({n} events); "
                        f"its registry entry allows only {', '.join(sorted(allowed[agent_id])) or 'no stage'}."
                    ),
                    evidence={
                        "type": "out_of_stage",
                        "agent": agent_id,
                        "allowed_stages": sorted(allowed[agent_id]),
                        "stages": stages,
                        "events": n,
                        "events_by_stage": {i["stage"]: i["n"] for i in items},
                        "cases": sorted({c for i in items for c in i["cases"]})[:10],
                    },
                    first_seen=min(i["first"] for i in items),
                    last_seen=max(i["last"] for i in items),
                )
            )
    return _merge(out)


def _json(text: str | None) -> Any:
    import json

    return json.loads(text) if text else {}


def _merge(items: list[Finding]) -> list[Finding]:
    """One finding per actor: if an actor shows several kinds, keep the first and list the rest."""
    seen: dict[str, Finding] = {}
    for f in items:
        if f.subject in seen:
            first = seen[f.subject]
            also = list(first.evidence.get("also", []))
            also.append(f.evidence)
            seen[f.subject] = Finding(
                first.kind, first.subject, first.severity, first.summary,
                {**first.evidence, "also": also}, first.first_seen, first.last_seen, first.trend,
            )  # fmt: skip
        else:
            seen[f.subject] = f
    return list(seen.values())
