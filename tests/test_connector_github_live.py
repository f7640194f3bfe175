"""The live GitHub client against a local replaying server: Link paging, rate limits, errors, secrets."""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.fake_servers import FakeServer, Reply, Request
from wfmine.connectors import github
from wfmine.connectors._http import Http, next_link
from wfmine.errors import ConfigError, TerminalError, TransientError
from wfmine.store import Store

TOKEN = "ghp_FAKEtoken1234567890abcdef"
API = "/repos/acme/api"


def _pr(n: int, updated: str) -> dict[str, Any]:
    return {
        "url": f"https://api.github.com/repos/acme/api/pulls/{n}",
        "html_url": f"https://github.com/acme/api/pull/{n}", "number": n, "title": f"ACME-{n} work",
        "body": "", "state": "closed", "user": {"login": "dana", "type": "User"}, "labels": [],
        "created_at": "2024-02-01T10:00:00Z", "updated_at": updated, "closed_at": updated,
        "merged_at": updated, "head": {"ref": f"feature/ACME-{n}", "sha": f"{n:040d}"},
        "base": {"ref": "main", "sha": "0" * 40},
    }  # fmt: skip


PRS = [
    _pr(3, "2024-02-05T00:00:00Z"),
    _pr(2, "2024-02-04T00:00:00Z"),
    _pr(1, "2024-02-03T00:00:00Z"),
]


def _paged_pulls(request: Request) -> Reply:
    if request.param("state") == "open":
        return Reply(200, [])
    page = int(request.param("page") or 1)
    headers = {}
    if page < 3:
        headers["Link"] = (
            f'<{{base}}{API}/pulls?state=all&page={page + 1}>; rel="next", <{{base}}{API}/pulls?page=3>; rel="last"'
        )
    return Reply(200, [PRS[page - 1]], headers)


def _routes(**extra: Any) -> dict[str, Any]:
    routes: dict[str, Any] = {f"{API}/pulls": _paged_pulls}
    for n in (1, 2, 3):
        routes[f"{API}/pulls/{n}/reviews"] = [Reply(200, [])]
        routes[f"{API}/pulls/{n}/commits"] = [Reply(200, [])]
    for path in ("issues", "issues/comments", "pulls/comments", "issues/events"):
        routes[f"{API}/{path}"] = [Reply(200, [])]
    routes[f"{API}/actions/runs"] = [Reply(200, {"total_count": 0, "workflow_runs": []})]
    routes.update(extra)
    return routes


@pytest.fixture(autouse=True)
def token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)


def test_link_pagination_over_three_pages() -> None:
    with FakeServer(_routes()) as srv:
        batch = github.pull("acme", "api", base_url=srv.url, client=httpx.Client())
        pulls = [r for r in srv.requests if r.path == f"{API}/pulls" and r.param("state") != "open"]
        assert pulls[0].headers["Authorization"] == f"Bearer {TOKEN}"
    assert len(pulls) == 3
    assert sorted(batch.objects.filter(batch.objects["object_type"] == "pull_request").get_column("key")) == [
        "acme/api#1", "acme/api#2", "acme/api#3"]  # fmt: skip
    assert batch.cursor == "2024-02-05T00:00:00Z"
    assert batch.object_links.filter(batch.object_links["relation"] == "branch").height == 3


def test_watermark_stops_paging_and_resumes(tmp_path: Path) -> None:
    with FakeServer(_routes()) as srv, Store(tmp_path / "s.duckdb") as store:
        store.ingest(
            github.pull("acme", "api", base_url=srv.url, client=httpx.Client()), scope="acme/api"
        )
        since = store.last_cursor("github", "acme/api")
        before = len(srv.requests)
        again = github.pull("acme", "api", base_url=srv.url, client=httpx.Client(), since=since)
        added = store.ingest(again, scope="acme/api")["added"]
        second = srv.requests[before:]
    assert since == "2024-02-05T00:00:00Z"
    # newest-first pages stop at the first page that reaches past the watermark (2 of 3)
    assert len([r for r in second if r.path == f"{API}/pulls" and r.param("state") != "open"]) == 2
    assert [r.param("since") for r in second if r.path == f"{API}/issues"] == [
        "2024-02-05T00:00:00Z"
    ]
    assert added["events"] == 0
    assert again.cursor == since


def test_rate_limit_headers_wait_until_reset() -> None:
    slept: list[float] = []
    now = 1_700_000_000.0
    script = [Reply(403, {"message": "rate limit"}, {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(int(now + 20))}),
              Reply(200, [1], {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(int(now + 5))}),
              Reply(200, [2])]  # fmt: skip
    with FakeServer({"/x": script}) as srv:
        http = Http(httpx.Client(), sleep=slept.append, clock=lambda: now, max_wait=60)
        assert http.get_json(srv.url + "/x") == [1]
        assert http.get_json(srv.url + "/x") == [2]  # waits before asking again
    assert slept == [21.0, 6.0]


def test_rate_limit_beyond_max_wait_is_transient() -> None:
    reset = str(int(time.time()) + 3600)
    with (
        FakeServer(
            _routes(
                **{
                    f"{API}/pulls": [
                        Reply(403, {}, {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": reset})
                    ]
                }
            )
        ) as srv,
        pytest.raises(TransientError, match=r"rate limit used up.*max_wait"),
    ):
        github.pull("acme", "api", base_url=srv.url, client=httpx.Client(), sleep=lambda s: None)


def test_500_then_success_and_etag_reuse() -> None:
    slept: list[float] = []
    script = [Reply(500, b"boom"), Reply(200, [{"a": 1}], {"ETag": '"v1"'}), Reply(304, b"")]
    etags: dict[str, tuple[str, Any]] = {}
    with FakeServer({"/x": script}) as srv:
        http = Http(httpx.Client(), sleep=slept.append, etags=etags, backoff=0.5)
        assert http.get_json(srv.url + "/x") == [{"a": 1}]
        assert http.get_json(srv.url + "/x") == [{"a": 1}]  # 304: the stored body
        assert srv.requests[-1].headers.get("If-None-Match") == '"v1"'
    assert slept == [0.5]


def test_malformed_page_401_404() -> None:
    broken = _routes(**{f"{API}/pulls": [Reply(200, b"[{broken")]})
    with FakeServer(broken) as srv, pytest.raises(TransientError, match="not JSON"):
        github.pull("acme", "api", base_url=srv.url, client=httpx.Client())
    with (
        FakeServer(
            _routes(**{f"{API}/pulls": [Reply(401, {"message": "Bad credentials"})]})
        ) as srv,
        pytest.raises(TerminalError, match="refused the request \\(401\\)"),
    ):
        github.pull("acme", "api", base_url=srv.url, client=httpx.Client())
    with FakeServer({}) as srv, pytest.raises(TerminalError, match="not found"):
        github.pull("acme", "api", base_url=srv.url, client=httpx.Client())


def test_missing_token_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GITHUB_TOKEN")
    with pytest.raises(ConfigError, match="GITHUB_TOKEN"):
        github.pull("acme", "api")


def test_next_link_parsing() -> None:
    header = '<https://x/p?page=2>; rel="next", <https://x/p?page=9>; rel="last"'
    assert next_link({"link": header}) == "https://x/p?page=2"
    assert next_link({"link": '<https://x/p?page=1>; rel="prev"'}) is None


def test_token_never_leaks(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    texts = []
    for script in ([Reply(401, {})], [Reply(502, b"x")], [Reply(200, b"nope")],
                   [Reply(429, {}, {"Retry-After": "9999"})]):  # fmt: skip
        with FakeServer(_routes(**{f"{API}/pulls": script})) as srv:
            with pytest.raises((TerminalError, TransientError)) as info:
                github.pull(
                    "acme",
                    "api",
                    base_url=srv.url,
                    client=httpx.Client(),
                    sleep=lambda s: None,
                    max_tries=2,
                )
            texts.append(f"{info.value}|{info.value!r}")
    with FakeServer(_routes()) as srv, Store(tmp_path / "s.duckdb") as store:
        store.ingest(
            github.pull("acme", "api", base_url=srv.url, client=httpx.Client()), scope="acme/api"
        )
    assert all(TOKEN not in t for t in texts)
    assert TOKEN not in caplog.text
    assert TOKEN.encode() not in (tmp_path / "s.duckdb").read_bytes()
