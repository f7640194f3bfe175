"""GitHub: REST JSON (files or the live API) into a :class:`~wfmine.model.Batch`.

Records are recognised by *content*, never by file name, so a folder laid out
by API path (``repos/<o>/<r>/pulls.json``, ``pulls/<n>/reviews.json`` …),
plain arrays saved anywhere, ``gh api --paginate`` output (arrays
concatenated as ``][`` or NDJSON) and Events-API pages all load the same way:

=================  =====================================================
record             recognised by
=================  =====================================================
pull request       ``head`` + ``base``
review             ``state`` + ``pull_request_url`` (no ``diff_hunk``)
review comment     ``diff_hunk``
issue comment      ``issue_url`` + ``body``
issue event        ``event`` + ``actor``
commit             ``sha`` + ``commit``
check run / job    ``head_sha`` + ``conclusion`` (+ ``check_suite`` or ``run_id``)
workflow run       ``head_sha`` + ``workflow_id``
issue              ``number`` + ``title`` + ``repository_url``
repository event   ``type`` (``PullRequestEvent`` …) + ``payload``
=================  =====================================================

Owner and repository come from the URLs inside each record. The only thing
taken from a path is the PR number of ``pulls/<n>/commits.json`` (a commit
record does not name its PR). Event ids are built from the object and the
record's native id, or for state changes from the object and the moment
(``github:o/r#pr/7/closed@2024-01-02T03:04:05Z``), so the same change read
from a PR record, an issue event and a repository event is one event.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import logging
import os
import re
import time
import tomllib
from collections.abc import Callable, Iterable, Iterator, Mapping, MutableMapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Final

import httpx

from wfmine.connectors._http import Http
from wfmine.connectors._refs import find_refs
from wfmine.errors import ConfigError, FormatError, TerminalError
from wfmine.model import Batch, to_json, to_utc

__all__ = ["classify", "load", "parse_trailers", "pull", "read_documents", "sniff"]

log = logging.getLogger("wfmine.connectors.github")

_HTML_REPO: Final = re.compile(r"https?://github\.com/([^/\s]+)/([^/\s#?]+)/")
_API_REPO: Final = re.compile(r"/repos/([^/\s]+)/([^/\s#?]+)")
_NUMBER_IN_URL: Final = re.compile(r"/(pull|pulls|issues)/(\d+)")
_PATH_PR: Final = re.compile(r"pulls/(\d+)/(?:commits|reviews)")
_TRAILER: Final = re.compile(r"^([A-Za-z][A-Za-z0-9-]*):[ \t]+(\S.*)$")
_REVERTS: Final = re.compile(r"\bReverts\s+([\w.-]+/[\w.-]+)?#(\d+)")
_CLOSES_WORD: Final = re.compile(r"\b(?:close[sd]?|fix(?:e[sd])?|resolve[sd]?)\b[\s:]*$", re.I)
_CLOSES_GH: Final = re.compile(
    r"\b(?:close[sd]?|fix(?:e[sd])?|resolve[sd]?)\b[\s:]+([\w.-]+/[\w.-]+)?#(\d+)", re.I
)
_SNIFF_BYTES: Final = 65536
_EVENT_TYPES: Final = (
    "PullRequestEvent", "PullRequestReviewEvent", "PullRequestReviewCommentEvent",
    "IssuesEvent", "IssueCommentEvent", "PushEvent", "CreateEvent", "WatchEvent",
)  # fmt: skip
_REVIEW_ACTIVITY: Final = {
    "APPROVED": "PR approved",
    "CHANGES_REQUESTED": "Changes requested",
    "COMMENTED": "PR reviewed",
    "DISMISSED": "PR reviewed",
}
_FAILED: Final = frozenset({"failure", "timed_out", "startup_failure"})
#: activity -> seq rank: breaks timestamp ties in the order a PR's life runs
_RANK: Final = {
    "PR opened": 0, "GH issue opened": 0, "PR ready for review": 1, "Review requested": 2,
    "Commit pushed": 3, "Check failed": 4, "Check passed": 4, "PR comment added": 5,
    "GH issue comment added": 5, "Review comment added": 6, "PR approved": 7,
    "Changes requested": 7, "PR reviewed": 7, "Labeled": 8, "Assigned": 8, "PR merged": 9,
    "Revert merged": 10, "PR closed": 11, "GH issue closed": 11, "PR reopened": 12,
    "GH issue reopened": 12,
}  # fmt: skip
# issue-event name -> (activity for a PR, activity for an issue, id suffix kind)
_ISSUE_EVENTS: Final = {
    "closed": ("PR closed", "GH issue closed", "closed"),
    "reopened": ("PR reopened", "GH issue reopened", "reopened"),
    "merged": ("PR merged", "PR merged", "merged"),
    "ready_for_review": ("PR ready for review", "PR ready for review", "event"),
    "review_requested": ("Review requested", "Review requested", "event"),
    "labeled": ("Labeled", "Labeled", "event"),
    "assigned": ("Assigned", "Assigned", "event"),
}
_PR_ONLY_EVENTS: Final = frozenset(
    {"merged", "ready_for_review", "review_requested", "head_ref_deleted",
     "head_ref_force_pushed", "convert_to_draft", "review_dismissed"}
)  # fmt: skip
# record kinds in order of trust when two records give the same event id
_TRUST: Final = {"pull": 0, "review": 0, "review_comment": 0, "issue_comment": 0, "commit": 0,
                 "check_run": 0, "workflow_run": 0, "issue_event": 1, "repo_event": 2,
                 "issue": 3, "push": 4}  # fmt: skip


# -- reading files ---------------------------------------------------------------------


def read_documents(text: str) -> tuple[list[Any], str | None]:
    """Decode one JSON document, or several concatenated (``gh api --paginate``, NDJSON).

    Returns the documents and, when the text stops being JSON part-way, the
    problem with its position (documents before it are kept).

    >>> read_documents('[1,2][3]')
    ([[1, 2], [3]], None)
    """
    decoder = json.JSONDecoder()
    docs: list[Any] = []
    pos = 0
    length = len(text)
    while True:
        while pos < length and text[pos] in " \t\r\n,":
            pos += 1
        if pos >= length:
            return docs, None
        try:
            doc, pos = decoder.raw_decode(text, pos)
        except json.JSONDecodeError as exc:
            return docs, f"{exc.msg} at line {exc.lineno}, column {exc.colno}"
        docs.append(doc)


def classify(record: Any) -> str | None:
    """The kind of a GitHub REST record (``pull``, ``review`` …), or ``None``."""
    if not isinstance(record, dict):
        return None
    if (
        isinstance(record.get("type"), str)
        and record["type"].endswith("Event")
        and "payload" in record
    ):
        return "repo_event"
    if isinstance(record.get("head"), dict) and isinstance(record.get("base"), dict):
        return "pull"
    if "diff_hunk" in record:
        return "review_comment"
    if "pull_request_url" in record and "state" in record:
        return "review"
    if "issue_url" in record and "body" in record:
        return "issue_comment"
    if "sha" in record and isinstance(record.get("commit"), dict):
        return "commit"
    if "head_sha" in record and "workflow_id" in record:
        return "workflow_run"
    if (
        "head_sha" in record
        and "conclusion" in record
        and ("check_suite" in record or "run_id" in record or "check_run_url" in record)
    ):
        return "check_run"
    if "event" in record and "actor" in record:
        return "issue_event"
    if (
        "number" in record
        and "title" in record
        and ("repository_url" in record or "html_url" in record)
    ):
        return "issue"
    return None


def _records(doc: Any) -> Iterator[Any]:
    if isinstance(doc, list):
        for item in doc:
            if isinstance(item, list):  # NDJSON / paginate output of arrays of arrays
                yield from item
            else:
                yield item
    elif isinstance(doc, dict):
        for envelope in ("workflow_runs", "jobs", "check_runs", "items"):
            if isinstance(doc.get(envelope), list):
                yield from doc[envelope]
                return
        yield doc


def sniff(path: Path) -> bool:
    """True when ``path`` (a file, or a folder holding one) holds GitHub REST JSON."""
    try:
        files = sorted(_files(path))[:200] if path.is_dir() else [path]
    except OSError:
        return False
    for file in files:
        try:
            with file.open("rb") as fh:
                head = fh.read(_SNIFF_BYTES).decode("utf-8", errors="replace")
        except OSError:
            continue
        if head.lstrip()[:1] not in ("[", "{"):
            continue
        if (
            "api.github.com/repos/" in head or "https://github.com/" in head
        ) and '"node_id"' in head:
            return True
        if any(f'"{t}"' in head for t in _EVENT_TYPES) and '"payload"' in head:
            return True
    return False


def _files(folder: Path) -> Iterable[Path]:
    for p in folder.rglob("*"):
        hidden = any(part.startswith(".") for part in p.relative_to(folder).parts)
        if p.is_file() and not hidden and p.suffix.lower() in (".json", ".ndjson", ".jsonl"):
            yield p


# -- helpers ---------------------------------------------------------------------------


def parse_trailers(message: str | None) -> list[str]:
    """The trailer lines (``Key: value``) of a commit message's last paragraph.

    >>> parse_trailers("fix\\n\\nCo-authored-by: A <a@x>\\nMade-with: Cursor")
    ['Co-authored-by: A <a@x>', 'Made-with: Cursor']
    """
    if not message:
        return []
    paragraphs = [
        p for p in re.split(r"\n\s*\n", message.strip().replace("\r\n", "\n")) if p.strip()
    ]
    if len(paragraphs) < 2:
        return []
    lines = [ln.strip() for ln in paragraphs[-1].splitlines() if ln.strip()]
    found = [ln for ln in lines if _TRAILER.match(ln)]
    # a paragraph is a trailer block when most of it is trailers (git's own rule is similar)
    return found if found and len(found) * 4 >= len(lines) * 3 else []


@functools.cache
def _signal_kinds() -> dict[str, str]:
    """Known bot/agent logins (lower-cased) -> kind, from the versioned ``wfmine/data/signals.toml``."""
    try:
        text = resources.files("wfmine").joinpath("data/signals.toml").read_text(encoding="utf-8")
        data = tomllib.loads(text)
    except (OSError, tomllib.TOMLDecodeError, ModuleNotFoundError):
        return {}
    out: dict[str, str] = {}
    for tool in data.get("tool", []):
        kind = tool.get("kind")
        if kind in ("agent", "bot"):
            for login in tool.get("logins", []):
                out[str(login).lower()] = kind
    return out


def _ts(value: Any) -> dt.datetime | None:
    try:
        return to_utc(value)
    except (TypeError, ValueError):
        return None


def _iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def _repo_of(*urls: Any) -> str | None:
    for url in urls:
        if not isinstance(url, str):
            continue
        m = _API_REPO.search(url) or _HTML_REPO.match(url)
        if m:
            return f"{m.group(1)}/{m.group(2)}"
    return None


def _number_of(*urls: Any) -> tuple[int, bool] | None:
    for url in urls:
        if isinstance(url, str):
            m = _NUMBER_IN_URL.search(url)
            if m:
                return int(m.group(2)), m.group(1) in ("pull", "pulls")
    return None


def _first_line(text: Any) -> str | None:
    return str(text).strip().splitlines()[0] if isinstance(text, str) and text.strip() else None


# -- the collector -------------------------------------------------------------------


@dataclass
class _Pending:
    """An event whose object (PR or issue) is resolved once every record is read."""

    repo: str
    number: int | None
    is_pr: bool | None
    suffix: str
    activity: str | tuple[str, str]  # (for a PR, for an issue) when the object kind is open
    timestamp: dt.datetime
    actor_id: str | None
    attrs: dict[str, Any]
    raw_ref: str
    trust: int
    object_id: str | None = None  # set for commit-level events
    related: tuple[str, ...] = ()


@dataclass
class _Collector:
    raw: list[dict[str, Any]] = field(default_factory=list)
    pending: list[_Pending] = field(default_factory=list)
    objects: dict[str, tuple[int, str, dict[str, Any]]] = field(default_factory=dict)
    links: dict[tuple[str, str, str], str] = field(default_factory=dict)
    accounts: dict[str, dict[str, Any]] = field(default_factory=dict)
    quarantine: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    known_prs: set[tuple[str, int]] = field(default_factory=set)
    sha_to_pr: dict[tuple[str, str], int] = field(default_factory=dict)
    runs_with_jobs: set[str] = field(default_factory=set)
    commits: list[tuple[dict[str, Any], str, int | None, str]] = field(default_factory=list)
    checks: list[tuple[str, dict[str, Any], str]] = field(default_factory=list)
    stats: dict[str, int] = field(
        default_factory=lambda: {"files": 0, "records": 0, "skipped_files": 0, "skipped_records": 0}
    )
    max_updated: dt.datetime | None = None

    # -- bookkeeping -----------------------------------------------------------------

    def reject(self, ref: str, reason: str, payload: Any) -> None:
        text = payload if isinstance(payload, str) else to_json(payload)
        self.quarantine.append(
            {"source": "github", "record_ref": ref, "reason": reason, "payload": text[:20_000]}
        )

    def keep_raw(self, kind: str, record_id: str, record: Any, origin: str) -> str:
        self.raw.append(
            {"source": "github", "record_type": kind, "record_id": record_id,
             "payload": to_json(record), "origin": origin}
        )  # fmt: skip
        return f"{kind}:{record_id}"

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
        known = _signal_kinds().get(login.lower())
        if known == "agent":
            kind = "agent"
        elif user.get("type") == "Bot" or login.endswith("[bot]") or known == "bot":
            kind = "bot"
        elif user.get("type") == "User":
            kind = "human"
        else:
            kind = "unknown"
        row = self.accounts.get(account_id)
        attrs = {k: user[k] for k in ("type", "id", "node_id", "site_admin") if k in user}
        attrs.update({k: v for k, v in extra.items() if v is not None})
        if row is None:
            self.accounts[account_id] = {
                "account_id": account_id, "source": "github", "login": login,
                "display_name": user.get("name"), "email": user.get("email"),
                "platform_kind": kind, "attrs": attrs,
            }  # fmt: skip
            return account_id
        for k, v in attrs.items():
            row["attrs"].setdefault(k, v)
        if (row["platform_kind"] in ("unknown", "human") and kind in ("bot", "agent")) or row[
            "platform_kind"
        ] == "unknown":
            row["platform_kind"] = kind
        return account_id

    def put_object(self, oid: str, trust: int, updated: Any, row: dict[str, Any]) -> None:
        rank = (-trust, str(updated or ""))
        current = self.objects.get(oid)
        if current is None or rank > (-current[0], current[1]):
            self.objects[oid] = (trust, str(updated or ""), row)

    def link(self, src: str, dst: str, relation: str, evidence: str) -> None:
        self.links.setdefault((src, dst, relation), evidence[:500])

    def event(
        self, repo: str, number: int | None, is_pr: bool | None, suffix: str,
        activity: str | tuple[str, str], when: Any, actor: str | None, attrs: dict[str, Any],
        raw_ref: str, trust: int, *, object_id: str | None = None, related: tuple[str, ...] = (),
    ) -> None:  # fmt: skip
        moment = _ts(when)
        if moment is None:
            return
        self.pending.append(
            _Pending(repo, number, is_pr, suffix, activity, moment, actor, attrs, raw_ref, trust,
                     object_id, related)
        )  # fmt: skip

    # -- records -----------------------------------------------------------------------

    def add_record(self, record: Any, origin: str, ref: str, pr_hint: int | None) -> None:
        kind = classify(record)
        self.stats["records"] += 1
        if kind is None:
            self.stats["skipped_records"] += 1
            self.reject(
                ref,
                "not a recognised GitHub record (no PR, review, comment, event, commit, check or issue fields)",
                record,
            )
            return
        handler = getattr(self, f"_{kind}")
        try:
            problem = handler(record, origin, ref, pr_hint)
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
        if activity and review.get("submitted_at"):
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
            self._issue(issue, origin, raw_ref, None, trust=5)
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
        suffix = {"closed": f"closed@{_iso(stamp)}", "reopened": f"reopened@{_iso(stamp)}",
                  "merged": "merged"}.get(mapped[2], f"event/{item['id']}")  # fmt: skip
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
        for ref in find_refs(message):
            if ref.kind in ("jira_key", "jira_url"):
                self.link(
                    oid,
                    f"jira:{ref.value}",
                    "commit_message",
                    f"commit_message: {_first_line(message)}",
                )

    # -- links ----------------------------------------------------------------------

    def _text_links(self, oid: str, repo: str, title: Any, body: Any, branch: Any) -> None:
        if isinstance(title, str):
            for ref in find_refs(title):
                if ref.kind in ("jira_key", "jira_url"):
                    self.link(oid, f"jira:{ref.value}", "title", f"title: {title}")
        if isinstance(branch, str):
            for ref in find_refs(branch):
                if ref.kind == "jira_key":
                    self.link(oid, f"jira:{ref.value}", "branch", f"branch: {branch}")
        if isinstance(body, str):
            for ref in find_refs(body):
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

    # -- second pass ----------------------------------------------------------------

    def finish_commits(self) -> None:
        for commit, raw_ref, hint, repo in self.commits:
            sha = commit["sha"]
            info = commit["commit"]
            message = info.get("message")
            author_info = info.get("author") if isinstance(info.get("author"), dict) else {}
            committer_info = (
                info.get("committer") if isinstance(info.get("committer"), dict) else {}
            )
            actor = self.account(commit.get("author"))
            self.account(commit.get("committer"))
            number = hint if hint is not None else self.sha_to_pr.get((repo, sha))
            oid = f"github:{repo}@{sha}"
            attrs = {"sha": sha, "trailers": parse_trailers(message),
                     "author_email": author_info.get("email"), "author_name": author_info.get("name"),
                     "message_first_line": _first_line(message),
                     "committer_email": committer_info.get("email"),
                     "authored_at": author_info.get("date")}  # fmt: skip
            self.put_object(oid, 0, committer_info.get("date"), {
                "object_id": oid, "object_type": "commit", "source": "github",
                "key": f"{repo}@{sha[:12]}", "title": _first_line(message),
                "attrs": {**attrs, "pull_request": number},
            })  # fmt: skip
            related: tuple[str, ...] = ()
            if number is not None:
                pr_oid = f"github:{repo}#pr/{number}"
                self.link(oid, pr_oid, "part_of", f"commit of {repo}#{number}")
                related = (pr_oid,)
            when = committer_info.get("date") or author_info.get("date")
            self.event(repo, None, None, "commit", "Commit pushed", when, actor, attrs, raw_ref, 0,
                       object_id=oid, related=related)  # fmt: skip
            for ref in find_refs(message):
                if ref.kind in ("jira_key", "jira_url"):
                    self.link(oid, f"jira:{ref.value}", "commit_message",
                              f"commit_message: {_first_line(message)}")  # fmt: skip

    def finish_checks(self) -> None:
        for what, check, raw_ref in self.checks:
            repo = _repo_of(check.get("url"), check.get("html_url"))
            assert repo is not None
            if what == "run" and f"{repo}#{check['id']}" in self.runs_with_jobs:
                continue  # its jobs (check runs) carry the finer events
            conclusion = check.get("conclusion")
            if conclusion == "success":
                activity = "Check passed"
            elif conclusion in _FAILED:
                activity = "Check failed"
            else:
                continue  # cancelled, skipped, neutral, still running: no verdict
            number = next(
                (p.get("number") for p in check.get("pull_requests") or [] if isinstance(p, dict)),
                None,
            )
            if not isinstance(number, int):
                number = self.sha_to_pr.get((repo, check["head_sha"]))
            when = check.get("completed_at") or check.get("updated_at") or check.get("started_at")
            attrs = {"conclusion": conclusion, "name": check.get("name"), "head_sha": check["head_sha"],
                     "app": _get(check, "app", "slug"), "event": check.get("event"),
                     "head_branch": check.get("head_branch")}  # fmt: skip
            suffix = f"{'check' if what == 'check' else 'run'}/{check['id']}"
            if isinstance(number, int):
                self.event(repo, number, True, suffix, activity, when, None, attrs, raw_ref, 0)
            else:
                oid = f"github:{repo}@{check['head_sha']}"
                self.put_object(oid, 9, None, {
                    "object_id": oid, "object_type": "commit", "source": "github",
                    "key": f"{repo}@{check['head_sha'][:12]}", "title": None,
                    "attrs": {"sha": check["head_sha"]},
                })  # fmt: skip
                self.event(
                    repo, None, None, suffix, activity, when, None, attrs, raw_ref, 0, object_id=oid
                )

    def batch(self, *, cursor: str | None) -> Batch:
        self.finish_commits()
        self.finish_checks()
        events: dict[str, tuple[int, str, dict[str, Any], tuple[str, ...]]] = {}
        actors: dict[str, tuple[int, str, str]] = {}
        for p in self.pending:
            if p.object_id is not None:
                oid = p.object_id
                activity = p.activity if isinstance(p.activity, str) else p.activity[0]
            else:
                assert p.number is not None
                is_pr = p.is_pr or (p.repo, p.number) in self.known_prs
                oid = f"github:{p.repo}#{'pr' if is_pr else 'issue'}/{p.number}"
                activity = (
                    p.activity if isinstance(p.activity, str) else p.activity[0 if is_pr else 1]
                )
                if not is_pr and activity.startswith("PR "):
                    activity = {
                        "PR closed": "GH issue closed",
                        "PR reopened": "GH issue reopened",
                    }.get(activity, activity)
                self._ensure_object(oid, p.repo, p.number, is_pr)
            event_id = f"{oid}/{p.suffix}"
            row: dict[str, Any] = {
                "event_id": event_id, "activity": activity, "timestamp": p.timestamp,
                "seq": _RANK.get(activity, 20), "actor_id": p.actor_id, "team": None,
                "source": "github", "object_id": oid, "attrs": to_json(p.attrs), "raw_ref": p.raw_ref,
            }  # fmt: skip
            current = events.get(event_id)
            if current is None or (p.trust, p.raw_ref) < (current[0], current[1]):
                events[event_id] = (p.trust, p.raw_ref, row, p.related)
            if p.actor_id is not None:
                known = actors.get(event_id)
                if known is None or (p.trust, p.raw_ref) < known[:2]:
                    actors[event_id] = (p.trust, p.raw_ref, p.actor_id)
        # the most trusted record may lack the actor (a pull list has no merged_by):
        # take it from the most trusted record that names one
        for event_id, (_, _, row, _) in events.items():
            if row["actor_id"] is None and event_id in actors:
                row["actor_id"] = actors[event_id][2]
        merged_at: dict[str, list[dt.datetime]] = {}
        for _, _, row, _ in events.values():
            if row["activity"] == "PR merged":
                merged_at.setdefault(row["object_id"], []).append(row["timestamp"])
        rows: list[dict[str, Any]] = []
        event_objects: list[dict[str, Any]] = []
        for event_id in sorted(events):
            _, _, row, related = events[event_id]
            if row["activity"] == "PR closed" and any(
                abs((row["timestamp"] - m).total_seconds()) <= 60
                for m in merged_at.get(row["object_id"], [])
            ):
                continue  # GitHub closes a PR when it merges it: one step, not two
            rows.append(row)
            qualifier = "commit" if "@" in row["object_id"] else "work_item"
            event_objects.append(
                {"event_id": event_id, "object_id": row["object_id"], "qualifier": qualifier}
            )
            for other in related:
                event_objects.append(
                    {"event_id": event_id, "object_id": other, "qualifier": "pull_request"}
                )
        objects = []
        for oid in sorted(self.objects):
            row = dict(self.objects[oid][2])
            row["attrs"] = to_json(row["attrs"])
            objects.append(row)
        accounts = []
        for aid in sorted(self.accounts):
            row = dict(self.accounts[aid])
            row["attrs"] = to_json(row["attrs"])
            accounts.append(row)
        batch = Batch.from_rows(
            "github",
            events=rows,
            raw_records=self.raw,
            event_objects=event_objects,
            objects=objects,
            object_links=[
                {"from_object": a, "to_object": b, "relation": r, "evidence": e}
                for (a, b, r), e in sorted(self.links.items())
            ],
            accounts=accounts,
            quarantine=self.quarantine,
            cursor=cursor,
            warnings=self.warnings,
        )
        batch.raw_records = batch.raw_records.unique(
            subset=["record_type", "record_id"], keep="first", maintain_order=True
        )
        batch.stats = dict(self.stats)
        return batch

    def _ensure_object(self, oid: str, repo: str, number: int, is_pr: bool) -> None:
        """An object known only from events (an issue event's URL) still gets a row."""
        if oid in self.objects:
            return
        self.put_object(oid, 9, None, {
            "object_id": oid, "object_type": "pull_request" if is_pr else "gh_issue",
            "source": "github", "key": f"{repo}#{number}", "title": None, "attrs": {},
        })  # fmt: skip


def _get(obj: Any, *path: str) -> Any:
    for key in path:
        if not isinstance(obj, dict):
            return None
        obj = obj.get(key)
    return obj


def _reverts(repo: str, body: Any) -> str | None:
    if not isinstance(body, str):
        return None
    m = _REVERTS.search(body)
    if not m:
        return None
    return f"github:{m.group(1) or repo}#pr/{m.group(2)}"


# -- load -----------------------------------------------------------------------------


def _add_file(collector: _Collector, path: Path, *, single: bool, root: Path | None) -> None:
    collector.stats["files"] += 1
    origin = str(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        if single:
            raise FormatError(path, f"cannot be read: {type(exc).__name__}") from None
        collector.reject(origin, f"file cannot be read: {type(exc).__name__}", "")
        return
    docs, problem = read_documents(text)
    if problem and not docs:
        if single:
            raise FormatError(path, f"not valid JSON: {problem}")
        collector.reject(origin, f"not valid JSON: {problem}", text[:2000])
        return
    if problem:
        collector.reject(
            f"{origin}#rest", f"JSON stops part-way ({problem}); the documents before it loaded", ""
        )
    records = [r for doc in docs for r in _records(doc)]
    if not any(classify(r) for r in records[:50]) and not any(classify(r) for r in records):
        collector.stats["skipped_files"] += 1
        if single:
            raise FormatError(path, "no GitHub REST records found")
        return
    relative = str(path.relative_to(root)) if root else path.name
    m = _PATH_PR.search(relative.replace(os.sep, "/"))
    hint = int(m.group(1)) if m else None
    for i, record in enumerate(records):
        collector.add_record(record, origin, f"{origin}#{i}", hint)


def load(path: Path | str, options: Mapping[str, Any] | None = None) -> Batch:
    """Read GitHub REST JSON (a file, or a folder of files anywhere below) into a batch.

    A single input that is not JSON raises :class:`FormatError`; inside a
    folder such a file is quarantined and the rest loads. Unrecognisable or
    malformed records are quarantined as ``"<file>#<index>"``. ``batch.cursor``
    is the newest ``updated_at`` seen.

    >>> batch = load("/work/shared/realdata/github/panjf2000-ants")  # doctest: +SKIP
    """
    del options
    path = Path(path)
    if not path.exists():
        raise FormatError(path, "no such file or folder")
    collector = _Collector()
    if path.is_dir():
        for file in sorted(_files(path)):
            _add_file(collector, file, single=False, root=path)
    else:
        _add_file(collector, path, single=True, root=None)
    cursor = _iso(collector.max_updated) if collector.max_updated else None
    return collector.batch(cursor=cursor)


# -- live API ---------------------------------------------------------------------------


def pull(
    owner: str,
    repo: str,
    *,
    token_env: str | None = "GITHUB_TOKEN",
    base_url: str = "https://api.github.com",
    client: httpx.Client | None = None,
    since: str | None = None,
    max_wait: float = 60.0,
    max_tries: int = 5,
    sleep: Callable[[float], None] = time.sleep,
    etags: MutableMapping[str, tuple[str, Any]] | None = None,
    per_page: int = 100,
    options: Mapping[str, Any] | None = None,
) -> Batch:
    """Pull a repository's PRs (with reviews and commits), issues, comments, events and runs.

    The token is read from the environment variable *named* ``token_env``
    (``None`` pulls anonymously). Lists sorted by ``updated`` descending are
    read until the watermark ``since`` (ISO-8601; the store's
    ``last_cursor("github", scope="owner/repo")``); open PRs are always
    re-fetched. ``batch.cursor`` is the newest ``updated_at`` seen. Pass an
    ``etags`` mapping that outlives the call to make repeat pulls conditional
    (``If-None-Match``; a 304 costs no rate limit).

    >>> batch = pull("acme", "api", since=store.last_cursor("github", "acme/api"))  # doctest: +SKIP
    >>> store.ingest(batch, scope="acme/api")  # doctest: +SKIP
    """
    del options
    headers = {"Accept": "application/vnd.github+json", "X-GitHub-Api-Version": "2022-11-28"}
    secrets: tuple[str, ...] = ()
    if token_env:
        token = os.environ.get(token_env)
        if not token:
            raise ConfigError(
                f"environment variable {token_env} is not set (it should hold the GitHub token)"
            )
        headers["Authorization"] = f"Bearer {token}"
        secrets = (token,)
    own_client = client is None
    http_client = client or httpx.Client(timeout=30.0, follow_redirects=True)
    http = Http(http_client, headers=headers, max_tries=max_tries, max_wait=max_wait, sleep=sleep,
                secrets=secrets, etags=etags)  # fmt: skip
    api = f"{base_url.rstrip('/')}/repos/{owner}/{repo}"
    watermark = _ts(since) if since else None
    collector = _Collector()
    try:
        pulls: dict[int, tuple[dict[str, Any], str]] = {}
        for page in http.link_pages(f"{api}/pulls", params={"state": "all", "sort": "updated",
                                                             "direction": "desc", "per_page": per_page}):  # fmt: skip
            items = _list_page(page.data, page.url)
            for pr in items:
                if isinstance(pr, dict) and isinstance(pr.get("number"), int):
                    pulls.setdefault(pr["number"], (pr, page.url))
            if _older_than(items, watermark, "updated_at"):
                break
        for page in http.link_pages(f"{api}/pulls", params={"state": "open", "per_page": per_page}):
            for pr in _list_page(page.data, page.url):
                if isinstance(pr, dict) and isinstance(pr.get("number"), int):
                    pulls.setdefault(pr["number"], (pr, page.url))
        for number in sorted(pulls):
            pr, origin = pulls[number]
            updated = _ts(pr.get("updated_at"))
            if (
                watermark is not None
                and updated is not None
                and updated < watermark
                and pr.get("state") != "open"
            ):
                continue
            collector.add_record(pr, origin, origin, None)
            for what in ("reviews", "commits"):
                for page in http.link_pages(
                    f"{api}/pulls/{number}/{what}", params={"per_page": per_page}
                ):
                    for i, record in enumerate(_list_page(page.data, page.url)):
                        collector.add_record(record, page.url, f"{page.url}#{i}", number)
        since_param = {"since": _iso(watermark)} if watermark else {}
        for path in ("issues", "issues/comments", "pulls/comments"):
            params = {"sort": "updated", "direction": "desc", "per_page": per_page, **since_param}
            if path == "issues":
                params["state"] = "all"
            for page in http.link_pages(f"{api}/{path}", params=params):
                for i, record in enumerate(_list_page(page.data, page.url)):
                    collector.add_record(record, page.url, f"{page.url}#{i}", None)
        for page in http.link_pages(f"{api}/issues/events", params={"per_page": per_page}):
            items = _list_page(page.data, page.url)
            for i, record in enumerate(items):
                collector.add_record(record, page.url, f"{page.url}#{i}", None)
            if _older_than(items, watermark, "created_at"):
                break
        run_params: dict[str, Any] = {"per_page": per_page}
        if watermark:
            run_params["created"] = f">={watermark:%Y-%m-%d}"
        try:
            for page in http.link_pages(f"{api}/actions/runs", params=run_params):
                for i, record in enumerate(_list_page(page.data, page.url)):
                    collector.add_record(record, page.url, f"{page.url}#{i}", None)
        except TerminalError as exc:
            if "404" not in str(exc):
                raise
            collector.warnings.append(f"{owner}/{repo}: GitHub Actions runs not available (404)")
        collector.stats["requests"] = int(http.stats["requests"])
        collector.stats["retries"] = int(http.stats["retries"])
    finally:
        if own_client:
            http_client.close()
    newest = collector.max_updated
    if watermark is not None and (newest is None or newest < watermark):
        newest = watermark
    return collector.batch(cursor=_iso(newest) if newest else since)


def _list_page(data: Any, url: str) -> list[Any]:
    records = list(_records(data))
    if not isinstance(data, list | dict):
        raise TerminalError(f"{url.split('?')[0]} did not answer a JSON list or object")
    return records


def _older_than(items: list[Any], watermark: dt.datetime | None, key: str) -> bool:
    """True once a page sorted newest-first reaches past the watermark (or is empty)."""
    if not items:
        return True
    if watermark is None:
        return False
    last = _ts(items[-1].get(key)) if isinstance(items[-1], dict) else None
    return last is not None and last < watermark
