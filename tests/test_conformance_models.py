"""Model mode: fitness per variant equals pm4py's token replay and alignment fitness."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from tests.conftest import LOGS, need

pytestmark = pytest.mark.filterwarnings("ignore")


def read_log(path: Path) -> tuple[pl.DataFrame, object]:
    import pm4py

    df = pm4py.read_xes(str(path))
    log = pl.from_pandas(df[["case:concept:name", "concept:name", "time:timestamp"]]).rename(
        {"case:concept:name": "case_id", "concept:name": "activity", "time:timestamp": "timestamp"}
    )
    # seq keeps the file order inside a case, so ties in time read as pm4py reads them
    log = log.with_columns(
        pl.int_range(pl.len()).over("case_id").cast(pl.Int64).alias("seq"),
        pl.lit("xes").alias("source"),
    ).with_columns(pl.format("{}/{}", "case_id", "seq").alias("event_id"))
    return log, df


@pytest.mark.parametrize(
    "name",
    [
        "running-example.xes",
        "roadtraffic100traces.xes",
        "04_reviewing.xes.gz",
        "03_repairExample.xes.gz",
    ],
)
def test_fitness_equals_pm4py(name: str, tmp_path: Path) -> None:
    import pm4py

    from wfmine.conformance.models import check_model

    log, df = read_log(need(LOGS / name))
    net, im, fm = pm4py.discover_petri_net_inductive(df, noise_threshold=0.2)
    model = tmp_path / "model.pnml"
    pm4py.write_pnml(net, im, fm, str(model))
    result = check_model(log, model, alignments=True, token_replay=True)
    net, im, fm = pm4py.read_pnml(str(model))
    token = pm4py.fitness_token_based_replay(df, net, im, fm)
    aligned = pm4py.fitness_alignments(df, net, im, fm)
    s = result.summary
    assert s["cases"] == df["case:concept:name"].nunique()
    assert s["token_log_fitness"] == pytest.approx(token["log_fitness"], abs=1e-12)
    assert s["alignment_log_fitness"] == pytest.approx(aligned["log_fitness"], abs=1e-12)
    assert s["token_average_trace_fitness"] == pytest.approx(
        token["average_trace_fitness"], abs=1e-12
    )
    assert s["alignment_average_trace_fitness"] == pytest.approx(
        aligned["average_trace_fitness"], abs=1e-12
    )
    assert s["token_fitting_cases_pct"] == pytest.approx(token["perc_fit_traces"], abs=1e-9)
    assert result.cases.height == s["cases"] and result.variants.height == s["variants"]


def test_bpmn_model(tmp_path: Path) -> None:
    import pm4py

    from wfmine.conformance.models import check_model

    log, df = read_log(need(LOGS / "running-example.xes"))
    bpmn = pm4py.discover_bpmn_inductive(df)
    path = tmp_path / "model.bpmn"
    pm4py.write_bpmn(bpmn, str(path), auto_layout=False)
    result = check_model(log, path, alignments=False)
    assert result.summary["token_log_fitness"] == pytest.approx(1.0)


def test_bad_model_path(tmp_path: Path) -> None:
    from wfmine.conformance.models import check_model
    from wfmine.errors import InputError

    with pytest.raises(InputError, match="no such model"):
        check_model(pl.DataFrame(), tmp_path / "x.pnml")
    (tmp_path / "m.txt").write_text("x")
    with pytest.raises(InputError, match=r"pnml or \.bpmn"):
        check_model(pl.DataFrame(), tmp_path / "m.txt")


def _model(tmp_path: Path, name: str, noise: float) -> tuple[pl.DataFrame, object, Path]:
    import pm4py

    log, df = read_log(need(LOGS / name))
    net, im, fm = pm4py.discover_petri_net_inductive(df, noise_threshold=noise)
    model = tmp_path / "model.pnml"
    pm4py.write_pnml(net, im, fm, str(model))
    return log, df, model


def test_token_replay_is_the_default_and_says_so(tmp_path: Path) -> None:
    import pm4py

    from wfmine.conformance.models import check_model

    log, df, model = _model(tmp_path, "04_reviewing.xes.gz", 0.2)
    result = check_model(log, model)
    s = result.summary
    assert s["method"] == "token_replay"
    assert "alignment_log_fitness" not in s and "alignment_fitness" not in result.variants.columns
    token = pm4py.fitness_token_based_replay(df, *pm4py.read_pnml(str(model)))
    assert s["token_log_fitness"] == pytest.approx(token["log_fitness"], abs=1e-12)
    aligned = check_model(log, model, alignments=True)
    assert aligned.summary["method"] == "alignments"
    assert aligned.summary["alignments_complete"] is True
    assert aligned.summary["aligned_cases"] == s["cases"]
    assert "token_log_fitness" not in aligned.summary


def test_alignments_stop_at_the_time_limit_with_progress(tmp_path: Path) -> None:
    from wfmine.conformance.models import check_model

    log, _, model = _model(tmp_path, "13_SEPSIS_1t_per_variant.xes.gz", 0.0)
    seen: list[tuple[int, int]] = []
    result = check_model(
        log, model, alignments=True, timeout=1.0, progress=lambda d, t, c, n, s: seen.append((d, t))
    )
    s = result.summary
    assert s["alignments_complete"] is False
    assert s["aligned_variants"] < s["variants"]
    assert seen and seen[-1][1] == s["variants"]
    aligned = result.variants.filter(pl.col("alignment_fitness").is_not_null())
    assert aligned.height == s["aligned_variants"]


def test_cli_check_model_method(tmp_path: Path) -> None:
    import json

    from typer.testing import CliRunner

    from wfmine.cli import app

    _, _, model = _model(tmp_path, "running-example.xes", 0.0)
    db = tmp_path / "s.duckdb"
    runner = CliRunner()
    ok = runner.invoke(app, ["ingest", str(LOGS / "running-example.xes"), "--db", str(db)])
    assert ok.exit_code == 0, ok.output
    res = runner.invoke(app, ["check", "--model", str(model), "--db", str(db), "--json"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["summary"]["method"] == "token_replay"
    res = runner.invoke(
        app, ["check", "--model", str(model), "--db", str(db), "--alignments", "--json"]
    )
    assert res.exit_code == 0, res.output
    summary = json.loads(res.stdout)["summary"]
    assert summary["method"] == "alignments"
    assert summary["alignment_log_fitness"] == pytest.approx(1.0, abs=1e-3)
    text = runner.invoke(app, ["check", "--model", str(model), "--db", str(db)])
    assert "Method: token-based replay" in text.stdout
