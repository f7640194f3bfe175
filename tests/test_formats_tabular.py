"""CSV / Parquet reader: column mapping, mixed offsets, quarantine, shuffle invariance."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from wfmine.errors import FormatError
from wfmine.formats import tabular, xes
from wfmine.store import Store

LOGS = Path(__file__).resolve().parents[2] / "shared" / "realdata" / "logs"
if not LOGS.is_dir():
    LOGS = Path("/work/shared/realdata/logs")
RECEIPT = LOGS / "receipt.csv"


def _key(events: pl.DataFrame, prefix: str) -> pl.DataFrame:
    return events.select(
        pl.col("object_id").str.strip_prefix(prefix).alias("case"), "activity", "timestamp"
    ).sort(pl.all())


def test_receipt_csv_matches_the_xes_log() -> None:
    assert tabular.sniff(RECEIPT)
    batch = tabular.load(RECEIPT)
    batch.validate()
    assert batch.events.height == 8577
    assert batch.objects.height == 1434
    assert batch.quarantine.height == 0
    reference = xes.load(LOGS / "08_receipt.xes.gz").events
    assert _key(batch.events, "csv:receipt/").equals(_key(reference, "xes:08_receipt/"))
    assert batch.events.get_column("team").null_count() == 0


def test_shuffled_rows_give_the_same_events(tmp_path: Path) -> None:
    shuffled = tmp_path / "receipt.csv"
    pl.read_csv(RECEIPT, infer_schema=False).sample(fraction=1.0, shuffle=True, seed=3).write_csv(
        shuffled
    )
    a = tabular.load(RECEIPT).events.sort("event_id")
    b = tabular.load(shuffled).events.sort("event_id")
    assert a.equals(b)


def test_mapping_quarantine_and_missing_column(tmp_path: Path) -> None:
    path = tmp_path / "log.csv"
    path.write_text(
        "ticket;step;at;who\n"
        "T1;open;2024-03-01 10:00:00+01:00;ann\n"
        "T1;close;2024-03-01 12:00:00+02:00;bob\n"
        "T2;open;not a time;ann\n"
        ";open;2024-03-01 10:00:00;ann\n"
    )
    options = {"case": "ticket", "activity": "step", "timestamp": "at", "resource": "who",
               "separator": ";"}  # fmt: skip
    batch = tabular.load(path, options)
    assert batch.events.height == 2
    assert batch.events.get_column("timestamp").dt.hour().to_list() == [9, 10]
    assert batch.quarantine.height == 2
    reasons = batch.quarantine.get_column("reason").to_list()
    assert any("unparsable timestamp" in r for r in reasons)
    assert any("missing case" in r for r in reasons)
    assert "#row 3 (line 4)" in batch.quarantine.get_column("record_ref").to_list()[0]
    with pytest.raises(FormatError, match=r"'nope'.*ticket"):
        tabular.load(path, {**options, "activity": "nope"})


def test_parquet_and_file_order(tmp_path: Path) -> None:
    df = pl.read_csv(RECEIPT, infer_schema=False)
    path = tmp_path / "receipt.parquet"
    df.write_parquet(path)
    assert tabular.sniff(path)
    batch = tabular.load(path)
    assert batch.source == "parquet"
    assert batch.events.height == 8577
    ordered = tabular.load(RECEIPT, {"order": "file"})
    assert ordered.events.height == 8577


def test_reingest_adds_nothing() -> None:
    batch = tabular.load(RECEIPT)
    store = Store(":memory:")
    assert store.ingest(batch)["added"]["events"] == 8577
    assert all(v == 0 for v in store.ingest(batch)["added"].values())


def test_raw_rows_are_re_derived_from_the_file_byte_for_byte(tmp_path: Path) -> None:
    import json

    path = tmp_path / "log.csv"
    text = (
        "case:concept:name,concept:name,time:timestamp,org:resource,note\n"
        'T1, open ,2024-03-01 10:00:00+01:00,ann,"a, quoted\nnote"\n'
        "T1,close,2024-03-01T12:00:00+02:00,bob,\n"
        "T2,open,2024-03-02,ann,x\n"
        "T2,close,not a time,ann,y\n"
    )
    path.write_text(text)
    store = Store(":memory:")
    store.ingest(tabular.load(path))
    raw = store.table("raw_records")
    assert raw.height == 1
    payload = json.loads(raw.item(0, "payload"))
    assert payload["file"]["size"] == len(text.encode())
    # nothing per row is stored for this: raw_ref names the file's raw record
    events = store.table("events").sort("event_id")
    assert events.get_column("raw_ref").unique().to_list() == ["table:log"]
    rows = tabular.raw_rows(raw.item(0, "payload"))
    original = pl.read_csv(path, infer_schema=False).with_row_index("row", offset=1)
    assert rows.drop("event_id").equals(original)
    # each event is the row it is derived from; the quarantined row has no event
    joined = events.join(rows, on="event_id")
    assert joined.height == events.height == 3
    assert (
        joined.get_column("object_id") == "csv:log/" + joined.get_column("case:concept:name")
    ).all()
    assert (
        joined.get_column("activity") == joined.get_column("concept:name").str.strip_chars()
    ).all()
    first = rows.filter(pl.col("row") == 1)
    assert first.item(0, "note") == "a, quoted\nnote" and first.item(0, "concept:name") == " open "
    assert rows.filter(pl.col("row") == 4).item(0, "event_id") is None
    assert "#row 4 " in store.table("quarantine").item(0, "record_ref")
    some = tabular.raw_rows(payload, [events.item(0, "event_id")])
    assert some.height == 1 and some.item(0, "event_id") == events.item(0, "event_id")
    # a changed file is refused, never silently re-read
    path.write_text(text.replace("ann", "amy"))
    with pytest.raises(FormatError, match="changed"):
        tabular.raw_rows(payload)
    path.unlink()
    with pytest.raises(FormatError, match="gone"):
        tabular.raw_rows(payload)


def test_parquet_raw_rows_and_idempotent_reingest(tmp_path: Path) -> None:
    path = tmp_path / "receipt.parquet"
    pl.read_csv(RECEIPT, infer_schema=False).write_parquet(path)
    store = Store(":memory:")
    first = store.ingest(tabular.load(path))
    assert first["added"]["events"] == 8577 and first["added"]["raw_records"] == 1
    assert all(v == 0 for v in store.ingest(tabular.load(path))["added"].values())
    payload = store.table("raw_records").item(0, "payload")
    assert tabular.raw_rows(payload).height == 8577


def test_sampled_timestamp_layout_reads_like_the_full_parse(tmp_path: Path) -> None:
    from wfmine.formats import parse_utc_expr

    values = [
        "2024-03-01 10:00:00+01:00", "2024-03-01T10:00:00Z", "2024-03-01", "01.03.2024 10:00:00",
        "garbage", "", " 2024-03-01T10:00:00.123456+0200 ", "2024/03/01 10:00:00",
        "2024-03-01T09:00", "2024-03-01T09:00+05:00", "2024-10-27 02:30:00+02:00",
    ]  # fmt: skip
    for head in (values, values[1:], values[3:], values[::-1]):
        df = pl.DataFrame({"t": head * 3}, schema={"t": pl.String})
        expected = df.select(parse_utc_expr(pl.col("t")).alias("t"))
        got = df.select(tabular._parse_timestamps(df, "t", None).alias("t"))
        assert got.equals(expected), head


def test_a_rerun_can_tell_a_held_file_without_parsing_it(tmp_path: Path) -> None:
    import os

    path = tmp_path / "receipt.csv"
    path.write_bytes(RECEIPT.read_bytes())
    store = Store(tmp_path / "s.duckdb")
    assert store.holds_file(path) is None
    store.ingest(tabular.load(path))
    held = store.holds_file(path, verify=True)
    assert held is not None
    assert (held["source"], held["record_type"], held["record_id"]) == ("csv", "table", "receipt")
    assert held["file"]["sha256"] == store.holds_file(path)["file"]["sha256"]  # type: ignore[index]
    # touched (new mtime) or changed: no longer held, so it is read again
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
    assert store.holds_file(path) is None
    assert store.holds_file(tmp_path / "missing.csv") is None


def test_the_iso_offset_fast_path_reads_what_the_full_parse_reads() -> None:
    from wfmine.formats import parse_utc_expr

    odd = [
        "2024-01-01T10:00:00+01:30", "2024-01-01T10:00:00-05:00", "2024-01-01T10:00:00Z",
        "2024-01-01T10:00:00", "2024-01-01T10:00:00.123+00:00", "2024-01-01 10:00:00+00:00",
        "2024-02-30T10:00:00+00:00", "2024-01-01T24:00:00+00:00", "2024-01-01T10:00:60+00:00",
        "2024-01-01T10:00:00+24:00", "2024-01-01T10:00:00+23:59", "2024-01-01T10:00:00+0100",
        "2024-1-01T10:00:00+00:00", "2024-01-01T10:00:00+00:00x", "2024-01-01T10:00:00z",
        "2024-01-01T10:00:00 +00:00", "2024-01-01T10:00:00+00:60", "0001-01-01T00:00:00+00:00",
        "", "garbage", None,
    ]  # fmt: skip
    # a column of the layout (so the fast path is chosen) with every odd value among it
    df = pl.DataFrame({"t": ["2024-03-01T10:00:00+02:00"] * 50 + odd}, schema={"t": pl.String})
    fast = tabular._iso_seconds(df.get_column("t"))
    full = df.select(parse_utc_expr(pl.col("t"))).to_series()
    read = fast.is_not_null()
    assert read.sum() == 56 and fast.filter(read).equals(full.filter(read))
    got = df.select(tabular._parse_timestamps(df, "t", None).alias("t")).to_series()
    assert got.equals(full.alias("t"))
