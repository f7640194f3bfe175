"""Organisations of different shapes: how teams, stages, projects and automation are laid out.

A *shape* is an organisation's structure, not a parameter of one: which
stages its workflow has (and which Jira statuses and GitHub acts they are),
whether a team owns each stage or each project has its own cross-functional
team, which projects and components exist, what automation moves work, and
which problems happen to it. ``stage-teams`` is the original Acme
organisation (``_work``); every other shape is played by ``_flow`` from its
definition here, and its ``design.yaml`` is written from the same
definition (``_shape_truth``) — never from wfmine's outputs.

Shapes named in ``HELD_OUT_SHAPES`` are for judging detectors only: do not
run, read or tune against them while developing a detector; score on them
once, at the end, with several seeds.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Literal

from wfmine.design import parse_duration

StageKind = Literal["intake", "build", "build_review", "review", "check", "deploy"]
Profile = Literal["normal", "fixed", "bimodal"]
Direction = Literal["rising", "declining"]

#: a planted stall lasts at least this many times its stage's designed expected time
STALL_OVER_EXPECTED = 1.25

#: the Jira issue types of every shape's work items (bugs, stories, tasks)
ISSUE_TYPES: tuple[str, ...] = ("Bug", "Story", "Task")

#: problems a shape plants, at most one per work item (rates per eligible item)
PROBLEMS: tuple[str, ...] = (
    "ci_fix",
    "rework_loop",
    "round_trip",
    "stall",
    "revert",
    "reopen",
    "ping_pong",
    "out_of_tier",
    "no_approval",
    "missing_two_humans",
    "skipped",
    # the coding agents' (``Shape.coding_agent``): an agent's pull request closed unmerged and
    # replaced by a person's, the shadow coding agent building, the sanctioned one building
    # work of a tier it is not sanctioned for, and such work merged on the review agent's
    # approval alone
    "replaced",
    "unregistered",
    "agent_out_of_tier",
    "agent_only_approval",
    # ``Shape.blocked_status``: the work waits in the build stage's Blocked status for days
    "blocked",
)

#: the statuses of a Jira sub-task's own simpler workflow (``Shape.subtask_rate``)
SUBTASK_STATUSES: tuple[str, str, str] = ("To Do", "In Progress", "Done")


@dataclass(frozen=True)
class StageDef:
    """One designed stage and how the organisation works in it."""

    id: str
    kind: StageKind
    #: Jira statuses of the stage; the first is the one work moves into ((): GitHub only)
    statuses: tuple[str, ...] = ()
    #: owning team; "" when each project's own team owns it
    team: str = ""
    performer: Literal["human", "agent", "either"] = "human"
    #: the design's expected time of a visit ("": the design gives none)
    expected: str = "3d"
    #: typical working hours of a visit (``normal`` and ``bimodal`` profiles)
    hours: float = 6.0
    #: ``fixed``: every visit lasts exactly ``seconds``; ``bimodal``: quick or long visits
    profile: Profile = "normal"
    seconds: int = 600
    #: human approvals this review stage always collects (2: dual approval)
    approvals: int = 0
    #: Automation for Jira moves work into (and, for ``fixed``, out of) this stage
    by_automation: bool = False


@dataclass(frozen=True)
class ProjectDef:
    """A Jira project with its components, repository and (project-teams) own team."""

    key: str
    name: str
    components: tuple[str, ...]
    repo: str
    team: str = ""
    weight: float = 1.0
    #: how long this project's checks take against the stage's ``hours`` (its planted
    #: stalls scale with it: a slow project's stall is longer than its slow normal visit)
    pace: float = 1.0
    #: stages this project's own ``team`` works although the stage names a shared team (a
    #: hybrid: the other projects share the stage's team); the design then names no team
    #: for such a stage
    own_stages: tuple[str, ...] = ()


@dataclass(frozen=True)
class TrendDef:
    """A failure pattern planted rising or declining, scoped to one project (and component)."""

    type: str
    direction: Direction
    project: str
    component: str | None = None


def _ro(d: dict[str, float]) -> Mapping[str, float]:
    return MappingProxyType(d)


def _ro_tz(d: dict[str, str]) -> Mapping[str, str]:
    return MappingProxyType(d)


@dataclass(frozen=True)
class Shape:
    """The structure of one simulated organisation."""

    name: str
    title: str
    summary: str
    structure: Literal["stage_teams", "project_teams", "hybrid"]
    stages: tuple[StageDef, ...]
    projects: tuple[ProjectDef, ...]
    #: human teams and their sizes (the first member is the lead)
    teams: tuple[tuple[str, int], ...]
    #: designed moves back (besides the forward chain): sanctioned round trips
    back: tuple[tuple[str, str], ...] = ()
    #: the stage planted round trips start from, back to the build stage ("": the review)
    round_trip_stage: str = ""
    #: owned handoffs (from team, to team, owner)
    owned_seams: tuple[tuple[str, str, str], ...] = ()
    #: typical wait in working hours at a handoff from one team to another
    seam_hours: Mapping[tuple[str, str], float] = field(default_factory=dict)
    #: status work is reopened into ("": straight back to the build stage's status)
    reopen_status: str = ""
    #: Jira status category of the end stage's status
    end_category: Literal["done", "indeterminate"] = "done"
    #: Automation for Jira moves the item to its end status when the PR merges
    automation_done: bool = False
    #: a dependency bot opens and merges a pull request every night, linked to no issue
    nightly_prs: bool = False
    #: a Slack app posting on a schedule that the design's registry does not name
    slack_app: str = ""
    #: the weekdays it posts on (0: Monday) and the hour (UTC) it posts at
    slack_days: tuple[int, ...] = (0, 1, 2, 3, 4)
    slack_hour: float = 8.0
    #: risk tiers the sanctioned review agent may approve
    agent_tiers: tuple[str, ...] = ("reversible",)
    #: a sanctioned AI coding agent (GitHub's Copilot coding agent) builds work engineers
    #: assign to it, in the build stage and for the risk tiers ``coding_agent_tiers``
    coding_agent: bool = False
    coding_agent_tiers: tuple[str, ...] = ("reversible",)
    #: share of the work it may build (and no problem keeps from it) that is assigned to it
    delegate_rate: float = 0.0
    #: the human <-> agent handoffs the design owns (owner: ``platform_team``)
    agent_seams: tuple[tuple[str, str], ...] = (("human", "agent"), ("agent", "human"))
    #: team the agents and bots belong to
    platform_team: str = "engineering"
    #: people who use an AI tool nobody declared: (actor id, tool, from this share of the window)
    ai_users: tuple[tuple[str, str, float], ...] = ()
    #: the check stage planted stalls (8-11 days) happen in
    stall_stage: str = ""
    #: a check visit lasts at most three times its typical time (its tail bounded, as the
    #: waits at seams are: a stall is planted, never an accident of the tail)
    bounded_checks: bool = False
    #: how long a check of each Jira issue type takes against the stage's ``hours`` (and its
    #: project's ``pace``): one team checking two kinds of work at very different paces in
    #: the same project; planted stalls scale with it as with ``ProjectDef.pace``
    type_pace: Mapping[str, float] = field(default_factory=dict)
    rates: Mapping[str, float] = field(default_factory=dict)
    #: the design's first stage also maps ``jira:Issue created`` (False: it names statuses
    #: only, the initial one included, as an architect reads the Jira workflow)
    design_names_creation: bool = True
    #: the time zone every member of a team works in (a team not named: each person's own)
    team_tz: Mapping[str, str] = field(default_factory=dict)
    #: share of stories split into Jira sub-tasks (``SUBTASK_STATUSES``) when written
    subtask_rate: float = 0.0
    #: the build stage's waiting status (a status of that stage in the design) work goes
    #: into and out of; short spells at ``blocked_rate``, long ones the planted ``blocked``
    blocked_status: str = ""
    blocked_rate: float = 0.0
    #: build work on these components is handed to ``handoff_team`` (a team owning no stage)
    #: by reassigning the issue, its status unchanged, and handed back the same way
    handoff_team: str = ""
    handoff_components: tuple[str, ...] = ()
    #: share of items with a late approval (dual-approval review stages only)
    late_rate: float = 0.0
    trends: tuple[TrendDef, ...] = ()
    #: components and labels that make a case high-stakes / irreversible
    high_stakes: tuple[str, ...] = ()
    irreversible: tuple[str, ...] = ()
    months: int = 9
    items: int = 300

    def stage(self, sid: str) -> StageDef:
        return next(s for s in self.stages if s.id == sid)

    def team_of(self, st: StageDef, project: ProjectDef) -> str:
        """The team that works ``st`` for ``project``."""
        if st.id in project.own_stages:
            return project.team
        return st.team or project.team

    def design_team(self, st: StageDef) -> str:
        """The team the design names for ``st`` ("": the projects' own teams work it)."""
        if any(st.id in p.own_stages for p in self.projects):
            return ""
        return st.team

    def stall_days(self, stage: str, project: str, itype: str = "") -> tuple[float, float]:
        """How long a planted stall lasts (days): 8-11, longer in a slow project's checks (and
        a slow issue type's: ``type_pace``), and always at least :data:`STALL_OVER_EXPECTED`
        x the stage's designed expected time where the design gives one -- a visit shorter
        than the design expects of it is no stall, so planting one would make the truth
        contradict its own design."""
        pace = next(p.pace for p in self.projects if p.key == project)
        pace *= self.type_pace.get(itype, 1.0)
        st = self.stage(stage)
        scale = max(1.0, pace / 3) if st.kind == "check" else 1.0
        lo, hi = 8.0 * scale, 11.0 * scale
        if st.expected:
            floor = STALL_OVER_EXPECTED * parse_duration(st.expected).total_seconds() / 86400
            if floor > lo:
                lo, hi = floor, floor + (hi - lo)
        return lo, hi

    def stall_range(self, stage: str, project: str) -> tuple[float, float]:
        """The shortest and longest planted stall of ``stage`` in ``project``, any issue type."""
        spans = [self.stall_days(stage, project, t) for t in ISSUE_TYPES]
        return min(lo for lo, _ in spans), max(hi for _, hi in spans)

    @property
    def team_names(self) -> tuple[str, ...]:
        return tuple(t for t, _ in self.teams)


_INTAKE = StageDef(
    "triage", "intake", ("To Do",), team="product", expected="1w", hours=10, performer="either"
)

PROJECT_TEAMS = Shape(
    name="project-teams",
    title="Northwind delivery (project teams)",
    summary=(
        "Three projects, each with its own cross-functional team that triages, builds, "
        "reviews (two approvals) and tests its work; a shared SRE team deploys everything."
    ),
    structure="project_teams",
    stages=(
        StageDef("backlog", "intake", ("Backlog",), expected="2w", hours=12),
        StageDef("build", "build", ("In Progress", "Reopened"), performer="either", expected="10d"),
        StageDef(
            "review",
            "review",
            ("In Review",),
            performer="either",
            expected="1w",
            hours=5,
            approvals=2,
        ),
        StageDef("qa", "check", ("Testing",), expected="8d", hours=6),
        StageDef("release", "deploy", ("Done",), team="sre", expected="3d"),
    ),
    projects=(
        ProjectDef(
            "PAY", "Payments", ("api", "ledger", "payouts"), "payments-service", "payments", 1.2
        ),
        ProjectDef("GROW", "Growth", ("onboarding", "web", "email"), "growth-web", "growth"),
        ProjectDef(
            "DATA", "Data", ("pipelines", "warehouse", "dashboards"), "data-pipelines", "data"
        ),
    ),
    teams=(("payments", 6), ("growth", 6), ("data", 5), ("sre", 3)),
    back=(("review", "build"), ("release", "build")),
    owned_seams=(("payments", "sre", "sre"), ("sre", "payments", "payments")),
    seam_hours={("payments", "sre"): 5, ("growth", "sre"): 22, ("data", "sre"): 30},
    reopen_status="Reopened",
    agent_tiers=("reversible",),
    platform_team="sre",
    ai_users=(("clara", "claude", 0.3),),
    stall_stage="qa",
    late_rate=0.2,
    rates=_ro(
        {
            "ci_fix": 0.03,
            "rework_loop": 0.03,
            "round_trip": 0.06,
            "stall": 0.03,
            "revert": 0.025,
            "reopen": 0.03,
            "ping_pong": 0.025,
            "out_of_tier": 0.25,
            "no_approval": 0.1,
            "missing_two_humans": 0.05,
        }
    ),
    trends=(
        TrendDef("ci_fix", "rising", "PAY"),
        TrendDef("rework_loop", "declining", "GROW"),
    ),
    high_stakes=("ledger",),
    irreversible=("warehouse",),
)

LEAN = Shape(
    name="lean",
    title="Lean delivery",
    summary=(
        "Three stages (todo, doing, done): engineers pull work, code review happens on "
        "GitHub only, the author merges; one project with several components. The end "
        "status 'Shipped' is not in Jira's done category."
    ),
    structure="stage_teams",
    stages=(
        StageDef("todo", "intake", ("To Do",), team="product", expected="2w", hours=14),
        StageDef(
            "doing",
            "build_review",
            ("In Progress",),
            team="engineering",
            performer="either",
            expected="1w",
            hours=8,
            profile="bimodal",
        ),
        StageDef("done", "deploy", ("Shipped",), team="engineering", expected="2d"),
    ),
    projects=(ProjectDef("LEAN", "Lean app", ("app", "api", "auth", "infra"), "app"),),
    teams=(("product", 3), ("engineering", 8)),
    back=(("done", "doing"),),
    owned_seams=(("product", "engineering", "engineering"),),
    seam_hours={("product", "engineering"): 16},
    end_category="indeterminate",
    agent_tiers=("reversible",),
    ai_users=(("hugo", "cursor", 0.4),),
    stall_stage="doing",
    slack_app="Standup Digest",
    rates=_ro(
        {
            "ci_fix": 0.03,
            "rework_loop": 0.03,
            "stall": 0.03,
            "revert": 0.03,
            "reopen": 0.03,
            "ping_pong": 0.03,
            "out_of_tier": 0.25,
            "no_approval": 0.1,
            "missing_two_humans": 0.3,
        }
    ),
    trends=(
        TrendDef("ci_fix", "rising", "LEAN", "api"),
        TrendDef("rework_loop", "declining", "LEAN", "app"),
    ),
    high_stakes=("auth",),
    irreversible=("infra",),
)

PLATFORM = Shape(
    name="platform",
    title="Platform engineering (heavy automation)",
    summary=(
        "Stage teams with automation everywhere: Automation for Jira moves items into a "
        "ten-minute security scan and to Done on merge, a dependency bot merges nightly "
        "pull requests linked to no issue, a Slack app posts a digest every morning."
    ),
    structure="stage_teams",
    stages=(
        _INTAKE,
        StageDef(
            "build",
            "build",
            ("In Progress",),
            team="engineering",
            performer="either",
            expected="1w",
        ),
        StageDef(
            "review",
            "review",
            ("In Review",),
            team="engineering",
            performer="either",
            expected="1w",
        ),
        StageDef(
            "scan",
            "check",
            ("Security Scan",),
            team="engineering",
            performer="agent",
            expected="1h",
            profile="fixed",
            seconds=600,
            by_automation=True,
        ),
        StageDef("verify", "check", ("Verification",), team="qa", expected="8d", hours=7),
        StageDef("deploy", "deploy", ("Done",), team="operations", performer="either"),
    ),
    projects=(
        ProjectDef("PLAT", "Platform", ("gateway", "auth", "observability", "api"), "platform"),
        ProjectDef("TOOL", "Developer tools", ("cli", "ci", "docs"), "devtools", weight=0.6),
    ),
    teams=(("product", 3), ("engineering", 8), ("qa", 3), ("operations", 3)),
    back=(("review", "build"), ("deploy", "build")),
    owned_seams=(
        ("product", "engineering", "engineering"),
        ("engineering", "qa", "qa"),
        ("qa", "engineering", "engineering"),
    ),
    seam_hours={
        ("product", "engineering"): 8,
        ("engineering", "qa"): 6,
        ("qa", "operations"): 20,
        ("operations", "engineering"): 6,
    },
    reopen_status="Reopened",
    automation_done=True,
    nightly_prs=True,
    slack_app="Morning Digest",
    agent_tiers=("reversible",),
    platform_team="operations",
    ai_users=(("greta", "claude", 0.2), ("jamal", "aider", 0.5)),
    stall_stage="verify",
    rates=_ro(
        {
            "ci_fix": 0.03,
            "rework_loop": 0.03,
            "round_trip": 0.05,
            "stall": 0.03,
            "revert": 0.03,
            "reopen": 0.03,
            "ping_pong": 0.02,
            "out_of_tier": 0.25,
            "no_approval": 0.1,
            "missing_two_humans": 0.3,
            "skipped": 0.02,
        }
    ),
    trends=(
        TrendDef("ci_fix", "rising", "PLAT"),
        TrendDef("rework_loop", "declining", "TOOL"),
    ),
    high_stakes=("auth",),
    irreversible=("gateway",),
)

SECURE = Shape(
    name="secure-delivery",
    title="Secure delivery (designed security round trips)",
    summary=(
        "Stage teams: engineering builds, reviews (two approvals) and also releases; between "
        "review and release a security team reviews every change and, by design, sends work "
        "back to build when it finds a problem; QA tests after security."
    ),
    structure="stage_teams",
    stages=(
        _INTAKE,
        StageDef(
            "build",
            "build",
            ("In Progress",),
            team="engineering",
            performer="either",
            expected="1w",
        ),
        StageDef(
            "review",
            "review",
            ("Code Review",),
            team="engineering",
            performer="either",
            expected="1w",
            hours=5,
            approvals=2,
        ),
        StageDef("appsec", "check", ("Security Review",), team="security", expected="5d", hours=8),
        StageDef("qa", "check", ("Testing",), team="qa", expected="1w", hours=6),
        StageDef("release", "deploy", ("Done",), team="engineering", performer="either"),
    ),
    projects=(
        ProjectDef("SEC", "Identity service", ("login", "tokens", "admin", "audit"), "identity"),
        ProjectDef("APP", "Customer app", ("mobile", "web", "notifications"), "customer-app"),
    ),
    teams=(("product", 3), ("engineering", 8), ("security", 3), ("qa", 3)),
    # security sends work back to build; reopened and reverted work goes back to build
    back=(("appsec", "build"), ("release", "build")),
    round_trip_stage="appsec",
    owned_seams=(
        ("product", "engineering", "engineering"),
        ("engineering", "security", "security"),
    ),
    seam_hours={
        ("product", "engineering"): 8,
        ("engineering", "security"): 10,
        ("security", "engineering"): 6,
        ("security", "qa"): 18,
        ("qa", "engineering"): 12,
        ("engineering", "product"): 10,
    },
    reopen_status="Reopened",
    agent_tiers=("reversible",),
    platform_team="engineering",
    ai_users=(("elena", "copilot", 0.3),),
    stall_stage="appsec",
    bounded_checks=True,
    late_rate=0.25,
    rates=_ro(
        {
            "ci_fix": 0.03,
            "rework_loop": 0.03,
            "round_trip": 0.1,
            "stall": 0.04,
            "revert": 0.025,
            "reopen": 0.03,
            "ping_pong": 0.025,
            "out_of_tier": 0.25,
            "no_approval": 0.1,
            "missing_two_humans": 0.05,
        }
    ),
    trends=(
        TrendDef("ci_fix", "rising", "SEC"),
        TrendDef("rework_loop", "declining", "APP"),
    ),
    high_stakes=("tokens",),
    irreversible=("admin",),
)

LINES = Shape(
    name="product-lines",
    title="Product lines at two paces",
    summary=(
        "Two product-line teams each build and review (two approvals) their own work; a shared "
        "QA team tests both lines, the web line's changes in hours and the data line's in days, "
        "with no expected time in the design; a shared ops team releases."
    ),
    structure="project_teams",
    stages=(
        StageDef("backlog", "intake", ("Backlog",), expected="2w", hours=12),
        StageDef("build", "build", ("In Progress",), performer="either", expected="10d"),
        StageDef(
            "review",
            "review",
            ("In Review",),
            performer="either",
            expected="1w",
            hours=5,
            approvals=2,
        ),
        StageDef("qa", "check", ("QA",), team="qa", expected="", hours=4),
        StageDef("release", "deploy", ("Done",), team="ops", expected="3d"),
    ),
    projects=(
        ProjectDef(
            "WEB", "Web storefront", ("cart", "search", "pages"), "storefront", "web", pace=0.5
        ),
        ProjectDef(
            "DW", "Data warehouse", ("ingest", "models", "exports"), "warehouse", "data", pace=6.0
        ),
    ),
    teams=(("web", 6), ("data", 5), ("qa", 3), ("ops", 3)),
    back=(("review", "build"), ("release", "build")),
    owned_seams=(
        ("web", "qa", "qa"),
        ("qa", "ops", "ops"),
    ),
    seam_hours={
        ("web", "qa"): 4,
        ("data", "qa"): 20,
        ("qa", "ops"): 6,
        ("ops", "web"): 8,
        ("ops", "data"): 8,
    },
    reopen_status="",
    agent_tiers=("reversible",),
    platform_team="ops",
    ai_users=(("hugo", "cursor", 0.3),),
    stall_stage="qa",
    bounded_checks=True,
    late_rate=0.25,
    rates=_ro(
        {
            "ci_fix": 0.03,
            "rework_loop": 0.03,
            "round_trip": 0.05,
            "stall": 0.08,
            "revert": 0.025,
            "reopen": 0.025,
            "ping_pong": 0.025,
            "out_of_tier": 0.25,
            "no_approval": 0.1,
            "missing_two_humans": 0.05,
        }
    ),
    trends=(
        TrendDef("ci_fix", "rising", "WEB", "cart"),
        TrendDef("rework_loop", "declining", "DW"),
    ),
    high_stakes=("search",),
    irreversible=("models",),
)

TRACKS = Shape(
    name="fix-and-feature",
    title="Fixes and features through one QA team",
    summary=(
        "Stage teams: product triages, engineering builds and reviews, one QA team tests every "
        "change -- a bug fix is re-tested in about an hour, a story or a task gets acceptance "
        "testing over days -- with no expected time for QA in the design; operations releases "
        "continuously. Both projects carry bugs and features."
    ),
    structure="stage_teams",
    stages=(
        _INTAKE,
        StageDef(
            "build",
            "build",
            ("In Progress",),
            team="engineering",
            performer="either",
            expected="1w",
        ),
        StageDef(
            "review",
            "review",
            ("In Review",),
            team="engineering",
            performer="either",
            expected="1w",
            hours=5,
        ),
        StageDef("qa", "check", ("In QA",), team="qa", expected="", hours=4),
        StageDef("release", "deploy", ("Done",), team="operations", performer="either"),
    ),
    projects=(
        ProjectDef("ORD", "Ordering", ("cart", "checkout", "payments"), "ordering"),
        ProjectDef(
            "MOB", "Mobile app", ("ios", "android", "notifications"), "mobile-app", weight=0.8
        ),
    ),
    teams=(("product", 3), ("engineering", 8), ("qa", 3), ("operations", 3)),
    back=(("review", "build"), ("release", "build")),
    owned_seams=(
        ("product", "engineering", "engineering"),
        ("engineering", "qa", "qa"),
        ("qa", "operations", "operations"),
    ),
    seam_hours={
        ("product", "engineering"): 8,
        ("engineering", "qa"): 3,
        ("qa", "operations"): 1.5,
        ("operations", "engineering"): 6,
    },
    reopen_status="Reopened",
    agent_tiers=("reversible",),
    platform_team="operations",
    ai_users=(("jamal", "claude", 0.3),),
    stall_stage="qa",
    bounded_checks=True,
    # a bug fix is re-tested against its report; a story or task is acceptance-tested
    type_pace=_ro({"Bug": 0.25, "Story": 6.0, "Task": 6.0}),
    rates=_ro(
        {
            "ci_fix": 0.03,
            "rework_loop": 0.03,
            "round_trip": 0.05,
            "stall": 0.1,
            "revert": 0.025,
            "reopen": 0.025,
            "ping_pong": 0.025,
            "out_of_tier": 0.25,
            "no_approval": 0.1,
            "missing_two_humans": 0.3,
        }
    ),
    trends=(
        TrendDef("ci_fix", "rising", "ORD", "checkout"),
        TrendDef("rework_loop", "declining", "MOB"),
    ),
    high_stakes=("payments",),
    irreversible=("android",),
)

AGENTIC = Shape(
    name="agentic",
    title="Agent-built delivery",
    summary=(
        "Stage teams where AI coding agents do much of the building: engineers assign "
        "reversible work to the sanctioned Copilot coding agent, whose draft pull requests "
        "people mark ready, review and operations merges; Automation for Jira moves work into "
        "review when a pull request asks for one; QA verifies. The design owns the handoff from "
        "people to agents, not the one back."
    ),
    structure="stage_teams",
    stages=(
        StageDef(
            "triage",
            "intake",
            ("Triage",),
            team="product",
            performer="either",
            expected="1w",
            hours=10,
        ),
        StageDef(
            "build",
            "build",
            ("In Progress",),
            team="engineering",
            performer="either",
            expected="1w",
        ),
        StageDef(
            "review",
            "review",
            ("In Review",),
            team="engineering",
            performer="either",
            expected="1w",
            hours=5,
            by_automation=True,  # a pull request asking for review moves the item
        ),
        StageDef("verify", "check", ("Verifying",), team="qa", expected="5d", hours=5),
        StageDef("release", "deploy", ("Done",), team="operations", expected="3d"),
    ),
    projects=(
        ProjectDef(
            "CORE", "Core API", ("accounts", "api", "billing", "search", "migrations"), "core-api"
        ),
        ProjectDef("WEB", "Web app", ("dashboard", "settings", "onboarding"), "webapp", weight=0.8),
        ProjectDef(
            "INFRA", "Infrastructure", ("terraform", "pipelines", "monitoring"), "infra", weight=0.6
        ),
    ),
    teams=(("product", 3), ("engineering", 7), ("qa", 3), ("operations", 3)),
    back=(("review", "build"), ("release", "build")),
    owned_seams=(
        ("product", "engineering", "engineering"),
        ("engineering", "qa", "qa"),
        ("operations", "engineering", "engineering"),
    ),
    seam_hours={
        ("product", "engineering"): 8,
        ("engineering", "qa"): 5,
        ("qa", "operations"): 18,
        ("operations", "engineering"): 6,
        # an agent's pull request waits this long for the first person to pick it up
        ("agent", "human"): 20,
    },
    reopen_status="Reopened",
    agent_tiers=("reversible",),
    coding_agent=True,
    coding_agent_tiers=("reversible",),
    delegate_rate=0.55,
    agent_seams=(("human", "agent"),),
    platform_team="engineering",
    ai_users=(("hugo", "claude", 0.3),),
    stall_stage="verify",
    bounded_checks=True,
    rates=_ro(
        {
            "ci_fix": 0.04,
            "rework_loop": 0.04,
            "round_trip": 0.03,
            "stall": 0.04,
            "revert": 0.02,
            "reopen": 0.03,
            "ping_pong": 0.02,
            "missing_two_humans": 0.3,
            "replaced": 0.07,
            "unregistered": 0.07,
            "agent_out_of_tier": 0.25,
            "agent_only_approval": 0.25,
        }
    ),
    trends=(
        TrendDef("ci_fix", "rising", "CORE"),
        TrendDef("rework_loop", "declining", "WEB"),
    ),
    high_stakes=("billing",),
    irreversible=("migrations", "terraform"),
)

KANBAN = Shape(
    name="kanban",
    title="Kanban across time zones",
    summary=(
        "A Kanban board (Backlog, Selected for Development, In Progress, Blocked, In Review, "
        "QA, Done): product in Berlin writes and selects the work, splitting stories into "
        "sub-tasks; engineering in Berlin builds and reviews, parking work in Blocked while it "
        "waits on someone, and reassigns the warehouse, event and search parts to the data team "
        "in Bangalore without moving the issue; QA in Sao Paulo tests, with no expected time in "
        "the design; operations in Berlin releases."
    ),
    structure="stage_teams",
    stages=(
        StageDef(
            "backlog",
            "intake",
            ("Backlog", "Selected for Development"),
            team="product",
            expected="2w",
            hours=10,
        ),
        StageDef(
            "build",
            "build",
            ("In Progress", "Blocked"),
            team="engineering",
            performer="either",
            expected="1w",
        ),
        StageDef(
            "review",
            "review",
            ("In Review",),
            team="engineering",
            performer="either",
            expected="1w",
            hours=5,
        ),
        StageDef("qa", "check", ("QA",), team="qa", expected="", hours=5),
        StageDef("release", "deploy", ("Done",), team="operations", expected="2d"),
    ),
    projects=(
        ProjectDef("SHOP", "Storefront", ("catalog", "cart", "checkout", "search"), "storefront"),
        ProjectDef("BI", "Insights", ("events", "reports", "warehouse"), "insights", weight=0.7),
    ),
    teams=(("product", 3), ("engineering", 7), ("data", 3), ("qa", 3), ("operations", 3)),
    back=(("review", "build"), ("release", "build")),
    owned_seams=(
        ("product", "engineering", "engineering"),
        ("engineering", "qa", "qa"),
        ("operations", "engineering", "engineering"),
    ),
    seam_hours={
        ("product", "engineering"): 8,
        ("engineering", "qa"): 4,
        ("qa", "operations"): 16,
        ("operations", "engineering"): 6,
        # reassigned to the data team in another time zone: it waits days for them
        ("engineering", "data"): 16,
        ("data", "engineering"): 5,
    },
    design_names_creation=False,
    team_tz=_ro_tz(
        {
            "product": "Europe/Berlin",
            "engineering": "Europe/Berlin",
            "data": "Asia/Kolkata",
            "qa": "America/Sao_Paulo",
            "operations": "Europe/Berlin",
        }
    ),
    subtask_rate=0.5,
    blocked_status="Blocked",
    blocked_rate=0.2,
    handoff_team="data",
    handoff_components=("warehouse", "search"),
    agent_tiers=("reversible",),
    platform_team="operations",
    ai_users=(("hugo", "claude", 0.3),),
    stall_stage="qa",
    bounded_checks=True,
    rates=_ro(
        {
            "ci_fix": 0.04,
            "rework_loop": 0.04,
            "stall": 0.1,
            "blocked": 0.12,
            "revert": 0.02,
            "reopen": 0.09,
            "ping_pong": 0.03,
            "out_of_tier": 0.25,
            "no_approval": 0.1,
            "missing_two_humans": 0.3,
        }
    ),
    trends=(
        TrendDef("ci_fix", "rising", "SHOP"),
        TrendDef("rework_loop", "declining", "BI"),
    ),
    high_stakes=("checkout",),
    irreversible=("warehouse",),
)

# ---------------------------------------------------------------- held out

REGULATED = Shape(
    name="regulated",
    title="Regulated delivery",
    summary=(
        "Seven stages with a dual-approval code review, a security review team and a "
        "change-approval board; the end status 'Released' is not in Jira's done category."
    ),
    structure="stage_teams",
    stages=(
        StageDef("intake", "intake", ("Open",), team="product", expected="1w", hours=10),
        StageDef(
            "build",
            "build",
            ("In Progress",),
            team="engineering",
            performer="either",
            expected="1w",
        ),
        StageDef(
            "review",
            "review",
            ("Code Review",),
            team="engineering",
            performer="either",
            expected="1w",
            approvals=2,
        ),
        StageDef(
            "security",
            "check",
            ("Security Review",),
            team="security",
            expected="8d",
            hours=10,
            profile="bimodal",
        ),
        StageDef("qa", "check", ("QA",), team="qa", expected="1w", hours=6),
        StageDef(
            "approval",
            "check",
            ("Change Approval",),
            team="compliance",
            expected="5d",
            hours=4,
        ),
        StageDef("release", "deploy", ("Released",), team="operations", expected="2d"),
    ),
    projects=(
        ProjectDef("CORE", "Core banking", ("accounts", "payments", "ledger", "api"), "core"),
        ProjectDef(
            "PORT", "Customer portal", ("portal", "statements", "web"), "portal", weight=0.8
        ),
    ),
    teams=(
        ("product", 3),
        ("engineering", 9),
        ("security", 2),
        ("qa", 3),
        ("compliance", 2),
        ("operations", 3),
    ),
    back=(("review", "build"), ("security", "build"), ("release", "build")),
    owned_seams=(
        ("product", "engineering", "engineering"),
        ("engineering", "security", "security"),
        ("security", "qa", "qa"),
        ("qa", "compliance", "compliance"),
        ("compliance", "operations", "operations"),
    ),
    seam_hours={
        ("engineering", "security"): 10,
        ("security", "qa"): 8,
        ("qa", "compliance"): 12,
        ("compliance", "operations"): 6,
        ("operations", "engineering"): 8,
        ("security", "engineering"): 6,
    },
    end_category="indeterminate",
    agent_tiers=("reversible",),
    platform_team="operations",
    ai_users=(("leon", "cursor", 0.35),),
    stall_stage="security",
    late_rate=0.25,
    rates=_ro(
        {
            "ci_fix": 0.03,
            "rework_loop": 0.03,
            "round_trip": 0.05,
            "stall": 0.04,
            "revert": 0.025,
            "reopen": 0.03,
            "ping_pong": 0.02,
            "out_of_tier": 0.25,
            "no_approval": 0.1,
            "missing_two_humans": 0.05,
            "skipped": 0.02,
        }
    ),
    trends=(
        TrendDef("ci_fix", "declining", "CORE", "payments"),
        TrendDef("rework_loop", "rising", "PORT"),
    ),
    high_stakes=("ledger",),
    irreversible=("accounts",),
)

FEDERATED = Shape(
    name="federated",
    title="Federated product teams",
    summary=(
        "Two product lines whose own teams triage, build and review; shared QA and "
        "operations teams test and ship; Automation for Jira closes merged work, a "
        "dependency bot merges nightly, a Slack app posts on a schedule, and the review "
        "agent is sanctioned for reversible and irreversible work; a fifteen-minute automated "
        "smoke test runs before QA."
    ),
    structure="hybrid",
    stages=(
        StageDef("triage", "intake", ("New",), expected="1w", hours=10),
        StageDef("build", "build", ("Doing", "Reopened"), performer="either", expected="1w"),
        StageDef(
            "review", "review", ("Peer Review",), performer="either", expected="1w", approvals=2
        ),
        StageDef(
            "smoke",
            "check",
            ("Smoke Test",),
            team="qa",
            performer="agent",
            expected="1h",
            profile="fixed",
            seconds=900,
            by_automation=True,
        ),
        StageDef("qa", "check", ("QA",), team="qa", expected="9d", hours=8, profile="bimodal"),
        StageDef("ship", "deploy", ("Closed",), team="operations", performer="either"),
    ),
    projects=(
        ProjectDef("SHOP", "Shop", ("cart", "checkout", "catalog", "search"), "shop", "shop"),
        ProjectDef("CRM", "CRM", ("contacts", "billing", "reports"), "crm", "crm", 0.8),
    ),
    teams=(("shop", 7), ("crm", 6), ("qa", 3), ("operations", 3)),
    back=(("review", "build"), ("qa", "build"), ("ship", "build")),
    owned_seams=(
        ("shop", "qa", "qa"),
        ("qa", "operations", "operations"),
        ("operations", "shop", "shop"),
    ),
    seam_hours={
        ("shop", "qa"): 6,
        ("crm", "qa"): 20,
        ("qa", "operations"): 12,
        ("operations", "shop"): 6,
        ("operations", "crm"): 10,
    },
    reopen_status="Reopened",
    automation_done=True,
    nightly_prs=True,
    slack_app="Release Radar",
    agent_tiers=("reversible", "irreversible"),
    platform_team="operations",
    ai_users=(("ines", "copilot", 0.25), ("elena", "claude", 0.5)),
    stall_stage="qa",
    late_rate=0.2,
    rates=_ro(
        {
            "ci_fix": 0.03,
            "rework_loop": 0.03,
            "round_trip": 0.05,
            "stall": 0.04,
            "revert": 0.03,
            "reopen": 0.03,
            "ping_pong": 0.03,
            "out_of_tier": 0.25,
            "no_approval": 0.1,
            "missing_two_humans": 0.05,
        }
    ),
    trends=(
        TrendDef("rework_loop", "rising", "SHOP", "checkout"),
        TrendDef("ci_fix", "declining", "CRM"),
    ),
    high_stakes=("billing",),
    irreversible=("contacts",),
)

MATRIX = Shape(
    name="matrix",
    title="Matrix organisation",
    summary=(
        "Eight stages across functional departments: product takes requests in, an architecture "
        "team reviews each design before build, a shared engineering team builds and reviews "
        "(two approvals) the People portal's and the analytics work while the Payroll project's "
        "own team builds and reviews its own; Automation for Jira runs a 25-minute integration "
        "suite and closes merged work, QA tests, operations verifies on staging and releases. A "
        "dependency bot merges nightly and a Slack app posts a weekly summary every Monday."
    ),
    structure="hybrid",
    stages=(
        StageDef("request", "intake", ("Open",), team="product", expected="1w", hours=10),
        StageDef(
            "design", "check", ("Design Review",), team="architecture", expected="10d", hours=6
        ),
        StageDef(
            "build",
            "build",
            ("In Progress",),
            team="engineering",
            performer="either",
            expected="10d",
        ),
        StageDef(
            "review",
            "review",
            ("Code Review",),
            team="engineering",
            performer="either",
            expected="1w",
            hours=5,
            approvals=2,
        ),
        StageDef(
            "integration",
            "check",
            ("Integration Tests",),
            team="qa",
            performer="agent",
            expected="",  # the design gives an automated suite no expected time
            profile="fixed",
            seconds=1500,
            by_automation=True,
        ),
        StageDef("qa", "check", ("Testing",), team="qa", expected="10d", hours=7),
        StageDef("staging", "check", ("Staging",), team="operations", expected="4d", hours=2),
        StageDef("release", "deploy", ("Done",), team="operations", expected="2d"),
    ),
    projects=(
        ProjectDef(
            "PAY",
            "Payroll",
            ("payslips", "tax", "bank-files", "payroll-api"),
            "payroll",
            "payroll",
            own_stages=("build", "review"),
        ),
        ProjectDef("HR", "People portal", ("profiles", "leave", "permissions", "web"), "people"),
        ProjectDef(
            "ANL",
            "Workforce analytics",
            ("pipelines", "reports", "exports"),
            "analytics",
            weight=0.7,
        ),
    ),
    teams=(
        ("product", 3),
        ("architecture", 2),
        ("engineering", 8),
        ("payroll", 5),
        ("qa", 3),
        ("operations", 3),
    ),
    back=(("review", "build"), ("release", "build")),
    owned_seams=(
        ("product", "architecture", "architecture"),
        ("architecture", "engineering", "engineering"),
        ("engineering", "qa", "qa"),
        ("qa", "operations", "operations"),
    ),
    seam_hours={
        ("product", "architecture"): 8,
        ("architecture", "engineering"): 6,
        ("architecture", "payroll"): 24,
        ("engineering", "qa"): 5,
        ("payroll", "qa"): 16,
        ("qa", "operations"): 6,
        ("product", "engineering"): 6,
        ("product", "payroll"): 12,
    },
    reopen_status="Reopened",
    automation_done=True,
    nightly_prs=True,
    slack_app="Sprint Pulse",
    slack_days=(0,),
    slack_hour=9.0,
    agent_tiers=("reversible",),
    platform_team="operations",
    ai_users=(("kaia", "cursor", 0.3), ("pablo", "claude", 0.55)),
    stall_stage="staging",
    bounded_checks=True,
    late_rate=0.2,
    rates=_ro(
        {
            "ci_fix": 0.04,
            "rework_loop": 0.03,
            "round_trip": 0.05,
            "stall": 0.04,
            "revert": 0.02,
            "reopen": 0.03,
            "ping_pong": 0.02,
            "out_of_tier": 0.2,
            "no_approval": 0.08,
            "missing_two_humans": 0.05,
        }
    ),
    trends=(
        TrendDef("ci_fix", "rising", "HR", "web"),
        TrendDef("rework_loop", "declining", "PAY"),
    ),
    high_stakes=("tax", "permissions"),
    irreversible=("bank-files", "exports"),
)

#: the shapes ``_flow`` plays (``stage-teams`` is ``_work``'s Acme)
FLOW_SHAPES: Mapping[str, Shape] = MappingProxyType(
    {
        s.name: s
        for s in (
            PROJECT_TEAMS,
            LEAN,
            PLATFORM,
            SECURE,
            LINES,
            TRACKS,
            AGENTIC,
            KANBAN,
            REGULATED,
            FEDERATED,
            MATRIX,
        )
    }
)

#: every shape, in the order ``wfmine simulate --shape`` lists them
SHAPES: tuple[str, ...] = ("stage-teams", *FLOW_SHAPES)

HELD_OUT_SHAPES: tuple[str, ...] = ("regulated", "federated", "matrix")
"""Shapes kept out of development: never run, inspect or tune a detector against them.

They exist so that quality tests can score detectors on organisations the
detectors were not developed against (several seeds each). Develop against
``stage-teams``, ``project-teams``, ``lean``, ``platform``, ``secure-delivery``,
``product-lines``, ``fix-and-feature``, ``agentic`` and ``kanban`` (``DEVELOPMENT_SHAPES``).
"""

DEVELOPMENT_SHAPES: tuple[str, ...] = tuple(s for s in SHAPES if s not in HELD_OUT_SHAPES)
