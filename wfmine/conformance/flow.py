"""Control-flow conformance: how each case's stage sequence departs from the design.

A case's *stage sequence* is its list of stage visits (consecutive events of
one stage collapsed, unmapped events left out). Each move ``a -> b`` between
consecutive visits is allowed when the design lists it. A move the design does
not allow is classified, first rule wins:

1. ``repeated``: ``b`` was already visited in this case (a stage re-entered
   through a move the design does not allow);
2. ``out_of_order``: the reverse move ``b -> a`` is allowed, or ``b`` comes
   before ``a`` in the design's stage order;
3. ``skipped``: ``b`` is reachable from ``a`` along allowed transitions; one
   deviation per stage strictly between them on a shortest allowed path
   (``review -> deploy`` when the design says ``review -> qa -> deploy``
   skips ``qa``);
4. ``unexpected``: anything else.

A stage re-entered through an *allowed* move is ``repeated`` too unless the
loop since its previous visit is sanctioned, i.e. made only of allowed moves
(``build -> review -> build`` is a sanctioned rework loop;
``qa -> review -> qa`` is not when ``qa -> review`` is not allowed). That
re-entry is one more deviation, besides the disallowed move inside the loop.

Besides moves: ``missing_start`` (the first visit is not a start stage),
``missing_end`` (the last visit is not an end stage) and, with
``unmapped: keep``, ``unmapped`` (one per event no stage pattern matches;
informative, not counted in fitness).

Fitness of a case with ``m`` stage visits and ``d`` control-flow deviations
(every category above except ``unmapped``) is ``1 - d / (m + d)``: 1 for a
case the design allows, falling towards 0 as deviations outnumber visits —
the same shape as alignment fitness with unit costs, where each visit is a
synchronous move and each deviation one log or model move.
"""

from __future__ import annotations

from typing import Final

import polars as pl

from wfmine.design import Design

__all__ = ["FLOW_CATEGORIES", "flow_deviations", "flow_fitness"]

FLOW_CATEGORIES: Final = (
    "skipped",
    "out_of_order",
    "repeated",
    "unexpected",
    "missing_start",
    "missing_end",
)


def _pair_table(design: Design) -> pl.DataFrame:
    """Every ordered stage pair with what a move between them would be."""
    rows: dict[str, list[object]] = {
        "from_stage": [], "to_stage": [], "allowed": [], "backward": [], "skips": []
    }  # fmt: skip
    for a in design.stage_ids:
        for b in design.stage_ids:
            allowed = (a, b) in design.allowed
            backward = (b, a) in design.allowed or design.order[b] < design.order[a]
            path = None if allowed or backward else design.shortest_path(a, b)
            rows["from_stage"].append(a)
            rows["to_stage"].append(b)
            rows["allowed"].append(allowed)
            rows["backward"].append(backward)
            rows["skips"].append(path)
    return pl.DataFrame(
        rows,
        schema={
            "from_stage": pl.String,
            "to_stage": pl.String,
            "allowed": pl.Boolean,
            "backward": pl.Boolean,
            "skips": pl.List(pl.String),
        },
    )


def flow_deviations(events: pl.DataFrame, visits: pl.DataFrame, design: Design) -> pl.DataFrame:
    """Control-flow deviations (see the module docstring), one row each.

    ``events`` is :func:`wfmine.conformance._stages.prepare`'s frame and
    ``visits`` its :func:`~wfmine.conformance._stages.stage_visits`.
    """
    moves = visits.with_columns(
        pl.col("stage").shift(1).over("case_id").alias("from_stage"),
        (pl.int_range(pl.len()).over("case_id", "stage") > 0).alias("seen_before"),
    )
    moves = (
        moves.rename({"stage": "to_stage"})
        .join(_pair_table(design), on=["from_stage", "to_stage"], how="left", maintain_order="left")
        .with_columns(pl.col("allowed").fill_null(True))  # a case's first visit is no move
        .with_columns((~pl.col("allowed")).cast(pl.Int64).cum_sum().over("case_id").alias("_bad"))
        .with_columns(
            # disallowed moves since the previous visit of the same stage, this move excluded
            (
                pl.col("_bad")
                - (~pl.col("allowed")).cast(pl.Int64)
                - pl.col("_bad").shift(1).over("case_id", "to_stage")
            ).alias("_loop_bad")
        )
    )
    bad = moves.filter(
        ~pl.col("allowed") | (pl.col("seen_before") & (pl.col("_loop_bad") > 0))
    ).with_columns(
        pl.when(pl.col("seen_before"))
        .then(pl.lit("repeated"))
        .when(pl.col("backward"))
        .then(pl.lit("out_of_order"))
        .when(pl.col("skips").is_not_null())
        .then(pl.lit("skipped"))
        .otherwise(pl.lit("unexpected"))
        .alias("category")
    )
    skipped = (
        bad.filter(pl.col("category") == "skipped")
        .explode("skips")
        .with_columns(
            pl.col("skips").alias("stage"),
            pl.format("{} -> {} skips {}", "from_stage", "to_stage", "skips").alias("detail"),
        )
    )
    other = bad.filter(pl.col("category") != "skipped").with_columns(
        pl.col("to_stage").alias("stage"),
        pl.when(pl.col("allowed"))
        .then(pl.format("{} re-entered through a loop the design does not allow", "to_stage"))
        .otherwise(pl.format("{} -> {} is not an allowed transition", "from_stage", "to_stage"))
        .alias("detail"),
    )
    firsts = visits.filter(pl.col("visit") == 1)
    lasts = visits.filter(pl.col("visit") == pl.col("visit").max().over("case_id"))
    missing_start = firsts.filter(~pl.col("stage").is_in(list(design.start_stages))).with_columns(
        pl.lit("missing_start").alias("category"),
        pl.lit(None, dtype=pl.String).alias("from_stage"),
        pl.col("stage").alias("to_stage"),
        pl.format("starts in {}, not in a start stage", "stage").alias("detail"),
    )
    missing_end = lasts.filter(~pl.col("stage").is_in(list(design.end_stages))).with_columns(
        pl.lit("missing_end").alias("category"),
        pl.col("stage").alias("from_stage"),
        pl.lit(None, dtype=pl.String).alias("to_stage"),
        pl.format("ends in {}, not in an end stage", "stage").alias("detail"),
    )
    cols = [
        "case_id", "category", "stage", "from_stage", "to_stage",
        "event_id", "start", "actor_id", "detail",
    ]  # fmt: skip
    parts = [
        df.select(cols).rename({"start": "timestamp"})
        for df in (skipped, other, missing_start, missing_end)
    ]
    unmapped = events.filter(pl.col("stage") == "other").select(
        "case_id",
        pl.lit("unmapped").alias("category"),
        pl.lit(None, dtype=pl.String).alias("stage"),
        pl.lit(None, dtype=pl.String).alias("from_stage"),
        pl.lit(None, dtype=pl.String).alias("to_stage"),
        "event_id",
        "timestamp",
        "actor_id",
        pl.format("{}:{} matches no stage", "source", "activity").alias("detail"),
    )
    out = pl.concat([*parts, unmapped], how="vertical_relaxed")
    return out.with_columns(pl.lit("flow").alias("aspect"))


def flow_fitness(visits: pl.DataFrame, deviations: pl.DataFrame) -> pl.DataFrame:
    """Per-case ``visits``, ``flow_deviations`` and ``fitness = 1 - d / (m + d)``.

    ``deviations`` should already have the design's ``allow`` rules applied,
    so accepted deviations do not lower fitness.
    """
    m = visits.group_by("case_id").agg(pl.len().cast(pl.Int64).alias("visits"))
    d = (
        deviations.filter(pl.col("category").is_in(list(FLOW_CATEGORIES)))
        .group_by("case_id")
        .agg(pl.len().cast(pl.Int64).alias("flow_deviations"))
    )
    out = m.join(d, on="case_id", how="left").with_columns(pl.col("flow_deviations").fill_null(0))
    return out.with_columns(
        (1.0 - pl.col("flow_deviations") / (pl.col("visits") + pl.col("flow_deviations"))).alias(
            "fitness"
        )
    )
