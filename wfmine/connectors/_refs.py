"""Find references to work items in free text: Jira keys and URLs, GitHub PR/issue URLs.

Every connector uses these so that a PR title, a branch name, a commit
message, a Slack message and an email body are linked the same way.

>>> [r.value for r in find_refs("ACME-12: fix login (see https://github.com/acme/api/pull/41)")]
['ACME-12', 'acme/api#41']
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final, Literal

__all__ = ["Ref", "find_refs", "jira_keys"]

# A Jira project key is 2+ chars, starts with a letter, upper-case letters/digits/underscore.
_JIRA_KEY: Final = re.compile(
    r"(?<![A-Za-z0-9_])([A-Z][A-Z0-9_]{1,9})-([1-9][0-9]{0,6})(?![A-Za-z0-9_])"
)
_JIRA_URL: Final = re.compile(
    r"https?://[A-Za-z0-9.-]+(?::\d+)?/(?:browse|jira/software/[^\s]*?/issues)/([A-Z][A-Z0-9_]{1,9}-[1-9][0-9]{0,6})\b"
)
_GH_URL: Final = re.compile(
    r"https?://github\.com/([A-Za-z0-9_.-]+)/([A-Za-z0-9_.-]+)/(pull|issues)/([0-9]+)\b"
)
# Keys that look like Jira keys but are not: encodings, standards, hashes.
_NOT_KEYS: Final = frozenset({"UTF", "ISO", "RFC", "SHA", "CVE", "GPT", "HTTP", "TLS", "SSL", "X"})


@dataclass(frozen=True, order=True)
class Ref:
    """One reference found in text."""

    kind: Literal["jira_key", "jira_url", "github_pull", "github_issue"]
    value: str  # "ACME-12" or "owner/repo#41"
    evidence: str  # the matched text


def jira_keys(text: str | None) -> list[str]:
    """Distinct Jira keys in ``text``, in order of first appearance."""
    return list(
        dict.fromkeys(r.value for r in find_refs(text) if r.kind in ("jira_key", "jira_url"))
    )


def find_refs(text: str | None) -> list[Ref]:
    """All distinct references in ``text``, in order of first appearance."""
    if not text:
        return []
    if "-" not in text and "://" not in text:
        return []  # every reference holds one or the other: no pattern to run
    found: list[tuple[int, Ref]] = []
    url_spans: list[tuple[int, int]] = []
    if "://" in text:  # both URL patterns start "http(s)://"
        for m in _JIRA_URL.finditer(text):
            found.append((m.start(), Ref("jira_url", m.group(1), m.group(0))))
            url_spans.append(m.span())
        for m in _GH_URL.finditer(text):
            owner, repo, what, number = m.groups()
            kind: Literal["github_pull", "github_issue"] = (
                "github_pull" if what == "pull" else "github_issue"
            )
            found.append((m.start(), Ref(kind, f"{owner}/{repo}#{number}", m.group(0))))
            url_spans.append(m.span())
    for m in _JIRA_KEY.finditer(text) if "-" in text else ():
        if any(a <= m.start() < b for a, b in url_spans):
            continue
        if m.group(1) in _NOT_KEYS:
            continue
        found.append((m.start(), Ref("jira_key", m.group(0), m.group(0))))
    found.sort(key=lambda item: item[0])
    seen: set[tuple[str, str]] = set()
    out: list[Ref] = []
    for _, ref in found:
        ident = ("jira" if ref.kind.startswith("jira") else ref.kind, ref.value)
        if ident in seen:
            continue
        seen.add(ident)
        out.append(ref)
    return out
