"""``wfmine ingest``: load exports or pull from live APIs into the store."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer

from wfmine.cli._common import (
    YES_HELP,
    DbOption,
    JsonOption,
    confirm_large,
    console,
    emit_json,
    err_console,
    fail_on_pulls,
    guarded,
    is_workspace,
    resolve_db,
    writing_store,
)


def register(app: typer.Typer) -> None:
    app.command("ingest")(ingest)


@guarded
def ingest(
    kind: Annotated[
        str | None,
        typer.Argument(help="jira, github, slack, email, xes, ocel, csv, parquet; omit to detect."),
    ] = None,
    path: Annotated[Path | None, typer.Argument(help="Export file or folder.")] = None,
    db: DbOption = None,
    url: Annotated[
        str | None, typer.Option(help="Live API base URL (Jira site or GitHub API).")
    ] = None,
    jql: Annotated[str | None, typer.Option(help="Jira: JQL selecting the issues to pull.")] = None,
    repo: Annotated[str | None, typer.Option(help="GitHub: owner/name to pull.")] = None,
    token_env: Annotated[
        str | None,
        typer.Option(
            help="Environment variable holding the API token (JIRA_API_TOKEN / GITHUB_TOKEN)."
        ),
    ] = None,
    email_env: Annotated[
        str, typer.Option(help="Jira: environment variable holding the account email.")
    ] = "JIRA_EMAIL",
    as_json: JsonOption = False,
    classifier: Annotated[
        str | None,
        typer.Option(
            help="XES: the activity classifier, a name the log declares or attribute keys "
            '("concept:name lifecycle:transition"); default concept:name.'
        ),
    ] = None,
    yes: Annotated[bool, typer.Option("--yes", help=YES_HELP)] = False,
) -> None:
    """Load an export (or, with --url/--repo, pull a live API incrementally) into the store.

    Without arguments inside a workspace, every connector of ``connectors/*.toml`` is run.
    """
    from wfmine.errors import InputError

    store_path = resolve_db(db, path)
    failures: list[Any] = []
    with writing_store(store_path) as store:
        if url is not None or repo is not None:
            summary = _pull(
                store, kind, url=url, jql=jql, repo=repo, token_env=token_env, email_env=email_env
            )
            payload: dict[str, Any] = {"loaded": [summary], "skipped": []}
        else:
            target = path
            if target is None and kind is not None and Path(kind).exists():
                target, kind = Path(kind), None
            if target is None:
                from wfmine.workspace import find_workspace

                root = find_workspace()
                if root is None:
                    raise InputError("give an export PATH, or run inside a workspace")
                target = root
            options = {"classifier": classifier} if classifier else None
            # what will be read is said first (on stderr, so --json stays clean)
            say = None if as_json else err_console().print
            if kind is None and is_workspace(target):
                payload, failures = _workspace(store, target, options, confirm_large(yes, say), say)
            else:
                from wfmine.api import ingest_path

                payload = ingest_path(
                    store,
                    target,
                    kind=kind,
                    options=options,
                    confirm=confirm_large(yes, say),
                    progress=_loading(say),
                ).describe()
    if as_json:
        emit_json(payload)
    else:
        _print(payload)
    fail_on_pulls(failures)


def _print(payload: dict[str, Any]) -> None:
    out = console()
    for item in payload["loaded"]:
        if item.get("unchanged"):
            out.print(
                f"[green]✓[/green] {item['kind']}: {item['path']} — unchanged, not read again"
            )
            continue
        out.print(
            f"[green]✓[/green] {item['kind']}: {item.get('path', '')} — "
            f"{item['events_added']} new events, {item['quarantined']} quarantined"
        )
        for w in item.get("warnings", []):
            out.print(f"  [yellow]![/yellow] {w}")
    for item in payload["skipped"]:
        out.print(f"[dim]- skipped {item['path']}: {item['reason']}[/dim]")


def _loading(say: Callable[[str], None] | None) -> Callable[[Any], None] | None:
    """Say which input is being read, as it starts (stderr: ``--json`` stays clean)."""
    from rich.markup import escape

    if say is None:
        return None
    return lambda item: say(f"[dim]Loading {escape(item.kind)}: {escape(str(item.path))}[/dim]")


def _workspace(
    store: Any,
    root: Path,
    options: dict[str, Any] | None,
    confirm: Any,
    say: Callable[[str], None] | None,
) -> tuple[dict[str, Any], list[Any]]:
    """Every connector of workspace ``root``: live pulls first, then the export files.

    A live connector that cannot be pulled does not stop the rest: the failures
    are returned (the caller names them and exits 1 after the rest is loaded).
    """
    from rich.markup import escape

    from wfmine.api import ingest_path

    def pulling(cfg: Any) -> None:
        if say is not None:
            say(f"[dim]Pulling {escape(cfg.kind)}: {escape(str(cfg.url))}[/dim]")

    ingested = ingest_path(
        store, root, options=options, confirm=confirm, progress=_loading(say), pulling=pulling
    )
    return ingested.describe(), ingested.failed


def _pull(
    store: Any,
    kind: str | None,
    *,
    url: str | None,
    jql: str | None,
    repo: str | None,
    token_env: str | None,
    email_env: str,
) -> dict[str, Any]:
    from wfmine.errors import InputError

    if kind == "jira":
        from wfmine.connectors import jira

        if url is None or jql is None:
            raise InputError("a live Jira pull needs --url and --jql")
        scope = jql
        batch = jira.pull(
            url,
            jql,
            email_env=email_env,
            token_env=token_env or "JIRA_API_TOKEN",
            cursor=store.last_cursor("jira", scope),
        )
    elif kind == "github":
        from wfmine.connectors import github

        if repo is None or "/" not in repo:
            raise InputError("a live GitHub pull needs --repo owner/name")
        owner, name = repo.split("/", 1)
        scope = repo
        base = url or "https://api.github.com"
        etags = store.http_cache(base)  # conditional requests: unchanged pages cost no quota
        batch = github.pull(
            owner,
            name,
            since=store.last_cursor("github", scope),
            token_env=token_env or "GITHUB_TOKEN",
            base_url=base,
            etags=etags,
        )
    else:
        raise InputError("live pulls exist for jira and github only")
    summary = store.ingest(batch, origin=url or repo or "", scope=scope)
    if kind == "github":
        store.save_http_cache(etags)
    return {
        "kind": kind,
        "path": url or repo,
        "run_id": summary["run_id"],
        "events_read": batch.events.height,
        "events_added": summary["added"]["events"],
        "quarantined": summary["quarantined"],
        "warnings": summary["warnings"],
        "cursor": batch.cursor,
    }
