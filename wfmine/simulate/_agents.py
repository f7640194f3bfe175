"""AI coding agents building the work of a shaped organisation (``Shape.coding_agent``).

How it looks in the real exports:

- **The sanctioned coding agent** is GitHub's Copilot coding agent. An engineer who took the
  item assigns it to the agent (a Jira comment says so); the agent opens a *draft* pull
  request as the Bot ``Copilot`` (``user.type: "Bot"``, the app ``copilot-swe-agent``) on a
  ``copilot/...`` branch, commits as ``copilot-swe-agent[bot]`` with the engineer as
  co-author, and when it is done requests a review from the engineer (and the review agent).
  Automation for Jira moves the item into review. The engineer marks the draft ready for
  review — often days later: nobody owns that handoff back from the agent — and *another*
  engineer approves (GitHub does not count the approval of the person who asked Copilot);
  operations merges. Its registry entry sanctions it for the build stage and reversible work.
- **Out of tier**: engineers also assign it irreversible and high-stakes work
  (``out_of_tier`` shadow acts in the build stage), some of it merged on the review agent's
  approval alone (``agent_only_approval``: no person approved; the review agent's approval
  of such work is its own out-of-tier act) or, high-stakes, with one person's approval
  (``missing_two_humans``).
- **The shadow coding agent** is Devin (``devin-ai-integration[bot]``): an engineer asks it
  on Slack, its Slack app answers in the thread with a session link, and it opens the pull
  request (branch ``devin/<epoch>-...``, "Link to Devin run", "Requested by"). No registry
  entry and no roster line name it: an ``undeclared_automation`` shadow agent acting in a
  designed stage (build), high severity, since what it writes is merged. Its Slack app is a
  second entry (``unregistered_app``, low: it acts outside the designed stages): nothing the
  exports hold ties the two apps to one actor -- no roster line names Devin, and only a
  reader would match the session link in the Slack answer with the one in the PR body.
- **CI-fix cycles**: the agent pushes a fix within minutes of each failed check run
  (``ci_fix`` in build), at any hour.
- **Rework**: a reviewer requests changes and the agent pushes "Address review feedback"
  (``rework_loop`` in review), each round waiting for a person again.
- **Replaced**: the engineer closes the agent's pull request unmerged, moves the item back
  to build (a move the design allows) and opens their own, which ships. That is *not*
  ``abandoned``: the case is the work item (its pull requests fold into it), and the work
  item was finished by the person's pull request; a pull request closed on the way is no
  abandoned case (issue 12, point 3: findings judge the cases conformance judges), and one
  designed round trip is no failure (point 7). The truth lists these apart
  (``replaced_agent_prs``) and the round trip in ``designed_round_trips``.

Every act of a person or an agent on a case is kept (``Case.acts``; plain automation --
checks, Automation for Jira, the GitHub app's Slack posts -- is not an agent and makes no
handoff), and each change of performer kind between consecutive acts is a human <-> agent
handoff with its true wait (``performer_seams``).
"""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta
from typing import Any

from wfmine.simulate._flow_base import Case
from wfmine.simulate._model import GhEvent, IssueComment, PullRequest
from wfmine.simulate._org import GITHUB_ORG, Actor
from wfmine.simulate._shapes import StageDef
from wfmine.simulate._stage_work import StageWork
from wfmine.simulate._text import jira_url
from wfmine.simulate._text import slugify as _slugify
from wfmine.simulate._util import iso

_CI_FIXES = (
    "Fix failing unit tests",
    "Fix lint errors reported by CI",
    "Fix type errors",
    "Update snapshot tests",
)


def _ref(pr: PullRequest) -> str:
    return f"{GITHUB_ORG}/{pr.repo}#{pr.number}"


class AgentWork(StageWork):
    """Build and review when a coding agent builds the work; people's work as before."""

    # -- who builds
    def _choose_builder(self, case: Case) -> Actor | None:
        """The coding agent that builds the case (None: its engineer does)."""
        sh, plan = self.shape, case.plan
        copilot = self.a("copilot")
        if plan == "unregistered":
            return self.a("devin")
        if plan in ("agent_out_of_tier", "agent_only_approval", "replaced"):
            return copilot
        in_tier = case.item.tier in sh.coding_agent_tiers
        if plan == "ci_fix" and in_tier:
            return copilot
        if plan == "missing_two_humans":
            return copilot if self.rng.random() < 0.5 else None
        if in_tier and plan in ("", "rework_loop", "stall"):
            return copilot if self.rng.random() < sh.delegate_rate else None
        return None

    def _build(self, case: Case, st: StageDef, t: datetime) -> datetime:
        if case.agent is None:
            return super()._build(case, st, t)
        return self._agent_build(case, st, t)

    def _review(self, case: Case, st: StageDef, t: datetime) -> datetime:
        if case.agent is None or case.pr is None or case.pr.author != case.agent.id:
            return super()._review(case, st, t)
        return self._agent_review(case, st, t)

    # -- the agent builds
    def _trailer(self, agent: Actor, eng: Actor) -> str:
        if agent.id != "copilot":
            return ""
        return f"\n\nCo-authored-by: {eng.github} <{eng.github_id}+{eng.github}@users.noreply.github.com>"

    def _agent_build(self, case: Case, st: StageDef, t: datetime) -> datetime:
        rng = self.rng
        item, eng, agent = case.item, case.author, case.agent
        assert eng is not None and agent is not None
        key = item.key
        slug = _slugify(item.summary)
        words = slug.replace("-", " ")
        copilot = agent.id == "copilot"
        if copilot:
            tc = self.clock.human(t, eng, 0.5)
            self._comment(
                case, tc, eng, "Assigned to the Copilot coding agent; I'll review its pull request."
            )
            t0 = self.clock.bot(tc, 40, 240)
            branch = f"copilot/{key.lower()}-{slug}"[:60]
            body = (
                f"Closes [{key}]({jira_url(key)}).\n\n## Changes\n- {item.summary}\n\n"
                f"Copilot coding agent session started by @{eng.github}.\n"
            )
        else:  # asked on Slack; its app answers in the thread
            tm = self.clock.human(t, eng, 0.5)
            ask = self._msg(
                eng.team,
                tm,
                eng.id,
                f"@Devin can you pick up <{jira_url(key)}|{key}>? {item.summary}",
            )
            self._act(case, eng, tm, "slack:Message posted")
            session = self._sha("devin", key)[:32]
            tr = self.clock.bot(tm, 5, 40)
            self._msg(
                ask.channel,
                tr,
                agent.id,
                f"I'll take a look at {key} now! Follow along at https://app.devin.ai/sessions/{session}",
                parent=ask,
                bot=True,
            )
            self._agent_act(case, agent, tr, "slack:Bot message")
            if tr <= self.end:
                # nothing the exports hold ties the Slack app to the GitHub app (no roster
                # line names Devin; only the session link in both texts): two actors,
                # the app a shadow agent of its own, acting outside the designed stages
                app = self.gt.shadow.setdefault(
                    "devin-slack",
                    {
                        "actor": "devin-slack",
                        "type": "unregistered_app",
                        "severity": "low",
                        "accounts": [f"slack:{agent.slack_bot_id}"],
                        "stages": [],
                        "cases": [],
                        "posts": 0,
                    },
                )
                app["posts"] += 1
                app["cases"].append(key)
            t0 = self.clock.bot(tr, 300, 1500)
            branch = f"devin/{int(t0.timestamp())}-{slug}"[:60]
            body = (
                f"Closes [{key}]({jira_url(key)}).\n\n## Changes\n- {item.summary}\n\n"
                f"Link to Devin run: https://app.devin.ai/sessions/{session}\n"
                f"Requested by: {eng.name} (@{eng.github})\n"
            )
        title = f"{key}: {item.summary}"
        labels = list(item.labels)
        pr = self._new_pr(case.project.repo, title, body, agent.id, branch, t0, labels, key)
        item.prs.append(pr)
        trailer = self._trailer(agent, eng)
        if copilot:  # a draft at once, on an empty planning commit
            pr.draft_until = self.end + timedelta(days=3650)  # until marked ready
            pr.assignees = [eng.id, agent.id]
            self._commit(pr, t0 - timedelta(seconds=rng.randint(20, 90)), agent, "Initial plan")
        tt = t0
        steps = (f"Implement {words}", f"Add tests for {words}", f"Handle edge cases in {words}")
        last = None
        for msg in steps[: rng.randint(1, 3)]:
            tt = self.clock.bot(tt, 300, 2400)
            last = self._commit(pr, tt, agent, msg + trailer)
            self._agent_act(case, agent, last.t, "github:Commit pushed")
        assert last is not None
        t = self._check(pr, last.sha, last.t, True)
        if not copilot:  # opened once its first commits are green
            pr.created = self.clock.bot(t, 20, 240)
            t = pr.created
        self._agent_act(case, agent, pr.created, "github:PR opened")
        if case.plan == "ci_fix" and not case.cause:
            # the agent answers each failed check run within minutes, at any hour
            for _ in range(rng.randint(2, 3)):
                c = self._commit(
                    pr, self.clock.bot(t, 300, 1800), agent, f"Update {words}" + trailer
                )
                self._agent_act(case, agent, c.t, "github:Commit pushed")
                failed = self._check(pr, c.sha, c.t, False)
                f = self._commit(
                    pr, self.clock.bot(failed, 120, 900), agent, rng.choice(_CI_FIXES) + trailer
                )
                self._agent_act(case, agent, f.t, "github:Commit pushed")
                t = self._check(pr, f.sha, f.t, True)
            self._fail(case, "ci_fix", st.id, t)
        if copilot:  # done: it asks the engineer (and the review agent) for a review
            t = self.clock.bot(t, 20, 120)
            for r in (eng.id, "reviewbot"):
                pr.events.append(
                    GhEvent(
                        self._id("ev"), t, agent.id, "review_requested", {"requested_reviewer": r}
                    )
                )
            pr.requested = [eng.id, "reviewbot"]
            self._agent_act(case, agent, t, "github:Review requested")
        if pr.created <= self.end:
            self._shadow_build(case, agent)
        self.gt.agent_prs.append((key, pr))
        case.pr = pr
        return t

    def _shadow_build(self, case: Case, agent: Actor) -> None:
        """The truth of a shadow act by the building agent, if it is one."""
        sh, item = self.shape, case.item
        build = sh.stages[self.build_i].id
        entry: dict[str, Any] | None = None
        if agent.id == "devin":
            entry = self.gt.shadow.setdefault(
                "devin",
                {
                    "actor": "devin",
                    "type": "undeclared_automation",
                    "severity": "high",
                    "accounts": [f"github:{agent.github}"],
                    "stages": [build],
                    "cases": [],
                },
            )
        elif item.tier not in sh.coding_agent_tiers:
            entry = self.gt.shadow.setdefault(
                "copilot",
                {
                    "actor": "copilot",
                    "type": "out_of_tier",
                    "severity": "high",
                    "accounts": [f"github:{agent.github}"],
                    "stages": [build],
                    "sanctioned_tiers": list(sh.coding_agent_tiers),
                    "tiers": [],
                    "cases": [],
                },
            )
            if item.tier not in entry["tiers"]:
                entry["tiers"].append(item.tier)
        if entry is not None:
            entry["cases"].append(item.key)

    # -- people review the agent's pull request
    def _agent_review(self, case: Case, st: StageDef, t: datetime) -> datetime:
        rng, sh = self.rng, self.shape
        item, pr, eng, agent = case.item, case.pr, case.author, case.agent
        assert pr is not None and eng is not None and agent is not None
        tier = item.tier
        copilot = agent.id == "copilot"
        agent_only = case.plan == "agent_only_approval" and not case.cause
        bot_state = "APPROVED" if tier in sh.agent_tiers or agent_only else "COMMENTED"
        bt = self.clock.bot(t, 60, 240)
        self._review_agent_review(case, pr, bt, bot_state)
        if agent_only and tier not in sh.agent_tiers:
            self._reviewbot_out_of_tier(case, bt)
        team = self.members(self.team_of(st, case.project))
        # the person who asked the agent does not approve its work (GitHub does not count it)
        reviewers = [p for p in team if p.id != eng.id]
        rng.shuffle(reviewers)
        r1 = reviewers[0]
        # the agent's pull request waits for its first person: the engineer marks Copilot's
        # draft ready, a reviewer picks up Devin's
        first = eng if copilot else r1
        wait = sh.seam_hours.get(("agent", "human"), 16.0)
        t = max(t, bt)
        tp = self.clock.human(t, first, wait, 0.5)
        cap = t + timedelta(hours=wait * 1.5 * 24 / 9)
        if tp > cap:
            tp = self.clock.snap(cap, first)
        if copilot:
            pr.draft_until = tp
            pr.events.append(GhEvent(self._id("ev"), tp, eng.id, "ready_for_review", {}))
            self._act(case, eng, tp, "github:PR ready for review")
        if case.plan == "replaced" and not case.cause:
            return self._replace(case, st, tp)
        t = tp
        picked = not copilot  # r1's first review is the pick-up itself
        trailer = self._trailer(agent, eng)
        if case.plan == "rework_loop" and not case.cause:
            for _ in range(rng.randint(2, 3)):
                tr = t if picked else self.clock.human(t, r1, 3)
                picked = False
                who = "@copilot" if copilot else "Devin,"
                self._human_review(
                    pr, r1, tr, "CHANGES_REQUESTED", f"{who} please address the comments below."
                )
                self._act(case, r1, tr, "github:Changes requested")
                c = self._commit(
                    pr, self.clock.bot(tr, 300, 1800), agent, "Address review feedback" + trailer
                )
                self._agent_act(case, agent, c.t, "github:Commit pushed")
                t = self._check(pr, c.sha, c.t, True)
                if copilot:
                    t = self.clock.bot(t, 20, 120)
                    pr.events.append(
                        GhEvent(
                            self._id("ev"),
                            t,
                            agent.id,
                            "review_requested",
                            {"requested_reviewer": r1.id},
                        )
                    )
                    self._agent_act(case, agent, t, "github:Review requested")
                # and waits for the reviewer again
                t = self.clock.human(t, r1, wait * 0.5, 0.5)
                picked = True
            self._fail(case, "rework_loop", st.id, t)
        need = {"high_stakes": 2, "irreversible": 1}.get(tier, 1)
        if case.plan == "missing_two_humans" and not case.cause:
            need = 1
        if agent_only:
            need = 0
        t_rev = t
        for i, r in enumerate(reviewers[:need]):
            tt = t if i == 0 and picked else self.clock.human(t, r, 3)
            self._human_review(pr, r, tt, "APPROVED")
            self._act(case, r, tt, "github:PR approved")
            t_rev = max(t_rev, tt)
        if case.plan in ("missing_two_humans", "agent_only_approval") and not case.cause:
            self.gt.gates.append({"case": item.key, "type": case.plan, "tier": tier})
        return t_rev

    def _replace(self, case: Case, st: StageDef, t: datetime) -> datetime:
        """The engineer closes the agent's pull request unmerged and builds the work by hand."""
        sh, rng = self.shape, self.rng
        item, pr, eng, agent = case.item, case.pr, case.author, case.agent
        assert pr is not None and eng is not None and agent is not None
        tc = self.clock.human(t, eng, 1.0)
        pr.issue_comments.append(
            IssueComment(
                self._id("ic"),
                tc,
                eng.id,
                "Closing this one: it misses what the issue is about. I'll take it over by hand.",
            )
        )
        self._act(case, eng, tc, "github:PR comment added")
        closed = tc + timedelta(seconds=rng.randint(20, 120))
        pr.closed_at = closed
        pr.events.append(GhEvent(self._id("ev"), closed, eng.id, "closed", {}))
        self._act(case, eng, closed, "github:PR closed")
        build = sh.stages[self.build_i]
        case.stage = build.id
        self._move(case, self.clock.human(closed, eng, 0.2), eng, build.statuses[0])
        self.gt.round_trips.append({"case": item.key, "from": st.id, "to": build.id})
        case.agent, case.pr = None, None
        t = self._build(case, build, case.last_t)
        new = case.pr
        assert new is not None
        new.body += f"\nReplaces #{pr.number} (the Copilot coding agent's attempt).\n"
        self.gt.replaced.append(
            {
                "case": item.key,
                "pr": _ref(pr),
                "actor": agent.id,
                "closed_at": iso(closed),
                "closed_by": eng.id,
                "replaced_by": _ref(new),
            }
        )
        return self._review(case, st, self._enter(case, st, t))

    # -- the human <-> agent handoffs of a case
    def _performer_seams(self, case: Case) -> list[dict[str, Any]]:
        """Each change of performer kind between consecutive acts (visible in the exports) of
        a person or an agent on the case, with its true wait."""
        acts = sorted((a for a in case.acts if a[0] <= self.end), key=lambda a: a[0])
        out: list[dict[str, Any]] = []
        for prev, cur in itertools.pairwise(acts):
            if prev[1] == cur[1]:
                continue
            seam: dict[str, Any] = {
                "case": case.item.key,
                "from": prev[1],
                "to": cur[1],
                "from_actor": prev[3],
                "to_actor": cur[3],
                "stage": cur[4],
                "handed_at": iso(prev[0]),
                "picked_at": iso(cur[0]),
                "wait_s": int((cur[0] - prev[0]).total_seconds()),
                "last_act": prev[2],
                "first_act": cur[2],
            }
            if cur[5]:
                seam["cause"] = cur[5]
            out.append(seam)
        return out
