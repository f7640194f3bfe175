"""The connectors' fast paths give what the plain ones gave: JSON text, decoding, timestamps, files.

orjson (:func:`wfmine.connectors._batch.json_text`, :func:`parse_json`), the
batch builder's ``utc`` and :func:`wfmine.connectors._base.export_files`
replace slower code on the ingest path; each is checked here against what it
replaces, on the values where the two could part.
"""

from __future__ import annotations

import datetime as dt
import gc
import json
import os
from pathlib import Path
from typing import Any

import pytest

from wfmine.connectors._base import export_files, export_paths, paused_gc, shared_listings
from wfmine.connectors._batch import BatchBuilder, json_text, parse_json, utc
from wfmine.model import to_json, to_utc

VALUES: list[Any] = [
    {"b": 1, "a": [True, False, None], "c": {"z": "é", "y": "😀"}},
    {"text": 'tab\tnew\nline "quoted" back\\slash \x00\x1f\x7f \u2028 end'},
    [1, -2, 0, 2**63 - 1, -(2**63), 0.5, 1.25, 123456.789, -0.0],
    {"big": 2**64, "bigger": -(2**70)},  # past 64 bits: orjson refuses, to_json writes them
    {2: "int keys", 1: "x"},  # keys that are not strings: to_json's text
    {"when": dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=dt.UTC)},  # default=str
    {"nested": [[[]], {}, ""]},
    "plain text",
    None,
]


@pytest.mark.parametrize("value", VALUES, ids=range(len(VALUES)))
def test_json_text_is_to_json(value: Any) -> None:
    assert json_text(value) == to_json(value)


def test_parse_json_reads_what_the_standard_library_read() -> None:
    assert parse_json(b'\xef\xbb\xbf{"a": 1}') == {"a": 1}
    # NaN is not JSON: the standard library reads it, and it is written back as before
    doc = parse_json(b'{"x": NaN, "y": [Infinity]}')
    assert json_text(doc) == '{"x":NaN,"y":[Infinity]}'
    # a byte that is not UTF-8 stays in the text as a lone surrogate (read_text's way)
    bad = parse_json(b'{"name": "caf\xe9"}')
    assert bad == {"name": "caf\udce9"}
    builder = BatchBuilder("demo")
    assert builder.reject_unreadable("f.json#0", bad)
    assert builder.quarantine[0]["payload"] == '{"name":"caf\\xe9"}'
    # the error is the standard library's, message and position included
    with pytest.raises(json.JSONDecodeError) as got:
        parse_json(b'{"a": 1,,}')
    with pytest.raises(json.JSONDecodeError) as want:
        json.loads('{"a": 1,,}')
    assert (got.value.msg, got.value.pos) == (want.value.msg, want.value.pos)


def test_a_checked_record_is_stored_as_to_json_writes_it() -> None:
    builder = BatchBuilder("demo")
    record = {"id": 7, "body": "ünïcode", "nested": {"b": 2, "a": 1}}
    assert not builder.reject_unreadable("f.json#0", record)
    builder.keep_raw("thing", "7", record, "f.json")
    assert builder.build().raw_records.get_column("payload")[0] == to_json(record)
    assert builder.record_text(record) == to_json(record)
    other = {"id": 8}  # never checked: encoded on the spot
    assert builder.record_text(other) == to_json(other)


@pytest.mark.parametrize(
    "value",
    [
        "2026-01-05T09:41:13.810+0100", "2026-01-05T09:41:13Z", " 2026-01-05T09:41:13-0530 ",
        "2026-01-05T09:41:13.123456+05:30", "2026-01-05T09:41:13", "2026-01-05",
        "20260105T094113+0100", dt.datetime(2024, 1, 1), dt.datetime(2024, 1, 1, tzinfo=dt.UTC),
        dt.datetime(2024, 1, 1, tzinfo=dt.timezone(dt.timedelta(hours=2))), 1_700_000_000, 1.5,
        None, "", "  ", "not a time", "2026-13-01", [],
    ],
)  # fmt: skip
def test_utc_is_to_utc(value: Any) -> None:
    try:
        expected: Any = to_utc(value)
    except (TypeError, ValueError) as exc:
        expected = type(exc)
    try:
        got: Any = utc(value)
    except (TypeError, ValueError) as exc:
        got = type(exc)
    assert got == expected


def test_export_files_are_rglob_s(tmp_path: Path) -> None:
    for name in ("a/b.json", "a-c.json", "a/x/Y.JSON", "a/.hidden/z.json", ".top/z.json",
                 "a/.dot.json", "a/notes.txt", "a b/c.jsonl", "deep/1/2/3/d.ndjson"):  # fmt: skip
        path = tmp_path / "root" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("[]")
    root = tmp_path / "root"
    os.symlink(root / "a" / "b.json", root / "link.json")  # a link to a file: kept
    os.symlink(root / "deep", root / "linked-dir")  # a link to a folder: not followed
    suffixes = (".json", ".ndjson", ".jsonl")
    expected = sorted(
        p
        for p in root.rglob("*")
        if p.is_file()
        and not any(part.startswith(".") for part in p.relative_to(root).parts)
        and p.suffix.lower() in suffixes
    )
    assert export_files(root, suffixes) == expected
    # shared listings (detection): every folder, listed below another or through a link to a
    # folder, or hidden, gives the very texts, in the same order, as listed on its own
    folders = [root, root / "a", root / "a" / "x", root / "deep" / "1", root / "linked-dir",
               root / "linked-dir" / "1", root / "a" / ".hidden", root / "missing"]  # fmt: skip
    alone = [export_paths(f, s) for f in folders for s in (suffixes, (".txt",))]
    with shared_listings():
        assert [export_paths(f, s) for f in folders for s in (suffixes, (".txt",))] == alone
    with shared_listings():  # deepest first: a tree listed later holds the earlier ones
        got = [export_paths(f, s) for f in reversed(folders) for s in (suffixes, (".txt",))]
    assert got == [export_paths(f, s) for f in reversed(folders) for s in (suffixes, (".txt",))]


def test_paused_gc_restores_the_collector() -> None:
    assert gc.isenabled()
    with paused_gc():
        assert not gc.isenabled()
    assert gc.isenabled()
    gc.disable()
    try:
        with paused_gc():
            pass
        assert not gc.isenabled()  # left as the caller had it
    finally:
        gc.enable()
