"""Email (mbox, ``.eml`` folders, Maildir, one-message-per-file folders) into the store.

Inputs, recognised by content rather than by name:

- **mbox** files — split on ``From `` separator lines *on bytes* (non-ASCII
  or odd ``From `` lines are fine), ``>From `` quoting undone;
- **single-message files** — ``.eml``, Maildir ``cur/``/``new/`` entries
  (``tmp/`` is skipped: deliveries in progress), notmuch-style folders: any
  file that starts with RFC 5322 headers. A Maildir without ``new/`` or
  ``tmp/`` is fine; files that are neither (licences, notes) are skipped and
  counted.

Each message is parsed with :class:`email.parser.BytesParser` and read
defensively: header values are decoded from their raw bytes (UTF-8, then
Windows-1252) and RFC 2047 words with unknown charsets are decoded with
replacement, so no charset stops a load. A message that still fails is
quarantined with the reason and the rest loads.

Threads (JWZ-style): every Message-ID, In-Reply-To and References id is a node;
messages connected through those headers form one thread. A message's parent
is its In-Reply-To (when it names one id), else the last References id. The
thread's root is a message with no parent headers (earliest first); when the
real root is missing, the id most often first in References (a "ghost"). Only
a message *without* any reference headers whose subject carries a reply prefix
(``Re:``, ``AW:``, ``SV:`` …) is attached by normalised subject to the latest
earlier thread with that subject. The thread object is ``email:<root
message-id>`` (``email_thread``, title = normalised subject).

Events, one per distinct message (``event_id`` ``email:<message-id>``):
``Email forwarded`` (a ``Fwd:``-style subject, a forwarded ``message/rfc822``
part, or a "Forwarded message" marker), else ``Email sent`` (thread root or no
parent), else ``Email replied``; timestamped by Date, falling back to the
oldest Received header; no usable time → quarantine. Duplicates (same
Message-ID, e.g. a cross-posted copy) are one message and counted in
``stats["duplicates"]``.

Accounts are ``email:<lowercased address>``. ``platform_kind`` is ``bot`` for
no-reply style addresses or when every message of the address is
``Auto-Submitted`` (not ``no``); a mailing list's ``Precedence: list`` alone
says nothing about the sender. The signals are counted in attrs.

Bodies are not stored by default (``store_bodies=True`` keeps the decoded text
body): raw_records hold the headers. Jira keys and URLs and GitHub PR/issue
URLs in the decoded body link the thread with relation ``mentions``; in the
root's subject they link with relation ``title``; evidence is the matched text.

Layout: ``_mime`` (recognising mail files, splitting mbox, decoding),
``_loader`` (messages into threads and rows). A sender is the parsed address
of ``From``; an RFC 2047 encoded word is never an address.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

import polars as pl

from wfmine.connectors._base import FunctionReader
from wfmine.connectors.email._loader import _Loader
from wfmine.connectors.email._mime import (
    _msgids,
    _own_msgid,
    _walk,
    decode_header_value,
    normalise_subject,
    sniff,
    split_mbox,
)
from wfmine.errors import FormatError
from wfmine.model import Batch

__all__ = [
    "READER",
    "_msgids",
    "_own_msgid",
    "decode_header_value",
    "load",
    "normalise_subject",
    "sniff",
    "split_mbox",
]


def load(path: str | Path, options: Mapping[str, Any] | None = None) -> Batch:
    """Read mbox files, message files or mail folders under ``path`` into a :class:`~wfmine.model.Batch`."""
    opts = dict(options or {})
    unknown = set(opts) - {"store_bodies", "teams"}
    if unknown:
        raise FormatError(path, f"unknown email option(s): {sorted(unknown)}")
    p = Path(path)
    if not p.exists():
        raise FormatError(p, "no such file or folder")
    loader = _Loader(store_bodies=bool(opts.get("store_bodies", False)))
    files = [p] if p.is_file() else list(_walk(p))
    for f in files:
        loader.read_file(f, explicit=p.is_file())
    batch = loader.finish()
    teams = {str(k).lower(): str(v) for k, v in dict(opts.get("teams") or {}).items()}
    if teams and batch.events.height:
        batch.events = batch.events.with_columns(_sender_team(teams))
    return batch


def _sender_team(teams: Mapping[str, str]) -> pl.Expr:
    """``team`` from the sender: an exact address in ``teams``, else ``@domain``/``domain``."""
    address = pl.col("actor_id").str.strip_prefix("email:").str.to_lowercase()
    domain = address.str.split("@").list.last()
    exact = address.replace_strict(dict(teams), default=None, return_dtype=pl.String)
    by_domain = domain.replace_strict(
        {k.lstrip("@"): v for k, v in teams.items() if "@" not in k.lstrip("@")},
        default=None,
        return_dtype=pl.String,
    )
    return pl.coalesce(pl.col("team"), exact, by_domain).alias("team")


#: The email reader (see :class:`wfmine.connectors._base.Reader`).
READER: Final = FunctionReader("email", sniff, load)
