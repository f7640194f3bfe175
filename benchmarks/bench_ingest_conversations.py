"""Time load + ingest of synthetic Slack exports and mbox files (not part of the test run).

Usage: python benchmarks/bench_ingest_conversations.py [N]   (default N = 20000 messages each)
"""

from __future__ import annotations

import json
import random
import sys
import tempfile
import time
from pathlib import Path

import wfmine
from wfmine.connectors import email as em
from wfmine.connectors import slack


def make_slack(root: Path, n: int, rng: random.Random) -> None:
    users = [
        {
            "id": f"U{i}",
            "name": f"user{i}",
            "is_bot": i % 10 == 0,
            "profile": {"real_name": f"User {i}"},
        }
        for i in range(50)
    ]
    (root / "users.json").write_text(json.dumps(users))
    (root / "channels.json").write_text(
        json.dumps([{"id": f"C{c}", "name": f"chan{c}"} for c in range(5)])
    )
    base = 1_700_000_000
    per_day: dict[tuple[int, str], list[dict[str, object]]] = {}
    roots: list[str] = []
    for i in range(n):
        ts = f"{base + i * 37}.{i % 1000000:06d}"
        chan = i % 5
        msg: dict[str, object] = {
            "type": "message",
            "user": f"U{rng.randrange(50)}",
            "ts": ts,
            "text": f"work on ACME-{rng.randrange(1, 500)} now",
        }
        if roots and rng.random() < 0.5:
            msg["thread_ts"] = rng.choice(roots[-20:])
        else:
            roots.append(ts)
        day = time.strftime("%Y-%m-%d", time.gmtime(base + i * 37))
        per_day.setdefault((chan, day), []).append(msg)
    for (chan, day), msgs in per_day.items():
        folder = root / f"chan{chan}"
        folder.mkdir(exist_ok=True)
        (folder / f"{day}.json").write_text(json.dumps(msgs))


def make_mbox(path: Path, n: int, rng: random.Random) -> None:
    out: list[str] = []
    for i in range(n):
        reply = i > 0 and rng.random() < 0.6
        parent = rng.randrange(max(0, i - 50), i) if reply else None
        out.append(
            f"From u{i % 40}@acme.example Mon Apr  1 10:00:00 2024\n"
            f"From: User {i % 40} <u{i % 40}@acme.example>\nTo: team@acme.example\n"
            f"Subject: {'Re: ' if reply else ''}Topic {parent if reply else i}\n"
            f"Message-ID: <m{i}@acme.example>\n"
            + (
                f"In-Reply-To: <m{parent}@acme.example>\nReferences: <m{parent}@acme.example>\n"
                if reply
                else ""
            )
            + f"Date: Mon, 01 Apr 2024 {i % 24:02d}:{i % 60:02d}:00 +0000\n\nSee ACME-{rng.randrange(1, 500)}\n\n"
        )
    path.write_text("".join(out))


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 20000
    rng = random.Random(7)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "slack").mkdir()
        make_slack(root / "slack", n, rng)
        make_mbox(root / "mail.mbox", n, rng)
        store = wfmine.open(root / "bench.duckdb")
        for name, loader, path in (
            ("slack", slack.load, root / "slack"),
            ("email", em.load, root / "mail.mbox"),
        ):
            t0 = time.perf_counter()
            batch = loader(path)
            t1 = time.perf_counter()
            store.ingest(batch)
            t2 = time.perf_counter()
            print(
                f"{name}: {n} messages, {batch.events.height} events, {batch.objects.height} threads: "
                f"load {t1 - t0:.2f}s ({n / (t1 - t0):,.0f} msg/s), ingest {t2 - t1:.2f}s"
            )
        store.close()


if __name__ == "__main__":
    main()
