"""Root events: computed alone (failures.root_occurrences) they are the failure occurrences' own
revert and reopen rows; what they cause is theirs (failures.consequences)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pytest

from wfmine.analysis import Analysis
from wfmine.findings.failures import (
    ROOT_TYPES,
    consequences,
    failure_occurrences,
    root_occurrences,
)
from wfmine.store import Store


@pytest.mark.parametrize("with_design", [True, False])
def test_root_occurrences_are_the_occurrences_roots(sample_store: Path, with_design: bool) -> None:
    store = Store(sample_store, read_only=True)
    design = Path(__file__).resolve().parents[1] / "sample_logs" / "acme" / "design.yaml"
    a = Analysis.of(store, design if with_design else None)
    occ = failure_occurrences(a.judged, a.design, a.events_attrs, visits=a.judged_visits)
    want = occ.filter(pl.col("type").is_in(list(ROOT_TYPES)))
    got = root_occurrences(a.judged, a.design, a.events_attrs, visits=a.judged_visits)
    assert want.height > 0  # the sample has reverts and reopens
    assert got.equals(want)
    store.close()


def _t(day: int, hour: int = 9) -> dt.datetime:
    return dt.datetime(2026, 3, day, hour, tzinfo=dt.UTC)


def test_a_stall_that_a_later_root_ended_in_the_same_visit_is_the_roots() -> None:
    """Finished work sits in its end stage over a weekend until it is reverted: the quiet time
    is not a stall of its own. A stall earlier in the case, in another visit, stays one."""
    schema = {"case_id": pl.String, "type": pl.String, "stage": pl.String,
              "timestamp": pl.Datetime("us", "UTC"), "wait_s": pl.Float64}  # fmt: skip
    occ = pl.DataFrame(
        [
            ("c1", "stall", "build", _t(5), 1.0),  # in the build visit, before the revert's
            ("c1", "stall", "done", _t(23, 8), 2.0),  # done visit, ended by the revert
            ("c1", "revert", "done", _t(23, 10), None),
            ("c2", "stall", "done", _t(23, 8), 3.0),  # no root in its case
        ],
        schema=schema,
        orient="row",
    )
    visits = pl.DataFrame(
        {
            "case_id": ["c1", "c1", "c1", "c2"],
            "visit": [1, 2, 3, 1],
            "stage": ["build", "done", "build", "done"],
            "start": [_t(2), _t(20), _t(24), _t(20)],
        }
    )
    without = consequences(occ)
    assert without.filter(pl.col("root_type").is_not_null()).height == 0
    got = consequences(occ, visits).sort("case_id", "timestamp")
    stalls = got.filter(pl.col("type") == "stall")
    tagged = {(c, s): r for c, s, r in stalls.select("case_id", "stage", "root_type").iter_rows()}
    assert tagged == {("c1", "build"): None, ("c1", "done"): "revert", ("c2", "done"): None}
    assert got.filter(pl.col("type") == "revert")["root_type"].to_list() == [None]
