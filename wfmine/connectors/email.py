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
"""

from __future__ import annotations

import datetime as dt
import email.header
import email.utils
import hashlib
import os
import re
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from email import policy
from email.message import Message
from email.parser import BytesParser
from pathlib import Path
from typing import Any, Final

import polars as pl

from wfmine.connectors._base import FunctionReader
from wfmine.connectors._batch import BatchBuilder
from wfmine.connectors._refs import Ref, find_refs
from wfmine.errors import FormatError
from wfmine.model import Batch, to_json

__all__ = ["READER", "load", "normalise_subject", "sniff"]

SOURCE: Final = "email"
_SNIFF_BYTES: Final = 8192
_HEADER_LINE: Final = re.compile(rb"^[\x21-\x39\x3b-\x7e]+:")
_KNOWN_HEADERS: Final = frozenset(
    {b"from", b"date", b"message-id", b"received", b"return-path", b"delivered-to",
     b"subject", b"to", b"mime-version", b"in-reply-to", b"references", b"x-gm-thrid"}
)  # fmt: skip
_MSGID: Final = re.compile(r"<([^<>\s]+)>")
_FROM_LINE: Final = re.compile(rb"^From \S.*\d\d:\d\d")
_QUOTED_FROM: Final = re.compile(rb"^>(>*From )", re.MULTILINE)
_PREFIX: Final = re.compile(
    r"^\s*(?:(re|fw|fwd|aw|wg|sv|vs|antw|tr|rif|r|ref|odp|res)\s*(?:\[\d+\]|\(\d+\))?\s*[:：]|\[[^\]]*\])\s*",
    re.IGNORECASE,
)
_REPLY_PREFIXES: Final = frozenset(
    {"re", "aw", "sv", "vs", "antw", "rif", "r", "odp", "res", "ref"}
)
_FORWARD_PREFIXES: Final = frozenset({"fw", "fwd", "wg", "tr"})
_FORWARD_MARKER: Final = re.compile(
    r"^-{3,}\s*(?:Forwarded message|Original Message \(forwarded\))|^Begin forwarded message:",
    re.IGNORECASE | re.MULTILINE,
)
_NOREPLY: Final = re.compile(
    r"^(?:no[-_.]?reply|do[-_.]?not[-_.]?reply|mailer[-_.]?daemon|postmaster|notifications?|"
    r"bounces?|automailer|robot|bot)(?:[+-].*)?$|[-+.]bounces?(?:[+-].*)?$",
    re.IGNORECASE,
)


def sniff(path: Path) -> bool:
    """Is ``path`` an mbox, a message file, or a folder holding messages? Never raises."""
    try:
        p = Path(path)
        if p.is_file():
            return _kind_of(p) is not None
        if p.is_dir():
            if (p / "cur").is_dir() or (p / "new").is_dir():
                return True  # a Maildir
            # a folder of message files: every (sampled) file in it is mail, so that a
            # folder mixing other exports is searched further instead of claimed whole
            files = sorted(f for f in p.iterdir() if f.is_file() and not f.name.startswith("."))
            sample = files[:50]
            return bool(sample) and all(_kind_of(f) is not None for f in sample)
        return False
    except Exception:
        return False


def normalise_subject(subject: str | None) -> tuple[str, list[str]]:
    """The subject without ``Re:``/``Fwd:``/``AW:``/``[list]`` prefixes, and the prefixes found.

    >>> normalise_subject("Re: [dev] AW: Fwd: Release  plan")
    ('Release plan', ['re', '[dev]', 'aw', 'fwd'])
    """
    text = " ".join((subject or "").split())
    prefixes: list[str] = []
    while True:
        m = _PREFIX.match(text)
        if not m or m.end() == 0 or m.end() >= len(text):
            break
        prefixes.append((m.group(1) or m.group(0).strip()).lower())
        text = text[m.end() :]
    return text.strip(), prefixes


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


# -- reading files -------------------------------------------------------------------


def _walk(root: Path) -> Iterator[Path]:
    """Files under ``root`` in sorted order, skipping hidden entries and Maildir ``tmp/``."""
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith(".") and d != "tmp")
        for name in sorted(filenames):
            if not name.startswith("."):
                yield Path(dirpath) / name


def _looks_like_headers(head: bytes) -> bool:
    """Does ``head`` start with an RFC 5322 header block naming at least one mail header?"""
    lines = head.split(b"\n")
    known = 0
    checked = 0
    for raw in lines[:-1] if len(lines) > 1 else lines:
        line = raw.rstrip(b"\r")
        if not line:
            break
        if line[:1] in (b" ", b"\t"):
            if checked == 0:
                return False
            continue
        if not _HEADER_LINE.match(line):
            return False
        checked += 1
        if line.split(b":", 1)[0].strip().lower() in _KNOWN_HEADERS:
            known += 1
    return checked >= 2 and known >= 1


def _kind_of(path: Path) -> str | None:
    """``"mbox"``, ``"message"`` or ``None`` for a file, by its first bytes."""
    with path.open("rb") as fh:
        head = fh.read(_SNIFF_BYTES)
    if head.startswith(b"From "):
        rest = head.split(b"\n", 1)[1] if b"\n" in head else b""
        return "mbox" if _looks_like_headers(rest) or not rest else None
    return "message" if _looks_like_headers(head) else None


def split_mbox(data: bytes) -> Iterator[tuple[int, bytes, bytes]]:
    """Split mbox bytes into ``(line number, From_ line, message bytes)``.

    A separator is a line starting with ``From `` at the start of the file or
    after an empty line, or one shaped like ``From <addr> <date>``, followed by
    a header line. ``>From `` lines in bodies are unquoted (mboxrd).
    """
    lines = data.split(b"\n")
    starts: list[int] = []
    for i, line in enumerate(lines):
        if not line.startswith(b"From "):
            continue
        after_blank = i == 0 or not lines[i - 1].rstrip(b"\r")
        nxt = lines[i + 1] if i + 1 < len(lines) else b""
        if (after_blank or _FROM_LINE.match(line)) and _HEADER_LINE.match(nxt):
            starts.append(i)
    if not starts and data.strip():
        starts = [0] if lines[0].startswith(b"From ") else []
    for k, start in enumerate(starts):
        end = starts[k + 1] if k + 1 < len(starts) else len(lines)
        body = b"\n".join(lines[start + 1 : end])
        if body.endswith(b"\n"):
            body = body[:-1]  # the blank line before the next separator belongs to the mbox
        yield start + 1, lines[start].rstrip(b"\r"), _QUOTED_FROM.sub(rb"\1", body)


# -- decoding ------------------------------------------------------------------------


def _decode_bytes(raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("cp1252", "replace")


def decode_header_value(raw: str) -> str:
    """Decode a raw header value (possibly holding undecodable bytes) to text, never raising."""
    text = _decode_bytes(raw.encode("ascii", "surrogateescape")) if _has_surrogates(raw) else raw
    text = re.sub(r"\r?\n[ \t]+", " ", text).strip()
    if "=?" not in text:
        return text
    try:
        parts = email.header.decode_header(text)
    except Exception:
        return text
    out: list[str] = []
    for chunk, charset in parts:
        if isinstance(chunk, str):
            out.append(chunk)
            continue
        try:
            out.append(chunk.decode(charset or "ascii", "replace"))
        except LookupError:
            out.append(_decode_bytes(chunk))
    # decode_header drops whitespace between encoded and plain words; keep it readable
    return "".join(out).strip()


def _has_surrogates(text: str) -> bool:
    return any("\udc80" <= ch <= "\udcff" for ch in text)


def _msgids(value: str | None) -> list[str]:
    """Message ids (without angle brackets) in a header value, in order, distinct."""
    if not value:
        return []
    return list(dict.fromkeys(m for m in _MSGID.findall(value) if "@" in m))


def _own_msgid(value: str | None) -> str | None:
    if not value:
        return None
    found = _MSGID.findall(value)
    if found:
        return str(found[0])
    token = value.strip().strip("<>").strip()
    return token if token and " " not in token else None


def _parse_date(value: str | None) -> dt.datetime | None:
    if not value or not value.strip():
        return None
    try:
        moment = email.utils.parsedate_to_datetime(value.strip())
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if moment is None:
        return None
    if moment.tzinfo is None:
        return moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(dt.UTC)


def _body_text(msg: Message) -> tuple[str, bool]:
    """The decoded text of the message's text parts, and whether it forwards a message."""
    texts: list[str] = []
    html: list[str] = []
    forwards = False
    for part in msg.walk():
        ctype = part.get_content_type()
        if ctype == "message/rfc822":
            forwards = True
            continue
        if part.is_multipart():
            continue
        disposition = str(part.get("Content-Disposition") or "").lower()
        if ctype not in ("text/plain", "text/html") or disposition.startswith("attachment"):
            continue
        payload = part.get_payload(decode=True)
        if not isinstance(payload, bytes):
            continue
        charset = part.get_content_charset() or "utf-8"
        try:
            text = payload.decode(charset, "replace")
        except LookupError:
            text = _decode_bytes(payload)
        (texts if ctype == "text/plain" else html).append(text)
    if not texts and html:
        texts = [re.sub(r"<[^>]+>", " ", h) for h in html]
    body = "\n".join(texts)
    return body, forwards or bool(_FORWARD_MARKER.search(body))


# -- the loader ----------------------------------------------------------------------


@dataclass
class _Mail:
    """What the loader keeps of one parsed message."""

    mid: str
    origin: str
    digest: str
    headers: list[tuple[str, str]]
    sender: tuple[str, str] | None  # (display name, lowercased address)
    moment: dt.datetime | None
    time_source: str
    subject: str
    norm_subject: str
    prefixes: list[str]
    in_reply_to: list[str]
    references: list[str]
    forwarded: bool
    refs: list[Ref]
    body: str | None
    attrs: dict[str, Any]
    duplicates: list[str] = field(default_factory=list)

    @property
    def parent(self) -> str | None:
        if len(self.in_reply_to) == 1 and self.in_reply_to[0] != self.mid:
            return self.in_reply_to[0]
        for ref in reversed(self.references):
            if ref != self.mid:
                return ref
        return self.in_reply_to[0] if self.in_reply_to and self.in_reply_to[0] != self.mid else None

    @property
    def has_reference_headers(self) -> bool:
        return bool(self.in_reply_to or self.references)


class _Loader(BatchBuilder):
    def __init__(self, *, store_bodies: bool) -> None:
        super().__init__(source=SOURCE)
        self.store_bodies = store_bodies
        self.mails: dict[str, _Mail] = {}
        self.stats: Counter[str] = Counter()
        self.parser = BytesParser(policy=policy.default)
        self.fallback_parser = BytesParser(policy=policy.compat32)
        self.skipped: list[str] = []

    def read_file(self, path: Path, *, explicit: bool) -> None:
        try:
            kind = _kind_of(path)
            data = path.read_bytes()
        except OSError as exc:
            raise FormatError(path, f"cannot read: {exc}") from None
        if kind is None:
            if explicit and data.strip():
                raise FormatError(
                    path, "neither an mbox nor an email message (no RFC 5322 headers)"
                )
            self.stats["skipped_files"] += 1
            self.skipped.append(str(path))
            return
        self.stats["files"] += 1
        if kind == "mbox":
            for line_no, from_line, raw in split_mbox(data):
                self._message(raw, f"{path}:{line_no}", from_line)
        else:
            self._message(data, str(path), None)

    def _message(self, raw: bytes, origin: str, from_line: bytes | None) -> None:
        self.stats["records"] += 1
        try:
            mail = self._parse(raw, origin, from_line)
        except Exception as exc:  # a message the parser cannot read at all
            self.reject(origin, f"unparsable message: {type(exc).__name__}: {exc}", raw)
            return
        if mail is None:
            return
        current = self.mails.get(mail.mid)
        if current is not None:
            self.stats["duplicates"] += 1
            # keep one copy chosen by content, so the result does not depend on file order
            keep, drop = (current, mail) if current.digest <= mail.digest else (mail, current)
            keep.duplicates = sorted({*current.duplicates, *mail.duplicates, drop.origin})
            self.mails[mail.mid] = keep
            return
        self.mails[mail.mid] = mail

    def _parse(self, raw: bytes, origin: str, from_line: bytes | None) -> _Mail | None:
        try:
            msg: Message = self.parser.parsebytes(raw)
            items = list(msg.raw_items())
        except Exception:  # the modern policy is stricter: fall back to the legacy one
            msg = self.fallback_parser.parsebytes(raw)
            items = list(msg.raw_items())
            self.stats["legacy_parser"] += 1
        headers = [(name, decode_header_value(str(value))) for name, value in items]
        first: dict[str, str] = {}
        every: dict[str, list[str]] = {}
        for name, value in headers:
            key = name.lower()
            first.setdefault(key, value)
            every.setdefault(key, []).append(value)
        if not headers or not any(k in first for k in ("from", "message-id", "date", "subject")):
            self.reject(origin, "no mail headers found", raw)
            return None
        digest = hashlib.sha256(raw).hexdigest()
        mid = _own_msgid(first.get("message-id"))
        if mid is None:
            mid = f"sha256-{digest[:32]}@wfmine.invalid"
            self.stats["missing_message_id"] += 1
        moment = _parse_date(first.get("date"))
        time_source = "date"
        if moment is None:
            for received in reversed(every.get("received", [])):
                moment = _parse_date(received.rsplit(";", 1)[-1]) if ";" in received else None
                if moment is not None:
                    time_source = "received"
                    break
        if moment is None:
            reason = (
                "no Date header and no dated Received header"
                if not (first.get("date") or "").strip()
                else f"unparsable Date header {first.get('date')!r} and no dated Received header"
            )
            self.reject(origin, reason, "\n".join(f"{n}: {v}" for n, v in headers))
            return None
        senders = email.utils.getaddresses(every.get("from", []))
        sender = next(((n.strip(), a.strip().lower()) for n, a in senders if "@" in a), None)
        if sender is None and every.get("from"):
            # "user at domain (Name)" as list archives write it
            m = re.match(r"^\s*([^\s@()]+) at ([^\s()]+)\s*(?:\((.*)\))?", every["from"][0])
            if m:
                sender = ((m.group(3) or "").strip(), f"{m.group(1)}@{m.group(2)}".lower())
        subject = first.get("subject", "")
        norm, prefixes = normalise_subject(subject)
        try:
            body, forwards = _body_text(msg)
        except Exception:
            body, forwards = _body_text(self.fallback_parser.parsebytes(raw))
            self.stats["legacy_parser"] += 1
        refs = find_refs(body)
        auto = first.get("auto-submitted")
        attrs: dict[str, Any] = {
            "from": sender[1] if sender else None,
            "to": _addresses(every.get("to", [])),
            "cc": _addresses(every.get("cc", [])),
            "subject": subject,
            "message_id": mid,
            "in_reply_to": next(iter(_msgids(first.get("in-reply-to"))), None),
            "auto_submitted": auto,
            "precedence": first.get("precedence"),
            "list_id": first.get("list-id"),
            "x_gm_thrid": first.get("x-gm-thrid"),
            "x_gmail_labels": first.get("x-gmail-labels"),
        }
        if from_line is not None:
            attrs["mbox_from"] = _decode_bytes(from_line)
        return _Mail(
            mid=mid, origin=origin, digest=digest, headers=headers, sender=sender,
            moment=moment, time_source=time_source, subject=subject, norm_subject=norm,
            prefixes=prefixes, in_reply_to=_msgids(first.get("in-reply-to")),
            references=_msgids(" ".join(every.get("references", []))),
            forwarded=forwards or bool(prefixes and prefixes[0] in _FORWARD_PREFIXES),
            refs=refs, body=body if self.store_bodies else None, attrs=attrs,
        )  # fmt: skip

    # -- threading and rows --------------------------------------------------------

    def _threads(self) -> dict[str, str]:
        """Message id → thread root id (a message id, possibly of a missing message)."""
        parent: dict[str, str] = {}

        def find(x: str) -> str:
            root = x
            while parent.get(root, root) != root:
                root = parent[root]
            while parent.get(x, x) != root:
                parent[x], x = root, parent[x]
            return root

        def union(a: str, b: str) -> None:
            ra, rb = find(a), find(b)
            if ra != rb:
                parent[max(ra, rb)] = min(ra, rb)

        mails = [self.mails[k] for k in sorted(self.mails)]
        for mail in mails:
            find(mail.mid)
            for other in [*mail.in_reply_to, *mail.references]:
                union(mail.mid, other)
        # subject fallback: only for messages with no reference headers and a reply prefix
        roots_by_subject: dict[str, list[tuple[dt.datetime, str]]] = {}
        for mail in mails:
            if not mail.has_reference_headers and not (set(mail.prefixes) & _REPLY_PREFIXES):
                assert mail.moment is not None
                roots_by_subject.setdefault(mail.norm_subject.casefold(), []).append(
                    (mail.moment, mail.mid)
                )
        self.subject_merged: set[str] = set()
        for mail in sorted(mails, key=lambda m: (m.moment, m.mid)):
            if mail.has_reference_headers or not (set(mail.prefixes) & _REPLY_PREFIXES):
                continue
            assert mail.moment is not None
            earlier = [
                c
                for c in roots_by_subject.get(mail.norm_subject.casefold(), [])
                if c[0] <= mail.moment
            ]
            if earlier and mail.norm_subject:
                union(mail.mid, max(earlier)[1])
                self.subject_merged.add(mail.mid)
        members: dict[str, list[_Mail]] = {}
        for mail in mails:
            members.setdefault(find(mail.mid), []).append(mail)
        root_of: dict[str, str] = {}
        for group in members.values():
            root = self._choose_root(group)
            for mail in group:
                root_of[mail.mid] = root
        return root_of

    def _choose_root(self, group: list[_Mail]) -> str:
        parentless = [
            m for m in group if not m.has_reference_headers and m.mid not in self.subject_merged
        ]
        if parentless:
            return min(parentless, key=lambda m: (m.moment, m.mid)).mid
        known = {m.mid for m in group}
        firsts = Counter(
            m.references[0] for m in group if m.references and m.references[0] not in known
        )
        if firsts:
            return min(firsts.items(), key=lambda kv: (-kv[1], kv[0]))[0]
        ghosts = Counter(m.parent for m in group if m.parent and m.parent not in known)
        if ghosts:
            return min(ghosts.items(), key=lambda kv: (-kv[1], kv[0]))[0]
        return min(group, key=lambda m: (m.moment, m.mid)).mid  # a reference loop

    def finish(self) -> Batch:
        root_of = self._threads() if self.mails else {}
        events: list[dict[str, Any]] = []
        event_objects: list[dict[str, Any]] = []
        raw = self.raw
        links = self.links
        threads: dict[str, list[_Mail]] = {}
        senders: dict[str, list[_Mail]] = {}
        for mid in sorted(self.mails):
            mail = self.mails[mid]
            root = root_of[mid]
            thread_id = f"email:{root}"
            threads.setdefault(root, []).append(mail)
            if mail.sender:
                senders.setdefault(mail.sender[1], []).append(mail)
            if mail.forwarded:
                activity = "Email forwarded"
            elif mid == root or (not mail.has_reference_headers and mid not in self.subject_merged):
                activity = "Email sent"
            else:
                activity = "Email replied"
            attrs = {k: v for k, v in mail.attrs.items() if v not in (None, [], "")}
            if mail.time_source != "date":
                attrs["timestamp_source"] = mail.time_source
            if mid in self.subject_merged:
                attrs["threaded_by"] = "subject"
            if mail.duplicates:
                attrs["duplicates"] = len(mail.duplicates)
            event_id = f"email:{mid}"
            events.append({
                "event_id": event_id, "activity": activity, "timestamp": mail.moment, "seq": 0,
                "actor_id": f"email:{mail.sender[1]}" if mail.sender else None, "team": None,
                "source": SOURCE, "object_id": thread_id, "attrs": to_json(attrs),
                "raw_ref": f"email:{mid}",
            })  # fmt: skip
            event_objects.append(
                {"event_id": event_id, "object_id": thread_id, "qualifier": "thread"}
            )
            for ref in mail.refs:
                target = _target(ref)
                links.setdefault((thread_id, target, "mentions"), ref.evidence[:500])
            payload: dict[str, Any] = {"headers": [list(h) for h in mail.headers]}
            if mail.body is not None:
                payload["body"] = mail.body
            if mail.duplicates:
                payload["duplicate_origins"] = mail.duplicates
            raw.append({"source": SOURCE, "record_type": "email", "record_id": mid,
                        "payload": to_json(payload), "origin": mail.origin})  # fmt: skip
        objects: list[dict[str, Any]] = []
        for root in sorted(threads):
            group = sorted(threads[root], key=lambda m: (m.moment, m.mid))
            head = next((m for m in group if m.mid == root), group[0])
            thread_id = f"email:{root}"
            for ref in find_refs(head.subject):
                links.setdefault((thread_id, _target(ref), "title"), ref.evidence[:500])
            list_ids = sorted({m.attrs["list_id"] for m in group if m.attrs.get("list_id")})
            objects.append({
                "object_id": thread_id, "object_type": "email_thread", "source": SOURCE,
                "key": root, "title": head.norm_subject or None,
                "attrs": to_json({
                    "messages": len(group), "root_present": head.mid == root,
                    "participants": len({m.sender[1] for m in group if m.sender}),
                    "list_ids": list_ids,
                    "x_gm_thrid": sorted({m.attrs["x_gm_thrid"] for m in group if m.attrs.get("x_gm_thrid")}),
                }),
            })  # fmt: skip
        accounts = [_account(addr, senders[addr]) for addr in sorted(senders)]
        if self.skipped:
            shown = ", ".join(self.skipped[:5]) + (" …" if len(self.skipped) > 5 else "")
            self.warnings.append(f"skipped {len(self.skipped)} file(s) that are not mail: {shown}")
        batch = self.build(
            events=events, event_objects=event_objects, objects=objects, accounts=accounts
        )
        batch.stats = {
            "files": self.stats["files"], "records": self.stats["records"],
            "messages": len(self.mails), "threads": len(threads),
            "duplicates": self.stats["duplicates"], "quarantined": len(self.quarantine),
            "skipped_files": self.stats["skipped_files"],
            "missing_message_id": self.stats["missing_message_id"],
        }  # fmt: skip
        return batch


def _addresses(values: list[str]) -> list[str]:
    try:
        pairs = email.utils.getaddresses(values)
    except Exception:
        return []
    return sorted({a.strip().lower() for _, a in pairs if "@" in a})


def _target(ref: Ref) -> str:
    if ref.kind in ("jira_key", "jira_url"):
        return f"jira:{ref.value}"
    repo, _, number = ref.value.partition("#")
    return f"github:{repo}#{'pr' if ref.kind == 'github_pull' else 'issue'}/{number}"


def _account(address: str, mails: list[_Mail]) -> dict[str, Any]:
    """An ``accounts`` row for a sender address, with the automation signals counted."""
    names = Counter(m.sender[0] for m in mails if m.sender and m.sender[0])
    display = min(names.items(), key=lambda kv: (-kv[1], kv[0]))[0] if names else None
    auto = sum(1 for m in mails if (m.attrs.get("auto_submitted") or "no").strip().lower() != "no")
    bulk = sum(
        1
        for m in mails
        if (m.attrs.get("precedence") or "").strip().lower() in ("bulk", "list", "junk")
    )
    local = address.split("@", 1)[0]
    noreply = bool(_NOREPLY.search(local))
    kind = "bot" if noreply or (auto and auto == len(mails)) else "unknown"
    attrs = {
        "messages": len(mails),
        "auto_submitted_messages": auto,
        "precedence_bulk_messages": bulk,
        "noreply_address": noreply,
        "list_ids": sorted({m.attrs["list_id"] for m in mails if m.attrs.get("list_id")})[:10],
    }
    return {
        "account_id": f"email:{address}", "source": SOURCE, "login": address,
        "display_name": display, "email": address, "platform_kind": kind, "attrs": to_json(attrs),
    }  # fmt: skip


#: The email reader (see :class:`wfmine.connectors._base.Reader`).
READER: Final = FunctionReader("email", sniff, load)
