"""The root events of a case's failures: its reverts and reopens, without the other detectors.

A revert or a reopen is a *root*: what follows it in the case (rework, a
stall, handoffs back and forth) is its consequence, evidence on its finding
rather than a finding of its own. The seam figures need only the roots (the
handoffs after one are set aside), and a log analysed without findings -- the
discovery of a plain log -- should not pay for every failure detector to get
them. :func:`root_occurrences` runs the two detectors
:func:`wfmine.findings.failures.failure_occurrences` runs for these types, on
the same inputs, so its rows are exactly that function's ``revert`` and
``reopen`` rows.
"""

from __future__ import annotations

import polars as pl

from wfmine.design import Design
from wfmine.findings.failures import _ctx, _occ, _reopen
from wfmine.stages import stage_visits

__all__ = ["root_occurrences"]


def root_occurrences(
    events: pl.DataFrame,
    design: Design | None = None,
    events_attrs: pl.DataFrame | None = None,
    *,
    visits: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """The ``revert`` and ``reopen`` rows :func:`failure_occurrences` gives for the same inputs
    (:data:`wfmine.findings.failures.OCCURRENCE_SCHEMA`, deduplicated, in its order)."""
    ctx = _ctx(events)
    visits = stage_visits(events) if visits is None else visits
    out = pl.concat(
        [
            _occ(ctx.filter(pl.col("activity") == "Revert merged"), "revert", pl.col("stage_ctx")),
            _reopen(ctx, visits, events_attrs, design),
        ]
    )
    return out.unique(maintain_order=False).sort(
        ["type", "stage", "case_id", "timestamp"], nulls_last=True
    )
