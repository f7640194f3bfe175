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


# -- the vectorised scanner (formats/_xes_scan): rustxes' frame, or a fall back to rustxes --


def _rustxes(path: Path) -> tuple[pl.DataFrame, dict[str, object]]:
    import json

    import rustxes

    df, meta = rustxes.import_xes(str(path))
    return df, json.loads(meta)


def _same_frame(ours: pl.DataFrame, theirs: pl.DataFrame) -> None:
    # rustxes' columns come in hash order (a new order each process): compare by name
    assert sorted(ours.columns) == sorted(theirs.columns)
    assert ours.schema == pl.Schema({c: theirs.schema[c] for c in ours.columns})
    assert ours.equals(theirs.select(ours.columns))


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_scanner_gives_rustxes_frame_and_meta_on_every_real_log(name: str) -> None:
    from wfmine.formats import _xes_scan

    path = LOGS / name
    ours, meta, captured = _xes_scan.read(path)  # read here, not fallen back
    theirs, their_meta = _rustxes(path)
    _same_frame(ours, theirs)
    assert meta == their_meta
    assert captured == ""


_HEAD = """<?xml version="1.0" encoding="UTF-8" ?>
<log xes.version="1.0" xmlns="http://www.xes-standard.org/">
\t<global scope="trace">
\t\t<string key="concept:name" value="UNKNOWN"/>
\t\t<string key="tg" value="TDEF"/>
\t</global>
\t<global scope="event">
\t\t<date key="time:timestamp" value="1970-01-01T00:00:00.000+01:00"/>
\t\t<string key="concept:name" value="UNKNOWN"/>
\t\t<string key="only_global" value="G"/>
\t\t<int key="n" value="7"/>
\t</global>
\t<classifier name="Activity classifier" keys="concept:name lifecycle:transition"/>
\t<string key="log attribute" value="x">
\t\t<string key="nested" value="y"/>
\t</string>
"""

#: bodies the scanner reads (it must give rustxes' frame for each)
_READ = {
    "types_and_entities": """\t<trace>
\t\t<string key="concept:name" value="c&amp;1"/>
\t\t<date key="opened" value="2011-10-01T00:38:44.546+02:00"/>
\t\t<event>
\t\t\t<string key="concept:name" value="a &lt;b&gt; &quot;q&quot; &apos;s&apos; &amp;lt;"/>
\t\t\t<date key="time:timestamp" value="2010-12-30T14:32:00.000+01:00"/>
\t\t\t<int key="n" value="-5"/>
\t\t\t<float key="f" value="1.5E3"/>
\t\t\t<boolean key="b" value="true"/>
\t\t\t<date key="d" value="2010-12-30T14:32:00Z"/>
\t\t\t<string key="raw" value="tab\there, a < and a >"/>
\t\t</event>
\t\t<event>
\t\t\t<string key="concept:name" value=""/>
\t\t\t<date key="time:timestamp" value="2010-12-30T23:59:59.123456789-05:30"/>
\t\t\t<boolean key="b" value="false"/>
\t\t\t<float key="f" value="-.25"/>
\t\t\t<date key="d" value="2010-12-30T14:32:00"/>
\t\t</event>
\t</trace>
""",
    "globals_fill_gaps": """\t<trace>
\t\t<event>
\t\t\t<string key="x" value="1"/>
\t\t</event>
\t</trace>
\t<trace>
\t\t<string key="concept:name" value="two"/>
\t\t<string key="tg" value="own"/>
\t\t<event>
\t\t\t<string key="concept:name" value="b"/>
\t\t\t<int key="n" value="3"/>
\t\t\t<date key="time:timestamp" value="2020-02-29T00:00:00+00:00"/>
\t\t</event>
\t</trace>
""",
    "pm4py_layout_blank_lines_late_trace_attributes": """  <trace>

    <event>
      <string key="concept:name" value="a" />
      <date key="time:timestamp" value="2020-01-01T10:00:00.5+01:00" />
    </event>
    <string key="concept:name" value="late" />
    <event>
      <string key="concept:name" value="b" />
      <date key="time:timestamp" value="2020-01-01T11:00:00+01:00" />
    </event>
  </trace>
  <trace>
    <string key="concept:name" value="no events" />
  </trace>
  <trace>
    <string key="concept:name" value="after" />
    <event>
      <string key="concept:name" value="c" />
    </event>
  </trace>

""",
}

#: bodies it leaves to rustxes (and why)
_FALLS_BACK = {
    "comment": "\t<trace>\n\t\t<!-- a comment -->\n\t\t<event>\n\t\t</event>\n\t</trace>\n",
    "two_elements_a_line": '\t<trace>\n\t\t<event><string key="a" value="1"/></event>\n\t</trace>\n',
    "nested_attribute": (
        '\t<trace>\n\t\t<event>\n\t\t\t<string key="a" value="1">\n'
        '\t\t\t\t<string key="b" value="2"/>\n\t\t\t</string>\n\t\t</event>\n\t</trace>\n'
    ),
    "list": '\t<trace>\n\t\t<event>\n\t\t\t<list key="l">\n\t\t\t</list>\n\t\t</event>\n\t</trace>\n',
    "id": '\t<trace>\n\t\t<event>\n\t\t\t<id key="i" value="abc"/>\n\t\t</event>\n\t</trace>\n',
    "cdata": "\t<trace>\n\t\t<event>\n<![CDATA[ x ]]>\n\t\t</event>\n\t</trace>\n",
    "single_quotes": "\t<trace>\n\t\t<event>\n\t\t\t<string key='a' value='1'/>\n\t\t</event>\n\t</trace>\n",
    "value_before_key": '\t<trace>\n\t\t<event>\n\t\t\t<string value="1" key="a"/>\n\t\t</event>\n\t</trace>\n',
    "quote_in_text": '\t<trace>"\n\t\t<event>\n\t\t\t<string key="a" value="1"/>\n\t\t</event>\n\t</trace>\n',
    "text_between": "\t<trace>\n\t\thello\n\t\t<event>\n\t\t</event>\n\t</trace>\n",
    "character_reference": '\t<trace>\n\t\t<event>\n\t\t\t<string key="a" value="&#65;"/>\n\t\t</event>\n\t</trace>\n',
    "two_types": (
        '\t<trace>\n\t\t<event>\n\t\t\t<string key="a" value="1"/>\n\t\t</event>\n'
        '\t\t<event>\n\t\t\t<int key="a" value="2"/>\n\t\t</event>\n\t</trace>\n'
    ),
    "global_of_another_type": '\t<trace>\n\t\t<event>\n\t\t\t<string key="n" value="1"/>\n\t\t</event>\n\t</trace>\n\t<trace>\n\t\t<event>\n\t\t\t<string key="x" value="1"/>\n\t\t</event>\n\t</trace>\n',
    "key_twice": '\t<trace>\n\t\t<event>\n\t\t\t<string key="a" value="1"/>\n\t\t\t<string key="a" value="2"/>\n\t\t</event>\n\t</trace>\n',
    "boolean_upper": '\t<trace>\n\t\t<event>\n\t\t\t<boolean key="b" value="TRUE"/>\n\t\t</event>\n\t</trace>\n',
    "int_plus": '\t<trace>\n\t\t<event>\n\t\t\t<int key="i" value="+5"/>\n\t\t</event>\n\t</trace>\n',
    "int_text": '\t<trace>\n\t\t<event>\n\t\t\t<int key="i" value="x"/>\n\t\t</event>\n\t</trace>\n',
    "float_nan": '\t<trace>\n\t\t<event>\n\t\t\t<float key="f" value="NaN"/>\n\t\t</event>\n\t</trace>\n',
    "date_only": '\t<trace>\n\t\t<event>\n\t\t\t<date key="d" value="2020-01-01"/>\n\t\t</event>\n\t</trace>\n',
    "event_outside_trace": '\t<event>\n\t\t<string key="a" value="1"/>\n\t</event>\n',
    "event_not_closed": '\t<trace>\n\t\t<event>\n\t\t\t<string key="a" value="1"/>\n\t</trace>\n',
    "attribute_named_case": '\t<trace>\n\t\t<event>\n\t\t\t<string key="case:a" value="1"/>\n\t\t</event>\n\t</trace>\n',
    "no_events": '\t<trace>\n\t\t<string key="concept:name" value="1"/>\n\t</trace>\n',
    "no_traces": "",
    "empty_key": '\t<trace>\n\t\t<event>\n\t\t\t<string key="" value="1"/>\n\t\t</event>\n\t</trace>\n',
}


def _xes_file(tmp_path: Path, name: str, body: str, *, tail: str = "</log>\n") -> Path:
    path = tmp_path / f"{name}.xes"
    path.write_text(_HEAD + body + tail, encoding="utf-8")
    return path


@pytest.mark.parametrize("name", sorted(_READ))
def test_scanner_reads_the_usual_shapes_as_rustxes_does(tmp_path: Path, name: str) -> None:
    from wfmine.formats import _xes_scan

    path = _xes_file(tmp_path, name, _READ[name])
    ours, meta, _ = _xes_scan.read(path)
    theirs, their_meta = _rustxes(path)
    _same_frame(ours, theirs)
    assert meta == their_meta
    # gzipped, too
    packed = tmp_path / f"{name}.xes.gz"
    packed.write_bytes(gzip.compress(path.read_bytes()))
    _same_frame(_xes_scan.read(packed)[0], theirs)


def test_scanner_fills_globals_and_keeps_entities_as_rustxes() -> None:
    # the scanner's own answer for the first case, spelled out (not only "as rustxes")
    import tempfile

    from wfmine.formats import _xes_scan

    with tempfile.TemporaryDirectory() as tmp:
        path = _xes_file(Path(tmp), "globals", _READ["globals_fill_gaps"])
        df = _xes_scan.read(path)[0]
    assert df.get_column("case:concept:name").to_list() == ["UNKNOWN", "two"]
    assert df.get_column("case:tg").to_list() == ["TDEF", "own"]
    assert df.get_column("n").to_list() == [7, 3]  # the global default, typed
    assert "only_global" not in df.columns  # no event or trace has it: no column
    assert df.get_column("x").to_list() == ["1", None]


@pytest.mark.parametrize("name", sorted(_FALLS_BACK))
def test_scanner_leaves_what_it_does_not_read_to_rustxes(tmp_path: Path, name: str) -> None:
    from wfmine.formats import _xes_scan

    path = _xes_file(tmp_path, name, _FALLS_BACK[name])
    assert _xes_scan.scan(path) is None
    # and load reads it as before, through rustxes (or fails the same way)
    try:
        _, theirs, their_meta, _, _ = xes._parse(path, fast=False)
    except FormatError as exc:
        with pytest.raises(FormatError) as info:
            xes._parse(path)
        assert str(info.value) == str(exc)
        return
    _, ours, meta, _, _ = xes._parse(path)
    _same_frame(ours, theirs)
    assert meta == their_meta


@pytest.mark.parametrize(
    "variant", ["crlf", "latin1", "after_log", "cut", "multi_member_gzip", "cut_gzip"]
)
def test_scanner_falls_back_on_odd_files(tmp_path: Path, variant: str) -> None:
    from wfmine.formats import _xes_scan

    good = _xes_file(tmp_path, "good", _READ["globals_fill_gaps"]).read_bytes()
    assert _xes_scan.scan(tmp_path / "good.xes") is not None
    data = {
        "crlf": good.replace(b"\n", b"\r\n"),
        "latin1": good.replace(b'encoding="UTF-8"', b'encoding="ISO-8859-1"'),
        "after_log": good + b"<!-- trailing -->\n",
        "cut": good[: len(good) - 20],
        "multi_member_gzip": gzip.compress(good[:400]) + gzip.compress(good[400:]),
        "cut_gzip": gzip.compress(good)[:-30],
    }[variant]
    path = tmp_path / "odd.xes"
    path.write_bytes(data)
    assert _xes_scan.scan(path) is None


def test_load_through_the_scanner_equals_load_through_rustxes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from wfmine.formats import _xes_scan

    path = _xes_file(tmp_path, "mixed", _READ["types_and_entities"])
    fast = xes.load(path)
    monkeypatch.setattr(_xes_scan, "scan", lambda p: None)
    slow = xes.load(path)
    for table in ("events", "objects", "accounts", "quarantine", "raw_records"):
        assert getattr(fast, table).equals(getattr(slow, table)), table


def test_raw_record_payload_is_the_json_of_the_whole_meta() -> None:
    import json

    path = LOGS / "08_receipt.xes.gz"
    payload = xes.load(path).raw_records.item(0, "payload")
    meta = json.loads(payload)
    # written member by member (the meta's on another thread): the text json.dumps gives
    assert payload == json.dumps(meta, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert {"file", "attribute_types", "classifier", "log_attributes"} <= set(meta)
    assert meta == {
        **xes.read_frame(path)[1],
        **{k: meta[k] for k in ("file", "attribute_types", "classifier")},
    }
