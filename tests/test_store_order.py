"""Findings do not depend on the order a store holds its rows in.

SQL promises no row order without ``ORDER BY``: DuckDB's insert of a scanned
frame, an anti join on a second run or a rewrite of the table may each leave
the rows in another order. Every table is rewritten here in a scrambled order
and the analysis must come out the same, row for row.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from polars.testing import assert_frame_equal

import wfmine
from wfmine.api import ingest_path
from wfmine.findings import findings_json
from wfmine.identity import apply_identities
from wfmine.simulate import simulate

TABLES = ("events", "objects", "object_links", "event_objects", "accounts", "raw_records")


def _analysis(folder: Path, *, scramble: bool) -> wfmine.Analysis:
    store = wfmine.open(":memory:")
    ingest_path(store, folder)
    apply_identities(store, folder / "roster.yaml")
    if scramble:
        with store.transaction() as con:
            for table in TABLES:
                con.execute(
                    f"CREATE TEMP TABLE _p AS SELECT * FROM {table} "
                    "ORDER BY hash(rowid::VARCHAR || 'scramble')"
                )
                con.execute(f"DELETE FROM {table}")
                con.execute(f"INSERT INTO {table} SELECT * FROM _p")
                con.execute("DROP TABLE _p")
    return wfmine.Log(store, design=folder / "design.yaml").analysis


@pytest.fixture(scope="module")
def org(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # a shape with Jira reassignments: the ping-pong between assignees reads their attrs
    folder = tmp_path_factory.mktemp("order") / "lean"
    simulate(folder, seed=57, items=120, months=6, shape="lean")
    return folder


def test_findings_are_the_same_whatever_order_the_store_holds_rows_in(org: Path) -> None:
    held, scrambled = _analysis(org, scramble=False), _analysis(org, scramble=True)
    assert_frame_equal(held.occurrences, scrambled.occurrences)
    assert_frame_equal(held.seams, scrambled.seams)
    assert_frame_equal(held.actors, scrambled.actors)
    assert findings_json(held.findings) == findings_json(scrambled.findings)
    assert any(f["kind"] == "failure_pattern" for f in findings_json(held.findings))
