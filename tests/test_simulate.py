"""wfmine.simulate: deterministic, real export formats, consistent ground truth."""

from __future__ import annotations

import json
import mailbox
from pathlib import Path
from typing import Any

import pytest
import yaml

from wfmine.simulate import SimConfig, main_simulate, simulate

REAL = Path(__file__).resolve().parents[2] / "shared" / "realdata"
if not REAL.exists():  # pragma: no cover - layout of other checkouts
    REAL = Path("/work/shared/realdata")
MERICO = REAL / "jira" / "merico" / "rest" / "agile" / "1.0" / "board"
ANTS = REAL / "github" / "panjf2000-ants" / "repos" / "panjf2000" / "ants"
SLACKDUMP = REAL / "slack" / "slackdump-export" / "export"

needs_real = pytest.mark.skipif(not REAL.exists(), reason="real samples not available")


@pytest.fixture(scope="module")
def org(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("acme")
    simulate(out, seed=7, items=80, months=4)
    return out


def _tree(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


def _load(p: Path) -> Any:
    return json.loads(p.read_text(encoding="utf-8"))


def _jira_issues(root: Path) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for p in sorted((root / "jira").glob("search_page_*.json")):
        out += _load(p)["issues"]
    return out


def _all_text(root: Path) -> str:
    return "\n".join(
        p.read_text(encoding="utf-8", errors="replace") for p in root.rglob("*") if p.is_file()
    )


# ---------------------------------------------------------------- determinism


def test_same_seed_same_bytes(org: Path, tmp_path: Path) -> None:
    simulate(tmp_path / "again", seed=7, items=80, months=4)
    assert _tree(org) == _tree(tmp_path / "again")


def test_different_seed_differs(org: Path, tmp_path: Path) -> None:
    simulate(tmp_path / "other", seed=8, items=80, months=4)
    a, b = _tree(org), _tree(tmp_path / "other")
    assert a["ground_truth.json"] != b["ground_truth.json"]
    assert a["jira/search_page_1.json"] != b["jira/search_page_1.json"]


@pytest.mark.parametrize(("seed", "items", "months"), [(1, 3, 1), (3, 150, 3), (11, 40, 12)])
def test_seeds_and_sizes(tmp_path: Path, seed: int, items: int, months: int) -> None:
    info = main_simulate(tmp_path, seed=seed, items=items, months=months)
    assert info["items"] == items
    gt = _load(tmp_path / "ground_truth.json")
    assert len(gt["work_items"]) == items
    assert (tmp_path / "email" / "acme.mbox").exists()
    assert (tmp_path / "slack" / "users.json").exists()


def test_problems_can_be_switched_off(tmp_path: Path) -> None:
    cfg = SimConfig(
        failure_rates={},
        gate_rates={},
        deviation_rates={},
        escalation_rate=0.0,
        shadow_agents=False,
    )
    simulate(tmp_path, seed=5, items=60, months=3, problems=cfg)
    gt = _load(tmp_path / "ground_truth.json")
    assert gt["shadow_agents"] == []
    assert gt["failure_patterns"] == []
    assert gt["gate_violations"] == []
    assert gt["deviations"] == []


# ---------------------------------------------------------------- Jira format


def _keys_match(mine: Any, real: Any, path: str = "") -> list[str]:
    """Key-set differences of two JSON values, recursively over shared keys."""
    errs: list[str] = []
    if isinstance(mine, dict) and isinstance(real, dict):
        if set(mine) != set(real):
            errs.append(f"{path}: {sorted(set(mine) ^ set(real))}")
        for k in set(mine) & set(real):
            errs += _keys_match(mine[k], real[k], f"{path}.{k}")
    elif isinstance(mine, list) and isinstance(real, list) and mine and real:
        errs += _keys_match(mine[0], real[0], f"{path}[0]")
    return errs


@needs_real
def test_jira_pages_match_real_search_pages(org: Path) -> None:
    pages = sorted((org / "jira").glob("search_page_*.json"))
    new = [_load(p) for p in pages if "isLast" in _load(p)]
    old = [_load(p) for p in pages if "total" in _load(p)]
    assert new and new[-1]["isLast"] is True and all("total" not in p for p in new)
    assert all("nextPageToken" in p for p in new[:-1])
    assert old and {"startAt", "maxResults", "total", "issues"} <= set(old[0])
    real = _load(MERICO / "93" / "issue.json")["issues"]
    real8 = _load(MERICO / "8" / "issue.json")["issues"]
    cloud_user = real[0]["fields"]["reporter"]
    mine = _jira_issues(org)
    assert set(mine[0]) == set(real[0])
    for it in mine[:20]:
        f = it["fields"]
        for name in ("reporter", "creator"):
            assert set(f[name]) == set(cloud_user), name
        for name in ("status", "issuetype", "priority", "votes", "watches", "worklog", "progress"):
            assert not _keys_match(f[name], real[0]["fields"][name], name), name
        assert set(f["project"]) <= set(real8[0]["fields"]["project"]) | {
            "projectTypeKey",
            "simplified",
        }
        assert set(f["comment"]) == set(real8[0]["fields"]["comment"])
        assert set(it["changelog"]) == set(real[0]["changelog"])
    real_hist = next(
        h for i in real8 for h in i["changelog"]["histories"] if "historyMetadata" not in h
    )
    real_items = {
        i["field"]: i for x in real8 for h in x["changelog"]["histories"] for i in h["items"]
    }
    real_comment = next(c for x in real8 for c in x["fields"]["comment"]["comments"])
    seen = set()
    for it in mine:
        for h in it["changelog"]["histories"]:
            assert set(h) == set(real_hist)
            assert set(h["author"]) <= set(cloud_user)
            for item in h["items"]:
                if item["field"] in real_items:
                    assert set(item) == set(real_items[item["field"]]), item["field"]
                    seen.add(item["field"])
        for c in it["fields"]["comment"]["comments"]:
            assert set(c) == set(real_comment)
            assert c["body"]["type"] == "doc"
    assert {"status", "assignee", "resolution"} <= seen


def test_jira_content(org: Path) -> None:
    issues = _jira_issues(org)
    assert [i["key"] for i in issues] == _load(org / "ground_truth.json")["work_items"]
    created = issues[0]["fields"]["created"]
    assert len(created) == len("2026-01-05T14:22:31.000+0100") and created[10] == "T"
    app = [
        h["author"]
        for i in issues
        for h in i["changelog"]["histories"]
        if h["author"]["accountType"] == "app"
    ]
    assert app and app[0]["displayName"] == "Automation for Jira"
    statuses = {
        item["toString"]
        for i in issues
        for h in i["changelog"]["histories"]
        for item in h["items"]
        if item["field"] == "status"
    }
    assert {"Triage", "In Progress", "In Review", "QA", "Done"} <= statuses


# ---------------------------------------------------------------- GitHub format


@needs_real
def test_github_objects_match_real_responses(org: Path) -> None:
    repo = org / "github" / "repos" / "acme" / "api"
    real_pr = _load(ANTS / "pulls.json")[0]
    pulls = _load(repo / "pulls.json")
    assert pulls
    for pr in pulls[:10]:
        assert set(pr) == set(real_pr)
        assert set(pr["user"]) == set(real_pr["user"])
        assert set(pr["head"]) == set(real_pr["head"]) and set(pr["base"]) == set(real_pr["base"])
        assert set(pr["_links"]) == set(real_pr["_links"])
        assert set(pr["head"]["repo"]) <= set(real_pr["head"]["repo"])
    real_review = next(r for p in sorted(ANTS.glob("pulls/*/reviews.json")) for r in _load(p))
    real_commit = next(c for p in sorted(ANTS.glob("pulls/*/commits.json")) for c in _load(p))
    n = pulls[-1]["number"]
    reviews = _load(repo / "pulls" / str(n) / "reviews.json")
    commits = _load(repo / "pulls" / str(n) / "commits.json")
    assert reviews and commits
    assert all(set(r) == set(real_review) for r in reviews)
    assert all(set(c) == set(real_commit) for c in commits)
    assert all(set(c["commit"]) == set(real_commit["commit"]) for c in commits)
    real_rc = _load(ANTS / "pulls" / "comments.json")[0]
    assert all(set(c) == set(real_rc) for c in _load(repo / "pulls" / "comments.json"))
    real_ic = _load(ANTS / "issues" / "comments.json")[0]
    assert all(set(c) == set(real_ic) for c in _load(repo / "issues" / "comments.json"))
    real_ev = _load(ANTS / "issues" / "events.json")
    common = set.intersection(*(set(e) for e in real_ev))
    events = _load(repo / "issues" / "events.json")
    assert {e["event"] for e in events} >= {"review_requested", "merged", "closed"}
    for e in events:
        assert common <= set(e)
        assert set(e["issue"]) >= set(real_ev[0]["issue"])


def test_github_content(org: Path) -> None:
    root = org / "github" / "repos" / "acme"
    pulls = [p for r in ("api", "web", "infra") for p in _load(root / r / "pulls.json")]
    logins = {p["user"]["login"] for p in pulls}
    assert {"dependabot[bot]", "copilot-swe-agent[bot]"} <= logins
    bots = [p["user"] for p in pulls if p["user"]["login"].endswith("[bot]")]
    assert all(u["type"] == "Bot" for u in bots)
    titled = [p for p in pulls if p["title"].startswith("ACME-")]
    assert titled and all(
        p["head"]["ref"].split("/")[1].startswith(("ACME-", "acme-")) for p in titled
    )
    runs = list(root.glob("*/commits/*/check-runs.json"))
    assert runs
    run = _load(runs[0])
    assert run["total_count"] == len(run["check_runs"])
    assert run["check_runs"][0]["app"]["slug"] == "github-actions"
    reverts = [p for p in pulls if p["title"].startswith('Revert "ACME-')]
    for p in reverts:
        assert "Reverts acme/" in p["body"]


# ---------------------------------------------------------------- Slack and e-mail


@needs_real
def test_slack_export_structure(org: Path) -> None:
    slack = org / "slack"
    real_users = _load(SLACKDUMP / "users.json")
    users = _load(slack / "users.json")
    common = set.intersection(*(set(u) for u in real_users))
    assert all(common <= set(u) for u in users)
    bots = [u for u in users if u["is_bot"]]
    assert bots and all(u["profile"]["bot_id"] and u["profile"]["api_app_id"] for u in bots)
    real_ch = _load(SLACKDUMP / "channels.json")[0]
    must = {
        "id",
        "name",
        "created",
        "creator",
        "is_archived",
        "is_general",
        "members",
        "topic",
        "purpose",
    }
    assert must <= set(real_ch)
    channels = _load(slack / "channels.json")
    assert all(must <= set(c) for c in channels)
    real_msgs = [m for p in sorted(SLACKDUMP.glob("*/*.json")) for m in _load(p)]
    real_plain = next(m for m in real_msgs if "subtype" not in m and "thread_ts" not in m)
    msgs = [
        m for c in channels for p in sorted((slack / c["name"]).glob("*.json")) for m in _load(p)
    ]
    plain = [m for m in msgs if "subtype" not in m and "thread_ts" not in m]
    assert plain and all(set(real_plain) <= set(m) for m in plain)
    parents = [m for m in msgs if m.get("reply_count")]
    assert parents
    for m in parents:
        assert m["thread_ts"] == m["ts"] and len(m["replies"]) == m["reply_count"]
    ts = {m["ts"] for m in msgs}
    assert all(m["thread_ts"] in ts for m in msgs if "thread_ts" in m)
    bot_msgs = [m for m in msgs if m.get("subtype") == "bot_message"]
    assert bot_msgs and all(m["bot_id"] and m["bot_profile"]["app_id"] for m in bot_msgs)


def test_mbox_parses_and_threads(org: Path) -> None:
    box = mailbox.mbox(str(org / "email" / "acme.mbox"))
    msgs = list(box)
    assert msgs
    ids = {m["Message-ID"] for m in msgs}
    replies = [m for m in msgs if m["In-Reply-To"]]
    assert replies and all(m["In-Reply-To"] in ids for m in replies)
    assert all(m["References"].split()[-1] == m["In-Reply-To"] for m in replies)
    assert any(m["Auto-Submitted"] == "auto-generated" for m in msgs)
    assert all(m.get_from().split()[0].count("@") == 1 for m in msgs)
    froms = {m["From"] for m in msgs}
    assert any("@acme.example" in f for f in froms)


# ---------------------------------------------------------------- ground truth


def test_ground_truth_refers_to_exports(org: Path) -> None:
    gt = _load(org / "ground_truth.json")
    keys = set(gt["work_items"])
    assert set(gt["risk_tiers"]) == keys
    jira_keys = {i["key"] for i in _jira_issues(org)}
    cases: set[str] = set()
    for s in gt["shadow_agents"]:
        cases |= set(s.get("cases", []))
    for f in gt["failure_patterns"]:
        cases |= set(f["cases"])
        assert f["trend"] in ("rising", "declining", "stable")
    for s in gt["unowned_seams"]:
        cases |= set(s["cases"])
    cases |= {g["case"] for g in gt["gate_violations"]}
    cases |= {d["case"] for d in gt["deviations"]}
    assert cases and cases <= jira_keys == keys
    text = _all_text(org / "github") + _all_text(org / "slack")
    roster = yaml.safe_load((org / "roster.yaml").read_text())
    agents = {p["id"] for p in roster["people"] if p["kind"] == "agent"}
    for s in gt["shadow_agents"]:
        for acct in s["accounts"]:
            _, _, native = acct.partition(":")
            assert f'"{native}"' in text, acct
        if s["type"] in ("undeclared_automation", "ai_signature"):
            assert s["actor"] not in agents
    types = {s["type"] for s in gt["shadow_agents"]}
    assert types == {"undeclared_automation", "ai_signature", "out_of_stage"}


def _pull_requests(root: Path) -> dict[tuple[str, int], dict[str, Any]]:
    """Every exported pull request by (repo, number), with its commits and issue events."""
    prs: dict[tuple[str, int], dict[str, Any]] = {}
    for repo in sorted((root / "github" / "repos" / "acme").iterdir()):
        for pr in _load(repo / "pulls.json"):
            commits = _load(repo / "pulls" / str(pr["number"]) / "commits.json")
            prs[(repo.name, pr["number"])] = {"pr": pr, "commits": commits, "events": []}
        for ev in _load(repo / "issues" / "events.json"):
            key = (repo.name, ev["issue"]["number"])
            if key in prs:
                prs[key]["events"].append(ev)
    return prs


def _case_of(pr: dict[str, Any]) -> str | None:
    title = str(pr["title"])
    head, sep, _ = title.partition(":")
    return head if sep and head.startswith("ACME-") else None


def test_ground_truth_names_only_what_the_exports_show(org: Path) -> None:
    """Shadow agents rest on visible acts; each failure's stage is where the exports put it."""
    gt = _load(org / "ground_truth.json")
    prs = _pull_requests(org).values()
    design = yaml.safe_load((org / "design.yaml").read_text())
    activities = {s["id"]: set(s["activities"]) for s in design["stages"]}
    for entry in gt["shadow_agents"]:
        login = entry["accounts"][0].partition(":")[2]
        if entry["type"] == "ai_signature":
            marker = {"claude": "noreply@anthropic.com", "cursor": "cursoragent@cursor.com"}
            signed = {
                _case_of(p["pr"])
                for p in prs
                for c in p["commits"]
                if (c["author"] or {}).get("login") == login
                and marker[entry["tool"]] in c["commit"]["message"]
            }
            assert set(entry["cases"]) <= signed and entry["cases"], entry["actor"]
        if entry["type"] == "out_of_stage":
            merged = {
                _case_of(p["pr"])
                for p in prs
                for e in p["events"]
                if e["event"] == "merged" and e["actor"]["login"] == login
            }
            assert set(entry["cases"]) == merged - {None} and entry["cases"]
    stages = {f["type"]: f["stage"] for f in gt["failure_patterns"]}
    assert set(stages.values()) <= set(activities)
    if "abandoned" in stages:
        # the abandoned PR asked for review and nothing followed: the case stops in review
        assert "github:Review requested" in activities[stages["abandoned"]]
        abandoned = next(f["cases"] for f in gt["failure_patterns"] if f["type"] == "abandoned")
        for p in prs:
            if _case_of(p["pr"]) in abandoned:
                assert p["pr"]["merged_at"] is None
                assert {e["event"] for e in p["events"]} <= {"review_requested", "labeled"}


def test_roster_and_design(org: Path) -> None:
    roster = yaml.safe_load((org / "roster.yaml").read_text())
    ids = [p["id"] for p in roster["people"]]
    assert len(ids) == len(set(ids)) and len(ids) >= 25
    for p in roster["people"]:
        assert p["kind"] in ("human", "bot", "agent")
        assert all(
            a.split(":", 1)[0] in ("jira", "github", "slack", "email") for a in p["accounts"]
        )
    design = yaml.safe_load((org / "design.yaml").read_text())
    stages = {s["id"] for s in design["stages"]}
    assert stages == {"triage", "build", "review", "qa", "deploy"}
    for a, b in design["transitions"]:
        assert a in stages and b in stages
    agent_accounts = {x for a in design["agents"] for x in a["accounts"]}
    assert "github:acme-reviewbot[bot]" in agent_accounts
    assert "github:jdoyle" not in agent_accounts
