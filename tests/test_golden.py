"""Golden files for the outputs a person reads, reviewed when they change.

``wfmine discover --json``, ``wfmine findings --json`` and ``wfmine check
--json`` on the sample workspace, and the structure of its HTML report
(section ids and headings in order), are compared with the files in
``tests/golden/``. When an output changes on purpose, rewrite them with::

    WFMINE_UPDATE_GOLDEN=1 python -m pytest tests/test_golden.py

and read the diff before committing it: that diff is the review.

Values that differ between runs by nature (the store's path, the report's
path, the time it was generated) are replaced by placeholders; floats are
rounded to 6 significant digits so the files read well.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from wfmine.cli import app

GOLDEN = Path(__file__).parent / "golden"
UPDATE = os.environ.get("WFMINE_UPDATE_GOLDEN") == "1"
_VOLATILE = {"store", "reports", "generated_at", "path", "run_id", "roster", "design"}


def _normal(value: Any, key: str = "") -> Any:
    if key in _VOLATILE and value is not None:
        return f"<{key}>"
    if isinstance(value, dict):
        return {k: _normal(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [_normal(v, key) for v in value]
    if isinstance(value, float):
        return float(f"{value:.6g}")
    return value


def _compare(name: str, value: Any) -> None:
    path = GOLDEN / name
    text = json.dumps(_normal(value), indent=1, ensure_ascii=False, sort_keys=True) + "\n"
    if UPDATE or not path.exists():
        if not UPDATE:
            pytest.fail(f"{path} does not exist: run with WFMINE_UPDATE_GOLDEN=1 and review it")
        path.parent.mkdir(exist_ok=True)
        path.write_text(text, encoding="utf-8")
        return
    expected = path.read_text(encoding="utf-8")
    assert text == expected, (
        f"{name} changed; if on purpose, rerun with WFMINE_UPDATE_GOLDEN=1 and review the diff"
    )


@pytest.fixture(scope="module")
def outputs(sample_workspace: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("golden") / "ws"
    shutil.copytree(sample_workspace, root)
    here = Path.cwd()
    os.chdir(root)
    try:
        runner = CliRunner()
        out: dict[str, Any] = {}
        for name, args in {
            "discover": ["discover", "--json"],
            "findings": ["findings", "--json"],
            "check": ["check", "--json"],
        }.items():
            result = runner.invoke(app, args)
            assert result.exit_code == 0, result.output
            out[name] = json.loads(result.stdout)
        (report,) = out["discover"]["reports"]
        out["report"] = Path(report).read_text(encoding="utf-8")
    finally:
        os.chdir(here)
    return out


def test_discover_json(outputs: dict[str, Any]) -> None:
    payload = dict(outputs["discover"])
    payload.pop("findings")  # compared on their own below
    _compare("discover.json", payload)


def test_findings_json(outputs: dict[str, Any]) -> None:
    assert outputs["findings"] == outputs["discover"]["findings"]
    _compare("findings.json", outputs["findings"])


def test_check_json(outputs: dict[str, Any]) -> None:
    payload = outputs["check"]
    # per-case and per-deviation rows are many: their counts and the summary tell a change
    _compare(
        "check.json",
        {
            "summary": payload["summary"],
            "scope": payload["scope"],
            "deviations": payload["deviations"],
            "cases": len(payload["cases"]),
            "gates": len(payload["gates"]),
        },
    )


def test_report_structure(outputs: dict[str, Any]) -> None:
    html = outputs["report"]
    sections = re.findall(r'<section[^>]*\bid="([^"]+)"', html)
    headings = [
        re.sub(r"<[^>]+>", "", h).strip() for h in re.findall(r"<h2[^>]*>(.*?)</h2>", html, re.S)
    ]
    assert sections and headings
    _compare("report_structure.json", {"sections": sections, "headings": headings})
