"""The shared engine suite: every kernel on the embedded engine (polars) and on Spark, same logs, same results.

Logs: small real logs (``../shared/realdata/logs``), the sample workspace's
store log (read back from the Parquet lake, as ``wfmine discover --engine
spark`` reads it), and generated logs with many timestamp ties, seq ties
broken only by ``event_id``, missing resources, cases without a work item,
and rows shuffled before they reach either engine.

Equality is exact (values, dtypes, row order) except for float columns that
are sums in a different order (means, sums, standard deviations) and the
percentile interpolation, written differently by the two engines (see
:mod:`wfmine.spark.kernels`): those are compared with a relative tolerance
of 1e-12. ``pos`` of the stage kernel is case-local on Spark by design
(:mod:`wfmine.spark.stages`) and compared as an order only.

One Spark session (``local[2]``, 2 shuffle partitions, UI off) serves the
whole module. It is skipped, with the reason, only when Java or PySpark is
missing.
"""

from __future__ import annotations

import datetime as dt
import json
import random
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from polars.testing import assert_frame_equal

import wfmine
from wfmine import discovery
from wfmine.api import ingest_path
from wfmine.conformance import check
from wfmine.design import Design, load_design, load_design_text
from wfmine.findings.failures import FAILURE_TYPES, failure_occurrences, judged_limits
from wfmine.findings.stalls import stall_limits
from wfmine.lake import export_parquet, read_kinds
from wfmine.model import case_kinds
from wfmine.stages import case_scope, stage_events, stage_visits

from .conftest import LOGS, ROOT, SAMPLE

if shutil.which("java") is None:
    pytest.skip("the Spark engine suite needs Java (no `java` on PATH)", allow_module_level=True)
try:
    import pyspark  # noqa: F401
except ImportError:
    pytest.skip(
        "the Spark engine suite needs the spark extra: pip install -e '.[test,spark]'",
        allow_module_level=True,
    )

import wfmine.spark as ws
from wfmine.spark.conformance import failure_counts_polars

# PySpark 4 warns that it has not been certified with pandas 3 (its Arrow UDFs work)
pytestmark = pytest.mark.filterwarnings("ignore:PySpark does not yet fully support pandas")

REAL_LOGS = ("running-example.xes", "04_reviewing.xes.gz", "03_repairExample.xes.gz")
TOL: dict[str, Any] = {"check_exact": False, "rel_tol": 1e-12, "abs_tol": 1e-9}

GEN_DESIGN = """
stages:
  - {id: todo, activities: ["jira:Status: To Do", "jira:Issue created"]}
  - {id: build, activities: ["jira:Status: In Progress", "github:Commit pushed"]}
  - {id: review, activities: ["jira:Status: In Review", "github:PR approved"]}
  - {id: qa, activities: ["jira:Status: QA"]}
  - {id: done, activities: ["jira:Status: Done", "github:PR merged"]}
transitions: [[todo, build], [build, review], [review, build], [review, qa], [qa, done]]
"""

#: designs for the real logs (no expected times: every stall limit is statistical)
REAL_DESIGNS = {
    "running-example.xes": """
stages:
  - {id: register, activities: ["xes:register request"]}
  - {id: examine, activities: ["xes:examine *", "xes:check ticket"]}
  - {id: decide, activities: ["xes:decide", "xes:reinitiate request"]}
  - {id: close, activities: ["xes:pay compensation", "xes:reject request"]}
transitions: [[register, examine], [examine, decide], [decide, examine], [decide, close]]
""",
    "04_reviewing.xes.gz": """
stages:
  - {id: invite, activities: ["xes:invite reviewers"]}
  - {id: review, activities: ["xes:get review*", "xes:time-out*", "xes:invite additional*"]}
  - {id: decide, activities: ["xes:collect reviews", "xes:decide"]}
  - {id: close, activities: ["xes:accept", "xes:reject"]}
transitions: [[invite, review], [review, decide], [decide, review], [decide, close]]
""",
    "03_repairExample.xes.gz": """
stages:
  - {id: register, activities: ["xes:Register"]}
  - {id: analyze, activities: ["xes:Analyze Defect"]}
  - {id: repair, activities: ["xes:Repair *", "xes:Restart Repair"]}
  - {id: test, activities: ["xes:Test Repair"]}
  - {id: close, activities: ["xes:Inform User", "xes:Archive Repair"]}
transitions: [[register, analyze], [analyze, repair], [repair, test], [test, repair], [test, close]]
""",
}


# -- logs ------------------------------------------------------------------------------


def generated_log(seed: int, cases: int = 60) -> pl.DataFrame:
    """A two-source log with ties everywhere, shuffled rows (see the module docstring)."""
    rng = random.Random(seed)
    statuses = ["Issue created", "Status: To Do", "Status: In Progress", "Status: In Review"]
    statuses += ["Status: QA", "Status: Done"]
    rows: list[dict[str, Any]] = []
    base = dt.datetime(2025, 1, 6, tzinfo=dt.UTC)
    people = ["ann", "bob", "cy", None]
    teams = {"ann": "dev", "bob": "dev", "cy": "qa"}
    for c in range(cases):
        has_issue = rng.random() > 0.15
        case = f"jira:P-{c}" if has_issue else f"github:r#pr/{c}"
        t = base + dt.timedelta(hours=rng.randrange(0, 2000))
        n = rng.randrange(1, 14)
        for k in range(n):
            t += dt.timedelta(hours=rng.choice([0, 0, 1, 3, 24]))  # many ties
            from_jira = has_issue and rng.random() < 0.55
            if from_jira:
                act = rng.choice(statuses)
                src, obj, otype = "jira", case, "issue"
            else:
                act = rng.choice(["Commit pushed", "PR approved", "PR merged", "Comment"])
                src, obj, otype = "github", f"github:r#pr/{c}", "pull_request"
            who = rng.choice(people)
            rows.append(
                {
                    "case_id": case,
                    "activity": act,
                    "timestamp": t,
                    "seq": rng.randrange(0, 3),  # ties left for event_id to break
                    "event_id": f"{obj}/{k:03d}",
                    "actor_id": None if who is None else f"{src}:{who}",
                    "resource": who,
                    "actor_kind": None if who is None else "human",
                    "team": teams.get(who) if who else None,
                    "source": src,
                    "object_id": obj,
                    "object_type": otype,
                }
            )
    df = pl.DataFrame(rows, schema=wfmine.model.LOG_SCHEMA)
    return df.sample(fraction=1.0, shuffle=True, seed=seed)


@pytest.fixture(scope="module")
def spark() -> Iterator[Any]:
    session = ws.session(
        "local[2]",
        conf={
            "spark.sql.shuffle.partitions": "2",
            "spark.default.parallelism": "2",
            "spark.sql.adaptive.enabled": "false",
            "spark.driver.memory": "1g",
        },
    )
    yield session
    session.stop()


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[pl.DataFrame, Path]]:
    """Each named log as (embedded flat log, lake folder)."""
    out: dict[str, tuple[pl.DataFrame, Path]] = {}
    root = tmp_path_factory.mktemp("lakes")
    for name in REAL_LOGS:
        path = LOGS / name
        if not path.exists():
            continue
        store = wfmine.open(":memory:")
        ingest_path(store, path)
        export_parquet(store, root / name)
        out[name] = (store.log(), root / name)
    if (SAMPLE / "design.yaml").exists():
        store = wfmine.open(":memory:")
        ingest_path(store, ROOT)
        export_parquet(store, root / "sample")
        out["sample"] = (store.log(), root / "sample")
    for seed in (1, 2):
        log = generated_log(seed)
        folder = root / f"generated-{seed}"
        (folder / "events").mkdir(parents=True)
        # a lake written straight from the (shuffled) frame, one file per source
        for (src,), part in log.group_by("source"):
            target = folder / "events" / f"source={src}" / "month=all"
            target.mkdir(parents=True)
            part.drop("source").write_parquet(target / "part-0.parquet")
        (folder / "manifest.json").write_text(
            '{"tables": {"events": {"partitions": [{"path": "events"}]}}}'
        )
        out[f"generated-{seed}"] = (log, folder)
    return out


@pytest.fixture(scope="module")
def frames(spark: Any, lake: dict[str, tuple[pl.DataFrame, Path]]) -> dict[str, Any]:
    return {name: ws.log_from_parquet(folder, spark).cache() for name, (_, folder) in lake.items()}


def _names() -> list[str]:
    names = [n for n in REAL_LOGS if (LOGS / n).exists()]
    if (SAMPLE / "design.yaml").exists():
        names.append("sample")
    return [*names, "generated-1", "generated-2"]


LOG_NAMES = _names()
DESIGNED = LOG_NAMES  # the real logs with REAL_DESIGNS


def _design(name: str) -> Design:
    if name == "sample":
        return load_design(SAMPLE / "design.yaml")
    return load_design_text(REAL_DESIGNS.get(name, GEN_DESIGN))


# -- discovery kernels -----------------------------------------------------------------

Kernel = tuple[Callable[[pl.DataFrame], pl.DataFrame], Callable[[Any], pl.DataFrame]]
KERNELS: dict[str, Kernel] = {
    "directly_follows": (discovery.directly_follows, ws.directly_follows),
    "performance_dfg": (discovery.performance_dfg, ws.performance_dfg),
    "variants": (discovery.variants, ws.variants),
    "case_durations": (discovery.case_durations, ws.case_durations),
    "handover": (discovery.handover_frame, ws.handover),
    "seams_team": (
        lambda log: discovery.handover_frame(log, resource_key="team"),
        lambda df: ws.handover(df, resource="team"),
    ),
}


@pytest.mark.parametrize("log_name", LOG_NAMES)
@pytest.mark.parametrize("kernel", list(KERNELS))
def test_discovery_kernel_equal(
    kernel: str, log_name: str, lake: dict[str, Any], frames: dict[str, Any]
) -> None:
    embedded, on_spark = KERNELS[kernel]
    log = lake[log_name][0]
    expected = embedded(log)
    got = on_spark(frames[log_name])
    assert expected.height > 0 or kernel == "seams_team"  # real logs may name no team
    assert_frame_equal(got, expected, **TOL)


@pytest.mark.parametrize("log_name", LOG_NAMES)
def test_boundaries_and_summary_equal(
    log_name: str, lake: dict[str, Any], frames: dict[str, Any]
) -> None:
    log, df = lake[log_name][0], frames[log_name]
    assert list(ws.start_activities(df).items()) == list(discovery.start_activities(log).items())
    assert list(ws.end_activities(df).items()) == list(discovery.end_activities(log).items())
    assert ws.log_summary(df) == discovery.log_summary(log)


def test_percentiles_are_exact_linear_interpolation(spark: Any) -> None:
    """Spark's `percentile` = polars' linear quantile = numpy's default, on awkward counts."""
    from pyspark.sql import functions as F

    rng = random.Random(7)
    groups = {
        n: [float(rng.randrange(0, 10**6)) / 7 for _ in range(n)]
        for n in (1, 2, 3, 4, 7, 10, 11, 1000)
    }
    rows = [(n, v) for n, values in groups.items() for v in values]
    df = spark.createDataFrame(rows, "n INT, v DOUBLE")
    got = df.groupBy("n").agg(F.percentile("v", 0.5).alias("m"), F.percentile("v", 0.9).alias("p"))
    for row in got.collect():
        s = pl.Series(groups[row["n"]])
        assert row["m"] == pytest.approx(s.median(), rel=1e-15, abs=0)
        assert row["p"] == pytest.approx(s.quantile(0.9, interpolation="linear"), rel=1e-15, abs=0)


# -- stage visits, conformance, failure patterns ---------------------------------------


@pytest.fixture(scope="module")
def staged(lake: dict[str, Any], frames: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in DESIGNED:
        out[name] = ws.stage_events(frames[name], _design(name)).cache()
    return out


@pytest.mark.parametrize("log_name", DESIGNED)
def test_stage_events_and_visits_equal(
    log_name: str, lake: dict[str, Any], staged: dict[str, Any]
) -> None:
    from wfmine.spark.stages import stage_events_polars

    design = _design(log_name)
    expected = stage_events(lake[log_name][0], design)
    got = stage_events_polars(staged[log_name])
    order = ["case_id", "timestamp", "seq", "event_id"]
    exp_sorted = expected.sort(order)
    got_sorted = got.sort(order)
    # pos is global in polars, case-local on Spark: the same order within each case
    assert got_sorted["pos"].to_list() == (
        exp_sorted.select(pl.col("pos").rank("ordinal").over("case_id").cast(pl.Int64) - 1)
        .to_series()
        .to_list()
    )
    assert_frame_equal(got_sorted.drop("pos"), exp_sorted.drop("pos"))
    assert expected["visit"].drop_nulls().len() > 0
    visits = ws.stage_visits(staged[log_name])
    assert_frame_equal(visits.drop("pos"), stage_visits(expected).drop("pos"))


@pytest.mark.parametrize("log_name", DESIGNED)
def test_check_equal(
    log_name: str, lake: dict[str, Any], frames: dict[str, Any], staged: dict[str, Any]
) -> None:
    design = _design(log_name)
    expected = check(lake[log_name][0], design).cases
    got = ws.check(frames[log_name], design, staged=staged[log_name])
    assert expected.height > 0
    assert_frame_equal(got, expected, **TOL)


def _judged(log_name: str, lake: dict[str, Any]) -> pl.DataFrame:
    """The embedded stage events of the cases in scope (what the findings judge)."""
    events = stage_events(lake[log_name][0], _design(log_name))
    in_scope, _ = case_scope(events)
    return events.join(in_scope, on="case_id", how="semi", maintain_order="left")


def _kinds(log_name: str, lake: dict[str, Any], spark: Any) -> tuple[Any, pl.DataFrame | None]:
    """The lake's kinds table on Spark and (of the judged cases) embedded, where it has one
    (the lakes written here by hand, straight from a frame, have none)."""
    folder = lake[log_name][1]
    if "kinds" not in json.loads((folder / "manifest.json").read_text())["tables"]:
        return None, None
    embedded = case_kinds(read_kinds(folder), _judged(log_name, lake))
    return ws.kinds_from_parquet(folder, spark), embedded


@pytest.mark.parametrize("log_name", DESIGNED)
def test_stall_limits_equal(
    log_name: str,
    lake: dict[str, Any],
    frames: dict[str, Any],
    staged: dict[str, Any],
    spark: Any,
) -> None:
    """The whole log's stall limits (what stall and abandoned are judged by), as embedded --
    per kind of work item where the lake names kinds (the kinds' ``cases`` are the
    buckets' own: Spark returns the rows without them)."""
    design = _design(log_name)
    on_spark, kinds = _kinds(log_name, lake, spark)
    visits = stage_visits(_judged(log_name, lake))
    expected = stall_limits(visits, design, per_project=True, kinds=kinds)
    got = ws.stall_limits(frames[log_name], design, kinds=on_spark, staged=staged[log_name])
    assert expected.height > 0
    assert_frame_equal(got, expected.drop("cases", strict=False), **TOL)


@pytest.mark.parametrize("log_name", DESIGNED)
def test_failure_counts_equal(
    log_name: str,
    lake: dict[str, Any],
    frames: dict[str, Any],
    staged: dict[str, Any],
    spark: Any,
) -> None:
    """Every failure type, stall (statistical limits, per kind where the lake names kinds)
    and abandoned (the log's end) included."""
    design = _design(log_name)
    on_spark, kinds = _kinds(log_name, lake, spark)
    judged = _judged(log_name, lake)
    limits = stall_limits(stage_visits(judged), design, per_project=True, kinds=kinds)
    expected = failure_counts_polars(failure_occurrences(judged, design, limits=limits))
    got = ws.failure_counts(frames[log_name], design, kinds=on_spark, staged=staged[log_name])
    assert_frame_equal(got, expected)
    assert set(got["type"]) <= set(FAILURE_TYPES)


def test_failure_suite_sees_the_whole_log_types(lake: dict[str, Any]) -> None:
    """The logs above do show stalls and abandoned cases (the equality is not vacuous)."""
    seen: set[str] = set()
    for name in DESIGNED:
        seen |= set(failure_occurrences(_judged(name, lake), _design(name))["type"])
    assert {"stall", "abandoned"} <= seen


# -- the CLI ---------------------------------------------------------------------------


def test_discover_engine_spark_json(lake: dict[str, Any], spark: Any) -> None:
    from wfmine.spark.cli import discover_lake

    log, folder = lake["sample"] if "sample" in lake else next(iter(lake.values()))
    payload = discover_lake(folder)
    embedded = wfmine.analysis.discover_payload(log)
    for key in ("log", "start_activities", "end_activities"):
        assert payload[key] == embedded[key]
    got = pl.DataFrame(payload["dfg"])
    assert_frame_equal(got, pl.DataFrame(embedded["dfg"]), **TOL)
    assert [v["activities"] for v in payload["variants"]] == [
        v["activities"] for v in embedded["variants"]
    ]


def test_cli_discover_engine_spark(lake: dict[str, Any], spark: Any) -> None:
    import json

    from typer.testing import CliRunner

    from wfmine.cli import app

    log, folder = lake["sample"] if "sample" in lake else next(iter(lake.values()))
    result = CliRunner().invoke(app, ["discover", "--engine", "spark", str(folder), "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert {"log", "start_activities", "end_activities", "dfg", "variants"} <= set(payload)
    assert payload["log"] == discovery.log_summary(log)
    bad = CliRunner().invoke(app, ["discover", "--engine", "flink", str(folder)])
    assert bad.exit_code == 2
    assert "embedded, spark" in bad.stderr


def test_log_from_parquet_on_either_engine(lake: dict[str, Any], spark: Any) -> None:
    """``wfmine.Log.from_parquet(DIR, engine=...)``: the same lake, the same figures."""
    from wfmine.errors import ConfigError

    log, folder = lake["sample"] if "sample" in lake else next(iter(lake.values()))
    embedded = wfmine.Log.from_parquet(folder)
    assert embedded.events.height == log.height
    assert_frame_equal(embedded.directly_follows(), wfmine.Log(log).directly_follows(), **TOL)
    on_spark = wfmine.Log.from_parquet(folder, engine="spark", spark=spark)
    assert isinstance(on_spark, ws.SparkLog)
    assert_frame_equal(on_spark.dfg(), discovery.directly_follows(embedded.events), **TOL)
    with pytest.raises(ConfigError, match="embedded, spark"):
        wfmine.Log.from_parquet(folder, engine="flink")  # type: ignore[call-overload]


# -- stall limits per kind of work item (the lake's kinds table) -------------------------

KIND_DESIGN = """
stages:
  - {id: todo, activities: ["jira:Issue created", "jira:Status: To Do"]}
  - {id: qa, activities: ["jira:Status: QA"]}
  - {id: done, activities: ["jira:Status: Done"]}
transitions: [[todo, qa], [qa, done]]
end: [done]
"""
#: the bug planted in each project: a week at qa (bugs pass qa within two hours)
STALLED_BUGS = ("jira:WEB-3", "jira:DATA-3")


def kinds_store() -> wfmine.store.Store:
    """Two projects whose qa splits by issue type: bugs re-tested within two hours, stories
    tested over three to four days (12 of each per project), one bug per project stuck at
    qa for a week, two items of no type; Mondays to Wednesdays, so no visit spans a weekend
    by accident. Ingested as a tracker would be: ``Issue created`` carries the type."""
    from wfmine.model import Batch, frame

    t0 = dt.datetime(2025, 3, 3, 9, tzinfo=dt.UTC)  # a Monday
    events: list[dict[str, Any]] = []
    objects: list[dict[str, Any]] = []
    for project in ("WEB", "DATA"):
        kinds = [*(["Bug", "Story"] * 12), None, None]
        for i, kind in enumerate(kinds, start=1):
            case = f"jira:{project}-{i}"
            start = t0 + dt.timedelta(weeks=i % 8, days=i % 3)
            hours = 1.0 + (i % 5) / 5 if kind != "Story" else 72.0 + 6 * (i % 5)
            if case in STALLED_BUGS:
                hours = 24 * 7.0
            steps = [(-2.0, "Issue created"), (0.0, "Status: QA"), (hours, "Status: Done")]
            for k, (h, act) in enumerate(steps):
                attrs = {"type": kind, "priority": "High"} if act == "Issue created" else {}
                events.append({
                    "event_id": f"{case}/{k}", "activity": act,
                    "timestamp": start + dt.timedelta(hours=h), "seq": k,
                    "actor_id": f"jira:{'qa' if k else 'pm'}", "team": "qa" if k else "product",
                    "source": "jira", "object_id": case,
                    "attrs": json.dumps({a: v for a, v in attrs.items() if v is not None}),
                    "raw_ref": "",
                })  # fmt: skip
            objects.append({"object_id": case, "object_type": "issue", "source": "jira",
                            "key": case.removeprefix("jira:"), "title": case, "attrs": "{}"})  # fmt: skip
    store = wfmine.open(":memory:")
    store.ingest(Batch(source="jira", events=frame("events", events), objects=frame("objects", objects)))  # fmt: skip
    return store


@pytest.fixture(scope="module")
def kinds_lake(tmp_path_factory: pytest.TempPathFactory) -> tuple[wfmine.store.Store, Path]:
    store = kinds_store()
    folder = tmp_path_factory.mktemp("kinds") / "lake"
    export_parquet(store, folder)
    return store, folder


def test_kind_limits_and_counts_equal_on_every_engine(
    kinds_lake: tuple[wfmine.store.Store, Path], spark: Any
) -> None:
    """Spark (from the lake), the embedded engine from the lake and the embedded analysis of
    the store: the same stall limits, the kinds' own rows included, and the same failure
    counts -- the planted bugs' week at qa found by all three, which one limit per project
    (set by the stories' days) does not see."""
    store, folder = kinds_lake
    design = load_design_text(KIND_DESIGN)
    analysis = wfmine.Log(store, design=design).analysis
    expected = analysis.stall_limits
    by_kind = expected.filter(pl.col("kind").is_not_null())
    assert set(by_kind.select("scope", "kind").rows()) == {
        (p, f"type={k}") for p in ("WEB", "DATA") for k in ("Bug", "Story")
    }
    lake_log = wfmine.Log.from_parquet(folder, design=design).analysis
    assert_frame_equal(lake_log.stall_limits, expected)
    on_spark = ws.SparkLog.from_parquet(folder, spark=spark)
    assert on_spark.kinds is not None
    staged = ws.stage_events(on_spark.df, design).cache()
    got = ws.stall_limits(on_spark.df, design, kinds=on_spark.kinds, staged=staged)
    assert_frame_equal(got, expected.drop("cases"), **TOL)

    counts = failure_counts_polars(analysis.occurrences)
    assert_frame_equal(failure_counts_polars(lake_log.occurrences), counts)
    got = ws.failure_counts(on_spark.df, design, kinds=on_spark.kinds, staged=staged)
    assert_frame_equal(got, counts)
    stalls = analysis.occurrences.filter(pl.col("type") == "stall")
    assert sorted(stalls["case_id"]) == sorted(STALLED_BUGS)
    # without the kinds (the store's attrs unread): one limit per project, blind to them
    blind = failure_occurrences(
        analysis.judged, design, limits=judged_limits(analysis.judged, design)
    )
    assert "stall" not in set(blind["type"])
    staged.unpersist()


def test_a_lake_without_kinds_says_so(
    kinds_lake: tuple[wfmine.store.Store, Path], spark: Any, tmp_path: Path
) -> None:
    """A lake written before the kinds table (format 1) still reads: as no kinds, with a
    warning naming what is missing and how to add it."""
    from wfmine.lake import LakeWarning

    old = tmp_path / "old"
    shutil.copytree(kinds_lake[1], old)
    manifest = json.loads((old / "manifest.json").read_text())
    manifest["format"] = 1
    del manifest["tables"]["kinds"]
    (old / "manifest.json").write_text(json.dumps(manifest))
    with pytest.warns(LakeWarning, match="no kinds table.*re-export"):
        assert ws.kinds_from_parquet(old, spark) is None
    with pytest.warns(LakeWarning, match="per stage and project only"):
        log = wfmine.Log.from_parquet(old, design=load_design_text(KIND_DESIGN))
    assert "stall" not in set(log.analysis.occurrences["type"])
