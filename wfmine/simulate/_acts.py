"""The acts every simulated organisation is made of, on a shared clock and random stream.

``Acts`` holds the state of one run (items, pull requests, messages, mail, ids,
the ground truth being collected) and the acts people, bots and agents
perform: a Slack message, a mail, a Jira status move or assignment, a pull
request with its commits, checks, reviews and merge. The generators build the
work of an organisation out of these acts.
"""

from __future__ import annotations

import hashlib
import random
from datetime import datetime, timedelta

from wfmine.simulate._clock import Clock
from wfmine.simulate._config import SimConfig
from wfmine.simulate._model import (
    BASE,
    REPOS,
    STATUSES,
    Change,
    Check,
    Commit,
    GhEvent,
    History,
    IssueComment,
    Item,
    Mail,
    PullRequest,
    Review,
    ReviewComment,
    SlackMsg,
    Truth,
)
from wfmine.simulate._org import GITHUB_ORG, Actor, Org
from wfmine.simulate._text import BOT_REVIEW, REVIEW_NITS, files_of, jira_url, pr_url, slugify


class Acts:
    """State of one simulation run and the acts it is built from."""

    #: Jira statuses by name: (id, category key)
    statuses: dict[str, tuple[str, str]] = STATUSES
    #: Slack channel the GitHub app announces merges in
    merge_channel = "operations"

    def __init__(
        self,
        org: Org,
        seed: int,
        n_items: int,
        months: int,
        cfg: SimConfig,
        repos: tuple[str, ...] = REPOS,
    ) -> None:
        self.org = org
        self.seed = seed
        self.n = n_items
        self.months = months
        self.cfg = cfg
        self.rng = random.Random(seed)
        self.clock = Clock(self.rng)
        self.end = BASE + timedelta(days=round(months * 30.4))
        self.items: list[Item] = []
        self.prs: dict[str, list[PullRequest]] = {r: [] for r in repos}
        self.pr_counter = {r: 0 for r in repos}
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
        self.head = {r: self._sha("root", r) for r in repos}

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

    def _status(self, t: datetime, who: str, frm: str, to: str) -> History:
        st = self.statuses
        return History(t, who, [Change("status", "status", st[frm][0], frm, st[to][0], to)])

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
            self.rng.choice(BOT_REVIEW),
            pr.commits[-1].sha,
        )
        pr.reviews.append(rv)
        files = files_of(pr.repo)
        for _ in range(self.rng.choice([0, 1, 1, 2])):
            pr.review_comments.append(
                ReviewComment(
                    self._id("rc"),
                    rv.id,
                    t,
                    "reviewbot",
                    "Suggestion: " + self.rng.choice(REVIEW_NITS),
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
                        self.rng.choice(REVIEW_NITS),
                        self.rng.choice(files_of(pr.repo)),
                        self.rng.randint(5, 240),
                        rv.commit_id,
                    )
                )
        return rv

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
            self.merge_channel,
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
