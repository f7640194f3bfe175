"""XES reader: real logs load with pm4py's counts and timestamps; malformed files fail clearly."""

from __future__ import annotations

import gzip
import re
from pathlib import Path

import polars as pl
import pytest

from wfmine.errors import FormatError
from wfmine.formats import xes
from wfmine.store import Store

LOGS = Path(__file__).resolve().parents[2] / "shared" / "realdata" / "logs"
if not LOGS.is_dir():
    LOGS = Path("/work/shared/realdata/logs")

# file -> (events, cases, activities) as in ../shared/realdata/README.md
EXPECTED = {
    "running-example.xes": (42, 6, 8),
    "roadtraffic100traces.xes": (390, 100, 10),
    "04_reviewing.xes.gz": (3730, 100, 14),
    "08_receipt.xes.gz": (8577, 1434, 27),
    "03_repairExample.xes.gz": (11855, 1104, 8),
    "13_SEPSIS_1t_per_variant.xes.gz": (13775, 846, 16),
    "helpdesk.xes.gz": (21348, 4580, 14),
    "15_bpic2020_permit_log_1t_per_variant.xes.gz": (26028, 1478, 51),
    "02_teleclaims.xes.gz": (46138, 3512, 11),
    "bpic2012.xes.gz": (262200, 13087, 24),
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_real_logs_load_with_readme_counts(name: str) -> None:
    path = LOGS / name
    assert xes.sniff(path)
    batch = xes.load(path)
    batch.validate()
    events, cases, activities = EXPECTED[name]
    assert batch.events.height == events
    assert batch.objects.height == cases
    assert batch.events.get_column("activity").n_unique() == activities
    assert batch.quarantine.height == 0
    assert batch.stats["events"] == events
    assert batch.events.get_column("event_id").is_unique().all()


def test_running_example_mapping() -> None:
    batch = xes.load(LOGS / "running-example.xes")
    first = batch.events.row(0, named=True)
    assert first["event_id"] == "xes:running-example/3/0"
    assert first["object_id"] == "xes:running-example/3"
    assert first["actor_id"] == "xes:Pete"
    assert first["raw_ref"] == "trace:3"
    assert first["attrs"] == '{"Activity":"register request","Costs":"50","Resource":"Pete"}'
    assert batch.objects.row(0, named=True)["attrs"] == '{"creator":"Fluxicon Nitro"}'
    assert set(batch.accounts.get_column("account_id")) >= {"xes:Pete", "xes:Mike"}
    assert batch.raw_records.height == 1
    assert batch.raw_records.row(0, named=True)["record_type"] == "log"


def _pm4py_events(path: Path) -> pl.DataFrame:
    pm4py = pytest.importorskip("pm4py")
    # the classic Python parser: an independent check of rustxes' timestamps
    df = pm4py.read_xes(str(path), variant="iterparse", return_legacy_log_object=False)
    out = pl.from_pandas(df[["case:concept:name", "concept:name", "time:timestamp"]])
    return out.select(
        pl.col("case:concept:name").cast(pl.String).alias("case"),
        pl.col("concept:name").alias("activity"),
        pl.col("time:timestamp").dt.convert_time_zone("UTC").dt.cast_time_unit("us").alias("ts"),
    ).sort(pl.all())


@pytest.mark.parametrize("name", ["running-example.xes", "08_receipt.xes.gz"])
def test_timestamps_equal_pm4py(name: str) -> None:
    expected = _pm4py_events(LOGS / name)
    batch = xes.load(LOGS / name)
    ours = batch.events.join(batch.objects.select("object_id", "key"), on="object_id").select(
        pl.col("key").alias("case"), "activity", pl.col("timestamp").alias("ts")
    )
    assert ours.sort(pl.all()).equals(expected)


def test_reingest_adds_nothing() -> None:
    batch = xes.load(LOGS / "running-example.xes")
    store = Store(":memory:")
    first = store.ingest(batch)
    assert first["added"]["events"] == 42
    second = store.ingest(batch)
    assert all(v == 0 for v in second["added"].values())


def _broken(tmp_path: Path) -> dict[str, Path]:
    good = (LOGS / "running-example.xes").read_bytes()
    files = {
        "truncated": good[:3000],
        "unclosed": good.replace(b"</event>", b"</evnt>", 1),
        "garbage": bytes(range(256)) * 4,
        "not_xes": b'<?xml version="1.0"?>\n<html><body>hi</body></html>\n',
    }
    out = {}
    for name, data in files.items():
        out[name] = tmp_path / f"{name}.xes"
        out[name].write_bytes(data)
    gz = gzip.compress(good)
    out["bad_gzip"] = tmp_path / "cut.xes.gz"
    out["bad_gzip"].write_bytes(gz[: len(gz) // 2])
    out["not_gzip"] = tmp_path / "plain.xes.gz"
    out["not_gzip"].write_bytes(b"hello, not gzip and not XML\n")
    out["empty_gzip"] = tmp_path / "empty.xes.gz"
    out["empty_gzip"].write_bytes(b"")
    return out


@pytest.mark.parametrize(
    "kind", ["truncated", "unclosed", "garbage", "not_xes", "bad_gzip", "not_gzip", "empty_gzip"]
)
def test_malformed_raises_format_error_with_position(tmp_path: Path, kind: str) -> None:
    path = _broken(tmp_path)[kind]
    with pytest.raises(FormatError) as info:
        xes.load(path)
    err = info.value
    assert err.path == str(path)
    assert err.position is not None and re.fullmatch(r"line \d+, column \d+", err.position)
    assert str(path) in str(err)


def test_unclosed_tag_position_is_exact(tmp_path: Path) -> None:
    path = _broken(tmp_path)["unclosed"]
    with pytest.raises(FormatError, match="mismatched tag") as info:
        xes.load(path)
    assert info.value.position == "line 30, column 7"


def test_content_decides_not_the_name(tmp_path: Path) -> None:
    good = (LOGS / "running-example.xes").read_bytes()
    plain_named_gz = tmp_path / "plain.xes.gz"
    plain_named_gz.write_bytes(good)
    gz_named_plain = tmp_path / "packed.xes"
    gz_named_plain.write_bytes(gzip.compress(good))
    for path in (plain_named_gz, gz_named_plain):
        assert xes.sniff(path)
        assert xes.load(path, {"dataset": "running-example"}).events.height == 42


def test_missing_file_and_missing_activity(tmp_path: Path) -> None:
    with pytest.raises(FormatError, match="no such file"):
        xes.load(tmp_path / "nope.xes")
    text = (LOGS / "running-example.xes").read_text()
    text = re.sub(
        r'<string key="concept:name" value="[^"]*"/>\s*(?=<string key="org:resource")', "", text
    )
    path = tmp_path / "noact.xes"
    path.write_text(text)
    with pytest.raises(FormatError, match="concept:name"):
        xes.load(path)


def test_event_without_timestamp_is_quarantined(tmp_path: Path) -> None:
    text = (LOGS / "running-example.xes").read_text()
    text = text.replace('<date key="time:timestamp" value="2010-12-30T14:32:00.000+01:00"/>', "", 1)
    path = tmp_path / "nots.xes"
    path.write_text(text)
    batch = xes.load(path)
    assert batch.events.height == 41
    assert batch.quarantine.height == 1
    assert "time:timestamp" in batch.quarantine.row(0, named=True)["reason"]


def test_event_named_only_by_the_global_default_is_quarantined(tmp_path: Path) -> None:
    # rustxes fills the log's global default (here "name") into an event without a
    # concept:name: that is no activity, so the event is quarantined, not named "name"
    text = (LOGS / "running-example.xes").read_text()
    assert '<string key="concept:name" value="name"/>' in text  # the global default
    text = text.replace('<string key="concept:name" value="register request"/>', "", 1)
    path = tmp_path / "oneunnamed.xes"
    path.write_text(text)
    batch = xes.load(path)
    assert batch.events.height == 41
    assert "name" not in batch.events.get_column("activity").to_list()
    assert batch.quarantine.height == 1
    assert "global default 'name'" in batch.quarantine.row(0, named=True)["reason"]


def test_a_classifier_keeps_the_events_own_name_and_exports_it_back(tmp_path: Path) -> None:
    from wfmine.formats.export import store_to_xes

    src = LOGS / "03_repairExample.xes.gz"
    opts = {"classifier": "MXML Legacy Classifier"}
    with Store(tmp_path / "a.duckdb") as store:
        store.ingest(xes.load(src, opts))
        first = store.sql("SELECT activity, timestamp, attrs FROM events ORDER BY ALL")
        store_to_xes(store, tmp_path / "out.xes")
    assert first.row(0, named=True)["activity"].endswith("+complete")
    assert '"concept:name":' in first.row(0, named=True)["attrs"]
    # the export writes the events' own concept:name; read again with the same classifier,
    # it gives the same events
    with Store(tmp_path / "b.duckdb") as store:
        store.ingest(xes.load(tmp_path / "out.xes", opts))
        again = store.sql("SELECT activity, timestamp, attrs FROM events ORDER BY ALL")
    assert again.equals(first)


def test_sniff_rejects_foreign_files(tmp_path: Path) -> None:
    assert not xes.sniff(LOGS / "receipt.csv")
    assert not xes.sniff(LOGS / "recruiting-red.jsonocel")
    assert not xes.sniff(tmp_path)


def test_raw_record_identifies_the_file_and_a_rerun_sees_it_held(tmp_path: Path) -> None:
    import hashlib
    import json

    source = LOGS / "running-example.xes"
    path = tmp_path / "running-example.xes"
    path.write_bytes(source.read_bytes())
    store = Store(":memory:")
    store.ingest(xes.load(path))
    payload = json.loads(store.table("raw_records").item(0, "payload"))
    assert payload["file"]["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert payload["file"]["path"] == str(path.resolve())
    assert {"extensions", "classifiers"} <= set(payload)  # the log meta is still there
    held = store.holds_file(path, verify=True)
    assert held is not None and held["record_id"] == "running-example"
