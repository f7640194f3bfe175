"""wfmine: process mining for workflow architects.

>>> import wfmine
>>> store = wfmine.open(":memory:")       # the store (DuckDB file)
>>> log = wfmine.Log(store)                # its events, every analysis a method
>>> wfmine.check, wfmine.findings          # the flat functions, pm4py style  # doctest: +ELLIPSIS
(<function check at ...>, <function findings at ...>)

Importing wfmine is light: pm4py, plotly and networkx load only in the
functions that use them.
"""

from __future__ import annotations

from wfmine._version import __version__
from wfmine.analysis import Analysis, Scope
from wfmine.api import Log
from wfmine.conformance import ConformanceResult, check
from wfmine.design import Design, load_design
from wfmine.discovery import (
    case_durations,
    case_variants,
    directly_follows,
    end_activities,
    handover_frame,
    handover_network,
    log_summary,
    performance_dfg,
    start_activities,
    throughput_weekly,
    variants,
    work_in_progress,
)
from wfmine.errors import (
    ConfigError,
    ConnectorError,
    DesignError,
    FormatError,
    InputError,
    StoreError,
    TerminalError,
    TransientError,
    WfmineError,
)
from wfmine.findings import findings
from wfmine.maps import process_map, stage_map
from wfmine.model import Batch
from wfmine.store import Store
from wfmine.window import Window

__all__ = [
    "Analysis",
    "Batch",
    "ConfigError",
    "ConformanceResult",
    "ConnectorError",
    "Design",
    "DesignError",
    "FormatError",
    "InputError",
    "Log",
    "Scope",
    "Store",
    "StoreError",
    "TerminalError",
    "TransientError",
    "WfmineError",
    "Window",
    "__version__",
    "case_durations",
    "case_variants",
    "check",
    "directly_follows",
    "end_activities",
    "findings",
    "handover_frame",
    "handover_network",
    "load_design",
    "log_summary",
    "open",
    "performance_dfg",
    "process_map",
    "stage_map",
    "start_activities",
    "throughput_weekly",
    "variants",
    "work_in_progress",
]


def open(path: str = ":memory:") -> Store:
    """Open (or create) the wfmine store at ``path``."""
    return Store(path)
