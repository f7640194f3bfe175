"""``wfmine runs``: the ingest runs of the store, and taking one back."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from wfmine.cli._common import (
    DbOption,
    JsonOption,
    console,
    emit_json,
    guarded,
    resolve_db,
)


def register(app: typer.Typer) -> None:
    app.command("runs")(runs)


@guarded
def runs(
    remove: Annotated[
        int | None,
        typer.Option("--remove", help="Take back what this run added (one transaction)."),
    ] = None,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """List the ingest runs (what each read and added), or remove one with --remove RUN.

    Each input of a command (an export, a live pull) is one run and one transaction:
    a command that was killed or failed midway leaves the inputs it committed, listed
    here; rerunning it skips those and reads the rest.
    """
    from rich.markup import escape
    from rich.table import Table

    from wfmine.errors import InputError
    from wfmine.store import Store

    store_path = resolve_db(db)
    if not store_path.exists():
        raise InputError(f"{store_path}: no store here yet (wfmine ingest or wfmine discover)")
    with Store(store_path) as store:
        if remove is not None:
            removed = store.remove_run(remove)
            if as_json:
                emit_json({"run_id": remove, "removed": removed})
                return
            parts = ", ".join(f"{n:,} {table}" for table, n in removed.items() if n)
            console().print(
                f"Removed run {remove}: {parts or 'nothing of its own was left'}. "
                "Run wfmine discover to refresh identities and findings."
            )
            return
        table = store.runs()
    rows = []
    for r in table.iter_rows(named=True):
        counts = json.loads(r["counts"]) if r.get("counts") else {}
        added = counts.get("added", {}) if isinstance(counts, dict) else {}
        added = added if isinstance(added, dict) else {}
        warnings = json.loads(r["warnings"]) if r.get("warnings") else []
        # one run is one input, committed whole (or not at all): what it added is what it holds
        rows.append(
            {
                "run_id": r["run_id"], "source": r["source"], "origin": r["origin"],
                "scope": r.get("scope") or None,
                "started_at": r["started_at"], "finished_at": r.get("finished_at"),
                "status": r["status"],
                "events_added": added.get("events", 0),
                "added": {k: int(v) for k, v in sorted(added.items()) if isinstance(v, int)},
                "warnings": warnings if isinstance(warnings, list) else [],
            }
        )  # fmt: skip
    if as_json:
        emit_json(rows)
        return
    out = console()
    if not rows:
        out.print("No ingest runs yet.")
        return
    view = Table(
        title=f"Ingest runs of {escape(str(store_path))}: what each added",
        title_justify="left",
    )
    for col, justify in (("run", "right"), ("source", "left"), ("from", "left"),
                         ("when", "left"), ("status", "left"), ("events", "right"),
                         ("records", "right"), ("quarantined", "right")):  # fmt: skip
        view.add_column(col, justify=justify)  # type: ignore[arg-type]
    for r in rows:
        origin = f"{r['origin']} ({r['scope']})" if r["scope"] else str(r["origin"])
        view.add_row(
            str(r["run_id"]), escape(str(r["source"])), escape(origin),
            str(r["started_at"])[:16], escape(str(r["status"])), f"{r['events_added']:,}",
            f"{r['added'].get('raw_records', 0):,}", f"{r['added'].get('quarantine', 0):,}",
        )  # fmt: skip
    out.print(view)
    out.print("[dim]Take one back with: wfmine runs --remove RUN[/dim]")
