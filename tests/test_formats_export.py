"""Exports: XES and Parquet round trips, OCEL 2.0 JSON read back."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from wfmine.formats import export, ocel, xes
from wfmine.store import Store

LOGS = Path(__file__).resolve().parents[2] / "shared" / "realdata" / "logs"
if not LOGS.is_dir():
    LOGS = Path("/work/shared/realdata/logs")


def _store(name: str) -> Store:
    store = Store(":memory:")
    store.ingest(xes.load(LOGS / name))
    return store


def _triples(df: pl.DataFrame, case: str, act: str, ts: str) -> pl.DataFrame:
    return df.select(
        pl.col(case).cast(pl.String).str.replace(r"^xes:[^/]+/", "").alias("case"),
        pl.col(act).alias("activity"),
        pl.col(ts).dt.replace_time_zone(None).dt.cast_time_unit("us").alias("ts")
        if df.schema[ts].time_zone is None  # type: ignore[union-attr]
        else pl.col(ts)
        .dt.convert_time_zone("UTC")
        .dt.replace_time_zone(None)
        .dt.cast_time_unit("us")
        .alias("ts"),
    ).sort(pl.all())


@pytest.mark.parametrize("suffix", [".xes", ".xes.gz"])
def test_xes_round_trip_rustxes_and_pm4py(tmp_path: Path, suffix: str) -> None:
    store = _store("running-example.xes")
    log = store.log()
    out = tmp_path / f"rt{suffix}"
    assert export.to_xes(log, out) == 42
    expected = _triples(log, "case_id", "activity", "timestamp")

    again = xes.load(out)
    assert again.events.height == 42
    back = again.events.select(
        pl.col("object_id").str.strip_prefix("xes:rt/").alias("case_id"), "activity", "timestamp"
    )
    assert _triples(back, "case_id", "activity", "timestamp").equals(expected)

    import rustxes

    df, _ = rustxes.import_xes(str(out))
    assert _triples(df, "case:concept:name", "concept:name", "time:timestamp").equals(expected)
    pm4py = pytest.importorskip("pm4py")
    pdf = pm4py.read_xes(str(out), variant="iterparse", return_legacy_log_object=False)
    ours = pl.from_pandas(pdf[["case:concept:name", "concept:name", "time:timestamp"]])
    assert _triples(ours, "case:concept:name", "concept:name", "time:timestamp").equals(expected)
    resources = set(df.get_column("org:resource"))
    assert resources == set(log.get_column("resource"))


def test_xes_escapes_special_characters(tmp_path: Path) -> None:
    import datetime as dt

    log = pl.DataFrame(
        {
            "case_id": ["a&b", "a&b"],
            "activity": ['say "hi" <now>', "tab\there\x01"],
            "timestamp": [dt.datetime(2024, 1, 1, tzinfo=dt.UTC)] * 2,
            "resource": ["R&D", None],
        }
    )
    out = tmp_path / "esc.xes"
    export.to_xes(log, out)
    batch = xes.load(out)
    assert batch.events.get_column("activity").to_list() == ['say "hi" <now>', "tab\there"]
    assert batch.objects.get_column("key").to_list() == ["a&b"]


def _utc(df: pl.DataFrame) -> pl.DataFrame:
    # DuckDB names UTC "Etc/UTC"; the instants are what must match
    return df.with_columns(pl.col(pl.Datetime("us", "*")).dt.convert_time_zone("UTC"))


def test_parquet_round_trip(tmp_path: Path) -> None:
    store = _store("running-example.xes")
    files = export.to_parquet(store, tmp_path / "pq")
    for table in ("events", "objects", "accounts", "raw_records"):
        stored = _utc(store.table(table)).sort(pl.all())
        read = _utc(pl.read_parquet(files[table])).sort(pl.all())
        assert read.equals(stored), table


def test_ocel_json_export_reads_back(tmp_path: Path) -> None:
    store = Store(":memory:")
    store.ingest(ocel.load(LOGS / "ocel20_example.sqlite"))
    out = tmp_path / "example.json"
    counts = export.to_ocel_json(store, out)
    assert counts == {"objects": 9, "events": 13}
    again = ocel.load(out)
    assert again.events.height == 13
    assert again.event_objects.height == 20
    assert again.object_links.height == 7
    assert sorted(again.events.get_column("timestamp")) == sorted(
        store.table("events").get_column("timestamp")
    )
