"""The source-neutral model of the simulated work: items, pull requests, messages, mail.

The generators (``_work`` for the stage-teams organisation, ``_flow`` for the
other shapes) fill it; the ``_jira``, ``_github``, ``_slack`` and ``_email``
modules write it in each system's export format.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

from wfmine.simulate._org import Org

BASE = datetime(2026, 1, 5, tzinfo=UTC)  # a Monday; no wall clock anywhere
PROJECT = "ACME"

# status name -> (id, category key)
STATUSES: dict[str, tuple[str, str]] = {
    "Open": ("10000", "new"),
    "Triage": ("10001", "new"),
    "In Progress": ("3", "indeterminate"),
    "In Review": ("10002", "indeterminate"),
    "QA": ("10003", "indeterminate"),
    "Done": ("10004", "done"),
}
REPOS: tuple[str, ...] = ("api", "web", "infra")
COMPONENT_REPO = {"api": "api", "billing": "api", "database": "api", "web": "web", "infra": "infra"}

HIGH_STAKES_LABELS = ("security", "payments")
HIGH_STAKES_COMPONENTS = ("billing",)
IRREVERSIBLE_LABELS = ("migration",)
IRREVERSIBLE_COMPONENTS = ("database",)


def risk_tier(labels: list[str], components: list[str]) -> str:
    """The item's risk tier, by the rules written into design.yaml."""
    if any(x in HIGH_STAKES_LABELS for x in labels) or any(
        c in HIGH_STAKES_COMPONENTS for c in components
    ):
        return "high_stakes"
    if any(x in IRREVERSIBLE_LABELS for x in labels) or any(
        c in IRREVERSIBLE_COMPONENTS for c in components
    ):
        return "irreversible"
    return "reversible"


@dataclass
class Change:
    field: str
    field_id: str | None
    from_: str | None
    from_string: str | None
    to: str | None
    to_string: str | None
    fieldtype: str = "jira"


@dataclass
class History:
    t: datetime
    author: str
    items: list[Change]


@dataclass
class JComment:
    t: datetime
    author: str
    text: str


@dataclass
class Commit:
    sha: str
    t: datetime
    author: str
    message: str
    parent: str


@dataclass
class Review:
    id: int
    t: datetime
    reviewer: str
    state: str
    body: str
    commit_id: str


@dataclass
class ReviewComment:
    id: int
    review_id: int
    t: datetime
    author: str
    body: str
    path: str
    line: int
    commit_id: str


@dataclass
class IssueComment:
    id: int
    t: datetime
    author: str
    body: str


@dataclass
class GhEvent:
    id: int
    t: datetime
    actor: str
    event: str
    extra: dict[str, str] = field(default_factory=dict)


@dataclass
class Check:
    id: int
    sha: str
    name: str
    started: datetime
    completed: datetime
    conclusion: str


@dataclass
class PullRequest:
    repo: str
    number: int
    id: int
    title: str
    body: str
    author: str
    branch: str
    created: datetime
    labels: list[str]
    key: str | None
    commits: list[Commit] = field(default_factory=list)
    reviews: list[Review] = field(default_factory=list)
    review_comments: list[ReviewComment] = field(default_factory=list)
    issue_comments: list[IssueComment] = field(default_factory=list)
    events: list[GhEvent] = field(default_factory=list)
    checks: list[Check] = field(default_factory=list)
    requested: list[str] = field(default_factory=list)
    merged_at: datetime | None = None
    merged_by: str | None = None
    closed_at: datetime | None = None
    merge_sha: str | None = None
    base_sha: str = ""
    is_issue: bool = False  # a plain GitHub issue (tracking issue), not a PR
    #: opened as a draft, until this moment (its ``ready_for_review`` event); None: never a draft
    draft_until: datetime | None = None
    #: actor ids the pull request is assigned to
    assignees: list[str] = field(default_factory=list)


@dataclass
class Item:
    key: str
    num: int
    summary: str
    description: str
    itype: str
    priority: str
    labels: list[str]
    components: list[str]
    tier: str
    reporter: str
    created: datetime
    histories: list[History] = field(default_factory=list)
    comments: list[JComment] = field(default_factory=list)
    prs: list[PullRequest] = field(default_factory=list)
    #: a Jira sub-task's parent issue key (None: a work item of its own)
    parent: str | None = None
    #: the status the issue is created in ("": the layout's initial status)
    initial_status: str = ""


@dataclass
class SlackMsg:
    channel: str
    t: datetime
    user: str  # actor id
    text: str
    uid: int
    parent: int | None = None  # uid of the thread parent
    bot: bool = False


@dataclass
class Mail:
    t: datetime
    sender: str  # actor id
    to: list[str]
    cc: list[str]
    subject: str
    body: str
    msgid: str
    parent: Mail | None = None
    auto: bool = False
    list_id: str | None = None


@dataclass
class Truth:
    shadow: dict[str, dict[str, object]] = field(default_factory=dict)
    # AI-signed commits (actor id, tool, pull request, commit time); they become
    # ground truth only where the exports show them (see ``Simulator.run``)
    signed: list[tuple[str, str, PullRequest, datetime]] = field(default_factory=list)
    seam_cases: dict[tuple[str, str], list[str]] = field(default_factory=dict)
    failures: dict[str, list[str]] = field(default_factory=dict)
    gates: list[dict[str, str]] = field(default_factory=list)
    deviations: list[dict[str, str]] = field(default_factory=list)


@dataclass(frozen=True)
class Layout:
    """How the organisation's systems are set up: what the export writers need to know.

    The defaults are the stage-teams organisation's (Acme's) set-up.
    """

    statuses: Mapping[str, tuple[str, str]] = field(default_factory=lambda: dict(STATUSES))
    initial_status: str = "Open"
    #: project key -> (id, name)
    projects: Mapping[str, tuple[str, str]] = field(
        default_factory=lambda: {PROJECT: ("10000", "Acme Platform")}
    )
    #: component name -> id
    components: Mapping[str, str] = field(
        default_factory=lambda: {
            "api": "10100",
            "web": "10101",
            "billing": "10102",
            "database": "10103",
            "infra": "10104",
        }
    )
    repos: tuple[str, ...] = REPOS
    #: Slack channel -> the team it belongs to
    channels: Mapping[str, str] = field(
        default_factory=lambda: {
            "product": "product",
            "engineering": "engineering",
            "qa": "qa",
            "operations": "operations",
            "support": "support",
            "incidents": "operations",
        }
    )
    #: the workspace owner (creator of the channels)
    slack_owner: str = "viktor"


@dataclass
class World:
    org: Org
    items: list[Item]
    prs: dict[str, list[PullRequest]]
    slack: list[SlackMsg]
    mails: list[Mail]
    truth: Truth
    end: datetime
    seed: int
    months: int
    layout: Layout = field(default_factory=Layout)


def keynum(key: str) -> int:
    """The number of a work-item key (``ACME-12`` -> 12), for sorting keys as Jira does."""
    return int(key.rsplit("-", 1)[1])
