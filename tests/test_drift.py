"""wfmine.drift: change points of the practice, found where planted and only there.

Changes are planted by transforming a simulated organisation's flat log
from a given week on (the simulator itself is left alone):

- ``agent``: every approval in the review stage is done by the sanctioned
  review agent (an agent takes over a stage);
- ``stage``: every event of the check stage (QA) before the week is dropped
  (a stage added in that week);
- ``gate``: every item reaching the gated step after the week with one
  approver gets a second, human one (a gate tightened).

A planted change must be found within two weeks; the unmodified logs must
show no change at all.
"""

from __future__ import annotations

import datetime as dt
import subprocess
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from typer.testing import CliRunner

from wfmine.design import Design, load_design
from wfmine.drift import change_effects, change_points, design_changes, drift
from wfmine.store import Store

from .test_infer import ITEMS, build_org

ORGS = (("stage-teams", 1), ("project-teams", 1), ("platform", 1))
KINDS = ("agent", "stage", "gate")


def _week_of(log: pl.DataFrame, fraction: float) -> dt.date:
    ts = log.get_column("timestamp")
    lo, hi = ts.min(), ts.max()
    assert isinstance(lo, dt.datetime) and isinstance(hi, dt.datetime)
    at = lo + (hi - lo) * fraction
    day = at.date()
    return day - dt.timedelta(days=day.weekday())


def _check_stage(design: Design) -> str | None:
    """The stage after review that people own (QA, testing, verification)."""
    ids = design.stage_ids
    for sid in ids[2:-1]:
        st = design.stage(sid)
        if st.performer == "human" and any(p.startswith("jira:Status:") for p in st.activities):
            return sid
    return None


def plant(
    log: pl.DataFrame, design: Design, kind: str, fraction: float = 0.5
) -> tuple[pl.DataFrame, dt.date] | None:
    """``log`` with a change of ``kind`` planted from the week at ``fraction`` of its span."""
    from wfmine.design import map_stages

    week = _week_of(log, fraction)
    at = dt.datetime.combine(week, dt.time(), tzinfo=dt.UTC)
    staged = map_stages(log, design)
    after = pl.col("timestamp") >= at
    if kind == "agent":
        review = next((a for a in design.agents if "review" in a.stages), None)
        if review is None:
            return None
        hit = after & (pl.col("activity") == "PR approved") & (pl.col("source") == "github")
        out = staged.with_columns(
            pl.when(hit).then(pl.lit(review.id)).otherwise("actor_id").alias("actor_id"),
            pl.when(hit).then(pl.lit("agent")).otherwise("actor_kind").alias("actor_kind"),
            pl.when(hit).then(pl.lit(review.id)).otherwise("resource").alias("resource"),
        )
        return out.drop("stage"), week
    if kind == "stage":
        stage = _check_stage(design)
        if stage is None:
            return None
        out = staged.filter(~((pl.col("stage") == stage) & ~after).fill_null(False))
        return out.drop("stage"), week
    if kind == "gate":
        if not design.gates:
            return None
        gated = design.gates[0].before
        entry = (
            staged.filter(pl.col("stage") == gated)
            .group_by("case_id")
            .agg(pl.col("timestamp").min().alias("_gate"))
        )
        approvals = staged.filter(
            (pl.col("activity") == "PR approved") & (pl.col("source") == "github")
        ).join(entry, on="case_id")
        before_gate = approvals.filter(pl.col("timestamp") < pl.col("_gate"))
        one = (
            before_gate.group_by("case_id")
            .agg(pl.col("actor_id").n_unique().alias("n"), pl.all().last())
            .filter((pl.col("n") == 1) & (pl.col("_gate") >= at))
        )
        humans = (
            staged.filter((pl.col("actor_kind") == "human") & (pl.col("source") == "github"))
            .get_column("actor_id")
            .unique()
            .sort()
            .to_list()
        )
        if not humans or one.height == 0:
            return None
        pick = pl.Series([humans[i % len(humans)] for i in range(one.height)])
        pick2 = pl.Series([humans[(i + 1) % len(humans)] for i in range(one.height)])
        second = one.with_columns(
            pl.when(pl.col("actor_id") == pick).then(pick2).otherwise(pick).alias("actor_id"),
            pl.lit("human").alias("actor_kind"),
            (pl.col("timestamp") + pl.duration(seconds=30)).alias("timestamp"),
            (pl.col("event_id") + "/second").alias("event_id"),
        ).select(log.columns)
        out = pl.concat([log, second.cast(log.schema)]).sort(
            "case_id", "timestamp", "seq", "event_id"
        )
        return out, week
    raise ValueError(kind)


@pytest.fixture(scope="module")
def orgs(tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, Any]]:
    root = tmp_path_factory.mktemp("drift")
    out = []
    for shape, seed in ORGS:
        folder, db = build_org(root, shape, seed, items=ITEMS)
        with Store(db) as store:
            log = store.log()
            accounts = store.sql("SELECT account_id, actor_id FROM actor_accounts")
        out.append(
            {
                "name": f"{shape}/{seed}",
                "log": log,
                "accounts": accounts,
                "design": load_design(folder / "design.yaml"),
                "folder": folder,
            }
        )
    return out


def test_no_change_is_reported_where_none_was_planted(orgs: list[dict[str, Any]]) -> None:
    for org in orgs:
        found, tested, weeks = change_points(org["log"], org["design"], accounts=org["accounts"])
        print(f"\n{org['name']}: {tested} series over {weeks} weeks, {found.height} change points")
        assert tested >= 5
        assert found.height == 0, found.select("series", "week", "p_adjusted").rows()


def test_planted_changes_are_found_within_two_weeks(orgs: list[dict[str, Any]]) -> None:
    expect = {"agent": "performer", "stage": "paths", "gate": "gate"}
    lines = []
    found_all = total = 0
    for org in orgs:
        for kind in KINDS:
            planted = plant(org["log"], org["design"], kind)
            if planted is None:
                continue
            log, week = planted
            total += 1
            cps, _, _ = change_points(log, org["design"], accounts=org["accounts"])
            near = cps.filter(
                (pl.col("kind") == expect[kind])
                & ((pl.col("week") - week).dt.total_days().abs() <= 14)
            )
            error = int((near.get_column("week")[0] - week).days // 7) if near.height else None
            lines.append(
                f"{org['name']:<18} {kind:<6} planted {week}  found "
                f"{near.get_column('week')[0] if near.height else '-'} "
                f"(error {error} weeks; {cps.height} change points in all)"
            )
            found_all += int(near.height > 0)
            # nothing else moves: every change point reported is near the planted week
            far = cps.filter((pl.col("week") - week).dt.total_days().abs() > 14)
            assert far.height == 0, far.rows()
    print("\n" + "\n".join(lines) + f"\nfound {found_all}/{total}")
    assert total >= 7
    assert found_all >= total - 1  # a planted change may touch too few items to be seen


def test_design_changes_from_the_file_and_git(tmp_path: Path, orgs: list[dict[str, Any]]) -> None:
    org = orgs[0]
    planted = plant(org["log"], org["design"], "stage")
    assert planted is not None
    log, week = planted
    text = (org["folder"] / "design.yaml").read_text(encoding="utf-8")
    path = tmp_path / "design.yaml"
    path.write_text(
        text + f"changes:\n  - {{date: {week.isoformat()}, description: QA stage added}}\n",
        encoding="utf-8",
    )
    listed = design_changes(path)
    assert listed.rows() == [(week, "QA stage added", "changes")]
    effects, verdicts = change_effects(log, org["design"], listed, accounts=org["accounts"])
    conf = effects.filter(pl.col("metric") == "conformance rate").row(0, named=True)
    assert conf["after"] > conf["before"] and conf["significant"]
    assert verdicts.get_column("took_effect").to_list() == [True]
    # changes outside the log's span cannot be measured there, and say why
    last = log.get_column("timestamp").max()
    first = log.get_column("timestamp").min()
    assert isinstance(last, dt.datetime) and isinstance(first, dt.datetime)
    outside = pl.DataFrame(
        {
            "date": [last.date() + dt.timedelta(days=30), first.date() - dt.timedelta(days=30)],
            "description": ["later", "earlier"],
            "source": ["changes", "changes"],
        }
    )
    _, late = change_effects(log, org["design"], outside, accounts=org["accounts"])
    assert late.get_column("took_effect").to_list() == [None, None]
    assert late.get_column("summary").to_list() == [
        f"too early to tell: made after the log's last event ({last:%Y-%m-%d})",
        f"nothing to compare: made before the log's first event ({first:%Y-%m-%d})",
    ]
    # git history: each commit of the file is a change
    repo = tmp_path / "repo"
    repo.mkdir()
    when = "2026-03-02T10:00:00+00:00"
    env = {"GIT_AUTHOR_DATE": when, "GIT_COMMITTER_DATE": when, "PATH": "/usr/bin:/bin"}
    (repo / "design.yaml").write_text(text, encoding="utf-8")
    for args in (
        ["init", "-q"],
        ["add", "design.yaml"],
        ["-c", "user.name=t", "-c", "user.email=t@x", "commit", "-q", "-m", "first design"],
    ):
        subprocess.run(["git", *args], cwd=repo, env=env, check=True, capture_output=True)
    hist = design_changes(repo / "design.yaml")
    assert hist.height == 1 and hist.get_column("source").to_list() == ["git"]
    assert hist.get_column("date").to_list() == [dt.date(2026, 3, 2)]
    # outside a repository: no history, no error
    assert design_changes(path).filter(pl.col("source") == "git").height == 0


def test_drift_report_and_cli(tmp_path: Path, orgs: list[dict[str, Any]]) -> None:
    org = orgs[0]
    report = drift(org["log"], org["design"], accounts=org["accounts"], permutations=199)
    payload = report.as_dict()
    assert set(payload) >= {"change_points", "design_changes", "effects", "verdicts", "weeks"}
    from wfmine.cli import app

    db = tmp_path.parent / "none.duckdb"
    res = CliRunner().invoke(app, ["drift", "--db", str(db)])
    assert res.exit_code == 2
    res = CliRunner().invoke(app, ["drift", "--alpha", "3"])
    assert res.exit_code == 2


def _series_rows(series: list[Any]) -> list[tuple[Any, ...]]:
    return [
        (
            s.name,
            s.kind,
            s.stage,
            s.weeks,
            s.labels,
            None if s.counts is None else s.counts.tolist(),
            None if s.values is None else [sorted(v.tolist()) for v in s.values],
        )
        for s in series
    ]


def test_weekly_series_read_alike_in_the_kernels_order_and_out_of_it(
    orgs: list[dict[str, Any]],
) -> None:
    """The gate series read with array operations (stage events in the kernel's order) counts
    what the joins on case ids count (the same events shuffled), also where an activity of
    the gate's approvals comes from another source too and only one source's matches."""
    from wfmine.conformance import check
    from wfmine.drift import _gate_series, weekly_series
    from wfmine.stages import stage_events

    for org in orgs:
        design, log = org["design"], org["log"]
        gate = design.gates[0]
        # an approval's activity name under a source the gate's patterns do not name
        named = log.filter(pl.col("activity") == "PR approved")
        other = named.head(named.height // 3).with_columns(
            pl.lit("slack").alias("source"), (pl.col("event_id") + "-x").alias("event_id")
        )
        for variant in (
            log,
            pl.concat([log, other]).sort("case_id", "timestamp", "seq", "event_id"),
        ):
            staged = stage_events(variant, design, accounts=org["accounts"])
            result = check(variant, design, accounts=org["accounts"], staged=staged)
            series, weeks = weekly_series(variant, design, result=result, staged=staged)
            assert any(s.kind == "gate" for s in series), org["name"]
            # the series' events: those of the check's cases
            judged = staged.join(result.cases.select("case_id"), on="case_id", how="semi")
            shuffled = judged.sample(fraction=1.0, shuffle=True, seed=3)
            again = _gate_series(shuffled, design, weeks)
            gated = next(s for s in series if s.kind == "gate")
            assert again is not None and gated.name == f"approvers before {gate.before}"
            assert again.labels == gated.labels and again.counts.tolist() == gated.counts.tolist()
            # a gated event without a timestamp: the in-order reading steps aside
            blank = judged.with_columns(
                pl.when((pl.col("stage") == gate.before) & (pl.int_range(pl.len()) % 5 == 0))
                .then(None)
                .otherwise(pl.col("timestamp"))
                .alias("timestamp")
            )
            one = _gate_series(blank, design, weeks)
            two = _gate_series(blank.sample(fraction=1.0, shuffle=True, seed=4), design, weeks)
            assert (one is None) == (two is None)
            if one is not None and two is not None:
                assert _series_rows([one]) == _series_rows([two])
