"""``wfmine check``: compare the observed flow with the designed one (or a process model)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from wfmine.cli._common import DB_HELP, console, emit_json, guarded, resolve_db


def register(app: typer.Typer) -> None:
    app.command("check")(check)


@guarded
def check(
    design: Annotated[Path | None, typer.Option("--design", help="Design file (YAML).")] = None,
    model: Annotated[
        Path | None, typer.Option("--model", help="A process model (PNML or BPMN) instead.")
    ] = None,
    db: Annotated[Path | None, typer.Option("--db", help=DB_HELP)] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    top: Annotated[int, typer.Option(help="Rows in each table.")] = 10,
) -> None:
    """Per-case fitness and deviations; exits 0 whatever deviations are found."""
    from wfmine.errors import InputError
    from wfmine.store import Store

    if (design is None) == (model is None):
        raise InputError("give exactly one of --design FILE or --model FILE")
    with Store(resolve_db(db)) as store:
        log = store.log()
        if model is not None:
            from wfmine.conformance.models import check_model

            res: Any = check_model(log, model)
        else:
            from wfmine.conformance import case_attributes, store_result
            from wfmine.conformance import check as run_check
            from wfmine.design import load_design

            loaded = load_design(design)  # type: ignore[arg-type]
            res = run_check(log, loaded, case_attrs=case_attributes(store, log))
            store_result(store, res)
    payload = _payload(res)
    if as_json:
        emit_json(payload)
        return
    _print(payload, top)


def _payload(res: Any) -> dict[str, Any]:
    """JSON for a conformance result: summary, per-case fitness, deviations (and gates)."""
    out: dict[str, Any] = {"summary": res.summary}
    for name in ("cases", "deviations", "gates", "variants"):
        frame = getattr(res, name, None)
        if frame is not None:
            out[name] = _rows(frame)
    return out


def _rows(frame: Any) -> list[dict[str, Any]]:
    import polars as pl

    temporal = [c for c, t in frame.schema.items() if t.is_temporal()]
    if temporal:
        frame = frame.with_columns(pl.col(temporal).cast(pl.String))
    rows: list[dict[str, Any]] = frame.to_dicts()
    return rows


def _print(payload: dict[str, Any], top: int) -> None:
    from rich.markup import escape
    from rich.table import Table

    out = console()
    summary = payload.get("summary", {})
    for key, value in summary.items():
        if not isinstance(value, dict | list):
            out.print(f"{escape(str(key))}: [bold]{escape(str(value))}[/bold]")
    deviations = payload.get("deviations", [])
    if deviations:
        table = Table(title=f"Deviations (first {top})", title_justify="left")
        cols = [c for c in ("case_id", "category", "stage", "detail") if c in deviations[0]]
        for col in cols:
            table.add_column(col)
        for row in deviations[:top]:
            table.add_row(*(escape(str(row.get(c, ""))) for c in cols))
        out.print(table)
