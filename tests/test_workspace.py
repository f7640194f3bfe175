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
