"""Email: recognising mail files (mbox, message files, Maildir), splitting mbox, decoding headers and bodies."""

from __future__ import annotations

import datetime as dt
import email.header
import email.utils
import functools
import os
import re
from collections.abc import Iterator
from email.message import Message
from pathlib import Path
from typing import Final

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


def unfold_header_value(raw: str) -> str:
    """A raw header value as one line of text, undecodable bytes decoded; encoded words left as they are.

    Addresses are parsed from this form: an RFC 2047 word is a display name
    (``=?utf-8?q?boss@acme.example?= <mallory@attacker.example>`` is mallory),
    never an address.
    """
    text = _decode_bytes(raw.encode("ascii", "surrogateescape")) if _has_surrogates(raw) else raw
    return _FOLD.sub(" ", text).strip() if "\n" in text else text.strip()


_ENCODED_WORD: Final = re.compile(r"^=\?[^?\s]+\?[bBqQ]\?[^?\s]*\?=$")


def parse_addresses(values: list[str]) -> list[tuple[str, str]]:
    """(display name, lower-cased address) pairs of raw address headers (see :func:`unfold_header_value`).

    An RFC 2047 encoded word is never an address, even when it holds an ``@``:
    ``=?utf-8?q?boss@acme.example?= <mallory@attacker.example>`` is mallory.

    >>> parse_addresses(["=?utf-8?q?boss@acme.example?= <mallory@attacker.example>"])
    [('', 'mallory@attacker.example')]
    """
    return list(_parsed_addresses(tuple(values)))


@functools.lru_cache(maxsize=1 << 14)
def _parsed_addresses(values: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    """:func:`parse_addresses`, remembered: a mailbox repeats the same few senders."""
    try:
        pairs = email.utils.getaddresses(list(values))
    except Exception:
        return ()
    return tuple(
        (decode_header_value(name).strip(), address.strip().lower())
        for name, address in pairs
        if "@" in address and not _ENCODED_WORD.match(address.strip())
    )


def decode_header_value(raw: str) -> str:
    """Decode a raw header value (possibly holding undecodable bytes) to text, never raising."""
    text = unfold_header_value(raw)
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


_FOLD: Final = re.compile(r"\r?\n[ \t]+")
#: a lone surrogate: a byte that was not ASCII, kept by ``surrogateescape``
_SURROGATE: Final = re.compile("[\udc80-\udcff]")


def _has_surrogates(text: str) -> bool:
    return not text.isascii() and _SURROGATE.search(text) is not None


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
