"""A small, read-only view of a designed workflow, as the findings need it.

Findings accept the design as a :class:`wfmine.design.Design` (when that module
exists), a path to ``design.yaml``, or the parsed mapping. This module reads
whichever it gets into :class:`DesignView` by attribute or key, so the
detectors depend on the design *file format* (docs/contracts.md), not on one
object model. Stage mapping is delegated to ``wfmine.design.map_stages`` when
available and falls back to the glob patterns of the file otherwise.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from wfmine.errors import DesignError

__all__ = ["AgentEntry", "DesignView", "SeamEntry", "StageEntry", "as_view", "map_stages"]

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


@dataclass(frozen=True)
class StageEntry:
    """A designed stage: owner team, allowed performer, time expectation, activity patterns."""

    id: str
    team: str | None
    performer: str
    expected_s: float | None
    patterns: tuple[str, ...]
    irreversible: bool = False


@dataclass(frozen=True)
class SeamEntry:
    """An owned handoff (teams or performer kinds)."""

    src: str
    dst: str
    owner: str | None


@dataclass(frozen=True)
class AgentEntry:
    """A sanctioned agent: its id, accounts and the stages it may act in."""

    id: str
    accounts: tuple[str, ...]
    stages: tuple[str, ...]


@dataclass(frozen=True)
class DesignView:
    """What the findings read from a design."""

    stages: tuple[StageEntry, ...]
    seams: tuple[SeamEntry, ...] = ()
    agents: tuple[AgentEntry, ...] = ()
    end: tuple[str, ...] = ()
    source: Any = field(default=None, repr=False)

    def stage(self, stage_id: str | None) -> StageEntry | None:
        """The stage with id ``stage_id``."""
        return next((s for s in self.stages if s.id == stage_id), None)

    @property
    def order(self) -> dict[str, int]:
        """Stage id -> position in the design (the flow's direction)."""
        return {s.id: i for i, s in enumerate(self.stages)}

    @property
    def agent_ids(self) -> set[str]:
        """Every id or account id the registry names."""
        out: set[str] = set()
        for a in self.agents:
            out.add(a.id)
            out.update(a.accounts)
        return out


def _get(obj: Any, name: str, default: Any = None) -> Any:
    if isinstance(obj, Mapping):
        return obj.get(name, default)
    return getattr(obj, name, default)


def _seconds(value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, int | float):
        return float(value)
    if hasattr(value, "total_seconds"):
        return float(value.total_seconds())
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*", str(value))
    if not m:
        return None
    return float(m.group(1)) * _UNITS[m.group(2)]


def _strs(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    out: list[str] = []
    for v in value:
        pat = _get(v, "pattern", None) if not isinstance(v, str) else v
        if pat is None:
            src, act = _get(v, "source", None), _get(v, "activity", None)
            pat = f"{src}:{act}" if src and act else str(v)
        out.append(str(pat))
    return tuple(out)


def as_view(design: Any) -> DesignView | None:
    """Read ``design`` (Design object, path, or mapping) into a :class:`DesignView`."""
    if design is None:
        return None
    if isinstance(design, DesignView):
        return design
    if isinstance(design, str | Path):
        design = _load(Path(design))
    stages = []
    for s in _get(design, "stages", []) or []:
        stages.append(
            StageEntry(
                id=str(_get(s, "id")),
                team=_get(s, "team"),
                performer=str(_get(s, "performer", "either") or "either"),
                expected_s=_seconds(_get(s, "expected")),
                patterns=_strs(_get(s, "activities", ())),
                irreversible=bool(_get(s, "irreversible", False)),
            )
        )
    seams = tuple(
        SeamEntry(
            src=str(_get(x, "from", None) or _get(x, "src", None) or _get(x, "from_", "")),
            dst=str(_get(x, "to", None) or _get(x, "dst", "")),
            owner=_get(x, "owner"),
        )
        for x in (_get(design, "seams", []) or [])
    )
    agents = tuple(
        AgentEntry(
            id=str(_get(a, "id")),
            accounts=_strs(_get(a, "accounts", ())),
            stages=_strs(_get(a, "stages", ())),
        )
        for a in (_get(design, "agents", []) or [])
    )
    end = _strs(_get(design, "end", ()))
    return DesignView(tuple(stages), seams, agents, end, source=design)


def _load(path: Path) -> Any:
    try:
        from wfmine.design import load_design

        return load_design(path)
    except ImportError:
        pass
    import yaml

    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise DesignError(f"{path}: cannot read design: {exc}") from None


def _pattern_expr(pattern: str) -> pl.Expr:
    source, sep, glob = pattern.partition(":")
    if not sep or source not in (
        "jira",
        "github",
        "slack",
        "email",
        "xes",
        "ocel",
        "csv",
        "parquet",
        "*",
    ):
        source, glob = "*", pattern
    regex = (
        "^" + "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in glob) + "$"
    )
    expr = pl.col("activity").str.contains(regex)
    if source != "*":
        expr = expr & (pl.col("source") == source)
    return expr


def map_stages(log: pl.DataFrame, view: DesignView | None) -> pl.DataFrame:
    """``log`` with a ``stage`` column (null where no stage's pattern matches).

    Uses ``wfmine.design.map_stages`` when the design came from it; otherwise
    the first stage (in design order) with a matching ``source:glob`` pattern.
    """
    if view is None:
        return log.with_columns(pl.lit(None, dtype=pl.String).alias("stage"))
    if "stage" in log.columns:
        return log
    if view.source is not None and not isinstance(view.source, Mapping):
        try:
            from wfmine.design import map_stages as design_map_stages

            mapped = design_map_stages(log, view.source)
            if isinstance(mapped, pl.DataFrame) and "stage" in mapped.columns:
                return mapped.with_columns(
                    pl.when(pl.col("stage") == "other")
                    .then(None)
                    .otherwise(pl.col("stage"))
                    .cast(pl.String)
                    .alias("stage")
                )
        except (ImportError, TypeError, AttributeError):
            pass
    expr: Any = pl.lit(None, dtype=pl.String)
    for stage in reversed(view.stages):
        if not stage.patterns:
            continue
        cond = pl.any_horizontal([_pattern_expr(p) for p in stage.patterns])
        expr = pl.when(cond).then(pl.lit(stage.id)).otherwise(expr)
    return log.with_columns(expr.cast(pl.String).alias("stage"))
