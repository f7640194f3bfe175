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

from datetime import datetime, timedelta

from wfmine.simulate._agents import AgentWork
from wfmine.simulate._around import Around
from wfmine.simulate._flow_base import Case, ShapeTruth
from wfmine.simulate._model import (
    BASE,
    Item,
    Mail,
    World,
)
from wfmine.simulate._org import Actor
from wfmine.simulate._shapes import PROBLEMS, ProjectDef, Shape, StageDef
from wfmine.simulate._text import BUG_FORMS, STORY_VERBS, SUBJECTS, TASK_FORMS, jira_url
from wfmine.simulate._util import iso

_EARLY = frozenset({"ci_fix", "rework_loop", "ping_pong"})


def _weight(direction: str, frac: float) -> float:
    return 0.15 + 1.7 * frac if direction == "rising" else 1.85 - 1.7 * frac


class ShapeFlow(AgentWork, Around):
    """Play ``shape``'s work items; ``run()`` returns the world and its truth."""

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
            # the coding agents' problems: the work it may build, or may not
            if p in ("replaced", "unregistered") and tier not in sh.coding_agent_tiers:
                continue
            if p == "agent_out_of_tier" and tier in sh.coding_agent_tiers:
                continue
            if p == "agent_only_approval" and tier != "irreversible":
                continue
            # two humans are needed for high-stakes work, or for all work after a dual review
            dual = any(s.approvals >= 2 for s in sh.stages)
            if p == "missing_two_humans" and tier != "high_stakes" and not dual:
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
        if sh.coding_agent:
            case.agent = self._choose_builder(case)
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
        if sh.coding_agent:
            self.gt.performer_seams += self._performer_seams(case)
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
        if st.kind == "review" and case.author is not None and case.author.team == team:
            return case.author  # the author puts the work up for review
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
            mail: Mail | None = None
            key = case.item.key
            if u < 0.3:
                th = self.clock.human(case.last_t, hand, 0.4)
                case.item.histories.append(self._assign(th, hand.id, hand, who))
                self._act(case, hand, th, "jira:Assignee changed")
            elif u < 0.38:
                th = self.clock.human(case.last_t, hand, 0.3)
                mail = self._mail(
                    th,
                    hand.id,
                    [who.id],
                    f"{key}: ready for {team}",
                    f"Hi {who.name.split()[0]},\n\n{key} ({jira_url(key)}) is ready for you.\n\n"
                    f"{hand.name}\n",
                )
                self._act(case, hand, th, "email:Email sent")
            elif u < 0.6:
                th = self.clock.human(case.last_t, hand, 0.3)
                text = f"<{jira_url(key)}|{key}> is ready for {team} — over to you, {who.name.split()[0]}."
                if case.thread is not None:  # on the item's thread
                    self._msg(case.thread.channel, th, hand.id, text, parent=case.thread)
                    self._act(case, hand, th, "slack:Thread reply")
                else:
                    case.thread = self._msg(hand.team, th, hand.id, text)
                    self._act(case, hand, th, "slack:Message posted")
            wait = sh.seam_hours.get((case.team, team), 6.0)
            tw = self.clock.human(th, who, wait, 0.5)
            # long waits at a seam, but bounded: a stall is planted, never an accident of the tail
            cap = th + timedelta(hours=wait * 1.5 * 24 / 9)
            if tw > cap:
                tw = self.clock.snap(cap, who)
            case.stage = st.id
            if mail is not None:
                self._mail(
                    tw,
                    who.id,
                    [hand.id],
                    f"Re: {mail.subject}",
                    "Thanks, I'll take it from here.\n",
                    parent=mail,
                )
                self._act(case, who, tw, "email:Email replied")
                ts = self.clock.human(tw, who, 0.3)
            elif moved or st.kind == "deploy" or rng.random() < 0.4:
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


def generate_shape(shape: Shape, seed: int, items: int, months: int) -> tuple[World, ShapeTruth]:
    return ShapeFlow(shape, seed, items, months).run()
