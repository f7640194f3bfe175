"""Stall limits per kind of work item: where one stage's visits of one project split by
issue type (or priority) into kinds whose usual times are far apart, each kind's own visits
set its limit (``wfmine.findings.stalls``).

Built from first principles (hours after a Monday morning), not from any simulator.
"""

from __future__ import annotations

import datetime as dt
import json

import polars as pl

from wfmine.findings._events import staged_events
from wfmine.findings.failures import failure_occurrences
from wfmine.findings.stalls import MIN_VISITS, limit_of, stall_limits, work_item_kinds
from wfmine.model import LOG_SCHEMA
from wfmine.stages import stage_visits

from ._findings_org import DESIGN, as_design

T0 = dt.datetime(2025, 3, 3, 9, tzinfo=dt.UTC)  # a Monday
#: the design gives qa no expected time: its limit is statistical
SILENT = as_design(
    {**DESIGN, "stages": [{k: v for k, v in s.items() if k != "expected" or s["id"] != "qa"}
                          for s in DESIGN["stages"]]}
)  # fmt: skip


def _org(
    kinds: dict[str, tuple[int, float]],
    stalled: dict[str, float] | None = None,
    projects: tuple[str, ...] = ("APP",),
    attr: str = "type",
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(flat log, events attrs): per project, ``n`` items of each kind whose QA visit takes
    about ``hours`` (nobody acts in between); ``stalled`` {case: hours} overrides one.

    Items start on weekdays, so visits of hours stay within a day and visits of days
    are counted on weekdays as they are in calendar time, give or take a weekend."""
    rows: list[dict[str, object]] = []
    attrs: dict[str, str] = {}
    for project in projects:
        i = 0
        for kind, (n, hours) in kinds.items():
            for j in range(n):
                i += 1
                case = f"jira:{project}-{i}"
                start = 24.0 * 7 * (i % 9) + 24 * (i % 2)  # Mondays and Tuesdays
                took = (stalled or {}).get(case, hours * (1 + (j % 4) / 6))
                created = f"{case}/created"
                attrs[created] = json.dumps({attr: kind, "project": project})
                for h, act, team in (
                    (start - 2, "Issue created", "product"),
                    (start, "Status: QA", "qa"),
                    (start + took, "Status: Done", "operations"),
                ):
                    rows.append({
                        "case_id": case, "activity": act, "h": h, "team": team,
                        "event_id": created if act == "Issue created" else f"{case}/{len(rows)}",
                    })  # fmt: skip
    out = []
    for seq, r in enumerate(rows):
        row = {"seq": seq, "actor_kind": "human", "source": "jira", "actor_id": str(r["team"]),
               "object_type": "issue", "object_id": r["case_id"], **r}  # fmt: skip
        row["timestamp"] = T0 + dt.timedelta(hours=float(row.pop("h")))  # type: ignore[arg-type]
        out.append({k: row.get(k) for k in LOG_SCHEMA})
    ea = pl.DataFrame(
        {"event_id": list(attrs), "attrs": list(attrs.values())},
        schema={"event_id": pl.String, "attrs": pl.String},
    )
    return pl.DataFrame(out, schema=LOG_SCHEMA), ea


def _stalls(log: pl.DataFrame, ea: pl.DataFrame | None) -> list[str]:
    occ = failure_occurrences(staged_events(log, SILENT), SILENT, ea)
    return sorted(occ.filter(pl.col("type") == "stall")["case_id"].to_list())


def test_work_item_kinds_are_read_from_the_creation_event() -> None:
    log, ea = _org({"Bug": (2, 2.0), "Story": (1, 48.0)})
    kinds = work_item_kinds(staged_events(log, SILENT), ea)
    assert kinds is not None
    assert dict(kinds.select("case_id", "type").rows()) == {
        "jira:APP-1": "Bug", "jira:APP-2": "Bug", "jira:APP-3": "Story",
    }  # fmt: skip
    assert kinds["priority"].null_count() == kinds.height
    assert work_item_kinds(staged_events(log, SILENT), None) is None


def test_a_fast_kind_gets_its_own_limit_and_its_stall_is_found() -> None:
    """Bugs re-tested in two hours, stories tested over four days, in one project: the pooled
    limit (set by the stories) is blind to a bug that sat four days; the bugs' own limit
    sees it, and no story (nor any other bug) is a stall."""
    log, ea = _org({"Bug": (14, 2.0), "Story": (14, 96.0)}, stalled={"jira:APP-3": 96.0})
    assert _stalls(log, None) == []  # one limit for all: the bug's four days look usual
    assert _stalls(log, ea) == ["jira:APP-3"]
    events = staged_events(log, SILENT)
    kinds = work_item_kinds(events, ea)
    limits = stall_limits(stage_visits(events), SILENT, per_project=True, kinds=kinds)
    qa = limits.filter(pl.col("stage") == "qa")
    by = {r["kind"]: r for r in qa.iter_rows(named=True)}
    assert set(by) == {None, "type=Bug", "type=Story"}
    assert by["type=Bug"]["limit_s"] < 24 * 3600 < 4 * 24 * 3600 < by["type=Story"]["limit_s"]
    assert by["type=Bug"]["basis"].endswith(
        ", of its Bug items only (the issue types' usual times here are far apart)"
    )
    assert "on weekdays" in by["type=Bug"]["basis"]
    assert len(by["type=Bug"]["cases"]) == 14 and "jira:APP-3" in by["type=Bug"]["cases"]
    # a visit picks its kind's limit; a case of no kind keeps the stage's
    frame = pl.DataFrame({"case_id": ["jira:APP-3", "jira:APP-20", "jira:OTHER-1"],
                          "stage": ["qa"] * 3})  # fmt: skip
    got = dict(limit_of(frame, limits).select("case_id", "limit_s").rows())
    assert got["jira:APP-3"] == by["type=Bug"]["limit_s"]
    assert got["jira:APP-20"] == by["type=Story"]["limit_s"]
    assert got["jira:OTHER-1"] == by[None]["limit_s"]


def test_a_slow_kind_is_not_judged_by_the_fast_one() -> None:
    """The same split also keeps a slow kind's usual visits from being stalls: each kind is
    judged by its own visits, and a story that sat far longer than stories do is found."""
    log, ea = _org({"Bug": (20, 2.0), "Story": (12, 96.0)}, stalled={"jira:APP-25": 24 * 30.0})
    assert _stalls(log, ea) == ["jira:APP-25"]


def test_kinds_whose_times_overlap_share_the_pooled_limit() -> None:
    """Priorities that do not change how long QA takes split nothing: no kind rows."""
    log, ea = _org({"High": (12, 30.0), "Low": (12, 40.0)}, attr="priority")
    events = staged_events(log, SILENT)
    limits = stall_limits(
        stage_visits(events), SILENT, per_project=True, kinds=work_item_kinds(events, ea)
    )
    assert limits["kind"].null_count() == limits.height
    assert limits.columns == ["stage", "scope", "visits", "limit_s", "basis", "kind", "cases"]


def test_alike_kinds_share_a_group_and_small_kinds_fall_back() -> None:
    """Stories and tasks both take days (their middle halves overlap): one limit for the
    two; a kind with fewer than MIN_VISITS visits keeps the project's limit."""
    log, ea = _org({"Bug": (12, 2.0), "Story": (12, 90.0), "Task": (12, 100.0),
                    "Spike": (MIN_VISITS - 1, 2.0)})  # fmt: skip
    events = staged_events(log, SILENT)
    limits = stall_limits(
        stage_visits(events), SILENT, per_project=True, kinds=work_item_kinds(events, ea)
    ).filter(pl.col("stage") == "qa")
    assert set(limits["kind"].drop_nulls()) == {"type=Bug", "type=Story,Task"}
    slow = limits.filter(pl.col("kind") == "type=Story,Task").row(0, named=True)
    assert slow["visits"] == 24 and "of its Story and Task items only" in slow["basis"]


def test_kinds_split_within_each_project() -> None:
    """With several projects, each project's own visits are split (its own limit's scope)."""
    log, ea = _org(
        {"Bug": (12, 2.0), "Story": (12, 96.0)},
        stalled={"jira:WEB-2": 96.0},
        projects=("WEB", "DATA"),
    )
    assert _stalls(log, ea) == ["jira:WEB-2"]
    events = staged_events(log, SILENT)
    limits = stall_limits(
        stage_visits(events), SILENT, per_project=True, kinds=work_item_kinds(events, ea)
    ).filter(pl.col("kind").is_not_null())
    assert set(limits.select("scope", "kind").rows()) == {
        ("WEB", "type=Bug"), ("WEB", "type=Story"), ("DATA", "type=Bug"), ("DATA", "type=Story"),
    }  # fmt: skip
    assert all(c.startswith("jira:WEB-") for c in limits.filter(pl.col("scope") == "WEB")
               .explode("cases")["cases"])  # fmt: skip


def test_the_design_expected_time_is_never_split() -> None:
    log, ea = _org({"Bug": (12, 2.0), "Story": (12, 96.0)})
    design = as_design(DESIGN)  # qa expects 3 days
    events = staged_events(log, design)
    limits = stall_limits(
        stage_visits(events), design, per_project=True, kinds=work_item_kinds(events, ea)
    )
    assert limits.filter(pl.col("stage") == "qa")["kind"].null_count() == 1
    assert limits.filter(pl.col("stage") == "qa").height == 1


def test_recoveries_and_pattern_evidence_read_the_kinds_limits() -> None:
    """The limit that found a stall is the one the recovery time and the pattern state: a
    bug stuck four days recovers from its kind's limit, and the stall pattern lists each
    kind's limit beside the stage's."""
    from wfmine.findings.failures import failure_patterns, judged_limits, stall_recoveries

    stalled = {"jira:APP-3": 96.0, "jira:APP-5": 90.0, "jira:APP-9": 80.0}
    log, ea = _org({"Bug": (14, 2.0), "Story": (14, 96.0)}, stalled=stalled)
    events = staged_events(log, SILENT)
    limits = judged_limits(events, SILENT, ea)
    assert limits.filter(pl.col("kind") == "type=Bug").height == 1
    recovered = stall_recoveries(events, SILENT, events_attrs=ea)
    assert sorted(recovered["case_id"]) == sorted(stalled)
    assert recovered.equals(stall_recoveries(events, SILENT, limits=limits))
    assert stall_recoveries(events, SILENT).height == 0  # without kinds: no stall at all
    found = failure_patterns(events, SILENT, ea, min_weeks=1, visits=stage_visits(events))
    stall = next(f for f in found if f.evidence["type"] == "stall")
    kinds = {k["kind"]: k["limit_s"] for k in stall.evidence["stall_limits_by_kind"]}
    bug = limits.filter(pl.col("kind") == "type=Bug")["limit_s"][0]
    assert kinds["type=Bug"] == round(bug, 1) and "type=Story" in kinds
