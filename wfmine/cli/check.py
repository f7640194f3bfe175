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
            from wfmine.conformance import check_store, store_result
            from wfmine.design import load_design

            assert design is not None
            res = check_store(store, load_design(design), log=log)
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

    temporal = [c for c, t in frame.schema.items() if isinstance(t, pl.Datetime)]
    if temporal:
        # ISO 8601 in UTC, as every other JSON interface of wfmine
        frame = frame.with_columns(
            pl.col(temporal).dt.convert_time_zone("UTC").dt.strftime("%Y-%m-%dT%H:%M:%S%.fZ")
            if all(frame.schema[c].time_zone for c in temporal)  # type: ignore[union-attr]
            else pl.col(temporal).dt.strftime("%Y-%m-%dT%H:%M:%S%.f")
        )
    durations = [c for c, t in frame.schema.items() if isinstance(t, pl.Duration | pl.Date)]
    if durations:
        frame = frame.with_columns(pl.col(durations).cast(pl.String))
    rows: list[dict[str, Any]] = frame.to_dicts()
    return rows


def _print(payload: dict[str, Any], top: int) -> None:
    from rich.markup import escape
    from rich.table import Table

    out = console()
    summary = payload.get("summary", {})
    for key, value in summary.items():
        if isinstance(value, float):
            out.print(f"{escape(str(key))}: [bold]{value:.3f}[/bold]")
        elif isinstance(value, dict):
            parts = ", ".join(f"{escape(str(k))} {escape(str(v))}" for k, v in value.items())
            out.print(f"{escape(str(key))}: {parts}")
        elif not isinstance(value, list):
            out.print(f"{escape(str(key))}: [bold]{escape(str(value))}[/bold]")
    deviations = payload.get("deviations", [])
    if not deviations:
        return
    # what needs a decision first: gates, performers, flow; then time
    rank = {"gate": 0, "performer": 1, "flow": 2, "time": 3}
    ordered = sorted(
        deviations, key=lambda d: (rank.get(str(d.get("aspect")), 4), str(d.get("case_id")))
    )
    table = Table(
        title=f"Deviations ({min(top, len(ordered))} of {len(ordered)})", title_justify="left"
    )
    cols = [c for c in ("case_id", "aspect", "category", "stage", "detail") if c in ordered[0]]
    for col in cols:
        table.add_column(col)
    for row in ordered[:top]:
        table.add_row(*(escape(str(row.get(c) or "")) for c in cols))
    out.print(table)
