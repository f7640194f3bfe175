"""The HTML report of a 1M-event log with a design, stage by stage: ``Analysis.of`` + ``build_report``.

    python benchmarks/bench_report.py                      # 1M events, 3 runs
    python benchmarks/bench_report.py --sizes 1000000 --runs 5 --baseline /tmp/base

A synthetic log (the Markov process of ``bench_end_to_end``: 25 activities,
60 resources in 8 teams, pm4py column names) is ingested once into a store;
the design (five stages over the activities, with time expectations, a
gate, two owned seams) gives the report findings to show — unowned seams,
failure patterns, stalls, gate violations. Each run is a fresh process that
opens the store and reads, in this order, what the report reads from the
:class:`~wfmine.analysis.Analysis` — the flat log, the stage events, the
conformance check, the failure occurrences, the findings, the metrics, the
seams, governance, drift, discovery — and then renders the report (every
section), each stage timed in CPU seconds (every thread of the process)
and wall seconds, with the process's peak RSS. A stage reads what earlier
stages computed, as the report does; ``report`` is what rendering adds.
Computed one after the other, the stages show each figure's cost; a second
fresh process per run times ``build_report`` as a user runs it, where the
report asks for its figures two at a time on the two cores
(:meth:`~wfmine.analysis.Analysis.alongside`): that line, its peak RSS and
whether every run's HTML is the same are printed under the table.

``--baseline DIR`` runs a package copy (``PYTHONPATH=DIR``) beside, run for
run, so both columns see the same load. The figures are medians of
``--runs``. Not part of the test run; no timing is asserted anywhere.

``--main-job [ROOT]`` measures the workspace's main job instead: ``wfmine
discover`` run in a copy of the workspace ROOT (default: the repository root,
the sample workspace: its ``connectors/``, ``reports/*.toml`` and the folders
they name), once to ingest, then warm (nothing new to ingest) as a fresh
process each run, without a bytecode cache (``PYTHONDONTWRITEBYTECODE=1``:
every wfmine module is compiled again) and with one (``PYTHONPYCACHEPREFIX``
in a temporary folder, filled by a first run); wall and CPU seconds (user +
system) and peak RSS of each run, and whether both columns printed the same.
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
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_end_to_end import generate  # noqa: E402

DESIGN = """version: 1
name: synthetic
stages:
{stages}
unmapped: ignore
transitions:
{transitions}
start: [s0]
end: [s4]
gates:
  - before: s4
    approvals: [{approvals}]
    reversible: agent_review
    irreversible: human_approval
    high_stakes: two_humans
seams:
  - {{from: G0, to: G1, owner: G1}}
  - {{from: G2, to: G3, owner: G3}}
"""

CHILD = r"""
import json, resource, sys, time
db, design = sys.argv[1:3]
from wfmine.analysis import Analysis
from wfmine.reports import build_report
from wfmine.store import Store
out = {}
def stage(name, fn):
    w, c = time.perf_counter(), time.process_time()
    fn()
    out[name] = {"s": time.perf_counter() - w, "cpu_s": time.process_time() - c}
store = Store(db, read_only=True)
holder = {}
stage("read log", lambda: holder.setdefault("a", Analysis.of(store, design)).window_log)
a = holder["a"]
stage("stage events", lambda: a.staged)
stage("conformance", lambda: a.conformance)
stage("occurrences", lambda: (a.events_attrs, a.judged, a.occurrences))
stage("findings", lambda: a.findings)
stage("metrics", lambda: (a.team_handoffs, a.metrics))
stage("seams", lambda: a.seams)
stage("governance", lambda: (a.governance, a.reviewer_audit, a.reviewer_comparison, a.cohorts,
                             a.delivery))
stage("drift", lambda: a.drift)
stage("discovery", lambda: (a.summary, a.dfg, a.variants, a.case_durations, a.throughput,
                            a.stage_paths, a.stage_times))
report = {}
stage("report", lambda: report.setdefault("r", build_report(a, title="bench")))
r = report["r"]
out["sections"] = r.summary["section_seconds"]
out["failed"] = r.failed_sections
out["found"] = a.findings.group_by("kind").len().sort("kind").rows()
out["html_mb"] = len(r.html()) / 1e6
out["rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps(out))
"""

# the report as a user runs it: the figures are computed where build_report asks for them,
# two at a time where it can (Analysis.alongside), so this is the time a person waits
WHOLE = r"""
import hashlib, json, re, resource, sys, time
db, design = sys.argv[1:3]
w, c = time.perf_counter(), time.process_time()
from wfmine.analysis import Analysis
from wfmine.reports import build_report
from wfmine.store import Store
store = Store(db, read_only=True)
r = build_report(Analysis.of(store, design), title="bench")
html = re.sub(r"\d{4}-\d\d-\d\d \d\d:\d\d UTC", "", r.html())  # the minute it was made
print(json.dumps({"s": time.perf_counter() - w, "cpu_s": time.process_time() - c,
                  "rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "md5": hashlib.md5(html.encode()).hexdigest(), "failed": r.failed_sections}))
"""

INGEST = r"""
import sys
from wfmine.formats import tabular
from wfmine.store import Store
parquet, db = sys.argv[1:3]
store = Store(db)
store.ingest(tabular.load(parquet))
store.close()
"""


def write_design(path: Path) -> Path:
    stages = []
    for s in range(5):
        acts = ", ".join(f'"parquet:activity {a}"' for a in range(s * 5, s * 5 + 5))
        stages.append(
            f"  - id: s{s}\n    team: G{s}\n    performer: either\n    expected: 1d\n"
            f"    activities: [{acts}]"
        )
    transitions = "\n".join(f"  - [s{a}, s{b}]" for a in range(5) for b in range(5) if a < b)
    # approvals common enough that about one case in seven passes the gate without one
    approvals = ", ".join(f'"parquet:activity {a}"' for a in range(1, 15))
    text = DESIGN.format(stages="\n".join(stages), transitions=transitions, approvals=approvals)
    path.write_text(text)
    return path


def run(db: Path, design: Path, pythonpath: Path | None, child: str = CHILD) -> dict[str, object]:
    env = dict(os.environ)
    if pythonpath is not None:
        env["PYTHONPATH"] = str(pythonpath)
    started = time.perf_counter()
    done = subprocess.run(  # -P: the working folder must not shadow PYTHONPATH's copy
        [sys.executable, "-P", "-c", child, str(db), str(design)],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode:
        raise SystemExit(f"report run failed:\n{done.stderr[-2000:]}")
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    result["process_wall_s"] = time.perf_counter() - started
    return result


def _workspace_copy(root: Path, target: Path) -> Path:
    """``root``'s connectors, report definitions and the top folders they read, copied."""
    import shutil
    import tomllib

    target.mkdir(parents=True)
    shutil.copytree(root / "connectors", target / "connectors")
    (target / "reports").mkdir()
    tops: set[str] = set()
    for conf in sorted((root / "connectors").glob("*.toml")):
        tops.add(Path(tomllib.loads(conf.read_text())["path"]).parts[0])
    for definition in sorted((root / "reports").glob("*.toml")):
        shutil.copy2(definition, target / "reports" / definition.name)
        design = tomllib.loads(definition.read_text()).get("design")
        if design:
            tops.add(Path(design).parts[0])
    for top in sorted(tops):
        shutil.copytree(root / top, target / top)
    return target


def _timed(cmd: list[str], cwd: Path, env: dict[str, str]) -> tuple[dict[str, float], str]:
    """Run ``cmd``; its wall and CPU seconds and peak RSS (MiB), and what it printed."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=out, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)  # this child's own rusage
        wall = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        printed, errors = out.read().decode(), err.read().decode()
    if proc.returncode:
        raise SystemExit(f"{cmd} failed in {cwd}:\n{errors[-2000:]}")
    return {
        "wall_s": wall,
        "cpu_s": usage.ru_utime + usage.ru_stime,
        "user_s": usage.ru_utime,
        "sys_s": usage.ru_stime,
        "rss_mib": usage.ru_maxrss / 1024,
    }, printed


def main_job(root: Path, runs: int, baseline: Path | None) -> dict[str, object]:
    """The main job's warm runs, side by side, without and with a bytecode cache."""
    columns = {"wfmine": None} | ({"baseline": baseline} if baseline else {})
    cmd = [sys.executable, "-P", "-m", "wfmine", "discover"]
    with tempfile.TemporaryDirectory(prefix="wfmine-mainjob-") as tmpname:
        tmp = Path(tmpname)
        envs: dict[tuple[str, str], dict[str, str]] = {}
        spaces: dict[str, Path] = {}
        for label, path in columns.items():
            spaces[label] = _workspace_copy(root, tmp / label)
            env = dict(os.environ, COLUMNS="100")
            if path is not None:
                env["PYTHONPATH"] = str(path)
            bare = dict(env, PYTHONDONTWRITEBYTECODE="1")
            bare.pop("PYTHONPYCACHEPREFIX", None)
            cached = dict(env, PYTHONPYCACHEPREFIX=str(tmp / f"pyc-{label}"))
            cached.pop("PYTHONDONTWRITEBYTECODE", None)
            envs[(label, "no bytecode cache")] = bare
            envs[(label, "bytecode cache")] = cached
            _timed(cmd, spaces[label], bare)  # ingests the workspace
            _timed(cmd, spaces[label], cached)  # fills the bytecode cache
        results: dict[tuple[str, str], list[dict[str, float]]] = {k: [] for k in envs}
        printed: dict[str, set[str]] = {label: set() for label in columns}
        loads = []
        for _ in range(runs):
            for mode in ("no bytecode cache", "bytecode cache"):
                for label in columns:
                    loads.append(os.getloadavg()[0])
                    timing, out = _timed(cmd, spaces[label], envs[(label, mode)])
                    results[(label, mode)].append(timing)
                    printed[label].add(out.replace(str(spaces[label]), "<workspace>"))
    steady = all(len(texts) == 1 for texts in printed.values())
    alike = len(set().union(*printed.values())) == 1
    print(
        f"\n# main job: wfmine discover in a copy of {root}, warm; median of {runs}; "
        f"load {min(loads):.2f}-{max(loads):.2f}; each column printed the same every run: "
        f"{steady}; the columns printed the same: {alike}"
    )
    head = " | ".join(f"{k} wall s | {k} CPU s (user + sys) | {k} peak MiB" for k in columns)
    print(f"| run | {head} |")
    print("|---" * (1 + 3 * len(columns)) + "|")
    for mode in ("no bytecode cache", "bytecode cache"):
        cells = []
        for label in columns:
            rs = results[(label, mode)]
            med = {k: statistics.median(r[k] for r in rs) for k in rs[0]}
            cells.append(
                f"{med['wall_s']:.2f} | {med['cpu_s']:.2f} ({med['user_s']:.2f} + "
                f"{med['sys_s']:.2f}) | {med['rss_mib']:.0f}"
            )
        print(f"| warm, {mode} | " + " | ".join(cells) + " |")
    return {f"{label} / {mode}": rs for (label, mode), rs in results.items()}


def _median(runs: list[dict[str, object]], stage: str | None, key: str) -> float:
    """The median of ``key`` over ``runs``: of a stage's timing, or of the run's own (``None``)."""
    return statistics.median(
        float((r if stage is None else r[stage])[key])  # type: ignore[index]
        for r in runs
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="*", default=[1_000_000])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--keep", type=Path, help="folder for generated logs and stores (kept)")
    ap.add_argument("--baseline", type=Path, help="a package copy to run beside (PYTHONPATH)")
    ap.add_argument("--out", type=Path, help="write every run as JSON here")
    ap.add_argument(
        "--main-job",
        type=Path,
        nargs="?",
        const=HERE.parent,
        help="measure `wfmine discover` warm in a copy of this workspace (default: the repo's)",
    )
    args = ap.parse_args()
    if args.main_job is not None:
        measured = main_job(args.main_job.resolve(), args.runs, args.baseline)
        if args.out:
            args.out.parent.mkdir(parents=True, exist_ok=True)
            args.out.write_text(json.dumps(measured, indent=2))
        return

    every: dict[str, object] = {}
    with tempfile.TemporaryDirectory(prefix="wfmine-report-") as tmpname:
        data = args.keep or Path(tmpname)
        data.mkdir(parents=True, exist_ok=True)
        design = write_design(data / "report_design.yaml")
        for n in args.sizes:
            parquet, _ = generate(data, n)
            db = data / f"report_{n}.duckdb"
            if not db.exists():
                subprocess.run([sys.executable, "-c", INGEST, str(parquet), str(db)], check=True)
            columns = {"wfmine": None} | ({"baseline": args.baseline} if args.baseline else {})
            runs: dict[str, list[dict[str, object]]] = {k: [] for k in columns}
            whole: dict[str, list[dict[str, object]]] = {k: [] for k in columns}
            loads = []
            for _ in range(args.runs):
                for label, path in columns.items():
                    loads.append(os.getloadavg()[0])
                    runs[label].append(run(db, design, path))
                    whole[label].append(run(db, design, path, WHOLE))
            every[str(n)] = {"stages": runs, "whole": whole}
            first = runs["wfmine"][0]
            stages = [k for k, v in first.items() if isinstance(v, dict) and "cpu_s" in v]
            found = dict(first["found"])  # type: ignore[call-overload]
            print(
                f"\n# {n:,} events, findings {found}, {first['html_mb']:.1f} MB of HTML; "
                f"median of {args.runs}; load {min(loads):.2f}-{max(loads):.2f}"
            )
            head = " | ".join(f"{k} CPU s | {k} wall s" for k in columns)
            print(f"| stage | {head} |")
            print("|---" * (1 + 2 * len(columns)) + "|")
            for st in [*stages, "total"]:
                cells = []
                for label in columns:
                    if st == "total":
                        cpu = statistics.median(
                            sum(float(r[s]["cpu_s"]) for s in stages)  # type: ignore[index,misc]
                            for r in runs[label]
                        )
                        wall = statistics.median(
                            sum(float(r[s]["s"]) for s in stages)  # type: ignore[index,misc]
                            for r in runs[label]
                        )
                    else:
                        cpu, wall = _median(runs[label], st, "cpu_s"), _median(runs[label], st, "s")
                    cells.append(f"{cpu:.2f} | {wall:.2f}")
                print(f"| {st} | " + " | ".join(cells) + " |")
            rss = " | ".join(
                f"{statistics.median(float(r['rss_mib']) for r in runs[k]):.0f} MiB"  # type: ignore[arg-type]
                for k in columns
            )
            print(f"| peak RSS | {rss} |")
            cells = []
            for label in columns:
                cpu, wall = _median(whole[label], None, "cpu_s"), _median(whole[label], None, "s")
                cells.append(f"{cpu:.2f} | {wall:.2f}")
            print("| **build_report, as run** | " + " | ".join(cells) + " |")
            rss = " | ".join(
                f"{statistics.median(float(r['rss_mib']) for r in whole[k]):.0f} MiB"  # type: ignore[arg-type]
                for k in columns
            )
            print(f"| its peak RSS | {rss} |")
            digests = {str(r["md5"]) for k in columns for r in whole[k]}
            print(
                "the HTML of every whole run: "
                + ("identical" if len(digests) == 1 else f"DIFFERS ({len(digests)} versions)")
            )
            sections = first["sections"]
            assert isinstance(sections, dict)
            print("\nreport sections, wall s (median): " + ", ".join(
                f"{s} " + "/".join(
                    f"{statistics.median(float(r['sections'][s]) for r in runs[k]):.2f}"  # type: ignore[index]
                    for k in columns
                )
                for s in sections
            ))  # fmt: skip
            for label in columns:
                failed = runs[label][0]["failed"]
                if failed:
                    print(f"! {label}: failed sections {failed}")
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(every, indent=2))


if __name__ == "__main__":
    main()
