"""The store: schema, idempotent and transactional ingest, deterministic order, case notion."""

from __future__ import annotations

import datetime as dt
import random
from pathlib import Path

import polars as pl
import pytest

import wfmine
from wfmine.model import Batch, frame, to_utc
from wfmine.store import SCHEMA_VERSION, Store, case_map


def _batch(order: list[int] | None = None) -> Batch:
    events = [
        {"event_id": "jira:P-1/created", "activity": "Issue created",
         "timestamp": "2024-01-01T10:00:00.000+0100", "seq": 0, "actor_id": "jira:a1",
         "source": "jira", "object_id": "jira:P-1"},
        {"event_id": "jira:P-1/h/1", "activity": "Status: In Progress",
         "timestamp": "2024-01-01T12:00:00Z", "seq": 1, "actor_id": "jira:a1",
         "source": "jira", "object_id": "jira:P-1"},
        {"event_id": "github:o/r#pr/1/opened", "activity": "PR opened",
         "timestamp": dt.datetime(2024, 1, 1, 11, 0), "seq": 0, "actor_id": "github:dev",
         "source": "github", "object_id": "github:o/r#pr/1"},
        {"event_id": "github:o/r@abc", "activity": "Commit pushed",
         "timestamp": dt.datetime(2024, 1, 1, 11, 0), "seq": 1, "actor_id": "github:dev",
         "source": "github", "object_id": "github:o/r@abc"},
    ]  # fmt: skip
    if order is not None:
        events = [events[i] for i in order]
    return Batch.from_rows(
        "jira",
        events=events,
        objects=[
            {"object_id": "jira:P-1", "object_type": "issue", "source": "jira", "key": "P-1"},
            {"object_id": "github:o/r#pr/1", "object_type": "pull_request", "source": "github"},
            {"object_id": "github:o/r@abc", "object_type": "commit", "source": "github"},
        ],
        object_links=[
            {
                "from_object": "github:o/r#pr/1",
                "to_object": "jira:P-1",
                "relation": "title",
                "evidence": "title: P-1 fix",
            },
            {
                "from_object": "github:o/r@abc",
                "to_object": "github:o/r#pr/1",
                "relation": "part_of",
                "evidence": "pulls/1/commits",
            },
        ],
        accounts=[
            {
                "account_id": "jira:a1",
                "source": "jira",
                "display_name": "Ann",
                "platform_kind": "human",
            },
        ],
        raw_records=[
            {"source": "jira", "record_type": "issue", "record_id": "P-1", "payload": "{}"}
        ],
        quarantine=[{"source": "jira", "record_ref": "page1.json#3", "reason": "no key"}],
    )


def test_new_store_has_every_table_and_the_schema_version() -> None:
    store = wfmine.open(":memory:")
    assert store.schema_version() == SCHEMA_VERSION
    assert set(store.counts()) >= {
        "raw_records", "events", "objects", "object_links", "actors", "ingest_runs", "quarantine",
    }  # fmt: skip


def test_reopening_a_file_keeps_data_and_version(tmp_path) -> None:
    path = tmp_path / "s.duckdb"
    with Store(path) as store:
        store.ingest(_batch())
    with Store(path) as store:
        assert store.schema_version() == SCHEMA_VERSION
        assert store.counts()["events"] == 4


def test_reingesting_the_same_input_adds_nothing() -> None:
    store = wfmine.open(":memory:")
    first = store.ingest(_batch())
    assert first["added"]["events"] == 4
    second = store.ingest(_batch())
    assert all(v == 0 for v in second["added"].values()), second["added"]
    assert store.counts()["events"] == 4
    assert store.counts()["ingest_runs"] == 2


def test_a_failing_run_leaves_the_store_as_it_was(monkeypatch: pytest.MonkeyPatch) -> None:
    store = wfmine.open(":memory:")
    store.ingest(_batch())
    before = store.counts()
    original = Store._write
    calls = {"n": 0}

    def failing(self, con, table, df, run_id):  # type: ignore[no-untyped-def]
        calls["n"] += 1
        if calls["n"] == 3:
            raise RuntimeError("disk full")
        return original(self, con, table, df, run_id)

    monkeypatch.setattr(Store, "_write", failing)
    bigger = _batch()
    bigger.events = pl.concat(
        [bigger.events, bigger.events.with_columns(pl.col("event_id") + "/copy")]
    )
    with pytest.raises(RuntimeError):
        store.ingest(bigger)
    assert store.counts() == before


def test_case_notion_folds_commits_and_prs_into_the_work_item() -> None:
    store = wfmine.open(":memory:")
    store.ingest(_batch())
    log = store.log()
    assert log.get_column("case_id").unique().to_list() == ["jira:P-1"]
    per_object = store.log(case_notion="object")
    assert per_object.get_column("case_id").n_unique() == 3
    per_pr = store.log(case_notion="pull_request")
    assert set(per_pr.get_column("case_id")) == {"jira:P-1", "github:o/r#pr/1"}


def test_log_order_is_case_time_seq_whatever_the_input_order() -> None:
    reference = None
    rng = random.Random(3)
    for _ in range(5):
        order = list(range(4))
        rng.shuffle(order)
        store = wfmine.open(":memory:")
        store.ingest(_batch(order))
        log = store.log().select("case_id", "activity", "timestamp", "seq", "event_id")
        if reference is None:
            reference = log
        assert log.equals(reference)
    assert reference is not None
    # PR opened and the commit share a timestamp: seq decides
    acts = reference.get_column("activity").to_list()
    assert acts.index("PR opened") < acts.index("Commit pushed")


def test_log_resolves_actors_and_timestamps_to_utc() -> None:
    store = wfmine.open(":memory:")
    store.ingest(_batch())
    log = store.log()
    assert log.schema["timestamp"] == pl.Datetime("us", "UTC")
    created = log.filter(pl.col("activity") == "Issue created").row(0, named=True)
    assert created["timestamp"] == dt.datetime(2024, 1, 1, 9, 0, tzinfo=dt.UTC)
    assert created["resource"] == "Ann"
    assert created["actor_kind"] == "human"


def test_case_map_is_independent_of_link_order() -> None:
    objects = frame(
        "objects",
        [
            {"object_id": "a", "object_type": "pull_request"},
            {"object_id": "K-1", "object_type": "issue"},
            {"object_id": "K-2", "object_type": "issue"},
        ],
    ).select("object_id", "object_type")
    links = pl.DataFrame(
        {
            "from_object": ["a", "a"],
            "to_object": ["K-2", "K-1"],
            "relation": ["mentions", "mentions"],
        }
    )
    one = case_map(objects, links)
    two = case_map(objects, links.reverse())
    assert one.equals(two)
    assert one.filter(pl.col("object_id") == "a").item(0, "case_id") == "K-1"


def test_quarantine_and_raw_records_are_kept() -> None:
    store = wfmine.open(":memory:")
    store.ingest(_batch())
    q = store.table("quarantine")
    assert q.item(0, "reason") == "no key"
    assert store.table("raw_records").height == 1


def test_results_and_cursors_round_trip() -> None:
    store = wfmine.open(":memory:")
    b = _batch()
    b.cursor = "2024-01-02T00:00:00Z"
    store.ingest(b, scope="project = P")
    assert store.last_cursor("jira", "project = P") == "2024-01-02T00:00:00Z"
    assert store.last_cursor("jira", "other") is None
    store.put_result("demo", pl.DataFrame({"x": [1, 2]}))
    result = store.result("demo")
    assert result is not None and result.get_column("x").to_list() == [1, 2]


def test_to_utc_reads_the_formats_sources_write() -> None:
    assert to_utc("2024-03-05T14:22:31.000+0100") == dt.datetime(
        2024, 3, 5, 13, 22, 31, tzinfo=dt.UTC
    )
    assert to_utc("2024-03-05T14:22:31Z") == dt.datetime(2024, 3, 5, 14, 22, 31, tzinfo=dt.UTC)
    assert to_utc(0) == dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
    assert to_utc(None) is None


def test_an_older_store_is_migrated_in_place(tmp_path) -> None:
    path = tmp_path / "old.duckdb"
    with Store(path) as store:
        store.ingest(_batch())
        # make it look like a version-1 file
        store.connection.execute("DROP TABLE http_cache")
        store.connection.execute("UPDATE schema_meta SET value = '1' WHERE key = 'version'")
    with Store(path) as store:
        assert store.schema_version() == SCHEMA_VERSION
        assert store.counts()["events"] == 4
        store.save_http_cache({"https://api.example/x": ('"e1"', [1, 2])})
        assert store.http_cache("https://api.example") == {
            "https://api.example/x": ('"e1"', [1, 2])
        }


def test_a_store_from_a_newer_wfmine_is_refused(tmp_path) -> None:
    from wfmine.errors import StoreError

    path = tmp_path / "new.duckdb"
    with Store(path) as store:
        store.connection.execute("UPDATE schema_meta SET value = '99' WHERE key = 'version'")
    with pytest.raises(StoreError, match="newer"):
        Store(path)


def _read_back(store: Store, **kwargs: object) -> pl.DataFrame:
    """The same log read from the file, checked equal to the SQL reference, which it returns."""
    saved = store._written
    store._written = {}
    try:
        from_file = store.log(**kwargs)  # type: ignore[arg-type]
        store._reference_sql = True
        reference = store.log(**kwargs)  # type: ignore[arg-type]
    finally:
        store._reference_sql = False
        store._written = saved
    assert from_file.equals(reference), kwargs
    return reference


def test_log_from_what_was_written_equals_the_log_read_back() -> None:
    store = wfmine.open(":memory:")
    store.ingest(_batch())
    assert store._written  # the session remembers the run
    for kwargs in (
        {},
        {"case_notion": "object"},
        {"sources": ["github"]},
        {"objects": ["jira:P-1", "github:o/r@abc"]},
        {"case_notion": "pull_request"},
    ):
        assert store.log(**kwargs).equals(_read_back(store, **kwargs)), kwargs  # type: ignore[arg-type]


def test_a_log_read_in_batches_is_one_piece_and_the_same_log(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # DuckDB hands a large result over in batches; the columns the log gathers to the events
    # come in one piece. The log is the SQL reference's frame, each column in one chunk
    # (a frame chunked apart is copied whole by every select or filter of a figure)
    store = wfmine.open(":memory:")
    store.ingest(_batch())
    original = Store._events_in_scope

    def in_batches(self: Store, *args: object) -> pl.DataFrame:
        # in the log's order for the object notion: no sort puts the batches together
        events = original(self, *args).sort("object_id", "timestamp", "seq", "event_id")  # type: ignore[arg-type]
        parts = [events.slice(i, 2) for i in range(0, events.height, 2)]
        return pl.concat(parts, rechunk=False)

    monkeypatch.setattr(Store, "_events_in_scope", in_batches)
    saved, store._written = store._written, {}
    for kwargs in ({"case_notion": "object"}, {"case_notion": "object", "sources": ["github"]}):
        log = store.log(**kwargs)  # type: ignore[arg-type]
        assert set(log.n_chunks("all")) == {1}, kwargs
        store._reference_sql = True
        assert log.equals(store.log(**kwargs)), kwargs  # type: ignore[arg-type]
        store._reference_sql = False
    store._written = saved


def test_log_objects_filter_is_the_same_as_filtering_the_result() -> None:
    store = wfmine.open(":memory:")
    store.ingest(_batch())
    wanted = ["github:o/r#pr/1", "github:o/r@abc"]
    whole = store.log()
    expected = whole.filter(pl.col("object_id").is_in(wanted))
    assert store.log(objects=wanted).equals(expected)
    store.forget_written()
    assert store.log(objects=wanted).equals(expected)


def test_a_run_that_skipped_rows_is_not_reused_and_raw_writes_forget() -> None:
    store = wfmine.open(":memory:")
    store.ingest(_batch())
    again = store.ingest(_batch())
    assert again["run_id"] not in store._written  # nothing was added: read the file
    store.connection.execute("UPDATE events SET activity = 'x' WHERE seq = 0")
    assert not store._written
    assert "x" in store.log().get_column("activity").to_list()


def test_log_from_memory_covers_only_what_this_session_wrote(tmp_path) -> None:
    path = tmp_path / "s.duckdb"
    with Store(path) as store:
        store.ingest(_batch())
    with Store(path) as store:
        extra = _batch()
        extra.events = extra.events.with_columns(pl.col("event_id") + "/2")
        store.ingest(extra)
        log = store.log()  # the file also holds the first session's events
        assert log.height == 8
        assert log.equals(_read_back(store))


def test_failed_run_is_not_remembered(monkeypatch: pytest.MonkeyPatch) -> None:
    store = wfmine.open(":memory:")
    original = Store._write

    def failing(self, con, table, df, run_id):  # type: ignore[no-untyped-def]
        if table == "objects":
            raise RuntimeError("disk full")
        return original(self, con, table, df, run_id)

    monkeypatch.setattr(Store, "_write", failing)
    with pytest.raises(RuntimeError):
        store.ingest(_batch())
    assert not store._written
    assert store.counts()["events"] == 0
    assert store.log().height == 0


def test_duplicate_keys_in_one_batch_are_written_once() -> None:
    store = wfmine.open(":memory:")
    b = _batch()
    b.events = pl.concat([b.events, b.events.head(2)])
    assert store.ingest(b)["added"]["events"] == 4
    assert store.log().equals(_read_back(store))


def test_input_key_is_the_documented_digest_of_every_file(tmp_path) -> None:
    """The key of a folder is the SHA-256 of the release, schema, reader, options and each
    file's relative path, size and modification time in ``sorted(rglob("*"))`` order: a
    store written by an earlier release (which made it with ``pathlib``) recognises its
    inputs. Names that sort differently as text and as path parts (``a-x`` before ``a/b``
    as text, after it as parts), hidden files, links to files, to folders (not followed)
    and to nothing."""
    import hashlib
    import json
    import os

    root = tmp_path / "exports"
    for rel in ("a/b.json", "a-x.json", "a/c/d.json", ".hidden.json", "z/.k/e.json", "b.json"):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(rel)
    os.symlink(root / "b.json", root / "link.json")
    os.symlink(root / "a", root / "dirlink")
    os.symlink(root / "gone.json", root / "broken.json")

    def reference(path: Path, kind: str) -> str:
        digest = hashlib.sha256()
        head = [wfmine.__version__, SCHEMA_VERSION, kind, str(path.resolve()), {}]
        digest.update(json.dumps(head, sort_keys=True, default=str).encode())
        for f in sorted(path.rglob("*")) if path.is_dir() else [path]:
            if f.exists() and f.is_file():
                st = f.stat()
                rel = f.relative_to(path).as_posix() if path.is_dir() else f.name
                digest.update(f"\0{rel}\0{st.st_size}\0{st.st_mtime_ns}".encode())
        return digest.hexdigest()

    store = Store(":memory:")
    for path in (root, root / "a", root / "b.json", root / "missing.json"):
        assert store.input_key(path, kind="github") == reference(path, "github"), path


def test_an_unchanged_input_is_held_and_a_changed_one_is_not(tmp_path) -> None:
    import os

    folder = tmp_path / "exports"
    folder.mkdir()
    (folder / "a.json").write_text("[]")
    store = Store(tmp_path / "s.duckdb")
    key = store.input_key(folder, kind="jira", options={"teams": {"P": "x"}})
    assert store.held_input(key) is None
    store.ingest(_batch(), origin=str(folder), input_key=key)
    held = store.held_input(key)
    assert held is not None and held["origin"] == str(folder)
    # the run says which objects its input covers; a run from before it kept them says nothing
    covered = store.run_objects(held["run_id"])
    assert covered is not None and covered.to_list() == _batch().object_ids().to_list()
    store.connection.execute("DELETE FROM run_objects")
    assert store.run_objects(held["run_id"]) is None
    assert store.input_key(folder, kind="jira", options={"teams": {"P": "x"}}) == key
    # other options, another reader, a touched or added file: read it again
    assert store.input_key(folder, kind="jira", options={"teams": {"P": "y"}}) != key
    assert store.input_key(folder, kind="github", options={"teams": {"P": "x"}}) != key
    st = (folder / "a.json").stat()
    os.utime(folder / "a.json", ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
    touched = store.input_key(folder, kind="jira", options={"teams": {"P": "x"}})
    assert touched != key and store.held_input(touched) is None
    (folder / "b.json").write_text("[]")
    assert store.input_key(folder, kind="jira", options={"teams": {"P": "x"}}) != touched


def test_a_failed_run_holds_no_input(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    (tmp_path / "x.json").write_text("[]")
    store = wfmine.open(":memory:")
    key = store.input_key(tmp_path / "x.json", kind="jira")

    def failing(self, con, table, df, run_id):  # type: ignore[no-untyped-def]
        raise RuntimeError("disk full")

    monkeypatch.setattr(Store, "_write", failing)
    with pytest.raises(RuntimeError):
        store.ingest(_batch(), input_key=key)
    assert store.held_input(key) is None


def test_duckdb_draws_no_progress_bar_into_json_output() -> None:
    store = wfmine.open(":memory:")
    setting = store.connection.execute("SELECT current_setting('enable_progress_bar')").fetchall()
    assert setting == [(False,)]


def test_findings_keep_their_name_assumption_and_suggestion(tmp_path: Path) -> None:
    """Findings stored and read back keep every DESIGN.md key (schema v3)."""
    import datetime as dt

    import polars as pl

    from wfmine.store import SCHEMA_VERSION, Store

    row = {
        "finding_id": "f1", "kind": "unowned_seam", "subject": "qa -> operations",
        "severity": "high", "summary": "No one owns it.", "evidence": '{"cases": ["a"]}',
        "first_seen": "2025-01-01T00:00:00Z", "last_seen": "2025-02-01T00:00:00Z",
        "trend": "stable", "generated_at": dt.datetime(2025, 2, 2, tzinfo=dt.UTC),
        "subject_name": "qa → operations", "assumption": "every handoff has an owner",
        "suggestion": '{"patch": "seams: []", "effect": "covers 3 handoffs"}',
    }  # fmt: skip
    with Store(tmp_path / "s.duckdb") as store:
        assert store.schema_version() == SCHEMA_VERSION >= 3
        store.replace_findings(pl.DataFrame([row]))
        back = store.table("findings").row(0, named=True)
    assert back["subject_name"] == "qa → operations"
    assert back["assumption"] == "every handoff has an owner"
    assert "covers 3 handoffs" in back["suggestion"]


def test_removing_a_run_is_never_answered_from_memory() -> None:
    store = wfmine.open(":memory:")
    store.ingest(_batch())
    extra = _batch()
    extra.events = extra.events.with_columns(pl.col("event_id") + "/2")
    second = store.ingest(extra)
    store.remove_run(second["run_id"])
    assert store.log().height == 4
    assert store.log().equals(_read_back(store))


def test_the_log_built_while_writing_an_empty_store_equals_the_log_read_back(tmp_path) -> None:
    # an empty store: ingest builds the work_item log from the batch while the rows are
    # written on another thread; it must be the frame the file gives, under every filter
    store = Store(tmp_path / "s.duckdb")
    store.ingest(_batch())
    assert store._prepared is not None
    for kwargs in (
        {},
        {"sources": ["github"]},
        {"objects": ["jira:P-1", "github:o/r@abc"]},
        {"objects": []},
    ):
        assert store.log(**kwargs).equals(_read_back(store, **kwargs)), kwargs  # type: ignore[arg-type]
    attrs, mapping = store.event_attrs(), store.case_map()
    store.forget_written()
    assert store._prepared is None
    assert attrs.equals(store.event_attrs())
    assert mapping.equals(store.case_map())
    store.close()


def test_a_standard_log_built_while_writing_equals_the_log_read_back(tmp_path) -> None:
    from wfmine.formats import tabular

    csv = tmp_path / "log.csv"
    csv.write_text(
        "case:concept:name,concept:name,time:timestamp,org:resource,org:group,cost\n"
        "c2,b,2024-01-01T10:00:00+00:00,ann,g1,3\n"
        "c1,a,2024-01-01T09:00:00+00:00,bob,g2,\n"
        "c1,b,2024-01-01T09:00:00+00:00,,g2,1.5\n"
        "c2,a,2024-01-01T08:00:00+00:00,ann,,2\n"
        "c3,a,,ann,g1,1\n"
    )
    store = Store(tmp_path / "s.duckdb")
    store.ingest(tabular.load(csv))
    assert store._prepared is not None
    assert store.log().equals(_read_back(store))
    assert store.log().get_column("resource").to_list() == ["bob", None, "ann", "ann"]
    attrs = store.event_attrs()
    store.forget_written()
    assert attrs.equals(store.event_attrs())
    store.close()


def test_a_failed_write_while_building_the_log_leaves_the_store_as_it_was(
    tmp_path, monkeypatch
) -> None:
    store = Store(tmp_path / "s.duckdb")
    before = store.counts()

    real = store._write

    def fail(con: object, table: str, *args: object) -> int:
        if table == "events":  # after the raw records went in: the transaction holds rows
            raise RuntimeError("disk full")
        return real(con, table, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(store, "_write", fail)
    with pytest.raises(RuntimeError, match="disk full"):
        store.ingest(_batch())
    assert store.counts() == before
    assert store._prepared is None and not store._written
    monkeypatch.undo()
    store.ingest(_batch())  # the store is usable, and the run is the first one
    assert store.runs().get_column("run_id").to_list() == [1]
    store.close()


def test_identities_resolved_later_are_seen_by_the_log_built_while_writing(tmp_path) -> None:
    from wfmine.identity import apply_identities

    store = Store(tmp_path / "s.duckdb")
    store.ingest(_batch())
    apply_identities(store)
    assert store._prepared is not None  # its actors are joined when the log is asked for
    assert store.log().equals(_read_back(store))
    assert store.log(objects=["jira:P-1"]).equals(_read_back(store, objects=["jira:P-1"]))
    store.close()


def test_a_batch_repeating_an_event_id_is_not_taken_for_the_rows_written(tmp_path) -> None:
    store = Store(tmp_path / "s.duckdb")
    batch = _batch()
    batch.events = pl.concat([batch.events, batch.events.head(1)])
    store.ingest(batch)
    assert store._prepared is None  # the write kept one row of the two: read the file
    assert store.log().equals(_read_back(store))
    store.close()
