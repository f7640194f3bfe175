"""Shared fixtures: where the real samples and the sample workspace are."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
REALDATA = ROOT.parent / "shared" / "realdata"
LOGS = REALDATA / "logs"
SAMPLE = ROOT / "sample_logs" / "acme"


def need(path: Path) -> Path:
    """Skip the test when an input that lives outside the repository is missing."""
    if not path.exists():
        pytest.skip(f"{path} is not present on this machine")
    return path


@pytest.fixture
def realdata() -> Path:
    return need(REALDATA)
