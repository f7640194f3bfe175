"""Slack: one pass over an export (zip or folder) into threads, events, accounts and links."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from pathlib import PurePosixPath
from typing import Any

import polars as pl

from wfmine.connectors._batch import (
    BatchBuilder,
    json_text,
    parse_json_checked,
    utc_series,
)
from wfmine.connectors._refs import find_refs
from wfmine.connectors._safezip import Tree
from wfmine.connectors.slack._text import (
    _CONVERSATION_FILES,
    _DAY_FILE,
    _JOIN_SUBTYPES,
    _META_FILES,
    _NOT_BOT_SPEECH,
    SOURCE,
    _scan_texts,
    _sha,
    parse_ts,
    redact,
    ref_target,
)
from wfmine.errors import FormatError
from wfmine.model import EVENT_SCHEMA, Batch


class _Loader(BatchBuilder):
    """One pass over an export; collects rows for every table."""

    def __init__(self, tree: Tree, channel_teams: dict[str, str], store_text: bool) -> None:
        super().__init__(source=SOURCE)
        self.tree = tree
        self.channel_teams = channel_teams
        self.store_text = store_text
        #: one tuple per event: (event_id, activity, moment, seq, actor, team, object, attrs, raw_ref)
        self.events: list[tuple[Any, ...]] = []
        self.objects: dict[str, dict[str, Any]] = {}
        self.accounts: dict[str, dict[str, Any]] = {}
        self.stats: dict[str, int] = {
            "files": 0, "messages": 0, "threads": 0, "duplicates": 0, "skipped_files": 0,
        }  # fmt: skip
        self.referenced_users: dict[str, dict[str, Any]] = {}
        #: member -> its location text (Tree.where), one per file, not one per message
        self._where: dict[str, str] = {}

    # -- helpers --------------------------------------------------------------------

    def _json(self, name: str) -> Any:
        """Parse member ``name``; on failure quarantine it and return ``None``."""
        return self._parse(self.tree.read(name), self.tree.where(name))

    def _parse(self, data: bytes, where: str) -> Any:
        """Parse one member's bytes; bytes that are not UTF-8 stay in the records that hold them."""
        return self._parse_checked(data, where)[0]

    def _parse_checked(self, data: bytes, where: str) -> tuple[Any, bool]:
        """:meth:`_parse`, and whether orjson read it (see ``parse_json_checked``); on failure
        the member is quarantined and ``(None, False)`` returned."""
        self.stats["files"] += 1
        try:
            return parse_json_checked(data)
        except json.JSONDecodeError as exc:
            self.reject(where, f"not JSON: {exc}", data[:2000].decode("utf-8", "replace"))
            return None, False

    # -- the pass -------------------------------------------------------------------

    def run(self) -> Batch:
        for name, reason in self.tree.refused:
            self.reject(self.tree.where(name), f"refused archive member: {reason}")
        root = self._find_root()
        rel = {n[len(root) :]: n for n in self.tree.names if n.startswith(root)}
        conversations = self._read_conversations(rel)
        self._read_users(rel)
        if "integration_logs.json" in rel:
            logs = self._json(rel["integration_logs.json"])
            for i, entry in enumerate(logs if isinstance(logs, list) else []):
                self.raw.append(
                    self._raw("integration_log", f"{i}", entry, rel["integration_logs.json"])
                )
        seen: set[tuple[str, str]] = set()
        for relname in sorted(rel):
            parts = relname.split("/")
            if len(parts) == 1 and relname in _META_FILES:
                continue
            if len(parts) != 2 or not _DAY_FILE.match(parts[1]):
                self.stats["skipped_files"] += 1
                self.skip(self.tree.where(rel[relname]), "not a conversation day file")
                continue
            folder = parts[0]
            channel = conversations.get(folder)
            if channel is None:
                channel = {"id": folder, "name": folder, "conversation_type": "unknown"}
                conversations[folder] = channel
                self.warnings.append(
                    f"conversation folder {folder!r} is not listed in the export's channel files"
                )
            copies = self.tree.read_copies(rel[relname])
            if len(copies) > 1:
                self.warnings.append(
                    f"{self.tree.where(rel[relname])}: the zip holds {len(copies)} members of "
                    "this name; every copy is read (a message in two copies counts once)"
                )
            for copy, payload in enumerate(copies):
                where_file = self.tree.where(rel[relname]) + (f" (copy {copy + 1})" if copy else "")
                data, clean = self._parse_checked(payload, where_file)
                if data is not None:
                    self._day(channel, data, where_file, rel[relname], seen, clean=clean)
        for uid, info in sorted(self.referenced_users.items()):
            if f"slack:{uid}" not in self.accounts:
                self.accounts[f"slack:{uid}"] = info
        self.stats["threads"] = len(self.objects)
        self.raw.sort(key=lambda r: (r["record_type"], r["record_id"]))
        events = _event_frame(self.events)
        batch = self.build(
            events=events,
            # one row per event, on its thread, in the events' order
            event_objects=events.select(
                "event_id", "object_id", pl.lit("thread", dtype=pl.String).alias("qualifier")
            ),
            objects=[
                {
                    **{k: v for k, v in self.objects[o].items() if k != "_attrs"},
                    "attrs": json_text(self.objects[o]["_attrs"]),
                }
                for o in sorted(self.objects)
            ],
            accounts=[self.accounts[k] for k in sorted(self.accounts)],
        )
        batch.stats = {**self.stats, "quarantined": len(self.quarantine)}
        return batch

    def _day(
        self,
        channel: dict[str, Any],
        data: Any,
        where_file: str,
        member: str,
        seen: set[tuple[str, str]],
        *,
        clean: bool = False,
    ) -> None:
        """The messages of one day file (one copy of it); ``clean`` when orjson read it (no
        message of it holds a lone surrogate: the check is made only where a text is kept)."""
        if not isinstance(data, list):
            self.reject(where_file, "day file is not a JSON list of messages")
            return
        for index, message in enumerate(data):
            where = f"{where_file}#{index}"
            if not isinstance(message, dict):
                self.reject(where, "message is not a JSON object", message)
                continue
            # redacted only when quarantined, not for every message; its text is kept for the
            # raw record only when the record is stored as it is
            if (self.store_text or not clean) and self.unreadable(
                message, keep_text=self.store_text
            ):
                self.reject_unreadable(
                    where, message, "message", payload=None if self.store_text else redact(message)
                )
                continue
            ts = message.get("ts")
            moment = parse_ts(ts)
            if moment is None:
                reason = "message without ts" if ts is None else f"unreadable ts {ts!r}"
                self.reject(where, reason, message if self.store_text else redact(message))
                continue
            key = (str(channel["id"]), str(ts))
            if key in seen:
                self.stats["duplicates"] += 1
                continue
            seen.add(key)
            self._message(channel, str(ts), moment, message, member)

    def _find_root(self) -> str:
        """The member prefix under which ``users.json``/``channels.json`` live (``""`` or ``"x/"``)."""
        candidates = sorted(
            (n.count("/"), n.rsplit("/", 1)[0] + "/" if "/" in n else "")
            for n in self.tree.names
            # a part of a name is text of it: a name holding neither is neither
            if ("users.json" in n or "channels.json" in n)
            and PurePosixPath(n).name in ("channels.json", "users.json")
        )
        if not candidates:
            raise FormatError(
                self.tree.origin, "not a Slack export: no channels.json or users.json"
            )
        return candidates[0][1]

    def _raw(self, record_type: str, record_id: str, payload: Any, member: str) -> dict[str, Any]:
        origin = self._where.get(member)
        if origin is None:
            origin = self._where[member] = self.tree.where(member)
        return {"source": SOURCE, "record_type": record_type, "record_id": record_id,
                "payload": self.record_payload(payload), "origin": origin}  # fmt: skip

    def _read_conversations(self, rel: dict[str, str]) -> dict[str, dict[str, Any]]:
        """Folder name → conversation (id, name, type) from the conversation list files."""
        by_folder: dict[str, dict[str, Any]] = {}
        for fname, kind in _CONVERSATION_FILES.items():
            if fname not in rel:
                continue
            data = self._json(rel[fname])
            if data is None:
                continue
            if not isinstance(data, list):
                self.reject(self.tree.where(rel[fname]), "conversation file is not a JSON list")
                continue
            for i, conv in enumerate(data):
                if not isinstance(conv, dict) or not conv.get("id"):
                    self.reject(
                        f"{self.tree.where(rel[fname])}#{i}", "conversation without id", conv
                    )
                    continue
                cid = str(conv["id"])
                name = str(conv.get("name") or cid)
                info = {"id": cid, "name": name, "conversation_type": kind}
                # exports name channel folders by channel name, DM folders by id
                by_folder.setdefault(name, info)
                by_folder.setdefault(cid, info)
                self.raw.append(self._raw("channel", cid, conv, rel[fname]))
        return by_folder

    def _read_users(self, rel: dict[str, str]) -> None:
        if "users.json" not in rel:
            self.warnings.append("the export has no users.json: accounts carry ids only")
            return
        data = self._json(rel["users.json"])
        if not isinstance(data, list):
            if data is not None:
                self.reject(self.tree.where(rel["users.json"]), "users.json is not a JSON list")
            return
        for i, user in enumerate(data):
            if not isinstance(user, dict) or not user.get("id"):
                self.reject(f"{self.tree.where(rel['users.json'])}#{i}", "user without id", user)
                continue
            self.raw.append(self._raw("user", str(user["id"]), user, rel["users.json"]))
            acc = _account_from_user(user)
            self.accounts[acc["account_id"]] = acc

    def _note_user(
        self, uid: Any, profile: Any = None, bot: Mapping[str, Any] | None = None
    ) -> None:
        """Remember an account id seen in a message, for accounts missing from users.json."""
        if not isinstance(uid, str) or not uid:
            return
        prof: dict[str, Any] = profile if isinstance(profile, dict) else {}
        current = self.referenced_users.get(uid)
        if current is not None and (current["display_name"] or not prof):
            return
        attrs: dict[str, Any] = {"in_users_json": False}
        kind = "unknown"
        if bot:
            attrs.update({k: v for k, v in bot.items() if v})
            kind = "bot"
        if uid == "USLACKBOT":
            kind = "bot"
        self.referenced_users[uid] = {
            "account_id": f"slack:{uid}", "source": SOURCE,
            "login": prof.get("name") or (bot or {}).get("username") or uid,
            "display_name": prof.get("real_name") or prof.get("display_name") or (bot or {}).get("username"),
            "email": None, "platform_kind": kind, "attrs": json_text(attrs),
        }  # fmt: skip

    def _message(
        self,
        channel: Mapping[str, Any],
        ts: str,
        moment: dt.datetime,
        m: dict[str, Any],
        member: str,
    ) -> None:
        self.stats["messages"] += 1
        cid = str(channel["id"])
        cname = str(channel["name"])
        subtype = m.get("subtype")
        thread_ts = m.get("thread_ts")
        thread_ts = str(thread_ts) if thread_ts not in (None, "") else None
        root_ts = thread_ts or ts
        object_id = f"slack:{cid}/{root_ts}"
        is_reply = thread_ts is not None and thread_ts != ts
        bp = m.get("bot_profile")
        bot_profile: dict[str, Any] = bp if isinstance(bp, dict) else {}
        bot_id = m.get("bot_id") or None
        is_bot = subtype == "bot_message" or (bot_id is not None and subtype not in _NOT_BOT_SPEECH)
        user = m.get("user") if isinstance(m.get("user"), str) and m.get("user") else None
        actor_raw = user or bot_id
        actor = f"slack:{actor_raw}" if actor_raw else None
        if user:
            self._note_user(user, m.get("user_profile"))
        elif bot_id:
            self._note_user(
                str(bot_id), None,
                {"bot_id": bot_id, "app_id": m.get("app_id") or bot_profile.get("app_id"),
                 "username": m.get("username") or bot_profile.get("name")},
            )  # fmt: skip
        team = self.channel_teams.get(cname) or self.channel_teams.get(cid)
        base_attrs: dict[str, Any] = {
            "channel": cname,
            "channel_id": cid,
            "subtype": subtype,
            "bot_id": bot_id,
            "app_id": m.get("app_id"),
            "bot_profile_app_id": bot_profile.get("app_id"),
            "thread_ts": thread_ts,
            "ts": ts,
        }
        if subtype == "tombstone" or m.get("hidden"):
            base_attrs["deleted"] = subtype == "tombstone"
        if m.get("username"):
            base_attrs["username"] = m.get("username")
        files = [f for f in (m.get("files") or []) if isinstance(f, dict)]
        single_file = m.get("file") if isinstance(m.get("file"), dict) else None
        if subtype in _JOIN_SUBTYPES:
            activity = "Channel joined"
        elif subtype == "file_share" and (single_file or files) and not is_reply:
            activity = "File shared"
        elif is_bot:
            activity = "Bot message"
        elif is_reply:
            activity = "Thread reply"
        else:
            activity = "Message posted"
        event_id = f"slack:{cid}/{ts}"
        raw_ref = f"message:{cid}/{ts}"
        seq = 0

        def add(
            eid: str, act: str, when: dt.datetime, who: str | None, attrs: dict[str, Any]
        ) -> None:
            nonlocal seq
            self.events.append((
                eid, act, when, seq, who, team, object_id,
                json_text({k: v for k, v in attrs.items() if v is not None}), raw_ref,
            ))  # fmt: skip
            seq += 1

        primary_attrs = dict(base_attrs)
        if activity == "File shared" and single_file is not None:
            primary_attrs["file_id"] = single_file.get("id")
            primary_attrs["filetype"] = single_file.get("filetype")
        add(event_id, activity, moment, actor, primary_attrs)
        edited = m.get("edited")
        if isinstance(edited, dict):
            when = parse_ts(edited.get("ts"))
            if when is not None:
                editor = edited.get("user") if isinstance(edited.get("user"), str) else None
                self._note_user(editor)
                add(f"{event_id}/edited/{edited.get('ts')}", "Message edited", when,
                    f"slack:{editor}" if editor else actor, dict(base_attrs))  # fmt: skip
        if activity != "File shared":
            shared = files + ([single_file] if single_file and subtype != "file_comment" else [])
            for f in shared:
                fid = str(f.get("id") or _sha(f)[:12])
                add(f"{event_id}/file/{fid}", "File shared", moment,
                    f"slack:{f['user']}" if isinstance(f.get("user"), str) and f.get("user") else actor,
                    {**base_attrs, "file_id": fid, "filetype": f.get("filetype")})  # fmt: skip
        for reaction in m.get("reactions") or []:
            if not isinstance(reaction, dict):
                continue
            name = str(reaction.get("name") or "")
            for reactor in sorted({u for u in reaction.get("users") or [] if isinstance(u, str)}):
                self._note_user(reactor)
                add(f"{event_id}/reaction/{name}/{reactor}", "Reaction added", moment, f"slack:{reactor}",
                    {**base_attrs, "reaction": name, "timestamp_source": "message_ts"})  # fmt: skip

        # the thread object: created by its root or, if the root is missing, its first reply
        obj = self.objects.get(object_id)
        if obj is None:
            obj = {
                "object_id": object_id, "object_type": "thread", "source": SOURCE,
                "key": f"#{cname}/{root_ts}",
                "title": f"#{cname} {parse_ts(root_ts) or moment:%Y-%m-%d %H:%M} UTC",
                "_attrs": {"channel": cname, "channel_id": cid, "thread_ts": root_ts,
                           "messages": 0, "root_present": False, "team": team},
            }  # fmt: skip
            self.objects[object_id] = obj
        attrs = obj["_attrs"]
        attrs["messages"] += 1
        if not is_reply:
            attrs["root_present"] = True
            if m.get("reply_count") is not None:
                attrs["reply_count"] = m.get("reply_count")
        for text in _scan_texts(m):
            for ref in find_refs(text):
                target, relation = ref_target(ref)
                self.link(object_id, target, relation, ref.evidence)
        payload = m if self.store_text else redact(m)
        self.raw.append(self._raw("message", f"{cid}/{ts}", payload, member))


def _event_frame(rows: list[tuple[Any, ...]]) -> pl.DataFrame:
    """The events table of :attr:`_Loader.events`, a column at a time, in event-id order
    (stable: of equal ids the first read stays first, as ``sorted`` keeps it)."""
    if not rows:
        return pl.DataFrame(schema=EVENT_SCHEMA)
    (ids, activities, moments, seqs, actors, teams, objects, attrs, raw_refs) = zip(
        *rows, strict=True
    )
    frame = pl.DataFrame(
        [
            pl.Series("event_id", ids, dtype=pl.String),
            pl.Series("activity", activities, dtype=pl.String),
            utc_series("timestamp", moments),
            pl.Series("seq", seqs, dtype=pl.Int64),
            pl.Series("actor_id", actors, dtype=pl.String),
            pl.Series("team", teams, dtype=pl.String),
            pl.repeat(SOURCE, len(rows), dtype=pl.String, eager=True).alias("source"),
            pl.Series("object_id", objects, dtype=pl.String),
            pl.Series("attrs", attrs, dtype=pl.String),
            pl.Series("raw_ref", raw_refs, dtype=pl.String),
        ]
    )
    return frame.sort("event_id", maintain_order=True)


def _account_from_user(user: Mapping[str, Any]) -> dict[str, Any]:
    """An ``accounts`` row from a ``users.json`` entry, platform fields kept in attrs."""
    raw_profile = user.get("profile")
    profile: dict[str, Any] = raw_profile if isinstance(raw_profile, dict) else {}
    uid = str(user["id"])
    is_bot = bool(user.get("is_bot"))
    is_app_user = bool(user.get("is_app_user"))
    bot_id = profile.get("bot_id")
    app_id = profile.get("api_app_id")
    if is_bot or is_app_user or bot_id or app_id or uid == "USLACKBOT":
        kind = "bot"
    elif "is_bot" in user:
        kind = "human"
    else:
        kind = "unknown"
    attrs = {
        "is_bot": user.get("is_bot"),
        "is_app_user": user.get("is_app_user"),
        "bot_id": bot_id,
        "api_app_id": app_id,
        "always_active": profile.get("always_active", user.get("always_active")),
        "deleted": user.get("deleted"),
        "team_id": user.get("team_id"),
        "is_restricted": user.get("is_restricted"),
        "is_ultra_restricted": user.get("is_ultra_restricted"),
        "tz": user.get("tz"),
        "title": profile.get("title") or None,
    }
    display = (
        profile.get("real_name")
        or user.get("real_name")
        or profile.get("display_name")
        or user.get("name")
    )
    return {
        "account_id": f"slack:{uid}",
        "source": SOURCE,
        "login": user.get("name"),
        "display_name": display or None,
        "email": (profile.get("email") or None),
        "platform_kind": kind,
        "attrs": json_text({k: v for k, v in attrs.items() if v is not None}),
    }
