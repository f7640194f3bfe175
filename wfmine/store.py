"""The store: one DuckDB file, object-centric, written one transaction per run.

>>> import wfmine
>>> store = wfmine.open(":memory:")
>>> store.counts()["events"]
0

Tables (see ``../shared/DESIGN.md``): ``raw_records``, ``events``,
``event_objects``, ``objects``, ``object_links``, ``accounts`` (one row per
source account), ``actors`` and ``actor_accounts`` (identity resolution: one
actor per person or bot across sources), ``ingest_runs``, ``quarantine``,
``findings``, plus ``schema_meta`` for the schema version. Derived results
(conformance, findings) are written with :meth:`Store.put_result`.

**Reruns read nothing they hold.** A run records the key of its input
(:meth:`Store.input_key`: reader, options, and a ``stat`` of every file) and
the objects it covers (``run_objects``), so ``wfmine discover FILE`` (or a
folder, or a workspace) run again on an unchanged input skips it without
opening it (:meth:`Store.held_input`) and still answers for exactly its cases.

Writes are idempotent: a batch row whose key is already stored is skipped, so
re-ingesting the same input adds nothing. A run that raises leaves every table
as it was. Frames go to DuckDB as Arrow (string views, no copy), never as
Python objects.

**No read-back.** A ``Store`` remembers the events frames it wrote itself in
this session whenever every row of the run was new (so the stored rows are
exactly those frames). :meth:`Store.log` then builds the flat log from them in
memory, joined with the small tables (objects, accounts, identities) read
from the file, instead of reading a million events back out of DuckDB. It
checks first that the store holds no other events in the requested scope (one
``count(*)``); raw access through :attr:`Store.connection` or a non-``SELECT``
:meth:`Store.sql` makes it stop trusting that memory. The result is the same
frame, row for row, as the SQL path gives.

**Writing and analysing at once.** A run written into an empty store (no events,
objects, links, accounts or identities yet: the first ``wfmine discover FILE``) is
all the store will hold, so :meth:`Store.ingest` builds that run's ``work_item``
log from the batch (case map and all, actors left to join) on the calling thread
while another thread writes the rows inside the run's transaction (DuckDB and
polars release the GIL: two cores work). ``ingest`` returns only after the
commit; a failure of either side rolls the transaction back and raises, so the
store is as before. :meth:`log` (and :meth:`case_map`, :meth:`event_attrs`) then
answer from those frames while nothing else was written or taken back, joining
the actors as the store holds them at that moment (identity resolution runs after
the ingest).

``ingest(..., defer=True)`` (what ``wfmine discover`` asks) goes one step further:
it returns with the rows still being written, in the run's own transaction on a
connection of its own, so the whole analysis runs beside the write. Meanwhile
every read query is answered from an in-memory *shadow* of exactly what the
store holds once the run commits (the run's deduplicated frames, viewed, not
copied; the identities resolved meanwhile), or from the file for tables the run
does not write; identities and meta written meanwhile are written after the
run's commit, in order, each in its own transaction as without ``defer``.
Anything else (another run, raw access, :meth:`counts`) waits for
the commit first. :meth:`wait` (and :meth:`close`) collect the write: a failure
rolled the whole run back and is raised there, and the command that waits
prints nothing as if it had been stored.

**Raw records of standard logs.** DESIGN.md promises that every input record
is kept *or re-derivable byte for byte*. The connectors' records (API JSON,
messages) are kept verbatim in ``raw_records``, one row each: their fields
are what identity and agent detection read. A standard log's rows (CSV,
Parquet, XES events) are not stored a second time: one raw record per file
(``record_type`` ``table`` or ``log``) holds the file's absolute path, size,
modification time and SHA-256, its columns and types and the reader options
that mapped it, and every event keeps all of its row's values (mapped columns
as fields, the rest in ``attrs``) under an ``event_id`` that names its row's
case and position. For CSV and Parquet :func:`wfmine.formats.tabular.raw_rows`
re-derives the rows behind any events from that record and the file, byte for
byte, and refuses a file that is gone or changed; an XES event names its trace
and position in it, in a file its SHA-256 identifies. Rows that could not be
read are kept whole in ``quarantine``. Writing a million rows again as JSON text would
double the store and the ingest time for nothing that is not already there.

**Threads.** An analysis may read the store from two threads at once
(:meth:`wfmine.analysis.Analysis.alongside`): every public method that touches the
database holds the store's lock (one DuckDB connection serves one statement at a
time; the lock also keeps one thread from reading the file while another waits for
a run's commit). The writer of a deferred run works on a connection of its own.

Why one module of about a thousand lines: :class:`Store` is the transaction
boundary. Every method shares its connection, its migrations and the frames
this session wrote (read-back is skipped only while they are trusted); a
split would spread that state over several modules.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import json
import os
import re
import stat
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from queue import SimpleQueue
from typing import Any, Final, Literal, TypeVar, cast

import duckdb
import polars as pl

from wfmine._version import __version__
from wfmine.errors import StoreError
from wfmine.model import LOG_SCHEMA, Batch, is_sorted

__all__ = [
    "FOLD_RELATIONS",
    "SCHEMA_VERSION",
    "Store",
    "case_map",
    "file_fingerprint",
    "open_store",
]

#: Link relations that fold an object into the case of the object it points to,
#: with their priority (lower wins when an object points to several cases).
FOLD_RELATIONS: Final[dict[str, int]] = {
    "part_of": 0,  # commit -> pull request, reply -> thread, message -> thread
    "closes": 1,  # PR "closes PROJ-1" / "fixes #12"
    "branch": 2,  # branch name carries the key
    "title": 3,  # PR / thread title carries the key
    "commit_message": 4,
    "mentions": 5,  # body / message text carries the key or URL
    "url": 5,
}

#: Object types that are work items: the default case notion folds the rest into them.
WORK_ITEM_TYPES: Final = frozenset({"issue", "case", "work_item", "ticket"})

_MIGRATIONS: Final[list[list[str]]] = [
    # version 1
    [
        """CREATE TABLE schema_meta (key VARCHAR PRIMARY KEY, value VARCHAR)""",
        """CREATE TABLE ingest_runs (
            run_id BIGINT PRIMARY KEY, source VARCHAR, origin VARCHAR,
            started_at TIMESTAMPTZ, finished_at TIMESTAMPTZ, status VARCHAR,
            counts JSON, cursor VARCHAR, scope VARCHAR, warnings JSON)""",
        # the payloads compress with zstd: DuckDB's default tries dictionary and FSST on the
        # API JSON at checkpoint, then writes most blocks uncompressed (the 1,000-item org's
        # store 74 -> 16.5 MB, the close's checkpoint 0.68 -> 0.29 s CPU). Still JSON, still
        # checked on insert; stores made before keep their column as it is
        """CREATE TABLE raw_records (
            source VARCHAR, record_type VARCHAR, record_id VARCHAR,
            payload JSON USING COMPRESSION zstd, origin VARCHAR, ingest_run BIGINT)""",
        # event ids are as many as the events and all distinct: zstd packs them tighter than
        # what DuckDB's default picks after trying dictionary and FSST on each segment, for
        # less CPU (a million ids of a standard log: insert and commit 1.65 -> 1.25 s CPU,
        # 20.0 -> 17.8 MB; read back as fast). New stores only, as raw_records' payload
        """CREATE TABLE events (
            event_id VARCHAR USING COMPRESSION zstd, activity VARCHAR, "timestamp" TIMESTAMPTZ,
            seq BIGINT,
            actor_id VARCHAR, team VARCHAR, source VARCHAR, object_id VARCHAR,
            attrs JSON, raw_ref VARCHAR, ingest_run BIGINT)""",
        """CREATE TABLE event_objects (event_id VARCHAR, object_id VARCHAR, qualifier VARCHAR)""",
        """CREATE TABLE objects (
            object_id VARCHAR PRIMARY KEY, object_type VARCHAR, source VARCHAR, key VARCHAR,
            title VARCHAR, attrs JSON)""",
        """CREATE TABLE object_links (
            from_object VARCHAR, to_object VARCHAR, relation VARCHAR, evidence VARCHAR)""",
        """CREATE TABLE accounts (
            account_id VARCHAR PRIMARY KEY, source VARCHAR, login VARCHAR,
            display_name VARCHAR, email VARCHAR, platform_kind VARCHAR, attrs JSON)""",
        """CREATE TABLE actors (
            actor_id VARCHAR PRIMARY KEY, display_name VARCHAR, kind VARCHAR,
            declared_kind VARCHAR, detected_kind VARCHAR, kind_score DOUBLE,
            team VARCHAR, aliases JSON, evidence JSON)""",
        """CREATE TABLE actor_accounts (
            account_id VARCHAR PRIMARY KEY, actor_id VARCHAR, confidence DOUBLE,
            evidence VARCHAR)""",
        """CREATE TABLE quarantine (
            source VARCHAR, record_ref VARCHAR, reason VARCHAR, payload VARCHAR,
            ingest_run BIGINT)""",
        """CREATE TABLE findings (
            finding_id VARCHAR, kind VARCHAR, subject VARCHAR, severity VARCHAR,
            summary VARCHAR, evidence JSON, first_seen VARCHAR, last_seen VARCHAR,
            trend VARCHAR, generated_at TIMESTAMPTZ)""",
    ],
]

_MIGRATIONS.append(
    # version 2: conditional-request cache of the live clients (URL -> ETag, body)
    ["""CREATE TABLE http_cache (url VARCHAR PRIMARY KEY, etag VARCHAR, body JSON)"""]
)
_MIGRATIONS.append(
    # version 3: findings keep the subject as a person reads it, the broken assumption and
    # the suggested design edit (DESIGN.md "Findings")
    [
        "ALTER TABLE findings ADD COLUMN IF NOT EXISTS subject_name VARCHAR",
        "ALTER TABLE findings ADD COLUMN IF NOT EXISTS assumption VARCHAR",
        "ALTER TABLE findings ADD COLUMN IF NOT EXISTS suggestion JSON",
    ]
)

_MIGRATIONS.append(
    # version 4: the objects each run's input covers, so a rerun that skips an unchanged
    # input (Store.held_input) still knows which cases it holds (Store.run_objects)
    ["""CREATE TABLE IF NOT EXISTS run_objects (run_id BIGINT, object_id VARCHAR)"""]
)

SCHEMA_VERSION: Final = len(_MIGRATIONS)

# (table, key columns) for idempotent appends
_APPEND_KEYS: Final[dict[str, tuple[str, ...]]] = {
    "raw_records": ("source", "record_type", "record_id"),
    "events": ("event_id",),
    "event_objects": ("event_id", "object_id", "qualifier"),
    "object_links": ("from_object", "to_object", "relation"),
    "quarantine": ("source", "record_ref", "reason"),
}
# tables where a newer record of the same key replaces the stored one
_UPSERT_KEYS: Final[dict[str, str]] = {"objects": "object_id", "accounts": "account_id"}
#: the tables an ingest run writes (:meth:`Store._write_run`)
_RUN_TABLES: Final = frozenset({*_APPEND_KEYS, *_UPSERT_KEYS, "run_objects", "ingest_runs"})
#: a prepared statement's parameter (``?``, ``$1``, ``$name``)
_PARAMETER: Final = re.compile(r"\?|\$\w+")
#: the tables a deferred run's shadow holds (:func:`_shadow`): its own and the identities
_SHADOWED: Final = frozenset({*_APPEND_KEYS, *_UPSERT_KEYS, "actors", "actor_accounts"})


_F = TypeVar("_F", bound=Callable[..., Any])


def _serialised(method: _F) -> _F:
    """``method`` holding the store's lock (see **Threads** above); re-entrant: a locked
    method may call another."""

    @functools.wraps(method)
    def locked(self: Store, *args: Any, **kwargs: Any) -> Any:
        with self._lock:
            return method(self, *args, **kwargs)

    return cast(_F, locked)


class Store:
    """A wfmine store: a DuckDB database file (or ``":memory:"``).

    Open one with :func:`wfmine.open`. Analyses read :meth:`log`; connectors
    write with :meth:`ingest`.
    """

    def __init__(self, path: str | Path = ":memory:", *, read_only: bool = False) -> None:
        self.path = str(path)
        self._lock = threading.RLock()
        #: opened without write access (``read_only=True``): analyses run, nothing is stored
        self.read_only = read_only
        if self.path != ":memory:":
            parent = Path(self.path).parent
            try:
                parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise StoreError(
                    f"{self.path}: cannot create the store's folder {parent}: {exc.strerror or exc}"
                ) from None
            if read_only and not Path(self.path).exists():
                raise StoreError(f"{self.path}: there is no store there")
        try:
            self._duck = duckdb.connect(self.path, read_only=read_only)
        except duckdb.Error as exc:
            raise StoreError(f"{self.path}: cannot open the store: {exc}") from None
        # no progress bar: DuckDB draws it on stdout after 2 s, into `--json` output. In
        # Jupyter it draws a widget instead (not on stdout) and, without ipywidgets, refuses
        # the setting: there is nothing to turn off then
        #: the write of the run :meth:`ingest` left in flight (``defer=True``), until it commits
        self._pending: _Pending | None = None
        with contextlib.suppress(duckdb.InvalidInputException):
            self._duck.execute("SET enable_progress_bar = false")
        # a bulk insert flushes each row group as it fills, not five at once: a million events
        # hold 40 MB of DuckDB's memory instead of 150 while they are written, at the same
        # CPU (the write runs beside the analysis: its memory adds to the analysis's peak).
        # A DuckDB before 1.2 has no such setting and buffers as it does
        with contextlib.suppress(duckdb.CatalogException):
            self._duck.execute("SET write_buffer_row_group_count = 1")
        # a run that writes more than DuckDB estimates as 4 MB of WAL is checkpointed by its
        # commit, straight into the file, without writing its rows to the WAL first and again
        # at the checkpoint of the close: the connectors' API JSON goes to disk once,
        # compressed (GitHub's 13,037 records: 53 MB of WAL no more, Jira's 16 MB; the write
        # and close 0.44 -> 0.33 s CPU). Smaller runs (Slack's, a 40,000-row CSV) write their
        # WAL as before, and so does a commit another transaction keeps from checkpointing
        with contextlib.suppress(duckdb.CatalogException):
            self._duck.execute("SET auto_checkpoint_skip_wal_threshold = 0")
        self._duck.execute("SET wal_autocheckpoint = '4MB'")
        #: events frames written by this object, per run, equal to the stored rows
        self._written: dict[int, pl.DataFrame] = {}
        #: build the flat log in SQL (the reference the polars path is tested against)
        self._reference_sql = False
        self._staged_events: pl.DataFrame | None = None
        #: (run id, its work_item log before actors are joined) when it filled an empty store
        self._prepared: _Prepared | None = None
        if not read_only:
            self._migrate()

    # -- lifecycle -----------------------------------------------------------------

    @_serialised
    def close(self) -> None:
        """Wait for a run still being written (:meth:`wait`: it commits, or its failure is
        raised with the store rolled back), then close the database connection."""
        try:
            self.wait()
        finally:
            self._duck.close()

    @property
    def _con(self) -> duckdb.DuckDBPyConnection:
        """The connection, once no run is in flight: every use of the store but the few
        answered from the run's frames (see :meth:`ingest`) waits for the commit first."""
        if self._pending is not None:
            self.wait()
        return self._duck

    @property
    def pending(self) -> bool:
        """Whether a run :meth:`ingest` started with ``defer=True`` is still being written."""
        return self._pending is not None

    @_serialised
    def wait(self) -> None:
        """Wait until the run left in flight by ``ingest(defer=True)`` is committed.

        Returns at once when there is none. A write that failed was rolled back on
        its thread (the store is as before the run): its error is raised here, and
        the frames kept for the run are dropped, so nothing answers as if it had
        been stored.
        """
        pending, self._pending = self._pending, None
        if pending is None:
            return
        pending.queue.put(None)  # nothing more to write: the run commits
        try:
            added = pending.future.result()
        except BaseException:
            self.forget_written()
            raise
        finally:
            pending.close()
            self._duck.execute(f"SET threads = {pending.threads}")
        if added != pending.added:  # pragma: no cover - an empty store adds every new row
            self.forget_written()
            raise StoreError(
                f"{self.path}: run {pending.run_id} added {added}, not {pending.added}"
            )

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Store({self.path!r})"

    @property
    def connection(self) -> duckdb.DuckDBPyConnection:
        """The underlying DuckDB connection (for ad-hoc SQL in notebooks).

        Raw access may write, so the store stops reusing the frames it wrote
        (see the module docstring): later :meth:`log` calls read the file.
        """
        self.forget_written()
        return self._con

    def forget_written(self) -> None:
        """Drop the in-memory frames of this session's writes; :meth:`log` reads the file."""
        self._written.clear()
        self._prepared = None

    def schema_version(self) -> int:
        """The schema version of the open file."""
        rows = self._con.execute("SELECT value FROM schema_meta WHERE key = 'version'").fetchall()
        return int(rows[0][0]) if rows else 0

    def _migrate(self) -> None:
        exists = self._con.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_name = 'schema_meta'"
        ).fetchall()
        current = self.schema_version() if exists and exists[0][0] else 0
        if current > SCHEMA_VERSION:
            raise StoreError(
                f"{self.path}: store schema version {current} is newer than this wfmine "
                f"({SCHEMA_VERSION}); upgrade wfmine"
            )
        if current == SCHEMA_VERSION:
            return
        # every step in one transaction: a new store's schema is one commit, not four (about
        # 20 ms of a first command), and a store is at its old version or the new one
        with self.transaction():
            for version in range(current + 1, SCHEMA_VERSION + 1):
                for statement in _MIGRATIONS[version - 1]:
                    self._con.execute(statement)
            self._con.execute(
                "INSERT OR REPLACE INTO schema_meta VALUES ('version', ?)", [str(SCHEMA_VERSION)]
            )

    @contextmanager
    def transaction(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """Run a block in one transaction: everything or nothing is written."""
        con = self._con
        with _transaction(con):
            yield con

    # -- writing ---------------------------------------------------------------------

    @_serialised
    def ingest(
        self,
        batch: Batch,
        *,
        origin: str = "",
        scope: str = "",
        started_at: dt.datetime | None = None,
        input_key: str | None = None,
        defer: bool = False,
    ) -> dict[str, Any]:
        """Write ``batch`` in one transaction and record the run in ``ingest_runs``.

        Returns the run summary: run id, rows *added* per table (rows already
        stored are skipped), quarantined records and warnings. ``scope`` names
        what an incremental cursor belongs to (e.g. a JQL query or a repo).
        ``input_key`` (from :meth:`input_key`) records which input, unchanged,
        the batch was read from, so a rerun can skip it (:meth:`held_input`).

        ``defer=True`` lets a run into an empty store (see the module docstring) be
        written while the caller goes on: ``ingest`` returns once the run's log is
        built, with the rows still being written on another thread, in the run's
        own transaction on a connection of its own. Until :meth:`wait`, the store
        answers :meth:`log`, :meth:`case_map` and :meth:`event_attrs` from the run's
        frames, and read queries from the shadow of what the commit leaves (see the
        module docstring); identities and meta written meanwhile follow the run.
        Anything else, and :meth:`wait` or :meth:`close`, waits for the writes and
        raises the first error, that write rolled back. The counts returned are
        those an empty store adds (every row of the batch, repeated keys once);
        the commit checks them. A store that holds anything is written at once.
        """
        batch.validate()
        started = started_at or _now()
        self.wait()
        self._staged_events = None
        self._prepared = None
        # a store that holds nothing yet holds exactly this batch once it commits: its flat
        # log is built from the batch on this thread while the rows are written on another
        fresh = not self._reference_sql and not self._holds_anything()
        # the objects the run covers, once: the write records them, the log's scope reads them
        covered = batch.object_ids()
        if fresh and defer:
            return self._ingest_deferred(batch, origin, scope, started, input_key, covered)
        with self.transaction() as con:
            run_id = _scalar(con, "SELECT coalesce(max(run_id), 0) + 1 FROM ingest_runs")
            run = (con, batch, run_id, origin, scope, started, input_key, covered)
            if not fresh:
                added = self._write_run(*run)
            else:
                # DuckDB and polars release the GIL: the write and the log share the two cores.
                # Leaving the block waits for the write, so a failure of either rolls back
                with (
                    _one_thread(con),
                    ThreadPoolExecutor(1, thread_name_prefix="wfmine-store-write") as pool,
                ):
                    writing = pool.submit(self._write_run, *run)
                    prepared = self._prepare_log(batch, covered)
                    added = writing.result()
        staged, self._staged_events = self._staged_events, None
        if staged is not None and added.get("events") == staged.height:
            # every row was new: the stored rows are exactly this frame
            self._written[run_id] = staged
            if fresh and staged.height == batch.events.height:
                self._prepared = replace(prepared, run_id=run_id)
        return self._summary(batch, run_id, added)

    def _ingest_deferred(
        self,
        batch: Batch,
        origin: str,
        scope: str,
        started: dt.datetime,
        input_key: str | None,
        covered: pl.Series,
    ) -> dict[str, Any]:
        """:meth:`ingest` of ``batch`` into an empty store, left in flight (``defer=True``).

        The tables are deduplicated here, once (an empty table adds exactly its unique
        rows: those are the counts returned and the events :meth:`log` answers from);
        the writer inserts them as they are, on a cursor of its own, in one transaction
        it commits or rolls back itself. :meth:`wait` collects it.
        """
        run_id = _scalar(self._duck, "SELECT coalesce(max(run_id), 0) + 1 FROM ingest_runs")
        tables = {table: _dedupe(table, df) for table, df in batch.tables().items()}
        added = {table: df.height for table, df in tables.items()}
        threads = int(self._duck.execute("SELECT current_setting('threads')").fetchall()[0][0])
        # one DuckDB thread for the insert: polars wants the other core (see _one_thread)
        self._duck.execute("SET threads = 1")
        writer = self._duck.cursor()
        deduped = batch.with_tables(tables)
        queue: SimpleQueue[Callable[[duckdb.DuckDBPyConnection], None] | None] = SimpleQueue()
        future: Future[dict[str, int]] = Future()

        def write() -> None:
            """The run in a transaction of the writer's own, committed as soon as its rows
            are written (DuckDB then lets go of the transaction's copy of them while the
            analysis runs); then each write ``queue`` brings until ``None``, in order, each in
            one more, as they would be made one after the other without ``defer``. A write
            that raises is rolled back and the ones after it are not made."""
            try:
                with _transaction(writer):
                    added = self._write_run(
                        writer,
                        deduped,
                        run_id,
                        origin,
                        scope,
                        started,
                        input_key,
                        covered,
                        deduped=True,
                    )
                while (then := queue.get()) is not None:
                    with _transaction(writer):
                        then(writer)
                future.set_result(added)
            except BaseException as exc:  # raised by wait(), on the caller's thread
                future.set_exception(exc)

        # a daemon: a store dropped without wait() or close() never commits the run (and the
        # interpreter does not hang at exit on a writer waiting for its end)
        threading.Thread(target=write, name="wfmine-store-write", daemon=True).start()
        self._pending = _Pending(future, writer, threads, run_id, added, tables, queue, covered)
        try:
            prepared = self._prepare_log(batch, covered)
        except BaseException:
            with contextlib.suppress(BaseException):
                self.wait()
            raise
        events = tables["events"]
        self._written[run_id] = events
        if events.height == batch.events.height:
            self._prepared = replace(prepared, run_id=run_id)
        return self._summary(batch, run_id, added)

    @staticmethod
    def _summary(batch: Batch, run_id: int, added: dict[str, int]) -> dict[str, Any]:
        return {
            "run_id": run_id,
            "source": batch.source,
            "added": added,
            "read": batch.counts(),
            "quarantined": batch.quarantine.height,
            "warnings": list(batch.warnings),
        }

    def _write_run(
        self,
        con: duckdb.DuckDBPyConnection,
        batch: Batch,
        run_id: int,
        origin: str,
        scope: str,
        started: dt.datetime,
        input_key: str | None,
        covered: pl.Series,
        *,
        deduped: bool = False,
    ) -> dict[str, int]:
        """Every table of ``batch``, its ``covered`` objects (:meth:`Batch.object_ids`) and its
        ``ingest_runs`` row, inside the open transaction of :meth:`ingest`; returns the rows
        added per table. ``deduped``: the tables are already :func:`_dedupe`'s rows (a
        deferred run's), not hashed again."""
        added: dict[str, int] = {}
        for table, df in batch.tables().items():
            staged = df if deduped else _dedupe(table, df)
            added[table] = self._write(con, table, staged, run_id)
        if covered.len():
            con.register("_covered", _stream(covered.to_frame()))
            try:
                con.execute("INSERT INTO run_objects SELECT ?, object_id FROM _covered", [run_id])
            finally:
                con.unregister("_covered")
        con.execute(
            "INSERT INTO ingest_runs VALUES (?, ?, ?, ?, ?, 'ok', ?, ?, ?, ?)",
            [
                run_id,
                batch.source,
                origin,
                started,
                _now(),
                json.dumps(
                    {
                        "read": batch.counts(),
                        "added": added,
                        **batch.stats,
                        **({"input_key": input_key} if input_key else {}),
                    }
                ),
                batch.cursor,
                scope,
                json.dumps(batch.warnings),
            ],
        )
        return added

    def _holds_anything(self) -> bool:
        """Whether any table a flat log reads holds a row (one query)."""
        tables = (
            "events", "event_objects", "objects", "object_links", "accounts", "actors",
            "actor_accounts",
        )  # fmt: skip
        query = "SELECT " + " OR ".join(f"EXISTS (SELECT 1 FROM {t})" for t in tables)
        rows = self._con.execute(query).fetchall()
        return bool(rows[0][0])

    def _prepare_log(self, batch: Batch, covered: pl.Series) -> _Prepared:
        """The ``work_item`` log an empty store gives once ``batch`` is committed, before
        its actors are resolved (:meth:`_cased`; :meth:`log` adds them as the store then
        holds them, so later identity resolution is seen).

        Built from the batch's frames alone (no DuckDB call: the write runs meanwhile on
        the store's connection): the objects and links :meth:`_write` keeps, their case
        map, and the batch's events (used only when none repeats an id, so that they are
        the rows written). With the actors joined it is the frame :meth:`log`
        reads from the file afterwards (``tests/test_store.py`` compares them).
        """
        objects = _unique(batch.objects, ["object_id"], keep="last")
        links = _unique(batch.object_links, list(_APPEND_KEYS["object_links"]), keep="first")
        objects = objects.select("object_id", "object_type")
        links = links.select("from_object", "to_object", "relation")
        # the events as read: kept only when the write finds no repeated event id in them
        # (ingest checks), so the rows are those written without hashing them a second time
        events = batch.events.select(_EVENT_COLUMNS)
        mapping = case_map(objects.sort("object_id"), links)  # as Store.case_map orders them
        cased = self._cased(events, mapping, objects)
        # each row's account as a number into the distinct accounts: the actors, resolved
        # later, are then handed to the rows by position instead of a join of every row
        accounts, code = _account_numbers(cased)
        return _Prepared(0, cased.with_columns(code), accounts, mapping, covered)

    def _write(
        self,
        con: duckdb.DuckDBPyConnection,
        table: str,
        staged: pl.DataFrame,
        run_id: int,
    ) -> int:
        """Add ``staged`` (:func:`_dedupe`'s rows: no key repeated) to ``table``; returns the
        rows added: the keys the table did not hold (an upsert replaces the row of a held one)."""
        if staged.height == 0:
            return 0
        before = _scalar(con, f"SELECT count(*) FROM {table}")
        if table in _UPSERT_KEYS:
            # no join: the rows go in the staged order, so a stream (no pyarrow) is enough
            con.register("_staged", _stream(staged))
            # into an empty table the staged keys (unique) replace nothing: a plain insert
            # does the same without looking each key up, and keeps the staged order
            verb = "INSERT" if before == 0 else "INSERT OR REPLACE"
            try:
                con.execute(f"{verb} INTO {table} SELECT * FROM _staged")
            finally:
                con.unregister("_staged")
            return _scalar(con, f"SELECT count(*) FROM {table}") - before
        keys = _APPEND_KEYS[table]
        if table == "events":
            self._staged_events = staged
        if table != "event_objects" and table != "object_links":
            staged = staged.with_columns(pl.lit(run_id, dtype=pl.Int64).alias("ingest_run"))
        if before:
            # the anti join's rows are put back in the staged order (``_row``): the order
            # stored does not hang on the join's plan, which a stream (no row count for
            # the planner) would change
            staged = staged.with_row_index("_row")
        con.register("_staged", _stream(staged))
        try:
            if before == 0:
                inserted = con.execute(f"INSERT INTO {table} SELECT * FROM _staged").fetchall()
            else:
                # IS NOT DISTINCT FROM: a NULL key part still matches, so re-ingest stays idempotent
                on = " AND ".join(f's."{k}" IS NOT DISTINCT FROM t."{k}"' for k in keys)
                inserted = con.execute(
                    f"INSERT INTO {table} SELECT s.* EXCLUDE (_row) FROM _staged s "
                    f"ANTI JOIN {table} t ON {on} ORDER BY s._row"
                ).fetchall()
        finally:
            con.unregister("_staged")
        # an INSERT answers with the rows it added: no second count of the table
        return int(inserted[0][0]) if inserted else 0

    @_serialised
    def put_result(self, name: str, df: pl.DataFrame) -> None:
        """Replace the derived-result table ``result_<name>`` with ``df`` (one transaction)."""
        if not name.replace("_", "").isalnum():
            raise ValueError(f"bad result name {name!r}")
        with self.transaction() as con:
            con.register("_result", _stream(df))
            try:
                con.execute(f"CREATE OR REPLACE TABLE result_{name} AS SELECT * FROM _result")
            finally:
                con.unregister("_result")

    @_serialised
    def result(self, name: str) -> pl.DataFrame | None:
        """A derived-result table written by :meth:`put_result`, or ``None``."""
        if not self._has_table(f"result_{name}"):
            return None
        return self.sql(f"SELECT * FROM result_{name}")

    @_serialised
    def replace_identities(self, actors: pl.DataFrame, actor_accounts: pl.DataFrame) -> None:
        """Replace the identity-resolution tables (``actors``, ``actor_accounts``) atomically.

        While a run is in flight (``ingest`` with ``defer``) they are written on its thread
        once it is committed (one transaction, as here), and read meanwhile as given.
        """
        pending = self._pending
        if pending is not None:
            _put_identities(pending.shadow, actors, actor_accounts)
            pending.queue.put(lambda con: _put_identities(con, actors, actor_accounts))
            return
        with self.transaction() as con:
            _put_identities(con, actors, actor_accounts)

    @_serialised
    def http_cache(self, prefix: str) -> dict[str, tuple[str, Any]]:
        """Stored ``URL -> (ETag, body)`` for URLs under ``prefix`` (for conditional requests)."""
        rows = self._con.execute(
            "SELECT url, etag, body FROM http_cache WHERE starts_with(url, ?)", [prefix]
        ).fetchall()
        return {url: (etag, json.loads(body)) for url, etag, body in rows}

    @_serialised
    def save_http_cache(self, entries: dict[str, tuple[str, Any]]) -> None:
        """Store ETags and bodies so the next pull can ask "changed since?" (one transaction)."""
        if not entries:
            return
        rows = [(url, etag, json.dumps(body)) for url, (etag, body) in sorted(entries.items())]
        with self.transaction() as con:
            con.executemany("INSERT OR REPLACE INTO http_cache VALUES (?, ?, ?)", rows)

    @_serialised
    def replace_findings(self, findings: pl.DataFrame) -> None:
        """Replace the stored findings with ``findings`` (the findings table's columns)."""
        with self.transaction() as con:
            con.execute("DELETE FROM findings")
            if findings.height:
                frame = findings.with_columns(
                    pl.lit(None, dtype=pl.String).alias(c)
                    for c in ("subject_name", "assumption", "suggestion")
                    if c not in findings.columns
                )
                con.register("_f", _stream(frame))
                con.execute(
                    "INSERT INTO findings SELECT finding_id, kind, subject, severity, summary, "
                    "evidence, first_seen, last_seen, trend, generated_at, subject_name, "
                    "assumption, suggestion FROM _f"
                )
                con.unregister("_f")

    # -- reading ---------------------------------------------------------------------

    @_serialised
    def sql(
        self,
        query: str,
        params: Sequence[Any] | None = None,
        *,
        frames: Mapping[str, pl.DataFrame] | None = None,
    ) -> pl.DataFrame:
        """Run SQL against the store and return a polars frame.

        ``frames`` are polars frames the query reads by name, registered for this
        query only, on the connection that answers it (under the store's lock, as
        every query: see **Threads** in the module docstring), as Arrow streams
        (no pyarrow: 0.2 s of a warm ``wfmine discover``): a join with one is
        planned without its row count, so only an ``ORDER BY`` fixes the order of
        the rows (as in any SQL without one). A statement that is
        not a query (``UPDATE``, ``DELETE``, ...) makes the store stop reusing the
        frames it wrote (see the module docstring).
        """
        reads = query.lstrip().lower().startswith(("select", "from", "describe", "show"))
        if not reads:
            self.forget_written()
        con = self._reader(query) if reads else self._con
        named = dict(frames or {})
        for name, frame in named.items():
            con.register(name, _stream(frame))
        try:
            rel = con.sql(query, params=list(params) if params is not None else None)
            return pl.DataFrame() if rel is None else _polars(rel)
        finally:
            for name in named:
                con.unregister(name)

    @_serialised
    def table(self, name: str) -> pl.DataFrame:
        """A whole store table as a polars frame."""
        if not self._has_table(name):
            raise KeyError(f"no table {name!r} in {self.path}")
        return self.sql(f"SELECT * FROM {name}")

    def _has_table(self, name: str) -> bool:
        row = self._con.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_name = ?", [name]
        ).fetchall()
        return bool(row and row[0][0])

    @_serialised
    def counts(self) -> dict[str, int]:
        """Rows per store table."""
        names = [
            "raw_records", "events", "event_objects", "objects", "object_links",
            "accounts", "actors", "actor_accounts", "ingest_runs", "quarantine", "findings",
        ]  # fmt: skip
        return {n: _scalar(self._con, f"SELECT count(*) FROM {n}") for n in names}

    @_serialised
    def input_key(
        self, path: str | Path, *, kind: str, options: Mapping[str, Any] | None = None
    ) -> str:
        """A key that changes whenever reading ``path`` could give another batch.

        Made from the wfmine release (:mod:`wfmine._version`) and store schema, the reader ``kind``, its
        ``options`` and, for every file at or under ``path``, its path relative
        to ``path``, size and modification time (a ``stat`` each: nothing is
        read). Pass it to :meth:`ingest` and ask :meth:`held_input` on the next
        run. A reader changed without a new wfmine version is not noticed.
        """
        import hashlib

        root = Path(path)
        digest = hashlib.sha256()
        digest.update(
            json.dumps(
                [__version__, SCHEMA_VERSION, kind, str(root.resolve()), dict(options or {})],
                sort_keys=True,
                default=str,
            ).encode()
        )
        files = _tree_files(root) if root.is_dir() else [(root.name, root)]
        for rel, f in files:
            try:
                st = os.stat(f)
            except OSError:
                continue
            if stat.S_ISREG(st.st_mode):
                digest.update(f"\0{rel}\0{st.st_size}\0{st.st_mtime_ns}".encode())
        return digest.hexdigest()

    @_serialised
    def held_input(self, input_key: str) -> dict[str, Any] | None:
        """The newest committed run that read the input of ``input_key``, or ``None``.

        When it is not ``None`` the input is unchanged since that run: reading
        it again would add nothing, so a rerun can skip it. Returns
        ``run_id``, ``source``, ``origin`` and the run's ``counts``.
        """
        rows = self._con.execute(
            """SELECT run_id, source, origin, counts FROM ingest_runs
               WHERE status = 'ok' AND counts->>'input_key' = ?
               ORDER BY run_id DESC LIMIT 1""",
            [input_key],
        ).fetchall()
        if not rows:
            return None
        run_id, source, origin, counts = rows[0]
        return {"run_id": run_id, "source": source, "origin": origin, "counts": json.loads(counts)}

    @_serialised
    def run_objects(self, run_id: int) -> pl.Series | None:
        """The objects the input of run ``run_id`` covers (:meth:`wfmine.model.Batch.object_ids`),
        or ``None`` for a run written before the store kept them (schema version < 4)."""
        # the rows a run of this session writes (in flight) or wrote into an empty store
        pending, prepared = self._pending, self._prepared
        if pending is not None and pending.run_id == run_id:
            return pending.covered
        if prepared is not None and prepared.run_id == run_id:
            return prepared.covered
        rows = self.sql(
            "SELECT object_id FROM run_objects WHERE run_id = ? ORDER BY object_id", [run_id]
        )
        if rows.height == 0:
            counts = self._con.execute(
                "SELECT counts FROM ingest_runs WHERE run_id = ?", [run_id]
            ).fetchall()
            read = json.loads(counts[0][0]).get("read", {}) if counts else {}
            # a run that read no object at all covers none; otherwise its rows predate the table
            return rows.get_column("object_id") if not any(read.values()) else None
        return rows.get_column("object_id")

    @_serialised
    def holds_file(self, path: str | Path, *, verify: bool = False) -> dict[str, Any] | None:
        """The stored raw record of a standard-log file already ingested from ``path``, or ``None``.

        A file is held when a raw record (of a committed run) names the same
        absolute path, size and modification time (``verify=True``: and the
        same SHA-256 of its bytes). Then re-reading it would add nothing, so a
        rerun can skip the file without parsing it. Returns ``source``,
        ``record_type``, ``record_id`` (the dataset), ``ingest_run`` and the
        stored ``file`` fingerprint.
        """
        try:
            now = file_fingerprint(path, content=verify)
        except OSError:
            return None
        rows = self._con.execute(
            """SELECT source, record_type, record_id, ingest_run, payload->'file' AS file
               FROM raw_records
               WHERE payload->'file'->>'path' = ? AND (payload->'file'->>'size')::BIGINT = ?
                 AND (payload->'file'->>'mtime_ns')::BIGINT = ?
               ORDER BY ingest_run DESC""",
            [now["path"], now["size"], now["mtime_ns"]],
        ).fetchall()
        for source, record_type, record_id, run, file in rows:
            stored = json.loads(file)
            if verify and stored.get("sha256") != now["sha256"]:
                continue
            return {
                "source": source,
                "record_type": record_type,
                "record_id": record_id,
                "ingest_run": run,
                "file": stored,
            }
        return None

    @_serialised
    def meta(self, key: str) -> str | None:
        """A value the store keeps about itself (``schema_meta``), e.g. the roster it resolved with."""
        rows = self._con.execute("SELECT value FROM schema_meta WHERE key = ?", [key]).fetchall()
        return str(rows[0][0]) if rows and rows[0][0] is not None else None

    @_serialised
    def set_meta(self, key: str, value: str) -> None:
        """Keep ``value`` under ``key`` in ``schema_meta`` (``version`` is the schema's own)."""
        if key == "version":
            raise StoreError(f"{self.path}: the schema version is not set by hand")
        statement = "INSERT OR REPLACE INTO schema_meta VALUES (?, ?)"
        if self._pending is not None:  # after the run's commit, on its thread (meta() waits)

            def put(con: duckdb.DuckDBPyConnection) -> None:
                con.execute(statement, [key, value])

            self._pending.queue.put(put)
            return
        self._con.execute(statement, [key, value])

    @_serialised
    def runs(self) -> pl.DataFrame:
        """The ingest runs, newest last."""
        return self.sql("SELECT * FROM ingest_runs ORDER BY run_id")

    @_serialised
    def remove_run(self, run_id: int) -> dict[str, int]:
        """Take back what ingest run ``run_id`` added, in one transaction; returns rows removed.

        Its events, raw records and quarantined records go, then whatever no
        remaining event touches: event-object rows, objects, the links of
        removed objects, accounts no event acts under. Rows the run found
        already stored were never its own and stay. The run stays listed,
        marked ``removed``. Identities and findings are derived: the next
        analysis (``wfmine discover``) recomputes them.
        """
        known = self._con.execute(
            "SELECT status FROM ingest_runs WHERE run_id = ?", [run_id]
        ).fetchall()
        if not known:
            raise StoreError(f"{self.path}: there is no ingest run {run_id} (see wfmine runs)")
        if known[0][0] == "removed":
            raise StoreError(f"{self.path}: ingest run {run_id} was removed already")
        steps = {
            "event_objects": "DELETE FROM event_objects WHERE event_id IN "
            "(SELECT event_id FROM events WHERE ingest_run = $run)",
            "events": "DELETE FROM events WHERE ingest_run = $run",
            "raw_records": "DELETE FROM raw_records WHERE ingest_run = $run",
            "run_objects": "DELETE FROM run_objects WHERE run_id = $run",
            "quarantine": "DELETE FROM quarantine WHERE ingest_run = $run",
            "object_links": "DELETE FROM object_links WHERE from_object NOT IN "
            "(SELECT object_id FROM events UNION SELECT object_id FROM event_objects) "
            "OR to_object NOT IN "
            "(SELECT object_id FROM events UNION SELECT object_id FROM event_objects)",
            "objects": "DELETE FROM objects WHERE object_id NOT IN "
            "(SELECT object_id FROM events UNION SELECT object_id FROM event_objects)",
            "accounts": "DELETE FROM accounts WHERE account_id NOT IN "
            "(SELECT actor_id FROM events WHERE actor_id IS NOT NULL)",
        }
        removed: dict[str, int] = {}
        self.forget_written()  # the frames this session wrote may be the ones taken back
        with self.transaction() as con:
            for table, statement in steps.items():
                before = _scalar(con, f"SELECT count(*) FROM {table}")
                con.execute(statement, {"run": run_id} if "$run" in statement else None)
                removed[table] = int(before) - int(_scalar(con, f"SELECT count(*) FROM {table}"))
            con.execute("UPDATE ingest_runs SET status = 'removed' WHERE run_id = ?", [run_id])
        return removed

    @_serialised
    def last_cursor(self, source: str, scope: str = "") -> str | None:
        """The cursor of the newest successful run of ``source`` for ``scope``."""
        row = self._con.execute(
            "SELECT cursor FROM ingest_runs WHERE source = ? AND scope = ? AND status = 'ok' "
            "AND cursor IS NOT NULL ORDER BY run_id DESC LIMIT 1",
            [source, scope],
        ).fetchall()
        return str(row[0][0]) if row else None

    @_serialised
    def case_map(self, notion: str = "work_item") -> pl.DataFrame:
        """Map every object to its case under a case notion (``object_id``, ``case_id``).

        ``"work_item"`` (default): PRs, commits, threads and emails linked to a
        work item (a Jira issue, a standard log's case) are folded into it; an
        object linked to nothing is its own case. ``"object"``: every object is
        its own case. ``"<object_type>"`` (e.g. ``"pull_request"``,
        ``"thread"``): objects are folded into objects of that type.
        """
        prepared = self._still_prepared() if notion == "work_item" else None
        if prepared is not None:  # the map of the objects and links just written
            return prepared.mapping
        # in id order: DuckDB hands an upserted table's rows back in no fixed order, and a
        # walk that meets a link cycle stops where it started
        objects = self.sql("SELECT object_id, object_type FROM objects ORDER BY object_id")
        links = self.sql("SELECT from_object, to_object, relation FROM object_links")
        return case_map(objects, links, notion)

    @_serialised
    def log(
        self,
        *,
        case_notion: str = "work_item",
        sources: Sequence[str] | None = None,
        objects: Sequence[str] | pl.Series | None = None,
    ) -> pl.DataFrame:
        """The flat event log (:data:`wfmine.model.LOG_SCHEMA`), ordered by case, time, seq.

        One row per event, its case chosen by ``case_notion`` (see
        :meth:`case_map`). Actors are resolved through identity resolution when
        it has run, otherwise each account is its own actor. ``team`` is the
        performer's team when identity resolution knows it (a roster), else the
        team recorded at the event (``org:group``, a connector's ``[teams]``).

        ``objects`` keeps only the rows whose ``object_id`` is one of them (the
        same as filtering the result, but without reading the rest). When every
        event in scope was written by this ``Store`` object in this session,
        the log is built from those frames in memory instead of read back (see
        the module docstring); the result is identical.
        """
        asked = None if objects is None else pl.Series("object_id", objects, dtype=pl.String)
        wanted = None if asked is None else asked.unique().to_frame()
        if case_notion == "work_item" and not self._reference_sql:
            ready = self._prepared_log(sources, wanted, asked)
            if ready is not None:
                return ready
        mapping = self.case_map(case_notion)
        params: list[Any] = []
        where = ""
        if sources:
            where = "WHERE e.source IN (" + ", ".join("?" for _ in sources) + ")"
            params = list(sources)
        flatten = case_notion not in ("work_item", "object") and bool(
            _scalar(
                self._con,
                "SELECT count(*) FROM event_objects eo JOIN objects o USING (object_id) "
                f"WHERE o.object_type = '{_quote(case_notion)}'",
            )
        )
        columns = """e.activity, e."timestamp", e.seq, e.event_id,
                       coalesce(aa.actor_id, e.actor_id) AS actor_id,
                       coalesce(ac.display_name, a.display_name, a.login, e.actor_id) AS resource,
                       coalesce(ac.kind, a.platform_kind,
                                CASE WHEN e.actor_id IS NULL THEN NULL ELSE 'unknown' END)
                           AS actor_kind,
                       coalesce(ac.team, e.team) AS team,
                       e.source, e.object_id, o.object_type"""
        joins = """LEFT JOIN objects o ON o.object_id = e.object_id
                LEFT JOIN accounts a ON a.account_id = e.actor_id
                LEFT JOIN actor_accounts aa ON aa.account_id = e.actor_id
                LEFT JOIN actors ac ON ac.actor_id = aa.actor_id"""
        primary = f"""
                SELECT coalesce(cm.case_id, e.object_id) AS case_id, {columns}
                FROM events e
                LEFT JOIN _case_map cm ON cm.object_id = e.object_id
                {joins}
                {where}"""
        if flatten:
            # OCEL flattening (as pm4py's): one row per (event, related object of the type)
            cond = "WHERE" if not where else where + " AND"
            query = f"""
                SELECT DISTINCT ON (case_id, event_id) * FROM (
                    SELECT p.* FROM ({primary}) p
                    JOIN objects co ON co.object_id = p.case_id
                    WHERE co.object_type = '{_quote(case_notion)}'
                    UNION ALL
                    SELECT eo.object_id AS case_id, {columns}
                    FROM events e
                    JOIN event_objects eo ON eo.event_id = e.event_id
                    JOIN objects to_ ON to_.object_id = eo.object_id
                    {joins}
                    {cond} to_.object_type = '{_quote(case_notion)}'
                )
                ORDER BY case_id, "timestamp", seq, event_id"""
        else:
            if not self._reference_sql:
                # read the events plainly (or take them from memory) and join in polars:
                # no sort in DuckDB, no conversion of joined rows (same result as the SQL)
                return self._flat_log(self._events_in_scope(sources, wanted), mapping)
            if wanted is not None:
                cond = "WHERE" if not where else where + " AND"
                primary += (
                    f"\n                {cond} e.object_id IN (SELECT object_id FROM _wanted)"
                )
            query = (
                primary
                + """
                ORDER BY case_id, e."timestamp", e.seq, e.event_id"""
            )
        # streams (no pyarrow): the query orders its rows itself
        self._con.register("_case_map", _stream(mapping))
        if wanted is not None:
            self._con.register("_wanted", _stream(wanted))
        try:
            df = self._query(query, params * (2 if flatten else 1))
        finally:
            self._con.unregister("_case_map")
            if wanted is not None:
                self._con.unregister("_wanted")
        if flatten and wanted is not None:
            df = df.filter(pl.col("object_id").is_in(wanted.get_column("object_id").implode()))
        return _conform(df)

    def _reader(self, query: str) -> duckdb.DuckDBPyConnection:
        """The connection to read ``query`` from: while a run is in flight (``ingest`` with
        ``defer``), the shadow of what the commit leaves when the query reads only tables it
        holds, the file when it reads none the run writes (the commit leaves them as they
        are); otherwise the store's, once the run is committed."""
        pending = self._pending
        if pending is not None:
            try:  # the tables it names (parameters do not name any: parsed as NULLs)
                tables = self._duck.get_table_names(_PARAMETER.sub("NULL", query))
            except duckdb.Error:  # not parsed: the file, once the run is committed
                return self._con
            if tables <= _SHADOWED:
                return pending.shadow_of(tables)
            if not tables & (_RUN_TABLES | _SHADOWED):
                return self._duck
        return self._con

    def _query(self, query: str, params: list[Any]) -> pl.DataFrame:
        rel = self._reader(query).sql(query, params=params or None)
        if rel is None:
            return pl.DataFrame()
        return _polars(rel)

    def _prepared_log(
        self,
        sources: Sequence[str] | None,
        wanted: pl.DataFrame | None,
        asked: pl.Series | None = None,
    ) -> pl.DataFrame | None:
        """The log :meth:`ingest` built while writing a run into an empty store, still the
        store's whole content (nothing else written or taken back since: one ``count(*)``),
        cut to ``sources`` and ``wanted``, with the actors as the store resolves them now;
        ``None`` when there is none."""
        prepared = self._still_prepared()
        if prepared is None:
            return None
        log = prepared.log
        if sources:
            log = log.filter(pl.col("source").is_in(list(sources)))
        # the objects asked for are those the run covers (what ingest_path hands over for a
        # file): every row is in scope, no lookup of a million rows' objects (0.07 s CPU)
        every = asked is not None and asked.equals(prepared.covered, check_names=False)
        if wanted is not None and not every:
            log = _of_objects(log, wanted.get_column("object_id"))
        return self._with_people(log, accounts=prepared.accounts)

    def _still_prepared(self) -> _Prepared | None:
        """What :meth:`ingest` built for the run that filled an empty store, while that run is
        still all the store holds (nothing written or taken back since: one ``count(*)``)."""
        prepared = self._prepared
        if prepared is None or self._reference_sql:
            return None
        written = self._written.get(prepared.run_id)
        if written is None or len(self._written) != 1:
            return None
        if self._pending is not None:  # the run in flight: nothing else can be written meanwhile
            return prepared
        if _scalar(self._con, "SELECT count(*) FROM events") != written.height:
            return None
        return prepared

    @_serialised
    def event_attrs(self) -> pl.DataFrame:
        """``event_id, attrs, account_id`` of every stored event, in stored order.

        Taken from the frames this session wrote when they are all the store holds (one
        ``count(*)`` says so; :meth:`log` trusts them alike), else read from the file.
        """
        if self._written and not self._reference_sql:
            frames = list(self._written.values())
            # a run in flight is the store's only one: its frame is what the store will hold
            if self._pending is not None or _scalar(
                self._con, "SELECT count(*) FROM events"
            ) == sum(f.height for f in frames):
                events = pl.concat(frames, how="vertical") if len(frames) > 1 else frames[0]
                return events.select("event_id", "attrs", pl.col("actor_id").alias("account_id"))
        return self._query(
            "SELECT event_id, CAST(attrs AS VARCHAR) AS attrs, actor_id AS account_id FROM events",
            [],
        )

    def _events_in_scope(
        self, sources: Sequence[str] | None, wanted: pl.DataFrame | None
    ) -> pl.DataFrame:
        """The stored events in scope: from this session's frames when they are all of them
        (one ``count(*)`` says so), else read from the file in stored order."""
        conditions: list[str] = []
        params: list[Any] = []
        if sources:
            conditions.append("source IN (" + ", ".join("?" for _ in sources) + ")")
            params += list(sources)
        if wanted is not None:
            conditions.append("object_id IN (SELECT object_id FROM _wanted)")
            # a stream (no pyarrow, 0.2 s of a rerun): the rows come in DuckDB's order either
            # way, and _cased puts them in log order (its last key, event_id, is unique)
            self._con.register("_wanted", _stream(wanted))
        where = " WHERE " + " AND ".join(conditions) if conditions else ""
        try:
            if self._written:
                frames = list(self._written.values())
                events = pl.concat(frames, how="vertical") if len(frames) > 1 else frames[0]
                if sources:
                    events = events.filter(pl.col("source").is_in(list(sources)))
                if wanted is not None:
                    events = _of_objects(events, wanted.get_column("object_id"))
                # the store holding exactly the rows written this session (its whole count,
                # kept by DuckDB, says so) holds no other in scope either: no filtered count
                total = sum(f.height for f in frames)
                stored = _scalar(self._con, "SELECT count(*) FROM events")
                if stored == total:
                    return events.select(_EVENT_COLUMNS)
                rows = self._con.execute(f"SELECT count(*) FROM events{where}", params).fetchall()
                if int(rows[0][0]) == events.height:
                    return events.select(_EVENT_COLUMNS)
            cols = ", ".join(f'"{c}"' for c in _EVENT_COLUMNS)
            # in one piece, not in DuckDB's batches: every column the log gathers to these
            # comes in one, and a frame whose columns are chunked apart is copied whole by
            # its next select or filter (0.7 GiB and 1.2 s at 10M events), in every figure
            return self._query(f"SELECT {cols} FROM events{where}", params).rechunk()
        finally:
            if wanted is not None:
                self._con.unregister("_wanted")

    def _flat_log(
        self,
        events: pl.DataFrame,
        mapping: pl.DataFrame,
        *,
        objects: pl.DataFrame | None = None,
        people: pl.DataFrame | None = None,
    ) -> pl.DataFrame:
        """Events joined with their case, object type and resolved actor, in log order.

        ``objects`` (``object_id, object_type``) and ``people`` (the accounts with their
        actors) are read from the file unless given.
        """
        return self._with_people(self._cased(events, mapping, objects), people)

    def _cased(
        self, events: pl.DataFrame, mapping: pl.DataFrame, objects: pl.DataFrame | None = None
    ) -> pl.DataFrame:
        """Events with their case and object type, in log order; ``actor_id`` (the account)
        and ``team`` as the event recorded them (:meth:`_with_people` resolves them)."""
        if objects is None:
            objects = self._query("SELECT object_id, object_type FROM objects", [])
        cases = mapping.join(objects, on="object_id", how="left")
        # an object's events come in runs (a case's events are together): join each run's
        # first row with the cases, then hand the result to every row of the run by position
        starts, run = _object_runs(events)
        # no object folded into another (a standard log's cases, objects linked to nothing):
        # every event's case is its object, and the log's case column is the object column
        # itself, not a million ids handed out again (16 B a row and the pass to make them)
        folded = bool(
            mapping.select(pl.col("case_id").ne_missing(pl.col("object_id")).any()).item()
        )
        heads = (
            events.filter(starts)
            .select("object_id")
            .join(cases, on="object_id", how="left", maintain_order="left")
            .select(*(["case_id"] if folded else []), "object_type")
        )
        objects_of = events.get_column("object_id")
        handed = heads[run].get_columns()
        case = (
            pl.DataFrame([handed[0], objects_of])
            .select(pl.coalesce("case_id", "object_id"))
            .to_series()
            if folded
            else objects_of
        )
        df = pl.DataFrame(
            [case.alias("case_id"), *(events.get_column(c) for c in _CASED_FROM_EVENTS), handed[-1]]
        )
        # the order keys do not depend on who acted: sorting before the actors are joined
        # gives the same rows in the same order as sorting after
        if not is_sorted(df, _LOG_ORDER):
            df = df.sort(list(_LOG_ORDER), nulls_last=True, maintain_order=True)
        return df

    def _with_people(
        self,
        cased: pl.DataFrame,
        people: pl.DataFrame | None = None,
        *,
        accounts: pl.Series | None = None,
    ) -> pl.DataFrame:
        """:meth:`_cased` events with their resolved actor, name, kind and team (the flat log).

        The actors are resolved once per account and handed to the rows by position (the
        same frame as the join, when no account has two people rows): by ``cased``'s
        ``_account``, each row's number into ``accounts`` (the distinct ``actor_id`` values),
        when given, else by numbers made here (:func:`_account_numbers`). A join of every row
        would copy each of the log's columns (1.6 GiB more at 10M events, 5 s).
        """
        if people is None:
            people = self._query(
                """SELECT coalesce(a.account_id, aa.account_id) AS actor_id,
                          aa.actor_id AS _actor,
                          coalesce(ac.display_name, a.display_name, a.login) AS _name,
                          coalesce(ac.kind, a.platform_kind) AS _kind,
                          ac.team AS _team
                   FROM accounts a
                   FULL JOIN actor_accounts aa ON aa.account_id = a.account_id
                   LEFT JOIN actors ac ON ac.actor_id = aa.actor_id""",
                [],
            )
        actor = pl.col("actor_id")
        if people.get_column("actor_id").is_unique().all():
            if accounts is None:
                accounts, numbers = _account_numbers(cased)
                cased = cased.with_columns(numbers)
            joined = accounts.to_frame("actor_id").join(
                people, on="actor_id", how="left", maintain_order="left"
            )
            # an account no identity names is its own actor, and no team given keeps the
            # event's: those columns are then the rows' own, not handed out again by position
            own_actor = joined.get_column("_actor").null_count() == joined.height
            own_team = joined.get_column("_team").null_count() == joined.height
            resolved = joined.select(
                pl.coalesce("_actor", actor).alias("actor_id"),
                pl.coalesce("_name", actor).alias("resource"),
                pl.coalesce("_kind", pl.when(actor.is_not_null()).then(pl.lit("unknown"))).alias(
                    "actor_kind"
                ),
                pl.col("_team"),
            )
            code = cased.get_column("_account")

            def by_row(column: str) -> pl.Series:
                return resolved.get_column(column).gather(code)

            handed = [by_row(c) for c in ("resource", "actor_kind")]
            if not own_actor:
                handed.append(by_row("actor_id"))
            if not own_team:
                recorded = cased.get_column("team")
                handed.append(by_row("_team").fill_null(recorded).alias("team"))
            return _conform(cased.with_columns(handed))
        df = (
            cased.lazy()
            .join(people.lazy(), on="actor_id", how="left", maintain_order="left")
            .select(
                "case_id",
                "activity",
                "timestamp",
                "seq",
                "event_id",
                pl.coalesce("_actor", actor).alias("actor_id"),
                pl.coalesce("_name", actor).alias("resource"),
                pl.coalesce("_kind", pl.when(actor.is_not_null()).then(pl.lit("unknown"))).alias(
                    "actor_kind"
                ),
                pl.coalesce("_team", "team").alias("team"),
                "source",
                "object_id",
                "object_type",
            )
            .collect()
        )
        return _conform(df)


@dataclass(frozen=True)
class _Prepared:
    """What :meth:`Store.ingest` built while writing a run into an empty store."""

    run_id: int
    #: the run's work_item log before actors are joined (:meth:`Store._cased`), with each
    #: row's ``_account``: its position in ``accounts``
    log: pl.DataFrame
    #: the distinct ``actor_id`` values (accounts) of the log, in order of appearance
    accounts: pl.Series
    #: the work_item case map of the run's objects and links (:func:`case_map`)
    mapping: pl.DataFrame
    #: the objects the run covers (:meth:`Batch.object_ids`: unique, sorted)
    covered: pl.Series


@dataclass
class _Pending:
    """A run :meth:`Store.ingest` left being written (``defer=True``), until :meth:`Store.wait`."""

    future: Future[dict[str, int]]
    #: the writer's own connection (a cursor of the store's), closed once it is collected
    writer: duckdb.DuckDBPyConnection
    #: DuckDB's threads setting before the write (it writes on one)
    threads: int
    run_id: int
    #: the rows an empty store adds: the commit must say the same
    added: dict[str, int]
    #: the run's deduplicated tables, as the commit leaves them (what the shadow holds)
    tables: Mapping[str, pl.DataFrame]
    #: writes made meanwhile, each done after the run's commit in a transaction of its own
    #: (as without ``defer``); ``None`` ends them
    queue: SimpleQueue[Callable[[duckdb.DuckDBPyConnection], None] | None]
    #: the objects the run covers (what its ``run_objects`` rows will be)
    covered: pl.Series
    _shadow: duckdb.DuckDBPyConnection | None = None
    #: the run's tables the shadow holds so far (:meth:`shadow_of`)
    _viewed: set[str] = field(default_factory=set)

    @property
    def shadow(self) -> duckdb.DuckDBPyConnection:
        """An in-memory database holding what the store holds once the run commits: the
        run's tables and the identities written meanwhile (:meth:`Store.sql` reads it).
        Made on first use: a run of a standard log alone is mostly analysed without a query
        (no identities to resolve), so most runs never pay for it. It holds the identities
        from the start and each of the run's tables once a query names it
        (:meth:`shadow_of`)."""
        if self._shadow is None:
            self._shadow = _shadow()
        return self._shadow

    def shadow_of(self, tables: set[str]) -> duckdb.DuckDBPyConnection:
        """:attr:`shadow` with the run's ``tables`` in it, each viewed on first use: the
        query of the actors (accounts and identities) does not make a million events
        Arrow with their run number (0.06 s CPU, 50 MB at the peak of ``discover``)."""
        shadow = self.shadow
        for table in sorted(tables & self.tables.keys() - self._viewed):
            _view(shadow, table, self.tables[table], self.run_id)
            self._viewed.add(table)
        return shadow

    def close(self) -> None:
        """Close the writer's connection and the shadow, if one was made."""
        self.writer.close()
        if self._shadow is not None:
            self._shadow.close()


@contextmanager
def _one_thread(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """DuckDB on one thread for the block (the write beside the log, :meth:`Store.ingest`).

    Its insert into a file on two threads takes more CPU (1.6 s for a million events
    against 1.1 s) and no less time, while polars wants the other core: one thread
    writes the same rows in the same order.
    """
    threads = con.execute("SELECT current_setting('threads')").fetchall()[0][0]
    con.execute("SET threads = 1")
    try:
        yield
    finally:
        con.execute(f"SET threads = {int(threads)}")


#: the columns :meth:`Store._cased` takes from the events as they are, in the log's order
_CASED_FROM_EVENTS: Final = (
    "activity", "timestamp", "seq", "event_id", "actor_id", "team", "source", "object_id",
)  # fmt: skip


def _account_numbers(cased: pl.DataFrame) -> tuple[pl.Series, pl.Series]:
    """The distinct ``actor_id`` values of ``cased`` in order of appearance, and ``_account``:
    each row's position among them."""
    accounts = cased.get_column("actor_id").unique(maintain_order=True)
    code = cased.select(
        pl.col("actor_id").replace_strict(
            accounts,
            pl.int_range(accounts.len(), dtype=pl.UInt32, eager=True),
            return_dtype=pl.UInt32,
        )
    )
    # (polars 1.x answers an empty column in its own type, whatever return_dtype says)
    return accounts, code.to_series().cast(pl.UInt32).alias("_account")


def _object_runs(events: pl.DataFrame) -> tuple[pl.Series, pl.Series]:
    """Where each run of equal ``object_id`` starts (a mask) and each row's run number."""
    obj = pl.col("object_id")
    starts = events.select(
        ((pl.int_range(pl.len()) == 0) | obj.ne_missing(obj.shift(1))).alias("s")
    ).to_series()
    return starts, (starts.cum_sum() - 1).cast(pl.UInt32)


def _of_objects(events: pl.DataFrame, objects: pl.Series) -> pl.DataFrame:
    """The rows of ``events`` whose ``object_id`` is one of ``objects``, looked up once per run."""
    starts, run = _object_runs(events)
    heads = events.filter(starts).get_column("object_id")
    keep = heads.is_in(objects.implode()).fill_null(False)
    return events if keep.all() else events.filter(keep.gather(run))


def case_map(objects: pl.DataFrame, links: pl.DataFrame, notion: str = "work_item") -> pl.DataFrame:
    """Resolve each object's case under ``notion`` from the objects and their links.

    Works over objects and links (thousands), never over events. Each object
    follows its best folding link (by :data:`FOLD_RELATIONS` priority, then
    target id, so the result never depends on input order) until it reaches a
    work item or an object that links nowhere.
    """
    schema = {"object_id": pl.String, "case_id": pl.String}
    if objects.height == 0:
        return pl.DataFrame(schema=schema)
    identity = objects.select(
        pl.col("object_id").cast(pl.String), pl.col("object_id").alias("case_id")
    )
    if notion == "object":
        return identity.cast(schema)  # type: ignore[arg-type]
    targets = WORK_ITEM_TYPES if notion == "work_item" else frozenset({notion})
    fold = (
        links.filter(
            pl.col("relation").is_in(list(FOLD_RELATIONS))
            & (pl.col("from_object") != pl.col("to_object"))
            & pl.col("to_object").is_in(objects.get_column("object_id").implode())
        )
        .with_columns(
            pl.col("relation").replace_strict(FOLD_RELATIONS, return_dtype=pl.Int64).alias("prio")
        )
        .sort("from_object", "prio", "to_object")
    )
    if fold.height == 0:
        return identity.cast(schema)  # type: ignore[arg-type]
    # only objects on a folding link can move: everything else is its own case
    nodes = pl.concat([fold.get_column("from_object"), fold.get_column("to_object")]).unique()
    on_links = objects.filter(pl.col("object_id").is_in(nodes.implode()))
    types = dict(
        zip(
            on_links.get_column("object_id").to_list(),
            on_links.get_column("object_type").to_list(),
            strict=True,
        )
    )
    best: dict[str, list[tuple[int, str]]] = {}
    for src, dst, prio in fold.select("from_object", "to_object", "prio").iter_rows():
        best.setdefault(src, []).append((prio, dst))

    resolved: dict[str, str] = {}

    def root(obj: str) -> str:
        path = [obj]
        seen = {obj}
        current = obj
        while current not in resolved and types.get(current) not in targets:
            choices = best.get(current)
            if not choices:
                break
            # prefer a target that leads to a work item; else the best-ranked one
            nxt = choices[0][1]
            for _, cand in choices:
                if types.get(cand) in targets:
                    nxt = cand
                    break
            if nxt in seen:
                break
            seen.add(nxt)
            path.append(nxt)
            current = nxt
        final = resolved.get(current, current)
        for p in path:
            resolved[p] = final
        return final

    # in the objects' order, as a walk that meets a cycle stops where it started
    for src in on_links.get_column("object_id").to_list():
        if src in best:
            root(src)
    moved = pl.DataFrame(
        {"object_id": list(resolved), "_case": list(resolved.values())},
        schema={"object_id": pl.String, "_case": pl.String},
    )
    return (
        identity.join(moved, on="object_id", how="left", maintain_order="left")
        .select("object_id", pl.coalesce("_case", "case_id").alias("case_id"))
        .cast(schema)  # type: ignore[arg-type]
    )


_LOG_ORDER: Final = ("case_id", "timestamp", "seq", "event_id")
_EVENT_COLUMNS: Final = (
    "event_id", "activity", "timestamp", "seq", "actor_id", "team", "source", "object_id",
)  # fmt: skip


class _ArrowStream:
    """``df`` as DuckDB scans it: an Arrow stream (the PyCapsule interface), handed over
    without a copy of the data (string views, polars' own layout) and without pyarrow.

    A polars frame itself is turned into a pyarrow table by DuckDB (``import pyarrow``,
    0.13-0.35 s of every ``wfmine discover``); an object with only ``__arrow_c_stream__``
    is scanned as the stream it gives, a new one at each scan, so a view registered
    once is read by any number of queries."""

    __slots__ = ("_df",)

    def __init__(self, df: pl.DataFrame) -> None:
        self._df = df

    def __arrow_c_stream__(self, requested_schema: object | None = None) -> object:
        return self._df.__arrow_c_stream__(requested_schema)


def _tree_files(root: Path) -> list[tuple[str, str | Path]]:
    """Every entry that is not a folder under ``root`` (symbolic links to folders are not
    followed, as ``Path.rglob``), as (path relative to ``root`` with ``/``, path), in the
    order of ``sorted(root.rglob("*"))``: by path components. Path texts from ``os.walk``,
    not a ``Path`` per file (3,400 GitHub files: 0.4 s of an input key)."""
    top = os.fspath(root)
    found: list[tuple[tuple[str, ...], str, str]] = []
    for folder, _, names in os.walk(top):
        inner = folder[len(top) :].lstrip(os.sep)
        parts = tuple(inner.split(os.sep)) if inner else ()
        for name in names:
            found.append(((*parts, name), folder, name))
    found.sort(key=lambda entry: entry[0])
    return [("/".join(key), os.path.join(folder, name)) for key, folder, name in found]


def _arrow(df: pl.DataFrame) -> Any:
    """``df`` as an Arrow table for DuckDB: string views, no copy of the string data.

    A query that joins it is planned on its row count, which a stream (:class:`_ArrowStream`)
    does not tell: the rows a join without ``ORDER BY`` gives (an ``ANTI JOIN`` insert, the
    row order stored) would come in another order. Only a plain insert of all its rows
    (:func:`_stream`) is handed over as a stream."""
    return df.to_arrow(compat_level=pl.CompatLevel.newest())


def _stream(df: pl.DataFrame) -> _ArrowStream:
    """``df`` for a plain ``INSERT ... SELECT`` or ``CREATE TABLE ... AS SELECT`` of all its
    rows (in order, no join): a stream, without pyarrow (:class:`_ArrowStream`)."""
    return _ArrowStream(df)


def _polars(rel: duckdb.DuckDBPyRelation) -> pl.DataFrame:
    """The rows of ``rel`` as the frame ``rel.pl()`` gives, read as an Arrow stream (the
    PyCapsule interface) without importing pyarrow, which ``pl()`` goes through (0.13-0.35 s
    of every ``wfmine discover``). A result with an ``INTERVAL``, which polars cannot import
    from a stream (it would panic), still goes through ``pl()`` (and its error)."""
    if any("INTERVAL" in str(t) for t in rel.types):
        out: pl.DataFrame = rel.pl()
        return out
    return pl.DataFrame(rel)


@contextmanager
def _transaction(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """One transaction of ``con``: committed, or rolled back when the block raises."""
    con.execute("BEGIN TRANSACTION")
    try:
        yield
    except BaseException:
        con.execute("ROLLBACK")
        raise
    con.execute("COMMIT")


def _put_identities(
    con: duckdb.DuckDBPyConnection, actors: pl.DataFrame, actor_accounts: pl.DataFrame
) -> None:
    """Replace ``actors`` and ``actor_accounts`` through ``con`` (inside a transaction)."""
    con.execute("DELETE FROM actors")
    con.execute("DELETE FROM actor_accounts")
    if actors.height:
        con.register("_a", _stream(actors))
        con.execute(
            "INSERT INTO actors SELECT actor_id, display_name, kind, declared_kind, "
            "detected_kind, kind_score, team, aliases, evidence FROM _a"
        )
        con.unregister("_a")
    if actor_accounts.height:
        con.register("_m", _stream(actor_accounts))
        con.execute(
            "INSERT INTO actor_accounts SELECT account_id, actor_id, confidence, evidence FROM _m"
        )
        con.unregister("_m")


def _shadow() -> duckdb.DuckDBPyConnection:
    """An in-memory database for what an empty store holds once a run commits: the
    identity tables, empty (:meth:`Store.replace_identities` fills them); the run's tables
    are viewed into it as queries name them (:func:`_view`)."""
    shadow = duckdb.connect(":memory:")
    shadow.execute("SET threads = 1")  # as the store while the run is written
    for statement in _MIGRATIONS[0]:
        if statement.startswith(("CREATE TABLE actors ", "CREATE TABLE actor_accounts ")):
            shadow.execute(statement)
    return shadow


_COPIED_ROWS: Final = 100_000


def _view(shadow: duckdb.DuckDBPyConnection, table: str, df: pl.DataFrame, run_id: int) -> None:
    """Table ``table`` of run ``run_id`` into ``shadow`` as that run's commit leaves it in an
    empty store: the deduplicated frame written (its ``ingest_run`` too). Queries read it as
    they would the file: JSON columns are their text, as stored.

    A table of fewer than ``_COPIED_ROWS`` rows (the accounts, the objects of most runs) is
    copied in, as a table like the file's, from an Arrow stream (:func:`_stream`): no
    pyarrow, which a run of a standard log otherwise imports for this alone (0.15-0.35 s of
    every ``wfmine discover``); a larger one is viewed, not copied, as a pyarrow table (a
    stream would not tell the planner its row count, :func:`_arrow`)."""
    if table in _APPEND_KEYS and table not in ("event_objects", "object_links"):
        df = df.with_columns(pl.lit(run_id, dtype=pl.Int64).alias("ingest_run"))
    if df.height >= _COPIED_ROWS:
        shadow.register(table, _arrow(df))
        return
    shadow.register("_copied", _stream(df))
    try:
        shadow.execute(f"CREATE TABLE {table} AS SELECT * FROM _copied")
    finally:
        shadow.unregister("_copied")


def _dedupe(table: str, df: pl.DataFrame) -> pl.DataFrame:
    """``df``'s rows that :meth:`Store._write` stores into ``table``: the first of each key of
    an append table, the last of each key of a table where newer records replace older."""
    if table in _UPSERT_KEYS:
        return _unique(df, [_UPSERT_KEYS[table]], keep="last")
    return _unique(df, list(_APPEND_KEYS[table]), keep="first")


def _unique(df: pl.DataFrame, keys: list[str], *, keep: Literal["first", "last"]) -> pl.DataFrame:
    """``df`` without repeated keys; skips the string hashing pass when a 64-bit hash
    of the keys is already unique (distinct hashes imply distinct keys). Counted
    (``n_unique``: one set of the hashes), not flagged row by row (``is_unique``
    groups them, over twice the CPU: 0.14 -> 0.06 s for a million event ids)."""
    if df.height < 2:
        return df
    hashed = df.get_column(keys[0]).hash() if len(keys) == 1 else df.select(keys).hash_rows()
    if hashed.n_unique() == df.height:
        return df
    return df.unique(subset=keys, keep=keep, maintain_order=True)


def file_fingerprint(path: str | Path, *, content: bool = True) -> dict[str, Any]:
    """Identity of an input file: absolute path, size, mtime (ns) and SHA-256 of its bytes.

    Standard-log readers keep it in their raw record so a stored row can be
    re-derived byte for byte from the file and checked against it, and so a
    rerun can tell an unchanged file (:meth:`Store.holds_file`). ``content=False``
    leaves the hash out (a ``stat`` only).
    """
    import hashlib

    p = Path(path)
    st = p.stat()
    out: dict[str, Any] = {
        "path": str(p.resolve()),
        "size": st.st_size,
        "mtime_ns": st.st_mtime_ns,
    }
    if content:
        with p.open("rb") as fh:
            out["sha256"] = hashlib.file_digest(fh, "sha256").hexdigest()
    return out


def _conform(df: pl.DataFrame) -> pl.DataFrame:
    """``df``'s columns of the log (:data:`LOG_SCHEMA`), in its order and types, a missing one
    null, each in one piece.

    Column by column, not a ``select``: that would copy every column whose chunks lie apart
    from the others' (a log read from the file, the actors gathered to it) into one layout
    first. In one piece because every figure adds its own columns, made in one piece, to
    the log's: beside columns in DuckDB's batches each such frame is copied whole by its
    next select or filter. One copy here instead (at 10M events the conformance check
    34 -> 26 s, 65 -> 45 CPU s, peak 7.4 -> 6.1 GiB); a log in one piece already is not
    copied."""
    height = df.height
    return pl.DataFrame(
        [
            df.get_column(name).cast(dtype)
            if name in df.columns
            else pl.repeat(None, height, dtype=dtype, eager=True).alias(name)
            for name, dtype in LOG_SCHEMA.items()
        ]
    ).rechunk()


def _quote(text: str) -> str:
    return text.replace("'", "''")


def _scalar(con: duckdb.DuckDBPyConnection, query: str) -> int:
    rows = con.execute(query).fetchall()
    return int(rows[0][0]) if rows and rows[0][0] is not None else 0


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def open_for_reading(path: str | Path) -> Store:
    """The store at ``path``, read-write when the file may be written, else read-only.

    Reading needs no write access: on a read-only file (an archived store, a
    shared one) the analyses run, and what they would store is not stored.
    """
    p = Path(path)
    writable = not p.exists() or os.access(p, os.W_OK)
    return Store(p, read_only=not writable)


def open_store(path: str | Path = ":memory:", *, read_only: bool = False) -> Store:
    """Open (creating and migrating if needed) the store at ``path``."""
    return Store(path, read_only=read_only)
