"""GitHub: the collector — each REST record (PR, review, comment, event, commit, check, issue) into pending events, objects and links.

About 600 lines on purpose: one handler per record kind, all writing the
same collector state (the second pass is :mod:`._output`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Final

from wfmine.connectors._batch import BatchBuilder
from wfmine.connectors.github._common import (
    _CLOSES_GH,
    _CLOSES_WORD,
    _EVENT_TYPES,
    _ISSUE_EVENTS,
    _PR_ONLY_EVENTS,
    _REVIEW_ACTIVITY,
    _first_line,
    _get,
    _iso,
    _number_of,
    _repo_of,
    _reverts,
    _signal_kinds,
    _ts,
    classify,
    parse_trailers,
    refs_in,
)

#: An event whose object (PR or issue) is resolved once every record is read, as a tuple
#: (one per event, columns made of them by :func:`._output.finish`): repo, number, is_pr
#: (None when the record does not say), suffix of its id, activity (for a PR), activity
#: (for an issue; the same when the object kind does not matter), moment, actor, attrs,
#: raw_ref, trust, object id (set for commit-level events), further objects it touches.
_Pending = tuple[
    str, int | None, bool | None, str, str, str, dt.datetime, str | None, dict[str, Any], str,
    int, str | None, tuple[str, ...],
]  # fmt: skip


#: the user fields an account's attrs keep
_USER_ATTRS: Final = ("type", "id", "node_id", "site_admin")
#: the further attrs an account is given (:meth:`_Collector.account`'s ``extra``) …
_SETTLED_EXTRA: Final = frozenset({"author_association"})
#: … and so every attr it can hold: once all are known, no record adds one
_SETTLED_KEYS: Final = (*_USER_ATTRS, *_SETTLED_EXTRA)


def _user_kind(user: dict[str, Any], login: str) -> str:
    """human / bot / agent / unknown of a GitHub user object, from platform fields and the signals."""
    known = _signal_kinds().get(login.lower())
    if known == "agent":
        return "agent"
    if user.get("type") == "Bot" or login.endswith("[bot]") or known == "bot":
        return "bot"
    if user.get("type") == "User":
        return "human"
    return "unknown"


def _plain(issue: dict[str, Any]) -> bool:
    """Whether every value of ``issue`` that reaches its events' rows is text or null.

    Then two equal issues give the very same rows: ``==`` cannot hide a difference of
    type (``1 == 1.0 == True``) that their JSON would show.
    """
    labels = issue.get("labels")
    if labels is not None and not isinstance(labels, list):
        return False
    for label in labels or ():
        if isinstance(label, dict) and not isinstance(label.get("name"), str | None):
            return False
    values = (
        issue.get("created_at"), issue.get("closed_at"), issue.get("state_reason"),
        _get(issue, "pull_request", "merged_at"), _get(issue, "performed_via_github_app", "slug"),
    )  # fmt: skip
    return all(v is None or type(v) is str for v in values)


@dataclass
class _Collector(BatchBuilder):
    """Every record read (from files or the API), as pending events, objects, links and accounts."""

    source: str = "github"
    pending: list[_Pending] = field(default_factory=list)
    objects: dict[str, tuple[int, str, dict[str, Any]]] = field(default_factory=dict)
    accounts: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: accounts whose attrs hold every key of ``_SETTLED_KEYS`` (nothing left to add)
    settled: set[str] = field(default_factory=set)
    known_prs: set[tuple[str, int]] = field(default_factory=set)
    sha_to_pr: dict[tuple[str, str], int] = field(default_factory=dict)
    runs_with_jobs: set[str] = field(default_factory=set)
    commits: list[tuple[dict[str, Any], str, int | None, str]] = field(default_factory=list)
    checks: list[tuple[str, dict[str, Any], str]] = field(default_factory=list)
    stats: dict[str, int] = field(
        default_factory=lambda: {"files": 0, "records": 0, "skipped_files": 0, "skipped_records": 0}
    )
    max_updated: dt.datetime | None = None
    #: (object, repo, title, body, branch) whose links are taken: the same texts again (a PR's
    #: issue record, every issue event embedding it) link nothing new
    linked: set[tuple[str, str, Any, Any, Any]] = field(default_factory=set)
    #: (repo, number) -> the issue an issue event embedded last, and the events it gave
    #: (see :meth:`_embedded_issue`)
    embedded: dict[tuple[str, int], tuple[dict[str, Any], int, int]] = field(default_factory=dict)

    # -- bookkeeping -----------------------------------------------------------------

    def seen_update(self, value: Any) -> None:
        moment = _ts(value)
        if moment is not None and (self.max_updated is None or moment > self.max_updated):
            self.max_updated = moment

    def account(self, user: Any, **extra: Any) -> str | None:
        """Register a GitHub user object (``login`` …) as an account; return its id."""
        if not isinstance(user, dict) or not isinstance(user.get("login"), str):
            return None
        login = user["login"]
        account_id = f"github:{login}"
        row = self.accounts.get(account_id)
        if row is not None and account_id in self.settled and extra.keys() <= _SETTLED_EXTRA:
            # every attr an account keeps is known: only its kind can still change, and a
            # human one only to a bot (its login names no bot or agent, or it would be one)
            kind = row["platform_kind"]
            if kind == "bot" or kind == "agent" or (kind == "human" and user.get("type") != "Bot"):
                return account_id
        if row is None:
            attrs = {k: user[k] for k in _USER_ATTRS if k in user}
            attrs.update({k: v for k, v in extra.items() if v is not None})
            self.accounts[account_id] = {
                "account_id": account_id, "source": "github", "login": login,
                "display_name": user.get("name"), "email": user.get("email"),
                "platform_kind": _user_kind(user, login), "attrs": attrs,
            }  # fmt: skip
            return account_id
        known = row["attrs"]
        for k in _USER_ATTRS:
            if k in user and k not in known:
                known[k] = user[k]
        for k, v in extra.items():
            if v is not None and k not in known:
                known[k] = v
        if row["platform_kind"] in ("unknown", "human"):
            kind = _user_kind(user, login)
            if kind in ("bot", "agent") or row["platform_kind"] == "unknown":
                row["platform_kind"] = kind
        if all(k in known for k in _SETTLED_KEYS):
            self.settled.add(account_id)
        return account_id

    def put_object(self, oid: str, trust: int, updated: Any, row: dict[str, Any]) -> None:
        rank = (-trust, str(updated or ""))
        current = self.objects.get(oid)
        if current is None or rank > (-current[0], current[1]):
            self.objects[oid] = (trust, str(updated or ""), row)

    def event(
        self, repo: str, number: int | None, is_pr: bool | None, suffix: str,
        activity: str | tuple[str, str], when: Any, actor: str | None, attrs: dict[str, Any],
        raw_ref: str, trust: int, *, object_id: str | None = None, related: tuple[str, ...] = (),
    ) -> None:  # fmt: skip
        moment = _ts(when)
        if moment is None:
            return
        pr_activity, issue_activity = (
            (activity, activity) if isinstance(activity, str) else activity
        )
        self.pending.append(
            (repo, number, is_pr, suffix, pr_activity, issue_activity, moment, actor, attrs,
             raw_ref, trust, object_id, related)
        )  # fmt: skip

    # -- records -----------------------------------------------------------------------

    def add_record(
        self, record: Any, origin: str, ref: str, pr_hint: int | None, *, kind: str | None = ""
    ) -> None:
        """Read one record; ``kind`` is its :func:`classify` when the caller has it already."""
        if kind == "":
            kind = classify(record)
        self.stats["records"] += 1
        if self.reject_unreadable(ref, record, f"{kind or 'GitHub'} record"):
            return
        if kind is None:
            self.stats["skipped_records"] += 1
            self.reject(
                ref,
                "not a recognised GitHub record (no PR, review, comment, event, commit, check or issue fields)",
                record,
            )
            return
        handler = _HANDLERS[kind]
        try:
            problem = handler(self, record, origin, ref, pr_hint)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            problem = f"{kind} record is malformed ({type(exc).__name__}: {exc})"
        if problem:
            self.reject(ref, problem, record)

    def _pull(
        self, pr: dict[str, Any], origin: str, ref: str, hint: int | None, *, trust: int = 0
    ) -> str | None:
        repo = _repo_of(pr.get("url"), pr.get("html_url"), _get(pr, "base", "repo", "url"))
        number = pr.get("number")
        if repo is None or not isinstance(number, int) or _ts(pr.get("created_at")) is None:
            return "pull request without a repository URL, an integer number or created_at"
        oid = f"github:{repo}#pr/{number}"
        raw_ref = (
            self.keep_raw("pull", f"{repo}#{number}@{pr.get('updated_at')}", pr, origin)
            if trust == 0 else ref
        )  # fmt: skip
        self.known_prs.add((repo, number))
        self.seen_update(pr.get("updated_at"))
        author = self.account(pr.get("user"), author_association=pr.get("author_association"))
        for reviewer in pr.get("requested_reviewers") or []:
            self.account(reviewer)
        head_sha = _get(pr, "head", "sha")
        if isinstance(head_sha, str):
            self.sha_to_pr.setdefault((repo, head_sha), number)
        labels = [lb.get("name") for lb in pr.get("labels") or [] if isinstance(lb, dict)]
        reverts = _reverts(repo, pr.get("body"))
        base, head = _get(pr, "base", "ref"), _get(pr, "head", "ref")
        attrs = {"author": author, "labels": labels, "base": base, "head": head,
                 "draft": pr.get("draft"), "author_association": pr.get("author_association")}  # fmt: skip
        if reverts:
            attrs["reverts"] = reverts
        self.put_object(oid, trust, pr.get("updated_at"), {
            "object_id": oid, "object_type": "pull_request", "source": "github",
            "key": f"{repo}#{number}", "title": pr.get("title"),
            "attrs": {**attrs, "state": pr.get("state"), "merged_at": pr.get("merged_at"),
                      "created_at": pr.get("created_at"), "closed_at": pr.get("closed_at"),
                      "html_url": pr.get("html_url"),
                      "merge_commit_sha": pr.get("merge_commit_sha")},
        })  # fmt: skip
        self.event(
            repo,
            number,
            True,
            "opened",
            "PR opened",
            pr["created_at"],
            author,
            attrs,
            raw_ref,
            trust,
        )
        merged_at = pr.get("merged_at")
        if merged_at:
            merger = self.account(pr.get("merged_by"))
            self.event(repo, number, True, "merged", "PR merged", merged_at, merger,
                       {"author": author, "base": base, "head": head}, raw_ref, trust)  # fmt: skip
            if reverts:
                self.event(repo, number, True, "revert_merged", "Revert merged", merged_at, merger,
                           {"reverts": reverts, "author": author}, raw_ref, trust)  # fmt: skip
        elif pr.get("closed_at"):
            stamp = _ts(pr["closed_at"])
            if stamp is not None:
                self.event(repo, number, True, f"closed@{_iso(stamp)}", "PR closed", stamp, None,
                           {"author": author}, raw_ref, trust)  # fmt: skip
        self._text_links(oid, repo, pr.get("title"), pr.get("body"), head)
        return None

    def _issue(
        self, issue: dict[str, Any], origin: str, ref: str, hint: int | None, *, trust: int = 3
    ) -> str | None:
        repo = _repo_of(issue.get("repository_url"), issue.get("url"), issue.get("html_url"))
        number = issue.get("number")
        if repo is None or not isinstance(number, int) or _ts(issue.get("created_at")) is None:
            return "issue without a repository URL, an integer number or created_at"
        is_pr = "pull_request" in issue or "/pull/" in str(issue.get("html_url") or "")
        raw_ref = (
            self.keep_raw("issue", f"{repo}#{number}@{issue.get('updated_at')}", issue, origin)
            if trust == 3 else ref
        )  # fmt: skip
        self.seen_update(issue.get("updated_at"))
        author = self.account(issue.get("user"), author_association=issue.get("author_association"))
        for person in issue.get("assignees") or []:
            self.account(person)
        labels = [lb.get("name") for lb in issue.get("labels") or [] if isinstance(lb, dict)]
        app = _get(issue, "performed_via_github_app", "slug")
        attrs: dict[str, Any] = {"author": author, "labels": labels}
        if app:
            attrs["performed_via_github_app"] = app
        if is_pr:
            self.known_prs.add((repo, number))
            oid = f"github:{repo}#pr/{number}"
            merged_at = _get(issue, "pull_request", "merged_at")
            self.put_object(oid, trust + 1, issue.get("updated_at"), {
                "object_id": oid, "object_type": "pull_request", "source": "github",
                "key": f"{repo}#{number}", "title": issue.get("title"),
                "attrs": {**attrs, "state": issue.get("state"), "merged_at": merged_at,
                          "created_at": issue.get("created_at"), "closed_at": issue.get("closed_at"),
                          "html_url": issue.get("html_url")},
            })  # fmt: skip
            self.event(
                repo,
                number,
                True,
                "opened",
                "PR opened",
                issue["created_at"],
                author,
                attrs,
                raw_ref,
                trust,
            )
            if merged_at:
                self.event(
                    repo,
                    number,
                    True,
                    "merged",
                    "PR merged",
                    merged_at,
                    None,
                    {"author": author},
                    raw_ref,
                    trust,
                )
            elif issue.get("closed_at"):
                stamp = _ts(issue["closed_at"])
                if stamp is not None:
                    self.event(repo, number, True, f"closed@{_iso(stamp)}", "PR closed", stamp, None,
                               {"author": author}, raw_ref, trust)  # fmt: skip
        else:
            oid = f"github:{repo}#issue/{number}"
            self.put_object(oid, trust, issue.get("updated_at"), {
                "object_id": oid, "object_type": "gh_issue", "source": "github",
                "key": f"{repo}#{number}", "title": issue.get("title"),
                "attrs": {**attrs, "state": issue.get("state"), "state_reason": issue.get("state_reason"),
                          "created_at": issue.get("created_at"), "closed_at": issue.get("closed_at"),
                          "html_url": issue.get("html_url")},
            })  # fmt: skip
            self.event(
                repo,
                number,
                False,
                "opened",
                "GH issue opened",
                issue["created_at"],
                author,
                attrs,
                raw_ref,
                trust,
            )
            if issue.get("closed_at"):
                stamp = _ts(issue["closed_at"])
                if stamp is not None:
                    self.event(repo, number, False, f"closed@{_iso(stamp)}", "GH issue closed", stamp,
                               self.account(issue.get("closed_by")), {"state_reason": issue.get("state_reason")},
                               raw_ref, trust)  # fmt: skip
        self._text_links(oid, repo, issue.get("title"), issue.get("body"), None)
        return None

    def _embedded_issue(self, issue: dict[str, Any], origin: str, ref: str) -> None:
        """:meth:`_issue` at trust 5 of the issue an issue event embeds.

        GitHub embeds the issue as it is now in every event of it, so the same issue comes
        again and again. Read again, an equal issue changes nothing but adds its events
        once more, differing only in ``raw_ref`` (accounts, objects, links and the rest are
        idempotent: a field already known, an object rank not higher, a text already
        linked); of two such events the one with the lower ``raw_ref`` is the one
        :func:`._output.finish` would choose, for the row as for the actor. So an issue
        equal to the one the last event of the same ``(repo, number)`` embedded only lowers
        those events' ``raw_ref`` where its own is lower: the same batch.
        """
        repo = _repo_of(issue.get("repository_url"), issue.get("url"), issue.get("html_url"))
        number = issue.get("number")
        if repo is None or type(number) is not int:
            self._issue(issue, origin, ref, None, trust=5)
            return
        key = (repo, number)
        last = self.embedded.get(key)
        pending = self.pending
        # an issue equal to a plain one is plain (``==`` holds only between text and text,
        # None and None, list and list): only an issue stored below is checked
        if last is not None and last[0] == issue:
            for i in range(last[1], last[2]):
                (
                    repo_,
                    num,
                    is_pr,
                    suffix,
                    pr_act,
                    issue_act,
                    when,
                    who,
                    attrs,
                    raw_ref,
                    trust,
                    obj,
                    rel,
                ) = pending[i]
                if ref < raw_ref:
                    pending[i] = (repo_, num, is_pr, suffix, pr_act, issue_act, when, who, attrs,
                                  ref, trust, obj, rel)  # fmt: skip
            return
        start = len(pending)
        self._issue(issue, origin, ref, None, trust=5)
        if _plain(issue):  # one that is not is never the last to compare with
            self.embedded[key] = (issue, start, len(pending))

    def _review(
        self, review: dict[str, Any], origin: str, ref: str, hint: int | None, *, trust: int = 0
    ) -> str | None:
        repo = _repo_of(review.get("pull_request_url"), review.get("html_url"))
        found = _number_of(review.get("pull_request_url"), review.get("html_url"))
        if repo is None or found is None or review.get("id") is None:
            return "review without id or pull_request_url"
        number = found[0]
        state = str(review.get("state") or "").upper()
        raw_ref = (
            self.keep_raw("review", f"{repo}#{review['id']}", review, origin) if trust == 0 else ref
        )
        self.known_prs.add((repo, number))
        actor = self.account(
            review.get("user"), author_association=review.get("author_association")
        )
        activity = _REVIEW_ACTIVITY.get(state)
        if activity and _ts(review.get("submitted_at")) is None:
            # a verdict without its moment: kept raw and quarantined, never dropped silently
            return f"{state} review without a readable submitted_at: when it happened is unknown"
        if activity:
            self.event(repo, number, True, f"review/{review['id']}", activity, review["submitted_at"], actor,
                       {"state": state, "commit_id": review.get("commit_id"),
                        "author_association": review.get("author_association")}, raw_ref, trust)  # fmt: skip
        return None

    def _review_comment(
        self, comment: dict[str, Any], origin: str, ref: str, hint: int | None, *, trust: int = 0
    ) -> str | None:
        repo = _repo_of(
            comment.get("pull_request_url"), comment.get("url"), comment.get("html_url")
        )
        found = _number_of(comment.get("pull_request_url"), comment.get("html_url"))
        if repo is None or found is None or comment.get("id") is None:
            return "review comment without id or pull_request_url"
        number = found[0]
        raw_ref = (
            self.keep_raw("review_comment", f"{repo}#{comment['id']}", comment, origin)
            if trust == 0
            else ref
        )
        self.known_prs.add((repo, number))
        actor = self.account(
            comment.get("user"), author_association=comment.get("author_association")
        )
        self.event(repo, number, True, f"review_comment/{comment['id']}", "Review comment added",
                   comment.get("created_at"), actor,
                   {"path": comment.get("path"), "review_id": comment.get("pull_request_review_id"),
                    "in_reply_to": comment.get("in_reply_to_id"),
                    "author_association": comment.get("author_association")}, raw_ref, trust)  # fmt: skip
        return None

    def _issue_comment(
        self, comment: dict[str, Any], origin: str, ref: str, hint: int | None, *, trust: int = 0
    ) -> str | None:
        repo = _repo_of(comment.get("issue_url"), comment.get("url"), comment.get("html_url"))
        found = _number_of(comment.get("html_url"), comment.get("issue_url"))
        if repo is None or found is None or comment.get("id") is None:
            return "issue comment without id or issue_url"
        number, on_pr = found
        raw_ref = (
            self.keep_raw("issue_comment", f"{repo}#{comment['id']}", comment, origin)
            if trust == 0
            else ref
        )
        actor = self.account(
            comment.get("user"), author_association=comment.get("author_association")
        )
        attrs: dict[str, Any] = {"author_association": comment.get("author_association")}
        app = _get(comment, "performed_via_github_app", "slug")
        if app:
            attrs["performed_via_github_app"] = app
        self.event(repo, number, True if on_pr else None, f"comment/{comment['id']}",
                   ("PR comment added", "GH issue comment added"), comment.get("created_at"), actor,
                   attrs, raw_ref, trust)  # fmt: skip
        return None

    def _issue_event(
        self, item: dict[str, Any], origin: str, ref: str, hint: int | None
    ) -> str | None:
        issue = item.get("issue")
        issue_url = issue if isinstance(issue, str) else _get(issue, "html_url")
        repo = _repo_of(item.get("url"), issue_url, _get(issue, "url"))
        number = _get(issue, "number")
        found = _number_of(issue_url, _get(issue, "url"))
        if not isinstance(number, int) and found is not None:
            number = found[0]
        if (
            repo is None
            or not isinstance(number, int)
            or item.get("id") is None
            or _ts(item.get("created_at")) is None
        ):
            return "issue event without id, created_at or the issue it belongs to"
        name = str(item.get("event"))
        raw_ref = self.keep_raw("issue_event", f"{repo}#{item['id']}", item, origin)
        is_pr: bool | None = True if isinstance(issue, dict) and "pull_request" in issue else None
        if name in _PR_ONLY_EVENTS:
            is_pr = True
        if is_pr:
            self.known_prs.add((repo, number))
        actor = self.account(item.get("actor"))
        if isinstance(issue, dict):
            self._embedded_issue(issue, origin, raw_ref)
        mapped = _ISSUE_EVENTS.get(name)
        if mapped is None:
            self.stats["skipped_records"] += 1  # kept raw: subscribed, mentioned, project moves …
            return None
        attrs: dict[str, Any] = {"event": name}
        app = _get(item, "performed_via_github_app", "slug")
        if app:
            attrs["performed_via_github_app"] = app
        if name == "labeled":
            attrs["label"] = _get(item, "label", "name")
        if name == "assigned":
            attrs["assignee"] = self.account(item.get("assignee"))
        if name == "review_requested":
            attrs["requested_reviewer"] = self.account(item.get("requested_reviewer"))
        if item.get("commit_id"):
            attrs["commit_id"] = item["commit_id"]
        stamp = _ts(item["created_at"])
        assert stamp is not None
        what = mapped[2]
        if what == "closed" or what == "reopened":
            suffix = f"{what}@{_iso(stamp)}"
        elif what == "merged":
            suffix = "merged"
        else:
            suffix = f"event/{item['id']}"
        self.event(
            repo, number, is_pr, suffix, (mapped[0], mapped[1]), stamp, actor, attrs, raw_ref, 1
        )
        return None

    def _commit(
        self, commit: dict[str, Any], origin: str, ref: str, hint: int | None
    ) -> str | None:
        repo = _repo_of(commit.get("url"), commit.get("html_url"))
        sha = commit.get("sha")
        if repo is None or not isinstance(sha, str) or not isinstance(commit.get("commit"), dict):
            return "commit without sha, commit or a repository URL"
        raw_ref = self.keep_raw("commit", f"{repo}@{sha}", commit, origin)
        if hint is not None:
            self.sha_to_pr.setdefault((repo, sha), hint)
            self.known_prs.add((repo, hint))
        self.commits.append((commit, raw_ref, hint, repo))
        return None

    def _check_run(
        self, check: dict[str, Any], origin: str, ref: str, hint: int | None
    ) -> str | None:
        repo = _repo_of(check.get("url"), check.get("html_url"))
        if repo is None or check.get("id") is None or not isinstance(check.get("head_sha"), str):
            return "check run without id, head_sha or a repository URL"
        raw_ref = self.keep_raw("check_run", f"{repo}#{check['id']}", check, origin)
        if check.get("run_id") is not None:
            self.runs_with_jobs.add(f"{repo}#{check['run_id']}")
        self.checks.append(("check", check, raw_ref))
        return None

    def _workflow_run(
        self, run: dict[str, Any], origin: str, ref: str, hint: int | None
    ) -> str | None:
        repo = _repo_of(run.get("url"), run.get("html_url"))
        if repo is None or run.get("id") is None or not isinstance(run.get("head_sha"), str):
            return "workflow run without id, head_sha or a repository URL"
        raw_ref = self.keep_raw(
            "workflow_run", f"{repo}#{run['id']}@{run.get('updated_at')}", run, origin
        )
        self.account(run.get("actor"))
        self.account(run.get("triggering_actor"))
        self.checks.append(("run", run, raw_ref))
        return None

    def _repo_event(
        self, item: dict[str, Any], origin: str, ref: str, hint: int | None
    ) -> str | None:
        repo = _get(item, "repo", "name")
        payload = item.get("payload")
        if not isinstance(repo, str) or not isinstance(payload, dict) or item.get("id") is None:
            return "repository event without id, repo.name or payload"
        raw_ref = self.keep_raw("repo_event", str(item["id"]), item, origin)
        actor = self.account(item.get("actor"))
        kind, action = item["type"], payload.get("action")
        pr, issue = payload.get("pull_request"), payload.get("issue")
        if isinstance(pr, dict) and "number" in pr:
            if isinstance(pr.get("head"), dict):
                self._pull(pr, origin, raw_ref, None, trust=2)
            else:
                self.known_prs.add((repo, int(pr["number"])))
        if isinstance(issue, dict) and "number" in issue:
            self._issue(issue, origin, raw_ref, None, trust=4)
        if kind == "PullRequestReviewEvent" and isinstance(payload.get("review"), dict):
            review = dict(payload["review"])
            review.setdefault("pull_request_url", _get(pr, "url"))
            self._review(review, origin, raw_ref, None, trust=2)
        elif kind == "PullRequestReviewCommentEvent" and isinstance(payload.get("comment"), dict):
            self._review_comment(payload["comment"], origin, raw_ref, None, trust=2)
        elif kind == "IssueCommentEvent" and isinstance(payload.get("comment"), dict):
            self._issue_comment(payload["comment"], origin, raw_ref, None, trust=2)
        elif kind == "PushEvent" and isinstance(payload.get("commits"), list):
            for c in payload["commits"]:
                if isinstance(c, dict) and isinstance(c.get("sha"), str):
                    self._push_commit(repo, c, item.get("created_at"), actor, raw_ref)
        elif kind in ("PullRequestEvent", "IssuesEvent") and action in (
            "reopened",
            "labeled",
            "assigned",
            "ready_for_review",
            "review_requested",
        ):
            target = pr if kind == "PullRequestEvent" else issue
            number = _get(target, "number")
            if isinstance(number, int):
                is_pr = kind == "PullRequestEvent" or (
                    isinstance(issue, dict) and "pull_request" in issue
                )
                mapped = _ISSUE_EVENTS[str(action)]
                stamp = _ts(item.get("created_at"))
                if stamp is not None:
                    suffix = (
                        f"reopened@{_iso(stamp)}"
                        if action == "reopened"
                        else f"repo_event/{item['id']}"
                    )
                    self.event(repo, number, is_pr, suffix, (mapped[0], mapped[1]), stamp, actor,
                               {"event": action}, raw_ref, 2)  # fmt: skip
        else:
            self.stats["skipped_records"] += 0 if kind in _EVENT_TYPES[:5] else 1
        return None

    def _push_commit(
        self, repo: str, c: dict[str, Any], when: Any, actor: str | None, raw_ref: str
    ) -> None:
        sha = c["sha"]
        message = c.get("message")
        author: dict[str, Any] = c["author"] if isinstance(c.get("author"), dict) else {}
        oid = f"github:{repo}@{sha}"
        attrs = {"sha": sha, "trailers": parse_trailers(message), "author_email": author.get("email"),
                 "message_first_line": _first_line(message), "pusher": actor}  # fmt: skip
        self.put_object(oid, 4, None, {"object_id": oid, "object_type": "commit", "source": "github",
                                       "key": f"{repo}@{sha[:12]}", "title": _first_line(message),
                                       "attrs": attrs})  # fmt: skip
        self.event(
            repo,
            None,
            None,
            "commit",
            "Commit pushed",
            when,
            actor,
            attrs,
            raw_ref,
            4,
            object_id=oid,
        )
        for ref in refs_in(message):
            if ref.kind in ("jira_key", "jira_url"):
                self.link(
                    oid,
                    f"jira:{ref.value}",
                    "commit_message",
                    f"commit_message: {_first_line(message)}",
                )

    # -- links ----------------------------------------------------------------------

    def _text_links(self, oid: str, repo: str, title: Any, body: Any, branch: Any) -> None:
        seen = (oid, repo, title, body, branch)
        try:
            if seen in self.linked:
                return  # every link these texts give is held already (the first evidence wins)
            self.linked.add(seen)
        except TypeError:  # a title or body that is not text (a list …): no memo
            pass
        if isinstance(title, str):
            for ref in refs_in(title):
                if ref.kind in ("jira_key", "jira_url"):
                    self.link(oid, f"jira:{ref.value}", "title", f"title: {title}")
        if isinstance(branch, str):
            for ref in refs_in(branch):
                if ref.kind == "jira_key":
                    self.link(oid, f"jira:{ref.value}", "branch", f"branch: {branch}")
        if isinstance(body, str):
            for ref in refs_in(body):
                if ref.kind in ("jira_key", "jira_url"):
                    at = body.find(ref.evidence)
                    before = body[max(0, at - 30) : at]
                    closes = bool(_CLOSES_WORD.search(before))
                    snippet = (
                        body[max(0, at - 30) : at + len(ref.evidence)].replace("\n", " ").strip()
                    )
                    self.link(oid, f"jira:{ref.value}", "closes" if closes else "mentions",
                              f"body: {snippet}")  # fmt: skip
                elif ref.kind in ("github_pull", "github_issue"):
                    other_repo, num = ref.value.split("#")
                    kind = "pr" if ref.kind == "github_pull" else "issue"
                    target = f"github:{other_repo}#{kind}/{num}"
                    if target != oid:
                        self.link(oid, target, "url", f"body: {ref.evidence}")
            for m in _CLOSES_GH.finditer(body):
                target = f"github:{m.group(1) or repo}#issue/{m.group(2)}"
                if target != oid:
                    self.link(oid, target, "closes", f"body: {m.group(0)}")


#: record kind -> its handler (one table, not one per record)
_HANDLERS: Final[dict[str, Callable[[_Collector, dict[str, Any], str, str, int | None], str | None]]] = {
    "pull": _Collector._pull, "issue": _Collector._issue, "review": _Collector._review,
    "commit": _Collector._commit, "review_comment": _Collector._review_comment,
    "issue_comment": _Collector._issue_comment, "issue_event": _Collector._issue_event,
    "check_run": _Collector._check_run, "workflow_run": _Collector._workflow_run,
    "repo_event": _Collector._repo_event,
}  # fmt: skip
