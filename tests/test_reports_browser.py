"""The report as a person sees it: opened in headless Chromium."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from wfmine.reports import build_report
from wfmine.reports.sections import SECTION_TITLES

from ._reports_helpers import (
    EVIL_TITLE,
    have_chromium,
    hostile_findings,
    probe_in_browser,
    synthetic_log,
)

ROOT = Path(__file__).resolve().parents[1]
pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not have_chromium(), reason="headless chromium not installed (.ci/install-chromium)"
    ),
]


def _check(html: str) -> dict[str, object]:
    shot = os.environ.get("WFMINE_REPORT_SCREENSHOT")
    probe = probe_in_browser(html, screenshot=Path(shot) if shot else None)
    assert probe["errors"] == [], probe["errors"]
    assert probe["pwned"] is None
    assert probe["state"] == "done"
    charts = probe["charts"]
    assert isinstance(charts, list) and charts
    assert all(c["svg"] for c in charts), charts
    assert probe["headings"] == [t for t in SECTION_TITLES.values()]
    return probe


def test_synthetic_report_renders_and_injections_stay_text() -> None:
    report = build_report(
        synthetic_log(), findings=hostile_findings(), title="Weekly " + EVIL_TITLE
    )
    probe = _check(report.html())
    assert probe["title"] == "Weekly " + EVIL_TITLE  # shown as text, never parsed
    dom = str(probe["dom"])
    assert "&lt;script&gt;window.__pwned='slack'" in dom
    assert "&lt;img src=x onerror=" in dom


def test_sample_organisation_report_renders(sample_store: Path, sample_workspace: Path) -> None:
    from wfmine.store import open_store

    design = sample_workspace / "sample_logs" / "acme" / "design.yaml"
    with open_store(sample_store, read_only=True) as store:
        report = build_report(store, design, window="all", title="Acme")
    _check(report.html())
