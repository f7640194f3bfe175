"""Small shared helpers: deterministic JSON writing, time zones."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo


@lru_cache(maxsize=64)
def zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def dump_json(path: Path, obj: Any) -> None:
    """Compact, deterministic JSON (insertion order is deterministic by construction)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        json.dumps(obj, ensure_ascii=False, separators=(",", ":")) + "\n", encoding="utf-8"
    )


def iso(t: datetime) -> str:
    """A UTC timestamp as ground truth writes it (``2026-01-05T09:30:00Z``)."""
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
