"""``wfmine findings``: shadow agents, unowned seams, failure patterns, gate violations."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from wfmine.cli._common import DB_HELP, console, emit_json, guarded, resolve_db


def register(app: typer.Typer) -> None:
    app.command("findings")(findings)


@guarded
def findings(
    design: Annotated[Path | None, typer.Option("--design", help="Design file (YAML).")] = None,
    db: Annotated[Path | None, typer.Option("--db", help=DB_HELP)] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON list of findings.")] = False,
    kind: Annotated[str | None, typer.Option(help="Only this kind of finding.")] = None,
) -> None:
    """Compute, store and print findings (exit 0: findings are results, not errors)."""
    import polars as pl

    from wfmine.api import Log
    from wfmine.findings import findings_json
    from wfmine.store import Store

    with Store(resolve_db(db)) as store:
        df = Log(store).findings(design)
    if kind:
        df = df.filter(pl.col("kind") == kind)
    items = findings_json(df)
    if as_json:
        emit_json(items)
        return
    from rich.markup import escape
    from rich.table import Table

    out = console()
    if not items:
        out.print("No findings.")
        return
    table = Table(title=f"{len(items)} findings", title_justify="left", show_lines=False)
    for col in ("kind", "severity", "subject", "summary", "trend"):
        table.add_column(col)
    for f in items:
        table.add_row(
            escape(f["kind"]), escape(f["severity"]), escape(str(f["subject"])),
            escape(f["summary"]), escape(f.get("trend") or ""),
        )  # fmt: skip
    out.print(table)
