"""``wfmine discover PATH``: ingest an export, a folder or a workspace, then show how work flows."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from wfmine.cli._common import DB_HELP, console, emit_json, guarded, human_duration, resolve_db


def register(app: typer.Typer) -> None:
    app.command("discover")(discover)


@guarded
def discover(
    path: Annotated[
        Path, typer.Argument(help="An export file, a folder of exports, or a workspace.")
    ] = Path("."),
    db: Annotated[Path | None, typer.Option("--db", help=DB_HELP)] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")] = False,
    html: Annotated[
        Path | None, typer.Option("--html", help="Write the process map to this HTML file.")
    ] = None,
    case_notion: Annotated[
        str, typer.Option(help="work_item (default), object, or an object type.")
    ] = "work_item",
    top: Annotated[int, typer.Option(help="Rows in each table.")] = 10,
) -> None:
    """Ingest PATH and print cases, events, time span, top variants, busiest edges, slowest waits."""
    import polars as pl

    from wfmine.api import ingest_path, summarise
    from wfmine.store import Store

    store_path = resolve_db(db, path if path.exists() else None)
    show = not as_json
    out = console()
    with Store(store_path) as store:
        if show:
            with out.status(f"Reading {path} …") as status:
                ingested = ingest_path(
                    store, path, progress=lambda d: status.update(f"Loading {d.kind}: {d.path}")
                )
        else:
            ingested = ingest_path(store, path)
        job: dict[str, Any] = {}
        if ingested.object_ids is None:  # a workspace: check, find and report too
            with out.status("Checking against the design …") if show else _null():
                job = _workspace_job(store, path)
        with out.status("Discovering …") if show else _null():
            log = store.log(case_notion=case_notion)
            if ingested.object_ids is not None:
                log = log.filter(pl.col("object_id").is_in(ingested.object_ids))
            in_scope = job.pop("_in_scope", None)
            scope: dict[str, Any] | None = None
            if in_scope is not None:
                # the design speaks about work items: conversations and items linked to
                # none stay in the store but not in the process figures
                total = log.get_column("case_id").n_unique()
                log = log.filter(pl.col("case_id").is_in(in_scope))
                scope = {
                    "cases_in_scope": log.get_column("case_id").n_unique(),
                    "cases_out_of_scope": total - log.get_column("case_id").n_unique(),
                    "rule": "cases with an event mapped to a design stage and of a work item",
                }
            result = summarise(log, top=top)
        if html is not None:
            from wfmine.discovery import process_map

            fig = process_map(log)
            html.parent.mkdir(parents=True, exist_ok=True)
            fig.write_html(str(html), include_plotlyjs=True, full_html=True)
        payload: dict[str, Any] = {
            **result,
            "inputs": ingested.describe(),
            "store": str(store_path),
            **job,
        }
        if scope is not None:
            payload["scope"] = scope
    if as_json:
        emit_json(payload)
        return
    _print_summary(out, payload, top)
    _print_workspace(out, payload)
    if html is not None:
        out.print(f"Process map written to [bold]{html}[/bold]")


def _workspace_job(store: Any, root: Path) -> dict[str, Any]:
    """The rest of a workspace's main job: conformance, findings, its reports."""
    from wfmine.api import Log
    from wfmine.findings import findings_json
    from wfmine.workspace import workspace_design

    design = workspace_design(root)
    if design is None:
        return {}
    log = Log(store)
    checked = log.check(design)
    found = log.findings(design)
    reports: list[str] = []
    definitions = sorted((root / "reports").glob("*.toml"))
    if definitions:
        from wfmine.reports import generate

        for definition in definitions:
            reports.append(str(generate(definition, store=store)))
    return {
        "design": str(design),
        "check": checked.summary,
        "findings": findings_json(found),
        "reports": reports,
        "_in_scope": checked.cases.get_column("case_id"),
        "stage_variants": _stage_variants(checked.cases),
    }


def _stage_variants(cases: Any) -> list[dict[str, Any]]:
    """Paths through the design's stages (consecutive visits), most frequent first."""
    import polars as pl

    if cases.height == 0 or "variant" not in cases.columns:
        return []
    rows: list[dict[str, Any]] = (
        cases.group_by("variant")
        .agg(pl.len().alias("cases"), pl.col("fitness").mean().alias("fitness"))
        .with_columns((pl.col("cases") / pl.col("cases").sum()).alias("coverage"))
        .sort(["cases", "variant"], descending=[True, False])
        .rename({"variant": "stages"})
        .to_dicts()
    )
    return rows


def _print_workspace(out: Any, payload: dict[str, Any]) -> None:
    from collections import Counter

    from rich.markup import escape
    from rich.table import Table

    if "design" not in payload:
        return
    check = payload.get("check") or {}
    scalars = {k: v for k, v in check.items() if not isinstance(v, dict | list)}
    if scalars:
        out.print(
            "\n[bold]Conformance[/bold] against "
            + escape(payload["design"])
            + ": "
            + ", ".join(f"{escape(str(k))} {escape(str(v))}" for k, v in scalars.items())
        )
    found = payload.get("findings", [])
    by_kind = Counter(f["kind"] for f in found)
    out.print(
        f"[bold]{len(found)}[/bold] findings: "
        + ", ".join(f"{n} {escape(k)}" for k, n in sorted(by_kind.items()))
    )
    rank = {"high": 0, "medium": 1, "low": 2}
    table = Table(title="Top findings", title_justify="left")
    for col in ("kind", "severity", "subject", "summary"):
        table.add_column(col)
    for f in sorted(
        found, key=lambda f: (rank.get(f["severity"], 3), f["kind"], str(f["subject"]))
    )[:12]:
        table.add_row(
            escape(f["kind"]),
            escape(f["severity"]),
            escape(str(f["subject"])),
            escape(f["summary"]),
        )
    if found:
        out.print(table)
    for report in payload.get("reports", []):
        out.print(f"Report written to [bold]{escape(report)}[/bold]")


class _null:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


def _print_summary(out: Any, payload: dict[str, Any], top: int) -> None:
    from rich.markup import escape
    from rich.table import Table

    inputs = payload["inputs"]
    for item in inputs["loaded"]:
        q = f", {item['quarantined']} quarantined" if item["quarantined"] else ""
        out.print(
            f"[green]✓[/green] {escape(item['kind'])}: {escape(item['path'])} "
            f"({item['events_added']} new events{q})"
        )
        for warning in item["warnings"]:
            out.print(f"  [yellow]![/yellow] {escape(warning)}")
    for item in inputs["skipped"]:
        out.print(f"[dim]- skipped {escape(item['path'])}: {escape(item['reason'])}[/dim]")
    log = payload["log"]
    if not log["events"]:
        out.print("[yellow]No events to discover.[/yellow]")
        return
    scope = payload.get("scope")
    if scope:
        out.print(
            f"\nIn scope of the design: {scope['cases_in_scope']:,} cases "
            f"({scope['cases_out_of_scope']:,} others — conversations and items linked to no "
            "work item — are left out of the figures below)"
        )
    out.print(
        f"\n[bold]{log['cases']:,}[/bold] cases, [bold]{log['events']:,}[/bold] events, "
        f"[bold]{log['activities']}[/bold] activities, {log['start']} → {log['end']}"
    )
    stage_paths = payload.get("stage_variants") or []
    if stage_paths:
        paths = Table(title="Top paths through the designed stages", title_justify="left")
        paths.add_column("#", justify="right")
        paths.add_column("cases", justify="right")
        paths.add_column("coverage", justify="right")
        paths.add_column("fitness", justify="right")
        paths.add_column("stages")
        for i, v in enumerate(stage_paths[:top], 1):
            paths.add_row(
                str(i), f"{v['cases']:,}", f"{v['coverage']:.1%}", f"{v['fitness']:.2f}",
                escape(" → ".join(v["stages"])),
            )  # fmt: skip
        out.print(paths)
    variants = Table(title="Top variants (activities)", title_justify="left")
    variants.add_column("#", justify="right")
    variants.add_column("cases", justify="right")
    variants.add_column("coverage", justify="right")
    variants.add_column("activities")
    for i, v in enumerate(payload["variants"][:top], 1):
        trail = " → ".join(v["activities"])
        if len(trail) > 110:
            trail = trail[:107] + "…"
        variants.add_row(str(i), f"{v['cases']:,}", f"{v['coverage']:.1%}", escape(trail))
    out.print(variants)
    edges = Table(title="Busiest directly-follows edges", title_justify="left")
    for col in ("from", "to"):
        edges.add_column(col)
    edges.add_column("count", justify="right")
    edges.add_column("median wait", justify="right")
    for e in payload["busiest_edges"][:top]:
        edges.add_row(
            escape(e["source"]),
            escape(e["target"]),
            f"{e['frequency']:,}",
            human_duration(e["wait_median_s"]),
        )
    out.print(edges)
    slow = Table(title="Slowest waits (median)", title_justify="left")
    for col in ("from", "to"):
        slow.add_column(col)
    slow.add_column("count", justify="right")
    slow.add_column("median", justify="right")
    slow.add_column("p90", justify="right")
    for e in payload["slowest_waits"][:top]:
        slow.add_row(
            escape(e["source"]),
            escape(e["target"]),
            f"{e['frequency']:,}",
            human_duration(e["wait_median_s"]),
            human_duration(e["wait_p90_s"]),
        )
    out.print(slow)
