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
from wfmine.findings.actors import ai_events
from wfmine.findings.trend import trend_test
from wfmine.model import LOG_SCHEMA

from ._findings_org import DESIGN, as_design, build

D = as_design(DESIGN)

REAL = Path("/work/shared/realdata/github")


@pytest.fixture(scope="module")
def org() -> tuple[pl.DataFrame, pl.DataFrame]:
    return build(seed=3)


@pytest.fixture(scope="module")
def found(org: tuple[pl.DataFrame, pl.DataFrame]) -> pl.DataFrame:
    log, ea = org
    return findings(log, D, events_attrs=ea)


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
        assert item["trend"] in ("rising", "stable", "declining", "too little data", None)
        assert item["subject_name"]
        assert item["suggestion"] is None or set(item["suggestion"]) == {"patch", "effect"}


def test_output_does_not_depend_on_input_order(org: tuple[pl.DataFrame, pl.DataFrame]) -> None:
    log, ea = org
    a = findings(log, D, events_attrs=ea)
    b = findings(log.sample(fraction=1.0, shuffle=True, seed=9), D, events_attrs=ea)
    assert a.equals(b)


def test_empty_log_gives_no_findings() -> None:
    assert findings(pl.DataFrame(schema=LOG_SCHEMA), D).height == 0


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
        "ci": "unregistered_app",  # a CI bot no registry entry names
    }
    assert shadow["ci"]["severity"] == "low"
    assert shadow["erin"]["evidence"]["stages"] == ["qa"]  # type: ignore[index]


def test_declared_automation_is_not_shadow(org: tuple[pl.DataFrame, pl.DataFrame]) -> None:
    log, ea = org
    df = findings(log, D, events_attrs=ea, roster={"people": [{"id": "sync-user", "kind": "bot"}]})
    assert "sync-user" not in _by(df, "shadow_agent")


# -- seams ---------------------------------------------------------------------------


def test_seams_table_and_unowned_findings(
    org: tuple[pl.DataFrame, pl.DataFrame], found: pl.DataFrame
) -> None:
    log, _ = org
    table = seams(log, D)
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
    assert ev["trend_test"]["test"].startswith("mann-kendall")  # type: ignore[index]
    assert len(ev["weekly"]) >= 8  # type: ignore[index]


def test_trend_test_on_planted_rising_declining_and_flat_series() -> None:
    import numpy as np

    rng = np.random.default_rng(4)
    weeks = np.arange(26)
    rising = np.clip(0.02 + 0.01 * weeks + rng.normal(0, 0.03, 26), 0, None)
    declining = rising[::-1].copy()
    flat = np.clip(0.15 + rng.normal(0, 0.03, 26), 0, None)
    assert trend_test(rising.tolist())["trend"] == "rising"
    assert trend_test(declining.tolist())["trend"] == "declining"
    assert trend_test(flat.tolist())["trend"] == "stable"
    assert trend_test([3, 3, 3, 3, 3, 3, 3, 3, 3])["trend"] == "stable"
    assert trend_test([0.1, 0.2, 0.3])["trend"] == "too little data"  # never "stable"
    assert trend_test([0, 0, 0, 0, 0, 0, 0, 0, 0, 1])["trend"] == "too little data"


def test_case_trend_test_on_planted_rising_declining_and_flat_cases() -> None:
    import numpy as np

    from wfmine.findings.trend import case_trend_test

    rng = np.random.default_rng(8)
    starts = np.sort(rng.uniform(0, 26 * 7 * 86400, 600))
    share = np.linspace(0.05, 0.35, starts.size)  # the rate rises sevenfold over half a year
    rising = rng.random(starts.size) < share
    declining = rng.random(starts.size) < share[::-1]
    flat = np.arange(starts.size) % 5 == 0  # one case in five, all along
    assert case_trend_test(starts.tolist(), rising.tolist())["trend"] == "rising"
    assert case_trend_test(starts.tolist(), declining.tolist())["trend"] == "declining"
    steady = case_trend_test(starts.tolist(), flat.tolist())
    assert steady["trend"] == "stable"
    assert 0.5 <= steady["ci95"][0] <= steady["ci95"][1] <= 2.0
    # forty cases cannot tell a steady rate from a doubling: no claim either way
    few = case_trend_test(starts[::15].tolist(), flat[::15].tolist())
    assert few["trend"] == "too little data"


def test_trend_test_agrees_with_mann_kendall_by_hand() -> None:
    import math

    import numpy as np

    x = np.array([0.1, 0.3, 0.2, 0.2, 0.5, 0.4, 0.6, 0.5, 0.7, 0.9, 0.8, 0.8])
    n = x.size
    i, j = np.triu_indices(n, k=1)
    s = float(np.sign(x[j] - x[i]).sum())
    _, c = np.unique(x, return_counts=True)
    var = (n * (n - 1) * (2 * n + 5) - float((c * (c - 1) * (2 * c + 5)).sum())) / 18
    p = math.erfc(abs(s / math.sqrt(var)) / math.sqrt(2))  # no continuity correction
    got = trend_test(x.tolist())
    assert got["trend"] == "rising"
    assert got["p"] == pytest.approx(p, abs=1e-4)


# -- metrics ---------------------------------------------------------------------------


def test_metrics_frames(org: tuple[pl.DataFrame, pl.DataFrame]) -> None:
    log, ea = org
    m = metrics(log, D, events_attrs=ea)
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


def test_gate_violation_frame_is_the_findings_one_by_one() -> None:
    """The columnar gate findings equal ``findings_frame(gate_violations(...))``, odd values too."""
    from polars.testing import assert_frame_equal

    from wfmine.conformance import ConformanceResult
    from wfmine.findings import gate_violation_frame, gate_violations
    from wfmine.findings._shape import findings_frame

    n = 15
    at = [
        dt.datetime(2025, 3, 3, 9, 0, 0, 0 if i % 2 else 250 * i, tzinfo=dt.UTC) for i in range(n)
    ]
    gates = pl.DataFrame(
        {
            "case_id": ["jira:P-1", "nocolon", "a:b:c", "x:", ":y"] * 3,
            "gate": ["deploy", None, 'q"\\\n', "é漢", ""] * 3,
            "tier": ["high_stakes", None, "odd_tier", "irreversible", ""] * 3,
            "required": ["two_humans", "x_y", None, "", "human_approval"] * 3,
            "author": ['a"b', None, "\x01\b\f", "", "z"] * 3,
            "approvers": [["a", None], None, [], ["\t"], ["b", "c"]] * 3,
            "gated_event_id": [f"e{i}" for i in range(n)],
            "gated_at": [*at[:-2], None, None],
            "ok": [None if i % 7 == 3 else i % 4 == 2 for i in range(n)],
            "violation": ["weird_kind", None, "", "no_approval", "self_approval"] * 3,
        },
        schema_overrides={"approvers": pl.List(pl.String), "gated_at": pl.Datetime("us", "UTC")},
    )
    empty = pl.DataFrame()
    result = ConformanceResult(
        cases=empty, deviations=empty, gates=gates, timing=empty, impact=empty
    )
    built = gate_violation_frame(result)
    # one finding per case failing a gate, however many of its gates fail
    assert built.height == gates.filter(~pl.col("ok").fill_null(True))["case_id"].n_unique() == 5
    assert_frame_equal(built, findings_frame(gate_violations(result)))
    assert gate_violation_frame(None).schema == FINDING_SCHEMA


# -- regressions: one test per detector bug fixed --------------------------------------

T0 = dt.datetime(2025, 3, 3, 9, tzinfo=dt.UTC)  # a Monday


def _log(rows: list[dict[str, object]]) -> pl.DataFrame:
    """A flat log from short rows: ``h`` is hours after T0; object defaults to the case."""
    out = []
    for i, r in enumerate(rows):
        row: dict[str, object] = {"seq": i, "event_id": f"e{i}", "actor_kind": "human",
                                  "source": "github", "team": None, **r}  # fmt: skip
        row["timestamp"] = T0 + dt.timedelta(hours=float(row.pop("h")))  # type: ignore[arg-type]
        row.setdefault("object_id", row["case_id"])
        # the tracker's issue is the work item; everything else is linked to it
        row.setdefault("object_type", "issue" if row["source"] == "jira" else "pull_request")
        row.setdefault("resource", row.get("actor_id"))
        out.append({k: row.get(k) for k in LOG_SCHEMA})
    return pl.DataFrame(out, schema=LOG_SCHEMA)


def _attrs(items: dict[str, dict[str, object]], accounts: dict[str, str | None] | None = None
           ) -> pl.DataFrame:  # fmt: skip
    ids = list(items)
    return pl.DataFrame(
        {"event_id": ids, "attrs": [json.dumps(items[i]) for i in ids],
         "account_id": [(accounts or {}).get(i) for i in ids]},
        schema={"event_id": pl.String, "attrs": pl.String, "account_id": pl.String},
    )  # fmt: skip


def _types(df: pl.DataFrame) -> dict[str, str]:
    return {s: e["evidence"]["type"] for s, e in _by(df, "shadow_agent").items()}  # type: ignore[index]


def test_a_branch_signs_only_the_pr_authors_events() -> None:
    agent, ops = "github:copilot-swe-agent[bot]", "github:ops"
    head = {"author": agent, "head": "copilot/fix-login"}
    ea = _attrs({"opened": head, "merged": head, "merged-no-actor": head},
                {"opened": agent, "merged": ops, "merged-no-actor": None})  # fmt: skip
    assert ai_events(ea)["event_id"].to_list() == ["opened"]


def test_signed_events_without_a_performer_go_to_the_commit_author() -> None:
    log = _log([
        {"case_id": "c", "activity": "Status: In Progress", "h": 0, "actor_id": "dev9",
         "source": "jira"},
        {"case_id": "c", "activity": "Commit pushed", "h": 1, "actor_id": None, "event_id": "sig"},
    ])  # fmt: skip
    ea = _attrs(
        {
            "sig": {
                "author_email": "Dev9@acme.example",
                "trailers": ["Co-authored-by: Cursor Agent <cursoragent@cursor.com>"],
            }
        }
    )
    links = pl.DataFrame({"account_id": ["email:dev9@acme.example"], "actor_id": ["dev9"]})
    df = findings(log, D, events_attrs=ea, accounts=links, kinds=("shadow_agent",))
    assert _types(df) == {"dev9": "ai_signature"}  # never a finding about ``None``


def test_ai_signatures_outside_what_the_registry_sanctions() -> None:
    design = {**DESIGN, "agents": [{"id": "cursor-agent", "accounts": ["github:cursor[bot]"],
                                    "stages": ["build"]}]}  # fmt: skip
    cursor = ["Co-authored-by: Cursor Agent <cursoragent@cursor.com>"]
    claude = ["Co-Authored-By: Claude <noreply@anthropic.com>"]
    log = _log([
        {"case_id": "c", "activity": "Commit pushed", "h": 0, "actor_id": "ann", "event_id": "a"},
        {"case_id": "c", "activity": "Commit pushed", "h": 1, "actor_id": "bob", "event_id": "b"},
        {"case_id": "d", "activity": "Status: QA", "h": 0, "actor_id": "cat", "source": "jira"},
        {"case_id": "d", "activity": "Comment added", "h": 1, "actor_id": "cat", "source": "jira",
         "event_id": "c"},
    ])  # fmt: skip
    ea = _attrs(
        {
            "a": {"trailers": cursor},
            "b": {"trailers": claude},
            "c": {"body": "Test plan\n🤖 Generated with [Claude Code](https://claude.com)"},
        }
    )
    df = findings(log, as_design(design), events_attrs=ea, kinds=("shadow_agent",))
    shadow = _by(df, "shadow_agent")
    assert set(shadow) == {"bob", "cat"}  # ann uses the registered tool where it may act
    assert shadow["bob"]["evidence"]["reasons"] == ["tool not in the agent registry"]  # type: ignore[index]
    assert shadow["cat"]["evidence"]["stages"] == ["qa"]  # type: ignore[index]


def test_unregistered_bots_are_shadow_agents_low_outside_the_designed_stages() -> None:
    rows: list[dict[str, object]] = []
    for i in range(14):
        rows += [
            {"case_id": f"c{i}", "activity": "PR opened", "h": 24 * i, "actor_id": "dev"},
            {"case_id": f"c{i}", "activity": "Commit pushed", "h": 24 * i + 1,
             "actor_id": "github:renovate[bot]", "actor_kind": "bot"},
            {"case_id": f"c{i}", "activity": "PR comment added", "h": 24 * i + 2,
             "actor_id": "github:coderabbitai[bot]", "actor_kind": "agent"},
            {"case_id": f"c{i}", "activity": "Status: QA", "h": 24 * i + 3,
             "actor_id": "github:codecov[bot]", "actor_kind": "bot", "source": "jira"},
        ]  # fmt: skip
    rows += [  # a chat app posting a digest on a platform the registry speaks about
        {"case_id": f"digest{i}", "activity": "Bot message", "h": 24 * i + 8,
         "actor_id": "github:digest[bot]", "actor_kind": "bot"}
        for i in range(5)
    ]  # fmt: skip
    df = findings(_log(rows), D, kinds=("shadow_agent",))
    assert _types(df) == {
        "github:coderabbitai[bot]": "undeclared_automation",  # an AI agent
        "github:codecov[bot]": "undeclared_automation",  # in human-only QA
        "github:renovate[bot]": "unregistered_app",  # in build: sanctioned nowhere
        "github:digest[bot]": "unregistered_app",
    }
    by = _by(df, "shadow_agent")
    assert by["github:digest[bot]"]["severity"] == "low"  # outside the designed stages
    assert by["github:digest[bot]"]["evidence"]["stages"] == []  # type: ignore[index]
    # a registry that names no account of a platform says nothing about its apps
    slack_only = as_design({**DESIGN, "agents": [{"id": "r", "accounts": ["slack:B1"]}]})
    quiet = findings(_log(rows), slack_only, kinds=("shadow_agent",))
    assert "github:digest[bot]" not in _types(quiet)


def test_agents_on_their_own_pull_requests_stay_in_their_stage() -> None:
    design = {**DESIGN, "agents": [{"id": "coder", "accounts": ["github:coder[bot]"],
                                    "stages": ["build"]}]}  # fmt: skip
    design["stages"] = [
        {**s, "activities": [*s["activities"], "github:Review requested"]}
        if s["id"] == "review" else s for s in DESIGN["stages"]
    ]  # fmt: skip
    rows: list[dict[str, object]] = []
    for i in range(4):
        rows += [
            {"case_id": f"c{i}", "activity": "PR opened", "h": i, "actor_id": "github:coder[bot]"},
            {"case_id": f"c{i}", "activity": "Review requested", "h": i + 0.1,
             "actor_id": "github:coder[bot]"},
        ]  # fmt: skip
    own = findings(_log(rows), as_design(design), kinds=("shadow_agent",))
    assert _types(own) == {}
    rows.append({"case_id": "x", "activity": "PR merged", "h": 9, "actor_id": "github:coder[bot]"})
    merged = findings(_log(rows), as_design(design), kinds=("shadow_agent",))
    assert _types(merged) == {"github:coder[bot]": "out_of_stage"}  # once in deploy is enough


def test_consistent_sub_minute_reactions_are_automation_on_their_own() -> None:
    rows: list[dict[str, object]] = []
    for i in range(14):  # weekdays, office hours, varied text: only the speed gives it away
        day = 24 * (i + 2 * (i // 5))
        rows += [
            {"case_id": f"c{i}", "activity": "PR opened", "h": day + i % 7, "actor_id": f"dev{i % 3}"},
            {"case_id": f"c{i}", "activity": "PR comment added", "h": day + i % 7 + 0.01,
             "actor_id": "watcher"},
        ]  # fmt: skip
    actors = classify_actors(_log(rows))
    row = actors.filter(pl.col("actor_id") == "watcher").row(0, named=True)
    assert (row["kind"], row["basis"]) == ("bot", "behaviour")
    assert "consistently sub-minute" in json.loads(row["evidence"])["behaviour_signals"]


def test_going_on_after_an_automation_fired_is_not_a_reaction() -> None:
    rows: list[dict[str, object]] = []
    for i in range(14):  # the reporter keeps editing right after the automation rule fired
        rows += [
            {"case_id": f"c{i}", "activity": "Issue created", "h": 24 * i, "actor_id": "ann",
             "source": "jira"},
            {"case_id": f"c{i}", "activity": "Status: Triage", "h": 24 * i + 0.002,
             "actor_id": "rule", "source": "jira"},
            {"case_id": f"c{i}", "activity": "Labels changed", "h": 24 * i + 0.01,
             "actor_id": "ann", "source": "jira"},
        ]  # fmt: skip
    feats = dict(classify_actors(_log(rows)).select("actor_id", "kind").iter_rows())
    assert feats["ann"] == "human"
    assert feats["rule"] == "bot"


def test_off_hours_do_not_depend_on_the_time_zone() -> None:
    from wfmine.findings.actors import behaviour_features

    rows: list[dict[str, object]] = []
    for d in range(10):  # a person in UTC+5:30 works 04:00-13:00 UTC; a cron job all day
        rows += [{"case_id": "a", "activity": "x", "h": 24 * d + 19 + h, "actor_id": "ravi"}
                 for h in range(0, 9, 2)]  # fmt: skip
        rows += [{"case_id": "b", "activity": "x", "h": 24 * d + h, "actor_id": "cron"}
                 for h in range(0, 24, 3)]  # fmt: skip
    off = dict(behaviour_features(_log(rows)).select("actor_id", "off_hours_share").iter_rows())
    assert off["ravi"] == 0.0
    assert off["cron"] >= 0.4


def _occ(log: pl.DataFrame, design: object = None, ea: pl.DataFrame | None = None
         ) -> set[tuple[str, str, str | None]]:  # fmt: skip
    from wfmine.findings import failure_occurrences
    from wfmine.findings._events import staged_events

    d = as_design(design) if isinstance(design, dict) else None
    occ = failure_occurrences(staged_events(log, d), d, ea)
    return set(occ.select("case_id", "type", "stage").iter_rows())


_FLOW = [("Status: In Progress", "dev", "jira"), ("Commit pushed", "dev", "github"),
         ("PR opened", "dev", "github"), ("PR approved", "rev", "github"),
         ("Status: QA", "qa1", "jira"), ("PR merged", "ops", "github"),
         ("Status: Done", "ops", "jira")]  # fmt: skip


def _flow(case: str, start: float = 0, steps: list[tuple[str, str | None, str]] | None = None,
          gap: float = 5) -> list[dict[str, object]]:  # fmt: skip
    return [{"case_id": case, "activity": a, "h": start + gap * i, "actor_id": who, "source": src}
            for i, (a, who, src) in enumerate(steps or _FLOW)]  # fmt: skip


def test_a_ci_result_after_review_started_is_not_rework() -> None:
    design = {**DESIGN, "stages": [
        {**s, "activities": [*s["activities"], "github:Check passed"]}
        if s["id"] == "build" else s for s in DESIGN["stages"]
    ]}  # fmt: skip
    steps = [*_FLOW[:4], ("Check passed", None, "github"), *_FLOW[4:]]
    assert _occ(_log(_flow("c", steps=steps)), design) == set()


def test_leaving_the_end_stage_is_a_reopen_whatever_the_source() -> None:
    revert = [*_FLOW, ("Commit pushed", "dev", "github"), ("PR opened", "dev", "github"),
              ("PR merged", "ops", "github"), ("Revert merged", "ops", "github")]  # fmt: skip
    found = _occ(_log(_flow("c", steps=revert)), DESIGN)
    assert found == {("c", "revert", "deploy")}  # the tracker stayed done: no reopen, no rework
    plain = {"stages": [{"id": "work", "activities": ["*:Work"]},
                        {"id": "done", "activities": ["*:Close"]}], "end": ["done"]}  # fmt: skip
    csv = [("Work", "a", "csv"), ("Close", "a", "csv"), ("Work", "a", "csv")]
    assert ("c", "reopen", "done") in _occ(_log(_flow("c", steps=csv)), plain)
    # the tracker moving the item out of its end status is a reopen, whatever its category
    jira = [(a, w, "jira") for a, w, _ in csv]
    assert ("c", "reopen", "done") in _occ(_log(_flow("c", steps=jira)), plain)
    named = [("Work", "a", "jira"), ("Close", "a", "jira"), ("Status: Reopened", "b", "jira")]
    assert ("c", "reopen", "done") in _occ(_log(_flow("c", steps=named)), plain)


def test_ci_fix_spans_commit_objects_of_the_case() -> None:
    steps = [*_FLOW[:3], ("Check failed", None, "github"), ("Commit pushed", "dev", "github"),
             ("Check passed", None, "github"), *_FLOW[3:]]  # fmt: skip
    rows = _flow("c", steps=steps)
    for row, obj in zip(rows[1:6], ["c1", "pr", "c1", "c2", "c2"], strict=True):
        row["object_id"] = obj
    assert ("c", "ci_fix", "build") in _occ(_log(rows), DESIGN)


def _visits(durations: list[float], stage: str = "review") -> pl.DataFrame:
    """Two visits per case: ``stage`` for the given seconds, then qa."""
    rows = []
    for i, d in enumerate(durations):
        nxt = T0 + dt.timedelta(seconds=d)
        rows += [(f"c{i}", 1, stage, T0, T0, nxt), (f"c{i}", 2, "qa", nxt, nxt, nxt)]
    return pl.DataFrame(
        rows, schema=["case_id", "visit", "stage", "start", "last", "end"], orient="row"
    )


def test_the_design_expected_time_is_the_stall_limit_where_it_gives_one() -> None:
    from wfmine.findings.stalls import stall_limits

    day = 86400.0
    limits = stall_limits(_visits([600.0] * 12), D).row(0, named=True)
    assert (limits["basis"], limits["limit_s"]) == ("the design's expected time", 2 * day)


def test_statistical_stall_limits_survive_zero_spread_and_mixtures() -> None:
    from wfmine.findings.stalls import stall_limits

    day = 86400.0
    silent = as_design({**DESIGN, "stages": [{k: v for k, v in s.items() if k != "expected"}
                                             for s in DESIGN["stages"]]})  # fmt: skip
    fixed = stall_limits(_visits([600.0] * 20), silent).row(0, named=True)
    assert fixed["limit_s"] == 3600.0  # no spread: a visit just over ten minutes is no stall
    humps = [600.0] * 10 + [d * day for d in (1, 1.5, 2, 2.5, 3, 3, 3.5, 3.5, 4, 4)]
    mixed = stall_limits(_visits(humps), silent).row(0, named=True)
    assert mixed["basis"].startswith("Q3 + 1.5 IQR")
    assert 4 * day < mixed["limit_s"] < 12 * day  # slow weeks are no stalls; twelve days is


def test_quiet_time_in_the_end_stage_before_a_reopen_is_no_stall() -> None:
    reopened = [*_FLOW, ("Status: In Progress", "qa1", "jira"), *_FLOW[1:]]
    rows: list[dict[str, object]] = []
    for i, days in enumerate([1, 1, 1, 20]):  # done, then reopened some days later
        case = _flow(f"c{i}", 24 * 30 * i, reopened)
        for row in case[len(_FLOW) :]:
            row["h"] = float(row["h"]) + 24 * days  # type: ignore[arg-type]
        case[len(_FLOW)]["event_id"] = f"reopen{i}"
        rows += case
    ea = _attrs({f"reopen{i}": {"reopen": True} for i in range(4)})
    found = _occ(_log(rows), DESIGN, ea)
    assert {t for _, t, _ in found} == {"reopen"}


def test_abandoned_means_open_idle_and_in_the_workflow() -> None:
    build = _FLOW[:3]
    rows = (
        _flow("idle", 0, build)
        + _flow("in-flight", 58 * 24, build, gap=1)
        + _flow("closed", 0, [*build, ("PR closed", None, "github")])
        + _flow("late-approval", 0, [*_FLOW, ("PR approved", "rev2", "github")])
        + _flow("chat", 0, [("Message posted", "dev", "slack")])
        + _flow("end", 60 * 24 - 30, _FLOW)
    )
    found = {c for c, t, _ in _occ(_log(rows), DESIGN) if t == "abandoned"}
    assert found == {"idle"}


def test_conversation_and_unperformed_events_hand_nothing_over() -> None:
    rows = [
        {"case_id": "c", "activity": "Issue created", "h": 0, "actor_id": "sup", "team": "support",
         "source": "jira"},
        {"case_id": "c", "activity": "Email sent", "h": 1, "actor_id": "sup", "team": "support",
         "source": "email"},
        {"case_id": "c", "activity": "Email replied", "h": 30, "actor_id": "eng",
         "team": "engineering", "source": "email"},
        {"case_id": "c", "activity": "Email replied", "h": 31, "actor_id": "sup",
         "team": "support", "source": "email"},
        {"case_id": "c", "activity": "Status: In Progress", "h": 32, "actor_id": "eng",
         "team": "engineering", "source": "jira"},
        {"case_id": "c", "activity": "PR merged", "h": 40, "actor_id": None, "team": "operations"},
        {"case_id": "c", "activity": "Commit pushed", "h": 41, "actor_id": "eng",
         "team": "engineering"},
    ]  # fmt: skip
    everything = seams(_log(rows)).filter(pl.col("dimension") == "team")
    assert ("engineering", "support") in set(everything.select("from", "to").iter_rows())
    steps = seams(_log(rows), D).filter(pl.col("dimension") == "team")
    assert set(steps.select("from", "to").iter_rows()) == {("support", "engineering")}


def test_seams_use_the_performers_team_over_the_objects_team() -> None:
    from wfmine.findings import _performer_teams

    class _Store:
        def sql(self, query: str) -> pl.DataFrame:
            return pl.DataFrame(
                {"actor_id": ["qa1", "ops"], "_performer_team": ["qa", "operations"]}
            )

    log = _log(_flow("c", steps=_FLOW[3:])).with_columns(pl.lit("engineering").alias("team"))
    teams = _performer_teams(log, _Store()).select("actor_id", "team").rows()  # type: ignore[arg-type]
    assert teams == [("rev", "engineering"), ("qa1", "qa"), ("ops", "operations"),
                     ("ops", "operations")]  # fmt: skip


def test_recovery_is_the_time_from_stuck_to_the_next_progress() -> None:
    import datetime as dt

    from wfmine.design import load_design_text
    from wfmine.findings.failures import stall_recoveries
    from wfmine.stages import stage_events

    design = load_design_text(
        """
version: 1
name: t
stages:
  - {id: a, team: x, performer: either, expected: 1d, activities: ["csv:A"]}
  - {id: b, team: x, performer: either, expected: 1d, activities: ["csv:B"]}
transitions: [[a, b]]
start: [a]
end: [b]
""",
        name="t.yaml",
    )
    t0 = dt.datetime(2026, 1, 5, tzinfo=dt.UTC)
    rows = []
    for i in range(12):  # eleven one-hour visits of a, one of four days
        wait = dt.timedelta(days=4) if i == 0 else dt.timedelta(hours=1)
        rows += [
            (f"c{i}", "A", t0, 0, "ann", "human"),
            (f"c{i}", "B", t0 + wait, 1, "bob", "human"),
        ]
    log = pl.DataFrame(
        rows,
        schema=["case_id", "activity", "timestamp", "seq", "actor_id", "actor_kind"],
        orient="row",
    ).with_columns(
        pl.lit("csv").alias("source"),
        pl.col("timestamp").dt.cast_time_unit("us"),
        pl.col("actor_id").alias("resource"),
        pl.lit("x").alias("team"),
        pl.format("e{}{}", pl.col("case_id"), pl.col("seq")).alias("event_id"),
    )
    rec = stall_recoveries(stage_events(log, design), design)
    assert rec.get_column("case_id").to_list() == ["c0"]
    row = rec.row(0, named=True)
    assert row["recovered_at"] == t0 + dt.timedelta(days=4)
    assert row["stalled_at"] > row["start"]
    assert row["recovery_s"] == (row["recovered_at"] - row["stalled_at"]).total_seconds()


# -- issue 12: findings that hold on organisations wfmine has never seen ------------------


def _kinds_of(df: pl.DataFrame, kind: str) -> set[str]:
    return set(df.filter(pl.col("kind") == kind)["subject"].to_list())


def test_a_late_approval_from_another_source_is_no_rework() -> None:
    steps = [("Status: In Progress", "dev", "jira"), ("Status: In Review", "dev", "jira"),
             ("Status: QA", "qa1", "jira"), ("PR approved", "rev", "github"),
             ("Status: Done", "ops", "jira")]  # fmt: skip
    assert _occ(_log(_flow("c", steps=steps)), DESIGN) == set()


def test_a_designed_round_trip_once_is_no_failure_twice_is_a_loop() -> None:
    design = {**DESIGN, "transitions": [["triage", "build"], ["build", "review"],
                                        ["review", "build"], ["review", "qa"], ["qa", "deploy"]]}  # fmt: skip
    there = [("Status: In Progress", "dev", "jira"), ("Status: In Review", "dev", "jira")]
    back = [("Status: In Progress", "dev", "jira"), ("Status: In Review", "dev", "jira")]
    rest = [("Status: QA", "qa1", "jira"), ("Status: Done", "ops", "jira")]
    assert _occ(_log(_flow("c", steps=[*there, *back, *rest])), design) == set()
    loop = _occ(_log(_flow("c", steps=[*there, *back, *back, *rest])), design)
    assert {(t, st) for _, t, st in loop} == {("rework_loop", "review")}
    # a move the design does not allow is rework at once
    assert ("c", "rework_loop", "review") in _occ(
        _log(_flow("c", steps=[*there, *back, *rest])), DESIGN
    )


def test_a_merged_pr_closes_its_case_and_unlinked_prs_are_not_judged() -> None:
    rows = [
        *_flow("jira:A-1", 0, [("Status: In Progress", "dev", "jira"),
                               ("Commit pushed", "dev", "github")]),
        *_flow("jira:A-2", 0, [("Status: In Progress", "dev", "jira"),
                               ("PR merged", "ops", "github")]),
    ]  # fmt: skip
    for i in range(6):  # an automation's pull requests, linked to no work item
        rows += _flow(f"github:r#pr/{i}", 24 * i, [("PR opened", "github:renovate[bot]", "github"),
                                                   ("PR merged", "github:renovate[bot]", "github")])  # fmt: skip
    rows.append({"case_id": "jira:Z-9", "activity": "Status: Triage", "h": 60 * 24,
                 "actor_id": "pm", "source": "jira"})  # fmt: skip
    log = _log(rows)
    from wfmine.findings import failure_occurrences
    from wfmine.findings.metrics import judged_events

    d = as_design(DESIGN)
    judged = judged_events(log, d)
    assert not judged.filter(pl.col("case_id").str.starts_with("github:")).height
    abandoned = failure_occurrences(judged, d).filter(pl.col("type") == "abandoned")
    assert abandoned["case_id"].to_list() == ["jira:A-1"]


def test_automation_makes_no_seam_and_the_wait_runs_from_act_to_act() -> None:
    rows = [
        {"case_id": "c", "activity": "Status: In Review", "h": 0, "actor_id": "dev",
         "team": "engineering", "source": "jira"},
        {"case_id": "c", "activity": "Comment added", "h": 10, "actor_id": "dev",
         "team": "engineering", "source": "jira"},  # the giver's last act: not a stage event
        {"case_id": "c", "activity": "Comment added", "h": 72, "actor_id": "qa1", "team": "qa",
         "source": "jira"},  # the taker's first act
        {"case_id": "c", "activity": "Status: QA", "h": 73, "actor_id": "qa1", "team": "qa",
         "source": "jira"},
        {"case_id": "c", "activity": "Status: Done", "h": 80, "actor_id": "jira-automation",
         "team": "operations", "actor_kind": "bot", "source": "jira"},
    ]  # fmt: skip
    table = seams(_log(rows), D).filter(pl.col("dimension") == "team")
    pairs = {(r["from"], r["to"]): r for r in table.iter_rows(named=True)}
    assert set(pairs) == {("engineering", "qa")}  # the automation hands nothing to anyone
    assert pairs[("engineering", "qa")]["wait_median_s"] == 62 * 3600


def test_a_stall_is_nobody_acting_not_a_long_busy_visit() -> None:
    from wfmine.findings._events import staged_events
    from wfmine.findings.failures import failure_occurrences, idle_spells
    from wfmine.stages import stage_visits

    rows: list[dict[str, object]] = []
    for case, busy in (("busy", True), ("stuck", False)):
        rows.append({"case_id": case, "activity": "Status: QA", "h": 0, "actor_id": "qa1",
                     "source": "jira"})  # fmt: skip
        if busy:  # five days in QA (over the expected three), someone at it every day
            rows += [{"case_id": case, "activity": "Comment added", "h": 24 * d, "actor_id": "qa1",
                      "source": "jira"} for d in range(1, 5)]  # fmt: skip
        rows.append({"case_id": case, "activity": "Status: Done", "h": 120, "actor_id": "ops",
                     "source": "jira"})  # fmt: skip
    d = as_design(DESIGN)
    events = staged_events(_log(rows), d)
    spells = dict(idle_spells(events, stage_visits(events), d).select("case_id", "idle_s").rows())
    assert spells == {"busy": 24 * 3600.0, "stuck": 120 * 3600.0}
    stalls = failure_occurrences(events, d).filter(pl.col("type") == "stall")
    assert stalls["case_id"].to_list() == ["stuck"]


def test_a_revert_and_what_it_causes_are_one_finding() -> None:
    rows: list[dict[str, object]] = []
    for i in range(4):
        rows += _flow(f"c{i}", 24 * 8 * i, [
            *_FLOW, ("Revert merged", "ops", "github"),
            ("Status: In Progress", "dev", "jira"), ("Commit pushed", "dev", "github"),
            ("Status: In Review", "dev", "jira"), ("Status: QA", "qa1", "jira"),
            ("Status: Done", "ops", "jira"),
        ])  # fmt: skip
    teams = {"dev": "engineering", "rev": "engineering", "qa1": "qa", "ops": "operations"}
    for row in rows:
        row["team"] = teams[str(row["actor_id"])]
    found = findings(_log(rows), D, kinds=("failure_pattern", "unowned_seam"))
    patterns = _by(found, "failure_pattern")
    assert set(patterns) == {"revert@deploy"}
    assert "reopen@deploy" in patterns["revert@deploy"]["evidence"]["consequences"]  # type: ignore[index]
    # the handoffs back to engineering and on again are the revert's, not a seam's
    assert set(_by(found, "unowned_seam")) == {"qa -> operations"}


def test_an_agent_approving_work_above_its_tier_is_a_shadow_act() -> None:
    spec = {**DESIGN, "risk": {"default": "high_stakes"},
            "gates": [{"before": "deploy", "approvals": ["github:PR approved"]}],
            "agents": [{"id": "reviewbot", "accounts": ["github:reviewbot[bot]"],
                        "stages": ["review"], "tiers": ["reversible"]}]}  # fmt: skip
    rows: list[dict[str, object]] = []
    for i in range(3):
        rows += _flow(f"jira:A-{i}", 24 * i, [
            ("Status: In Review", "dev", "jira"),
            ("Review comment added", "github:reviewbot[bot]", "github"),
            ("PR approved", "github:reviewbot[bot]", "github"),
            ("PR approved", "rev", "github"), ("PR approved", "rev2", "github"),
            ("PR merged", "ops", "github"),
        ])  # fmt: skip
    design = as_design(spec)
    df = findings(_log(rows), design, kinds=("shadow_agent",))
    shadow = _by(df, "shadow_agent")
    ev = shadow["github:reviewbot[bot]"]["evidence"]
    assert ev["type"] == "out_of_tier"  # type: ignore[index]
    assert ev["events"] == 3  # its approvals, not its comments  # type: ignore[index]
    assert shadow["github:reviewbot[bot]"]["severity"] == "high"
    relaxed = as_design({**spec, "agents": [{**spec["agents"][0], "tiers": []}]})
    assert not _by(findings(_log(rows), relaxed, kinds=("shadow_agent",)), "shadow_agent")


def _direct_bounces(sequence: list[str]) -> int:
    runs = [x for i, x in enumerate(sequence) if i == 0 or x != sequence[i - 1]]
    return sum(1 for i in range(2, len(runs)) if runs[i] == runs[i - 2])


def test_ping_pong_on_a_classic_log_equals_a_direct_count() -> None:
    import random

    from wfmine.findings import failure_occurrences
    from wfmine.findings._events import staged_events

    rng = random.Random(5)
    rows: list[dict[str, object]] = []
    expected = 0
    for c in range(30):
        seq = [rng.choice("ABC") for _ in range(rng.randint(2, 9))]
        expected += _direct_bounces(seq)
        rows += [{"case_id": f"c{c}", "activity": "work", "h": 24 * c + i, "actor_id": None,
                  "resource": who, "source": "xes"} for i, who in enumerate(seq)]  # fmt: skip
    occ = failure_occurrences(staged_events(_log(rows), None))
    assert occ.filter(pl.col("type") == "ping_pong").height == expected > 0
    # the same on groups: org:group is the team
    for row in rows:
        row["team"], row["resource"] = row["resource"], "someone"
    occ = failure_occurrences(staged_events(_log(rows), None))
    assert occ.filter(pl.col("type") == "ping_pong").height == expected


def test_without_a_design_only_the_costliest_seams_are_findings() -> None:
    from wfmine.findings.seams import TOP_SEAMS

    rows: list[dict[str, object]] = []
    people = [f"p{i}" for i in range(12)]
    for c in range(200):
        a, b = people[c % 12], people[(c * 5 + 1) % 12]
        rows += [{"case_id": f"c{c}", "activity": "work", "h": 24 * c, "resource": a,
                  "actor_id": None, "source": "xes"},
                 {"case_id": f"c{c}", "activity": "work", "h": 24 * c + 1 + c % 7, "resource": b,
                  "actor_id": None, "source": "xes"}]  # fmt: skip
    found = findings(_log(rows), kinds=("unowned_seam",))
    assert 1 < found.height <= TOP_SEAMS + 1
    assert "other handoffs" in set(found["subject"].to_list())


def test_findings_read_as_a_person_reads_them(found: pl.DataFrame) -> None:
    seam = _by(found, "unowned_seam")["qa -> operations"]
    assert seam["subject_name"] == "qa → operations"
    assert "every handoff from qa to operations has an owner" in str(seam["assumption"])
    suggestion = seam["suggestion"]
    assert isinstance(suggestion, dict)
    assert "seams:" in suggestion["patch"] and "from: qa, to: operations" in suggestion["patch"]
    assert "handoffs" in suggestion["effect"] and "median wait" in suggestion["effect"]
    pattern = next(iter(_by(found, "failure_pattern").values()))
    assert "_" not in str(pattern["summary"]).split(":")[0]  # "CI fail-and-fix", not "ci_fix"
    gate_words = findings_json(found)[0]["summary"]
    assert "two_humans" not in gate_words


def test_metrics_take_the_stage_events_and_conformance_given() -> None:
    from wfmine.conformance import check
    from wfmine.stages import stage_events

    log, ea = build(seed=5, cases=30)
    staged = stage_events(log, D)
    result = check(log, D)
    given = metrics(log, D, events_attrs=ea, staged=staged, conformance=result)
    computed = metrics(log, D, events_attrs=ea)
    assert given["throughput"].equals(computed["throughput"])
    assert given["failure_weekly"].equals(computed["failure_weekly"])


# -- rules that hold on organisations of other shapes --------------------------------


def test_a_late_approval_of_an_earlier_stage_is_no_handoff() -> None:
    # the second approval lands on GitHub after QA took the item: the review's work
    # finishing, not the item handed back to engineering and on to QA again
    rows = [
        {"case_id": "c", "activity": "Status: In Review", "h": 0, "actor_id": "dev",
         "team": "engineering", "source": "jira"},
        {"case_id": "c", "activity": "PR approved", "h": 2, "actor_id": "rev",
         "team": "engineering"},
        {"case_id": "c", "activity": "Status: QA", "h": 30, "actor_id": "qa1", "team": "qa",
         "source": "jira"},
        {"case_id": "c", "activity": "PR approved", "h": 33, "actor_id": "rev2",
         "team": "engineering"},
        {"case_id": "c", "activity": "Comment added", "h": 40, "actor_id": "qa1", "team": "qa",
         "source": "jira"},
        {"case_id": "c", "activity": "Status: Done", "h": 50, "actor_id": "ops",
         "team": "operations", "source": "jira"},
    ]  # fmt: skip
    table = seams(_log(rows), D).filter(pl.col("dimension") == "team")
    pairs = {(r["from"], r["to"]): r["handoffs"] for r in table.iter_rows(named=True)}
    assert pairs == {("engineering", "qa"): 1, ("qa", "operations"): 1}


def test_the_way_back_of_a_designed_round_trip_is_owned() -> None:
    spec = {
        **DESIGN,
        "transitions": [["triage", "build"], ["build", "review"], ["review", "qa"],
                        ["qa", "build"], ["qa", "deploy"], ["deploy", "build"]],
    }  # fmt: skip
    d = as_design(spec)
    owned = {(s.from_, s.to): s.owner for s in d.owned_seams}
    # QA sends work back to build by design: the return of the owned engineering -> qa
    assert owned[("qa", "engineering")] == "qa" and d.seam_owner("qa", "engineering") == "qa"
    # a revert from deploy goes back to build too, but nobody owns engineering -> operations
    assert ("operations", "engineering") not in owned
    assert ("qa", "engineering") not in {(s.from_, s.to) for s in D.owned_seams}
    rows: list[dict[str, object]] = []
    for i in range(4):
        rows += _flow(f"c{i}", 24 * 8 * i, [
            ("Status: In Progress", "dev", "jira"), ("Status: In Review", "dev", "jira"),
            ("Status: QA", "qa1", "jira"), ("Status: In Progress", "qa1", "jira"),
            ("Commit pushed", "dev", "github"), ("Status: In Review", "dev", "jira"),
            ("Status: QA", "qa1", "jira"), ("Status: Done", "ops", "jira"),
        ])  # fmt: skip
    teams = {"dev": "engineering", "qa1": "qa", "ops": "operations"}
    for row in rows:
        row["team"] = teams[str(row["actor_id"])]
    unowned = set(_by(findings(_log(rows), d, kinds=("unowned_seam",)), "unowned_seam"))
    assert unowned == {"qa -> operations"}
    assert "qa -> engineering" in _by(findings(_log(rows), D, kinds=("unowned_seam",)),
                                      "unowned_seam")  # fmt: skip


def test_weekday_seconds_leave_weekends_out() -> None:
    from wfmine.findings.stalls import weekday_seconds

    fri = dt.datetime(2025, 1, 10, 16, tzinfo=dt.UTC)
    frame = pl.DataFrame(
        {
            "a": [fri, fri, dt.datetime(2025, 1, 11, 10, tzinfo=dt.UTC), T0],
            "b": [
                dt.datetime(2025, 1, 13, 10, tzinfo=dt.UTC),  # Friday 16:00 -> Monday 10:00
                fri + dt.timedelta(hours=2),
                dt.datetime(2025, 1, 12, 14, tzinfo=dt.UTC),  # all weekend
                T0 + dt.timedelta(days=14),  # two weeks
            ],
        }
    )
    got = frame.select((weekday_seconds(pl.col("a"), pl.col("b")) / 3600).alias("h"))["h"]
    assert got.to_list() == [18.0, 2.0, 0.0, 240.0]


def test_stall_limits_per_project_where_the_design_gives_no_time() -> None:
    """QA worked in hours on FAST and in days on SLOW: one limit pooled over both is blind to
    a week-long stall on FAST; each project's own limit sees it (and none of SLOW's visits)."""
    from wfmine.findings._events import staged_events
    from wfmine.findings.failures import failure_occurrences
    from wfmine.findings.stalls import stall_limits
    from wfmine.stages import stage_visits

    spec = {**DESIGN, "stages": [{k: v for k, v in s.items() if k != "expected" or s["id"] != "qa"}
                                 for s in DESIGN["stages"]]}  # fmt: skip
    d = as_design(spec)
    rows: list[dict[str, object]] = []
    for project, hours in (("FAST", 3.0), ("SLOW", 4 * 24.0)):
        for i in range(14):
            case = f"jira:{project}-{i}"
            start = 24 * 7 * (i % 7) + (i // 7) * 24  # Mondays and Tuesdays
            took = 24 * 8.0 if (project, i) == ("FAST", 3) else hours * (1 + (i % 3) / 4)
            rows += [
                {"case_id": case, "activity": "Status: QA", "h": start, "actor_id": "qa1",
                 "team": "qa", "source": "jira"},
                {"case_id": case, "activity": "Status: Done", "h": start + took,
                 "actor_id": "ops", "team": "operations", "source": "jira"},
            ]  # fmt: skip
    events = staged_events(_log(rows), d)
    limits = stall_limits(stage_visits(events), d, per_project=True).filter(pl.col("stage") == "qa")
    by = dict(limits.select("scope", "limit_s").rows())
    assert set(by) == {None, "FAST", "SLOW"} and by["FAST"] < 24 * 3600 * 2 < by["SLOW"]
    assert by[None] > 8 * 5 / 7 * 24 * 3600  # pooled: the FAST stall is under it
    assert all("weekdays" in b for b in limits["basis"])
    stalls = failure_occurrences(events, d).filter(pl.col("type") == "stall")
    assert stalls["case_id"].to_list() == ["jira:FAST-3"]
    # one limit per stage by default (the Spark engine computes the same)
    assert stall_limits(stage_visits(events), d).columns == ["stage", "visits", "limit_s", "basis"]


def test_idle_spells_of_part_of_the_visits(org: tuple[pl.DataFrame, pl.DataFrame]) -> None:
    """Events aligned with their visits (joined on the visit's row) and events of more cases
    than the visits (joined on the case and visit) give the same spells."""
    from wfmine.findings.failures import idle_spells
    from wfmine.stages import stage_events, stage_visits

    log, _ = org
    events = stage_events(log, D)
    cases = events.select("case_id").unique().sort("case_id").head(20)
    part = events.join(cases, on="case_id", how="semi", maintain_order="left")
    visits = stage_visits(part)
    aligned = idle_spells(part, visits, D)
    assert aligned.height > 0
    assert idle_spells(events, visits, D).equals(aligned)


def test_handoffs_read_off_the_arrays_are_the_as_of_joins_answer() -> None:
    """Without a design the handoffs of cases in time order are read off the rows next to each
    change (seams._run_handoffs); the as-of joins (the general path) give the same rows,
    ties of stamps around a change included."""
    import sys

    import numpy as np

    from wfmine.findings._events import staged_events
    from wfmine.findings.seams import handoffs

    module = sys.modules[handoffs.__module__]  # the package's name is its function's
    for seed in range(40):
        rng = np.random.default_rng(seed)
        n = int(rng.integers(2, 300))
        case = np.sort(rng.integers(0, 25, n))
        stamp = rng.integers(0, 30, n) * int(rng.choice([1, 60, 3600]))
        order = np.lexsort((stamp, case))
        log = pl.DataFrame(
            {
                "case_id": [f"c{c:02d}" for c in case[order]],
                "activity": ["a"] * n,
                "timestamp": [
                    dt.datetime(2024, 1, 1, tzinfo=dt.UTC) + dt.timedelta(seconds=int(s))
                    for s in stamp[order]
                ],
                "seq": np.arange(n),
                "event_id": [f"e{i:04d}" for i in range(n)],
                "actor_id": [f"a{a}" for a in rng.integers(0, 5, n)],
                "team": [f"T{t}" for t in rng.integers(0, 4, n)],
            },
            schema_overrides={"timestamp": pl.Datetime("us", "UTC")},
        )
        events = staged_events(log, None)
        found = handoffs(events, None)
        acts = events.select("case_id", "timestamp", pl.col("team").alias("_side"))
        coded = module._coded(acts)
        general = module._finish(module._asof_handoffs(coded, coded), "team")
        assert found.equals(general), seed


def test_seam_figures_pair_each_row_with_its_own_sides_in_any_row_order() -> None:
    """A null case id leaves the handoffs out of case order: the seam table is sorted first,
    and each row keeps its own (from, to) through that sort (not the unsorted row's)."""
    from wfmine.findings.seams import _seam_figures

    t0 = dt.datetime(2024, 1, 1)
    rows = [  # (case, from, to, wait hours)
        ("b", "dev", "qa", 1.0),
        (None, "qa", "ops", 2.0),
        ("a", "qa", "ops", 30.0),
        ("a", "dev", "qa", 3.0),
        ("c", "ops", "dev", 5.0),
    ]
    handoffs = pl.DataFrame(
        {
            "dimension": ["team"] * len(rows),
            "case_id": [r[0] for r in rows],
            "from": [r[1] for r in rows],
            "to": [r[2] for r in rows],
            "wait_s": [r[3] * 3600 for r in rows],
            "rework": [False] * len(rows),
            "taken_at": [t0 + dt.timedelta(hours=i) for i in range(len(rows))],
        }
    )
    table = _seam_figures(handoffs, 3.0)
    waits = {(r["from"], r["to"]): r["wait_total_s"] / 3600 for r in table.iter_rows(named=True)}
    assert waits == {("dev", "qa"): 4.0, ("qa", "ops"): 32.0, ("ops", "dev"): 5.0}
    shuffled = _seam_figures(handoffs.reverse(), 3.0)
    assert shuffled.sort("from", "to").equals(table.sort("from", "to"))
