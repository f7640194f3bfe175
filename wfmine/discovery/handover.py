"""Handover of work: who passes a case to whom.

Resource ``a`` hands over to ``b`` when, in one case, an event by ``a`` is
directly followed by an event by ``b`` ((case, timestamp, seq) order).
Events with no resource are left out first, so ``a → (unknown) → b`` counts
as ``a → b``. This is pm4py's handover-of-work metric with its default
``beta=0`` (direct succession only):

- ``handovers`` counts the pairs;
- ``share`` divides by *all* consecutive pairs of known resources, including
  pairs where the resource stays the same — exactly the value
  ``pm4py.discover_handover_of_work_network(df).connections`` holds.

pm4py also lists ``a → a`` pairs; here they are left out unless
``self_handovers=True``, because a person continuing their own work is not a
handover. (pm4py raises ``TypeError`` on a log with missing resources and
``ValueError`` when no pair exists; here those give the obvious answers.)

>>> import datetime as dt, polars as pl
>>> t = dt.datetime(2024, 1, 1)
>>> log = pl.DataFrame({"case_id": ["c"] * 3, "activity": ["x", "y", "z"],
...                     "timestamp": [t, t, t], "seq": [0, 1, 2], "resource": ["ann", "ann", "bob"]})
>>> handover_frame(log).rows()
[('ann', 'bob', 1, 0.5)]
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import polars as pl

from wfmine.discovery._columns import (
    DEFAULT_ACTIVITY,
    DEFAULT_CASE,
    DEFAULT_RESOURCE,
    DEFAULT_SEQ,
    DEFAULT_TIMESTAMP,
    RES,
    EventFrame,
    lazy,
    sorted_events,
    successor_pairs,
)

if TYPE_CHECKING:
    import networkx as nx

__all__ = ["handover_frame", "handover_network"]


def handover_frame(
    log: EventFrame,
    *,
    case_id_key: str = DEFAULT_CASE,
    activity_key: str = DEFAULT_ACTIVITY,
    resource_key: str = DEFAULT_RESOURCE,
    timestamp_key: str = DEFAULT_TIMESTAMP,
    seq_key: str | None = DEFAULT_SEQ,
    self_handovers: bool = False,
) -> pl.DataFrame:
    """Handover edges: ``source``, ``target``, ``handovers``, ``share``; most frequent first.

    ``activity_key`` is accepted (and unused) so that one dict of keys fits
    every discovery function.

    >>> handover_frame(log, resource_key="team")  # team-to-team handovers  # doctest: +SKIP
    """
    events = sorted_events(
        log,
        case_id_key=case_id_key,
        timestamp_key=timestamp_key,
        seq_key=seq_key,
        columns={resource_key: RES},
    ).filter(pl.col(RES).is_not_null())
    pairs = successor_pairs(events, RES)
    edges = (
        pairs.group_by("source", "target")
        .agg(pl.len().cast(pl.Int64).alias("handovers"))
        .with_columns((pl.col("handovers") / pl.col("handovers").sum()).alias("share"))
    )
    if not self_handovers:
        edges = edges.filter(pl.col("source") != pl.col("target"))
    edges = edges.with_columns(pl.col("source", "target").cast(pl.String))
    return edges.sort(["handovers", "source", "target"], descending=[True, False, False]).collect()


def handover_network(
    log: EventFrame,
    *,
    case_id_key: str = DEFAULT_CASE,
    activity_key: str = DEFAULT_ACTIVITY,
    resource_key: str = DEFAULT_RESOURCE,
    timestamp_key: str = DEFAULT_TIMESTAMP,
    seq_key: str | None = DEFAULT_SEQ,
    self_handovers: bool = False,
) -> nx.DiGraph:
    """The handover network as a ``networkx.DiGraph``.

    Nodes are every resource of the log (attribute ``events``: how many
    events it performed); edges carry ``weight`` (handover count) and
    ``share`` (pm4py's normalised value, see the module docstring).

    >>> g = handover_network(log)  # doctest: +SKIP
    >>> sorted(g.out_degree(weight="weight"), key=lambda kv: -kv[1])[:5]  # doctest: +SKIP
    """
    import networkx as nx

    edges = handover_frame(
        log,
        case_id_key=case_id_key,
        activity_key=activity_key,
        resource_key=resource_key,
        timestamp_key=timestamp_key,
        seq_key=seq_key,
        self_handovers=self_handovers,
    )
    nodes = (
        lazy(log)
        .select(pl.col(resource_key).alias(RES))
        .filter(pl.col(RES).is_not_null())
        .group_by(RES)
        .agg(pl.len().cast(pl.Int64).alias("events"))
        .sort(RES)
        .collect()
    )
    graph = nx.DiGraph()
    for name, count in nodes.iter_rows():
        graph.add_node(name, events=count)
    for source, target, count, share in edges.iter_rows():
        graph.add_edge(source, target, weight=count, share=share)
    return graph
