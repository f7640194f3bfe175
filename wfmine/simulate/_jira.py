"""Jira Cloud search pages (``/rest/api/3/search/jql`` with ``expand=changelog``)."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from wfmine.simulate._model import Item, World
from wfmine.simulate._org import JIRA_BASE, Actor
from wfmine.simulate._util import dump_json, zone

PAGE = 50
_EXPORT_TZ = "Europe/Berlin"  # the time zone of the user who saved the export
_CATEGORIES = {
    "new": {"id": 2, "key": "new", "colorName": "blue-gray", "name": "To Do"},
    "indeterminate": {
        "id": 4,
        "key": "indeterminate",
        "colorName": "yellow",
        "name": "In Progress",
    },
    "done": {"id": 3, "key": "done", "colorName": "green", "name": "Done"},
}
_ISSUETYPES = {
    "Bug": ("10004", "A problem which impairs or prevents the functions of the product.", 10303),
    "Story": ("10001", "Functionality or a feature expressed as a user goal.", 10315),
    "Task": ("10002", "A small, distinct piece of work.", 10318),
    "Sub-task": (
        "10003",
        "Subtasks track small pieces of work that are part of a larger task.",
        10316,
    ),
}
_PRIORITIES = {"Highest": "1", "High": "2", "Medium": "3", "Low": "4"}


def jira_time(t: datetime) -> str:
    loc = t.astimezone(zone(_EXPORT_TZ))
    ms = (int(t.timestamp()) * 7919 + 123) % 1000
    return loc.strftime("%Y-%m-%dT%H:%M:%S") + f".{ms:03d}" + loc.strftime("%z")


def _avatars(seed: str) -> dict[str, str]:
    h = hashlib.md5(seed.encode()).hexdigest()
    return {
        s: f"https://secure.gravatar.com/avatar/{h}?d=mm&s={s.split('x')[0]}"
        for s in ("48x48", "24x24", "16x16", "32x32")
    }


def user(a: Actor) -> dict[str, Any]:
    assert a.jira is not None
    d: dict[str, Any] = {
        "self": f"{JIRA_BASE}/rest/api/3/user?accountId={a.jira}",
        "accountId": a.jira,
    }
    if a.jira_type == "atlassian" and a.email:
        d["emailAddress"] = a.email
    d["avatarUrls"] = _avatars(a.name)
    d["displayName"] = a.name
    d["active"] = True
    d["timeZone"] = a.tz if a.kind == "human" else "Etc/UTC"
    d["accountType"] = a.jira_type
    return d


def adf(text: str) -> dict[str, Any]:
    paras = [p for p in text.split("\n\n") if p.strip()]
    return {
        "type": "doc",
        "version": 1,
        "content": [{"type": "paragraph", "content": [{"type": "text", "text": p}]} for p in paras],
    }


def _status(statuses: Mapping[str, tuple[str, str]], name: str) -> dict[str, Any]:
    sid, cat = statuses[name]
    c = _CATEGORIES[cat]
    return {
        "self": f"{JIRA_BASE}/rest/api/3/status/{sid}",
        "description": "",
        "iconUrl": f"{JIRA_BASE}/",
        "name": name,
        "id": sid,
        "statusCategory": {"self": f"{JIRA_BASE}/rest/api/3/statuscategory/{c['id']}", **c},
    }


def _issuetype(name: str) -> dict[str, Any]:
    itid, idesc, iav = _ISSUETYPES[name]
    base = f"{JIRA_BASE}/rest/api/3"
    sub = name == "Sub-task"
    return {
        "self": f"{base}/issuetype/{itid}",
        "id": itid,
        "description": idesc,
        "iconUrl": f"{base}/universal_avatar/view/type/issuetype/avatar/{iav}?size=medium",
        "name": name,
        "subtask": sub,
        "avatarId": iav,
        "hierarchyLevel": -1 if sub else 0,
    }


def _final_status(w: World, it: Item) -> str:
    """The issue's status when the export was saved."""
    status = it.initial_status or w.layout.initial_status
    for h in sorted((h for h in it.histories if h.t <= w.end), key=lambda h: h.t):
        for ch in h.items:
            if ch.field == "status" and ch.to_string:
                status = ch.to_string
    return status


@dataclass
class _Family:
    """Parents and sub-tasks of an export: each issue by key, its sub-tasks, final statuses."""

    items: dict[str, Item] = field(default_factory=dict)
    children: dict[str, list[Item]] = field(default_factory=dict)
    status: dict[str, str] = field(default_factory=dict)


def _family(w: World, items: list[Item]) -> _Family:
    fam = _Family()
    subs = [it for it in items if it.parent is not None]
    if not subs:
        return fam
    fam.items = {it.key: it for it in items}
    for sub in subs:
        assert sub.parent is not None
        fam.children.setdefault(sub.parent, []).append(sub)
        for it in (sub, fam.items[sub.parent]):
            fam.status.setdefault(it.key, _final_status(w, it))
    return fam


def _brief(w: World, it: Item, status: str) -> dict[str, Any]:
    """An issue as another issue's ``parent`` or ``subtasks`` entry shows it."""
    issue_id = 10000 + it.num
    priority = it.priority
    return {
        "id": str(issue_id),
        "key": it.key,
        "self": f"{JIRA_BASE}/rest/api/3/issue/{issue_id}",
        "fields": {
            "summary": it.summary,
            "status": _status(w.layout.statuses, status),
            "priority": {
                "self": f"{JIRA_BASE}/rest/api/3/priority/{_PRIORITIES[priority]}",
                "iconUrl": f"{JIRA_BASE}/images/icons/priorities/{priority.lower()}.svg",
                "name": priority,
                "id": _PRIORITIES[priority],
            },
            "issuetype": _issuetype(it.itype),
        },
    }


def _issue(
    item: World, it: Item, issue_id: int, counters: dict[str, int], family: _Family
) -> dict[str, Any]:
    w = item
    org = w.org
    end = w.end
    hist = sorted((h for h in it.histories if h.t <= end), key=lambda h: h.t)
    comments = sorted((c for c in it.comments if c.t <= end), key=lambda c: c.t)
    statuses = w.layout.statuses
    status = it.initial_status or w.layout.initial_status
    status_change = it.created
    assignee: str | None = None
    resolution: str | None = None
    resolution_t: datetime | None = None
    priority = "Medium"
    for h in hist:
        for ch in h.items:
            if ch.field == "status" and ch.to_string:
                if statuses[ch.to_string][1] != statuses[status][1]:
                    status_change = h.t
                status = ch.to_string
            elif ch.field == "assignee":
                assignee = next(
                    (a.id for a in org.actors.values() if a.jira and a.jira == ch.to), None
                )
            elif ch.field == "resolution":
                resolution = ch.to_string
                resolution_t = h.t if ch.to_string else None
            elif ch.field == "priority" and ch.to_string:
                priority = ch.to_string
    if not any(ch.field == "priority" for h in hist for ch in h.items):
        priority = it.priority
    times = [it.created, *(h.t for h in hist), *(c.t for c in comments)]
    updated = max(times)
    key = it.key
    base = f"{JIRA_BASE}/rest/api/3"
    reporter = org[it.reporter]
    comps = w.layout.components
    project_key = key.rsplit("-", 1)[0]
    project_id, project_name = w.layout.projects[project_key]
    fields: dict[str, Any] = {
        "statuscategorychangedate": jira_time(status_change),
        "issuetype": _issuetype(it.itype),
        "components": [
            {"self": f"{base}/component/{comps[c]}", "id": comps[c], "name": c}
            for c in it.components
        ],
        "timespent": None,
        "project": {
            "self": f"{base}/project/{project_id}",
            "id": project_id,
            "key": project_key,
            "name": project_name,
            "projectTypeKey": "software",
            "simplified": False,
            "avatarUrls": {
                s: f"{base}/universal_avatar/view/type/project/avatar/10411?size={n}"
                for s, n in (
                    ("48x48", "large"),
                    ("24x24", "small"),
                    ("16x16", "xsmall"),
                    ("32x32", "medium"),
                )
            },
        },
        "fixVersions": [],
        "aggregatetimespent": None,
        "resolution": (
            {
                "self": f"{base}/resolution/10000",
                "id": "10000",
                "description": "Work has been completed on this issue.",
                "name": resolution,
            }
            if resolution
            else None
        ),
        "resolutiondate": jira_time(resolution_t) if resolution_t else None,
        "workratio": -1,
        "watches": {
            "self": f"{base}/issue/{key}/watchers",
            "watchCount": 1 + len({h.author for h in hist}) % 4,
            "isWatching": False,
        },
        "lastViewed": None,
        "created": jira_time(it.created),
        "priority": {
            "self": f"{base}/priority/{_PRIORITIES[priority]}",
            "iconUrl": f"{JIRA_BASE}/images/icons/priorities/{priority.lower()}.svg",
            "name": priority,
            "id": _PRIORITIES[priority],
        },
        "labels": list(it.labels),
        "timeestimate": None,
        "aggregatetimeoriginalestimate": None,
        "versions": [],
        "issuelinks": [],
        "assignee": user(org[assignee]) if assignee else None,
        "updated": jira_time(updated),
        "status": _status(statuses, status),
        "timeoriginalestimate": None,
        "description": adf(it.description),
        "timetracking": {},
        "security": None,
        "attachment": [],
        "aggregatetimeestimate": None,
        "summary": it.summary,
        "creator": user(reporter),
        "subtasks": [_brief(w, c, family.status[c.key]) for c in family.children.get(key, [])],
        "reporter": user(reporter),
        "aggregateprogress": {"progress": 0, "total": 0},
        "environment": None,
        "duedate": None,
        "progress": {"progress": 0, "total": 0},
        "votes": {"self": f"{base}/issue/{key}/votes", "votes": 0, "hasVoted": False},
        "comment": {
            "comments": [],
            "self": f"{base}/issue/{issue_id}/comment",
            "maxResults": len(comments),
            "total": len(comments),
            "startAt": 0,
        },
        "worklog": {"startAt": 0, "maxResults": 20, "total": 0, "worklogs": []},
    }
    if it.parent is not None:  # a sub-task: its parent, as Jira Cloud gives it
        parent = family.items[it.parent]
        fields["parent"] = _brief(w, parent, family.status[parent.key])
    for c in comments:
        counters["comment"] += 1
        cid = str(counters["comment"])
        au = user(org[c.author])
        fields["comment"]["comments"].append(
            {
                "self": f"{base}/issue/{issue_id}/comment/{cid}",
                "id": cid,
                "author": au,
                "body": adf(c.text),
                "updateAuthor": au,
                "created": jira_time(c.t),
                "updated": jira_time(c.t),
                "jsdPublic": True,
            }
        )
    histories: list[dict[str, Any]] = []
    for h in hist:
        counters["history"] += 1 + (counters["history"] * 7 + it.num) % 3
        items: list[dict[str, Any]] = []
        for ch in h.items:
            d: dict[str, Any] = {"field": ch.field, "fieldtype": ch.fieldtype}
            if ch.field_id:
                d["fieldId"] = ch.field_id
            d.update(
                {
                    "from": ch.from_,
                    "fromString": ch.from_string,
                    "to": ch.to,
                    "toString": ch.to_string,
                }
            )
            if ch.field == "assignee":
                d["tmpFromAccountId"] = ch.from_
                d["tmpToAccountId"] = ch.to
            items.append(d)
        histories.append(
            {
                "id": str(counters["history"]),
                "author": user(org[h.author]),
                "created": jira_time(h.t),
                "items": items,
            }
        )
    histories.reverse()  # Jira returns the newest history first
    return {
        "expand": "operations,versionedRepresentations,editmeta,changelog,renderedFields",
        "id": str(issue_id),
        "self": f"{base}/issue/{issue_id}",
        "key": key,
        "fields": fields,
        "changelog": {
            "startAt": 0,
            "maxResults": len(histories),
            "total": len(histories),
            "histories": histories,
        },
    }


def write(world: World, out: Path) -> list[Path]:
    folder = out / "jira"
    folder.mkdir(parents=True, exist_ok=True)
    items = [it for it in world.items if it.created <= world.end]
    counters = {"comment": 10000, "history": 10000}
    family = _family(world, items)
    issues = [_issue(world, it, 10000 + it.num, counters, family) for it in items]
    pages: list[list[dict[str, Any]]] = [
        issues[i : i + PAGE] for i in range(0, len(issues), PAGE)
    ] or [[]]
    # the last page comes from an older saved export of the removed /rest/api/3/search
    old = pages.pop() if len(pages) > 1 else None
    paths: list[Path] = []
    for n, page in enumerate(pages, start=1):
        body: dict[str, Any] = {"issues": page}
        if n < len(pages):
            body["nextPageToken"] = hashlib.sha1(f"{world.seed}/{n}".encode()).hexdigest()[:24]
        body["isLast"] = n == len(pages)
        p = folder / f"search_page_{n}.json"
        dump_json(p, body)
        paths.append(p)
    if old is not None:
        p = folder / f"search_page_{len(pages) + 1}.json"
        dump_json(
            p,
            {
                "expand": "schema,names",
                "startAt": PAGE * len(pages),
                "maxResults": PAGE,
                "total": len(issues),
                "issues": old,
            },
        )
        paths.append(p)
    return paths
