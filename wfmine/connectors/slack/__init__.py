"""Slack workspace exports (zip or folder) into the store's object-centric tables.

An export holds ``users.json``, ``channels.json`` (and, where present,
``groups.json``, ``dms.json``, ``mpims.json``) and one folder per
conversation with a JSON file per day (``<channel>/<YYYY-MM-DD>.json``).
Everything is read in memory (zip members are never extracted).

What becomes what:

- **objects** — a ``thread`` per thread root, ``slack:<channel id>/<root ts>``;
  a message outside any thread is its own ``thread``. Replies are events *on*
  the thread object, so a thread reads as a small process.
- **events** — one primary event per message: ``Message posted``, ``Thread
  reply`` (``thread_ts != ts``), ``Bot message`` (``subtype: bot_message`` or
  a ``bot_id``), ``Channel joined`` (``channel_join``/``group_join``) or
  ``File shared`` (an old-style ``file_share`` message); plus derived events:
  ``Message edited`` at ``edited.ts``, ``File shared`` per attached file, and
  ``Reaction added`` per (reaction, user). Exports carry no reaction time, so
  a reaction is placed at its message's ``ts`` and says so in
  ``attrs.timestamp_source = "message_ts"``. ``event_id`` is
  ``slack:<channel id>/<ts>`` (primary) plus ``/edited/<ts>``,
  ``/file/<file id>`` or ``/reaction/<name>/<user>``.
- **accounts** — ``slack:<user id>`` from ``users.json`` (platform fields in
  attrs), and ``slack:<bot id>`` for bot messages that carry no user.
- **object_links** — Jira keys, Jira URLs and GitHub PR/issue URLs found in
  the message text and attachments link the thread to ``jira:<KEY>`` or
  ``github:<owner>/<repo>#pr/<n>`` (relation ``mentions`` for a bare key,
  ``url`` for a URL; evidence is the matched text).
- **raw_records** — every message, user, conversation and integration-log
  entry. Message text is *not* stored unless ``store_text=True``: the
  message's ``text`` (and the text-bearing fields ``blocks``, attachment
  ``text``/``pretext``/``fallback``/``title``, file ``preview``) are replaced
  by ``"<field>_sha256"`` digests, so a record can still be matched against the
  original export without keeping what people wrote. Everything else is kept.

Options: ``channel_teams`` (channel name or id → team, sets ``events.team``),
``store_text`` (default ``False``).

Layout: ``_text`` (``ts``, references, redaction), ``_loader`` (the pass over
an export); recognising and loading are here.

Bad input: an unreadable zip raises :class:`~wfmine.errors.FormatError`
naming the file; a member whose path escapes the export, a day file that is
not JSON, and a message without ``ts`` are quarantined with the reason while
the rest loads.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path, PurePosixPath
from typing import Any, Final

from wfmine.connectors._base import FunctionReader
from wfmine.connectors._safezip import open_tree
from wfmine.connectors.slack._loader import _Loader
from wfmine.connectors.slack._text import (
    _DAY_FILE,
    parse_ts,
    redact,
    ref_target,
)
from wfmine.errors import FormatError
from wfmine.model import Batch

__all__ = ["READER", "load", "parse_ts", "redact", "ref_target", "sniff"]


def sniff(path: Path) -> bool:
    """Is ``path`` a Slack export (folder or zip)? Cheap, never raises on foreign input."""
    try:
        p = Path(path)
        if p.is_dir():
            roots = [p]
            # an export unzipped into a wrapper folder: the folder holds only the export
            entries = [c for c in p.iterdir() if not c.name.startswith(".")]
            if len(entries) == 1 and entries[0].is_dir():
                roots.append(entries[0])
            for root in roots:
                if (root / "channels.json").is_file() or (root / "users.json").is_file():
                    return any(
                        _DAY_FILE.match(f.name)
                        for d in root.iterdir()
                        if d.is_dir()
                        for f in d.iterdir()
                    )
            return False
        if p.suffix.lower() != ".zip":
            return False
        import zipfile

        with zipfile.ZipFile(p) as zf:
            names = zf.namelist()
        has_meta = any(PurePosixPath(n).name in ("channels.json", "users.json") for n in names)
        return has_meta and any(_DAY_FILE.match(PurePosixPath(n).name) for n in names)
    except Exception:
        return False


def load(path: str | Path, options: Mapping[str, Any] | None = None) -> Batch:
    """Read a Slack workspace export (zip or folder) into a :class:`~wfmine.model.Batch`."""
    opts = dict(options or {})
    unknown = set(opts) - {"channel_teams", "teams", "store_text"}
    if unknown:
        raise FormatError(path, f"unknown Slack option(s): {sorted(unknown)}")
    # a connector file's [teams] table maps channels to teams
    mapping = dict(opts.get("teams") or {}) | dict(opts.get("channel_teams") or {})
    channel_teams = {str(k): str(v) for k, v in mapping.items()}
    store_text = bool(opts.get("store_text", False))
    if not Path(path).exists():
        raise FormatError(path, "no such file or folder")
    tree = open_tree(path)
    try:
        return _Loader(tree, channel_teams, store_text).run()
    finally:
        tree.close()


#: The Slack export reader (see :class:`wfmine.connectors._base.Reader`).
READER: Final = FunctionReader("slack", sniff, load)
