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

JSON goes through orjson (:func:`parse_json`, :func:`json_text`), 2–4× the
standard library's speed, with the same text: compact, keys sorted, non-ASCII
kept. What orjson refuses (bytes that are not UTF-8, lone surrogates, ``NaN``,
integers past 64 bits when written, keys that are not strings) takes the
standard library's path, so those records are read, checked and stored as
before. Two differences are left. In form only: a float below 1e-4 or from
1e16 up is written in orjson's shortest form (``0.00001`` for ``1e-05``), the
same number. And orjson reads an integer outside 64 bits (below -2**63 or
above 2**64-1) as a float, where the standard library kept every digit; the
four sources' APIs send none (their ids fit JavaScript's 2**53), but an
export holding one keeps it to double precision only. A record is encoded once: the text :meth:`BatchBuilder.reject_unreadable`
checked is the payload :meth:`BatchBuilder.keep_raw` stores.

>>> b = BatchBuilder("demo")
>>> b.reject("f.json#3", "record without id", b"\\xff{}")
>>> b.quarantine[0]["payload"]
'\\\\xff{}'
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

import orjson
import polars as pl

from wfmine.model import (
    BATCH_SCHEMAS,
    OBJECT_LINK_SCHEMA,
    UTC_TS,
    Batch,
    to_json,
    to_utc,
)

__all__ = [
    "EVIDENCE_CHARS",
    "QUARANTINE_PAYLOAD_CHARS",
    "STDLIB_DECODER",
    "BatchBuilder",
    "json_text",
    "parse_json",
    "parse_json_checked",
    "payload_text",
    "scrub",
    "utc",
    "utc_series",
    "utc_text",
]

#: The most of a quarantined record's payload that is kept (every reader, one rule).
QUARANTINE_PAYLOAD_CHARS: Final = 20_000
#: The most of a link's evidence text that is kept.
EVIDENCE_CHARS: Final = 500
#: How many skipped files a warning names (the rest are counted).
SKIPPED_NAMED: Final = 10
#: A lone surrogate: a byte that was not UTF-8, kept by ``surrogateescape``.
_SURROGATE: Final = re.compile("[\udc80-\udcff]")
#: The shortest text taken as a secret to scrub (shorter ones would hit ordinary words).
_MIN_SECRET: Final = 4
#: orjson's form of :func:`wfmine.model.to_json`: keys sorted; datetimes and dataclasses
#: are not its to write (the standard library's ``default=str`` writes them)
_ORJSON_OPTIONS: Final = (
    orjson.OPT_SORT_KEYS | orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS
)
_BOM_BYTES: Final = b"\xef\xbb\xbf"


class _Constant(float):
    """``NaN`` / ``Infinity`` as the standard library reads them: a float orjson will not
    write, so :func:`json_text` writes it as before (``NaN``), never as ``null``."""


def _constant(name: str) -> float:
    return _Constant(name)


#: The standard library's decoder for what orjson refuses (``NaN`` read as :class:`_Constant`).
STDLIB_DECODER: Final = json.JSONDecoder(parse_constant=_constant)


def parse_json(data: bytes) -> Any:
    """One JSON document from a file's bytes (a UTF-8 BOM dropped), by orjson.

    A document orjson refuses (bytes that are not UTF-8, a lone surrogate
    escape, ``NaN``) is read by the standard library from the text as
    :func:`wfmine.connectors._base.read_text` gives it (bad bytes as lone
    surrogates, so a reader quarantines just the records that hold one); its
    :class:`json.JSONDecodeError` is the standard library's, message and
    position included.

    >>> parse_json(b'{"a": [1, "\\u00e9"]}')
    {'a': [1, 'é']}
    """
    if data.startswith(_BOM_BYTES):
        data = data[len(_BOM_BYTES) :]
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        return STDLIB_DECODER.decode(data.decode("utf-8", "surrogateescape"))


def parse_json_checked(data: bytes) -> tuple[Any, bool]:
    """:func:`parse_json`, and whether orjson read it: then no text in it holds a lone
    surrogate (orjson refuses bytes that are not UTF-8 and lone surrogate escapes), so no
    record of it needs :meth:`BatchBuilder.unreadable`'s check.

    >>> parse_json_checked(b'[1]'), parse_json_checked(b'[NaN]')[1]
    (([1], True), False)
    """
    if data.startswith(_BOM_BYTES):
        data = data[len(_BOM_BYTES) :]
    try:
        return orjson.loads(data), True
    except orjson.JSONDecodeError:
        return STDLIB_DECODER.decode(data.decode("utf-8", "surrogateescape")), False


def json_text(value: Any) -> str:
    """``value`` as compact, key-sorted JSON: :func:`wfmine.model.to_json`'s text, by orjson.

    What orjson will not write (see the module docstring) is written by
    :func:`~wfmine.model.to_json` itself.

    >>> json_text({"b": 1, "a": ["é", None, True]})
    '{"a":["é",null,true],"b":1}'
    """
    try:
        return orjson.dumps(value, option=_ORJSON_OPTIONS).decode()
    except TypeError:  # orjson.JSONEncodeError is a TypeError
        return to_json(value)


def utc(value: Any) -> dt.datetime | None:
    """:func:`wfmine.model.to_utc`, the same moment for every value, without its regex pass.

    An aware UTC ``datetime`` is returned as it is; ISO text has a ``+hhmm``
    offset written ``+hh:mm`` by slicing, as ``to_utc``'s substitution does.

    >>> utc("2026-01-05T09:41:13.810+0100").isoformat()
    '2026-01-05T08:41:13.810000+00:00'
    """
    if type(value) is dt.datetime and value.tzinfo is dt.UTC:
        return value
    if not isinstance(value, str) or not value:
        return to_utc(value)
    text = value.strip()
    if len(text) >= 5 and text[-5] in "+-" and text[-4:].isdecimal():
        text = f"{text[:-2]}:{text[-2:]}"
    moment = dt.datetime.fromisoformat(text)
    if moment.tzinfo is None:
        return moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(dt.UTC)


@functools.lru_cache(maxsize=1 << 16)
def utc_text(value: str) -> dt.datetime | None:
    """:func:`utc` of a text, remembered: a record's stamps are read again (a sort key, a
    check, the events' column), and a changelog entry's stamp is every item's. Raises as
    :func:`utc` does (an error is not remembered)."""
    return utc(value)


_EPOCH: Final = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_MICROSECOND: Final = dt.timedelta(microseconds=1)


def utc_series(name: str, values: Iterable[Any]) -> pl.Series:
    """A ``Datetime("us", "UTC")`` series of moments as :func:`utc` reads them.

    Built from integer microseconds since the epoch: polars converts a list of
    ``datetime`` objects one Python call at a time, about five times slower
    than a list of integers. The same instants, exactly (integer arithmetic).

    >>> utc_series("t", ["2026-01-05T09:41:13.810+0100", None]).to_list()[0].isoformat()
    '2026-01-05T08:41:13.810000+00:00'
    """
    micros: list[int | None] = []
    append = micros.append
    for value in values:
        if type(value) is dt.datetime and value.tzinfo is dt.UTC:
            moment: dt.datetime | None = value
        elif type(value) is str:
            moment = utc_text(value)
        else:
            moment = utc(value)
        append(None if moment is None else (moment - _EPOCH) // _MICROSECOND)
    return pl.Series(name, micros, dtype=pl.Int64).cast(UTC_TS)


def _frame(table: str, rows: Sequence[Mapping[str, Any]]) -> pl.DataFrame:
    """:func:`wfmine.model.frame` of row dicts: the same frame, built a column at a time.

    Missing keys are nulls, unknown keys an error (one set union, not one per
    row); timestamps go through :func:`utc` (:func:`utc_series`).
    """
    schema = BATCH_SCHEMAS[table]
    if not rows:
        return pl.DataFrame(schema=schema)
    extra = set().union(*rows) - set(schema)
    if extra:
        raise KeyError(f"unknown columns for {table}: {sorted(extra)}")
    columns = []
    for name, dtype in schema.items():
        if name == "timestamp":
            columns.append(utc_series(name, [row.get(name) for row in rows]))
        else:
            columns.append(pl.Series(name, [row.get(name) for row in rows], dtype=dtype))
    return pl.DataFrame(columns)


def _raw_frame(rows: Sequence[Mapping[str, Any]]) -> pl.DataFrame:
    """The raw_records table of row dicts whose ``payload`` is text or UTF-8 bytes.

    Bytes (orjson's output, kept by :meth:`BatchBuilder.keep_raw`) are not decoded one
    record at a time: the column is built as ``Binary`` and cast to ``String`` once
    (the cast checks every value is UTF-8, so a bad one raises, never stores); text
    among them is encoded to join them (it is valid UTF-8: :func:`payload_text` made
    it so). A column of text only is made as it is.
    """
    schema = BATCH_SCHEMAS["raw_records"]
    if not rows:
        return pl.DataFrame(schema=schema)
    extra = set().union(*rows) - set(schema)
    if extra:
        raise KeyError(f"unknown columns for raw_records: {sorted(extra)}")
    columns = []
    for name, dtype in schema.items():
        values = [row.get(name) for row in rows]
        if name == "payload" and any(type(v) is bytes for v in values):
            payloads = [v if v is None or type(v) is bytes else v.encode("utf-8") for v in values]
            columns.append(pl.Series(name, payloads, dtype=pl.Binary).cast(pl.String))
        else:  # text only (an email reader's): as it is
            columns.append(pl.Series(name, values, dtype=dtype))
    return pl.DataFrame(columns)


def _table(table: str, rows: Iterable[Mapping[str, Any]] | pl.DataFrame) -> pl.DataFrame:
    """A table given as a frame (its schema checked) or as row dicts (:func:`_frame`)."""
    if isinstance(rows, pl.DataFrame):
        if rows.schema != BATCH_SCHEMAS[table]:
            raise TypeError(f"frame for {table} has schema {rows.schema}, not the store's")
        return rows
    return _frame(table, list(rows))


def payload_text(payload: Any) -> str | None:
    """A record as text for the store: JSON for values, bytes decoded (undecodable bytes escaped)."""
    if payload is None:
        return None
    if isinstance(payload, bytes):
        return payload.decode("utf-8", "backslashreplace")
    if not isinstance(payload, str):
        try:  # orjson writes no lone surrogate: the text is valid UTF-8 as it is
            return orjson.dumps(payload, option=_ORJSON_OPTIONS).decode()
        except TypeError:
            pass
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
    #: id(record) -> (record, its JSON text as UTF-8 bytes) for records checked by
    #: reject_unreadable, so keep_raw stores that text instead of encoding the record again
    #: (taken by it; the rest cleared by build)
    _texts: dict[int, tuple[Any, bytes]] = field(default_factory=dict, repr=False)

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
        if not self.unreadable(record):
            return False
        text = record if isinstance(record, str) else to_json(record)
        reason = f"{what} holds bytes that are not UTF-8"
        if payload is None:
            self.reject(ref, f"{reason} (kept escaped in the payload)", text)
        else:
            self.reject(ref, reason, payload)
        return True

    def unreadable(self, record: Any, *, keep_text: bool = True) -> bool:
        """Whether ``record`` holds bytes that are not UTF-8 (lone surrogates, see ``read_text``).

        A record that holds none keeps the JSON text the check made (unless
        ``keep_text`` is false: the record is not stored as it is), for one
        :meth:`keep_raw` or :meth:`record_text`, which takes it.
        """
        if isinstance(record, str):
            return bool(_SURROGATE.search(record))
        try:  # orjson refuses lone surrogates: text it writes holds no undecodable byte
            clean = orjson.dumps(record, option=_ORJSON_OPTIONS)
        except TypeError:
            return bool(_SURROGATE.search(to_json(record)))
        if keep_text:
            # orjson's bytes keep the buffer it grew (about 2.7 times the text): a copy of
            # the text alone is what is kept
            self._texts[id(record)] = (record, memoryview(clean).tobytes())
        return False

    def record_text(self, record: Any) -> str:
        """``record`` as JSON text (:func:`json_text`), taken from its check when it had one."""
        checked = self._texts.pop(id(record), None)
        if checked is not None and checked[0] is record:
            return checked[1].decode()
        return json_text(record)

    def record_payload(self, record: Any) -> str | bytes:
        """:meth:`record_text` for a raw record's ``payload``: the check's UTF-8 bytes as they
        are (the payload column is built from bytes, no text made per record), else text."""
        checked = self._texts.pop(id(record), None)
        if checked is not None and checked[0] is record:
            return checked[1]
        return json_text(record)

    def reject(self, ref: str, reason: str, payload: Any = None) -> None:
        """Quarantine one record: its position and reason always, its payload up to the cap."""
        text = payload_text(payload)
        self.quarantine.append(
            {"source": self.source, "record_ref": ref, "reason": reason,
             "payload": None if text is None else text[:QUARANTINE_PAYLOAD_CHARS]}
        )  # fmt: skip

    def keep_raw(self, record_type: str, record_id: str, payload: Any, origin: str) -> str:
        """Keep one source record verbatim; returns the ``raw_ref`` of events built from it.

        The payload is kept as orjson wrote it (UTF-8 bytes) when the record was checked
        (:meth:`unreadable`); :func:`_raw_frame` makes the text column of them at once.
        """
        checked = self._texts.pop(id(payload), None)
        text: str | bytes | None = (
            checked[1] if checked is not None and checked[0] is payload else None
        )
        self.raw.append(
            {"source": self.source, "record_type": record_type, "record_id": record_id,
             "payload": payload_text(payload) if text is None else text, "origin": origin}
        )  # fmt: skip
        return f"{record_type}:{record_id}"

    def link(self, src: str, dst: str, relation: str, evidence: str) -> None:
        """An object link (the first evidence seen for it is kept)."""
        self.links.setdefault((src, dst, relation), evidence[:EVIDENCE_CHARS])

    def build(
        self,
        *,
        events: Iterable[Mapping[str, Any]] | pl.DataFrame = (),
        event_objects: Iterable[Mapping[str, Any]] | pl.DataFrame = (),
        objects: Iterable[Mapping[str, Any]] | pl.DataFrame = (),
        accounts: Iterable[Mapping[str, Any]] | pl.DataFrame = (),
        cursor: str | None = None,
    ) -> Batch:
        """The batch: links sorted, quarantine sorted by position, skipped files named, credentials scrubbed.

        A table may come as row dicts or as a frame built a column at a time
        (its schema must be the store table's, exactly).
        """
        by_reason: dict[str, list[str]] = {}
        for path, why in self.skipped:
            by_reason.setdefault(why, []).append(path)
        for why, paths in sorted(by_reason.items()):
            names = sorted(set(paths))
            shown = ", ".join(names[:SKIPPED_NAMED])
            more = len(names) - SKIPPED_NAMED
            if more > 0:  # a line a person reads: the first few, and how many more
                shown += f" and {more:,} more"
            self.warnings.append(f"skipped {len(names)} file(s), {why}: {shown}")
        self.skipped = []
        self._texts.clear()
        links = sorted(self.links.items())
        batch = Batch(
            source=self.source,
            events=_table("events", events),
            raw_records=_raw_frame(self.raw),
            event_objects=_table("event_objects", event_objects),
            objects=_table("objects", objects),
            object_links=pl.DataFrame(
                {
                    "from_object": [k[0] for k, _ in links],
                    "to_object": [k[1] for k, _ in links],
                    "relation": [k[2] for k, _ in links],
                    "evidence": [e for _, e in links],
                },
                schema=OBJECT_LINK_SCHEMA,
            ),
            accounts=_table("accounts", accounts),
            quarantine=_frame(
                "quarantine", sorted(self.quarantine, key=lambda q: (q["record_ref"], q["reason"]))
            ),
            cursor=cursor,
            warnings=list(self.warnings),
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
    batch = batch.with_tables(scrubbed)
    for i, warning in enumerate(batch.warnings):
        for secret in found:
            warning = warning.replace(secret, "***")
        batch.warnings[i] = warning
    return batch
