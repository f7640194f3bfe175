"""Precision and recall of every finding kind against the simulator's ground truth, per shape.

Organisations of every simulator shape (``wfmine.simulate.SHAPES``: the
original stage-teams Acme and the flow shapes, the held-out ones included)
are simulated with seeds the detectors were *not* tuned on, each ingested
once (``wfmine.api.ingest_path``, identities resolved with its
``roster.yaml``) and analysed with DEFAULT settings through
``wfmine.Log(store, design=...)``. Quality bar: precision and recall >= 0.9
for every kind on every organisation (a held-out shape, which no detector
was tuned on, that missed it when last scored is an expected failure,
``HELD_OUT_BELOW_BAR``: reported, not tuned away). ``pytest -s`` prints the table, with the planted trends and how they
came out and the seam waits against the planted ones. Each organisation is
evaluated when a test first asks for it, so ``-k "not held"`` scores the
development shapes only and ``-k held`` the held-out ones.

Matching rules (ground_truth.json as in docs/contracts.md):

- shadow_agent: a finding matches a ground-truth entry when its subject (or an
  account in its evidence) is the entry's ``actor`` or one of its
  ``accounts``, and the entry's ``type`` is the finding's type (or one of the
  types merged into it, ``evidence.also``);
- unowned_seam: subject ``"<from> -> <to>"`` equals the entry's from/to;
- failure_pattern: patterns are reported per signature (type @ stage, scoped
  by project where cases carry one), so signatures are compared: same type,
  the same stage when both have one, the same project when both have one;
- gate_violation: subject (case id) equals ``"jira:" + case``.

Planted problems below a detector's documented minimum are *optional*: a
failure pattern planted in fewer than ``MIN_CASES`` cases does not recur, an
unowned seam with fewer than ``MIN_HANDOFFS`` handoffs is not yet a finding.
They are not required, and reporting them is not counted against precision.

Precision = matching findings / findings (optional ones left out); recall =
matched entries / required entries; 1.0 when there is nothing to find.

Trends: every planted rising or declining pattern that is found must not come
out the other way or "stable"; "too little data" is an honest answer at these
small sizes and is counted apart. One larger organisation checks that planted
trends are seen when there are enough cases.
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
from wfmine.simulate import DEVELOPMENT_SHAPES as DEV
from wfmine.simulate import HELD_OUT_SHAPES, SHAPES

#: (shape, seed, items, months): seeds never used while developing the detectors
ORGS = [
    *[("stage-teams", seed, 120, 6) for seed in (11, 23)],
    *[(shape, seed, 120, 6) for shape in SHAPES if shape != "stage-teams" for seed in (31, 57)],
]
#: a larger organisation, for the trends (enough cases to see a change of rate)
TREND_ORG = ("lean", 71, 480, 6)
KINDS = ("shadow_agent", "unowned_seam", "failure_pattern", "gate_violation")
BAR = 0.9
SOURCES = ("jira", "github", "slack", "email")

Org = tuple[str, int, int, int]


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
class Trends:
    """Planted rising/declining patterns: how each came out (``right``, ``wrong``, ...)."""

    outcomes: list[tuple[str, str, str]] = field(default_factory=list)  # signature, planted, found

    def count(self, what: str) -> int:
        return sum(1 for _, planted, found in self.outcomes if _verdict(planted, found) == what)


def _verdict(planted: str, found: str) -> str:
    if found == planted:
        return "right"
    if found in ("too little data", "not found"):
        return found
    return "wrong"


@dataclass
class Evaluated:
    org: Org
    scores: dict[str, Score]
    trends: Trends
    seconds: float
    merges_without_performer: bool
    truth: dict[str, Any]
    read_from_folder: list[str]
    seam_waits: list[tuple[str, float, float]]  # pair, found median, planted median
    #: planted stalls case by case (development shapes only): (case, stage) pairs
    stall_cases: Score | None = None


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


def _same(a: object, b: object) -> bool:
    return a is None or b is None or a == b


def _pattern_match(f: dict[str, Any], t: dict[str, Any]) -> bool:
    ev = f["evidence"]
    return bool(
        ev["type"] == t["type"]
        and _same(ev.get("stage"), t.get("stage"))
        and _same(ev.get("scope"), t.get("project"))
    )


def _patterns(found: list[dict[str, Any]], truth: list[dict[str, Any]]) -> Score:
    required = [t for t in truth if len(t["cases"]) >= MIN_CASES]
    optional = [t for t in truth if len(t["cases"]) < MIN_CASES]
    counted = [f for f in found if not any(_pattern_match(f, t) for t in optional)]
    s = Score(found=len(counted), truth=len(required))
    s.found_ok = sum(any(_pattern_match(f, t) for t in required) for f in counted)
    s.truth_ok = sum(any(_pattern_match(f, t) for f in counted) for t in required)
    s.false_positives = [
        f["subject"] for f in counted if not any(_pattern_match(f, t) for t in required)
    ]
    s.missed = [
        f"{t['type']}@{t['stage']}" + (f"/{t['project']}" if t.get("project") else "")
        for t in required
        if not any(_pattern_match(f, t) for f in counted)
    ]
    return s


def _trends(found: list[dict[str, Any]], truth: dict[str, Any]) -> Trends:
    planted = truth.get("trends") or [
        t for t in truth["failure_patterns"] if t.get("trend") in ("rising", "declining")
    ]
    out = Trends()
    for t in planted:
        direction = t.get("direction") or t.get("trend")
        if direction not in ("rising", "declining") or len(t["cases"]) < MIN_CASES:
            continue
        hits = [f for f in found if _pattern_match(f, t)]
        came = hits[0]["trend"] if hits else "not found"
        sig = f"{t['type']}@{t['stage']}" + (f"/{t['project']}" if t.get("project") else "")
        if t.get("component"):
            sig += f" ({t['component']})"
        out.outcomes.append((sig, str(direction), str(came)))
    return out


def _gates(found: list[dict[str, Any]], truth: list[dict[str, Any]]) -> Score:
    subjects = {f["subject"] for f in found}
    cases = {f"jira:{t['case']}" for t in truth}
    return Score(
        found=len(subjects), found_ok=len(subjects & cases),
        truth=len(cases), truth_ok=len(subjects & cases),
        false_positives=sorted(subjects - cases), missed=sorted(cases - subjects),
    )  # fmt: skip


def _seam_waits(
    found: list[dict[str, Any]], truth: dict[str, Any]
) -> list[tuple[str, float, float]]:
    import statistics

    planted: dict[str, list[float]] = {}
    for w in truth.get("seam_waits", []):
        planted.setdefault(f"{w['from']} -> {w['to']}", []).append(float(w["wait_s"]))
    out = []
    for f in found:
        if f["subject"] in planted and f["evidence"].get("wait_median_s") is not None:
            waits = planted[f["subject"]]
            out.append(
                (f["subject"], float(f["evidence"]["wait_median_s"]), statistics.median(waits))
            )
    return out


def _stall_cases(occurrences: Any, truth: dict[str, Any], stages: set[str]) -> Score:
    """Planted stalls case by case at ``stages`` (those the design gives no expected time:
    the statistical limits): every planted (case, stage) found as a stall of its own (not a
    consequence of a revert or reopen), and no other. A pattern can be found while some of
    its cases are missed (a limit too loose for one kind of work): this sees them."""
    import polars as pl

    from wfmine.findings.failures import consequences

    roots = consequences(occurrences).filter(
        pl.col("root_type").is_null() & (pl.col("type") == "stall")
    )
    found = {
        (str(c).removeprefix("jira:"), str(st))
        for c, st in roots.select("case_id", "stage").rows()
        if st in stages
    }
    planted = {
        (c, f["stage"])
        for f in truth["failure_patterns"]
        if f["type"] == "stall" and f["stage"] in stages
        for c in f["cases"]
    }
    return Score(
        found=len(found), found_ok=len(found & planted),
        truth=len(planted), truth_ok=len(found & planted),
        false_positives=sorted(f"{c}@{st}" for c, st in found - planted),
        missed=sorted(f"{c}@{st}" for c, st in planted - found),
    )  # fmt: skip


def _evaluate(root: Path, org: Org) -> Evaluated:
    import wfmine
    from wfmine.findings import findings_json
    from wfmine.simulate import simulate

    shape, seed, items, months = org
    start = time.perf_counter()
    folder = root / f"{shape}-{seed}-{items}"
    simulate(folder, seed=seed, items=items, months=months, shape=shape)
    store, read_from_folder = _ingest(folder)
    analysis = wfmine.Log(store, design=folder / "design.yaml").analysis
    found = findings_json(analysis.findings)
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
    design = analysis.design
    assert design is not None
    silent = {st.id for st in design.stages if st.expected is None}
    stalls = None if shape in HELD_OUT_SHAPES else _stall_cases(analysis.occurrences, truth, silent)
    return Evaluated(
        org, scores, _trends(by_kind["failure_pattern"], truth), seconds, no_performer, truth,
        read_from_folder, _seam_waits(by_kind["unowned_seam"], truth), stalls,
    )  # fmt: skip


class Evaluations:
    """Each organisation evaluated once, when a test first asks for it: ``-k`` selects which
    (``-k held`` the held-out ones, ``-k "not held"`` the development ones)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.done: dict[Org, Evaluated] = {}

    def __getitem__(self, org: Org) -> Evaluated:
        if org not in self.done:
            self.done[org] = _evaluate(self.root, org)
        return self.done[org]


@pytest.fixture(scope="session")
def quality(tmp_path_factory: pytest.TempPathFactory) -> Evaluations:
    return Evaluations(tmp_path_factory.mktemp("quality"))


@pytest.fixture(scope="session")
def trend_org(tmp_path_factory: pytest.TempPathFactory) -> Evaluated:
    return _evaluate(tmp_path_factory.mktemp("trends"), TREND_ORG)


def _name(org: Org) -> str:
    shape, seed, items, months = org
    held = " (held out)" if shape in HELD_OUT_SHAPES else ""
    return f"{shape}{held}, seed {seed}, {items} items, {months} months"


#: held-out shapes not yet at the bar on every seed when last scored; a held-out shape that
#: reached it on every seed is held to it like a development shape. Empty since session 23:
#: federated's one miss (seed 57, stall@qa/SHOP) was a planted "stall" shorter than the
#: design's expected time for qa -- the truth contradicted its own design, and the simulator
#: now plants stalls past it (``STALL_OVER_EXPECTED``); matrix, new and scored once, passed.
HELD_OUT_BELOW_BAR: tuple[str, ...] = ()


def _param(org: Org) -> Any:
    """A held-out organisation is scored and shown, but it was never tuned on: a miss there
    is reported (xfail), not hidden by tuning the detectors to it."""
    shape, seed, items, _ = org
    held = shape in HELD_OUT_SHAPES
    marks = (
        [pytest.mark.xfail(reason="held-out shape: scored, never tuned on", strict=False)]
        if shape in HELD_OUT_BELOW_BAR
        else []
    )
    where = "held-out" if held else "dev"
    return pytest.param(org, id=f"{where}-{shape}-seed{seed}-{items}items", marks=marks)


PARAMS = [_param(o) for o in ORGS]


@pytest.mark.slow
@pytest.mark.parametrize("org", PARAMS)
def test_the_org_folder_is_read_whole_and_merges_have_performers(
    quality: Evaluations, org: Org
) -> None:
    ev = quality[org]
    assert ev.read_from_folder == sorted(SOURCES)
    assert not ev.merges_without_performer


@pytest.mark.slow
@pytest.mark.parametrize("org", PARAMS)
@pytest.mark.parametrize("kind", KINDS)
def test_findings_reach_the_quality_bar(quality: Evaluations, org: Org, kind: str) -> None:
    ev = quality[org]
    s = ev.scores[kind]
    ok = s.precision >= BAR and s.recall >= BAR
    assert ok, (
        f"{kind}: precision {s.precision:.2f}, recall {s.recall:.2f}; "
        f"over-reported {s.false_positives}, missed {s.missed}"
    )


#: development shapes whose planted stalls are not yet all found case by case, and why (a
#: known gap of the detector, reported by the test, not hidden by tuning the truth)
STALL_CASE_GAPS: dict[str, str] = {
    "kanban": (
        "QA's statistical limit is taken over QA visits that include the unowned qa -> "
        "operations pickup wait (median 2.7 d), so 8-10-day QA stalls sit at the fence "
        "(seed 57: 9 of 13 found); the final handoff wait of a visit is the seam's, not the "
        "stage's, and the stall model does not say so yet"
    ),
}


def _stall_param(org: Org) -> Any:
    why = STALL_CASE_GAPS.get(org[0])
    marks = [pytest.mark.xfail(reason=why, strict=False)] if why else []
    return pytest.param(org, id=_param(org).id, marks=marks)


@pytest.mark.slow
@pytest.mark.parametrize("org", [_stall_param(o) for o in ORGS if o[0] in DEV])
def test_planted_stalls_are_found_case_by_case(quality: Evaluations, org: Org) -> None:
    """Development shapes: the planted stalls where the design gives the stage no expected
    time, case by case, at the bar (a stall pattern is found from three of its cases; a
    statistical limit blind to one kind of work misses the others unseen)."""
    s = quality[org].stall_cases
    assert s is not None
    assert s.precision >= BAR and s.recall >= BAR, (
        f"stalls: precision {s.precision:.2f}, recall {s.recall:.2f}; "
        f"over-reported {s.false_positives}, missed {s.missed}"
    )


@pytest.mark.slow
@pytest.mark.parametrize("org", PARAMS)
def test_planted_trends_never_come_out_the_other_way(quality: Evaluations, org: Org) -> None:
    wrong = [
        (sig, planted, came)
        for sig, planted, came in quality[org].trends.outcomes
        if _verdict(planted, came) == "wrong"
    ]
    assert not wrong


@pytest.mark.slow
def test_planted_trends_are_seen_with_enough_cases(trend_org: Evaluated) -> None:
    assert trend_org.trends.outcomes
    assert all(planted == came for _, planted, came in trend_org.trends.outcomes), (
        trend_org.trends.outcomes
    )


@pytest.mark.slow
def test_print_quality_table(quality: Evaluations, trend_org: Evaluated) -> None:
    """The table of every organisation the tests above evaluated (last, so they are all in)."""
    print("\nfindings quality against ground truth (precision / recall, found / required)")
    for org, ev in [*quality.done.items(), (TREND_ORG, trend_org)]:
        print(f"{_name(org)} ({ev.seconds:.1f} s)")
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
        if ev.stall_cases is not None:
            s = ev.stall_cases
            line = (
                f"  {'stall by case':16s} P {s.precision:.2f}  R {s.recall:.2f}  "
                f"({s.found_ok}/{s.found} found, {s.truth_ok}/{s.truth} planted, at stages "
                "the design gives no time)"
            )
            if s.false_positives:
                line += f"  over-reported: {s.false_positives}"
            if s.missed:
                line += f"  missed: {s.missed}"
            print(line)
        for sig, planted, came in ev.trends.outcomes:
            print(f"  trend {sig:34s} planted {planted:9s} found {came}")
        for pair, got, want in ev.seam_waits:
            print(
                f"  seam wait {pair:28s} median {got / 3600:7.1f} h (planted {want / 3600:.1f} h)"
            )
    assert all(set(ev.scores) == set(KINDS) for ev in [*quality.done.values(), trend_org])


def test_the_stages_cases_reached_are_the_same_from_visits_in_case_order_or_not() -> None:
    """The trend's population per stage: the stage bits of each case OR-ed over its run of
    visits (case order) or grouped (any order) mark the cases a semi-join of the stage's
    visits keeps, in the order of the starts."""
    import polars as pl

    from wfmine.findings.failures import _reached_stages

    visits = pl.DataFrame(
        {
            "case_id": ["a", "a", "a", "b", "c", "c", "e"],
            "stage": ["build", "review", "build", None, "qa", "review", "qa"],
        }
    )
    starts = pl.DataFrame({"case_id": ["c", "a", "d", "b", "e"], "_start": [1.0, 2, 3, 4, 5]})
    for frame in (visits, visits.reverse()):
        bits, reaching = _reached_stages(starts, frame)
        assert sorted(bits) == ["build", "qa", "review"]
        for stage, bit in bits.items():
            kept = reaching.filter((pl.col("_reached") & bit) != 0).drop("_reached")
            semi = starts.join(
                frame.filter(pl.col("stage") == stage),
                on="case_id",
                how="semi",
                maintain_order="left",
            )
            assert kept.equals(semi), stage
