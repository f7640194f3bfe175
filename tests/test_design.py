"""The design file: loading, line-numbered errors, durations, patterns, stage mapping."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pytest

from wfmine.design import glob_regex, load_design, load_design_text, map_stages, parse_duration
from wfmine.errors import DesignError

ROOT = Path(__file__).resolve().parents[1]

GOOD = """\
version: 1
name: Acme delivery
stages:
  - id: triage
    team: product
    performer: human
    expected: 2d
    activities:
      - "jira:Issue created"
      - "jira:Status: Triage"
  - id: build
    team: engineering
    performer: either
    expected: 5d
    activities: ["jira:Status: In Progress", "github:Commit pushed", "github:PR opened"]
  - id: review
    team: engineering
    performer: either
    expected: 2d
    activities: ["jira:Status: In Review", "github:PR approved", "github:Changes requested"]
  - id: qa
    team: qa
    performer: human
    expected: 3d
    activities: ["jira:Status: QA"]
  - id: deploy
    team: operations
    performer: human
    irreversible: true
    activities: ["github:PR merged", "jira:Status: Done"]
unmapped: ignore
transitions:
  - [triage, build]
  - [build, review]
  - [review, build]
  - [review, qa]
  - [qa, deploy]
start: [triage]
end: [deploy]
risk:
  default: reversible
  rules:
    - tier: high_stakes
      labels: [security, payments]
      components: [billing]
      paths: ["infra/prod/**"]
    - tier: irreversible
      labels: [migration]
      projects: [OPS]
gates:
  - before: deploy
    approvals: ["github:PR approved"]
    reversible: agent_review
    irreversible: human_approval
    high_stakes: two_humans
seams:
  - {from: engineering, to: qa, owner: qa}
  - {from: human, to: agent, owner: platform}
agents:
  - id: reviewbot
    accounts: ["github:acme-reviewbot[bot]"]
    stages: [review]
allow:
  - {kind: transition, from: build, to: qa}
"""


def test_the_contract_example_loads() -> None:
    d = load_design_text(GOOD)
    assert d.stage_ids == ("triage", "build", "review", "qa", "deploy")
    assert d.stage("build").expected == dt.timedelta(days=5)
    assert ("review", "build") in d.allowed and ("qa", "qa") in d.allowed
    assert d.gates[0].requirement("high_stakes") == "two_humans"
    assert d.seam_owner("engineering", "qa") == "qa"
    assert d.agents[0].stages == ["review"]
    assert d.allow[0].from_ == "build"
    assert d.shortest_path("review", "deploy") == ["qa"]


def test_documented_example_loads() -> None:
    text = (ROOT / "docs" / "design.md").read_text()
    block = text.split("```yaml\n", 1)[1].split("```", 1)[0]
    d = load_design_text(block)
    assert len(d.stages) >= 5


@pytest.mark.parametrize(
    ("old", "new", "marker", "words"),
    [
        (
            "[qa, deploy]",
            "[qa, deploi]",
            "deploi",
            "stage 'deploi' in transitions is not a defined stage",
        ),
        (
            "performer: either\n    expected: 5d",
            "performer: robot\n    expected: 5d",
            "robot",
            "performer",
        ),
        ("expected: 5d", "expected: 5 days", "5 days", "'5 days' is not a duration"),
        ("    team: qa\n", "    team: qa\n    colour: red\n", "colour", "unknown key 'colour'"),
        ("to: qa, owner", "to: qq, owner", "qq", "'qq' in seams"),
        ('"jira:Status: QA"', '"Status: QA"', '"Status: QA"', "names no known source"),
        ("stages: [review]", "stages: [revue]", "revue", "stage 'revue' in agent 'reviewbot'"),
        ("kind: transition", "kind: transitions", "transitions,", "allow kind 'transitions'"),
        ("  - id: build", "  - id: triage\n", "id: triage\n\n", "stage 'triage' is defined twice"),
        ("high_stakes: two_humans", "high_stakes: three_humans", "three", "three_humans"),
        ("  - before: deploy", "  - before: ship", "ship", "stage 'ship' in gates"),
        ("start: [triage]", "start: [triag]", "triag]", "stage 'triag' in start"),
        ("    - tier: irreversible", "    - tier: medium", "medium", "tier"),
    ],
)
def test_errors_name_the_line(old: str, new: str, marker: str, words: str) -> None:
    assert old in GOOD
    text = GOOD.replace(old, new, 1)
    line = text[: text.index(marker)].count("\n") + 1
    with pytest.raises(DesignError) as info:
        load_design_text(text)
    message = str(info.value)
    assert message.startswith(f"design.yaml, line {line}: "), message
    assert words in message


def test_bad_yaml_and_missing_file(tmp_path: Path) -> None:
    with pytest.raises(DesignError, match=r"line \d+: not valid YAML"):
        load_design_text("stages: [\n  - id: a\n")
    with pytest.raises(DesignError, match="cannot read"):
        load_design(tmp_path / "nope.yaml")
    with pytest.raises(DesignError, match=r"line 1: .*stages"):
        load_design_text("name: x\n")
    path = tmp_path / "d.yaml"
    path.write_text(GOOD.replace("[qa, deploy]", "[qa, nowhere]"))
    with pytest.raises(DesignError, match=r"^d\.yaml, line 37: .*'nowhere'"):
        load_design(path)


def test_durations() -> None:
    assert parse_duration("30m") == dt.timedelta(minutes=30)
    assert parse_duration("4h") == dt.timedelta(hours=4)
    assert parse_duration("2d") == dt.timedelta(days=2)
    assert parse_duration("1w") == dt.timedelta(weeks=1)
    assert parse_duration("1d12h") == dt.timedelta(hours=36)
    assert parse_duration(90) == dt.timedelta(seconds=90)
    for bad in ("2 days", "d", "", "1y", True):
        with pytest.raises(ValueError):
            parse_duration(bad)


def test_patterns_and_globs() -> None:
    import re

    d = load_design_text(
        "stages:\n"
        "  - {id: a, activities: ['jira:Status: In*']}\n"
        "  - {id: b, activities: ['*:Comment added', 'github:PR [ar]*']}\n"
        "  - {id: c, activities: ['xes:register request']}\n"
    )
    assert d.stage_of("jira", "Status: In Review") == "a"
    assert d.stage_of("jira", "Status: Done") is None
    assert d.stage_of("slack", "Comment added") == "b"
    assert d.stage_of("github", "PR approved") == "b"
    assert d.stage_of("github", "PR opened") is None
    assert d.stage_of("xes", "register request") == "c"
    assert d.stage_of("xes", "register requests") is None
    assert re.fullmatch(glob_regex("infra/*/x", paths=True), "infra/a/x")
    assert not re.fullmatch(glob_regex("infra/*/x", paths=True), "infra/a/b/x")
    assert re.fullmatch(glob_regex("infra/**/x", paths=True), "infra/x")


def test_map_stages_first_match_and_unmapped_keep() -> None:
    d = load_design_text(
        "stages:\n"
        "  - {id: first, activities: ['github:PR *']}\n"
        "  - {id: second, activities: ['github:PR merged']}\n"
        "unmapped: keep\n"
    )
    log = pl.DataFrame(
        {
            "source": ["github", "github", "github", "slack", None],
            "activity": ["PR merged", "PR x", "Commit pushed", "m", "y"],
        }
    )
    # only sources the design maps get "other": it says nothing about slack
    assert map_stages(log, d)["stage"].to_list() == ["first", "first", "other", None, None]
    assert d.maps_source("github") and not d.maps_source("slack") and not d.maps_source(None)
    assert d.stage_of("slack", "m") is None and d.stage_of("github", "x") == "other"
