"""One pager and retry layer for the live Jira and GitHub clients, on a plain ``httpx.Client``.

Why not a generic loader: wfmine keeps every raw record (including fields
client libraries drop), and both APIs need the same few behaviours that are
easy to get subtly wrong when each connector rolls its own:

- ``Retry-After`` (seconds or an HTTP date) on 429/503 is honoured;
- ``X-RateLimit-Remaining: 0`` waits until ``X-RateLimit-Reset`` (GitHub);
- 5xx and transport errors back off exponentially, for a bounded number of tries;
- no wait is ever longer than ``max_wait``: past it the call raises
  :class:`~wfmine.errors.TransientError` ("retry later") instead of sleeping;
- 401/403/404/410 raise :class:`~wfmine.errors.TerminalError` at once;
- a page that is not JSON raises :class:`~wfmine.errors.TransientError`
  (a proxy's HTML error page, a truncated body: a retry later may help).

Every error carries ``status`` (the HTTP status, ``None`` for transport
failures) and ``retry_after`` (seconds the server asked for): callers decide
on ``exc.transient`` and ``exc.status``, never on the message text.

Three paginators cover both APIs: :meth:`Http.link_pages` (RFC 8288
``Link: rel="next"``, GitHub), :meth:`Http.token_pages` (a next-page token in
the body, Jira's ``nextPageToken``/``isLast``) and :meth:`Http.offset_pages`
(``startAt``/``maxResults``/``total``, Jira's changelog and old search).

Every message is one line built from the method, the URL *path* and the
status; credentials are sent per request and never formatted into a message
or a log line (:func:`redact` scrubs registered secrets from anything that
slips through). Tests inject the ``httpx.Client`` (pointed at a local server
or built on ``httpx.MockTransport``) and a fake ``sleep``.

>>> import httpx
>>> http = Http(httpx.Client(transport=httpx.MockTransport(lambda r: httpx.Response(200, json=[1]))))
>>> http.get_json("https://api.example/items")
[1]
"""

from __future__ import annotations

import datetime as dt
import email.utils
import json
import logging
import re
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, MutableMapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import urlsplit, urlunsplit

from wfmine.errors import TerminalError, TransientError

if TYPE_CHECKING:  # httpx loads with the first request, not with the readers
    import httpx

__all__ = ["Http", "Page", "new_client", "next_link", "redact"]

log = logging.getLogger("wfmine.connectors.http")

_RETRY_STATUS: Final = frozenset({429, 500, 502, 503, 504})
_LINK_PART: Final = re.compile(r"<([^>]*)>\s*;\s*(.*)")
_REL: Final = re.compile(r'rel\s*=\s*"?([^";]+)"?')


@dataclass(frozen=True)
class Page:
    """One fetched page: its decoded JSON body, the response headers and its URL."""

    data: Any
    headers: httpx.Headers
    url: str
    status: int


def new_client() -> httpx.Client:
    """The ``httpx.Client`` a live pull uses when the caller gives none."""
    import httpx

    return httpx.Client(timeout=30.0, follow_redirects=True)


def redact(text: str, secrets: Iterable[str]) -> str:
    """``text`` with every secret (of 4+ characters) replaced by ``***``."""
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, "***")
    return text


def _show(url: str | httpx.URL) -> str:
    """A URL fit for a message: no user-info, no query string (which may carry a token)."""
    parts = urlsplit(str(url))
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


def next_link(headers: Mapping[str, str]) -> str | None:
    """The ``rel="next"`` URL of an RFC 8288 ``Link`` header, or ``None``."""
    value = headers.get("link") or headers.get("Link")
    if not value:
        return None
    for part in value.split(","):
        m = _LINK_PART.match(part.strip())
        if not m:
            continue
        rel = _REL.search(m.group(2))
        if rel and "next" in rel.group(1).split():
            return m.group(1)
    return None


@dataclass
class Http:
    """Retrying GET with JSON decoding and pagination over an injected ``httpx.Client``.

    ``headers`` (e.g. ``Authorization``) are added to every request and never
    logged. ``secrets`` are scrubbed from every message this layer raises.
    ``sleep`` and ``clock`` are injectable so tests neither sleep nor depend
    on the wall clock. ``etags`` (URL -> (ETag, body)) enables conditional
    requests: a ``304 Not Modified`` answer reuses the stored body.
    """

    client: httpx.Client
    headers: Mapping[str, str] = field(default_factory=dict)
    max_tries: int = 5
    max_wait: float = 60.0
    backoff: float = 1.0
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.time
    secrets: tuple[str, ...] = ()
    etags: MutableMapping[str, tuple[str, Any]] | None = None
    #: what callers can show when asked "how did the run go": requests, retries, waited seconds
    stats: dict[str, float] = field(
        default_factory=lambda: {"requests": 0, "retries": 0, "waited_s": 0.0}
    )
    _blocked_until: float = 0.0

    # -- errors --------------------------------------------------------------------

    def _transient(
        self, message: str, *, status: int | None = None, retry_after: float | None = None
    ) -> TransientError:
        return TransientError(redact(message, self.secrets), status=status, retry_after=retry_after)

    def _terminal(self, message: str, *, status: int | None = None) -> TerminalError:
        return TerminalError(redact(message, self.secrets), status=status)

    # -- waiting -------------------------------------------------------------------

    def _wait(self, seconds: float, why: str, url: str, status: int | None = None) -> None:
        seconds = max(0.0, seconds)
        if seconds > self.max_wait:
            raise self._transient(
                f"{why} at {_show(url)}: the server asks to wait {seconds:.0f} s, "
                f"more than max_wait={self.max_wait:.0f} s; retry later",
                status=status,
                retry_after=seconds,
            )
        if seconds:
            log.info("waiting %.1f s (%s) before GET %s", seconds, why, _show(url))
            self.stats["waited_s"] += seconds
            self.sleep(seconds)

    def _retry_after(self, response: httpx.Response) -> float | None:
        value = response.headers.get("retry-after")
        if value is None:
            return None
        value = value.strip()
        try:
            return float(value)
        except ValueError:
            pass
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=dt.UTC)
        return when.timestamp() - self.clock()

    def _rate_reset(self, response: httpx.Response) -> float | None:
        """Seconds until the rate limit resets, when the response says it is used up."""
        if response.headers.get("x-ratelimit-remaining", "").strip() != "0":
            return None
        reset = response.headers.get("x-ratelimit-reset")
        try:
            return float(reset) - self.clock() + 1.0 if reset else None
        except ValueError:
            return None

    # -- requests ------------------------------------------------------------------

    def get(
        self,
        url: str,
        *,
        params: Mapping[str, Any] | None = None,
        auth_error: str | None = None,
        gone_error: str | None = None,
    ) -> httpx.Response:
        """GET ``url`` with retries; the final 2xx/304 response, or a connector error.

        ``auth_error`` / ``gone_error`` replace the default one-line message for
        401/403 and 410 answers (e.g. "Jira rejected the credentials for …").
        """
        import httpx

        if self._blocked_until:
            self._wait(self._blocked_until - self.clock(), "rate limit used up", url)
            self._blocked_until = 0.0
        headers = dict(self.headers)
        cache_key = _cache_key(url, params)
        cached = self.etags.get(cache_key) if self.etags is not None else None
        if cached:
            headers["If-None-Match"] = cached[0]
        last_problem = ""
        last_status: int | None = None
        last_wait: float | None = None
        for attempt in range(1, self.max_tries + 1):
            self.stats["requests"] += 1
            try:
                # params=None keeps a query already in the URL (a Link header's next page)
                response = self.client.get(
                    url, params=dict(params) if params else None, headers=headers
                )
            except httpx.TimeoutException:
                last_problem, last_status, last_wait = "timed out", None, None
                response = None
            except httpx.TransportError as exc:
                last_problem = f"connection failed ({type(exc).__name__})"
                last_status, last_wait = None, None
                response = None
            if response is None:
                log.warning(
                    "GET %s %s (try %d/%d)", _show(url), last_problem, attempt, self.max_tries
                )
                if attempt < self.max_tries:
                    self.stats["retries"] += 1
                    self._wait(self._backoff(attempt), last_problem, url)
                continue
            status = response.status_code
            log.debug("GET %s -> %d", _show(url), status)
            if status < 300 or status == 304:
                reset = self._rate_reset(response)
                if reset is not None:
                    # the next call would be refused: wait before it, not now
                    self._blocked_until = self.clock() + reset
                return response
            # GitHub answers 403 (primary or secondary rate limit) with
            # X-RateLimit-Remaining: 0 or Retry-After: that is a wait, not bad credentials
            rate_limited = status == 403 and (
                self._rate_reset(response) is not None or "retry-after" in response.headers
            )
            if status in (401, 403) and not rate_limited:
                raise self._terminal(
                    auth_error or f"{_show(url)} refused the request ({status}): check the token",
                    status=status,
                )
            if status == 404:
                raise self._terminal(f"{_show(url)} was not found (404)", status=status)
            if status == 410:
                raise self._terminal(gone_error or f"{_show(url)} is gone (410)", status=status)
            if status in _RETRY_STATUS or rate_limited:
                retry_after = self._retry_after(response)
                reset = self._rate_reset(response)
                if retry_after is not None:
                    wait, why = retry_after, f"rate limited ({status})"
                elif reset is not None:
                    wait, why = reset, f"rate limit used up ({status})"
                else:
                    wait, why = self._backoff(attempt), f"server error {status}"
                last_problem, last_status = why, status
                last_wait = retry_after if retry_after is not None else reset
                log.warning("GET %s -> %d (try %d/%d)", _show(url), status, attempt, self.max_tries)
                if attempt < self.max_tries:
                    self.stats["retries"] += 1
                    self._wait(wait, why, url, status)
                continue
            raise self._terminal(f"{_show(url)} answered {status}", status=status)
        raise self._transient(
            f"GET {_show(url)} failed after {self.max_tries} tries: {last_problem}; retry later",
            status=last_status,
            retry_after=last_wait,
        )

    def _backoff(self, attempt: int) -> float:
        return float(min(self.backoff * 2 ** (attempt - 1), self.max_wait))

    def get_page(
        self,
        url: str,
        *,
        params: Mapping[str, Any] | None = None,
        auth_error: str | None = None,
        gone_error: str | None = None,
    ) -> Page:
        """GET ``url`` and decode its JSON body (a 304 reuses the cached body)."""
        response = self.get(url, params=params, auth_error=auth_error, gone_error=gone_error)
        key = _cache_key(url, params)
        if response.status_code == 304 and self.etags is not None and key in self.etags:
            return Page(self.etags[key][1], response.headers, str(response.url), 304)
        try:
            data = json.loads(response.content)
        except ValueError as exc:
            raise self._transient(
                f"{_show(url)} answered {response.status_code} with a body that is not JSON "
                f"({type(exc).__name__} at byte {exc.pos if isinstance(exc, json.JSONDecodeError) else '?'}); "
                "retry later",
                status=response.status_code,
            ) from None
        etag = response.headers.get("etag")
        if etag and self.etags is not None:
            self.etags[key] = (etag, data)
        return Page(data, response.headers, str(response.url), response.status_code)

    def get_json(self, url: str, *, params: Mapping[str, Any] | None = None) -> Any:
        """GET ``url`` and return its decoded JSON body."""
        return self.get_page(url, params=params).data

    def link_pages(
        self, url: str, *, params: Mapping[str, Any] | None = None, max_pages: int = 1_000
    ) -> Iterator[Page]:
        """Follow ``Link: <…>; rel="next"`` from ``url`` (GitHub-style pagination)."""
        current: str | None = url
        current_params: Mapping[str, Any] | None = params
        seen: set[str] = set()
        for _ in range(max_pages):
            if current is None:
                return
            page = self.get_page(current, params=current_params)
            seen.add(page.url)
            yield page
            current = next_link(page.headers)
            current_params = None  # the next link carries the query
            if current is not None and current in seen:
                raise self._transient(
                    f"{_show(url)}: the next-page link points back to a page already read"
                )

    def token_pages(
        self,
        url: str,
        *,
        params: Mapping[str, Any],
        token_param: str = "nextPageToken",
        items: str = "issues",
        auth_error: str | None = None,
        gone_error: str | None = None,
        max_pages: int = 100_000,
    ) -> Iterator[Page]:
        """Follow a next-page token in the body (Jira ``/search/jql``: ``nextPageToken``, ``isLast``).

        Stops on ``isLast: true``, a missing token or a page without items; a
        token already used raises :class:`TransientError` instead of looping.
        """
        token: str | None = None
        used: set[str] = set()
        for _ in range(max_pages):
            query = dict(params)
            if token:
                query[token_param] = token
            page = self.get_page(url, params=query, auth_error=auth_error, gone_error=gone_error)
            yield page
            data = page.data
            if not isinstance(data, dict) or data.get("isLast") is True:
                return
            nxt = data.get(token_param)
            if not isinstance(nxt, str) or not nxt or not data.get(items):
                return
            if nxt in used:
                raise self._transient(
                    f"{_show(url)}: the next-page token repeats a page already read",
                    status=page.status,
                )
            used.add(nxt)
            token = nxt

    def offset_pages(
        self,
        url: str,
        *,
        params: Mapping[str, Any] | None = None,
        items: str = "values",
        page_size: int = 100,
        auth_error: str | None = None,
        max_pages: int = 100_000,
    ) -> Iterator[Page]:
        """Follow ``startAt``/``maxResults`` offsets until ``isLast``, ``total`` or an empty page."""
        start = 0
        for _ in range(max_pages):
            query = {**dict(params or {}), "startAt": start, "maxResults": page_size}
            page = self.get_page(url, params=query, auth_error=auth_error)
            data = page.data
            values = data.get(items) if isinstance(data, dict) else None
            if not isinstance(values, list) or not values:
                return
            yield page
            start += len(values)
            if data.get("isLast") is True or start >= int(data.get("total") or 0):
                return


def _cache_key(url: str, params: Mapping[str, Any] | None) -> str:
    if not params:
        return url
    return url + "?" + "&".join(f"{k}={params[k]}" for k in sorted(params))
