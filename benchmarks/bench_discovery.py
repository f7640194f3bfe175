"""wfmine vs pm4py on the same synthetic logs, side by side, in one run.

    python benchmarks/bench_discovery.py --sizes 1000000 10000000

For each size it writes a synthetic log (Parquet; plus an XES file for the
import benchmark at sizes up to ``--xes-max``) into ``benchmarks/data/`` (or ``--data``), then
times each operation in a *fresh subprocess* per (tool, operation) so that
peak memory (max RSS) belongs to that operation alone. Each operation's wall
time and CPU time (user + system of every thread of the child, which the load
of a shared machine moves much less) are both kept. Both tools get the
same rows; loading the Parquet file is outside the timed region and inside
the memory figure for both. It prints a table with each ratio and writes
``benchmarks/results/discovery.json``.

``--baseline DIR`` (a checkout of an older commit: ``git worktree add
--detach DIR REV``) runs each wfmine operation a second time with ``DIR``
first on ``PYTHONPATH``, interleaved with the current package, so both see
the same machine; ``--repeat N`` takes the median of N interleaved rounds.
The table then shows the current package's time over the baseline's.

Not part of the test run.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
DATA = HERE / "data"
RESULTS = HERE / "results"

OPERATIONS = ["dfg", "performance_dfg", "variants", "case_durations", "handover", "xes_import"]


def generate(n_events: int, seed: int = 1, data: Path = DATA) -> Path:
    """A log of ~n_events in ``data``: Markov-chain traces over 25 activities, 60 resources, 8 groups."""
    import numpy as np
    import polars as pl

    path = data / f"synthetic_{n_events}.parquet"
    if path.exists():
        return path
    data.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    n_act = 25
    # a sparse-ish transition matrix: each activity has 3-5 likely successors
    trans = np.full((n_act, n_act), 0.002)
    for a in range(n_act):
        succ = rng.choice(n_act, size=rng.integers(3, 6), replace=False)
        trans[a, succ] += rng.random(len(succ)) * 3
    trans /= trans.sum(axis=1, keepdims=True)
    cum = trans.cumsum(axis=1)
    mean_len = 10
    n_cases = n_events // mean_len
    lengths = np.clip(rng.poisson(mean_len, n_cases), 2, 60)
    total = int(lengths.sum())
    starts = np.repeat(np.cumsum(lengths) - lengths, lengths)
    pos = np.arange(total) - starts
    acts = np.empty(total, dtype=np.int16)
    acts[pos == 0] = rng.integers(0, 3, size=int((pos == 0).sum()))
    u = rng.random(total)
    for step in range(1, int(lengths.max())):  # one vectorised step per position, not per event
        idx = np.nonzero(pos == step)[0]
        prev = acts[idx - 1]
        acts[idx] = (u[idx, None] > cum[prev]).sum(axis=1).clip(max=n_act - 1)
    case_ids = np.repeat(np.arange(n_cases), lengths)
    case_start = rng.integers(0, 365 * 86400, size=n_cases)
    gaps = rng.exponential(3600, size=total).astype(np.int64)
    gaps[pos == 0] = 0
    # cumulative gap within each case
    cum_gaps = np.cumsum(gaps)
    case_offset = np.repeat(cum_gaps[np.cumsum(lengths) - lengths], lengths)
    ts = 1_704_067_200 + np.repeat(case_start, lengths) + (cum_gaps - case_offset)
    df = pl.DataFrame(
        {
            "case_id": pl.Series(case_ids).cast(pl.String),
            "activity": "activity " + pl.Series(acts).cast(pl.String),
            "timestamp": pl.from_epoch(pl.Series(ts), time_unit="s").dt.replace_time_zone("UTC"),
            "seq": pl.Series(pos, dtype=pl.Int64),
            "resource": "R" + pl.Series(rng.integers(0, 60, size=total)).cast(pl.String),
            "team": "G" + pl.Series(rng.integers(0, 8, size=total)).cast(pl.String),
        }
    ).with_columns(pl.col("timestamp").dt.cast_time_unit("us"))
    df.write_parquet(path)
    return path


def write_xes(parquet: Path) -> Path:
    import polars as pl

    from wfmine.formats.export import to_xes

    path = parquet.with_suffix(".xes")
    if not path.exists():
        to_xes(pl.read_parquet(parquet), path)
    return path


# -- child side ------------------------------------------------------------------------


def _child(tool: str, op: str, data: str) -> None:
    import polars as pl

    if op == "xes_import":
        t0 = time.perf_counter()
        c0 = time.process_time()
        if tool == "wfmine":
            from wfmine.formats.xes import load

            batch = load(Path(data))
            n = batch.events.height
        else:
            import pm4py

            df = (
                pm4py.read_xes(data, variant="iterparse")
                if _pm4py_has_variant()
                else pm4py.read_xes(data)
            )
            n = len(df)
        elapsed = time.perf_counter() - t0
        _report(elapsed, time.process_time() - c0, n)
        return
    log = pl.read_parquet(data)
    if tool == "pm4py":
        import pm4py

        pdf = log.rename(
            {"case_id": "case:concept:name", "activity": "concept:name",
             "timestamp": "time:timestamp", "resource": "org:resource"}
        ).to_pandas()  # fmt: skip
        del log
        t0 = time.perf_counter()
        c0 = time.process_time()
        if op == "dfg":
            pm4py.discover_dfg(pdf)
        elif op == "performance_dfg":
            pm4py.discover_performance_dfg(pdf)
        elif op == "variants":
            pm4py.get_variants(pdf)
        elif op == "case_durations":
            pm4py.get_all_case_durations(pdf)
        elif op == "handover":
            pm4py.discover_handover_of_work_network(pdf)
        elapsed = time.perf_counter() - t0
        _report(elapsed, time.process_time() - c0, len(pdf))
        return
    from wfmine import discovery as d

    t0 = time.perf_counter()
    c0 = time.process_time()
    if op == "dfg":
        d.directly_follows(log)
    elif op == "performance_dfg":
        d.performance_dfg(log)
    elif op == "variants":
        d.variants(log)
    elif op == "case_durations":
        d.case_durations(log)
    elif op == "handover":
        d.handover_network(log)
    elapsed = time.perf_counter() - t0
    _report(elapsed, time.process_time() - c0, log.height)


def _pm4py_has_variant() -> bool:
    import inspect

    import pm4py

    return "variant" in inspect.signature(pm4py.read_xes).parameters


def _report(elapsed: float, cpu: float, n: int) -> None:
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    package = ""
    if "wfmine" in sys.modules:
        package = str(Path(sys.modules["wfmine"].__file__ or "").resolve().parent)
    print(json.dumps({"seconds": elapsed, "cpu_s": cpu, "events": n, "peak_mb": peak_kb / 1024,
                      "package": package}))  # fmt: skip


def run(
    tool: str, op: str, data: Path, timeout: float, baseline: Path | None = None
) -> dict[str, float] | None:
    cmd = [sys.executable, __file__, "--child", tool, op, str(data)]
    env = None
    if baseline is not None:
        env = dict(os.environ, PYTHONPATH=str(baseline))
    try:
        out = subprocess.run(
            cmd, capture_output=True, text=True, timeout=timeout, check=False, env=env
        )
    except subprocess.TimeoutExpired:
        return {"seconds": float("inf"), "cpu_s": float("inf"), "peak_mb": float("nan"),
                "timeout": timeout}  # fmt: skip
    if out.returncode != 0:
        print(f"  {tool} {op} failed: {out.stderr.strip().splitlines()[-1:]}", file=sys.stderr)
        return None
    result = dict(json.loads(out.stdout.strip().splitlines()[-1]))
    if baseline is not None and not Path(result["package"]).is_relative_to(baseline.resolve()):
        raise SystemExit(f"the baseline run imported {result['package']}, not {baseline}")
    result.pop("package", None)
    return result


def _median_run(
    tool: str, op: str, data: Path, timeout: float, repeat: int, baseline: Path | None
) -> tuple[dict[str, float] | None, dict[str, float] | None]:
    """``repeat`` interleaved rounds of this package (and the baseline): the medians."""
    import statistics

    ours: list[dict[str, float]] = []
    base: list[dict[str, float]] = []
    for _ in range(repeat):
        r = run(tool, op, data, timeout)
        if r is None:
            return None, None
        ours.append(r)
        if baseline is not None:
            b = run(tool, op, data, timeout, baseline)
            if b is None:
                return None, None
            base.append(b)

    def med(rows: list[dict[str, float]]) -> dict[str, float] | None:
        if not rows:
            return None
        return {k: statistics.median(r[k] for r in rows) for k in ("seconds", "cpu_s", "peak_mb")}

    return med(ours), med(base)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000_000, 10_000_000])
    parser.add_argument("--ops", nargs="+", default=OPERATIONS, choices=OPERATIONS)
    parser.add_argument(
        "--xes-max", type=int, default=1_000_000, help="largest size for XES import"
    )
    parser.add_argument("--timeout", type=float, default=900.0, help="per operation, seconds")
    parser.add_argument(
        "--baseline", type=Path, help="an older checkout, measured interleaved with this one"
    )
    parser.add_argument("--repeat", type=int, default=1, help="rounds; the median is kept")
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    parser.add_argument("--results", type=Path, default=RESULTS, help="folder for discovery.json")
    parser.add_argument(
        "--data", type=Path, default=DATA, help="folder for the generated logs (kept for reruns)"
    )
    args = parser.parse_args()
    if args.child:
        _child(*args.child)
        return
    os.environ.setdefault("POLARS_MAX_THREADS", str(os.cpu_count() or 2))
    rows = []
    for size in args.sizes:
        parquet = generate(size, data=args.data)
        for op in args.ops:
            if op == "xes_import":
                if size > args.xes_max:
                    continue
                data = write_xes(parquet)
            else:
                data = parquet
            ours, base = _median_run("wfmine", op, data, args.timeout, args.repeat, args.baseline)
            theirs, _ = _median_run("pm4py", op, data, args.timeout, args.repeat, None)
            if ours is None or theirs is None:
                continue
            ratio = theirs["seconds"] / ours["seconds"] if ours["seconds"] else float("nan")
            row = {
                "events": size, "op": op,
                "wfmine_s": round(ours["seconds"], 3), "pm4py_s": round(theirs["seconds"], 3),
                "speedup": round(ratio, 1),
                "wfmine_cpu_s": round(ours["cpu_s"], 3), "pm4py_cpu_s": round(theirs["cpu_s"], 3),
                "cpu_speedup": round(theirs["cpu_s"] / ours["cpu_s"], 1) if ours["cpu_s"] else None,
                "wfmine_peak_mb": round(ours["peak_mb"]), "pm4py_peak_mb": round(theirs["peak_mb"]),
            }  # fmt: skip
            extra = ""
            if base is not None:
                row["baseline_s"] = round(base["seconds"], 3)
                row["baseline_cpu_s"] = round(base["cpu_s"], 3)
                row["baseline_peak_mb"] = round(base["peak_mb"])
                row["vs_baseline"] = round(ours["seconds"] / base["seconds"], 3)
                extra = (
                    f"  baseline {row['baseline_s']:>8.2f} s, {row['baseline_cpu_s']:.2f} CPU s"
                    f" (now/then {row['vs_baseline']:.2f}, peak MB {row['baseline_peak_mb']})"
                )
            rows.append(row)
            print(
                f"{size:>11,} {op:<16} wfmine {row['wfmine_s']:>8.2f} s  pm4py {row['pm4py_s']:>8.2f} s"
                f"  x{row['speedup']:<6} CPU {row['wfmine_cpu_s']:.2f} vs {row['pm4py_cpu_s']:.2f} s"
                f" x{row['cpu_speedup']:<6} peak MB {row['wfmine_peak_mb']:>6} vs {row['pm4py_peak_mb']:>6}"
                + extra,
                flush=True,
            )
    args.results.mkdir(parents=True, exist_ok=True)
    (args.results / "discovery.json").write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
