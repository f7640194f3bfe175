"""The notebook API: one object per analysed log, every analysis a method.

>>> import wfmine
>>> store = wfmine.open(":memory:")
>>> log = wfmine.Log(store)
>>> log.events.height
0

``Log`` wraps a store and a case notion; its methods return polars frames
(and plotly figures for maps) and call the same functions the CLI and the
reports use, so figures agree everywhere.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import polars as pl

from wfmine.store import Store

if TYPE_CHECKING:
    from wfmine.workspace import Detected

__all__ = ["Ingested", "Log", "ingest_path", "summarise"]


@dataclass
class Ingested:
    """What :func:`ingest_path` read: per-input summaries, skipped paths, touched objects."""

    loaded: list[dict[str, Any]] = field(default_factory=list)
    skipped: list[dict[str, str]] = field(default_factory=list)
    #: objects the inputs touched (``None``: the whole workspace store is meant)
    object_ids: list[str] | None = None
    roster: Path | None = None

    def describe(self) -> dict[str, Any]:
        return {
            "loaded": self.loaded,
            "skipped": self.skipped,
            "roster": str(self.roster) if self.roster else None,
        }


def ingest_path(
    store: Store,
    path: Path,
    *,
    kind: str | None = None,
    progress: Callable[[Detected], None] | None = None,
    pull: bool = True,
) -> Ingested:
    """Ingest a file, a folder of exports or a workspace into ``store``.

    A workspace (a folder with ``connectors/*.toml``) is read through its
    connector configurations; anything else is recognised by content. When a
    ``roster.yaml`` is found (workspace root or the input folder), identities
    are resolved with it. With ``pull`` (default), a workspace's live-API
    connectors are pulled incrementally too.
    """
    from wfmine.errors import InputError
    from wfmine.workspace import (
        Detected,
        config_inputs,
        connector_configs,
        detect,
        ingest_inputs,
        pull_live,
    )

    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: no such file or folder")
    result = Ingested()
    is_workspace = path.is_dir() and (path / "connectors").is_dir()
    if kind is not None:
        inputs = [Detected(kind, path, name=path.name)]
        skipped: list[tuple[Path, str]] = []
    elif is_workspace:
        configs = connector_configs(path)
        inputs = config_inputs(configs)
        skipped = []
        for cfg in configs:
            if cfg.url is not None and cfg.path is None and pull:
                summary = pull_live(store, cfg)
                result.loaded.append(
                    {
                        "kind": cfg.kind, "path": cfg.url, "run_id": summary["run_id"],
                        "events_read": summary["read"]["events"],
                        "events_added": summary["added"]["events"],
                        "quarantined": summary["quarantined"], "warnings": summary["warnings"],
                    }
                )  # fmt: skip
    else:
        inputs, skipped = detect(path)
    result.skipped = [{"path": str(p), "reason": why} for p, why in skipped]
    if not inputs and not result.loaded:
        raise InputError(f"{path}: no export wfmine can read was found")
    touched: set[str] = set()
    for item, summary, batch in ingest_inputs(store, inputs, progress=progress):
        result.loaded.append(
            {
                "kind": item.kind,
                "path": str(item.path),
                "run_id": summary["run_id"],
                "events_read": batch.events.height,
                "events_added": summary["added"]["events"],
                "quarantined": summary["quarantined"],
                "warnings": summary["warnings"],
            }
        )
        touched.update(batch.objects.get_column("object_id").to_list())
        touched.update(batch.events.get_column("object_id").unique().to_list())
        touched.update(batch.event_objects.get_column("object_id").unique().to_list())
    roster = _find_roster(path, [i.path for i in inputs])
    if roster is not None or any(not i.standard for i in inputs):
        from wfmine.identity import apply_identities

        apply_identities(store, roster)
        result.roster = roster
    result.object_ids = None if is_workspace else sorted(touched)
    if result.object_ids is not None:
        # fold in the objects linked to what was read (a PR's case is its Jira issue)
        mapping = store.case_map()
        cases = mapping.filter(pl.col("object_id").is_in(result.object_ids))
        members = mapping.filter(pl.col("case_id").is_in(cases.get_column("case_id").unique()))
        result.object_ids = sorted(
            set(result.object_ids) | set(members.get_column("object_id").to_list())
        )
    return result


def _find_roster(path: Path, inputs: list[Path]) -> Path | None:
    candidates = [path / "roster.yaml"] if path.is_dir() else []
    candidates += [p.parent / "roster.yaml" for p in inputs]
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    return None


def summarise(log: pl.DataFrame, *, top: int = 10) -> dict[str, Any]:
    """The ``wfmine discover --json`` payload for a flat log (keys are a stable interface)."""
    from wfmine.discovery import (
        directly_follows,
        end_activities,
        log_summary,
        start_activities,
        variants,
    )

    dfg = directly_follows(log)
    var = variants(log)
    slowest = dfg.sort(
        ["wait_median_s", "frequency", "source", "target"],
        descending=[True, True, False, False],
        nulls_last=True,
    )
    return {
        "log": _jsonable(log_summary(log)),
        "start_activities": dict(start_activities(log)),
        "end_activities": dict(end_activities(log)),
        "dfg": dfg.to_dicts(),
        "variants": var.to_dicts(),
        "busiest_edges": dfg.head(top).to_dicts(),
        "slowest_waits": slowest.head(top).to_dicts(),
    }


def _jsonable(summary: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in summary.items():
        out[key] = value.isoformat() if hasattr(value, "isoformat") else value
    return out


class Log:
    """A store's events under one case notion, with every analysis as a method.

    >>> import wfmine
    >>> log = wfmine.Log(wfmine.open(":memory:"))
    >>> log.dfg().columns[:3]
    ['source', 'target', 'frequency']
    """

    def __init__(self, store: Store | str | Path, *, case_notion: str = "work_item") -> None:
        self.store = store if isinstance(store, Store) else Store(store)
        self.case_notion = case_notion
        self._events: pl.DataFrame | None = None

    @property
    def events(self) -> pl.DataFrame:
        """The flat log (``wfmine.model.LOG_SCHEMA``), ordered by case, time, seq."""
        if self._events is None:
            self._events = self.store.log(case_notion=self.case_notion)
        return self._events

    def refresh(self) -> Log:
        """Forget the cached flat log (after new ingests)."""
        self._events = None
        return self

    # discovery
    def summary(self) -> dict[str, Any]:
        from wfmine.discovery import log_summary

        return log_summary(self.events)

    def dfg(self) -> pl.DataFrame:
        from wfmine.discovery import directly_follows

        return directly_follows(self.events)

    def variants(self) -> pl.DataFrame:
        from wfmine.discovery import variants

        return variants(self.events)

    def case_durations(self) -> pl.DataFrame:
        from wfmine.discovery import case_durations

        return case_durations(self.events)

    def throughput(self) -> pl.DataFrame:
        from wfmine.discovery import throughput_weekly

        return throughput_weekly(self.events)

    def handover_network(self) -> Any:
        from wfmine.discovery import handover_network

        return handover_network(self.events)

    def process_map(self, metric: Literal["frequency", "wait"] = "frequency") -> Any:
        """A plotly figure of the process map (renders inline in Jupyter)."""
        from wfmine.maps import process_map

        return process_map(self.events, metric=metric)

    def stage_map(self, design: Any, metric: Literal["frequency", "wait"] = "frequency") -> Any:
        """A plotly figure of the flow between the design's stages (disallowed moves dashed red)."""
        from wfmine.design import load_design
        from wfmine.maps import stage_map

        loaded = load_design(design) if isinstance(design, str | Path) else design
        return stage_map(self.events, loaded, metric=metric)

    def to_pm4py(self) -> Any:
        """A pandas frame with pm4py's column names."""
        from wfmine.discovery.bridge import to_pm4py

        return to_pm4py(self.events)

    # conformance and findings
    def check(self, design: Any) -> Any:
        """Check against a design (path or loaded); stores and returns the result frames."""
        from wfmine.conformance import check_store, store_result
        from wfmine.design import load_design

        loaded = load_design(design) if isinstance(design, str | Path) else design
        result = check_store(self.store, loaded, log=self.events)
        store_result(self.store, result)
        return result

    def findings(self, design: Any = None) -> pl.DataFrame:
        """Findings (shadow agents, unowned seams, failure patterns, gate violations), stored."""
        from wfmine.findings import findings, store_findings

        loaded = design
        if isinstance(design, str | Path):
            from wfmine.design import load_design

            loaded = load_design(design)
        df = findings(self.events, loaded, store=self.store)
        store_findings(self.store, df)
        return df

    def metrics(self, design: Any = None) -> dict[str, pl.DataFrame]:
        from wfmine.findings import metrics

        loaded = design
        if isinstance(design, str | Path):
            from wfmine.design import load_design

            loaded = load_design(design)
        return metrics(self.events, loaded)

    def report(self, design: Any = None, **options: Any) -> Any:
        """An HTML report; ``.save(path)`` writes it."""
        from wfmine.reports import build_report

        return build_report(self.store, design, **options)
