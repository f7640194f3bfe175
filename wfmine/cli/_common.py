"""What every command shares: the console, store resolution, JSON output, error handling."""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn, ParamSpec, TypeVar

import typer

from wfmine.errors import WfmineError

P = ParamSpec("P")
R = TypeVar("R")

DB_HELP = "Store file (default: .wfmine/store.duckdb of the workspace around the current folder)."


def console() -> Any:
    """A rich console on stdout (imported lazily: rich is only needed for people output)."""
    from rich.console import Console

    return Console(highlight=False, soft_wrap=False)


def err_console() -> Any:
    from rich.console import Console

    return Console(stderr=True, highlight=False)


def guarded(func: Callable[P, R]) -> Callable[P, R]:
    """Turn wfmine's errors (and unreadable files) into a one-line message and exit code 2."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except WfmineError as exc:
            _fail(str(exc))
        except (FileNotFoundError, IsADirectoryError, PermissionError, UnicodeDecodeError) as exc:
            _fail(str(exc))
        except KeyboardInterrupt:
            _fail("interrupted")

    return wrapper


def _fail(message: str) -> NoReturn:
    first = message.strip().splitlines()[0] if message.strip() else "failed"
    print(f"wfmine: error: {first}", file=sys.stderr)
    raise typer.Exit(code=2)


def resolve_db(db: Path | None, near: Path | None = None) -> Path:
    """The store path: ``--db`` if given, else the workspace's default store."""
    if db is not None:
        return db
    from wfmine.workspace import default_db

    return default_db(near)


def emit_json(value: Any) -> None:
    """Print ``value`` as JSON (stable key order for keys we control)."""
    sys.stdout.write(json.dumps(value, indent=2, ensure_ascii=False, default=str) + "\n")


def human_duration(seconds: float | None) -> str:
    """3.2 h, 4.0 d, 12 min — for people."""
    if seconds is None:
        return "-"
    s = float(seconds)
    if s < 60:
        return f"{s:.0f} s"
    if s < 3600:
        return f"{s / 60:.0f} min"
    if s < 86400:
        return f"{s / 3600:.1f} h"
    return f"{s / 86400:.1f} d"
