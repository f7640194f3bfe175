"""Findings: shape, signals data, actor classification, shadow agents, seams, failures, metrics."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import polars as pl
import pytest

from wfmine.findings import (
    FINDING_SCHEMA,
    classify_actors,
    finding_id,
    findings,
    findings_json,
    load_signals,
    metrics,
    seams,
    store_findings,
)
from wfmine.findings._stats import mann_kendall
from wfmine.findings.actors import ai_events
from wfmine.model import LOG_SCHEMA

from ._findings_org import DESIGN, build

REAL = Path("/work/shared/realdata/github")


@pytest.fixture(scope="module")
def org() -> tuple[pl.DataFrame, pl.DataFrame]:
    return build(seed=3)


@pytest.fixture(scope="module")
def found(org: tuple[pl.DataFrame, pl.DataFrame]) -> pl.DataFrame:
    log, ea = org
    return findings(log, DESIGN, events_attrs=ea)


def _by(df: pl.DataFrame, kind: str) -> dict[str, dict[str, object]]:
    return {r["subject"]: r for r in findings_json(df.filter(pl.col("kind") == kind))}


# -- shape --------------------------------------------------------------------------


def test_frame_has_the_design_shape_and_stable_ids(found: pl.DataFrame) -> None:
    assert found.schema == FINDING_SCHEMA
    assert found.height > 0
    row = found.row(0, named=True)
    assert row["finding_id"] == finding_id(row["kind"], row["subject"])
    assert found["finding_id"].n_unique() == found.height
    for item in findings_json(found):
        assert isinstance(item["evidence"], dict)
        assert item["severity"] in ("high", "medium", "low")
        assert item["first_seen"].endswith("Z")
        assert item["trend"] in ("rising", "stable", "declining", None)


def test_output_does_not_depend_on_input_order(org: tuple[pl.DataFrame, pl.DataFrame]) -> None:
    log, ea = org
    a = findings(log, DESIGN, events_attrs=ea)
    b = findings(log.sample(fraction=1.0, shuffle=True, seed=9), DESIGN, events_attrs=ea)
    assert a.equals(b)


def test_empty_log_gives_no_findings() -> None:
    assert findings(pl.DataFrame(schema=LOG_SCHEMA), DESIGN).height == 0


def test_store_roundtrip(found: pl.DataFrame) -> None:
    import wfmine

    store = wfmine.open(":memory:")
    store_findings(store, found)
    back = store.table("findings")
    assert back.height == found.height
    assert set(back["finding_id"]) == set(found["finding_id"])


# -- signals -------------------------------------------------------------------------


def test_signals_are_data_and_extendable(tmp_path: Path) -> None:
    sig = load_signals()
    assert sig.version
    assert sig.login_tool("github:dependabot[bot]") == ("bot", "dependabot")
    assert sig.login_tool("copilot-swe-agent[bot]") == ("agent", "copilot-coding-agent")
    assert sig.email_tool("email:cursoragent@cursor.com") == ("agent", "cursor")
    assert sig.login_tool("claude") is None  # a person's login, not the tool
    extra = tmp_path / "mine.toml"
    extra.write_text('version = "local"\n[[tool]]\nname = "house-agent"\nkind = "agent"\n'
                     'logins = ["house-agent"]\n')  # fmt: skip
    assert load_signals(extra).login_tool("house-agent") == ("agent", "house-agent")


def test_ai_events_match_trailers_branches_markers_not_free_words() -> None:
    ea = pl.DataFrame(
        {
            "event_id": ["a", "b", "c", "d", "e"],
            "attrs": [
                json.dumps({"trailers": ["Co-Authored-By: Claude <noreply@anthropic.com>"]}),
                json.dumps({"head": "cursor/fix-login"}),
                json.dumps({"body": "x\n🤖 Generated with [Claude Code](https://claude.com)"}),
                json.dumps({"message_first_line": "Move the cursor; ask Claude and Devin"}),
                json.dumps({"trailers": ["Co-authored-by: Claude Shannon <claude@example.org>"]}),
            ],
        }
    )
    got = dict(ai_events(ea).select("event_id", "ai_tool").iter_rows())
    assert got == {"a": "claude", "b": "cursor", "c": "claude"}


# -- actors --------------------------------------------------------------------------


def test_behaviour_flags_the_undeclared_script(org: tuple[pl.DataFrame, pl.DataFrame]) -> None:
    log, ea = org
    actors = classify_actors(log, None, ea)
    kinds = dict(actors.select("actor_id", "kind").iter_rows())
    assert kinds["sync-user"] in ("bot", "agent")
    assert all(kinds[h] == "human" for h in ("dev1", "dev2", "dev3", "pm", "erin", "ops1"))
    ev = json.loads(actors.filter(pl.col("actor_id") == "sync-user")["evidence"][0])
    assert "sub-minute reactions" in ev["behaviour_signals"]


def _real_github_log() -> tuple[pl.DataFrame, pl.DataFrame]:
    """A small flat log from the real GitHub samples, read straight from the JSON."""
    rows: list[dict[str, object]] = []
    accounts: dict[str, dict[str, object]] = {}

    def add(case: str, act: str, when: str, user: dict[str, object] | None) -> None:
        if not user:
            return
        acc = f"github:{user['login']}"
        accounts[acc] = {"account_id": acc, "login": user["login"],
                         "attrs": json.dumps({"type": user.get("type")})}  # fmt: skip
        rows.append({"case_id": case, "activity": act,
                     "timestamp": dt.datetime.fromisoformat(str(when).replace("Z", "+00:00")),
                     "seq": len(rows), "event_id": f"e{len(rows)}", "actor_id": acc,
                     "source": "github", "object_id": case})  # fmt: skip

    ants = REAL / "panjf2000-ants/repos/panjf2000/ants"
    for pr in json.loads((ants / "pulls.json").read_text()):
        add(pr["url"], "PR opened", pr["created_at"], pr["user"])
    for c in json.loads((ants / "issues/comments.json").read_text()):
        add(
            c["issue_url"].replace("/issues/", "/pulls/"),
            "PR comment added",
            c["created_at"],
            c["user"],
        )
    for e in json.loads((REAL / "dlt-duckdb/github_events.json").read_text()):
        add(
            str(e.get("issue", {}).get("url", e["id"])),
            str(e["event"]),
            e["created_at"],
            e.get("actor"),
        )
    log = pl.DataFrame(rows, schema_overrides={"timestamp": pl.Datetime("us", "UTC")})
    return log, pl.DataFrame(list(accounts.values()))


@pytest.mark.skipif(not REAL.exists(), reason="real GitHub samples not present")
def test_real_github_bots_classify_as_bots() -> None:
    log, accounts = _real_github_log()
    actors = classify_actors(log, accounts)
    kinds = dict(actors.select("actor_id", "kind").iter_rows())
    bots = [a for a in kinds if a.endswith("[bot]")]
    assert "github:codecov[bot]" in bots
    assert "github:github-project-automation[bot]" in bots
    assert all(kinds[b] in ("bot", "agent") for b in bots)
    humans = [a for a in kinds if not a.endswith("[bot]")]
    assert humans and all(kinds[h] != "bot" or a_basis(actors, h) == "behaviour" for h in humans)


def a_basis(actors: pl.DataFrame, actor: str) -> str:
    return str(actors.filter(pl.col("actor_id") == actor)["basis"][0])


# -- shadow agents -------------------------------------------------------------------


def test_shadow_agents_of_the_three_types(found: pl.DataFrame) -> None:
    shadow = _by(found, "shadow_agent")
    types = {s: e["evidence"]["type"] for s, e in shadow.items()}  # type: ignore[index]
    assert types == {
        "sync-user": "undeclared_automation",
        "erin": "ai_signature",
        "github:reviewbot[bot]": "out_of_stage",
    }
    assert shadow["erin"]["evidence"]["stages"] == ["qa"]  # type: ignore[index]


def test_declared_automation_is_not_shadow(org: tuple[pl.DataFrame, pl.DataFrame]) -> None:
    log, ea = org
    df = findings(
        log, DESIGN, events_attrs=ea, roster={"people": [{"id": "sync-user", "kind": "bot"}]}
    )
    assert "sync-user" not in _by(df, "shadow_agent")


# -- seams ---------------------------------------------------------------------------


def test_seams_table_and_unowned_findings(
    org: tuple[pl.DataFrame, pl.DataFrame], found: pl.DataFrame
) -> None:
    log, _ = org
    table = seams(log, DESIGN)
    owned = {(r["from"], r["to"]): r["owned"] for r in table.iter_rows(named=True)}
    assert owned[("engineering", "qa")] is True
    assert owned[("qa", "operations")] is False
    unowned = _by(found, "unowned_seam")
    assert "qa -> operations" in unowned
    assert "engineering -> qa" not in unowned
    assert unowned["qa -> operations"]["severity"] == "high"


def test_seams_skip_unknown_teams_and_collapse_runs() -> None:
    t = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
    log = pl.DataFrame(
        {"case_id": ["c"] * 5, "activity": ["a"] * 5,
         "timestamp": [t + dt.timedelta(hours=h) for h in range(5)], "seq": list(range(5)),
         "event_id": [str(i) for i in range(5)], "team": ["x", "x", None, "y", "y"],
         "actor_kind": ["human"] * 5},
        schema_overrides={"timestamp": pl.Datetime("us", "UTC")},
    )  # fmt: skip
    table = seams(log)
    row = table.filter(pl.col("dimension") == "team").row(0, named=True)
    assert (row["from"], row["to"], row["handoffs"], row["wait_median_s"]) == ("x", "y", 1, 7200.0)


# -- failure patterns ----------------------------------------------------------------


def test_failure_patterns_found_with_trend_test(found: pl.DataFrame) -> None:
    fp = _by(found, "failure_pattern")
    assert "rework_loop@review" in fp
    assert "ci_fix@build" in fp
    ev = fp["rework_loop@review"]["evidence"]
    assert ev["trend_test"]["test"] == "mann-kendall"  # type: ignore[index]
    assert len(ev["weekly"]) >= 8  # type: ignore[index]


def test_mann_kendall() -> None:
    assert mann_kendall([1, 2, 3, 4, 5, 6, 7, 8])["trend"] == "rising"
    assert mann_kendall([3, 3, 3, 3, 3])["trend"] == "stable"
    assert mann_kendall([1, 2])["trend"] == "insufficient"


# -- metrics ---------------------------------------------------------------------------


def test_metrics_frames(org: tuple[pl.DataFrame, pl.DataFrame]) -> None:
    log, ea = org
    m = metrics(log, DESIGN, events_attrs=ea)
    assert {"throughput", "stability", "seam_coverage", "failure_weekly", "agent_readiness",
            "pr_cohorts", "recovery"} <= set(m)  # fmt: skip
    assert m["throughput"]["completions"].sum() > 0
    cov = m["seam_coverage"]["owned_share"]
    assert 0 < cov.mean() < 1  # type: ignore[operator]
    ready = dict(m["agent_readiness"].select("stage", "verdict").iter_rows())
    assert ready["triage"] == "human-only"


def test_gate_violations_come_from_conformance(org: tuple[pl.DataFrame, pl.DataFrame]) -> None:
    design_mod = pytest.importorskip("wfmine.design")
    pytest.importorskip("wfmine.conformance")
    import yaml

    spec = {**DESIGN, "gates": [{"before": "deploy", "approvals": ["github:PR approved"],
                                 "reversible": "human_approval"}]}  # fmt: skip
    design = design_mod.load_design_text(yaml.safe_dump(spec))
    log, ea = org
    df = findings(log, design, events_attrs=ea, kinds=("gate_violation",))
    gates = _by(df, "gate_violation")
    assert gates, "approvals by the agent alone must violate a human_approval gate"
    ev = next(iter(gates.values()))["evidence"]
    assert ev["type"] in ("agent_only_approval", "no_approval", "approval_after_merge")  # type: ignore[index]
    assert all(s.startswith("jira:ACME-") for s in gates)
