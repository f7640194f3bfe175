"""``wfmine discover PATH``: ingest an export, a folder or a workspace, then show how work flows.

In a workspace (a folder with ``connectors/*.toml``) this is the main job:
ingest every connector, check the work against the design, print the findings
first, then how work flows, and write the HTML report of the same analysis —
one :class:`wfmine.analysis.Analysis`, so the terminal and the report show the
same cases and findings and say which.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from wfmine.cli._common import (
    CASE_NOTION_HELP,
    DB_HELP,
    YES_HELP,
    confirm_large,
    console,
    emit_json,
    fail_on_pulls,
    guarded,
    is_workspace,
    resolve_db,
    validate_case_notion,
    writing_store,
)
from wfmine.cli._print import (
    json_pieces,
    print_conformance,
    print_findings,
    print_flow,
    print_inputs,
    print_scope,
    print_seams,
)

if TYPE_CHECKING:
    from wfmine.analysis import Analysis
    from wfmine.store import Store


def register(app: typer.Typer) -> None:
    app.command("discover")(discover)


@guarded
def discover(
    path: Annotated[
        Path, typer.Argument(help="An export file, a folder of exports, or a workspace.")
    ] = Path("."),
    db: Annotated[Path | None, typer.Option("--db", help=DB_HELP)] = None,
    design: Annotated[
        Path | None,
        typer.Option("--design", help="Design file (YAML); in a workspace, its design."),
    ] = None,
    window: Annotated[
        str, typer.Option(help='The period to analyse: "90d", "12w", "48h" or "all".')
    ] = "all",
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")] = False,
    html: Annotated[
        Path | None, typer.Option("--html", help="Write the process map to this HTML file.")
    ] = None,
    case_notion: Annotated[str, typer.Option(help=CASE_NOTION_HELP)] = "work_item",
    report: Annotated[
        bool,
        typer.Option(
            "--report/--no-report",
            help="In a workspace, write the report of this analysis to reports/out/latest.html.",
        ),
    ] = True,
    archive: Annotated[
        bool,
        typer.Option("--archive", help="Also run every report definition into its dated archive."),
    ] = False,
    top: Annotated[int, typer.Option(help="Rows in each table.")] = 10,
    yes: Annotated[bool, typer.Option("--yes", help=YES_HELP)] = False,
    classifier: Annotated[
        str | None,
        typer.Option(
            help="XES: the activity classifier, a name the log declares or attribute keys "
            '("concept:name lifecycle:transition"); default concept:name.'
        ),
    ] = None,
    engine: Annotated[
        str, typer.Option(help="embedded, or spark: PATH is a lake (wfmine export --parquet).")
    ] = "embedded",
    master: Annotated[str | None, typer.Option(help="Spark master (default local[2]).")] = None,
) -> None:
    """Ingest PATH and show findings first, then how work flows (cases, paths, waits)."""
    if engine != "embedded":
        from wfmine.spark.cli import check_engine, discover_lake, render_text

        lake = discover_lake(path, master=master, top=top) if check_engine(engine) else {}
        emit_json(lake) if as_json else console().print(render_text(lake, top), markup=False)
        return

    from wfmine.analysis import Analysis
    from wfmine.api import ingest_path
    from wfmine.window import parse_window
    from wfmine.workspace import workspace_design

    span = parse_window(window, "--window")
    store_path = resolve_db(db, path if path.exists() else None)
    show = not as_json
    # rich (about 40 ms to import) only for people: --json writes to stdout itself
    out: Any = console() if show else None
    failed: dict[str, str] = {}
    reader_options = {"classifier": classifier} if classifier else None
    # a first run into an empty store is analysed while it is written (defer): the analysis
    # reads the run's frames, and writing_store waits for the commit before any output (a
    # failed write: exit 2, the store rolled back, nothing printed)
    with writing_store(store_path) as store:
        if show:
            with out.status(f"Reading {path} …") as status:
                ingested = ingest_path(
                    store,
                    path,
                    progress=lambda d: status.update(f"Loading {d.kind}: {d.path}"),
                    options=reader_options,
                    confirm=confirm_large(yes, status.update),
                    defer=True,
                )
        else:
            ingested = ingest_path(
                store, path, options=reader_options, confirm=confirm_large(yes), defer=True
            )
        validate_case_notion(store, case_notion)
        workspace = is_workspace(path)
        design_path = (
            design if design is not None else (workspace_design(path) if workspace else None)
        )
        with out.status("Analysing …") if show else _null():
            # only what this input touched (a file, a folder), or the whole workspace
            log = store.log(case_notion=case_notion, objects=ingested.object_ids)
            analysis = Analysis.of(log, design_path, window=span, store=store)
            # the actors (whom the seams and the findings split into humans and agents) and
            # the discovery figures on the second core while this one checks the design, finds
            # and ranks the seams (the same figures either way: each is made once)
            with analysis.alongside(lambda a: a.actors, lambda a: a.overview):
                designed = (
                    _design_job(analysis, store, design_path) if analysis.design is not None else {}
                )
                # the handoffs between teams (and humans and agents), most waiting first
                seams = analysis.seams
            payload: dict[str, Any] = {
                **analysis.discover_frames(top=top),
                "scope": analysis.scope.as_dict(),
                "warnings": analysis.warnings,
                "inputs": ingested.describe(),
                "store": str(store_path),
                "classifiers": _classifiers(store, ingested.loaded),
                **designed,
                "seams": seams,
            }
            # files a person opens (the report, the process map) are written only once the
            # run they show is committed: a failed write leaves none of them behind
            store.wait()
            if workspace and (report or archive):
                payload["reports"] = _reports(
                    analysis, store, path, latest=report, archive=archive, failed=failed
                )
                payload["failed_sections"] = failed
        if html is not None:
            from wfmine.maps import process_map

            fig = process_map(analysis.log)
            html.parent.mkdir(parents=True, exist_ok=True)
            fig.write_html(str(html), include_plotlyjs=True, full_html=True)
        # the text emit_json would print, with the frames written column by column (made
        # while the run may still be being written; printed once it is committed), in pieces
        # written one after the other: tens of megabytes are not joined into one string first
        text = json_pieces(payload) if as_json else []
    if as_json:
        sys.stdout.writelines(text)
        sys.stdout.write("\n")
        fail_on_pulls(ingested.failed)
        _fail_on_sections(failed)
        return
    print_inputs(out, payload["inputs"])
    _print_classifiers(out, payload["classifiers"])
    print_scope(out, analysis)
    if analysis.design is not None:
        print_findings(out, analysis.findings, top=3)
        print_conformance(out, analysis)
    print_flow(out, payload, analysis, top)
    print_seams(out, payload["seams"], top)
    for written in payload.get("reports", []):
        out.print(f"Report written to [bold]{written}[/bold]")
    if html is not None:
        out.print(f"Process map written to [bold]{html}[/bold]")
    fail_on_pulls(ingested.failed)
    _fail_on_sections(failed)


def _classifiers(store: Store, loaded: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per XES input read: the classifiers its log declares and the one used for activities."""
    import json

    paths = [str(item.get("path")) for item in loaded if item.get("kind") == "xes"]
    if not paths:
        return []
    # a query (Store.sql), not raw access: the store keeps answering the log from the frames
    # this run wrote instead of reading them back
    rows = store.sql(
        "SELECT DISTINCT origin, CAST(payload->'classifiers' AS VARCHAR), "
        "CAST(payload->'classifier' AS VARCHAR) FROM raw_records "
        "WHERE source = 'xes' AND record_type = 'log' AND list_contains(?, origin) "
        "ORDER BY origin",
        [paths],
    ).rows()
    out: list[dict[str, Any]] = []
    for origin, declared, used in rows:
        names = json.loads(declared) if declared else []
        out.append(
            {
                "path": origin,
                "declared": {str(c["name"]): list(c["keys"]) for c in names if isinstance(c, dict)},
                "used": json.loads(used) if used else ["concept:name"],
            }
        )
    return out


def _print_classifiers(out: Any, classifiers: list[dict[str, Any]]) -> None:
    from rich.markup import escape

    for item in classifiers:
        declared = "; ".join(
            f"{name} ({' '.join(keys)})" for name, keys in item["declared"].items()
        )
        out.print(
            f"[dim]Activity: {escape(' + '.join(item['used']))} — classifiers the log declares: "
            f"{escape(declared or 'none')} (choose with --classifier)[/dim]"
        )


def _fail_on_sections(failed: dict[str, str]) -> None:
    """A report section that could not be built is loud, and the exit code says so (1)."""
    if not failed:
        return
    from wfmine.cli._common import err_console

    warn = err_console()
    for section, error in failed.items():
        warn.print(f"[bold red]! report section {section} could not be built: {error}[/bold red]")
    raise typer.Exit(code=1)


def _design_job(analysis: Analysis, store: Store, design_path: Path | None) -> dict[str, Any]:
    """What the design adds to the payload: the check, the findings (stored), stage paths."""
    from wfmine.conformance import store_result
    from wfmine.findings import findings_json, store_findings

    result = analysis.conformance
    assert result is not None
    store_result(store, result)
    store_findings(store, analysis.findings)
    paths = analysis.stage_paths
    return {
        "design": str(design_path) if design_path is not None else None,
        "check": result.summary,
        "findings": findings_json(analysis.findings),
        "stage_variants": paths.to_dicts() if paths is not None else [],
    }


def _reports(
    analysis: Analysis,
    store: Store,
    root: Path,
    *,
    latest: bool,
    archive: bool,
    failed: dict[str, str],
) -> list[str]:
    """Write the report of this analysis (and, when asked, every definition's archive run).

    Sections that could not be built are added to ``failed``.
    """
    from wfmine.reports import build_report, load_definitions, run_definition

    definitions = load_definitions(root)
    written: list[str] = []
    if latest:
        first = definitions[0] if definitions else None
        target = (first.output if first is not None else root / "reports" / "out") / "latest.html"
        built = build_report(
            analysis,
            sections=first.sections if first is not None else None,
            title=first.title if first is not None else "Process report",
        )
        written.append(str(built.save(target)))
        failed.update(built.failed_sections)
    if archive:
        for d in definitions:
            run = run_definition(d, store=store, analysis=analysis)
            written.append(str(run.path))
            failed.update(run.failed_sections)
    return written


class _null:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None
