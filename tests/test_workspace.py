"""Recognising inputs by content: a folder mixing sources is searched, a source's folder taken whole."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import REALDATA, SAMPLE, need
from wfmine.workspace import detect


def test_the_sample_folder_splits_into_its_four_sources() -> None:
    found, skipped = detect(need(SAMPLE))
    assert sorted((d.kind, d.path.name) for d in found) == [
        ("email", "email"), ("github", "github"), ("jira", "jira"), ("slack", "slack"),
    ]  # fmt: skip
    reasons = {p.name: why for p, why in skipped}
    assert reasons["roster.yaml"].startswith("a roster")
    assert reasons["design.yaml"].startswith("a design file")


def test_the_real_samples_are_each_recognised() -> None:
    found, _ = detect(need(REALDATA))
    kinds = {d.kind for d in found}
    assert kinds == {"email", "github", "jira", "slack", "xes", "ocel", "csv"}
    by_path = {d.path.relative_to(REALDATA).as_posix(): d.kind for d in found}
    assert by_path["github"] == "github" and by_path["jira"] == "jira"
    assert by_path["email/lkml/maildir"] == "email"
    assert by_path["slack/slack-export-viewer/testarchive.zip"] == "slack"


def test_an_unknown_file_is_skipped_with_a_reason(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("hello")
    found, skipped = detect(tmp_path)
    assert found == [] and skipped == [(tmp_path / "notes.txt", "not a recognised export")]


def test_an_event_table_is_recognised_however_its_header_is_written(tmp_path: Path) -> None:
    """The byte check that spares a CSV parse of every JSON export never says no to a table:
    compressed, a quoted name holding a line break, a BOM, a header past 64 KiB."""
    import gzip

    rows = "1,a,2024-01-01T00:00:00Z\n"
    header = "case:concept:name,concept:name,time:timestamp\n"
    (tmp_path / "plain.csv").write_text(header + rows)
    (tmp_path / "bom.csv").write_text("\ufeff" + header + rows)
    (tmp_path / "quoted.csv").write_text('"a\nb",' + header + "x," + rows)
    (tmp_path / "wide.csv").write_text(",".join(f"c{i}" for i in range(20000)) + "," + header)
    with gzip.open(tmp_path / "packed.csv.gz", "wt") as fh:
        fh.write(header + rows)
    (tmp_path / "page.json").write_text('{"issues": [], "case:concept:name": 1}')
    found, skipped = detect(tmp_path)
    assert sorted(d.path.name for d in found if d.kind == "csv") == [
        "bom.csv", "packed.csv.gz", "plain.csv", "quoted.csv", "wide.csv",
    ]  # fmt: skip
    assert [p.name for p, _ in skipped] == ["page.json"]


def test_inputs_are_written_in_turn_while_the_next_is_read(tmp_path: Path) -> None:
    """ingest_inputs writes input N while it reads N+1, and ends as reading each in turn does:
    runs in input order; an input that cannot be read raises once those before it committed,
    and nothing after it is written."""
    import pytest

    from wfmine.errors import FormatError
    from wfmine.store import Store
    from wfmine.workspace import Detected, ingest_inputs

    sample = need(SAMPLE)
    bad = tmp_path / "broken.json"
    bad.write_text('{"issues": [')
    good = [Detected("jira", sample / "jira"), Detected("email", sample / "email")]
    with Store(":memory:") as store:
        seen: list[tuple[str, int]] = []  # each input as it is read, with the runs committed
        done = ingest_inputs(
            store, good, progress=lambda d: seen.append((d.kind, store.runs().height))
        )
        assert [s["run_id"] for _, s, _ in done] == [1, 2]
        assert store.runs().get_column("source").to_list() == ["jira", "email"]
        assert seen == [("jira", 0), ("email", 1)]
    with Store(":memory:") as store:
        with pytest.raises(FormatError, match=r"broken\.json"):
            ingest_inputs(store, [good[0], Detected("jira", bad), good[1]])
        assert store.runs().get_column("source").to_list() == ["jira"]
        assert store.counts()["events"] > 0


def test_a_folder_recognised_before_is_not_sniffed_again(tmp_path: Path, monkeypatch) -> None:
    """A rerun of a folder's ingest takes the detection the store kept (no file read to
    recognise it), a store written inside the folder does not count as a change, and a
    touched file makes it detect again, finding the same inputs."""
    import os
    import shutil

    import wfmine.workspace as ws
    from wfmine.api import ingest_path
    from wfmine.store import Store

    folder = tmp_path / "exports"
    shutil.copytree(SAMPLE, folder)
    (folder / "notes.txt").write_text("not an export")
    calls: list[Path] = []
    real = ws.detect

    def counted(path: Path) -> tuple[list[ws.Detected], list[tuple[Path, str]]]:
        calls.append(path)
        return real(path)

    monkeypatch.setattr(ws, "detect", counted)
    store = Store(folder / ".wfmine" / "store.duckdb")  # kept inside the folder, hidden
    first = ingest_path(store, folder)
    again = ingest_path(store, folder)
    assert len(calls) == 1
    assert [i["path"] for i in again.loaded] == [i["path"] for i in first.loaded]
    assert all(i.get("unchanged") for i in again.loaded)
    assert again.skipped == first.skipped and any(
        s["path"].endswith("notes.txt") for s in first.skipped
    )
    mbox = next(folder.rglob("*.mbox"))
    st = mbox.stat()
    os.utime(mbox, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
    touched = ingest_path(store, folder)
    assert len(calls) == 2
    assert sorted(i["kind"] for i in touched.loaded) == sorted(i["kind"] for i in first.loaded)
