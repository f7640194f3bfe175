"""Benchmark: ``wfmine.conformance.check`` vs pm4py token-based replay on a 1M-event log.

A synthetic delivery log (numpy, seeded) with planted skips, loops and
out-of-order moves; pm4py replays the same events on a model its inductive
miner discovers from a 2% sample. Prints wall time and peak memory (resident
memory above the start of each call, and Python allocations).

    python benchmarks/bench_conformance.py [--events 1000000] [--skip-pm4py] [--ordered]
"""

from __future__ import annotations

import argparse
import datetime as dt
import resource
import threading
import time
import tracemalloc
from collections.abc import Callable
from typing import Any

import numpy as np
import polars as pl

from wfmine.conformance import check
from wfmine.design import load_design_text

DESIGN = """
name: bench
stages:
  - {id: triage, performer: human, expected: 2d, activities: ["jira:Issue created"]}
  - {id: build, performer: either, expected: 5d, activities: ["github:Commit pushed", "github:PR opened"]}
  - {id: review, performer: either, expected: 2d, activities: ["github:PR approved"]}
  - {id: qa, performer: human, expected: 3d, activities: ["jira:Status: QA"]}
  - {id: deploy, performer: human, activities: ["github:PR merged"]}
transitions: [[triage, build], [build, review], [review, build], [review, qa], [qa, deploy]]
gates: [{before: deploy}]
"""

STEPS = [
    ("jira", "Issue created"),
    ("github", "PR opened"),
    ("github", "Commit pushed"),
    ("github", "PR approved"),
    ("jira", "Status: QA"),
    ("github", "PR merged"),
]


def synthetic_log(n_events: int, seed: int = 7) -> pl.DataFrame:
    """About ``n_events`` events in cases of 6–9 steps with planted deviations."""
    rng = np.random.default_rng(seed)
    base = np.array([0, 1, 2, 3, 4, 5])
    variants = [
        base,
        np.array([0, 1, 2, 3, 1, 2, 3, 4, 5]),  # rework loop
        np.array([0, 1, 2, 3, 5]),  # qa skipped
        np.array([0, 1, 4, 3, 5]),  # out of order
        np.array([0, 1, 2, 2, 3, 4, 5, 4]),  # qa repeated
    ]
    probs = np.array([0.7, 0.12, 0.08, 0.05, 0.05])
    mean_length = float(sum(p * len(v) for p, v in zip(probs, variants, strict=True)))
    n_cases = round(n_events / mean_length)
    choice = rng.choice(len(variants), size=n_cases, p=probs)
    lengths = np.array([len(v) for v in variants])[choice]
    steps = np.concatenate([variants[c] for c in choice])
    case = np.repeat(np.arange(n_cases), lengths)
    seq = np.concatenate([np.arange(n) for n in lengths])
    gaps = rng.exponential(8 * 3600, size=steps.size).astype("int64")
    start = rng.integers(0, 365 * 86400, size=n_cases)
    offs = np.cumsum(gaps) - np.repeat(
        np.cumsum(gaps)[np.cumsum(lengths) - 1]
        - np.add.reduceat(gaps, np.r_[0, np.cumsum(lengths)[:-1]]),
        lengths,
    )
    ts = np.repeat(start, lengths) + offs
    actors = rng.integers(0, 60, size=steps.size)
    src = np.array([s for s, _ in STEPS])[steps]
    act = np.array([a for _, a in STEPS])[steps]
    epoch = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    return pl.DataFrame(
        {
            "case_id": pl.Series(case).cast(pl.String),
            "activity": act,
            "timestamp": pl.Series((ts * 1_000_000).astype("int64")).cast(pl.Datetime("us", "UTC"))
            + (epoch - dt.datetime(1970, 1, 1, tzinfo=dt.UTC)),
            "seq": seq.astype("int64"),
            "event_id": np.char.add(np.char.add(case.astype(str), "/"), seq.astype(str)),
            "actor_id": np.char.add("u", actors.astype(str)),
            "resource": np.char.add("u", actors.astype(str)),
            "actor_kind": np.where(actors < 5, "bot", "human"),
            "team": None,
            "source": src,
            "object_id": case.astype(str),
            "object_type": "issue",
        }
    ).with_columns(pl.col("team").cast(pl.String))


def _rss_mib() -> float:
    """Current resident set size (Linux ``/proc``; else the high-water mark)."""
    try:
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[1]) * resource.getpagesize() / 2**20
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure(label: str, fn: Callable[[], Any]) -> Any:
    """Run ``fn`` once: wall time, peak RSS above the RSS at the start (sampled every 5 ms,
    so polars' native buffers count too) and peak traced Python allocations."""
    start_rss = _rss_mib()
    peak_rss = start_rss
    done = threading.Event()

    def sample() -> None:
        nonlocal peak_rss
        while not done.wait(0.005):
            peak_rss = max(peak_rss, _rss_mib())

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    tracemalloc.start()
    t0 = time.perf_counter()
    out = fn()
    elapsed = time.perf_counter() - t0
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    done.set()
    sampler.join()
    peak_rss = max(peak_rss, _rss_mib())
    print(
        f"{label:<46} {elapsed:8.2f} s   peak RSS +{peak_rss - start_rss:7.0f} MiB"
        f"   peak traced (Python) {peak / 2**20:7.1f} MiB"
    )
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--skip-pm4py", action="store_true")
    parser.add_argument(
        "--ordered",
        action="store_true",
        help="hand check() the log in case order, as Store.log() returns it (no sort needed)",
    )
    args = parser.parse_args()
    log = synthetic_log(args.events)
    if args.ordered:
        log = log.sort("case_id", "timestamp", "seq", "event_id")
    design = load_design_text(DESIGN)
    print(f"log: {log.height} events, {log['case_id'].n_unique()} cases")
    print(
        "(peak RSS: resident memory above the start of the call, sampled; "
        "tracemalloc sees Python allocations only)"
    )
    result = measure("wfmine check() (flow, performers, gates, time)", lambda: check(log, design))
    print(
        "  summary:",
        {k: result.summary[k] for k in ("log_fitness", "deviations", "gate_violations")},
    )
    if args.skip_pm4py:
        return
    import pm4py

    pdf = log.select(
        pl.col("case_id").alias("case:concept:name"),
        pl.col("activity").alias("concept:name"),
        pl.col("timestamp").alias("time:timestamp"),
    ).to_pandas()
    sample_ids = log["case_id"].unique().sort().head(max(1, log["case_id"].n_unique() // 50))
    sample = pdf[pdf["case:concept:name"].isin(set(sample_ids.to_list()))]
    net, im, fm = pm4py.discover_petri_net_inductive(sample, noise_threshold=0.2)
    fit = measure(
        "pm4py fitness_token_based_replay (pandas)",
        lambda: pm4py.fitness_token_based_replay(pdf, net, im, fm),
    )
    print("  pm4py log fitness:", round(fit["log_fitness"], 4))
    from wfmine.conformance.models import check_model

    ours = measure(
        "wfmine check_model (token replay per variant)",
        lambda: check_model(log, (net, im, fm), alignments=False),
    )
    print("  wfmine log fitness:", round(ours.summary["token_log_fitness"], 4))


if __name__ == "__main__":
    main()
