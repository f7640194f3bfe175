"""The report as a person sees it: opened in headless Chromium, 1400 px and 400 px wide."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from wfmine.reports import build_report
from wfmine.reports.sections import SECTION_TITLES

from ._reports_helpers import (
    EVIL_TITLE,
    analysis_of,
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
GROUPS = ["What to act on", "How work flows", "Is it getting better", "Every finding", "Appendix"]


def _check(html: str, width: int) -> dict[str, object]:
    shots = os.environ.get("WFMINE_REPORT_SCREENSHOTS")  # a folder: look at the pages yourself
    shot = Path(shots) / f"report-{width}.png" if shots else None
    probe = probe_in_browser(html, width=width, screenshot=shot)
    assert probe["errors"] == [], probe["errors"]
    assert probe["pwned"] is None
    assert probe["state"] == "done"
    charts = probe["charts"]
    assert isinstance(charts, list) and charts
    assert all(c["svg"] for c in charts), charts  # collapsed charts draw when opened
    assert probe["groups"] == GROUPS
    assert probe["headings"] == list(SECTION_TITLES.values())
    # nothing but tables and charts (which scroll inside their own box) is wider than the page
    assert probe["too_wide"] == [], probe["too_wide"]
    assert probe["scroll_width"] <= probe["width"], (probe["scroll_width"], probe["width"])
    return probe


@pytest.mark.parametrize("width", [1400, 400])
def test_synthetic_report_renders_and_injections_stay_text(width: int) -> None:
    analysis = analysis_of(synthetic_log(), findings=hostile_findings())
    report = build_report(analysis, title="Weekly " + EVIL_TITLE)
    probe = _check(report.html(), width)
    assert probe["title"] == "Weekly " + EVIL_TITLE  # shown as text, never parsed
    dom = str(probe["dom"])
    assert "&lt;script&gt;window.__pwned='slack'" in dom
    assert "&lt;img src=x onerror=" in dom


@pytest.mark.parametrize("width", [1400, 400])
def test_sample_organisation_report_renders(
    sample_store: Path, sample_workspace: Path, width: int
) -> None:
    from wfmine.analysis import Analysis
    from wfmine.store import open_store

    design = sample_workspace / "sample_logs" / "acme" / "design.yaml"
    with open_store(sample_store, read_only=True) as store:
        report = build_report(Analysis.of(store, design, window="all"), title="Acme")
    assert report.failed_sections == {}, report.failed_sections
    _check(report.html(), width)
