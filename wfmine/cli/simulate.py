"""``wfmine simulate``: write a simulated organisation's exports, design, roster and ground truth."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from wfmine.cli._common import console, emit_json, guarded


def register(app: typer.Typer) -> None:
    app.command("simulate")(simulate)


@guarded
def simulate(
    out: Annotated[Path, typer.Argument(help="Folder to write the organisation into.")],
    seed: Annotated[int, typer.Option(help="Random seed (same seed, same bytes).")] = 7,
    items: Annotated[int, typer.Option(help="Work items to simulate.")] = 300,
    months: Annotated[int, typer.Option(help="Months of activity.")] = 6,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Generate a fictional AI-native organisation in real export formats, with ground truth."""
    from wfmine.simulate import simulate as run

    result = run(out, seed=seed, items=items, months=months)
    info = result.summary() if hasattr(result, "summary") else {"out": str(out)}
    if as_json:
        emit_json(info)
    else:
        console().print(f"Simulated organisation written to [bold]{out}[/bold]: {info}")
