"""A tiny synthetic organisation for the findings tests: a flat log, event attrs, a design.

Built from first principles (stages, teams, working hours), not from any
simulator, so the detectors are tested on what the signals mean.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import numpy as np
import polars as pl
import yaml

from wfmine.design import Design, load_design_text
from wfmine.model import LOG_SCHEMA

DESIGN: dict[str, Any] = {
    "version": 1,
    "stages": [
        {"id": "triage", "team": "product", "performer": "human", "expected": "2d",
         "activities": ["jira:Issue created", "jira:Status: Triage"]},
        {"id": "build", "team": "engineering", "performer": "either", "expected": "5d",
         "activities": ["jira:Status: In Progress", "github:Commit pushed", "github:PR opened"]},
        {"id": "review", "team": "engineering", "performer": "either", "expected": "2d",
         "activities": ["jira:Status: In Review", "github:PR approved", "github:Changes requested"]},
        {"id": "qa", "team": "qa", "performer": "human", "expected": "3d",
         "activities": ["jira:Status: QA"]},
        {"id": "deploy", "team": "operations", "performer": "human",
         "activities": ["github:PR merged", "jira:Status: Done"]},
    ],
    "end": ["deploy"],
    "seams": [{"from": "product", "to": "engineering", "owner": "engineering"},
              {"from": "engineering", "to": "qa", "owner": "qa"}],
    "agents": [{"id": "reviewbot", "accounts": ["github:reviewbot[bot]"], "stages": ["review"]}],
}  # fmt: skip

T0 = dt.datetime(2025, 1, 6, tzinfo=dt.UTC)  # a Monday


def build(seed: int = 1, cases: int = 80) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Return (flat log, events attrs) of a synthetic org with known problems planted.

    Planted: ``sync-user`` (declared human) posts sub-minute, around-the-clock
    Jira comments; ``erin`` (qa) posts AI-signed comments during QA;
    ``reviewbot`` (registered for review) also approves merges in deploy;
    rework loops (review sends the work back twice) in ~25 % of cases, declining over time;
    CI fail-and-fix cycles; the qa -> operations seam is unowned and slow.
    """
    rng = np.random.default_rng(seed)
    rows: list[dict[str, Any]] = []
    attrs: dict[str, dict[str, Any]] = {}
    weeks = 10

    def work_time(t: dt.datetime, hours: float) -> dt.datetime:
        t = t + dt.timedelta(hours=hours)
        while t.weekday() >= 5 or not 9 <= t.hour < 17:
            t = t + dt.timedelta(hours=1)
        return t

    def add(
        case: str,
        act: str,
        t: dt.datetime,
        actor: str,
        team: str | None,
        kind: str,
        source: str,
        obj: str,
        **a: Any,
    ) -> None:
        eid = f"{obj}/{len(rows)}"
        rows.append(
            {
                "case_id": case,
                "activity": act,
                "timestamp": t,
                "seq": len(rows),
                "event_id": eid,
                "actor_id": actor,
                "resource": actor,
                "actor_kind": kind,
                "team": team,
                "source": source,
                "object_id": obj,
                "object_type": "issue" if source == "jira" else "pull_request",
            }
        )
        if a:
            attrs[eid] = a

    devs = ["dev1", "dev2", "dev3"]
    for i in range(cases):
        case = f"jira:ACME-{i + 1}"
        pr = f"github:acme/api#pr/{i + 1}"
        start = T0 + dt.timedelta(days=float(rng.uniform(0, weeks * 7 - 14)))
        t = work_time(start, 0)
        add(case, "Issue created", t, "pm", "product", "human", "jira", case)
        t = work_time(t, float(rng.uniform(2, 20)))
        add(case, "Status: Triage", t, "pm", "product", "human", "jira", case)
        dev = devs[i % 3]
        t = work_time(t, float(rng.uniform(4, 30)))
        add(case, "Status: In Progress", t, dev, "engineering", "human", "jira", case)
        t = work_time(t, float(rng.uniform(2, 10)))
        add(
            case,
            "Commit pushed",
            t,
            dev,
            "engineering",
            "human",
            "github",
            pr,
            trailers=[],
            author_email=f"{dev}@acme.example",
        )
        add(
            case,
            "PR opened",
            t + dt.timedelta(minutes=5),
            dev,
            "engineering",
            "human",
            "github",
            pr,
            author=dev,
            head=f"feature/ACME-{i + 1}",
        )
        t = t + dt.timedelta(minutes=6)
        if rng.random() < 0.3:
            add(case, "Check failed", t + dt.timedelta(minutes=10), "ci", None, "bot", "github", pr)
            t = work_time(t, float(rng.uniform(1, 4)))
            add(case, "Commit pushed", t, dev, "engineering", "human", "github", pr, trailers=[])
            add(case, "Check passed", t + dt.timedelta(minutes=12), "ci", None, "bot", "github", pr)
        t = work_time(t, float(rng.uniform(2, 10)))
        add(case, "Status: In Review", t, dev, "engineering", "human", "jira", case)
        # rework, declining: 50 % of cases early, ~5 % late
        frac = (start - T0).days / (weeks * 7)
        if rng.random() < 0.5 - 0.45 * frac:  # a loop: sent back twice
            for _ in range(2):
                t = work_time(t, float(rng.uniform(1, 8)))
                add(
                    case,
                    "Changes requested",
                    t,
                    devs[(i + 1) % 3],
                    "engineering",
                    "human",
                    "github",
                    pr,
                )
                t = work_time(t, float(rng.uniform(2, 10)))
                add(
                    case, "Commit pushed", t, dev, "engineering", "human", "github", pr, trailers=[]
                )
            t = work_time(t, float(rng.uniform(1, 5)))
            add(case, "Status: In Review", t, dev, "engineering", "human", "jira", case)
        t = work_time(t, float(rng.uniform(1, 8)))
        add(case, "PR approved", t, "github:reviewbot[bot]", "engineering", "agent", "github", pr)
        t = work_time(t, float(rng.uniform(2, 12)))
        add(case, "Status: QA", t, "erin", "qa", "human", "jira", case)
        if i % 4 == 0:
            add(
                case,
                "Comment added",
                t + dt.timedelta(minutes=20),
                "erin",
                "qa",
                "human",
                "jira",
                case,
                body="Test plan\n\n🤖 Generated with [Claude Code](https://claude.com/claude-code)",
            )
        # the planted undeclared automation: sub-minute reply to every QA move, any hour
        t_sync = t + dt.timedelta(seconds=float(rng.uniform(5, 40)))
        add(
            case,
            "Comment added",
            t_sync,
            "sync-user",
            "qa",
            "human",
            "jira",
            case,
            body=f"Synced ticket {i + 1} to tracker",
        )
        t = work_time(t, float(rng.uniform(40, 120)))  # slow unowned qa -> operations seam
        add(case, "PR merged", t, "ops1", "operations", "human", "github", pr)
        if i % 5 == 0:
            add(
                case,
                "PR approved",
                t + dt.timedelta(minutes=1),
                "github:reviewbot[bot]",
                "operations",
                "agent",
                "github",
                pr,
            )
            add(
                case,
                "PR merged",
                t + dt.timedelta(minutes=2),
                "github:reviewbot[bot]",
                "operations",
                "agent",
                "github",
                pr,
            )
        add(
            case,
            "Status: Done",
            t + dt.timedelta(minutes=30),
            "ops1",
            "operations",
            "human",
            "jira",
            case,
        )
    # the sync account also runs at night and on weekends on its own schedule
    for k in range(60):
        t = T0 + dt.timedelta(hours=7 * k + 3, seconds=float(rng.uniform(0, 30)))
        add(
            f"jira:SYNC-{k}",
            "Comment added",
            t,
            "sync-user",
            None,
            "human",
            "jira",
            f"jira:SYNC-{k}",
            body=f"Synced ticket {k} to tracker",
        )
    log = pl.DataFrame(rows, schema=LOG_SCHEMA).sort(["case_id", "timestamp", "seq", "event_id"])
    ea = pl.DataFrame(
        {"event_id": list(attrs), "attrs": [json.dumps(v) for v in attrs.values()]},
        schema={"event_id": pl.String, "attrs": pl.String},
    )
    return log, ea


def as_design(spec: dict[str, Any]) -> Design:
    """A design mapping (as the YAML file would hold it) read by the one design reader."""
    return load_design_text(yaml.safe_dump(spec, sort_keys=False))
