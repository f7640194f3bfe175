"""One batch builder for every reader: raw records, quarantine, links, warnings, credentials scrubbed.

Every reader (Jira, GitHub, Slack, email) collects its rows in a
:class:`BatchBuilder` (its collector subclasses it), so the rules below hold
for all of them, fixed once:

- **one quarantine rule** — :meth:`BatchBuilder.reject` keeps the record's
  position (``record_ref``: file, member, index) and the reason, always, and
  at most :data:`QUARANTINE_PAYLOAD_CHARS` characters of the payload. Bytes
  that are not UTF-8 are kept with ``\\xNN`` escapes, so the original bytes can
  be recovered from the payload;
- raw records carry their JSON payload and origin; :meth:`BatchBuilder.keep_raw`
  returns the ``raw_ref`` events point at;
- a link's evidence is cut at :data:`EVIDENCE_CHARS`;
- **a record, not its file** — a record holding bytes that are not UTF-8 is
  quarantined on its own (:meth:`BatchBuilder.reject_unreadable`); the rest
  of its page loads;
- **no file skipped silently** — a file of a folder the reader does not
  recognise is named, with why, in the batch's warnings (:meth:`BatchBuilder.skip`);
- **credentials never reach the store** — :func:`scrub` replaces every
  registered secret (a token, a basic-auth value) in every stored text column
  and in the warnings, even when a server echoed a request header into a
  record.

>>> b = BatchBuilder("demo")
>>> b.reject("f.json#3", "record without id", b"\\xff{}")
>>> b.quarantine[0]["payload"]
'\\\\xff{}'
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

import polars as pl

from wfmine.model import Batch, to_json

__all__ = [
    "EVIDENCE_CHARS",
    "QUARANTINE_PAYLOAD_CHARS",
    "BatchBuilder",
    "payload_text",
    "scrub",
]

#: The most of a quarantined record's payload that is kept (every reader, one rule).
QUARANTINE_PAYLOAD_CHARS: Final = 20_000
#: The most of a link's evidence text that is kept.
EVIDENCE_CHARS: Final = 500
#: A lone surrogate: a byte that was not UTF-8, kept by ``surrogateescape``.
_SURROGATE: Final = re.compile("[\udc80-\udcff]")
#: The shortest text taken as a secret to scrub (shorter ones would hit ordinary words).
_MIN_SECRET: Final = 4


def payload_text(payload: Any) -> str | None:
    """A record as text for the store: JSON for values, bytes decoded (undecodable bytes escaped)."""
    if payload is None:
        return None
    if isinstance(payload, bytes):
        return payload.decode("utf-8", "backslashreplace")
    text = payload if isinstance(payload, str) else to_json(payload)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates: escaped bytes (read_text) or a bad \\u escape
        try:
            data = text.encode("utf-8", "surrogateescape")
        except UnicodeEncodeError:
            data = text.encode("utf-8", "backslashreplace")
        return data.decode("utf-8", "backslashreplace")
    return text


@dataclass
class BatchBuilder:
    """The rows every reader collects, and the one way they become a :class:`Batch`."""

    source: str = ""
    raw: list[dict[str, Any]] = field(default_factory=list)
    quarantine: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    links: dict[tuple[str, str, str], str] = field(default_factory=dict)
    #: credentials to scrub from everything the batch stores
    secrets: tuple[str, ...] = ()
    #: (file, why) for every file of a folder the reader did not recognise
    skipped: list[tuple[str, str]] = field(default_factory=list)

    def skip(self, path: str, why: str) -> None:
        """A file of a folder that is not this reader's: named in the batch's warnings."""
        self.skipped.append((path, why))

    def reject_unreadable(
        self, ref: str, record: Any, what: str = "record", *, payload: Any = None
    ) -> bool:
        """Quarantine ``record`` when it holds bytes that are not UTF-8 (see ``read_text``).

        The payload keeps the original bytes (``\\xNN`` escapes) unless ``payload``
        is given (a redacted copy, for readers that must not store what people
        wrote); returns True when the record was quarantined, so the caller skips it.
        """
        text = record if isinstance(record, str) else to_json(record)
        if not _SURROGATE.search(text):
            return False
        reason = f"{what} holds bytes that are not UTF-8"
        if payload is None:
            self.reject(ref, f"{reason} (kept escaped in the payload)", text)
        else:
            self.reject(ref, reason, payload)
        return True

    def reject(self, ref: str, reason: str, payload: Any = None) -> None:
        """Quarantine one record: its position and reason always, its payload up to the cap."""
        text = payload_text(payload)
        self.quarantine.append(
            {"source": self.source, "record_ref": ref, "reason": reason,
             "payload": None if text is None else text[:QUARANTINE_PAYLOAD_CHARS]}
        )  # fmt: skip

    def keep_raw(self, record_type: str, record_id: str, payload: Any, origin: str) -> str:
        """Keep one source record verbatim; returns the ``raw_ref`` of events built from it."""
        self.raw.append(
            {"source": self.source, "record_type": record_type, "record_id": record_id,
             "payload": payload_text(payload), "origin": origin}
        )  # fmt: skip
        return f"{record_type}:{record_id}"

    def link(self, src: str, dst: str, relation: str, evidence: str) -> None:
        """An object link (the first evidence seen for it is kept)."""
        self.links.setdefault((src, dst, relation), evidence[:EVIDENCE_CHARS])

    def build(
        self,
        *,
        events: Iterable[Mapping[str, Any]] = (),
        event_objects: Iterable[Mapping[str, Any]] = (),
        objects: Iterable[Mapping[str, Any]] = (),
        accounts: Iterable[Mapping[str, Any]] = (),
        cursor: str | None = None,
    ) -> Batch:
        """The batch: links sorted, quarantine sorted by position, skipped files named, credentials scrubbed."""
        by_reason: dict[str, list[str]] = {}
        for path, why in self.skipped:
            by_reason.setdefault(why, []).append(path)
        for why, paths in sorted(by_reason.items()):
            names = sorted(set(paths))
            self.warnings.append(f"skipped {len(names)} file(s), {why}: {', '.join(names)}")
        self.skipped = []
        batch = Batch.from_rows(
            self.source,
            events=events,
            raw_records=self.raw,
            event_objects=event_objects,
            objects=objects,
            object_links=[
                {"from_object": a, "to_object": b, "relation": r, "evidence": e}
                for (a, b, r), e in sorted(self.links.items())
            ],
            accounts=accounts,
            quarantine=sorted(self.quarantine, key=lambda q: (q["record_ref"], q["reason"])),
            cursor=cursor,
            warnings=self.warnings,
        )
        return scrub(batch, self.secrets)


#: The text columns of each table that may carry what a source sent.
_TEXT_COLUMNS: Final = {
    "raw_records": ("payload", "origin", "record_id"),
    "events": ("attrs", "raw_ref"),
    "objects": ("title", "attrs"),
    "object_links": ("evidence",),
    "accounts": ("display_name", "email", "attrs"),
    "quarantine": ("record_ref", "reason", "payload"),
}


def scrub(batch: Batch, secrets: Iterable[str]) -> Batch:
    """``batch`` with every secret (of 4+ characters) replaced by ``***`` in every stored text."""
    found = sorted({s for s in secrets if s and len(s) >= _MIN_SECRET}, key=len, reverse=True)
    if not found:
        return batch
    tables = batch.tables()
    scrubbed: dict[str, pl.DataFrame] = {}
    for table, columns in _TEXT_COLUMNS.items():
        exprs = []
        for name in columns:
            expr = pl.col(name)
            for secret in found:
                expr = expr.str.replace_all(secret, "***", literal=True)
            exprs.append(expr.alias(name))
        scrubbed[table] = tables[table].with_columns(exprs)
    batch = dataclasses.replace(
        batch,
        raw_records=scrubbed["raw_records"],
        events=scrubbed["events"],
        objects=scrubbed["objects"],
        object_links=scrubbed["object_links"],
        accounts=scrubbed["accounts"],
        quarantine=scrubbed["quarantine"],
    )
    for i, warning in enumerate(batch.warnings):
        for secret in found:
            warning = warning.replace(secret, "***")
        batch.warnings[i] = warning
    return batch
