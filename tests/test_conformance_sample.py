"""The sample organisation checks cleanly except for its planted gate violations and deviations."""

from __future__ import annotations

import json
from typing import Any

import polars as pl
import pytest

from tests.conftest import SAMPLE, need


def _load_store() -> Any:
    import wfmine

    try:
        from wfmine.connectors import github, jira
    except ImportError:
        pytest.skip("the jira/github connectors are not there yet")
    if not (hasattr(jira, "load") and hasattr(github, "load")):
        pytest.skip("the jira/github connectors have no load()")
    folders = [(SAMPLE / name, module) for name, module in (("jira", jira), ("github", github))]
    if not any(folder.exists() for folder, _ in folders):
        pytest.skip(f"no jira/ or github/ export folder in {SAMPLE}")
    store = wfmine.open(":memory:")
    for folder, module in folders:
        if folder.exists():
            store.ingest(module.load(folder))
    return store


def test_sample_org_planted_findings() -> None:
    from wfmine.conformance import case_attributes, check
    from wfmine.design import load_design

    design = load_design(need(SAMPLE / "design.yaml"))
    truth = json.loads(need(SAMPLE / "ground_truth.json").read_text())
    store = _load_store()
    log = store.log()
    result = check(
        log, design, case_attrs=case_attributes(store, log),
        accounts=store.sql("select * from actor_accounts"),
    )  # fmt: skip

    def key(case: str) -> str:
        return case if ":" in case else f"jira:{case}"

    planted = {(key(g["case"]), g["type"]) for g in truth.get("gate_violations", [])}
    planted |= {(key(d["case"]), d["type"]) for d in truth.get("deviations", [])}
    kinds = {t for _, t in planted}
    found = {
        (c, t)
        for c, t in result.deviations.filter(pl.col("category").is_in(list(kinds)))
        .select("case_id", "category")
        .iter_rows()
    }
    hits = len(found & planted)
    precision = hits / len(found) if found else 1.0
    recall = hits / len(planted) if planted else 1.0
    print(f"conformance on the sample org: precision {precision:.2f}, recall {recall:.2f}")
    assert recall >= 0.8
    assert precision >= 0.8
