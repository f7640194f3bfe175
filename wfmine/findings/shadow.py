"""Shadow agents: automation and AI at work where the design does not sanction it.

Five kinds, all with the actor id as subject:

``undeclared_automation``  an actor that acts like automation -- by behaviour
                           (score over the threshold), or by a platform field /
                           known identifier of an *AI agent* -- that neither the
                           roster (declared kind) nor the design's agent registry
                           declares. Plain platform automation (a ``[bot]``
                           account, a Slack app, Jira's automation; dependabot,
                           github-actions) is transparent about being a bot: it
                           is reported only where it acts in a stage the design
                           reserves for humans.
``ai_signature``           a person whose work carries an AI tool's signature
                           (trailer, branch prefix, marker) that the design does
                           not sanction: in a stage reserved for humans, or from
                           a tool no agent of the registry stands for, or in a
                           stage the registry does not allow that tool in. A
                           registry entry stands for the tools its accounts (and
                           the accounts of the actor they resolve to) are known
                           by in the signals data. Signed events whose performer
                           the export left out are attributed to the commit
                           author's e-mail identity, else to the PR author.
``unregistered_app``       an app or bot account (platform fields, a known
                           identifier, or declared so in the roster) that no
                           registry entry names, acting anywhere on a platform
                           the registry speaks about (a design whose registry
                           names no Slack account says nothing about Slack
                           apps); low severity outside the designed stages.
``out_of_scope``           a registered agent deciding on or doing work its
                           entry's ``tiers``, ``projects`` or ``components`` do
                           not cover (a review agent sanctioned for reversible
                           work approving a high-stakes change, a coding agent
                           building it; its approvals count and its acts in a
                           stage, not its commentary -- :data:`COMMENTARY`):
                           evidence type ``out_of_tier`` for tiers, else
                           ``out_of_scope``.
``out_of_stage``           a registered agent acting in stages its registry entry
                           does not list. What an agent does on an object it
                           authored itself (requesting review of its own PR,
                           answering on it, closing it) is the author's side of
                           that stage, not doing the stage's work -- except in an
                           irreversible or human-only stage, where any act counts.

Severity grows with stage risk (irreversible or human-only stages) and volume; an
undeclared AI agent doing any designed stage's work counts as a risky stage's (its
work reaches the product unsanctioned). Out-of-tier acts are high.

Why a little over 600 lines: the three ways an agent acts in the shadow
(undeclared, signed work, out of its sanction) share one evidence merge, so
one actor gives one finding.
"""

from __future__ import annotations

import json
from typing import Any, Final

import polars as pl

from wfmine.design import Design, activity_key, pattern_regex
from wfmine.findings._events import MAPPED, stage_context
from wfmine.findings._shape import Finding
from wfmine.findings.signals import Signals, load_signals
from wfmine.stages import in_kernel_order

__all__ = ["MIN_AI_EVENTS", "MIN_OUT_OF_STAGE_EVENTS", "shadow_agents"]

#: signed events a person needs before an ai_signature finding
MIN_AI_EVENTS: Final = 1
#: events an agent needs outside its stages before an out_of_stage finding; one
#: is enough in an irreversible or human-only stage
MIN_OUT_OF_STAGE_EVENTS: Final = 2
#: activities that remark on work without doing or deciding it (comments, reviews that
#: approve nothing, review requests, labels, assignments, chat and mail): an agent's
#: commentary on work outside its tiers or projects is not acting on that work
COMMENTARY: Final = (
    r"(?i)comment|^pr reviewed$|^changes requested$|^review requested$|^labeled$|"
    r"^assigned$|^assignee changed$|^message posted$|^thread reply$|^bot message$|^email "
)


def _severity(events: int, risky: bool) -> str:
    if risky and events >= 5:
        return "high"
    if risky or events >= 20:
        return "medium"
    return "low"


def _account_links(accounts: pl.DataFrame | None) -> pl.DataFrame:
    """``account_id -> actor_id`` (lower-cased account ids for e-mail lookups)."""
    schema = {"account_id": pl.String, "actor_id": pl.String}
    if accounts is None or not {"account_id", "actor_id"} <= set(accounts.columns):
        return pl.DataFrame(schema=schema)
    return (
        accounts.select(pl.col("account_id").cast(pl.String), pl.col("actor_id").cast(pl.String))
        .drop_nulls()
        .unique()
        .sort("account_id")
    )


def _agent_map(design: Design | None, links: pl.DataFrame) -> dict[str, str]:
    """Every id under which a registered agent may appear -> the registry id."""
    if design is None:
        return {}
    resolved = dict(links.iter_rows())
    out: dict[str, str] = {}
    for a in design.agents:
        for key in (a.id, *a.accounts, *(resolved[x] for x in a.accounts if x in resolved)):
            out.setdefault(key, a.id)
    return out


def _agent_tools(
    design: Design | None, links: pl.DataFrame, agents: dict[str, str], sig: Signals
) -> pl.DataFrame:
    """``ai_tool, stage`` pairs the registry sanctions (a null stage: any stage of the entry)."""
    schema = {"ai_tool": pl.String, "stage": pl.String}
    if design is None or not design.agents:
        return pl.DataFrame(schema=schema)
    by_actor: dict[str, list[str]] = {}
    for account, actor in links.iter_rows():
        by_actor.setdefault(actor, []).append(account)
    rows: list[tuple[str, str]] = []
    for entry in design.agents:
        actors = {k for k, v in agents.items() if v == entry.id}
        accounts = set(entry.accounts) | {x for a in actors for x in by_actor.get(a, [])}
        tools = set()
        for account in accounts:
            hit = sig.email_tool(account) if account.startswith("email:") else None
            hit = hit or sig.login_tool(account)
            if hit is not None and hit[0] == "agent":
                tools.add(hit[1])
        rows += [(t, s) for t in sorted(tools) for s in entry.stages]
    return pl.DataFrame(rows, schema=schema, orient="row").unique()


def _first_cases(events: pl.DataFrame, n: int) -> pl.Expr:
    """Per group (of actors): its ``n`` first case ids in sorted order, distinct.

    In the kernel's order (cases one after another, sorted) a group's rows come sorted by
    case already: its distinct cases are where the case changes from the group's previous
    row, with no case id of the group hashed or sorted.
    """
    case = pl.col("case_id")
    if not in_kernel_order(events):
        return case.unique().sort().head(n)
    return case.filter((case != case.shift(1)).fill_null(True)).head(n)


def _context(events: pl.DataFrame) -> pl.DataFrame:
    """The stage events with ``_stage``: the event's own stage, else where the case is."""
    return events.with_columns(stage_context().alias("_stage"))


def shadow_agents(
    log: pl.DataFrame,
    actors: pl.DataFrame,
    ai: pl.DataFrame,
    design: Design | None,
    *,
    declared: dict[str, str] | None = None,
    accounts: pl.DataFrame | None = None,
    threshold: float = 0.5,
    signals: Signals | None = None,
    scopes: pl.DataFrame | None = None,
) -> list[Finding]:
    """Shadow-agent findings.

    ``log`` has a ``stage`` column (null without a design); ``actors`` is
    :func:`wfmine.findings.actors.classify_actors` output; ``ai`` is
    :func:`wfmine.findings.actors.ai_events` output; ``declared`` maps actor
    id -> declared kind (the roster); ``accounts`` maps account ids to actor
    ids (to recognise registry entries given as accounts, and the tools they
    stand for, and to attribute signed events without a performer).
    ``scopes`` (``case_id``, ``tier``, ``project``, ``components``): what each
    case is, for the registry's ``tiers``/``projects``/``components`` limits.
    """
    declared = declared or {}
    sig = signals or load_signals()
    links = _account_links(accounts)
    agents = _agent_map(design, links)
    human_stages = {s.id for s in design.stages if s.performer == "human"} if design else set()
    risky = ({s.id for s in design.stages if s.irreversible} | human_stages) if design else set()
    ctx = _context(log)
    out = _undeclared(ctx, actors, agents, declared, human_stages, risky, threshold)
    out += _signatures(ctx, actors, ai, design, links, agents, declared, human_stages, sig)
    out += _out_of_stage(ctx, design, agents, risky)
    out += _out_of_scope(ctx, design, agents, scopes)
    out += _unregistered(ctx, actors, design, agents, risky, human_stages, threshold, links)
    return _merge(out)


def _undeclared(
    ctx: pl.DataFrame,
    actors: pl.DataFrame,
    agents: dict[str, str],
    declared: dict[str, str],
    human_stages: set[str],
    risky: set[str],
    threshold: float,
) -> list[Finding]:
    out: list[Finding] = []
    auto = actors.filter(pl.col("kind").is_in(["bot", "agent"]) & (pl.col("score") >= threshold))
    # what each of these actors did (stages, example cases, first and last time): only their
    # events are grouped, not everybody's (on a standard log: no automation, no group-by)
    per_actor = (
        ctx.filter(
            pl.col("actor_id").is_in(auto.get_column("actor_id").implode(), nulls_equal=True)
        )
        .group_by("actor_id")
        .agg(
            pl.col("_stage").drop_nulls().unique().sort().alias("stages"),
            _first_cases(ctx, 5).alias("examples"),
            pl.col("timestamp").min().alias("first"),
            pl.col("timestamp").max().alias("last"),
        )
        if auto.height
        else None
    )
    info = (
        {r["actor_id"]: r for r in per_actor.iter_rows(named=True)} if per_actor is not None else {}
    )
    for row in auto.iter_rows(named=True):
        actor = row["actor_id"]
        if actor in agents or declared.get(actor) in ("bot", "agent"):
            continue
        meta = info.get(actor, {})
        stages = meta.get("stages", [])
        in_human_stages = sorted(set(stages) & human_stages)
        plain_bot = row["kind"] == "bot" and row["basis"] in ("platform", "identifier")
        if plain_bot and not in_human_stages:
            continue  # transparent automation doing what automation does
        # an undeclared AI agent doing a designed stage's work is as risky as a risky stage:
        # what it writes reaches the product with no sanction (plain bots are transparent)
        sev = _severity(
            row["events"], bool(set(stages) & risky) or (row["kind"] == "agent" and bool(stages))
        )
        summary = (
            f"{actor} is a bot ({row['basis']}) acting in {', '.join(in_human_stages)}, "
            f"which the design reserves for humans; register it or keep it out."
            if plain_bot
            else f"{actor} acts like {'an' if row['kind'] == 'agent' else 'a'} {row['kind']} ({row['basis']}, score {row['score']:.2f}) "
            f"in {row['events']} events but is not declared; register it or stop it."
        )
        out.append(
            Finding(
                kind="shadow_agent",
                subject=actor,
                severity=sev,
                summary=summary,
                evidence={
                    "type": "undeclared_automation",
                    "detected_kind": row["kind"],
                    "basis": row["basis"],
                    "score": row["score"],
                    "tool": row["tool"],
                    "declared_kind": declared.get(actor),
                    "events": row["events"],
                    "stages": stages,
                    "human_only_stages": in_human_stages,
                    "cases": meta.get("examples", []),
                    "signals": _json(row["evidence"]),
                },
                first_seen=meta.get("first"),
                last_seen=meta.get("last"),
            )
        )
    return out


def _signatures(
    ctx: pl.DataFrame,
    actors: pl.DataFrame,
    ai: pl.DataFrame,
    design: Design | None,
    links: pl.DataFrame,
    agents: dict[str, str],
    declared: dict[str, str],
    human_stages: set[str],
    sig: Signals,
) -> list[Finding]:
    if "ai_kind" in ai.columns:
        ai = ai.filter(pl.col("ai_kind") == "agent")  # plain automation signs nothing
    if ai.height == 0:
        return []
    by_email = links.filter(pl.col("account_id").str.starts_with("email:")).select(
        pl.col("account_id").str.strip_prefix("email:").str.to_lowercase().alias("author_email"),
        pl.col("actor_id").alias("_by_email"),
    ).unique("author_email", keep="first")  # fmt: skip
    by_account = links.select(
        pl.col("account_id").alias("author"), pl.col("actor_id").alias("_by_pr")
    )
    extra = [c for c in ("author_email", "author") if c in ai.columns]
    signed = ctx.join(ai.select("event_id", "ai_tool", "ai_signal", *extra), on="event_id")
    if "author_email" in signed.columns:
        signed = signed.join(by_email, on="author_email", how="left")
    else:
        signed = signed.with_columns(pl.lit(None, dtype=pl.String).alias("_by_email"))
    if "author" in signed.columns:
        signed = signed.join(by_account, on="author", how="left").with_columns(
            pl.coalesce("_by_pr", "author").alias("_by_pr")
        )
    else:
        signed = signed.with_columns(pl.lit(None, dtype=pl.String).alias("_by_pr"))
    signed = signed.with_columns(
        pl.coalesce("actor_id", "_by_email", "_by_pr").alias("actor_id")
    ).filter(pl.col("actor_id").is_not_null())
    if signed.height == 0:
        return []
    if design is not None:
        allowed = _agent_tools(design, links, agents, sig).with_columns(pl.lit(True).alias("_ok"))
        human = pl.col("_stage").is_in(sorted(human_stages))
        signed = (
            signed.join(allowed.rename({"stage": "_stage"}), on=["ai_tool", "_stage"], how="left")
            .with_columns(
                pl.col("ai_tool").is_in(allowed["ai_tool"].implode()).alias("_registered"),
                pl.col("_ok").fill_null(False),
            )
            .with_columns(
                pl.when(human)
                .then(pl.lit("human-only stage"))
                .when(~pl.col("_registered"))
                .then(pl.lit("tool not in the agent registry"))
                .when(pl.col("_stage").is_not_null() & ~pl.col("_ok"))
                .then(pl.lit("stage not allowed for the tool"))
                .alias("_why")
            )
            .filter(pl.col("_why").is_not_null())
        )
    else:
        signed = signed.with_columns(pl.lit(None, dtype=pl.String).alias("_why"))
    kinds = dict(actors.select("actor_id", "kind").iter_rows())
    grouped = signed.group_by("actor_id").agg(
        pl.len().alias("n"),
        pl.col("ai_tool").unique().sort().alias("tools"),
        pl.col("ai_signal").unique().sort().alias("signals"),
        pl.col("_why").drop_nulls().unique().sort().alias("why"),
        pl.col("_stage").drop_nulls().unique().sort().alias("stages"),
        pl.col("_stage").is_in(sorted(human_stages)).any().alias("in_human"),
        pl.col("case_id").unique().sort().head(5).alias("cases"),
        pl.col("timestamp").min().alias("first"),
        pl.col("timestamp").max().alias("last"),
    )
    out: list[Finding] = []
    for row in grouped.sort("actor_id").iter_rows(named=True):
        actor = row["actor_id"]
        is_human = declared.get(actor, kinds.get(actor)) in ("human", None, "unknown")
        if not is_human or actor in agents or row["n"] < MIN_AI_EVENTS:
            continue
        tools = ", ".join(row["tools"])
        where = ", ".join(row["stages"]) or "unmapped stages"
        if design is None:
            summary = f"{actor} submits work signed by {tools}."
        elif row["in_human"]:
            summary = (
                f"{actor} submits work signed by {tools} in {where}, "
                "which the design reserves for humans."
            )
        else:
            summary = (
                f"{actor} submits work signed by {tools} in {where}; the design's agent "
                "registry does not sanction that tool there."
            )
        out.append(
            Finding(
                kind="shadow_agent",
                subject=actor,
                severity=_severity(row["n"], bool(row["in_human"])) if design else "low",
                summary=summary,
                evidence={
                    "type": "ai_signature",
                    "tools": row["tools"],
                    "signals": row["signals"],
                    "reasons": row["why"],
                    "events": row["n"],
                    "stages": row["stages"],
                    "cases": row["cases"],
                },
                first_seen=row["first"],
                last_seen=row["last"],
            )
        )
    return out


def _out_of_stage(
    ctx: pl.DataFrame, design: Design | None, agents: dict[str, str], risky: set[str]
) -> list[Finding]:
    if design is None or not agents:
        return []
    allowed = {a.id: sorted(set(a.stages)) for a in design.agents}
    keys = pl.DataFrame(
        {"actor_id": list(agents), "_agent": list(agents.values())},
        schema={"actor_id": pl.String, "_agent": pl.String},
    )
    permitted = pl.DataFrame(
        [(a, s) for a, stages in allowed.items() for s in stages],
        schema={"_agent": pl.String, "stage": pl.String},
        orient="row",
    ).with_columns(pl.lit(True).alias("_ok"))
    authors = ctx.group_by("object_id").agg(
        pl.col("actor_id").drop_nulls().first().alias("_obj_author")
    )
    acting = (
        ctx.filter(MAPPED)
        .join(keys, on="actor_id", how="inner")
        .join(permitted, on=["_agent", "stage"], how="left")
        .filter(pl.col("_ok").is_null())
        .join(authors, on="object_id", how="left")
        .filter(
            pl.col("stage").is_in(sorted(risky))
            | (pl.col("_obj_author") != pl.col("actor_id")).fill_null(True)
        )
    )
    rows = acting.group_by("actor_id", "_agent", "stage").agg(
        pl.len().alias("n"),
        pl.col("case_id").unique().sort().head(5).alias("cases"),
        pl.col("timestamp").min().alias("first"),
        pl.col("timestamp").max().alias("last"),
    )
    by_actor: dict[str, list[dict[str, Any]]] = {}
    for r in rows.sort(["actor_id", "stage"]).iter_rows(named=True):
        by_actor.setdefault(r["actor_id"], []).append(r)
    out: list[Finding] = []
    for actor, items in by_actor.items():
        n = sum(i["n"] for i in items)
        stages = [i["stage"] for i in items]
        is_risky = bool(set(stages) & risky)
        if n < (1 if is_risky else MIN_OUT_OF_STAGE_EVENTS):
            continue
        agent_id = items[0]["_agent"]
        out.append(
            Finding(
                kind="shadow_agent",
                subject=actor,
                severity=_severity(n, is_risky),
                summary=(
                    f"Registered agent {agent_id} acts in {', '.join(stages)} ({n} events); "
                    f"its registry entry allows only {', '.join(allowed[agent_id]) or 'no stage'}."
                ),
                evidence={
                    "type": "out_of_stage",
                    "agent": agent_id,
                    "allowed_stages": allowed[agent_id],
                    "stages": stages,
                    "events": n,
                    "events_by_stage": {i["stage"]: i["n"] for i in items},
                    "cases": sorted({c for i in items for c in i["cases"]})[:10],
                },
                first_seen=min(i["first"] for i in items),
                last_seen=max(i["last"] for i in items),
            )
        )
    return out


def _platform(account: str) -> str | None:
    """The platform of an account id (``slack`` of ``slack:B0123``), if it names one."""
    head, sep, _ = account.partition(":")
    return head if sep and head in _PLATFORMS else None


_PLATFORMS: Final = frozenset({"jira", "github", "slack", "email"})


def _unregistered(
    ctx: pl.DataFrame,
    actors: pl.DataFrame,
    design: Design | None,
    agents: dict[str, str],
    risky: set[str],
    human_stages: set[str],
    threshold: float,
    links: pl.DataFrame,
) -> list[Finding]:
    if design is None or not design.agents:
        return []
    accounts_of: dict[str, list[str]] = {}
    for account, actor in links.iter_rows():
        accounts_of.setdefault(actor, []).append(account)
    covered = {p for a in design.agents for acc in a.accounts if (p := _platform(acc))}
    if not covered:
        return []
    apps = actors.filter(
        pl.col("kind").is_in(["bot", "agent"])
        & ((pl.col("basis") != "behaviour") | (pl.col("score") >= threshold))
        & pl.col("basis").is_in(["platform", "identifier", "declared"])
        & ~pl.col("actor_id").is_in(sorted(agents))
    )
    if apps.height == 0:
        return []
    acting = ctx.filter(
        pl.col("actor_id").is_in(apps["actor_id"].implode())
        & pl.col("source").is_in(sorted(covered))
    )
    rows = acting.group_by("actor_id").agg(
        pl.len().alias("n"),
        pl.col("source").unique().sort().alias("platforms"),
        pl.col("stage").filter(MAPPED).unique().sort().alias("stages"),
        pl.col("case_id").unique().sort().head(5).alias("cases"),
        pl.col("timestamp").min().alias("first"),
        pl.col("timestamp").max().alias("last"),
    )
    kinds = {r["actor_id"]: r for r in apps.iter_rows(named=True)}
    out: list[Finding] = []
    for row in rows.sort("actor_id").iter_rows(named=True):
        actor = row["actor_id"]
        stages = row["stages"]
        in_human = sorted(set(stages) & human_stages)
        severity = _severity(row["n"], bool(set(stages) & risky)) if stages else "low"
        where = (
            f"in {', '.join(stages)}"
            if stages
            else f"on {', '.join(row['platforms'])}, outside the designed stages"
        )
        out.append(
            Finding(
                kind="shadow_agent",
                subject=actor,
                severity=severity,
                summary=(
                    f"{actor} is an app or bot ({kinds[actor]['basis']}) acting {where} "
                    f"({row['n']} events) that the design's agent registry does not name; "
                    "register it or switch it off."
                ),
                evidence={
                    "type": "unregistered_app",
                    "detected_kind": kinds[actor]["kind"],
                    "basis": kinds[actor]["basis"],
                    "events": row["n"],
                    "platforms": row["platforms"],
                    "stages": stages,
                    "human_only_stages": in_human,
                    "cases": row["cases"],
                },
                first_seen=row["first"],
                last_seen=row["last"],
                assumption=(
                    "The design assumes every app and bot acting on "
                    f"{', '.join(row['platforms'])} is in its agent registry."
                ),
                suggestion={
                    "patch": _registry_entry(actor, accounts_of.get(actor, []), stages),
                    "effect": (
                        f"sanctions its {row['n']} events on {', '.join(row['platforms'])}, "
                        "if the app is meant to run"
                    ),
                },
            )
        )
    return out


def _registry_entry(actor: str, accounts: list[str], stages: list[str]) -> str:
    """A registry entry for ``actor`` as the design file writes it."""
    lines = ["agents:", f"  - id: {actor}"]
    own = sorted(a for a in accounts if a != actor)
    if own:
        lines.append(f"    accounts: [{', '.join(own)}]")
    if stages:
        lines.append(f"    stages: [{', '.join(stages)}]")
    return "\n".join(lines)


def _out_of_scope(
    ctx: pl.DataFrame,
    design: Design | None,
    agents: dict[str, str],
    scopes: pl.DataFrame | None,
) -> list[Finding]:
    if design is None or scopes is None or scopes.height == 0 or not agents:
        return []
    limited = [a for a in design.agents if a.tiers or a.projects or a.components]
    if not limited:
        return []
    keys = pl.DataFrame(
        {"actor_id": list(agents), "_agent": list(agents.values())},
        schema={"actor_id": pl.String, "_agent": pl.String},
    )
    cols = [c for c in ("tier", "project", "components") if c in scopes.columns]
    # what the scope limits is the agent's say on the work: its approvals where the design
    # has gates, and the work it does in a stage -- what it commits, opens, merges, moves --
    # gates or not. Commentary is no say (a review agent may comment on anything)
    patterns = sorted({p for g in design.gates for p in g.approvals})
    approves = (
        activity_key().str.contains("^(?:" + "|".join(pattern_regex(p) for p in patterns) + ")$")
        if patterns
        else pl.lit(False)
    )
    works = MAPPED & ~pl.col("activity").fill_null("").str.contains(COMMENTARY)
    decides = approves | (works if patterns else MAPPED)
    acting = (
        ctx.filter(decides)
        .join(keys, on="actor_id", how="inner")
        .join(scopes.select("case_id", *cols).unique("case_id"), on="case_id", how="left")
    )
    out: list[Finding] = []
    for spec in limited:
        mine = acting.filter(pl.col("_agent") == spec.id)
        if mine.height == 0:
            continue
        tier_out = (
            ~pl.col("tier").is_in(list(spec.tiers)).fill_null(True)
            if spec.tiers and "tier" in cols
            else pl.lit(False)
        )
        lowered = [p.lower() for p in spec.projects]
        project_out = (
            ~pl.col("project").str.to_lowercase().is_in(lowered).fill_null(False)
            if spec.projects and "project" in cols
            else pl.lit(False)
        )
        comps = [c.lower() for c in spec.components]
        component_out = (
            ~pl.col("components")
            .list.eval(pl.element().str.to_lowercase().is_in(comps))
            .list.any()
            .fill_null(False)
            if spec.components and "components" in cols
            else pl.lit(False)
        )
        bad = mine.with_columns(
            tier_out.alias("_t"), project_out.alias("_p"), component_out.alias("_c")
        ).filter(pl.col("_t") | pl.col("_p") | pl.col("_c"))
        if bad.height == 0:
            continue
        by_tier = bad.filter(pl.col("_t"))
        tiers = (
            sorted({t for t in by_tier.get_column("tier").to_list() if t}) if "tier" in cols else []
        )
        cases = sorted(set(bad.get_column("case_id").to_list()))
        actor = str(bad.get_column("actor_id").mode().sort().first())
        kind = "out_of_tier" if by_tier.height else "out_of_scope"
        allowed = ", ".join(t.replace("_", "-") for t in spec.tiers) or "any"
        worked = ", ".join(t.replace("_", "-") for t in tiers)
        out.append(
            Finding(
                kind="shadow_agent",
                subject=actor,
                severity="high" if by_tier.height else "medium",
                summary=(
                    f"Registered agent {spec.id} acted on {len(cases)} cases of {worked} work "
                    f"({by_tier.height} events); its registry entry sanctions it for {allowed} "
                    "work only."
                    if by_tier.height
                    else f"Registered agent {spec.id} acted on {len(cases)} cases outside the "
                    "projects or components its registry entry names."
                ),
                evidence={
                    "type": kind,
                    "agent": spec.id,
                    "sanctioned_tiers": list(spec.tiers),
                    "sanctioned_projects": list(spec.projects),
                    "sanctioned_components": list(spec.components),
                    "tiers": tiers,
                    "events": bad.height,
                    "stages": sorted(set(bad.get_column("stage").to_list())),
                    "cases": cases[:10],
                    "case_count": len(cases),
                },
                first_seen=bad.get_column("timestamp").min(),
                last_seen=bad.get_column("timestamp").max(),
                assumption=(
                    f"The design assumes {spec.id} only acts on {allowed} work."
                    if by_tier.height
                    else f"The design assumes {spec.id} only acts on the projects and "
                    "components its entry names."
                ),
                suggestion=None,
            )
        )
    return out


def _json(text: str | None) -> Any:
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
