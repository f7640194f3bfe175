"""The live Jira client against a local replaying server: paging, retries, errors, resume, secrets."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.fake_servers import FakeServer, Reply, Request
from wfmine.connectors import jira
from wfmine.errors import ConfigError, TerminalError, TransientError
from wfmine.store import Store

TOKEN = "FAKE-jira-token-9f8e7d6c"
SEARCH = "/rest/api/3/search/jql"


def _issue(
    n: int,
    *,
    histories: int = 1,
    total: int | None = None,
    updated: str = "2024-03-0{n}T10:00:00.000+0000",
) -> dict[str, Any]:
    hs = [
        {"id": str(n * 100 + i), "created": f"2024-03-01T1{i}:00:00.000+0000",
         "author": {"accountId": "u1", "accountType": "atlassian"},
         "items": [{"field": "status", "fromString": "To Do" if i == 0 else f"S{i - 1}", "toString": f"S{i}"}]}
        for i in range(histories)
    ]  # fmt: skip
    return {
        "id": str(1000 + n), "key": f"ACME-{n}",
        "fields": {"summary": f"issue {n}", "created": "2024-03-01T09:00:00.000+0000",
                   "updated": updated.format(n=n), "status": {"name": "S0"}},
        "changelog": {"startAt": 0, "maxResults": histories, "total": total or histories, "histories": hs},
    }  # fmt: skip


@pytest.fixture(autouse=True)
def creds(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JIRA_EMAIL", "bot@acme.example")
    monkeypatch.setenv("JIRA_API_TOKEN", TOKEN)


def _pages(request: Request) -> Reply:
    token = request.param("nextPageToken")
    page = {None: 1, "p2": 2, "p3": 3}[token]
    body: dict[str, Any] = {"issues": [_issue(page)], "isLast": page == 3}
    if page < 3:
        body["nextPageToken"] = f"p{page + 1}"
    return Reply(200, body)


def test_pages_with_token_and_long_changelogs() -> None:
    long_issue = _issue(1, histories=2, total=3)
    routes = {
        SEARCH: _pages,
        "/rest/api/3/issue/ACME-1/changelog": [Reply(200, {"startAt": 0, "maxResults": 100, "total": 3, "isLast": True,
            "values": [*long_issue["changelog"]["histories"],
                       {"id": "199", "created": "2024-03-02T10:00:00.000+0000",
                        "items": [{"field": "status", "fromString": "S1", "toString": "Done"}]}]})],
    }  # fmt: skip

    def pages(request: Request) -> Reply:
        reply = _pages(request)
        if request.param("nextPageToken") is None:
            reply.body["issues"] = [long_issue]
        return reply

    routes[SEARCH] = pages
    with FakeServer(routes) as srv:
        batch = jira.pull(srv.url, "project = ACME", client=httpx.Client())
        searches = [r for r in srv.requests if r.path == SEARCH]
    assert len(searches) == 3
    assert searches[0].param("expand") == "changelog" and searches[0].param("fields") == "*all"
    assert searches[0].headers["Authorization"].startswith("Basic ")
    assert sorted(batch.objects.get_column("key")) == ["ACME-1", "ACME-2", "ACME-3"]
    assert "jira:ACME-1/h/199/status" in set(batch.events.get_column("event_id"))
    assert batch.cursor == "2024-03-03T10:00:00Z"


def test_429_retry_after_is_honoured_then_500_then_success() -> None:
    sleeps: list[float] = []
    body = {"issues": [_issue(1)], "isLast": True}
    script = [
        Reply(429, {"errorMessages": ["slow"]}, {"Retry-After": "7"}),
        Reply(500, b"oops"),
        Reply(200, body),
    ]
    with FakeServer({SEARCH: script}) as srv:
        batch = jira.pull(srv.url, "project = ACME", client=httpx.Client(), sleep=sleeps.append)
    assert sleeps[0] == 7.0 and len(sleeps) == 2
    assert batch.objects.height == 1


def test_retry_after_beyond_max_wait_is_transient() -> None:
    with (
        FakeServer({SEARCH: [Reply(429, {}, {"Retry-After": "3600"})]}) as srv,
        pytest.raises(TransientError, match="max_wait"),
    ):
        jira.pull(srv.url, "x", client=httpx.Client(), sleep=lambda s: None, max_wait=30)


def test_malformed_page_is_transient_with_a_clear_message() -> None:
    html = {SEARCH: [Reply(200, b"<html>proxy error</html>")]}
    with FakeServer(html) as srv, pytest.raises(TransientError, match="not JSON"):
        jira.pull(srv.url, "x", client=httpx.Client(), sleep=lambda s: None)


def test_5xx_gives_up_after_bounded_tries() -> None:
    with FakeServer({SEARCH: [Reply(503, b"down")]}) as srv:
        with pytest.raises(TransientError, match="3 tries"):
            jira.pull(srv.url, "x", client=httpx.Client(), sleep=lambda s: None, max_tries=3)
        assert srv.hits(SEARCH) == 3


def test_401_and_410_are_terminal() -> None:
    with FakeServer({SEARCH: [Reply(401, {"errorMessages": ["no"]})],
                     "/rest/api/2/search": [Reply(410, {"errorMessages": ["gone"]})]}) as srv:  # fmt: skip
        with pytest.raises(TerminalError, match=f"Jira rejected the credentials for {srv.url}"):
            jira.pull(srv.url, "x", client=httpx.Client())
        with pytest.raises(TerminalError, match=r"410 Gone.*search/jql"):
            jira.pull(srv.url, "x", client=httpx.Client(), search_path="/rest/api/2/search")


def test_missing_env_var_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("JIRA_API_TOKEN")
    with pytest.raises(ConfigError, match="JIRA_API_TOKEN"):
        jira.pull("http://127.0.0.1:9", "x")


def test_incremental_resume_from_the_store_cursor(tmp_path: Path) -> None:
    jql = "project = ACME ORDER BY key"
    with FakeServer(
        {SEARCH: _pages, "/rest/api/3/myself": [Reply(200, {"timeZone": "UTC"})]}
    ) as srv:
        with Store(tmp_path / "s.duckdb") as store:
            first = jira.pull(srv.url, jql, client=httpx.Client(), store=store)
            store.ingest(first, scope=jql)
            assert store.last_cursor("jira", scope=jql) == "2024-03-03T10:00:00Z"
            second = jira.pull(srv.url, jql, client=httpx.Client(), store=store, overlap_minutes=5)
            added = store.ingest(second, scope=jql)["added"]
        queries = [r.param("jql") for r in srv.requests if r.path == SEARCH]
    assert queries[0] == "project = ACME ORDER BY created ASC"
    assert queries[-1] == '(project = ACME) AND updated >= "2024-03-03 09:55" ORDER BY created ASC'
    assert added["events"] == 0 and added["raw_records"] == 0  # overlap re-read adds nothing


def test_token_never_leaks(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    messages = []
    for script in (
        [Reply(401, {})],
        [Reply(500, b"x")],
        [Reply(200, b"{not json")],
        [Reply(429, {}, {"Retry-After": "999"})],
    ):
        with FakeServer({SEARCH: script}) as srv:
            with pytest.raises((TerminalError, TransientError)) as info:
                jira.pull(srv.url, "x", client=httpx.Client(), sleep=lambda s: None, max_tries=2)
            messages.append(str(info.value) + repr(info.value))
    with FakeServer({SEARCH: _pages}) as srv, Store(tmp_path / "s.duckdb") as store:
        store.ingest(jira.pull(srv.url, "x", client=httpx.Client()), scope="x")
    assert all(TOKEN not in m and "\n" not in m.strip() for m in messages)
    assert TOKEN not in caplog.text
    assert TOKEN.encode() not in (tmp_path / "s.duckdb").read_bytes()
