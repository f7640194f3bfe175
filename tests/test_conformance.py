"""Conformance against a design: flow, performers, gates, time, allow-list, determinism."""

from __future__ import annotations

import datetime as dt
from typing import Any

import polars as pl
import pytest

from tests.test_design import GOOD
from wfmine.conformance import check, store_result
from wfmine.conformance.models import design_petri_net, explain_variants
from wfmine.design import Design, load_design_text
from wfmine.model import LOG_SCHEMA

T0 = dt.datetime(2024, 3, 4, 9, tzinfo=dt.UTC)
H, A = "human", "agent"

# (source, activity, actor, kind[, object_id]) shorthands
CREATED = ("jira", "Issue created", "pm", H)
BUILD = ("jira", "Status: In Progress", "dev", H)
OPENED = ("github", "PR opened", "dev", H, "pr")
REVIEW = ("jira", "Status: In Review", "dev", H)
QA = ("jira", "Status: QA", "tess", H)
MERGED = ("github", "PR merged", "ops", H, "pr")


def approved(actor: str, kind: str = H) -> tuple[str, ...]:
    return ("github", "PR approved", actor, kind, "pr")


def make_log(cases: dict[str, list[tuple[str, ...]]], *, hours: float = 1.0) -> pl.DataFrame:
    rows: list[dict[str, Any]] = []
    for cid, steps in cases.items():
        for i, step in enumerate(steps):
            source, activity, actor, kind = step[:4]
            obj = step[4] if len(step) > 4 else "issue"
            rows.append(
                {
                    "case_id": cid,
                    "activity": activity,
                    "timestamp": T0 + dt.timedelta(hours=hours * i),
                    "seq": i,
                    "event_id": f"{cid}/{i}",
                    "actor_id": actor,
                    "resource": actor,
                    "actor_kind": kind,
                    "team": None,
                    "source": source,
                    "object_id": f"{cid}:{obj}",
                    "object_type": "pull_request" if obj == "pr" else "issue",
                }
            )
    return pl.DataFrame(rows, schema=LOG_SCHEMA)


@pytest.fixture(scope="module")
def design() -> Design:
    return load_design_text(
        GOOD.replace("allow:\n  - {kind: transition, from: build, to: qa}\n", "")
    )


HAPPY = [CREATED, BUILD, OPENED, REVIEW, approved("rev"), QA, MERGED]


def categories(result: Any, aspect: str | None = None) -> list[tuple[str, str | None]]:
    df = result.deviations
    if aspect:
        df = df.filter(pl.col("aspect") == aspect)
    return sorted(zip(df["category"].to_list(), df["stage"].to_list(), strict=True))


def test_happy_path_is_clean(design: Design) -> None:
    r = check(make_log({"c": HAPPY}), design)
    assert r.deviations.height == 0
    row = r.cases.row(0, named=True)
    assert row["fitness"] == 1.0 and row["gate_ok"] is True and row["visits"] == 5
    assert row["variant"] == ["triage", "build", "review", "qa", "deploy"]


def test_skipped_stage(design: Design) -> None:
    steps = [CREATED, BUILD, OPENED, REVIEW, approved("rev"), MERGED]
    r = check(make_log({"c": steps}), design)
    assert categories(r, "flow") == [("skipped", "qa")]
    # 4 visits, 1 deviation: 1 - 1/5
    assert r.cases["fitness"].item() == pytest.approx(0.8)


def test_skip_over_several_stages_reports_each(design: Design) -> None:
    r = check(make_log({"c": [CREATED, BUILD, QA, MERGED]}), design)
    assert categories(r, "flow") == [("skipped", "review")]
    r = check(make_log({"c": [CREATED, ("github", "PR merged", "ops", H)]}), design)
    assert categories(r, "flow") == [("skipped", "build"), ("skipped", "qa"), ("skipped", "review")]


def test_out_of_order_repeated_unexpected(design: Design) -> None:
    # an early qa between build and review is out of place: the case conforms without it
    r = check(make_log({"c": [CREATED, BUILD, QA, REVIEW, QA, MERGED]}), design)
    assert categories(r, "flow") == [("out_of_order", "qa")]
    dev = r.deviations.row(0, named=True)
    assert dev["from_stage"] == "build" and "build -> qa -> review" in dev["detail"]
    assert r.cases["fitness"].item() == pytest.approx(1 - 1 / 7)
    # merged before qa: the tracker's QA after the merge is a real visit (no qa work was
    # seen before), so deploy is out of place (the later deploy is in place)
    r = check(make_log({"c": [CREATED, BUILD, OPENED, REVIEW, MERGED, QA, MERGED]}), design)
    assert categories(r, "flow") == [("out_of_order", "deploy")]
    # a tracker catching up is no move: approved and merged before "In Review"
    r = check(make_log({"c": [CREATED, BUILD, approved("rev"), MERGED, REVIEW]}), design)
    assert [v["stage"] for v in r.timing.to_dicts()] == ["triage", "build", "review", "deploy"]
    # the tracker moving back is a move back: QA -> In Review is rework the design forbids
    r = check(make_log({"c": [CREATED, BUILD, REVIEW, QA, REVIEW, QA, MERGED]}), design)
    assert ("repeated", "review") in categories(r, "flow")
    # a sanctioned loop is not repeated
    r = check(make_log({"c": [CREATED, BUILD, REVIEW, BUILD, REVIEW, QA, MERGED]}), design)
    assert categories(r, "flow") == []
    # a step of another source after the case reached its end (an approval after the
    # merge) is late work of review: no flow deviation (the gate reports it)
    r = check(make_log({"c": [*HAPPY, ("github", "PR approved", "x", H, "pr")]}), design)
    assert categories(r, "flow") == []
    # going back to a stage visited before through a move the design does not allow:
    # rework (repeated); every stage the unsanctioned loop redoes is repeated too
    r = check(make_log({"c": [CREATED, BUILD, REVIEW, QA, BUILD, REVIEW, QA, MERGED]}), design)
    assert categories(r, "flow") == [
        ("repeated", "build"),
        ("repeated", "qa"),
        ("repeated", "review"),
    ]
    # a forward jump to a stage visited before still reports what it skipped
    # (a revert shipped again without qa)
    reopen = load_design_text(
        GOOD.replace("  - [qa, deploy]\n", "  - [qa, deploy]\n  - [deploy, build]\n")
    )
    steps = [*HAPPY, BUILD, REVIEW, MERGED]
    assert categories(check(make_log({"c": steps}), reopen, allow=False), "flow") == [
        ("skipped", "qa")
    ]
    # triage -> qa ... unexpected needs a stage unreachable forward: use a design without it
    d = load_design_text(
        "stages:\n"
        "  - {id: a, activities: ['xes:a']}\n"
        "  - {id: b, activities: ['xes:b']}\n"
        "  - {id: c, activities: ['xes:c']}\n"
        "transitions: [[a, b], [a, c]]\nend: [b, c]\n"
    )
    r = check(
        make_log({"c": [("xes", "a", "x", H), ("xes", "b", "x", H), ("xes", "c", "x", H)]}), d
    )
    assert categories(r, "flow") == [("unexpected", "c")]


def test_missing_start_end_and_unmapped(design: Design) -> None:
    r = check(make_log({"c": [BUILD, OPENED, REVIEW]}), design)
    assert categories(r, "flow") == [("missing_end", "review"), ("missing_start", "build")]
    keep = load_design_text(GOOD.replace("unmapped: ignore", "unmapped: keep"))
    steps = [
        *HAPPY[:3],
        ("slack", "Message posted", "x", H),  # the design maps no slack activity: ignored
        ("jira", "Comment added", "x", H),  # jira is mapped: this one is unmapped
        *HAPPY[3:],
    ]
    r = check(make_log({"c": steps}), keep)
    assert categories(r, "flow") == [("unmapped", None)]
    assert r.cases["fitness"].item() == 1.0  # unmapped is informative, not counted


def test_open_cases_are_judged_as_prefixes(design: Design) -> None:
    log = make_log({"open": [CREATED, BUILD, OPENED, REVIEW], "done": [CREATED, BUILD, REVIEW]})
    flags = pl.DataFrame({"case_id": ["open", "done"], "open": [True, False]})
    r = check(log, design, case_attrs=flags)
    assert r.deviations.filter(pl.col("aspect") == "flow")["case_id"].to_list() == ["done"]
    assert dict(r.cases.select("case_id", "open").iter_rows()) == {"done": False, "open": True}
    assert r.summary["open_cases"] == 1
    # open cases still get every other deviation
    r = check(make_log({"open": [CREATED, REVIEW]}), design, case_attrs=flags)
    assert categories(r, "flow") == [("skipped", "build")]


def test_scope_judges_work_items_only(design: Design) -> None:
    log = make_log({"a": HAPPY, "b": [CREATED, BUILD, QA, MERGED]})
    chatter = make_log(
        {
            "slack:C1/1": [("slack", "Message posted", "x", H)],
            "github:r#pr/9": [("github", "PR opened", "bot", A, "pr"), ("github", "PR merged", "bot", A, "pr")],
        }
    ).with_columns(
        pl.when(pl.col("source") == "slack").then(pl.lit("thread")).otherwise("object_type").alias("object_type")
    )  # fmt: skip
    full = pl.concat([log, chatter])
    r = check(full, design)
    assert r.cases["case_id"].to_list() == ["a", "b"]
    assert r.summary["cases"] == 2 and r.summary["cases_out_of_scope"] == 2
    assert r.summary["out_of_scope"] == {"no_stage_events": 1, "no_work_item": 1}
    assert r.out_of_scope["case_id"].to_list() == ["github:r#pr/9", "slack:C1/1"]
    assert r.out_of_scope["object_type"].to_list() == ["pull_request", "thread"]
    assert r.summary["events"] == log.height
    same = check(log, design)
    assert r.summary["log_fitness"] == same.summary["log_fitness"]
    assert r.deviations.equals(same.deviations)
    # "mapped" takes the bot's pull request in, "all" the thread too
    assert check(full, design, scope="mapped").summary["cases"] == 3
    assert check(full, design, scope="all").summary["cases"] == 4
    # a log without work items (only pull requests): every case with a mapped event
    prs = chatter.filter(pl.col("source") == "github")
    assert check(prs, design).summary["cases"] == 1
    with pytest.raises(ValueError, match="scope"):
        check(log, design, scope="everything")  # type: ignore[arg-type]


def test_performers(design: Design) -> None:
    steps = [
        CREATED,
        ("jira", "Status: Triage", "triagebot", "bot"),  # automation in human-only triage
        BUILD,
        OPENED,
        REVIEW,
        ("github", "PR approved", "github:acme-reviewbot[bot]", "unknown", "pr"),  # sanctioned
        QA,
        ("jira", "Status: QA", "reviewbot", "agent"),  # sanctioned agent outside its stages
        MERGED,
    ]
    r = check(make_log({"c": steps}), design)
    assert categories(r, "performer") == [
        ("agent_in_human_stage", "triage"),
        ("agent_out_of_stage", "qa"),
    ]
    agent_only = load_design_text(
        GOOD.replace("performer: either\n    expected: 2d", "performer: agent\n    expected: 2d")
    )
    r = check(make_log({"c": HAPPY}), agent_only)
    assert ("human_in_agent_stage", "review") in categories(r, "performer")
    # unknown kinds are not judged when told so
    r = check(make_log({"c": HAPPY}), agent_only, unknown_kind=None)
    assert ("human_in_agent_stage", "review") in categories(r, "performer")  # "human" is known


def test_agent_matches_through_identity_resolution(design: Design) -> None:
    steps = [CREATED, BUILD, OPENED, REVIEW, ("github", "PR approved", "rb", "unknown", "pr"),
             ("jira", "Status: QA", "rb", "unknown"), MERGED]  # fmt: skip
    accounts = pl.DataFrame({"account_id": ["github:acme-reviewbot[bot]"], "actor_id": ["rb"]})
    r = check(make_log({"c": steps}), design, accounts=accounts)
    assert categories(r, "performer") == [("agent_out_of_stage", "qa")]
    r = check(make_log({"c": steps}), design)  # without resolution "rb" is a person
    assert categories(r, "performer") == []


def attrs(**tiers: list[str]) -> pl.DataFrame:
    cases = list(tiers)
    return pl.DataFrame(
        {
            "case_id": cases,
            "labels": [tiers[c] for c in cases],
            "components": [[] for _ in cases],
            "project": ["ACME" for _ in cases],
            "paths": [[] for _ in cases],
        },
        schema={"case_id": pl.String, "labels": pl.List(pl.String), "components": pl.List(pl.String),
                "project": pl.String, "paths": pl.List(pl.String)},
    )  # fmt: skip


def gate_of(r: Any, case: str) -> dict[str, Any]:
    row: dict[str, Any] = r.gates.filter(pl.col("case_id") == case).row(0, named=True)
    return row


def test_gate_violations(design: Design) -> None:
    pre = [CREATED, BUILD, OPENED, REVIEW]
    cases = {
        "ok2": [*pre, approved("ann"), approved("bob"), QA, MERGED],
        "two_same": [*pre, approved("ann"), approved("ann"), QA, MERGED],
        "with_author": [*pre, approved("ann"), approved("dev"), QA, MERGED],
        "late": [*pre, QA, MERGED, approved("ann")],
        "agents": [*pre, approved("bot1", A), approved("bot2", A), QA, MERGED],
        "none": [*pre, QA, MERGED],
        "agent_rev": [*pre, approved("bot1", A), QA, MERGED],
        "human_one": [*pre, approved("ann"), QA, MERGED],
        "self_only": [*pre, approved("dev"), QA, MERGED],
    }
    tiers = attrs(ok2=["security"], two_same=["security"], with_author=["Security"],
                  late=["migration"], agents=["payments"], none=[], agent_rev=[],
                  human_one=["migration"], self_only=["migration"])  # fmt: skip
    r = check(make_log(cases), design, case_attrs=tiers)
    verdicts = {c: (gate_of(r, c)["tier"], gate_of(r, c)["violation"]) for c in cases}
    assert verdicts == {
        "ok2": ("high_stakes", None),
        "two_same": ("high_stakes", "missing_two_humans"),
        "with_author": ("high_stakes", "self_approval"),
        "late": ("irreversible", "approval_after_merge"),
        "agents": ("high_stakes", "agent_only_approval"),
        "none": ("reversible", "no_approval"),
        "agent_rev": ("reversible", None),
        "human_one": ("irreversible", None),
        "self_only": ("irreversible", "self_approval"),
    }
    assert gate_of(r, "ok2")["approvers"] == ["ann", "bob"]
    details = dict(
        r.deviations.filter(pl.col("aspect") == "gate").select("case_id", "detail").iter_rows()
    )
    assert details["with_author"].endswith("(the author, dev, approved their own change)")
    assert details["late"].endswith("(enough approvals came only after it)")
    assert gate_of(r, "with_author")["author"] == "dev"
    gate_devs = r.deviations.filter(pl.col("aspect") == "gate")
    assert gate_devs.height == 6 and set(gate_devs["event_id"].str.contains("/").to_list()) == {
        True
    }


def test_tier_from_paths_components_projects(design: Design) -> None:
    tiers = pl.DataFrame(
        {"case_id": ["p", "c", "o", "n"], "labels": [[], [], [], None],
         "components": [[], ["Billing"], [], []], "project": [None, None, "ops", None],
         "paths": [["infra/prod/db/x.tf"], [], [], ["infra/staging/a"]]},
        schema={"case_id": pl.String, "labels": pl.List(pl.String), "components": pl.List(pl.String),
                "project": pl.String, "paths": pl.List(pl.String)},
    )  # fmt: skip
    got = dict(tiers.select("case_id", design.tier_expr().alias("t")).iter_rows())
    assert got == {"p": "high_stakes", "c": "high_stakes", "o": "irreversible", "n": "reversible"}


def test_author_falls_back_to_build_stage(design: Design) -> None:
    steps = [
        CREATED,
        ("jira", "Status: In Progress", "kim", H),
        REVIEW,
        ("github", "PR approved", "kim", H),
        QA,
        MERGED,
    ]
    r = check(make_log({"c": steps}), design)
    assert gate_of(r, "c")["author"] == "kim" and gate_of(r, "c")["violation"] == "self_approval"


def test_timing(design: Design) -> None:
    r = check(
        make_log({"c": HAPPY}, hours=30), design
    )  # each step 30 h: review 2 steps = 60 h > 48 h
    over = r.timing.filter(pl.col("over"))
    assert over["stage"].to_list() == ["review"]
    assert over["duration_s"].item() == 60 * 3600
    assert categories(r, "time") == [("over_expected", "review")]
    r = check(make_log({"c": HAPPY}, hours=30), design, stall_factor=2.0)
    assert categories(r, "time") == []


def test_allow_list(design: Design) -> None:
    steps = [CREATED, BUILD, QA, MERGED]
    allowing = load_design_text(GOOD)  # allows build -> qa
    assert categories(check(make_log({"c": steps}), design), "flow") == [("skipped", "review")]
    r = check(make_log({"c": steps}), allowing)
    assert categories(r, "flow") == [] and r.cases["fitness"].item() == 1.0
    assert r.summary["suppressed_by_allow"] == 1
    assert categories(check(make_log({"c": steps}), allowing, allow=False), "flow") != []
    # an activity pattern narrows a rule to the event the deviation is at
    bot_steps = [*HAPPY[:3], ("github", "Commit pushed", "reviewbot", A, "pr"), *HAPPY[3:]]
    by_activity = load_design_text(
        GOOD + '  - {kind: agent_out_of_stage, actor: reviewbot, activity: "github:Commit*"}\n'
    )
    assert categories(check(make_log({"c": bot_steps}), design), "performer") == [
        ("agent_out_of_stage", "build")
    ]
    assert check(make_log({"c": bot_steps}), design).deviations["activity"].to_list() == [
        "github:Commit pushed"
    ]
    assert categories(check(make_log({"c": bot_steps}), by_activity), "performer") == []
    other_bot = [*HAPPY[:3], ("jira", "Status: In Progress", "reviewbot", A), *HAPPY[3:]]
    assert categories(check(make_log({"c": other_bot}), by_activity), "performer") == [
        ("agent_out_of_stage", "build")
    ]
    by_case = load_design_text(GOOD + "  - {kind: gate, case: C-1}\n")
    r = check(make_log({"jira:C-1": [*HAPPY[:4], QA, MERGED]}), by_case)
    assert categories(r, "gate") == []


def test_shuffled_input_gives_the_same_result(design: Design) -> None:
    pre = [CREATED, BUILD, OPENED, REVIEW]
    log = make_log({
        "a": HAPPY, "b": [*pre, MERGED, approved("x")], "c": [CREATED, BUILD, QA, REVIEW, QA, MERGED],
        "d": [*pre, ("github", "PR approved", "bot", A, "pr"), ("jira", "Status: Triage", "bot", A), MERGED],
    })  # fmt: skip
    # ties in time are broken by seq: duplicate a timestamp
    log = log.with_columns(
        pl.when(pl.col("event_id") == "a/2")
        .then(T0 + dt.timedelta(hours=1))
        .otherwise(pl.col("timestamp"))
        .alias("timestamp")
    )
    base = check(log, design)
    for seed in range(3):
        other = check(log.sample(fraction=1.0, shuffle=True, seed=seed), design)
        for name, df in base.frames().items():
            assert other.frames()[name].equals(df), name
        assert other.summary == base.summary


def test_impact_and_summary(design: Design) -> None:
    log = make_log(
        {"a": HAPPY, "b": [CREATED, BUILD, OPENED, REVIEW, approved("r"), MERGED, MERGED, MERGED]}
    )
    r = check(log, design)
    imp = r.impact.filter(pl.col("category") == "skipped").row(0, named=True)
    assert imp["cases"] == 1 and imp["delta_s"] == pytest.approx(3600.0)
    assert r.summary["deviations_by_category"] == {"skipped": 1}
    assert r.summary["log_fitness"] == pytest.approx(1 - 1 / (9 + 1))


def test_store_result(design: Design) -> None:
    import wfmine

    store = wfmine.open(":memory:")
    store_result(store, check(make_log({"a": HAPPY}), design))
    cases = store.result("conformance_cases")
    assert cases is not None and cases.height == 1
    assert store.result("conformance_deviations") is not None


def test_design_petri_net_and_explanations(design: Design) -> None:
    net, im, _fm = design_petri_net(design)
    assert len(net.places) == 7 and len(im) == 1
    log = make_log(
        {"a": HAPPY, "b": [CREATED, BUILD, REVIEW, MERGED], "c": [CREATED, BUILD, REVIEW, MERGED]}
    )
    ex = explain_variants(log, design)
    assert ex.height == 1
    row = ex.row(0, named=True)
    assert row["cases"] == 2 and row["explanation"] == "missing qa"
    assert row["variant"] == ["triage", "build", "review", "deploy"]


def test_in_case_order_spares_the_sort_of_an_ordered_log() -> None:
    from wfmine.stages import in_case_order

    log = make_log({"a": HAPPY, "b": HAPPY})
    assert in_case_order(log)
    assert not in_case_order(log.reverse())
    # ties in time are ordered by seq, then event_id
    tied = log.with_columns(pl.lit(T0).alias("timestamp"))
    assert in_case_order(tied)
    assert not in_case_order(tied.with_columns((-pl.col("seq")).alias("seq")))
    same_seq = tied.with_columns(pl.lit(0, dtype=pl.Int64).alias("seq"))
    assert in_case_order(same_seq)  # "a/0" < "a/1" < ...
    assert not in_case_order(same_seq.with_columns(pl.col("event_id").reverse()))
    # a null key: sort to be safe (nulls last)
    assert not in_case_order(log.with_columns(pl.lit(None, dtype=pl.Int64).alias("seq")))
    assert in_case_order(log.head(1)) and in_case_order(log.clear())


def test_gate_patterns_match_each_source_activity_pair_missing_values_included() -> None:
    """A gate's patterns pick the events of the matching (source, activity) pairs only: a
    missing source matches only the pairs that have none."""
    from wfmine.conformance.gates import _matches

    events = pl.DataFrame(
        {
            "source": ["jira", "jira", "github", None, "github", None],
            "activity": ["Approved", "Done", "Approved", "Approved", "PR approved", None],
        }
    )
    pairs = events.select("source", "activity").unique()
    picked = events.select(
        _matches(pairs, ["jira:Approved", "github:PR *"]).alias("a"),
        _matches(pairs, [":Approved"]).alias("b"),
        _matches(pairs, []).alias("c"),
    )
    assert picked["a"].to_list() == [True, False, False, False, True, False]
    assert picked["b"].to_list() == [False, False, False, True, False, False]
    assert not picked["c"].any()


def test_case_attributes_of_cases_that_are_their_own_object() -> None:
    """One object per case (a standard log's, no union with the case's own object) or
    several (a PR folded into its issue): each case's labels, components and paths are the
    sorted distinct values of its objects', whichever way they are read."""
    from wfmine.conformance import case_attributes
    from wfmine.store import Store

    store = Store(":memory:")
    objects = [
        ("jira:A-1", "issue", "A-1", '{"labels": ["b", "a", "b"], "components": [{"name": "x"}]}'),
        ("jira:A-2", "issue", "A-2", '{"labels": [], "status_category": "To Do"}'),
        ("jira:A-3", "issue", "A-3", "{}"),
        ("github:r#pr/1", "pull_request", "1", '{"labels": ["c"], "paths": ["b.py", "a.py"]}'),
    ]
    store.connection.executemany(
        "INSERT INTO objects (object_id, object_type, key, attrs) VALUES (?, ?, ?, ?)", objects
    )
    own = pl.DataFrame({"case_id": ["jira:A-1", "jira:A-2", "jira:A-3"]}).with_columns(
        pl.col("case_id").alias("object_id")
    )
    attrs = case_attributes(store, own)
    assert attrs.rows() == [
        ("jira:A-1", ["a", "b"], ["x"], "A", [], None),
        ("jira:A-2", [], [], "A", [], True),
        ("jira:A-3", [], [], "A", [], None),
    ]
    folded = pl.DataFrame(
        {
            "case_id": ["jira:A-1", "jira:A-1", "jira:A-3"],
            "object_id": ["jira:A-1", "github:r#pr/1", "jira:A-3"],
        }
    )
    assert case_attributes(store, folded).rows() == [
        ("jira:A-1", ["a", "b", "c"], ["x"], "A", ["a.py", "b.py"], None),
        ("jira:A-3", [], [], "A", [], None),
    ]
    bare = pl.DataFrame({"case_id": ["jira:A-3"], "object_id": ["jira:A-3"]})
    assert case_attributes(store, bare).rows() == [("jira:A-3", [], [], "A", [], None)]


def test_case_table_by_case_rows_equals_the_joined_one() -> None:
    """The case table, impact and summary read by each deviation's case row (cases sorted,
    unique) equal those of the group-bys and joins on the case ids they stand in for."""
    import numpy as np
    from polars.testing import assert_frame_equal

    import wfmine.conformance as c
    from tests import _findings_org as org

    for seed in (1, 2):
        log, _ = org.build(seed=seed)
        result = check(log, org.as_design(org.DESIGN))
        cases = result.cases
        parts = (
            cases.select("case_id", "events", "start", "end", "duration_s"),
            result.visits,
            result.deviations,
            cases.select("case_id", "tier"),
            result.gates,
            cases.select("case_id", "open"),
        )
        ids = cases.get_column("case_id")
        rows = c._case_rows(ids, result.deviations.get_column("case_id"))
        assert rows is not None and rows.size == result.deviations.height
        at = (c._case_rows(ids, result.visits.get_column("case_id")),
              c._case_rows(ids, result.gates.get_column("case_id")))  # fmt: skip
        assert_frame_equal(c._case_table_by_rows(*parts, rows, *at), c._case_table(*parts))
        assert_frame_equal(cases, c._case_table(*parts))
        impact = c._impact(cases, result.deviations, rows)
        assert_frame_equal(impact, c.deviation_impact(cases, result.deviations))
        # a key that is not among the ids, or ids out of order: no rows
        assert c._case_rows(ids, pl.Series(["zz-not-a-case"])) is None
        assert c._case_rows(ids.reverse(), ids) is None
        assert np.array_equal(c._case_rows(ids, ids), np.arange(ids.len()))
