"""GitHub: constants, record recognition (:func:`classify`) and small helpers every part shares."""

from __future__ import annotations

import datetime as dt
import functools
import json
import re
import tomllib
from collections.abc import Iterator
from importlib import resources
from typing import Any, Final

import orjson

from wfmine.connectors._batch import STDLIB_DECODER, utc
from wfmine.connectors._refs import Ref, find_refs

_HTML_REPO: Final = re.compile(r"https?://github\.com/([^/\s]+)/([^/\s#?]+)/")
_API_REPO: Final = re.compile(r"/repos/([^/\s]+)/([^/\s#?]+)")
_NUMBER_IN_URL: Final = re.compile(r"/(pull|pulls|issues)/(\d+)")
_PATH_PR: Final = re.compile(r"pulls/(\d+)/(?:commits|reviews)")
_TRAILER: Final = re.compile(r"^([A-Za-z][A-Za-z0-9-]*):[ \t]+(\S.*)$")
_REVERTS: Final = re.compile(r"\bReverts\s+([\w.-]+/[\w.-]+)?#(\d+)")
_CLOSES_WORD: Final = re.compile(r"\b(?:close[sd]?|fix(?:e[sd])?|resolve[sd]?)\b[\s:]*$", re.I)
_CLOSES_GH: Final = re.compile(
    r"\b(?:close[sd]?|fix(?:e[sd])?|resolve[sd]?)\b[\s:]+([\w.-]+/[\w.-]+)?#(\d+)", re.I
)
_SNIFF_BYTES: Final = 65536
_BOM_BYTES: Final = b"\xef\xbb\xbf"
_EVENT_TYPES: Final = (
    "PullRequestEvent", "PullRequestReviewEvent", "PullRequestReviewCommentEvent",
    "IssuesEvent", "IssueCommentEvent", "PushEvent", "CreateEvent", "WatchEvent",
)  # fmt: skip
_REVIEW_ACTIVITY: Final = {
    "APPROVED": "PR approved",
    "CHANGES_REQUESTED": "Changes requested",
    "COMMENTED": "PR reviewed",
    "DISMISSED": "PR reviewed",
}
_FAILED: Final = frozenset({"failure", "timed_out", "startup_failure"})
#: activity -> seq rank: breaks timestamp ties in the order a PR's life runs
_RANK: Final = {
    "PR opened": 0, "GH issue opened": 0, "PR ready for review": 1, "Review requested": 2,
    "Commit pushed": 3, "Check failed": 4, "Check passed": 4, "PR comment added": 5,
    "GH issue comment added": 5, "Review comment added": 6, "PR approved": 7,
    "Changes requested": 7, "PR reviewed": 7, "Labeled": 8, "Assigned": 8, "PR merged": 9,
    "Revert merged": 10, "PR closed": 11, "GH issue closed": 11, "PR reopened": 12,
    "GH issue reopened": 12,
}  # fmt: skip
# issue-event name -> (activity for a PR, activity for an issue, id suffix kind)
_ISSUE_EVENTS: Final = {
    "closed": ("PR closed", "GH issue closed", "closed"),
    "reopened": ("PR reopened", "GH issue reopened", "reopened"),
    "merged": ("PR merged", "PR merged", "merged"),
    "ready_for_review": ("PR ready for review", "PR ready for review", "event"),
    "review_requested": ("Review requested", "Review requested", "event"),
    "labeled": ("Labeled", "Labeled", "event"),
    "assigned": ("Assigned", "Assigned", "event"),
}
_PR_ONLY_EVENTS: Final = frozenset(
    {"merged", "ready_for_review", "review_requested", "head_ref_deleted",
     "head_ref_force_pushed", "convert_to_draft", "review_dismissed"}
)  # fmt: skip
# record kinds in order of trust when two records give the same event id
_TRUST: Final = {"pull": 0, "review": 0, "review_comment": 0, "issue_comment": 0, "commit": 0,
                 "check_run": 0, "workflow_run": 0, "issue_event": 1, "repo_event": 2,
                 "issue": 3, "push": 4}  # fmt: skip


def read_file_documents(data: bytes) -> tuple[list[Any], str | None]:
    """:func:`read_documents` of a file's bytes: one document by orjson when it is one.

    Anything else (several documents, bytes that are not UTF-8, ``NaN``) is read
    by :func:`read_documents` from the text as ``read_text`` gives it.
    """
    try:
        return [orjson.loads(data.removeprefix(_BOM_BYTES))], None
    except orjson.JSONDecodeError:
        return read_documents(data.decode("utf-8", "surrogateescape").removeprefix("\ufeff"))


def read_documents(text: str) -> tuple[list[Any], str | None]:
    """Decode one JSON document, or several concatenated (``gh api --paginate``, NDJSON).

    Returns the documents and, when the text stops being JSON part-way, the
    problem with its position (documents before it are kept).

    >>> read_documents('[1,2][3]')
    ([[1, 2], [3]], None)
    """
    decoder = STDLIB_DECODER
    docs: list[Any] = []
    pos = 0
    length = len(text)
    while True:
        while pos < length and text[pos] in " \t\r\n,":
            pos += 1
        if pos >= length:
            return docs, None
        try:
            doc, pos = decoder.raw_decode(text, pos)
        except json.JSONDecodeError as exc:
            return docs, f"{exc.msg} at line {exc.lineno}, column {exc.colno}"
        docs.append(doc)


def classify(record: Any) -> str | None:
    """The kind of a GitHub REST record (``pull``, ``review`` …), or ``None``."""
    if not isinstance(record, dict):
        return None
    if (
        isinstance(record.get("type"), str)
        and record["type"].endswith("Event")
        and "payload" in record
    ):
        return "repo_event"
    if isinstance(record.get("head"), dict) and isinstance(record.get("base"), dict):
        return "pull"
    if "diff_hunk" in record:
        return "review_comment"
    if "pull_request_url" in record and "state" in record:
        return "review"
    if "issue_url" in record and "body" in record:
        return "issue_comment"
    if "sha" in record and isinstance(record.get("commit"), dict):
        return "commit"
    if "head_sha" in record and "workflow_id" in record:
        return "workflow_run"
    if (
        "head_sha" in record
        and "conclusion" in record
        and ("check_suite" in record or "run_id" in record or "check_run_url" in record)
    ):
        return "check_run"
    if "event" in record and "actor" in record:
        return "issue_event"
    if (
        "number" in record
        and "title" in record
        and ("repository_url" in record or "html_url" in record)
    ):
        return "issue"
    return None


def _records(doc: Any) -> Iterator[Any]:
    if isinstance(doc, list):
        for item in doc:
            if isinstance(item, list):  # NDJSON / paginate output of arrays of arrays
                yield from item
            else:
                yield item
    elif isinstance(doc, dict):
        for envelope in ("workflow_runs", "jobs", "check_runs", "items"):
            if isinstance(doc.get(envelope), list):
                yield from doc[envelope]
                return
        yield doc


def parse_trailers(message: str | None) -> list[str]:
    """The trailer lines (``Key: value``) of a commit message's last paragraph.

    >>> parse_trailers("fix\\n\\nCo-authored-by: A <a@x>\\nMade-with: Cursor")
    ['Co-authored-by: A <a@x>', 'Made-with: Cursor']
    """
    if not message or (type(message) is str and message.count("\n") < 2):
        return []  # two paragraphs need a blank line between them: two line breaks at least
    paragraphs = [
        p for p in re.split(r"\n\s*\n", message.strip().replace("\r\n", "\n")) if p.strip()
    ]
    if len(paragraphs) < 2:
        return []
    lines = [ln.strip() for ln in paragraphs[-1].splitlines() if ln.strip()]
    found = [ln for ln in lines if _TRAILER.match(ln)]
    # a paragraph is a trailer block when most of it is trailers (git's own rule is similar)
    return found if found and len(found) * 4 >= len(lines) * 3 else []


@functools.cache
def _signal_kinds() -> dict[str, str]:
    """Known bot/agent logins (lower-cased) -> kind, from the versioned ``wfmine/data/signals.toml``."""
    try:
        text = resources.files("wfmine").joinpath("data/signals.toml").read_text(encoding="utf-8")
        data = tomllib.loads(text)
    except (OSError, tomllib.TOMLDecodeError):
        return {}
    out: dict[str, str] = {}
    for tool in data.get("tool", []):
        kind = tool.get("kind")
        if kind in ("agent", "bot"):
            for login in tool.get("logins", []):
                out[str(login).lower()] = kind
    return out


@functools.lru_cache(maxsize=1 << 12)
def refs_in(text: str | None) -> tuple[Ref, ...]:
    """:func:`~wfmine.connectors._refs.find_refs` of a text, remembered: a PR's title and body
    come again in its issue record and in every issue event that embeds the issue."""
    return tuple(find_refs(text))


def _ts(value: Any) -> dt.datetime | None:
    if isinstance(value, str):
        return _ts_text(value)
    try:
        return utc(value)
    except (TypeError, ValueError):
        return None


@functools.lru_cache(maxsize=1 << 16)
def _ts_text(value: str) -> dt.datetime | None:
    """:func:`_ts` of a text: records repeat the same stamps (an event's embedded issue)."""
    try:
        return utc(value)
    except (TypeError, ValueError):
        return None


@functools.lru_cache(maxsize=1 << 14)
def _iso(moment: dt.datetime) -> str:
    """``moment`` as ``2026-01-05T08:41:13Z`` (remembered: a stamp comes again in every record
    that embeds the issue)."""
    return moment.astimezone(dt.UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def _repo_of(*urls: Any) -> str | None:
    for url in urls:
        if not isinstance(url, str):
            continue
        m = _API_REPO.search(url) or _HTML_REPO.match(url)
        if m:
            return f"{m.group(1)}/{m.group(2)}"
    return None


def _number_of(*urls: Any) -> tuple[int, bool] | None:
    for url in urls:
        if isinstance(url, str):
            m = _NUMBER_IN_URL.search(url)
            if m:
                return int(m.group(2)), m.group(1) in ("pull", "pulls")
    return None


def _first_line(text: Any) -> str | None:
    return str(text).strip().splitlines()[0] if isinstance(text, str) and text.strip() else None


def _get(obj: Any, *path: str) -> Any:
    for key in path:
        if not isinstance(obj, dict):
            return None
        obj = obj.get(key)
    return obj


def _reverts(repo: str, body: Any) -> str | None:
    if not isinstance(body, str):
        return None
    m = _REVERTS.search(body)
    if not m:
        return None
    return f"github:{m.group(1) or repo}#pr/{m.group(2)}"
