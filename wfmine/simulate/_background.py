"""Automation and talk outside the work items: Dependabot, the shadow agents, team chatter."""

from __future__ import annotations

from datetime import datetime, timedelta

from wfmine.simulate._acts import Acts
from wfmine.simulate._model import BASE, GhEvent, IssueComment
from wfmine.simulate._org import Actor


class Background(Acts):
    """What happens around the work items of the stage-teams organisation (Acme)."""

    eng: list[Actor]
    qa: list[Actor]
    ops: list[Actor]
    support: list[Actor]
    product: list[Actor]

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
