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
    months: Annotated[
        int | None,
        typer.Option(help="Months of activity (default: 6 for stage-teams, 9 for other shapes)."),
    ] = None,
    shape: Annotated[
        str,
        typer.Option(
            help="Organisation shape: stage-teams, project-teams, lean, platform, "
            "secure-delivery, product-lines, fix-and-feature, agentic, kanban, regulated, "
            "federated, matrix (regulated, federated and matrix are held out: not for "
            "developing detectors)."
        ),
    ] = "stage-teams",
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Generate a fictional AI-native organisation in real export formats, with ground truth."""
    from wfmine.errors import InputError
    from wfmine.simulate import SHAPES
    from wfmine.simulate import simulate as run

    if shape not in SHAPES:
        raise InputError(f"unknown shape {shape!r}; valid shapes: {', '.join(SHAPES)}")
    if items < 1 or (months is not None and months < 1):
        raise InputError("--items and --months must be at least 1")
    result = run(out, seed=seed, items=items, months=months, shape=shape)
    info = result.summary()
    if as_json:
        emit_json(info)
    else:
        console().print(f"Simulated organisation written to [bold]{out}[/bold]: {info}")
