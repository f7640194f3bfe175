"""Work items flowing through a shaped organisation's stages, with the truth of each plant.

``ShapeFlow`` plays every work item of a ``Shape`` through its stages in
order: each stage is entered with a handoff (when the owning team changes:
the handing team's last act, often an unmapped one such as an assignment or
a message on the item's thread, a wait, the receiving team's first act) and
worked according to its kind (build, review, check, deploy). At most one
problem is planted per item; a late approval can come on top. Everything it
plants is recorded as it happens (``ShapeTruth``), so the ground truth is
what the exports show, by construction.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from wfmine.simulate._acts import Acts
from wfmine.simulate._config import SimConfig
from wfmine.simulate._model import (
    BASE,
    Change,
    GhEvent,
    Item,
    JComment,
    Layout,
    PullRequest,
    SlackMsg,
    World,
)
from wfmine.simulate._org import GITHUB_ORG, Actor, Org
from wfmine.simulate._shape_org import build_shape_org
from wfmine.simulate._shapes import PROBLEMS, ProjectDef, Shape, StageDef
from wfmine.simulate._text import BUG_FORMS, STORY_VERBS, SUBJECTS, TASK_FORMS, jira_url, pr_url
from wfmine.simulate._text import slugify as _slugify
from wfmine.simulate._util import iso, zone

_TRAILERS = {
    "claude": "\n\n🤖 Generated with [Claude Code](https://claude.com/claude-code)\n\n"
    "Co-Authored-By: Claude <noreply@anthropic.com>",
    "cursor": "\n\nCo-authored-by: Cursor Agent <cursoragent@cursor.com>",
    "copilot": "\n\nCo-authored-by: Copilot <copilot@github.com>",
}
#: problems that show within days of an item's start
_EARLY = frozenset({"ci_fix", "rework_loop", "ping_pong"})
_DEPS = ("requests", "urllib3", "pydantic", "jinja2", "lodash", "axios", "webpack", "boto3")


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
    return out


def layout(shape: Shape, org: Org) -> Layout:
    comps: dict[str, str] = {}
    for p in shape.projects:
        for c in p.components:
            comps.setdefault(c, str(10_200 + len(comps)))
    channels = {t: t for t in shape.team_names} | {
        "deploys": shape.stages[-1].team or "",
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


def _weight(direction: str, frac: float) -> float:
    return 0.15 + 1.7 * frac if direction == "rising" else 1.85 - 1.7 * frac


class ShapeFlow(Acts):
    """Play ``shape``'s work items; ``run()`` returns the world and its truth."""

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
        return st.team or project.team

    def members(self, team: str) -> list[Actor]:
        return self.org.team(team)

    # -- acts on a case
    def _act(self, case: Case, who: Actor, t: datetime, what: str, *, late: bool = False) -> None:
        """Record a human act on the case: a team change is a seam with its true wait."""
        if who.kind != "human" or late:
            return
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

    # -- planning
    def _plan(
        self, project: ProjectDef, comps: list[str], tier: str, frac: float, late_item: bool
    ) -> str:
        sh = self.shape
        choices: list[tuple[str, float]] = []
        for p in PROBLEMS:
            if late_item and p not in _EARLY:
                continue
            rate = sh.rates.get(p, 0.0)
            if p == "out_of_tier" and tier in sh.agent_tiers:
                continue
            if p == "no_approval" and tier == "reversible":
                continue
            if p == "missing_two_humans" and (
                tier != "high_stakes" or any(s.approvals >= 2 for s in sh.stages)
            ):
                continue
            for tr in sh.trends:
                in_scope = tr.component is None or tr.component in comps
                if tr.type == p and tr.project == project.key and in_scope:
                    rate = (0.35 if tr.component is None else 0.5) * _weight(tr.direction, frac)
            choices.append((p, rate))
        u = self.rng.random()
        acc = 0.0
        for p, rate in choices:
            acc += rate
            if u < acc:
                return p
        return ""

    # -- the run
    def run(self) -> tuple[World, ShapeTruth]:
        sh = self.shape
        span = (self.end - timedelta(days=10)) - BASE
        starts = sorted(self.rng.random() for _ in range(self.n))
        weights = [p.weight for p in sh.projects]
        for s in starts:
            project = self.rng.choices(sh.projects, weights=weights)[0]
            self._item(project, BASE + span * s)
        if sh.nightly_prs:
            self._nightly()
        if sh.slack_app:
            self._digest()
        self._chatter()
        world = World(
            self.org,
            self.items,
            self.prs,
            self.slack,
            self.mails,
            self.truth,
            self.end,
            self.seed,
            self.months,
            self.layout,
        )
        return world, self.gt

    def _item(self, project: ProjectDef, created: datetime) -> None:
        rng, sh = self.rng, self.shape
        intake = sh.stages[0]
        team0 = self.members(self.team_of(intake, project))
        reporter = team0[0] if rng.random() < 0.5 else rng.choice(team0)
        created = self.clock.snap(created, reporter)
        self.counter[project.key] += 1
        key = f"{project.key}-{self.counter[project.key]}"
        r = rng.random()
        itype = "Bug" if r < 0.35 else ("Story" if r < 0.85 else "Task")
        subj = rng.choice(SUBJECTS)
        if itype == "Bug":
            summary = rng.choice(BUG_FORMS).format(s=subj).capitalize()
        elif itype == "Story":
            summary = f"{rng.choice(STORY_VERBS)} {subj}"
        else:
            summary = rng.choice(TASK_FORMS).format(s=subj)
        comps = [rng.choice(project.components)]
        labels = ["customer"] if itype == "Bug" else []
        if rng.random() < 0.04:
            labels.append("security")
        tier = "reversible"
        if any(c in sh.irreversible for c in comps):
            tier = "irreversible"
        if any(c in sh.high_stakes for c in comps) or "security" in labels:
            tier = "high_stakes"
        priority = rng.choices(["Low", "Medium", "High", "Highest"], weights=[2, 6, 3, 1])[0]
        item = Item(
            key,
            self.counter[project.key],
            summary,
            f"{summary}.\n\nReported by {reporter.name}.",
            itype,
            priority,
            sorted(labels),
            comps,
            tier,
            reporter.id,
            created,
        )
        self.items.append(item)
        # problems that show within days of the start are planted until three weeks before
        # the end, the others (they need weeks to show) until two months before it
        eligible = created < self.end - timedelta(days=60)
        early = created < self.end - timedelta(days=21)
        frac = min((created - BASE) / (self.end - timedelta(days=21) - BASE), 1.0)
        plan = self._plan(project, comps, tier, frac, not eligible) if early else ""
        dual = any(s.approvals >= 2 for s in sh.stages)
        late = eligible and dual and plan == "" and rng.random() < sh.late_rate
        case = Case(item, project, plan, late, status=intake.statuses[0])
        case.stage = intake.id
        self._act(case, reporter, created, "jira:Issue created")
        if rng.random() < 0.3:
            case.thread = self._msg(
                self.team_of(intake, project),
                self.clock.bot(created, 30, 900),
                reporter.id,
                f"New: <{jira_url(key)}|{key}> {summary}",
            )
            self._act(case, reporter, case.thread.t, "slack:Message posted")
        end_t = self._walk(case, 1, created)
        self.gt.seams += case.seams
        if end_t is not None and end_t <= self.end:
            self.gt.done.add(key)

    def _walk(self, case: Case, start: int, t: datetime) -> datetime | None:
        """Play stages ``start..`` of the case; return when it reached its end status."""
        sh = self.shape
        skip = ""
        if case.plan == "skipped" and not case.cause:
            checks = [s for s in sh.stages[start:] if s.kind == "check" and not s.by_automation]
            skip = checks[0].id if checks else ""
        case.skip = skip
        for st in sh.stages[start:]:
            if st.id == skip:
                self.gt.deviations.append(
                    {"case": case.item.key, "type": "skipped", "stage": st.id}
                )
                continue
            t = self._enter(case, st, t)
            t = self._work(case, st, t)
        if case.plan in ("reopen", "revert") and not case.cause:
            return self._after_done(case, t)
        return t

    # -- entering a stage: the handoff
    def _receiver(self, case: Case, st: StageDef, team: str) -> Actor:
        people = self.members(team)
        if st.kind.startswith("build"):
            if case.author is None:
                pool = [p for p in people if p.id != case.item.reporter and not p.lead] or people
                case.author = self.rng.choice(pool)
            return case.author
        exclude = {case.item.reporter, case.author.id if case.author else ""}
        pool = [p for p in people if p.id not in exclude] or people
        return self.rng.choice(pool)

    def _enter(self, case: Case, st: StageDef, t: datetime) -> datetime:
        rng, sh = self.rng, self.shape
        if st.by_automation:
            ta = self.clock.bot(t, 5, 40)
            self._move(case, ta, self.a("jira-automation"), st.statuses[0])
            case.stage = st.id
            self._late(case, st, ta)
            return ta
        team = self.team_of(st, case.project)
        who = self._receiver(case, st, team)
        if st.kind == "deploy" and case.author is not None and case.author.team == team:
            who = case.author  # the author ships their own change
        case.current = who
        moved = bool(st.statuses) and case.status == st.statuses[0]
        if case.team and team != case.team and case.last_actor is not None:
            hand = case.last_actor
            u = rng.random()
            th = case.last_t
            if u < 0.35:
                th = self.clock.human(case.last_t, hand, 0.4)
                case.item.histories.append(self._assign(th, hand.id, hand, who))
                self._act(case, hand, th, "jira:Assignee changed")
            elif u < 0.6:
                th = self.clock.human(case.last_t, hand, 0.3)
                key = case.item.key
                text = f"<{jira_url(key)}|{key}> is ready for {team} — over to you, {who.name.split()[0]}."
                if case.thread is not None:  # on the item's thread
                    self._msg(case.thread.channel, th, hand.id, text, parent=case.thread)
                    self._act(case, hand, th, "slack:Thread reply")
                else:
                    case.thread = self._msg(hand.team, th, hand.id, text)
                    self._act(case, hand, th, "slack:Message posted")
            wait = sh.seam_hours.get((case.team, team), 6.0)
            tw = self.clock.human(th, who, wait, 0.5)
            case.stage = st.id
            if moved or st.kind == "deploy" or rng.random() < 0.4:
                self._comment(
                    case, tw, who, rng.choice(["Picking this up.", "On it.", "Taking this one."])
                )
                ts = self.clock.human(tw, who, 0.3)
            else:
                ts = tw
        else:
            case.stage = st.id
            ts = self.clock.human(t, who, 0.5) if st.statuses else t
        if st.statuses and not moved and (st.kind != "deploy" or len(st.statuses) > 1):
            target = st.statuses[0]
            self._move(case, ts, who, target)
        self._late(case, st, ts)
        return ts

    def _late(self, case: Case, st: StageDef, moved: datetime) -> None:
        """The approvals still owed: they arrive after the tracker moved the item on."""
        for r, body in case.pending:
            tl = self.clock.human(moved, r, 3)
            assert case.pr is not None
            self._human_review(case.pr, r, tl, "APPROVED", body)
            self.gt.late.append(
                {
                    "case": case.item.key,
                    "stage": next(s.id for s in self.shape.stages if s.kind == "review"),
                    "approver": r.id,
                    "approved_at": iso(tl),
                    "moved_on_at": iso(moved),
                    "moved_to": st.id,
                }
            )
        case.pending = []

    # -- working in a stage
    def _work(self, case: Case, st: StageDef, t: datetime) -> datetime:
        if st.kind == "build":
            return self._build(case, st, t)
        if st.kind == "build_review":
            t = self._build(case, st, t)
            if case.plan == "stall" and st.id == self.shape.stall_stage and not case.cause:
                t = self._stall(case, st, t, "Back on this — it waited over a week for review.")
            return self._review(case, st, t)
        if st.kind == "review":
            return self._review(case, st, t)
        if st.kind == "check":
            return self._check_stage(case, st, t)
        if st.kind == "deploy":
            return self._deploy(case, st, t)
        return t

    def _build(self, case: Case, st: StageDef, t: datetime) -> datetime:
        rng = self.rng
        item = case.item
        eng = case.author
        assert eng is not None
        if case.plan == "ping_pong" and not case.cause:
            other = self._pick(self.members(eng.team), (eng.id, item.reporter))
            cur = eng
            for _ in range(rng.randint(3, 5)):
                nxt = other if cur is eng else eng
                t = self.clock.human(t, cur, 5)
                item.histories.append(self._assign(t, cur.id, cur, nxt))
                self._act(case, cur, t, "jira:Assignee changed")
                cur = nxt
            case.author = eng = cur
            self._fail(case, "ping_pong", st.id, t)
        repo = case.project.repo
        fix = case.pr is not None
        slug = _slugify(item.summary)
        if fix:
            title = f"{item.key}: Fix {item.summary[0].lower()}{item.summary[1:]}"
            branch = f"fix/{item.key}-{slug}"[:60]
        else:
            title = f"{item.key}: {item.summary}"
            branch = f"feature/{item.key}-{slug}"
        commits: list[tuple[datetime, str]] = []
        for j in range(rng.randint(1, 3)):
            t = self.clock.human(t, eng, 2.5)
            commits.append(
                (t, f"{item.key}: {'Implement' if j == 0 else 'Refine'} {slug.replace('-', ' ')}")
            )
        opened = self.clock.human(t, eng, 0.4)
        pr = self._new_pr(
            repo,
            title,
            f"Closes [{item.key}]({jira_url(item.key)}).\n\n## Changes\n- {item.summary}\n",
            eng.id,
            branch,
            opened,
            list(item.labels),
            item.key,
        )
        item.prs.append(pr)
        last = None
        for ct, msg in commits:
            last = self._commit(pr, ct, eng, self._signed(pr, eng, ct, msg))
            self._act(case, eng, ct, "github:Commit pushed")
        assert last is not None
        done = self._check(pr, last.sha, last.t, True)
        if pr.created <= done:
            pr.created = self.clock.snap(self.clock.bot(done, 20, 240), eng)
        self._act(case, eng, pr.created, "github:PR opened")
        t = pr.created
        if case.plan == "ci_fix" and not case.cause:
            for _ in range(rng.randint(2, 3)):
                c = self._commit(pr, self.clock.human(t, eng, 1.5), eng, f"{item.key}: Follow-up")
                failed = self._check(pr, c.sha, c.t, False)
                f = self._commit(
                    pr, self.clock.human(failed, eng, 1.0), eng, "Fix CI: failing unit test"
                )
                self._act(case, eng, f.t, "github:Commit pushed")
                t = self._check(pr, f.sha, f.t, True)
            self._fail(case, "ci_fix", st.id, t)
        pr.requested = ["reviewbot"]
        pr.events.append(
            GhEvent(
                self._id("ev"),
                self.clock.bot(pr.created, 1, 4),
                eng.id,
                "review_requested",
                {"requested_reviewer": "reviewbot"},
            )
        )
        case.pr = pr
        return t

    def _signed(self, pr: PullRequest, who: Actor, t: datetime, msg: str) -> str:
        """The commit message, with the trailer of the AI tool ``who`` uses undeclared."""
        use = self.ai_users.get(who.id)
        if use is None or self._frac(t) < use[1] or self.rng.random() >= 0.6:
            return msg
        tool = use[0]
        if tool == "aider":
            msg = f"aider: {msg}"
        else:
            msg += _TRAILERS[tool]
        if t <= self.end and pr.created <= self.end and pr.key:
            entry = self.gt.shadow.setdefault(
                who.id,
                {
                    "actor": who.id,
                    "type": "ai_signature",
                    "tool": tool,
                    "severity": "medium",
                    "accounts": [f"github:{who.github}"],
                    "stages": [self.shape.stages[self.build_i].id],
                    "cases": [],
                },
            )
            entry["cases"].append(pr.key)
        return msg

    def _review(self, case: Case, st: StageDef, t: datetime) -> datetime:
        rng, sh = self.rng, self.shape
        item, pr, author = case.item, case.pr, case.author
        assert pr is not None and author is not None
        tier = item.tier
        bot_state = "APPROVED" if tier in sh.agent_tiers else "COMMENTED"
        out_of_tier = case.plan == "out_of_tier" and not case.cause
        if out_of_tier:
            bot_state = "APPROVED"
        if case.plan == "no_approval" and not case.cause:
            bot_state = "COMMENTED"
        bt = self.clock.bot(pr.created, 60, 240)
        self._bot_review(pr, bt, bot_state)
        if out_of_tier and bt <= self.end:
            entry = self.gt.shadow.setdefault(
                "reviewbot",
                {
                    "actor": "reviewbot",
                    "type": "out_of_tier",
                    "severity": "high",
                    "accounts": ["github:acme-reviewbot[bot]"],
                    "stages": [next(s.id for s in sh.stages if "review" in s.kind)],
                    "sanctioned_tiers": list(sh.agent_tiers),
                    "tiers": [],
                    "cases": [],
                },
            )
            entry["cases"].append(item.key)
            if tier not in entry["tiers"]:
                entry["tiers"].append(tier)
        team = self.members(self.team_of(st, case.project))
        reviewers = [p for p in team if p.id != author.id] or team
        rng.shuffle(reviewers)
        r1 = reviewers[0]
        t = max(t, bt)
        if case.plan == "rework_loop" and not case.cause:
            for _ in range(rng.randint(2, 3)):
                t = self.clock.human(t, r1, 4)
                self._human_review(pr, r1, t, "CHANGES_REQUESTED")
                self._act(case, r1, t, "github:Changes requested")
                c = self._commit(
                    pr,
                    self.clock.human(t, author, 3),
                    author,
                    f"{item.key}: Address review comments",
                )
                self._act(case, author, c.t, "github:Commit pushed")
                t = self._check(pr, c.sha, c.t, True)
            self._fail(case, "rework_loop", st.id, t)
        if case.plan == "round_trip" and not case.cause and st.statuses:
            t = self.clock.human(t, r1, 4)
            self._human_review(pr, r1, t, "CHANGES_REQUESTED", "This needs another pass in build.")
            self._act(case, r1, t, "github:Changes requested")
            back = self.shape.stages[self.build_i]
            self._move(case, self.clock.human(t, author, 1), author, back.statuses[0])
            c = self._commit(
                pr,
                self.clock.human(case.last_t, author, 5),
                author,
                f"{item.key}: Rework after review",
            )
            self._act(case, author, c.t, "github:Commit pushed")
            t = self._check(pr, c.sha, c.t, True)
            self._move(case, self.clock.human(t, author, 0.3), author, st.statuses[0])
            t = case.last_t
            self.gt.round_trips.append({"case": item.key, "from": st.id, "to": back.id})
        need = {"high_stakes": 2, "irreversible": 1}.get(tier, 1 if rng.random() < 0.6 else 0)
        need = max(need, st.approvals)
        if case.plan == "no_approval" and not case.cause:
            need = 0
        if case.plan == "missing_two_humans" and not case.cause:
            need = 1
        if out_of_tier:
            need = max(need, 1)  # the gate is met by people; the agent's approval is the shadow act
        late = case.late and need >= 2 and not case.cause
        t_rev = t
        for i, r in enumerate(reviewers[: max(need, 0)]):
            if late and i == need - 1:
                case.pending.append((r, "Approving — sorry, late to this one."))
                continue
            tt = self.clock.human(t, r, 5)
            self._human_review(pr, r, tt, "APPROVED")
            self._act(case, r, tt, "github:PR approved")
            t_rev = max(t_rev, tt)
        if case.plan in ("no_approval", "missing_two_humans") and not case.cause:
            self.gt.gates.append({"case": item.key, "type": case.plan, "tier": tier})
        return t_rev

    def _check_stage(self, case: Case, st: StageDef, t: datetime) -> datetime:
        rng, sh = self.rng, self.shape
        if st.profile == "fixed":
            rest = [s for s in sh.stages[sh.stages.index(st) + 1 :] if s.id != case.skip]
            nxt = rest[0]
            te = t + timedelta(seconds=st.seconds)
            self._move(case, te, self.a("jira-automation"), nxt.statuses[0])
            return te
        who = case.current
        assert who is not None
        if case.plan == "stall" and st.id == sh.stall_stage and not case.cause:
            return self._stall(case, st, t, "Finally done here — this sat blocked for over a week.")
        if st.profile == "bimodal":
            hours = st.hours * 0.15 if rng.random() < 0.5 else st.hours * 3
            spread = 0.25
        else:
            hours, spread = st.hours, 0.5
        te = self.clock.human(t, who, hours, spread)
        self._comment(
            case, te, who, rng.choice(["Checked — all good.", "Verified.", "Passed, moving on."])
        )
        return te

    def _stall(self, case: Case, st: StageDef, t: datetime, text: str) -> datetime:
        """The planted stall: nothing happens for 8-11 days, then the stage's owner acts."""
        who = case.current or case.last_actor
        assert who is not None
        te = self._stall_end(t, who, self.rng.uniform(8.0, 11.0))
        self._comment(case, te, who, text)
        self._fail(case, "stall", st.id, te)
        self.gt.stall_days[case.item.key] = round((te - t).total_seconds() / 86400, 2)
        return te

    def _stall_end(self, t: datetime, who: Actor, days: float) -> datetime:
        """A working moment of ``who`` 8-11 days after ``t`` (weekends moved, not overrun)."""
        te = t + timedelta(days=days)
        for shift in (0, -1, -2, 1, 2, -3, 3):
            cand = te + timedelta(days=shift)
            loc = cand.astimezone(zone(who.tz))
            if loc.weekday() >= 5:
                continue
            hour = min(max(loc.hour + loc.minute / 60, who.start_hour + 0.5), who.end_hour - 0.5)
            loc = loc.replace(hour=int(hour), minute=int(hour % 1 * 60))
            cand = loc.astimezone(UTC).replace(second=loc.second, microsecond=0)
            if timedelta(days=8) <= cand - t <= timedelta(days=11):
                return cand
        return te.replace(microsecond=0)

    def _deploy(self, case: Case, st: StageDef, t: datetime) -> datetime:
        sh = self.shape
        pr = case.pr
        who = case.current
        assert pr is not None and who is not None
        mt = self.clock.human(t, who, 1.5)
        self._merge(pr, mt, who)
        assert pr.merged_at is not None
        self._act(case, who, pr.merged_at, "github:PR merged")
        target = st.statuses[-1]
        if sh.automation_done:
            te = self.clock.bot(pr.merged_at, 5, 40)
            self._move(case, te, self.a("jira-automation"), target)
        else:
            te = self.clock.human(pr.merged_at, who, 0.2, 0.4)
            self._move(case, te, who, target)
        return te

    # -- after the end: reopen and revert
    def _after_done(self, case: Case, t: datetime) -> datetime | None:
        rng, sh = self.rng, self.shape
        item, pr = case.item, case.pr
        assert pr is not None and pr.merged_at is not None
        build = sh.stages[self.build_i]
        end_stage = sh.stages[-1].id
        author = case.author
        assert author is not None
        if case.plan == "reopen":
            who = self.rng.choice(self.members(self.team_of(sh.stages[0], case.project)))
            tr = self.clock.human(t, who, 16)
            case.cause = "reopen"
            frm = case.status
            target = sh.reopen_status or build.statuses[0]
            self._move(case, tr, who, target)
            self._comment(case, self.clock.bot(tr, 30, 300), who, "Reopening: the problem is back.")
            self._fail(case, "reopen", end_stage, tr)
            self.gt.reopen_via[item.key] = f"{frm} -> {target}"
            return self._walk(case, self.build_i, case.last_t)
        # revert: one root event, whatever follows is its consequence
        tr = self.clock.human(pr.merged_at, author, 3)
        rpr = self._new_pr(
            pr.repo,
            f'Revert "{pr.title}"',
            f"Reverts {GITHUB_ORG}/{pr.repo}#{pr.number}\n\nErrors in production.",
            author.id,
            f"revert-{pr.number}",
            tr,
            [],
            item.key,
        )
        item.prs.append(rpr)
        c = self._commit(
            rpr,
            tr - timedelta(minutes=2),
            author,
            f'Revert "{pr.title}"\n\nThis reverts commit {pr.merge_sha}.',
        )
        self._check(rpr, c.sha, c.t, True)
        self._act(case, author, rpr.created, "github:PR opened")
        reviewers = [p for p in self.members(author.team) if p.id != author.id]
        ta = self.clock.human(rpr.created, reviewers[0], 0.5)
        self._human_review(rpr, reviewers[0], ta, "APPROVED")
        if item.tier == "high_stakes" or any(s.approvals >= 2 for s in sh.stages):
            ta = max(ta, self.clock.human(rpr.created, reviewers[1], 0.5))
            self._human_review(rpr, reviewers[1], ta, "APPROVED")
        self._merge(rpr, self.clock.human(ta, author, 0.5), author)
        assert rpr.merged_at is not None
        case.cause = "revert"
        n_before = len(case.seams)
        self._act(case, author, rpr.merged_at, "github:Revert merged")
        target = sh.reopen_status or build.statuses[0]
        tm = self.clock.human(rpr.merged_at, author, 0.3)
        self._move(case, tm, author, target)
        self._comment(
            case,
            self.clock.bot(tm, 20, 200),
            author,
            f"Reverted in {pr_url(rpr.repo, rpr.number)}; reworking.",
        )
        stall = rng.uniform(4.0, 7.0)
        t_back = self.clock.snap(tm + timedelta(days=stall), author)
        self._fail(case, "revert", end_stage, rpr.merged_at)
        end = self._walk(case, self.build_i, t_back)
        self.gt.roots.append(
            {
                "case": item.key,
                "type": "revert",
                "stage": end_stage,
                "at": iso(rpr.merged_at),
                "revert_pr": f"{GITHUB_ORG}/{rpr.repo}#{rpr.number}",
                "consequences": {
                    "reopened_to": target,
                    "rework_pr": f"{GITHUB_ORG}/{case.pr.repo}#{case.pr.number}"
                    if case.pr
                    else None,
                    "stall_days": round(stall, 2),
                    "handoffs": len(case.seams) - n_before,
                },
            }
        )
        return end

    # -- around the work items
    def _nightly(self) -> None:
        rng = self.rng
        bot = self.a("renovate")
        repo = self.layout.repos[0]
        day = BASE + timedelta(days=1)
        while day < self.end:
            if day.weekday() < 5:
                t = day + timedelta(hours=2, seconds=rng.uniform(0, 900))
                t = t.replace(microsecond=0)
                pkg = rng.choice(_DEPS)
                a, b = rng.randint(1, 9), rng.randint(0, 30)
                title = f"chore(deps): update dependency {pkg} to v{a}.{b + 1}.0"
                pr = self._new_pr(
                    repo,
                    title,
                    f"This PR updates {pkg} from v{a}.{b}.0 to v{a}.{b + 1}.0.\n\n"
                    "📅 Schedule: nightly. 🚦 Automerge: enabled.\n",
                    "renovate",
                    f"renovate/{pkg}-{a}.x",
                    t,
                    ["dependencies"],
                    None,
                )
                c = self._commit(pr, t - timedelta(seconds=30), bot, title)
                done = self._check(pr, c.sha, c.t, True)
                self._merge(pr, self.clock.bot(done, 30, 120), bot)
                if pr.merged_at is not None and pr.merged_at <= self.end:
                    self.gt.automation_prs.append(
                        {
                            "repo": f"{GITHUB_ORG}/{repo}",
                            "number": pr.number,
                            "actor": "renovate",
                            "merged": True,
                            "linked_to": None,
                        }
                    )
            day += timedelta(days=1)

    def _digest(self) -> None:
        rng = self.rng
        slug = self.shape.slack_app.lower().replace(" ", "-")
        app = self.a(slug)
        day = BASE + timedelta(days=14)
        n = 0
        while day < self.end:
            if day.weekday() < 5:
                t = (day + timedelta(hours=8, seconds=rng.uniform(0, 20))).replace(microsecond=0)
                self._msg(
                    "general",
                    t,
                    slug,
                    f"{self.shape.slack_app}: {rng.randint(3, 30)} items in progress, {rng.randint(0, 6)} waiting for review.",
                    bot=True,
                )
                n += 1
            day += timedelta(days=1)
        self.gt.shadow[slug] = {
            "actor": slug,
            "type": "unregistered_app",
            "severity": "low",
            "accounts": [f"slack:{app.slack_bot_id}"],
            "stages": [],
            "cases": [],
            "posts": n,
        }

    def _chatter(self) -> None:
        rng = self.rng
        lines = (
            "Standup notes are in the doc.",
            "Anyone seen the flaky test today?",
            "Reminder: retro on Friday.",
            "Thanks all!",
        )
        day = BASE
        while day < self.end:
            if day.weekday() < 5:
                for team in self.shape.team_names:
                    if rng.random() < 0.3:
                        p = rng.choice(self.members(team))
                        t = self.clock.snap(day + timedelta(hours=rng.uniform(7, 15)), p)
                        if t < self.end:
                            self._msg(team, t, p.id, rng.choice(lines))
            day += timedelta(days=1)


def generate_shape(shape: Shape, seed: int, items: int, months: int) -> tuple[World, ShapeTruth]:
    return ShapeFlow(shape, seed, items, months).run()
