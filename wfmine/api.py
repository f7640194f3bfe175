"""The notebook API: one object per analysed log, every analysis a method.

>>> import wfmine
>>> store = wfmine.open(":memory:")
>>> log = wfmine.Log(store)
>>> log.events.height
0

``Log`` wraps one :class:`wfmine.analysis.Analysis` (a store or a flat log, a
design, a window, a case notion): its methods return polars frames (and
plotly figures for maps) read from that object, the same one the CLI and the
reports read, so figures agree everywhere. Opened on a workspace's store
without a design, it takes the workspace's design, as ``wfmine discover``
does.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, overload

import polars as pl

from wfmine.analysis import Analysis, Scope
from wfmine.conformance import ConformanceResult
from wfmine.design import Design, load_design
from wfmine.discovery import handover_network
from wfmine.errors import DesignError
from wfmine.store import Store
from wfmine.window import Window

if TYPE_CHECKING:
    import networkx as nx
    import pandas as pd
    import plotly.graph_objects as go
    from pyspark.sql import SparkSession

    from wfmine.reports import Report
    from wfmine.spark import SparkLog
    from wfmine.workspace import ConnectorConfig, Detected, PullFailure

__all__ = ["Ingested", "Log", "Plan", "durations", "ingest_path", "readable_findings"]


@dataclass
class Ingested:
    """What :func:`ingest_path` read: per-input summaries, skipped paths, touched objects."""

    loaded: list[dict[str, Any]] = field(default_factory=list)
    skipped: list[dict[str, str]] = field(default_factory=list)
    #: objects the inputs touched, unique and sorted (``None``: the whole workspace store is
    #: meant); a series, as :meth:`Store.log` takes it, not a list of 100,000 strings made
    #: from one and back (0.02 s at a million events)
    object_ids: pl.Series | None = None
    roster: Path | None = None
    #: live connectors of a workspace that could not be pulled (the rest was loaded)
    failed: list[PullFailure] = field(default_factory=list)

    def describe(self) -> dict[str, Any]:
        return {
            "loaded": self.loaded,
            "skipped": self.skipped,
            "roster": str(self.roster) if self.roster else None,
            "failed": [f.as_dict() for f in self.failed],
        }


@dataclass(frozen=True)
class Plan:
    """What an ingest is about to read: the inputs, their files and bytes."""

    inputs: tuple[Detected, ...]
    files: int
    bytes: int

    @classmethod
    def of(cls, inputs: list[Detected]) -> Plan:
        """Count the files and bytes under every input (a stat per file, nothing read)."""
        files = size = 0
        for item in inputs:
            paths = [item.path] if item.path.is_file() else item.path.rglob("*")
            for p in paths:
                if p.is_file():
                    files += 1
                    size += p.stat().st_size
        return cls(tuple(inputs), files, size)

    def describe(self) -> str:
        """``4 inputs (jira, github, slack, email): 1,310 files, 7.1 MB``."""
        kinds = ", ".join(dict.fromkeys(i.kind for i in self.inputs))
        return (
            f"{len(self.inputs):,} inputs ({kinds}): {self.files:,} files, "
            f"{self.bytes / 1e6:,.1f} MB"
        )


def ingest_path(
    store: Store,
    path: Path,
    *,
    kind: str | None = None,
    progress: Callable[[Detected], None] | None = None,
    pull: bool = True,
    pulling: Callable[[ConnectorConfig], None] | None = None,
    options: Mapping[str, Any] | None = None,
    confirm: Callable[[Plan], None] | None = None,
    defer: bool = False,
) -> Ingested:
    """Ingest a file, a folder of exports or a workspace into ``store``.

    A workspace (a folder with ``connectors/*.toml``) is read through its
    connector configurations; anything else is recognised by content. When a
    ``roster.yaml`` is found (workspace root or the input folder), identities
    are resolved with it. With ``pull`` (default), a workspace's live-API
    connectors are pulled incrementally too (``pulling`` sees each as it starts;
    one that cannot be pulled is listed in ``failed`` and the rest still
    loads). ``options`` are reader options
    added to every input's (e.g. ``{"classifier": "Activity classifier"}``).
    ``confirm`` sees the :class:`Plan` (what will be read, files and bytes)
    before anything is read, and may refuse it by raising (the CLI refuses a
    large tree without ``--yes``).

    ``defer=True``: an input written into an empty store may still be in flight when this
    returns (:meth:`Store.ingest`): the log, its case map and the store's other answers
    are those of the commit, which the caller waits for (:meth:`Store.wait`, or
    :meth:`Store.close`) before it reports success. Identity resolution, when a roster
    or a connector's accounts call for it, waits for the commit (it writes the store);
    a standard log without a roster resolves none, so nothing waits.

    Identities are resolved with a roster, for connectors' inputs (exports or live pulls
    that brought events), and for new events into a workspace or a store resolved before; a
    run of standard logs alone into any other store leaves each account its own actor
    (their ``org:resource`` names are not aliases to merge unless a roster says so).
    """
    from wfmine.errors import InputError
    from wfmine.workspace import (
        Detected,
        config_inputs,
        connector_configs,
        detect,
        detect_held,
        detection_key,
        ingest_inputs,
        pull_connectors,
        remember_detection,
    )

    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: no such file or folder")
    result = Ingested()
    pulled_new = False
    tree_key, held_detection = "", None
    # asked before anything is written (a run left in flight would make it wait for the commit)
    resolved_before = store.meta("roster_key") is not None
    is_workspace = path.is_dir() and (path / "connectors").is_dir()
    if kind is not None:
        inputs = [Detected(kind, path, name=path.name)]
        skipped: list[tuple[Path, str]] = []
    elif is_workspace:
        configs = connector_configs(path)
        inputs = config_inputs(configs)
        skipped = []
        if pull:
            # one live connector that cannot be pulled does not stop the others nor the
            # export files: it is reported in ``failed`` and the caller fails the run
            pulled, result.failed = pull_connectors(store, configs, progress=pulling)
            result.loaded += pulled
            pulled_new = any(item["events_added"] for item in pulled)
    elif path.is_dir():
        # a folder recognised before, with no file it can see changed since, is not sniffed
        # again (its answer is kept in the store once its inputs are ingested, below)
        tree_key = detection_key(path)
        held_detection = detect_held(store, path, tree_key)
        inputs, skipped = held_detection if held_detection is not None else detect(path)
    else:
        inputs, skipped = detect(path)
    result.skipped = [{"path": str(p), "reason": why} for p, why in skipped]
    if options:
        inputs = [replace(i, options={**i.options, **options}) for i in inputs]
    if not inputs and not result.loaded:
        if result.failed:  # nothing to load but the live connectors, and none could be pulled
            said = "; ".join(
                f"live connector {f.name} ({f.kind}, {f.url}) was not pulled: {f.error}"
                for f in result.failed
            )
            raise InputError(f"{path}: {said}; the workspace has nothing else to load")
        raise InputError(f"{path}: no export wfmine can read was found")
    if confirm is not None:
        confirm(Plan.of(inputs))
    touched: list[pl.Series] = []
    # a rerun re-reads nothing it already holds: an input whose files (paths, sizes,
    # modification times), reader and options are those of a committed run adds nothing, so
    # it is not read (Store.input_key: a stat per file). Outside a workspace the answer is
    # the input's cases, so the held run must also say which objects it covers
    inputs_to_read: list[Detected] = []
    input_keys: dict[Path, str] = {}
    for item in inputs:
        key = store.input_key(item.path, kind=item.kind, options=item.options)
        held_run = store.held_input(key)
        covered = store.run_objects(held_run["run_id"]) if held_run is not None else None
        if held_run is None or (not is_workspace and covered is None):
            inputs_to_read.append(item)
            input_keys[item.path] = key
            continue
        if covered is not None:
            touched.append(covered)
        result.loaded.append(
            {
                "kind": item.kind, "path": str(item.path), "run_id": None,
                "events_read": 0, "events_added": 0, "quarantined": 0,
                "warnings": [], "unchanged": True,
            }
        )  # fmt: skip
    for item, summary, batch in ingest_inputs(
        store, inputs_to_read, progress=progress, input_keys=input_keys, defer=defer
    ):
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
        # the objects the run covers, as the store recorded them (kept in memory for a run
        # into an empty store: not worked out from the batch a second time)
        covered = store.run_objects(summary["run_id"])
        touched.append(covered if covered is not None else batch.object_ids())
    if tree_key and held_detection is None:  # a folder detected afresh (its branch above)
        remember_detection(store, path, tree_key, inputs, skipped)
    roster = _find_roster(path, [i.path for i in inputs])
    # Identities are resolved when something calls for it: a roster; a connector's exports
    # or a live pull that brought events (their accounts carry the emails and names the
    # evidence reads); or new events into a workspace or a store resolved before (their
    # accounts join that resolution; a run killed before it resolved leaves a workspace's
    # pulls unresolved, and the rerun that adds the rest resolves them). A standard log's
    # org:resource is its actor as it stands (DESIGN.md): a run of standard logs alone,
    # outside a workspace, into a store never resolved, has nothing that could merge its
    # names (no roster, no other source's evidence), so it resolves none and each account
    # is its own actor, as the store's log reads an unresolved account.
    added_new = any(item["events_added"] for item in result.loaded if item["run_id"])
    connectors = pulled_new or any(not i.standard for i in inputs)
    joins = added_new and (is_workspace or resolved_before)
    if roster is not None or connectors or joins:
        from wfmine.identity import apply_identities

        roster_key = store.input_key(roster, kind="roster") if roster is not None else "none"
        unchanged = not inputs_to_read and not pulled_new and store.meta("roster_key") == roster_key
        if not unchanged:  # identities follow the accounts and the roster: both as before
            apply_identities(store, roster)
            store.set_meta("roster_key", roster_key)
        result.roster = roster
    if not is_workspace:
        # the objects read, with the objects linked to them folded in (a PR's case is its Jira
        # issue): one frame of ids, deduplicated and sorted in polars, never a Python set
        # (one input's objects are unique and sorted already: Batch.object_ids, run_objects)
        if len(touched) == 1:
            ids = touched[0]
        elif touched:
            ids = pl.concat(touched).drop_nulls().unique()
        else:
            ids = pl.Series("object_id", [], dtype=pl.String)
        mapping = store.case_map()
        # when every object is its own case (no link folds one into another: a standard
        # log's cases) the cases of the ids are the ids, and so are their members
        folds = not (mapping.get_column("case_id") == mapping.get_column("object_id")).all()
        if folds and ids.len():
            wanted = pl.col("object_id").is_in(ids.implode())
            cases = mapping.filter(wanted).get_column("case_id").unique()
            members = mapping.filter(pl.col("case_id").is_in(cases.implode()))
            ids = pl.concat([ids, members.get_column("object_id")]).unique()
        result.object_ids = ids.sort().rename("object_id")
    return result


def _find_roster(path: Path, inputs: list[Path]) -> Path | None:
    candidates = [path / "roster.yaml"] if path.is_dir() else []
    candidates += [p.parent / "roster.yaml" for p in inputs]
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    return None


class Log:
    """A store's (or a frame's) events under one design, window and case notion.

    Every method reads one :class:`~wfmine.analysis.Analysis`, computed once;
    the method names are those of the flat functions (``wfmine.directly_follows``,
    ``wfmine.check``, ``wfmine.findings`` …).

    >>> import wfmine
    >>> log = wfmine.Log(wfmine.open(":memory:"))
    >>> log.directly_follows().columns[:3]
    ['source', 'target', 'frequency']
    """

    def __init__(
        self,
        source: Store | str | Path | pl.DataFrame,
        *,
        design: Design | str | Path | None = None,
        window: Window | str | None = None,
        case_notion: str = "work_item",
        workspace_design: bool = True,
    ) -> None:
        if isinstance(source, str | Path):
            source = Store(source)
        self.store: Store | None = source if isinstance(source, Store) else None
        self._frame = source if isinstance(source, pl.DataFrame) else None
        self.case_notion = case_notion
        self.window = window
        if design is None and workspace_design and self.store is not None:
            design = _workspace_design_of(self.store)
        self.design: Design | None = (
            load_design(design) if isinstance(design, str | Path) else design
        )
        self.design_path = Path(design) if isinstance(design, str | Path) else None
        self._analysis: Analysis | None = None

    def __repr__(self) -> str:
        scope = self.analysis.scope.describe()
        where = f"store {self.store.path}" if self.store is not None else "a frame"
        return f"<wfmine.Log of {where}: {scope}>"

    @property
    def analysis(self) -> Analysis:
        """The one analysis every method reads (built on first use)."""
        if self._analysis is None:
            source: Store | pl.DataFrame = self._frame if self._frame is not None else self._store()
            self._analysis = Analysis.of(
                source,
                self.design,
                window=self.window,
                case_notion=self.case_notion,
                store=self.store,
            )
            self._analysis.design_path = self.design_path
        return self._analysis

    def _store(self) -> Store:
        assert self.store is not None
        return self.store

    @overload
    @classmethod
    def from_parquet(
        cls,
        folder: str | Path,
        *,
        engine: Literal["embedded"] = ...,
        design: Design | str | Path | None = ...,
        window: Window | str | None = ...,
    ) -> Log: ...

    @overload
    @classmethod
    def from_parquet(
        cls,
        folder: str | Path,
        *,
        engine: Literal["spark"],
        spark: SparkSession | None = ...,
        master: str | None = ...,
    ) -> SparkLog: ...

    @classmethod
    def from_parquet(
        cls,
        folder: str | Path,
        *,
        engine: str = "embedded",
        design: Design | str | Path | None = None,
        window: Window | str | None = None,
        spark: SparkSession | None = None,
        master: str | None = None,
    ) -> Log | SparkLog:
        """The lake at ``folder`` (``wfmine export --parquet``, :mod:`wfmine.lake`) on an engine.

        ``engine="embedded"``: its flat log read into memory, as a :class:`Log`
        (every figure, finding and report), with the lake's kinds of work item
        (its stall limits per kind, as of the store's analysis). ``engine="spark"``: a
        :class:`wfmine.spark.SparkLog` on ``spark`` (a session you have) or a
        new one on ``master`` (default ``$SPARK_MASTER`` or ``local[2]``),
        whose kernels return the same polars frames; pass the design to its
        design kernels (``check``, ``stage_visits``, ``failure_counts``).
        """
        from wfmine.errors import ConfigError

        if engine == "embedded":
            if spark is not None or master is not None:
                raise ConfigError("spark= and master= are for engine='spark'")
            from wfmine.lake import read_kinds, read_log

            log = cls(read_log(folder), design=design, window=window)
            log.analysis.kinds = read_kinds(folder)  # the lake's kinds: no attrs to read them from
            return log
        if engine == "spark":
            if design is not None or window is not None:
                raise ConfigError(
                    "engine='spark' takes no design= or window=: pass the design to the "
                    "SparkLog's kernels (check, stage_visits, failure_counts)"
                )
            from wfmine.spark import SparkLog

            return SparkLog.from_parquet(folder, spark=spark, master=master)
        raise ConfigError(f"unknown engine {engine!r}: use one of embedded, spark")

    def with_design(self, design: Design | str | Path | None) -> Log:
        """The same events under another design (``None``: none)."""
        source: Store | pl.DataFrame = self._frame if self._frame is not None else self._store()
        return Log(
            source,
            design=design,
            window=self.window,
            case_notion=self.case_notion,
            workspace_design=False,
        )

    def refresh(self) -> Log:
        """Forget every computed figure (after new ingests)."""
        self._analysis = None
        return self

    @property
    def scope(self) -> Scope:
        """Which cases and window every figure describes."""
        return self.analysis.scope

    @property
    def events(self) -> pl.DataFrame:
        """The flat log of the cases in scope (``wfmine.model.LOG_SCHEMA``), in case order."""
        return self.analysis.log

    # discovery
    def summary(self) -> dict[str, Any]:
        """Cases, events, activities, first and last event."""
        return self.analysis.summary

    def directly_follows(self) -> pl.DataFrame:
        """Directly-follows edges: ``source, target, frequency, wait_mean, wait_median, wait_p90``.

        Waits are durations here (``wait_mean_s`` … in seconds in
        :attr:`Analysis.dfg` and the ``--json`` output).
        """
        return durations(self.analysis.dfg)

    def variants(self) -> pl.DataFrame:
        """Activity variants: ``activities, cases, coverage``."""
        return self.analysis.variants

    def case_durations(self) -> pl.DataFrame:
        """Per case: start, end and duration (a duration)."""
        return durations(self.analysis.case_durations)

    def throughput_weekly(self) -> pl.DataFrame:
        """Cases completed per week."""
        return self.analysis.throughput

    def handover_network(self) -> nx.DiGraph:
        """The resource handover network (networkx)."""
        return handover_network(self.events)

    def seams(self) -> pl.DataFrame:
        """Handoffs between teams and between humans and agents, ranked by waiting caused."""
        return durations(self.analysis.seams)

    def process_map(self, metric: Literal["frequency", "wait"] = "frequency") -> go.Figure:
        """A plotly figure of the process map (renders inline in Jupyter)."""
        from wfmine.maps import process_map

        return process_map(self.events, metric=metric)

    def stage_map(self, metric: Literal["frequency", "wait"] = "frequency") -> go.Figure:
        """A plotly figure of the flow between the design's stages (disallowed moves dashed red)."""
        from wfmine.maps import stage_map

        return stage_map(self.events, self._design(), metric=metric)

    def to_pm4py(self) -> pd.DataFrame:
        """A pandas frame with pm4py's column names."""
        from wfmine.discovery.bridge import to_pm4py

        return to_pm4py(self.events)

    # conformance and findings
    def _design(self) -> Design:
        if self.design is None:
            raise DesignError(
                "this Log has no design: wfmine.Log(store, design='design.yaml') "
                "or log.with_design('design.yaml')"
            )
        return self.design

    def check(self) -> ConformanceResult:
        """The check against the design (flow, performers, gates, time)."""
        self._design()
        result = self.analysis.conformance
        assert result is not None
        return result

    def findings(self) -> pl.DataFrame:
        """Findings: shadow agents, unowned seams, failure patterns, gate violations.

        For a notebook: ``evidence`` and ``suggestion`` are structs (evidence's
        nested objects as JSON text), ``first_seen``/``last_seen`` datetimes.
        The store and ``--json`` keep the DESIGN.md shape
        (:func:`wfmine.findings.findings_json`).
        """
        return readable_findings(self.analysis.findings)

    def metrics(self) -> dict[str, pl.DataFrame]:
        """The architect's metrics (throughput stability, recovery, seam coverage, …)."""
        return self.analysis.metrics

    def report(self, **options: Any) -> Report:
        """The HTML report of this analysis; ``.save(path)`` writes it."""
        from wfmine.reports import build_report

        return build_report(self.analysis, **options)


def _workspace_design_of(store: Store) -> Path | None:
    """The design of the workspace a store file lives in (``None`` for other stores)."""
    from wfmine.workspace import find_workspace, workspace_design

    if store.path in ("", ":memory:"):
        return None
    root = find_workspace(Path(store.path).parent)
    return workspace_design(root) if root is not None else None


def readable_findings(frame: pl.DataFrame) -> pl.DataFrame:
    """The findings frame with JSON text turned into structs and ISO text into datetimes.

    Evidence differs by kind of finding, so its struct has every key any
    finding uses (null where a finding has none); a key whose values are
    objects, or of different kinds across findings, stays JSON text.
    """
    out = frame
    for column in ("evidence", "suggestion"):
        if column in out.columns:
            out = out.with_columns(_json_struct(out.get_column(column)))
    stamps = [c for c in ("first_seen", "last_seen") if c in out.columns]
    if stamps and out.schema[stamps[0]] == pl.String:
        out = out.with_columns(
            pl.col(stamps).str.to_datetime(time_zone="UTC", time_unit="us", strict=False)
        )
    return out


def _json_struct(texts: pl.Series) -> pl.Series:
    """A column of JSON objects (a few per finding, never per event) as one struct column."""
    rows: list[dict[str, Any]] = [json.loads(t) if t else {} for t in texts.to_list()]
    keys = sorted({k for row in rows for k in row})
    if not keys:
        return texts
    fields: dict[str, pl.DataType] = {}
    for key in keys:
        fields[key] = _field_type([row.get(key) for row in rows])
    values = [
        {k: _field_value(row.get(k), fields[k]) for k in keys} if row else None for row in rows
    ]
    return pl.Series(texts.name, values, dtype=pl.Struct(fields))


def _field_type(values: list[Any]) -> pl.DataType:
    present = [v for v in values if v is not None]
    if present and all(isinstance(v, bool) for v in present):
        return pl.Boolean()
    if present and all(isinstance(v, int) and not isinstance(v, bool) for v in present):
        return pl.Int64()
    if present and all(isinstance(v, int | float) and not isinstance(v, bool) for v in present):
        return pl.Float64()
    lists = present and all(isinstance(v, list) for v in present)
    if lists and all(not isinstance(x, dict | list) for v in present for x in v):
        return pl.List(pl.String())
    return pl.String()


def _field_value(value: Any, dtype: pl.DataType) -> Any:
    if value is None:
        return None
    if isinstance(dtype, pl.List):
        return [None if x is None else str(x) for x in value]
    if isinstance(dtype, pl.String) and not isinstance(value, str):
        return json.dumps(value, sort_keys=True, default=str)
    if isinstance(dtype, pl.Float64):
        return float(value)
    return value


def durations(frame: pl.DataFrame) -> pl.DataFrame:
    """``frame`` with every float column of seconds (``*_s``) as a duration, ``_s`` dropped.

    >>> durations(pl.DataFrame({"wait_s": [90.5]})).schema["wait"]
    Duration(time_unit='us')
    """
    cols = [
        c
        for c, t in frame.schema.items()
        if c.endswith("_s") and t.is_numeric() and c[:-2] not in frame.columns
    ]
    if not cols:
        return frame
    return frame.with_columns(
        (pl.col(c) * 1_000_000).round().cast(pl.Int64).cast(pl.Duration("us")).alias(c[:-2])
        for c in cols
    ).select([c[:-2] if c in cols else c for c in frame.columns])
