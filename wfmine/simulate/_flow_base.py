"""The state of a shaped organisation's run and how acts on a work item are recorded.

``FlowBase`` extends the shared acts with what every shape needs: the
Jira set-up the shape implies (``status_ids``, ``layout``), the work item
being played (``Case``) and the truth collected while planting
(``ShapeTruth``). ``_act`` records every human act on a case; when the
acting team changes, that is a seam, with the true wait from the handing
team's last act to the receiving team's first.
"""

from __future__ import annotations

from abc import abstractmethod
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from wfmine.simulate._acts import Acts
from wfmine.simulate._config import SimConfig
from wfmine.simulate._model import (
    BASE,
    Change,
    Item,
    JComment,
    Layout,
    PullRequest,
    SlackMsg,
)
from wfmine.simulate._org import Actor, Org
from wfmine.simulate._shape_org import build_shape_org
from wfmine.simulate._shapes import SUBTASK_STATUSES, ProjectDef, Shape, StageDef
from wfmine.simulate._util import iso

#: problems that show within days of an item's start


def status_ids(shape: Shape) -> dict[str, tuple[str, str]]:
    """Jira statuses of ``shape``: name -> (id, category key)."""
    out: dict[str, tuple[str, str]] = {}
    n = 10_100
    last = len(shape.stages) - 1
    for i, st in enumerate(shape.stages):
        for name in st.statuses:
            if name in out:
                continue
            final = i == last and name == st.statuses[-1]
            cat = "new" if i == 0 else (shape.end_category if final else "indeterminate")
            out[name] = ("3" if name == "In Progress" else str(n), cat)
            n += 1
    if shape.reopen_status and shape.reopen_status not in out:
        out[shape.reopen_status] = (str(n), "indeterminate")
        n += 1
    if shape.subtask_rate:  # the sub-tasks' own workflow: its first status is its own
        for name in SUBTASK_STATUSES:
            assert name in out or name == SUBTASK_STATUSES[0], name
        out.setdefault(SUBTASK_STATUSES[0], (str(n), "new"))
    return out


def layout(shape: Shape, org: Org) -> Layout:
    comps: dict[str, str] = {}
    for p in shape.projects:
        for c in p.components:
            comps.setdefault(c, str(10_200 + len(comps)))
    channels = {t: t for t in shape.team_names} | {
        "deploys": shape.design_team(shape.stages[-1]),
        "general": shape.team_names[0],
    }
    if not channels["deploys"]:
        channels["deploys"] = shape.platform_team
    owner = next(a.id for a in org.actors.values() if a.team == shape.platform_team and a.lead)
    return Layout(
        statuses=status_ids(shape),
        initial_status=shape.stages[0].statuses[0],
        projects={p.key: (str(10_010 + i), p.name) for i, p in enumerate(shape.projects)},
        components=comps,
        repos=tuple(dict.fromkeys(p.repo for p in shape.projects)),
        channels=channels,
        slack_owner=owner,
    )


@dataclass
class Case:
    """One work item while it is being played."""

    item: Item
    project: ProjectDef
    plan: str
    late: bool
    cause: str = ""
    team: str = ""
    stage: str = ""
    last_stage: str = ""  # the stage of the last act that counted
    last_t: datetime = BASE
    last_act: str = ""
    last_actor: Actor | None = None
    status: str = ""
    author: Actor | None = None
    pr: PullRequest | None = None
    current: Actor | None = None  # who took the stage on
    skip: str = ""  # the stage this case skips
    thread: SlackMsg | None = None  # the item's Slack thread
    pending: list[tuple[Actor, str]] = field(default_factory=list)
    seams: list[dict[str, Any]] = field(default_factory=list)
    agent: Actor | None = None  # the coding agent building the work, if one does
    #: every act of a person or an agent on the case (not automation's): (time, performer
    #: kind, activity, actor id, stage, cause) -- the human <-> agent handoffs come from them
    acts: list[tuple[datetime, str, str, str, str, str]] = field(default_factory=list)


@dataclass
class ShapeTruth:
    """What ``ShapeFlow`` planted, as it happened."""

    failures: dict[tuple[str, str, str], list[str]] = field(default_factory=dict)
    stall_days: dict[str, float] = field(default_factory=dict)
    gates: list[dict[str, str]] = field(default_factory=list)
    deviations: list[dict[str, str]] = field(default_factory=list)
    shadow: dict[str, dict[str, Any]] = field(default_factory=dict)
    seams: list[dict[str, Any]] = field(default_factory=list)
    late: list[dict[str, Any]] = field(default_factory=list)
    round_trips: list[dict[str, str]] = field(default_factory=list)
    roots: list[dict[str, Any]] = field(default_factory=list)
    automation_prs: list[dict[str, Any]] = field(default_factory=list)
    automation_moves: list[dict[str, Any]] = field(default_factory=list)
    reopen_via: dict[str, str] = field(default_factory=dict)
    done: set[str] = field(default_factory=set)
    performer_seams: list[dict[str, Any]] = field(default_factory=list)
    agent_prs: list[tuple[str, PullRequest]] = field(default_factory=list)
    replaced: list[dict[str, Any]] = field(default_factory=list)
    #: (``Shape.subtask_rate``, ``blocked_status``, ``handoff_team``) the sub-tasks, every
    #: spell in the blocked status, every handoff by reassignment with the status unchanged
    subtasks: list[dict[str, Any]] = field(default_factory=list)
    blocked: list[dict[str, Any]] = field(default_factory=list)
    reassignments: list[dict[str, Any]] = field(default_factory=list)


class FlowBase(Acts):
    """One shaped run's state and the acts on a case every stage uses."""

    merge_channel = "deploys"

    def __init__(self, shape: Shape, seed: int, n_items: int, months: int) -> None:
        org = build_shape_org(shape)
        lay = layout(shape, org)
        super().__init__(org, seed, n_items, months, SimConfig(), lay.repos)
        self.shape = shape
        self.layout = lay
        self.statuses = dict(lay.statuses)
        self.gt = ShapeTruth()
        self.counter = {p.key: 0 for p in shape.projects}
        self.ai_users = {a: (tool, start) for a, tool, start in shape.ai_users}
        assert all(self.org[a].kind == "human" for a in self.ai_users)
        self.build_i = next(i for i, s in enumerate(shape.stages) if s.kind.startswith("build"))

    # -- who
    def team_of(self, st: StageDef, project: ProjectDef) -> str:
        return self.shape.team_of(st, project)

    def members(self, team: str) -> list[Actor]:
        return self.org.team(team)

    # -- acts on a case
    def _act(self, case: Case, who: Actor, t: datetime, what: str, *, late: bool = False) -> None:
        """Record a human act on the case: a team change is a seam with its true wait."""
        if who.kind != "human" or late:
            return
        case.acts.append((t, "human", what, who.id, case.stage, case.cause))
        if case.team and who.team != case.team:
            seam: dict[str, Any] = {
                "case": case.item.key,
                "from": case.team,
                "to": who.team,
                "from_stage": case.last_stage,
                "to_stage": case.stage,
                "handed_at": iso(case.last_t),
                "picked_at": iso(t),
                "wait_s": int((t - case.last_t).total_seconds()),
                "last_act": case.last_act,
                "first_act": what,
            }
            if case.cause:
                seam["cause"] = case.cause
            case.seams.append(seam)
            case.team, case.last_t, case.last_act, case.last_actor = who.team, t, what, who
            case.last_stage = case.stage
        elif t >= case.last_t or not case.team:
            case.team, case.last_t, case.last_act, case.last_actor = who.team, t, what, who
            case.last_stage = case.stage

    def _agent_act(self, case: Case, who: Actor, t: datetime, what: str) -> None:
        """Record an AI agent's act on the case (never a team seam; a human <-> agent one)."""
        assert who.kind == "agent"
        case.acts.append((t, "agent", what, who.id, case.stage, case.cause))

    def _move(self, case: Case, t: datetime, who: Actor, to: str) -> None:
        h = self._status(t, who.id, case.status, to)
        if self.statuses[to][1] == "done":
            h.items.append(Change("resolution", "resolution", None, None, "10000", "Done"))
        elif self.statuses[case.status][1] == "done":
            h.items.append(Change("resolution", "resolution", "10000", "Done", None, None))
        case.item.histories.append(h)
        if who.id == "jira-automation" and t <= self.end:
            self.gt.automation_moves.append(
                {"case": case.item.key, "from": case.status, "to": to, "at": iso(t)}
            )
        case.status = to
        self._act(case, who, t, f"jira:Status: {to}")

    def _comment(self, case: Case, t: datetime, who: Actor, text: str) -> None:
        case.item.comments.append(JComment(t, who.id, text))
        self._act(case, who, t, "jira:Comment added")

    def _fail(self, case: Case, ftype: str, stage: str, t: datetime) -> None:
        if t > self.end:
            return  # not in the exports
        self.gt.failures.setdefault((ftype, stage, case.project.key), []).append(case.item.key)

    @abstractmethod
    def _walk(self, case: Case, start: int, t: datetime) -> datetime | None:
        """Play stages ``start..`` of the case (``ShapeFlow`` does; the stage work calls it)."""

    @abstractmethod
    def _enter(self, case: Case, st: StageDef, t: datetime) -> datetime:
        """Enter stage ``st`` with its handoff (``ShapeFlow`` does; a round trip calls it)."""
