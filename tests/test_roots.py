"""The root events computed alone (failures.root_occurrences) are the failure occurrences' own revert and reopen rows."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from wfmine.analysis import Analysis
from wfmine.findings.failures import ROOT_TYPES, failure_occurrences, root_occurrences
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
