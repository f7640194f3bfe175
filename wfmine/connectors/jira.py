"""Jira: REST JSON exports, CSV exports and the live REST API into a :class:`~wfmine.model.Batch`.

Inputs recognised by content (file names do not matter):

- search pages: the current ``/rest/api/3/search/jql`` shape (``issues``,
  ``nextPageToken``, ``isLast``), the removed ``/search`` shape (``startAt``,
  ``maxResults``, ``total``) and agile board pages (the same envelope);
- single-issue JSON (``key`` + ``fields``);
- changelog pages (``/rest/api/3/issue/{id}/changelog``: ``values`` of
  histories), merged into their issue and de-duplicated by history id;
- comment pages (``comments``), merged into their issue by the issue id in
  each comment's ``self`` URL;
- a statuses list (``/rest/api/2/status``): status categories for ``reopen``;
- a users list (``/rest/api/2/user``): account rows with ``accountType``;
- Jira Cloud CSV exports (no history: a warning says so).

Events follow ``docs/contracts.md``: ``Issue created``, ``Status: <to>``
(attrs ``from``, ``to``, ``status_category``, ``reopen``), ``Assignee
changed``, ``Priority changed``, ``Labels changed``, ``Components changed``,
``Comment added``, ``Resolution set``. Event ids are built from the issue key
and the changelog history id (``jira:ACME-12/h/10023/status``), and ``seq``
from the history id and the item's position in it, so re-reading overlapping
pages, or the same pages in another order, gives the same rows.

>>> from pathlib import Path
>>> batch = load(Path("/work/shared/realdata/jira/fiware"))  # doctest: +SKIP
>>> batch.objects.height  # doctest: +SKIP
3
"""

from __future__ import annotations

import base64
import csv
import datetime as dt
import io
import json
import logging
import os
import re
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import urlsplit

import httpx

from wfmine.connectors._http import Http
from wfmine.errors import ConfigError, FormatError, TerminalError
from wfmine.model import Batch, to_json, to_utc

if TYPE_CHECKING:
    from wfmine.store import Store

__all__ = ["SEARCH_PATH", "load", "pull", "sniff"]

log = logging.getLogger("wfmine.connectors.jira")

#: The search endpoint of Jira Cloud since 2025 (the old ``/search`` answers 410 Gone).
SEARCH_PATH: Final = "/rest/api/3/search/jql"

#: Status names taken as "done" when neither the issue nor a statuses file gives the category.
_DONE_NAMES: Final = frozenset(
    {"done", "closed", "resolved", "released", "complete", "completed", "cancelled",
     "已完成", "已关闭", "已解决", "已发布", "完成", "关闭"}
)  # fmt: skip
_ACCOUNT_KIND: Final = {"app": "bot", "atlassian": "human", "customer": "human"}
#: changelog field (``fieldId`` or lower-cased ``field``) -> (activity, event-id suffix)
_FIELD_EVENTS: Final = {
    "status": ("Status", "status"),
    "assignee": ("Assignee changed", "assignee"),
    "priority": ("Priority changed", "priority"),
    "labels": ("Labels changed", "labels"),
    "components": ("Components changed", "components"),
    "component": ("Components changed", "components"),
    "resolution": ("Resolution set", "resolution"),
}
_CHANGELOG_PATH: Final = re.compile(r"issue/([^/]+)/changelog")
_COMMENT_SELF: Final = re.compile(r"/issue/([^/]+)/comment/")
_ORDER_BY: Final = re.compile(r"\s+ORDER\s+BY\s+.*$", re.IGNORECASE | re.DOTALL)
_SNIFF_BYTES: Final = 65536
_CSV_DATE_FORMATS: Final = (
    "%d/%b/%y %I:%M %p", "%d/%b/%Y %I:%M %p", "%d/%m/%Y %H:%M", "%Y-%m-%d %H:%M",
    "%Y-%m-%d %H:%M:%S", "%m/%d/%Y %H:%M", "%d.%m.%Y %H:%M",
)  # fmt: skip


# -- detection -------------------------------------------------------------------------


def sniff(path: Path) -> bool:
    """True when ``path`` (a file, or a folder holding one) looks like a Jira export.

    Reads at most 64 KiB of a few dozen files; never raises on foreign input.
    """
    try:
        if path.is_dir():
            for i, file in enumerate(sorted(_files(path))):
                if i >= 200:
                    break
                if _sniff_file(file):
                    return True
            return False
        return _sniff_file(path)
    except OSError:
        return False


def _sniff_file(path: Path) -> bool:
    try:
        with path.open("rb") as fh:
            head = fh.read(_SNIFF_BYTES).decode("utf-8", errors="replace")
    except OSError:
        return False
    if path.suffix.lower() == ".csv" or head[:1] not in "{[":
        first = head.splitlines()[0] if head else ""
        return "Issue key" in first and "Summary" in first
    compact = re.sub(r"\s+", "", head)
    if '"fields":{' in compact and '"key":"' in compact:
        return True
    # a changelog page: histories with "items" and a Jira-style "fieldtype"
    return '"values":[' in compact and '"items":[' in compact and '"fieldtype":"' in compact


def _files(folder: Path) -> Iterable[Path]:
    for p in folder.rglob("*"):
        hidden = any(part.startswith(".") for part in p.relative_to(folder).parts)
        if (
            p.is_file()
            and not hidden
            and p.suffix.lower() in (".json", ".csv", ".ndjson", ".jsonl")
        ):
            yield p


# -- reading ---------------------------------------------------------------------------


@dataclass
class _Issue:
    issue: dict[str, Any]
    origin: str
    ref: str
    histories: dict[str, dict[str, Any]] = field(default_factory=dict)
    comments: dict[str, dict[str, Any]] = field(default_factory=dict)
    from_csv: bool = False


@dataclass
class _Reader:
    """Collects issues, extra changelog/comment pages, statuses and users from many inputs."""

    issues: dict[str, _Issue] = field(default_factory=dict)
    extra_histories: dict[str, list[tuple[dict[str, Any], str]]] = field(default_factory=dict)
    extra_comments: dict[str, list[tuple[dict[str, Any], str]]] = field(default_factory=dict)
    status_by_id: dict[str, str] = field(default_factory=dict)
    status_by_name: dict[str, str] = field(default_factory=dict)
    users: list[dict[str, Any]] = field(default_factory=list)
    raw: list[dict[str, Any]] = field(default_factory=list)
    quarantine: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    stats: dict[str, int] = field(
        default_factory=lambda: {"files": 0, "records": 0, "skipped_files": 0}
    )

    def reject(self, ref: str, reason: str, payload: Any) -> None:
        text = payload if isinstance(payload, str) else to_json(payload)
        self.quarantine.append(
            {"source": "jira", "record_ref": ref, "reason": reason, "payload": text[:20_000]}
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
                owner = issue_hint or _match(_COMMENT_SELF, str(_get(comment, "self") or ""))
                if not isinstance(comment, dict) or "id" not in comment or owner is None:
                    self.reject(ref, "comment without id or issue reference", comment)
                    continue
                self.extra_comments.setdefault(owner, []).append((comment, ref))
            return True
        if isinstance(doc, list) and doc and all(isinstance(x, dict) for x in doc):
            if all("statusCategory" in x and "name" in x for x in doc):
                for status in doc:
                    category = _get(status, "statusCategory", "key")
                    if isinstance(category, str):
                        if status.get("id") is not None:
                            self.status_by_id[str(status["id"])] = category
                        self.status_by_name[str(status["name"])] = category
                return True
            if all("accountId" in x and "accountType" in x for x in doc):
                self.users.extend(doc)
                return True
            if all("key" in x and isinstance(x.get("fields"), dict) for x in doc):
                for i, item in enumerate(doc):
                    self.add_issue(item, origin, f"{origin}#{i}")
                return True
        return False

    def add_issue(self, item: Any, origin: str, ref: str, *, from_csv: bool = False) -> None:
        self.stats["records"] += 1
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

    def add_file(self, path: Path, *, single: bool) -> None:
        self.stats["files"] += 1
        origin = str(path)
        if path.suffix.lower() == ".csv" or _is_csv(path):
            self.add_csv(path)
            return
        try:
            text = path.read_text(encoding="utf-8-sig")
            doc = json.loads(text)
        except (OSError, UnicodeDecodeError) as exc:
            if single:
                raise FormatError(path, f"cannot be read: {exc}") from None
            self.reject(origin, f"file cannot be read: {type(exc).__name__}", "")
            return
        except json.JSONDecodeError as exc:
            if single:
                raise FormatError(
                    path,
                    f"not valid JSON: {exc.msg}",
                    position=f"line {exc.lineno}, column {exc.colno}",
                ) from None
            self.reject(
                origin,
                f"not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}",
                text[:2000],
            )
            return
        if not self.add_document(doc, origin):
            self.stats["skipped_files"] += 1
            if single:
                raise FormatError(
                    path, "not a Jira export (no issues, changelog, comments or statuses)"
                )

    def add_csv(self, path: Path) -> None:
        try:
            text = path.read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError) as exc:
            self.reject(str(path), f"file cannot be read: {type(exc).__name__}", "")
            return
        rows = list(csv.reader(io.StringIO(text)))
        if not rows or "Issue key" not in rows[0]:
            self.stats["skipped_files"] += 1
            return
        header = rows[0]
        self.warnings.append(
            f"{path.name}: a Jira CSV export has no change history; only creation, the current "
            "status, resolution and comments are known (export JSON with expand=changelog for the flow)"
        )
        for i, row in enumerate(rows[1:], start=1):
            if not any(cell.strip() for cell in row):
                continue
            record: dict[str, Any] = {}
            for name, value in zip(header, row, strict=False):
                if name in record:
                    existing = record[name]
                    record[name] = (
                        [*existing, value] if isinstance(existing, list) else [existing, value]
                    )
                else:
                    record[name] = value
            issue = _issue_from_csv(record)
            if issue is None:
                self.stats["records"] += 1
                self.reject(
                    f"{path}#{i}",
                    "CSV row without 'Issue key' or a readable 'Created' date",
                    record,
                )
                continue
            self.add_issue(issue, str(path), f"{path}#{i}", from_csv=True)


def _is_csv(path: Path) -> bool:
    try:
        with path.open("rb") as fh:
            head = fh.read(4096).decode("utf-8", errors="replace").lstrip("\ufeff")
    except OSError:
        return False
    return not head.lstrip().startswith(("{", "[")) and "Issue key" in head.split("\n", 1)[0]


def _looks_like_histories(values: list[Any]) -> bool:
    return bool(values) and all(isinstance(v, dict) and "items" in v for v in values[:5])


def _valid_history(history: Any) -> bool:
    return (
        isinstance(history, dict)
        and history.get("id") is not None
        and isinstance(history.get("items"), list)
        and _safe_ts(history.get("created")) is not None
    )


def _issue_problem(item: Any) -> str | None:
    if not isinstance(item, dict):
        return f"issue record is a {type(item).__name__}, not an object"
    if not isinstance(item.get("key"), str) or not item["key"]:
        return "issue without a 'key'"
    fields = item.get("fields")
    if not isinstance(fields, dict):
        return "issue without 'fields'"
    if _safe_ts(fields.get("created")) is None:
        return "issue without a readable 'fields.created' timestamp"
    return None


def _histories_of(item: dict[str, Any]) -> list[Any] | None:
    changelog = item.get("changelog")
    if changelog is None:
        return []
    if not isinstance(changelog, dict):
        return None
    histories = changelog.get("histories", [])
    return histories if isinstance(histories, list) else None


def _updated(item: dict[str, Any]) -> dt.datetime:
    return _safe_ts(_get(item, "fields", "updated")) or dt.datetime.min.replace(tzinfo=dt.UTC)


def _get(obj: Any, *path: str) -> Any:
    for key in path:
        if not isinstance(obj, dict):
            return None
        obj = obj.get(key)
    return obj


def _match(pattern: re.Pattern[str], text: str) -> str | None:
    m = pattern.search(text)
    return m.group(1) if m else None


def _safe_ts(value: Any) -> dt.datetime | None:
    try:
        return to_utc(value)
    except (TypeError, ValueError):
        return None


def _iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


# -- CSV ---------------------------------------------------------------------------------


def _csv_ts(value: Any) -> str | None:
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    moment = _safe_ts(text)
    if moment is not None:
        return _iso(moment)
    for fmt in _CSV_DATE_FORMATS:
        try:
            return _iso(dt.datetime.strptime(text, fmt).replace(tzinfo=dt.UTC))
        except ValueError:
            continue
    return None


def _as_list(value: Any) -> list[str]:
    items = value if isinstance(value, list) else [value]
    return [str(v).strip() for v in items if v is not None and str(v).strip()]


def _first(record: Mapping[str, Any], *names: str) -> str | None:
    for name in names:
        values = _as_list(record.get(name))
        if values:
            return values[0]
    return None


def _csv_user(record: Mapping[str, Any], role: str) -> dict[str, Any] | None:
    ident = _first(record, f"{role} Id")
    name = _first(record, role)
    if not ident and not name:
        return None
    user: dict[str, Any] = {"displayName": name}
    if ident:
        user["accountId"] = ident
    else:
        user["name"] = name
    return user


def _issue_from_csv(record: Mapping[str, Any]) -> dict[str, Any] | None:
    """Turn one CSV row into the shape of a REST issue without ``changelog``."""
    key = _first(record, "Issue key")
    created = _csv_ts(_first(record, "Created"))
    if not key or not created:
        return None
    comments = []
    for n, text in enumerate(_as_list(record.get("Comment"))):
        when, _, rest = text.partition(";")
        author, _, body = rest.partition(";")
        stamp = _csv_ts(when)
        if stamp is None:
            continue
        comments.append(
            {"id": f"csv{n}", "created": stamp, "author": {"accountId": author} if author else None,
             "body": body}
        )  # fmt: skip
    resolution = _first(record, "Resolution")
    fields: dict[str, Any] = {
        "summary": _first(record, "Summary"),
        "created": created,
        "updated": _csv_ts(_first(record, "Updated")) or created,
        "resolutiondate": _csv_ts(_first(record, "Resolved")),
        "status": {"name": _first(record, "Status")},
        "issuetype": {"name": _first(record, "Issue Type")},
        "priority": {"name": _first(record, "Priority")} if _first(record, "Priority") else None,
        "resolution": {"name": resolution} if resolution and resolution != "Unresolved" else None,
        "project": {"key": _first(record, "Project key"), "name": _first(record, "Project name")},
        "labels": _as_list(record.get("Labels")),
        "components": [{"name": c} for c in _as_list(record.get("Component/s"))],
        "assignee": _csv_user(record, "Assignee"),
        "reporter": _csv_user(record, "Reporter"),
        "creator": _csv_user(record, "Creator"),
        "comment": {"comments": comments},
    }
    return {"key": key, "id": _first(record, "Issue id"), "fields": fields, "_csv": dict(record)}


# -- building the batch --------------------------------------------------------------


@dataclass
class _Builder:
    reader: _Reader
    teams: Mapping[str, str]
    events: list[dict[str, Any]] = field(default_factory=list)
    event_objects: list[dict[str, Any]] = field(default_factory=list)
    objects: list[dict[str, Any]] = field(default_factory=list)
    accounts: dict[str, dict[str, Any]] = field(default_factory=dict)

    def account(self, user: Any) -> str | None:
        """Register a Jira user object as an account row; return its account id."""
        if not isinstance(user, dict):
            return None
        native = user.get("accountId") or user.get("name") or user.get("key")
        if not native:
            return None
        account_id = f"jira:{native}"
        kind = _ACCOUNT_KIND.get(str(user.get("accountType") or ""), "unknown")
        attrs = {
            k: user[k] for k in ("accountType", "key", "name", "active", "timeZone") if k in user
        }
        row = self.accounts.get(account_id)
        if row is None or (row["platform_kind"] == "unknown" and kind != "unknown"):
            self.accounts[account_id] = {
                "account_id": account_id,
                "source": "jira",
                "login": str(user.get("name") or native),
                "display_name": user.get("displayName"),
                "email": user.get("emailAddress") or None,
                "platform_kind": kind,
                "attrs": to_json(attrs),
            }
        return account_id

    def category(self, status_id: Any, name: Any, current: Mapping[str, Any] | None) -> str | None:
        """The status category key (new / indeterminate / done) of a status, best source first."""
        if status_id is not None and str(status_id) in self.reader.status_by_id:
            return self.reader.status_by_id[str(status_id)]
        if name is not None and str(name) in self.reader.status_by_name:
            return self.reader.status_by_name[str(name)]
        if current and name is not None and current.get("name") == name:
            key = _get(current, "statusCategory", "key")
            if isinstance(key, str):
                return key
        if isinstance(name, str) and name.strip().lower() in _DONE_NAMES:
            return "done"
        return None

    def team(self, fields: Mapping[str, Any]) -> str | None:
        if not self.teams:
            return None
        for component in fields.get("components") or []:
            team = self.teams.get(str(_get(component, "name")))
            if team:
                return team
        project = _get(fields, "project", "key")
        return self.teams.get(str(project)) if project else None

    def event(self, **row: Any) -> None:
        row.setdefault("source", "jira")
        self.events.append(row)
        self.event_objects.append(
            {"event_id": row["event_id"], "object_id": row["object_id"], "qualifier": "issue"}
        )

    def build_issue(self, entry: _Issue) -> None:
        issue = entry.issue
        fields: dict[str, Any] = issue["fields"]
        key = str(issue["key"])
        oid = f"jira:{key}"
        updated = _safe_ts(fields.get("updated"))
        record_id = f"{key}@{_iso(updated)}" if updated else key
        raw_ref = f"issue:{record_id}"
        payload = issue.get("_csv") if entry.from_csv else issue
        self.reader.raw.append(
            {"source": "jira", "record_type": "issue", "record_id": record_id,
             "payload": to_json(payload), "origin": entry.origin}
        )  # fmt: skip
        team = self.team(fields)
        current_status = fields.get("status") if isinstance(fields.get("status"), dict) else None
        histories = sorted(
            entry.histories.values(),
            key=lambda h: (_safe_ts(h["created"]), _int(h["id"]), str(h["id"])),
        )
        first_status = next(
            (it.get("fromString") for h in histories for it in h["items"]
             if isinstance(it, dict) and _field(it) == "status"),
            _get(current_status, "name"),
        )  # fmt: skip
        creator = self.account(fields.get("creator")) or self.account(fields.get("reporter"))
        self.account(fields.get("reporter"))
        assignee = self.account(fields.get("assignee"))
        self.event(
            event_id=f"{oid}/created", activity="Issue created", timestamp=fields["created"], seq=0,
            actor_id=creator, team=team, object_id=oid, raw_ref=raw_ref,
            attrs=to_json({"type": _get(fields, "issuetype", "name"), "status": first_status,
                           "priority": _get(fields, "priority", "name"),
                           "project": _get(fields, "project", "key")}),
        )  # fmt: skip
        for history in histories:
            self.build_history(oid, history, current_status, team, raw_ref)
        for cid, comment in sorted(entry.comments.items(), key=lambda kv: (_int(kv[0]), kv[0])):
            stamp = _safe_ts(comment.get("created"))
            if stamp is None:
                self.reader.reject(
                    f"{entry.ref}/comment/{cid}", "comment without a readable 'created'", comment
                )
                continue
            self.event(
                event_id=f"{oid}/c/{cid}", activity="Comment added", timestamp=stamp,
                seq=_int(cid) * 1000, actor_id=self.account(comment.get("author")), team=team,
                object_id=oid, raw_ref=raw_ref,
                attrs=to_json({"comment_id": cid, "jsd_public": comment.get("jsdPublic")}),
            )  # fmt: skip
        if "changelog" not in issue:
            self.snapshot_events(oid, fields, current_status, team, raw_ref)
        status_name = _get(current_status, "name")
        self.objects.append(
            {
                "object_id": oid, "object_type": "issue", "source": "jira", "key": key,
                "title": fields.get("summary"),
                "attrs": to_json({
                    "project": _get(fields, "project", "key"),
                    "type": _get(fields, "issuetype", "name"),
                    "status": status_name,
                    "status_category": self.category(_get(current_status, "id"), status_name, current_status),
                    "labels": fields.get("labels") or [],
                    "components": [_get(c, "name") for c in fields.get("components") or []],
                    "priority": _get(fields, "priority", "name"),
                    "resolution": _get(fields, "resolution", "name"),
                    "assignee": assignee,
                    "parent": _get(fields, "parent", "key"),
                    "issue_links": _issue_links(fields.get("issuelinks")),
                    "created": _iso(_safe_ts(fields["created"]) or dt.datetime.now(dt.UTC)),
                    "resolved": fields.get("resolutiondate"),
                    "history": not entry.from_csv and "changelog" in issue,
                }),
            }
        )  # fmt: skip

    def build_history(
        self,
        oid: str,
        history: dict[str, Any],
        current: Mapping[str, Any] | None,
        team: str | None,
        raw_ref: str,
    ) -> None:
        hid = str(history["id"])
        actor = self.account(history.get("author"))
        meta = history.get("historyMetadata")
        extra: dict[str, Any] = {"history_id": hid}
        if isinstance(meta, dict):
            extra["history_metadata"] = {
                k: meta[k] for k in ("actor", "cause", "type", "generator") if k in meta
            }
        if isinstance(history.get("author"), dict) and "accountType" in history["author"]:
            extra["account_type"] = history["author"]["accountType"]
        used: set[str] = set()
        for j, item in enumerate(history["items"]):
            if not isinstance(item, dict):
                continue
            name = _field(item)
            if name not in _FIELD_EVENTS:
                continue
            activity, suffix = _FIELD_EVENTS[name]
            event_suffix = suffix if suffix not in used else f"{suffix}/{j}"
            used.add(suffix)
            attrs: dict[str, Any] = dict(extra)
            if name == "status":
                to_name, from_name = item.get("toString"), item.get("fromString")
                to_cat = self.category(item.get("to"), to_name, current)
                from_cat = self.category(item.get("from"), from_name, current)
                attrs.update({"from": from_name, "to": to_name, "status_category": to_cat,
                              "from_category": from_cat})  # fmt: skip
                if from_cat == "done" and to_cat != "done":
                    attrs["reopen"] = True
                activity = f"Status: {to_name}"
            elif name == "assignee":
                attrs.update({
                    "from": f"jira:{item['from']}" if item.get("from") else None,
                    "to": f"jira:{item['to']}" if item.get("to") else None,
                    "from_name": item.get("fromString"), "to_name": item.get("toString"),
                })  # fmt: skip
            elif name == "resolution":
                if not item.get("toString") and not item.get("to"):
                    continue  # cleared on reopen: the Status event carries that
                attrs["resolution"] = item.get("toString")
            else:
                attrs.update({"from": item.get("fromString"), "to": item.get("toString")})
            self.event(
                event_id=f"{oid}/h/{hid}/{event_suffix}", activity=activity,
                timestamp=history["created"], seq=_int(hid) * 1000 + j, actor_id=actor, team=team,
                object_id=oid, raw_ref=raw_ref, attrs=to_json(attrs),
            )  # fmt: skip

    def snapshot_events(
        self,
        oid: str,
        fields: Mapping[str, Any],
        current: Mapping[str, Any] | None,
        team: str | None,
        raw_ref: str,
    ) -> None:
        """Without a changelog only the current status and resolution are known: one event each."""
        name = _get(current, "name")
        category = self.category(_get(current, "id"), name, current)
        when = (
            fields.get("statuscategorychangedate")
            or fields.get("resolutiondate")
            or fields.get("updated")
        )
        if name and category != "new" and _safe_ts(when) is not None:
            self.event(
                event_id=f"{oid}/snapshot/status", activity=f"Status: {name}", timestamp=when,
                seq=900_000_000_000, actor_id=None, team=team, object_id=oid, raw_ref=raw_ref,
                attrs=to_json({"to": name, "status_category": category, "snapshot": True}),
            )  # fmt: skip
        resolution = _get(fields, "resolution", "name")
        if resolution and _safe_ts(fields.get("resolutiondate")) is not None:
            self.event(
                event_id=f"{oid}/snapshot/resolution", activity="Resolution set",
                timestamp=fields["resolutiondate"], seq=900_000_000_001, actor_id=None, team=team,
                object_id=oid, raw_ref=raw_ref,
                attrs=to_json({"resolution": resolution, "snapshot": True}),
            )  # fmt: skip


def _field(item: Mapping[str, Any]) -> str:
    return str(item.get("fieldId") or item.get("field") or "").lower()


def _int(value: Any) -> int:
    try:
        return int(str(value))
    except ValueError:
        return 0


def _issue_links(links: Any) -> list[dict[str, Any]]:
    out = []
    for link in links if isinstance(links, list) else []:
        for direction in ("outwardIssue", "inwardIssue"):
            other = _get(link, direction, "key")
            if other:
                kind = _get(link, "type", "outward" if direction == "outwardIssue" else "inward")
                out.append({"key": other, "type": kind, "direction": direction[:-5]})
    return out


def _finish(
    reader: _Reader, options: Mapping[str, Any] | None, *, cursor: str | None = None
) -> Batch:
    opts = dict(options or {})
    teams = opts.get("teams") or {}
    builder = _Builder(
        reader, {str(k): str(v) for k, v in teams.items()} if isinstance(teams, Mapping) else {}
    )
    by_id = {
        str(e.issue.get("id")): e for e in reader.issues.values() if e.issue.get("id") is not None
    }
    # changelog and comment pages fetched apart from their issue: keep each raw,
    # attach it to its issue when the issue was read too
    extras = (
        (
            "history",
            reader.extra_histories,
            "histories",
            "changelog of issue {} ({} histories) has",
        ),
        ("comment", reader.extra_comments, "comments", "comments of issue {} ({}) have"),
    )
    for record_type, extra, attribute, label in extras:
        for issue_id, records in sorted(extra.items()):
            target = by_id.get(issue_id) or reader.issues.get(issue_id)
            for record, ref in records:
                reader.raw.append(
                    {"source": "jira", "record_type": record_type,
                     "record_id": f"{issue_id}/{record['id']}", "payload": to_json(record),
                     "origin": ref.rsplit("#", 1)[0]}
                )  # fmt: skip
                if target is not None:
                    getattr(target, attribute).setdefault(str(record["id"]), record)
            if target is None:
                reader.warnings.append(
                    label.format(issue_id, len(records)) + " no matching issue: kept raw, no events"
                )
    for user in reader.users:
        builder.account(user)
    for key in sorted(reader.issues):
        builder.build_issue(reader.issues[key])
    max_updated = max((_updated(e.issue) for e in reader.issues.values()), default=None)
    batch = Batch.from_rows(
        "jira",
        events=builder.events,
        raw_records=reader.raw,
        event_objects=builder.event_objects,
        objects=builder.objects,
        accounts=[builder.accounts[k] for k in sorted(builder.accounts)],
        quarantine=reader.quarantine,
        cursor=cursor if cursor is not None else (_iso(max_updated) if max_updated else None),
        warnings=reader.warnings,
    )
    batch.events = batch.events.unique(subset=["event_id"], keep="first", maintain_order=True)
    batch.event_objects = batch.event_objects.unique(maintain_order=True)
    # overlapping pages repeat records: keep one copy per key (the store would skip it anyway)
    batch.raw_records = batch.raw_records.unique(
        subset=["record_type", "record_id"], keep="first", maintain_order=True
    )
    batch.stats = {**reader.stats, "issues": len(reader.issues)}
    return batch


def load(path: Path | str, options: Mapping[str, Any] | None = None) -> Batch:
    """Read a Jira export (a file or a folder of them) into a batch.

    A single input that cannot be parsed raises :class:`FormatError` (the user
    named that file: nothing else would load). Inside a folder an unreadable
    file is quarantined with its reason so the rest still loads. Bad records
    are quarantined as ``"<file>#<index>"``.

    >>> batch = load("/work/shared/realdata/jira/merico")  # doctest: +SKIP
    >>> batch.objects.height  # doctest: +SKIP
    55
    """
    path = Path(path)
    if not path.exists():
        raise FormatError(path, "no such file or folder")
    reader = _Reader()
    if path.is_dir():
        for file in sorted(_files(path)):
            reader.add_file(file, single=False)
    else:
        reader.add_file(path, single=True)
    return _finish(reader, options)


# -- live API ---------------------------------------------------------------------------


def _env(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        raise ConfigError(
            f"environment variable {name} is not set (it should hold the Jira credential)"
        )
    return value


def since_clause(cursor: str, *, overlap_minutes: int, tz: dt.tzinfo = dt.UTC) -> str:
    """The JQL ``updated >=`` clause for a cursor, minus an overlap, at minute resolution.

    JQL reads dates in the user's time zone, so the watermark is converted to
    ``tz`` first; the overlap absorbs clock skew and updates within the minute.

    >>> since_clause("2024-05-01T10:30:59Z", overlap_minutes=5)
    'updated >= "2024-05-01 10:25"'
    """
    moment = to_utc(cursor)
    if moment is None:
        raise ValueError("empty cursor")
    start = (moment - dt.timedelta(minutes=overlap_minutes)).astimezone(tz)
    return f'updated >= "{start:%Y-%m-%d %H:%M}"'


def incremental_jql(
    jql: str, cursor: str | None, *, overlap_minutes: int, tz: dt.tzinfo = dt.UTC
) -> str:
    """``jql`` restricted to issues updated since ``cursor`` and ordered by ``created``."""
    base = _ORDER_BY.sub("", jql.strip())
    if cursor:
        clause = since_clause(cursor, overlap_minutes=overlap_minutes, tz=tz)
        base = f"({base}) AND {clause}" if base else clause
    return f"{base} ORDER BY created ASC"


def pull(
    base_url: str,
    jql: str,
    *,
    email_env: str = "JIRA_EMAIL",
    token_env: str = "JIRA_API_TOKEN",
    client: httpx.Client | None = None,
    store: Store | None = None,
    cursor: str | None = None,
    overlap_minutes: int = 15,
    timezone: str | None = None,
    page_size: int = 100,
    max_wait: float = 60.0,
    max_tries: int = 5,
    sleep: Callable[[float], None] = time.sleep,
    search_path: str = SEARCH_PATH,
    options: Mapping[str, Any] | None = None,
) -> Batch:
    """Pull issues matching ``jql`` from Jira Cloud's REST API, with changelogs.

    Credentials are read from the environment variables *named* by
    ``email_env`` and ``token_env`` (basic auth, e-mail + API token). The
    watermark is ``cursor``, else the last cursor the ``store`` recorded for
    this JQL (``store.last_cursor("jira", scope=jql)``); only issues updated
    since it (minus ``overlap_minutes``) are fetched, ordered by ``created``.
    Ingest the result with ``store.ingest(batch, scope=jql)`` so the next
    pull resumes from ``batch.cursor``.

    Changelogs longer than the embedded page (Jira embeds at most 100
    histories) are completed from ``/rest/api/3/issue/{key}/changelog``.

    >>> batch = pull("https://acme.atlassian.net", "project = ACME")  # doctest: +SKIP
    >>> store.ingest(batch, scope="project = ACME")  # doctest: +SKIP
    """
    email_addr, token = _env(email_env), _env(token_env)
    base = base_url.rstrip("/")
    host = urlsplit(base).netloc or base
    basic = base64.b64encode(f"{email_addr}:{token}".encode()).decode()
    own_client = client is None
    http_client = client or httpx.Client(timeout=30.0, follow_redirects=True)
    http = Http(
        http_client,
        headers={"Authorization": f"Basic {basic}", "Accept": "application/json"},
        max_tries=max_tries, max_wait=max_wait, sleep=sleep,
        secrets=(token, basic),
    )  # fmt: skip
    auth_error = f"Jira rejected the credentials for {base} (check {email_env} and {token_env})"
    try:
        watermark = cursor or (store.last_cursor("jira", scope=jql) if store is not None else None)
        tz: dt.tzinfo = dt.UTC
        warnings: list[str] = []
        if watermark:
            tz, note = _user_timezone(http, base, timezone, auth_error)
            if note:
                warnings.append(note)
        query = incremental_jql(jql, watermark, overlap_minutes=overlap_minutes, tz=tz)
        reader = _Reader()
        reader.warnings.extend(warnings)
        token_param: str | None = None
        pages = 0
        gone = (
            f"Jira answered 410 Gone for {search_path} on {host}: the old search API was removed; "
            f"use {SEARCH_PATH} (nextPageToken paging)"
        )
        while True:
            params: dict[str, Any] = {
                "jql": query, "maxResults": page_size, "fields": "*all", "expand": "changelog",
            }  # fmt: skip
            if token_param:
                params["nextPageToken"] = token_param
            page = http.get_page(
                base + search_path, params=params, auth_error=auth_error, gone_error=gone
            )
            pages += 1
            data = page.data
            if not isinstance(data, dict) or not isinstance(data.get("issues"), list):
                raise TerminalError(f"{host}{search_path} page {pages} is not a Jira search page")
            origin = f"{base}{search_path}#page{pages}"
            for i, issue in enumerate(data["issues"]):
                reader.add_issue(issue, origin, f"{origin}/{i}")
                if isinstance(issue, dict) and issue.get("key"):
                    owner = str(issue.get("id") or issue["key"])
                    for history in _complete_changelog(http, base, issue, auth_error):
                        if _valid_history(history):
                            reader.extra_histories.setdefault(owner, []).append(
                                (history, f"{base}/rest/api/3/issue/{issue['key']}/changelog")
                            )
            token_param = data.get("nextPageToken")
            if data.get("isLast") is True or not token_param or not data["issues"]:
                break
        reader.stats["pages"] = pages
        reader.stats["requests"] = int(http.stats["requests"])
        reader.stats["retries"] = int(http.stats["retries"])
        batch = _finish(reader, options)
        if batch.cursor is None or (watermark and batch.cursor < watermark):
            batch.cursor = watermark  # nothing newer: keep the watermark
        return batch
    finally:
        if own_client:
            http_client.close()


def _user_timezone(
    http: Http, base: str, explicit: str | None, auth_error: str
) -> tuple[dt.tzinfo, str | None]:
    """The time zone JQL dates are read in: ``explicit``, else the user's profile, else UTC."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    name = explicit
    if name is None:
        try:
            me = http.get_page(base + "/rest/api/3/myself", auth_error=auth_error).data
        except TerminalError as exc:
            if "credentials" in str(exc):
                raise
            me = None
        name = me.get("timeZone") if isinstance(me, dict) else None
    if not name:
        return (
            dt.UTC,
            "Jira user time zone unknown: JQL dates read as UTC (the overlap absorbs small offsets)",
        )
    try:
        return ZoneInfo(str(name)), None
    except (ZoneInfoNotFoundError, ValueError):
        return dt.UTC, f"unknown Jira time zone {name!r}: JQL dates read as UTC"


def _complete_changelog(
    http: Http, base: str, issue: dict[str, Any], auth_error: str
) -> list[dict[str, Any]]:
    """The histories Jira left out of an embedded changelog (``total`` > histories embedded).

    Returned apart, so the issue itself stays verbatim in ``raw_records``.
    """
    changelog = issue.get("changelog")
    if not isinstance(changelog, dict):
        return []
    histories = changelog.get("histories")
    total = changelog.get("total")
    if not isinstance(histories, list) or not isinstance(total, int) or total <= len(histories):
        return []
    key = issue.get("key") or issue.get("id")
    seen = {str(h.get("id")) for h in histories if isinstance(h, dict)}
    extra: list[dict[str, Any]] = []
    start = 0
    while True:
        page = http.get_page(
            f"{base}/rest/api/3/issue/{key}/changelog",
            params={"startAt": start, "maxResults": 100}, auth_error=auth_error,
        ).data  # fmt: skip
        values = page.get("values") if isinstance(page, dict) else None
        if not isinstance(values, list) or not values:
            break
        for history in values:
            if isinstance(history, dict) and str(history.get("id")) not in seen:
                seen.add(str(history.get("id")))
                extra.append(history)
        start += len(values)
        if page.get("isLast") is True or start >= int(page.get("total") or 0):
            break
    return extra
