"""The codebase's own standards: lint, format, strict types, layers (as CI would run them)."""

from __future__ import annotations

import shutil
import subprocess
import sys

import pytest

from tests.conftest import ROOT


def _run(*cmd: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=False)


@pytest.mark.parametrize(
    "cmd",
    [
        ("ruff", "check", "."),
        ("ruff", "format", "--check", "."),
        ("lint-imports",),
    ],
    ids=["ruff-check", "ruff-format", "import-layers"],
)
def test_tool_passes(cmd: tuple[str, ...]) -> None:
    exe = shutil.which(cmd[0])
    if exe is None:
        pytest.skip(f"{cmd[0]} is not installed (pip install -e '.[test]')")
    result = _run(exe, *cmd[1:])
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]


def test_mypy_strict_on_the_package() -> None:
    result = _run(sys.executable, "-m", "mypy")
    assert result.returncode == 0, result.stdout[-4000:]
