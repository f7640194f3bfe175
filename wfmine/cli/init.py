"""``wfmine init``: create a workspace whose ``wfmine discover`` works at once.

Given exports (``--from`` a folder, or exports already inside the folder),
``init`` recognises each by content, writes one ``connectors/<name>.toml`` per
export with its real path, ingests them, and drafts ``design.yaml`` from the
activities actually seen (:func:`wfmine.infer.infer_design`: stages from the
tracker's statuses, source-prefixed activity patterns, a comment on every
line) so the first ``wfmine discover`` checks the work against a design that
matches it. Without exports it writes a commented connector template and says
what to do next.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from wfmine.cli._common import (
    DbOption,
    console,
    guarded,
)

_TEMPLATE = """# A connector: where one source's exports (or its live API) are.
# Copy this file to <name>.toml, uncomment, and set the path or url.
# kind = "jira"            # jira | github | slack | email | xes | ocel | csv | parquet
# path = "exports/jira"    # an export file or folder, relative to the workspace
# url = "https://example.atlassian.net"   # a live API instead of a path
# token_env = "JIRA_API_TOKEN"            # the environment variable holding the token
#
# [teams]
# "component, repository or channel" = "team"
"""

_CONNECTOR = """# {what}, found by content by `wfmine init`.
kind = "{kind}"
path = "{path}"

# [teams]
# "component, repository or channel" = "team"
"""

_REPORT = """# The workspace's report: `wfmine report reports/weekly.toml`, or on a schedule.
name = "weekly"
title = "{title}"
design = "design.yaml"
window = "90d"
sections = ["all"]
schedule = "0 7 * * 1"   # Mondays 07:00
timezone = "UTC"
output = "reports/out"
retain = 26              # keep the newest 26 reports of the archive
"""

_SKIP = frozenset({"connectors", "reports", ".wfmine", ".git", ".venv"})


def register(app: typer.Typer) -> None:
    app.command("init")(init)


@guarded
def init(
    folder: Annotated[Path, typer.Argument(help="Workspace folder to create.")] = Path("."),
    source: Annotated[
        Path | None,
        typer.Option(
            "--from", help="Exports to read (a folder or file); default: the folder's own."
        ),
    ] = None,
    db: DbOption = None,
) -> None:
    """Create a workspace: connectors for the exports found, a drafted design, a report."""
    from wfmine.errors import InputError
    from wfmine.workspace import DEFAULT_DB, detect

    folder.mkdir(parents=True, exist_ok=True)
    root = folder.resolve()
    connectors = root / "connectors"
    if connectors.is_dir() and any(connectors.glob("*.toml")):
        raise InputError(f"{root} is a workspace already (connectors/*.toml exist)")
    exports = (source or root).resolve()
    if not exports.exists():
        raise InputError(f"{exports}: no such file or folder")
    found = []
    if exports.is_dir() and exports == root:
        for child in sorted(root.iterdir()):
            if child.name not in _SKIP and not child.name.startswith("."):
                found += detect(child)[0]
    else:
        found = detect(exports)[0]
    connectors.mkdir(exist_ok=True)
    (root / "reports").mkdir(exist_ok=True)
    ignore = root / ".gitignore"
    if not ignore.exists():
        ignore.write_text(".wfmine/\nreports/out/\n", encoding="utf-8")
    out = console()
    if not found:
        (connectors / "example.toml.txt").write_text(_TEMPLATE, encoding="utf-8")
        out.print(
            f"Workspace created in [bold]{root}[/bold], but no export was found in "
            f"{exports}. Put exports there and run [bold]wfmine init --from FOLDER[/bold] "
            "again in a new folder, or write connectors/<name>.toml "
            "(see connectors/example.toml.txt)."
        )
        return
    names: dict[str, int] = {}
    for item in found:
        n = names.get(item.kind, 0)
        names[item.kind] = n + 1
        name = item.kind if n == 0 else f"{item.kind}-{n + 1}"
        relative = os.path.relpath(item.path, root)
        (connectors / f"{name}.toml").write_text(
            _CONNECTOR.format(what=f"{item.kind} export {relative}", kind=item.kind, path=relative),
            encoding="utf-8",
        )
    title = f"{root.name} — weekly process report"
    (root / "reports" / "weekly.toml").write_text(_REPORT.format(title=title), encoding="utf-8")
    _draft_design(root, db or root / DEFAULT_DB)
    kinds = ", ".join(dict.fromkeys(i.kind for i in found))
    out.print(
        f"Workspace ready in [bold]{root}[/bold]: {len(found)} exports ({kinds}), "
        "a design drafted from what they hold in design.yaml (read it: every line says what "
        f"it rests on). Next: cd {root} && wfmine discover"
    )


def _draft_design(root: Path, store_path: Path) -> None:
    """Ingest the new workspace and write ``design.yaml`` from the activities it holds."""
    from wfmine.api import ingest_path
    from wfmine.infer import infer_design
    from wfmine.store import Store

    with Store(store_path) as store:
        ingest_path(store, root)
        drafted = infer_design(store.log(), store=store, name=f"{root.name} (drafted by wfmine)")
    (root / "design.yaml").write_text(drafted.text, encoding="utf-8")
