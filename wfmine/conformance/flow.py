"""Control-flow conformance: how each case's stage sequence departs from the design.

A case's *stage sequence* is its list of stage visits (consecutive events of
one stage collapsed, unmapped events left out). Each move ``a -> b`` between
consecutive visits is allowed when the design lists it (staying in a stage is
always allowed).

**Out-of-place visits.** A visit is *out of place* when neither the move into
it nor the move out of it is allowed, but the move that skips it is: the case
would conform locally had the visit not happened (``review -> deploy -> qa``
when ``review -> qa`` is allowed: deploy came too early; a last visit after the
case reached an end stage, such as an approval given after the merge). Such a
visit is one deviation, like a log move in an alignment: ``out_of_order`` when
either of its moves goes backwards in the design, else ``repeated`` when its
stage was visited before, else ``unexpected``. The remaining visits are then
judged as below, as if the out-of-place visit had not happened. (Of two
adjacent out-of-place candidates the first is taken.)

**Moves.** A disallowed move ``a -> b`` between the remaining visits is, first
rule wins:

1. ``repeated``: it goes *backwards* (``b -> a`` is allowed, or ``b`` comes
   before ``a`` in the design order) to a stage visited before — rework the
   design does not sanction;
2. ``out_of_order``: it goes backwards to a stage not visited before;
3. ``skipped``: ``b`` is reachable from ``a`` along allowed transitions; one
   deviation per stage strictly between them on a shortest allowed path
   (``review -> deploy`` when the design says ``review -> qa -> deploy``
   skips ``qa``, also when ``deploy`` was visited before, e.g. a revert
   shipped without QA);
4. ``repeated``: ``b`` was visited before;
5. ``unexpected``: anything else.

A stage re-entered through an *allowed* move is ``repeated`` too unless the
loop since its previous visit is sanctioned, i.e. made only of allowed moves
(``build -> review -> build`` is a sanctioned rework loop;
``qa -> review -> qa`` is not when ``qa -> review`` is not allowed). That
re-entry is one more deviation, besides the disallowed move inside the loop.

Besides moves: ``missing_start`` (the first remaining visit is not a start
stage), ``missing_end`` (the last one is not an end stage — not reported for
*open* cases, whose work item is still open in its source system: they are
judged as a prefix of a conforming run) and, with ``unmapped: keep``,
``unmapped`` (one per event of a mapped source that no stage pattern matches;
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
from wfmine.stages import first_in_group, last_in_group, shift_in_group

__all__ = ["FLOW_CATEGORIES", "flow_deviations", "flow_fitness", "out_of_place"]

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


class _Moves:
    """The design's moves as lookup tables indexed by stage codes (file order).

    ``allowed``/``backward`` are indexed by ``a * n + b`` for the move ``a -> b``;
    ``start``/``end`` by a stage's code. Gathering from them is a plain array
    lookup per visit, no join over the log.
    """

    def __init__(self, design: Design) -> None:
        ids = design.stage_ids
        self.n = len(ids)
        self.codes = {s: i for i, s in enumerate(ids)}
        self.names = pl.Series(ids, dtype=pl.String)
        pairs = [(a, b) for a in ids for b in ids]
        self.allowed = pl.Series([p in design.allowed for p in pairs], dtype=pl.Boolean)
        self.backward = pl.Series(
            [(b, a) in design.allowed or design.order[b] < design.order[a] for a, b in pairs],
            dtype=pl.Boolean,
        )
        self.start = pl.Series([s in design.start_stages for s in ids], dtype=pl.Boolean)
        self.end = pl.Series([s in design.end_stages for s in ids], dtype=pl.Boolean)
        # the details of a re-entry through an unsanctioned loop (per stage) and of a
        # disallowed move (per move): strings read by code, not formatted per deviation
        self.reentered = pl.Series(
            [f"{s} re-entered through a loop the design does not allow" for s in ids],
            dtype=pl.String,
        )
        self.disallowed = pl.Series(
            [f"{a} -> {b} is not an allowed transition" for a, b in pairs], dtype=pl.String
        )

    def code(self, stage: str = "stage") -> pl.Expr:
        return pl.col(stage).replace_strict(self.codes, default=None, return_dtype=pl.Int64)

    def move(self, table: pl.Series, a: str, b: str) -> pl.Expr:
        return pl.lit(table).gather(pl.col(a) * self.n + pl.col(b))

    def of(self, table: pl.Series, a: str) -> pl.Expr:
        return pl.lit(table).gather(pl.col(a))

    def name(self, code: str) -> pl.Expr:
        return pl.lit(self.names).gather(pl.col(code))

    def seen_key(self, code: str) -> pl.Expr:
        """An integer per (case, stage), in a frame with :data:`CASE` (the case's run number)."""
        return pl.col(CASE).cast(pl.Int64) * (self.n + 1) + pl.col(code)


#: the number of a visit's case run (visits are grouped contiguously by case): the key of the
#: scans within a case, an integer comparison with the previous row, not one of case ids
CASE: Final = "_case"


def _previous_of_key(key: pl.Series, value: pl.Series) -> pl.Series:
    """Per row, ``value`` at the previous row with the same ``key`` (null: none before it).

    ``key`` and ``value`` have no nulls (stage codes of visits, running counts).
    """
    import numpy as np

    k, v = key.to_numpy(), value.to_numpy()
    order = np.argsort(k, kind="stable")
    ks, vs = k[order], v[order]
    found = np.zeros(k.size, dtype=bool)
    found[1:] = ks[1:] == ks[:-1]
    before = np.zeros(k.size, dtype=v.dtype)
    before[1:] = vs[:-1]
    out, has = np.empty_like(before), np.empty_like(found)
    out[order], has[order] = before, found
    return pl.Series(value.name, out).set(pl.Series(~has), None)


def out_of_place(
    visits: pl.DataFrame, design: Design, *, open_cases: pl.DataFrame | None = None
) -> pl.DataFrame:
    """``visits`` with ``displaced`` (the visit is out of place) and its ``_category``.

    See the module docstring. ``open_cases`` (``case_id``, ``open``) marks cases
    still open in their source system: their last visit need not be an end stage.
    Adds ``_c``/``_p``/``_n`` (stage codes of the visit, the previous and the
    next one), ``_seen``, ``_open`` and ``_case`` (:data:`CASE`) too.
    """
    mv = _Moves(design)
    open_ids = (
        open_cases.filter(pl.col("open").fill_null(False)).get_column("case_id")
        if open_cases is not None and "open" in open_cases.columns
        else pl.Series("case_id", [], dtype=pl.String)
    )
    v = visits.with_columns(
        mv.code().alias("_c"), first_in_group("case_id").cum_sum().alias(CASE)
    ).with_columns(
        shift_in_group(pl.col("_c"), CASE, 1).alias("_p"),
        shift_in_group(pl.col("_c"), CASE, -1).alias("_n"),
        (~mv.seen_key("_c").is_first_distinct()).alias("_seen"),
        # no open case (a standard log's): no lookup of every visit's case id
        (pl.col("case_id").is_in(open_ids.implode()) if open_ids.len() else pl.lit(False)).alias(
            "_open"
        ),
    )
    first, last = pl.col("_p").is_null(), pl.col("_n").is_null()
    in_ok = pl.when(first).then(mv.of(mv.start, "_c")).otherwise(mv.move(mv.allowed, "_p", "_c"))
    out_ok = (
        pl.when(last)
        .then(mv.of(mv.end, "_c") | pl.col("_open"))
        .otherwise(mv.move(mv.allowed, "_c", "_n"))
    )
    bridge = (
        pl.when(first & last)
        .then(pl.lit(False))
        .when(first)
        .then(mv.of(mv.start, "_n"))
        .when(last)
        .then(mv.of(mv.end, "_p"))
        .otherwise(mv.move(mv.allowed, "_p", "_n"))
    )
    v = v.with_columns((~in_ok & ~out_ok & bridge).fill_null(False).alias("_cand"))
    backward = mv.move(mv.backward, "_p", "_c").fill_null(False) | mv.move(
        mv.backward, "_c", "_n"
    ).fill_null(False)
    return v.with_columns(
        (pl.col("_cand") & ~shift_in_group(pl.col("_cand"), CASE, 1).fill_null(False)).alias(
            "displaced"
        ),
        pl.when(backward)
        .then(pl.lit("out_of_order"))
        .when(pl.col("_seen"))
        .then(pl.lit("repeated"))
        .otherwise(pl.lit("unexpected"))
        .alias("_category"),
    )


def flow_deviations(
    events: pl.DataFrame,
    visits: pl.DataFrame,
    design: Design,
    *,
    open_cases: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """Control-flow deviations (see the module docstring), one row each.

    ``events`` is :func:`wfmine.stages.stage_events`' frame and
    ``visits`` its :func:`~wfmine.stages.stage_visits`;
    ``open_cases`` (``case_id``, ``open``) marks cases still open in their
    source system (no ``missing_end`` for them).
    """
    mv = _Moves(design)
    marked = out_of_place(visits, design, open_cases=open_cases)
    displaced = marked.filter(pl.col("displaced")).with_columns(
        pl.col("_category").alias("category"),
        mv.name("_p").alias("from_stage"),
        pl.col("stage").alias("to_stage"),
        pl.format(
            "{} out of place in {} -> {} -> {}: the case conforms without it",
            "stage",
            mv.name("_p").fill_null("(start)"),
            "stage",
            mv.name("_n").fill_null("(end)"),
        ).alias("detail"),
    )
    # the columns read first, then the rows (a filter copies every column it passes on)
    kept = (
        marked.select(
            "case_id",
            "stage",
            "_c",
            "event_id",
            "start",
            "actor_id",
            "_open",
            "pos",
            CASE,
            "displaced",
        )
        .filter(~pl.col("displaced"))
        .drop("displaced")
    )
    bad_move = (~pl.col("allowed")).cast(pl.Int64)
    total = bad_move.cum_sum()
    moves = (
        kept.with_columns(
            shift_in_group(pl.col("_c"), CASE, 1).alias("_f"),
            mv.seen_key("_c").alias("_key"),
            pl.int_range(pl.len(), dtype=pl.Int64).alias("_i"),
        )
        .with_columns(
            (~pl.col("_key").is_first_distinct()).alias("seen_before"),
            # a case's first visit is no move
            mv.move(mv.allowed, "_f", "_c").fill_null(True).alias("allowed"),
            mv.move(mv.backward, "_f", "_c").fill_null(False).alias("backward"),
        )
        # disallowed moves so far in the case (a running sum restarted at each case)
        .with_columns(
            (
                total
                - pl.when(first_in_group(CASE))
                .then(total - bad_move)
                .otherwise(None)
                .forward_fill()
            ).alias("_bad")
        )
    )
    # _bad at the previous visit of the same stage: the visits put in (case, stage) order by
    # one stable integer argsort (rows of a key stay in row order), each row's predecessor
    # of its key read there and put back by the inverse permutation -- not two sorts of
    # the frame
    previous = _previous_of_key(moves.get_column("_key"), moves.get_column("_bad"))
    # disallowed moves since the previous visit of the same stage, this move excluded
    loop_bad = pl.col("_bad") - bad_move - previous
    seen, back = pl.col("seen_before"), pl.col("backward")
    bad = (
        moves.with_columns((~pl.col("allowed") | (seen & (loop_bad > 0))).alias("_is_bad"))
        .drop("_key", "_i", "_bad", "_open", CASE)
        .filter(pl.col("_is_bad"))
        .drop("_is_bad")
        .with_columns(
            mv.name("_f").alias("from_stage"),
            pl.col("stage").alias("to_stage"),
            # the stages a move skips, read from the pair table by the move's index (the pair
            # table's rows are the moves a -> b in the order a * n + b)
            mv.move(_pair_table(design).get_column("skips"), "_f", "_c").alias("skips"),
        )
        .with_columns(
            pl.when(pl.col("allowed"))
            .then(pl.lit("repeated"))  # re-entered through an unsanctioned loop
            .when(back & seen)
            .then(pl.lit("repeated"))
            .when(back)
            .then(pl.lit("out_of_order"))
            .when(pl.col("skips").is_not_null())
            .then(pl.lit("skipped"))
            .when(seen)
            .then(pl.lit("repeated"))
            .otherwise(pl.lit("unexpected"))
            .alias("category")
        )
    )
    skipped = (
        bad.filter(pl.col("category") == "skipped")
        .explode("skips")
        .with_columns(
            pl.col("skips").alias("stage"),
            pl.format("{} -> {} skips {}", "from_stage", "to_stage", "skips").alias("detail"),
        )
    )
    # to_stage is the visit's stage (code _c), from_stage the previous one's (code _f)
    other = bad.filter(pl.col("category") != "skipped").with_columns(
        pl.col("to_stage").alias("stage"),
        pl.when(pl.col("allowed"))
        .then(mv.of(mv.reentered, "_c"))
        .otherwise(mv.move(mv.disallowed, "_f", "_c"))
        .alias("detail"),
    )
    firsts = kept.filter(first_in_group(CASE))
    lasts = kept.filter(last_in_group(CASE) & ~pl.col("_open"))
    missing_start = firsts.filter(~mv.of(mv.start, "_c")).with_columns(
        pl.lit("missing_start").alias("category"),
        pl.lit(None, dtype=pl.String).alias("from_stage"),
        pl.col("stage").alias("to_stage"),
        pl.format("starts in {}, not in a start stage", "stage").alias("detail"),
    )
    missing_end = lasts.filter(~mv.of(mv.end, "_c")).with_columns(
        pl.lit("missing_end").alias("category"),
        pl.col("stage").alias("from_stage"),
        pl.lit(None, dtype=pl.String).alias("to_stage"),
        pl.format("ends in {}, not in an end stage", "stage").alias("detail"),
    )
    cols = [
        "case_id", "category", "stage", "from_stage", "to_stage",
        "event_id", "start", "actor_id", "detail", "pos",
    ]  # fmt: skip
    parts = [
        df.select(cols).rename({"start": "timestamp"})
        for df in (displaced, skipped, other, missing_start, missing_end)
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
        "pos",
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
