"""Time conformance: stage visits that take longer than the design expects.

A visit lasts from its first event to the first event of the next visit (or,
for a case's last visit, to its own last event). A visit is ``over_expected``
when it lasts longer than ``stall_factor`` times the stage's ``expected``
time; stages without ``expected`` are never judged.
"""

from __future__ import annotations

import polars as pl

from wfmine.design import Design

__all__ = ["stage_timing", "timing_deviations"]


def stage_timing(
    visits: pl.DataFrame, design: Design, *, stall_factor: float = 1.0
) -> pl.DataFrame:
    """Per stage visit: ``duration_s``, ``expected_s`` and ``over`` (null when not judged)."""
    expected = {s.id: s.expected.total_seconds() for s in design.stages if s.expected is not None}
    return visits.select(
        "case_id",
        "visit",
        "stage",
        "start",
        "end",
        "event_id",
        "actor_id",
        (pl.col("end") - pl.col("start")).dt.total_microseconds().truediv(1e6).alias("duration_s"),
        pl.col("stage")
        .replace_strict(expected, default=None, return_dtype=pl.Float64)
        .alias("expected_s"),
    ).with_columns((pl.col("duration_s") > pl.col("expected_s") * stall_factor).alias("over"))


def timing_deviations(timing: pl.DataFrame) -> pl.DataFrame:
    """One ``over_expected`` deviation per visit over its stage's expected time."""
    return timing.filter(pl.col("over")).select(
        "case_id",
        pl.lit("over_expected").alias("category"),
        "stage",
        pl.lit(None, dtype=pl.String).alias("from_stage"),
        pl.lit(None, dtype=pl.String).alias("to_stage"),
        "event_id",
        pl.col("start").alias("timestamp"),
        "actor_id",
        pl.format(
            "{} took {} h, expected {} h",
            "stage",
            (pl.col("duration_s") / 3600).round(1),
            (pl.col("expected_s") / 3600).round(1),
        ).alias("detail"),
        pl.lit("time").alias("aspect"),
        *([pl.col("pos")] if "pos" in timing.columns else []),
    )
