"""The stage-teams organisation (Acme): work items through triage, build, review, QA, deploy.

Each stage has its own team (product triages, engineering builds and reviews,
QA verifies, operations deploys). ``Simulator`` plans at most one problem per
item and plays the item through the stages; the review and shipping half
lives in ``_ship``, the automation and talk around the items in
``_background``, the shared acts in ``_acts``.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from wfmine.simulate._background import Background
from wfmine.simulate._config import SimConfig, Trend
from wfmine.simulate._model import (
    BASE,
    COMPONENT_REPO,
    PROJECT,
    Change,
    Item,
    JComment,
    World,
    keynum,
    risk_tier,
)
from wfmine.simulate._org import Org
from wfmine.simulate._ship import Shipping
from wfmine.simulate._text import BUG_FORMS, STORY_VERBS, SUBJECTS, TASK_FORMS, jira_url


def _trend_weight(trend: Trend, frac: float) -> float:
    if trend == "rising":
        return 0.2 + 1.6 * frac
    if trend == "declining":
        return 1.8 - 1.6 * frac
    return 1.0


class Simulator(Shipping, Background):
    def __init__(self, org: Org, seed: int, n_items: int, months: int, cfg: SimConfig) -> None:
        super().__init__(org, seed, n_items, months, cfg)
        self.eng = org.team("engineering")
        self.qa = org.team("qa")
        self.ops = org.team("operations")
        self.support = org.team("support")
        self.product = org.team("product")

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
                p["cases"] = sorted(set(cases), key=keynum)
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
        subj = rng.choice(SUBJECTS)
        if itype == "Bug":
            summary = rng.choice(BUG_FORMS).format(s=subj).capitalize()
        elif itype == "Story":
            summary = f"{rng.choice(STORY_VERBS)} {subj}"
        else:
            summary = rng.choice(TASK_FORMS).format(s=subj)
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


def generate(org: Org, seed: int, items: int, months: int, cfg: SimConfig) -> World:
    return Simulator(org, seed, items, months, cfg).run()
