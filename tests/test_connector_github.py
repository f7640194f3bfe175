"""GitHub connector on files: the real samples, the shared suite, content recognition, links."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from tests.conftest import REALDATA, SAMPLE, need
from tests.connector_suite import check_connector, check_event_table
from wfmine.connectors import github
from wfmine.errors import FormatError

ANTS = REALDATA / "github" / "panjf2000-ants"
DLT = REALDATA / "github" / "dlt-duckdb"


def _user(login: str, kind: str = "User") -> dict[str, Any]:
    return {
        "login": login,
        "id": abs(hash(login)) % 10_000,
        "node_id": f"N_{login}",
        "type": kind,
        "site_admin": False,
    }


def _pr(
    n: int, *, title: str = "feat", body: str = "", head: str = "feature/x", merged: bool = True
) -> dict[str, Any]:
    return {
        "url": f"https://api.github.com/repos/acme/api/pulls/{n}",
        "html_url": f"https://github.com/acme/api/pull/{n}",
        "number": n, "title": title, "body": body, "state": "closed",
        "user": _user("dana"), "labels": [{"name": "backend"}],
        "created_at": "2024-02-01T10:00:00Z", "updated_at": "2024-02-03T10:00:00Z",
        "closed_at": "2024-02-03T10:00:00Z", "merged_at": "2024-02-03T10:00:00Z" if merged else None,
        "head": {"ref": head, "sha": f"{n:040d}"}, "base": {"ref": "main", "sha": "0" * 40},
        "author_association": "MEMBER",
    }  # fmt: skip


def _commit(sha: str, message: str) -> dict[str, Any]:
    return {
        "sha": sha, "url": f"https://api.github.com/repos/acme/api/commits/{sha}",
        "html_url": f"https://github.com/acme/api/commit/{sha}",
        "commit": {"message": message,
                   "author": {"name": "Dana", "email": "dana@acme.example", "date": "2024-02-01T09:00:00Z"},
                   "committer": {"name": "Dana", "email": "dana@acme.example", "date": "2024-02-01T09:00:00Z"}},
        "author": _user("dana"), "committer": _user("web-flow"),
    }  # fmt: skip


def test_panjf2000_ants_folder_by_api_path() -> None:
    batch = github.load(need(ANTS))
    check_event_table(batch, expect_events_min=300)
    kinds = dict(batch.accounts.select("account_id", "platform_kind").iter_rows())
    assert kinds["github:codecov[bot]"] == "bot"
    assert kinds["github:panjf2000"] == "human"
    types = dict(batch.objects.group_by("object_type").len().iter_rows())
    assert types["pull_request"] >= 49 and types["commit"] >= 50 and types["gh_issue"] >= 20
    activities = set(batch.events.get_column("activity"))
    assert {"PR opened", "PR merged", "Commit pushed", "PR reviewed", "Review comment added",
            "PR comment added", "Check passed", "Check failed"} <= activities  # fmt: skip
    # commits of pulls/<n>/commits.json are part of PR n
    part_of = batch.object_links.filter(pl.col("relation") == "part_of")
    assert part_of.height >= 50
    # a merged PR is not also "closed" at the same moment
    merged = set(batch.events.filter(pl.col("activity") == "PR merged").get_column("object_id"))
    closed = set(batch.events.filter(pl.col("activity") == "PR closed").get_column("object_id"))
    assert not merged & closed
    assert batch.quarantine.height == 0


def test_dlt_duckdb_plain_arrays_and_repo_events() -> None:
    batch = github.load(need(DLT))
    check_event_table(batch, expect_events_min=300)
    kinds = dict(batch.accounts.select("account_id", "platform_kind").iter_rows())
    assert kinds["github:github-project-automation[bot]"] == "bot"
    repos = {o.split("#")[0].split("@")[0] for o in batch.objects.get_column("object_id")}
    assert repos == {"github:duckdb/duckdb", "github:dlt-hub/dlt"}  # from URLs, not file names
    # the merged PR seen in the events page and in the issue events is one event
    ids = batch.events.get_column("event_id")
    assert ids.n_unique() == ids.len()
    assert batch.events.filter(pl.col("activity") == "Review comment added").height == 23


def test_shared_suite_on_github(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    good = tmp_path / "good"
    (good / "x").mkdir(parents=True)
    (good / "x" / "pulls.json").write_text(json.dumps([_pr(1), _pr(2, merged=False)]))
    (good / "commits-of-1.json").write_text(json.dumps([_commit("a" * 40, "fix ACME-3")]))
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "pulls.json").write_text(
        json.dumps([_pr(3), {"head": {}, "base": {}, "number": "x"}, {"what": 1}])
    )
    (bad / "broken.json").write_text("[{")
    check_connector(
        github.load,
        good,
        bad_path=bad,
        tmp_path=tmp_path,
        monkeypatch=monkeypatch,
        expect_events_min=4,
    )
    batch = github.load(bad)
    refs = set(batch.quarantine.get_column("record_ref"))
    assert {f"{bad / 'pulls.json'}#1", f"{bad / 'pulls.json'}#2", str(bad / "broken.json")} <= refs


def test_links_trailers_reverts(tmp_path: Path) -> None:
    body = "This closes ACME-12 and relates to ACME-14.\n\nReverts acme/api#5"
    pr = _pr(41, title="ACME-13: login", body=body, head="feature/ACME-15-login")
    msg = "ACME-16 tidy\n\nCo-authored-by: Cursor Agent <cursoragent@cursor.com>\nMade-with: Cursor"
    (tmp_path / "pulls.json").write_text(json.dumps([pr]))
    (tmp_path / "pulls" / "41").mkdir(parents=True)
    (tmp_path / "pulls" / "41" / "commits.json").write_text(json.dumps([_commit("b" * 40, msg)]))
    batch = github.load(tmp_path)
    links = {(r["to_object"], r["relation"]) for r in batch.object_links.iter_rows(named=True)}
    pr_id = "github:acme/api#pr/41"
    assert {("jira:ACME-12", "closes"), ("jira:ACME-14", "mentions"), ("jira:ACME-13", "title"),
            ("jira:ACME-15", "branch"), ("jira:ACME-16", "commit_message"), (pr_id, "part_of")} <= links  # fmt: skip
    evidence = batch.object_links.filter(pl.col("relation") == "branch").get_column("evidence")[0]
    assert evidence == "branch: feature/ACME-15-login"
    commit = batch.events.filter(pl.col("activity") == "Commit pushed").row(0, named=True)
    attrs = json.loads(commit["attrs"])
    assert attrs["trailers"] == [
        "Co-authored-by: Cursor Agent <cursoragent@cursor.com>",
        "Made-with: Cursor",
    ]
    assert (
        attrs["author_email"] == "dana@acme.example"
        and attrs["message_first_line"] == "ACME-16 tidy"
    )
    revert = batch.events.filter(pl.col("activity") == "Revert merged").row(0, named=True)
    assert json.loads(revert["attrs"])["reverts"] == "github:acme/api#pr/5"


def test_gh_paginate_output_and_ndjson(tmp_path: Path) -> None:
    reviews = [
        {"id": 9, "user": _user("copilot-pull-request-reviewer[bot]", "Bot"), "state": "APPROVED",
         "submitted_at": "2024-02-02T10:00:00Z", "commit_id": "c",
         "pull_request_url": "https://api.github.com/repos/acme/api/pulls/41",
         "html_url": "https://github.com/acme/api/pull/41#pullrequestreview-9"},
        {"id": 10, "user": _user("erin"), "state": "CHANGES_REQUESTED", "submitted_at": "2024-02-02T11:00:00Z",
         "pull_request_url": "https://api.github.com/repos/acme/api/pulls/41"},
    ]  # fmt: skip
    paginate = tmp_path / "reviews.out"
    paginate.write_text(json.dumps(reviews[:1]) + json.dumps(reviews[1:]))  # "][" without separator
    ndjson = tmp_path / "events.ndjson"
    event = {"id": 77, "event": "labeled", "actor": _user("dana"), "created_at": "2024-02-02T12:00:00Z",
             "label": {"name": "security"}, "url": "https://api.github.com/repos/acme/api/issues/events/77",
             "issue": {"number": 41, "html_url": "https://github.com/acme/api/pull/41",
                       "pull_request": {}, "title": "t", "created_at": "2024-02-01T10:00:00Z",
                       "url": "https://api.github.com/repos/acme/api/issues/41"},
             "performed_via_github_app": {"slug": "triage-app"}}  # fmt: skip
    ndjson.write_text(json.dumps(event) + "\n")
    a = github.load(paginate)
    assert set(a.events.get_column("activity")) == {"PR approved", "Changes requested"}
    kinds = dict(a.accounts.select("account_id", "platform_kind").iter_rows())
    assert (
        kinds["github:copilot-pull-request-reviewer[bot]"] == "agent"
    )  # from wfmine/data/signals.toml
    b = github.load(ndjson)
    labeled = b.events.filter(pl.col("activity") == "Labeled").row(0, named=True)
    assert labeled["object_id"] == "github:acme/api#pr/41"
    assert json.loads(labeled["attrs"])["performed_via_github_app"] == "triage-app"


def test_unreadable_single_file_is_a_format_error(tmp_path: Path) -> None:
    file = tmp_path / "pulls.json"
    file.write_text("{{{")
    with pytest.raises(FormatError):
        github.load(file)


def test_sniff_by_content() -> None:
    assert github.sniff(need(ANTS)) and github.sniff(need(DLT))
    assert not github.sniff(REALDATA / "jira" / "fiware")


def test_acme_sample_exports_load_when_present() -> None:
    folder = SAMPLE / "github"
    if not folder.exists():
        pytest.skip("sample_logs/acme/github not written yet")
    batch = github.load(folder)
    check_event_table(batch, expect_events_min=10)
    assert batch.object_links.height > 0
