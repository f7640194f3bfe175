"""``wfmine export OUT``: write the store as XES, OCEL 2.0 JSON or Parquet (lossless round trips).

``--format xes`` writes the flat log under ``--case-notion`` with every event
and trace attribute (:func:`wfmine.formats.export.store_to_xes`);
``--format ocel`` the object-centric store as OCEL 2.0 JSON
(:func:`wfmine.formats.export.to_ocel_json`); ``--format parquet`` one
Parquet file per store table into the folder OUT
(:func:`wfmine.formats.export.to_parquet`). ``--parquet DIR`` writes the
partitioned lake (by source and month) that ``--engine spark`` reads
(:func:`wfmine.lake.export_parquet`).
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from wfmine.cli._common import (
    CaseNotionOption,
    DbOption,
    JsonOption,
    console,
    emit_json,
    guarded,
    resolve_db,
    validate_case_notion,
)


class Format(StrEnum):
    """What ``--format`` accepts (anything else is refused with this list)."""

    xes = "xes"
    ocel = "ocel"
    parquet = "parquet"


def register(app: typer.Typer) -> None:
    app.command("export")(export)


@guarded
def export(
    out: Annotated[
        Path | None,
        typer.Argument(help="The file to write (XES: .xes or .xes.gz; OCEL: .json), or a folder."),
    ] = None,
    fmt: Annotated[
        Format | None,
        typer.Option("--format", help="xes, ocel or parquet; default: from OUT's name."),
    ] = None,
    parquet: Annotated[
        Path | None,
        typer.Option(
            "--parquet", help="Write the Parquet lake (partitioned by source and month) here."
        ),
    ] = None,
    case_notion: CaseNotionOption = "work_item",
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Export the store: XES or OCEL 2.0 JSON that pm4py reads back as ingested, or Parquet."""
    from wfmine.errors import InputError
    from wfmine.formats import export as writers
    from wfmine.store import Store

    if out is None and parquet is None:
        raise InputError("give OUT (with --format xes|ocel|parquet) or --parquet DIR")
    kind = fmt if fmt is not None or out is None else _format_of(out)
    store_path = resolve_db(db)
    if not store_path.exists():
        raise InputError(f"{store_path}: no store here (give --db PATH)")
    written: dict[str, Any] = {}
    with Store(store_path, read_only=True) as store:
        validate_case_notion(store, case_notion)
        if out is not None and kind is Format.xes:
            written["xes"] = {
                "path": str(out),
                "events": writers.store_to_xes(store, out, case_notion=case_notion),
            }
        elif out is not None and kind is Format.ocel:
            written["ocel"] = {"path": str(out), **writers.to_ocel_json(store, out)}
        elif out is not None and kind is Format.parquet:
            files = writers.to_parquet(store, out)
            written["parquet"] = {"path": str(out), "tables": {k: str(v) for k, v in files.items()}}
        if parquet is not None:
            from wfmine.lake import export_parquet

            manifest = export_parquet(store, parquet, case_notion=case_notion)
            written["lake"] = {"path": str(parquet), "manifest": manifest}
    if as_json:
        emit_json(written)
        return
    con = console()
    for what, item in written.items():
        counts = ", ".join(
            f"{v} {k}" for k, v in item.items() if isinstance(v, int) and not isinstance(v, bool)
        )
        con.print(f"[green]✓[/green] {what}: {item['path']}" + (f" — {counts}" if counts else ""))


def _format_of(out: Path) -> Format:
    """The format a file name asks for: ``.xes``/``.xes.gz`` XES, ``.json``/``.jsonocel`` OCEL."""
    from wfmine.errors import InputError

    name = out.name.lower()
    if name.endswith((".xes", ".xes.gz")):
        return Format.xes
    if name.endswith((".json", ".jsonocel")):
        return Format.ocel
    if out.is_dir() or not out.suffix:
        return Format.parquet
    raise InputError(f"{out}: cannot tell the format from the name; give --format xes|ocel|parquet")
