"""Issue 16: reader faults, each fixed once (in the shared builder or contract) and tested here."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

import httpx
import polars as pl
import pytest

from tests.conftest import SAMPLE, need
from tests.fake_servers import FakeServer, Reply, Request
from wfmine.connectors import email, github, jira, slack
from wfmine.store import Store
from wfmine.workspace import detect

API = "https://api.github.com/repos/acme/api"


def _jira_page() -> dict[str, Any]:
    page: dict[str, Any] = json.loads(
        need(SAMPLE / "jira" / "search_page_1.json").read_text(encoding="utf-8")
    )
    return page


def _pr(n: int, *, sha: str | None = None) -> dict[str, Any]:
    return {
        "url": f"{API}/pulls/{n}", "html_url": f"https://github.com/acme/api/pull/{n}",
        "node_id": f"PR_{n}", "number": n, "title": f"ACME-{n} work", "body": "",
        "state": "closed", "user": {"login": "dana", "type": "User"}, "labels": [],
        "created_at": "2024-02-01T10:00:00Z", "updated_at": "2024-02-03T00:00:00Z",
        "closed_at": "2024-02-03T00:00:00Z", "merged_at": "2024-02-03T00:00:00Z",
        "head": {"ref": f"feature/ACME-{n}", "sha": sha or f"{n:040d}"},
        "base": {"ref": "main", "sha": "0" * 40},
    }  # fmt: skip


# -- one bad byte quarantines one record, not its page -------------------------------------


def test_one_invalid_utf8_byte_quarantines_only_its_jira_issue(tmp_path: Path) -> None:
    page = _jira_page()
    assert len(page["issues"]) == 50
    page["issues"][7]["fields"]["summary"] = "BAD-BYTE-HERE"
    data = json.dumps(page, ensure_ascii=False).encode()
    file = tmp_path / "page.json"
    file.write_bytes(data.replace(b"BAD-BYTE-HERE", b"bad \xff title"))
    batch = jira.load(file)
    assert batch.objects.height == 49
    assert batch.quarantine.height == 1
    row = batch.quarantine.row(0, named=True)
    assert row["record_ref"] == f"{file}#7"
    assert "not UTF-8" in row["reason"]
    assert "bad \\xff title" in row["payload"]  # the byte itself is recoverable


def test_one_invalid_utf8_byte_quarantines_only_its_slack_message(tmp_path: Path) -> None:
    root = tmp_path / "export"
    (root / "general").mkdir(parents=True)
    (root / "channels.json").write_text(json.dumps([{"id": "C1", "name": "general"}]))
    (root / "users.json").write_text(json.dumps([{"id": "U1", "name": "ann"}]))
    messages = [
        {"type": "message", "user": "U1", "ts": "1704189600.000100", "text": "fine"},
        {"type": "message", "user": "U1", "ts": "1704189700.000100", "text": "BAD"},
    ]
    day = json.dumps(messages).encode().replace(b"BAD", b"bad \xfe")
    (root / "general" / "2024-01-02.json").write_bytes(day)
    batch = slack.load(root)
    assert batch.events.get_column("event_id").to_list() == ["slack:C1/1704189600.000100"]
    assert batch.quarantine.get_column("record_ref").to_list()[0].endswith("2024-01-02.json#1")


# -- an unrecognised file is named, never skipped silently --------------------------------


def test_a_jira_error_response_saved_as_a_page_is_named_in_the_warnings(tmp_path: Path) -> None:
    page = _jira_page()
    (tmp_path / "page.json").write_text(json.dumps({"issues": page["issues"][:2]}))
    (tmp_path / "page2.json").write_text(
        json.dumps({"errorMessages": ["The value 'X' does not exist for the field 'project'."]})
    )
    batch = jira.load(tmp_path)
    assert batch.objects.height == 2
    [warning] = [w for w in batch.warnings if "page2.json" in w]
    assert "error response" in warning and "does not exist" in warning


def test_a_github_file_holding_an_object_is_named_in_the_warnings(tmp_path: Path) -> None:
    (tmp_path / "pulls.json").write_text(json.dumps({"message": "Not Found", "status": "404"}))
    (tmp_path / "more.json").write_text(json.dumps([_pr(1)]))
    batch = github.load(tmp_path)
    assert batch.objects.height == 1
    [warning] = [w for w in batch.warnings if "pulls.json" in w]
    assert "error response" in warning and "Not Found" in warning


def test_a_slack_file_that_is_not_a_day_file_is_named_in_the_warnings(tmp_path: Path) -> None:
    root = tmp_path / "export"
    (root / "general").mkdir(parents=True)
    (root / "channels.json").write_text(json.dumps([{"id": "C1", "name": "general"}]))
    (root / "users.json").write_text(json.dumps([{"id": "U1", "name": "ann"}]))
    day = [{"type": "message", "user": "U1", "ts": "1704189600.000100", "text": "hi"}]
    (root / "general" / "2024-01-02.json").write_text(json.dumps(day))
    (root / "general" / "notes.json").write_text("[]")
    batch = slack.load(root)
    assert batch.events.height == 1
    assert any("notes.json" in w and "not a conversation day file" in w for w in batch.warnings)


# -- GitHub reviews without submitted_at ----------------------------------------------------


def test_an_approved_review_without_submitted_at_is_quarantined(tmp_path: Path) -> None:
    review = {
        "id": 55, "node_id": "R_55", "state": "APPROVED", "user": {"login": "eve", "type": "User"},
        "pull_request_url": f"{API}/pulls/1", "html_url": "https://github.com/acme/api/pull/1#r55",
        "commit_id": "1" * 40,
    }  # fmt: skip
    (tmp_path / "pulls.json").write_text(json.dumps([_pr(1)]))
    (tmp_path / "reviews.json").write_text(json.dumps([review]))
    batch = github.load(tmp_path)
    assert "PR approved" not in batch.events.get_column("activity").to_list()
    [row] = batch.quarantine.to_dicts()
    assert "APPROVED review without a readable submitted_at" in row["reason"]
    assert row["record_ref"].endswith("reviews.json#0")


# -- zip members of one name -------------------------------------------------------------------


def test_two_zip_members_of_one_name_are_both_read(tmp_path: Path) -> None:
    path = tmp_path / "export.zip"
    day = "general/2024-01-02.json"
    first = [{"type": "message", "user": "U1", "ts": "1704189600.000100", "text": "a"}]
    second = [{"type": "message", "user": "U1", "ts": "1704189700.000100", "text": "b"}]
    with zipfile.ZipFile(path, "w") as zf, pytest.warns(UserWarning, match="Duplicate name"):
        zf.writestr("channels.json", json.dumps([{"id": "C1", "name": "general"}]))
        zf.writestr("users.json", json.dumps([{"id": "U1", "name": "ann"}]))
        zf.writestr(day, json.dumps(first))
        zf.writestr(day, json.dumps(second))
    batch = slack.load(path)
    assert sorted(batch.events.get_column("event_id")) == [
        "slack:C1/1704189600.000100",
        "slack:C1/1704189700.000100",
    ]
    assert any("2 members of this name" in w for w in batch.warnings)


# -- a UTF-8 BOM ------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["jira", "github"])
def test_a_file_with_a_utf8_bom_is_recognised_alone(tmp_path: Path, kind: str) -> None:
    doc: Any = {"issues": _jira_page()["issues"][:2]} if kind == "jira" else [_pr(1), _pr(2)]
    file = tmp_path / "export.json"
    file.write_bytes(b"\xef\xbb\xbf" + json.dumps(doc).encode())
    module = jira if kind == "jira" else github
    assert module.sniff(file)
    found, _ = detect(file)
    assert [d.kind for d in found] == [kind]
    assert module.load(file).objects.height == 2


# -- no cut-off at 200 files -----------------------------------------------------------------


@pytest.mark.parametrize("kind", ["jira", "github"])
def test_folder_detection_reads_past_the_first_200_files(tmp_path: Path, kind: str) -> None:
    for i in range(250):
        (tmp_path / f"a{i:03d}.json").write_text(json.dumps({"name": f"check {i}", "ok": True}))
    doc: Any = {"issues": _jira_page()["issues"][:1]} if kind == "jira" else [_pr(1)]
    (tmp_path / "z.json").write_text(json.dumps(doc))
    module = jira if kind == "jira" else github
    assert module.sniff(tmp_path)
    if kind == "github":  # the 250 foreign files are counted in one readable line
        [line] = [w for w in github.load(tmp_path).warnings if w.startswith("skipped 250")]
        assert "a009.json and 240 more" in line and "a010.json" not in line


# -- a status change with toString: null --------------------------------------------------


def test_a_status_change_without_to_string_is_not_status_none(tmp_path: Path) -> None:
    issue = {
        "id": "1", "key": "ACME-1",
        "fields": {"summary": "x", "created": "2024-03-01T09:00:00.000+0000",
                   "updated": "2024-03-02T09:00:00.000+0000", "status": {"name": "Done"}},
        "changelog": {"histories": [
            {"id": "10", "created": "2024-03-01T10:00:00.000+0000",
             "items": [{"field": "status", "fromString": "To Do", "toString": None, "to": "3"}]},
            {"id": "11", "created": "2024-03-01T11:00:00.000+0000",
             "items": [{"field": "status", "fromString": "To Do", "toString": "Done", "to": "4"}]},
        ]},
    }  # fmt: skip
    file = tmp_path / "issue.json"
    file.write_text(json.dumps(issue))
    batch = jira.load(file)
    activities = batch.events.get_column("activity").to_list()
    assert "Status: None" not in activities and "Status: Done" in activities
    [row] = batch.quarantine.to_dicts()
    assert "without toString" in row["reason"] and "/changelog/10/items/0" in row["record_ref"]


# -- email sender spoofing ---------------------------------------------------------------------


def test_email_identity_comes_from_the_parsed_address(tmp_path: Path) -> None:
    mbox = tmp_path / "spoof.mbox"
    mbox.write_bytes(
        b"From mallory@attacker.example Mon Jan  1 00:00:00 2024\n"
        b"From: =?utf-8?q?boss@acme.example?= <mallory@attacker.example>\n"
        b"To: =?utf-8?q?ceo@acme.example?= <team@acme.example>\n"
        b"Date: Mon, 1 Jan 2024 00:00:00 +0000\nMessage-ID: <spoof@attacker.example>\n"
        b"Subject: urgent\n\npay now\n"
    )
    batch = email.load(mbox)
    assert batch.events.get_column("actor_id").to_list() == ["email:mallory@attacker.example"]
    assert batch.accounts.get_column("account_id").to_list() == ["email:mallory@attacker.example"]
    attrs = json.loads(batch.events.get_column("attrs")[0])
    assert attrs["from"] == "mallory@attacker.example" and attrs["to"] == ["team@acme.example"]


# -- a live pull and a file export give CI results the same ids -------------------------------


def _ci_export(root: Path) -> Path:
    sha = "a" * 40
    repo = root / "repos" / "acme" / "api"
    (repo / "actions" / "runs" / "77").mkdir(parents=True)
    (repo / "pulls.json").write_text(json.dumps([_pr(1, sha=sha)]))
    run = {
        "id": 77, "node_id": "WR_77", "name": "ci", "head_sha": sha, "head_branch": "feature/ACME-1",
        "workflow_id": 5, "status": "completed", "conclusion": "failure", "event": "pull_request",
        "url": f"{API}/actions/runs/77", "html_url": "https://github.com/acme/api/actions/runs/77",
        "created_at": "2024-02-02T10:00:00Z", "updated_at": "2024-02-02T10:05:00Z",
        "pull_requests": [],
    }  # fmt: skip
    (repo / "actions" / "runs.json").write_text(
        json.dumps({"total_count": 1, "workflow_runs": [run]})
    )
    jobs = [
        {"id": 900 + i, "node_id": f"J_{i}", "run_id": 77, "head_sha": sha, "name": f"job {i}",
         "status": "completed", "conclusion": conclusion, "url": f"{API}/actions/jobs/{900 + i}",
         "html_url": f"https://github.com/acme/api/actions/runs/77/job/{900 + i}",
         "started_at": "2024-02-02T10:00:00Z", "completed_at": "2024-02-02T10:04:00Z"}
        for i, conclusion in enumerate(("success", "failure"))
    ]  # fmt: skip
    (repo / "actions" / "runs" / "77" / "jobs.json").write_text(
        json.dumps({"total_count": 2, "jobs": jobs})
    )
    return root


def _replay(root: Path) -> Any:
    def reply(request: Request) -> Reply:
        file = root / (request.path.lstrip("/") + ".json")
        if request.param("state") == "open" or not file.is_file():
            return Reply(200, [])
        return Reply(200, file.read_bytes())

    return reply


class _Replaying(FakeServer):
    """Serve every path from an export folder laid out by API path (``[]`` where none)."""

    def __init__(self, root: Path) -> None:
        super().__init__({})
        self._serve = _replay(root)

    def _reply(self, request: Request) -> Reply:
        self.requests.append(request)
        reply: Reply = self._serve(request)
        return reply


def _ci_ids(events: pl.DataFrame) -> list[str]:
    return sorted(events.filter(pl.col("activity").str.starts_with("Check"))["event_id"])


def test_a_live_pull_and_a_file_export_give_ci_the_same_ids(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = _ci_export(tmp_path / "export")
    exported = github.load(root).events
    monkeypatch.setenv("GITHUB_TOKEN", "ghp_FAKEtoken1234567890abcdef")
    with _Replaying(root) as srv:
        live = github.pull("acme", "api", base_url=srv.url, client=httpx.Client()).events
    assert _ci_ids(exported) == [
        "github:acme/api#pr/1/check/900",
        "github:acme/api#pr/1/check/901",
    ]
    assert _ci_ids(live) == _ci_ids(exported)


def test_a_run_whose_jobs_are_gone_keeps_its_own_conclusion(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = _ci_export(tmp_path / "export")
    (root / "repos/acme/api/actions/runs/77/jobs.json").unlink()
    monkeypatch.setenv("GITHUB_TOKEN", "ghp_FAKEtoken1234567890abcdef")
    serve = _replay(root)

    class Gone(FakeServer):
        def _reply(self, request: Request) -> Reply:
            self.requests.append(request)
            if request.path.endswith("/jobs"):
                return Reply(404, {"message": "Not Found"})
            reply: Reply = serve(request)
            return reply

    with Gone({}) as srv:
        batch = github.pull("acme", "api", base_url=srv.url, client=httpx.Client())
    assert _ci_ids(batch.events) == ["github:acme/api#pr/1/run/77"]
    assert any("jobs of run 77 are not available (404)" in w for w in batch.warnings)


# -- credentials never stored, even when a server echoes them -------------------------------


def _everything(store: Store) -> str:
    tables = ("raw_records", "events", "objects", "object_links", "accounts", "quarantine")
    return "\n".join(store.table(t).write_csv() for t in tables)


def test_a_server_echoing_headers_does_not_store_the_github_token(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = "ghp_ECHOtoken1234567890abcdef"
    monkeypatch.setenv("GITHUB_TOKEN", token)

    def pulls(request: Request) -> Reply:
        if request.param("state") == "open":
            return Reply(200, [])
        return Reply(200, [dict(_pr(1), body=f"request headers: {request.headers}")])

    def issues(request: Request) -> Reply:
        return Reply(200, [{"echo": request.headers}])  # no GitHub record: quarantined

    routes: dict[str, Any] = {"/repos/acme/api/pulls": pulls}
    for path in ("pulls/1/reviews", "pulls/1/commits", "issues/comments",
                 "pulls/comments", "issues/events"):  # fmt: skip
        routes[f"/repos/acme/api/{path}"] = [Reply(200, [])]
    routes["/repos/acme/api/actions/runs"] = [Reply(200, {"workflow_runs": []})]
    routes["/repos/acme/api/issues"] = issues
    with FakeServer(routes) as srv:
        batch = github.pull("acme", "api", base_url=srv.url, client=httpx.Client())
        assert token in srv.requests[0].headers["Authorization"]
    assert batch.quarantine.height == 1  # the echo record, with its payload scrubbed
    with Store(tmp_path / "s.duckdb") as store:
        store.ingest(batch)
        stored = _everything(store)
    assert "request headers" in stored and "***" in stored
    assert token not in stored and token not in "\n".join(batch.warnings)


def test_a_server_echoing_headers_does_not_store_the_jira_credentials(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = "FAKE-jira-echo-token-1234"
    monkeypatch.setenv("JIRA_EMAIL", "bot@acme.example")
    monkeypatch.setenv("JIRA_API_TOKEN", token)

    def search(request: Request) -> Reply:
        issue = {
            "id": "1", "key": "ACME-1",
            "fields": {"summary": f"echo {request.headers.get('Authorization')}",
                       "created": "2024-03-01T09:00:00.000+0000",
                       "updated": "2024-03-01T09:00:00.000+0000", "status": {"name": "Open"}},
        }  # fmt: skip
        broken = {"id": "2", "fields": {"summary": str(request.headers)}}
        return Reply(200, {"issues": [issue, broken], "isLast": True})

    with FakeServer({"/rest/api/3/search/jql": search}) as srv:
        batch = jira.pull(srv.url, "project = ACME", client=httpx.Client())
        basic = srv.requests[0].headers["Authorization"].removeprefix("Basic ")
    assert batch.quarantine.height == 1
    with Store(tmp_path / "s.duckdb") as store:
        store.ingest(batch)
        stored = _everything(store)
    assert "echo Basic ***" in stored
    assert token not in stored and basic not in stored
