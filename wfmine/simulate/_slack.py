"""A Slack workspace export folder: users.json, channels.json, <channel>/<YYYY-MM-DD>.json."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from wfmine.simulate._model import BASE, SlackMsg, World
from wfmine.simulate._org import SLACK_TEAM, Actor
from wfmine.simulate._util import dump_json, zone

_TZ_LABELS = {
    "Europe/Berlin": "Central European Time",
    "Europe/Madrid": "Central European Time",
    "Europe/Rome": "Central European Time",
    "Europe/Prague": "Central European Time",
    "Europe/Paris": "Central European Time",
    "Europe/Stockholm": "Central European Time",
    "Europe/London": "Greenwich Mean Time",
    "Europe/Dublin": "Greenwich Mean Time",
    "Europe/Lisbon": "Western European Time",
    "America/New_York": "Eastern Standard Time",
    "Asia/Kolkata": "India Standard Time",
    "UTC": "Coordinated Universal Time",
}


def channel_id(name: str) -> str:
    return "C0" + hashlib.sha1(("channel" + name).encode()).hexdigest()[:8].upper()


def _ts(m: SlackMsg) -> str:
    return f"{int(m.t.timestamp())}.{m.uid % 1_000_000:06d}"


def _images(seed: str) -> dict[str, str]:
    h = hashlib.md5(seed.encode()).hexdigest()[:12]
    return {
        f"image_{s}": f"https://avatars.slack-edge.com/2025-01-10/{h}_{s}.png"
        for s in (24, 32, 48, 72, 192, 512)
    }


def _handle(a: Actor) -> str:
    return a.email.split("@")[0] if a.email and a.kind == "human" else a.id


def _user(a: Actor, owner: str) -> dict[str, Any]:
    assert a.slack is not None
    is_bot = a.kind != "human" and not a.extra.get("shadow")
    first, _, last = a.name.partition(" ")
    tz = a.tz if not is_bot else "America/Los_Angeles"
    off = int(zone(tz).utcoffset(BASE.replace(tzinfo=None)).total_seconds())  # type: ignore[union-attr]
    profile: dict[str, Any] = {
        "title": "" if is_bot else a.team.capitalize(),
        "phone": "",
        "skype": "",
        "first_name": first,
        "last_name": last,
        "real_name": a.name,
        "real_name_normalized": a.name,
        "display_name": "" if is_bot else first,
        "display_name_normalized": "" if is_bot else first,
        "avatar_hash": hashlib.md5(a.name.encode()).hexdigest()[:12],
        **_images(a.name),
    }
    if is_bot:
        profile.update(
            {"bot_id": a.slack_bot_id, "api_app_id": a.slack_app_id, "always_active": True}
        )
    elif a.email:
        profile["email"] = a.email
    profile.update({"team": SLACK_TEAM, "fields": []})
    return {
        "id": a.slack,
        "team_id": SLACK_TEAM,
        "name": _handle(a),
        "deleted": False,
        "color": hashlib.md5(a.id.encode()).hexdigest()[:6],
        "real_name": a.name,
        "tz": tz,
        "tz_label": _TZ_LABELS.get(tz, "Pacific Standard Time"),
        "tz_offset": off,
        "profile": profile,
        "is_bot": is_bot,
        "is_admin": a.lead,
        "is_owner": a.id == owner,
        "is_primary_owner": a.id == owner,
        "is_restricted": False,
        "is_ultra_restricted": False,
        "is_stranger": False,
        "is_app_user": False,
        "is_invited_user": False,
        "has_2fa": not is_bot,
        "two_factor_type": None if is_bot else "app",
        "has_files": False,
        "presence": "",
        "locale": "en-US",
        "updated": 1_767_225_600,
        "enterprise_user": {
            "id": "",
            "enterprise_id": "",
            "enterprise_name": "",
            "is_admin": False,
            "is_owner": False,
            "teams": None,
        },
    }


def _user_profile(a: Actor) -> dict[str, Any]:
    first, _, _ = a.name.partition(" ")
    return {
        "avatar_hash": hashlib.md5(a.name.encode()).hexdigest()[:12],
        "image_72": _images(a.name)["image_72"],
        "first_name": first,
        "real_name": a.name,
        "display_name": first,
        "team": SLACK_TEAM,
        "name": _handle(a),
        "is_restricted": False,
        "is_ultra_restricted": False,
    }


def write(world: World, out: Path) -> list[Path]:
    org = world.org
    folder = out / "slack"
    msgs = sorted((m for m in world.slack if m.t <= world.end), key=lambda m: (m.t, m.uid))
    by_uid = {m.uid: m for m in msgs}
    replies: dict[int, list[SlackMsg]] = {}
    for m in msgs:
        if m.parent is not None and m.parent in by_uid:
            replies.setdefault(m.parent, []).append(m)
    channel_team = world.layout.channels
    members: dict[str, set[str]] = {c: set() for c in channel_team}
    for m in msgs:
        a = org[m.user]
        if a.slack:
            members[m.channel].add(a.slack)
    for a in org.actors.values():
        if a.kind == "human" and a.slack and a.team in members:
            members[a.team].add(a.slack)
    owner = world.layout.slack_owner
    users = [_user(a, owner) for a in org.actors.values() if a.slack]
    paths = [folder / "users.json", folder / "channels.json"]
    dump_json(paths[0], users)
    created = int(datetime(2024, 3, 4, 9, 0, tzinfo=UTC).timestamp())
    creator = org[owner].slack
    channels = []
    for c in channel_team:
        channels.append(
            {
                "id": channel_id(c),
                "name": c,
                "created": created,
                "creator": creator,
                "is_archived": False,
                "is_general": c == "engineering",
                "members": sorted(members[c]),
                "pins": [],
                "topic": {"value": "", "creator": "", "last_set": 0},
                "purpose": {
                    "value": f"Work of the {channel_team[c]} team"
                    if c != "incidents"
                    else "Production incidents",
                    "creator": creator,
                    "last_set": created,
                },
            }
        )
    dump_json(paths[1], channels)
    days: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for m in msgs:
        a = org[m.user]
        ts = _ts(m)
        if m.bot:
            d: dict[str, Any] = {
                "type": "message",
                "subtype": "bot_message",
                "text": m.text,
                "ts": ts,
                "username": a.name,
                "bot_id": a.slack_bot_id,
                "app_id": a.slack_app_id,
                "bot_profile": {
                    "id": a.slack_bot_id,
                    "deleted": False,
                    "name": a.name,
                    "updated": 1_767_225_600,
                    "app_id": a.slack_app_id,
                    "icons": {
                        k: v for k, v in _images(a.name).items() if k in ("image_48", "image_72")
                    }
                    | {"image_36": _images(a.name)["image_32"]},
                    "team_id": SLACK_TEAM,
                },
            }
        else:
            d = {
                "client_msg_id": _uuid(f"{world.seed}/{m.uid}"),
                "type": "message",
                "user": a.slack,
                "text": m.text,
                "ts": ts,
                "team": SLACK_TEAM,
                "replace_original": False,
                "delete_original": False,
                "metadata": {"event_type": "", "event_payload": None},
                "blocks": None,
                "user_team": SLACK_TEAM,
                "source_team": SLACK_TEAM,
                "user_profile": _user_profile(a),
            }
        kids = replies.get(m.uid)
        if m.parent is not None and m.parent in by_uid:
            parent = by_uid[m.parent]
            d["thread_ts"] = _ts(parent)
            d["parent_user_id"] = org[parent.user].slack
        elif kids:
            users_ = [org[k.user].slack or "" for k in kids]
            d["thread_ts"] = ts
            d["reply_count"] = len(kids)
            d["reply_users_count"] = len(set(users_))
            d["latest_reply"] = _ts(kids[-1])
            d["reply_users"] = sorted(set(users_))
            d["replies"] = [{"user": u, "ts": _ts(k)} for u, k in zip(users_, kids, strict=True)]
            d["is_locked"] = False
            d["subscribed"] = False
        day = m.t.astimezone(UTC).strftime("%Y-%m-%d")
        days.setdefault((m.channel, day), []).append(d)
    for (ch, day), lst in sorted(days.items()):
        p = folder / ch / f"{day}.json"
        dump_json(p, lst)
        paths.append(p)
    return paths


def _uuid(seed: str) -> str:
    h = hashlib.sha1(seed.encode()).hexdigest()
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-a{h[17:20]}-{h[20:32]}"
