"""Activity around a shaped organisation's work items: nightly bot PRs, a scheduled app, talk."""

from __future__ import annotations

from datetime import timedelta

from wfmine.simulate._flow_base import FlowBase
from wfmine.simulate._model import (
    BASE,
)
from wfmine.simulate._org import GITHUB_ORG

_DEPS = ("requests", "urllib3", "pydantic", "jinja2", "lodash", "axios", "webpack", "boto3")


class Around(FlowBase):
    """What happens outside the work items."""

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
        hour = self.shape.slack_hour
        while day < self.end:
            if day.weekday() in self.shape.slack_days:
                t = (day + timedelta(hours=hour, seconds=rng.uniform(0, 20))).replace(microsecond=0)
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
