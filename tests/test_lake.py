"""The Parquet lake: layout, read-back by polars and DuckDB, incremental re-export."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import duckdb
import polars as pl
import pytest

import wfmine
from wfmine.lake import MANIFEST, export_parquet, read_manifest
from wfmine.model import Batch, frame
from wfmine.store import Store


def _batch(events: list[tuple[str, str, dt.datetime, int]], source: str = "csv") -> Batch:
    rows = [
        {
            "event_id": f"{obj}/{seq}",
            "activity": act,
            "timestamp": ts,
            "seq": seq,
            "actor_id": f"{source}:ann",
            "team": "a",
            "source": source,
            "object_id": obj,
            "attrs": "{}",
            "raw_ref": "",
        }
        for obj, act, ts, seq in events
    ]
    objects = [
        {
            "object_id": obj,
            "object_type": "case",
            "source": source,
            "key": obj,
            "title": obj,
            "attrs": "{}",
        }
        for obj in sorted({e[0] for e in events})
    ]
    return Batch(source=source, events=frame("events", rows), objects=frame("objects", objects))


def _t(month: int, day: int = 1) -> dt.datetime:
    return dt.datetime(2025, month, day, 12, tzinfo=dt.UTC)


@pytest.fixture
def store() -> Store:
    s = wfmine.open(":memory:")
    s.ingest(
        _batch(
            [
                ("csv:c1", "a", _t(1), 0),
                ("csv:c1", "b", _t(2), 1),
                ("csv:c2", "a", _t(2, 3), 0),
            ]
        )
    )
    return s


def test_layout_and_manifest(store: Store, tmp_path: Path) -> None:
    manifest = export_parquet(store, tmp_path)
    assert (tmp_path / MANIFEST).is_file()
    assert read_manifest(tmp_path) == manifest
    events = manifest["tables"]["events"]
    assert events["partition_by"] == ["source", "month"]
    assert events["rows"] == 3
    paths = sorted(p["path"] for p in events["partitions"])
    assert paths == ["events/source=csv/month=2025-01", "events/source=csv/month=2025-02"]
    for p in paths:
        assert (tmp_path / p / "part-0.parquet").is_file()
    assert manifest["case_notion"] == "work_item"
    assert manifest["wfmine_version"] == wfmine.__version__
    assert "case_id" in events["schema"] and "source" not in events["schema"]


def test_polars_and_duckdb_read_the_flat_log(store: Store, tmp_path: Path) -> None:
    export_parquet(store, tmp_path)
    back = pl.read_parquet(tmp_path / "events", hive_partitioning=True)
    log = store.log()
    cols = log.columns
    got = back.select(cols).sort("case_id", "timestamp", "seq", "event_id")
    assert got.equals(log.select(cols))
    n = duckdb.sql(
        f"SELECT count(*) FROM read_parquet('{tmp_path}/events/**/*.parquet', hive_partitioning=true)"
        " WHERE source = 'csv' AND month = '2025-02'"
    ).fetchall()[0][0]
    assert n == 2


def test_second_export_writes_only_what_changed(store: Store, tmp_path: Path) -> None:
    export_parquet(store, tmp_path)
    again = export_parquet(store, tmp_path)
    assert again["last_export"]["written"] == []
    store.ingest(_batch([("csv:c3", "a", _t(3), 0), ("csv:c2", "b", _t(2, 4), 1)]))
    third = export_parquet(store, tmp_path)
    written = third["last_export"]["written"]
    assert "events/source=csv/month=2025-03" in written  # new partition
    assert "events/source=csv/month=2025-02" in written  # changed partition
    assert "events/source=csv/month=2025-01" not in written  # untouched
    assert third["tables"]["events"]["rows"] == 5
    back = pl.read_parquet(tmp_path / "events", hive_partitioning=True)
    assert back.height == 5


def test_other_case_notion_rewrites_everything(store: Store, tmp_path: Path) -> None:
    export_parquet(store, tmp_path)
    other = export_parquet(store, tmp_path, case_notion="object")
    assert other["case_notion"] == "object"
    assert len(other["last_export"]["written"]) > 0
    assert other["last_export"]["unchanged"] == []


def test_empty_store(tmp_path: Path) -> None:
    manifest = export_parquet(wfmine.open(":memory:"), tmp_path)
    assert manifest["tables"]["events"]["rows"] == 0
    assert manifest["tables"]["events"]["partitions"] == []


# -- wfmine discover --engine spark: what fails before Spark starts ---------------------


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--master", "local[2]", "{missing}"], "does not exist; write a lake"),
        (["{lake}"], "has no manifest.json"),
        (["--master", "nope", "{real}"], "unknown Spark master 'nope'"),
    ],
)
def test_discover_engine_spark_fails_in_one_line(
    store: Store, tmp_path: Path, args: list[str], message: str
) -> None:
    """A missing lake, a folder that is no lake and an unknown master: exit 2, one line, no JVM."""
    from typer.testing import CliRunner

    from wfmine.cli import app

    export_parquet(store, tmp_path / "real")
    (tmp_path / "plain").mkdir()
    paths = {"missing": tmp_path / "gone", "lake": tmp_path / "plain", "real": tmp_path / "real"}
    argv = [a.format(**paths) for a in args]
    result = CliRunner().invoke(app, ["discover", "--engine", "spark", *argv])
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0]


def test_spark_without_java_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    from wfmine.errors import ConfigError
    from wfmine.spark._engine import require_java

    monkeypatch.setenv("PATH", "/nonexistent")
    monkeypatch.delenv("JAVA_HOME", raising=False)
    with pytest.raises(ConfigError, match="needs Java 17"):
        require_java()


@pytest.mark.parametrize(
    "master",
    [
        "local",
        "local[2]",
        "local[*]",
        "local[4, 2]",
        "spark://h:7077",
        "yarn",
        "k8s://https://h:6443",
    ],
)
def test_spark_masters_accepted(master: str) -> None:
    from wfmine.spark._engine import check_master

    assert check_master(master) == master


def test_the_lake_reads_back_as_a_log(store: Store, tmp_path: Path) -> None:
    """``wfmine.Log.from_parquet``: the embedded engine reads the lake into the same log."""
    from wfmine.errors import InputError

    export_parquet(store, tmp_path / "lake")
    log = wfmine.Log.from_parquet(tmp_path / "lake")
    assert log.events.equals(store.log())
    assert log.variants().equals(wfmine.Log(store).variants())
    with pytest.raises(InputError, match=r"has no manifest\.json"):
        wfmine.Log.from_parquet(tmp_path)


# -- the kinds table: per case its kind of work item ----------------------------------------


def _issues(items: dict[str, tuple[str, int]]) -> Batch:
    """Jira issues ``{key: (type, month)}``: each created (its type in the attrs) then moved."""
    rows, objects = [], []
    for key, (kind, month) in items.items():
        obj = f"jira:{key}"
        for seq, act in enumerate(("Issue created", "Status: QA")):
            rows.append({
                "event_id": f"{obj}/{seq}", "activity": act, "timestamp": _t(month, 1 + seq),
                "seq": seq, "actor_id": "jira:ann", "team": "a", "source": "jira",
                "object_id": obj, "attrs": json.dumps({"type": kind} if seq == 0 else {}),
                "raw_ref": "",
            })  # fmt: skip
        objects.append({"object_id": obj, "object_type": "issue", "source": "jira", "key": key,
                        "title": key, "attrs": "{}"})  # fmt: skip
    return Batch(source="jira", events=frame("events", rows), objects=frame("objects", objects))


def test_kinds_table_is_written_and_read(tmp_path: Path) -> None:
    """``kinds/month=*``: per case its tracker's type (and priority), as the embedded findings
    read them from the store's attrs (:func:`wfmine.model.work_item_kinds`)."""
    from wfmine.lake import LAKE_FORMAT, read_kinds
    from wfmine.model import KIND_SCHEMA

    store = wfmine.open(":memory:")
    store.ingest(_issues({"APP-1": ("Bug", 1), "APP-2": ("Story", 2)}))
    manifest = export_parquet(store, tmp_path)
    assert manifest["format"] == LAKE_FORMAT == 2
    kinds = manifest["tables"]["kinds"]
    assert kinds["partition_by"] == ["month"] and kinds["rows"] == 2
    assert sorted(p["path"] for p in kinds["partitions"]) == [
        "kinds/month=2025-01", "kinds/month=2025-02",
    ]  # fmt: skip
    back = read_kinds(tmp_path)
    assert back is not None and back.schema == KIND_SCHEMA
    assert back.rows() == [("jira:APP-1", "Bug", None), ("jira:APP-2", "Story", None)]
    # a store without a tracker: the table is there, empty (no kinds, nothing to warn about)
    export_parquet(wfmine.open(":memory:"), tmp_path / "empty")
    assert read_kinds(tmp_path / "empty") is None


def test_kinds_are_exported_incrementally(tmp_path: Path) -> None:
    store = wfmine.open(":memory:")
    store.ingest(_issues({"APP-1": ("Bug", 1), "APP-2": ("Story", 2)}))
    export_parquet(store, tmp_path)
    assert export_parquet(store, tmp_path)["last_export"]["written"] == []
    store.ingest(_issues({"APP-3": ("Bug", 3)}))
    written = export_parquet(store, tmp_path)["last_export"]["written"]
    assert "kinds/month=2025-03" in written
    assert not any(w in written for w in ("kinds/month=2025-01", "kinds/month=2025-02"))


def test_a_lake_of_the_previous_format_is_rewritten_and_read(tmp_path: Path) -> None:
    """Format 1 (no kinds table): reads as no kinds, with a warning; the next export rewrites
    it whole in the current format."""
    from wfmine.lake import LakeWarning, read_kinds

    store = wfmine.open(":memory:")
    store.ingest(_issues({"APP-1": ("Bug", 1)}))
    export_parquet(store, tmp_path)
    manifest = read_manifest(tmp_path)
    assert manifest is not None
    manifest["format"] = 1
    del manifest["tables"]["kinds"]
    (tmp_path / MANIFEST).write_text(json.dumps(manifest))
    with pytest.warns(LakeWarning, match="no kinds table"):
        assert read_kinds(tmp_path) is None
    again = export_parquet(store, tmp_path)
    assert again["format"] == 2 and again["last_export"]["unchanged"] == []
    assert read_kinds(tmp_path) is not None
