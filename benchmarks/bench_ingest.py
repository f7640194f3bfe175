"""Ingest rate of the four connectors' exports, per connector and per stage.

    python benchmarks/bench_ingest.py                    # simulate 1,000 work items, seed 5
    python benchmarks/bench_ingest.py --org /tmp/org     # an organisation already simulated
    python benchmarks/bench_ingest.py --profile          # where each reader's time goes

For each export the simulated organisation holds (Jira search pages, GitHub
API JSON, a Slack export, an mbox), in a fresh in-memory process per run:
the reader's ``load`` (JSON parsing and record building), then the store write
(:meth:`wfmine.store.Store.ingest`, one transaction), timed apart. Rates are
events per second of the two together; raw records (every input record is
kept) and quarantined records are counted so a faster run cannot hide a
dropped check. Median of ``--runs``; machine load is printed because other
work on the machine moves the figures.

``--profile`` prints, per reader, the share of its time spent in the
standard-library JSON decoder, in polars and in the store, from cProfile.
``--json-costs`` times only decoding every JSON export file and re-encoding
every record as the raw records store it (compact, keys sorted), with the
standard library and, when it can be imported, with orjson, and says how many
records orjson encodes to the very same text (it runs under any Python that
has orjson, with no wfmine import). Not part of the test run; no timing is
asserted anywhere.
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
import json, sys, time
from pathlib import Path
from wfmine.store import Store
from wfmine.workspace import detect, reader
path = Path(sys.argv[1]); kind = sys.argv[2]
found, _ = detect(path)
item = next(d for d in found if d.kind == kind)
t0 = time.perf_counter()
batch = reader(item.kind).load(item.path, item.options)
t1 = time.perf_counter()
store = Store(sys.argv[3])
summary = store.ingest(batch, origin=str(item.path))
t2 = time.perf_counter()
store.close()
t3 = time.perf_counter()
print(json.dumps({"load": t1 - t0, "write": t2 - t1, "close": t3 - t2,
                  "events": batch.events.height, "raw": batch.raw_records.height,
                  "quarantined": batch.quarantine.height,
                  "added": summary["added"]["events"]}))
"""


def simulate(folder: Path, items: int, seed: int) -> Path:
    subprocess.run(
        [sys.executable, "-m", "wfmine", "simulate", str(folder), "--seed", str(seed),
         "--items", str(items)],
        check=True, stdout=subprocess.DEVNULL,
    )  # fmt: skip
    return folder


def run_child(org: Path, kind: str, db: Path) -> dict[str, float]:
    import json

    for stale in (db, Path(str(db) + ".wal")):
        stale.unlink(missing_ok=True)
    out = subprocess.run(
        [sys.executable, "-c", CHILD, str(org), kind, str(db)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    result: dict[str, float] = json.loads(out.strip().splitlines()[-1])
    return result


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
    import importlib
    import json

    try:  # optional: measured only where it is installed (not a wfmine dependency)
        orjson: Any = importlib.import_module("orjson")
    except ImportError:
        orjson = None
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
    if orjson is None:
        print("orjson: not importable here (run this under a Python that has it)")
        return
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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--org", type=Path, help="a simulated organisation (default: simulate one)")
    ap.add_argument("--items", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=5)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--profile", action="store_true")
    ap.add_argument("--json-costs", action="store_true")
    args = ap.parse_args()
    if args.json_costs:
        if args.org is None:
            ap.error("--json-costs needs --org")
        json_costs(args.org)
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
            "| close s | events/s (read+build+write) |"
        )
        print("|---|---|---|---|---|---|---|---|")
        totals = {"events": 0.0, "seconds": 0.0}
        for kind in ("jira", "github", "slack", "email"):
            runs = [run_child(org, kind, tmp / f"{kind}.duckdb") for _ in range(args.runs)]
            load = statistics.median(r["load"] for r in runs)
            write = statistics.median(r["write"] for r in runs)
            close = statistics.median(r["close"] for r in runs)
            r = runs[0]
            rate = r["events"] / (load + write)
            totals["events"] += r["events"]
            totals["seconds"] += load + write
            print(
                f"| {kind} | {r['events']:,.0f} | {r['raw']:,.0f} | {r['quarantined']:,.0f} "
                f"| {load:.2f} | {write:.2f} | {close:.2f} | {rate:,.0f} |",
                flush=True,
            )
        print(
            f"| all four | {totals['events']:,.0f} | | | | | "
            f"| {totals['events'] / totals['seconds']:,.0f} |"
        )
        if args.profile:
            for kind in ("jira", "github", "slack", "email"):
                profile(org, kind)


if __name__ == "__main__":
    main()
