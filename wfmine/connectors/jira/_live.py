"""Jira: the live REST API pull (search with nextPageToken paging, long changelogs completed)."""

from __future__ import annotations

import base64
import datetime as dt
import logging
import os
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from wfmine.connectors._http import Http, new_client
from wfmine.connectors.jira._collect import _Reader
from wfmine.connectors.jira._common import (
    _ORDER_BY,
    SEARCH_PATH,
    _valid_history,
)
from wfmine.connectors.jira._records import finish
from wfmine.errors import ConfigError, TerminalError
from wfmine.model import Batch, to_utc

if TYPE_CHECKING:
    import httpx

    from wfmine.store import Store

log = logging.getLogger("wfmine.connectors.jira")


# -- live API ---------------------------------------------------------------------------


def _env(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        raise ConfigError(
            f"environment variable {name} is not set (it should hold the Jira credential)"
        )
    return value


def since_clause(cursor: str, *, overlap_minutes: int, tz: dt.tzinfo = dt.UTC) -> str:
    """The JQL ``updated >=`` clause for a cursor, minus an overlap, at minute resolution.

    JQL reads dates in the user's time zone, so the watermark is converted to
    ``tz`` first; the overlap absorbs clock skew and updates within the minute.

    >>> since_clause("2024-05-01T10:30:59Z", overlap_minutes=5)
    'updated >= "2024-05-01 10:25"'
    """
    moment = to_utc(cursor)
    if moment is None:
        raise ValueError("empty cursor")
    start = (moment - dt.timedelta(minutes=overlap_minutes)).astimezone(tz)
    return f'updated >= "{start:%Y-%m-%d %H:%M}"'


def incremental_jql(
    jql: str, cursor: str | None, *, overlap_minutes: int, tz: dt.tzinfo = dt.UTC
) -> str:
    """``jql`` restricted to issues updated since ``cursor`` and ordered by ``created``."""
    base = _ORDER_BY.sub("", jql.strip())
    if cursor:
        clause = since_clause(cursor, overlap_minutes=overlap_minutes, tz=tz)
        base = f"({base}) AND {clause}" if base else clause
    return f"{base} ORDER BY created ASC"


def pull(
    base_url: str,
    jql: str,
    *,
    email_env: str = "JIRA_EMAIL",
    token_env: str = "JIRA_API_TOKEN",
    client: httpx.Client | None = None,
    store: Store | None = None,
    cursor: str | None = None,
    overlap_minutes: int = 15,
    timezone: str | None = None,
    page_size: int = 100,
    max_wait: float = 60.0,
    max_tries: int = 5,
    sleep: Callable[[float], None] = time.sleep,
    search_path: str = SEARCH_PATH,
    options: Mapping[str, Any] | None = None,
) -> Batch:
    """Pull issues matching ``jql`` from Jira Cloud's REST API, with changelogs.

    Credentials are read from the environment variables *named* by
    ``email_env`` and ``token_env`` (basic auth, e-mail + API token). The
    watermark is ``cursor``, else the last cursor the ``store`` recorded for
    this JQL (``store.last_cursor("jira", scope=jql)``); only issues updated
    since it (minus ``overlap_minutes``) are fetched, ordered by ``created``.
    Ingest the result with ``store.ingest(batch, scope=jql)`` so the next
    pull resumes from ``batch.cursor``.

    Changelogs longer than the embedded page (Jira embeds at most 100
    histories) are completed from ``/rest/api/3/issue/{key}/changelog``.

    >>> batch = pull("https://acme.atlassian.net", "project = ACME")  # doctest: +SKIP
    >>> store.ingest(batch, scope="project = ACME")  # doctest: +SKIP
    """
    email_addr, token = _env(email_env), _env(token_env)
    base = base_url.rstrip("/")
    host = urlsplit(base).netloc or base
    basic = base64.b64encode(f"{email_addr}:{token}".encode()).decode()
    own_client = client is None
    http_client = client or new_client()
    http = Http(
        http_client,
        headers={"Authorization": f"Basic {basic}", "Accept": "application/json"},
        max_tries=max_tries, max_wait=max_wait, sleep=sleep,
        secrets=(token, basic),
    )  # fmt: skip
    auth_error = f"Jira rejected the credentials for {base} (check {email_env} and {token_env})"
    try:
        watermark = cursor or (store.last_cursor("jira", scope=jql) if store is not None else None)
        tz: dt.tzinfo = dt.UTC
        warnings: list[str] = []
        if watermark:
            tz, note = _user_timezone(http, base, timezone, auth_error)
            if note:
                warnings.append(note)
        query = incremental_jql(jql, watermark, overlap_minutes=overlap_minutes, tz=tz)
        reader = _Reader(secrets=(token, basic))
        reader.warnings.extend(warnings)
        pages = 0
        gone = (
            f"Jira answered 410 Gone for {search_path} on {host}: the old search API was removed; "
            f"use {SEARCH_PATH} (nextPageToken paging)"
        )
        params: dict[str, Any] = {
            "jql": query, "maxResults": page_size, "fields": "*all", "expand": "changelog",
        }  # fmt: skip
        for page in http.token_pages(
            base + search_path, params=params, auth_error=auth_error, gone_error=gone
        ):
            pages += 1
            data = page.data
            if not isinstance(data, dict) or not isinstance(data.get("issues"), list):
                raise TerminalError(
                    f"{host}{search_path} page {pages} is not a Jira search page",
                    status=page.status,
                )
            origin = f"{base}{search_path}#page{pages}"
            for i, issue in enumerate(data["issues"]):
                reader.add_issue(issue, origin, f"{origin}/{i}")
                if isinstance(issue, dict) and issue.get("key"):
                    owner = str(issue.get("id") or issue["key"])
                    for history in _complete_changelog(http, base, issue, auth_error):
                        if _valid_history(history):
                            reader.extra_histories.setdefault(owner, []).append(
                                (history, f"{base}/rest/api/3/issue/{issue['key']}/changelog")
                            )
        reader.stats["pages"] = pages
        reader.stats["requests"] = int(http.stats["requests"])
        reader.stats["retries"] = int(http.stats["retries"])
        batch = finish(reader, options)
        if batch.cursor is None or (watermark and batch.cursor < watermark):
            batch.cursor = watermark  # nothing newer: keep the watermark
        return batch
    finally:
        if own_client:
            http_client.close()


def _user_timezone(
    http: Http, base: str, explicit: str | None, auth_error: str
) -> tuple[dt.tzinfo, str | None]:
    """The time zone JQL dates are read in: ``explicit``, else the user's profile, else UTC."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    name = explicit
    if name is None:
        try:
            me = http.get_page(base + "/rest/api/3/myself", auth_error=auth_error).data
        except TerminalError as exc:
            if exc.status in (401, 403):
                raise
            me = None
        name = me.get("timeZone") if isinstance(me, dict) else None
    if not name:
        return (
            dt.UTC,
            "Jira user time zone unknown: JQL dates read as UTC (the overlap absorbs small offsets)",
        )
    try:
        return ZoneInfo(str(name)), None
    except (ZoneInfoNotFoundError, ValueError):
        return dt.UTC, f"unknown Jira time zone {name!r}: JQL dates read as UTC"


def _complete_changelog(
    http: Http, base: str, issue: dict[str, Any], auth_error: str
) -> list[dict[str, Any]]:
    """The histories Jira left out of an embedded changelog (``total`` > histories embedded).

    Returned apart, so the issue itself stays verbatim in ``raw_records``.
    """
    changelog = issue.get("changelog")
    if not isinstance(changelog, dict):
        return []
    histories = changelog.get("histories")
    total = changelog.get("total")
    if not isinstance(histories, list) or not isinstance(total, int) or total <= len(histories):
        return []
    key = issue.get("key") or issue.get("id")
    seen = {str(h.get("id")) for h in histories if isinstance(h, dict)}
    extra: list[dict[str, Any]] = []
    for page in http.offset_pages(
        f"{base}/rest/api/3/issue/{key}/changelog", items="values", auth_error=auth_error
    ):
        for history in page.data["values"]:
            if isinstance(history, dict) and str(history.get("id")) not in seen:
                seen.add(str(history.get("id")))
                extra.append(history)
    return extra
