"""The ``wfmine`` command line: one small module per command, imports inside commands.

Every command that reads or writes the store takes ``--db PATH`` (default: the
store of the workspace around the current folder), prints for people by
default and JSON with ``--json``, exits 0 on success (deviations and findings
are results, not errors) and 2 on bad input or usage, with a one-line message.
"""

from __future__ import annotations

import sys
from types import ModuleType

import typer

from wfmine.cli import agents as agents_cmd
from wfmine.cli import check, discover, findings, ingest, init, report, runs, schedule, simulate
from wfmine.cli import design as design_cmd
from wfmine.cli import drift as drift_cmd
from wfmine.cli import export as export_cmd

__all__ = ["COMMANDS", "app", "app_for", "main"]

#: each command's name and the module that registers it, in the order they are registered
COMMANDS: dict[str, ModuleType] = {
    "discover": discover,
    "ingest": ingest,
    "runs": runs,
    "check": check,
    "findings": findings,
    "report": report,
    "schedule": schedule,
    "simulate": simulate,
    "init": init,
    "design": design_cmd,
    "drift": drift_cmd,
    "export": export_cmd,
    "agents": agents_cmd,
}


def _typer() -> typer.Typer:
    return typer.Typer(
        name="wfmine",
        help="Process mining for workflow architects: how work really flows through people and AI agents.",
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_enable=False,
    )


def _group() -> None:
    """The group's own step: none (a callback keeps a one-command app a group of commands)."""


#: every command (what help lists and what tests drive)
app = _typer()
for module in COMMANDS.values():
    module.register(app)


def app_for(name: str) -> typer.Typer:
    """An app with only the command ``name``, under the same group as :data:`app`."""
    one = _typer()
    one.callback()(_group)
    COMMANDS[name].register(one)
    return one


def main() -> None:
    """Console-script entry point.

    Typer turns every command's signature into click parameters before it
    dispatches (about 2 ms a command): a run that names its command first
    (``wfmine discover …``) builds only that one (:func:`app_for`). Help, no
    argument, an option first or an unknown name go to :data:`app`, which lists
    every command.
    """
    name = sys.argv[1] if len(sys.argv) > 1 else ""
    (app_for(name) if name in COMMANDS else app)()
