"""GitHub REST responses laid out by API path under ``github/repos/acme/<repo>/``."""

from __future__ import annotations

import base64
import hashlib
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from wfmine.simulate._model import PullRequest, World
from wfmine.simulate._org import GITHUB_ORG, Actor, Org
from wfmine.simulate._util import dump_json

API = "https://api.github.com"
WEB = "https://github.com"
_ORG_ID = 98_765_432
_REPO_IDS = {"api": 612_300_101, "web": 612_300_102, "infra": 612_300_103}


def _repo_id(name: str) -> int:
    if name in _REPO_IDS:
        return _REPO_IDS[name]
    return 612_300_200 + int(hashlib.sha1(name.encode()).hexdigest()[:6], 16) % 90_000


_LABELS = {
    "security": ("d73a4a", 5_100_000_001),
    "payments": ("0e8a16", 5_100_000_002),
    "migration": ("fbca04", 5_100_000_003),
    "customer": ("1d76db", 5_100_000_004),
    "dependencies": ("0366d6", 5_100_000_005),
}


def gh_time(t: datetime) -> str:
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _node(prefix: str, n: int) -> str:
    return base64.b64encode(f"{prefix}{n}".encode()).decode()


def _user_obj(
    login: str, uid: int, typ: str, app_id: int = 0, slug: str | None = None
) -> dict[str, Any]:
    q = login.replace("[", "%5B").replace("]", "%5D")
    u = f"{API}/users/{q}"
    node = _node(
        "04:User" if typ == "User" else ("03:Bot" if typ == "Bot" else "12:Organization"), uid
    )
    # a bot's page is its app's (the Copilot coding agent's login ``Copilot`` is the app
    # ``copilot-swe-agent``'s)
    app_slug = slug or login.removesuffix("[bot]")
    html = f"{WEB}/apps/{app_slug}" if typ == "Bot" else f"{WEB}/{login}"
    avatar = (
        f"https://avatars.githubusercontent.com/in/{app_id}?v=4"
        if typ == "Bot"
        else f"https://avatars.githubusercontent.com/u/{uid}?v=4"
    )
    return {
        "login": login,
        "id": uid,
        "node_id": node,
        "avatar_url": avatar,
        "gravatar_id": "",
        "url": u,
        "html_url": html,
        "followers_url": f"{u}/followers",
        "following_url": f"{u}/following{{/other_user}}",
        "gists_url": f"{u}/gists{{/gist_id}}",
        "starred_url": f"{u}/starred{{/owner}}{{/repo}}",
        "subscriptions_url": f"{u}/subscriptions",
        "organizations_url": f"{u}/orgs",
        "repos_url": f"{u}/repos",
        "events_url": f"{u}/events{{/privacy}}",
        "received_events_url": f"{u}/received_events",
        "type": typ,
        "site_admin": False,
    }


def user(a: Actor) -> dict[str, Any]:
    assert a.github is not None
    return _user_obj(a.github, a.github_id, a.github_type, a.github_app_id, a.github_app)


ORG_USER = _user_obj(GITHUB_ORG, _ORG_ID, "Organization")


def app(a: Actor) -> dict[str, Any] | None:
    if not a.github_app:
        return None
    return {
        "id": a.github_app_id,
        "slug": a.github_app,
        "node_id": _node("03:Integration", a.github_app_id),
        "owner": ORG_USER
        if a.github_app == "acme-reviewbot"
        else _user_obj("github", 9_919, "Organization"),
        "name": a.name,
        "description": "",
        "external_url": f"{WEB}/apps/{a.github_app}",
        "html_url": f"{WEB}/apps/{a.github_app}",
        "created_at": "2024-02-01T10:00:00Z",
        "updated_at": "2025-06-01T10:00:00Z",
        "permissions": {
            "checks": "write",
            "contents": "write",
            "issues": "write",
            "metadata": "read",
            "pull_requests": "write",
        },
        "events": ["check_run", "pull_request", "pull_request_review", "push"],
    }


def _repo(name: str) -> dict[str, Any]:
    full = f"{GITHUB_ORG}/{name}"
    u = f"{API}/repos/{full}"
    return {
        "id": _repo_id(name),
        "node_id": _node("010:Repository", _repo_id(name)),
        "name": name,
        "full_name": full,
        "private": True,
        "owner": ORG_USER,
        "html_url": f"{WEB}/{full}",
        "description": f"Acme {name}",
        "fork": False,
        "url": u,
        "pulls_url": f"{u}/pulls{{/number}}",
        "issues_url": f"{u}/issues{{/number}}",
        "commits_url": f"{u}/commits{{/sha}}",
        "created_at": "2023-03-01T09:00:00Z",
        "updated_at": "2026-01-02T09:00:00Z",
        "pushed_at": "2026-01-02T09:00:00Z",
        "git_url": f"git://github.com/{full}.git",
        "ssh_url": f"git@github.com:{full}.git",
        "clone_url": f"{WEB}/{full}.git",
        "homepage": None,
        "size": 48_213,
        "language": "TypeScript" if name == "web" else ("HCL" if name == "infra" else "Python"),
        "archived": False,
        "disabled": False,
        "visibility": "private",
        "default_branch": "main",
    }


def _assoc(a: Actor) -> str:
    return "MEMBER" if a.github_type == "User" else "NONE"


def _label(repo: str, name: str) -> dict[str, Any]:
    color, lid = _LABELS.get(name, ("ededed", 5_100_000_099))
    return {
        "id": lid,
        "node_id": _node("08:Label", lid),
        "url": f"{API}/repos/{GITHUB_ORG}/{repo}/labels/{name}",
        "name": name,
        "color": color,
        "default": False,
        "description": "",
    }


def _reactions(url: str) -> dict[str, Any]:
    return {
        "url": f"{url}/reactions",
        "total_count": 0,
        "+1": 0,
        "-1": 0,
        "laugh": 0,
        "hooray": 0,
        "confused": 0,
        "heart": 0,
        "rocket": 0,
        "eyes": 0,
    }


class _Writer:
    def __init__(self, world: World, out: Path) -> None:
        self.w = world
        self.org: Org = world.org
        self.end = world.end
        self.out = out
        self.repos = {r: _repo(r) for r in world.layout.repos}

    def a(self, actor_id: str) -> Actor:
        return self.org[actor_id]

    def visible(self, t: datetime | None) -> bool:
        return t is not None and t <= self.end

    def state(self, pr: PullRequest) -> tuple[str, datetime | None, datetime | None]:
        merged = pr.merged_at if self.visible(pr.merged_at) else None
        closed = pr.closed_at if self.visible(pr.closed_at) else None
        return ("closed" if closed else "open"), closed, merged

    def draft(self, pr: PullRequest) -> bool:
        """Still a draft when exported: opened as one and not yet marked ready (nor merged)."""
        return pr.draft_until is not None and pr.draft_until > self.end

    def updated(self, pr: PullRequest) -> datetime:
        ts = [pr.created]
        ts += (
            [c.t for c in pr.commits] + [r.t for r in pr.reviews] + [c.t for c in pr.issue_comments]
        )
        ts += [c.t for c in pr.review_comments] + [e.t for e in pr.events]
        return max(t for t in ts if t <= self.end)

    def head_sha(self, pr: PullRequest) -> str:
        cs = [c for c in pr.commits if c.t <= self.end]
        return cs[-1].sha if cs else pr.base_sha

    def pr_obj(self, pr: PullRequest) -> dict[str, Any]:
        repo = pr.repo
        u = f"{API}/repos/{GITHUB_ORG}/{repo}"
        html = f"{WEB}/{GITHUB_ORG}/{repo}/pull/{pr.number}"
        state, closed, merged = self.state(pr)
        author = self.a(pr.author)
        head = self.head_sha(pr)
        pending = (
            []
            if any(r.t <= self.end for r in pr.reviews) or state == "closed"
            else [user(self.a(x)) for x in pr.requested]
        )
        return {
            "url": f"{u}/pulls/{pr.number}",
            "id": pr.id,
            "node_id": _node("011:PullRequest", pr.id),
            "html_url": html,
            "diff_url": f"{html}.diff",
            "patch_url": f"{html}.patch",
            "issue_url": f"{u}/issues/{pr.number}",
            "number": pr.number,
            "state": state,
            "locked": False,
            "title": pr.title,
            "user": user(author),
            "body": pr.body,
            "created_at": gh_time(pr.created),
            "updated_at": gh_time(self.updated(pr)),
            "closed_at": gh_time(closed) if closed else None,
            "merged_at": gh_time(merged) if merged else None,
            "merge_commit_sha": pr.merge_sha if merged else None,
            "assignee": user(self.a(pr.assignees[0])) if pr.assignees else None,
            "assignees": [user(self.a(x)) for x in pr.assignees],
            "requested_reviewers": pending,
            "requested_teams": [],
            "labels": [_label(repo, x) for x in pr.labels],
            "milestone": None,
            "draft": self.draft(pr),
            "commits_url": f"{u}/pulls/{pr.number}/commits",
            "review_comments_url": f"{u}/pulls/{pr.number}/comments",
            "review_comment_url": f"{u}/pulls/comments{{/number}}",
            "comments_url": f"{u}/issues/{pr.number}/comments",
            "statuses_url": f"{u}/statuses/{head}",
            "head": {
                "label": f"{GITHUB_ORG}:{pr.branch}",
                "ref": pr.branch,
                "sha": head,
                "user": ORG_USER,
                "repo": self.repos[repo],
            },
            "base": {
                "label": f"{GITHUB_ORG}:main",
                "ref": "main",
                "sha": pr.base_sha,
                "user": ORG_USER,
                "repo": self.repos[repo],
            },
            "_links": {
                "self": {"href": f"{u}/pulls/{pr.number}"},
                "html": {"href": html},
                "issue": {"href": f"{u}/issues/{pr.number}"},
                "comments": {"href": f"{u}/issues/{pr.number}/comments"},
                "review_comments": {"href": f"{u}/pulls/{pr.number}/comments"},
                "review_comment": {"href": f"{u}/pulls/comments{{/number}}"},
                "commits": {"href": f"{u}/pulls/{pr.number}/commits"},
                "statuses": {"href": f"{u}/statuses/{head}"},
            },
            "author_association": _assoc(author),
            "auto_merge": None,
            "active_lock_reason": None,
        }

    def issue_obj(self, pr: PullRequest) -> dict[str, Any]:
        """The issue view of a PR (or of a plain issue), as nested in issue events."""
        u = f"{API}/repos/{GITHUB_ORG}/{pr.repo}"
        state, closed, merged = self.state(pr)
        author = self.a(pr.author)
        iid = pr.id + 300_000_000
        kind = "issues" if pr.is_issue else "pull"
        d: dict[str, Any] = {
            "url": f"{u}/issues/{pr.number}",
            "repository_url": u,
            "labels_url": f"{u}/issues/{pr.number}/labels{{/name}}",
            "comments_url": f"{u}/issues/{pr.number}/comments",
            "events_url": f"{u}/issues/{pr.number}/events",
            "html_url": f"{WEB}/{GITHUB_ORG}/{pr.repo}/{kind}/{pr.number}",
            "id": iid,
            "node_id": _node("05:Issue", iid),
            "number": pr.number,
            "title": pr.title,
            "user": user(author),
            "labels": [_label(pr.repo, x) for x in pr.labels],
            "state": state,
            "locked": False,
            "assignee": user(self.a(pr.assignees[0])) if pr.assignees else None,
            "assignees": [user(self.a(x)) for x in pr.assignees],
            "milestone": None,
            "comments": sum(1 for c in pr.issue_comments if c.t <= self.end),
            "created_at": gh_time(pr.created),
            "updated_at": gh_time(self.updated(pr)),
            "closed_at": gh_time(closed) if closed else None,
            "author_association": _assoc(author),
            "active_lock_reason": None,
        }
        if not pr.is_issue:
            d["draft"] = self.draft(pr)
            d["pull_request"] = {
                "url": f"{u}/pulls/{pr.number}",
                "html_url": f"{WEB}/{GITHUB_ORG}/{pr.repo}/pull/{pr.number}",
                "diff_url": f"{WEB}/{GITHUB_ORG}/{pr.repo}/pull/{pr.number}.diff",
                "patch_url": f"{WEB}/{GITHUB_ORG}/{pr.repo}/pull/{pr.number}.patch",
                "merged_at": gh_time(merged) if merged else None,
            }
        d.update(
            {
                "body": pr.body,
                "reactions": _reactions(f"{u}/issues/{pr.number}"),
                "timeline_url": f"{u}/issues/{pr.number}/timeline",
                "performed_via_github_app": None,
                "state_reason": ("completed" if pr.is_issue else None)
                if state == "closed"
                else None,
            }
        )
        return d

    def commit_obj(
        self, pr: PullRequest, sha: str, t: datetime, author: Actor, message: str, parent: str
    ) -> dict[str, Any]:
        u = f"{API}/repos/{GITHUB_ORG}/{pr.repo}"
        if "git_name" in author.extra:  # an agent app's own commit identity
            name = author.extra["git_name"]
            email = f"{author.github_id}+{author.github}@users.noreply.github.com"
        elif author.id == "copilot":
            name, email = "Copilot", author.email or ""
        elif author.github_type == "Bot":
            name, email = (
                author.github or "",
                f"{author.github_id}+{author.github}@users.noreply.github.com",
            )
        else:
            name, email = author.name, author.email or ""
        sig = {"name": name, "email": email, "date": gh_time(t)}
        tree = sha[::-1]
        return {
            "sha": sha,
            "node_id": _node("06:Commit" + str(_repo_id(pr.repo)) + ":", int(sha[:10], 16)),
            "commit": {
                "author": sig,
                "committer": dict(sig),
                "message": message,
                "tree": {"sha": tree, "url": f"{u}/git/trees/{tree}"},
                "url": f"{u}/git/commits/{sha}",
                "comment_count": 0,
                "verification": {
                    "verified": False,
                    "reason": "unsigned",
                    "signature": None,
                    "payload": None,
                },
            },
            "url": f"{u}/commits/{sha}",
            "html_url": f"{WEB}/{GITHUB_ORG}/{pr.repo}/commit/{sha}",
            "comments_url": f"{u}/commits/{sha}/comments",
            "author": user(author) if author.github else None,
            "committer": user(author) if author.github else None,
            "parents": [
                {
                    "sha": parent,
                    "url": f"{u}/commits/{parent}",
                    "html_url": f"{WEB}/{GITHUB_ORG}/{pr.repo}/commit/{parent}",
                }
            ],
        }

    def write_repo(self, repo: str) -> list[Path]:
        root = self.out / "github" / "repos" / GITHUB_ORG / repo
        prs = [p for p in self.w.prs[repo] if p.created <= self.end]
        u = f"{API}/repos/{GITHUB_ORG}/{repo}"
        paths: list[Path] = []
        pulls: list[dict[str, Any]] = []
        review_comments: list[dict[str, Any]] = []
        issue_comments: list[dict[str, Any]] = []
        events: list[dict[str, Any]] = []
        issues: list[dict[str, Any]] = []
        checks_by_sha: dict[str, list[dict[str, Any]]] = {}
        for pr in prs:
            if pr.is_issue:
                issues.append(self.issue_obj(pr))
            else:
                pulls.append(self.pr_obj(pr))
                html = f"{WEB}/{GITHUB_ORG}/{repo}/pull/{pr.number}"
                commits = [
                    self.commit_obj(pr, c.sha, c.t, self.a(c.author), c.message, c.parent)
                    for c in pr.commits
                    if c.t <= self.end
                ]
                p = root / "pulls" / str(pr.number) / "commits.json"
                dump_json(p, commits)
                paths.append(p)
                reviews = []
                for r in sorted(pr.reviews, key=lambda r: r.t):
                    if r.t > self.end:
                        continue
                    rv = self.a(r.reviewer)
                    reviews.append(
                        {
                            "id": r.id,
                            "node_id": _node("017:PullRequestReview", r.id),
                            "user": user(rv),
                            "body": r.body,
                            "state": r.state,
                            "html_url": f"{html}#pullrequestreview-{r.id}",
                            "pull_request_url": f"{u}/pulls/{pr.number}",
                            "author_association": _assoc(rv),
                            "_links": {
                                "html": {"href": f"{html}#pullrequestreview-{r.id}"},
                                "pull_request": {"href": f"{u}/pulls/{pr.number}"},
                            },
                            "submitted_at": gh_time(r.t),
                            "commit_id": r.commit_id,
                        }
                    )
                p = root / "pulls" / str(pr.number) / "reviews.json"
                dump_json(p, reviews)
                paths.append(p)
                for c in pr.review_comments:
                    if c.t > self.end:
                        continue
                    au = self.a(c.author)
                    cu = f"{u}/pulls/comments/{c.id}"
                    review_comments.append(
                        {
                            "url": cu,
                            "pull_request_review_id": c.review_id,
                            "id": c.id,
                            "node_id": _node("024:PullRequestReviewComment", c.id),
                            "diff_hunk": f"@@ -{c.line},6 +{c.line},8 @@\n context\n+changed line",
                            "path": c.path,
                            "position": 4,
                            "original_position": 4,
                            "commit_id": c.commit_id,
                            "original_commit_id": c.commit_id,
                            "user": user(au),
                            "body": c.body,
                            "created_at": gh_time(c.t),
                            "updated_at": gh_time(c.t),
                            "html_url": f"{html}#discussion_r{c.id}",
                            "pull_request_url": f"{u}/pulls/{pr.number}",
                            "author_association": _assoc(au),
                            "_links": {
                                "self": {"href": cu},
                                "html": {"href": f"{html}#discussion_r{c.id}"},
                                "pull_request": {"href": f"{u}/pulls/{pr.number}"},
                            },
                            "reactions": _reactions(cu),
                            "start_line": None,
                            "original_start_line": None,
                            "start_side": None,
                            "line": c.line + 2,
                            "original_line": c.line + 2,
                            "side": "RIGHT",
                        }
                    )
                for ch in pr.checks:
                    if ch.completed > self.end:
                        continue
                    bot = self.a("github-actions")
                    checks_by_sha.setdefault(ch.sha, []).append(
                        {
                            "id": ch.id,
                            "name": ch.name,
                            "node_id": _node("08:CheckRun", ch.id),
                            "head_sha": ch.sha,
                            "external_id": f"ci-{ch.id}",
                            "url": f"{u}/check-runs/{ch.id}",
                            "html_url": f"{WEB}/{GITHUB_ORG}/{repo}/runs/{ch.id}",
                            "details_url": f"{WEB}/{GITHUB_ORG}/{repo}/actions/runs/{ch.id // 3}/job/{ch.id}",
                            "status": "completed",
                            "conclusion": ch.conclusion,
                            "started_at": gh_time(ch.started),
                            "completed_at": gh_time(ch.completed),
                            "output": {
                                "title": "All checks passed"
                                if ch.conclusion == "success"
                                else "Tests failed",
                                "summary": "",
                                "text": None,
                                "annotations_count": 0 if ch.conclusion == "success" else 1,
                                "annotations_url": f"{u}/check-runs/{ch.id}/annotations",
                            },
                            "check_suite": {"id": ch.id // 2},
                            "app": app(bot),
                            "pull_requests": [
                                {
                                    "url": f"{u}/pulls/{pr.number}",
                                    "id": pr.id,
                                    "number": pr.number,
                                    "head": {
                                        "ref": pr.branch,
                                        "sha": ch.sha,
                                        "repo": {"id": _repo_id(repo), "url": u, "name": repo},
                                    },
                                    "base": {
                                        "ref": "main",
                                        "sha": pr.base_sha,
                                        "repo": {"id": _repo_id(repo), "url": u, "name": repo},
                                    },
                                }
                            ],
                        }
                    )
            for ic in pr.issue_comments:
                if ic.t > self.end:
                    continue
                au = self.a(ic.author)
                cu = f"{u}/issues/comments/{ic.id}"
                kind = "issues" if pr.is_issue else "pull"
                issue_comments.append(
                    {
                        "url": cu,
                        "html_url": f"{WEB}/{GITHUB_ORG}/{repo}/{kind}/{pr.number}#issuecomment-{ic.id}",
                        "issue_url": f"{u}/issues/{pr.number}",
                        "id": ic.id,
                        "node_id": _node("012:IssueComment", ic.id),
                        "user": user(au),
                        "created_at": gh_time(ic.t),
                        "updated_at": gh_time(ic.t),
                        "author_association": _assoc(au),
                        "body": ic.body,
                        "reactions": _reactions(cu),
                        "performed_via_github_app": app(au),
                    }
                )
            if pr.events:
                issue = self.issue_obj(pr)
            for e in pr.events:
                if e.t > self.end:
                    continue
                ac = self.a(e.actor)
                ev: dict[str, Any] = {
                    "id": e.id,
                    "node_id": _node("E:" + e.event, e.id),
                    "url": f"{u}/issues/events/{e.id}",
                    "actor": user(ac),
                    "event": e.event,
                    "commit_id": e.extra.get("commit_id"),
                    "commit_url": f"{u}/commits/{e.extra['commit_id']}"
                    if "commit_id" in e.extra
                    else None,
                    "created_at": gh_time(e.t),
                }
                if e.event == "review_requested":
                    ev["review_requester"] = user(ac)
                    ev["requested_reviewer"] = user(self.a(e.extra["requested_reviewer"]))
                if e.event == "assigned":
                    ev["assignee"] = user(self.a(e.extra["assignee"]))
                    ev["assigner"] = user(ac)
                if e.event == "labeled":
                    ev["label"] = {
                        "name": e.extra["label"],
                        "color": _LABELS.get(e.extra["label"], ("ededed", 0))[0],
                    }
                ev["issue"] = issue
                ev["performed_via_github_app"] = app(ac)
                ev["state_reason"] = None
                events.append(ev)
        pulls.sort(key=lambda p: -int(p["number"]))
        files: dict[Path, Any] = {
            root / "pulls.json": pulls,
            root / "pulls" / "comments.json": sorted(review_comments, key=lambda c: int(c["id"])),
            root / "issues" / "comments.json": sorted(issue_comments, key=lambda c: int(c["id"])),
            root / "issues" / "events.json": sorted(events, key=lambda e: -int(e["id"])),
        }
        if issues:
            files[root / "issues.json"] = issues
        for sha, runs in checks_by_sha.items():
            files[root / "commits" / sha / "check-runs.json"] = {
                "total_count": len(runs),
                "check_runs": runs,
            }
        for p, obj in files.items():
            dump_json(p, obj)
            paths.append(p)
        return paths


def write(world: World, out: Path) -> list[Path]:
    w = _Writer(world, out)
    paths: list[Path] = []
    for repo in world.layout.repos:
        paths += w.write_repo(repo)
    return paths
