"""The sample organisation checks cleanly except for its planted deviations and gate violations.

The simulator (``wfmine.simulate``) writes a design, real-format exports and a
ground truth. Ingested as a user would (``ingest_path``, identities resolved
with the roster) and checked with everything the store knows
(:func:`wfmine.conformance.check_store`):

- every planted deviation (case, type, stage) and gate violation (case, type)
  is reported (recall), and no other gate violation is (precision);
- the work items that are not planted check cleanly: of the work items with a
  flow or gate deviation, the share that is planted (precision);
- the figures are about work items: Slack threads, e-mails and pull requests
  linked to no issue are counted as out of scope, not judged;
- performer deviations are planted shadow agents, or the one known gap
  between the simulator's design and what its exports do
  (:data:`KNOWN_DESIGN_GAPS`);
- planted QA stalls are over the stage's expected time; abandoned work items
  are open, so they are judged as prefixes (no ``missing_end``).

Run with ``-s`` to see the figures. Besides the committed sample (seed 7)
two other seeds and sizes are simulated into a temporary folder.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from tests.conftest import SAMPLE, need

#: Deviations that follow from the simulator's design.yaml disagreeing with its exports,
#: not from conformance: (aspect, category, actor, activity). The sanctioned Copilot
#: coding agent is registered for [build] only, but it requests the reviews of its pull
#: requests and the design maps "github:Review requested" to review.
KNOWN_DESIGN_GAPS = {("performer", "agent_out_of_stage", "copilot", "github:Review requested")}

SOURCES = ("jira", "github", "slack", "email")


@dataclass
class Figures:
    label: str
    work_items: int
    cases: int
    out_of_scope: int
    planted_deviations: int
    deviation_recall: float
    gate_recall: float
    gate_precision: float
    deviating_items: int
    precision: float
    misses: list[Any]
    unexplained: list[str]
    performer_unexplained: list[tuple[str, ...]]
    stall_recall: float

    def line(self) -> str:
        return (
            f"{self.label}: work items {self.work_items}, cases {self.cases} "
            f"(+{self.out_of_scope} out of scope); deviation recall {self.deviation_recall:.2f} "
            f"of {self.planted_deviations}, gate recall {self.gate_recall:.2f} precision "
            f"{self.gate_precision:.2f}; deviating work items {self.deviating_items}, precision "
            f"{self.precision:.2f}; stall recall {self.stall_recall:.2f}"
        )


def _ingest(folder: Path) -> Any:
    """Ingest a simulated organisation's exports as a user would; identities from its roster."""
    import wfmine
    from wfmine.api import ingest_path

    store = wfmine.open(":memory:")
    # One folder per source: content detection of the parent folder currently takes the
    # whole of it for a Slack export (wfmine.connectors.slack.sniff looks one level down).
    for source in SOURCES:
        if (folder / source).exists():
            loaded = ingest_path(store, folder / source)
            assert loaded.roster == folder / "roster.yaml"
            assert [item["kind"] for item in loaded.loaded] == [source]
    return store


def _evaluate(folder: Path, label: str) -> Figures:
    from wfmine.conformance import check_store
    from wfmine.design import load_design

    store = _ingest(folder)
    truth = json.loads((folder / "ground_truth.json").read_text())
    design = load_design(folder / "design.yaml")
    log = store.log()
    result = check_store(store, design, log=log)

    def key(case: str) -> str:
        return case if ":" in case else f"jira:{case}"

    work_items = {key(c) for c in truth["work_items"]}
    judged = set(result.cases["case_id"].to_list())
    assert judged == work_items, "the cases judged are exactly the work items"
    assert result.summary["cases"] == len(work_items)
    assert result.summary["cases_out_of_scope"] == log["case_id"].n_unique() - len(work_items)
    # the design's risk rules give every work item the tier the simulator planned
    tiers = dict(result.cases.select("case_id", "tier").iter_rows())
    assert {key(c): t for c, t in truth["risk_tiers"].items()} == tiers

    dev = result.deviations
    # The simulator plants two deviations whose flow reading changed with the one stage
    # kernel (wfmine.stages): a case moves back only when its authoritative state (the
    # Jira status) does. An approval given after the merge is late work of review, shown
    # as the gate's ``approval_after_merge``; a revert shipped while the issue stays Done
    # never left deploy (the revert is a failure pattern, not a skipped QA).
    late = {"approval_after_merge", "revert"}
    planted_dev = {
        (key(d["case"]), d["type"], d["stage"])
        for d in truth["deviations"]
        if d.get("cause") not in late
    }
    after_merge = {
        key(d["case"]) for d in truth["deviations"] if d.get("cause") == "approval_after_merge"
    }
    gate_categories = set(
        dev.filter(pl.col("aspect") == "gate").select("case_id", "category").iter_rows()
    )
    assert {(c, "approval_after_merge") for c in after_merge} <= gate_categories
    found_dev = {
        tuple(r) for r in dev.filter(pl.col("aspect") == "flow").select("case_id", "category", "stage").iter_rows()
    }  # fmt: skip
    planted_gate = {(key(g["case"]), g["type"]) for g in truth["gate_violations"]}
    found_gate = {
        tuple(r)
        for r in result.gates.filter(~pl.col("ok")).select("case_id", "violation").iter_rows()
    }
    planted_items = {c for c, _, _ in planted_dev} | {c for c, _ in planted_gate}
    deviating = set(
        dev.filter(pl.col("aspect").is_in(["flow", "gate"])).get_column("case_id").to_list()
    )

    # performer deviations: planted shadow agents acting out of their stages, or a known gap
    perf = dev.filter(pl.col("aspect") == "performer")
    out_of_stage = {
        key(c)
        for s in truth["shadow_agents"]
        if s["type"] == "out_of_stage"
        for c in s.get("cases", [])
    }
    performer_unexplained = [
        (r["case_id"], r["category"], r["actor_id"], r["activity"])
        for r in perf.iter_rows(named=True)
        if r["case_id"] not in out_of_stage
        and ("performer", r["category"], r["actor_id"], r["activity"]) not in KNOWN_DESIGN_GAPS
    ]

    # abandoned work items are still open in Jira: judged as prefixes, not "missing_end"
    abandoned = {
        key(c) for f in truth["failure_patterns"] if f["type"] == "abandoned" for c in f["cases"]
    }
    open_items = set(result.cases.filter(pl.col("open")).get_column("case_id").to_list())
    assert abandoned <= open_items
    stalls = {key(c) for f in truth["failure_patterns"] if f["type"] == "stall" for c in f["cases"]}
    slow_qa = set(
        dev.filter((pl.col("category") == "over_expected") & (pl.col("stage") == "qa"))
        .get_column("case_id")
        .to_list()
    )

    def ratio(part: int, whole: int) -> float:
        return part / whole if whole else 1.0

    return Figures(
        label=label,
        work_items=len(work_items),
        cases=result.summary["cases"],
        out_of_scope=result.summary["cases_out_of_scope"],
        planted_deviations=len(planted_dev),
        deviation_recall=ratio(len(planted_dev & found_dev), len(planted_dev)),
        gate_recall=ratio(len(planted_gate & found_gate), len(planted_gate)),
        gate_precision=ratio(len(planted_gate & found_gate), len(found_gate)),
        deviating_items=len(deviating),
        precision=ratio(len(deviating & planted_items), len(deviating)),
        misses=sorted(planted_dev - found_dev) + sorted(planted_gate - found_gate),
        unexplained=sorted(deviating - planted_items),
        performer_unexplained=sorted(performer_unexplained),
        stall_recall=ratio(len(stalls & slow_qa), len(stalls)),
    )


def _assert_clean(fig: Figures) -> None:
    print(fig.line())
    assert fig.deviation_recall == 1.0, f"planted deviations not reported: {fig.misses}"
    assert fig.gate_recall == 1.0, f"planted gate violations not reported: {fig.misses}"
    assert fig.gate_precision == 1.0
    assert fig.precision >= 0.9, f"work items deviating without a plant: {fig.unexplained}"
    assert fig.performer_unexplained == [], fig.performer_unexplained
    assert fig.stall_recall == 1.0


def test_sample_org_checks_cleanly_but_for_its_plants() -> None:
    need(SAMPLE / "ground_truth.json")
    _assert_clean(_evaluate(SAMPLE, "sample_logs/acme (seed 7)"))


@pytest.mark.parametrize(("seed", "items"), [(101, 160), (2718, 60)])
def test_other_seeds_check_cleanly_but_for_their_plants(
    tmp_path: Path, seed: int, items: int
) -> None:
    from wfmine.simulate import simulate

    simulate(tmp_path / "org", seed=seed, items=items)
    _assert_clean(_evaluate(tmp_path / "org", f"seed {seed}, {items} items"))
