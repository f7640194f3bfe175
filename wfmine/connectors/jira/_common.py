"""Jira: the constants and small record helpers every part of the reader shares."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from typing import Any, Final

from wfmine.connectors._batch import utc, utc_text

SEARCH_PATH: Final = "/rest/api/3/search/jql"

#: Status names taken as "done" when neither the issue nor a statuses file gives the category.
_DONE_NAMES: Final = frozenset(
    {"done", "closed", "resolved", "released", "complete", "completed", "cancelled",
     "已完成", "已关闭", "已解决", "已发布", "完成", "关闭"}
)  # fmt: skip
_ACCOUNT_KIND: Final = {"app": "bot", "atlassian": "human", "customer": "human"}
#: changelog field (``fieldId`` or lower-cased ``field``) -> (activity, event-id suffix)
_FIELD_EVENTS: Final = {
    "status": ("Status", "status"),
    "assignee": ("Assignee changed", "assignee"),
    "priority": ("Priority changed", "priority"),
    "labels": ("Labels changed", "labels"),
    "components": ("Components changed", "components"),
    "component": ("Components changed", "components"),
    "resolution": ("Resolution set", "resolution"),
}
_CHANGELOG_PATH: Final = re.compile(r"issue/([^/]+)/changelog")
_COMMENT_SELF: Final = re.compile(r"/issue/([^/]+)/comment/")
_ORDER_BY: Final = re.compile(r"\s+ORDER\s+BY\s+.*$", re.IGNORECASE | re.DOTALL)
_SNIFF_BYTES: Final = 65536
_CSV_DATE_FORMATS: Final = (
    "%d/%b/%y %I:%M %p", "%d/%b/%Y %I:%M %p", "%d/%m/%Y %H:%M", "%Y-%m-%d %H:%M",
    "%Y-%m-%d %H:%M:%S", "%m/%d/%Y %H:%M", "%d.%m.%Y %H:%M",
)  # fmt: skip


def _looks_like_histories(values: list[Any]) -> bool:
    return bool(values) and all(isinstance(v, dict) and "items" in v for v in values[:5])


def _valid_history(history: Any) -> bool:
    return (
        isinstance(history, dict)
        and history.get("id") is not None
        and isinstance(history.get("items"), list)
        and _safe_ts(history.get("created")) is not None
    )


def _issue_problem(item: Any) -> str | None:
    if not isinstance(item, dict):
        return f"issue record is a {type(item).__name__}, not an object"
    if not isinstance(item.get("key"), str) or not item["key"]:
        return "issue without a 'key'"
    fields = item.get("fields")
    if not isinstance(fields, dict):
        return "issue without 'fields'"
    if _safe_ts(fields.get("created")) is None:
        return "issue without a readable 'fields.created' timestamp"
    return None


def _histories_of(item: dict[str, Any]) -> list[Any] | None:
    changelog = item.get("changelog")
    if changelog is None:
        return []
    if not isinstance(changelog, dict):
        return None
    histories = changelog.get("histories", [])
    return histories if isinstance(histories, list) else None


def _updated(item: dict[str, Any]) -> dt.datetime:
    return _safe_ts(_get(item, "fields", "updated")) or dt.datetime.min.replace(tzinfo=dt.UTC)


def _get(obj: Any, *path: str) -> Any:
    for key in path:
        if not isinstance(obj, dict):
            return None
        obj = obj.get(key)
    return obj


def _match(pattern: re.Pattern[str], text: str) -> str | None:
    m = pattern.search(text)
    return m.group(1) if m else None


def _safe_ts(value: Any) -> dt.datetime | None:
    """:func:`wfmine.model.to_utc`, ``None`` for what it cannot read; by
    :func:`~wfmine.connectors._batch.utc` (the same moments), texts remembered."""
    try:
        return utc_text(value) if type(value) is str else utc(value)
    except (TypeError, ValueError):
        return None


def _iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def _field(item: Mapping[str, Any]) -> str:
    return str(item.get("fieldId") or item.get("field") or "").lower()


def _int(value: Any) -> int:
    try:
        return int(str(value))
    except ValueError:
        return 0
