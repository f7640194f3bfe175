"""Classic event logs: activity classifiers, CSV equal to XES, row order, export command.

Parity with pm4py on the real logs of ../shared/realdata (small ones here;
BPIC 2012 and every round trip in ``benchmarks/bench_roundtrip.py``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import LOGS, need
from wfmine import discovery as d
from wfmine.formats import tabular, xes
from wfmine.store import Store

pytestmark = pytest.mark.filterwarnings("ignore")


def _log(batch: Any) -> pl.DataFrame:
    store = Store(":memory:")
    store.ingest(batch)
    return store.log()


def _dfg(log: pl.DataFrame) -> dict[tuple[str, str], int]:
    edges = d.directly_follows(log).select("source", "target", "frequency")
    return {(s, t): f for s, t, f in edges.iter_rows()}


def _variants(log: pl.DataFrame) -> set[tuple[tuple[str, ...], int]]:
    return {(tuple(a), c) for a, c in d.variants(log).select("activities", "cases").iter_rows()}


# -- classifiers ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "classifier"),
    [
        ("03_repairExample.xes.gz", "MXML Legacy Classifier"),
        ("08_receipt.xes.gz", "Activity classifier"),
        ("running-example.xes", "concept:name org:resource"),
    ],
)
def test_classifier_dfg_and_variants_equal_pm4py(name: str, classifier: str) -> None:
    import pm4py

    path = need(LOGS / name)
    df = pm4py.read_xes(str(path), return_legacy_log_object=False)
    declared = xes.declared_classifiers(xes.read_frame(path)[1])
    keys = declared.get(classifier, classifier.split())
    df["@@classifier"] = df[keys[0]].astype(str)
    for key in keys[1:]:
        df["@@classifier"] = df["@@classifier"] + "+" + df[key].astype(str)
    pm_keys = {"activity_key": "@@classifier", "case_id_key": "case:concept:name"}
    dfg, start, end = pm4py.discover_dfg(df, **pm_keys, timestamp_key="time:timestamp")
    theirs = pm4py.get_variants(df, **pm_keys, timestamp_key="time:timestamp")

    log = _log(xes.load(path, {"classifier": classifier}))
    assert _dfg(log) == {k: int(v) for k, v in dfg.items()}
    assert d.start_activities(log) == {k: int(v) for k, v in start.items()}
    assert d.end_activities(log) == {k: int(v) for k, v in end.items()}
    assert _variants(log) == {(tuple(k), int(v)) for k, v in theirs.items()}
    if len(keys) > 1:
        assert any("+" in a for a in log.get_column("activity").unique().to_list())
    # by name or by keys: the same activities
    same = _log(xes.load(path, {"classifier": " ".join(keys)}))
    assert sorted(same.get_column("activity").to_list()) == sorted(
        log.get_column("activity").to_list()
    )


def test_default_classifier_is_concept_name() -> None:
    path = need(LOGS / "03_repairExample.xes.gz")
    log = _log(xes.load(path))
    assert not any("+" in a for a in log.get_column("activity").unique().to_list())
    events = xes.load(path).events
    assert events.get_column("attrs").str.contains("lifecycle:transition").all()


def test_unknown_classifier_exits_2_listing_the_declared(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from wfmine.cli import app

    path = need(LOGS / "08_receipt.xes.gz")
    res = CliRunner().invoke(
        app, ["discover", str(path), "--db", str(tmp_path / "s.db"), "--classifier", "Bogus"]
    )
    assert res.exit_code == 2
    assert "Activity classifier" in res.output and "Resource classifier" in res.output


def test_discover_classifier_option_and_listing(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from wfmine.cli import app

    path = need(LOGS / "08_receipt.xes.gz")
    args = ["discover", str(path), "--db", str(tmp_path / "s.db"), "--json"]
    res = CliRunner().invoke(app, [*args, "--classifier", "Activity classifier"])
    assert res.exit_code == 0, res.output
    payload = json.loads(res.stdout)
    (listed,) = payload["classifiers"]
    assert listed["used"] == ["concept:name", "lifecycle:transition"]
    assert listed["declared"]["Group classifier"] == ["org:group"]
    assert all("+" in a for a in payload["start_activities"])


# -- CSV equals XES ---------------------------------------------------------------------


def _as_csv(path: Path, out: Path) -> Path:
    """The XES log as a CSV in file order (pm4py's column names)."""
    df, _ = xes.read_frame(path)
    keep = [c for c in df.columns if c in tabular.DEFAULTS.values()]
    df.select(keep).with_columns(
        pl.col("time:timestamp").dt.strftime("%Y-%m-%dT%H:%M:%S%.6f")
    ).write_csv(out)
    return out


@pytest.mark.parametrize("name", ["08_receipt.xes.gz", "03_repairExample.xes.gz"])
def test_csv_in_file_order_equals_xes(tmp_path: Path, name: str) -> None:
    path = need(LOGS / name)
    from_xes = _log(xes.load(path))
    from_csv = _log(tabular.load(_as_csv(path, tmp_path / "log.csv")))
    assert _dfg(from_csv) == _dfg(from_xes)
    assert _variants(from_csv) == _variants(from_xes)


def test_receipt_csv_equals_receipt_xes() -> None:
    from_xes = _log(xes.load(need(LOGS / "08_receipt.xes.gz")))
    from_csv = _log(tabular.load(need(LOGS / "receipt.csv")))
    assert from_csv.height == from_xes.height
    assert _dfg(from_csv) == _dfg(from_xes)


# -- row order never changes a result ---------------------------------------------------

_rows = st.lists(
    st.tuples(
        st.sampled_from(["c1", "c2", "c3"]),
        st.sampled_from(["A", "B", "C", "D"]),
        st.integers(0, 4),  # few instants: many ties
    ),
    min_size=1,
    max_size=25,
)


def _write(rows: list[tuple[str, str, int]], path: Path) -> Path:
    pl.DataFrame(
        {
            "case:concept:name": [r[0] for r in rows],
            "concept:name": [r[1] for r in rows],
            "time:timestamp": [f"2024-01-01T10:0{r[2]}:00" for r in rows],
        }
    ).write_csv(path)
    return path


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(rows=_rows, seed=st.integers(0, 2**16))
def test_shuffling_rows_never_changes_dfg_or_variants(
    tmp_path: Path, rows: list[tuple[str, str, int]], seed: int
) -> None:
    """Any shuffle that keeps a case's same-instant events in order changes nothing (default);
    with order="content" no shuffle at all changes anything."""
    frame = pl.DataFrame(rows, schema=["case", "act", "t"], orient="row").with_row_index("i")
    shuffled = frame.sample(fraction=1.0, shuffle=True, seed=seed)
    # put each (case, instant) group's rows back in their original relative order
    keep = shuffled.with_columns(pl.col("i").sort().over("case", "t").alias("j"))
    reordered = frame.join(keep.select("j", pos=pl.int_range(pl.len())), left_on="i", right_on="j")
    reordered = reordered.sort("pos")
    a = _log(tabular.load(_write(rows, tmp_path / "a.csv")))
    b = _log(
        tabular.load(
            _write(list(reordered.select("case", "act", "t").iter_rows()), tmp_path / "b.csv")
        )
    )
    assert _dfg(a) == _dfg(b) and _variants(a) == _variants(b)
    c = _log(tabular.load(tmp_path / "a.csv", {"order": "content"}))
    any_order = list(shuffled.select("case", "act", "t").iter_rows())
    e = _log(tabular.load(_write(any_order, tmp_path / "e.csv"), {"order": "content"}))
    assert _dfg(c) == _dfg(e) and _variants(c) == _variants(e)


# -- wfmine export ----------------------------------------------------------------------


def test_export_command_round_trips(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from wfmine.cli import app

    src = need(LOGS / "running-example.xes")
    db = str(tmp_path / "s.db")
    runner = CliRunner()
    assert runner.invoke(app, ["ingest", str(src), "--db", db]).exit_code == 0
    res = runner.invoke(app, ["export", str(tmp_path / "out.xes"), "--db", db, "--json"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["xes"]["events"] == 42
    again, orig = xes.read_frame(tmp_path / "out.xes")[0], xes.read_frame(src)[0]
    assert sorted(again.columns) == sorted(orig.columns)
    assert sorted(again.get_column("case:concept:name").unique()) == sorted(
        orig.get_column("case:concept:name").unique()
    )
    res = runner.invoke(app, ["export", str(tmp_path / "out.json"), "--db", db, "--json"])
    assert res.exit_code == 0 and json.loads(res.stdout)["ocel"]["events"] == 42
    res = runner.invoke(app, ["export", str(tmp_path / "x.txt"), "--db", db])
    assert res.exit_code == 2


# -- ping-pong between groups (or resources) without a design ---------------------------


def _direct_ping_pong(path: Path, column: str) -> tuple[int, int]:
    """A -> B -> A in each case's distinct consecutive values of ``column``, counted by hand."""
    import pm4py

    df = pm4py.read_xes(str(path)).reset_index(drop=True)
    df["_pos"] = df.groupby("case:concept:name").cumcount()
    df = df.sort_values(["case:concept:name", "time:timestamp", "_pos"], kind="stable")
    count, cases = 0, set()
    for case, group in df.groupby("case:concept:name", sort=False):
        values = [v for v in group[column].tolist() if isinstance(v, str)]
        runs = [v for i, v in enumerate(values) if i == 0 or v != values[i - 1]]
        for i in range(2, len(runs)):
            if runs[i] == runs[i - 2] != runs[i - 1]:
                count += 1
                cases.add(case)
    return count, len(cases)


@pytest.mark.parametrize(
    ("name", "column"), [("helpdesk.xes.gz", "org:resource"), ("08_receipt.xes.gz", "org:group")]
)
def test_ping_pong_equals_a_direct_count(name: str, column: str) -> None:
    """Groups where the log has org:group (receipt), resources where it has none (helpdesk)."""
    from wfmine.analysis import Analysis

    path = need(LOGS / name)
    store = Store(":memory:")
    store.ingest(xes.load(path))
    findings = Analysis.of(store.log(), None, store=store).findings
    (row,) = findings.filter(pl.col("subject") == "ping_pong").iter_rows(named=True)
    events, cases = _direct_ping_pong(path, column)
    evidence = json.loads(row["evidence"]) if isinstance(row["evidence"], str) else row["evidence"]
    assert (evidence["events"], evidence["case_count"]) == (events, cases)
    assert f"{cases} cases" in row["summary"]
