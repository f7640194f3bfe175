"""Discovery kernels on small hand-made logs: definitions, edge cases, outputs."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys

import polars as pl
import pytest

import wfmine.discovery as d
from wfmine.errors import InputError

T0 = dt.datetime(2024, 1, 1, 9, 0, tzinfo=dt.UTC)  # a Monday


def h(hours: float) -> dt.datetime:
    return T0 + dt.timedelta(hours=hours)


@pytest.fixture
def log() -> pl.DataFrame:
    # case a: x -> y -> z ; case b: x -> y (tie at 2h broken by seq) -> y ; case c: x
    rows = [
        ("a", "x", h(0), 0, "ann", "eng"),
        ("a", "y", h(1), 1, "bob", "eng"),
        ("a", "z", h(4), 2, "bob", "qa"),
        ("b", "y", h(2), 1, "bob", "eng"),
        ("b", "x", h(2), 0, "ann", "eng"),
        ("b", "y", h(200), 2, "cat", "qa"),
        ("c", "x", h(10), 0, None, None),
    ]
    return pl.DataFrame(
        rows,
        schema={
            "case_id": pl.String,
            "activity": pl.String,
            "timestamp": pl.Datetime("us", "UTC"),
            "seq": pl.Int64,
            "resource": pl.String,
            "team": pl.String,
        },
        orient="row",
    )


def test_directly_follows_counts_and_waits(log: pl.DataFrame) -> None:
    dfg = d.directly_follows(log)
    assert dfg.columns == [
        "source",
        "target",
        "frequency",
        "wait_mean_s",
        "wait_median_s",
        "wait_p90_s",
    ]
    rows = {(r["source"], r["target"]): r for r in dfg.iter_rows(named=True)}
    assert rows[("x", "y")]["frequency"] == 2
    # waits 3600 s (a) and 0 s (b): median = mean of the two, p90 linear between them
    assert rows[("x", "y")]["wait_median_s"] == 1800.0
    assert rows[("x", "y")]["wait_p90_s"] == pytest.approx(3240.0)
    assert rows[("y", "y")]["wait_mean_s"] == 198 * 3600.0
    assert dfg["source"].to_list()[0] == "x"  # most frequent first
    assert dfg["frequency"].to_list() == sorted(dfg["frequency"].to_list(), reverse=True)


def test_lazy_input_and_pm4py_names(log: pl.DataFrame) -> None:
    renamed = log.rename(
        {"case_id": "case:concept:name", "activity": "concept:name", "timestamp": "time:timestamp"}
    )
    keys = {
        "case_id_key": "case:concept:name",
        "activity_key": "concept:name",
        "timestamp_key": "time:timestamp",
    }
    assert d.directly_follows(renamed.lazy(), **keys).equals(d.directly_follows(log))
    assert d.variants(renamed, **keys).equals(d.variants(log))


def test_without_seq_input_order_breaks_ties(log: pl.DataFrame) -> None:
    no_seq = log.drop("seq")
    # row order has b: y before x at the tied timestamp
    assert d.variants(no_seq).filter(pl.col("activities").list.first() == "y").height == 1
    assert d.variants(log).filter(pl.col("activities").list.first() == "y").height == 0


def test_event_id_breaks_ties_left_by_seq(log: pl.DataFrame) -> None:
    tied = log.with_columns(
        pl.lit(0, dtype=pl.Int64).alias("seq"),
        pl.format("{}-{}", pl.col("case_id"), pl.col("activity")).alias("event_id"),
    )
    # b: x and y tie on time and seq; "b-x" < "b-y" orders x first, whatever the rows
    assert d.variants(tied).equals(d.variants(tied.reverse()))
    assert ["x", "y", "y"] in d.variants(tied)["activities"].to_list()


def test_start_end_activities_dict_and_frame(log: pl.DataFrame) -> None:
    assert d.start_activities(log) == {"x": 3}
    assert d.end_activities(log) == {"x": 1, "y": 1, "z": 1}
    frame = d.end_activities(log, as_frame=True)
    assert frame.columns == ["activity", "cases"]
    assert frame["activity"].to_list() == ["x", "y", "z"]


def test_variants_order_coverage_and_case_mapping(log: pl.DataFrame) -> None:
    v = d.variants(log)
    assert v.columns == ["activities", "cases", "coverage"]
    assert v["activities"].to_list() == [["x"], ["x", "y", "y"], ["x", "y", "z"]]
    assert v["coverage"].sum() == pytest.approx(1.0)
    cv = d.case_variants(log)
    assert cv.columns == ["case_id", "variant", "activities"]
    assert dict(cv.select("case_id", "variant").iter_rows()) == {"a": 2, "b": 1, "c": 0}


def test_case_durations(log: pl.DataFrame) -> None:
    cd = d.case_durations(log)
    assert cd.columns == ["case_id", "start", "end", "duration_s", "events"]
    assert cd["duration_s"].to_list() == [4 * 3600.0, 198 * 3600.0, 0.0]
    assert cd["events"].to_list() == [3, 3, 1]


def test_throughput_weekly_fills_empty_weeks(log: pl.DataFrame) -> None:
    tw = d.throughput_weekly(log)
    assert tw.columns == ["week", "started", "completed"]
    assert tw["week"].to_list() == [dt.date(2024, 1, 1), dt.date(2024, 1, 8)]
    assert tw["started"].to_list() == [3, 0]
    assert tw["completed"].to_list() == [2, 1]
    only_z = d.throughput_weekly(log, end_activities={"z"})
    assert only_z["completed"].to_list() == [1, 0]


def test_work_in_progress(log: pl.DataFrame) -> None:
    wip = d.work_in_progress(log, "1d")
    assert wip.columns == ["period_start", "period_end", "wip"]
    # case b runs from day 0 to day 8: open at the end of days 0..7
    assert wip["wip"].to_list()[:2] == [1, 1]
    assert wip["wip"].to_list()[-1] == 0
    assert wip["period_start"][0] == dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    with pytest.raises(InputError):
        d.work_in_progress(log, "not-a-period")


def test_log_summary_is_json_ready(log: pl.DataFrame) -> None:
    summary = d.log_summary(log)
    assert summary == {
        "cases": 3,
        "events": 7,
        "activities": 3,
        "start": "2024-01-01T09:00:00+00:00",
        "end": "2024-01-09T17:00:00+00:00",
    }
    json.dumps(summary)
    assert d.log_summary(log.clear())["start"] is None


def test_handover_skips_unknown_and_self(log: pl.DataFrame) -> None:
    hf = d.handover_frame(log)
    assert hf.columns == ["source", "target", "handovers", "share"]
    # pairs of known resources: ann->bob, bob->bob, ann->bob (b), bob->cat
    assert dict(((s, t), n) for s, t, n, _ in hf.iter_rows()) == {
        ("ann", "bob"): 2,
        ("bob", "cat"): 1,
    }
    assert hf["share"].to_list() == [0.5, 0.25]
    with_self = d.handover_frame(log, self_handovers=True)
    assert with_self.height == 3
    g = d.handover_network(log)
    assert g.nodes["bob"]["events"] == 3
    assert g.edges["ann", "bob"]["weight"] == 2
    teams = d.handover_frame(log, resource_key="team")
    assert teams.rows() == [("eng", "qa", 2, 0.5)]


def test_missing_columns_and_bad_types_raise_input_error(log: pl.DataFrame) -> None:
    with pytest.raises(InputError, match="activity_key"):
        d.directly_follows(log, activity_key="nope")
    with pytest.raises(InputError, match="datetime"):
        d.variants(log.with_columns(pl.col("timestamp").cast(pl.String)))
    with pytest.raises(InputError):
        d.directly_follows(log.to_pandas())  # type: ignore[arg-type]


def test_naive_and_offset_timestamps_are_utc(log: pl.DataFrame) -> None:
    naive = log.with_columns(pl.col("timestamp").dt.replace_time_zone(None))
    berlin = log.with_columns(pl.col("timestamp").dt.convert_time_zone("Europe/Berlin"))
    base = d.case_durations(log)
    assert d.case_durations(naive).equals(base)
    assert d.case_durations(berlin).equals(base)
    assert d.throughput_weekly(berlin).equals(d.throughput_weekly(log))


def test_empty_log(log: pl.DataFrame) -> None:
    empty = log.clear()
    assert d.directly_follows(empty).height == 0
    assert d.variants(empty).height == 0
    assert d.start_activities(empty) == {}
    assert d.throughput_weekly(empty).height == 0
    assert d.work_in_progress(empty).height == 0


def _overview_matches(log: pl.DataFrame) -> None:
    o = d.overview(log)
    assert o.summary == d.log_summary(log)
    assert o.dfg.equals(d.directly_follows(log))
    assert o.variants.equals(d.variants(log))
    assert o.start_activities == d.start_activities(log)
    assert o.end_activities == d.end_activities(log)


def test_overview_is_each_function_at_once(log: pl.DataFrame) -> None:
    _overview_matches(log)
    _overview_matches(log.reverse())  # not in order: sorted first
    _overview_matches(
        log.sort("case_id", "timestamp", "seq").with_columns(pl.col("case_id").set_sorted())
    )
    _overview_matches(log.clear())
    unknown = log.with_columns(
        pl.when(pl.col("seq") == 1).then(None).otherwise(pl.col("case_id")).alias("case_id"),
        pl.when(pl.col("seq") == 2).then(None).otherwise(pl.col("activity")).alias("activity"),
    )
    _overview_matches(unknown)
    o = d.overview(log)
    assert o.summary["cases"] == 3 and o.end_activities == {"x": 1, "y": 1, "z": 1}


def test_cases_in_order_but_split_are_joined(log: pl.DataFrame) -> None:
    # each case's events in time order, but case a in two places: the check must sort
    ordered = log.sort("case_id", "timestamp", "seq")
    split = pl.concat([ordered.slice(0, 1), ordered.slice(3, 4), ordered.slice(1, 2)])
    assert d.variants(split).equals(d.variants(ordered))
    assert d.directly_follows(split).equals(d.directly_follows(ordered))
    # cases contiguous, not in id order (ids as numbers written as text): no sort needed,
    # the same answers
    numbered = ordered.with_columns(
        pl.col("case_id").replace_strict({"a": "10", "b": "9", "c": "100"})
    )
    assert d.case_durations(numbered)["events"].to_list() == [3, 1, 3]


def test_many_activities(log: pl.DataFrame) -> None:
    # 300 activities: edge keys wider than 16 bits (two radix passes), 2-byte variant codes
    n = 300
    big = pl.DataFrame(
        {
            "case_id": ["c"] * n + ["d"] * n,
            "activity": [f"a{i:03d}" for i in range(n)] + [f"a{n - 1 - i:03d}" for i in range(n)],
            "timestamp": [h(i) for i in range(n)] * 2,
            "seq": list(range(n)) * 2,
        }
    )
    dfg = d.directly_follows(big)
    assert dfg.height == 2 * (n - 1) and dfg["frequency"].sum() == 2 * (n - 1)
    assert dfg.filter(source="a001", target="a002")["wait_mean_s"].to_list() == [3600.0]
    assert dfg.filter(source="a002", target="a001")["wait_mean_s"].to_list() == [3600.0]
    v = d.variants(big)
    assert [t[0] for t in v["activities"].to_list()] == ["a000", f"a{n - 1:03d}"]
    assert d.start_activities(big) == {"a000": 1, f"a{n - 1:03d}": 1}


def test_rare_activity_outside_the_names_sample() -> None:
    # the activity names are first read from every 2nd event here (a sample of 2**16):
    # "rare" at an odd row is not in it, and must still be found and coded
    n = 140_000
    acts = ["common"] * n
    acts[1] = "rare"
    acts[-1] = "zz last"
    big = pl.DataFrame(
        {
            "case_id": [f"c{i // 10:05d}" for i in range(n)],
            "activity": acts,
            "timestamp": [h(i % 10) for i in range(n)],
            "seq": [i % 10 for i in range(n)],
        }
    )
    dfg = d.directly_follows(big)
    pairs = {(r["source"], r["target"]): r["frequency"] for r in dfg.iter_rows(named=True)}
    assert pairs[("common", "rare")] == 1 and pairs[("rare", "common")] == 1
    assert pairs[("common", "zz last")] == 1
    assert d.variants(big)["activities"].to_list()[1:] == [
        [*["common"] * 9, "zz last"],  # equal counts: in list order, "common" < "rare"
        ["common", "rare", *["common"] * 8],
    ]
    assert d.overview(big).summary["activities"] == 3


def test_process_map_figure(log: pl.DataFrame) -> None:
    import plotly.graph_objects as go

    from wfmine.maps import process_map

    fig = process_map(log, metric="wait")
    assert isinstance(fig, go.Figure)
    html = fig.to_html(include_plotlyjs=False)
    assert "Process map" in html
    texts = {a.text for a in fig.layout.annotations}
    assert "198.0 h" not in texts and "8.2 d" in texts  # y -> y median wait, readable
    nodes = next(t for t in fig.data if t.name == "nodes")
    assert set(nodes.customdata) == {"▶ start", "■ end", "x", "y", "z"}
    # top to bottom: start above x above y above z above end (y grows downwards)
    boxes = fig.layout.meta["wfmine"]["boxes"]
    tops = {k: b[1] for k, b in boxes.items()}
    assert tops["▶ start"] < tops["x"] < tops["y"] < tops["z"] < tops["■ end"]
    # deterministic: same figure twice; and from a DFG frame
    assert process_map(log).to_json() == process_map(log).to_json()
    small = process_map(d.directly_follows(log), top_edges=1, start={"x": 3})
    assert {a.text for a in small.layout.annotations} >= {"2"}
    with pytest.raises(InputError):
        process_map(log, metric="cost")  # type: ignore[arg-type]


def test_human_duration() -> None:
    from wfmine.units import human_duration

    assert human_duration(42) == "42 s"
    assert human_duration(90) == "1.5 min"
    assert human_duration(3.2 * 3600) == "3.2 h"
    assert human_duration(12 * 86400) == "12 d"
    assert human_duration(None) == "–"


def test_bridge_to_pm4py_and_models(log: pl.DataFrame, tmp_path: object) -> None:
    pdf = d.to_pm4py(log)
    assert list(pdf.columns) == [
        "case:concept:name",
        "concept:name",
        "time:timestamp",
        "org:resource",
        "org:group",
    ]
    assert pdf["concept:name"].tolist()[:6] == ["x", "y", "z", "x", "y", "y"]
    assert str(pdf["time:timestamp"].dt.tz) == "UTC"
    net, im, fm = d.discover_petri_net(log)
    assert {t.label for t in net.transitions} >= {"x", "y", "z"}
    from pathlib import Path

    out = Path(str(tmp_path))
    assert d.save_pnml(net, im, fm, out / "m.pnml").read_text().startswith("<?xml")
    assert "bpmn" in d.save_bpmn(d.discover_bpmn(log), out / "m.bpmn").read_text()


def test_import_is_light() -> None:
    code = (
        "import sys, wfmine.discovery; "
        "print(sorted(m for m in ('pm4py', 'plotly', 'networkx', 'pandas') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
