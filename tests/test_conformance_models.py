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
    result = check_model(log, model)
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
