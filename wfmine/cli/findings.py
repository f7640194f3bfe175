"""``wfmine findings``: shadow agents, unowned seams, failure patterns, gate violations."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import typer

from wfmine.cli._common import (
    CaseNotionOption,
    DbOption,
    DesignOption,
    WindowOption,
    console,
    design_for,
    emit_json,
    guarded,
    resolve_db,
    validate_case_notion,
)


class Kind(StrEnum):
    """The kinds of finding ``--kind`` accepts (anything else is refused with this list)."""

    shadow_agent = "shadow_agent"
    unowned_seam = "unowned_seam"
    failure_pattern = "failure_pattern"
    gate_violation = "gate_violation"
    reviewer_quality = "reviewer_quality"


def register(app: typer.Typer) -> None:
    app.command("findings")(findings)


@guarded
def findings(
    design: DesignOption = None,
    db: DbOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON list of findings.")] = False,
    kind: Annotated[Kind | None, typer.Option(help="Only this kind of finding.")] = None,
    window: WindowOption = "all",
    case_notion: CaseNotionOption = "work_item",
) -> None:
    """Compute, store and print findings (exit 0: findings are results, not errors)."""
    import polars as pl

    from wfmine.analysis import Analysis
    from wfmine.cli._print import print_findings, print_scope
    from wfmine.findings import findings_json, store_findings
    from wfmine.store import open_for_reading
    from wfmine.window import parse_window

    span = parse_window(window, "--window")
    store_path = resolve_db(db)
    with open_for_reading(store_path) as store:
        validate_case_notion(store, case_notion)
        analysis = Analysis.of(
            store, design_for(design, store_path), window=span, case_notion=case_notion
        )
        found = analysis.findings
        if not store.read_only:  # a read-only store is read, not written
            store_findings(store, found)
    if kind is not None:
        found = found.filter(pl.col("kind") == kind.value)
    if as_json:
        emit_json(findings_json(found))
        return
    out = console()
    print_scope(out, analysis)
    if analysis.design is None:
        out.print(
            "[yellow]No design: only what needs none is reported (automation and AI "
            "signatures, failure patterns, the seams causing most waiting). Give --design "
            "for gates, stages and owned seams.[/yellow]"
        )
    print_findings(out, found, top=max(found.height, 1))
