"""wfmine: process mining for workflow architects.

>>> import wfmine
>>> store = wfmine.open(":memory:")       # the store (DuckDB file)
>>> log = wfmine.Log(store)                # its events, every analysis a method

Importing wfmine is light: pm4py, plotly and networkx load only in the
functions that use them.
"""

from __future__ import annotations

from wfmine.api import Log
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
from wfmine.maps import process_map, stage_map
from wfmine.model import Batch
from wfmine.store import Store

__version__ = "0.1.0"

__all__ = [
    "Batch",
    "ConfigError",
    "ConnectorError",
    "DesignError",
    "FormatError",
    "InputError",
    "Log",
    "Store",
    "StoreError",
    "TerminalError",
    "TransientError",
    "WfmineError",
    "__version__",
    "case_durations",
    "case_variants",
    "directly_follows",
    "end_activities",
    "handover_frame",
    "handover_network",
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
