"""``wfmine schedule``: run the workspace's report definitions on their cron schedules."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer

from wfmine.cli._common import DB_HELP, console, emit_json, guarded, resolve_db


def register(app: typer.Typer) -> None:
    app.command("schedule")(schedule)


@guarded
def schedule(
    once: Annotated[bool, typer.Option("--once", help="Run whatever is due, then exit.")] = False,
    install: Annotated[
        bool, typer.Option("--install", help="Print crontab and systemd timer lines.")
    ] = False,
    workspace: Annotated[Path | None, typer.Option(help="Workspace folder.")] = None,
    db: Annotated[Path | None, typer.Option("--db", help=DB_HELP)] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Foreground scheduler (Ctrl-C stops it cleanly); --once for cron; --install prints lines."""
    import shutil

    from wfmine.errors import InputError
    from wfmine.reports.schedule import install_lines, run_due, serve
    from wfmine.workspace import find_workspace

    root = workspace or find_workspace()
    if root is None:
        raise InputError("not inside a workspace (a folder with connectors/ and reports/)")
    if install:
        exe = shutil.which("wfmine") or f"{sys.executable} -m wfmine"
        sys.stdout.write(install_lines(root, sys.executable, exe))
        return
    store_path = resolve_db(db, root)
    pull = _puller(root, store_path)
    if once:
        results = run_due(root, pull=pull, store=store_path)
        rows = [
            {
                "name": r.name, "status": r.status, "slot": r.slot.isoformat(),
                "report": str(r.report) if r.report else None, "error": r.error,
                "pull_error": r.pull_error, "seconds": round(r.seconds, 2),
            }
            for r in results
        ]  # fmt: skip
        if as_json:
            emit_json(rows)
        else:
            out = console()
            if not rows:
                out.print("Nothing due.")
            for row in rows:
                mark = "[green]✓[/green]" if row["status"] == "ok" else "[red]✗[/red]"
                detail = row["report"] or row["error"]
                out.print(f"{mark} {row['name']} ({row['slot']}): {detail}")
                if row["pull_error"]:
                    out.print(f"  [yellow]![/yellow] pulling new data failed: {row['pull_error']}")
        if any(r.status != "ok" for r in results):
            raise typer.Exit(code=1)
        return
    raise typer.Exit(code=serve(root, pull=pull, store=store_path))


def _puller(root: Path, store_path: Path) -> Callable[[Any], None]:
    """Before each report: pull new data through the workspace's connectors (incremental)."""

    def pull(definition: Any) -> None:
        del definition  # every report of a workspace reads the same store
        from wfmine.api import ingest_path
        from wfmine.errors import ConnectorError
        from wfmine.store import Store

        with Store(store_path) as store:
            failed = ingest_path(store, root).failed
        if failed:  # the files were loaded; the run is marked failed with what the pull said
            raise ConnectorError("; ".join(f.line() for f in failed))

    return pull
