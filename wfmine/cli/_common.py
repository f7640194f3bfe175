"""What every command shares: the console, store resolution, JSON output, error handling."""

from __future__ import annotations

import contextlib
import functools
import json
import re
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn, ParamSpec, TypeVar

import typer

from wfmine.errors import WfmineError

if TYPE_CHECKING:
    from wfmine.store import Store
    from wfmine.workspace import PullFailure

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
                _fail(store_error_line(exc))
            raise

    return wrapper


_WRITE_FAILED = re.compile(r'Could not write file "(?P<file>[^"]+)": (?P<reason>.+)')


def store_error_line(exc: BaseException) -> str:
    """One line for an error of the store's engine, naming its root cause.

    A write that fails (a full disk, a file-size limit) aborts the transaction,
    and what surfaces is often a follow-up error ("Current transaction is
    aborted"): the chain is searched for the I/O error that caused it.
    """
    import duckdb

    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in chain:
        chain.append(current)
        current = current.__cause__ or current.__context__
    root = next((e for e in chain if isinstance(e, duckdb.IOException)), exc)
    text = str(root).strip().splitlines()[0] if str(root).strip() else type(root).__name__
    match = _WRITE_FAILED.search(text)
    if match is not None:
        reason = match["reason"].rstrip(".")
        store = match["file"].removesuffix(".wal")  # its write-ahead log is the store too
        return (
            f"{store}: the store could not be written ({reason}: is the disk full?); "
            "the write was rolled back and the store holds what it held before it"
        )
    return f"the store could not be written or read: {text}"


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


def fail_on_pulls(failures: Sequence[PullFailure]) -> None:
    """Live connectors that could not be pulled: one red line each (stderr), then exit 1.

    Exit 1 as for a scheduled run whose pull failed (``wfmine schedule --once``)
    and a report section that could not be built: what could be done was done
    and is printed, but the run is not clean, and a script or cron must see it.
    """
    if not failures:
        return
    from rich.markup import escape

    warn = err_console()
    for failure in failures:
        warn.print(f"[bold red]✗ {escape(failure.line())}[/bold red]", soft_wrap=True)
    raise typer.Exit(code=1)


@contextmanager
def writing_store(path: Path) -> Iterator[Store]:
    """Open the store at ``path`` for a command that writes it.

    The command's block may leave its last run in flight (``defer=True``): it is
    waited for when the block ends, and its failure is the command's.
    A command that fails before anything was committed to a store it created
    leaves no store behind: no empty file, no ``.wal``, no folder it made. A
    store that existed, or that holds a committed run (an earlier input of the
    same command), is kept as it is.
    """
    from wfmine.store import Store

    fresh = str(path) != ":memory:" and not path.exists()
    made = [p for p in (path.parent, *path.parent.parents) if not p.exists()] if fresh else []
    store = Store(path)
    try:
        yield store
        # a run still being written (Store.ingest with defer) commits before the command
        # reports anything; a failed one is rolled back and fails the command like any other
        store.wait()
    except BaseException:
        empty = fresh and _holds_no_run(store)
        store.close()
        if empty:
            for leftover in (path, path.with_name(path.name + ".wal")):
                leftover.unlink(missing_ok=True)
            for folder in made:  # deepest first
                with contextlib.suppress(OSError):
                    folder.rmdir()
        raise
    store.close()


def _holds_no_run(store: Store) -> bool:
    import duckdb

    try:
        return store.runs().height == 0
    except duckdb.Error:  # a store the failure left unreadable holds nothing worth keeping
        return True
