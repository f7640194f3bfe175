"""``wfmine drift``: when the practised workflow changed, and whether design changes took effect."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    del app
