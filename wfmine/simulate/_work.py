"""The work itself: work items flowing through triage, build, review, QA and deploy.

This module produces a source-neutral model (items, pull requests, Slack
messages, e-mails) plus the ground truth of every planted problem; the
``_jira``, ``_github``, ``_slack`` and ``_email`` modules write it in each
system's export format.
"""

from __future__ import annotations

import hashlib
import math
import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from wfmine.simulate._config import SimConfig, Trend
from wfmine.simulate._org import GITHUB_ORG, JIRA_BASE, Actor, Org

UTC = UTC
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


# ---------------------------------------------------------------- model


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


# ---------------------------------------------------------------- time


@lru_cache(maxsize=64)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


class Clock:
    """Timestamps: working hours in each person's time zone; any time for automation."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    def snap(self, t: datetime, a: Actor) -> datetime:
        if a.kind != "human" or a.extra.get("shadow"):
            return t
        tz = _zone(a.tz)
        loc = t.astimezone(tz)
        for _ in range(14):
            hour = loc.hour + loc.minute / 60
            if loc.weekday() >= 5:
                nxt = (loc + timedelta(days=7 - loc.weekday())).replace(
                    hour=0, minute=0, second=0, microsecond=0
                )
                loc = nxt + timedelta(
                    hours=a.start_hour,
                    minutes=self.rng.uniform(0, 55),
                    seconds=self.rng.uniform(0, 59),
                )
                continue
            if hour < a.start_hour:
                loc = loc.replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(
                    hours=a.start_hour,
                    minutes=self.rng.uniform(0, 50),
                    seconds=self.rng.uniform(0, 59),
                )
                continue
            if hour >= a.end_hour:
                if hour < a.end_hour + 2.5 and self.rng.random() < 0.12:
                    break  # some evening work
                nxt = (loc + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
                loc = nxt + timedelta(
                    hours=a.start_hour,
                    minutes=self.rng.uniform(0, 55),
                    seconds=self.rng.uniform(0, 59),
                )
                continue
            break
        return loc.astimezone(UTC).replace(microsecond=0)

    def human(self, t: datetime, a: Actor, hours: float, spread: float = 0.6) -> datetime:
        """``a`` acts about ``hours`` working hours after ``t``."""
        d = self.rng.lognormvariate(math.log(max(hours, 0.01)), spread)
        # convert working hours to calendar time roughly: 9 working hours per day
        cal = d if d < 6 else d * 24 / 9
        return self.snap(t + timedelta(hours=cal), a)

    def bot(self, t: datetime, lo: float, hi: float) -> datetime:
        return (t + timedelta(seconds=self.rng.uniform(lo, hi))).replace(microsecond=0)


# ---------------------------------------------------------------- text

_SUBJECTS = (
    "invoice export",
    "login page",
    "password reset",
    "search results",
    "order history",
    "user profile",
    "notification settings",
    "billing dashboard",
    "API rate limits",
    "webhook retries",
    "CSV import",
    "audit log",
    "team invitations",
    "SSO configuration",
    "payment retries",
    "session timeout",
    "report scheduler",
    "mobile layout",
    "dark mode",
    "data retention",
    "tax calculation",
    "subscription upgrade",
    "refund flow",
    "account deletion",
    "email templates",
    "file uploads",
)
_STORY_VERBS = ("Add", "Support", "Improve", "Redesign", "Allow filtering in", "Paginate", "Cache")
_BUG_FORMS = (
    "{s} fails with 500 for some customers",
    "{s} shows wrong totals",
    "{s} times out on large accounts",
    "{s} broken after last release",
    "Customers cannot use {s}",
    "{s} returns duplicate rows",
)
_TASK_FORMS = (
    "Migrate {s} to new schema",
    "Refactor {s} module",
    "Upgrade library used by {s}",
    "Add metrics for {s}",
)
_FILES = {
    "api": (
        "src/api/handlers.py",
        "src/api/models.py",
        "src/billing/invoice.py",
        "migrations/0042_schema.py",
        "tests/test_api.py",
    ),
    "web": (
        "src/components/Table.tsx",
        "src/pages/Settings.tsx",
        "src/lib/client.ts",
        "tests/e2e/settings.spec.ts",
    ),
    "infra": ("terraform/prod/main.tf", "helm/api/values.yaml", "ci/pipeline.yml"),
}
_REVIEW_NITS = (
    "Could we add a test for the empty case?",
    "Nit: naming — `data` is a bit vague here.",
    "This query runs per row; can we batch it?",
    "Please handle the None case.",
    "Let's log at debug level here.",
    "Is this covered by the existing migration?",
)
_BOT_REVIEW = (
    "Automated review: no blocking issues found. 2 suggestions inline.",
    "Automated review: looks good. Consider adding a test for the error path.",
    "Automated review: no issues found.",
)


def slugify(text: str) -> str:
    out = "".join(c.lower() if c.isalnum() else "-" for c in text)
    while "--" in out:
        out = out.replace("--", "-")
    return out.strip("-")[:40].strip("-")


def jira_url(key: str) -> str:
    return f"{JIRA_BASE}/browse/{key}"


def pr_url(repo: str, number: int) -> str:
    return f"https://github.com/{GITHUB_ORG}/{repo}/pull/{number}"


# ---------------------------------------------------------------- generator


def _trend_weight(trend: Trend, frac: float) -> float:
    if trend == "rising":
        return 0.2 + 1.6 * frac
    if trend == "declining":
        return 1.8 - 1.6 * frac
    return 1.0


class Simulator:
    def __init__(self, org: Org, seed: int, n_items: int, months: int, cfg: SimConfig) -> None:
        self.org = org
        self.seed = seed
        self.n = n_items
        self.months = months
        self.cfg = cfg
        self.rng = random.Random(seed)
        self.clock = Clock(self.rng)
        self.end = BASE + timedelta(days=round(months * 30.4))
        self.items: list[Item] = []
        self.prs: dict[str, list[PullRequest]] = {r: [] for r in REPOS}
        self.pr_counter = {r: 0 for r in REPOS}
        self.slack: list[SlackMsg] = []
        self.mails: list[Mail] = []
        self.truth = Truth()
        self.ids = {
            "pr": 1_900_000_000,
            "review": 2_400_000_000,
            "rc": 1_700_000_000,
            "ic": 2_500_000_000,
            "ev": 15_000_000_000,
            "check": 30_000_000_000,
            "msg": 0,
        }
        self.head = {r: self._sha("root", r) for r in REPOS}
        self.eng = org.team("engineering")
        self.qa = org.team("qa")
        self.ops = org.team("operations")
        self.support = org.team("support")
        self.product = org.team("product")

    # -- helpers
    def _id(self, kind: str) -> int:
        self.ids[kind] += 1 + (self.rng.randrange(7) if kind != "msg" else 0)
        return self.ids[kind]

    def _sha(self, *parts: object) -> str:
        return hashlib.sha1(("|".join(map(str, (self.seed, *parts)))).encode()).hexdigest()

    def _pick(self, people: list[Actor], exclude: tuple[str, ...] = ()) -> Actor:
        pool = [p for p in people if p.id not in exclude]
        return self.rng.choice(pool)

    def a(self, actor_id: str) -> Actor:
        return self.org[actor_id]

    def _frac(self, t: datetime) -> float:
        return min(max((t - BASE) / (self.end - BASE), 0.0), 1.0)

    def _msg(
        self,
        channel: str,
        t: datetime,
        user: str,
        text: str,
        parent: SlackMsg | None = None,
        bot: bool = False,
    ) -> SlackMsg:
        m = SlackMsg(channel, t, user, text, self._id("msg"), parent.uid if parent else None, bot)
        self.slack.append(m)
        return m

    def _mail(
        self,
        t: datetime,
        sender: str,
        to: list[str],
        subject: str,
        body: str,
        *,
        parent: Mail | None = None,
        cc: list[str] | None = None,
        auto: bool = False,
        list_id: str | None = None,
    ) -> Mail:
        mid = f"<{self._sha('mail', len(self.mails), subject)[:20]}@{'mail.' if auto else ''}acme.example>"
        m = Mail(t, sender, to, cc or [], subject, body, mid, parent, auto, list_id)
        self.mails.append(m)
        return m

    @staticmethod
    def _status(t: datetime, who: str, frm: str, to: str) -> History:
        return History(
            t, who, [Change("status", "status", STATUSES[frm][0], frm, STATUSES[to][0], to)]
        )

    def _assign(self, t: datetime, who: str, frm: Actor | None, to: Actor | None) -> History:
        return History(
            t,
            who,
            [
                Change(
                    "assignee",
                    "assignee",
                    frm.jira if frm else None,
                    frm.name if frm else None,
                    to.jira if to else None,
                    to.name if to else None,
                )
            ],
        )

    # -- planning
    def _plan(self, created: datetime, tier: str, eligible: bool) -> tuple[str, str] | None:
        """At most one planted problem per item: (family, type)."""
        if not eligible:
            return None
        frac = self._frac(created)
        choices: list[tuple[str, str, float]] = []
        for ftype, rate in self.cfg.failure_rates.items():
            trend = self.cfg.failure_trends.get(ftype, "stable")
            choices.append(("failure", ftype, rate * _trend_weight(trend, frac)))
        g = self.cfg.gate_rates
        if tier == "high_stakes":
            choices.append(("gate", "missing_two_humans", g.get("missing_two_humans", 0.0)))
        if tier == "irreversible":
            choices.append(("gate", "agent_only_approval", g.get("agent_only_approval", 0.0)))
        if tier != "reversible":
            for gt in ("self_approval", "approval_after_merge", "no_approval"):
                choices.append(("gate", gt, g.get(gt, 0.0)))
        for dt, rate in self.cfg.deviation_rates.items():
            choices.append(("deviation", dt, rate))
        u = self.rng.random()
        acc = 0.0
        for fam, typ, rate in choices:
            acc += rate
            if u < acc:
                return fam, typ
        return None

    # -- the run
    def run(self) -> World:
        span = (self.end - timedelta(days=10)) - BASE
        starts = sorted(self.rng.random() for _ in range(self.n))
        dep_next = BASE + timedelta(days=3)
        nightly = self.cfg.shadow_agents
        if nightly:
            self._tracking_issue()
        for i, s in enumerate(starts, start=1):
            t = BASE + span * s
            while dep_next < t:
                self._dependabot(dep_next)
                dep_next += timedelta(days=self.rng.uniform(9, 16))
            self._item(i, t)
        if self.cfg.shadow_agents:
            self._slack_shadow()
        self._chatter()
        for actor_id, tool, pr, t in self.truth.signed:
            if t > self.end or pr.created > self.end:
                continue  # not in the exports
            entry = self.truth.shadow.setdefault(
                actor_id,
                {
                    "actor": actor_id,
                    "type": "ai_signature",
                    "tool": tool,
                    "accounts": [f"github:{self.a(actor_id).github}"],
                    "stages": ["build"],
                    "cases": [],
                },
            )
            cases = entry["cases"]
            assert isinstance(cases, list)
            if pr.key:
                cases.append(pr.key)
        for p in self.truth.shadow.values():
            cases = p.get("cases")
            if isinstance(cases, list):
                p["cases"] = sorted(set(cases), key=_keynum)
        return World(
            self.org,
            self.items,
            self.prs,
            self.slack,
            self.mails,
            self.truth,
            self.end,
            self.seed,
            self.months,
        )

    # -- one work item
    def _item(self, num: int, created: datetime) -> None:
        rng = self.rng
        cfg = self.cfg
        key = f"{PROJECT}-{num}"
        r = rng.random()
        if r < 0.4:
            itype, reporter = "Bug", self._pick(self.support)
        elif r < 0.85:
            itype, reporter = "Story", self._pick(self.product)
        else:
            itype, reporter = "Task", self._pick(self.product)
        created = self.clock.snap(created, reporter)
        subj = rng.choice(_SUBJECTS)
        if itype == "Bug":
            summary = rng.choice(_BUG_FORMS).format(s=subj).capitalize()
        elif itype == "Story":
            summary = f"{rng.choice(_STORY_VERBS)} {subj}"
        else:
            summary = rng.choice(_TASK_FORMS).format(s=subj)
        # components, labels -> tier
        u = rng.random()
        labels: list[str] = []
        if u < cfg.high_stakes_share:
            if rng.random() < 0.5:
                components = ["billing"]
                labels = ["payments"] if rng.random() < 0.5 else []
            else:
                components = [rng.choice(["api", "web", "infra"])]
                labels = ["security"]
        elif u < cfg.high_stakes_share + cfg.irreversible_share:
            if rng.random() < 0.5:
                components = ["database"]
            else:
                components = ["api"]
                labels = ["migration"]
        else:
            components = [rng.choices(["api", "web", "infra"], weights=[5, 4, 1])[0]]
        if itype == "Bug":
            labels.append("customer")
        tier = risk_tier(labels, components)
        priority = rng.choices(["Low", "Medium", "High", "Highest"], weights=[2, 6, 3, 1])[0]
        item = Item(
            key,
            num,
            summary,
            f"{summary}.\n\nReported by {reporter.name}.",
            itype,
            priority,
            sorted(labels),
            components,
            tier,
            reporter.id,
            created,
        )
        self.items.append(item)
        repo = COMPONENT_REPO[components[0]]

        eligible = created < self.end - timedelta(days=55)
        plan = self._plan(created, tier, eligible)
        fam, ptype = plan if plan else ("", "")
        escalated = itype == "Bug" and eligible and not plan and rng.random() < cfg.escalation_rate
        copilot = (
            not escalated
            and tier == "reversible"
            and rng.random() < cfg.copilot_rate
            and ptype not in ("ping_pong", "self_approval")
        )

        eng = self._pick(self.eng)
        t = created
        if self.rng.random() < 0.35 and itype != "Bug":
            bot_t = self.clock.bot(t, 2, 9)
            self._msg(
                "product",
                bot_t,
                "slack-jira",
                f"*{reporter.name}* created <{jira_url(key)}|{key}: {summary}>",
                bot=True,
            )
        if not escalated:
            t = self.clock.bot(t, 8, 50)
            item.histories.append(self._status(t, "jira-automation", "Open", "Triage"))
            pm = self.org.lead("product") if rng.random() < 0.6 else self._pick(self.product)
            t = self.clock.human(t, pm, 5)
            h = self._assign(t, pm.id, None, eng)
            if rng.random() < 0.3:
                h.items.append(Change("priority", "priority", "3", "Medium", "2", priority))
            item.histories.append(h)
            if rng.random() < 0.3:
                item.comments.append(
                    JComment(
                        self.clock.human(t, pm, 0.05, 0.3),
                        pm.id,
                        f"Triaged: {priority} priority, {components[0]} component. Over to {eng.name}.",
                    )
                )
            if rng.random() < 0.25:
                self._mail(
                    self.clock.bot(t, 3, 30),
                    "slack-jira",
                    [eng.id],
                    f"[JIRA] {pm.name} assigned {key} to you",
                    f"{pm.name} assigned {key} to {eng.name}.\n\n{key}: {summary}\n{jira_url(key)}\n",
                    auto=True,
                )
            t = self.clock.human(t, eng, 12)
        else:
            sup = reporter
            lead = self.org.lead("engineering")
            t1 = self.clock.human(t, sup, 0.4)
            self._msg(
                "support",
                t1,
                sup.id,
                f"Customer escalation on {jira_url(key)} — emailing engineering directly, this can't wait for triage.",
            )
            m1 = self._mail(
                self.clock.human(t1, sup, 0.1),
                sup.id,
                [lead.id, eng.id],
                f"Escalation: {key} {summary}",
                f"Hi {lead.name.split()[0]},\n\na key customer is blocked by {key} ({jira_url(key)}).\n"
                f"Can someone in engineering pick this up?\n\nThanks,\n{sup.name}\n",
                cc=[self.org.lead("support").id] if sup.id != self.org.lead("support").id else [],
            )
            t2 = self.clock.human(m1.t, eng, 30, 0.4)  # the seam nobody owns: long wait
            m2 = self._mail(
                t2,
                eng.id,
                [sup.id],
                f"Re: Escalation: {key} {summary}",
                f"Sorry for the delay, I'll take {key}.\n\n{eng.name}\n",
                parent=m1,
            )
            self._mail(
                self.clock.human(t2, sup, 1),
                sup.id,
                [eng.id],
                f"Re: Escalation: {key} {summary}",
                "Thank you!\n",
                parent=m2,
            )
            t = self.clock.human(t2, eng, 0.3)
            item.histories.append(self._assign(t, eng.id, None, eng))
            t = self.clock.human(t, eng, 0.2)
            self.truth.seam_cases.setdefault(("support", "engineering"), []).append(key)
        # build
        item.histories.append(
            self._status(t, eng.id, "Open" if escalated else "Triage", "In Progress")
        )
        if ptype == "ping_pong":
            other = self._pick(self.eng, (eng.id,))
            cur = eng
            tt = t
            for _ in range(rng.randint(3, 5)):
                nxt = other if cur is eng else eng
                tt = self.clock.human(tt, cur, 6)
                item.histories.append(self._assign(tt, cur.id, cur, nxt))
                item.comments.append(
                    JComment(
                        self.clock.bot(tt, 20, 200),
                        cur.id,
                        f"{nxt.name.split()[0]}, this one is more yours — reassigning.",
                    )
                )
                cur = nxt
            eng = cur
            t = tt
            self.truth.failures.setdefault("ping_pong", []).append(key)
        author = self.a("copilot") if copilot else eng
        if copilot:
            tc = self.clock.human(t, eng, 0.3)
            item.comments.append(
                JComment(tc, eng.id, "Delegated to the Copilot coding agent; I'll review the PR.")
            )
            t = self.clock.bot(tc, 60, 600)
        pr = self._open_pr(item, repo, author, t, eng, copilot, ptype)
        if ptype == "abandoned":
            self.truth.failures.setdefault("abandoned", []).append(key)
            return
        self._review_and_ship(item, pr, eng, fam, ptype)

    # -- pull requests
    def _new_pr(
        self,
        repo: str,
        title: str,
        body: str,
        author: str,
        branch: str,
        t: datetime,
        labels: list[str],
        key: str | None,
    ) -> PullRequest:
        self.pr_counter[repo] += 1 + (
            1 if self.rng.random() < 0.15 else 0
        )  # gaps: GitHub issues share numbers
        pr = PullRequest(
            repo, self.pr_counter[repo], self._id("pr"), title, body, author, branch, t, labels, key
        )
        pr.base_sha = self.head[repo]
        self.prs[repo].append(pr)
        return pr

    def _commit(self, pr: PullRequest, t: datetime, author: Actor, message: str) -> Commit:
        parent = pr.commits[-1].sha if pr.commits else pr.base_sha
        sha = self._sha("commit", pr.repo, pr.number, len(pr.commits), message)
        msg = message
        if self.cfg.shadow_agents and author.id in ("kenji", "lukas"):
            start = 0.25 if author.id == "kenji" else 0.45
            if self._frac(t) > start and self.rng.random() < self.cfg.ai_signature_rate:
                if author.id == "kenji":
                    msg += (
                        "\n\n🤖 Generated with [Claude Code](https://claude.com/claude-code)\n\n"
                        "Co-Authored-By: Claude <noreply@anthropic.com>"
                    )
                    tool = "claude"
                else:
                    msg += "\n\nCo-authored-by: Cursor Agent <cursoragent@cursor.com>"
                    tool = "cursor"
                self.truth.signed.append((author.id, tool, pr, t))
        c = Commit(sha, t, author.id, msg, parent)
        pr.commits.append(c)
        return c

    def _check(self, pr: PullRequest, sha: str, t: datetime, ok: bool) -> datetime:
        start = self.clock.bot(t, 5, 40)
        done = self.clock.bot(start, 150, 540)
        pr.checks.append(
            Check(
                self._id("check"),
                sha,
                "build-and-test",
                start,
                done,
                "success" if ok else "failure",
            )
        )
        return done

    def _open_pr(
        self,
        item: Item,
        repo: str,
        author: Actor,
        t: datetime,
        eng: Actor,
        copilot: bool,
        ptype: str,
    ) -> PullRequest:
        rng = self.rng
        slug = slugify(item.summary)
        branch = f"copilot/{item.key.lower()}-{slug}" if copilot else f"feature/{item.key}-{slug}"
        title = f"{item.key}: {item.summary}"
        body = f"Closes [{item.key}]({jira_url(item.key)}).\n\n## Changes\n- {item.summary}\n"
        if copilot:
            body += f"\nCreated by the Copilot coding agent on behalf of @{eng.github}.\n"
        n = rng.randint(1, 4)
        tt = t
        commits: list[tuple[datetime, str]] = []
        for j in range(n):
            tt = self.clock.bot(tt, 300, 3600) if copilot else self.clock.human(tt, author, 2.5)
            verb = (
                "Implement"
                if j == 0
                else rng.choice(["Fix tests for", "Refine", "Handle edge cases in", "Clean up"])
            )
            msg = (
                f"{item.key}: {verb} {item.summary[0].lower()}{item.summary[1:]}"
                if (j == 0 or rng.random() < 0.6)
                else f"{verb} {slugify(item.summary).replace('-', ' ')}"
            )
            commits.append((tt, msg))
        opened = self.clock.bot(tt, 600, 1800) if copilot else self.clock.human(tt, author, 0.4)
        pr = self._new_pr(repo, title, body, author.id, branch, opened, list(item.labels), item.key)
        item.prs.append(pr)
        for ct, msg in commits:
            c = self._commit(pr, ct, author, msg)
        # CI runs on the pushed head; the PR is opened once it is green
        ci_done = self._check(pr, c.sha, c.t, True)
        if opened <= ci_done:
            opened = self.clock.bot(ci_done, 20, 240)
            opened = opened if copilot else self.clock.snap(opened, author)
            pr.created = opened
        # review requests
        reviewers = ["reviewbot"]
        pr.requested = reviewers
        pr.events.append(
            GhEvent(
                self._id("ev"),
                self.clock.bot(opened, 1, 4),
                author.id,
                "review_requested",
                {"requested_reviewer": "reviewbot"},
            )
        )
        if pr.labels:
            pr.events.append(
                GhEvent(
                    self._id("ev"),
                    self.clock.bot(opened, 1, 3),
                    author.id,
                    "labeled",
                    {"label": pr.labels[0]},
                )
            )
        # the undeclared automation comments within a minute, 24x7
        if self.cfg.shadow_agents and self._frac(opened) > 0.12 and rng.random() < 0.5:
            self._shadow_comment(pr, opened)
        return pr

    def _shadow_comment(self, pr: PullRequest, t: datetime) -> None:
        ct = self.clock.bot(t, 18, 55)
        n_issues = self.rng.choice([0, 0, 0, 1, 2])
        pr.issue_comments.append(
            IssueComment(
                self._id("ic"),
                ct,
                "jdoyle",
                f"Static analysis report for {pr.commits[-1].sha[:7] if pr.commits else 'HEAD'}: {n_issues} new issues, "
                f"coverage {self.rng.choice(['+0.1', '+0.3', '-0.2', '0.0'])}%.",
            )
        )
        entry = self.truth.shadow.setdefault(
            "jdoyle",
            {
                "actor": "jdoyle",
                "type": "undeclared_automation",
                "accounts": ["github:jdoyle"],
                "stages": ["review"],
                "cases": [],
            },
        )
        cases = entry["cases"]
        assert isinstance(cases, list)
        if pr.key and ct <= self.end and pr.created <= self.end:
            cases.append(pr.key)

    def _bot_review(self, pr: PullRequest, t: datetime, state: str) -> Review:
        rv = Review(
            self._id("review"),
            t,
            "reviewbot",
            state,
            self.rng.choice(_BOT_REVIEW),
            pr.commits[-1].sha,
        )
        pr.reviews.append(rv)
        files = _FILES[pr.repo]
        for _ in range(self.rng.choice([0, 1, 1, 2])):
            pr.review_comments.append(
                ReviewComment(
                    self._id("rc"),
                    rv.id,
                    t,
                    "reviewbot",
                    "Suggestion: " + self.rng.choice(_REVIEW_NITS),
                    self.rng.choice(files),
                    self.rng.randint(5, 240),
                    rv.commit_id,
                )
            )
        return rv

    def _human_review(
        self, pr: PullRequest, who: Actor, t: datetime, state: str, body: str = ""
    ) -> Review:
        if not body:
            body = {
                "APPROVED": self.rng.choice(
                    ["LGTM", "Looks good to me.", "Approved, nice work.", ""]
                ),
                "CHANGES_REQUESTED": "A few things to fix before this can go in.",
                "COMMENTED": "Left a couple of questions.",
            }[state]
        rv = Review(self._id("review"), t, who.id, state, body, pr.commits[-1].sha)
        pr.reviews.append(rv)
        if state != "APPROVED":
            for _ in range(self.rng.randint(1, 3)):
                pr.review_comments.append(
                    ReviewComment(
                        self._id("rc"),
                        rv.id,
                        t,
                        who.id,
                        self.rng.choice(_REVIEW_NITS),
                        self.rng.choice(_FILES[pr.repo]),
                        self.rng.randint(5, 240),
                        rv.commit_id,
                    )
                )
        return rv

    def _review_and_ship(
        self, item: Item, pr: PullRequest, eng: Actor, fam: str, ptype: str
    ) -> None:
        rng = self.rng
        key = item.key
        tier = item.tier
        author = self.a(pr.author)
        opened = pr.created
        # agent review first: approves reversible work, comments otherwise
        bot_state = "APPROVED" if tier == "reversible" else rng.choice(["COMMENTED", "APPROVED"])
        if ptype == "agent_only_approval":
            bot_state = "APPROVED"
        if ptype == "no_approval":
            bot_state = "COMMENTED"
        bt = self.clock.bot(opened, 60, 240)
        self._bot_review(pr, bt, bot_state)
        t = (
            self.clock.human(opened, eng, 0.3)
            if author.id == "copilot"
            else self.clock.human(opened, eng, 0.15)
        )
        t = max(t, bt + timedelta(seconds=30))
        item.histories.append(self._status(t, eng.id, "In Progress", "In Review"))
        if rng.random() < 0.45:
            m = self._msg(
                "engineering",
                self.clock.bot(t, 20, 300),
                eng.id,
                f"PR for {key} is up for review: {pr_url(pr.repo, pr.number)}",
            )
            rev = self._pick(self.eng, (eng.id,))
            self._msg("engineering", self.clock.human(m.t, rev, 1), rev.id, "On it 👀", parent=m)
        # CI failures that need fixing
        if ptype == "ci_fix":
            tt = t
            for _ in range(rng.randint(2, 3)):
                c = self._commit(
                    pr,
                    self.clock.human(tt, author if author.kind == "human" else eng, 1.5),
                    author if author.kind == "human" else eng,
                    f"{key}: Follow-up for {slugify(item.summary).replace('-', ' ')}",
                )
                done = self._check(pr, c.sha, c.t, False)
                fix = self._commit(
                    pr,
                    self.clock.human(done, eng, 1.2),
                    eng,
                    f"Fix CI: {rng.choice(['flaky test', 'lint errors', 'type errors', 'failing unit test'])}",
                )
                tt = self._check(pr, fix.sha, fix.t, True)
            rv = self._bot_review(pr, self.clock.bot(tt, 60, 240), bot_state)  # re-review on push
            t = rv.t
            self.truth.failures.setdefault("ci_fix", []).append(key)
        # human reviewers
        exclude = (author.id, eng.id) if author.id == "copilot" else (author.id,)
        r1 = self._pick(self.eng, exclude)
        r2 = self._pick(self.eng, (*exclude, r1.id))
        if ptype == "rework_loop":
            for _ in range(rng.randint(2, 3)):
                t = self.clock.human(t, r1, 5)
                self._human_review(pr, r1, t, "CHANGES_REQUESTED")
                fixer = eng
                c = self._commit(
                    pr,
                    self.clock.human(t, fixer, 4),
                    fixer if author.kind == "human" else eng,
                    f"{key}: Address review comments",
                )
                t = self._check(pr, c.sha, c.t, True)
            rv = self._bot_review(pr, self.clock.bot(t, 60, 240), bot_state)  # re-review on push
            t = rv.t
            self.truth.failures.setdefault("rework_loop", []).append(key)
        approvals: list[tuple[Actor, datetime]] = []
        t_rev = t
        if tier == "high_stakes":
            need = 2
        elif tier == "irreversible":
            need = 1 if rng.random() < 0.7 else 2
        else:
            need = 1 if rng.random() < 0.6 else 0
        if ptype == "missing_two_humans":
            need = 1
        if ptype in ("agent_only_approval", "no_approval"):
            need = 0
        late = ptype == "approval_after_merge"
        if ptype == "self_approval":
            need = 0
            if author.kind == "human":
                tt = self.clock.human(t, author, 2)
                self._human_review(pr, author, tt, "APPROVED", "Approving to unblock the release.")
                approvals.append((author, tt))
                t_rev = max(t_rev, tt)
        if rng.random() < 0.15 and not late:
            tt = self.clock.human(t, r2, 4)
            self._human_review(pr, r2, tt, "COMMENTED")
            t_rev = max(t_rev, tt)
        if not late:
            for r in (r1, r2)[:need]:
                tt = self.clock.human(t, r, 5)
                self._human_review(pr, r, tt, "APPROVED")
                approvals.append((r, tt))
                t_rev = max(t_rev, tt)
        t = t_rev
        # QA
        skip_qa = ptype == "skipped"
        qa = self._pick(self.qa)
        op = self._pick(self.ops)
        merger = (
            self.a("reviewbot")
            if (
                fam == ""
                and tier == "reversible"
                and self.cfg.shadow_agents
                and rng.random() < self.cfg.out_of_stage_rate
            )
            else op
        )
        if ptype == "out_of_order":
            mt = self.clock.human(t, op, 6)
            self._merge(pr, mt, op)
            item.histories.append(
                self._status(self.clock.human(mt, qa, 8), qa.id, "In Review", "QA")
            )
            t = item.histories[-1].t
            self.truth.deviations.append(
                {"case": key, "type": "out_of_order", "stage": "deploy", "before": "qa"}
            )
            self._qa_work(item, qa, t)
            t = self.clock.human(t, op, 10)
            done_t = t
        else:
            if not skip_qa:
                tq = self.clock.human(t, qa, 7)
                item.histories.append(self._status(tq, qa.id, "In Review", "QA"))
                t_qa_end = self._qa_work(item, qa, tq)
                if ptype == "stall":
                    t_qa_end = tq + timedelta(days=rng.uniform(14, 26))
                    t_qa_end = self.clock.snap(t_qa_end, qa)
                    item.comments.append(
                        JComment(
                            t_qa_end, qa.id, "Finally verified — staging was blocked for weeks."
                        )
                    )
                    self.truth.failures.setdefault("stall", []).append(key)
                # the unowned seam: qa -> operations, long waits
                mt = self.clock.human(t_qa_end, op, 20, 0.5)
                self.truth.seam_cases.setdefault(("qa", "operations"), []).append(key)
            else:
                mt = self.clock.human(t, op, 8)
                self.truth.deviations.append({"case": key, "type": "skipped", "stage": "qa"})
            self._merge(pr, mt, merger)
            # ground truth only for what the exports show: a merge after the window is not there
            if merger.id == "reviewbot" and pr.merged_at is not None and pr.merged_at <= self.end:
                entry = self.truth.shadow.setdefault(
                    "reviewbot",
                    {
                        "actor": "reviewbot",
                        "type": "out_of_stage",
                        "accounts": ["github:acme-reviewbot[bot]"],
                        "stages": ["deploy"],
                        "cases": [],
                    },
                )
                cases = entry["cases"]
                assert isinstance(cases, list)
                cases.append(key)
            done_t = self.clock.human(mt, op, 0.2, 0.4)
        frm = "In Review" if skip_qa else "QA"
        done_h = self._status(done_t, op.id, frm, "Done")
        done_h.items.append(Change("resolution", "resolution", None, None, "10000", "Done"))
        item.histories.append(done_h)
        assert pr.merged_at is not None
        if late:
            for r in (r1, r2)[: 2 if tier == "high_stakes" else 1]:
                tt = self.clock.human(pr.merged_at, r, 3)
                self._human_review(pr, r, tt, "APPROVED", "Approving after the fact, LGTM.")
        if fam == "gate":
            self.truth.gates.append({"case": key, "type": ptype, "tier": tier})
        if late:
            # approvals after the merge also put review after deploy
            self.truth.deviations.append(
                {
                    "case": key,
                    "type": "out_of_order",
                    "stage": "review",
                    "cause": "approval_after_merge",
                }
            )
        # after Done: failure patterns
        if ptype == "reopen":
            tr = self.clock.human(done_t, qa, 20)
            reo = self._status(tr, qa.id, "Done", "In Progress")
            reo.items.append(Change("resolution", "resolution", "10000", "Done", None, None))
            item.histories.append(reo)
            item.comments.append(
                JComment(
                    self.clock.bot(tr, 30, 300),
                    qa.id,
                    "Reopening: the issue is back on production.",
                )
            )
            pr2 = self._new_pr(
                pr.repo,
                f"{key}: Fix regression in {item.summary[0].lower()}{item.summary[1:]}",
                f"Follow-up for [{key}]({jira_url(key)}).\n",
                eng.id,
                f"fix/{key}-regression",
                self.clock.human(tr, eng, 6),
                list(item.labels),
                key,
            )
            item.prs.append(pr2)
            c = self._commit(
                pr2,
                pr2.created - timedelta(minutes=rng.randint(10, 90)),
                eng,
                f"{key}: Fix regression",
            )
            self._check(pr2, c.sha, c.t, True)
            self._bot_review(
                pr2,
                self.clock.bot(pr2.created, 60, 240),
                "APPROVED" if tier == "reversible" else "COMMENTED",
            )
            tt = pr2.created
            for r in (r1, r2)[: (2 if tier == "high_stakes" else 1)]:
                tt2 = self.clock.human(pr2.created, r, 4)
                self._human_review(pr2, r, tt2, "APPROVED")
                tt = max(tt, tt2)
            h = self._status(self.clock.human(tt, eng, 0.5), eng.id, "In Progress", "In Review")
            item.histories.append(h)
            tq = self.clock.human(h.t, qa, 6)
            item.histories.append(self._status(tq, qa.id, "In Review", "QA"))
            mt = self.clock.human(tq, op, 16, 0.5)
            self._merge(pr2, mt, op)
            d2 = self._status(self.clock.human(mt, op, 0.2, 0.4), op.id, "QA", "Done")
            d2.items.append(Change("resolution", "resolution", None, None, "10000", "Done"))
            item.histories.append(d2)
            self.truth.failures.setdefault("reopen", []).append(key)
        if ptype == "revert":
            assert pr.merged_at is not None
            ti = self.clock.human(pr.merged_at, op, 3)
            inc = self._msg(
                "incidents",
                ti,
                op.id,
                f"Errors spiking after {pr_url(pr.repo, pr.number)} ({key}) went out. Reverting.",
            )
            self._msg(
                "incidents",
                self.clock.human(ti, eng, 0.3),
                eng.id,
                "Ack, reverting now.",
                parent=inc,
            )
            rpr = self._new_pr(
                pr.repo,
                f'Revert "{pr.title}"',
                f"Reverts {GITHUB_ORG}/{pr.repo}#{pr.number}\n\nErrors in production, see #incidents.",
                eng.id,
                f"revert-{pr.number}-{slugify(pr.branch)[:30]}",
                self.clock.human(ti, eng, 0.4),
                [],
                key,
            )
            item.prs.append(rpr)
            c = self._commit(
                rpr,
                rpr.created - timedelta(minutes=2),
                eng,
                f'Revert "{pr.title}"\n\nThis reverts commit {pr.merge_sha}.',
            )
            self._check(rpr, c.sha, c.t, True)
            self._bot_review(rpr, self.clock.bot(rpr.created, 60, 200), "APPROVED")
            ta = self.clock.human(rpr.created, r1, 0.5)
            self._human_review(rpr, r1, ta, "APPROVED")
            if tier == "high_stakes":
                ta = max(ta, self.clock.human(rpr.created, r2, 0.5))
                self._human_review(rpr, r2, ta, "APPROVED")
            self._merge(rpr, self.clock.human(ta, op, 0.5), op)
            assert rpr.merged_at is not None
            item.comments.append(
                JComment(
                    self.clock.human(rpr.merged_at, eng, 0.3),
                    eng.id,
                    f"Reverted in {pr_url(rpr.repo, rpr.number)}; the change caused errors in production.",
                )
            )
            self.truth.failures.setdefault("revert", []).append(key)
            # the revert goes straight from review to deploy: QA is skipped for it
            self.truth.deviations.append(
                {"case": key, "type": "skipped", "stage": "qa", "cause": "revert"}
            )

    def _qa_work(self, item: Item, qa: Actor, t: datetime) -> datetime:
        tv = self.clock.human(t, qa, 5)
        item.comments.append(
            JComment(
                tv,
                qa.id,
                self.rng.choice(
                    [
                        "Verified on staging. Ready to deploy.",
                        "Tested happy path and edge cases on staging — all good.",
                        "QA passed; regression suite green.",
                    ]
                ),
            )
        )
        if self.rng.random() < 0.4:
            self._msg(
                "qa",
                self.clock.bot(tv, 30, 600),
                qa.id,
                f"{jira_url(item.key)} verified on staging ✅",
            )
        return tv

    def _merge(self, pr: PullRequest, t: datetime, who: Actor) -> None:
        t = max(t, (pr.reviews[-1].t if pr.reviews else pr.created) + timedelta(minutes=1))
        pr.merged_at = t
        pr.closed_at = t
        pr.merged_by = who.id
        pr.merge_sha = self._sha("merge", pr.repo, pr.number)
        self.head[pr.repo] = pr.merge_sha
        pr.events.append(GhEvent(self._id("ev"), t, who.id, "merged", {"commit_id": pr.merge_sha}))
        pr.events.append(GhEvent(self._id("ev"), t, who.id, "closed", {}))
        bt = self.clock.bot(t, 2, 8)
        self._msg(
            "operations",
            bt,
            "slack-github",
            f"Pull request merged by {self.a(who.id).github}: <{pr_url(pr.repo, pr.number)}|#{pr.number} {pr.title}>",
            bot=True,
        )
        if pr.key and self.rng.random() < 0.2:
            self._mail(
                self.clock.bot(t, 5, 60),
                "slack-github",
                [pr.author] if self.a(pr.author).email else [who.id],
                f"Re: [{GITHUB_ORG}/{pr.repo}] {pr.title} (PR #{pr.number})",
                f"Merged #{pr.number} into main.\n\n--\nReply to this email directly or view it on GitHub:\n{pr_url(pr.repo, pr.number)}\n",
                auto=True,
                list_id=f"{GITHUB_ORG}/{pr.repo} <{pr.repo}.{GITHUB_ORG}.github.com>",
            )

    # -- automation outside the work items
    def _dependabot(self, t: datetime) -> None:
        repo = self.rng.choice(["api", "web"])
        pkg = self.rng.choice(
            ["requests", "urllib3", "lodash", "axios", "pydantic", "webpack", "jinja2"]
        )
        a, b = self.rng.randint(1, 5), self.rng.randint(0, 20)
        title = f"Bump {pkg} from {a}.{b}.0 to {a}.{b + 1}.0"
        pr = self._new_pr(
            repo,
            title,
            f"Bumps {pkg} from {a}.{b}.0 to {a}.{b + 1}.0.\n\nDependabot will resolve any conflicts with this PR.",
            "dependabot",
            f"dependabot/pip/{pkg}-{a}.{b + 1}.0",
            t,
            ["dependencies"],
            None,
        )
        c = self._commit(pr, t - timedelta(seconds=20), self.a("dependabot"), title)
        self._check(pr, c.sha, c.t, True)
        self._bot_review(pr, self.clock.bot(t, 60, 240), "APPROVED")
        # superseded after a while, closed by dependabot itself
        close = self.clock.bot(t, 7 * 86400, 12 * 86400)
        pr.closed_at = close
        pr.issue_comments.append(
            IssueComment(self._id("ic"), close, "dependabot", "Superseded by a newer version.")
        )
        pr.events.append(GhEvent(self._id("ev"), close, "dependabot", "closed", {}))

    def _tracking_issue(self) -> None:
        pr = self._new_pr(
            "infra",
            "Nightly dependency audit",
            "Tracking issue for the nightly audit results.",
            "viktor",
            "",
            self.clock.snap(BASE + timedelta(hours=10), self.a("viktor")),
            [],
            None,
        )
        pr.is_issue = True
        self.truth.shadow.setdefault(
            "jdoyle",
            {
                "actor": "jdoyle",
                "type": "undeclared_automation",
                "accounts": ["github:jdoyle"],
                "stages": ["review"],
                "cases": [],
            },
        )
        t = BASE + timedelta(days=20, hours=2)
        while t < self.end:
            for hh in (0,):
                ct = t + timedelta(hours=hh, seconds=self.rng.uniform(0, 40))
                if ct < self.end:
                    pr.issue_comments.append(
                        IssueComment(
                            self._id("ic"),
                            ct.replace(microsecond=0),
                            "jdoyle",
                            f"Nightly audit: {self.rng.choice([0, 0, 0, 1])} vulnerable packages, {self.rng.randint(0, 4)} outdated.",
                        )
                    )
            t += timedelta(days=1)

    def _slack_shadow(self) -> None:
        t = BASE + timedelta(days=35, hours=1)
        n = 0
        while t < self.end:
            ct = t + timedelta(seconds=self.rng.uniform(0, 30))
            self._msg(
                "operations",
                ct.replace(microsecond=0),
                "sortiz",
                f"Deploy queue: {self.rng.randint(0, 6)} PRs waiting, oldest {self.rng.randint(1, 60)}h.",
            )
            n += 1
            t += timedelta(hours=6)
        # sub-minute replies to merge notifications
        for m in list(self.slack):
            if (
                m.user == "slack-github"
                and m.t > BASE + timedelta(days=35)
                and self.rng.random() < 0.5
            ):
                self._msg(
                    "operations",
                    self.clock.bot(m.t, 12, 40),
                    "sortiz",
                    "Queued for the next deploy window.",
                    parent=m,
                )
        self.truth.shadow["sortiz"] = {
            "actor": "sortiz",
            "type": "undeclared_automation",
            "accounts": [f"slack:{self.a('sortiz').slack}"],
            "stages": ["deploy"],
            "cases": [],
        }

    def _chatter(self) -> None:
        """Ordinary team talk without work-item references."""
        lines = {
            "engineering": [
                "Anyone else seeing slow CI today?",
                "Reminder: architecture sync at 3pm.",
                "Pushed a fix for the flaky test in main.",
                "Who owns the staging DB credentials?",
            ],
            "product": [
                "Roadmap review moved to Thursday.",
                "Customer interviews notes are in the drive.",
                "Can we get a demo of the new settings page?",
            ],
            "qa": [
                "Staging is back up.",
                "Regression suite takes 40 minutes now, looking into it.",
            ],
            "operations": [
                "Maintenance window Saturday 02:00 UTC.",
                "Rotated the API keys for the payment provider.",
            ],
            "support": [
                "Ticket volume is up 20% this week.",
                "New macro for password-reset questions is live.",
            ],
        }
        teams = {
            "engineering": self.eng,
            "product": self.product,
            "qa": self.qa,
            "operations": self.ops,
            "support": self.support,
        }
        day = BASE
        while day < self.end:
            if day.weekday() < 5:
                for ch, people in teams.items():
                    if self.rng.random() < 0.35:
                        p = self.rng.choice(people)
                        t = self.clock.snap(day + timedelta(hours=self.rng.uniform(6, 16)), p)
                        if t < self.end:
                            m = self._msg(ch, t, p.id, self.rng.choice(lines[ch]))
                            if self.rng.random() < 0.4:
                                q = self.rng.choice(people)
                                self._msg(
                                    ch,
                                    self.clock.human(t, q, 0.5),
                                    q.id,
                                    self.rng.choice(["👍", "Thanks!", "Noted.", "Will check."]),
                                    parent=m,
                                )
            day += timedelta(days=1)


def _keynum(key: str) -> int:
    return int(key.rsplit("-", 1)[1])


def generate(org: Org, seed: int, items: int, months: int, cfg: SimConfig) -> World:
    return Simulator(org, seed, items, months, cfg).run()
