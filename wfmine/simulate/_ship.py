"""Review, QA and shipping of a stage-teams work item, and what goes wrong after Done."""

from __future__ import annotations

from datetime import datetime, timedelta

from wfmine.simulate._acts import Acts
from wfmine.simulate._model import Change, Item, JComment, PullRequest
from wfmine.simulate._org import GITHUB_ORG, Actor
from wfmine.simulate._text import jira_url, pr_url, slugify


class Shipping(Acts):
    """Review and ship a work item of the stage-teams organisation (Acme)."""

    eng: list[Actor]
    qa: list[Actor]
    ops: list[Actor]

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
