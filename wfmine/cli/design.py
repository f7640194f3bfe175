"""``wfmine design infer | suggest``: the design read from the work, and the edits findings propose."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from wfmine.cli._common import (
    CaseNotionOption,
    DbOption,
    DesignOption,
    JsonOption,
    WindowOption,
    console,
    design_for,
    emit_json,
    guarded,
    resolve_db,
    validate_case_notion,
)

app = typer.Typer(
    name="design",
    help="Draft a design from the observed work, or turn findings into design edits.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def register(parent: typer.Typer) -> None:
    parent.add_typer(app, name="design")


def _open_store(db: Path | None) -> tuple[Any, Path]:
    from wfmine.errors import InputError
    from wfmine.store import Store

    store_path = resolve_db(db)
    if not store_path.exists():
        raise InputError(f"{store_path}: no store there (run `wfmine ingest` first, or give --db)")
    return Store(store_path), store_path


@app.command("infer")
@guarded
def infer(
    db: DbOption = None,
    out: Annotated[
        Path | None, typer.Option("--out", help="Write the draft design here (else print it).")
    ] = None,
    as_json: JsonOption = False,
    min_share: Annotated[
        float,
        typer.Option(help="Keep a transition practised by at least this share of work items."),
    ] = 0.02,
    case_notion: CaseNotionOption = "work_item",
    name: Annotated[str, typer.Option(help="The draft's name.")] = "Inferred design",
) -> None:
    """Draft a design file from the observed log, a comment on every line saying what it rests on."""
    from wfmine.errors import InputError
    from wfmine.infer import infer_design

    if not 0 < min_share < 1:
        raise InputError(f"--min-share must be between 0 and 1 (got {min_share})")
    store, _ = _open_store(db)
    with store:
        validate_case_notion(store, case_notion)
        draft = infer_design(
            store.log(case_notion=case_notion), store=store, min_share=min_share, name=name
        )
    if out is not None:
        out.write_text(draft.text, encoding="utf-8")
    if as_json:
        emit_json(
            {
                "yaml": draft.text,
                "out": str(out) if out is not None else None,
                "stages": draft.stages.to_dicts(),
                "statuses": draft.statuses.to_dicts(),
                "activities": draft.activities.to_dicts(),
                "transitions": draft.transitions.to_dicts(),
                "gate": draft.gate.to_dicts(),
                "seams": draft.seams.drop("example_cases", strict=False).to_dicts(),
                "agents": draft.agents.to_dicts(),
                "notes": draft.notes,
            }
        )
        return
    if out is not None:
        console().print(
            f"Draft design written to [bold]{out}[/bold]: {len(draft.design.stages)} stages, "
            f"{len(draft.design.transitions)} transitions, {len(draft.design.agents)} agents "
            "observed (not sanctioned: decide). Check it with `wfmine check --design "
            f"{out}`."
        )
        return
    typer.echo(draft.text, nl=False)


@app.command("suggest")
@guarded
def suggest(
    design: DesignOption = None,
    db: DbOption = None,
    out: Annotated[
        Path | None, typer.Option("--out", help="Write the patched design here.")
    ] = None,
    as_json: JsonOption = False,
    window: WindowOption = "all",
    case_notion: CaseNotionOption = "work_item",
) -> None:
    """Print the findings' suggested design edits as one reviewable patch (unified diff)."""
    from wfmine.analysis import Analysis
    from wfmine.design import load_design
    from wfmine.errors import InputError
    from wfmine.infer import suggest_patch
    from wfmine.window import parse_window

    span = parse_window(window, "--window")
    store, store_path = _open_store(db)
    chosen = design_for(design, store_path)
    if chosen is None:
        raise InputError(
            "no design: give --design FILE, or run in a workspace that has design.yaml"
        )
    text = chosen.read_text(encoding="utf-8")
    with store:
        validate_case_notion(store, case_notion)
        analysis = Analysis.of(store, chosen, window=span, case_notion=case_notion)
        found = analysis.findings
    patch = suggest_patch(text, found, name=chosen.name)
    if out is not None:
        out.write_text(patch.text, encoding="utf-8")
        load_design(out)
    if as_json:
        emit_json(
            {
                "design": str(chosen),
                "out": str(out) if out is not None else None,
                "diff": patch.diff,
                "applied": patch.applied,
                "skipped": patch.skipped,
            }
        )
        return
    typer.echo(patch.diff, nl=False)
