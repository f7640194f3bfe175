"""Round trips through wfmine's formats, checked by pm4py (not part of CI's test run).

For each XES log in ../shared/realdata/logs: read it with pm4py, ingest it with
wfmine, export it with :func:`wfmine.formats.export.store_to_xes`, read the
export back with pm4py and compare the two frames (columns sorted, rows in
(case, timestamp, file order)). For OCEL: the OCEL 2.0 SQLite example
written as OCEL 2.0 JSON by pm4py, ingested, exported with
:func:`wfmine.formats.export.to_ocel_json` and compared table by table as
``pm4py.read_ocel2_json`` reads both.

    python benchmarks/bench_roundtrip.py [LOG ...]
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path
from typing import Any

LOGS = Path(__file__).resolve().parents[2] / "shared" / "realdata" / "logs"
if not LOGS.is_dir():
    LOGS = Path("/work/shared/realdata/logs")


def pm4py_frame(path: Path, variant: str | None = None) -> Any:
    """pm4py's frame of an XES file, columns sorted, rows by case then file order.

    ``variant=None`` is pm4py's default reader (its Rust backend when
    installed, which fills in the log's global attribute defaults, as wfmine's
    reader does); ``"iterparse"`` its XML parser (which does not).
    """
    import pandas as pd
    import pm4py

    df = pm4py.read_xes(str(path), variant=variant, return_legacy_log_object=False)
    df = df.reset_index(drop=True)
    df["_pos"] = df.groupby("case:concept:name", sort=False).cumcount()
    df = df.sort_values(["case:concept:name", "time:timestamp", "_pos"], kind="stable")
    df = df.drop(columns=["_pos"]).reset_index(drop=True)
    out: pd.DataFrame = df[sorted(df.columns)]
    return out


def xes_difference(original: Path, exported: Path, variant: str | None = None) -> list[str]:
    """What differs between pm4py's reading of two XES files (empty: lossless)."""
    import pandas as pd

    a, b = pm4py_frame(original, variant), pm4py_frame(exported, variant)
    problems: list[str] = []
    if list(a.columns) != list(b.columns):
        missing = sorted(set(a.columns) - set(b.columns))
        extra = sorted(set(b.columns) - set(a.columns))
        problems.append(f"columns missing {missing}, extra {extra}")
    if len(a) != len(b):
        problems.append(f"{len(a)} events, {len(b)} after the round trip")
        return problems
    for col in sorted(set(a.columns) & set(b.columns)):
        x, y = a[col], b[col]
        if pd.api.types.is_datetime64_any_dtype(x) and pd.api.types.is_datetime64_any_dtype(y):
            x = pd.to_datetime(x, utc=True).dt.floor("us")
            y = pd.to_datetime(y, utc=True).dt.floor("us")
        same = (x == y) | (x.isna() & y.isna())
        if not bool(same.all()):
            bad = int((~same).sum())
            first = int((~same).to_numpy().argmax())
            problems.append(
                f"{col}: {bad} values differ (e.g. {x.iloc[first]!r} -> {y.iloc[first]!r};"
                f" dtype {x.dtype} -> {y.dtype})"
            )
        elif x.dtype != y.dtype:
            problems.append(f"{col}: dtype {x.dtype} -> {y.dtype}")
    return problems


def xes_round_trip(path: Path, folder: Path, variant: str | None = None) -> tuple[list[str], float]:
    from wfmine.formats import export, xes
    from wfmine.store import Store

    started = time.perf_counter()
    store = Store(":memory:")
    store.ingest(xes.load(path))
    out = folder / (path.name.split(".")[0] + ".rt.xes")
    export.store_to_xes(store, out)
    elapsed = time.perf_counter() - started
    return xes_difference(path, out, variant), elapsed


def ocel_tables(path: Path) -> dict[str, Any]:
    """pm4py's OCEL 2.0 JSON tables, each with sorted columns and rows."""
    import pm4py

    ocel = pm4py.read_ocel2_json(str(path))
    tables = {
        "events": ocel.events,
        "objects": ocel.objects,
        "relations": ocel.relations,
        "o2o": ocel.o2o,
        "object_changes": ocel.object_changes,
    }
    out: dict[str, Any] = {}
    for name, df in tables.items():
        df = df[sorted(df.columns)]
        out[name] = df.sort_values(list(df.columns), kind="stable").reset_index(drop=True)
    return out


def ocel_difference(original: Path, exported: Path) -> list[str]:
    a, b = ocel_tables(original), ocel_tables(exported)
    problems: list[str] = []
    for name in a:
        x, y = a[name], b[name]
        if list(x.columns) != list(y.columns):
            problems.append(f"{name}: columns {list(x.columns)} -> {list(y.columns)}")
            continue
        if len(x) != len(y):
            problems.append(f"{name}: {len(x)} rows -> {len(y)}")
            continue
        if not x.astype(str).equals(y.astype(str)):
            diff = (x.astype(str) != y.astype(str)).any(axis=0)
            problems.append(f"{name}: columns differ {sorted(diff[diff].index)}")
    return problems


def classifier_parity(path: Path, classifier: str) -> str:
    """wfmine's DFG and variants with a classifier against pm4py's on the '+'-joined keys."""
    import pm4py

    from wfmine import discovery as d
    from wfmine.formats import xes
    from wfmine.store import Store

    df = pm4py.read_xes(str(path), return_legacy_log_object=False)
    keys = xes.declared_classifiers(xes.read_frame(path)[1]).get(classifier, classifier.split())
    df["@@classifier"] = df[keys].astype(str).agg("+".join, axis=1)
    pm_keys = {"activity_key": "@@classifier", "case_id_key": "case:concept:name"}
    dfg, _, _ = pm4py.discover_dfg(df, **pm_keys, timestamp_key="time:timestamp")
    theirs = pm4py.get_variants(df, **pm_keys, timestamp_key="time:timestamp")
    store = Store(":memory:")
    store.ingest(xes.load(path, {"classifier": classifier}))
    log = store.log()
    edges = d.directly_follows(log).select("source", "target", "frequency")
    ours_dfg = {(a, b): f for a, b, f in edges.iter_rows()}
    ours_var = {(tuple(a), c) for a, c in d.variants(log).select("activities", "cases").iter_rows()}
    same_dfg = ours_dfg == {k: int(v) for k, v in dfg.items()}
    same_var = ours_var == {(tuple(k), int(v)) for k, v in theirs.items()}
    return (
        f"{log.get_column('activity').n_unique()} activities, {len(ours_dfg)} edges "
        f"(pm4py {len(dfg)}, equal={same_dfg}), {len(ours_var)} variants "
        f"(pm4py {len(theirs)}, equal={same_var})"
    )


def ocel_order(path: Path, folder: Path) -> str:
    """XES -> wfmine -> OCEL 2.0 JSON -> pm4py flattening: the traces of the original log?"""
    import pm4py

    from wfmine.formats import export, xes
    from wfmine.store import Store

    store = Store(":memory:")
    store.ingest(xes.load(path))
    out = folder / "flat.json"
    export.to_ocel_json(store, out)
    flat = pm4py.ocel_flattening(pm4py.read_ocel2_json(str(out)), "case")
    flat["case:concept:name"] = flat["case:concept:name"].str.split("/").str[-1]
    original = pm4py.read_xes(str(path), return_legacy_log_object=False)
    # traces in the order pm4py reads the rows (its get_variants re-sorts same-instant
    # events of a flattened frame itself, so it is not used here)
    a = {k: tuple(g) for k, g in original.groupby("case:concept:name", sort=False)["concept:name"]}
    b = {k: tuple(g) for k, g in flat.groupby("case:concept:name", sort=False)["concept:name"]}
    changed = sum(a[k] != b.get(k) for k in a)
    return (
        f"{len(set(a.values()))} variants, {len(set(b.values()))} after the OCEL round trip; "
        f"{changed} of {len(a)} traces changed"
    )


def main(argv: list[str]) -> int:
    names = argv or sorted(p.name for p in LOGS.iterdir() if ".xes" in p.name)
    failures = 0
    with tempfile.TemporaryDirectory() as tmp:
        for name in names:
            for variant in (None, "iterparse"):
                problems, elapsed = xes_round_trip(LOGS / name, Path(tmp), variant)
                verdict = "lossless" if not problems else "; ".join(problems)
                failures += bool(problems) and variant is None
                reader = variant or "default"
                print(f"{name} [pm4py {reader}]: {verdict} ({elapsed:.1f} s ingest+export)")
        print(
            "bpic2012 classifier 'Activity classifier':",
            classifier_parity(LOGS / "bpic2012.xes.gz", "Activity classifier"),
        )
        print(
            "bpic2012 XES -> OCEL -> pm4py flattening:",
            ocel_order(LOGS / "bpic2012.xes.gz", Path(tmp)),
        )
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
