"""The shared HTTP layer: errors carry status and retry-after; the token and offset paginators."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from wfmine.connectors._http import Http
from wfmine.errors import ConnectorError, TerminalError, TransientError


def _http(handler: Callable[[httpx.Request], httpx.Response], **kw: Any) -> Http:
    client = httpx.Client(transport=httpx.MockTransport(handler))
    return Http(client, sleep=lambda s: None, clock=lambda: 0.0, **kw)


def test_a_terminal_error_carries_its_status() -> None:
    http = _http(lambda r: httpx.Response(404, json={"message": "Not Found"}))
    with pytest.raises(TerminalError) as caught:
        http.get_json("https://api.example/x")
    assert caught.value.status == 404 and not caught.value.transient
    assert caught.value.retry_after is None


def test_a_long_retry_after_is_a_transient_error_with_the_wait() -> None:
    http = _http(lambda r: httpx.Response(429, headers={"Retry-After": "120"}), max_wait=30)
    with pytest.raises(TransientError) as caught:
        http.get_json("https://api.example/x")
    assert caught.value.transient and caught.value.status == 429
    assert caught.value.retry_after == 120


def test_server_errors_past_the_tries_keep_the_last_status() -> None:
    http = _http(lambda r: httpx.Response(503), max_tries=2)
    with pytest.raises(ConnectorError) as caught:
        http.get_json("https://api.example/x")
    assert caught.value.transient and caught.value.status == 503


def test_a_timeout_has_no_status() -> None:
    def timeout(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("slow", request=request)

    with pytest.raises(TransientError) as caught:
        _http(timeout, max_tries=2).get_json("https://api.example/x")
    assert caught.value.status is None


def test_token_pages_follow_the_token_until_is_last() -> None:
    def pages(request: httpx.Request) -> httpx.Response:
        token = request.url.params.get("nextPageToken")
        n = {None: 1, "t2": 2, "t3": 3}[token]
        body: dict[str, Any] = {"issues": [n], "isLast": n == 3}
        if n < 3:
            body["nextPageToken"] = f"t{n + 1}"
        return httpx.Response(200, json=body)

    seen = [p.data["issues"][0] for p in _http(pages).token_pages("https://j/s", params={"q": 1})]
    assert seen == [1, 2, 3]


def test_a_token_that_repeats_is_an_error_not_a_loop() -> None:
    page = {"issues": [1], "nextPageToken": "same"}
    http = _http(lambda r: httpx.Response(200, content=json.dumps(page)))
    with pytest.raises(TransientError, match="repeats"):
        list(http.token_pages("https://j/s", params={}))


def test_offset_pages_follow_start_at_until_the_total() -> None:
    def pages(request: httpx.Request) -> httpx.Response:
        start = int(request.url.params["startAt"])
        values = list(range(start, min(start + 2, 5)))
        return httpx.Response(200, json={"values": values, "startAt": start, "total": 5})

    got = [
        v for p in _http(pages).offset_pages("https://j/c", page_size=2) for v in p.data["values"]
    ]
    assert got == [0, 1, 2, 3, 4]
