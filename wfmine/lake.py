"""The store as a lake: Parquet files partitioned by source and month, exported incrementally.

``export_parquet(store, folder)`` writes what engines beyond one machine need
to run wfmine's kernels (Apache Spark, DuckDB, polars all read it)::

    folder/
      manifest.json
      events/source=jira/month=2025-03/part-0.parquet     # the flat log, one file per partition
      objects/source=jira/part-0.parquet
      object_links/part-0.parquet
      actors/part-0.parquet
      kinds/month=2025-03/part-0.parquet                  # per case: its kind of work item

``events`` is the store's flat log (:data:`wfmine.model.LOG_SCHEMA`: the case
id under the chosen case notion, resolved actor, team, source, object) —
identity resolution and case folding run *before* the export, on the
store, because they do not partition (one person's accounts, one work item's
links span sources and months). ``kinds`` is, per case of that log, the kind of
work item its tracker recorded (``case_id`` and the issue ``type`` and
``priority``, :func:`wfmine.model.work_item_kinds` of the store's attrs: the
flat log carries no attrs), partitioned by the month of the case's first
event; the stall limits per kind of work item read it
(:mod:`wfmine.findings.stalls`). A lake written before it had the table
(format 1) reads as "no kinds", with a :class:`LakeWarning` saying so. ``source`` and ``month`` (``YYYY-MM`` of the
event's UTC timestamp) live in the Hive-style directory names, not in the
files, as Spark, DuckDB (``hive_partitioning=true``) and polars
(``hive_partitioning=True``) expect.

**Incremental.** The manifest records, per partition, its row count and a
content hash of its rows. A second export rebuilds the flat log from the
store (a new link can fold old events into another case; a roster can change
an old event's team), hashes each partition and rewrites only those whose
hash changed, writes new ones and removes partitions that no longer exist.
The manifest's ``last_export`` lists what that run wrote. A different case
notion, a different polars version (the row hash is polars') or a different
manifest format rewrites everything. Each file is written under a temporary
name and renamed, and the manifest is replaced last, so a reader never sees a
half-written partition listed.

>>> import tempfile, wfmine
>>> store = wfmine.open(":memory:")
>>> manifest = export_parquet(store, Path(tempfile.mkdtemp()))
>>> manifest["tables"]["events"]["rows"]
0
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import shutil
import warnings
from pathlib import Path
from typing import Any, Final

import polars as pl

from wfmine._version import __version__
from wfmine.errors import InputError
from wfmine.model import KIND_SCHEMA, LOG_SCHEMA, work_item_kinds
from wfmine.store import Store

__all__ = [
    "LAKE_FORMAT",
    "MANIFEST",
    "LakeWarning",
    "check_lake",
    "export_parquet",
    "kinds_files",
    "read_kinds",
    "read_log",
    "read_manifest",
]

#: the manifest's file name inside the lake folder
MANIFEST: Final = "manifest.json"
#: bumped when the layout changes; a lake of another format is rewritten whole (2: the
#: ``kinds`` table)
LAKE_FORMAT: Final = 2
_NULL_PARTITION: Final = "__HIVE_DEFAULT_PARTITION__"
_PART: Final = "part-0.parquet"
_SEED: Final = 17
_LOG_ORDER: Final = ["case_id", "timestamp", "seq", "event_id"]


def read_manifest(folder: Path) -> dict[str, Any] | None:
    """The lake's manifest, or ``None`` when ``folder`` holds none."""
    path = Path(folder) / MANIFEST
    if not path.is_file():
        return None
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def check_lake(folder: str | Path) -> dict[str, Any]:
    """The lake's manifest, or an :class:`InputError` when ``folder`` is no lake."""
    root = Path(folder)
    manifest = read_manifest(root)
    if manifest is None:
        what = "does not exist" if not root.exists() else f"has no {MANIFEST}"
        raise InputError(f"{root}: {what}; write a lake with `wfmine export --parquet {root}`")
    return manifest


def read_log(folder: str | Path) -> pl.DataFrame:
    """The lake's flat log read into memory (:data:`wfmine.model.LOG_SCHEMA`), in log order
    (case, time, sequence, event id): the embedded engine's view of what Spark reads."""
    root = Path(folder)
    manifest = check_lake(root)
    if not manifest["tables"]["events"]["partitions"]:
        return pl.DataFrame(schema=LOG_SCHEMA)
    events = pl.scan_parquet(root / "events" / "**" / "*.parquet", hive_partitioning=True)
    return (
        events.select(LOG_SCHEMA.names())
        .cast(dict(LOG_SCHEMA))  # type: ignore[arg-type]
        .sort("case_id", "timestamp", "seq", "event_id", nulls_last=True)
        .collect()
    )


class LakeWarning(UserWarning):
    """A lake that reads, but without something a current export writes (say which, and how
    to add it)."""


def kinds_files(folder: str | Path) -> list[Path] | None:
    """The files of the lake's ``kinds`` table (``[]``: no case has a kind), or ``None``, with
    a :class:`LakeWarning`, when the lake was written before it had the table."""
    root = Path(folder)
    manifest = check_lake(root)
    table = manifest.get("tables", {}).get("kinds")
    if table is None:
        warnings.warn(
            f"{root}: the lake has no kinds table (written before lake format 2): stall limits "
            "are per stage and project only, not per kind of work item; re-export it with "
            f"`wfmine export --parquet {root}` to add them",
            LakeWarning,
            stacklevel=3,
        )
        return None
    return [root / part["path"] / _PART for part in table["partitions"]]


def read_kinds(folder: str | Path) -> pl.DataFrame | None:
    """The lake's ``kinds`` table (:data:`wfmine.model.KIND_SCHEMA`, by case id), or ``None``
    when no case has a kind -- or when the lake predates the table (:func:`kinds_files`)."""
    files = kinds_files(folder)
    if not files:
        return None
    kinds = (
        pl.scan_parquet(files)
        .select(KIND_SCHEMA.names())
        .cast(dict(KIND_SCHEMA))  # type: ignore[arg-type]
        .sort("case_id")
        .collect()
    )
    return kinds if kinds.height else None


def _kinds(store: Store, events: pl.DataFrame) -> pl.DataFrame:
    """Per case of ``events`` (the flat log with ``month``), its kind of work item and the
    month of its first event (the table's partition); empty when no case has a kind."""
    created = store.sql(
        "SELECT event_id, CAST(attrs AS VARCHAR) AS attrs FROM events"
        " WHERE activity = 'Issue created'"
    )
    kinds = work_item_kinds(events, created)
    if kinds is None:
        return pl.DataFrame(schema={**dict(KIND_SCHEMA), "month": pl.String()})
    began = events.group_by("case_id").agg(pl.col("month").min())
    return kinds.join(began, on="case_id", how="left")


def export_parquet(store: Store, folder: Path, *, case_notion: str = "work_item") -> dict[str, Any]:
    """Write the store's tables under ``folder`` as a partitioned Parquet lake; return the manifest.

    See the module docstring for the layout. Only partitions whose content
    changed since the previous export (per the manifest) are written.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    previous = read_manifest(folder)
    fresh = (
        previous is None
        or previous.get("format") != LAKE_FORMAT
        or previous.get("case_notion") != case_notion
        or previous.get("polars_version") != pl.__version__
    )
    if fresh:
        for table in _TABLES:
            shutil.rmtree(folder / table, ignore_errors=True)
        previous = None
    old_tables: dict[str, Any] = previous["tables"] if previous else {}

    log = store.log(case_notion=case_notion)
    events = log.with_columns(
        pl.col("timestamp").dt.convert_time_zone("UTC").dt.strftime("%Y-%m").alias("month")
    )
    runs = _ingest_runs(store)
    objects = store.sql("SELECT object_id, object_type, source, key, title, attrs FROM objects")
    links = store.sql("SELECT from_object, to_object, relation, evidence FROM object_links")
    actors = store.sql(
        "SELECT actor_id, display_name, kind, declared_kind, detected_kind, kind_score, team,"
        " aliases FROM actors"
    )
    kinds = _kinds(store, events)
    written: list[str] = []
    unchanged: list[str] = []
    removed: list[str] = []
    tables: dict[str, Any] = {}
    for name, frame, keys in (
        ("events", events, ["source", "month"]),
        ("objects", objects, ["source"]),
        ("object_links", links, []),
        ("actors", actors, []),
        ("kinds", kinds, ["month"]),
    ):
        old = {p["path"]: p for p in old_tables.get(name, {}).get("partitions", [])}
        parts = _write_table(folder, name, frame, keys, old, written, unchanged, removed)
        if name == "events":
            for part in parts:
                part["max_ingest_run"] = runs.get((part["source"], part["month"]))
        data_schema = frame.drop(keys).schema
        tables[name] = {
            "path": name,
            "partition_by": keys,
            "rows": frame.height,
            "schema": {col: str(dtype) for col, dtype in data_schema.items()},
            "partitions": parts,
        }
    manifest: dict[str, Any] = {
        "format": LAKE_FORMAT,
        "wfmine_version": __version__,
        "polars_version": pl.__version__,
        "case_notion": case_notion,
        "store": store.path,
        "exported_at": dt.datetime.now(dt.UTC).isoformat(),
        "log_schema": {col: str(dtype) for col, dtype in LOG_SCHEMA.items()},
        "tables": tables,
        "last_export": {"written": written, "unchanged": unchanged, "removed": removed},
    }
    tmp = folder / (MANIFEST + ".tmp")
    tmp.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    os.replace(tmp, folder / MANIFEST)
    return manifest


_TABLES: Final = ("events", "objects", "object_links", "actors", "kinds")


def _ingest_runs(store: Store) -> dict[tuple[str, str], int]:
    """The newest ingest run that wrote events of each (source, month)."""
    rows = store.sql(
        """SELECT source, strftime("timestamp" AT TIME ZONE 'UTC', '%Y-%m') AS month,
                  max(ingest_run) AS run
           FROM events GROUP BY ALL"""
    )
    return {
        (src, month): int(run)
        for src, month, run in rows.iter_rows()
        if src is not None and month is not None and run is not None
    }


def _content_hash(frame: pl.DataFrame) -> str:
    """SHA-256 over the row hashes of ``frame`` (sorted deterministically by the caller)."""
    digest = hashlib.sha256(str(frame.height).encode())
    if frame.height:
        digest.update(frame.hash_rows(seed=_SEED).to_numpy().tobytes())
    return digest.hexdigest()


def _write_table(
    folder: Path,
    name: str,
    frame: pl.DataFrame,
    keys: list[str],
    old: dict[str, dict[str, Any]],
    written: list[str],
    unchanged: list[str],
    removed: list[str],
) -> list[dict[str, Any]]:
    """Write ``frame``'s partitions that changed; return the partitions' manifest entries."""
    groups: list[tuple[dict[str, str | None], pl.DataFrame]]
    if keys:
        groups = [
            (dict(zip(keys, (str(v) if v is not None else None for v in values), strict=True)), g)
            for values, g in frame.group_by(keys, maintain_order=False)
        ]
        groups.sort(key=lambda kv: tuple(v or "" for v in kv[0].values()))
    else:
        groups = [({}, frame)]
    parts: list[dict[str, Any]] = []
    seen: set[str] = set()
    for values, group in groups:
        rel = "/".join(
            [name, *(f"{k}={v if v is not None else _NULL_PARTITION}" for k, v in values.items())]
        )
        data = group.drop(keys)
        if set(_LOG_ORDER) <= set(data.columns):
            data = data.sort(_LOG_ORDER, nulls_last=True)
        elif data.height:
            data = data.sort(data.columns, nulls_last=True)
        digest = _content_hash(data)
        target = folder / rel / _PART
        entry: dict[str, Any] = {**values, "path": rel, "rows": data.height, "hash": digest}
        if "timestamp" in data.columns and data.height:
            lo, hi = data.select(
                pl.col("timestamp").min().alias("lo"), pl.col("timestamp").max().alias("hi")
            ).row(0)
            entry["min_timestamp"] = lo.isoformat() if lo is not None else None
            entry["max_timestamp"] = hi.isoformat() if hi is not None else None
        before = old.get(rel)
        if before is not None and before.get("hash") == digest and target.is_file():
            unchanged.append(rel)
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            tmp = target.with_name(_PART + ".tmp")
            data.write_parquet(tmp, compression="zstd", statistics=True)
            os.replace(tmp, target)
            written.append(rel)
        seen.add(rel)
        parts.append(entry)
    for rel in sorted(set(old) - seen):
        shutil.rmtree(folder / rel, ignore_errors=True)
        removed.append(rel)
    return parts
