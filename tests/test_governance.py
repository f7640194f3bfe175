"""wfmine.governance: reviewer audit, cohorts and DORA, checked against planted truth.

Truth is planted by transforming simulated organisations' flat logs (the
simulator is not changed): reverts after a known share of the merges the
review agent approved alone and a lower share of the human-approved ones,
stratified by risk tier and approval stage; PRs handed to a coding agent with
their review time doubled; AI trailers added to commits. Small organisations
(50 work items over four months; 100 for lean and 80 for platform,
whose review agent approves less alone) of three development shapes and four seeds
keep it fast. The DORA figures of the sample workspace are checked against a
direct count.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest
from scipy import stats
from typer.testing import CliRunner

from wfmine.analysis import Analysis
from wfmine.governance import (
    approvals,
    cohort_table,
    dora_summary,
    dora_weekly,
    inputs_of,
    metric_by,
    reviewer_audit,
    reviewer_comparison,
    reviewer_findings,
)
from wfmine.governance._inputs import store_attrs
from wfmine.store import Store

ORGS = [("stage-teams", 3), ("lean", 4), ("platform", 5), ("stage-teams", 9)]
ITEMS, MONTHS = 50, 4
#: the lean shape's review agent approves little alone: more work items give it enough
MORE_ITEMS = {"lean": 100, "platform": 80}
P_AGENT, P_HUMAN = 0.4, 0.05  # planted revert shares: review agent alone / human-approved


@pytest.fixture(scope="module")
def orgs(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, int], tuple[Path, Path]]:
    from wfmine.api import ingest_path
    from wfmine.simulate import simulate

    root = tmp_path_factory.mktemp("gov")
    out = {}
    for shape, seed in ORGS:
        folder = root / f"{shape}-{seed}"
        simulate(folder, seed=seed, items=MORE_ITEMS.get(shape, ITEMS), months=MONTHS, shape=shape)
        db = root / f"{shape}-{seed}.duckdb"
        with Store(db) as store:
            ingest_path(store, folder)
        out[(shape, seed)] = (db, folder / "design.yaml")
    return out


def _analysis(store: Store, design: Path, log: pl.DataFrame | None = None) -> Analysis:
    base = Analysis.of(store, design)
    if log is None:
        return base
    return Analysis(log, base.design, store=store)


def _without_reverts(store: Store) -> pl.DataFrame:
    return store.log().filter(pl.col("activity") != "Revert merged")


def _plant_reverts(
    store: Store, design: Path, p_agent: float, p_human: float, seed: int
) -> tuple[Analysis, pl.DataFrame, dict[str, Any]]:
    """Reverts after an exact share of each stratum's agent-alone and human-approved PRs."""
    log = _without_reverts(store)
    inp = inputs_of(_analysis(store, design, log))
    ap = approvals(inp).join(inp.tiers, on="case_id", how="left")
    per_pr = ap.group_by("pr_id").agg(
        (pl.col("kind") == "human").any().alias("human"),
        pl.col("stage").filter(pl.col("kind") == "human").first().alias("hstage"),
        pl.col("stage").first().alias("astage"),
        pl.col("tier").first(),
        pl.col("case_id").first(),
        pl.col("merged").first(),
    )
    per_pr = per_pr.with_columns(
        pl.when(pl.col("human")).then(pl.col("hstage")).otherwise(pl.col("astage")).alias("stage")
    ).sort("pr_id")
    rng = np.random.default_rng(seed)
    chosen: list[str] = []
    for (human, _tier, _stage), g in per_pr.group_by(
        ["human", "tier", "stage"], maintain_order=True
    ):
        share = p_human if human else p_agent
        k = round(share * g.height)
        chosen += list(rng.choice(g.get_column("pr_id").to_list(), size=k, replace=False))
    planted = per_pr.filter(pl.col("pr_id").is_in(chosen))
    rows = planted.select(
        "case_id",
        pl.lit("Revert merged").alias("activity"),
        (pl.col("merged") + pl.duration(days=2)).alias("timestamp"),
        (pl.int_range(pl.len()) + 10**7).cast(pl.Int64).alias("seq"),
        (pl.lit("plant/revert/") + pl.col("pr_id")).alias("event_id"),
        pl.lit("github").alias("source"),
        (pl.col("pr_id") + pl.lit("-revert")).alias("object_id"),
        pl.lit("pull_request").alias("object_type"),
    )
    attrs = pl.concat(
        [
            store_attrs(store),
            planted.select(
                (pl.lit("plant/revert/") + pl.col("pr_id")).alias("event_id"),
                pl.col("pr_id").map_elements(lambda p: json.dumps({"reverts": p}),
                                             return_dtype=pl.String).alias("attrs"),
                pl.lit(None, dtype=pl.String).alias("account_id"),
            ),
        ]
    )  # fmt: skip
    planted_log = pl.concat([log, rows], how="diagonal_relaxed")
    truth = {
        "agent_alone": per_pr.filter(~pl.col("human")),
        "human": per_pr.filter(pl.col("human")),
        "planted": set(chosen),
        "approvals": ap,
    }
    return _analysis(store, design, planted_log), attrs, truth


def _wilson_scipy(k: int, n: int) -> tuple[float, float]:
    ci = stats.binomtest(k, n).proportion_ci(confidence_level=0.95, method="wilson")
    return float(ci.low), float(ci.high)


@pytest.mark.parametrize("org", ORGS, ids=[f"{s}-{n}" for s, n in ORGS])
def test_reviewer_audit_recovers_planted_revert_rates(
    orgs: dict[tuple[str, int], tuple[Path, Path]], org: tuple[str, int]
) -> None:
    db, design = orgs[org]
    with Store(db) as store:
        analysis, attrs, truth = _plant_reverts(store, design, P_AGENT, P_HUMAN, org[1])
        inp = inputs_of(analysis, events_attrs=attrs)
        audit = reviewer_audit(inp)
        comparison = reviewer_comparison(inp)
        found = reviewer_findings(inp)
    # every reviewer's reverted count is exactly the planted PRs it approved
    ap = truth["approvals"].with_columns(pl.col("pr_id").is_in(truth["planted"]).alias("hit"))
    expected = ap.group_by("reviewer").agg(pl.len().alias("n"), pl.col("hit").sum().alias("k"))
    got = audit.filter((pl.col("level") == "reviewer") & (pl.col("tier") == "all"))
    joined = expected.join(got, on="reviewer", how="full", coalesce=True)
    assert joined.filter(
        (pl.col("n") != pl.col("approvals")) | (pl.col("k") != pl.col("reverted"))
    ).is_empty(), joined
    # the Wilson interval (closed form) is scipy's
    for r in got.iter_rows(named=True):
        lo, hi = _wilson_scipy(int(r["reverted"]), int(r["approvals"]))
        assert r["reverted_low"] == pytest.approx(lo, abs=1e-9)
        assert r["reverted_high"] == pytest.approx(hi, abs=1e-9)
    # the planted rates lie within the recovered intervals, agent alone and human
    reverted = reviewer_comparison(inp, outcome="reverted")
    pooled = reverted.filter(pl.col("level") == "pooled").row(0, named=True)
    assert pooled["agent_prs"] >= 8 and pooled["human_prs"] >= 8
    lo, hi = _wilson_scipy(pooled["agent_failed"], pooled["agent_prs"])
    assert lo <= P_AGENT <= hi
    assert abs(pooled["agent_rate"] - P_AGENT) <= 0.5 * len(reverted) / pooled["agent_prs"]
    lo, hi = _wilson_scipy(pooled["human_failed"], pooled["human_prs"])
    assert lo <= P_HUMAN <= hi
    assert abs(pooled["human_rate"] - P_HUMAN) <= 0.5 * len(reverted) / pooled["human_prs"]
    # ... and the agent is measurably worse: a reviewer_quality finding
    assert comparison.filter(pl.col("level") == "pooled")["worse"].to_list() == [True]
    assert [f.kind for f in found] == ["reviewer_quality"]
    f = found[0]
    assert f.subject == "reviewbot" and f.severity in ("high", "medium")
    assert f.evidence["agent"]["rate"] > f.evidence["human"]["rate"]
    assert f.suggestion is not None and "human_approval" in f.suggestion["patch"]
    row = f.row()
    assert row["kind"] == "reviewer_quality" and json.loads(row["evidence"])["cases"]


@pytest.mark.parametrize("org", ORGS, ids=[f"{s}-{n}" for s, n in ORGS])
def test_no_reviewer_finding_without_the_plant(
    orgs: dict[tuple[str, int], tuple[Path, Path]], org: tuple[str, int]
) -> None:
    db, design = orgs[org]
    with Store(db) as store:
        assert reviewer_findings(_analysis(store, design)) == []
        # the same share planted for both: still no finding
        analysis, attrs, _ = _plant_reverts(store, design, 0.1, 0.1, org[1])
        assert reviewer_findings(inputs_of(analysis, events_attrs=attrs)) == []


@pytest.mark.parametrize("org", ORGS[:3], ids=[f"{s}-{n}" for s, n in ORGS[:3]])
def test_cohorts_recover_planted_agent_review_time(
    orgs: dict[tuple[str, int], tuple[Path, Path]], org: tuple[str, int]
) -> None:
    """PRs handed to a coding agent, review time x2: recovered exactly; AI trailers too."""
    db, design = orgs[org]
    with Store(db) as store:
        log = store.log()
        base = inputs_of(_analysis(store, design, log))
        prs = base.prs.filter(
            (pl.col("cohort") == "human")
            & pl.col("merged").is_not_null()
            & pl.col("first_review").is_not_null()
            & (pl.col("merged") > pl.col("first_review"))
            & ~pl.col("is_revert")
        ).sort("pr_id")
        rng = np.random.default_rng(org[1])
        ids = prs.get_column("pr_id").to_list()
        agent = set(rng.choice(ids, size=len(ids) * 2 // 5, replace=False))
        rest = [p for p in ids if p not in agent]
        ai = set(rest[:4])
        moved = prs.filter(pl.col("pr_id").is_in(agent)).select(
            pl.col("pr_id").alias("object_id"),
            (pl.col("first_review") + (pl.col("merged") - pl.col("first_review")) * 2).alias(
                "_new"
            ),
        )
        is_open = (pl.col("activity") == "PR opened") & pl.col("object_id").is_in(agent)
        planted = (
            log.join(moved, on="object_id", how="left")
            .with_columns(
                pl.when((pl.col("activity") == "PR merged") & pl.col("_new").is_not_null())
                .then(pl.col("_new"))
                .otherwise(pl.col("timestamp"))
                .alias("timestamp"),
                pl.when(is_open)
                .then(pl.lit("planted-agent"))
                .otherwise("actor_id")
                .alias("actor_id"),
                pl.when(is_open).then(pl.lit("agent")).otherwise("actor_kind").alias("actor_kind"),
            )
            .drop("_new")
        )
        # one commit of each of four human PRs signed by an AI tool
        signed = base.events.filter(pl.col("activity") == "Commit pushed").join_asof(
            base.prs.filter(pl.col("pr_id").is_in(ai))
            .select("case_id", pl.col("merged").alias("m"), "pr_id")
            .sort("m"),
            left_on="timestamp",
            right_on="m",
            by="case_id",
            strategy="forward",
            check_sortedness=False,
        )
        signed = signed.filter(pl.col("pr_id").is_not_null()).unique("pr_id", keep="first")
        trailer = json.dumps({"trailers": ["Co-Authored-By: Claude <noreply@anthropic.com>"]})
        attrs = store_attrs(store).with_columns(
            pl.when(pl.col("event_id").is_in(signed["event_id"].implode()))
            .then(pl.lit(trailer))
            .otherwise("attrs")
            .alias("attrs")
        )
        inp = inputs_of(_analysis(store, design, planted), events_attrs=attrs)
        review = metric_by(inp, "review_time")
        table = cohort_table(inp)
    got = dict(zip(inp.prs["pr_id"], inp.prs["cohort"], strict=True))
    assert {p for p, c in got.items() if c == "agent"} >= agent
    assert all(got[p] == "human_with_ai" for p in signed["pr_id"])
    before = prs.filter(pl.col("pr_id").is_in(agent)).select(
        (pl.col("merged") - pl.col("first_review")).dt.total_seconds(fractional=True).median()
    )
    row = review.filter(pl.col("cohort") == "agent").row(0, named=True)
    planted_only = {p for p, c in got.items() if c == "agent"} == agent
    if planted_only:  # the shape has no coding agent of its own: the cohort is the plant
        assert row["value"] == pytest.approx(2 * before.item(), rel=1e-6)
        assert row["n"] == len(agent)
    human = review.filter(pl.col("cohort") == "human").row(0, named=True)
    ratio = row["value"] / human["value"]
    assert 1.2 <= ratio <= 4.0, ratio  # planted x2 over a random split of the same PRs
    assert set(table["metric"]) >= {"pickup_time", "review_time", "cycle_time", "rework_rate",
                                     "revert_rate", "stall_rate", "wait_per_stage"}  # fmt: skip


@pytest.fixture(scope="module")
def sample(sample_store: Path) -> tuple[Path, Path]:
    from tests.conftest import SAMPLE

    return sample_store, SAMPLE / "design.yaml"


def test_bots_never_count_as_pickup(sample: tuple[Path, Path]) -> None:
    db, design = sample
    with Store(db) as store:
        log = store.log()
        before = inputs_of(_analysis(store, design, log)).prs
        opened = log.filter(pl.col("activity") == "PR opened")
        bot = opened.with_columns(
            (pl.col("timestamp") + pl.duration(seconds=5)).alias("timestamp"),
            pl.col("activity").replace({"PR opened": "PR comment added"}),
            (pl.col("event_id") + "/bot").alias("event_id"),
            pl.lit("dependabot[bot]").alias("actor_id"),
            pl.lit("dependabot[bot]").alias("resource"),
            pl.lit("unknown").alias("actor_kind"),  # only the login gives it away
        )
        agent = bot.with_columns(
            (pl.col("event_id") + "/agent").alias("event_id"),
            pl.lit("reviewbot").alias("actor_id"),
            pl.lit("agent").alias("actor_kind"),
        )
        after = inputs_of(_analysis(store, design, pl.concat([log, bot, agent]))).prs
    same = before.select("pr_id", "pickup_at").join(
        after.select("pr_id", pl.col("pickup_at").alias("p2")), on="pr_id"
    )
    assert same.filter(pl.col("pickup_at").ne_missing(pl.col("p2"))).is_empty()


def test_dora_on_the_sample_equals_a_direct_count(sample: tuple[Path, Path]) -> None:
    db, design = sample
    with Store(db) as store:
        analysis = Analysis.of(store, design)
        log = analysis.log
        attrs = store_attrs(store)
        weekly = dora_weekly(analysis)
        summary = dora_summary(analysis).row(0, named=True)
        occurrences = inputs_of(analysis).occurrences
    # deployments: merges of PRs, counted per week
    merges = log.filter(pl.col("activity") == "PR merged").select(
        "case_id", "object_id", pl.col("timestamp").alias("deployed_at")
    )
    per_week = merges.group_by(pl.col("deployed_at").dt.truncate("1w").alias("week")).len()
    got = weekly.filter(pl.col("deployments") > 0).select("week", "deployments")
    assert got.join(per_week, on="week").filter(pl.col("len") != pl.col("deployments")).is_empty()
    assert got.height == per_week.height and summary["deployments"] == merges.height
    assert weekly["deployments"].sum() == merges.height
    # lead time: each commit to the first merge of its work item at or after it
    commits = log.filter(pl.col("activity") == "Commit pushed").select(
        "case_id", pl.col("timestamp").alias("committed_at")
    )
    pairs = commits.join(merges, on="case_id").filter(
        pl.col("deployed_at") >= pl.col("committed_at")
    )
    first = pairs.group_by("case_id", "committed_at").agg(pl.col("deployed_at").min())
    lead = (first["deployed_at"] - first["committed_at"]).dt.total_seconds(fractional=True)
    lead = lead.filter(lead > 0)
    assert summary["lead_time_median_s"] == pytest.approx(lead.median())
    # failures: the PRs reverts name, and the last merge before a reopen (within 14 days)
    reverts = log.filter(pl.col("activity") == "Revert merged").join(attrs, on="event_id")
    reverted = reverts.select(
        pl.col("attrs").str.json_path_match("$.reverts").alias("object_id")
    ).unique()
    reopens = occurrences.filter(pl.col("type") == "reopen").select(
        "case_id", pl.col("timestamp").alias("reopened_at")
    )
    before = reopens.join(merges, on="case_id").filter(
        (pl.col("deployed_at") <= pl.col("reopened_at"))
        & (pl.col("reopened_at") - pl.col("deployed_at") <= pl.duration(days=14))
    )
    reopened = before.sort("deployed_at").group_by("case_id", "reopened_at").last()
    failed = pl.concat([reverted, reopened.select("object_id")]).unique()
    assert reverted.height == 3
    assert summary["failed"] == failed.height
    assert summary["change_failure_rate"] == pytest.approx(failed.height / merges.height)
    # time to restore of a revert: revert PR opened -> revert merged
    revert_prs = reverts.select("object_id", pl.col("timestamp").alias("restored"))
    opened = log.filter(pl.col("activity") == "PR opened").select(
        "object_id", pl.col("timestamp").alias("detected")
    )
    restore = revert_prs.join(opened, on="object_id")
    secs = (restore["restored"] - restore["detected"]).dt.total_seconds(fractional=True)
    # ... and of a reopen: the reopen -> the work item's next merge after it
    after = reopened.select("case_id", "reopened_at").join(merges, on="case_id")
    nxt = (
        after.filter(pl.col("deployed_at") > pl.col("reopened_at"))
        .group_by("case_id", "reopened_at")
        .agg(pl.col("deployed_at").min())
    )
    secs = pl.concat(
        [secs, (nxt["deployed_at"] - nxt["reopened_at"]).dt.total_seconds(fractional=True)]
    )
    assert summary["restore_median_s"] == pytest.approx(secs.median())
    assert weekly["failed"].sum() == failed.height


def test_sample_audit_and_cohorts(sample: tuple[Path, Path]) -> None:
    db, design = sample
    with Store(db) as store:
        analysis = Analysis.of(store, design)
        audit = reviewer_audit(analysis)
        table = cohort_table(analysis)
        findings = reviewer_findings(analysis)
    bot = audit.filter((pl.col("reviewer") == "reviewbot") & (pl.col("tier") == "all")).row(
        0, named=True
    )
    assert bot["kind"] == "agent" and bot["sanctioned"] == "reviewbot" and bot["approvals"] > 50
    tiers = set(audit.filter(pl.col("reviewer") == "reviewbot")["tier"])
    assert tiers >= {"all", "reversible"}
    kinds = audit.filter(pl.col("level") == "kind")
    assert set(kinds["reviewer"]) == {"all agent reviewers", "all human reviewers"}
    assert set(table["cohort"]) >= {"human", "agent", "human_with_ai"}
    assert findings == []
    with pytest.raises(Exception, match="unknown metric"):
        metric_by(analysis, "nope")
    with pytest.raises(Exception, match="unknown split"):
        metric_by(analysis, "pickup_time", by="team")


def test_cli_agents(sample: tuple[Path, Path], tmp_path: Path) -> None:
    import shutil

    from wfmine.cli import app

    db, design = sample
    copy = tmp_path / "store.duckdb"
    shutil.copy(db, copy)
    runner = CliRunner()
    res = runner.invoke(app, ["agents", "--db", str(copy), "--design", str(design), "--json"])
    assert res.exit_code == 0, res.output
    payload = json.loads(res.stdout)
    assert {"scope", "reviewers", "comparison", "findings", "cohorts", "dora", "architect"} <= set(
        payload
    )
    assert payload["dora"]["summary"][0]["deployments"] == 100
    assert {r["stage"] for r in payload["architect"]["agent_readiness"]} >= {"review", "build"}
    res = runner.invoke(app, ["agents", "--db", str(copy), "--design", str(design)])
    assert res.exit_code == 0 and "Reviewer audit" in res.stdout
    for bad in (["--window", "soon"], ["--days", "0"], ["--case-notion", "nope"]):
        res = runner.invoke(app, ["agents", "--db", str(copy), "--design", str(design), *bad])
        assert res.exit_code == 2, (bad, res.output)


def test_case_performers_alike_in_the_kernels_order_and_out_of_it(
    sample: tuple[Path, Path],
) -> None:
    """Who performed a case's events, read at the case runs' ends (events in the kernel's
    order) or grouped on the case ids (any other order): the same answer."""
    from wfmine.governance._inputs import _case_performers
    from wfmine.stages import in_kernel_order

    db, design = sample
    with Store(db) as store:
        events = inputs_of(Analysis.of(store, design)).events
    shuffled = events.sample(fraction=1.0, shuffle=True, seed=5)
    assert in_kernel_order(events) and not in_kernel_order(shuffled)
    in_order = _case_performers(events).sort("case_id")
    grouped = _case_performers(shuffled).sort("case_id")
    assert in_order.height == events.get_column("case_id").n_unique()
    assert in_order.equals(grouped)
    assert in_order.get_column("_h").any() and in_order.get_column("_a").any()
    assert _case_performers(events.clear()).height == 0
