"""The shapes every layer agrees on: store tables, the flat log, an ingest batch.

A connector (or a standard-format reader) turns its input into a
:class:`Batch`: one polars frame per store table, with exactly the columns of
the schemas below. The store writes a batch in one transaction. Discovery,
conformance and findings read the *flat log* (:data:`LOG_SCHEMA`): one row per
(case, event), the case chosen by a case notion.

Identifiers are deterministic strings derived from the source record, so
re-ingesting the same input adds nothing:

- ``object_id``: ``"<source>:<native key>"``, e.g. ``"jira:PROJ-12"``,
  ``"github:acme/api#pr/41"``, ``"xes:running-example/3"``;
- ``event_id``: ``"<object_id>/<native event key>"`` or another string unique
  within the source, never a random or run-dependent value;
- ``account_id``: ``"<source>:<native account id>"``, e.g.
  ``"github:octocat"``, ``"jira:5b10ac8d82e05b22cc7d4ef5"``.

``seq`` is a stable sequence number derived from the input's *content* (the
event's position inside its trace or record, a changelog id), never from the
order files were read in; every analysis orders by (case, timestamp, seq,
event_id).
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Final, Literal

import polars as pl

__all__ = [
    "ACCOUNT_SCHEMA",
    "ACTOR_KINDS",
    "BATCH_SCHEMAS",
    "EVENT_OBJECT_SCHEMA",
    "EVENT_SCHEMA",
    "KIND_ATTRIBUTES",
    "KIND_SCHEMA",
    "LOG_SCHEMA",
    "OBJECT_LINK_SCHEMA",
    "OBJECT_SCHEMA",
    "QUARANTINE_SCHEMA",
    "RAW_RECORD_SCHEMA",
    "SOURCES",
    "ActorKind",
    "Batch",
    "case_kinds",
    "frame",
    "is_sorted",
    "to_json",
    "to_utc",
    "work_item_kinds",
]

UTC_TS: Final = pl.Datetime("us", "UTC")

SOURCES: Final = ("jira", "github", "slack", "email", "xes", "ocel", "csv", "parquet")
ActorKind = Literal["human", "bot", "agent", "unknown"]
ACTOR_KINDS: Final = ("human", "bot", "agent", "unknown")

RAW_RECORD_SCHEMA: Final = pl.Schema(
    {
        "source": pl.String(),
        "record_type": pl.String(),  # "issue", "pull", "review", "message", "email", ...
        "record_id": pl.String(),  # unique within (source, record_type)
        "payload": pl.String(),  # the record verbatim, as JSON text
        "origin": pl.String(),  # file path (+ member) or URL it came from
    }
)

EVENT_SCHEMA: Final = pl.Schema(
    {
        "event_id": pl.String(),
        "activity": pl.String(),
        "timestamp": UTC_TS,
        "seq": pl.Int64(),
        "actor_id": pl.String(),  # an account_id; identity resolution maps it to a person
        # team recorded at the event (org:group, a connector's [teams] mapping), if any; the
        # flat log prefers the performer's team from identity resolution (a roster)
        "team": pl.String(),
        "source": pl.String(),
        "object_id": pl.String(),  # the primary object the event happened to
        "attrs": pl.String(),  # JSON object of everything else
        "raw_ref": pl.String(),  # "<record_type>:<record_id>" in raw_records
    }
)

EVENT_OBJECT_SCHEMA: Final = pl.Schema(
    {
        "event_id": pl.String(),
        "object_id": pl.String(),
        "qualifier": pl.String(),
    }
)

OBJECT_SCHEMA: Final = pl.Schema(
    {
        "object_id": pl.String(),
        "object_type": pl.String(),  # issue, pull_request, commit, thread, message, email_thread, case
        "source": pl.String(),
        "key": pl.String(),  # the key a person knows: "PROJ-12", "acme/api#41", the XES case id
        "title": pl.String(),
        "attrs": pl.String(),  # JSON
    }
)

OBJECT_LINK_SCHEMA: Final = pl.Schema(
    {
        "from_object": pl.String(),
        "to_object": pl.String(),
        "relation": pl.String(),  # closes, mentions, branch, url, parent, part_of, ...
        "evidence": pl.String(),  # the text that made the link (a key, a URL, a branch name)
    }
)

ACCOUNT_SCHEMA: Final = pl.Schema(
    {
        "account_id": pl.String(),
        "source": pl.String(),
        "login": pl.String(),  # login / username / accountId / address
        "display_name": pl.String(),
        "email": pl.String(),
        "platform_kind": pl.String(),  # human | bot | agent | unknown, from platform fields only
        "attrs": pl.String(),  # JSON: type, accountType, is_bot, app ids, ...
    }
)

QUARANTINE_SCHEMA: Final = pl.Schema(
    {
        "source": pl.String(),
        "record_ref": pl.String(),  # file (+ member) and record index or id
        "reason": pl.String(),
        "payload": pl.String(),  # what could be kept of the record (may be truncated)
    }
)

#: The flat log every analysis reads (see :meth:`wfmine.store.Store.log`).
LOG_SCHEMA: Final = pl.Schema(
    {
        "case_id": pl.String(),
        "activity": pl.String(),
        "timestamp": UTC_TS,
        "seq": pl.Int64(),
        "event_id": pl.String(),
        "actor_id": pl.String(),  # resolved actor (person or account)
        "resource": pl.String(),  # the actor's display name (pm4py's org:resource)
        "actor_kind": pl.String(),  # human | bot | agent | unknown
        "team": pl.String(),
        "source": pl.String(),
        "object_id": pl.String(),
        "object_type": pl.String(),
    }
)

#: the work-item attributes the tracker records when it creates an item (a Jira issue's type
#: and priority), with the words a stall limit's ``basis`` names them by
KIND_ATTRIBUTES: Final = {"type": "issue type", "priority": "priority"}
#: per case, the kind of work item it is (:func:`work_item_kinds`; the lake's ``kinds`` table)
KIND_SCHEMA: Final = pl.Schema(
    {"case_id": pl.String(), **{a: pl.String() for a in KIND_ATTRIBUTES}}
)


def _some_kind(kinds: pl.DataFrame) -> pl.DataFrame | None:
    """``kinds``, or ``None`` when no case in it has a kind."""
    named = kinds.select(pl.any_horizontal(pl.col(a).is_not_null() for a in KIND_ATTRIBUTES).any())
    return kinds if kinds.height and named.item() else None


def work_item_kinds(events: pl.DataFrame, events_attrs: pl.DataFrame | None) -> pl.DataFrame | None:
    """Per case, the kind of work item it is (:data:`KIND_SCHEMA`): ``case_id`` and the
    :data:`KIND_ATTRIBUTES` (``type``, ``priority``) its tracker recorded when it created the item.

    ``events``: flat-log rows (``case_id``, ``activity``, ``object_id``,
    ``event_id``), in log order. Read from the attrs of the case's own
    creation event (a Jira issue's ``Issue created`` carries its issue type
    and priority); ``None`` when ``events_attrs`` is ``None`` or no case has
    them (a log without a tracker). The stall limits read these
    (:mod:`wfmine.findings.stalls`), and the lake carries them as its
    ``kinds`` table (:mod:`wfmine.lake`), for engines that read no attrs.
    """
    if events_attrs is None or events.height == 0:
        return None
    created = events.filter(
        (pl.col("activity") == "Issue created") & (pl.col("object_id") == pl.col("case_id"))
    ).select("case_id", "event_id")
    if created.height == 0:
        return None
    attrs = events_attrs.select("event_id", "attrs").join(created, on="event_id", how="semi")
    kinds = created.join(attrs, on="event_id", how="inner").select(
        "case_id",
        *(pl.col("attrs").str.json_path_match(f"$.{a}").alias(a) for a in KIND_ATTRIBUTES),
    )
    return _some_kind(kinds.unique("case_id", keep="first", maintain_order=True))


def case_kinds(kinds: pl.DataFrame | None, events: pl.DataFrame) -> pl.DataFrame | None:
    """The rows of ``kinds`` (:func:`work_item_kinds`, or the lake's table) of the cases of
    ``events``, or ``None`` when none of them has a kind: what :func:`work_item_kinds` of
    ``events`` and their attrs gives, for a log that carries the kinds instead of the attrs."""
    if kinds is None or events.height == 0:
        return None
    cases = events.select("case_id").unique()
    return _some_kind(
        kinds.join(cases, on="case_id", how="semi", maintain_order="left").select(
            KIND_SCHEMA.names()
        )
    )


#: The schema of each table a connector batch carries, by table name.
BATCH_SCHEMAS: Final[dict[str, pl.Schema]] = {
    "raw_records": RAW_RECORD_SCHEMA,
    "events": EVENT_SCHEMA,
    "event_objects": EVENT_OBJECT_SCHEMA,
    "objects": OBJECT_SCHEMA,
    "object_links": OBJECT_LINK_SCHEMA,
    "accounts": ACCOUNT_SCHEMA,
    "quarantine": QUARANTINE_SCHEMA,
}


def to_json(value: Any) -> str:
    """Serialise ``value`` as compact, key-sorted JSON (deterministic text)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def frame(table: str, rows: Iterable[Mapping[str, Any]] | None = None) -> pl.DataFrame:
    """Build a frame with the exact schema of store table ``table`` from row dicts.

    Missing keys become nulls, unknown keys are an error. ``timestamp`` values
    may be ``datetime`` objects (naive means UTC) or ISO-8601 strings.

    >>> frame("object_links", [{"from_object": "github:a/b#pr/1", "to_object": "jira:P-1",
    ...                          "relation": "closes", "evidence": "title: P-1"}]).height
    1
    """
    schema = BATCH_SCHEMAS[table]
    if rows is None:
        return pl.DataFrame(schema=schema)
    materialised = list(rows)
    if not materialised:
        return pl.DataFrame(schema=schema)
    for row in materialised:
        extra = set(row) - set(schema)
        if extra:
            raise KeyError(f"unknown columns for {table}: {sorted(extra)}")
    columns: dict[str, list[Any]] = {
        name: [row.get(name) for row in materialised] for name in schema
    }
    if "timestamp" in schema:
        ts = pl.Series("timestamp", [to_utc(v) for v in columns.pop("timestamp")], dtype=UTC_TS)
        df = pl.DataFrame({k: pl.Series(k, v, dtype=schema[k]) for k, v in columns.items()})
        return df.with_columns(ts).select(list(schema))
    return pl.DataFrame({k: pl.Series(k, v, dtype=schema[k]) for k, v in columns.items()})


def to_utc(value: Any) -> dt.datetime | None:
    """Read a timestamp (ISO-8601 text, epoch seconds, or ``datetime``) as an aware UTC datetime.

    Naive values are taken as UTC. ``None`` and ``""`` give ``None``.
    """
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        moment = value
    elif isinstance(value, int | float):
        return dt.datetime.fromtimestamp(float(value), dt.UTC)
    elif isinstance(value, str):
        text = value.strip()
        # Jira writes "+0000" offsets; fromisoformat wants "+00:00" before 3.11 edge cases
        text = _OFFSET.sub(r"\1:\2", text)
        moment = dt.datetime.fromisoformat(text)
    else:
        raise TypeError(f"cannot read a timestamp from {type(value).__name__}")
    if moment.tzinfo is None:
        return moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(dt.UTC)


_OFFSET: Final = re.compile(r"([+-]\d{2})(\d{2})$")


@dataclass
class Batch:
    """Everything one ingest run writes, one frame per store table.

    Build one with :func:`frame` per table, or :meth:`from_rows`. The store
    writes a batch in a single transaction (:meth:`wfmine.store.Store.ingest`).
    """

    source: str
    events: pl.DataFrame = field(default_factory=lambda: frame("events"))
    raw_records: pl.DataFrame = field(default_factory=lambda: frame("raw_records"))
    event_objects: pl.DataFrame = field(default_factory=lambda: frame("event_objects"))
    objects: pl.DataFrame = field(default_factory=lambda: frame("objects"))
    object_links: pl.DataFrame = field(default_factory=lambda: frame("object_links"))
    accounts: pl.DataFrame = field(default_factory=lambda: frame("accounts"))
    quarantine: pl.DataFrame = field(default_factory=lambda: frame("quarantine"))
    #: where an incremental pull should resume next time (e.g. max ``updated``)
    cursor: str | None = None
    #: things a person should know about the input (e.g. "a Jira CSV export has no history")
    warnings: list[str] = field(default_factory=list)
    #: what was read: {"files": n, "records": n, ...}
    stats: dict[str, int] = field(default_factory=dict)

    @classmethod
    def from_rows(
        cls,
        source: str,
        *,
        events: Iterable[Mapping[str, Any]] = (),
        raw_records: Iterable[Mapping[str, Any]] = (),
        event_objects: Iterable[Mapping[str, Any]] = (),
        objects: Iterable[Mapping[str, Any]] = (),
        object_links: Iterable[Mapping[str, Any]] = (),
        accounts: Iterable[Mapping[str, Any]] = (),
        quarantine: Iterable[Mapping[str, Any]] = (),
        cursor: str | None = None,
        warnings: Iterable[str] = (),
    ) -> Batch:
        """Build a batch from row dicts (connectors that parse JSON records)."""
        return cls(
            source=source,
            events=frame("events", events),
            raw_records=frame("raw_records", raw_records),
            event_objects=frame("event_objects", event_objects),
            objects=frame("objects", objects),
            object_links=frame("object_links", object_links),
            accounts=frame("accounts", accounts),
            quarantine=frame("quarantine", quarantine),
            cursor=cursor,
            warnings=list(warnings),
        )

    def tables(self) -> dict[str, pl.DataFrame]:
        """The batch's frames by store table name."""
        return {
            "raw_records": self.raw_records,
            "events": self.events,
            "event_objects": self.event_objects,
            "objects": self.objects,
            "object_links": self.object_links,
            "accounts": self.accounts,
            "quarantine": self.quarantine,
        }

    def with_tables(self, tables: Mapping[str, pl.DataFrame]) -> Batch:
        """This batch with the frames of ``tables`` (by store table name) in place of its own;
        the tables not named, the cursor, warnings and stats stay as they are."""
        unknown = set(tables) - set(self.tables())
        if unknown:
            raise ValueError(f"not tables of a batch: {', '.join(sorted(unknown))}")
        return replace(
            self,
            raw_records=tables.get("raw_records", self.raw_records),
            events=tables.get("events", self.events),
            event_objects=tables.get("event_objects", self.event_objects),
            objects=tables.get("objects", self.objects),
            object_links=tables.get("object_links", self.object_links),
            accounts=tables.get("accounts", self.accounts),
            quarantine=tables.get("quarantine", self.quarantine),
        )

    def validate(self) -> None:
        """Check every frame has exactly its table's schema (raises ``ValueError``)."""
        for name, df in self.tables().items():
            expected = BATCH_SCHEMAS[name]
            if df.schema != expected:
                raise ValueError(
                    f"batch table {name!r} has schema {dict(df.schema)}, expected {dict(expected)}"
                )

    def object_ids(self) -> pl.Series:
        """The objects this batch touches: its objects and those its events and event-object
        rows name (unique, sorted; the scope of "what this input covers")."""
        events = self.events.get_column("object_id")
        return (
            pl.concat(
                [
                    self.objects.get_column("object_id"),
                    # an object's events come in runs: one id per run goes into the set
                    events.filter(events.ne_missing(events.shift(1))),
                    self.event_objects.get_column("object_id"),
                ]
            )
            .drop_nulls()
            .unique()
            .sort()
            .rename("object_id")
        )

    def counts(self) -> dict[str, int]:
        """Rows per table, for run summaries."""
        return {name: df.height for name, df in self.tables().items()}


def is_sorted(df: pl.DataFrame, keys: Sequence[str]) -> bool:
    """Whether ``df`` is sorted by ``keys`` (ascending, lexicographic), checked in one pass.

    A null in a key answers no (the caller sorts, with its own null placement), so a
    ``True`` never depends on where nulls would go.
    """
    if df.height < 2:
        return True
    if df.select(pl.any_horizontal(pl.col(list(keys)).is_null().any())).item():
        return False
    after: pl.Expr = pl.lit(True)
    for name in reversed(keys):  # lexicographic: later keys decide only on ties
        col, prev = pl.col(name), pl.col(name).shift(1)
        after = (col > prev) | ((col == prev) & after)
    return bool(df.select(after.slice(1).all()).item())
