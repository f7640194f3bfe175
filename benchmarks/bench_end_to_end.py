"""End to end, as a user times it: ``wfmine discover FILE --json`` vs the same answers from pm4py.

    python benchmarks/bench_end_to_end.py                      # 1M Parquet + CSV, BPI 2012 XES
    python benchmarks/bench_end_to_end.py --sizes 1000000 10000000 --runs 3

Each measurement is a *whole fresh process* (interpreter start, imports,
reading the file, ingest into a new store for wfmine, discovery, JSON out),
run side by side with its peer in the same invocation so machine load hits
both alike. The figure is the median wall time of ``--runs`` runs; peak memory
is the child's max RSS as reported by ``os.wait4`` for that very child.

The peer (pm4py) does what a pm4py user writes to get the same answers:
``pd.read_parquet`` / ``pd.read_csv`` (+ ``pm4py.format_dataframe`` for CSV,
whose timestamps are text), ``discover_dfg``, ``discover_performance_dfg``,
``get_variants``; for XES ``pm4py.read_xes`` (which uses ``rustxes`` when it is
installed) and the same three calls. wfmine reads the usual one-element-a-line
XES with its own scanner (``wfmine.formats._xes_scan``) and any other with
``rustxes``, so an XES row compares the parsers too.

The CPU column is each child's user + system time (median): on a shared
machine it moves much less with load than wall time does. ``--profile DIR``
runs wfmine once more per case under ``cProfile`` and writes the stats there.

``--baseline DIR`` adds a third column: the same wfmine command with ``DIR``
first on ``PYTHONPATH`` (a copy of the package with some modules swapped for
older versions), so a change is measured against what it replaces in the
same run.

Generated logs (a Markov process over 25 activities, pm4py column names
``case:concept:name``, ``concept:name``, ``time:timestamp``, ``org:resource``,
``org:group``) go to a temporary folder (``--keep DIR`` to reuse one) and are
never committed. Not part of the test run; no timing is asserted anywhere.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
REAL_XES = Path("/work/shared/realdata/logs/bpic2012.xes.gz")


def generate(folder: Path, n_events: int, seed: int = 7) -> tuple[Path, Path]:
    """A Parquet and a CSV file of ~``n_events`` events with pm4py's column names."""
    import numpy as np
    import polars as pl

    parquet = folder / f"log_{n_events}.parquet"
    csv = folder / f"log_{n_events}.csv"
    if parquet.exists() and csv.exists():
        return parquet, csv
    rng = np.random.default_rng(seed)
    n_act = 25
    trans = np.full((n_act, n_act), 0.002)
    for a in range(n_act):
        succ = rng.choice(n_act, size=rng.integers(3, 6), replace=False)
        trans[a, succ] += rng.random(len(succ)) * 3
    cum = (trans / trans.sum(axis=1, keepdims=True)).cumsum(axis=1)
    n_cases = n_events // 10
    lengths = np.clip(rng.poisson(10, n_cases), 2, 60)
    total = int(lengths.sum())
    first = np.cumsum(lengths) - lengths
    pos = np.arange(total) - np.repeat(first, lengths)
    acts = np.empty(total, dtype=np.int16)
    acts[pos == 0] = rng.integers(0, 3, size=int((pos == 0).sum()))
    u = rng.random(total)
    for step in range(1, int(lengths.max())):  # one vectorised step per position
        idx = np.nonzero(pos == step)[0]
        acts[idx] = (u[idx, None] > cum[acts[idx - 1]]).sum(axis=1).clip(max=n_act - 1)
    gaps = rng.exponential(3600, size=total).astype(np.int64)
    gaps[pos == 0] = 0
    cg = np.cumsum(gaps)
    ts = (
        1_704_067_200
        + np.repeat(rng.integers(0, 365 * 86400, size=n_cases), lengths)
        + cg
        - np.repeat(cg[first], lengths)
    )
    df = pl.DataFrame(
        {
            "case:concept:name": "C"
            + pl.Series(np.repeat(np.arange(n_cases), lengths)).cast(pl.String),
            "concept:name": "activity " + pl.Series(acts).cast(pl.String),
            "time:timestamp": pl.from_epoch(pl.Series(ts), time_unit="s").dt.replace_time_zone(
                "UTC"
            ),
            "org:resource": "R" + pl.Series(rng.integers(0, 60, size=total)).cast(pl.String),
            "org:group": "G" + pl.Series(rng.integers(0, 8, size=total)).cast(pl.String),
        }
    )
    folder.mkdir(parents=True, exist_ok=True)
    df.write_parquet(parquet)
    df.with_columns(pl.col("time:timestamp").dt.to_string("%Y-%m-%dT%H:%M:%S%:z")).write_csv(csv)
    return parquet, csv


PM4PY_SCRIPT = r"""
import sys
import pandas as pd
import pm4py
kind, path = sys.argv[1], sys.argv[2]
if kind == "parquet":
    df = pd.read_parquet(path)
elif kind == "csv":
    df = pd.read_csv(path)
    df = pm4py.format_dataframe(df, case_id="case:concept:name", activity_key="concept:name",
                                timestamp_key="time:timestamp")
else:
    df = pm4py.read_xes(path)
dfg, sa, ea = pm4py.discover_dfg(df)
perf, _, _ = pm4py.discover_performance_dfg(df)
var = pm4py.get_variants(df)
print(len(df), len(dfg), len(perf), len(var))
"""


@dataclass
class Run:
    seconds: float
    rss_mib: float
    out: str
    cpu_s: float = 0.0  # the child's user + system time: what machine load moves least


def child_env(pythonpath: Path | None = None) -> dict[str, str]:
    """The children's environment: bytecode caching on, ``pythonpath`` first if given.

    An installed package runs from compiled bytecode (pip compiles pm4py's at
    install). A shell with ``PYTHONDONTWRITEBYTECODE`` set would make every
    wfmine child compile its modules from source again while pm4py's stay
    compiled; :func:`main` compiles wfmine once before timing, so both start alike.
    """
    env = os.environ.copy()
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    if pythonpath is not None:
        env["PYTHONPATH"] = str(pythonpath)
    return env


def compile_package(folder: Path) -> None:
    """Write the bytecode of the package under ``folder`` (what ``pip install`` does)."""
    subprocess.run(
        [sys.executable, "-m", "compileall", "-q", str(folder)], check=True, env=child_env()
    )


def measure(cmd: list[str], env: dict[str, str] | None = None, cwd: Path | None = None) -> Run:
    """Run ``cmd`` as a child; its wall time and its own peak RSS (``os.wait4``)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, env=env or child_env(), cwd=cwd)
        _, status, usage = os.wait4(proc.pid, 0)  # this very child, not all children so far
        elapsed = time.perf_counter() - started
        code = os.waitstatus_to_exitcode(status)
        proc.returncode = code
        out.seek(0)
        err.seek(0)
        text, problem = out.read().decode(), err.read().decode()
    if code != 0:
        raise RuntimeError(f"{cmd} failed ({code}):\n{problem[-3000:]}")
    return Run(elapsed, usage.ru_maxrss / 1024, text, usage.ru_utime + usage.ru_stime)


def wfmine_cmd(path: Path, db: Path) -> list[str]:
    return [sys.executable, "-m", "wfmine", "discover", str(path), "--json", "--db", str(db)]


def pm4py_cmd(kind: str, path: Path) -> list[str]:
    return [sys.executable, "-c", PM4PY_SCRIPT, kind, str(path)]


def profile_case(label: str, path: Path, tmp: Path, folder: Path) -> Path:
    """One more wfmine run under cProfile (not timed): ``folder/<label>.prof``."""
    folder.mkdir(parents=True, exist_ok=True)
    target = folder.resolve() / (label.replace(" ", "_").replace(",", "") + ".prof")
    db = tmp / "store_profile.duckdb"
    for stale in (db, Path(str(db) + ".wal")):
        stale.unlink(missing_ok=True)
    cmd = wfmine_cmd(path, db)
    measure([cmd[0], "-m", "cProfile", "-o", str(target), *cmd[1:]], cwd=tmp)
    db.unlink(missing_ok=True)
    print(f"# profile: {target} (python -m pstats {target})", flush=True)
    return target


def bench_case(
    label: str, kind: str, path: Path, tmp: Path, runs: int, baseline: Path | None = None
) -> dict[str, object]:
    wf: list[Run] = []
    pm: list[Run] = []
    base: list[Run] = []
    base_env = None if baseline is None else child_env(baseline)
    for i in range(runs):  # interleaved: all see the same machine load
        db = tmp / f"store_{kind}_{i}.duckdb"
        for stale in (db, Path(str(db) + ".wal")):
            stale.unlink(missing_ok=True)
        wf.append(measure(wfmine_cmd(path, db), cwd=tmp))
        db.unlink(missing_ok=True)
        pm.append(measure(pm4py_cmd(kind, path), cwd=tmp))
        if base_env is not None:
            for stale in (db, Path(str(db) + ".wal")):
                stale.unlink(missing_ok=True)
            base.append(measure(wfmine_cmd(path, db), env=base_env, cwd=tmp))
            db.unlink(missing_ok=True)
    try:
        payload = json.loads(wf[-1].out)
    except ValueError:
        raise RuntimeError(f"wfmine printed no JSON document: {wf[-1].out[:300]!r}") from None
    wt = statistics.median(r.seconds for r in wf)
    pt = statistics.median(r.seconds for r in pm)
    wm = max(r.rss_mib for r in wf)
    pmm = max(r.rss_mib for r in pm)
    row: dict[str, object] = {
        "case": label,
        "events": payload["log"]["events"],
        "wfmine_s": round(wt, 2),
        "wfmine_mib": round(wm),
        "pm4py_s": round(pt, 2),
        "pm4py_mib": round(pmm),
        "speedup": round(pt / wt, 2),
        "memory_ratio": round(wm / pmm, 2),
        "wfmine_runs": [round(r.seconds, 2) for r in wf],
        "pm4py_runs": [round(r.seconds, 2) for r in pm],
        "wfmine_cpu_s": round(statistics.median(r.cpu_s for r in wf), 2),
        "pm4py_cpu_s": round(statistics.median(r.cpu_s for r in pm), 2),
    }
    if base:
        bt = statistics.median(r.seconds for r in base)
        row["baseline_s"] = round(bt, 2)
        row["baseline_mib"] = round(max(r.rss_mib for r in base))
        row["baseline_speedup"] = round(pt / bt, 2)
        row["baseline_runs"] = [round(r.seconds, 2) for r in base]
        row["baseline_cpu_s"] = round(statistics.median(r.cpu_s for r in base), 2)
        # an older wfmine may have let DuckDB's progress bar onto stdout before the JSON
        text = base[-1].out
        same = json.loads(text[text.index("{") :]) if "{" in text else {}
        row["same_answers"] = all(
            same.get(k) == payload.get(k)
            for k in ("log", "start_activities", "end_activities", "dfg", "variants")
        )
    print(_line(row), flush=True)
    return row


def _line(row: dict[str, object]) -> str:
    text = (
        f"| {row['case']:<28} | {row['events']:>10,} | {row['wfmine_s']:>7.2f} s "
        f"{row['wfmine_mib']:>6} MiB | {row['pm4py_s']:>7.2f} s {row['pm4py_mib']:>6} MiB "
        f"| {row['speedup']:>5.2f}x | {row['memory_ratio']:>5.2f}x "
        f"| {row['wfmine_cpu_s']:>6.2f} / {row['pm4py_cpu_s']:>6.2f} |"
    )
    if "baseline_s" in row:
        text += (
            f" {row['baseline_s']:>7.2f} s {row['baseline_mib']:>6} MiB "
            f"| {row['baseline_speedup']:>5.2f}x | {row['baseline_cpu_s']:>6.2f} "
            f"| {row['same_answers']} |"
        )
    return text


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="*", default=[1_000_000])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--formats", nargs="*", default=["parquet", "csv"])
    ap.add_argument("--xes", type=Path, nargs="*", default=[REAL_XES])
    ap.add_argument("--keep", type=Path, help="folder for generated logs (kept between runs)")
    ap.add_argument("--out", type=Path, help="write the rows as JSON here")
    ap.add_argument("--baseline", type=Path, help="a package copy to run as a third column")
    ap.add_argument(
        "--profile",
        type=Path,
        help="also run wfmine once per case under cProfile, writing <case>.prof here",
    )
    args = ap.parse_args()

    import wfmine

    compile_package(Path(wfmine.__file__).parent)
    if args.baseline:
        compile_package(args.baseline)
    rows: list[dict[str, object]] = []
    with tempfile.TemporaryDirectory(prefix="wfmine-bench-") as tmpname:
        tmp = Path(tmpname)
        data = args.keep or tmp
        print(f"# {time.strftime('%Y-%m-%d %H:%M:%S')}  load {os.getloadavg()[0]:.2f}  "
              f"median of {args.runs}, whole processes")  # fmt: skip
        head = (
            "| case                         |     events |   wfmine time, peak RSS "
            "|    pm4py time, peak RSS | speed | memory | CPU s wfmine / pm4py |"
        )
        if args.baseline:
            head += " baseline time, peak RSS | baseline speed | baseline CPU s | same answers |"
        print(head)
        print("|---" * (11 if args.baseline else 7) + "|")
        for n in args.sizes:
            parquet, csv = generate(data, n)
            for fmt, path in (("parquet", parquet), ("csv", csv)):
                if fmt in args.formats:
                    rows.append(
                        bench_case(f"{fmt} {n:,}", fmt, path, tmp, args.runs, args.baseline)
                    )
                    if args.profile:
                        profile_case(f"{fmt} {n:,}", path, tmp, args.profile)
        for xes in args.xes:
            if xes.exists():
                rows.append(
                    bench_case(f"xes {xes.name}", "xes", xes, tmp, args.runs, args.baseline)
                )
                if args.profile:
                    profile_case(f"xes {xes.name}", xes, tmp, args.profile)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
