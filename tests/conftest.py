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


@pytest.fixture(scope="session")
def sample_workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the repository's sample workspace (connectors/, reports/, sample_logs/acme)."""
    import shutil

    need(SAMPLE / "design.yaml")
    root = tmp_path_factory.mktemp("workspace")
    for folder in ("connectors", "reports"):
        shutil.copytree(ROOT / folder, root / folder, ignore=shutil.ignore_patterns("out"))
    shutil.copytree(SAMPLE, root / "sample_logs" / "acme")
    return root


@pytest.fixture(scope="session")
def sample_store(sample_workspace: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample workspace ingested (identities resolved) into a store file; returns its path."""
    from wfmine.api import ingest_path
    from wfmine.store import Store

    path = tmp_path_factory.mktemp("store") / "sample.duckdb"
    with Store(path) as store:
        ingest_path(store, sample_workspace)
    return path
