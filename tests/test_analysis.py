"""One analysis, computed once, read by the CLI, the report and the notebook alike.

The main job of the sample workspace (``wfmine discover``) used to run the
conformance check four times and the findings twice, and its report judged
every case at the default risk tier. Now one :class:`wfmine.analysis.Analysis`
computes each part once; these tests count the calls and compare what each
reader shows.
"""

from __future__ import annotations

import inspect
import json
import shutil
import sys
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import CodeType, FrameType
from typing import Any

import polars as pl
import pytest
from polars.testing import assert_frame_equal
from typer.testing import CliRunner

import wfmine
from wfmine import conformance, stages
from wfmine.analysis import Analysis
from wfmine.cli import app
from wfmine.findings import findings as find_all
from wfmine.findings import metrics
from wfmine.findings.actors import ai_events, behaviour_features
from wfmine.findings.failures import failure_occurrences
from wfmine.findings.seams import handoffs
from wfmine.store import Store


@contextmanager
def counting(**functions: Any) -> Iterator[Counter[str]]:
    """Count every call of ``functions`` however they were imported (a profile hook), on
    every thread: the report computes figures on a second one (Analysis.alongside)."""
    codes: dict[CodeType, str] = {f.__code__: name for name, f in functions.items()}
    counts: Counter[str] = Counter()
    lock = threading.Lock()

    def hook(frame: FrameType, event: str, arg: object) -> None:
        if event == "call" and frame.f_code in codes:
            with lock:
                counts[codes[frame.f_code]] += 1

    threading.setprofile(hook)
    sys.setprofile(hook)
    try:
        yield counts
    finally:
        sys.setprofile(None)
        threading.setprofile(None)  # type: ignore[arg-type]


@pytest.fixture
def workspace(sample_workspace: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "ws"
    shutil.copytree(sample_workspace, root)
    monkeypatch.chdir(root)
    return root


def test_the_main_job_computes_each_analysis_once(workspace: Path) -> None:
    with counting(
        check=conformance.check,
        stage_events=stages.stage_events,
        findings=find_all,
        metrics=metrics,
    ) as counts:
        result = CliRunner().invoke(app, ["discover", "--json"])
    assert result.exit_code == 0, result.output
    # the report of the same run reads the same analysis: nothing is computed again
    assert counts == {"check": 1, "stage_events": 1, "findings": 1, "metrics": 1}, counts


def test_the_main_job_shares_the_parts_of_findings_metrics_and_governance(
    workspace: Path,
) -> None:
    """What the findings, metrics, seams and governance read alike is computed once."""
    with counting(
        handoffs=handoffs,
        failure_occurrences=failure_occurrences,
        ai_events=ai_events,
        case_attributes=conformance.case_attributes,
        behaviour_features=behaviour_features,
        event_attrs=inspect.unwrap(Store.event_attrs),  # the method, not its lock
    ) as counts:
        result = CliRunner().invoke(app, ["discover", "--json"])
    assert result.exit_code == 0, result.output
    # the store's attrs are read once (Store.event_attrs: this run's frames or the file);
    # the AI signatures, case attributes and actor behaviour computed once; the failure occurrences once for findings, metrics and
    # governance (one set: a reopen the tracker flags counts in all three or none);
    # the team handoffs once (performers' own teams, automation's steps taken out)
    # for the seam table, the unowned-seam findings, the metrics and drift, and the
    # performer handoffs once
    assert counts == {
        "event_attrs": 1,
        "ai_events": 1,
        "case_attributes": 1,
        "behaviour_features": 1,
        "failure_occurrences": 1,
        "handoffs": 2,
    }, counts


def test_cli_notebook_and_report_show_the_same_scope_and_findings(workspace: Path) -> None:
    result = CliRunner().invoke(app, ["discover", "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    log = wfmine.Log(workspace / ".wfmine" / "store.duckdb")  # the workspace's design, by default
    assert log.scope.describe() == payload["scope"]["text"]
    assert log.events["case_id"].n_unique() == payload["log"]["cases"]
    ids = sorted(f["finding_id"] for f in payload["findings"])
    assert sorted(log.findings()["finding_id"].to_list()) == ids
    report = log.report()
    assert report.summary["scope"] == payload["scope"]["text"]
    assert payload["scope"]["text"] in repr(log)
    # the findings command reads the same analysis (and the workspace's design)
    listed = CliRunner().invoke(app, ["findings", "--json"])
    assert listed.exit_code == 0, listed.output
    assert sorted(f["finding_id"] for f in json.loads(listed.stdout)) == ids


@pytest.fixture
def store(sample_store: Path) -> Iterator[wfmine.Store]:
    with wfmine.Store(sample_store, read_only=True) as opened:
        yield opened


@pytest.fixture
def design_path(sample_workspace: Path) -> Path:
    return sample_workspace / "sample_logs" / "acme" / "design.yaml"


def test_a_window_is_stated_and_applied(store: wfmine.Store) -> None:
    whole = Analysis.of(store)
    recent = Analysis.of(store, window="30d")
    assert whole.scope.describe().endswith("all data")
    assert "last 30 days (" in recent.scope.describe()
    assert 0 < recent.scope.cases < whole.scope.cases
    # whole cases: a case with one event in the window keeps all its events
    ids = recent.log.select("case_id").unique()
    assert recent.log.height == whole.log.join(ids, on="case_id", how="semi").height


def test_the_scope_of_a_design_comes_from_the_check(store: wfmine.Store, design_path: Path) -> None:
    a = Analysis.of(store, design_path)
    assert a.conformance is not None and a.visits is not None
    assert a.scope.cases == a.conformance.summary["cases"] == a.log["case_id"].n_unique()
    assert a.scope.left_out == a.conformance.out_of_scope.height > 0
    assert set(a.visits["case_id"].unique()) <= set(a.log["case_id"].unique())
    paths = a.stage_paths
    assert paths is not None and paths["cases"].sum() == a.scope.cases
    assert abs(paths["coverage"].sum() - 1.0) < 1e-9


def test_a_file_rerun_reads_nothing_and_answers_for_the_same_cases(tmp_path: Path) -> None:
    """``wfmine discover FILE`` twice: the second run reads no byte of the unchanged file
    (the run's covered objects say which cases it holds); a new file in the same store is
    answered for alone, and a changed file is read again."""
    from wfmine.formats import tabular

    log = tmp_path / "log.csv"
    other = tmp_path / "other.csv"
    rows = ["case:concept:name,concept:name,time:timestamp,org:resource"]
    rows += [f"c{i % 7},a{i % 3},2024-01-0{1 + i % 9}T10:{i:02d}:00Z,r{i % 2}" for i in range(40)]
    log.write_text("\n".join(rows) + "\n", encoding="utf-8")
    other.write_text(rows[0] + "\nz1,x,2024-02-01T00:00:00Z,r9\nz1,y,2024-02-02T00:00:00Z,r9\n")
    db = ["--db", str(tmp_path / "s.duckdb")]
    first = CliRunner().invoke(app, ["discover", str(log), "--json", *db])
    assert first.exit_code == 0, first.output
    with counting(load=tabular.load) as loads:
        second = CliRunner().invoke(app, ["discover", str(log), "--json", *db])
    assert second.exit_code == 0, second.output
    a, b = json.loads(first.stdout), json.loads(second.stdout)
    assert loads["load"] == 0 and b["inputs"]["loaded"][0]["unchanged"] is True
    for key in ("log", "dfg", "variants", "start_activities", "end_activities", "scope", "seams"):
        assert a[key] == b[key], key
    # another file into the same store: its own cases only, then the first file's again
    alone = json.loads(CliRunner().invoke(app, ["discover", str(other), "--json", *db]).stdout)
    assert alone["log"]["cases"] == 1 and alone["log"]["events"] == 2
    again = json.loads(CliRunner().invoke(app, ["discover", str(log), "--json", *db]).stdout)
    assert again["log"] == a["log"] and again["inputs"]["loaded"][0]["unchanged"] is True
    # a changed file is read again
    log.write_text(log.read_text(encoding="utf-8") + "c0,a9,2024-01-20T10:00:00Z,r0\n")
    third = json.loads(CliRunner().invoke(app, ["discover", str(log), "--json", *db]).stdout)
    assert third["inputs"]["loaded"][0].get("unchanged", False) is False
    assert third["log"]["events"] == a["log"]["events"] + 1


def test_a_frame_without_the_needed_columns_is_refused() -> None:
    with pytest.raises(wfmine.InputError, match="lacks the columns"):
        Analysis(pl.DataFrame({"case_id": ["a"]}))


def test_a_rerun_with_no_new_input_reads_nothing_and_gives_the_same_answer(
    workspace: Path,
) -> None:
    first = CliRunner().invoke(app, ["discover", "--json", "--no-report"])
    assert first.exit_code == 0, first.output
    from wfmine.workspace import reader

    with counting(load=reader("jira").load) as loads:
        second = CliRunner().invoke(app, ["discover", "--json", "--no-report"])
    assert second.exit_code == 0, second.output
    a, b = json.loads(first.stdout), json.loads(second.stdout)
    assert all(item.get("unchanged") for item in b["inputs"]["loaded"])
    assert loads["load"] == 0
    for key in ("log", "dfg", "variants", "findings", "check", "scope"):
        assert a[key] == b[key], key
    # a changed input is read again
    page = next((workspace / "sample_logs" / "acme" / "jira").glob("*.json"))
    page.write_text(page.read_text(encoding="utf-8") + "\n", encoding="utf-8")
    third = CliRunner().invoke(app, ["discover", "--json", "--no-report"])
    loaded = json.loads(third.stdout)["inputs"]["loaded"]
    kinds = {i["kind"]: i.get("unchanged", False) for i in loaded}
    assert kinds["jira"] is False and kinds["github"] is True


def test_agent_readiness_is_the_same_read_in_the_kernels_order_or_not() -> None:
    """The readiness rates of a log in the kernel's order (pairs as integers in dense arrays)
    equal those of the same rows in another order (grouped and joined on the strings)."""
    import random

    from wfmine.findings.metrics import _readiness

    rng = random.Random(7)
    rows = []
    for c in range(300):
        for _ in range(rng.randint(1, 12)):
            rows.append(
                {
                    "case_id": f"c{c:03d}",
                    "stage": rng.choice(["build", "review", "qa", "other", None]),
                    "actor_kind": rng.choice(["agent", "human", "human", None]),
                }
            )
    log = pl.DataFrame(rows).with_columns(pl.int_range(pl.len(), dtype=pl.Int64).alias("pos"))
    loops = pl.DataFrame(
        [
            {"type": rng.choice(["rework_loop", "stall"]), "case_id": f"c{rng.randrange(320):03d}",
             "stage": rng.choice(["build", "review", "qa", "deploy", None])}
            for _ in range(400)
        ]
    )  # fmt: skip
    ordered = _readiness(log, loops)
    assert ordered.height == 3 and ordered["agent_rework"].null_count() < 3
    assert_frame_equal(ordered, _readiness(log.reverse(), loops), check_exact=True)
