"""Ingest rate of the four connectors' exports, per connector and per stage.

    python benchmarks/bench_ingest.py                    # simulate 1,000 work items, seed 5
    python benchmarks/bench_ingest.py --org /tmp/org     # an organisation already simulated
    python benchmarks/bench_ingest.py --profile          # where each reader's time goes

For each export the simulated organisation holds (Jira search pages, GitHub
API JSON, a Slack export, an mbox), in a fresh in-memory process per run:
the reader's ``load`` (JSON parsing and record building), then the store write
(:meth:`wfmine.store.Store.ingest`, one transaction), timed apart. Rates are
events per second of the two together; closing the store is timed apart too,
its CPU seconds printed: DuckDB writes the committed rows into the file there
(the checkpoint, where the raw payloads are compressed: 0.4-0.5 s CPU for
GitHub's), a cost of the ingest that the read+build+write rate does not show.
Raw records (every input record is
kept) and quarantined records are counted so a faster run cannot hide a
dropped check. ``pyarrow`` (and the ``numpy`` it loads) is imported before the
timed part: a one-time cost of a process (about 0.13 s CPU), not of its events,
that would otherwise land in whichever window first needs it as the package's
imports change; it is printed apart. So is opening the new store file and making
its schema (four migrations, each committed: 0.2-0.35 s wall on a loaded
machine), a cost of a store, paid once by ``wfmine ingest DIR`` for all four. Median of ``--runs``; machine load is printed because other
work on the machine moves the figures.

``--profile`` prints, per reader, the share of its time spent in the
standard-library JSON decoder, in polars and in the store, from cProfile.
``--json-costs`` times only decoding every JSON export file and re-encoding
every record as the raw records store it (compact, keys sorted), with the
standard library and with orjson, and says how many records orjson encodes
to the very same text (no wfmine import).

``--floors`` prints, per export, what no reader built on Python objects can skip, timed
in one process beside that reader's ``load`` (CPU seconds, min of ``--runs`` processes,
interleaved with the baseline's): listing
the files and reading their bytes, decoding them (orjson; for mbox the standard
library's mail parser, as the email reader runs it) and writing every record back as
the raw records keep it (compact, keys sorted). ``load`` minus that floor is the
reader's own Python (record building, checks, the batch's frames).

``--baseline DIR`` runs every measurement a second time, interleaved, with
``DIR`` first on ``PYTHONPATH`` (a copy of an older package: ``git archive
<rev> wfmine | tar -x -C DIR``), and then the identity check under both: the
four exports ingested into one store by :func:`wfmine.api.ingest_path` (as
``wfmine ingest DIR``), every store table hashed, and a rerun that must add
no row (``--check`` runs the check alone), ``--runs`` times (interleaved; every
run must store the same tables; seconds are medians). CPU seconds (all threads) are
printed beside the wall-clock ones: on a shared machine they move less.
Not part of the test run; no timing is asserted anywhere.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

CHILD = r"""
import json, resource, sys, time
from pathlib import Path
import wfmine
from wfmine.store import Store
from wfmine.workspace import detect, reader
path = Path(sys.argv[1]); kind = sys.argv[2]
found, _ = detect(path)
item = next(d for d in found if d.kind == kind)
i0 = time.process_time()
import pyarrow  # the store's first Arrow hand-off imports it (and numpy): once a process
imports = time.process_time() - i0
o0 = time.perf_counter()
store = Store(sys.argv[3])  # a new file, its schema made (four migrations): once a store
opened = time.perf_counter() - o0
c0, t0 = time.process_time(), time.perf_counter()
batch = reader(item.kind).load(item.path, item.options)
t1 = time.perf_counter()
summary = store.ingest(batch, origin=str(item.path))
c2, t2 = time.process_time(), time.perf_counter()
store.close()
c3, t3 = time.process_time(), time.perf_counter()
print(json.dumps({"load": t1 - t0, "write": t2 - t1, "close": t3 - t2, "cpu": c2 - c0,
                  "close_cpu": c3 - c2,
                  "events": batch.events.height, "raw": batch.raw_records.height,
                  "quarantined": batch.quarantine.height,
                  "added": summary["added"]["events"],
                  "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "imports": imports, "opened": opened, "package": wfmine.__file__}))
"""

#: The identity check: the four exports ingested into one store file the way
#: ``wfmine ingest DIR`` does (:func:`wfmine.api.ingest_path`, identities
#: resolved with the roster), then ingested again (must add nothing); prints a
#: SHA-256 of every store table in stored order (tables with a primary key in key
#: order; run times left out), so two
#: packages can be compared row for row, ids, payloads and order included.
CHECK_CHILD = r"""
import hashlib, json, resource, sys, time
from pathlib import Path
import wfmine
from wfmine.api import ingest_path
from wfmine.store import Store
org, db = Path(sys.argv[1]), sys.argv[2]
c0, t0 = time.process_time(), time.perf_counter()
store = Store(db)
first = ingest_path(store, org)
seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
events = sum(r["events_read"] for r in first.loaded)
runs_before = store.runs().height
again = ingest_path(store, org)
# the rerun's own runs only (one that skips an unchanged input writes no run at all)
counts = store.runs().slice(runs_before).get_column("counts").to_list()
added = sum(sum(json.loads(c)["added"].values()) for c in counts)
tables = {}
keyed = {"objects": "object_id", "accounts": "account_id", "actors": "actor_id",
         "actor_accounts": "account_id"}  # upserted: the key orders them, not the storage
for name in ("raw_records", "events", "event_objects", "objects", "object_links", "accounts",
             "actors", "actor_accounts", "quarantine", "ingest_runs"):
    df = store.table(name)
    if name in keyed:
        df = df.sort(keyed[name])
    if name == "ingest_runs":
        df = df.drop("started_at", "finished_at")
    tables[name] = [df.height, hashlib.sha256(df.write_csv().encode()).hexdigest()[:16]]
touched = [] if first.object_ids is None else list(first.object_ids)  # a Series, or None
tables["objects touched"] = [len(touched),
                             hashlib.sha256("\n".join(touched).encode()).hexdigest()[:16]]
print(json.dumps({"tables": tables, "rerun_added": added, "seconds": seconds, "cpu": cpu,
                  "events": events,
                  "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "package": wfmine.__file__}))
"""


def simulate(folder: Path, items: int, seed: int) -> Path:
    subprocess.run(
        [sys.executable, "-m", "wfmine", "simulate", str(folder), "--seed", str(seed),
         "--items", str(items)],
        check=True, stdout=subprocess.DEVNULL,
    )  # fmt: skip
    return folder


def _env(baseline: Path | None) -> dict[str, str] | None:
    if baseline is None:
        return None
    env = os.environ.copy()
    env["PYTHONPATH"] = str(baseline)
    return env


def _check_package(result: dict[str, Any], baseline: Path | None) -> None:
    """Refuse a "baseline" figure that was measured on this package after all."""
    package = Path(result.pop("package"))
    if baseline is not None and not package.is_relative_to(baseline.resolve()):
        raise SystemExit(f"the baseline run imported {package}, not the copy in {baseline}")


def run_child(org: Path, kind: str, db: Path, baseline: Path | None = None) -> dict[str, Any]:
    import json

    for stale in (db, Path(str(db) + ".wal")):
        stale.unlink(missing_ok=True)
    out = subprocess.run(
        [sys.executable, "-c", CHILD, str(org), kind, str(db)],
        check=True,
        capture_output=True,
        text=True,
        env=_env(baseline),
        cwd=db.parent,  # not the repository: "-c" puts the working folder first on sys.path
    ).stdout
    result: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    _check_package(result, baseline)
    return result


def check_tables(org: Path, db: Path, baseline: Path | None = None) -> dict[str, Any]:
    """The identity check (:data:`CHECK_CHILD`) under this package or ``baseline``."""
    import json

    for stale in (db, Path(str(db) + ".wal")):
        stale.unlink(missing_ok=True)
    out = subprocess.run(
        [sys.executable, "-c", CHECK_CHILD, str(org), str(db)],
        check=True,
        capture_output=True,
        text=True,
        env=_env(baseline),
        cwd=db.parent,
    ).stdout
    result: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    _check_package(result, baseline)
    return result


def _timed(results: list[dict[str, Any]]) -> dict[str, Any]:
    """The first identity check, its seconds and CPU the medians of every run's; every
    run must have stored the same tables."""
    first = dict(results[0])
    if any(r["tables"] != first["tables"] for r in results[1:]):
        raise SystemExit("ingest_path stored other tables in another run of the same package")
    for key in ("seconds", "cpu"):
        if all(key in r for r in results):
            first[key] = statistics.median(r[key] for r in results)
    first["peak_mib"] = max(r["peak_mib"] for r in results)
    return first


def profile(org: Path, kind: str) -> None:
    from wfmine.store import Store
    from wfmine.workspace import detect, reader

    found, _ = detect(org)
    item = next(d for d in found if d.kind == kind)
    prof = cProfile.Profile()
    prof.enable()
    batch = reader(item.kind).load(item.path, item.options)
    Store(":memory:").ingest(batch)
    prof.disable()
    stats = pstats.Stats(prof)
    total = max(stats.total_tt, 1e-9)  # type: ignore[attr-defined]
    buckets = {"json (stdlib)": 0.0, "polars": 0.0, "duckdb/store": 0.0, "email/mime": 0.0}
    for (filename, _, name), row in stats.stats.items():  # type: ignore[attr-defined]
        tottime = row[2]
        if "json/decoder" in filename or "json/__init__" in filename or name == "scanstring":
            buckets["json (stdlib)"] += tottime
        elif "polars" in filename:
            buckets["polars"] += tottime
        elif "duckdb" in filename or filename.endswith("store.py"):
            buckets["duckdb/store"] += tottime
        elif "/email/" in filename:
            buckets["email/mime"] += tottime
    print(f"  {kind}: {total:.2f} s profiled; " + ", ".join(
        f"{k} {v / total:.0%}" for k, v in buckets.items()
    ))  # fmt: skip
    stats.sort_stats("tottime").print_stats(8)


def json_costs(org: Path) -> None:
    """Stdlib json vs orjson on the organisation's JSON files: decode, and encode per record."""
    import json

    import orjson

    files = sorted(p for p in org.rglob("*.json") if p.is_file())
    blobs = [p.read_bytes() for p in files]
    t = time.perf_counter()
    docs = [json.loads(b) for b in blobs]
    std_decode = time.perf_counter() - t
    records: list[object] = []
    for doc in docs:
        if isinstance(doc, list):
            records.extend(doc)
        elif isinstance(doc, dict) and isinstance(doc.get("issues"), list):
            records.extend(doc["issues"])
        else:
            records.append(doc)
    t = time.perf_counter()
    std_text = [
        json.dumps(r, sort_keys=True, separators=(",", ":"), ensure_ascii=False) for r in records
    ]
    std_encode = time.perf_counter() - t
    size = sum(len(b) for b in blobs) / 2**20
    print(f"# JSON in {len(files)} files, {size:.0f} MiB, {len(records):,} records")
    print(f"stdlib: decode {std_decode:.2f} s, encode (sorted keys) {std_encode:.2f} s")
    t = time.perf_counter()
    for b in blobs:
        orjson.loads(b)
    or_decode = time.perf_counter() - t
    t = time.perf_counter()
    or_text = [orjson.dumps(r, option=orjson.OPT_SORT_KEYS).decode() for r in records]
    or_encode = time.perf_counter() - t
    same = sum(a == b for a, b in zip(std_text, or_text, strict=True))
    print(
        f"orjson: decode {or_decode:.2f} s ({std_decode / or_decode:.1f}x), encode "
        f"{or_encode:.2f} s ({std_encode / or_encode:.1f}x); {same:,} of {len(records):,} "
        "records encode to the same text"
    )


FLOOR_CHILD = r"""
import gc, json, os, sys, time
from email import policy
from email.parser import BytesParser
from pathlib import Path
import orjson
import pyarrow  # as CHILD: a process's one-time import, not a reader's
from wfmine.connectors._base import export_paths
from wfmine.connectors.email._mime import split_mbox
from wfmine.connectors.github._common import _records
from wfmine.workspace import detect, reader
org, runs = Path(sys.argv[1]), int(sys.argv[2])
found, _ = detect(org)
SORTED = orjson.OPT_SORT_KEYS


def records(kind, doc):
    if kind == "github":
        return list(_records(doc))
    if kind == "jira" and isinstance(doc, dict) and isinstance(doc.get("issues"), list):
        return doc["issues"]
    return doc if isinstance(doc, list) else [doc]


def floor(kind, path):
    t0 = time.process_time()
    files = export_paths(path, (".json", ".mbox", "")) if path.is_dir() else [os.fspath(path)]
    blobs = []
    for name in files:
        with open(name, "rb") as fh:
            blobs.append(fh.read())
    t1 = time.process_time()
    count = 0
    if kind == "email":
        parser = BytesParser(policy=policy.compat32)
        mails = [parser.parsebytes(raw) for blob in blobs for _, _, raw in split_mbox(blob)]
        t2 = time.process_time()
        count = len(mails)
        t3 = t2
    else:
        docs = [orjson.loads(b) for b in blobs]
        t2 = time.process_time()
        texts = [orjson.dumps(r, option=SORTED) for d in docs for r in records(kind, d)]
        t3 = time.process_time()
        count = len(texts)
    return {"read": t1 - t0, "decode": t2 - t1, "encode": t3 - t2, "records": count,
            "files": len(files), "mib": sum(map(len, blobs)) / 2**20}


out = {}
for kind in ("jira", "github", "slack", "email"):
    item = next((d for d in found if d.kind == kind), None)
    if item is None:
        continue
    best, load = None, None
    for _ in range(runs):
        gc.collect()
        gc.disable()
        f = floor(kind, Path(item.path))
        gc.enable()
        best = f if best is None else {k: min(v, f[k]) for k, v in best.items()}
        gc.collect()
        c = time.process_time()
        batch = reader(kind).load(item.path, item.options)
        spent = time.process_time() - c
        load = spent if load is None else min(load, spent)
        del batch
    best["load"] = load
    out[kind] = best
print(json.dumps(out))
"""


def floors(org: Path, runs: int, baseline: Path | None) -> None:
    """:data:`FLOOR_CHILD`'s table: each reader's load beside what it cannot skip."""
    import json

    packages = (None, baseline) if baseline else (None,)
    found: list[dict[str, dict[str, float]]] = [{} for _ in packages]
    for _ in range(runs):  # one process each, interleaved: both see the same machine load
        for i, base in enumerate(packages):
            out = subprocess.run(
                [sys.executable, "-c", FLOOR_CHILD, str(org), "1"],
                check=True, capture_output=True, text=True, env=_env(base), cwd=org,
            ).stdout  # fmt: skip
            for kind, f in json.loads(out.strip().splitlines()[-1]).items():
                held = found[i].get(kind)
                found[i][kind] = f if held is None else {k: min(v, f[k]) for k, v in held.items()}
    print(
        f"\n# floors (CPU s, min of {runs} processes, interleaved): load vs list+read, decode, "
        "encode"
    )
    print(
        "| connector | files | MiB | records | list+read | decode | encode (sorted) | floor "
        "| load | load - floor |" + (" baseline load | baseline load - floor |" if baseline else "")
    )  # fmt: skip
    print("|---" * (12 if baseline else 10) + "|")
    for kind, f in found[0].items():
        floor_s = f["read"] + f["decode"] + f["encode"]
        line = (
            f"| {kind} | {f['files']:,} | {f['mib']:.1f} | {f['records']:,} | {f['read']:.3f} "
            f"| {f['decode']:.3f} | {f['encode']:.3f} | {floor_s:.3f} | {f['load']:.3f} "
            f"| {f['load'] - floor_s:.3f} |"
        )
        if baseline:
            b = found[1][kind]
            line += f" {b['load']:.3f} | {b['load'] - floor_s:.3f} |"
        print(line)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--org", type=Path, help="a simulated organisation (default: simulate one)")
    ap.add_argument("--items", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=5)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--profile", action="store_true")
    ap.add_argument("--json-costs", action="store_true")
    ap.add_argument("--floors", action="store_true", help="each load beside what it cannot skip")
    ap.add_argument("--check", action="store_true", help="hash the store tables (identity check)")
    ap.add_argument(
        "--baseline",
        type=Path,
        help="a copy of an older package (DIR/wfmine): measured side by side, tables compared",
    )
    args = ap.parse_args()
    if args.json_costs:
        if args.org is None:
            ap.error("--json-costs needs --org")
        json_costs(args.org)
        return
    if args.floors:
        if args.org is None:
            ap.error("--floors needs --org")
        floors(args.org, args.runs, args.baseline)
        return

    with tempfile.TemporaryDirectory(prefix="wfmine-ingest-") as tmpname:
        tmp = Path(tmpname)
        org = args.org or simulate(tmp / "org", args.items, args.seed)
        size = sum(p.stat().st_size for p in org.rglob("*") if p.is_file())
        print(
            f"# {time.strftime('%Y-%m-%d %H:%M:%S')}  {org} ({size / 2**20:.0f} MiB)  "
            f"load {os.getloadavg()[0]:.2f}  median of {args.runs}"
        )
        print(
            "| connector | events | raw records | quarantined | read+build s | store write s "
            "| close s | close CPU s | events/s (read+build+write) | CPU s | peak MiB |"
            + (" baseline read+build s | baseline write s | baseline close CPU s "
               "| baseline events/s | baseline CPU s | baseline peak MiB | speed-up |"
               if args.baseline else "")
        )  # fmt: skip
        print("|---" * (18 if args.baseline else 11) + "|")
        totals = {"events": 0.0, "seconds": 0.0, "base": 0.0, "peak": 0.0, "base_peak": 0.0,
                  "cpu": 0.0, "base_cpu": 0.0, "close_cpu": 0.0,
                  "base_close_cpu": 0.0}  # fmt: skip
        imports: list[float] = []
        opened: list[float] = []
        for kind in ("jira", "github", "slack", "email"):
            runs, base = [], []
            for _ in range(args.runs):  # interleaved: both see the same machine load
                runs.append(run_child(org, kind, tmp / f"{kind}.duckdb"))
                if args.baseline:
                    base.append(run_child(org, kind, tmp / f"{kind}.duckdb", args.baseline))
            load = statistics.median(r["load"] for r in runs)
            write = statistics.median(r["write"] for r in runs)
            close = statistics.median(r["close"] for r in runs)
            cpu = statistics.median(r["cpu"] for r in runs)
            close_cpu = statistics.median(r["close_cpu"] for r in runs)
            peak = max(r["peak_mib"] for r in runs)
            imports += [r["imports"] for r in runs + base if "imports" in r]
            opened += [r["opened"] for r in runs + base if "opened" in r]
            r = runs[0]
            rate = r["events"] / (load + write)
            totals["events"] += r["events"]
            totals["seconds"] += load + write
            totals["cpu"] += cpu
            totals["close_cpu"] += close_cpu
            totals["peak"] = max(totals["peak"], peak)
            line = (
                f"| {kind} | {r['events']:,.0f} | {r['raw']:,.0f} | {r['quarantined']:,.0f} "
                f"| {load:.2f} | {write:.2f} | {close:.2f} | {close_cpu:.2f} | {rate:,.0f} "
                f"| {cpu:.2f} "
                f"| {peak:,.0f} |"
            )
            if base:
                b_load = statistics.median(b["load"] for b in base)
                b_write = statistics.median(b["write"] for b in base)
                b_cpu = statistics.median(b.get("cpu", float("nan")) for b in base)
                b_peak = max(b["peak_mib"] for b in base)
                b_close = statistics.median(b["close_cpu"] for b in base)
                totals["base_close_cpu"] += b_close
                totals["base"] += b_load + b_write
                totals["base_cpu"] += b_cpu
                totals["base_peak"] = max(totals["base_peak"], b_peak)
                same = all(base[0][k] == r[k] for k in ("events", "raw", "quarantined", "added"))
                line += (
                    f" {b_load:.2f} | {b_write:.2f} | {b_close:.2f} "
                    f"| {r['events'] / (b_load + b_write):,.0f} "
                    f"| {b_cpu:.2f} | {b_peak:,.0f} | {(b_load + b_write) / (load + write):.1f}x"
                    f"{'' if same else ' (counts differ!)'} |"
                )
            print(line, flush=True)
        line = (
            f"| all four | {totals['events']:,.0f} | | | | | | {totals['close_cpu']:.2f} "
            f"| {totals['events'] / totals['seconds']:,.0f} | {totals['cpu']:.2f} "
            f"| {totals['peak']:,.0f} |"
        )
        if args.baseline:
            line += (
                f" | | {totals['base_close_cpu']:.2f} "
                f"| {totals['events'] / totals['base']:,.0f} | {totals['base_cpu']:.2f} "
                f"| {totals['base_peak']:,.0f} | {totals['base'] / totals['seconds']:.1f}x |"
            )
        print(line)
        if imports:
            print(
                f"(not timed above: importing pyarrow and numpy, {statistics.median(imports):.2f} "
                "s CPU a process, median; opening a new store file and making its schema, "
                f"{statistics.median(opened):.2f} s wall a store, median)"
            )
        if args.check or args.baseline:
            mines, theirs_runs = [], []
            for _ in range(args.runs):  # interleaved, as above; the tables of the first of each
                mines.append(check_tables(org, tmp / "check.duckdb"))
                if args.baseline:
                    theirs_runs.append(check_tables(org, tmp / "check.duckdb", args.baseline))
            mine = _timed(mines)
            print(
                f"\ningest_path (all four into one store, identities resolved; median of "
                f"{args.runs}): {mine['events']:,} events in {mine['seconds']:.2f} s "
                f"({mine['cpu']:.2f} s CPU), {mine['events'] / mine['seconds']:,.0f} events/s, "
                f"peak {mine['peak_mib']:,.0f} MiB; load {os.getloadavg()[0]:.2f}"
            )
            print(f"idempotent: a rerun of ingest_path added {mine['rerun_added']} rows")
            if args.baseline:
                theirs = _timed(theirs_runs)
                print("| store table | rows | sha256 (stored order) | baseline | equal |")
                print("|---|---|---|---|---|")
                for name, (rows, digest) in mine["tables"].items():
                    b_rows, b_digest = theirs["tables"].get(name, [None, None])
                    print(f"| {name} | {rows:,} | {digest} | {b_digest} | "
                          f"{'yes' if (rows, digest) == (b_rows, b_digest) else 'NO'} |")  # fmt: skip
                print(
                    f"baseline ingest_path: {theirs['seconds']:.2f} s "
                    f"({theirs.get('cpu', float('nan')):.2f} s CPU), "
                    f"{theirs['events'] / theirs['seconds']:,.0f} events/s, peak "
                    f"{theirs['peak_mib']:,.0f} MiB; its rerun added {theirs['rerun_added']} rows"
                )
            else:
                for name, (rows, digest) in mine["tables"].items():
                    print(f"  {name}: {rows:,} rows, sha256 {digest}")
        if args.profile:
            for kind in ("jira", "github", "slack", "email"):
                profile(org, kind)


if __name__ == "__main__":
    main()
