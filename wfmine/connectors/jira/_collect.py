"""Jira: the collector that routes decoded documents (search pages, issues, changelog and comment pages, statuses, users) into issues."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from wfmine.connectors._batch import BatchBuilder
from wfmine.connectors.jira._common import (
    _CHANGELOG_PATH,
    _COMMENT_SELF,
    _get,
    _histories_of,
    _issue_problem,
    _looks_like_histories,
    _match,
    _updated,
    _valid_history,
)


@dataclass
class _Issue:
    issue: dict[str, Any]
    origin: str
    ref: str
    histories: dict[str, dict[str, Any]] = field(default_factory=dict)
    comments: dict[str, dict[str, Any]] = field(default_factory=dict)
    from_csv: bool = False


@dataclass
class _Reader(BatchBuilder):
    """Collects issues, extra changelog/comment pages, statuses and users from many inputs."""

    source: str = "jira"
    issues: dict[str, _Issue] = field(default_factory=dict)
    extra_histories: dict[str, list[tuple[dict[str, Any], str]]] = field(default_factory=dict)
    extra_comments: dict[str, list[tuple[dict[str, Any], str]]] = field(default_factory=dict)
    status_by_id: dict[str, str] = field(default_factory=dict)
    status_by_name: dict[str, str] = field(default_factory=dict)
    users: list[dict[str, Any]] = field(default_factory=list)
    stats: dict[str, int] = field(
        default_factory=lambda: {"files": 0, "records": 0, "skipped_files": 0}
    )

    # documents -------------------------------------------------------------------

    def add_document(self, doc: Any, origin: str, *, issue_hint: str | None = None) -> bool:
        """Route one decoded JSON document; False when it is nothing Jira-shaped."""
        if isinstance(doc, dict) and isinstance(doc.get("issues"), list):
            for i, item in enumerate(doc["issues"]):
                self.add_issue(item, origin, f"{origin}#{i}")
            return True
        if isinstance(doc, dict) and "key" in doc and isinstance(doc.get("fields"), dict):
            self.add_issue(doc, origin, origin)
            return True
        if (
            isinstance(doc, dict)
            and isinstance(doc.get("values"), list)
            and _looks_like_histories(doc["values"])
        ):
            hint = issue_hint or _match(_CHANGELOG_PATH, origin)
            for j, history in enumerate(doc["values"]):
                ref = f"{origin}#{j}"
                if self.reject_unreadable(ref, history, "changelog history"):
                    continue
                if not _valid_history(history):
                    self.reject(ref, "changelog history without id, created or items", history)
                    continue
                if hint is None:
                    self.reject(
                        ref,
                        "changelog page whose issue is unknown (no issue id in its path)",
                        history,
                    )
                    continue
                self.extra_histories.setdefault(hint, []).append((history, ref))
            return True
        if isinstance(doc, dict) and isinstance(doc.get("comments"), list) and "fields" not in doc:
            for j, comment in enumerate(doc["comments"]):
                ref = f"{origin}#{j}"
                if self.reject_unreadable(ref, comment, "comment"):
                    continue
                owner = issue_hint or _match(_COMMENT_SELF, str(_get(comment, "self") or ""))
                if not isinstance(comment, dict) or "id" not in comment or owner is None:
                    self.reject(ref, "comment without id or issue reference", comment)
                    continue
                self.extra_comments.setdefault(owner, []).append((comment, ref))
            return True
        if isinstance(doc, list) and doc and all(isinstance(x, dict) for x in doc):
            if all("statusCategory" in x and "name" in x for x in doc):
                if self.reject_unreadable(origin, doc, "statuses list"):
                    return True
                for status in doc:
                    category = _get(status, "statusCategory", "key")
                    if isinstance(category, str):
                        if status.get("id") is not None:
                            self.status_by_id[str(status["id"])] = category
                        self.status_by_name[str(status["name"])] = category
                return True
            if all("accountId" in x and "accountType" in x for x in doc):
                for i, user in enumerate(doc):
                    if not self.reject_unreadable(f"{origin}#{i}", user, "user"):
                        self.users.append(user)
                return True
            if all("key" in x and isinstance(x.get("fields"), dict) for x in doc):
                for i, item in enumerate(doc):
                    self.add_issue(item, origin, f"{origin}#{i}")
                return True
        return False

    def add_issue(self, item: Any, origin: str, ref: str, *, from_csv: bool = False) -> None:
        self.stats["records"] += 1
        if self.reject_unreadable(ref, item, "issue"):
            return
        problem = _issue_problem(item)
        if problem:
            self.reject(ref, problem, item)
            return
        key = str(item["key"])
        histories = _histories_of(item)
        if histories is None:
            self.reject(ref, "changelog.histories is not a list", item)
            return
        current = self.issues.get(key)
        entry = _Issue(item, origin, ref, from_csv=from_csv)
        if current is not None:
            # keep the newest version of the fields; histories/comments are unioned below
            if _updated(item) < _updated(current.issue):
                entry.issue, entry.origin, entry.ref = current.issue, current.origin, current.ref
            entry.histories = current.histories
            entry.comments = current.comments
            entry.from_csv = current.from_csv and from_csv
        for j, history in enumerate(histories):
            if not _valid_history(history):
                self.reject(
                    f"{ref}/changelog/{j}",
                    "changelog history without id, created or items",
                    history,
                )
                continue
            entry.histories.setdefault(str(history["id"]), history)
        comments = _get(item, "fields", "comment", "comments")
        if isinstance(comments, list):
            for comment in comments:
                if isinstance(comment, dict) and "id" in comment:
                    entry.comments.setdefault(str(comment["id"]), comment)
        self.issues[key] = entry

    # files -----------------------------------------------------------------------
