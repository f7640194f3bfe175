"""The ``wfmine`` command line: one small module per command, imports inside commands.

Every command that reads or writes the store takes ``--db PATH`` (default: the
store of the workspace around the current folder), prints for people by
default and JSON with ``--json``, exits 0 on success (deviations and findings
are results, not errors) and 2 on bad input or usage, with a one-line message.
"""

from __future__ import annotations

import typer

from wfmine.cli import agents as agents_cmd
from wfmine.cli import check, discover, findings, ingest, init, report, runs, schedule, simulate
from wfmine.cli import design as design_cmd
from wfmine.cli import drift as drift_cmd
from wfmine.cli import export as export_cmd

__all__ = ["app", "main"]

app = typer.Typer(
    name="wfmine",
    help="Process mining for workflow architects: how work really flows through people and AI agents.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
for module in (discover, ingest, runs, check, findings, report, schedule, simulate, init):
    module.register(app)
for module in (design_cmd, drift_cmd, export_cmd, agents_cmd):
    module.register(app)


def main() -> None:
    """Console-script entry point."""
    app()
