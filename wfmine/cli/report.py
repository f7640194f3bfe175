"""``wfmine report``: write a self-contained HTML report."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from wfmine.cli._common import (
    CaseNotionOption,
    DbOption,
    console,
    design_for,
    err_console,
    guarded,
    resolve_db,
    validate_case_notion,
)


def register(app: typer.Typer) -> None:
    app.command("report")(report)


@guarded
def report(
    definition: Annotated[
        Path | None, typer.Argument(help="Report definition (TOML); default: reports/*.toml.")
    ] = None,
    out: Annotated[Path | None, typer.Option("--out", help="Write the report here.")] = None,
    design: Annotated[
        Path | None,
        typer.Option("--design", help="Design file (YAML), for a report without a definition."),
    ] = None,
    window: Annotated[
        str, typer.Option(help='Without a definition: "90d", "12w", "48h" or "all".')
    ] = "all",
    case_notion: CaseNotionOption = "work_item",
    db: DbOption = None,
) -> None:
    """Render a report definition (or the whole store with --design) to HTML.

    Exit 1 when a section could not be built (the report is written and says
    which); 2 on bad input (a missing design, an unknown section).
    """
    from wfmine.analysis import Analysis
    from wfmine.errors import InputError
    from wfmine.reports import build_report, run_definition
    from wfmine.store import open_for_reading
    from wfmine.window import parse_window
    from wfmine.workspace import find_workspace

    if definition is None and design is None:
        root = find_workspace()
        candidates = sorted((root / "reports").glob("*.toml")) if root else []
        if not candidates:
            raise InputError("give a report definition (reports/*.toml) or --design FILE")
        definition = candidates[0]
    store_path = resolve_db(db, definition)
    with open_for_reading(store_path) as store:
        if definition is not None:
            generated = run_definition(definition, store=store, out=out)
            written, failed = generated.path, generated.failed_sections
        else:
            validate_case_notion(store, case_notion)
            analysis = Analysis.of(
                store,
                design_for(design, store_path),
                window=parse_window(window, "--window"),
                case_notion=case_notion,
            )
            built = build_report(analysis)
            written, failed = built.save(out or Path("report.html")), built.failed_sections
    console().print(f"Report written to [bold]{written}[/bold]")
    if failed:
        warn = err_console()
        for section, error in failed.items():
            warn.print(f"[bold red]! section {section} could not be built: {error}[/bold red]")
        raise typer.Exit(code=1)
