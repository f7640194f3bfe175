"""What every command shares: the console, store resolution, JSON output, error handling."""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, NoReturn, ParamSpec, TypeVar

import typer

from wfmine.errors import WfmineError

P = ParamSpec("P")
R = TypeVar("R")

DB_HELP = "Store file (default: .wfmine/store.duckdb of the workspace around the current folder)."
WINDOW_HELP = 'The period to analyse: "90d", "12w", "48h" or "all".'
CASE_NOTION_HELP = "What a case is: work_item (default), object, or an object type of the store."

# the options every command spells the same way
DbOption = Annotated[Path | None, typer.Option("--db", help=DB_HELP)]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON.")]
WindowOption = Annotated[str, typer.Option(help=WINDOW_HELP)]
CaseNotionOption = Annotated[str, typer.Option(help=CASE_NOTION_HELP)]
DesignOption = Annotated[
    Path | None,
    typer.Option("--design", help="Design file (YAML); default: the workspace's design."),
]


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
        except UnicodeDecodeError as exc:
            _fail(str(exc))
        except OSError as exc:  # a missing, unreadable or full disk, a folder that is a file
            where = f"{exc.filename}: " if exc.filename else ""
            _fail(f"{where}{exc.strerror or exc}")
        except KeyboardInterrupt:
            _fail("interrupted")
        except Exception as exc:
            import duckdb

            if isinstance(exc, duckdb.Error):  # the store's engine: a full disk, a lock
                _fail(f"the store could not be written or read: {exc}")
            raise

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


#: case notions every store knows (object types come on top)
CASE_NOTIONS = ("work_item", "object")


def validate_case_notion(store: Any, notion: str) -> None:
    """Refuse a case notion the store cannot use, listing the ones it can (exit 2)."""
    if notion in CASE_NOTIONS:
        return
    types = store.sql("SELECT DISTINCT object_type FROM objects ORDER BY object_type")
    known = [str(t) for t in types.get_column("object_type").drop_nulls().to_list()]
    if notion not in known:
        from wfmine.errors import InputError

        raise InputError(
            f"--case-notion {notion!r} is not known; use one of: {', '.join([*CASE_NOTIONS, *known])}"
        )


def is_workspace(path: Path) -> bool:
    """A folder with ``connectors/`` is a workspace (its main job runs the whole pipeline)."""
    return path.is_dir() and (path / "connectors").is_dir()


def design_for(design: Path | None, store_path: Path) -> Path | None:
    """The design to use: ``--design`` if given, else the design of the store's workspace.

    ``None`` when neither exists (a store outside any workspace needs ``--design``).
    """
    if design is not None:
        return design
    from wfmine.workspace import find_workspace, workspace_design

    root = find_workspace(store_path.parent)
    return workspace_design(root) if root is not None else None


#: a tree above either limit is read only with ``--yes`` (a mistyped path must not
#: quietly load a home folder)
LARGE_FILES = 5_000
LARGE_BYTES = 2_000_000_000
YES_HELP = "Read a large tree (over 5,000 files or 2 GB) without asking."


def confirm_large(yes: bool, say: Callable[[str], None] | None = None) -> Callable[[Any], None]:
    """A ``confirm`` for :func:`wfmine.api.ingest_path`: say what will be read; refuse a large tree.

    Nothing is read (and nothing reaches the store) before this says yes.
    """

    def check(plan: Any) -> None:
        if say is not None:
            say(f"Reading {plan.describe()}")
        if not yes and (plan.files > LARGE_FILES or plan.bytes > LARGE_BYTES):
            from wfmine.errors import InputError

            raise InputError(
                f"that is a large tree ({plan.describe()}); nothing was read. "
                "Check the path, or rerun with --yes to read it"
            )

    return check
