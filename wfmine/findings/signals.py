"""The known identifiers of bots and AI agents, loaded from versioned data.

The identifiers (logins, e-mail addresses, commit trailers, branch prefixes,
text markers) live in ``wfmine/data/signals.toml`` so that they can be reviewed,
versioned and extended without touching code. A user adds their own tools
(an in-house agent, a workspace's Slack apps) with a file of the same shape,
passed as ``extra`` or named by the ``WFMINE_SIGNALS`` environment variable.

>>> sig = load_signals()
>>> sig.login_tool("dependabot[bot]")
('bot', 'dependabot')
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Final

from wfmine.errors import ConfigError

__all__ = ["Signals", "Tool", "load_signals"]

ENV_VAR: Final = "WFMINE_SIGNALS"


@dataclass(frozen=True)
class Tool:
    """One bot or AI tool and the identifiers that give it away."""

    name: str
    kind: str  # "agent" | "bot"
    logins: tuple[str, ...] = ()
    emails: tuple[str, ...] = ()
    trailers: tuple[str, ...] = ()
    branch_prefixes: tuple[str, ...] = ()
    markers: tuple[str, ...] = ()
    message_prefixes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Signals:
    """All known tools, with lookups by identifier (case-insensitive)."""

    version: str
    tools: tuple[Tool, ...]
    _logins: dict[str, Tool] = field(default_factory=dict, repr=False)
    _emails: dict[str, Tool] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        for tool in self.tools:
            for login in tool.logins:
                self._logins[login.lower()] = tool
            for email in tool.emails:
                self._emails[email.lower()] = tool

    def login_tool(self, login: str | None) -> tuple[str, str] | None:
        """``(kind, tool)`` for a known login (``"github:"`` prefixes are stripped)."""
        if not login:
            return None
        key = login.split(":", 1)[1] if login.startswith(("github:", "jira:", "slack:")) else login
        tool = self._logins.get(key.lower())
        return (tool.kind, tool.name) if tool else None

    def email_tool(self, email: str | None) -> tuple[str, str] | None:
        """``(kind, tool)`` for a known e-mail address (``"email:"`` prefix stripped)."""
        if not email:
            return None
        key = email.removeprefix("email:").strip().lower()
        tool = self._emails.get(key)
        return (tool.kind, tool.name) if tool else None

    def table(self, what: str) -> list[tuple[str, str, str]]:
        """``(pattern, kind, tool)`` rows of one identifier family (for vectorised matching).

        ``what`` is ``"logins"``, ``"emails"``, ``"trailers"``, ``"branch_prefixes"``,
        ``"markers"`` or ``"message_prefixes"``.
        """
        rows: list[tuple[str, str, str]] = []
        for tool in self.tools:
            rows.extend((p, tool.kind, tool.name) for p in getattr(tool, what))
        return rows


def _tool(entry: dict[str, Any], origin: str) -> Tool:
    name = entry.get("name")
    kind = entry.get("kind", "agent")
    if not isinstance(name, str) or kind not in ("agent", "bot"):
        raise ConfigError(f"{origin}: each [[tool]] needs a name and kind 'agent' or 'bot'")
    lists: dict[str, tuple[str, ...]] = {}
    for key in ("logins", "emails", "trailers", "branch_prefixes", "markers", "message_prefixes"):
        value = entry.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ConfigError(f"{origin}: tool {name!r}: {key} must be a list of strings")
        lists[key] = tuple(value)
    for pattern in lists["trailers"]:
        try:
            re.compile(pattern)
        except re.error as exc:
            raise ConfigError(
                f"{origin}: tool {name!r}: bad trailer pattern {pattern!r}: {exc}"
            ) from None
    return Tool(name=name, kind=kind, **lists)


def _read(text: str, origin: str) -> tuple[str, list[Tool]]:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{origin}: {exc}") from None
    tools = [_tool(t, origin) for t in data.get("tool", [])]
    return str(data.get("version", "")), tools


def load_signals(extra: str | Path | Sequence[str | Path] | None = None) -> Signals:
    """Load the packaged identifiers, plus the user's ``extra`` file(s) and ``$WFMINE_SIGNALS``.

    A tool in an extra file with the name of a packaged tool replaces it.
    """
    text = resources.files("wfmine").joinpath("data/signals.toml").read_text(encoding="utf-8")
    version, tools = _read(text, "wfmine/data/signals.toml")
    paths: list[str | Path] = []
    if extra is not None:
        paths.extend([extra] if isinstance(extra, str | Path) else list(extra))
    if os.environ.get(ENV_VAR):
        paths.append(os.environ[ENV_VAR])
    by_name = {t.name: t for t in tools}
    for path in paths:
        p = Path(path)
        try:
            body = p.read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"{p}: cannot read signals file: {exc.strerror}") from None
        extra_version, extra_tools = _read(body, str(p))
        by_name.update({t.name: t for t in extra_tools})
        if extra_version:
            version = f"{version}+{extra_version}"
    return Signals(version=version, tools=tuple(by_name.values()))
