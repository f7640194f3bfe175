"""The public surface: a sorted __all__ that does not drift, and a light import."""

from __future__ import annotations

import subprocess
import sys
import types
from pathlib import Path

import wfmine


def test_all_is_sorted_and_complete() -> None:
    assert wfmine.__all__ == sorted(wfmine.__all__)
    # submodules become package attributes once imported anywhere: they are not exports
    public = {
        n
        for n in dir(wfmine)
        if not n.startswith("_") and not isinstance(getattr(wfmine, n), types.ModuleType)
    } - {"annotations"}
    exported = set(wfmine.__all__) - {"__version__"}
    assert public == exported, (public - exported, exported - public)
    for name in wfmine.__all__:
        assert hasattr(wfmine, name), name


def test_import_is_light() -> None:
    code = (
        "import sys, wfmine, wfmine.discovery, wfmine.cli;"
        "heavy = [m for m in ('pm4py', 'plotly', 'pandas', 'networkx', 'scipy', 'jinja2', 'httpx', 'pyspark') if m in sys.modules];"
        "print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"imported at import time: {out.stdout}"


def test_a_discover_imports_nothing_it_does_not_use(tmp_path: Path) -> None:
    """``wfmine discover`` of the sample exports, into a new store and again (a rerun that
    reads the log back from the file), loads neither pyarrow (0.2 s and 40 MiB a process:
    the store hands DuckDB Arrow streams) nor pandas nor pm4py."""
    from tests.conftest import SAMPLE

    code = (
        "import contextlib, io, sys\n"
        "from wfmine.cli import main\n"
        f"sys.argv = ['wfmine', 'discover', {str(SAMPLE)!r}, '--db', {str(tmp_path / 's.duckdb')!r},"
        " '--json']\n"
        "with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(SystemExit):\n"
        "    main()\n"
        "print(','.join(m for m in ('pyarrow', 'pandas', 'pm4py') if m in sys.modules))\n"
    )
    for run in ("new store", "rerun"):
        out = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True
        )
        assert out.stdout.strip() == "", f"{run}: imported {out.stdout.strip()}"
    assert (tmp_path / "s.duckdb").exists()


def test_every_error_derives_from_the_root() -> None:
    for name in ("InputError", "FormatError", "DesignError", "StoreError", "ConnectorError",
                 "TransientError", "TerminalError", "ConfigError"):  # fmt: skip
        assert issubclass(getattr(wfmine, name), wfmine.WfmineError)
    assert issubclass(wfmine.InputError, ValueError)
    assert wfmine.TransientError.transient and not wfmine.TerminalError.transient


def test_ingest_path_covers_the_cases_its_objects_fold_into(tmp_path: Path) -> None:
    # a GitHub export read after the Jira one: its pull requests fold into Jira issues, so
    # the objects it covers are its own and every member of their cases (the issues too)
    import polars as pl

    from tests.conftest import SAMPLE
    from wfmine.api import ingest_path

    store = wfmine.open(tmp_path / "s.duckdb")
    ingest_path(store, SAMPLE / "jira")
    covered = ingest_path(store, SAMPLE / "github").object_ids
    assert covered is not None
    read = store.sql("SELECT object_id FROM objects WHERE source = 'github'").get_column(
        "object_id"
    )
    mapping = store.case_map()
    cases = mapping.filter(pl.col("object_id").is_in(read.implode())).get_column("case_id")
    members = mapping.filter(pl.col("case_id").is_in(cases.implode())).get_column("object_id")
    expected = pl.concat([read, members]).unique().sort().to_list()
    assert covered.to_list() == expected
    assert any(o.startswith("jira:") for o in covered)
