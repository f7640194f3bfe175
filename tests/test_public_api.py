"""The public surface: a sorted __all__ that does not drift, and a light import."""

from __future__ import annotations

import subprocess
import sys
import types

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


def test_every_error_derives_from_the_root() -> None:
    for name in ("InputError", "FormatError", "DesignError", "StoreError", "ConnectorError",
                 "TransientError", "TerminalError", "ConfigError"):  # fmt: skip
        assert issubclass(getattr(wfmine, name), wfmine.WfmineError)
    assert issubclass(wfmine.InputError, ValueError)
    assert wfmine.TransientError.transient and not wfmine.TerminalError.transient
