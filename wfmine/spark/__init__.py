"""The Spark engine: wfmine's kernels on Apache Spark, over the Parquet lake.

Install with ``pip install 'wfmine[spark]'`` (PySpark 4.x, Java 17+). Write
the lake with ``wfmine export --parquet DIR`` (:func:`wfmine.lake.export_parquet`),
then::

    import wfmine.spark as ws
    spark = ws.session()                      # the active session, or local[2]
    df = ws.log_from_parquet("lake/", spark)  # a Spark DataFrame of the flat log
    ws.directly_follows(df)                   # a small polars frame, as wfmine.directly_follows
    log = ws.SparkLog.from_parquet("lake/")   # or everything as methods

Every kernel returns the same polars frame as its embedded counterpart (the
shared engine suite, ``tests/test_engines.py``, proves it on real, sample and
generated logs), so findings and reports read either. How each kernel is
written once or twice is said per module: :mod:`.kernels` (discovery, native
Spark), :mod:`.stages` (the stage kernel, native Spark windows; the design's
mapping is the embedded code), :mod:`.conformance` (the embedded polars
kernels run per bucket of cases). ``docs/scale.md`` says when Spark pays off.

Importing :mod:`wfmine` never imports PySpark; importing this package does
not either, until a session or kernel is used.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl

from wfmine.design import Design
from wfmine.spark._engine import (
    DEFAULT_MASTER,
    kinds_from_parquet,
    log_from_parquet,
    session,
    to_polars,
)
from wfmine.spark.conformance import check, check_spark, failure_counts, stall_limits
from wfmine.spark.kernels import (
    case_durations,
    directly_follows,
    end_activities,
    handover,
    log_summary,
    performance_dfg,
    start_activities,
    variants,
)
from wfmine.spark.stages import stage_events, stage_visits

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

__all__ = [
    "DEFAULT_MASTER",
    "SparkLog",
    "case_durations",
    "check",
    "check_spark",
    "directly_follows",
    "end_activities",
    "failure_counts",
    "handover",
    "kinds_from_parquet",
    "log_from_parquet",
    "log_summary",
    "performance_dfg",
    "session",
    "stage_events",
    "stage_visits",
    "stall_limits",
    "start_activities",
    "to_polars",
    "variants",
]


class SparkLog:
    """A lake's flat log on Spark, every kernel a method (the Spark side of :class:`wfmine.Log`).

    >>> log = SparkLog.from_parquet("lake/")  # doctest: +SKIP
    >>> log.dfg().head()  # doctest: +SKIP
    """

    def __init__(self, df: DataFrame, kinds: DataFrame | None = None) -> None:
        self.df = df
        #: per case its kind of work item (the lake's ``kinds`` table), or ``None``
        self.kinds = kinds

    @classmethod
    def from_parquet(
        cls, folder: str | Path, *, spark: SparkSession | None = None, master: str | None = None
    ) -> SparkLog:
        """The lake at ``folder`` on ``spark`` (default: :func:`session` on ``master``), with its
        kinds of work item (:func:`kinds_from_parquet`) for the stall limits."""
        spark = spark or session(master)
        return cls(log_from_parquet(folder, spark), kinds_from_parquet(folder, spark))

    def summary(self) -> dict[str, Any]:
        return log_summary(self.df)

    def dfg(self) -> pl.DataFrame:
        return directly_follows(self.df)

    def performance_dfg(self) -> pl.DataFrame:
        return performance_dfg(self.df)

    def variants(self) -> pl.DataFrame:
        return variants(self.df)

    def case_durations(self) -> pl.DataFrame:
        return case_durations(self.df)

    def handover(self, resource: str = "resource") -> pl.DataFrame:
        return handover(self.df, resource=resource)

    def seams(self) -> pl.DataFrame:
        """Team-to-team handovers (where work crosses a team boundary)."""
        return handover(self.df, resource="team")

    def stage_visits(self, design: Design) -> pl.DataFrame:
        return stage_visits(stage_events(self.df, design))

    def check(self, design: Design) -> pl.DataFrame:
        return check(self.df, design)

    def failure_counts(self, design: Design) -> pl.DataFrame:
        """Every failure type's occurrences and cases per stage (whole-log stall limits, per
        kind of work item where the lake names kinds)."""
        return failure_counts(self.df, design, kinds=self.kinds)

    def stall_limits(self, design: Design) -> pl.DataFrame:
        return stall_limits(self.df, design, kinds=self.kinds)
