"""``wfmine discover --engine spark LAKE``: the discovery payload computed on Spark.

The CLI's ``discover`` command calls :func:`check_engine` for its
``--engine`` option and, for ``spark``, :func:`discover_lake`; the JSON keys
are those of the embedded ``wfmine discover --json`` (``log``,
``start_activities``, ``end_activities``, ``dfg``, ``variants``,
``busiest_edges``, ``slowest_waits``) plus ``engine`` and ``lake``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Final

from wfmine.errors import ConfigError
from wfmine.spark._engine import check_lake, check_master, log_from_parquet, session
from wfmine.spark.kernels import (
    directly_follows,
    end_activities,
    log_summary,
    start_activities,
    variants,
)

__all__ = ["ENGINES", "check_engine", "discover_lake", "render_text"]

#: the values ``--engine`` accepts
ENGINES: Final = ("embedded", "spark")


def check_engine(engine: str) -> str:
    """``engine`` if known, else a :class:`ConfigError` naming the engines (the CLI exits 2)."""
    if engine not in ENGINES:
        raise ConfigError(f"unknown engine {engine!r}: use one of {', '.join(ENGINES)}")
    return engine


def discover_lake(lake: Path, *, master: str | None = None, top: int = 10) -> dict[str, Any]:
    """The discover payload of the lake at ``lake`` (see :mod:`wfmine.lake`), computed on Spark.

    The session is the active one when there is one, else a new one on
    ``master`` (default ``$SPARK_MASTER`` or ``local[2]``).
    """
    check_lake(lake)  # before the JVM starts: a wrong path fails at once
    if master is not None:
        check_master(master)
    spark = session(master)
    df = log_from_parquet(lake, spark).cache()
    try:
        dfg = directly_follows(df)
        var = variants(df)
        slowest = dfg.sort(
            ["wait_median_s", "frequency", "source", "target"],
            descending=[True, True, False, False],
            nulls_last=True,
        )
        return {
            "engine": "spark",
            "lake": str(lake),
            "log": log_summary(df),
            "start_activities": start_activities(df),
            "end_activities": end_activities(df),
            "dfg": dfg.to_dicts(),
            "variants": var.to_dicts(),
            "busiest_edges": dfg.head(top).to_dicts(),
            "slowest_waits": slowest.head(top).to_dicts(),
        }
    finally:
        df.unpersist()


def render_text(payload: dict[str, Any], top: int = 10) -> str:
    """A plain-text summary of :func:`discover_lake`'s payload for the terminal."""
    log = payload["log"]
    lines = [
        f"{payload['lake']} (Spark): {log['cases']} cases, {log['events']} events, "
        f"{log['activities']} activities, {log['start']} .. {log['end']}",
        "",
        "Busiest steps (frequency, median wait in hours):",
    ]
    for edge in payload["busiest_edges"][:top]:
        median = edge["wait_median_s"]
        hours = f"{median / 3600:.1f}" if median is not None else "-"
        lines.append(f"  {edge['source']} -> {edge['target']}: {edge['frequency']}, {hours} h")
    lines.append("")
    lines.append("Variants (cases, coverage):")
    for row in payload["variants"][:top]:
        steps = " -> ".join(row["activities"])
        lines.append(f"  {row['cases']} ({row['coverage']:.1%}): {steps}")
    return "\n".join(lines)
