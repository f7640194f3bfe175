"""The one stage-visit kernel (wfmine.stages): which events move a case, and how.

Each test is one real-world behaviour of multi-source work: an approval that
lands after the tracker moved on, a tracker that lags behind the pull request,
the tracker moving back, the tracker holding work in its stage (Blocked), a pull request with no ticket, a classic log where
every event is its own step. Plus the invariants: row order never changes a
result, and the visits agree with the events.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wfmine.design import load_design_text
from wfmine.model import LOG_SCHEMA
from wfmine.stages import VISIT_SCHEMA, case_scope, stage_events, stage_visits

DESIGN = load_design_text(
    """
stages:
  - {id: triage, activities: ["jira:Issue created"]}
  - {id: build, activities: ["jira:Status: In Progress", "github:Commit pushed",
                             "github:Check passed"]}
  - {id: review, activities: ["jira:Status: In Review", "github:PR approved",
                              "github:Changes requested"]}
  - {id: qa, activities: ["jira:Status: QA"]}
  - {id: deploy, activities: ["jira:Status: Done", "github:PR merged"]}
transitions: [[triage, build], [build, review], [review, build], [review, qa], [qa, deploy],
              [deploy, build]]
"""
)
T0 = dt.datetime(2025, 3, 3, 9, tzinfo=dt.UTC)

# (source, activity[, actor]) shorthands; jira events are the issue's, github ones the PR's
CREATED = ("jira", "Issue created")
BUILD = ("jira", "Status: In Progress")
REVIEW = ("jira", "Status: In Review")
QA = ("jira", "Status: QA")
DONE = ("jira", "Status: Done")
COMMIT = ("github", "Commit pushed")
APPROVED = ("github", "PR approved")
CHANGES = ("github", "Changes requested")
MERGED = ("github", "PR merged")
CI = ("github", "Check passed", None)  # nobody performed it


def make_log(cases: dict[str, list[tuple[Any, ...]]]) -> pl.DataFrame:
    rows: list[dict[str, Any]] = []
    for cid, steps in cases.items():
        for i, step in enumerate(steps):
            source, activity = step[0], step[1]
            actor = step[2] if len(step) > 2 else "ann"
            issue = source == "jira"
            rows.append(
                {
                    "case_id": cid,
                    "activity": activity,
                    "timestamp": T0 + dt.timedelta(hours=i),
                    "seq": i,
                    "event_id": f"{cid}/{i}",
                    "actor_id": actor,
                    "resource": actor,
                    "actor_kind": "human" if actor else None,
                    "team": None,
                    "source": source,
                    "object_id": cid if issue else f"{cid}#pr",
                    "object_type": "issue" if issue else "pull_request",
                }
            )
    return pl.DataFrame(rows, schema=LOG_SCHEMA)


def stages_of(steps: list[tuple[Any, ...]]) -> list[str]:
    return stage_visits(stage_events(make_log({"c": steps}), DESIGN))["stage"].to_list()


def test_a_late_approval_is_late_work_of_review_not_a_return_to_it() -> None:
    steps = [CREATED, BUILD, REVIEW, APPROVED, QA, APPROVED, DONE]
    assert stages_of(steps) == ["triage", "build", "review", "qa", "deploy"]
    events = stage_events(make_log({"c": steps}), DESIGN)
    late = events.row(5, named=True)
    assert (late["stage"], late["at_stage"], late["sets_stage"]) == ("review", "qa", False)


def test_other_sources_move_a_case_forward_never_back() -> None:
    # review happens on GitHub only: the approval moves the case on; a later commit
    # (rework inside review while the tracker stays put) does not pull it back
    assert stages_of([CREATED, BUILD, COMMIT, APPROVED, CHANGES, COMMIT, APPROVED, QA]) == [
        "triage", "build", "review", "qa",
    ]  # fmt: skip


def test_the_tracker_moving_back_moves_the_case_back() -> None:
    assert stages_of([CREATED, BUILD, REVIEW, QA, BUILD, REVIEW, QA, DONE]) == [
        "triage", "build", "review", "qa", "build", "review", "qa", "deploy",
    ]  # fmt: skip
    # a reopen: Done -> In Progress
    assert stages_of([CREATED, BUILD, DONE, BUILD, DONE])[-2:] == ["build", "deploy"]


def test_a_tracker_catching_up_is_no_move_but_a_stage_never_seen_is() -> None:
    # approved and merged before the ticket said "In Review": the ticket is late
    assert stages_of([CREATED, BUILD, APPROVED, MERGED, REVIEW, DONE]) == [
        "triage", "build", "review", "deploy",
    ]  # fmt: skip
    # merged before QA, then QA: a real visit, out of the designed order
    assert stages_of([CREATED, BUILD, REVIEW, MERGED, QA, DONE]) == [
        "triage", "build", "review", "deploy", "qa", "deploy",
    ]  # fmt: skip


def test_the_tracker_changing_status_within_its_stage_holds_the_case_there() -> None:
    # the pull request went to review on GitHub, then the ticket was moved In Progress ->
    # Blocked (both build): the work is blocked in build, not waiting in review
    blocked = ("jira", "Status: Blocked")
    design = load_design_text(
        """
stages:
  - {id: build, activities: ["jira:Status: In Progress", "jira:Status: Blocked",
                             "github:Commit pushed"]}
  - {id: review, activities: ["jira:Status: In Review", "github:PR approved"]}
transitions: [[build, review], [review, build]]
"""
    )
    steps = [BUILD, COMMIT, APPROVED, blocked, BUILD, REVIEW]
    visits = stage_visits(stage_events(make_log({"c": steps}), design))
    assert visits["stage"].to_list() == ["build", "review", "build", "review"]
    assert visits["start"].to_list()[2] == T0 + dt.timedelta(hours=3)  # from the block
    # the same status again, or a lagging ticket moving forward, holds nothing back
    again = [BUILD, COMMIT, APPROVED, BUILD, REVIEW]
    assert stage_visits(stage_events(make_log({"c": again}), design))["stage"].to_list() == [
        "build", "review",
    ]  # fmt: skip


def test_events_nobody_performed_never_move_a_case() -> None:
    assert stages_of([CREATED, BUILD, REVIEW, CI, QA]) == ["triage", "build", "review", "qa"]


def test_a_case_without_its_work_item_takes_every_performed_event_as_its_state() -> None:
    # a pull request linked to no ticket: its own events set its stage, back moves included
    log = make_log({"pr": [COMMIT, APPROVED, COMMIT, APPROVED, MERGED]})
    visits = stage_visits(stage_events(log, DESIGN))
    assert visits["stage"].to_list() == ["build", "review", "build", "review", "deploy"]


def test_a_classic_log_makes_every_event_its_own_step() -> None:
    design = load_design_text(
        "stages: [{id: a, activities: ['xes:a']}, {id: b, activities: ['xes:b']}]"
    )
    log = pl.DataFrame(
        {
            "case_id": ["1"] * 4,
            "activity": ["a", "b", "a", "b"],
            "timestamp": [T0 + dt.timedelta(hours=i) for i in range(4)],
            "seq": list(range(4)),
            "event_id": [f"e{i}" for i in range(4)],
            "source": ["xes"] * 4,
            "object_id": ["1"] * 4,
            "object_type": ["case"] * 4,
        }
    )
    assert stage_visits(stage_events(log, design))["stage"].to_list() == ["a", "b", "a", "b"]


def test_the_design_can_name_the_events_that_set_the_stage() -> None:
    design = DESIGN.model_copy(update={"state": ["github:*"]})
    # now GitHub is the authority: the commit after the approval is a move back
    log = make_log({"c": [CREATED, BUILD, APPROVED, COMMIT]})
    assert stage_visits(stage_events(log, design))["stage"].to_list()[-2:] == ["review", "build"]


def test_visits_agree_with_the_events() -> None:
    log = make_log({"c": [CREATED, BUILD, REVIEW, APPROVED, QA, APPROVED, DONE],
                    "d": [CREATED, BUILD, CI]})  # fmt: skip
    events = stage_events(log, DESIGN)
    visits = stage_visits(events)
    assert visits.schema == VISIT_SCHEMA
    assert visits.group_by("case_id").agg(pl.len()).sort("case_id")["len"].to_list() == [5, 2]
    qa = visits.filter((pl.col("case_id") == "c") & (pl.col("stage") == "qa")).row(0, named=True)
    # the late approval happens in the qa visit but does not extend it
    assert qa["last"] == qa["start"] and qa["events"] == 2
    assert qa["end"] == T0 + dt.timedelta(hours=6)
    in_scope, out = case_scope(events)
    assert in_scope["case_id"].to_list() == ["c", "d"] and out.height == 0


STEPS = [CREATED, BUILD, REVIEW, QA, DONE, COMMIT, APPROVED, CHANGES, MERGED, CI]


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.lists(st.sampled_from(STEPS), min_size=1, max_size=12), min_size=1, max_size=5),
    st.randoms(use_true_random=False),
)
def test_row_order_never_changes_the_visits(cases: list[list[Any]], rnd: Any) -> None:
    log = make_log({f"c{i}": steps for i, steps in enumerate(cases)})
    expected = stage_visits(stage_events(log, DESIGN))
    order = list(range(log.height))
    rnd.shuffle(order)
    shuffled = log[order]
    assert stage_visits(stage_events(shuffled, DESIGN)).equals(expected)


@pytest.mark.parametrize("n", [0, 1])
def test_tiny_logs(n: int) -> None:
    log = make_log({"c": [BUILD]})[:n]
    assert stage_visits(stage_events(log, DESIGN)).height == n


def test_visits_of_events_out_of_the_kernels_order_are_the_same() -> None:
    """Visits are grouped on runs of rows when the events are in the kernel's order, on the
    (case, visit) keys otherwise: both give the same visits."""
    log = make_log({"c": [CREATED, BUILD, REVIEW, APPROVED, QA, APPROVED, DONE],
                    "d": [CREATED, BUILD, CI], "e": [BUILD, REVIEW, BUILD]})  # fmt: skip
    events = stage_events(log, DESIGN)
    swapped = pl.concat(
        [events.filter(pl.col("case_id") == "d"), events.filter(pl.col("case_id") != "d")]
    )
    assert stage_visits(swapped).sort("case_id", "visit").equals(stage_visits(events))


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.lists(st.sampled_from([*STEPS, ("slack", "Message posted")]), max_size=8),
            st.sampled_from(["issue", "pull_request", "thread"]),
        ),
        min_size=1,
        max_size=6,
    ),
    st.sampled_from(["work_items", "mapped", "all"]),
)
def test_case_scope_is_the_same_read_off_the_case_runs_or_grouped(
    cases: list[tuple[list[Any], str]], scope: Any
) -> None:
    """In the kernel's order the cases are runs of rows (their figures read at the runs' ends);
    out of it they are grouped: the same cases in scope, the same left out."""
    log = make_log({f"c{i}": steps or [CREATED] for i, (steps, _) in enumerate(cases)})
    kinds = {f"c{i}": kind for i, (_, kind) in enumerate(cases)}
    log = log.with_columns(  # some cases are no work item; some events belong to no object
        pl.col("case_id").replace_strict(kinds).alias("object_type"),
        pl.when(pl.col("seq") % 3 == 2)
        .then(None)
        .otherwise(pl.col("object_id"))
        .alias("object_id"),
    )
    events = stage_events(log, DESIGN)
    in_scope, out = case_scope(events, scope)
    grouped_in, grouped_out = case_scope(events.reverse(), scope)
    assert in_scope.equals(grouped_in) and out.equals(grouped_out)
