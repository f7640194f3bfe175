"""The checks of the reader contract (``tests/test_readers_contract.py`` runs them for every reader).

The contract module parametrises over every kind in the registry, so no
reader can stay out; a connector's own tests may also call these on larger
real samples. A loader is a ``load(path, options=None) -> Batch`` function. The checks:

- :func:`check_event_table` — the batch has the store's schemas, non-null
  ids/activities/timestamps, unique event ids, events pointing at known objects;
- :func:`check_idempotent` — ingesting twice adds nothing the second time;
- :func:`check_deterministic` — loading twice gives identical frames;
- :func:`check_quarantine` — a bad input quarantines records while the rest loads;
- :func:`check_transactional` — a failure mid-ingest leaves every table unchanged.

:func:`check_connector` runs them all.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from wfmine.model import Batch
from wfmine.store import Store

Loader = Callable[..., Batch]
_TABLES = (
    "raw_records",
    "events",
    "event_objects",
    "objects",
    "object_links",
    "accounts",
    "quarantine",
)


def check_event_table(batch: Batch, *, expect_events_min: int = 1) -> None:
    """Schemas match, key columns are non-null, event ids are unique, objects exist."""
    batch.validate()
    events = batch.events
    assert events.height >= expect_events_min, f"only {events.height} events"
    for col in ("event_id", "activity", "timestamp", "source", "object_id", "seq"):
        nulls = events.get_column(col).null_count()
        assert nulls == 0, f"{nulls} events with null {col}"
    assert events.get_column("event_id").n_unique() == events.height, "duplicate event_ids"
    assert set(events.get_column("source").unique()) == {batch.source}
    object_ids = set(batch.objects.get_column("object_id"))
    missing = set(events.get_column("object_id")) - object_ids
    assert not missing, f"events point at objects not in the batch: {sorted(missing)[:5]}"
    assert batch.objects.get_column("object_id").n_unique() == batch.objects.height
    assert batch.raw_records.height > 0, "no raw records kept"
    raw_keys = batch.raw_records.select("record_type", "record_id")
    assert raw_keys.unique().height == raw_keys.height, "duplicate raw record keys"
    refs = set(
        batch.raw_records.get_column("record_type")
        + ":"
        + batch.raw_records.get_column("record_id")
    )
    dangling = set(events.get_column("raw_ref").drop_nulls()) - refs
    assert not dangling, f"events whose raw_ref is not in raw_records: {sorted(dangling)[:3]}"
    actors = set(events.get_column("actor_id").drop_nulls())
    accounts = set(batch.accounts.get_column("account_id"))
    assert actors <= accounts, f"actors without account rows: {sorted(actors - accounts)[:5]}"


def check_deterministic(load: Loader, path: Path, options: Mapping[str, Any] | None = None) -> None:
    """Two loads of the same input give equal frames (ids and seq never depend on run)."""
    a, b = load(path, options), load(path, options)
    for name in _TABLES:
        left, right = a.tables()[name], b.tables()[name]
        assert left.sort(left.columns).equals(right.sort(right.columns)), (
            f"{name} differs between loads"
        )


def check_idempotent(batch: Batch, tmp_path: Path) -> None:
    """Ingesting the same batch twice: the second run adds 0 rows in every table."""
    with Store(tmp_path / "idempotent.duckdb") as store:
        first = store.ingest(batch)
        assert first["added"]["events"] == batch.events.height
        second = store.ingest(batch)
        assert all(v == 0 for v in second["added"].values()), second["added"]


def check_quarantine(load: Loader, bad_path: Path, *, expect_events_min: int = 1) -> Batch:
    """A bad input quarantines what it cannot parse, with a reason and a record ref, and loads the rest."""
    batch = load(bad_path)
    assert batch.quarantine.height >= 1, "nothing was quarantined"
    assert batch.quarantine.get_column("reason").null_count() == 0
    assert all(r for r in batch.quarantine.get_column("record_ref")), (
        "quarantine without record_ref"
    )
    assert batch.events.height >= expect_events_min, "the good records did not load"
    return batch


def check_transactional(
    batch: Batch, tmp_path: Path, monkeypatch: pytest.MonkeyPatch | None = None
) -> None:
    """A failure while writing the 3rd table leaves every table exactly as it was."""
    if monkeypatch is None:
        with pytest.MonkeyPatch.context() as mp:
            check_transactional(batch, tmp_path, mp)
        return
    with Store(tmp_path / "transactional.duckdb") as store:
        before = store.counts()
        original = Store._write
        calls = {"n": 0}

        def failing(self: Store, con: Any, table: str, df: pl.DataFrame, run_id: int) -> int:
            calls["n"] += 1
            if calls["n"] == 3:
                raise RuntimeError("injected failure")
            return original(self, con, table, df, run_id)

        monkeypatch.setattr(Store, "_write", failing)
        with pytest.raises(RuntimeError, match="injected failure"):
            store.ingest(batch)
        monkeypatch.setattr(Store, "_write", original)
        assert store.counts() == before, "a failed ingest left rows behind"
        store.ingest(batch)  # and the store still works
        assert store.counts()["events"] == batch.events.height


def check_connector(
    load: Loader,
    good_path: Path,
    *,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch | None = None,
    bad_path: Path | None = None,
    expect_events_min: int = 1,
    options: Mapping[str, Any] | None = None,
) -> Batch:
    """Run the whole suite on a connector; returns the batch of ``good_path``."""
    batch = load(good_path, options)
    check_event_table(batch, expect_events_min=expect_events_min)
    check_deterministic(load, good_path, options)
    check_idempotent(batch, tmp_path)
    check_transactional(batch, tmp_path, monkeypatch)
    if bad_path is not None:
        check_quarantine(load, bad_path)
    return batch
