"""How time and memory grow with the log: ingest, discovery, conformance, findings.

    python benchmarks/bench_growth.py                          # 1M, 3M, 10M events
    python benchmarks/bench_growth.py --sizes 1000000 3000000 10000000 30000000

For each size a synthetic log (the Markov process of ``bench_end_to_end``,
pm4py column names, Parquet) is generated in a temporary folder, then every
stage runs in a fresh process of its own so that its peak memory (max RSS of
that child, from ``os.wait4``) is its alone:

- **ingest**: read and map the Parquet file, write the store (one transaction), close it;
  (every figure leaves out the interpreter start and ``import wfmine``, the same at every size);
- **read log**: open the store and build the flat log (``Store.log``) — every
  later stage starts with it, and it is timed apart from them;
- **discovery**: DFG with waiting times, variants, start/end activities, summary;
- **conformance**: ``check_store`` against a design of five stages over the 25 activities;
- **findings**: ``findings`` with that design.

The table gives seconds and MiB per stage and size, and the growth exponent
``k`` of time ~ n^k (least squares over the sizes; 1.0 is linear), from
wall time and from CPU time (every thread of the stage's process, which the
load of a shared machine moves much less). A stage
that runs past ``--timeout`` or above ``--max-mib`` of memory is stopped and
reported as such (the machine is shared), not waited for. Machine
load is printed: other work on the machine moves the figures. Not part of the
test run; no timing is asserted anywhere.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_end_to_end import generate  # noqa: E402

STAGES = ("ingest", "read log", "discovery", "conformance", "findings")

DESIGN = """version: 1
name: synthetic
stages:
{stages}
unmapped: ignore
transitions:
{transitions}
start: [s0]
end: [s4]
"""

CHILD = r"""
import json, sys, time
stage, parquet, db, design = sys.argv[1:5]
t_start = time.perf_counter()
from wfmine.store import Store
out = {}
t0 = time.perf_counter()
c0 = time.process_time()  # CPU of every thread of this process
out["import_s"] = t0 - t_start
if stage == "ingest":
    from wfmine.formats import tabular
    batch = tabular.load(parquet)
    out["events"] = batch.events.height
    store = Store(db)
    store.ingest(batch)
    store.close()
else:
    store = Store(db)
    log = store.log()
    t1 = time.perf_counter()
    c1 = time.process_time()
    out["log_s"] = t1 - t0
    out["log_cpu_s"] = c1 - c0
    if stage == "discovery":
        from wfmine import discovery as d
        d.directly_follows(log); d.variants(log); d.start_activities(log)
        d.end_activities(log); d.log_summary(log)
    elif stage == "conformance":
        from wfmine.conformance import check_store
        from wfmine.design import load_design
        check_store(store, load_design(design), log=log)
    elif stage == "findings":
        from wfmine.design import load_design
        from wfmine.findings import findings
        findings(log, load_design(design), store=store)
    t0, c0 = t1, c1
out["stage_s"] = time.perf_counter() - t0
out["stage_cpu_s"] = time.process_time() - c0
print(json.dumps(out))
"""


def write_design(path: Path) -> Path:
    stages = []
    for s in range(5):
        acts = ", ".join(f'"parquet:activity {a}"' for a in range(s * 5, s * 5 + 5))
        stages.append(
            f"  - id: s{s}\n    team: G{s}\n    performer: either\n    activities: [{acts}]"
        )
    transitions = "\n".join(f"  - [s{a}, s{b}]" for a in range(5) for b in range(5) if a != b)
    path.write_text(DESIGN.format(stages="\n".join(stages), transitions=transitions))
    return path


def _rss_mib(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def run(
    stage: str, parquet: Path, db: Path, design: Path, timeout: float, max_mib: float
) -> dict[str, float]:
    """One stage in a fresh child; stopped (not failed) past ``timeout`` or ``max_mib``."""
    import threading

    started = time.perf_counter()
    stopped: dict[str, float] = {}
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(
            [sys.executable, "-c", CHILD, stage, str(parquet), str(db), str(design)],
            stdout=out,
            stderr=err,
        )
        done = threading.Event()

        def watch() -> None:  # the machine is shared: never let one stage take it all
            while not done.wait(0.5):
                rss = _rss_mib(proc.pid)
                if rss > max_mib:
                    stopped["memory"] = rss
                elif time.perf_counter() - started > timeout:
                    stopped["timeout"] = timeout
                else:
                    continue
                proc.kill()
                return

        watcher = threading.Thread(target=watch, daemon=True)
        watcher.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)  # this very child: its own max RSS
        finally:
            done.set()
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        text, problem = out.read().decode(), err.read().decode()
    if stopped:
        return {**stopped, "rss_mib": usage.ru_maxrss / 1024}
    if proc.returncode:
        print(f"  {stage} failed: {problem[-500:]}", file=sys.stderr)
        return {"failed": proc.returncode, "rss_mib": usage.ru_maxrss / 1024}
    result: dict[str, float] = json.loads(text.strip().splitlines()[-1])
    result["wall_s"] = time.perf_counter() - started
    result["rss_mib"] = usage.ru_maxrss / 1024
    return result


def _entry(r: dict[str, float]) -> dict[str, float]:
    for why in ("timeout", "memory", "failed"):
        if why in r:
            return {why: r[why], "mib": r["rss_mib"]}
    return {"s": r["stage_s"], "cpu_s": r.get("stage_cpu_s", 0.0), "mib": r["rss_mib"]}


def exponent(sizes: list[int], seconds: list[float]) -> float | None:
    pts = [(math.log(n), math.log(s)) for n, s in zip(sizes, seconds, strict=True) if s > 0]
    if len(pts) < 2:
        return None
    mx = sum(x for x, _ in pts) / len(pts)
    my = sum(y for _, y in pts) / len(pts)
    den = sum((x - mx) ** 2 for x, _ in pts)
    return sum((x - mx) * (y - my) for x, y in pts) / den if den else None


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="*", default=[1_000_000, 3_000_000, 10_000_000])
    ap.add_argument("--stages", nargs="*", default=list(STAGES))
    ap.add_argument("--timeout", type=float, default=900)
    ap.add_argument("--max-mib", type=float, default=8192, help="stop a stage above this RSS")
    ap.add_argument("--keep", type=Path, help="folder for generated logs (kept between runs)")
    ap.add_argument("--out", type=Path, help="write the figures as JSON here")
    args = ap.parse_args()

    table: dict[str, dict[int, dict[str, float]]] = {s: {} for s in args.stages}
    with tempfile.TemporaryDirectory(prefix="wfmine-growth-") as tmpname:
        tmp = Path(tmpname)
        data = args.keep or tmp
        design = write_design(tmp / "design.yaml")
        print(f"# {time.strftime('%Y-%m-%d %H:%M:%S')}  load {os.getloadavg()[0]:.2f}")
        for n in args.sizes:
            parquet, _ = generate(data, n)
            db = tmp / f"growth_{n}.duckdb"
            for stale in (db, Path(str(db) + ".wal")):
                stale.unlink(missing_ok=True)
            needs_store = any(s != "ingest" for s in args.stages)
            if "ingest" not in args.stages and needs_store:
                run("ingest", parquet, db, design, args.timeout, args.max_mib)
            for stage in ("ingest", "discovery", "conformance", "findings"):
                if stage not in args.stages and not (
                    stage == "discovery" and "read log" in args.stages
                ):
                    continue
                r = run(stage, parquet, db, design, args.timeout, args.max_mib)
                print(f"  {n:,} {stage}: {r}", file=sys.stderr, flush=True)
                if stage == "ingest":
                    table["ingest"][n] = _entry(r)
                    continue
                if "read log" in table and n not in table["read log"] and "log_s" in r:
                    table["read log"][n] = {
                        "s": r["log_s"],
                        "cpu_s": r.get("log_cpu_s", 0.0),
                        "mib": r["rss_mib"],
                    }
                if stage in table:
                    table[stage][n] = _entry(r)
            db.unlink(missing_ok=True)
    head = "| stage | " + " | ".join(f"{n:,} events" for n in args.sizes) + " | growth k |"
    print(head + " k (CPU) |")
    print("|---" * (len(args.sizes) + 3) + "|")
    for stage, by_size in table.items():
        cells = []
        for n in args.sizes:
            e = by_size.get(n)
            if e is None:
                cells.append("–")
            elif "timeout" in e:
                cells.append(f"> {e['timeout']:.0f} s (stopped)")
            elif "memory" in e:
                cells.append(f"> {e['memory']:.0f} MiB (stopped)")
            elif "failed" in e:
                cells.append("failed")
            else:
                cells.append(
                    f"{e['s']:.2f} s ({e.get('cpu_s', 0.0):.1f} CPU s), {e['mib']:.0f} MiB"
                )
        ok = [n for n in args.sizes if n in by_size and "s" in by_size[n]]
        k = exponent(ok, [by_size[n]["s"] for n in ok])
        kc = exponent(ok, [by_size[n].get("cpu_s", 0.0) for n in ok])
        growth = f"{k:.2f}" if k is not None else "–"
        growth_cpu = f"{kc:.2f}" if kc is not None else "–"
        print(f"| {stage} | " + " | ".join(cells) + f" | {growth} | {growth_cpu} |")
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(
            json.dumps({s: {str(n): e for n, e in v.items()} for s, v in table.items()}, indent=2)
        )


if __name__ == "__main__":
    main()
