"""The draft as YAML, with a comment on every line saying what it rests on."""

from __future__ import annotations

from typing import Any

import polars as pl

from wfmine.infer._base import _CREATED, _STATUS, _human, _Lines, _pct, _q

# -- rendering -------------------------------------------------------------------------------


def _render(lines: _Lines, **k: Any) -> None:
    log: pl.DataFrame = k["log"]
    n_cases: int = k["n_cases"]
    stage_order: list[str] = k["stage_order"]
    members: dict[str, list[str]] = k["members"]
    statuses: pl.DataFrame = k["statuses"]
    acts: pl.DataFrame = k["acts"]
    stage_rows: pl.DataFrame = k["stage_rows"]
    trans: pl.DataFrame = k["trans"]
    team_of: dict[str, str | None] = k["team_of"]
    start_ts: Any = log["timestamp"].min()
    end_ts: Any = log["timestamp"].max()
    lines.add("", "A draft design inferred by `wfmine design infer` from the observed work.")
    lines.add(
        "",
        f"It rests on {log.height:,} events of {n_cases:,} work items, {start_ts:%Y-%m-%d} to "
        f"{end_ts:%Y-%m-%d}; every line says what it rests on. Review it: it describes the "
        "practice, not the intent.",
    )
    lines.add("version: 1", "the design-file format (docs/design.md)")
    lines.add(f"name: {_q(k['name'])}", "rename it")
    stage_teams = {t for t in team_of.values() if t}
    extra_teams = (
        sorted(
            {v for c in ("from", "to") for v in k["seam_rows"].get_column(c).to_list()}
            - stage_teams
            - {"human", "agent"}
        )
        if k["seam_rows"].height
        else []
    )
    if extra_teams:
        lines.add(
            f"teams: [{', '.join(_q(t) for t in extra_teams)}]",
            "teams that hand work over but own no stage",
        )
    lines.add(
        "stages:",
        "from the tracker's statuses, in the order work enters them"
        if k["tracker"]
        else "no tracker statuses: each frequent activity is a step, in median position order",
    )
    st_info = {r["stage"]: r for r in stage_rows.iter_rows(named=True)}
    status_info = {r["status"]: r for r in statuses.iter_rows(named=True)}
    act_info = {r["key"]: r for r in acts.iter_rows(named=True)}
    for s in stage_order:
        r = st_info[s]
        lines.add(f"  - id: {s}", f"{r['visits'] or 0} visits in {r['cases'] or 0} work items")
        if r["team"]:
            lines.add(
                f"    team: {_q(r['team'])}",
                f"{_pct(r['team_share'])} of the human work in this stage ({r['team_mix']})",
            )
        elif r["team_mix"]:
            lines.add("", f"  no team owns this stage: the work is spread ({r['team_mix']})")
        agent = r["agent_share"] or 0.0
        lines.add(
            f"    performer: {r['performer']}",
            f"agents and bots did {_pct(agent)} of its {r['events'] or 0} events, "
            f"people {_pct(1 - agent)}",
        )
        if r["expected"] and s not in k["end"]:
            lines.add(
                f"    expected: {r['expected']}",
                f"80% of visits end within it (median {_human(r['median_s'])})",
            )
        lines.add("    activities:", "what puts work in this stage, and what is done in it")
        for key in members[s]:
            status = (
                key.removeprefix(f"jira:{_STATUS}") if key.startswith(f"jira:{_STATUS}") else None
            )
            if key == f"jira:{_CREATED}":
                status = _CREATED
            if status is not None and status in status_info:
                si = status_info[status]
                why = si["grouped"] or (
                    f"a tracker status: {si['cases']} items, median stay "
                    f"{_human(si['dwell_median_s'])}"
                )
                if status == _CREATED and not si["grouped"]:
                    why = f"work items are created here ({si['cases']} items)"
                lines.add(f"      - {_q(key)}", why)
            elif key in act_info and act_info[key].get("stage") not in (None, s):
                a = act_info[key]
                lines.add(
                    f"      - {_q(key)}",
                    f"the irreversible step opens this stage: it {a['rule']} {a['stage']} "
                    f"({_pct(a['share'])} of its {a['events']} events), with the approvals",
                )
            elif key in act_info and "share" in act_info[key]:
                a = act_info[key]
                lines.add(
                    f"      - {_q(key)}",
                    f"{a['rule']} {s} ({_pct(a['share'])} of its {a['events']} events)",
                )
            else:
                lines.add(f"      - {_q(key)}", "its own step")
    lines.add(
        "unmapped: ignore", "chat, e-mail and tracker bookkeeping are conversation, not steps"
    )
    kept = k["kept"]
    lines.add(
        "transitions:",
        f"moves practised by at least {_pct(k['min_share'])} of the work items"
        if kept
        else "no move is practised often enough",
    )
    if not kept:
        lines.rows[-1] = ("transitions: []", lines.rows[-1][1])
    info = {(r["from"], r["to"]): r for r in trans.iter_rows(named=True)}
    for a, b in kept:
        r = info[(a, b)]
        lines.add(f"  - [{a}, {b}]", f"{r['cases']} items ({_pct(r['share'])})")
    rare = trans.filter(~pl.col("kept") & (pl.col("from") != pl.col("to")))
    for r in rare.iter_rows(named=True):
        lines.add(
            "",
            f"  rare: [{r['from']}, {r['to']}] in {r['cases']} items ({_pct(r['share'])}): "
            f"add it under allow ({{kind: transition, from: {r['from']}, to: {r['to']}}}) "
            "if it is sanctioned, or leave it out to see it as a deviation",
        )
    lines.add(f"start: [{', '.join(k['start'])}]", "where work items start")
    lines.add(f"end: [{', '.join(k['end'])}]", "where work items end")
    gate: pl.DataFrame = k["gate"]
    gated = k["gated"]
    if gated is not None and gate.height:
        default = gate.row(0, named=True)
        rules = gate.filter(
            (pl.col("criterion") != "default") & (pl.col("tier") != default["tier"])
        )
        lines.add("risk:", "tiers as practised: the approvals work gets before it ships")
        lines.add(
            f"  default: {default['tier']}",
            f"{_pct(default['met_share'])} of the other {default['cases']} gated items had "
            f"{default['level'].replace('_', ' ')}",
        )
        by_tier: dict[str, dict[str, list[dict[str, Any]]]] = {}
        for r in rules.iter_rows(named=True):
            by_tier.setdefault(r["tier"], {}).setdefault(r["criterion"], []).append(r)
        if by_tier:
            lines.add("  rules:", "components and labels whose work is approved more strictly")
            for tier in ("high_stakes", "irreversible"):
                if tier not in by_tier:
                    continue
                lines.add(f"    - tier: {tier}", "the tier whose requirement this work meets")
                for criterion, items in by_tier[tier].items():
                    values = ", ".join(_q(i["value"]) for i in items)
                    figures = "; ".join(
                        f"{i['value']}: {_pct(i['met_share'])} of {i['cases']} items had "
                        f"{i['level'].replace('_', ' ')}"
                        for i in items
                    )
                    lines.add(f"      {criterion}: [{values}]", figures)
        else:
            lines.add(
                "  rules: []", "no component or label is approved more strictly than the rest"
            )
        lines.add("gates:", f"approvals before the irreversible step ({gated}: where PRs merge)")
        lines.add(f"  - before: {gated}", "the first event in it is the irreversible step")
        lines.add('    approvals: ["github:PR approved"]', "the approval events seen")
        lines.add("    reversible: agent_review", "one approval by anyone, never the author")
        lines.add("    irreversible: human_approval", "one human approval")
        lines.add("    high_stakes: two_humans", "two distinct humans")
    seam_rows: pl.DataFrame = k["seam_rows"]
    if seam_rows.height:
        lines.add("seams:", "handoffs observed; each owner is a proposal: decide")
        agent_team = next((t for t in team_of.values() if t), None)
        for r in seam_rows.iter_rows(named=True):
            owner = r["to"] if r["dimension"] == "team" else (agent_team or "platform")
            lines.add(
                f"  - {{from: {_q(r['from'])}, to: {_q(r['to'])}, owner: {_q(owner)}}}",
                f"observed: {r['handoffs']} handoffs in {r['cases']} items, median wait "
                f"{_human(r['wait_median_s'])}; owner proposed: decide",
            )
    agent_rows: pl.DataFrame = k["agent_rows"]
    if agent_rows.height:
        lines.add("agents:", "bots and agents seen in the work: observed, not sanctioned: decide")
        used: set[str] = set()
        claimed: set[str] = set()
        for r in agent_rows.iter_rows(named=True):
            aid = str(r["actor_id"])
            if aid in used:
                continue
            used.add(aid)
            lines.add(
                f"  - id: {_q(aid)}",
                f"observed, not sanctioned: decide — {r['name'] or aid} ({r['kind']}), "
                f"{r['events']} events in {r['cases']} cases",
            )
            accounts = [a for a in (r["accounts"] or []) if a not in claimed]
            claimed.update(accounts)
            if accounts:
                lines.add(
                    f"    accounts: [{', '.join(_q(a) for a in accounts)}]",
                    "the accounts it acts under",
                )
            stages = r["stages"] or []
            if stages:
                shares = ", ".join(
                    f"{s} {_pct(x)}" for s, x in zip(stages, r["stage_shares"], strict=True)
                )
                lines.add(f"    stages: [{', '.join(stages)}]", f"where it acted: {shares}")
            else:
                lines.add(
                    "    stages: []",
                    f"it did no stage work (only {', '.join(r['sources'])} activity)",
                )
