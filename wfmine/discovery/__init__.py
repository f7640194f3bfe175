"""Discovery: what the log says about how work flows, computed in polars.

Every function takes a flat log — a polars ``DataFrame`` or ``LazyFrame`` —
and the names of its columns as keywords, in pm4py's style, defaulting to
wfmine's flat log (:data:`wfmine.model.LOG_SCHEMA`): ``case_id_key="case_id"``,
``activity_key="activity"``, ``timestamp_key="timestamp"``,
``resource_key="resource"``, ``seq_key="seq"``. A pm4py-named frame works too:

>>> import wfmine.discovery as d
>>> keys = dict(case_id_key="case:concept:name", activity_key="concept:name",
...             timestamp_key="time:timestamp")
>>> d.directly_follows(df, **keys)  # doctest: +SKIP

Events are ordered once by (case, timestamp, seq, event_id) with a stable
sort (``event_id`` only when the log has it, as the store's flat log does).
When the log has neither, input row order breaks timestamp ties, so only
then can shuffling rows change a result. Timestamps are read as UTC
(naive values are taken as UTC).

:func:`overview` answers what ``wfmine discover`` shows (summary, graph,
variants, start and end activities) from one ordered pass over the events.

Discovery says what the log says (graphs, counts, waits, variants); drawing
it is :mod:`wfmine.maps`' job (:func:`wfmine.maps.process_map` reads
:func:`directly_follows`, :func:`start_activities` and :func:`end_activities`).

Importing this package is light: pm4py and networkx load inside the
functions that need them (:mod:`.bridge`, :func:`handover_network`).
"""

from __future__ import annotations

from wfmine.discovery.bridge import (
    discover_bpmn,
    discover_petri_net,
    save_bpmn,
    save_pnml,
    to_pm4py,
)
from wfmine.discovery.dfg import (
    directly_follows,
    end_activities,
    performance_dfg,
    start_activities,
)
from wfmine.discovery.handover import handover_frame, handover_network
from wfmine.discovery.overview import Overview, overview
from wfmine.discovery.performance import (
    case_durations,
    log_summary,
    throughput_weekly,
    work_in_progress,
)
from wfmine.discovery.variants import case_variants, variants

__all__ = [
    "Overview",
    "case_durations",
    "case_variants",
    "directly_follows",
    "discover_bpmn",
    "discover_petri_net",
    "end_activities",
    "handover_frame",
    "handover_network",
    "log_summary",
    "overview",
    "performance_dfg",
    "save_bpmn",
    "save_pnml",
    "start_activities",
    "throughput_weekly",
    "to_pm4py",
    "variants",
    "work_in_progress",
]
