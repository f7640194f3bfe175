"""Discovery figures equal pm4py's on every real log we ship tests against.

Each log is read once (rustxes for XES, polars for receipt.csv) with
``seq`` = the event's position in the file. pm4py gets the same events as a
pandas frame from :func:`wfmine.discovery.to_pm4py` (sorted by case, time,
seq), so both see one event order. Where pm4py's answer depends on row order
and ours does not, a test below shows it.
"""

from __future__ import annotations

import functools
import math
import warnings
from pathlib import Path
from typing import Any

import polars as pl
import pytest

import wfmine.discovery as d
from tests.conftest import LOGS

pytestmark = pytest.mark.filterwarnings("ignore")

PM4PY_KEYS = {
    "case_id_key": "case:concept:name",
    "activity_key": "concept:name",
    "timestamp_key": "time:timestamp",
}


def _log_names() -> list[str]:
    if not LOGS.is_dir():
        return []
    names = sorted(p.name for p in LOGS.iterdir() if p.name.endswith((".xes", ".xes.gz")))
    if (LOGS / "receipt.csv").exists():
        names.append("receipt.csv")
    return names


NAMES = _log_names()
if not NAMES:
    pytest.skip(f"no real logs under {LOGS}", allow_module_level=True)


@functools.cache
def load(name: str) -> pl.DataFrame:
    """A log with pm4py's column names and ``seq`` = the event's position in the file."""
    path: Path = LOGS / name
    if name.endswith(".csv"):
        df = pl.read_csv(path, infer_schema_length=0).with_columns(
            pl.col("time:timestamp").str.to_datetime(time_zone="UTC", time_unit="us")
        )
    else:
        import rustxes

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            df, _ = rustxes.import_xes(str(path))
    return df.with_row_index("seq").with_columns(pl.col("seq").cast(pl.Int64))


@functools.cache
def pm4py_frame(name: str) -> Any:
    """The same log as pm4py's pandas frame, sorted by (case, time, seq)."""
    return d.to_pm4py(load(name), **PM4PY_KEYS, resource_key="org:resource", group_key="org:group")


def _close(a: float, b: float) -> bool:
    if a is None or (isinstance(a, float) and math.isnan(a)):
        return b is None or math.isnan(b)
    return math.isclose(a, b, rel_tol=1e-6, abs_tol=1e-6)


@pytest.mark.parametrize("name", NAMES)
def test_dfg_and_start_end_activities_equal_pm4py(name: str) -> None:
    import pm4py

    log = load(name)
    dfg, sa, ea = pm4py.discover_dfg(pm4py_frame(name), **PM4PY_KEYS)
    ours = d.directly_follows(log, **PM4PY_KEYS)
    assert {(s, t): f for s, t, f in ours.select("source", "target", "frequency").iter_rows()} == {
        k: int(v) for k, v in dfg.items()
    }
    assert d.start_activities(log, **PM4PY_KEYS) == {k: int(v) for k, v in sa.items()}
    assert d.end_activities(log, **PM4PY_KEYS) == {k: int(v) for k, v in ea.items()}


@pytest.mark.parametrize("name", NAMES)
def test_variants_equal_pm4py(name: str) -> None:
    import pm4py

    log = load(name)
    theirs = pm4py.get_variants(pm4py_frame(name), **PM4PY_KEYS)
    ours = d.variants(log, **PM4PY_KEYS)
    assert {(tuple(a), c) for a, c in ours.select("activities", "cases").iter_rows()} == {
        (tuple(k), int(v)) for k, v in theirs.items()
    }
    assert math.isclose(ours["coverage"].sum(), 1.0)


@pytest.mark.parametrize("name", NAMES)
def test_performance_dfg_equals_pm4py(name: str) -> None:
    import pm4py

    log = load(name)
    theirs, _, _ = pm4py.discover_performance_dfg(pm4py_frame(name), **PM4PY_KEYS)
    ours = d.performance_dfg(log, **PM4PY_KEYS)
    assert ours.height == len(theirs)
    for row in ours.iter_rows(named=True):
        stats = theirs[(row["source"], row["target"])]
        for figure in ("mean", "median", "max", "min", "sum", "stdev"):
            assert _close(row[figure], stats[figure]), (row, figure, stats[figure])
    # the wait columns of the edge table are the same figures
    dfg = d.directly_follows(log, **PM4PY_KEYS).join(ours, on=["source", "target"])
    assert (dfg["wait_mean_s"] - dfg["mean"]).abs().max() == 0  # type: ignore[operator]
    assert (dfg["wait_median_s"] - dfg["median"]).abs().max() == 0  # type: ignore[operator]


@pytest.mark.parametrize("name", NAMES)
def test_case_durations_equal_pm4py(name: str) -> None:
    import pm4py

    log = load(name)
    theirs = pm4py.get_all_case_durations(pm4py_frame(name), **PM4PY_KEYS)
    ours = sorted(d.case_durations(log, **PM4PY_KEYS)["duration_s"].to_list())
    assert len(ours) == len(theirs)
    assert all(_close(a, b) for a, b in zip(ours, theirs, strict=True))


@pytest.mark.parametrize("name", NAMES)
def test_handover_network_equals_pm4py(name: str) -> None:
    import pm4py

    log = load(name)
    if "org:resource" not in log.columns:
        pytest.skip("log has no org:resource")
    # pm4py raises TypeError on missing resources: hand it the known ones only
    frame = pm4py_frame(name)
    frame = frame[frame["org:resource"].notna()]
    ours = d.handover_frame(log, **PM4PY_KEYS, resource_key="org:resource", self_handovers=True)
    if ours.height == 0:
        # pm4py raises ValueError (max of an empty array) when no pair exists
        with pytest.raises(ValueError):
            pm4py.discover_handover_of_work_network(frame, resource_key="org:resource")
        return
    theirs = pm4py.discover_handover_of_work_network(frame, resource_key="org:resource")
    got = {(s, t): share for s, t, _, share in ours.iter_rows()}
    assert got.keys() == theirs.connections.keys()
    assert all(_close(got[k], v) for k, v in theirs.connections.items())
    # the default leaves out a -> a, with the same shares for the rest
    default = d.handover_network(log, **PM4PY_KEYS, resource_key="org:resource")
    expected = {k: v for k, v in theirs.connections.items() if k[0] != k[1]}
    assert {(s, t) for s, t in default.edges} == set(expected)
    assert all(_close(default.edges[k]["share"], v) for k, v in expected.items())


# -- where pm4py depends on row order ------------------------------------------------


def _shuffled(df: pl.DataFrame, seed: int) -> pl.DataFrame:
    return df.sample(fraction=1.0, shuffle=True, seed=seed)


def test_pm4py_variants_change_when_rows_are_shuffled_ours_do_not() -> None:
    """pm4py's pandas variants slice the frame by case *as given*.

    ``pm4py.get_variants`` on a frame not produced by ``format_dataframe``
    groups rows with ``numpy.unique`` and slices contiguous runs (the sort it
    calls is discarded), so shuffled rows mix events of different cases into
    one "trace". Ours sort once by (case, timestamp, seq).
    """
    import pm4py

    name = "running-example.xes"
    log = load(name)
    base = pm4py.get_variants(pm4py_frame(name), **PM4PY_KEYS)
    shuffled_pd = pm4py_frame(name).sample(frac=1.0, random_state=3).reset_index(drop=True)
    after = pm4py.get_variants(shuffled_pd, **PM4PY_KEYS)
    assert after != base
    ours = d.variants(log, **PM4PY_KEYS)
    for seed in range(3):
        assert d.variants(_shuffled(log, seed), **PM4PY_KEYS).equals(ours)


def test_pm4py_start_activities_and_case_durations_trust_row_order() -> None:
    """pm4py's start activities take each case's *first row*; its case durations last row minus first row."""
    import pm4py

    name = "running-example.xes"
    log = load(name)
    shuffled_pd = pm4py_frame(name).sample(frac=1.0, random_state=5).reset_index(drop=True)
    _, sa, _ = pm4py.discover_dfg(shuffled_pd, **PM4PY_KEYS)
    assert sa != {"register request": 6}
    durations = pm4py.get_all_case_durations(shuffled_pd, **PM4PY_KEYS)
    assert min(durations) < 0  # negative durations from unsorted rows
    shuffled = _shuffled(log, 5)
    assert d.start_activities(shuffled, **PM4PY_KEYS) == {"register request": 6}
    assert d.case_durations(shuffled, **PM4PY_KEYS).equals(d.case_durations(log, **PM4PY_KEYS))


def test_pm4py_breaks_timestamp_ties_by_row_order_ours_by_seq() -> None:
    """Events of one case with equal timestamps: pm4py's (stable) sort keeps input order.

    04_reviewing has cases with tied timestamps; reversing the rows changes
    pm4py's DFG and variants, while ours, tie-broken by ``seq``, stays the same.
    """
    import pm4py

    name = "04_reviewing.xes.gz"
    log = load(name)
    ties = log.group_by("case:concept:name", "time:timestamp").len().filter(pl.col("len") > 1)
    assert ties.height > 0
    frame = pm4py_frame(name)
    reversed_pd = frame.iloc[::-1].reset_index(drop=True)
    dfg_base, _, _ = pm4py.discover_dfg(frame, **PM4PY_KEYS)
    dfg_rev, _, _ = pm4py.discover_dfg(reversed_pd, **PM4PY_KEYS)
    assert dfg_base != dfg_rev
    assert pm4py.get_variants(frame, **PM4PY_KEYS) != pm4py.get_variants(
        reversed_pd.sort_values(["case:concept:name", "time:timestamp"], kind="stable"),
        **PM4PY_KEYS,
    )
    assert d.variants(log.reverse(), **PM4PY_KEYS).equals(d.variants(log, **PM4PY_KEYS))
    assert d.directly_follows(log.reverse(), **PM4PY_KEYS).equals(
        d.directly_follows(log, **PM4PY_KEYS)
    )
