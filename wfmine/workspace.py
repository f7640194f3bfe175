"""Workspaces: where a store lives, which inputs a folder holds, and ingesting them.

A workspace is a folder with ``connectors/*.toml`` (and usually ``reports/``,
``roster.yaml``, ``design.yaml``); its store is ``.wfmine/store.duckdb``
inside it. Any other folder or file can be ingested too: each input is
recognised by its content (``sniff``), not its name.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from wfmine.connectors import github, jira
from wfmine.connectors._base import Reader, shared_listings
from wfmine.connectors.config import ConnectorConfig, load_configs
from wfmine.connectors.registry import READERS, reader
from wfmine.errors import ConfigError, ConnectorError, FormatError, InputError
from wfmine.model import Batch
from wfmine.store import Store

__all__ = [
    "DEFAULT_DB",
    "ConnectorConfig",
    "Detected",
    "PullFailure",
    "Reader",
    "config_inputs",
    "connector_configs",
    "default_db",
    "detect",
    "detect_held",
    "detection_key",
    "find_workspace",
    "ingest_inputs",
    "pull_connectors",
    "pull_live",
    "reader",
    "remember_detection",
    "workspace_design",
]

#: The store of a workspace, relative to its root.
DEFAULT_DB: Final = Path(".wfmine") / "store.duckdb"

_SKIP_NAMES: Final = frozenset(
    {".git", ".wfmine", "__pycache__", ".venv", "node_modules", ".DS_Store"}
)


@dataclass(frozen=True)
class Detected:
    """An input found in a folder: its kind and path, plus connector options."""

    kind: str
    path: Path
    options: Mapping[str, Any] = field(default_factory=dict)
    name: str = ""

    @property
    def standard(self) -> bool:
        """True for standard event logs (XES, OCEL, CSV, Parquet): each is its own dataset."""
        return reader(self.kind).standard


def find_workspace(start: Path | None = None) -> Path | None:
    """The workspace folder containing ``start`` (or the current folder), if any."""
    here = (start or Path.cwd()).resolve()
    if here.is_file():
        here = here.parent
    for folder in (here, *here.parents):
        if (folder / "connectors").is_dir() and any((folder / "connectors").glob("*.toml")):
            return folder
        if (folder / DEFAULT_DB).exists():
            return folder
    return None


def default_db(start: Path | None = None) -> Path:
    """The store path: the enclosing workspace's, else ``./.wfmine/store.duckdb``."""
    root = find_workspace(start)
    return (root or Path.cwd()) / DEFAULT_DB


def connector_configs(root: Path) -> list[ConnectorConfig]:
    """Read ``connectors/*.toml`` of workspace ``root``, sorted by file name."""
    return load_configs(root)


def config_inputs(configs: list[ConnectorConfig]) -> list[Detected]:
    """The export-file connectors of a workspace as inputs to :func:`ingest_inputs`."""
    inputs: list[Detected] = []
    for cfg in configs:
        if cfg.path is None:
            continue
        options = cfg.reader_options()
        if cfg.kind == "slack" and cfg.teams:
            options.setdefault("channel_teams", dict(cfg.teams))
        inputs.append(Detected(cfg.kind, cfg.path, options, name=cfg.name))
    return inputs


def pull_live(store: Store, cfg: ConnectorConfig) -> dict[str, Any]:
    """Pull a live-API connector incrementally (from the stored cursor) into ``store``."""
    if cfg.url is None:
        raise ConfigError(f"{cfg.file}: has no 'url' to pull from")
    if cfg.kind == "jira":
        jql = cfg.options.get("jql")
        if not isinstance(jql, str):
            raise ConfigError(f"{cfg.file}: [options] jql is needed for a live Jira pull")
        batch = jira.pull(
            cfg.url,
            jql,
            email_env=cfg.credentials.get("email_env", "JIRA_EMAIL"),
            token_env=cfg.credentials.get("token_env", "JIRA_API_TOKEN"),
            cursor=store.last_cursor("jira", jql),
            options=cfg.reader_options(),
        )
        return store.ingest(batch, origin=cfg.url, scope=jql)
    if cfg.kind == "github":
        repo = cfg.options.get("repo")
        if not isinstance(repo, str) or "/" not in repo:
            raise ConfigError(f'{cfg.file}: [options] repo = "owner/name" is needed')
        owner, name = repo.split("/", 1)
        etags = store.http_cache(cfg.url)
        batch = github.pull(
            owner,
            name,
            token_env=cfg.credentials.get("token_env", "GITHUB_TOKEN"),
            base_url=cfg.url,
            since=store.last_cursor("github", repo),
            etags=etags,
        )
        summary = store.ingest(batch, origin=cfg.url, scope=repo)
        store.save_http_cache(etags)
        return summary
    raise ConfigError(f"{cfg.file}: live pulls exist for jira and github only")


@dataclass(frozen=True)
class PullFailure:
    """A live connector of a workspace run that could not be pulled (the rest still load)."""

    name: str
    kind: str
    url: str
    file: str
    error: str
    #: the HTTP status of the answer that failed (``None``: unreachable, timed out)
    status: int | None = None

    def line(self) -> str:
        """The one line a person reads: which connector, where, and why."""
        return (
            f"live connector {self.name} ({self.kind}, {self.url}) was not pulled: {self.error}; "
            "the other inputs were loaded, and this run counts as failed"
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "connector": self.name, "kind": self.kind, "url": self.url, "file": self.file,
            "error": self.error, "status": self.status,
        }  # fmt: skip


def pull_connectors(
    store: Store,
    configs: list[ConnectorConfig],
    *,
    progress: Callable[[ConnectorConfig], None] | None = None,
) -> tuple[list[dict[str, Any]], list[PullFailure]]:
    """Pull every live-API connector of ``configs`` (one transaction each).

    A connector whose source cannot be read (unreachable, refused, gone) does
    not stop the others, nor the export files of the same run: it is returned
    as a :class:`PullFailure`, and the caller says so and fails the run
    (``wfmine ingest`` exits 1 after loading the rest). Returns the summaries
    of the pulls that committed (the keys :func:`wfmine.api.ingest_path`
    reports per input) and the failures, in configuration order.
    """
    loaded: list[dict[str, Any]] = []
    failures: list[PullFailure] = []
    for cfg in configs:
        if cfg.url is None or cfg.path is not None:
            continue
        if progress is not None:
            progress(cfg)
        try:
            summary = pull_live(store, cfg)
        except ConnectorError as exc:
            failures.append(
                PullFailure(cfg.name, cfg.kind, cfg.url, cfg.file, str(exc), exc.status)
            )
            continue
        loaded.append(
            {
                "kind": cfg.kind, "path": cfg.url, "run_id": summary["run_id"],
                "events_read": summary["read"]["events"],
                "events_added": summary["added"]["events"],
                "quarantined": summary["quarantined"], "warnings": summary["warnings"],
            }
        )  # fmt: skip
    return loaded, failures


def detect(path: Path) -> tuple[list[Detected], list[tuple[Path, str]]]:
    """Recognise the inputs under ``path`` by content.

    Returns what was found and what was skipped (with why). A folder a reader
    claims as a whole (a Slack export, a Maildir, a GitHub export laid out by
    API path) is not searched further.
    """
    if not path.exists():
        raise InputError(f"{path}: no such file or folder")
    found: list[Detected] = []
    skipped: list[tuple[Path, str]] = []

    def claims(p: Path) -> list[str]:
        kinds: list[str] = []
        for kind, r in READERS.items():
            try:
                if r.sniff(p):
                    kinds.append(kind)
            except Exception:  # a sniff must never stop detection
                continue
        return kinds

    def claim(p: Path) -> str | None:
        kinds = claims(p)
        if not kinds:
            return None
        if not p.is_dir():
            return kinds[0]
        if len(kinds) > 1:
            return None  # a folder mixing sources: look inside
        # a folder one reader recognises is taken whole (a Slack export, a GitHub
        # export laid out by API path) unless another reader recognises part of it
        for child in p.iterdir():
            if child.name in _SKIP_NAMES or child.name.startswith("."):
                continue
            if any(k != kinds[0] for k in claims(child)):
                return None
        return kinds[0]

    def walk(p: Path) -> None:
        kind = claim(p)
        if kind is not None:
            found.append(Detected(kind, p, name=p.name))
        elif p.is_dir():
            for child in sorted(p.iterdir()):
                if child.name not in _SKIP_NAMES and not child.name.startswith("."):
                    walk(child)
        else:
            skipped.append((p, _why_skipped(p)))

    with shared_listings():  # each reader's sniff of each folder level lists no tree again
        walk(path)
    return found, skipped


#: the key ``schema_meta`` keeps a folder's detection under (:func:`detect_held`), by path
_DETECTED: Final = "detected:"


def detection_key(path: Path) -> str:
    """A key that changes whenever :func:`detect` of the folder ``path`` could find otherwise:
    the wfmine release, the folder, and every file under it that detection can see (hidden
    entries left out, links to folders not followed) with its size and modification time --
    a ``stat`` each, nothing read. A store kept inside the folder (``.wfmine/``) is hidden:
    writing it does not change the key."""
    import hashlib
    import json

    from wfmine._version import __version__
    from wfmine.connectors._base import list_files

    root = path.resolve()
    digest = hashlib.sha256(json.dumps([__version__, "detect", str(root)]).encode())
    for text in list_files(os.fspath(root)):
        try:
            st = os.stat(text)
        except OSError:
            continue
        digest.update(f"\0{text}\0{st.st_size}\0{st.st_mtime_ns}".encode())
    return digest.hexdigest()


def detect_held(
    store: Store, path: Path, key: str
) -> tuple[list[Detected], list[tuple[Path, str]]] | None:
    """What :func:`detect` found in the folder ``path`` when ``store`` last ingested it, if
    nothing it can see has changed since (``key``: :func:`detection_key`); else ``None``.

    A rerun of ``wfmine discover FOLDER`` then reads no file to recognise it again (the
    sniffs read the head of every file: 0.3-0.5 s for 4,000 exported files)."""
    import json

    held = store.meta(_DETECTED + str(path.resolve()))
    if held is None:
        return None
    try:
        kept = json.loads(held)
        if kept.get("key") != key:
            return None
        found = [Detected(kind, path / rel, name=name) for kind, rel, name in kept["found"]]
        skipped = [(path / rel, str(why)) for rel, why in kept["skipped"]]
    except (ValueError, TypeError, KeyError):  # written by another release: detect again
        return None
    return found, skipped


def remember_detection(
    store: Store,
    path: Path,
    key: str,
    found: list[Detected],
    skipped: list[tuple[Path, str]],
) -> None:
    """Keep :func:`detect`'s answer for the folder ``path`` under ``key`` for
    :func:`detect_held` (called once the inputs are ingested: a failed run keeps nothing)."""
    import json

    def rel(p: Path) -> str:
        return p.relative_to(path).as_posix() if p != path else "."

    kept = {
        "key": key,
        "found": [[d.kind, rel(d.path), d.name] for d in found],
        "skipped": [[rel(p), why] for p, why in skipped],
    }
    store.set_meta(_DETECTED + str(path.resolve()), json.dumps(kept, sort_keys=True))


def _why_skipped(path: Path) -> str:
    if path.suffix in (".yaml", ".yml"):
        try:
            head = path.read_text(encoding="utf-8", errors="replace")[:4000]
        except OSError:
            head = ""
        if "people:" in head:
            return "a roster (used to resolve identities)"
        if "stages:" in head:
            return "a design file (use it with --design)"
    return "not a recognised export"


def ingest_inputs(
    store: Store,
    inputs: list[Detected],
    *,
    progress: Callable[[Detected], None] | None = None,
    input_keys: Mapping[Path, str] | None = None,
    defer: bool = False,
) -> list[tuple[Detected, dict[str, Any], Batch]]:
    """Load and ingest each input (one transaction each); returns (input, summary, batch).

    ``defer``: a single input into an empty store may still be being written when this
    returns (:meth:`Store.ingest` ``defer=True``; :meth:`Store.wait` collects it). With
    several, the writes already overlap the reads, and only the first run would find the
    store empty, so each is written at once.

    ``input_keys`` (:meth:`Store.input_key` by input path) are recorded with
    each run, so a later run can tell an unchanged input and skip it.

    Two cores work: input N is written (:meth:`Store.ingest`, on another thread:
    DuckDB and polars release the GIL) while input N+1 is read on this one
    (JSON parsing and record building hold it). Runs are written one at a time,
    in input order, so the store ends the same as when each input is read and
    written in turn, run ids included; and so does a failure: an input that
    cannot be read raises once every input before it is committed, a write that
    fails raises before anything after it is written. ``progress`` sees each
    input as it is read, once every input before it is committed (so the first
    on this thread before it is read; the others on the writing thread, right
    after the commit of the one before, while they are being read).
    """
    keys = input_keys or {}
    results: list[tuple[Detected, dict[str, Any], Batch]] = []

    def write(item: Detected, batch: Batch, following: Detected | None) -> dict[str, Any]:
        summary = store.ingest(
            batch,
            origin=str(item.path),
            input_key=keys.get(item.path),
            defer=defer and len(inputs) == 1,
        )
        if following is not None and progress is not None:
            progress(following)  # everything before it is committed
        return summary

    with ThreadPoolExecutor(1, thread_name_prefix="wfmine-ingest-write") as writer:
        writing: tuple[Detected, Batch, Future[dict[str, Any]]] | None = None
        for i, item in enumerate(inputs):
            if i == 0 and progress is not None:
                progress(item)
            try:
                batch = _load(item)
            finally:  # the input before this one commits (or raises) first, as read in turn
                if writing is not None:
                    results.append((writing[0], writing[2].result(), writing[1]))
                    writing = None
            following = inputs[i + 1] if i + 1 < len(inputs) else None
            writing = (item, batch, writer.submit(write, item, batch, following))
        if writing is not None:
            results.append((writing[0], writing[2].result(), writing[1]))
    return results


def _load(item: Detected) -> Batch:
    """Read one input; a file that cannot be opened is a :class:`FormatError` naming it."""
    try:
        return reader(item.kind).load(item.path, item.options)
    except OSError as exc:
        raise FormatError(item.path, exc.strerror or str(exc)) from None


def workspace_design(root: Path) -> Path | None:
    """The workspace's design file: ``design.yaml`` at the root, else the one a report names."""
    if (root / "design.yaml").is_file():
        return root / "design.yaml"
    for definition in sorted((root / "reports").glob("*.toml")):
        try:
            data = tomllib.loads(definition.read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"{definition}: {exc}") from None
        design = data.get("design")
        if isinstance(design, str) and (root / design).is_file():
            return root / design
    return None


def env_secret(name: str) -> str:
    """The value of environment variable ``name``; the error names the variable, never a value."""
    value = os.environ.get(name)
    if not value:
        raise ConfigError(f"environment variable {name} is not set")
    return value
