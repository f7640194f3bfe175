"""The bridge to pm4py: hand a wfmine log to pm4py's model discovery and writers.

pm4py (AGPL, ~1 s to import) loads only inside these functions. The frame
handed over has pm4py's column names and is sorted by (case, timestamp,
seq) — pm4py's own algorithms trust input order for ties and, for
variants, for grouping — so pm4py sees the same event order as wfmine.

>>> net, im, fm = discover_petri_net(log, noise_threshold=0.2)  # doctest: +SKIP
>>> save_pnml(net, im, fm, "model.pnml")  # doctest: +SKIP
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl

from wfmine.discovery._columns import (
    ACT,
    CASE,
    DEFAULT_ACTIVITY,
    DEFAULT_CASE,
    DEFAULT_RESOURCE,
    DEFAULT_SEQ,
    DEFAULT_TIMESTAMP,
    TS,
    EventFrame,
    lazy,
    sorted_events,
)

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["discover_bpmn", "discover_petri_net", "save_bpmn", "save_pnml", "to_pm4py"]

PM4PY_CASE = "case:concept:name"
PM4PY_ACTIVITY = "concept:name"
PM4PY_TIMESTAMP = "time:timestamp"
PM4PY_RESOURCE = "org:resource"
PM4PY_GROUP = "org:group"


def to_pm4py(
    log: EventFrame,
    *,
    case_id_key: str = DEFAULT_CASE,
    activity_key: str = DEFAULT_ACTIVITY,
    timestamp_key: str = DEFAULT_TIMESTAMP,
    resource_key: str = DEFAULT_RESOURCE,
    group_key: str = "team",
    seq_key: str | None = DEFAULT_SEQ,
) -> pd.DataFrame:
    """A pandas frame in pm4py's flat format, sorted by (case, timestamp, seq).

    Columns ``case:concept:name`` (as text), ``concept:name``,
    ``time:timestamp`` (UTC-aware) and, when the log has them,
    ``org:resource`` and ``org:group`` (from ``group_key``, the team). The
    index is a fresh ``RangeIndex`` in event order.

    >>> import pm4py
    >>> dfg, sa, ea = pm4py.discover_dfg(to_pm4py(log))  # doctest: +SKIP
    """
    schema = lazy(log).collect_schema()
    extra = {}
    if resource_key in schema:
        extra[resource_key] = PM4PY_RESOURCE
    if group_key in schema:
        extra[group_key] = PM4PY_GROUP
    events = sorted_events(
        log,
        case_id_key=case_id_key,
        timestamp_key=timestamp_key,
        seq_key=seq_key,
        columns={activity_key: ACT, **extra},
        lexical=True,
    )
    out = events.select(
        pl.col(CASE).cast(pl.String).alias(PM4PY_CASE),
        pl.col(ACT).alias(PM4PY_ACTIVITY),
        pl.col(TS).alias(PM4PY_TIMESTAMP),
        *[pl.col(name) for name in extra.values()],
    ).collect()
    return out.to_pandas()


def _pm4py_keys() -> dict[str, str]:
    return {
        "case_id_key": PM4PY_CASE,
        "activity_key": PM4PY_ACTIVITY,
        "timestamp_key": PM4PY_TIMESTAMP,
    }


def discover_petri_net(
    log: EventFrame,
    noise_threshold: float = 0.0,
    *,
    case_id_key: str = DEFAULT_CASE,
    activity_key: str = DEFAULT_ACTIVITY,
    timestamp_key: str = DEFAULT_TIMESTAMP,
    seq_key: str | None = DEFAULT_SEQ,
) -> tuple[Any, Any, Any]:
    """A Petri net ``(net, initial_marking, final_marking)`` by pm4py's inductive miner.

    ``noise_threshold`` (0–1) drops infrequent behaviour (pm4py's IMf); 0
    keeps every observed path, so the net replays the whole log.

    >>> net, im, fm = discover_petri_net(log)  # doctest: +SKIP
    """
    import pm4py

    df = to_pm4py(
        log,
        case_id_key=case_id_key,
        activity_key=activity_key,
        timestamp_key=timestamp_key,
        seq_key=seq_key,
    )
    net, im, fm = pm4py.discover_petri_net_inductive(
        df, noise_threshold=noise_threshold, **_pm4py_keys()
    )
    return net, im, fm


def discover_bpmn(
    log: EventFrame,
    noise_threshold: float = 0.0,
    *,
    case_id_key: str = DEFAULT_CASE,
    activity_key: str = DEFAULT_ACTIVITY,
    timestamp_key: str = DEFAULT_TIMESTAMP,
    seq_key: str | None = DEFAULT_SEQ,
) -> Any:
    """A BPMN model (``pm4py.objects.bpmn.obj.BPMN``) by pm4py's inductive miner.

    >>> save_bpmn(discover_bpmn(log), "discovered.bpmn")  # doctest: +SKIP
    """
    import pm4py

    df = to_pm4py(
        log,
        case_id_key=case_id_key,
        activity_key=activity_key,
        timestamp_key=timestamp_key,
        seq_key=seq_key,
    )
    return pm4py.discover_bpmn_inductive(df, noise_threshold=noise_threshold, **_pm4py_keys())


def save_pnml(net: Any, im: Any, fm: Any, path: str | Path) -> Path:
    """Write a Petri net with its markings as PNML; returns the path.

    >>> save_pnml(*discover_petri_net(log), "model.pnml")  # doctest: +SKIP
    """
    import pm4py

    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    pm4py.write_pnml(net, im, fm, str(target))
    return target


def save_bpmn(model: Any, path: str | Path, *, layout: bool | None = None) -> Path:
    """Write a BPMN model as a ``.bpmn`` XML file; returns the path.

    pm4py computes diagram coordinates with Graphviz's ``dot`` program;
    ``layout=None`` does so when ``dot`` is on the PATH and otherwise writes
    the model without coordinates (BPMN editors such as bpmn.io lay it out).

    >>> save_bpmn(discover_bpmn(log), "model.bpmn")  # doctest: +SKIP
    """
    import pm4py

    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    if layout is None:
        layout = shutil.which("dot") is not None
    pm4py.write_bpmn(model, str(target), auto_layout=layout)
    return target
