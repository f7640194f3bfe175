"""Performer conformance: who executed each stage, against who may.

A stage says ``performer: human | agent | either``. An event's performer kind
is ``agent`` when its actor is a sanctioned agent (the design's ``agents``
registry) or the log says ``bot``/``agent``, ``human`` when the log says so,
and for unknown actors whatever :func:`wfmine.conformance.check` is told
(a person by default). Deviations:

- ``agent_in_human_stage``: automation acting in a human-only stage;
- ``human_in_agent_stage``: a person acting in an agent-only stage;
- ``agent_out_of_stage``: a sanctioned agent acting in a stage its registry
  entry does not list (takes precedence over the two above: the registry is
  the more specific statement).

A sanctioned agent acting in a stage its entry lists is never a deviation.
"""

from __future__ import annotations

import polars as pl

from wfmine.design import Design

__all__ = ["performer_deviations"]


def performer_deviations(events: pl.DataFrame, design: Design) -> pl.DataFrame:
    """One row per event performed by a kind of performer its stage does not allow."""
    performer = {s.id: s.performer for s in design.stages}
    registry = pl.DataFrame(
        {
            "agent": [a.id for a in design.agents for _ in a.stages],
            "stage": [s for a in design.agents for s in a.stages],
        },
        schema={"agent": pl.String, "stage": pl.String},
    ).with_columns(pl.lit(True).alias("_listed"))
    restricted = [a.id for a in design.agents if a.stages]
    read = ["case_id", "stage", "agent", "kind", "actor_id", "resource", "activity"]
    events = events.select(*read, "event_id", "timestamp", "pos")  # the columns read
    if not restricted and not {"human", "agent"} & set(performer.values()):
        # every stage open to either performer and no agent held to stages: nothing deviates
        events = events.head(0)
    df = events.filter(pl.col("stage").is_in(list(performer))).with_columns(
        pl.col("stage").replace_strict(performer, return_dtype=pl.String).alias("performer")
    )
    df = df.join(registry, on=["agent", "stage"], how="left")
    out_of_stage = pl.col("agent").is_in(restricted) & pl.col("_listed").is_null()
    category = (
        pl.when(out_of_stage)
        .then(pl.lit("agent_out_of_stage"))
        .when(pl.col("_listed").is_not_null())
        .then(None)
        .when((pl.col("performer") == "human") & (pl.col("kind") == "agent"))
        .then(pl.lit("agent_in_human_stage"))
        .when((pl.col("performer") == "agent") & (pl.col("kind") == "human"))
        .then(pl.lit("human_in_agent_stage"))
        .otherwise(None)
    )
    df = df.with_columns(category.alias("category")).filter(pl.col("category").is_not_null())
    actor = pl.coalesce("agent", "actor_id", "resource")
    detail = (
        pl.when(pl.col("category") == "agent_out_of_stage")
        .then(pl.format("agent {} is not registered for stage {} ({})", actor, "stage", "activity"))
        .otherwise(
            pl.format("{} ({}) in a {}-only stage: {}", actor, "kind", "performer", "activity")
        )
    )
    return df.select(
        "case_id",
        "category",
        "stage",
        pl.lit(None, dtype=pl.String).alias("from_stage"),
        pl.lit(None, dtype=pl.String).alias("to_stage"),
        "event_id",
        "timestamp",
        "actor_id",
        detail.alias("detail"),
        pl.lit("performer").alias("aspect"),
        "pos",
    )
