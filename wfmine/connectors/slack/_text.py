"""Slack: constants, ``ts`` parsing, references in text, and the redaction of what people wrote."""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import re
from collections.abc import Mapping
from typing import Any, Final

from wfmine.connectors._refs import Ref
from wfmine.model import to_json

SOURCE: Final = "slack"

_CONVERSATION_FILES: Final = {
    "channels.json": "public_channel",
    "groups.json": "private_channel",
    "mpims.json": "mpim",
    "dms.json": "im",
}
_META_FILES: Final = frozenset({*_CONVERSATION_FILES, "users.json", "integration_logs.json"})
_DAY_FILE: Final = re.compile(r"^\d{4}-\d{2}-\d{2}\.json$")
_TS: Final = re.compile(r"^(\d{1,12})(?:\.(\d{1,6}))?$")
_JOIN_SUBTYPES: Final = frozenset({"channel_join", "group_join"})
#: Subtypes that are something other than a bot speaking even when ``bot_id`` is set.
_NOT_BOT_SPEECH: Final = frozenset({"bot_add", "bot_remove", "channel_join", "group_join"})
_TEXT_FIELDS: Final = ("text", "pretext", "fallback", "title")


def ref_target(ref: Ref) -> tuple[str, str]:
    """The store object id a reference points to and the link relation (``mentions``/``url``)."""
    if ref.kind == "jira_key":
        return f"jira:{ref.value}", "mentions"
    if ref.kind == "jira_url":
        return f"jira:{ref.value}", "url"
    repo, _, number = ref.value.partition("#")
    what = "pr" if ref.kind == "github_pull" else "issue"
    return f"github:{repo}#{what}/{number}", "url"


def parse_ts(value: Any) -> dt.datetime | None:
    """Read a Slack ``ts`` (``"1712345678.000100"``) as an exact UTC datetime, or ``None``."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        value = f"{value:.6f}"
    if not isinstance(value, str):
        return None
    return _ts_text(value)


@functools.lru_cache(maxsize=1 << 14)
def _ts_text(value: str) -> dt.datetime | None:
    """:func:`parse_ts` of a text, remembered: a thread's ``thread_ts`` comes in every reply."""
    m = _TS.match(value.strip())
    if not m:
        return None
    micros = int((m.group(2) or "0").ljust(6, "0"))
    return dt.datetime.fromtimestamp(int(m.group(1)), dt.UTC) + dt.timedelta(microseconds=micros)


def _sha(value: Any) -> str:
    text = value if isinstance(value, str) else to_json(value)
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def redact(message: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of ``message`` with what people wrote replaced by SHA-256 digests.

    ``text`` → ``text_sha256``, ``blocks`` → ``blocks_sha256``, attachment
    text fields → ``<field>_sha256``, file ``preview*`` fields dropped (with a
    digest). Ids, users, timestamps, subtypes, reactions, bot and app fields
    are kept as they are.
    """
    out: dict[str, Any] = {}
    for key, value in message.items():
        if key == "text" and isinstance(value, str):
            out["text_sha256"] = _sha(value)
        elif key == "blocks" and value:
            out["blocks_sha256"] = _sha(value)
        elif key == "attachments" and isinstance(value, list):
            out[key] = [
                _redact_fields(a, _TEXT_FIELDS) if isinstance(a, dict) else a for a in value
            ]
        elif key == "files" and isinstance(value, list):
            out[key] = [_redact_file(f) if isinstance(f, dict) else f for f in value]
        elif key == "file" and isinstance(value, dict):
            out[key] = _redact_file(value)
        elif key == "comment" and isinstance(value, dict):
            out[key] = _redact_fields(value, ("comment",))
        else:
            out[key] = value
    return out


def _redact_fields(obj: Mapping[str, Any], fields: tuple[str, ...]) -> dict[str, Any]:
    return {
        (f"{k}_sha256" if k in fields and isinstance(v, str) else k): (
            _sha(v) if k in fields and isinstance(v, str) else v
        )
        for k, v in obj.items()
    }


def _redact_file(obj: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in obj.items():
        if k.startswith("preview") or k in ("plain_text", "initial_comment"):
            out[f"{k}_sha256"] = _sha(v)
        else:
            out[k] = v
    return out


def _scan_texts(message: Mapping[str, Any]) -> list[str]:
    """Every piece of text in a message where a reference may appear."""
    texts: list[str] = []
    if isinstance(message.get("text"), str):
        texts.append(message["text"])
    for att in message.get("attachments") or []:
        if isinstance(att, dict):
            for key in ("pretext", "title", "title_link", "text", "fallback", "from_url"):
                if isinstance(att.get(key), str):
                    texts.append(att[key])
    files = list(message.get("files") or [])
    if isinstance(message.get("file"), dict):
        files.append(message["file"])
    for f in files:
        if isinstance(f, dict) and isinstance(f.get("title"), str):
            texts.append(f["title"])
    return texts
