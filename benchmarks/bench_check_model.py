"""``check --model`` timings: token replay (default) against alignments (with a time limit).

Logs: a 65k-event synthetic log (bench_conformance's generator, inductive
model with noise 0.2) and Sepsis (noise-free inductive model, where pm4py's
alignments take minutes).

    python benchmarks/bench_check_model.py [TIMEOUT_S]
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parent))

LOGS = Path(__file__).resolve().parents[2] / "shared" / "realdata" / "logs"
if not LOGS.is_dir():
    LOGS = Path("/work/shared/realdata/logs")


def main() -> None:
    import pm4py
    from bench_conformance import synthetic_log

    from wfmine.conformance.models import check_model
    from wfmine.formats import xes
    from wfmine.store import Store

    timeout = float(sys.argv[1]) if len(sys.argv) > 1 else 120.0
    synthetic = synthetic_log(65_000)
    store = Store(":memory:")
    store.ingest(xes.load(LOGS / "13_SEPSIS_1t_per_variant.xes.gz"))
    sepsis = store.log()
    for name, log, noise in (("synthetic 65k", synthetic, 0.2), ("sepsis", sepsis, 0.0)):
        frame = log.select(
            pl.col("case_id").alias("case:concept:name"),
            pl.col("activity").alias("concept:name"),
            pl.col("timestamp").alias("time:timestamp"),
        ).to_pandas()
        model = pm4py.discover_petri_net_inductive(frame, noise_threshold=noise)
        for alignments in (False, True):
            started = time.perf_counter()
            res = check_model(log, model, alignments=alignments, timeout=timeout)
            took = time.perf_counter() - started
            s = res.summary
            fitness = s.get("alignment_log_fitness", s.get("token_log_fitness"))
            print(
                f"{name} ({log.height} events, {s['variants']} variants): {s['method']} "
                f"{took:.1f} s, log fitness {fitness:.4f}"
                + (
                    f", complete={s['alignments_complete']} "
                    f"({s['aligned_variants']} variants, {s['aligned_cases']} cases)"
                    if alignments
                    else ""
                )
            )
        started = time.perf_counter()
        tbr = pm4py.fitness_token_based_replay(frame, *model)
        print(
            f"{name}: pm4py fitness_token_based_replay {time.perf_counter() - started:.1f} s,"
            f" log fitness {tbr['log_fitness']:.4f}"
        )


if __name__ == "__main__":
    main()
