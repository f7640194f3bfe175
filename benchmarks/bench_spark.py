"""The Spark engine next to the embedded one, per kernel, on generated logs (not a unit test).

    python benchmarks/bench_spark.py --sizes 10000000 [100000000] [--master local[2]]

For each size it writes a generated log (the generator of ``bench_discovery.py``:
Markov traces over 25 activities, ~10 events a case, 60 resources, 8 teams)
as a lake folder (``events/source=csv/month=all/part-*.parquet`` and a
manifest) under ``benchmarks/data/``, then runs every kernel

- on Spark (one session on ``--master``, default ``local[2]``; its start and
  a warm-up query on 100k events are reported apart): wall time, shuffle bytes written (Spark's REST API, summed
  over the kernel's stages) and the peak RSS of the JVM and its Python
  workers (sampled every 0.2 s);
- embedded (polars, in this process, on the same rows read into memory
  first): wall time and peak RSS above the baseline.

Spark kernels collect only their aggregates; the stage kernel is measured
through its collected visits. It prints a table and writes
``benchmarks/results/spark_<sizes>.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
DATA = HERE / "data"
RESULTS = HERE / "results"
sys.path.insert(0, str(HERE))

DESIGN = """
stages:
  - {id: s0, activities: ["csv:activity 0", "csv:activity 1", "csv:activity 2"]}
  - {id: s1, activities: ["csv:activity 3", "csv:activity 4", "csv:activity 5", "csv:activity 6"]}
  - {id: s2, activities: ["csv:activity 7", "csv:activity 8", "csv:activity 9", "csv:activity 1?"]}
  - {id: s3, activities: ["csv:activity 2?"]}
transitions: [[s0, s1], [s1, s2], [s2, s3], [s2, s1]]
"""


def lake(n_events: int, files: int = 8) -> Path:
    """The generated log as a lake folder (the flat log's columns)."""
    import polars as pl
    from bench_discovery import generate

    folder = DATA / f"lake_{n_events}"
    if (folder / "manifest.json").exists():
        return folder
    src = generate(n_events)
    df = pl.read_parquet(src).with_columns(
        ("csv:" + pl.col("case_id")).alias("case_id"),
        pl.format("csv:{}/{}", "case_id", "seq").alias("event_id"),
        ("csv:" + pl.col("resource")).alias("actor_id"),
        pl.lit("human").alias("actor_kind"),
        ("csv:" + pl.col("case_id")).alias("object_id"),
        pl.lit("case").alias("object_type"),
    )
    cols = ["case_id", "activity", "timestamp", "seq", "event_id", "actor_id", "resource"]
    cols += ["actor_kind", "team", "object_id", "object_type"]
    df = df.select(cols)
    target = folder / "events" / "source=csv" / "month=all"
    target.mkdir(parents=True, exist_ok=True)
    step = -(-df.height // files)
    for i in range(files):
        df.slice(i * step, step).write_parquet(target / f"part-{i}.parquet")
    manifest = {"tables": {"events": {"rows": df.height, "partitions": [{"path": "events"}]}}}
    (folder / "manifest.json").write_text(json.dumps(manifest))
    return folder


# -- measuring ------------------------------------------------------------------------


def _rss(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except OSError:
        return 0
    return 0


def _tree(root: int) -> list[int]:
    """``root`` and its descendants."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(entry.name))
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo += children.get(pid, [])
    return out


class Peak:
    """The peak summed RSS of some processes while the block runs."""

    def __init__(self, pids: Callable[[], list[int]]) -> None:
        self.pids = pids
        self.peak = 0
        self._stop = threading.Event()

    def __enter__(self) -> Peak:
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, sum(_rss(p) for p in self.pids()))
            self._stop.wait(0.2)

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, sum(_rss(p) for p in self.pids()))


def _jvm_pid() -> int:
    me = os.getpid()
    for pid in _tree(me):
        try:
            if pid != me and b"java" in Path(f"/proc/{pid}/cmdline").read_bytes():
                return pid
        except OSError:
            continue
    raise RuntimeError("no Spark JVM under this process")


def _stages(spark: Any) -> dict[int, int]:
    """Completed stage id -> shuffle bytes written, from Spark's REST API."""
    url = spark.sparkContext.uiWebUrl
    app = spark.sparkContext.applicationId
    with urllib.request.urlopen(f"{url}/api/v1/applications/{app}/stages?status=complete") as r:
        rows = json.load(r)
    return {
        int(s["stageId"]) * 1000 + int(s["attemptId"]): int(s["shuffleWriteBytes"]) for s in rows
    }


# -- the kernels -----------------------------------------------------------------------


def spark_kernels(design: Any) -> dict[str, Callable[[Any], Any]]:
    import wfmine.spark as ws

    return {
        "dfg": ws.directly_follows,
        "performance_dfg": ws.performance_dfg,
        "variants": ws.variants,
        "case_durations": ws.case_durations,
        "handover_team": lambda df: ws.handover(df, resource="team"),
        "stage_visits": lambda df: ws.stage_visits(ws.stage_events(df, design)),
        "check": lambda df: ws.check(df, design),
    }


def embedded_kernels(design: Any) -> dict[str, Callable[[Any], Any]]:
    import wfmine.discovery as d
    from wfmine.conformance import check
    from wfmine.stages import stage_events, stage_visits

    return {
        "dfg": d.directly_follows,
        "performance_dfg": d.performance_dfg,
        "variants": d.variants,
        "case_durations": d.case_durations,
        "handover_team": lambda log: d.handover_frame(log, resource_key="team"),
        "stage_visits": lambda log: stage_visits(stage_events(log, design)),
        "check": lambda log: check(log, design).cases,
    }


def run(size: int, master: str, only: list[str] | None) -> list[dict[str, Any]]:
    import polars as pl

    import wfmine.spark as ws
    from wfmine.design import load_design_text

    folder = lake(size)
    design = load_design_text(DESIGN)
    rows: list[dict[str, Any]] = []
    t0 = time.perf_counter()
    spark = ws.session(
        master,
        conf={
            "spark.ui.enabled": "true",
            "spark.driver.memory": "10g",
            "spark.sql.shuffle.partitions": "16",
        },
    )
    started = time.perf_counter() - t0
    jvm = _jvm_pid()
    df = ws.log_from_parquet(folder, spark)
    print(f"{size:,} events: Spark session {started:.1f}s on {master}", flush=True)
    t = time.perf_counter()
    ws.directly_follows(df.limit(100_000))  # JIT and code generation warm-up, not measured
    print(f"  warm-up {time.perf_counter() - t:.1f}s", flush=True)
    for name, kernel in spark_kernels(design).items():
        if only and name not in only:
            continue
        before = _stages(spark)
        with Peak(lambda: _tree(jvm)) as peak:
            t = time.perf_counter()
            kernel(df)
            elapsed = time.perf_counter() - t
        after = _stages(spark)
        shuffle = sum(v for k, v in after.items() if k not in before)
        rows.append(
            {
                "size": size,
                "kernel": name,
                "engine": "spark",
                "seconds": elapsed,
                "shuffle_bytes": shuffle,
                "peak_rss": peak.peak,
            }
        )
        print(
            f"  spark    {name:16s} {elapsed:8.1f}s  shuffle {shuffle / 2**20:8.0f} MiB  "
            f"peak {peak.peak / 2**30:5.1f} GiB",
            flush=True,
        )
    spark.stop()
    log = pl.read_parquet(folder / "events", hive_partitioning=True)
    base = _rss(os.getpid())
    for name, kernel in embedded_kernels(design).items():
        if only and name not in only:
            continue
        with Peak(lambda: [os.getpid()]) as peak:
            t = time.perf_counter()
            kernel(log)
            elapsed = time.perf_counter() - t
        rows.append(
            {
                "size": size,
                "kernel": name,
                "engine": "embedded",
                "seconds": elapsed,
                "shuffle_bytes": None,
                "peak_rss": max(0, peak.peak - base),
            }
        )
        print(
            f"  embedded {name:16s} {elapsed:8.1f}s  "
            f"peak +{max(0, peak.peak - base) / 2**30:4.1f} GiB",
            flush=True,
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000_000])
    parser.add_argument("--master", default="local[2]")
    parser.add_argument("--kernels", nargs="*", default=None)
    args = parser.parse_args()
    rows: list[dict[str, Any]] = []
    for size in args.sizes:
        rows += run(size, args.master, args.kernels)
    RESULTS.mkdir(parents=True, exist_ok=True)
    tag = "_".join(str(s) for s in args.sizes) + (
        "_" + "_".join(args.kernels) if args.kernels else ""
    )
    out = RESULTS / f"spark_{tag}.json"
    out.write_text(
        json.dumps({"master": args.master, "cpus": os.cpu_count(), "rows": rows}, indent=2)
    )
    print(f"written {out}")


if __name__ == "__main__":
    main()
