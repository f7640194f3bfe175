"""What happens inside each kind of stage of a shaped organisation, and after its end.

Build (commits, checks, the pull request, CI fixes, ping-pong, AI-signed
commits), review (the agent's review, human approvals, rework loops,
designed round trips, late approvals owed), checks (normal, two-humped,
fixed-time and stalled visits), deploy (merge, the end status) and, after
the end, reopens and reverts — a revert and all it causes being one root
event.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from wfmine.simulate._flow_base import Case, FlowBase
from wfmine.simulate._model import (
    GhEvent,
    PullRequest,
)
from wfmine.simulate._org import GITHUB_ORG, Actor
from wfmine.simulate._shapes import StageDef
from wfmine.simulate._text import jira_url, pr_url
from wfmine.simulate._text import slugify as _slugify
from wfmine.simulate._util import iso, zone

_TRAILERS = {
    "claude": "\n\n🤖 Generated with [Claude Code](https://claude.com/claude-code)\n\n"
    "Co-Authored-By: Claude <noreply@anthropic.com>",
    "cursor": "\n\nCo-authored-by: Cursor Agent <cursoragent@cursor.com>",
    "copilot": "\n\nCo-authored-by: Copilot <copilot@github.com>",
}


class StageWork(FlowBase):
    """The work of each stage kind."""

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
        self._review_agent_review(case, pr, bt, bot_state)
        if out_of_tier:
            self._reviewbot_out_of_tier(case, bt)
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
        trip_here = sh.round_trip_stage in ("", st.id)
        if case.plan == "round_trip" and not case.cause and st.statuses and trip_here:
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

    def _review_agent_review(self, case: Case, pr: PullRequest, t: datetime, state: str) -> None:
        """The review agent's review of ``pr`` at ``t`` (``APPROVED`` or ``COMMENTED``), an act."""
        self._bot_review(pr, t, state)
        self._agent_act(
            case,
            self.a("reviewbot"),
            t,
            "github:PR approved" if state == "APPROVED" else "github:PR reviewed",
        )

    def _reviewbot_out_of_tier(self, case: Case, bt: datetime) -> None:
        """The review agent approved work of a tier it is not sanctioned for (at ``bt``)."""
        if bt > self.end:
            return
        sh, item = self.shape, case.item
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
        if item.tier not in entry["tiers"]:
            entry["tiers"].append(item.tier)

    def _check_stage(self, case: Case, st: StageDef, t: datetime) -> datetime:
        rng, sh = self.rng, self.shape
        if st.profile == "fixed":
            rest = [s for s in sh.stages[sh.stages.index(st) + 1 :] if s.id != case.skip]
            nxt = rest[0]
            te = t + timedelta(seconds=st.seconds)
            self._move(case, te, self.a("jira-automation"), nxt.statuses[0])
            return te
        if case.plan == "round_trip" and not case.cause and sh.round_trip_stage == st.id:
            t = self._sent_back(case, st, t)
        who = case.current
        assert who is not None
        if case.plan == "stall" and st.id == sh.stall_stage and not case.cause:
            return self._stall(case, st, t, "Finally done here — this sat blocked for over a week.")
        pace = case.project.pace * sh.type_pace.get(case.item.itype, 1.0)
        if st.profile == "bimodal":
            hours = (st.hours * 0.15 if rng.random() < 0.5 else st.hours * 3) * pace
            spread = 0.25
        else:
            hours, spread = st.hours * pace, 0.5
        te = self.clock.human(t, who, hours, spread)
        # long checks, but bounded: a stall is planted, never an accident of the tail
        cap = t + timedelta(hours=hours * 3 * 24 / 9)
        if sh.bounded_checks and te > cap:
            te = self.clock.snap(cap, who)
        self._comment(
            case, te, who, rng.choice(["Checked — all good.", "Verified.", "Passed, moving on."])
        )
        return te

    def _sent_back(self, case: Case, st: StageDef, t: datetime) -> datetime:
        """A designed round trip from a check stage: its team sends the work back to build.

        The author reworks the change on the same pull request, it is approved
        again and comes back to ``st``; every move is one the design allows.
        """
        sh = self.shape
        who, pr, author = case.current, case.pr, case.author
        assert who is not None and pr is not None and author is not None
        build = sh.stages[self.build_i]
        review = next(s for s in sh.stages if s.kind == "review")
        tf = self.clock.human(t, who, st.hours * case.project.pace * 0.5)
        self._comment(case, tf, who, "Findings to fix before this can go on: back to build.")
        self._move(case, self.clock.human(tf, who, 0.2), who, build.statuses[0])
        self.gt.round_trips.append({"case": case.item.key, "from": st.id, "to": build.id})
        t = self._enter(case, build, case.last_t)
        c = self._commit(
            pr, self.clock.human(t, author, 4), author, f"{case.item.key}: Address review findings"
        )
        self._act(case, author, c.t, "github:Commit pushed")
        t = self._enter(case, review, self._check(pr, c.sha, c.t, True))
        team = self.members(self.team_of(review, case.project))
        r = self._pick(team, (author.id,))
        ta = self.clock.human(t, r, 3)
        self._human_review(pr, r, ta, "APPROVED")
        self._act(case, r, ta, "github:PR approved")
        return self._enter(case, st, ta)

    def _stall(self, case: Case, st: StageDef, t: datetime, text: str) -> datetime:
        """The planted stall: nothing happens for 8-11 days (longer in a slow project's or
        issue type's checks: ``ProjectDef.pace``, ``Shape.type_pace``), then the stage's
        owner acts."""
        who = case.current or case.last_actor
        assert who is not None
        lo, hi = self.shape.stall_days(st.id, case.project.key, case.item.itype)
        te = self._stall_end(t, who, self.rng.uniform(lo, hi), lo / 8)
        self._comment(case, te, who, text)
        self._fail(case, "stall", st.id, te)
        self.gt.stall_days[case.item.key] = round((te - t).total_seconds() / 86400, 2)
        return te

    def _stall_end(self, t: datetime, who: Actor, days: float, scale: float = 1.0) -> datetime:
        """A working moment of ``who`` 8-11 days (x ``scale``) after ``t`` (weekends moved,
        not overrun)."""
        te = t + timedelta(days=days)
        for shift in (0, -1, -2, 1, 2, -3, 3):
            cand = te + timedelta(days=shift)
            loc = cand.astimezone(zone(who.tz))
            if loc.weekday() >= 5:
                continue
            hour = min(max(loc.hour + loc.minute / 60, who.start_hour + 0.5), who.end_hour - 0.5)
            loc = loc.replace(hour=int(hour), minute=int(hour % 1 * 60))
            cand = loc.astimezone(UTC).replace(second=loc.second, microsecond=0)
            if timedelta(days=8 * scale) <= cand - t <= timedelta(days=11 * scale):
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
            frm = case.status
            target = sh.reopen_status or build.statuses[0]
            # the reopener taking the work is the root event itself; what follows is caused
            self._move(case, tr, who, target)
            case.cause = "reopen"
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
