"""Connector configurations: ``connectors/*.toml`` of a workspace.

A file says only what detection cannot know::

    kind = "jira"                       # one of wfmine.connectors.KINDS
    url = "https://acme.atlassian.net"  # a live API ... or: path = "sample_logs/acme/jira"
    [options]
    jql = "project = ACME"
    [teams]                             # project/component/repo -> team
    ACME = "engineering"
    [credentials]                       # the NAMES of environment variables, never values
    email_env = "JIRA_EMAIL"
    token_env = "JIRA_API_TOKEN"

Credentials are environment-variable *names*: a file that seems to hold a
token itself is refused, so secrets stay out of the repository.

>>> cfg = parse_config({"kind": "github", "url": "https://api.github.com",
...                     "credentials": {"token_env": "GITHUB_TOKEN"}}, "gh.toml")
>>> cfg.credentials["token_env"]
'GITHUB_TOKEN'
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from wfmine.connectors import KINDS
from wfmine.errors import ConfigError

__all__ = ["ConnectorConfig", "load_config", "load_configs", "parse_config", "secret"]

_ENV_NAME: Final = re.compile(r"^[A-Z_][A-Z0-9_]*$")
_SECRET_KEYS: Final = frozenset({"token", "password", "api_token", "secret", "api_key"})


@dataclass(frozen=True)
class ConnectorConfig:
    """One source: its kind, where it reads from, options, team mapping, credential names."""

    name: str
    kind: str
    path: Path | None = None
    url: str | None = None
    options: Mapping[str, Any] = field(default_factory=dict)
    teams: Mapping[str, str] = field(default_factory=dict)
    credentials: Mapping[str, str] = field(default_factory=dict)
    file: str = ""

    def reader_options(self) -> dict[str, Any]:
        """Options for the reader's ``load``/``pull``, with the team mapping under ``teams``."""
        return {**self.options, "teams": dict(self.teams)} if self.teams else dict(self.options)


def parse_config(
    data: Mapping[str, Any], file: str | Path, *, root: Path | None = None
) -> ConnectorConfig:
    """Validate one decoded TOML table; errors name the file and the key."""
    where = str(file)
    kind = data.get("kind")
    if not isinstance(kind, str) or kind not in KINDS:
        raise ConfigError(f"{where}: 'kind' must be one of {', '.join(KINDS)}")
    path, url = data.get("path"), data.get("url")
    if path is None and url is None:
        raise ConfigError(f"{where}: needs 'path' (an export) or 'url' (a live API)")
    if path is not None and not isinstance(path, str):
        raise ConfigError(f"{where}: 'path' must be a string")
    if url is not None and (
        not isinstance(url, str) or not url.startswith(("http://", "https://"))
    ):
        raise ConfigError(f"{where}: 'url' must be an http(s) URL")
    options = data.get("options", {})
    teams = data.get("teams", {})
    credentials = data.get("credentials", {})
    for key, table in (("options", options), ("teams", teams), ("credentials", credentials)):
        if not isinstance(table, Mapping):
            raise ConfigError(f"{where}: [{key}] must be a table")
    for key in set(options) | set(data):
        if str(key).lower() in _SECRET_KEYS:
            raise ConfigError(
                f"{where}: '{key}' looks like a secret; put it in an environment variable and "
                f'name the variable under [credentials] (e.g. token_env = "GITHUB_TOKEN")'
            )
    creds: dict[str, str] = {}
    for key, value in credentials.items():
        if not isinstance(value, str) or not _ENV_NAME.match(value):
            raise ConfigError(
                f"{where}: [credentials] {key} must name an environment variable (LIKE_THIS), "
                "not hold a secret"
            )
        creds[str(key)] = value
    base = root if root is not None else Path(str(file)).resolve().parent.parent
    return ConnectorConfig(
        name=Path(str(file)).stem,
        kind=kind,
        path=(base / path) if isinstance(path, str) else None,
        url=url if isinstance(url, str) else None,
        options=dict(options),
        teams={str(k): str(v) for k, v in teams.items()},
        credentials=creds,
        file=where,
    )


def load_config(file: str | Path, *, root: Path | None = None) -> ConnectorConfig:
    """Read one ``connectors/<name>.toml``; ``path`` is relative to the workspace ``root``."""
    file = Path(file)
    try:
        data = tomllib.loads(file.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"{file}: cannot be read ({exc.strerror})") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{file}: {exc}") from None
    return parse_config(data, file, root=root)


def load_configs(root: str | Path) -> list[ConnectorConfig]:
    """Every ``connectors/*.toml`` of workspace ``root``, sorted by file name."""
    root = Path(root)
    return [load_config(f, root=root) for f in sorted((root / "connectors").glob("*.toml"))]


def secret(config: ConnectorConfig, key: str) -> str:
    """The value of the environment variable named by ``config.credentials[key]``.

    Raises :class:`ConfigError` naming the *variable* (never a value) when unset.
    """
    name = config.credentials.get(key)
    if name is None:
        raise ConfigError(f"{config.file}: [credentials] has no '{key}'")
    value = os.environ.get(name)
    if not value:
        raise ConfigError(f"{config.file}: environment variable {name} is not set")
    return value
