"""Design, roster and ground truth of a shaped organisation.

``design_yaml`` writes the workflow the organisation designed from its
``Shape`` — the truth of what was designed, never anything wfmine inferred.
``ground_truth`` extends the stage-teams format (``docs/simulator.md``) with
what the shapes plant: true seam waits, late approvals, designed round trips,
root events, automation pull requests and moves, stage duration profiles and
trends.
"""

from __future__ import annotations

import itertools
import json
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml

from wfmine.simulate._flow_base import ShapeTruth
from wfmine.simulate._model import BASE, World
from wfmine.simulate._org import GITHUB_ORG
from wfmine.simulate._shape_org import build_shape_org
from wfmine.simulate._shapes import HELD_OUT_SHAPES, ISSUE_TYPES, Shape, StageDef
from wfmine.simulate._truth import GENERATOR
from wfmine.simulate._util import iso

_BUILD = ["github:Commit pushed", "github:PR opened", "github:Check passed", "github:Check failed"]
_REVIEW = [
    "github:PR ready for review",
    "github:Review requested",
    "github:PR approved",
    "github:Changes requested",
    "github:PR reviewed",
    "github:Review comment added",
    "github:PR comment added",
]
#: a sanctioned coding agent's steps in review: its draft marked ready, and the comment
#: that closes a pull request of its that a person replaces (only such a shape plays them)
_AGENT_REVIEW = frozenset({"github:PR ready for review", "github:PR comment added"})
_DEPLOY = ["github:PR merged", "github:Revert merged"]


def failure_stage(shape: Shape, ftype: str) -> StageDef:
    """The stage a failure pattern that can trend happens in (review rework, else build)."""
    if ftype == "rework_loop":
        return next(st for st in shape.stages if "review" in st.kind)
    return next(st for st in shape.stages if st.kind.startswith("build"))


def owned_pairs(shape: Shape) -> set[tuple[str, str]]:
    """The team handoffs the design owns: its owned seams, and the way back of each one the
    design draws as a round trip (a designed move back from a stage of the receiving team
    to a stage of the giving team)."""
    owned = {(a, b) for a, b, _ in shape.owned_seams}
    teams = {st.id: shape.design_team(st) for st in shape.stages}
    for frm, to in shape.back:
        back = (teams[frm], teams[to])
        if all(back) and back[0] != back[1] and (back[1], back[0]) in owned:
            owned.add(back)
    return owned


def keyorder(key: str) -> tuple[str, int]:
    """Work-item keys sorted by project, then number."""
    project, _, num = key.rpartition("-")
    return project, int(num)


def _activities(shape: Shape, st: StageDef) -> list[str]:
    acts = [f"jira:Status: {s}" for s in st.statuses]
    if st.kind == "intake":
        # an issue is created in the first status: an architect reading the Jira workflow
        # may name that status only (``Shape.design_names_creation``)
        return ["jira:Issue created", *acts] if shape.design_names_creation else acts
    if st.kind.startswith("build"):
        if shape.reopen_status and shape.reopen_status not in st.statuses:
            acts.append(f"jira:Status: {shape.reopen_status}")
        acts += _BUILD
    if st.kind in ("review", "build_review"):
        # a design names the steps its organisation has: no coding agent, no draft to ready
        acts += [a for a in _REVIEW if shape.coding_agent or a not in _AGENT_REVIEW]
    if st.kind == "deploy":
        acts = _DEPLOY + acts
    return acts


def design(shape: Shape) -> dict[str, Any]:
    """The designed workflow of ``shape`` as a design-file mapping."""
    org = build_shape_org(shape)
    stages: list[dict[str, Any]] = []
    for st in shape.stages:
        d: dict[str, Any] = {"id": st.id}
        if shape.design_team(st):
            d["team"] = shape.design_team(st)
        d["performer"] = st.performer
        if st.expected:
            d["expected"] = st.expected
        d["activities"] = _activities(shape, st)
        if st.kind == "deploy":
            d["irreversible"] = True
        stages.append(d)
    owning = {shape.design_team(st) for st in shape.stages} - {""}
    ids = [st.id for st in shape.stages]
    review = next(st.id for st in shape.stages if "review" in st.kind)
    build = next(st.id for st in shape.stages if st.kind.startswith("build"))
    rules: list[dict[str, Any]] = [
        {"tier": "high_stakes", "labels": ["security"], "components": list(shape.high_stakes)}
    ]
    if shape.irreversible:
        rules.append({"tier": "irreversible", "components": list(shape.irreversible)})
    agents: list[dict[str, Any]] = [
        {
            "id": "reviewbot",
            "accounts": ["github:acme-reviewbot[bot]"],
            "stages": [review],
            "tiers": list(shape.agent_tiers),
        },
        {"id": "github-actions", "accounts": ["github:github-actions[bot]"], "stages": [build]},
    ]
    if shape.coding_agent:  # the sanctioned coding agent, after the review agent
        agents.insert(
            1,
            {
                "id": "copilot",
                "accounts": [f"github:{org['copilot'].github}"],
                "stages": [build],
                "tiers": list(shape.coding_agent_tiers),
            },
        )
    dual = any(st.approvals >= 2 for st in shape.stages)
    moved: list[str] = []
    for i, st in enumerate(shape.stages):
        if st.by_automation:
            moved.append(st.id)
            if st.profile == "fixed":  # it also moves the work on when the fixed time is up
                moved.append(shape.stages[i + 1].id)
    if shape.automation_done:
        moved.append(ids[-1])
    if moved:
        agents.append(
            {
                "id": "jira-automation",
                "accounts": ["jira:557058:f58131cb-b67d-43c7-b30d-6b58d40bd077"],
                "stages": moved,
            }
        )
    github_app = org["slack-github"]
    agents.append(
        {
            "id": "slack-github",
            "accounts": [f"slack:{github_app.slack}", f"slack:{github_app.slack_bot_id}"],
            "stages": [ids[-1]],  # announces merges
        }
    )
    if shape.nightly_prs:
        agents.append(
            {"id": "renovate", "accounts": ["github:renovate[bot]"], "stages": [build, ids[-1]]}
        )
    seams = [{"from": a, "to": b, "owner": o} for a, b, o in shape.owned_seams]
    seams += [{"from": a, "to": b, "owner": shape.platform_team} for a, b in shape.agent_seams]
    out: dict[str, Any] = {
        "version": 1,
        "name": shape.title,
        "description": shape.summary,
        "stages": stages,
        "unmapped": "ignore",
    }
    others = [t for t in shape.team_names if t not in owning]
    if others:
        out["teams"] = others
    out |= {
        "transitions": [list(p) for p in itertools.pairwise(ids)] + [list(p) for p in shape.back],
        "start": [ids[0]],
        "end": [ids[-1]],
        "risk": {"default": "reversible", "rules": rules},
        "gates": [
            {
                "before": ids[-1],
                "approvals": ["github:PR approved"],
                # a dual-approval review stage: two people approve every change
                "reversible": "two_humans" if dual else "agent_review",
                "irreversible": "two_humans" if dual else "human_approval",
                "high_stakes": "two_humans",
            }
        ],
        "seams": seams,
        "agents": agents,
    }
    if shape.coding_agent:
        # the coding agent asks for a review of its own pull request when it is done: accepted
        out["allow"] = [
            {
                "kind": "agent_out_of_stage",
                "actor": "copilot",
                "activity": "github:Review requested",
            }
        ]
    return out


def design_yaml(shape: Shape) -> str:
    head = (
        f"# The designed workflow of the '{shape.name}' organisation (wfmine simulate --shape "
        f"{shape.name}).\n# Written from the shape's definition: what its architect designed.\n"
    )
    return head + yaml.safe_dump(design(shape), sort_keys=False, allow_unicode=True, width=100)


def roster(world: World, shape: Shape) -> dict[str, Any]:
    org = world.org
    teams = {t: {"lead": org.lead(t).id} for t in shape.team_names}
    people = [
        {
            "id": a.id,
            "name": a.name,
            "team": a.team,
            "kind": a.declared_kind,
            "accounts": a.accounts(),
        }
        for a in org.actors.values()
        if a.in_roster
    ]
    return {"teams": teams, "people": people}


def _visible(t: str, end: datetime) -> bool:
    return t <= iso(end)


def ground_truth(world: World, truth: ShapeTruth, shape: Shape) -> dict[str, Any]:
    end = world.end
    # the work items: sub-tasks are part of their parent's (``_kanban``)
    items = {it.key: it for it in world.items if it.created <= end and it.parent is None}
    keys = sorted(items, key=keyorder)

    def cases(xs: list[str] | set[str]) -> list[str]:
        return sorted(set(xs) & set(items), key=keyorder)

    seams = [s for s in truth.seams if _visible(s["picked_at"], end)]
    seams.sort(key=lambda s: (keyorder(s["case"]), s["picked_at"]))
    owned = owned_pairs(shape)
    # a handoff that follows a root event (a reopen, a revert) is that event's consequence:
    # evidence on its finding, not a seam of its own (the reopener taking the work is not)
    pairs: dict[tuple[str, str], list[str]] = {}
    caused: dict[tuple[str, str], list[str]] = {}
    for s in seams:
        (caused if s.get("cause") else pairs).setdefault((s["from"], s["to"]), []).append(s["case"])
    unowned = [
        {"from": a, "to": b, "kind": "team", "cases": cases(c)}
        for (a, b), c in sorted(pairs.items())
        if (a, b) not in owned
    ]
    consequence_seams = [
        {"from": a, "to": b, "kind": "team", "cases": cases(c)}
        for (a, b), c in sorted(caused.items())
        if (a, b) not in owned and (a, b) not in pairs
    ]
    extra: dict[str, Any] = {}
    owned_kinds: list[dict[str, Any]] = []
    if shape.coding_agent:
        # the human <-> agent handoffs ("performer kinds" in the design's seams), judged as the
        # team ones: unowned unless the design owns the pair, a root event's consequences apart
        perf = [s for s in truth.performer_seams if _visible(s["picked_at"], end)]
        perf.sort(key=lambda s: (keyorder(s["case"]), s["picked_at"]))
        owned_perf = set(shape.agent_seams)
        ppairs: dict[tuple[str, str], list[str]] = {}
        pcaused: dict[tuple[str, str], list[str]] = {}
        for s in perf:
            (pcaused if s.get("cause") else ppairs).setdefault((s["from"], s["to"]), []).append(
                s["case"]
            )
        unowned += [
            {"from": a, "to": b, "kind": "performer", "cases": cases(c)}
            for (a, b), c in sorted(ppairs.items())
            if (a, b) not in owned_perf
        ]
        consequence_seams += [
            {"from": a, "to": b, "kind": "performer", "cases": cases(c)}
            for (a, b), c in sorted(pcaused.items())
            if (a, b) not in owned_perf and (a, b) not in ppairs
        ]
        owned_kinds = [{"from": a, "to": b, "kind": "performer"} for a, b in shape.agent_seams]
        extra["performer_seam_waits"] = perf
        extra["agent_prs"] = [
            {
                "case": key,
                "repo": f"{GITHUB_ORG}/{pr.repo}",
                "number": pr.number,
                "actor": pr.author,
                "tier": items[key].tier,
                "merged": pr.merged_at is not None and pr.merged_at <= end,
                "closed_unmerged": pr.merged_at is None
                and pr.closed_at is not None
                and pr.closed_at <= end,
            }
            for key, pr in sorted(truth.agent_prs, key=lambda x: (keyorder(x[0]), x[1].number))
            if key in items and pr.created <= end
        ]
        extra["replaced_agent_prs"] = [
            x
            for x in sorted(truth.replaced, key=lambda x: keyorder(x["case"]))
            if _visible(x["closed_at"], end) and x["case"] in items
        ]
    trend_of = {(t.type, t.project): t for t in shape.trends}
    failures: list[dict[str, Any]] = []
    trends: list[dict[str, Any]] = []
    months = max(1, round((end - BASE).days / 30.4))
    for (ftype, stage, project), raw in sorted(truth.failures.items()):
        cs = cases(raw)
        if not cs:
            continue
        tr = trend_of.get((ftype, project))
        entry: dict[str, Any] = {
            "type": ftype,
            "stage": stage,
            "project": project,
            "trend": tr.direction if tr else "stable",
            "cases": cs,
        }
        if ftype == "stall":
            entry["days"] = {c: truth.stall_days[c] for c in cs if c in truth.stall_days}
            entry["days_range"] = list(shape.stall_range(stage, project))
            if shape.type_pace:
                entry["issue_types"] = {c: items[c].itype for c in cs}
                entry["days_range_by_type"] = {
                    t: list(shape.stall_days(stage, project, t)) for t in ISSUE_TYPES
                }
        if ftype == "reopen":
            entry["via"] = {c: truth.reopen_via[c] for c in cs if c in truth.reopen_via}
        failures.append(entry)
    for tr in shape.trends:
        tstage = failure_stage(shape, tr.type)
        raw = truth.failures.get((tr.type, tstage.id, tr.project), [])
        scoped = [
            c for c in cases(raw) if tr.component is None or tr.component in items[c].components
        ]
        per_month = [0] * months
        for c in scoped:
            per_month[min(int((items[c].created - BASE).days / 30.4), months - 1)] += 1
        proj = next(p for p in shape.projects if p.key == tr.project)
        trends.append(
            {
                "type": tr.type,
                "stage": tstage.id,
                "project": tr.project,
                "component": tr.component,
                "team": shape.team_of(tstage, proj),
                "direction": tr.direction,
                "weeks": (end - BASE).days // 7,
                "cases_by_month": per_month,
                "cases": scoped,
            }
        )
    shadow = []
    for sid in sorted(truth.shadow):
        entry = dict(truth.shadow[sid])
        if isinstance(entry.get("cases"), list):
            entry["cases"] = cases(entry["cases"])
        shadow.append(entry)
    durations: list[dict[str, Any]] = []
    for st in shape.stages:
        if st.profile == "fixed":
            durations.append({"stage": st.id, "profile": "fixed", "seconds": st.seconds})
        elif st.profile == "bimodal":
            durations.append(
                {
                    "stage": st.id,
                    "profile": "bimodal",
                    "modes_working_hours": [round(st.hours * 0.15, 2), st.hours * 3],
                }
            )
    if shape.type_pace:
        extra["check_pace_by_issue_type"] = dict(shape.type_pace)
    if not shape.design_names_creation:
        extra["initial_status"] = {
            "status": shape.stages[0].statuses[0],
            "stage": shape.stages[0].id,
        }
    if shape.team_tz:
        extra["team_time_zones"] = dict(shape.team_tz)
    if shape.subtask_rate:
        extra["subtasks"] = sorted(
            (x for x in truth.subtasks if x["parent"] in items),
            key=lambda x: (keyorder(x["parent"]), keyorder(x["key"])),
        )
    if shape.blocked_status:
        extra["blocked_spells"] = sorted(
            (x for x in truth.blocked if x["case"] in items and _visible(x["unblocked_at"], end)),
            key=lambda x: (keyorder(x["case"]), x["blocked_at"]),
        )
    if shape.handoff_team:
        extra["reassignment_handoffs"] = sorted(
            (x for x in truth.reassignments if _visible(x["picked_at"], end)),
            key=lambda x: (keyorder(x["case"]), x["picked_at"]),
        )
    return {
        "seed": world.seed,
        "generator": GENERATOR,
        "shape": shape.name,
        "held_out": shape.name in HELD_OUT_SHAPES,
        "window": {"start": iso(BASE), "end": iso(end)},
        "work_items": keys,
        "risk_tiers": {k: items[k].tier for k in keys},
        "projects": {
            p.key: {
                "name": p.name,
                "components": list(p.components),
                "repo": p.repo,
                "team": p.team or None,
                "pace": p.pace,
                **({"own_stages": list(p.own_stages)} if p.own_stages else {}),
            }
            for p in shape.projects
        },
        "shadow_agents": shadow,
        "unowned_seams": unowned,
        "owned_seams": [{"from": a, "to": b} for a, b, _ in shape.owned_seams]
        + [
            {"from": a, "to": b, "round_trip": True}
            for a, b in sorted(owned - {(a, b) for a, b, _ in shape.owned_seams})
        ]
        + owned_kinds,
        "consequence_seams": consequence_seams,
        "seam_waits": seams,
        "failure_patterns": failures,
        "trends": trends,
        "gate_violations": sorted(
            (g for g in truth.gates if g["case"] in items),
            key=lambda g: (keyorder(g["case"]), g["type"]),
        ),
        "deviations": sorted(
            (d for d in truth.deviations if d["case"] in items),
            key=lambda d: (keyorder(d["case"]), d["type"]),
        ),
        "late_approvals": [x for x in truth.late if _visible(x["approved_at"], end)],
        "designed_round_trips": [x for x in truth.round_trips if x["case"] in items],
        "root_events": [x for x in truth.roots if _visible(x["at"], end)],
        "automation_prs": truth.automation_prs,
        "automation_moves": truth.automation_moves,
        "stage_durations": durations,
        **extra,
    }


def write(
    world: World, truth: ShapeTruth, shape: Shape, out: Path
) -> tuple[list[Path], dict[str, Any]]:
    gt = ground_truth(world, truth, shape)
    paths = [out / "ground_truth.json", out / "design.yaml", out / "roster.yaml"]
    paths[0].write_text(json.dumps(gt, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    paths[1].write_text(design_yaml(shape), encoding="utf-8")
    body = yaml.safe_dump(roster(world, shape), sort_keys=False, allow_unicode=True, width=100)
    paths[2].write_text(
        f"# Who is who in the '{shape.name}' organisation: every person, bot and agent.\n" + body,
        encoding="utf-8",
    )
    return paths, gt
