"""Zip limits (issue 16): time and peak memory of reading zip bombs as Slack exports.

Each archive is generated in a temporary folder (members of zeros: tiny files that
decompress to hundreds of MiB) and read by ``wfmine.connectors.slack.load`` in a
fresh process, whose peak resident memory (``ru_maxrss``) above the interpreter
with wfmine imported is reported.

    python benchmarks/bench_zip_limits.py

Not part of the test run (tests/test_faults.py checks the same limits on small ones).
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

MIB = 1024 * 1024


def _archive(path: Path, members: dict[str, int], *, lie: dict[str, int] | None = None) -> Path:
    """A Slack export with extra members of zeros (name -> MiB); ``lie``: declared sizes."""
    zeros = bytes(MIB)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        zf.writestr("channels.json", json.dumps([{"id": "C1", "name": "general"}]))
        zf.writestr("users.json", json.dumps([{"id": "U1", "name": "ann"}]))
        day = [{"type": "message", "user": "U1", "ts": "1704189600.000100", "text": "hi"}]
        zf.writestr("general/2024-01-02.json", json.dumps(day))
        for name, mib in members.items():
            with zf.open(name, "w", force_zip64=True) as out:
                for _ in range(mib):
                    out.write(zeros)
    for name, declared in (lie or {}).items():
        data = bytearray(path.read_bytes())
        raw = name.encode()
        for signature, size_at, name_at in ((b"PK\x03\x04", 22, 30), (b"PK\x01\x02", 24, 46)):
            at = data.find(signature)
            while at != -1:
                if data[at + name_at : at + name_at + len(raw)] == raw:
                    data[at + size_at : at + size_at + 4] = declared.to_bytes(4, "little")
                at = data.find(signature, at + 4)
        path.write_bytes(bytes(data))
    return path


def _measure(path: str, what: str) -> None:
    """In the child: read the export, print one JSON line (outcome, seconds, peak MiB).

    ``what``: ``tree`` reads every member through the archive layer only (the bytes a
    reader is handed), ``slack`` runs the whole Slack reader (parsing included).
    """
    from wfmine.connectors import _safezip, slack
    from wfmine.errors import FormatError

    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    try:
        if what == "tree":
            tree = _safezip.open_tree(path)
            try:
                largest = max(len(tree.read(name)) for name in tree.names)
            finally:
                tree.close()
            outcome = f"read; {len(tree.refused)} refused, largest member read {largest:,} bytes"
        else:
            batch = slack.load(path)
            outcome = f"loaded {batch.events.height} events, {batch.quarantine.height} quarantined"
            reasons = batch.quarantine.get_column("reason").to_list()
            if reasons:
                outcome += f" ({reasons[0][:90]})"
    except FormatError as exc:
        outcome = f"FormatError: {str(exc)[len(path) + 2 :][:110]}"
    seconds = time.perf_counter() - started
    peak = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - base) / 1024
    print(json.dumps({"outcome": outcome, "seconds": round(seconds, 2), "peak_mib": round(peak)}))


def main() -> None:
    cases = {
        "4 members x 500 MiB (each over the member limit)": (
            {f"general/2024-01-{d:02d}.json": 500 for d in (3, 4, 5, 6)}, None),
        "1 member of 400 MiB (over the member limit)": ({"general/2024-01-03.json": 400}, None),
        "1 member of 250 MiB (under the member limit: read, not JSON)": (
            {"general/2024-01-03.json": 250}, None),
        "17 members x 250 MiB (4.2 GiB: over the total limit)": (
            {f"general/2024-02-{d:02d}.json": 250 for d in range(1, 18)}, None),
        "1 member of 400 MiB declaring 1,000 bytes": (
            {"general/2024-01-03.json": 400}, {"general/2024-01-03.json": 1000}),
    }  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        print(f"{'archive':<62} {'zip':>9} {'layer':>6} {'s':>5} {'MiB':>5}  outcome")
        for i, (label, (members, lie)) in enumerate(cases.items()):
            path = _archive(Path(tmp) / f"bomb{i}.zip", members, lie=lie)
            size = f"{path.stat().st_size / MIB:.1f} MiB"
            for what in ("tree", "slack"):
                child = subprocess.run(
                    [sys.executable, __file__, "--measure", str(path), what],
                    capture_output=True, text=True, check=True,
                )  # fmt: skip
                row = json.loads(child.stdout.strip().splitlines()[-1])
                print(f"{label:<62} {size:>9} {what:>6} {row['seconds']:>5} "
                      f"{row['peak_mib']:>5}  {row['outcome']}")  # fmt: skip
            path.unlink()


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--measure":
        _measure(sys.argv[2], sys.argv[3])
    else:
        main()
