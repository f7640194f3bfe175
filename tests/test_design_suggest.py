"""``wfmine design suggest``: the findings' design edits as one reviewable patch that still loads."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
from typer.testing import CliRunner

from wfmine.design import load_design, load_design_text
from wfmine.infer import suggest_patch

DESIGN = """\
version: 1
name: tiny
stages:
  - {id: build, team: eng, performer: either, activities: ["github:PR opened"]}
  - {id: qa, team: qa, performer: human, activities: ["jira:Status: QA"]}
  - {id: ship, team: ops, performer: human, activities: ["github:PR merged"]}
transitions: [[build, qa], [qa, ship]]
seams:
  - {from: eng, to: qa, owner: qa}
"""


def _finding(kind: str, subject: str, patch: str | None, effect: str = "") -> dict[str, object]:
    return {
        "kind": kind,
        "subject": subject,
        "subject_name": subject,
        "suggestion": json.dumps({"patch": patch, "effect": effect}) if patch is not None else None,
    }


def test_each_suggestion_is_a_hunk_named_by_its_finding() -> None:
    found = pl.DataFrame(
        [
            _finding(
                "unowned_seam",
                "qa -> ops",
                "seams:\n  - {from: qa, to: ops, owner: ops}",
                "covers 40 handoffs",
            ),
            _finding(
                "failure_pattern",
                "stall in qa",
                "stages:\n  - id: qa\n    expected: 3d",
                "12 cases",
            ),
            _finding(
                "shadow_agent", "bot", "agents:\n  - {id: bot, stages: [build]}", "sanctions 9"
            ),
            _finding("gate_violation", "x", None),
            _finding("unowned_seam", "bad", "seams:\n  - {from: nobody, to: qa, owner: qa}"),
        ]
    )
    patch = suggest_patch(DESIGN, found)
    design = load_design_text(patch.text)
    assert design.seam_owner("qa", "ops") == "ops"
    expected = design.stage("qa").expected
    assert expected is not None and expected.days == 3
    assert [a.id for a in design.agents] == ["bot"]
    assert len(design.stages) == 3  # the stage was updated by id, not appended
    assert [a["subject"] for a in patch.applied] == ["qa -> ops", "stall in qa", "bot"]
    assert [s["subject"] for s in patch.skipped] == ["bad"]
    lines = patch.diff.splitlines()
    assert lines[2].startswith("--- ") and lines[3].startswith("+++ ")
    # each hunk is preceded by the comment naming its finding and effect
    for i, line in enumerate(lines):
        if line.startswith("@@"):
            assert lines[i - 1].startswith("# ["), lines[i - 1]
    assert "# [unowned_seam] qa -> ops: covers 40 handoffs" in lines
    assert any(line.startswith("# not applied [unowned_seam] bad") for line in lines)


def test_nothing_to_suggest_is_an_empty_patch() -> None:
    patch = suggest_patch(DESIGN, pl.DataFrame([_finding("gate_violation", "x", None)]))
    assert not patch.applied and "@@" not in patch.diff
    load_design_text(patch.text)


def test_cli_on_the_sample_workspace(
    sample_workspace: Path, sample_store: Path, tmp_path: Path
) -> None:
    from wfmine.cli import app

    design = sample_workspace / "sample_logs" / "acme" / "design.yaml"
    out = tmp_path / "patched.yaml"
    res = CliRunner().invoke(
        app,
        [
            "design",
            "suggest",
            "--db",
            str(sample_store),
            "--design",
            str(design),
            "--out",
            str(out),
        ],
    )
    assert res.exit_code == 0, res.output
    print("\n" + res.output)
    assert res.output.startswith("# wfmine design suggest")
    load_design(out)
    js = CliRunner().invoke(
        app, ["design", "suggest", "--db", str(sample_store), "--design", str(design), "--json"]
    )
    assert js.exit_code == 0, js.output
    payload = json.loads(js.output)
    assert set(payload) >= {"diff", "applied", "skipped"}
    bad = CliRunner().invoke(
        app, ["design", "suggest", "--db", str(sample_store), "--design", str(tmp_path / "no.yaml")]
    )
    assert bad.exit_code == 2
