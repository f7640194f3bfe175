"""Jira: issues and their changelogs into events, objects and accounts (the batch)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from wfmine.connectors._batch import json_text, utc, utc_series, utc_text
from wfmine.connectors.jira._collect import _Issue, _Reader
from wfmine.connectors.jira._common import (
    _ACCOUNT_KIND,
    _DONE_NAMES,
    _FIELD_EVENTS,
    _field,
    _get,
    _int,
    _iso,
    _updated,
)
from wfmine.model import BATCH_SCHEMAS, Batch

#: the fields of a pending event tuple (:meth:`_Builder.event`)
_EVENT_COLUMNS = (
    "event_id", "activity", "timestamp", "seq", "actor_id", "team", "object_id", "attrs", "raw_ref"
)  # fmt: skip

# -- building the batch --------------------------------------------------------------


def _stamp(value: Any) -> dt.datetime | None:
    """``_common._safe_ts`` by :func:`~wfmine.connectors._batch.utc`: the same moments, faster."""
    try:
        return utc_text(value) if type(value) is str else utc(value)
    except (TypeError, ValueError):
        return None


@dataclass
class _Builder:
    reader: _Reader
    teams: Mapping[str, str]
    #: one tuple per event, in :data:`_EVENT_COLUMNS` order (columns made at the end)
    events: list[tuple[Any, ...]] = field(default_factory=list)
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
        row = self.accounts.get(account_id)
        if row is not None and row["platform_kind"] != "unknown":
            return account_id  # a known kind is never replaced: nothing to build
        kind = _ACCOUNT_KIND.get(str(user.get("accountType") or ""), "unknown")
        if row is None or kind != "unknown":
            attrs = {
                k: user[k]
                for k in ("accountType", "key", "name", "active", "timeZone")
                if k in user
            }
            self.accounts[account_id] = {
                "account_id": account_id,
                "source": "jira",
                "login": str(user.get("name") or native),
                "display_name": user.get("displayName"),
                "email": user.get("emailAddress") or None,
                "platform_kind": kind,
                "attrs": json_text(attrs),
            }
        return account_id

    def category(self, status_id: Any, name: Any, current: Mapping[str, Any] | None) -> str | None:
        """The status category key (new / indeterminate / done) of a status, best source first."""
        # the maps hold text only (never None): a lookup that finds nothing returns None
        if status_id is not None:
            found = self.reader.status_by_id.get(
                status_id if type(status_id) is str else str(status_id)
            )
            if found is not None:
                return found
        if name is not None:
            found = self.reader.status_by_name.get(name if type(name) is str else str(name))
            if found is not None:
                return found
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

    def event(
        self, *, event_id: str, activity: str, timestamp: Any, seq: int, actor_id: str | None,
        team: str | None, object_id: str, raw_ref: str, attrs: str,
    ) -> None:  # fmt: skip
        self.events.append(
            (event_id, activity, timestamp, seq, actor_id, team, object_id, attrs, raw_ref)
        )

    def frames(self) -> tuple[pl.DataFrame, pl.DataFrame]:
        """The events (source ``jira``) and their event-object rows (each on its issue)."""
        if not self.events:
            return (
                pl.DataFrame(schema=BATCH_SCHEMAS["events"]),
                pl.DataFrame(schema=BATCH_SCHEMAS["event_objects"]),
            )
        columns = dict(zip(_EVENT_COLUMNS, zip(*self.events, strict=True), strict=True))
        n = len(self.events)
        schema = BATCH_SCHEMAS["events"]
        events = pl.DataFrame(
            [
                utc_series(name, columns[name])
                if name == "timestamp"
                else pl.Series(
                    name, ["jira"] * n if name == "source" else columns[name], dtype=dtype
                )
                for name, dtype in schema.items()
            ]
        )
        event_objects = events.select(
            "event_id", "object_id", pl.lit("issue", dtype=pl.String).alias("qualifier")
        )
        return events, event_objects

    def build_issue(self, entry: _Issue) -> None:
        issue = entry.issue
        fields: dict[str, Any] = issue["fields"]
        key = str(issue["key"])
        oid = f"jira:{key}"
        updated = _stamp(fields.get("updated"))
        record_id = f"{key}@{_iso(updated)}" if updated else key
        raw_ref = f"issue:{record_id}"
        payload = issue.get("_csv") if entry.from_csv else issue
        self.reader.raw.append(
            {"source": "jira", "record_type": "issue", "record_id": record_id,
             "payload": self.reader.record_payload(payload), "origin": entry.origin}
        )  # fmt: skip
        team = self.team(fields)
        current_status = fields.get("status") if isinstance(fields.get("status"), dict) else None
        # a sub-task is part of its parent's work, not a work item of its own: folded into the
        # parent's case, its creation and statuses named apart, so they never set or move the
        # parent's stage (a design may still name them: jira:Sub-task status: Done)
        parent = _get(fields, "parent", "key")
        subtask = _get(fields, "issuetype", "subtask") is True and isinstance(parent, str)
        status_prefix = "Sub-task status: " if subtask else "Status: "
        if subtask:
            self.reader.link(oid, f"jira:{parent}", "part_of", f"fields.parent {parent}")
        histories = sorted(
            entry.histories.values(),
            key=lambda h: (_stamp(h["created"]), _int(h["id"]), str(h["id"])),
        )
        first_change = next(
            (it for h in histories for it in h["items"]
             if isinstance(it, dict) and _field(it) == "status"),
            None,
        )  # fmt: skip
        first_status = (
            first_change.get("fromString")
            if first_change is not None
            else _get(current_status, "name")
        )
        creator = self.account(fields.get("creator")) or self.account(fields.get("reporter"))
        self.account(fields.get("reporter"))
        assignee = self.account(fields.get("assignee"))
        self.event(
            event_id=f"{oid}/created", activity="Sub-task created" if subtask else "Issue created",
            timestamp=fields["created"], seq=0,
            actor_id=creator, team=team, object_id=oid, raw_ref=raw_ref,
            attrs=json_text({"type": _get(fields, "issuetype", "name"), "status": first_status,
                           "priority": _get(fields, "priority", "name"),
                           "project": _get(fields, "project", "key")}),
        )  # fmt: skip
        if self.whole_changelog(entry) and isinstance(first_status, str) and first_status:
            # Jira records no transition into the status an issue is created in: the event
            # says it entered it, so a design naming that status sees the work arrive there
            first_id = first_change.get("from") if first_change is not None else None
            self.event(
                event_id=f"{oid}/created/status", activity=f"{status_prefix}{first_status}",
                timestamp=fields["created"], seq=1, actor_id=creator, team=team, object_id=oid,
                raw_ref=raw_ref,
                attrs=json_text({"from": None, "to": first_status, "initial": True,
                                 "status_category": self.category(
                                     first_id if first_change is not None
                                     else _get(current_status, "id"),
                                     first_status, current_status)}),
            )  # fmt: skip
        for history in histories:
            self.build_history(oid, history, current_status, team, raw_ref, subtask=subtask)
        for cid, comment in sorted(entry.comments.items(), key=lambda kv: (_int(kv[0]), kv[0])):
            stamp = _stamp(comment.get("created"))
            if stamp is None:
                self.reader.reject(
                    f"{entry.ref}/comment/{cid}", "comment without a readable 'created'", comment
                )
                continue
            self.event(
                event_id=f"{oid}/c/{cid}", activity="Comment added", timestamp=stamp,
                seq=_int(cid) * 1000, actor_id=self.account(comment.get("author")), team=team,
                object_id=oid, raw_ref=raw_ref,
                attrs=json_text({"comment_id": cid, "jsd_public": comment.get("jsdPublic")}),
            )  # fmt: skip
        if "changelog" not in issue:
            self.snapshot_events(oid, fields, current_status, team, raw_ref, status_prefix)
        status_name = _get(current_status, "name")
        self.objects.append(
            {
                "object_id": oid, "object_type": "subtask" if subtask else "issue",
                "source": "jira", "key": key,
                "title": fields.get("summary"),
                "attrs": json_text({
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
                    "created": _iso(_stamp(fields["created"]) or dt.datetime.now(dt.UTC)),
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
        *,
        subtask: bool = False,
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
        # what every item's event shares, taken once (an event tuple per _EVENT_COLUMNS)
        append = self.events.append
        category = self.category
        field_events = _FIELD_EVENTS
        prefix, created, seq = f"{oid}/h/{hid}/", history["created"], _int(hid) * 1000
        for j, item in enumerate(history["items"]):
            if not isinstance(item, dict):
                continue
            # _field(item), inline: the changelog's one hot loop
            named = item.get("fieldId") or item.get("field") or ""
            name = (named if type(named) is str else str(named)).lower()
            mapped = field_events.get(name)
            if mapped is None:
                continue
            activity, suffix = mapped
            event_suffix = suffix if suffix not in used else f"{suffix}/{j}"
            used.add(suffix)
            attrs: dict[str, Any]
            if name == "status":
                to_name, from_name = item.get("toString"), item.get("fromString")
                if not isinstance(to_name, str) or not to_name:
                    # the new status is unknown: never an invented "Status: None"
                    self.reader.reject(
                        f"{raw_ref}/changelog/{hid}/items/{j}",
                        "status change without toString: the new status is unknown",
                        item,
                    )
                    continue
                to_cat = category(item.get("to"), to_name, current)
                from_cat = category(item.get("from"), from_name, current)
                attrs = {**extra, "from": from_name, "to": to_name, "status_category": to_cat,
                         "from_category": from_cat}  # fmt: skip
                if from_cat == "done" and to_cat != "done" and not subtask:
                    attrs["reopen"] = True  # a sub-task reopened is not its work item reopened
                activity = f"Sub-task status: {to_name}" if subtask else f"Status: {to_name}"
            elif name == "assignee":
                attrs = {
                    **extra,
                    "from": f"jira:{item['from']}" if item.get("from") else None,
                    "to": f"jira:{item['to']}" if item.get("to") else None,
                    "from_name": item.get("fromString"), "to_name": item.get("toString"),
                }  # fmt: skip
            elif name == "resolution":
                if not item.get("toString") and not item.get("to"):
                    continue  # cleared on reopen: the Status event carries that
                attrs = {**extra, "resolution": item.get("toString")}
            else:
                attrs = {**extra, "from": item.get("fromString"), "to": item.get("toString")}
            append((prefix + event_suffix, activity, created, seq + j, actor, team, oid,
                    json_text(attrs), raw_ref))  # fmt: skip

    @staticmethod
    def whole_changelog(entry: _Issue) -> bool:
        """Whether the issue's whole changelog was read (so its first status is known)."""
        changelog = entry.issue.get("changelog")
        if entry.from_csv or not isinstance(changelog, dict):
            return False
        total = changelog.get("total")
        return not isinstance(total, int) or len(entry.histories) >= total

    def snapshot_events(
        self,
        oid: str,
        fields: Mapping[str, Any],
        current: Mapping[str, Any] | None,
        team: str | None,
        raw_ref: str,
        status_prefix: str = "Status: ",
    ) -> None:
        """Without a changelog only the current status and resolution are known: one event each."""
        name = _get(current, "name")
        category = self.category(_get(current, "id"), name, current)
        when = (
            fields.get("statuscategorychangedate")
            or fields.get("resolutiondate")
            or fields.get("updated")
        )
        if name and category != "new" and _stamp(when) is not None:
            self.event(
                event_id=f"{oid}/snapshot/status", activity=f"{status_prefix}{name}", timestamp=when,
                seq=900_000_000_000, actor_id=None, team=team, object_id=oid, raw_ref=raw_ref,
                attrs=json_text({"to": name, "status_category": category, "snapshot": True}),
            )  # fmt: skip
        resolution = _get(fields, "resolution", "name")
        if resolution and _stamp(fields.get("resolutiondate")) is not None:
            self.event(
                event_id=f"{oid}/snapshot/resolution", activity="Resolution set",
                timestamp=fields["resolutiondate"], seq=900_000_000_001, actor_id=None, team=team,
                object_id=oid, raw_ref=raw_ref,
                attrs=json_text({"resolution": resolution, "snapshot": True}),
            )  # fmt: skip


def _issue_links(links: Any) -> list[dict[str, Any]]:
    out = []
    for link in links if isinstance(links, list) else []:
        for direction in ("outwardIssue", "inwardIssue"):
            other = _get(link, direction, "key")
            if other:
                kind = _get(link, "type", "outward" if direction == "outwardIssue" else "inward")
                out.append({"key": other, "type": kind, "direction": direction[:-5]})
    return out


def finish(
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
    extras: tuple[tuple[str, dict[str, list[tuple[dict[str, Any], str]]], str, str], ...] = (
        ("history", reader.extra_histories, "histories", "changelog of issue {} ({} histories) has"),
        ("comment", reader.extra_comments, "comments", "comments of issue {} ({}) have"),
    )  # fmt: skip
    for record_type, extra, attribute, label in extras:
        for issue_id, records in sorted(extra.items()):
            target = by_id.get(issue_id) or reader.issues.get(issue_id)
            for record, ref in records:
                reader.raw.append(
                    {"source": "jira", "record_type": record_type,
                     "record_id": f"{issue_id}/{record['id']}", "payload": reader.record_payload(record),
                     "origin": ref.rsplit("#", 1)[0]}
                )  # fmt: skip
                if target is not None:
                    into = target.histories if attribute == "histories" else target.comments
                    into.setdefault(str(record["id"]), record)
            if target is None:
                reader.warnings.append(
                    label.format(issue_id, len(records)) + " no matching issue: kept raw, no events"
                )
    for user in reader.users:
        builder.account(user)
    for key in sorted(reader.issues):
        builder.build_issue(reader.issues[key])
    max_updated = max((_updated(e.issue) for e in reader.issues.values()), default=None)
    events, event_objects = builder.frames()
    batch = reader.build(
        events=events,
        event_objects=event_objects,
        objects=builder.objects,
        accounts=[builder.accounts[k] for k in sorted(builder.accounts)],
        cursor=cursor if cursor is not None else (_iso(max_updated) if max_updated else None),
    )
    batch.events = batch.events.unique(subset=["event_id"], keep="first", maintain_order=True)
    batch.event_objects = batch.event_objects.unique(maintain_order=True)
    # overlapping pages repeat records: keep one copy per key (the store would skip it anyway)
    batch.raw_records = batch.raw_records.unique(
        subset=["record_type", "record_id"], keep="first", maintain_order=True
    )
    batch.stats = {**reader.stats, "issues": len(reader.issues)}
    return batch
