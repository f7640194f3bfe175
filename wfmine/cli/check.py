"""``wfmine check``: compare the observed flow with the designed one (or a process model)."""

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


def register(app: typer.Typer) -> None:
    app.command("check")(check)


@guarded
def check(
    design: DesignOption = None,
    model: Annotated[
        Path | None, typer.Option("--model", help="A process model (PNML or BPMN) instead.")
    ] = None,
    db: DbOption = None,
    as_json: JsonOption = False,
    window: WindowOption = "all",
    case_notion: CaseNotionOption = "work_item",
    top: Annotated[int, typer.Option(help="Rows in each table.")] = 10,
    alignments: Annotated[
        bool,
        typer.Option(
            "--alignments",
            help="With --model: optimal alignments instead of token-based replay (slower).",
        ),
    ] = False,
    timeout: Annotated[
        float,
        typer.Option(help="With --alignments: stop aligning after this many seconds."),
    ] = 120.0,
) -> None:
    """Per-case fitness and deviations; exits 0 whatever deviations are found.

    With --model, token-based replay by default (as pm4py's
    fitness_token_based_replay); --alignments aligns the variants instead,
    most frequent first, with progress on stderr, until --timeout.
    """
    from wfmine.analysis import Analysis
    from wfmine.errors import InputError
    from wfmine.store import open_for_reading
    from wfmine.window import parse_window

    if design is not None and model is not None:
        raise InputError("give one of --design FILE or --model FILE, not both")
    span = parse_window(window, "--window")
    store_path = resolve_db(db)
    with open_for_reading(store_path) as store:
        validate_case_notion(store, case_notion)
        if model is not None:
            from wfmine.conformance.models import check_model

            res: Any = check_model(
                store.log(case_notion=case_notion),
                model,
                alignments=alignments,
                timeout=timeout,
                progress=_align_progress if alignments else None,
            )
            analysis = None
        else:
            chosen = design_for(design, store_path)
            if chosen is None:
                raise InputError(
                    "no design: give --design FILE (or --model FILE), or run in a workspace "
                    "that has design.yaml"
                )
            from wfmine.conformance import store_result

            analysis = Analysis.of(store, chosen, window=span, case_notion=case_notion)
            res = analysis.conformance
            if not store.read_only:  # a read-only store is read, not written
                store_result(store, res)
    payload = _payload(res)
    if analysis is not None:
        payload["scope"] = analysis.scope.as_dict()
    if as_json:
        emit_json(payload)
        return
    out = console()
    if analysis is not None:
        from wfmine.cli._print import print_conformance, print_scope

        print_scope(out, analysis)
        print_conformance(out, analysis)
    else:
        _print_model(out, payload)
    _print_deviations(out, payload, top)


def _align_progress(done: int, total: int, cases: int, all_cases: int, seconds: float) -> None:
    """One line on stderr per batch of aligned variants."""
    import sys

    share = 100.0 * cases / all_cases if all_cases else 100.0
    sys.stderr.write(
        f"aligned {done}/{total} variants ({share:.1f}% of cases) in {seconds:.1f} s\n"
    )
    sys.stderr.flush()


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


def _print_model(out: Any, payload: dict[str, Any]) -> None:
    from rich.markup import escape

    summary = payload.get("summary", {})
    method = summary.get("method")
    if method is not None:
        out.print(
            "Method: [bold]"
            + ("alignments" if method == "alignments" else "token-based replay")
            + "[/bold]"
        )
    if summary.get("alignments_complete") is False:
        out.print(
            f"[yellow]! alignments stopped after {summary.get('timeout_s')} s: "
            f"{summary.get('aligned_variants')} of {summary.get('variants')} variants "
            f"({summary.get('aligned_cases')} of {summary.get('cases')} cases) aligned; "
            "the alignment figures cover those (raise --timeout for all)[/yellow]"
        )
    for key, value in summary.items():
        if key == "method":
            continue
        if isinstance(value, float):
            out.print(f"{escape(str(key))}: [bold]{value:.3f}[/bold]")
        elif not isinstance(value, dict | list):
            out.print(f"{escape(str(key))}: [bold]{escape(str(value))}[/bold]")


def _print_deviations(out: Any, payload: dict[str, Any], top: int) -> None:
    from rich.markup import escape
    from rich.table import Table

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
        table.add_column(col.replace("_", " "))
    for row in ordered[:top]:
        table.add_row(*(escape(str(row.get(c) or "")) for c in cols))
    out.print(table)
