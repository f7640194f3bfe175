"""``wfmine init``: create a workspace folder."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from wfmine.cli._common import console, guarded

_CONNECTOR = """# A connector: where one source's exports (or live API) are.
kind = "{kind}"            # jira | github | slack | email | xes | ocel | csv | parquet
path = "exports/{kind}"    # an export file or folder, relative to the workspace
# url = "https://example.atlassian.net"   # live API instead of path
# token_env = "JIRA_API_TOKEN"            # name of the environment variable holding the token

[options]

[teams]
# "channel or project" = "team"
"""

_REPORT = """name = "weekly"
design = "design.yaml"
window = "90d"
sections = ["all"]
retain = 26              # keep the newest 26 reports of the archive
schedule = "0 7 * * 1"
output = "reports/out"
"""


def register(app: typer.Typer) -> None:
    app.command("init")(init)


@guarded
def init(
    folder: Annotated[Path, typer.Argument(help="Workspace folder to create.")] = Path("."),
) -> None:
    """Create connectors/, reports/ and a .gitignore for a new workspace."""
    (folder / "connectors").mkdir(parents=True, exist_ok=True)
    (folder / "reports").mkdir(parents=True, exist_ok=True)
    for kind in ("jira", "github"):
        target = folder / "connectors" / f"{kind}.toml"
        if not target.exists():
            target.write_text(_CONNECTOR.format(kind=kind), encoding="utf-8")
    report = folder / "reports" / "weekly.toml"
    if not report.exists():
        report.write_text(_REPORT, encoding="utf-8")
    ignore = folder / ".gitignore"
    if not ignore.exists():
        ignore.write_text(".wfmine/\nreports/out/\n", encoding="utf-8")
    console().print(
        f"Workspace ready in [bold]{folder}[/bold]: edit connectors/*.toml, then run wfmine discover"
    )
