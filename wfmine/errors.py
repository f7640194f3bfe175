"""The exceptions wfmine raises.

Every error wfmine raises on purpose derives from :class:`WfmineError`, so a
caller can catch them all with one clause. Subclasses also inherit the
matching built-in exception, so code written against ``ValueError`` or
``OSError`` keeps working.

Tree::

    WfmineError
    ├── InputError (ValueError)          bad input: a file, record, option or design
    │   ├── FormatError                  a file that cannot be parsed (names file + position)
    │   ├── DesignError                  an invalid design file (names line + problem)
    │   └── ConfigError                  a bad connector/report/workspace configuration
    ├── StoreError (RuntimeError)        the store cannot be opened, migrated or written
    └── ConnectorError (RuntimeError)    a source system could not be read
        ├── TransientError               a retry later can help (429, 5xx, timeouts)
        └── TerminalError                a retry cannot help (401, 404, 410, bad URL)

A CLI command turns any ``WfmineError`` into a one-line message and exit code 2.
"""

from __future__ import annotations

__all__ = [
    "ConfigError",
    "ConnectorError",
    "DesignError",
    "FormatError",
    "InputError",
    "StoreError",
    "TerminalError",
    "TransientError",
    "WfmineError",
]


class WfmineError(Exception):
    """Root of every error wfmine raises on purpose."""


class InputError(WfmineError, ValueError):
    """Input a person can fix: a file, a record, an option."""


class FormatError(InputError):
    """A file that cannot be parsed.

    The message names the file and, where known, the position (line, column,
    record index) so that the person can open the file at the right place.
    """

    def __init__(self, path: object, problem: str, *, position: str | None = None) -> None:
        self.path = str(path)
        self.problem = problem
        self.position = position
        where = f"{self.path}: {position}" if position else self.path
        super().__init__(f"{where}: {problem}")


class DesignError(InputError):
    """An invalid design file; the message names the line and the problem."""


class ConfigError(InputError):
    """A bad connector, report or workspace configuration."""


class StoreError(WfmineError, RuntimeError):
    """The store cannot be opened, migrated or written."""


class ConnectorError(WfmineError, RuntimeError):
    """A source system could not be read.

    ``status`` is the HTTP status of the answer that failed (``None`` for a
    timeout, a refused connection or a page that is not what was asked for),
    ``retry_after`` the seconds the server asked to wait (``None`` when it said
    nothing). Callers decide on :attr:`transient` and :attr:`status`, never on
    the message text.
    """

    transient: bool = False

    def __init__(
        self, message: str, *, status: int | None = None, retry_after: float | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after


class TransientError(ConnectorError):
    """A retry later can help: rate limits, server errors, timeouts."""

    transient = True


class TerminalError(ConnectorError):
    """A retry cannot help: bad credentials, missing resource, bad URL."""
