"""Ground truth, the designed workflow and the roster of the simulated organisation."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from wfmine.simulate._config import SimConfig
from wfmine.simulate._model import World, keynum

GENERATOR = "wfmine.simulate 0.1.0"

DESIGN_YAML = """\
# The designed delivery workflow of Acme (the simulated organisation).
# Written by its workflow architect; wfmine checks the observed work against it.
version: 1
name: Acme delivery
stages:
  - id: triage
    team: product
    performer: either           # product people, helped by the Automation for Jira rule
    expected: 2w                # triage queues are weekly
    activities: ["jira:Issue created", "jira:Status: Triage"]
  - id: build
    team: engineering
    performer: either           # engineers, or the sanctioned Copilot coding agent
    expected: 10d
    activities:
      - "jira:Status: In Progress"
      - "github:Commit pushed"
      - "github:PR opened"
      - "github:Check passed"
      - "github:Check failed"
  - id: review
    team: engineering
    performer: either           # human reviewers and the sanctioned review agent
    expected: 1w
    activities:
      - "jira:Status: In Review"
      - "github:Review requested"
      - "github:PR approved"
      - "github:Changes requested"
      - "github:PR reviewed"
      - "github:Review comment added"
      - "github:PR comment added"
  - id: qa
    team: qa
    performer: human
    expected: 2w
    activities: ["jira:Status: QA"]
  - id: deploy
    team: operations
    performer: human
    irreversible: true
    expected: 4d
    activities: ["github:PR merged", "github:Revert merged", "jira:Status: Done"]
unmapped: ignore
teams: [support]                # teams that own no stage but hand work over
transitions:
  - [triage, build]
  - [build, review]
  - [review, build]             # sanctioned rework loop
  - [review, qa]
  - [qa, deploy]
  - [deploy, build]             # reopened work goes back to build
start: [triage]
end: [deploy]
risk:
  default: reversible
  rules:
    - tier: high_stakes
      labels: [security, payments]
      components: [billing]
    - tier: irreversible
      labels: [migration]
      components: [database]
gates:
  - before: deploy
    approvals: ["github:PR approved"]
    reversible: agent_review
    irreversible: human_approval
    high_stakes: two_humans
seams:
  - {from: support, to: product, owner: product}
  - {from: product, to: engineering, owner: engineering}
  - {from: engineering, to: qa, owner: qa}
  - {from: engineering, to: operations, owner: operations}
  - {from: operations, to: engineering, owner: engineering}
  - {from: operations, to: qa, owner: qa}
  - {from: qa, to: engineering, owner: engineering}
  - {from: human, to: agent, owner: engineering}
  - {from: agent, to: human, owner: engineering}
agents:
  - id: reviewbot
    accounts: ["github:acme-reviewbot[bot]"]
    stages: [review]
  - id: copilot
    accounts: ["github:copilot-swe-agent[bot]"]
    stages: [build]
  - id: jira-automation
    accounts: ["jira:557058:f58131cb-b67d-43c7-b30d-6b58d40bd077"]
    stages: [triage]
  - id: github-actions
    accounts: ["github:github-actions[bot]"]
    stages: [build]
  - id: dependabot
    accounts: ["github:dependabot[bot]"]
    stages: [build]
allow:
  # the coding agent asks for review of its own pull request: accepted
  - {kind: agent_out_of_stage, actor: copilot, activity: "github:Review requested"}
"""

# The stage of design.yaml in which each planted failure shows in the exports.
FAILURE_STAGES = {
    "rework_loop": "review",  # the reviewer sends the work back to build
    "reopen": "deploy",  # a Done item is reopened
    "revert": "deploy",  # the merged change is reverted
    "ci_fix": "build",  # checks fail on pushed commits and are fixed
    "stall": "qa",  # QA sits for weeks
    "ping_pong": "build",  # reassigned back and forth once work started
    # the PR is opened and review requested (github:Review requested maps to
    # review), then nobody touches the item again
    "abandoned": "review",
}

OWNED_SEAMS = [
    {"from": "support", "to": "product"},
    {"from": "product", "to": "engineering"},
    {"from": "engineering", "to": "qa"},
    {"from": "engineering", "to": "operations"},
    {"from": "operations", "to": "engineering"},
    {"from": "operations", "to": "qa"},
    {"from": "qa", "to": "engineering"},
]


def ground_truth(world: World, cfg: SimConfig) -> dict[str, Any]:
    t = world.truth
    keys = [it.key for it in world.items if it.created <= world.end]
    shadow = [t.shadow[k] for k in sorted(t.shadow)]
    done = {
        it.key
        for it in world.items
        if any(
            h.t <= world.end and any(c.to_string == "Done" for c in h.items) for h in it.histories
        )
    }
    seams = [
        {"from": a, "to": b, "kind": "team", "cases": sorted(set(c) & done, key=keynum)}
        for (a, b), c in sorted(t.seam_cases.items())
    ]
    failures = []
    for ftype in sorted(t.failures):
        cases = sorted(set(t.failures[ftype]), key=keynum)
        stage = FAILURE_STAGES[ftype]
        failures.append(
            {
                "type": ftype,
                "stage": stage,
                "trend": cfg.failure_trends.get(ftype, "stable"),
                "cases": cases,
            }
        )
    return {
        "seed": world.seed,
        "generator": GENERATOR,
        "window": {
            "start": "2026-01-05T00:00:00Z",
            "end": world.end.strftime("%Y-%m-%dT%H:%M:%SZ"),
        },
        "work_items": keys,
        "risk_tiers": {it.key: it.tier for it in world.items if it.created <= world.end},
        "shadow_agents": shadow,
        "unowned_seams": seams,
        "owned_seams": OWNED_SEAMS,
        "failure_patterns": failures,
        "gate_violations": sorted(t.gates, key=lambda g: (keynum(g["case"]), g["type"])),
        "deviations": sorted(t.deviations, key=lambda d: (keynum(d["case"]), d["type"])),
    }


def roster(world: World) -> dict[str, Any]:
    org = world.org
    teams: dict[str, Any] = {}
    for team in ("product", "engineering", "qa", "operations", "support"):
        teams[team] = {"lead": org.lead(team).id}
    people = []
    for a in org.actors.values():
        if not a.in_roster:
            continue
        people.append(
            {
                "id": a.id,
                "name": a.name,
                "team": a.team,
                "kind": a.declared_kind,
                "accounts": a.accounts(),
            }
        )
    return {"teams": teams, "people": people}


def write(world: World, cfg: SimConfig, out: Path) -> list[Path]:
    paths = [out / "ground_truth.json", out / "design.yaml", out / "roster.yaml"]
    paths[0].write_text(
        json.dumps(ground_truth(world, cfg), indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    paths[1].write_text(DESIGN_YAML, encoding="utf-8")
    body = yaml.safe_dump(roster(world), sort_keys=False, allow_unicode=True, width=100)
    paths[2].write_text(
        "# Who is who at Acme: every person, bot and agent with all their accounts.\n" + body,
        encoding="utf-8",
    )
    return paths
