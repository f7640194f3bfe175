"""Precision and recall of every finding kind against the simulator's ground truth.

Matching rules (ground_truth.json as in docs/contracts.md):

- shadow_agent: a finding's subject (actor id) equals the ground-truth
  ``actor`` or one of its ``accounts``;
- unowned_seam: subject ``"<from> -> <to>"`` equals the ground truth's from/to;
- failure_pattern: the finding's evidence (type, stage) equals the ground
  truth's (type, stage); a ground-truth entry without a stage matches on type;
- gate_violation: subject (case id) equals ``"jira:" + case``.

Seeds and sizes here were not used to tune the detectors. Quality bar: >= 0.9.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

simulate_mod = pytest.importorskip("wfmine.simulate", reason="simulator not available yet")
if not hasattr(simulate_mod, "simulate"):
    pytest.skip("wfmine.simulate.simulate() not available yet", allow_module_level=True)
identity = pytest.importorskip("wfmine.identity", reason="identity resolution not available yet")

CASES = [(11, 150), (23, 250), (97, 400)]


def _load_store(folder: Path) -> Any:
    import importlib

    import wfmine
    from wfmine.connectors import READERS

    store = wfmine.open(":memory:")
    for kind in ("jira", "github", "slack", "email"):
        mod = importlib.import_module(READERS[kind])
        for path in sorted(folder.iterdir()):
            if mod.sniff(path):
                store.ingest(mod.load(path), origin=str(path))
    identity.apply_identities(store, folder / "roster.yaml")
    return store


def _pr(found: set[str], truth: set[str]) -> tuple[float, float]:
    tp = len(found & truth)
    precision = tp / len(found) if found else (1.0 if not truth else 0.0)
    recall = tp / len(truth) if truth else 1.0
    return precision, recall


@pytest.mark.slow
@pytest.mark.parametrize(("seed", "items"), CASES)
def test_findings_reach_the_quality_bar(tmp_path: Path, seed: int, items: int) -> None:
    from wfmine.design import load_design
    from wfmine.findings import findings, findings_json

    simulate_mod.simulate(tmp_path, seed=seed, items=items)
    truth = json.loads((tmp_path / "ground_truth.json").read_text())
    store = _load_store(tmp_path)
    design = load_design(tmp_path / "design.yaml")
    items_found = findings_json(findings(store.log(), design, store=store))
    by_kind: dict[str, list[dict[str, Any]]] = {}
    for f in items_found:
        by_kind.setdefault(f["kind"], []).append(f)

    aliases = {
        a: s["actor"] for s in truth["shadow_agents"] for a in [s["actor"], *s.get("accounts", [])]
    }
    shadow = ({aliases.get(f["subject"], f["subject"]) for f in by_kind.get("shadow_agent", [])},
              {s["actor"] for s in truth["shadow_agents"]})  # fmt: skip
    seams = ({f["subject"] for f in by_kind.get("unowned_seam", [])},
             {f"{s['from']} -> {s['to']}" for s in truth["unowned_seams"]})  # fmt: skip
    typed = {p["type"] for p in truth["failure_patterns"] if not p.get("stage")}
    fp_found = {
        f"{f['evidence']['type']}@{f['evidence']['stage']}"
        if f["evidence"]["type"] not in typed
        else f["evidence"]["type"]
        for f in by_kind.get("failure_pattern", [])
    }
    fp_truth = {f"{p['type']}@{p['stage']}" if p.get("stage") else p["type"]
                for p in truth["failure_patterns"]}  # fmt: skip
    gates = ({f["subject"] for f in by_kind.get("gate_violation", [])},
             {f"jira:{g['case']}" for g in truth["gate_violations"]})  # fmt: skip
    report = {
        kind: _pr(*pair)
        for kind, pair in {
            "shadow_agent": shadow, "unowned_seam": seams,
            "failure_pattern": (fp_found, fp_truth), "gate_violation": gates,
        }.items()
    }  # fmt: skip
    print(f"seed={seed} items={items}", report)
    for kind, (precision, recall) in report.items():
        assert precision >= 0.9 and recall >= 0.9, (kind, precision, recall, report)
