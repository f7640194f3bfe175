"""OCEL reader: OCEL 1.0 JSON, OCEL 2.0 JSON and OCEL 2.0 SQLite."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

from wfmine.errors import FormatError
from wfmine.formats import ocel
from wfmine.store import Store

LOGS = Path(__file__).resolve().parents[2] / "shared" / "realdata" / "logs"
if not LOGS.is_dir():
    LOGS = Path("/work/shared/realdata/logs")


def test_ocel1_json_recruiting() -> None:
    path = LOGS / "recruiting-red.jsonocel"
    assert ocel.sniff(path)
    batch = ocel.load(path)
    batch.validate()
    raw = json.loads(path.read_text())
    assert batch.events.height == len(raw["ocel:events"])
    assert batch.objects.height == len(raw["ocel:objects"])
    relations = sum(len(e["ocel:omap"]) for e in raw["ocel:events"].values())
    assert batch.event_objects.height == relations
    assert batch.events.get_column("event_id").is_unique().all()


def test_ocel2_sqlite_example() -> None:
    path = LOGS / "ocel20_example.sqlite"
    assert ocel.sniff(path)
    batch = ocel.load(path)
    batch.validate()
    assert batch.events.height == 13
    assert batch.objects.height == 9
    assert batch.event_objects.height == 20
    assert batch.object_links.height == 7
    e1 = batch.events.filter(batch.events["event_id"] == "ocel:ocel20_example/e1").row(
        0, named=True
    )
    assert e1["activity"] == "Create Purchase Requisition"
    assert e1["object_id"] == "ocel:ocel20_example/PR1"
    assert set(batch.objects.get_column("object_type")) == {
        "Invoice", "Payment", "Purchase Order", "Purchase Requisition"
    }  # fmt: skip
    store = Store(":memory:")
    store.ingest(batch)
    assert all(v == 0 for v in store.ingest(batch)["added"].values())
    # an object type as case notion flattens like pm4py.ocel_flattening: one row per
    # (event, related object of that type); events unrelated to the type drop out
    import pm4py

    pm_ocel = pm4py.read_ocel2_sqlite(str(path))
    for object_type in ("Purchase Requisition", "Purchase Order", "Invoice", "Payment"):
        log = store.log(case_notion=object_type)
        flat = pm4py.ocel_flattening(pm_ocel, object_type)
        assert log.height == len(flat), object_type
        assert log.get_column("case_id").n_unique() == flat["case:concept:name"].nunique()


def test_ocel2_json(tmp_path: Path) -> None:
    doc = {
        "objectTypes": [{"name": "order", "attributes": [{"name": "price", "type": "float"}]},
                        {"name": "item", "attributes": []}],
        "eventTypes": [{"name": "place", "attributes": [{"name": "org:resource", "type": "string"}]}],
        "objects": [
            {"id": "o1", "type": "order",
             "attributes": [{"name": "price", "time": "1970-01-01T00:00:00Z", "value": 10},
                            {"name": "price", "time": "2024-01-02T00:00:00Z", "value": 12}],
             "relationships": [{"objectId": "i1", "qualifier": "contains"}]},
            {"id": "i1", "type": "item"},
        ],
        "events": [
            {"id": "e1", "type": "place", "time": "2024-01-01T10:00:00+01:00",
             "attributes": [{"name": "org:resource", "value": "ann"}],
             "relationships": [{"objectId": "o1", "qualifier": "order"},
                               {"objectId": "i1", "qualifier": "item"}]},
            {"id": "e2", "type": "ship", "time": "garbage", "relationships": []},
        ],
    }  # fmt: skip
    path = tmp_path / "shop.json"
    path.write_text(json.dumps(doc))
    assert ocel.sniff(path)
    batch = ocel.load(path)
    batch.validate()
    assert batch.events.height == 1
    assert batch.quarantine.height == 1
    event = batch.events.row(0, named=True)
    assert event["actor_id"] == "ocel:ann"
    assert event["object_id"] == "ocel:shop/i1"  # first related object by id
    assert event["timestamp"].hour == 9
    assert batch.event_objects.height == 2
    link = batch.object_links.row(0, named=True)
    assert (link["from_object"], link["to_object"], link["relation"]) == (
        "ocel:shop/o1", "ocel:shop/i1", "contains"
    )  # fmt: skip
    attrs = json.loads(batch.objects.row(0, named=True)["attrs"])
    assert attrs["price"] == 10 and attrs["ocel:changes"][0]["value"] == 12


def test_not_ocel(tmp_path: Path) -> None:
    path = tmp_path / "x.json"
    path.write_text('{"hello": 1}')
    assert not ocel.sniff(path)
    with pytest.raises(FormatError, match="not an OCEL"):
        ocel.load(path)
    bad = tmp_path / "bad.json"
    bad.write_text('{"events": [')
    with pytest.raises(FormatError) as info:
        ocel.load(bad)
    assert info.value.position is not None and info.value.position.startswith("line 1")


# -- OCEL 2.0 XML ---------------------------------------------------------------------


@pytest.mark.filterwarnings("ignore")
def test_ocel2_xml_reads_as_its_json_and_as_pm4py(tmp_path: Path) -> None:
    pm4py = pytest.importorskip("pm4py")
    from wfmine.connectors.registry import READERS
    from wfmine.formats import xes as xes_format

    log = pm4py.read_ocel2_sqlite(str(LOGS / "ocel20_example.sqlite"))
    as_xml, as_json = tmp_path / "example.xml", tmp_path / "example.json"
    pm4py.write_ocel2_xml(log, str(as_xml))
    pm4py.write_ocel2_json(log, str(as_json))
    assert ocel.sniff(as_xml) and not xes_format.sniff(as_xml)
    assert [k for k, r in READERS.items() if r.sniff(as_xml)] == ["ocel"]
    a = ocel.load(as_xml, {"dataset": "ex"})
    b = ocel.load(as_json, {"dataset": "ex"})
    for table in ("events", "objects", "event_objects", "object_links"):
        x = getattr(a, table).sort(pl.all())
        y = getattr(b, table).sort(pl.all())
        assert x.equals(y), table
    theirs = pm4py.read_ocel2_xml(str(as_xml))
    assert a.events.height == len(theirs.events)
    assert a.objects.height == len(theirs.objects)
    assert a.event_objects.height == len(theirs.relations)
    assert a.object_links.height == len(theirs.o2o)


# -- OCEL CSV (pm4py's extended table) ------------------------------------------------


@pytest.mark.filterwarnings("ignore")
@pytest.mark.parametrize("with_objects", [True, False])
def test_ocel_csv_equals_pm4py(tmp_path: Path, with_objects: bool) -> None:
    pm4py = pytest.importorskip("pm4py")
    from wfmine.connectors.registry import READERS

    log = pm4py.read_ocel2_sqlite(str(LOGS / "ocel20_example.sqlite"))
    events, objects = tmp_path / "example.csv", tmp_path / "example_objects.csv"
    pm4py.write_ocel_csv(log, str(events), str(objects))
    if not with_objects:
        objects.unlink()
    assert [k for k, r in READERS.items() if r.sniff(events)] == ["ocel"]
    ours = ocel.load(events, {"dataset": "ex"})
    theirs = pm4py.read_ocel_csv(str(events), str(objects) if with_objects else None)
    prefix = "ocel:ex/"
    assert sorted(ours.events.get_column("event_id").str.strip_prefix(prefix)) == sorted(
        theirs.events["ocel:eid"]
    )
    got = {
        (e.removeprefix(prefix), o.removeprefix(prefix))
        for e, o, _ in ours.event_objects.iter_rows()
    }
    assert got == set(zip(theirs.relations["ocel:eid"], theirs.relations["ocel:oid"], strict=True))
    types = dict(
        zip(ours.objects.get_column("key"), ours.objects.get_column("object_type"), strict=True)
    )
    assert types == dict(zip(theirs.objects["ocel:oid"], theirs.objects["ocel:type"], strict=True))
    # same instants, activities and attribute values as pm4py reads them
    ev = ours.events.sort("seq")
    pm = theirs.events.sort_values(["ocel:timestamp"], kind="stable")
    assert ev.get_column("activity").to_list() == list(pm["ocel:activity"])
    stamps = [t.replace(tzinfo=None) for t in ev.get_column("timestamp").to_list()]
    assert stamps == [t.to_pydatetime().replace(tzinfo=None) for t in pm["ocel:timestamp"]]
    attrs = [json.loads(a) for a in ev.get_column("attrs").to_list()]
    for row, (_, expected) in zip(attrs, pm.iterrows(), strict=True):
        for key, value in row.items():
            assert expected[key] == value
    if with_objects:
        by_key = dict(
            zip(ours.objects.get_column("key"), ours.objects.get_column("attrs"), strict=True)
        )
        assert json.loads(by_key["PO1"])["po_product"] == "Cows"
