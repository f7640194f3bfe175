"""What ``wfmine discover`` and the report show of a log, from one ordered pass.

:func:`log_summary`, :func:`~wfmine.discovery.directly_follows`,
:func:`~wfmine.discovery.variants` and the start and end activities each
order the events and code the activities on their own: called one after
the other on one log, that work is done four times. :func:`overview` does it
once and hands the same events to each, with answers identical to the
functions'.

>>> import datetime as dt, polars as pl
>>> t = dt.datetime(2024, 1, 1)
>>> log = pl.DataFrame({"case_id": ["a", "a", "b"], "activity": ["x", "y", "x"],
...                     "timestamp": [t, t + dt.timedelta(hours=1), t]})
>>> o = overview(log)
>>> o.summary["cases"], o.dfg.height, o.variants.height, o.end_activities
(2, 1, 2, {'x': 1, 'y': 1})
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import polars as pl

from wfmine.discovery._columns import (
    ACT,
    DEFAULT_ACTIVITY,
    DEFAULT_CASE,
    DEFAULT_SEQ,
    DEFAULT_TIMESTAMP,
    TS,
    EventFrame,
    Events,
    activity_codes,
    ordered_events,
)
from wfmine.discovery.dfg import as_counts, boundary_table, dfg_figures, edge_table
from wfmine.discovery.variants import trace_keys, variant_table

__all__ = ["Overview", "overview"]


@dataclass(frozen=True)
class Overview:
    """A log's summary, directly-follows graph, variants and start and end activities.

    Each field is what the function of the same name returns for the log
    (``summary`` is :func:`~wfmine.discovery.log_summary`, ``dfg`` is
    :func:`~wfmine.discovery.directly_follows`).
    """

    summary: dict[str, Any]
    dfg: pl.DataFrame
    variants: pl.DataFrame
    start_activities: dict[str, int]
    end_activities: dict[str, int]


def overview(
    log: EventFrame,
    *,
    case_id_key: str = DEFAULT_CASE,
    activity_key: str = DEFAULT_ACTIVITY,
    timestamp_key: str = DEFAULT_TIMESTAMP,
    seq_key: str | None = DEFAULT_SEQ,
) -> Overview:
    """:class:`Overview` of ``log``: its events ordered and coded once for all five answers.

    >>> o = overview(log)  # doctest: +SKIP
    >>> o.dfg.head(5), o.variants.head(5), o.summary["cases"]  # doctest: +SKIP
    """
    events = ordered_events(
        log,
        case_id_key=case_id_key,
        timestamp_key=timestamp_key,
        seq_key=seq_key,
        columns={activity_key: ACT},
    )
    names, code = activity_codes(events.frame, ACT)
    return Overview(
        summary=_summary(events, names),
        dfg=edge_table(events, names, code, dfg_figures(), edge_order=False),
        variants=variant_table(trace_keys(events, names, code, with_case=False), names),
        start_activities=as_counts(boundary_table(events, first=True)),
        end_activities=as_counts(boundary_table(events, first=False)),
    )


def _summary(events: Events, names: pl.Series) -> dict[str, Any]:
    """:func:`~wfmine.discovery.log_summary` of ordered events, without hashing them again.

    The cases are the runs of case ids (contiguous after :func:`ordered_events`;
    null ids are one run, as ``n_unique`` counts null once), the activities the
    coded names plus null when an activity is missing.
    """
    frame = events.frame
    if frame.height == 0:
        return {"cases": 0, "events": 0, "activities": 0, "start": None, "end": None}
    ts = frame.get_column(TS)
    return {
        "cases": int(events.head.sum()),
        "events": frame.height,
        "activities": names.len() + (1 if frame.get_column(ACT).null_count() else 0),
        "start": _iso(ts.min()),
        "end": _iso(ts.max()),
    }


def _iso(moment: object) -> str | None:
    """A timestamp as :func:`~wfmine.discovery.log_summary` writes it (``None`` when all are null)."""
    return moment.isoformat() if isinstance(moment, dt.datetime) else None
