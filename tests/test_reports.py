"""Report rendering: sections, escaping, offline, graceful degradation, size on large logs."""

from __future__ import annotations

import datetime as dt
import json
import re
import time
from pathlib import Path

import polars as pl
import pytest

from wfmine.errors import ConfigError
from wfmine.reports import ALL_SECTIONS, build_report, generate, load_definition, parse_window
from wfmine.reports._html import script_json
from wfmine.reports.sections import SECTION_TITLES

from ._reports_helpers import (
    EVIL_ACTIVITY,
    EVIL_ACTOR,
    EVIL_MESSAGE,
    EVIL_TITLE,
    big_log,
    external_refs,
    hostile_findings,
    synthetic_log,
    tags,
)

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def report_html() -> str:
    report = build_report(
        synthetic_log(), findings=hostile_findings(), title="Weekly " + EVIL_TITLE
    )
    return report.html()


def test_every_section_heading_is_present(report_html: str) -> None:
    for title in SECTION_TITLES.values():
        assert f"<h2>{title}</h2>" in report_html


def test_source_text_is_escaped_everywhere(report_html: str) -> None:
    for evil in (EVIL_ACTIVITY, EVIL_ACTOR, EVIL_MESSAGE, EVIL_TITLE):
        assert evil not in report_html
    # the only script elements are the page's own (JSON data blocks, the bundle, the loader)
    scripts = [a for t, a in tags(report_html) if t == "script"]
    assert all(
        a.get("type") in (None, "application/json", "application/octet-stream") for a in scripts
    )
    assert not any(t in ("img", "iframe", "object", "embed") for t, _ in tags(report_html))
    assert all(a.get("class") == "spark" for t, a in tags(report_html) if t == "svg")
    assert not any(k.startswith("on") for _, a in tags(report_html) for k in a)
    assert "&lt;img src=x onerror=" in report_html  # shown as text


def test_figure_json_cannot_close_its_script() -> None:
    text = script_json({"x": ["</script><script>alert(1)</script>", "a&b"]})
    assert "<" not in text and ">" not in text and "&" not in text
    assert json.loads(text) == {"x": ["</script><script>alert(1)</script>", "a&b"]}


def test_works_offline(report_html: str) -> None:
    assert external_refs(report_html) == []
    assert not any(t == "link" for t, _ in tags(report_html))
    assert not any(t == "script" and a.get("src") for t, a in tags(report_html))
    assert report_html.count('id="wf-plotly"') == 1  # plotly.js embedded exactly once


def test_findings_link_to_the_cases_appendix(report_html: str) -> None:
    anchors = set(re.findall(r'href="#(case-[0-9a-f]+)"', report_html))
    assert anchors
    for anchor in anchors:
        assert f'id="{anchor}"' in report_html


def test_a_failing_analysis_degrades_to_a_note(monkeypatch: pytest.MonkeyPatch) -> None:
    import wfmine.discovery as discovery

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("variants exploded")

    monkeypatch.setattr(discovery, "variants", broken)
    report = build_report(synthetic_log(evil=False), findings=hostile_findings())
    assert report.section_status["variants"] == "not available: RuntimeError: variants exploded"
    assert "not available: RuntimeError: variants exploded" in report.html()
    assert report.section_status["summary"] == "ok"


def test_missing_findings_and_design_say_why() -> None:
    bad = pl.DataFrame({"nothing": [1]})
    report = build_report(synthetic_log(evil=False), "no/such/design.yaml", findings=bad)
    html = report.html()
    assert "not available" in html
    assert "design no/such/design.yaml could not be loaded" in html
    assert report.section_status["summary"] == "ok"


def test_an_empty_log_still_renders() -> None:
    empty = synthetic_log().clear()
    report = build_report(empty, sections=list(ALL_SECTIONS))
    assert "<h2>Summary</h2>" in report.html()


def test_window_keeps_whole_cases_inside_it() -> None:
    log = synthetic_log(evil=False)
    end = log["timestamp"].max()
    report = build_report(
        log, window="14d", sections=["summary"], findings=hostile_findings().clear()
    )
    assert report.summary["cases"] < log["case_id"].n_unique()
    assert report.summary["window"]["end"].startswith(str(end.date()))
    assert (
        parse_window({"start": "2024-01-01", "end": "2024-02-01"}).describe()
        == "2024-01-01 → 2024-02-01"
    )
    with pytest.raises(ConfigError, match="window"):
        parse_window("ninety days")


def test_compares_with_the_previous_summary() -> None:
    log = synthetic_log(evil=False)
    first = build_report(log, findings=hostile_findings(), sections=["summary"])
    fewer = hostile_findings().head(2)
    second = build_report(log, findings=fewer, sections=["summary"], previous=first.summary)
    html = second.html()
    assert "0 new finding(s), 3 no longer present" in html
    assert "since last" in html


def test_save_writes_the_file(tmp_path: Path) -> None:
    report = build_report(synthetic_log(evil=False), sections=["summary", "variants"])
    path = report.save(tmp_path / "r.html")
    assert path.read_text(encoding="utf-8") == report.html()


def test_sample_definition_is_valid() -> None:
    definition = (
        load_definition(ROOT / "reports" / "weekly.toml")
        if (ROOT / "sample_logs/acme/design.yaml").exists()
        else None
    )
    if definition is None:
        pytest.skip("sample_logs/acme/design.yaml is not there yet")
    assert definition.schedule == "0 7 * * 1"
    assert definition.sections == ALL_SECTIONS
    assert definition.archive == (ROOT / "reports" / "out" / "weekly").resolve()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('name = "w"\nschedule = "every monday"\n', "key 'schedule'"),
        ('name = "w"\n', "key 'schedule': required"),
        ('name = "w"\nschedule = "0 7 * * 1"\nsections = ["summary", "nope"]\n', "key 'sections'"),
        ('name = "w"\nschedule = "0 7 * * 1"\nwindow = "3 months"\n', "key 'window'"),
        (
            'name = "w"\nschedule = "0 7 * * 1"\ndesign = "missing.yaml"\n',
            "key 'design': no such file",
        ),
        ('name = "w w"\nschedule = "0 7 * * 1"\n', "key 'name'"),
        ('name = "w"\nschedule = "0 7 * * 1"\ncolour = "red"\n', "unknown key"),
        ('name = "w"\nschedule = "0 7 * * 1"\ntimezone = "Mars/Base"\n', "key 'timezone'"),
        ("name = \n", "not valid TOML"),
    ],
)
def test_definition_errors_name_file_and_key(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "reports" / "bad.toml"
    path.parent.mkdir()
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match=re.escape(message)) as info:
        load_definition(path)
    assert str(path) in str(info.value)


def test_generate_archives_and_indexes(tmp_path: Path) -> None:
    (tmp_path / "reports").mkdir()
    definition = tmp_path / "reports" / "weekly.toml"
    definition.write_text(
        'name = "weekly"\nschedule = "0 7 * * 1"\nwindow = "all"\n', encoding="utf-8"
    )
    now = dt.datetime(2024, 5, 6, 7, 0, tzinfo=dt.UTC)
    path = generate(
        definition, store=synthetic_log(evil=False), now=now, findings=hostile_findings()
    )
    assert path == tmp_path / "reports" / "out" / "weekly" / "2024-05-06_0700.html"
    assert path.with_suffix(".summary.json").exists()
    second = generate(definition, store=synthetic_log(evil=False), now=now + dt.timedelta(days=7),
                      findings=hostile_findings().head(1))  # fmt: skip
    assert "4 no longer present" in second.read_text(encoding="utf-8")
    index = (path.parent / "index.html").read_text(encoding="utf-8")
    assert "2024-05-06_0700.html" in index and "2024-05-13_0700.html" in index
    assert json.loads((path.parent / "last_run.json").read_text())["status"] == "ok"
    single = generate(
        definition, store=synthetic_log(evil=False), now=now, out=tmp_path / "one.html"
    )
    assert single == tmp_path / "one.html" and single.exists()


def test_the_report_never_reads_tokens(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JIRA_TOKEN", "tok-SECRET-123")
    monkeypatch.setenv("GITHUB_TOKEN", "ghp_SECRET456")
    html = build_report(synthetic_log(evil=False), findings=hostile_findings()).html()
    assert "SECRET" not in html


@pytest.mark.slow
def test_large_log_keeps_the_file_small() -> None:
    log = big_log(200_000)
    assert log.height == 200_000
    started = time.perf_counter()
    report = build_report(log, findings=hostile_findings(), title="200k events")
    seconds = time.perf_counter() - started
    size = len(report.html().encode("utf-8"))
    assert report.summary["events"] == 200_000
    assert size < 5_000_000, size
    assert seconds < 120, seconds
    # detail is sampled: at most top-20 variants are listed
    assert report.html().count('<span class="variant">') <= 20


SCOPE_DESIGN = """
name: Scoped
stages:
  - {id: build, team: eng, activities: ["jira:Issue created", "jira:Status: In Progress", "jira:PR opened"]}
  - {id: review, team: eng, activities: ["jira:PR approved", "jira:Changes requested"]}
  - {id: deploy, team: ops, activities: ["jira:PR merged", "jira:Status: Done"]}
transitions: [[build, review], [review, build], [review, deploy]]
"""


def _with_chatter(n_chats: int = 7) -> pl.DataFrame:
    """The synthetic log plus standalone Slack messages (cases linked to no work item)."""
    log = synthetic_log(evil=False)
    t0 = dt.datetime(2024, 2, 1, tzinfo=dt.UTC)
    chats = pl.DataFrame(
        [
            {"case_id": f"slack:C1/{i}", "activity": a, "timestamp": t0 + dt.timedelta(hours=i + k),
             "seq": k, "event_id": f"s{i}-{k}", "actor_id": "u1", "source": "slack",
             "object_id": f"slack:C1/{i}", "object_type": "thread"}
            for i in range(n_chats)
            for k, a in enumerate(["Message posted", "Thread reply"])
        ]
    )  # fmt: skip
    return pl.concat([log, chats], how="diagonal_relaxed")


def test_a_design_scopes_the_process_sections() -> None:
    from wfmine.design import load_design_text

    log = _with_chatter()
    design = load_design_text(SCOPE_DESIGN)
    sections = ["summary", "process_map", "variants", "stage_times"]
    report = build_report(log, design, sections=sections, findings=hostile_findings())
    html = report.html()
    note = (
        "60 cases in scope of the design; 7 other cases (conversations and items linked to no "
        "work item: 7 Slack) are left out."
    )
    assert html.count(note) == 4  # summary, process map, variants, stage times
    assert report.summary["cases"] == 67
    assert report.summary["cases_in_scope"] == 60
    assert report.summary["cases_out_of_scope"] == 7
    assert "cases in design scope" in html.lower()
    # the stage map comes first, the activity map second; chatter is in neither
    assert html.index("<h3>Stage map</h3>") < html.index("<h3>Activity map</h3>")
    assert "Message posted" not in html and "Thread reply" not in html
    assert all(status == "ok" for status in report.section_status.values())


def test_without_a_design_every_case_is_in_scope() -> None:
    report = build_report(
        _with_chatter(),
        sections=["summary", "process_map", "variants"],
        findings=hostile_findings(),
    )
    html = report.html()
    assert "in scope of the design" not in html
    assert "<h3>Stage map</h3>" not in html
    assert "Message posted" in html  # the chatter is part of the map and the variants
    assert "cases_in_scope" not in report.summary
