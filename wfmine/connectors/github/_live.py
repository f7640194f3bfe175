"""GitHub: the live REST API pull (Link paging, watermark, conditional requests)."""

from __future__ import annotations

import datetime as dt
import logging
import os
import time
from collections.abc import Callable, Mapping, MutableMapping
from typing import TYPE_CHECKING, Any, Final

from wfmine.connectors._http import Http, new_client
from wfmine.connectors.github._collect import _Collector
from wfmine.connectors.github._common import (
    _iso,
    _records,
    _ts,
)
from wfmine.connectors.github._output import finish
from wfmine.errors import ConfigError, TerminalError
from wfmine.model import Batch

if TYPE_CHECKING:
    import httpx

log = logging.getLogger("wfmine.connectors.github")


def pull(
    owner: str,
    repo: str,
    *,
    token_env: str | None = "GITHUB_TOKEN",
    base_url: str = "https://api.github.com",
    client: httpx.Client | None = None,
    since: str | None = None,
    max_wait: float = 60.0,
    max_tries: int = 5,
    sleep: Callable[[float], None] = time.sleep,
    etags: MutableMapping[str, tuple[str, Any]] | None = None,
    per_page: int = 100,
    options: Mapping[str, Any] | None = None,
) -> Batch:
    """Pull a repository's PRs (with reviews and commits), issues, comments, events, runs and their jobs.

    The token is read from the environment variable *named* ``token_env``
    (``None`` pulls anonymously). Lists sorted by ``updated`` descending are
    read until the watermark ``since`` (ISO-8601; the store's
    ``last_cursor("github", scope="owner/repo")``); open PRs are always
    re-fetched. ``batch.cursor`` is the newest ``updated_at`` seen. Pass an
    ``etags`` mapping that outlives the call to make repeat pulls conditional
    (``If-None-Match``; a 304 costs no rate limit).

    >>> batch = pull("acme", "api", since=store.last_cursor("github", "acme/api"))  # doctest: +SKIP
    >>> store.ingest(batch, scope="acme/api")  # doctest: +SKIP
    """
    del options
    headers = {"Accept": "application/vnd.github+json", "X-GitHub-Api-Version": "2022-11-28"}
    secrets: tuple[str, ...] = ()
    if token_env:
        token = os.environ.get(token_env)
        if not token:
            raise ConfigError(
                f"environment variable {token_env} is not set (it should hold the GitHub token)"
            )
        headers["Authorization"] = f"Bearer {token}"
        secrets = (token,)
    own_client = client is None
    http_client = client or new_client()
    http = Http(http_client, headers=headers, max_tries=max_tries, max_wait=max_wait, sleep=sleep,
                secrets=secrets, etags=etags)  # fmt: skip
    api = f"{base_url.rstrip('/')}/repos/{owner}/{repo}"
    watermark = _ts(since) if since else None
    collector = _Collector(secrets=secrets)
    try:
        pulls: dict[int, tuple[dict[str, Any], str]] = {}
        for page in http.link_pages(f"{api}/pulls", params={"state": "all", "sort": "updated",
                                                             "direction": "desc", "per_page": per_page}):  # fmt: skip
            items = _list_page(page.data, page.url)
            for i, pr in enumerate(items):
                if isinstance(pr, dict) and isinstance(pr.get("number"), int):
                    pulls.setdefault(pr["number"], (pr, page.url))
                else:  # not a pull request: quarantined with its reason, never dropped silently
                    collector.add_record(pr, page.url, f"{page.url}#{i}", None)
            if _older_than(items, watermark, "updated_at"):
                break
        for page in http.link_pages(f"{api}/pulls", params={"state": "open", "per_page": per_page}):
            for pr in _list_page(page.data, page.url):
                if isinstance(pr, dict) and isinstance(pr.get("number"), int):
                    pulls.setdefault(pr["number"], (pr, page.url))
        for number in sorted(pulls):
            pr, origin = pulls[number]
            updated = _ts(pr.get("updated_at"))
            if (
                watermark is not None
                and updated is not None
                and updated < watermark
                and pr.get("state") != "open"
            ):
                continue
            collector.add_record(pr, origin, origin, None)
            for what in ("reviews", "commits"):
                for page in http.link_pages(
                    f"{api}/pulls/{number}/{what}", params={"per_page": per_page}
                ):
                    for i, record in enumerate(_list_page(page.data, page.url)):
                        collector.add_record(record, page.url, f"{page.url}#{i}", number)
        since_param = {"since": _iso(watermark)} if watermark else {}
        for path in ("issues", "issues/comments", "pulls/comments", "issues/events"):
            params: dict[str, Any] = {"per_page": per_page}
            if path != "issues/events":
                params.update(sort="updated", direction="desc", **since_param)
            if path == "issues":
                params["state"] = "all"
            try:
                for page in http.link_pages(f"{api}/{path}", params=params):
                    items = _list_page(page.data, page.url)
                    for i, record in enumerate(items):
                        if path == "issues/events" and _before(record, watermark, "created_at"):
                            # read by the pull that set the watermark; its embedded issue
                            # would replace the stored PR with a thinner record of it
                            continue
                        collector.add_record(record, page.url, f"{page.url}#{i}", None)
                    if path == "issues/events" and _older_than(items, watermark, "created_at"):
                        break
            except TerminalError as exc:
                # a repository with Issues disabled answers 410 Gone on its issue lists:
                # what is gone is skipped and said; the PRs, reviews and checks still load
                if exc.status != 410:
                    raise
                collector.warnings.append(_GONE[path].format(repo=f"{owner}/{repo}"))
        run_params: dict[str, Any] = {"per_page": per_page}
        if watermark:
            run_params["created"] = f">={watermark:%Y-%m-%d}"
        try:
            run_ids: list[int] = []
            for page in http.link_pages(f"{api}/actions/runs", params=run_params):
                for i, record in enumerate(_list_page(page.data, page.url)):
                    collector.add_record(record, page.url, f"{page.url}#{i}", None)
                    if isinstance(record, dict) and isinstance(record.get("id"), int):
                        run_ids.append(record["id"])
            # each run's jobs are the check runs an export holds: the same records give
            # the same CI events (check/<job id>) as a file export of the repository
            for run_id in sorted(set(run_ids)):
                jobs_url = f"{api}/actions/runs/{run_id}/jobs"
                try:
                    for page in http.link_pages(jobs_url, params={"per_page": per_page}):
                        for i, record in enumerate(_list_page(page.data, page.url)):
                            collector.add_record(record, page.url, f"{page.url}#{i}", None)
                except TerminalError as exc:
                    if exc.status not in (404, 410):
                        raise
                    collector.warnings.append(
                        f"{owner}/{repo}: the jobs of run {run_id} are not available "
                        f"({exc.status}); the run's own conclusion is used"
                    )
        except TerminalError as exc:
            if exc.status != 404:
                raise
            collector.warnings.append(f"{owner}/{repo}: GitHub Actions runs not available (404)")
        collector.stats["requests"] = int(http.stats["requests"])
        collector.stats["retries"] = int(http.stats["retries"])
    finally:
        if own_client:
            http_client.close()
    newest = collector.max_updated
    if watermark is not None and (newest is None or newest < watermark):
        newest = watermark
    return finish(collector, cursor=_iso(newest) if newest else since)


#: what a 410 Gone on each issue list means for the pull (GitHub: Issues disabled)
_GONE: Final = {
    "issues": "{repo}: Issues are disabled on this repository (410 Gone on /issues): "
    "its issues were skipped; pull requests, reviews, commits and checks were loaded",
    "issues/comments": "{repo}: issue comments are gone (410 Gone on /issues/comments): "
    "skipped, so pull-request conversation comments are missing",
    "pulls/comments": "{repo}: review comments are gone (410 Gone on /pulls/comments): skipped",
    "issues/events": "{repo}: issue events are gone (410 Gone on /issues/events): skipped, "
    "so labels, assignments and reopenings of pull requests are missing",
}


def _list_page(data: Any, url: str) -> list[Any]:
    records = list(_records(data))
    if not isinstance(data, list | dict):
        raise TerminalError(f"{url.split('?')[0]} did not answer a JSON list or object")
    return records


def _before(record: Any, watermark: dt.datetime | None, key: str) -> bool:
    """True for a record stamped (``key``) before the watermark."""
    if watermark is None or not isinstance(record, dict):
        return False
    stamp = _ts(record.get(key))
    return stamp is not None and stamp < watermark


def _older_than(items: list[Any], watermark: dt.datetime | None, key: str) -> bool:
    """True once a page sorted newest-first reaches past the watermark (or is empty)."""
    if not items:
        return True
    if watermark is None:
        return False
    last = _ts(items[-1].get(key)) if isinstance(items[-1], dict) else None
    return last is not None and last < watermark
