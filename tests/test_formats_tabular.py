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
