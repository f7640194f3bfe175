"""``wfmine report``: write a self-contained HTML report."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from wfmine.cli._common import DB_HELP, console, guarded, resolve_db


def register(app: typer.Typer) -> None:
    app.command("report")(report)


@guarded
def report(
    definition: Annotated[
        Path | None, typer.Argument(help="Report definition (TOML); default: reports/*.toml.")
    ] = None,
    out: Annotated[Path | None, typer.Option("--out", help="Write the report here.")] = None,
    design: Annotated[Path | None, typer.Option("--design", help="Design file (YAML).")] = None,
    db: Annotated[Path | None, typer.Option("--db", help=DB_HELP)] = None,
) -> None:
    """Render a report definition (or the whole store with --design) to HTML."""
    from wfmine.errors import InputError
    from wfmine.store import Store
    from wfmine.workspace import find_workspace

    if definition is None and design is None:
        root = find_workspace()
        candidates = sorted((root / "reports").glob("*.toml")) if root else []
        if not candidates:
            raise InputError("give a report definition (reports/*.toml) or --design FILE")
        definition = candidates[0]
    with Store(resolve_db(db, definition)) as store:
        if definition is not None:
            from wfmine.reports import generate

            written = generate(definition, store=store, out=out)
        else:
            from wfmine.reports import build_report

            target = out or Path("report.html")
            build_report(store, design).save(target)
            written = target
    console().print(f"Report written to [bold]{written}[/bold]")
