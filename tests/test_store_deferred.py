"""A run into an empty store left in flight (``Store.ingest(defer=True)``): what the store
answers meanwhile is what it answers once the run is committed, and a failed write leaves
the store as it was (``wfmine discover``: exit 2, nothing printed)."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import polars as pl
import pytest
from typer.testing import CliRunner

from tests.conftest import LOGS, need
from tests.test_store import _batch
from wfmine.cli import app
from wfmine.identity import apply_identities
from wfmine.store import Store

_QUERIES = (
    "SELECT account_id, display_name, platform_kind FROM accounts ORDER BY account_id",
    "SELECT count(*) AS n FROM events",
    "SELECT source, record_type, record_id, CAST(payload AS VARCHAR) AS p FROM raw_records",
    "SELECT actor_id, kind, team FROM actors ORDER BY actor_id",
    "SELECT account_id, actor_id FROM actor_accounts ORDER BY account_id",
)


def _answers(store: Store) -> list[pl.DataFrame]:
    return [
        store.log(),
        store.log(sources=["github"]),
        store.case_map(),
        store.event_attrs(),
        *(store.sql(q) for q in _QUERIES),
    ]


def test_a_deferred_run_answers_as_the_committed_one(tmp_path: Path) -> None:
    # the same batch into two empty stores, one written at once, one left in flight while
    # its identities are resolved and read: every answer equal, before and after the commit
    at_once, deferred = Store(tmp_path / "a.duckdb"), Store(tmp_path / "b.duckdb")
    summary = at_once.ingest(_batch())
    apply_identities(at_once)
    expected = _answers(at_once)
    assert deferred.ingest(_batch(), defer=True) == summary
    assert deferred.pending
    apply_identities(deferred)  # resolved from the run's rows, written in its transaction
    meanwhile = _answers(deferred)
    assert deferred.pending  # nothing above waited for the commit
    deferred.wait()
    assert not deferred.pending
    for ours, theirs, after in zip(meanwhile, expected, _answers(deferred), strict=True):
        assert ours.equals(theirs) and after.equals(theirs)
    assert deferred.counts() == at_once.counts()
    at_once.close()
    deferred.close()


def test_a_deferred_write_that_fails_rolls_back_and_raises_on_wait(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = Store(tmp_path / "s.duckdb")
    before = store.counts()
    write = Store._write

    def failing(self: Store, con: duckdb.DuckDBPyConnection, table: str, *a, **k) -> int:  # type: ignore[no-untyped-def]
        if table == "objects":  # after the events: mid-flight
            raise duckdb.IOException('Could not write file "s.duckdb": No space left on device')
        return write(self, con, table, *a, **k)

    monkeypatch.setattr(Store, "_write", failing)
    store.ingest(_batch(), defer=True)
    with pytest.raises(duckdb.IOException):
        store.wait()
    assert not store.pending
    assert store.counts() == before
    assert store.log().height == 0  # nothing answers as if it had been stored
    store.close()


def test_a_store_that_holds_a_run_is_written_at_once(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.duckdb")
    store.ingest(_batch(), defer=True)
    store.ingest(_batch([1, 0]), defer=True)  # waits for the first; the second adds nothing
    assert not store.pending
    assert store.runs().height == 2
    store.close()


def _discover(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, ["discover", *args, "--json"])
    return result.exit_code, result.stdout, result.stderr


def _payload(text: str) -> dict[str, object]:
    payload = json.loads(text)
    payload.pop("store")
    return dict(payload)


@pytest.mark.parametrize("name", ["running-example.xes"])
def test_discover_analysing_while_writing_prints_what_the_sequential_run_prints(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    log = need(LOGS / name)
    code, deferred, err = _discover(str(log), "--db", str(tmp_path / "a.duckdb"))
    assert code == 0, err
    real = Store.ingest

    def at_once(self: Store, *args, defer: bool = False, **kwargs):  # type: ignore[no-untyped-def]
        return real(self, *args, **kwargs)

    monkeypatch.setattr(Store, "ingest", at_once)
    code, sequential, err = _discover(str(log), "--db", str(tmp_path / "b.duckdb"))
    assert code == 0, err
    assert _payload(deferred) == _payload(sequential)


def test_discover_whose_write_fails_mid_flight_exits_2_and_keeps_no_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = need(LOGS / "running-example.xes")
    write = Store._write

    def failing(self: Store, con: duckdb.DuckDBPyConnection, table: str, *a, **k) -> int:  # type: ignore[no-untyped-def]
        if table == "objects":
            raise duckdb.IOException('Could not write file "s.duckdb": No space left on device')
        return write(self, con, table, *a, **k)

    monkeypatch.setattr(Store, "_write", failing)
    db = tmp_path / "s.duckdb"
    html = tmp_path / "map.html"
    code, out, err = _discover(str(log), "--db", str(db), "--html", str(html))
    assert code == 2
    assert out == ""
    assert len(err.strip().splitlines()) == 1 and "No space left on device" in err
    assert not db.exists()
    assert not html.exists()  # nothing a person opens shows a run that was not stored
