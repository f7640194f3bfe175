"""Stall limits: how long a stage visit may sit idle before the work counts as stuck.

One definition, read by the failure detectors (``stall``, ``abandoned``),
the seams, governance and the Spark engine: where the design gives a stage
an expected time, that is the limit; where it is silent, a statistical limit
from the stage's finished visits (:func:`stall_limits`), per project where
the log has several, and per kind of work item (issue type, priority:
:func:`work_item_kinds`) where the kinds' usual times at the stage are far
apart. Visit times are counted on weekdays (:func:`weekday_seconds`) -- work
waiting over a weekend is not stuck.
"""

from __future__ import annotations

import math
from typing import Final

import polars as pl

from wfmine.design import Design
from wfmine.findings._events import PROJECT
from wfmine.model import KIND_ATTRIBUTES, work_item_kinds
from wfmine.stages import shift_in_group

__all__ = [
    "EXPECTED_BASIS",
    "FENCE_BASIS",
    "FINISHED",
    "KIND_AGGREGATES",
    "KIND_ATTRIBUTES",
    "KIND_BASIS",
    "KIND_GROUP_KEY",
    "KIND_GROUP_SCHEMA",
    "KIND_KEY",
    "LIMIT_AGGREGATES",
    "MIN_VISITS",
    "PROJECT_BASIS",
    "SMALL_BASIS",
    "STALL_FACTOR",
    "WEEKDAYS_NOTE",
    "kind_aggregates",
    "kind_groups",
    "kind_limits",
    "kind_rows",
    "kind_visits",
    "limit_aggregates",
    "limit_of",
    "limits_of_aggregates",
    "split_scope",
    "stall_limits",
    "visit_durations",
    "weekday_seconds",
    "with_kind_limits",
    "work_item_kinds",
]

#: fallback stall limit (x median visit) when a stage has too few visits for a fence
STALL_FACTOR: Final = 3.0
#: Tukey's fence multiplier on the IQR of log visit durations
FENCE_IQR: Final = 1.5
#: the statistical limit never exceeds this x the p90 visit (a mixture of fast and
#: slow visits widens the IQR without bound)
P90_CAP: Final = 4.0
#: ... and is never below this x the median visit, nor below ``MIN_LIMIT_S``
MEDIAN_FLOOR: Final = 2.0
MIN_LIMIT_S: Final = 3600.0
#: visits of a stage needed to estimate its fence
MIN_VISITS: Final = 10
#: the ``basis`` of a stall limit that is the design's expected time (calendar time)
EXPECTED_BASIS: Final = "the design's expected time"
#: how the ``basis`` of a statistical stall limit says it counts weekdays only
WEEKDAYS_NOTE: Final = "on weekdays"
#: the ``basis`` of a statistical limit set by the fence (``MIN_VISITS`` visits or more)
FENCE_BASIS: Final = (
    "Q3 + 1.5 IQR of log visit durations, all or the slower half (within 2x median .. 4x p90, "
    f">= 1 h), {WEEKDAYS_NOTE}"
)
#: ... and with fewer visits (``{}``: the factor)
SMALL_BASIS: Final = "{} x median visit (>= 1 h), " + WEEKDAYS_NOTE
#: ... and one project's own limit adds
PROJECT_BASIS: Final = ", of the project's own visits"
#: ... and one kind's own limit adds (``{value}``, ``{label}``: the kind and its attribute)
KIND_BASIS: Final = ", of its {value} items only (the {label}s' usual times here are far apart)"
#: kinds are far apart when the middle halves of their visits do not overlap and their
#: medians are more than ``MEDIAN_FLOOR`` x apart (log scale)
KIND_APART_LOG: Final = math.log(MEDIAN_FLOOR)


def weekday_seconds(start: pl.Expr, end: pl.Expr) -> pl.Expr:
    """Seconds of ``[start, end)`` that fall on a weekday (Monday to Friday, UTC).

    Work waits over a weekend without being stuck: for a stage worked in
    hours, most of the spread of its calendar times is nights and weekends.
    """
    cal = (end - start).dt.total_seconds(fractional=True)
    d0, d1 = start.dt.date(), end.dt.date()
    weekend_days = (d1 - d0).dt.total_days() - pl.business_day_count(d0, d1)
    into_day = (start - start.dt.truncate("1d")).dt.total_seconds(fractional=True)
    into_end = (end - end.dt.truncate("1d")).dt.total_seconds(fractional=True)
    weekend_s = (
        86400.0 * weekend_days
        - pl.when(start.dt.weekday() >= 6).then(into_day).otherwise(0.0)
        + pl.when(end.dt.weekday() >= 6).then(into_end).otherwise(0.0)
    )
    return cal - weekend_s


#: true on the rows of :func:`wfmine.stages.stage_visits` that :func:`visit_durations` keeps:
#: the visits a next visit of their case follows
FINISHED: Final = shift_in_group(pl.col("start"), "case_id", -1).is_not_null()


def visit_durations(visits: pl.DataFrame, design: Design | None) -> pl.DataFrame:
    """Finished visits with ``_dur`` (seconds), ``_wdur`` (of them, the seconds on weekdays:
    :func:`weekday_seconds`) and ``_until`` (when the visit ended).

    A visit lasts until the case's next visit starts -- the waiting belongs
    to the stage the work sits in. In an *end* stage the case is finished, so
    the visit lasts only as long as its own events: the quiet time before a
    later reopen is not time spent in that stage. A case's last visit is not
    finished (it may still be going on): see ``abandoned``.
    """
    ends = list(design.end_stages) if design is not None else []
    nxt = shift_in_group(pl.col("start"), "case_id", -1)
    until = pl.when(pl.col("stage").is_in(ends)).then(pl.col("last")).otherwise(nxt)
    return (
        visits.with_columns(nxt.alias("next_start"), until.alias("_until"))
        .filter(pl.col("next_start").is_not_null())  # FINISHED, read from the column
        .with_columns(
            (pl.col("_until") - pl.col("start")).dt.total_seconds(fractional=True).alias("_dur"),
            weekday_seconds(pl.col("start"), pl.col("_until")).alias("_wdur"),
        )
    )


#: the figures of a group's visits a statistical limit is made of (:func:`limit_aggregates`)
LIMIT_AGGREGATES: Final = ("visits", "q1", "q3", "s1", "s3", "median", "p90")


def limit_aggregates(d: pl.DataFrame, by: list[str]) -> pl.DataFrame:
    """Per group ``by`` of the finished visits ``d`` (:func:`visit_durations`), the figures
    a statistical limit is made of (:data:`LIMIT_AGGREGATES`, weekday seconds): ``visits``;
    ``q1``, ``q3``: quartiles of the log durations (durations below 1 s count as 1 s);
    ``s1``, ``s3``: the same of the slower half (duration >= the median); ``median``,
    ``p90`` of the durations. Quantiles interpolate linearly (position ``(n - 1) q``), as
    Spark's exact ``percentile`` does: the Spark engine computes the same figures on its
    executors and composes the limit with :func:`limits_of_aggregates`.
    """
    dur = pl.col("_wdur")
    log_dur = dur.clip(lower_bound=1.0).log()
    # the same fence on the slower half of the visits: with a hump of fast visits (moved
    # straight through) and one of real work, the full IQR spans both humps
    slow = log_dur.filter(dur >= dur.median())
    return d.group_by(by).agg(
        pl.len().alias("visits"),
        log_dur.quantile(0.25, interpolation="linear").alias("q1"),
        log_dur.quantile(0.75, interpolation="linear").alias("q3"),
        slow.quantile(0.25, interpolation="linear").alias("s1"),
        slow.quantile(0.75, interpolation="linear").alias("s3"),
        dur.median().alias("median"),
        dur.quantile(0.9, interpolation="linear").alias("p90"),
    )


def _compose(per: pl.DataFrame, factor: float) -> pl.DataFrame:
    """:func:`limit_aggregates` rows with the statistical limit ``_stat`` and its ``_basis``."""
    q1, q3, s1, s3 = (pl.col(c) for c in ("q1", "q3", "s1", "s3"))
    fence = pl.min_horizontal(q3 + FENCE_IQR * (q3 - q1), s3 + FENCE_IQR * (s3 - s1)).exp()
    use_fence = pl.col("visits") >= MIN_VISITS
    raw = pl.when(use_fence).then(fence).otherwise(factor * pl.col("median"))
    statistical = pl.max_horizontal(
        pl.min_horizontal(raw, P90_CAP * pl.col("p90")),
        MEDIAN_FLOOR * pl.col("median"),
        pl.lit(MIN_LIMIT_S),
    )
    basis = (
        pl.when(use_fence)
        .then(pl.lit(FENCE_BASIS))
        .otherwise(pl.format(SMALL_BASIS, pl.lit(factor)))
    )
    return per.with_columns(statistical.alias("_stat"), basis.alias("_basis"))


def _limit_stats(d: pl.DataFrame, by: list[str], factor: float) -> pl.DataFrame:
    """The statistical stall limit (weekday seconds) of the visits ``d`` per group ``by``."""
    return _compose(limit_aggregates(d, by), factor)


def _limit_schema(per_project: bool) -> dict[str, pl.DataType | type[pl.DataType]]:
    """The columns of :func:`stall_limits` (``scope`` only ``per_project``)."""
    schema: dict[str, pl.DataType | type[pl.DataType]] = {
        "stage": pl.String, "scope": pl.String, "visits": pl.UInt32, "limit_s": pl.Float64,
        "basis": pl.String,
    }  # fmt: skip
    if not per_project:
        schema.pop("scope")
    return schema


def limits_of_aggregates(
    pooled: pl.DataFrame,
    scoped: pl.DataFrame | None,
    design: Design | None,
    *,
    factor: float = STALL_FACTOR,
    per_project: bool = False,
) -> pl.DataFrame:
    """:func:`stall_limits` (without kinds) from the figures of the visits.

    ``pooled``: :func:`limit_aggregates` of every finished visit by ``stage``;
    ``scoped``: of the visits of stages the design gives no expected time, by
    ``stage`` and ``scope`` (the project), or ``None`` where the log has fewer
    than two projects. The embedded engine computes both with polars; the
    Spark engine on its executors (so no visit reaches its driver).
    """
    schema = _limit_schema(per_project)
    expected: dict[str, float] = {}
    if design is not None:
        expected = {
            s.id: s.expected.total_seconds() for s in design.stages if s.expected is not None
        }
    exp_s = pl.col("stage").replace_strict(expected, default=None, return_dtype=pl.Float64)
    rows = _compose(pooled, factor).select(
        "stage",
        *([pl.lit(None, dtype=pl.String).alias("scope")] if per_project else []),
        pl.col("visits").cast(pl.UInt32),
        pl.coalesce(exp_s, pl.col("_stat")).alias("limit_s"),
        pl.when(exp_s.is_not_null())
        .then(pl.lit(EXPECTED_BASIS))
        .otherwise(pl.col("_basis"))
        .alias("basis"),
    )
    parts = [rows.cast(schema)]  # type: ignore[arg-type]
    if per_project and scoped is not None:
        per_scope = (
            _compose(scoped, factor)
            .filter(pl.col("visits") >= MIN_VISITS)
            .select(
                "stage",
                "scope",
                pl.col("visits").cast(pl.UInt32),
                pl.col("_stat").alias("limit_s"),
                (pl.col("_basis") + pl.lit(PROJECT_BASIS)).alias("basis"),
            )
        )
        parts.append(per_scope.cast(schema))  # type: ignore[arg-type]
    order = ["stage", "scope"] if per_project else ["stage"]
    return pl.concat(parts).sort(order, nulls_last=False)


def _words(values: list[str]) -> str:
    return values[0] if len(values) == 1 else ", ".join(values[:-1]) + " and " + values[-1]


#: a kind of work item at a stage: the (stage, scope) and the attribute's value
KIND_KEY: Final = ("stage", "scope", "_attr", "_value")
#: a group of kinds with a limit of its own (``_group``: 0 the fastest)
KIND_GROUP_KEY: Final = ("stage", "scope", "_attr", "_group")
#: the figures of a kind's visits :func:`kind_groups` decides on (:func:`kind_aggregates`)
KIND_AGGREGATES: Final = ("_n", "_q1", "_q3", "_med", "_m", "_ss")
#: the rows :func:`kind_groups` returns
KIND_GROUP_SCHEMA: Final = pl.Schema(
    {"stage": pl.String(), "scope": pl.String(), "_attr": pl.String(), "_value": pl.String(),
     "_group": pl.UInt32()}
)  # fmt: skip


def split_scope(statistical: pl.DataFrame, own: pl.DataFrame) -> pl.DataFrame:
    """The statistical stages' finished visits with ``scope``: their project where it has a
    limit of its own at the stage (``own``: ``stage, scope`` rows), else null (the stage's
    pool) -- the visits a stage's kinds are split within."""
    in_own = statistical.with_columns(PROJECT.alias("scope")).join(
        own, on=["stage", "scope"], how="semi"
    )
    rest = statistical.join(in_own, on=["case_id", "visit"], how="anti").with_columns(
        pl.lit(None, dtype=pl.String).alias("scope")
    )
    return pl.concat([in_own, rest])


def kind_visits(d: pl.DataFrame, kinds: pl.DataFrame) -> pl.DataFrame:
    """``stage, scope, _attr, _value, _wdur``: each visit of :func:`split_scope` once per
    :data:`KIND_ATTRIBUTES` its case's kind names (a value, never null)."""
    attrs = [a for a in KIND_ATTRIBUTES if a in kinds.columns]
    d = d.select("case_id", "stage", "scope", "_wdur").join(
        kinds.select("case_id", *attrs), on="case_id", how="left"
    )
    return pl.concat(
        [d.select("stage", "scope", pl.lit(a).alias("_attr"), pl.col(a).alias("_value"), "_wdur")
         for a in attrs]
    ).filter(pl.col("_value").is_not_null())  # fmt: skip


def kind_aggregates(long: pl.DataFrame) -> pl.DataFrame:
    """Per kind (:data:`KIND_KEY`) of :func:`kind_visits`, the figures of its log visit
    durations :func:`kind_groups` decides on (:data:`KIND_AGGREGATES`): ``_n`` visits,
    quartiles ``_q1``, ``_q3`` and median ``_med`` (linear interpolation), mean ``_m`` and
    the sum of squares about it ``_ss``. The Spark engine computes the same on its executors.
    """
    log = pl.col("_wdur").clip(lower_bound=1.0).log()
    return long.group_by(list(KIND_KEY)).agg(
        pl.len().alias("_n"),
        log.quantile(0.25, interpolation="linear").alias("_q1"),
        log.quantile(0.75, interpolation="linear").alias("_q3"),
        log.median().alias("_med"),
        log.mean().alias("_m"),
        ((log - log.mean()) ** 2).sum().alias("_ss"),
    )


def kind_groups(per: pl.DataFrame) -> pl.DataFrame:
    """Per (stage, scope) whose visits split by a work-item attribute: each of its kinds
    (``_attr``, ``_value``) with its group (``_group``: 0 the fastest), from the kinds'
    figures (:func:`kind_aggregates`; :data:`KIND_GROUP_SCHEMA`).

    Per attribute, the kinds with at least ``MIN_VISITS`` visits, in order of
    their median log duration: a kind starts a new, slower group when the
    middle half of its visits (lower to upper quartile) lies above the
    middle halves of all faster kinds and its median is more than
    ``MEDIAN_FLOOR`` x the next faster kind's (closer than that, the limit's
    own floor already spans both); other kinds join the group before them.
    The visits split when there are two groups or more; of the attributes
    that split them, the one whose kinds explain the largest share of the
    variance of log durations (eta squared) is kept.
    """
    key = pl.concat_str([pl.col("stage"), pl.col("scope").fill_null("")], separator="\x00")
    within = ["_attr", "_key"]
    per = (
        per.filter(pl.col("_n") >= MIN_VISITS)
        .with_columns(key.alias("_key"))
        .sort("_attr", "_key", "_med", "_value")
    )
    faster_q3 = pl.col("_q3").cum_max().shift(1).over(within)
    faster_med = pl.col("_med").shift(1).over(within)
    apart = (pl.col("_q1") > faster_q3) & (pl.col("_med") > faster_med + KIND_APART_LOG)
    per = per.with_columns(
        apart.fill_null(False).cum_sum().over(within).alias("_group"),
        ((pl.col("_n") * pl.col("_m")).sum() / pl.col("_n").sum()).over(within).alias("_gm"),
    )
    between = (pl.col("_n") * (pl.col("_m") - pl.col("_gm")) ** 2).sum()
    split = (
        per.group_by(within)
        .agg(
            pl.col("_group").max().alias("_top"),
            (between / (between + pl.col("_ss").sum())).alias("_share"),
        )
        .filter(pl.col("_top") >= 1)
    )
    found = per.join(split, on=within, how="inner")
    best = (
        found.select("_key", "_attr", "_share")
        .unique()
        .sort("_share", "_attr", descending=[True, False])
        .unique("_key", keep="first", maintain_order=True)
    )
    kept = found.join(best.select("_key", "_attr"), on=["_key", "_attr"], how="semi")
    return kept.select(KIND_GROUP_SCHEMA.names()).cast(KIND_GROUP_SCHEMA)  # type: ignore[arg-type]


def kind_rows(stats: pl.DataFrame, groups: pl.DataFrame, factor: float) -> pl.DataFrame:
    """The limit of each group of kinds (:func:`kind_groups`): :data:`KIND_GROUP_KEY`,
    ``kind`` (``type=Story,Task``), ``visits``, ``limit_s``, ``basis``.

    ``stats``: :func:`limit_aggregates` of the visits of each group's kinds
    (:func:`kind_visits` joined with ``groups``) by :data:`KIND_GROUP_KEY`:
    each group's limit is set from its own visits alone, by the same
    statistics as every statistical limit. Which cases a row judges is not
    here: :func:`kind_limits` adds them.
    """
    keys = list(KIND_GROUP_KEY)
    names = groups.sort("_value").group_by(keys).agg(pl.col("_value").alias("_values"))
    stats = _compose(stats, factor).join(names, on=keys, how="inner", nulls_equal=True)
    return stats.select(
        *keys,
        pl.format("{}={}", "_attr", pl.col("_values").list.join(",")).alias("kind"),
        pl.col("visits").cast(pl.UInt32),
        pl.col("_stat").alias("limit_s"),
        (
            pl.col("_basis")
            + pl.when(pl.col("scope").is_not_null())
            .then(pl.lit(PROJECT_BASIS))
            .otherwise(pl.lit(""))
            + pl.struct("_attr", "_values").map_elements(
                lambda r: KIND_BASIS.format(
                    value=_words(r["_values"]), label=KIND_ATTRIBUTES[r["_attr"]]
                ),
                return_dtype=pl.String,
            )
        ).alias("basis"),
    )


def kind_limits(
    rows: pl.DataFrame, groups: pl.DataFrame, kinds: pl.DataFrame | None, own: pl.DataFrame
) -> pl.DataFrame:
    """:func:`kind_rows` with ``cases``: every case of ``kinds`` (:func:`work_item_kinds`)
    of the row's kinds in its scope -- the project's, or (scope null) those of the projects
    without a limit of their own at the stage (``own``: ``stage, scope``) -- which
    :func:`limit_of` reads. ``kinds`` may be a part of the log's (the Spark engine's
    buckets pass each their own cases'); ``None``: every ``cases`` is empty.
    """
    keys = list(KIND_GROUP_KEY)
    members = pl.DataFrame(schema={**dict(rows.select(keys).schema), "case_id": pl.String()})
    if kinds is not None:
        attrs = [a for a in KIND_ATTRIBUTES if a in kinds.columns]
        cases = pl.concat(
            [kinds.select("case_id", PROJECT.alias("_project"), pl.lit(a).alias("_attr"),
                          pl.col(a).alias("_value")) for a in attrs]
        ).filter(pl.col("_value").is_not_null())  # fmt: skip
        in_project = groups.filter(pl.col("scope").is_not_null()).join(
            cases, left_on=["scope", "_attr", "_value"], right_on=["_project", "_attr", "_value"]
        )
        pooled = groups.filter(pl.col("scope").is_null()).join(cases, on=["_attr", "_value"])
        pooled = pooled.join(
            own.rename({"scope": "_project"}), on=["stage", "_project"], how="anti"
        ).drop("_project")
        members = pl.concat(
            [in_project.select(*keys, "case_id"), pooled.select(*keys, "case_id")]
        ).cast(members.schema)  # type: ignore[arg-type]
    lists = members.group_by(keys).agg(pl.col("case_id").unique().sort().alias("cases"))
    return rows.join(lists, on=keys, how="left", nulls_equal=True).select(
        "stage",
        "scope",
        "kind",
        "visits",
        "limit_s",
        "basis",
        pl.col("cases").fill_null(pl.lit([], dtype=pl.List(pl.String))),
    )


def _kind_limits(
    d: pl.DataFrame, kinds: pl.DataFrame, factor: float, own: pl.DataFrame
) -> pl.DataFrame:
    """The limits of the groups of kinds of work item whose usual times at a stage are apart.

    ``d``: the statistical stages' finished visits with ``scope``
    (:func:`split_scope`). Where :func:`kind_groups` splits a (stage, scope),
    each group of kinds gets a limit from its own visits alone
    (:func:`kind_rows`) and names its cases (:func:`kind_limits`).
    """
    long = kind_visits(d, kinds)
    groups = kind_groups(kind_aggregates(long))
    if groups.height == 0:
        return pl.DataFrame()
    grouped = long.join(groups, on=list(KIND_KEY), how="inner", nulls_equal=True)
    stats = limit_aggregates(grouped, list(KIND_GROUP_KEY))
    return kind_limits(kind_rows(stats, groups, factor), groups, kinds, own)


def stall_limits(
    visits: pl.DataFrame,
    design: Design | None,
    *,
    factor: float = STALL_FACTOR,
    per_project: bool = False,
    kinds: pl.DataFrame | None = None,
    finished: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """Stall limits per stage: ``stage``, ``visits``, ``limit_s`` and ``basis`` (how it was set).

    ``visits`` are :func:`wfmine.stages.stage_visits` rows. Where the design
    gives the stage an expected time, that is the limit. Where it is silent
    the limit is statistical, from the finished visits' time on weekdays
    (:func:`weekday_seconds`; the idle spells it is compared with are counted
    the same way -- work waiting over a weekend is not stuck, and for a stage
    worked in hours the weekends would otherwise be most of the spread, pushing
    the limit far above any real stall): Tukey's upper fence
    exp(Q3 + 1.5 x IQR) of the log visit durations (visit times are
    right-skewed) -- of all visits or of the slower half, whichever is lower
    (a hump of visits moved straight through widens the IQR of all) -- with at
    least ``MIN_VISITS`` visits, else ``factor`` x the median; capped at
    ``P90_CAP`` x the p90 visit (a mixture of fast and slow visits has an
    unbounded IQR) and never below ``MEDIAN_FLOOR`` x the median nor
    ``MIN_LIMIT_S`` (visits that all take the same time have no spread: a
    visit just over it is no stall).

    ``per_project``: add a ``scope`` column (null on the rows above: the limit
    of all the stage's visits) and, where the design is silent, a statistical
    limit per project (the case's, :data:`wfmine.findings._events.PROJECT`)
    for each project with at least ``MIN_VISITS`` finished visits of the
    stage, when the log has two projects or more: a stage worked at different
    paces in different projects (hours in one, days in another) has a
    different usual time in each, and one limit pooled over both is blind to
    stalls in the fast one.

    ``kinds`` (:func:`work_item_kinds`: per case its issue type and
    priority): add ``kind`` and ``cases`` columns (null on the rows above)
    and, where the design is silent, a limit per group of kinds of work item
    whose usual times at the stage are far apart, within the project where
    it has its own limit, else within the stage's visits (:func:`kind_groups`:
    each kind with at least ``MIN_VISITS`` visits; the middle halves of two
    groups' visits do not overlap and their medians are more than
    ``MEDIAN_FLOOR`` x apart). One team re-testing bug fixes in an hour and
    testing stories over days has two usual times in one project, and one
    limit over both is blind to a bug stuck for a week (or too tight for
    the stories). Each group's limit is set from its own visits alone, by
    the same statistics; ``kind`` names it (``type=Story,Task``), ``cases``
    lists every case of its kinds in its scope. Kinds with fewer visits keep
    the project's (or stage's) limit. :func:`limit_of` picks a visit's
    limit: its kind's, else its project's, else the stage's.

    ``finished``: :func:`visit_durations` of ``visits``, when the caller has it.
    """
    schema = _limit_schema(per_project)
    expected: list[str] = []
    if design is not None:
        expected = [s.id for s in design.stages if s.expected is not None]
    d = visit_durations(visits, design) if finished is None else finished
    if d.height == 0:
        return pl.DataFrame(schema=schema)
    statistical = d.filter(~pl.col("stage").is_in(expected))
    scoped = statistical.with_columns(PROJECT.alias("scope")).filter(pl.col("scope").is_not_null())
    several = per_project and scoped.get_column("scope").n_unique() >= 2
    limits = limits_of_aggregates(
        limit_aggregates(d, ["stage"]),
        limit_aggregates(scoped, ["stage", "scope"]) if several else None,
        design,
        factor=factor,
        per_project=per_project,
    )
    if kinds is None:
        return limits
    # a visit is split with the others of its project where the project has its own limit at
    # the stage, else with the rest of the stage's
    own = (
        limits.filter(pl.col("scope").is_not_null()).select("stage", "scope")
        if several
        else pl.DataFrame(schema={"stage": pl.String, "scope": pl.String})
    )
    by_kind = _kind_limits(split_scope(statistical, own), kinds, factor, own)
    return with_kind_limits(limits, by_kind, per_project=per_project)


def with_kind_limits(
    limits: pl.DataFrame, by_kind: pl.DataFrame | None, *, per_project: bool
) -> pl.DataFrame:
    """:func:`stall_limits` with kinds: ``limits`` (:func:`limits_of_aggregates`) with ``kind``
    and ``cases`` (null on them), and after them the kinds' own (:func:`kind_limits`; ``None``
    or empty: no kinds split), in order."""
    schema = _limit_schema(per_project) | {"kind": pl.String, "cases": pl.List(pl.String)}
    none = [
        pl.lit(None, dtype=pl.String).alias("kind"),
        pl.lit(None, dtype=pl.List(pl.String)).alias("cases"),
    ]
    parts = [limits.with_columns(none)]
    if by_kind is not None and by_kind.height:
        if not per_project:
            by_kind = by_kind.drop("scope")
        parts.append(by_kind.cast(schema))  # type: ignore[arg-type]
    order = ["stage", "scope", "kind"] if per_project else ["stage", "kind"]
    return pl.concat([p.select(list(schema)) for p in parts]).sort(order, nulls_last=False)


def limit_of(frame: pl.DataFrame, limits: pl.DataFrame, stage: str = "stage") -> pl.DataFrame:
    """``frame`` (``case_id`` and a ``stage`` column) with ``limit_s``: the stall limit of its
    kind of work item at the stage where :func:`stall_limits` set one (a row with ``kind``
    whose ``cases`` name the case), else of its project's visits of the stage, else the
    stage's.

    Adds ``weekdays``: the limit is statistical, counted on weekdays (the
    design's expected time is calendar time). Rows of stages without a limit
    are dropped. ``limits`` without a ``scope`` column (one limit per stage)
    is read as pooled limits.
    """
    if "scope" not in limits.columns:
        limits = limits.with_columns(pl.lit(None, dtype=pl.String).alias("scope"))
    if "weekdays" not in limits.columns:
        # limits set before they were counted on weekdays say so by their basis
        weekdays = (
            pl.col("basis").fill_null("").str.contains(WEEKDAYS_NOTE, literal=True)
            if "basis" in limits.columns
            else pl.lit(False)
        )
        limits = limits.with_columns(weekdays.alias("weekdays"))
    by_kind = pl.DataFrame(
        schema={stage: pl.String, "case_id": pl.String, "_kl": pl.Float64, "_kw": pl.Boolean}
    )
    if "kind" in limits.columns:
        kinds = limits.filter(pl.col("kind").is_not_null())
        limits = limits.filter(pl.col("kind").is_null())
        if kinds.height:
            by_kind = (
                kinds.select(
                    pl.col("stage").alias(stage),
                    pl.col("cases").alias("case_id"),
                    pl.col("limit_s").alias("_kl"),
                    pl.col("weekdays").alias("_kw"),
                )
                .explode("case_id")
                .unique([stage, "case_id"], keep="first", maintain_order=True)
            )
    pooled = limits.filter(pl.col("scope").is_null()).select(
        pl.col("stage").alias(stage), pl.col("limit_s").alias("_pooled"), pl.col("weekdays")
    )
    scoped = limits.filter(pl.col("scope").is_not_null()).select(
        pl.col("stage").alias(stage),
        pl.col("scope").alias("_scope"),
        "limit_s",
        pl.col("weekdays").alias("_sw"),
    )
    if (
        scoped.height == 0
        and by_kind.height == 0
        and not {"limit_s", "weekdays"} & set(frame.columns)
    ):
        # one limit per stage (no project or kind has its own): no project read from every
        # case id, no joins that would find nothing
        out = frame.join(pooled, on=stage, how="left", maintain_order="left")
        out = out.rename({"_pooled": "limit_s"})
        return out.select(*frame.columns, "limit_s", "weekdays").filter(
            pl.col("limit_s").is_not_null()
        )
    out = (
        frame.with_columns(PROJECT.alias("_scope"))
        .join(scoped, on=[stage, "_scope"], how="left")
        .join(pooled, on=stage, how="left")
        .join(by_kind, on=[stage, "case_id"], how="left")
        .with_columns(
            pl.coalesce("_kl", "limit_s", "_pooled").alias("limit_s"),
            pl.coalesce("_kw", "_sw", "weekdays").alias("weekdays"),
        )
    )
    return out.filter(pl.col("limit_s").is_not_null()).drop(
        "_scope", "_pooled", "_sw", "_kl", "_kw"
    )
