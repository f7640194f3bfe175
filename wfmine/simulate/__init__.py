"""A seeded, deterministic generator of a fictional AI-native organisation ("Acme").

``simulate(out_dir)`` writes Acme's activity exactly as the real systems export
it — Jira search pages, GitHub REST responses laid out by API path, a Slack
workspace export, an mbox — together with its designed workflow
(``design.yaml``), its roster (``roster.yaml``) and the ground truth of every
planted problem (``ground_truth.json``). Same seed, same bytes.

>>> from wfmine.simulate import simulate
>>> result = simulate("/tmp/acme", seed=7, items=300, months=6)   # doctest: +SKIP
>>> result.summary()["items"]                                       # doctest: +SKIP
300
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from wfmine.simulate import _email, _github, _jira, _shape_truth, _slack, _truth
from wfmine.simulate._config import DEVIATION_TYPES, FAILURE_TYPES, GATE_TYPES, SimConfig
from wfmine.simulate._flow import generate_shape
from wfmine.simulate._kanban import generate_kanban, plays_kanban
from wfmine.simulate._org import build_org
from wfmine.simulate._shapes import DEVELOPMENT_SHAPES, FLOW_SHAPES, HELD_OUT_SHAPES, SHAPES
from wfmine.simulate._work import generate

__all__ = [
    "DEVELOPMENT_SHAPES",
    "DEVIATION_TYPES",
    "FAILURE_TYPES",
    "GATE_TYPES",
    "HELD_OUT_SHAPES",
    "SHAPES",
    "SimConfig",
    "SimResult",
    "main_simulate",
    "simulate",
]

_SOURCES = ("jira", "github", "slack", "email")


@dataclass(frozen=True)
class SimResult:
    """What ``simulate`` wrote."""

    out_dir: Path
    seed: int
    items: int
    months: int
    files: tuple[Path, ...]
    ground_truth: dict[str, Any] = field(repr=False)

    @property
    def ground_truth_path(self) -> Path:
        return self.out_dir / "ground_truth.json"

    @property
    def design_path(self) -> Path:
        return self.out_dir / "design.yaml"

    @property
    def roster_path(self) -> Path:
        return self.out_dir / "roster.yaml"

    def summary(self) -> dict[str, Any]:
        gt = self.ground_truth
        return {
            "out": str(self.out_dir),
            "shape": gt.get("shape", "stage-teams"),
            "seed": self.seed,
            "items": len(gt["work_items"]),
            "months": self.months,
            "files": len(self.files),
            "bytes": sum(p.stat().st_size for p in self.files),
            "planted": {
                "shadow_agents": len(gt["shadow_agents"]),
                "unowned_seams": len(gt["unowned_seams"]),
                "failure_patterns": _count_by_type(gt["failure_patterns"]),
                "gate_violations": len(gt["gate_violations"]),
                "deviations": len(gt["deviations"]),
                **{
                    k: len(gt[k])
                    for k in (
                        "late_approvals",
                        "designed_round_trips",
                        "root_events",
                        "automation_prs",
                        "automation_moves",
                        "trends",
                    )
                    if k in gt
                },
            },
        }


def _count_by_type(patterns: list[dict[str, Any]]) -> dict[str, int]:
    out: dict[str, int] = {}
    for f in patterns:
        out[f["type"]] = out.get(f["type"], 0) + len(f["cases"])
    return out


def simulate(
    out_dir: str | Path,
    *,
    seed: int = 7,
    items: int = 300,
    months: int | None = None,
    people: int | None = None,
    problems: SimConfig | None = None,
    shape: str = "stage-teams",
) -> SimResult:
    """Write the simulated organisation into ``out_dir`` and return what was written.

    ``out_dir`` gets ``jira/``, ``github/``, ``slack/``, ``email/`` (each
    replaced if present), ``design.yaml``, ``roster.yaml`` and
    ``ground_truth.json``. ``shape`` is one of ``SHAPES`` (see
    ``docs/simulator.md``; ``HELD_OUT_SHAPES`` are not for developing
    detectors); ``months`` defaults to 6 for ``stage-teams`` and 9 for the
    others. ``people`` is accepted for API stability; each shape has a fixed
    cast. ``problems`` configures the ``stage-teams`` shape only.
    """
    if shape not in SHAPES:
        raise ValueError(f"unknown shape {shape!r}; valid shapes: {', '.join(SHAPES)}")
    if months is None:
        months = FLOW_SHAPES[shape].months if shape in FLOW_SHAPES else 6
    if items < 1:
        raise ValueError("items must be at least 1")
    if months < 1:
        raise ValueError("months must be at least 1")
    del people
    cfg = problems or SimConfig()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    for src in _SOURCES:
        if (out / src).exists():
            shutil.rmtree(out / src)
    if shape in FLOW_SHAPES:
        sh = FLOW_SHAPES[shape]
        play = generate_kanban if plays_kanban(sh) else generate_shape
        world, truth = play(sh, seed, items, months)
    else:
        world = generate(build_org(), seed, items, months, cfg)
    files: list[Path] = []
    files += _jira.write(world, out)
    files += _github.write(world, out)
    files += _slack.write(world, out)
    files += _email.write(world, out)
    if shape in FLOW_SHAPES:
        written, gt = _shape_truth.write(world, truth, FLOW_SHAPES[shape], out)
        files += written
        return SimResult(out, seed, items, months, tuple(files), gt)
    files += _truth.write(world, cfg, out)
    return SimResult(out, seed, items, months, tuple(files), _truth.ground_truth(world, cfg))


def main_simulate(
    out_dir: str | Path,
    seed: int = 7,
    items: int = 300,
    months: int | None = None,
    shape: str = "stage-teams",
) -> dict[str, Any]:
    """Entry point for ``wfmine simulate``: write the organisation, return the summary."""
    return simulate(out_dir, seed=seed, items=items, months=months, shape=shape).summary()
