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


#: events generated and written per chunk for logs larger than this (bounded memory)
CHUNK = 10_000_000


def _flat(df: Any) -> Any:
    """The generator's columns as the flat log's (ids prefixed by the source)."""
    import polars as pl

    df = df.with_columns(
        ("csv:" + pl.col("case_id")).alias("case_id"),
        pl.format("csv:{}/{}", "case_id", "seq").alias("event_id"),
        ("csv:" + pl.col("resource")).alias("actor_id"),
        pl.lit("human").alias("actor_kind"),
        ("csv:" + pl.col("case_id")).alias("object_id"),
        pl.lit("case").alias("object_type"),
    )
    cols = ["case_id", "activity", "timestamp", "seq", "event_id", "actor_id", "resource"]
    cols += ["actor_kind", "team", "object_id", "object_type"]
    return df.select(cols)


def _chunk(n_events: int, rng: Any, cum: Any, first_case: int) -> Any:
    """``generate``'s traces for ~n_events (same transition matrix ``cum``), cases from ``first_case``."""
    import numpy as np
    import polars as pl

    n_act = cum.shape[0]
    mean_len = 10
    n_cases = n_events // mean_len
    lengths = np.clip(rng.poisson(mean_len, n_cases), 2, 60)
    total = int(lengths.sum())
    starts = np.repeat(np.cumsum(lengths) - lengths, lengths)
    pos = np.arange(total) - starts
    acts = np.empty(total, dtype=np.int16)
    acts[pos == 0] = rng.integers(0, 3, size=int((pos == 0).sum()))
    u = rng.random(total)
    for step in range(1, int(lengths.max())):
        idx = np.nonzero(pos == step)[0]
        acts[idx] = (u[idx, None] > cum[acts[idx - 1]]).sum(axis=1).clip(max=n_act - 1)
    case_ids = first_case + np.repeat(np.arange(n_cases), lengths)
    case_start = rng.integers(0, 365 * 86400, size=n_cases)
    gaps = rng.exponential(3600, size=total).astype(np.int64)
    gaps[pos == 0] = 0
    cum_gaps = np.cumsum(gaps)
    case_offset = np.repeat(cum_gaps[np.cumsum(lengths) - lengths], lengths)
    ts = 1_704_067_200 + np.repeat(case_start, lengths) + (cum_gaps - case_offset)
    return pl.DataFrame(
        {
            "case_id": pl.Series(case_ids).cast(pl.String),
            "activity": "activity " + pl.Series(acts).cast(pl.String),
            "timestamp": pl.from_epoch(pl.Series(ts), time_unit="s").dt.replace_time_zone("UTC"),
            "seq": pl.Series(pos, dtype=pl.Int64),
            "resource": "R" + pl.Series(rng.integers(0, 60, size=total)).cast(pl.String),
            "team": "G" + pl.Series(rng.integers(0, 8, size=total)).cast(pl.String),
        }
    ).with_columns(pl.col("timestamp").dt.cast_time_unit("us"))


def lake(n_events: int, files: int = 8) -> Path:
    """The generated log as a lake folder (the flat log's columns).

    Up to :data:`CHUNK` events it is ``bench_discovery.generate``'s log (the
    same rows as the discovery benchmark). Larger logs are generated and
    written :data:`CHUNK` events at a time (one file each; the same
    transition matrix, each chunk's traces from its own seed, case ids
    running on), so generation needs the memory of one chunk.
    """
    import numpy as np
    import polars as pl
    from bench_discovery import generate

    folder = DATA / f"lake_{n_events}"
    if (folder / "manifest.json").exists():
        return folder
    target = folder / "events" / "source=csv" / "month=all"
    target.mkdir(parents=True, exist_ok=True)
    rows = 0
    if n_events <= CHUNK:
        df = _flat(pl.read_parquet(generate(n_events)))
        step = -(-df.height // files)
        for i in range(files):
            df.slice(i * step, step).write_parquet(target / f"part-{i}.parquet")
        rows = df.height
    else:
        rng = np.random.default_rng(1)  # the transition matrix as ``generate`` draws it
        n_act = 25
        trans = np.full((n_act, n_act), 0.002)
        for a in range(n_act):
            succ = rng.choice(n_act, size=rng.integers(3, 6), replace=False)
            trans[a, succ] += rng.random(len(succ)) * 3
        trans /= trans.sum(axis=1, keepdims=True)
        cum = trans.cumsum(axis=1)
        first_case = 0
        for i in range(-(-n_events // CHUNK)):
            n = min(CHUNK, n_events - i * CHUNK)
            df = _chunk(n, np.random.default_rng([1, i]), cum, first_case)
            first_case += n // 10
            _flat(df).write_parquet(target / f"part-{i}.parquet")
            rows += df.height
            print(f"  generated chunk {i}: {rows:,} events", flush=True)
            del df
    manifest = {"tables": {"events": {"rows": rows, "partitions": [{"path": "events"}]}}}
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
    """Aggregating kernels collect their (small) frames; the per-visit and per-case ones
    (stage visits, the conformance check) are written to Spark's ``noop`` sink: computed
    in full, kept on the cluster, as a job over 10^8+ cases would write them."""
    import wfmine.spark as ws
    from wfmine.spark.stages import stage_visits_spark

    def sink(frame: Any) -> None:
        frame.write.format("noop").mode("overwrite").save()

    return {
        "dfg": ws.directly_follows,
        "performance_dfg": ws.performance_dfg,
        "variants": ws.variants,
        "case_durations": ws.case_durations,
        "handover_team": lambda df: ws.handover(df, resource="team"),
        "stage_visits": lambda df: sink(stage_visits_spark(ws.stage_events(df, design))),
        "check": lambda df: sink(ws.check_spark(df, design)),
        "failure_counts": lambda df: ws.failure_counts(df, design),
    }


def embedded_kernels(design: Any) -> dict[str, Callable[[Any], Any]]:
    import wfmine.discovery as d
    from wfmine.conformance import check
    from wfmine.findings.failures import failure_occurrences
    from wfmine.spark.conformance import failure_counts_polars
    from wfmine.stages import case_scope, stage_events, stage_visits

    def failures(log: Any) -> Any:
        events = stage_events(log, design)
        in_scope, _ = case_scope(events)
        events = events.join(in_scope, on="case_id", how="semi", maintain_order="left")
        return failure_counts_polars(failure_occurrences(events, design))

    return {
        "dfg": d.directly_follows,
        "performance_dfg": d.performance_dfg,
        "variants": d.variants,
        "case_durations": d.case_durations,
        "handover_team": lambda log: d.handover_frame(log, resource_key="team"),
        "stage_visits": lambda log: stage_visits(stage_events(log, design)),
        "check": lambda log: check(log, design).cases,
        "failure_counts": failures,
    }


def _load_avg() -> list[float]:
    return [float(x) for x in Path("/proc/loadavg").read_text().split()[:3]]


def embedded_child(size: int, name: str) -> None:
    """One embedded kernel on the lake's rows, in this (child) process: prints its JSON."""
    import polars as pl

    from wfmine.design import load_design_text

    log = pl.read_parquet(lake(size) / "events", hive_partitioning=True)
    kernel = embedded_kernels(load_design_text(DESIGN))[name]
    base = _rss(os.getpid())
    with Peak(lambda: [os.getpid()]) as peak:
        t = time.perf_counter()
        kernel(log)
        elapsed = time.perf_counter() - t
    print(json.dumps({"seconds": elapsed, "loaded": base, "peak_above": max(0, peak.peak - base)}))


def embedded(size: int, name: str, cap: int) -> dict[str, Any]:
    """:func:`embedded_child` in a fresh process, stopped when its RSS passes ``cap`` bytes."""
    import subprocess

    cmd = [sys.executable, __file__, "--embedded-child", str(size), name]
    child = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    t = time.perf_counter()
    peak = 0
    while child.poll() is None:
        peak = max(peak, _rss(child.pid))
        if peak > cap:
            child.kill()
            child.wait()
            return {"killed_at_rss": peak, "after_s": time.perf_counter() - t}
        time.sleep(0.2)
    out, err = child.communicate()
    if child.returncode != 0:
        return {"failed": (err.strip().splitlines() or ["?"])[-1], "peak_rss": peak}
    result: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    result["peak_rss"] = peak
    return result


def _emit(rows: list[dict[str, Any]], row: dict[str, Any], log: Path | None) -> None:
    """Keep ``row`` and append it to ``log`` at once (a long run leaves what finished)."""
    rows.append(row)
    if log is not None:
        with log.open("a") as f:
            f.write(json.dumps(row) + "\n")


def _available() -> int:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemAvailable:"):
            return int(line.split()[1]) * 1024
    return 0


def run_embedded(
    size: int, only: list[str] | None, cap: int, rows: list[dict[str, Any]], log: Path | None
) -> None:
    from wfmine.design import load_design_text

    kernels = embedded_kernels(load_design_text(DESIGN))
    for name in only or list(kernels):
        # never take the shared machine's last gigabytes: the cap, or what is free less 4 GiB
        limit = min(cap, _available() - 4 * 2**30)
        got = embedded(size, name, limit)
        load = _load_avg()
        row = {"size": size, "kernel": name, "engine": "embedded", **got, "load_avg": load}
        _emit(rows, {**row, "cap": limit}, log)
        if "seconds" in got:
            print(
                f"  embedded {name:16s} {got['seconds']:8.1f}s  "
                f"peak +{got['peak_above'] / 2**30:4.1f} GiB above the loaded log "
                f"({got['loaded'] / 2**30:.1f} GiB)  load {load}",
                flush=True,
            )
        else:
            print(f"  embedded {name:16s} did not finish: {got}  load {load}", flush=True)


def run(
    size: int,
    master: str,
    only: list[str] | None,
    cap: int,
    log: Path | None = None,
    driver_memory: str = "10g",
    with_embedded: bool = True,
) -> list[dict[str, Any]]:
    import wfmine.spark as ws
    from wfmine.design import load_design_text

    folder = lake(size)
    design = load_design_text(DESIGN)
    rows: list[dict[str, Any]] = []
    if with_embedded:
        run_embedded(size, only, cap, rows, log)  # first: the Spark JVM holds its heap after
    # ~16 shuffle partitions per 10M events (~20-80 MiB of shuffle each)
    partitions = max(16, 16 * size // 10_000_000)
    t0 = time.perf_counter()
    spark = ws.session(
        master,
        conf={
            "spark.ui.enabled": "true",
            "spark.driver.memory": driver_memory,
            "spark.sql.shuffle.partitions": str(partitions),
        },
    )
    started = time.perf_counter() - t0
    jvm = _jvm_pid()
    df = ws.log_from_parquet(folder, spark)
    print(
        f"{size:,} events: Spark session {started:.1f}s on {master}, "
        f"{partitions} shuffle partitions, load {_load_avg()}",
        flush=True,
    )
    t = time.perf_counter()
    ws.directly_follows(df.limit(100_000))  # JIT and code generation warm-up, not measured
    print(f"  warm-up {time.perf_counter() - t:.1f}s", flush=True)
    kernels = spark_kernels(design)
    for name in only or list(kernels):  # in the order asked for
        kernel = kernels[name]
        before = _stages(spark)
        with Peak(lambda: _tree(jvm)) as peak:
            t = time.perf_counter()
            kernel(df)
            elapsed = time.perf_counter() - t
        after = _stages(spark)
        shuffle = sum(v for k, v in after.items() if k not in before)
        load = _load_avg()
        row = {
            "size": size,
            "kernel": name,
            "engine": "spark",
            "seconds": elapsed,
            "shuffle_bytes": shuffle,
            "peak_rss": peak.peak,
            "load_avg": load,
            "shuffle_partitions": partitions,
        }
        _emit(rows, row, log)
        print(
            f"  spark    {name:16s} {elapsed:8.1f}s  shuffle {shuffle / 2**20:8.0f} MiB  "
            f"peak {peak.peak / 2**30:5.1f} GiB  load {load}",
            flush=True,
        )
    spark.stop()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000_000])
    parser.add_argument("--master", default="local[2]")
    parser.add_argument("--kernels", nargs="*", default=None)
    parser.add_argument("--generate-only", action="store_true", help="write the lakes, run nothing")
    parser.add_argument(
        "--embedded-cap-gib", type=float, default=16.0,
        help="stop an embedded kernel whose process passes this RSS (the machine is shared)",
    )  # fmt: skip
    parser.add_argument("--embedded-child", nargs=2, help=argparse.SUPPRESS)
    parser.add_argument("--driver-memory", default="10g", help="Spark's driver (= executor) heap")
    parser.add_argument("--no-embedded", action="store_true", help="the Spark side only")
    args = parser.parse_args()
    if args.embedded_child:
        embedded_child(int(args.embedded_child[0]), args.embedded_child[1])
        return
    if args.generate_only:
        for size in args.sizes:
            print(lake(size), flush=True)
        return
    rows: list[dict[str, Any]] = []
    RESULTS.mkdir(parents=True, exist_ok=True)
    tag = "_".join(str(s) for s in args.sizes) + (
        "_" + "_".join(args.kernels) if args.kernels else ""
    )
    tag += "_spark" if args.no_embedded else ""
    partial = RESULTS / f"spark_{tag}.jsonl"  # each row as it finishes
    partial.unlink(missing_ok=True)
    cap = int(args.embedded_cap_gib * 2**30)
    for size in args.sizes:
        rows += run(
            size, args.master, args.kernels, cap, partial, args.driver_memory, not args.no_embedded
        )
    out = RESULTS / f"spark_{tag}.json"
    out.write_text(
        json.dumps({"master": args.master, "cpus": os.cpu_count(), "rows": rows}, indent=2)
    )
    print(f"written {out}")


if __name__ == "__main__":
    main()
