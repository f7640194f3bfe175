"""Report rendering: order, escaping, offline, loud failures, one scope, archive and retention."""

from __future__ import annotations

import datetime as dt
import json
import re
import stat
import time
from pathlib import Path

import polars as pl
import pytest
from markupsafe import escape

from wfmine.analysis import Analysis
from wfmine.errors import ConfigError
from wfmine.reports import (
    ALL_SECTIONS,
    build_report,
    generate,
    load_definition,
    parse_window,
    run_definition,
)
from wfmine.reports._charts import script_json
from wfmine.reports.sections import SECTION_TITLES

from ._reports_helpers import (
    EVIL_ACTIVITY,
    EVIL_ACTOR,
    EVIL_MESSAGE,
    EVIL_TITLE,
    analysis_of,
    big_log,
    external_refs,
    hostile_findings,
    synthetic_log,
    tags,
    visible_text,
)

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def report_html() -> str:
    analysis = analysis_of(synthetic_log(), findings=hostile_findings())
    return build_report(analysis, title="Weekly " + EVIL_TITLE).html()


def test_every_section_heading_is_present(report_html: str) -> None:
    for title in SECTION_TITLES.values():
        assert f"<h3>{title}</h3>" in report_html


def test_the_report_opens_with_what_to_act_on(report_html: str) -> None:
    order = ["What to act on", "How work flows", "Is it getting better", "Appendix"]
    places = [report_html.index(f'<h2 class="group-title">{g}</h2>') for g in order]
    assert places == sorted(places)
    act = report_html[places[0] : places[1]]
    # at most three findings of a kind up front, each with its name and one sentence
    assert act.count('class="finding ') <= 3 * 5
    assert "Review sends work back to build." in act
    assert "rework_loop@review" in act  # the subject (no subject_name in this frame)


OUTLINE = """\
What to act on
  Findings that matter most
    Gate violations (1, 1 high)
    Shadow agents (1, 1 high)
    Recurring failures (2)
    Unowned handoffs (1)
How work flows
  Process map
  Paths through the process
  Time in each stage
    Time in each stage against the design
  Handoffs between teams
    Nobody owns these handoffs (1)
Is it getting better
  Metrics over time
    Time to recover from a stall
    Handoffs through an owned seam
  Recurring failures
  Agent readiness
  Agents and delivery
  Has the practice changed
Every finding
  Shadow agents
  Gate violations
Appendix
  Case trails"""


def _outline(html: str) -> str:
    heads = re.finditer(
        r'<h2 class="group-title">(.*?)</h2>|<section class="card[^"]*" id="s-\w+"><h3>(.*?)</h3>'
        r"|<h4>(.*?)</h4>",
        html,
    )
    lines = []
    for m in heads:
        group, section, sub = m.groups()
        if group:
            lines.append(group)
        elif section:
            lines.append("  " + section)
        else:
            lines.append("    " + re.sub(r"<[^>]+>", "", sub).strip())
    return "\n".join(lines)


def test_the_outline_is_stable(report_html: str) -> None:
    """The page's outline as a reader scans it; review the change when this fails."""
    assert _outline(report_html) == OUTLINE


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


def test_evidence_reads_as_sentences_not_json(report_html: str) -> None:
    text = visible_text(report_html)
    assert '{"' not in text and "[{" not in text
    for raw in ("wait_median_s", "wait median s", "behaviour_score", "case_count", "_s "):
        assert raw not in text, raw
    # the unowned seam's wait of 86,400 s reads as a day
    assert re.search(r"median wait\s+1\.0 d", text)


def test_case_trails_are_collapsed(report_html: str) -> None:
    appendix = report_html[report_html.index('id="s-cases"') :]
    assert '<details class="appendix">' in appendix
    assert '<details class="trail"' in appendix


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


class _Broken(Analysis):
    @property
    def variants(self) -> pl.DataFrame:  # type: ignore[override]
        raise RuntimeError("variants exploded")


def test_a_failing_section_is_a_loud_warning() -> None:
    analysis = analysis_of(synthetic_log(evil=False), findings=hostile_findings(), cls=_Broken)
    report = build_report(analysis)
    assert report.section_status["variants"] == "failed: RuntimeError: variants exploded"
    assert report.failed_sections == {"variants": "RuntimeError: variants exploded"}
    html = report.html()
    assert html.count("RuntimeError: variants exploded") == 2  # the banner and the section
    assert 'class="notes bad" role="alert"' in html
    assert 'class="warn" role="alert"' in html
    assert report.section_status["summary"] == "ok"


def test_unknown_section_names_are_rejected_with_the_valid_list() -> None:
    with pytest.raises(ConfigError) as info:
        build_report(synthetic_log(evil=False), sections=["summary", "stages", "nope"])
    message = str(info.value)
    assert "'stages'" in message and "'nope'" in message
    assert all(s in message for s in ALL_SECTIONS)


def test_a_section_that_needs_a_design_says_so() -> None:
    report = build_report(analysis_of(synthetic_log(evil=False), findings=hostile_findings()))
    assert report.failed_sections == {}
    assert "Needs a design" in report.html()


def test_an_empty_log_still_renders() -> None:
    empty = synthetic_log().clear()
    report = build_report(empty, sections=list(ALL_SECTIONS))
    assert "What to act on" in report.html()
    assert report.failed_sections == {}, report.failed_sections


def test_window_keeps_whole_cases_inside_it() -> None:
    log = synthetic_log(evil=False)
    end = log["timestamp"].max()
    analysis = analysis_of(log, findings=hostile_findings().clear(), window="14d")
    report = build_report(analysis, sections=["summary"])
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
    first = build_report(analysis_of(log, findings=hostile_findings()), sections=["summary"])
    second = build_report(
        analysis_of(log, findings=hostile_findings().head(2)),
        sections=["summary"],
        previous=first.summary,
    )
    html = second.html()
    assert "0 new findings, 3 no longer present" in html
    assert "since last report" in html


def test_save_writes_a_group_readable_file(tmp_path: Path) -> None:
    report = build_report(synthetic_log(evil=False), sections=["summary", "variants"])
    path = report.save(tmp_path / "r.html")
    assert path.read_text(encoding="utf-8") == report.html()
    assert path.stat().st_mode & stat.S_IRGRP


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
        ('name = "w"\nschedule = "0 7 * * 1"\nretain = 0\n', "key 'retain'"),
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


def _definition(tmp_path: Path, extra: str = "") -> Path:
    (tmp_path / "reports").mkdir(exist_ok=True)
    definition = tmp_path / "reports" / "weekly.toml"
    definition.write_text(
        f'name = "weekly"\nschedule = "0 7 * * 1"\nwindow = "all"\n{extra}', encoding="utf-8"
    )
    return definition


def test_generate_archives_and_indexes(tmp_path: Path) -> None:
    definition = _definition(tmp_path)
    now = dt.datetime(2024, 5, 6, 7, 0, tzinfo=dt.UTC)
    log = synthetic_log(evil=False)
    analysis = analysis_of(log, findings=hostile_findings(), window="all")
    path = generate(definition, store=log, analysis=analysis, now=now)
    assert path == tmp_path / "reports" / "out" / "weekly" / "2024-05-06_0700.html"
    assert path.with_suffix(".summary.json").exists()
    assert path.stat().st_mode & stat.S_IRGRP
    # the given analysis (design and window match the definition's) is the one rendered
    assert json.loads(path.with_suffix(".summary.json").read_text())["findings_total"] == 5
    second = generate(definition, store=log, now=now + dt.timedelta(days=7),
                      analysis=analysis_of(log, findings=hostile_findings().head(1), window="all"))  # fmt: skip
    assert "4 no longer present" in second.read_text(encoding="utf-8")
    index = (path.parent / "index.html").read_text(encoding="utf-8")
    assert "2024-05-06_0700.html" in index and "2024-05-13_0700.html" in index
    assert json.loads((path.parent / "last_run.json").read_text())["status"] == "ok"
    single = generate(definition, store=log, now=now, out=tmp_path / "one.html")
    assert single == tmp_path / "one.html" and single.exists()


def test_retain_keeps_the_newest_reports(tmp_path: Path) -> None:
    definition = _definition(tmp_path, "retain = 2\n")
    log = synthetic_log(evil=False)
    start = dt.datetime(2024, 5, 6, 7, 0, tzinfo=dt.UTC)
    for week in range(4):
        analysis = analysis_of(log, findings=hostile_findings(), window="all")
        generate(definition, store=log, analysis=analysis, now=start + dt.timedelta(weeks=week))
    folder = tmp_path / "reports" / "out" / "weekly"
    kept = sorted(p.name for p in folder.iterdir() if p.name.startswith("2024"))
    assert kept == [
        "2024-05-20_0700.html",
        "2024-05-20_0700.summary.json",
        "2024-05-27_0700.html",
        "2024-05-27_0700.summary.json",
    ]
    index = (folder / "index.html").read_text(encoding="utf-8")
    assert "2024-05-06_0700" not in index and "2024-05-27_0700.html" in index
    assert json.loads((folder / "last_run.json").read_text())["pruned"] == ["2024-05-13_0700.html"]


def test_run_definition_returns_the_failed_sections(tmp_path: Path) -> None:
    definition = _definition(tmp_path)
    log = synthetic_log(evil=False)
    analysis = analysis_of(log, findings=hostile_findings(), window="all", cls=_Broken)
    done = run_definition(definition, store=log, analysis=analysis)
    assert done.failed_sections == {"variants": "RuntimeError: variants exploded"}
    last = json.loads((done.path.parent / "last_run.json").read_text())
    assert last["failed_sections"] == done.failed_sections
    assert "failed: variants" in (done.path.parent / "index.html").read_text(encoding="utf-8")


def test_the_report_never_reads_tokens(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JIRA_TOKEN", "tok-SECRET-123")
    monkeypatch.setenv("GITHUB_TOKEN", "ghp_SECRET456")
    analysis = analysis_of(synthetic_log(evil=False), findings=hostile_findings())
    assert "SECRET" not in build_report(analysis).html()


@pytest.mark.slow
def test_large_log_keeps_the_file_small() -> None:
    log = big_log(200_000)
    assert log.height == 200_000
    started = time.perf_counter()
    report = build_report(analysis_of(log, findings=hostile_findings()), title="200k events")
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


def test_one_scope_stated_once_and_used_everywhere() -> None:
    from wfmine.design import load_design_text

    design = load_design_text(SCOPE_DESIGN)
    analysis = analysis_of(_with_chatter(), design, findings=hostile_findings())
    report = build_report(analysis)
    html = report.html()
    line = analysis.scope.describe()
    assert line.startswith("60 work items in scope of design 'Scoped' (7 other cases left out")
    assert html.count(f'<p class="scope">{escape(line)}</p>') == 1
    assert report.summary["scope"] == line
    assert report.summary["cases"] == 60 and report.summary["cases_total"] == 67
    assert report.summary["findings_total"] == analysis.findings.height
    assert "Message posted" not in html and "Thread reply" not in html
    assert html.index("Stage map") < html.index("Activity map")
    assert report.failed_sections == {}, report.failed_sections


def test_without_a_design_every_case_is_in_scope() -> None:
    analysis = analysis_of(_with_chatter(), findings=hostile_findings())
    report = build_report(analysis, sections=["summary", "process_map", "variants"])
    html = report.html()
    assert "in scope of design" not in html
    assert "Stage map" not in html
    assert "Message posted" in html  # the chatter is part of the map and the variants
    assert report.summary["cases"] == 67


def test_the_sample_report_reads_as_prose(sample_store: Path, sample_workspace: Path) -> None:
    from wfmine.store import open_store

    design = sample_workspace / "sample_logs" / "acme" / "design.yaml"
    with open_store(sample_store, read_only=True) as store:
        analysis = Analysis.of(store, design, window="all")
        report = build_report(analysis, title="Acme")
        assert report.failed_sections == {}, report.failed_sections
        assert report.summary["findings_total"] == analysis.findings.height
    text = visible_text(report.html())
    assert analysis.scope.describe() in text
    assert not re.findall(r"\b[a-z]+_[a-z_]+\b", text)  # no field or code names
    assert '{"' not in text and "[{" not in text
    start = text.index("Findings that matter most")
    act = text[start : text.index("How work flows", start)]
    for kind in ("Gate violations", "Shadow agents", "Unowned handoffs"):
        assert kind in act


def test_the_analysis_warnings_head_the_report() -> None:
    from wfmine.design import load_design_text

    design = load_design_text(SCOPE_DESIGN.replace('"jira:PR merged"', '"jira:PR mergd"'))
    analysis = analysis_of(_with_chatter(), design, findings=hostile_findings())
    assert analysis.warnings
    report = build_report(analysis, sections=["summary"])
    assert report.summary["notes"] == analysis.warnings
    html = report.html()
    assert html.index('<div class="notes">') < html.index("What to act on</h2>")
    assert str(escape(analysis.warnings[0])) in html
