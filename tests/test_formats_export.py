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


# -- lossless round trips, as pm4py reads them ----------------------------------------

pm4py_needed = pytest.mark.filterwarnings("ignore")


def _pm4py_xes(path: Path) -> pl.DataFrame:
    """pm4py's frame of an XES file: columns sorted, rows by case then file order."""
    pm4py = pytest.importorskip("pm4py")
    pdf = pm4py.read_xes(str(path), return_legacy_log_object=False).reset_index(drop=True)
    df = pl.from_pandas(pdf).with_row_index("_pos")
    df = df.with_columns(
        pl.col(pl.Datetime(time_zone="*")).dt.convert_time_zone("UTC").dt.cast_time_unit("us")
    )
    df = df.sort("case:concept:name", "time:timestamp", "_pos", maintain_order=True)
    return df.drop("_pos").select(sorted(df.columns[1:]))


@pm4py_needed
@pytest.mark.parametrize(
    "name",
    [
        "running-example.xes",
        "roadtraffic100traces.xes",
        "04_reviewing.xes.gz",
        "08_receipt.xes.gz",
        "13_SEPSIS_1t_per_variant.xes.gz",
    ],
)
def test_xes_round_trip_is_lossless_for_pm4py(tmp_path: Path, name: str) -> None:
    """XES -> wfmine -> XES: pm4py reads the same cases, events, activities, times, attributes."""
    store = _store(name)
    out = tmp_path / "rt.xes.gz"
    assert export.store_to_xes(store, out) == store.table("events").height
    original, back = _pm4py_xes(LOGS / name), _pm4py_xes(out)
    assert back.columns == original.columns
    assert back.schema == original.schema
    assert back.equals(original)


def test_xes_export_keeps_types_and_unprefixed_trace_ids(tmp_path: Path) -> None:
    import datetime as dt

    src = tmp_path / "typed.xes"
    src.write_text(
        '<?xml version="1.0" encoding="UTF-8"?>\n<log xes.version="1.0">\n'
        '<classifier name="Activity classifier" keys="concept:name lifecycle:transition"/>\n'
        '<trace><string key="concept:name" value="c1"/><int key="amount" value="12"/>'
        '<date key="due" value="2024-02-01T00:00:00.000+01:00"/>\n'
        '<event><string key="concept:name" value="A"/><string key="lifecycle:transition"'
        ' value="start"/><date key="time:timestamp" value="2024-01-01T10:00:00.000+00:00"/>'
        '<float key="cost" value="1.5"/><boolean key="ok" value="true"/>'
        '<string key="org:resource" value="Ann"/></event>\n'
        "</trace>\n</log>\n"
    )
    store = Store(":memory:")
    store.ingest(xes.load(src))
    out = tmp_path / "out.xes"
    export.store_to_xes(store, out)
    text = out.read_text()
    assert '<string key="concept:name" value="c1"/>' in text
    assert '<int key="amount" value="12"/>' in text
    assert '<date key="due" value="2024-01-31T23:00:00.000000+00:00"/>' in text
    assert '<float key="cost" value="1.5"/>' in text
    assert '<boolean key="ok" value="true"/>' in text
    assert '<string key="lifecycle:transition" value="start"/>' in text
    assert '<string key="org:resource" value="Ann"/>' in text
    assert 'keys="concept:name lifecycle:transition"' in text
    df, _ = xes.read_frame(out)
    assert df.get_column("case:amount").to_list() == [12]
    assert df.get_column("case:due").to_list() == [dt.datetime(2024, 1, 31, 23, 0)]


def _ocel_tables(path: Path) -> dict[str, pl.DataFrame]:
    pm4py = pytest.importorskip("pm4py")
    log = pm4py.read_ocel2_json(str(path))
    out = {}
    for name in ("events", "objects", "relations", "o2o", "object_changes"):
        pdf = getattr(log, name)
        df = pl.from_pandas(pdf[sorted(pdf.columns)].astype(str))
        out[name] = df.sort(pl.all())
    return out


@pm4py_needed
def test_ocel_json_round_trip_is_lossless_for_pm4py(tmp_path: Path) -> None:
    """OCEL 2.0 JSON -> wfmine -> OCEL 2.0 JSON: the same tables as pm4py reads them."""
    pm4py = pytest.importorskip("pm4py")
    src = tmp_path / "example.json"
    pm4py.write_ocel2_json(pm4py.read_ocel2_sqlite(str(LOGS / "ocel20_example.sqlite")), str(src))
    store = Store(":memory:")
    store.ingest(ocel.load(src))
    out = tmp_path / "back.json"
    export.to_ocel_json(store, out)
    original, back = _ocel_tables(src), _ocel_tables(out)
    for name, table in original.items():
        assert back[name].columns == table.columns, name
        assert back[name].equals(table), name
    # object attribute history keeps its real times (not 1970)
    changes = back["object_changes"].filter(~pl.col("ocel:timestamp").str.starts_with("1970"))
    assert changes.height == 3


@pm4py_needed
def test_ocel1_json_round_trip_as_ocel2_is_lossless_for_pm4py(tmp_path: Path) -> None:
    pm4py = pytest.importorskip("pm4py")
    src = tmp_path / "recruiting.json"
    pm4py.write_ocel2_json(pm4py.read_ocel(str(LOGS / "recruiting-red.jsonocel")), str(src))
    store = Store(":memory:")
    store.ingest(ocel.load(LOGS / "recruiting-red.jsonocel"))
    out = tmp_path / "back.json"
    export.to_ocel_json(store, out)
    original, back = _ocel_tables(src), _ocel_tables(out)
    for name, table in original.items():
        assert back[name].equals(table), name


def test_ocel_export_keeps_same_instant_order_and_plain_resources(tmp_path: Path) -> None:
    """Events at one instant keep their order (…/9 before …/10); resources are not prefixed."""
    src = tmp_path / "ties.xes"
    events = "".join(
        f'<event><string key="concept:name" value="step{i}"/>'
        f'<string key="org:resource" value="R{i}"/>'
        '<date key="time:timestamp" value="2024-01-01T10:00:00.000+00:00"/></event>\n'
        for i in range(12)
    )
    src.write_text(
        '<?xml version="1.0" encoding="UTF-8"?>\n<log xes.version="1.0">\n<trace>'
        f'<string key="concept:name" value="c1"/>\n{events}</trace>\n</log>\n'
    )
    store = Store(":memory:")
    store.ingest(xes.load(src))
    out = tmp_path / "ties.json"
    export.to_ocel_json(store, out)
    import json

    data = json.loads(out.read_text())
    assert [e["type"] for e in data["events"]] == [f"step{i}" for i in range(12)]
    for i, event in enumerate(data["events"]):
        names = [a["name"] for a in event["attributes"]]
        assert names.count("org:resource") == 1
        assert {"name": "org:resource", "value": f"R{i}"} in event["attributes"]
