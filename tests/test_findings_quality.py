"""Precision and recall of every finding kind against the simulator's ground truth.

Three organisations are simulated with seeds and sizes the detectors were
*not* tuned on, each ingested once (``wfmine.api.ingest_path``, identities
resolved with its ``roster.yaml``) and analysed with DEFAULT settings through
``wfmine.Log(store).findings(design)``. Quality bar: precision and recall
>= 0.9 for every kind on every organisation. ``pytest -s`` prints the table.

Matching rules (ground_truth.json as in docs/contracts.md):

- shadow_agent: a finding matches a ground-truth entry when its subject (or an
  account in its evidence) is the entry's ``actor`` or one of its
  ``accounts``, and the entry's ``type`` is the finding's type (or one of the
  types merged into it, ``evidence.also``);
- unowned_seam: subject ``"<from> -> <to>"`` equals the entry's from/to;
- failure_pattern: patterns are reported per signature (type @ stage), so
  signatures are compared: same type, and the same stage when both have one;
- gate_violation: subject (case id) equals ``"jira:" + case``.

Planted problems below a detector's documented minimum are *optional*: a
failure pattern planted in fewer than ``MIN_CASES`` cases does not recur, an
unowned seam with fewer than ``MIN_HANDOFFS`` handoffs is not yet a finding.
They are not required, and reporting them is not counted against precision.

Precision = matching findings / findings (optional ones left out); recall =
matched entries / required entries; 1.0 when there is nothing to find.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from wfmine.findings.failures import MIN_CASES
from wfmine.findings.seams import MIN_HANDOFFS

#: (seed, items, months): never used while developing the detectors
ORGS = [(11, 120, 6), (23, 200, 6), (97, 300, 9)]
KINDS = ("shadow_agent", "unowned_seam", "failure_pattern", "gate_violation")
BAR = 0.9
SOURCES = ("jira", "github", "slack", "email")


@dataclass
class Score:
    """Matched / total on both sides, with what was missed or over-reported."""

    found: int = 0
    found_ok: int = 0
    truth: int = 0
    truth_ok: int = 0
    false_positives: list[str] = field(default_factory=list)
    missed: list[str] = field(default_factory=list)

    @property
    def precision(self) -> float:
        return self.found_ok / self.found if self.found else 1.0

    @property
    def recall(self) -> float:
        return self.truth_ok / self.truth if self.truth else 1.0


@dataclass
class Evaluated:
    org: tuple[int, int, int]
    scores: dict[str, Score]
    seconds: float
    merges_without_performer: bool
    truth: dict[str, Any]
    read_from_folder: list[str]


def _ingest(folder: Path) -> tuple[Any, list[str]]:
    """The exports in a fresh store (identities resolved with the roster); kinds read at once."""
    import wfmine
    from wfmine.api import ingest_path
    from wfmine.identity import apply_identities

    store = wfmine.open(":memory:")
    loaded = {item["kind"] for item in ingest_path(store, folder).loaded}
    # Folder detection can let one reader claim the whole organisation folder (the
    # Slack export sniffer accepts a parent of an export): read what it missed per source.
    for kind in SOURCES:
        if kind not in loaded:
            ingest_path(store, folder / kind)
    apply_identities(store, folder / "roster.yaml")
    return store, sorted(loaded)


def _shadow(found: list[dict[str, Any]], truth: list[dict[str, Any]]) -> Score:
    def keys(f: dict[str, Any]) -> set[str]:
        return {f["subject"], *f["evidence"].get("accounts", [])}

    def types(f: dict[str, Any]) -> set[str]:
        ev = f["evidence"]
        return {ev.get("type"), *(a.get("type") for a in ev.get("also", []))}

    def match(f: dict[str, Any], t: dict[str, Any]) -> bool:
        return bool(keys(f) & {t["actor"], *t.get("accounts", [])}) and t["type"] in types(f)

    s = Score(found=len(found), truth=len(truth))
    s.found_ok = sum(any(match(f, t) for t in truth) for f in found)
    s.truth_ok = sum(any(match(f, t) for f in found) for t in truth)
    s.false_positives = [f["subject"] for f in found if not any(match(f, t) for t in truth)]
    s.missed = [f"{t['actor']} ({t['type']})" for t in truth if not any(match(f, t) for f in found)]
    return s


def _seams(found: list[dict[str, Any]], truth: list[dict[str, Any]]) -> Score:
    required = {f"{t['from']} -> {t['to']}" for t in truth if len(t["cases"]) >= MIN_HANDOFFS}
    optional = {f"{t['from']} -> {t['to']}" for t in truth} - required
    subjects = {f["subject"] for f in found} - optional
    return Score(
        found=len(subjects), found_ok=len(subjects & required),
        truth=len(required), truth_ok=len(subjects & required),
        false_positives=sorted(subjects - required), missed=sorted(required - subjects),
    )  # fmt: skip


def _patterns(found: list[dict[str, Any]], truth: list[dict[str, Any]]) -> Score:
    def match(f: dict[str, Any], t: dict[str, Any]) -> bool:
        ev = f["evidence"]
        same_stage = ev.get("stage") is None or t.get("stage") is None or ev["stage"] == t["stage"]
        return bool(ev["type"] == t["type"] and same_stage)

    required = [t for t in truth if len(t["cases"]) >= MIN_CASES]
    optional = [t for t in truth if len(t["cases"]) < MIN_CASES]
    counted = [f for f in found if not any(match(f, t) for t in optional)]
    s = Score(found=len(counted), truth=len(required))
    s.found_ok = sum(any(match(f, t) for t in required) for f in counted)
    s.truth_ok = sum(any(match(f, t) for f in counted) for t in required)
    s.false_positives = [f["subject"] for f in counted if not any(match(f, t) for t in required)]
    s.missed = [
        f"{t['type']}@{t['stage']}" for t in required if not any(match(f, t) for f in counted)
    ]
    return s


def _gates(found: list[dict[str, Any]], truth: list[dict[str, Any]]) -> Score:
    subjects = {f["subject"] for f in found}
    cases = {f"jira:{t['case']}" for t in truth}
    return Score(
        found=len(subjects), found_ok=len(subjects & cases),
        truth=len(cases), truth_ok=len(subjects & cases),
        false_positives=sorted(subjects - cases), missed=sorted(cases - subjects),
    )  # fmt: skip


def _evaluate(root: Path, org: tuple[int, int, int]) -> Evaluated:
    import wfmine
    from wfmine.findings import findings_json
    from wfmine.simulate import simulate

    seed, items, months = org
    start = time.perf_counter()
    folder = root / f"org-{seed}-{items}"
    simulate(folder, seed=seed, items=items, months=months)
    store, read_from_folder = _ingest(folder)
    found = findings_json(wfmine.Log(store, design=folder / "design.yaml").findings())
    seconds = time.perf_counter() - start
    truth = json.loads((folder / "ground_truth.json").read_text(encoding="utf-8"))
    by_kind: dict[str, list[dict[str, Any]]] = {k: [] for k in KINDS}
    for f in found:
        by_kind.setdefault(f["kind"], []).append(f)
    scores = {
        "shadow_agent": _shadow(by_kind["shadow_agent"], truth["shadow_agents"]),
        "unowned_seam": _seams(by_kind["unowned_seam"], truth["unowned_seams"]),
        "failure_pattern": _patterns(by_kind["failure_pattern"], truth["failure_patterns"]),
        "gate_violation": _gates(by_kind["gate_violation"], truth["gate_violations"]),
    }
    merged = store.sql(
        "SELECT count(*) FILTER (WHERE actor_id IS NOT NULL) AS known, count(*) AS n "
        "FROM events WHERE activity = 'PR merged'"
    ).row(0)
    no_performer = bool(merged[1]) and not merged[0]
    return Evaluated(org, scores, seconds, no_performer, truth, read_from_folder)


@pytest.fixture(scope="session")
def quality(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[int, int, int], Evaluated]:
    root = tmp_path_factory.mktemp("quality")
    return {org: _evaluate(root, org) for org in ORGS}


@pytest.mark.slow
def test_print_quality_table(quality: dict[tuple[int, int, int], Evaluated]) -> None:
    print("\nfindings quality against ground truth (precision / recall, found / required)")
    for org, ev in quality.items():
        seed, items, months = org
        print(f"seed {seed}, {items} items, {months} months ({ev.seconds:.1f} s)")
        if ev.read_from_folder != sorted(SOURCES):
            print(f"  (ingest_path on the folder read only {ev.read_from_folder}; rest per source)")
        for kind, s in ev.scores.items():
            line = (
                f"  {kind:16s} P {s.precision:.2f}  R {s.recall:.2f}  "
                f"({s.found_ok}/{s.found} found, {s.truth_ok}/{s.truth} required)"
            )
            if s.false_positives:
                line += f"  over-reported: {s.false_positives}"
            if s.missed:
                line += f"  missed: {s.missed}"
            print(line)
    assert set(quality) == set(ORGS)


def test_the_org_folder_is_read_whole_and_merges_have_performers(
    quality: dict[tuple[int, int, int], Evaluated],
) -> None:
    for ev in quality.values():
        assert ev.read_from_folder == sorted(SOURCES)
        assert not ev.merges_without_performer


@pytest.mark.slow
@pytest.mark.parametrize("org", ORGS, ids=[f"seed{s}-{n}items-{m}mo" for s, n, m in ORGS])
@pytest.mark.parametrize("kind", KINDS)
def test_findings_reach_the_quality_bar(
    quality: dict[tuple[int, int, int], Evaluated], org: tuple[int, int, int], kind: str
) -> None:
    ev = quality[org]
    s = ev.scores[kind]
    ok = s.precision >= BAR and s.recall >= BAR
    assert ok, (
        f"{kind}: precision {s.precision:.2f}, recall {s.recall:.2f}; "
        f"over-reported {s.false_positives}, missed {s.missed}"
    )
