"""``wfmine drift``: when the practised workflow changed, and whether design changes took effect."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from wfmine.cli._common import (
    CaseNotionOption,
    DbOption,
    DesignOption,
    JsonOption,
    console,
    design_for,
    emit_json,
    guarded,
    resolve_db,
    validate_case_notion,
)


def register(app: typer.Typer) -> None:
    app.command("drift")(drift)


@guarded
def drift(
    design: DesignOption = None,
    db: DbOption = None,
    as_json: JsonOption = False,
    alpha: Annotated[
        float, typer.Option(help="Report a change when its corrected p-value is below this.")
    ] = 0.05,
    permutations: Annotated[int, typer.Option(help="Week permutations per series.")] = 1999,
    weeks: Annotated[
        int, typer.Option(help="Weeks before and after each design change to compare.")
    ] = 8,
    case_notion: CaseNotionOption = "work_item",
    out: Annotated[
        Path | None, typer.Option("--out", help="Also write the JSON payload to this file.")
    ] = None,
) -> None:
    """Change points in the weekly stage paths, waits, performer shares and approvals; design changes' effects."""
    import json

    from wfmine.conformance import store_accounts
    from wfmine.drift import design_changes, load_design_with_changes
    from wfmine.drift import drift as run
    from wfmine.errors import InputError
    from wfmine.store import open_for_reading

    if not 0 < alpha < 1:
        raise InputError(f"--alpha must be between 0 and 1 (got {alpha})")
    if permutations < 19:
        raise InputError("--permutations must be at least 19")
    if weeks < 1:
        raise InputError("--weeks must be at least 1")
    store_path = resolve_db(db)
    if not store_path.exists():
        raise InputError(f"{store_path}: no store there (run `wfmine ingest` first, or give --db)")
    chosen = design_for(design, store_path)
    if chosen is None:
        raise InputError(
            "no design: give --design FILE, or run in a workspace that has design.yaml"
        )
    loaded, _ = load_design_with_changes(chosen)
    with open_for_reading(store_path) as store:
        validate_case_notion(store, case_notion)
        log = store.log(case_notion=case_notion)
        accounts = store_accounts(store)
    report = run(
        log,
        loaded,
        changes=design_changes(chosen),
        accounts=accounts,
        alpha=alpha,
        permutations=permutations,
        weeks=weeks,
    )
    payload = report.as_dict()
    if out is not None:
        out.write_text(json.dumps(payload, indent=2, default=str) + "\n", encoding="utf-8")
    if as_json:
        emit_json(payload)
        return
    from rich.markup import escape

    con = console()
    con.print(
        f"[bold]Drift[/bold] over {report.weeks} weeks: {report.series_tested} weekly series "
        f"tested (week-permutation max statistic, Bonferroni over series, alpha {alpha:g})."
    )
    if report.change_points.height == 0:
        con.print("No change in the practised workflow.")
    for row in report.change_points.iter_rows(named=True):
        con.print(
            f"- week of {row['week']}: [bold]{escape(row['series'])}[/bold] changed "
            f"({row['strength']}, p={row['p_adjusted']:.3f} corrected, effect "
            f"{row['effect']:.2f}): {escape(row['before'])}  ->  {escape(row['after'])}"
        )
    if report.changes.height:
        con.print(f"\n[bold]Design changes[/bold] ({report.changes.height}):")
        for row in report.verdicts.iter_rows(named=True):
            con.print(
                escape(f"- {row['date']} {row['change']} ({row['source']}): {row['summary']}")
            )
    else:
        con.print(
            "\nNo design change known (no `changes:` list in the design, no git history of it)."
        )
