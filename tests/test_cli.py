"""The command line as a person uses it: figures, JSON keys, exit codes, one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.conftest import LOGS, SAMPLE, need
from wfmine.cli import COMMANDS, app, app_for

runner = CliRunner()


def _run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_discover_json_on_the_running_example_has_pm4pys_figures(tmp_path: Path) -> None:
    log = need(LOGS / "running-example.xes")
    code, out, err = _run("discover", str(log), "--db", str(tmp_path / "s.duckdb"), "--json")
    assert code == 0, err
    payload = json.loads(out)
    assert payload["log"]["cases"] == 6
    assert payload["log"]["events"] == 42
    assert payload["log"]["activities"] == 8
    assert payload["start_activities"] == {"register request": 6}
    assert set(payload["end_activities"]) == {"pay compensation", "reject request"}
    assert {"source", "target", "frequency", "wait_mean_s", "wait_median_s", "wait_p90_s"} <= set(
        payload["dfg"][0]
    )
    variants = payload["variants"]
    assert sum(v["cases"] for v in variants) == 6
    assert abs(sum(v["coverage"] for v in variants) - 1.0) < 1e-9

    import pm4py

    df = pm4py.read_xes(str(log))
    dfg, _, _ = pm4py.discover_dfg(df)
    ours = {(e["source"], e["target"]): e["frequency"] for e in payload["dfg"]}
    assert ours == dict(dfg)


def test_discover_prints_a_summary_and_writes_the_process_map(tmp_path: Path) -> None:
    log = need(LOGS / "running-example.xes")
    html = tmp_path / "map.html"
    code, out, err = _run(
        "discover", str(log), "--db", str(tmp_path / "s.duckdb"), "--html", str(html)
    )
    assert code == 0, err
    assert "6 cases" in out and "42 events" in out
    # six cases, six variants: the variant table would list singletons, a line says so
    assert "Every one of the 6 activity variants is a single case" in out
    assert "Slowest waits" in out
    assert html.exists() and "plotly" in html.read_text()


def test_rediscovering_the_same_file_adds_no_events(tmp_path: Path) -> None:
    log = need(LOGS / "running-example.xes")
    db = str(tmp_path / "s.duckdb")
    _run("discover", str(log), "--db", db, "--json")
    code, out, _ = _run("discover", str(log), "--db", db, "--json")
    assert code == 0
    payload = json.loads(out)
    assert payload["inputs"]["loaded"][0]["events_added"] == 0
    assert payload["log"]["events"] == 42


@pytest.mark.parametrize(
    "content, name",
    [(b"not an event log at all\n", "notes.txt"), (b"<log><trace><event>", "broken.xes")],
)
def test_unreadable_input_is_a_one_line_error_and_exit_2(
    tmp_path: Path, content: bytes, name: str
) -> None:
    bad = tmp_path / name
    bad.write_bytes(content)
    code, out, err = _run("discover", str(bad), "--db", str(tmp_path / "s.duckdb"))
    assert code == 2
    assert len(err.strip().splitlines()) == 1, err
    assert err.startswith("wfmine: error:")
    assert "Traceback" not in err + out


def test_missing_path_is_exit_2(tmp_path: Path) -> None:
    code, _, err = _run("discover", str(tmp_path / "nope"), "--db", str(tmp_path / "s.duckdb"))
    assert code == 2 and "no such file" in err


def test_a_failed_discover_leaves_the_store_as_it_was(tmp_path: Path) -> None:
    import wfmine

    log = need(LOGS / "running-example.xes")
    db = tmp_path / "s.duckdb"
    _run("discover", str(log), "--db", str(db), "--json")
    with wfmine.open(str(db)) as store:
        before = store.counts()
    bad = tmp_path / "broken.xes"
    bad.write_bytes(b'<?xml version="1.0"?><log xes.version="1.0"><trace><event>')
    code, _, _ = _run("discover", str(bad), "--db", str(db))
    assert code == 2
    with wfmine.open(str(db)) as store:
        assert store.counts() == before


def test_init_makes_a_workspace_whose_discover_works_at_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """From a folder of exports: connectors by content, a drafted design, a working main job."""
    import shutil

    from wfmine.design import load_design

    exports = tmp_path / "exports"
    for source in ("jira", "github"):
        shutil.copytree(SAMPLE / source, exports / source)
    ws = tmp_path / "ws"
    code, out, err = _run("init", str(ws), "--from", str(exports))
    assert code == 0, err
    assert {p.stem for p in (ws / "connectors").glob("*.toml")} == {"jira", "github"}
    design = load_design(ws / "design.yaml")  # validates as is
    keys = {p for s in design.stages for p in s.activities}
    assert any(k.startswith("jira:Status: ") for k in keys)
    assert any(k.startswith("github:") for k in keys)
    monkeypatch.chdir(ws)
    code, out, err = _run("discover", "--json")
    assert code == 0, err
    payload = json.loads(out)
    assert payload["check"]["cases"] > 0 and payload["reports"]
    # twice is refused: it is a workspace already
    code, _, err = _run("init", str(ws), "--from", str(exports))
    assert code == 2 and "workspace already" in err


def test_init_without_exports_says_what_to_do(tmp_path: Path) -> None:
    code, out, err = _run("init", str(tmp_path / "ws"))
    assert code == 0, err
    said = " ".join(out.split())
    assert "no export was found" in said and "example.toml.txt" in said
    assert (tmp_path / "ws" / "connectors" / "example.toml.txt").exists()


def test_check_needs_a_design_or_a_model(tmp_path: Path) -> None:
    code, _, err = _run("check", "--db", str(tmp_path / "s.duckdb"))
    assert code == 2 and "--design" in err


def test_live_github_ingest_is_incremental_and_never_prints_the_token(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.fake_servers import FakeServer
    from tests.test_connector_github_live import TOKEN, _routes

    monkeypatch.setenv("MY_GH_TOKEN", TOKEN)
    db = str(tmp_path / "s.duckdb")
    with FakeServer(_routes()) as server:
        args = ["ingest", "github", "--repo", "acme/api", "--url", server.url,
                "--token-env", "MY_GH_TOKEN", "--db", db, "--json"]  # fmt: skip
        code, out, err = _run(*args)
        assert code == 0, err
        first = json.loads(out)["loaded"][0]
        assert first["events_added"] > 0 and first["cursor"]
        code, out, err = _run(*args)
        assert code == 0, err
        assert json.loads(out)["loaded"][0]["events_added"] == 0
        assert any(r.param("since") for r in server.requests)
    assert TOKEN not in out + err
    assert TOKEN.encode() not in Path(db).read_bytes()


def test_live_ingest_without_the_token_variable_names_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("NOPE_TOKEN", raising=False)
    code, _, err = _run(
        "ingest", "github", "--repo", "acme/api", "--url", "http://127.0.0.1:9",
        "--token-env", "NOPE_TOKEN", "--db", str(tmp_path / "s.duckdb"),
    )  # fmt: skip
    assert code == 2 and "NOPE_TOKEN" in err


# (file, events, cases, activities) as ../shared/realdata/README.md gives them (pm4py's reading)
REAL_LOGS = [
    ("running-example.xes", 42, 6, 8),
    ("roadtraffic100traces.xes", 390, 100, 10),
    ("04_reviewing.xes.gz", 3730, 100, 14),
    ("08_receipt.xes.gz", 8577, 1434, 27),
    ("receipt.csv", 8577, 1434, 27),
    ("03_repairExample.xes.gz", 11855, 1104, 8),
    ("13_SEPSIS_1t_per_variant.xes.gz", 13775, 846, 16),
    ("helpdesk.xes.gz", 21348, 4580, 14),
    ("15_bpic2020_permit_log_1t_per_variant.xes.gz", 26028, 1478, 51),
    ("02_teleclaims.xes.gz", 46138, 3512, 11),
    ("bpic2012.xes.gz", 262200, 13087, 24),
]


@pytest.mark.parametrize("name, events, cases, activities", REAL_LOGS)
def test_discover_prints_the_right_figures_for_every_real_log(
    tmp_path: Path, name: str, events: int, cases: int, activities: int
) -> None:
    log = need(LOGS / name)
    code, out, err = _run("discover", str(log), "--db", str(tmp_path / "s.duckdb"), "--json")
    assert code == 0, err
    summary = json.loads(out)["log"]
    assert (summary["events"], summary["cases"], summary["activities"]) == (
        events,
        cases,
        activities,
    )


def test_discover_on_the_folder_of_real_logs_reports_each_input(tmp_path: Path) -> None:
    folder = tmp_path / "logs"
    folder.mkdir()
    for name in ("running-example.xes", "roadtraffic100traces.xes"):
        (folder / name).symlink_to(need(LOGS / name))
    (folder / "README.txt").write_text("not a log")
    code, out, err = _run("discover", str(folder), "--db", str(tmp_path / "s.duckdb"), "--json")
    assert code == 0, err
    payload = json.loads(out)
    assert payload["log"]["events"] == 42 + 390
    assert payload["log"]["cases"] == 6 + 100
    assert {Path(i["path"]).name for i in payload["inputs"]["loaded"]} == {
        "running-example.xes",
        "roadtraffic100traces.xes",
    }
    assert [Path(s["path"]).name for s in payload["inputs"]["skipped"]] == ["README.txt"]


def test_discover_in_the_sample_workspace_runs_the_main_job(
    sample_workspace: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The README's first command: ingest, discover, check, find, report."""
    import shutil

    root = tmp_path / "ws"
    shutil.copytree(sample_workspace, root)
    monkeypatch.chdir(root)
    code, out, err = _run("discover", "--json")
    assert code == 0, err
    payload = json.loads(out)
    assert {i["kind"] for i in payload["inputs"]["loaded"]} == {"jira", "github", "slack", "email"}
    assert payload["inputs"]["roster"].endswith("roster.yaml")
    assert payload["log"]["cases"] > 0 and payload["variants"]
    assert payload["check"]["gate_violations"] > 0
    # process figures cover the work items the design speaks about, and say so
    scope = payload["scope"]
    assert scope["cases_in_scope"] == payload["log"]["cases"] == payload["check"]["cases"]
    assert scope["cases_out_of_scope"] > 0
    top = payload["stage_variants"][0]
    assert top["stages"][0] == "triage" and top["stages"][-1] == "deploy"
    assert {f["kind"] for f in payload["findings"]} >= {"gate_violation", "shadow_agent"}
    # the report of this very analysis, not a new entry in the dated archive
    (report,) = payload["reports"]
    assert Path(report).name == "latest.html"
    assert not (root / "reports" / "out" / "weekly").exists()
    html = Path(report).read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>") or html.lower().startswith("<!doctype html>")
    assert (root / ".wfmine" / "store.duckdb").exists()
    # people output: the same job, read by a person
    code, out, err = _run("discover")
    assert code == 0, err
    assert "findings" in out and "Report written to" in out


def test_live_github_pulls_are_conditional_across_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """ETags are kept in the store: an unchanged list costs a 304, and adds nothing."""
    from tests.fake_servers import FakeServer, Reply, Request
    from tests.test_connector_github_live import API, PRS, TOKEN, _routes

    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)

    def pulls(request: Request) -> Reply:
        if request.param("state") == "open":
            return Reply(200, [])
        if request.headers.get("If-None-Match") == '"v1"':
            return Reply(304, None, {"ETag": '"v1"'})
        return Reply(200, PRS, {"ETag": '"v1"'})

    db = str(tmp_path / "s.duckdb")
    with FakeServer(_routes(**{f"{API}/pulls": pulls})) as server:
        args = ["ingest", "github", "--repo", "acme/api", "--url", server.url, "--db", db, "--json"]
        code, out, err = _run(*args)
        assert code == 0, err
        assert json.loads(out)["loaded"][0]["events_added"] > 0
        code, out, err = _run(*args)
        assert code == 0, err
        assert json.loads(out)["loaded"][0]["events_added"] == 0
        conditional = [r for r in server.requests if r.headers.get("If-None-Match") == '"v1"']
        assert conditional, "the second pull did not send If-None-Match"
    assert TOKEN.encode() not in Path(db).read_bytes()


def test_a_large_tree_is_refused_before_anything_is_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A mistyped path must not quietly load a home folder: say what, refuse, store untouched."""
    import wfmine.cli._common as common
    from wfmine.store import Store

    monkeypatch.setattr(common, "LARGE_FILES", 20)
    tree = tmp_path / "home"
    for i in range(30):
        (tree / f"d{i % 3}").mkdir(parents=True, exist_ok=True)
        (tree / f"d{i % 3}" / f"{i}.json").write_text('{"issues": []}', encoding="utf-8")
    db = tmp_path / "s.duckdb"
    code, _, err = _run("ingest", "jira", str(tree), "--db", str(db))
    assert code == 2 and "large tree" in err and "30 files" in err, err
    with Store(db) as store:
        assert store.counts()["events"] == 0 and store.runs().height == 0
    code, _, err = _run("ingest", "jira", str(tree), "--db", str(db), "--yes")
    assert "large tree" not in err


def test_runs_lists_ingest_runs_and_takes_one_back(tmp_path: Path) -> None:
    """A mistaken ingest has a way back: wfmine runs --remove RUN, in one transaction."""
    from wfmine.store import Store

    xes = need(LOGS / "running-example.xes")
    db = str(tmp_path / "s.duckdb")
    assert _run("ingest", str(xes), "--db", db)[0] == 0
    code, out, err = _run("runs", "--db", db, "--json")
    assert code == 0, err
    (run,) = json.loads(out)
    assert run["events_added"] == 42 and run["status"] == "ok"
    code, out, err = _run("runs", "--db", db, "--remove", str(run["run_id"]))
    assert code == 0 and "Removed run" in out, err
    with Store(db) as store:
        counts = store.counts()
        assert counts["events"] == 0 and counts["objects"] == 0 and counts["raw_records"] == 0
        assert store.runs()["status"].to_list() == ["removed"]
    code, _, err = _run("runs", "--db", db, "--remove", str(run["run_id"]))
    assert code == 2 and "removed already" in err
    code, _, err = _run("runs", "--db", db, "--remove", "99")
    assert code == 2 and "no ingest run 99" in err
    # and it can be read again
    assert _run("ingest", str(xes), "--db", db)[0] == 0
    with Store(db) as store:
        assert store.counts()["events"] == 42


def test_wrong_answers_that_looked_like_answers_now_fail_loudly(
    sample_workspace: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each of these once printed an empty or wrong answer with exit 0."""
    import shutil

    root = tmp_path / "ws"
    shutil.copytree(sample_workspace, root)
    monkeypatch.chdir(root)
    assert _run("discover", "--json", "--no-report")[0] == 0
    # an unknown option value is refused with the valid ones
    code, _, err = _run("findings", "--kind", "shadow")
    assert code == 2 and "shadow_agent" in err
    code, _, err = _run("check", "--case-notion", "tickets")
    assert code == 2 and "work_item" in err and "pull_request" in err
    code, _, err = _run("findings", "--window", "90 days")
    assert code == 2 and "--window" in err
    # findings and check use the workspace's design
    code, out, _ = _run("findings", "--kind", "gate_violation", "--json")
    assert code == 0 and len(json.loads(out)) > 0
    code, out, _ = _run("check", "--json")
    assert code == 0 and json.loads(out)["summary"]["gate_violations"] > 0
    # a missing design is an error, not a report without one
    code, _, err = _run("report", "--design", "/nope.yaml", "--out", str(tmp_path / "r.html"))
    assert code == 2 and "/nope.yaml" in err and not (tmp_path / "r.html").exists()
    # a design pattern that matches nothing is named, with the closest activities
    design = root / "sample_logs" / "acme" / "design.yaml"
    typo = design.read_text(encoding="utf-8").replace('"jira:Status: QA"', '"jira:Status: Q.A."')
    (tmp_path / "typo.yaml").write_text(typo, encoding="utf-8")
    code, out, _ = _run("check", "--design", str(tmp_path / "typo.yaml"))
    said = " ".join(out.split())
    assert code == 0 and "'jira:Status: Q.A.' matches no activity" in said
    assert "closest: 'jira:Status: QA'" in said


def test_failing_badly_becomes_one_line(tmp_path: Path) -> None:
    """A --db whose parent is a file, a report into a read-only folder: one line, exit 2."""
    xes = need(LOGS / "running-example.xes")
    blocker = tmp_path / "file"
    blocker.write_text("not a folder", encoding="utf-8")
    code, out, err = _run("discover", str(xes), "--db", str(blocker / "s.duckdb"))
    assert code == 2 and err.count("\n") == 1 and "Traceback" not in err + out, err
    assert "cannot create the store's folder" in err


def test_a_read_only_store_can_be_read(
    sample_store: Path, sample_workspace: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """findings, check and report need no write access to the store."""
    import os
    import shutil
    import stat

    import wfmine.store

    copy = tmp_path / "ro.duckdb"
    shutil.copy(sample_store, copy)
    copy.chmod(stat.S_IRUSR | stat.S_IRGRP)
    before = copy.read_bytes()
    real_access = os.access
    # as root every file is writable: make this one read-only for the store as for a user
    monkeypatch.setattr(
        wfmine.store.os,
        "access",
        lambda p, mode: False if Path(p) == copy and mode == os.W_OK else real_access(p, mode),
    )
    design = str(sample_workspace / "sample_logs" / "acme" / "design.yaml")
    for args in (
        ["findings", "--design", design, "--json"],
        ["check", "--design", design, "--json"],
        ["report", "--design", design, "--out", str(tmp_path / "r.html")],
    ):
        code, _, err = _run(*args, "--db", str(copy))
        assert code == 0, (args, err)
    assert copy.read_bytes() == before  # nothing was written


@pytest.mark.parametrize("name", list(COMMANDS))
def test_a_command_built_alone_is_the_one_in_the_full_app(name: str) -> None:
    """``main`` builds only the command a run names (:func:`wfmine.cli.app_for`): its help
    (its parameters, their help and defaults) and a usage error read as in :data:`app`."""
    import typer.main

    alone = app_for(name)
    assert list(typer.main.get_command(alone).commands) == [name]  # type: ignore[attr-defined]
    for args in ([name, "--help"], [name, "--no-such-option"]):
        full, one = runner.invoke(app, args), runner.invoke(alone, args)
        assert (one.exit_code, one.stdout, one.stderr) == (full.exit_code, full.stdout, full.stderr)


def test_the_full_app_has_every_command() -> None:
    import typer.main

    assert sorted(typer.main.get_command(app).commands) == sorted(COMMANDS)  # type: ignore[attr-defined]
