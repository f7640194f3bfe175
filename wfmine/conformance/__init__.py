"""Conformance: where work departs from the designed workflow.

:func:`check` compares a flat log (:data:`wfmine.model.LOG_SCHEMA`) with a
:class:`wfmine.design.Design` on four aspects, each a few linear polars
passes over the log sorted once:

- **flow** (:mod:`.flow`): skipped, out-of-order, repeated and unexpected
  stage moves, missing start/end, unmapped activities, and per-case fitness;
- **performers** (:mod:`.performers`): agents in human-only stages, people in
  agent-only stages, sanctioned agents outside their registered stages;
- **gates** (:mod:`.gates`): approvals by the right kind of approver before
  the gated step, by risk tier;
- **time** (:mod:`.timing`): stage visits over their expected time.

Only the cases the design speaks about are judged (:func:`case_scope`: by
default, work items with at least one event mapped to a stage); the others —
Slack threads or e-mails linked to no issue, a bot's pull request without a
ticket — are counted as out of scope. Cases still open in their source system
are judged as prefixes (no ``missing_end``).

>>> import wfmine
>>> from wfmine.design import load_design
>>> from wfmine.conformance import check_store
>>> store = wfmine.open("acme.duckdb")  # doctest: +SKIP
>>> result = check_store(store, load_design("design.yaml"))  # doctest: +SKIP
>>> result.summary["cases"], result.summary["cases_out_of_scope"]  # doctest: +SKIP
>>> result.cases.sort("fitness").head()  # doctest: +SKIP

Process-model checks for standard logs (PNML/BPMN, pm4py parity) are in
:mod:`wfmine.conformance.models`; optimal explanations of deviating variants
in :func:`wfmine.conformance.models.explain_variants`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

import polars as pl

from wfmine.conformance.flow import FLOW_CATEGORIES, flow_deviations, flow_fitness
from wfmine.conformance.gates import (
    CASE_ATTRS_SCHEMA,
    GATE_VIOLATIONS,
    case_attributes,
    case_tiers,
    gate_checks,
    gate_deviations,
)
from wfmine.conformance.performers import performer_deviations
from wfmine.conformance.timing import stage_timing, timing_deviations
from wfmine.design import Design, activity_key, pattern_regex
from wfmine.stages import (
    OUT_OF_SCOPE_SCHEMA,
    SCOPES,
    VISIT_SCHEMA,
    Scope,
    UnknownKind,
    case_scope,
    first_in_group,
    in_kernel_order,
    last_in_group,
    sorted_by,
    stage_events,
    stage_visits,
)

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

    from wfmine.store import Store

__all__ = [
    "CASE_ATTRS_SCHEMA",
    "DEVIATION_SCHEMA",
    "FLOW_CATEGORIES",
    "GATE_VIOLATIONS",
    "SCOPES",
    "ConformanceResult",
    "Scope",
    "apply_allow",
    "case_attributes",
    "case_scope",
    "check",
    "check_store",
    "deviation_impact",
    "map_stages",
    "store_accounts",
    "store_result",
]

from wfmine.design import map_stages  # re-exported: the stage of every event

#: columns of :attr:`ConformanceResult.deviations`
_DEVIATION: dict[str, Any] = {
    "case_id": pl.String,
    "aspect": pl.String,  # flow | performer | gate | time
    "category": pl.String,  # skipped, out_of_order, ..., self_approval, over_expected
    "stage": pl.String,
    "from_stage": pl.String,
    "to_stage": pl.String,
    "event_id": pl.String,
    "activity": pl.String,  # "<source>:<activity>" of that event, as design patterns see it
    "timestamp": pl.Datetime("us", "UTC"),
    "actor_id": pl.String,
    "detail": pl.String,
}

DEVIATION_SCHEMA: Final = pl.Schema(_DEVIATION)


@dataclass
class ConformanceResult:
    """What :func:`check` found, as polars frames plus a summary.

    - ``cases``: one row per case — ``events``, ``visits``, ``start``, ``end``,
      ``duration_s``, ``variant`` (stage sequence), ``fitness``,
      ``flow_deviations``, ``deviations`` (all aspects) and per aspect,
      ``tier``, ``gate_ok`` (null when no gated stage was reached), ``open``
      (still open in its source system: judged as a prefix);
    - ``deviations``: one row per deviation (:data:`DEVIATION_SCHEMA`), the
      design's ``allow`` rules already applied;
    - ``gates``: one row per (case, gate) with tier, requirement, approvers,
      author, verdict;
    - ``timing``: one row per stage visit with duration and expectation;
    - ``impact``: per deviation category, median case duration with and
      without it;
    - ``visits``: the stage visits of the cases in scope (:func:`wfmine.stages.stage_visits`);
    - ``out_of_scope``: the cases the design does not speak about and why
      (``no_stage_events``, ``no_work_item``; see :func:`case_scope`) — they
      are in no other frame and in no figure but ``cases_out_of_scope``;
    - ``summary``: headline figures (JSON-ready).
    """

    cases: pl.DataFrame
    deviations: pl.DataFrame
    gates: pl.DataFrame
    timing: pl.DataFrame
    impact: pl.DataFrame
    summary: dict[str, Any] = field(default_factory=dict)
    out_of_scope: pl.DataFrame = field(
        default_factory=lambda: pl.DataFrame(schema=OUT_OF_SCOPE_SCHEMA)
    )
    visits: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(schema=VISIT_SCHEMA))

    def frames(self) -> dict[str, pl.DataFrame]:
        """The result frames by name (as :func:`store_result` stores them)."""
        return {
            "cases": self.cases,
            "deviations": self.deviations,
            "gates": self.gates,
            "timing": self.timing,
            "impact": self.impact,
            "out_of_scope": self.out_of_scope,
        }


def check(
    log: pl.DataFrame,
    design: Design,
    *,
    case_attrs: pl.DataFrame | None = None,
    accounts: pl.DataFrame | None = None,
    allow: bool = True,
    stall_factor: float = 1.0,
    unknown_kind: UnknownKind = "human",
    scope: Scope = "work_items",
    staged: pl.DataFrame | None = None,
    pairs: pl.DataFrame | None = None,
) -> ConformanceResult:
    """Check a flat log against a design: flow, performers, gates and time.

    ``case_attrs`` (:data:`CASE_ATTRS_SCHEMA`, e.g. from
    :func:`case_attributes`) decides risk tiers and which cases are still
    open; without it every case has the design's default tier and counts as
    closed. ``accounts`` (``account_id``, ``actor_id``) lets agent registry
    accounts match resolved actors. ``allow=False`` reports deviations the
    design's ``allow`` list accepts. A visit is over time beyond
    ``stall_factor`` × the stage's ``expected``. Actors of unknown kind count
    as ``unknown_kind`` (``None``: not judged). ``scope`` picks the cases the
    design speaks about (:func:`case_scope`); the others are only counted.

    ``staged`` is :func:`wfmine.stages.stage_events` of the same log and
    design when the caller has it already (:class:`wfmine.analysis.Analysis`
    does), so the kernel runs once per analysis; ``pairs`` the log's distinct ``source,
    activity`` likewise (the gates' patterns are matched against those).

    The result does not depend on the log's row order: everything is ordered
    by (case, timestamp, seq, event_id).

    >>> result = check(log, design)  # doctest: +SKIP
    >>> result.summary["log_fitness"]  # doctest: +SKIP
    0.93
    """
    if scope not in SCOPES:
        raise ValueError(f"scope {scope!r} is not one of {', '.join(SCOPES)}")
    events = (
        staged
        if staged is not None
        else stage_events(log, design, accounts=accounts, unknown_kind=unknown_kind)
    )
    in_scope, out_of_scope = case_scope(events, scope)
    if out_of_scope.height:
        events = events.join(in_scope, on="case_id", how="semi", maintain_order="left")
    visits = stage_visits(events)
    pos = events.get_column("pos")
    # the positions rise from 0 to the last row: each is its event's row
    direct = bool(events.height) and pos[0] == 0 and pos[-1] == events.height - 1
    direct = direct and in_kernel_order(events)
    # each event's case as a row of the cases (known in the kernel's order, below)
    case_of: pl.Series | None = None
    if in_kernel_order(events) and events.get_column("timestamp").null_count() == 0:
        # each case's rows together, in time order: read at its first and last rows
        rows = events.select(
            "case_id",
            "timestamp",
            pl.int_range(pl.len()).alias("_i"),
            first_in_group("case_id").alias("_h"),
        )
        firsts = rows.filter(pl.col("_h"))
        lasts = rows.filter(last_in_group("case_id"))
        if direct:
            case_of = (rows.get_column("_h").cum_sum() - 1).cast(pl.Int64)
        cases = firsts.select(
            "case_id",
            (lasts.get_column("_i") - pl.col("_i") + 1).cast(pl.Int64).alias("events"),
            pl.col("timestamp").alias("start"),
            lasts.get_column("timestamp").alias("end"),
        )
    else:
        cases = events.group_by("case_id").agg(
            pl.len().cast(pl.Int64).alias("events"),
            pl.col("timestamp").min().alias("start"),
            pl.col("timestamp").max().alias("end"),
        )
    cases = cases.with_columns(
        ((pl.col("end") - pl.col("start")).dt.total_microseconds() / 1e6).alias("duration_s")
    )
    open_cases = _open_cases(cases, case_attrs)
    tiers = case_tiers(cases, design, case_attrs)
    # the gated events' positions too: the gates' deviations are placed like the others
    gates_at = gate_checks(events, design, tiers, pairs=pairs, positions=True)
    gates = gates_at.drop("gated_pos")
    timing = stage_timing(visits, design, stall_factor=stall_factor)
    parts = [
        flow_deviations(events, visits, design, open_cases=open_cases),
        performer_deviations(events, design),
        gate_deviations(gates_at),
        # the visits' positions in the events beside their timing (the same rows)
        timing_deviations(timing.with_columns(visits.get_column("pos"))),
    ]
    base = pl.Schema({k: v for k, v in DEVIATION_SCHEMA.items() if k != "activity"})
    base_pos = pl.Schema({**base, "pos": pl.Int64()})
    # a part without positions (none of check's own: the gates' have the gated events')
    deviations = pl.concat(
        [
            p.with_columns(pl.lit(None, dtype=pl.Int64).alias("pos"))
            .select(base_pos.names())
            .cast(base_pos)
            if "pos" not in p.columns
            else p.select(base_pos.names()).cast(base_pos)
            for p in parts
        ]
    )
    # each deviation's event's activity key, looked up by the event's position (an integer
    # join, not one on a million event ids; an event without an id has none), and for
    # deviations without a position by the few events' ids
    if direct:
        # each position is its event's row: read there directly (and the event's case row)
        at = pl.col("pos")
        keyed = deviations.with_columns(
            pl.lit(events.get_column("source")).gather(at).alias("source"),
            pl.lit(events.get_column("activity")).gather(at).alias("activity"),
            pl.lit(events.get_column("event_id")).gather(at).alias("_id"),
            *([] if case_of is None else [pl.lit(case_of).gather(at).alias("_row")]),
        ).with_columns(pl.when(pl.col("_id").is_not_null()).then(activity_key()).alias("activity"))
    else:
        keyed = deviations.join(
            events.select(
                pl.col("pos").cast(pl.Int64),
                pl.when(pl.col("event_id").is_not_null()).then(activity_key()).alias("activity"),
            ),
            on="pos",
            how="left",
            maintain_order="left",
        )
    if keyed.height != deviations.height:  # positions repeat (not the kernel's): all by id
        keyed = deviations.with_columns(
            pl.lit(None, dtype=pl.Int64).alias("pos"),
            pl.lit(None, dtype=pl.String).alias("activity"),
        )
    unplaced = keyed.filter(pl.col("pos").is_null()).select("event_id").drop_nulls().unique()
    if unplaced.height:
        keys = (
            events.join(unplaced, on="event_id", how="semi")
            .select("event_id", activity_key().alias("_key"))
            .unique("event_id")
        )
        keyed = keyed.join(keys, on="event_id", how="left", maintain_order="left").with_columns(
            pl.when(pl.col("pos").is_null())
            .then(pl.col("_key"))
            .otherwise(pl.col("activity"))
            .alias("activity")
        )
    # ``_row``: the deviation's case row, kept beside it through the allow rules and the sort
    row = ["_row"] if "_row" in keyed.columns and keyed.get_column("_row").null_count() == 0 else []
    deviations = keyed.select(*DEVIATION_SCHEMA.names(), *row).cast(DEVIATION_SCHEMA)
    # performer events may be counted against a sanctioned agent: keep its id for allow rules
    agents = (
        events.select("event_id", "agent").filter(pl.col("agent").is_not_null()).unique("event_id")
    )
    suppressed = 0
    if allow and design.allow:
        before = deviations.height
        deviations = apply_allow(deviations, design, agents=agents)
        suppressed = before - deviations.height
    ids = cases.get_column("case_id")
    # with the cases' ids sorted and unique, a deviation's case row orders it as its case id
    # does: an integer first key, not a string one
    by_row = bool(row) and case_of is not None and _sorted_unique(ids)
    deviations = deviations.sort(
        "_row" if by_row else "case_id",
        "timestamp",
        "event_id",
        "aspect",
        "category",
        "stage",
        nulls_last=True,
    )
    # each deviation's case as its row in the cases (sorted, unique ids): the per-case
    # figures are integer counts over those rows, no group-by or join on the case ids. The
    # rows are read by position (the visits' and gated events' too) when the events are
    # the kernel's in full, else found by the case ids
    case_rows: NDArray[np.int64] | None
    visit_rows: NDArray[np.int64] | None
    gate_rows: NDArray[np.int64] | None
    if row and case_of is not None:
        case_rows = deviations.get_column("_row").to_numpy()
        deviations = deviations.drop("_row")
        visit_rows = case_of.gather(visits.get_column("pos")).to_numpy()
        gate_rows = case_of.gather(gates_at.get_column("gated_pos")).to_numpy()
    else:
        deviations = deviations.drop(row)
        case_rows = _case_rows(ids, deviations.get_column("case_id"))
        visit_rows = _case_rows(ids, visits.get_column("case_id"))
        gate_rows = _case_rows(ids, gates.get_column("case_id"))
    if not _sorted_unique(ids):
        case_rows = None
    table = _case_table_by_rows(
        cases, visits, deviations, tiers, gates, open_cases, case_rows, visit_rows, gate_rows
    )
    cases = (
        table
        if table is not None
        else _case_table(cases, visits, deviations, tiers, gates, open_cases)
    )
    impact = (
        deviation_impact(cases, deviations)
        if case_rows is None
        else _impact(cases, deviations, case_rows)
    )
    summary = _summary(cases, deviations, gates, suppressed, out_of_scope, scope, case_rows)
    return ConformanceResult(
        cases=cases,
        deviations=deviations,
        gates=gates,
        timing=sorted_by(timing, ("case_id", "visit")),  # in that order already: not sorted
        impact=impact,
        summary=summary,
        out_of_scope=out_of_scope,
        visits=visits,
    )


def check_store(
    store: Store,
    design: Design,
    *,
    log: pl.DataFrame | None = None,
    **options: Any,
) -> ConformanceResult:
    """:func:`check` a store's log with everything the store knows.

    Risk tiers and open cases from :func:`case_attributes`, agent accounts
    resolved through ``actor_accounts``; ``options`` go to :func:`check`.

    >>> result = check_store(store, load_design("design.yaml"))  # doctest: +SKIP
    """
    flat = store.log() if log is None else log
    return check(
        flat,
        design,
        case_attrs=case_attributes(store, flat),
        accounts=store_accounts(store),
        **options,
    )


def store_accounts(store: Store) -> pl.DataFrame:
    """``account_id, actor_id`` of the store's resolved accounts (for registry matching)."""
    return store.sql("SELECT account_id, actor_id FROM actor_accounts")


def _open_cases(cases: pl.DataFrame, case_attrs: pl.DataFrame | None) -> pl.DataFrame:
    """``case_id``, ``open`` for every case (false when the attributes do not say)."""
    ids = cases.select("case_id")
    if (
        case_attrs is None
        or "open" not in case_attrs.columns
        or case_attrs.get_column("open").null_count() == case_attrs.height
    ):  # no case is known to be open (a standard log's): every one closed, no join
        return ids.with_columns(pl.lit(False).alias("open"))
    flags = case_attrs.select("case_id", pl.col("open").cast(pl.Boolean)).unique(
        "case_id", keep="first"
    )
    return ids.join(flags, on="case_id", how="left", maintain_order="left").with_columns(
        pl.col("open").fill_null(False)
    )


def apply_allow(
    deviations: pl.DataFrame, design: Design, *, agents: pl.DataFrame | None = None
) -> pl.DataFrame:
    """Drop the deviations the design's ``allow`` rules accept.

    A rule applies when its ``kind`` names the deviation's category or aspect
    (``transition`` names every flow deviation of a move) and every other
    field it gives matches: ``from``/``to`` the move, ``stage`` the stage,
    ``actor`` the actor or sanctioned agent, ``activity`` (a
    ``"<source>:<activity glob>"`` pattern) the event the deviation is at,
    ``case`` the case id (a bare ``ACME-12`` also matches ``jira:ACME-12``).
    """
    df = deviations
    if agents is not None and agents.height:
        df = df.join(agents, on="event_id", how="left")
    else:
        df = df.with_columns(pl.lit(None, dtype=pl.String).alias("agent"))
    hit = pl.lit(False)
    for rule in design.allow:
        if rule.kind == "transition":
            cond = pl.col("aspect") == "flow"
        else:
            cond = (pl.col("category") == rule.kind) | (pl.col("aspect") == rule.kind)
        if rule.from_ is not None:
            cond = cond & (pl.col("from_stage") == rule.from_).fill_null(False)
        if rule.to is not None:
            cond = cond & (pl.col("to_stage") == rule.to).fill_null(False)
        if rule.stage is not None:
            cond = cond & (pl.col("stage") == rule.stage).fill_null(False)
        if rule.actor is not None:
            cond = cond & (
                (pl.col("actor_id") == rule.actor).fill_null(False)
                | (pl.col("agent") == rule.actor).fill_null(False)
            )
        if rule.activity is not None:
            rx = f"^(?:{pattern_regex(rule.activity)})$"
            cond = cond & pl.col("activity").str.contains(rx).fill_null(False)
        if rule.case is not None:
            cond = cond & (
                (pl.col("case_id") == rule.case) | pl.col("case_id").str.ends_with(":" + rule.case)
            ).fill_null(False)
        hit = hit | cond
    return df.filter(~hit).drop("agent")


def deviation_impact(cases: pl.DataFrame, deviations: pl.DataFrame) -> pl.DataFrame:
    """Per deviation category: cases with it, median case duration with and without it.

    ``delta_s`` = median with − median without: what the deviation costs in
    throughput time (positive = slower).
    """
    # per category its cases, grouped once (not a distinct pass over every deviation's pair
    # and a filter per category); a null category or case matches no case, as in a join
    grouped = (
        deviations.filter(pl.col("category").is_not_null())
        .group_by("category")
        .agg(pl.col("case_id").drop_nulls().unique())
    )
    lists = grouped.get_column("case_id")
    cases_of = {c: lists[i] for i, c in enumerate(grouped.get_column("category"))}  # Series
    rows: list[dict[str, Any]] = []
    ids, d = cases.get_column("case_id"), cases.get_column("duration_s")
    for category in sorted(deviations.get_column("category").unique().to_list()):
        # one membership pass splits the cases; medians and counts do not depend on row order
        has = ids.is_in(cases_of.get(category, pl.Series(dtype=pl.String)).implode())
        has = has.fill_null(False)
        rows.append(_impact_row(category, d, has))
    return (
        pl.DataFrame(rows, schema=_IMPACT, orient="row") if rows else pl.DataFrame(schema=_IMPACT)
    )


_IMPACT: Final[dict[str, Any]] = {
    "category": pl.String,
    "cases": pl.Int64,
    "median_with_s": pl.Float64,
    "median_without_s": pl.Float64,
    "delta_s": pl.Float64,
}


def _case_rows(ids: pl.Series, keys: pl.Series) -> NDArray[np.int64] | None:
    """Each of ``keys``' row's row in ``ids`` (sorted ascending, unique, no nulls), read
    once per run of equal keys (frames in case order have one run per case); ``None``
    when ``ids`` is not so or a key is not among them."""
    import numpy as np

    n = ids.len()
    if keys.null_count() or not _sorted_unique(ids):
        return None
    if keys.len() == 0:
        return np.zeros(0, dtype=np.int64)
    if n == 0:
        return None
    head = (keys != keys.shift(1)).fill_null(True).to_numpy()
    starts = np.flatnonzero(head)
    firsts = keys.gather(starts)
    found = ids.search_sorted(firsts, side="left").cast(pl.Int64)
    at = found.clip(upper_bound=n - 1)
    if found.max() is None or not bool((ids.gather(at) == firsts).all()):
        return None
    lengths = np.diff(np.append(starts, keys.len()))
    return np.repeat(at.to_numpy().astype(np.int64), lengths)


def _sorted_unique(ids: pl.Series) -> bool:
    """Are ``ids`` sorted ascending, without repeats or nulls?"""
    n = ids.len()
    if ids.null_count() or not ids.is_sorted():
        return False
    return n < 2 or bool((ids.head(n - 1) != ids.tail(n - 1)).all())


def _aligned(frame: pl.DataFrame, ids: pl.Series, column: str) -> pl.Series | None:
    """``frame``'s ``column`` when its ``case_id`` rows are ``ids``' (same ids, same order)."""
    if frame.height != ids.len() or not frame.get_column("case_id").equals(ids):
        return None
    return frame.get_column(column)


def _case_table_by_rows(
    cases: pl.DataFrame,
    visits: pl.DataFrame,
    deviations: pl.DataFrame,
    tiers: pl.DataFrame,
    gates: pl.DataFrame,
    open_cases: pl.DataFrame,
    rows: NDArray[np.int64] | None,
    visit_rows: NDArray[np.int64] | None,
    gate_rows: NDArray[np.int64] | None,
) -> pl.DataFrame | None:
    """:func:`_case_table` with the cases sorted and unique and ``rows`` each deviation's
    case row (:func:`_case_rows`), ``visit_rows`` and ``gate_rows`` the visits' and gate
    checks': counts per row (``bincount``), the variants one list per run of visits (the
    visits are in case order), tiers and open flags already in the cases' order. ``None``
    when the frames are not so (:func:`_case_table` then)."""
    import numpy as np

    if rows is None:
        return None
    ids = cases.get_column("case_id")
    n = ids.len()
    tier = _aligned(tiers, ids, "tier")
    is_open = _aligned(open_cases, ids, "open")
    if visit_rows is None or gate_rows is None or tier is None or is_open is None:
        return None
    if visit_rows.size > 1 and not bool((np.diff(visit_rows) >= 0).all()):
        return None  # the visits of a case not together
    if gates.get_column("ok").null_count():
        return None

    def count(mask: pl.Expr | None = None) -> NDArray[np.int64]:
        if mask is None:
            return np.bincount(rows, minlength=n).astype(np.int64)
        weights = deviations.select(mask.fill_null(False)).to_series().to_numpy()
        return np.bincount(rows, weights=weights, minlength=n).astype(np.int64)

    aspect, category = pl.col("aspect"), pl.col("category")
    n_visits = np.bincount(visit_rows, minlength=n).astype(np.int64)
    visited = n_visits > 0
    # the categories of FLOW_CATEGORIES: every flow deviation's but ``unmapped``
    flow = np.where(visited, count(category.is_in(list(FLOW_CATEGORIES)) & (aspect == "flow")), 0)
    # each visited case's stages, one list per run of its visits' rows (a sorted key: no
    # hashing), handed to the case rows by position (null: a case without a visit); polars
    # alone, no pyarrow to import (0.2 s of a warm 'wfmine discover')
    runs = (
        pl.DataFrame({"_r": visit_rows, "stage": visits.get_column("stage")})
        .with_columns(pl.col("_r").set_sorted())
        .group_by("_r", maintain_order=True)
        .agg("stage")
        .get_column("stage")
    )
    run_of = pl.Series(np.cumsum(visited) - 1, dtype=pl.Int64).set(pl.Series(~visited), None)
    variant = runs.gather(run_of)
    failed = np.bincount(
        gate_rows, weights=(~gates.get_column("ok")).to_numpy(), minlength=n
    ).astype(np.int64)
    gated = np.bincount(gate_rows, minlength=n) > 0
    m, d = pl.col("visits"), pl.col("flow_deviations")
    out = cases.with_columns(
        pl.Series("visits", n_visits, dtype=pl.Int64),
        pl.Series("flow_deviations", flow, dtype=pl.Int64),
        pl.Series("_visited", visited),
        variant.alias("variant"),
        pl.Series("deviations", count(), dtype=pl.Int64),
        pl.Series("performer_deviations", count(aspect == "performer"), dtype=pl.Int64),
        pl.Series("gate_violations", count(aspect == "gate"), dtype=pl.Int64),
        pl.Series("timing_deviations", count(aspect == "time"), dtype=pl.Int64),
        tier.alias("tier"),
        pl.when(pl.Series(gated)).then(pl.Series(failed == 0)).alias("gate_ok"),
        is_open.fill_null(False).alias("open"),
    ).with_columns(
        pl.when(pl.col("_visited")).then(1.0 - d / (m + d)).alias("fitness"),
    )
    return out.select(
        "case_id", "events", "visits", "start", "end", "duration_s", "variant", "fitness",
        "flow_deviations", "deviations", "performer_deviations", "gate_violations",
        "timing_deviations", "tier", "gate_ok", "open",
    )  # fmt: skip


def _impact_row(category: str, durations: pl.Series, has: pl.Series) -> dict[str, Any]:
    """A category's impact row: the median case duration with and without it (``has``: a
    mask over the cases)."""
    mw, mo = durations.filter(has).median(), durations.filter(~has).median()
    return {
        "category": category,
        "cases": int(has.sum()),
        "median_with_s": mw,
        "median_without_s": mo,
        "delta_s": (mw - mo) if isinstance(mw, float) and isinstance(mo, float) else None,
    }


def _impact(cases: pl.DataFrame, deviations: pl.DataFrame, rows: NDArray[np.int64]) -> pl.DataFrame:
    """:func:`deviation_impact` with each deviation's case row (:func:`_case_rows`) known:
    a category's cases are a mask over the case rows."""
    import numpy as np

    d = cases.get_column("duration_s")
    cats = deviations.get_column("category")
    out: list[dict[str, Any]] = []
    for category in sorted(cats.unique().to_list()):
        has = np.zeros(cases.height, dtype=bool)
        has[rows[(cats == category).fill_null(False).to_numpy()]] = True
        out.append(_impact_row(category, d, pl.Series(has)))
    return pl.DataFrame(out, schema=_IMPACT, orient="row") if out else pl.DataFrame(schema=_IMPACT)


def _case_table(
    cases: pl.DataFrame,
    visits: pl.DataFrame,
    deviations: pl.DataFrame,
    tiers: pl.DataFrame,
    gates: pl.DataFrame,
    open_cases: pl.DataFrame,
) -> pl.DataFrame:
    fit = flow_fitness(visits, deviations)
    # visits are in case order: each group keeps it
    variant = visits.group_by("case_id").agg(pl.col("stage").alias("variant"))
    counts = deviations.group_by("case_id").agg(
        pl.len().cast(pl.Int64).alias("deviations"),
        (pl.col("aspect") == "performer").sum().cast(pl.Int64).alias("performer_deviations"),
        (pl.col("aspect") == "gate").sum().cast(pl.Int64).alias("gate_violations"),
        (pl.col("aspect") == "time").sum().cast(pl.Int64).alias("timing_deviations"),
    )
    gate_ok = gates.group_by("case_id").agg(pl.col("ok").all().alias("gate_ok"))
    out = (
        cases.join(fit, on="case_id", how="left")
        .join(variant, on="case_id", how="left")
        .join(counts, on="case_id", how="left")
        .join(tiers, on="case_id", how="left")
        .join(gate_ok, on="case_id", how="left")
        .join(open_cases, on="case_id", how="left")
        .with_columns(
            pl.col("open").fill_null(False),
            *[
                pl.col(c).fill_null(0)
                for c in (
                    "visits",
                    "flow_deviations",
                    "deviations",
                    "performer_deviations",
                    "gate_violations",
                    "timing_deviations",
                )
            ],
        )
    )
    return out.select(
        "case_id", "events", "visits", "start", "end", "duration_s", "variant", "fitness",
        "flow_deviations", "deviations", "performer_deviations", "gate_violations",
        "timing_deviations", "tier", "gate_ok", "open",
    ).sort("case_id")  # fmt: skip


_ASPECTS: Final = ("flow", "performer", "gate", "time")


def _summary(
    cases: pl.DataFrame,
    deviations: pl.DataFrame,
    gates: pl.DataFrame,
    suppressed: int,
    out_of_scope: pl.DataFrame,
    scope: Scope,
    rows: NDArray[np.int64] | None = None,
) -> dict[str, Any]:
    m = int(cases.get_column("visits").sum())
    d = int(cases.get_column("flow_deviations").sum())
    by_category = dict(deviations.group_by("category").len().sort("category").iter_rows())
    by_aspect = dict(deviations.group_by("aspect").len().iter_rows())
    if rows is None:
        cases_by_aspect = dict(
            deviations.select("aspect", "case_id").unique().group_by("aspect").len().iter_rows()
        )
    else:  # the distinct case rows of each aspect's deviations
        import numpy as np

        aspects = deviations.get_column("aspect")
        cases_by_aspect = {
            a: int(np.count_nonzero(np.bincount(rows[(aspects == a).fill_null(False).to_numpy()])))
            for a in _ASPECTS
        }
    reasons = dict(out_of_scope.group_by("reason").len().sort("reason").iter_rows())
    fitted = cases.filter(pl.col("fitness").is_not_null())
    mean_fitness = fitted.get_column("fitness").mean() if fitted.height else None
    return {
        "scope": scope,
        "cases": cases.height,
        "cases_out_of_scope": out_of_scope.height,
        "out_of_scope": {str(k): int(v) for k, v in reasons.items()},
        "open_cases": cases.filter(pl.col("open")).height,
        "events": int(cases.get_column("events").sum()),
        "log_fitness": 1.0 - d / (m + d) if m + d else None,
        "mean_fitness": mean_fitness,
        "fitting_cases": fitted.filter(pl.col("fitness") == 1.0).height,
        "deviations": deviations.height,
        "deviations_by_aspect": {a: int(by_aspect.get(a, 0)) for a in _ASPECTS},
        "deviations_by_category": {str(k): int(v) for k, v in by_category.items()},
        "cases_with_deviations": cases.filter(pl.col("deviations") > 0).height,
        "cases_with_deviations_by_aspect": {a: int(cases_by_aspect.get(a, 0)) for a in _ASPECTS},
        "gate_checks": gates.height,
        "gate_violations": gates.filter(~pl.col("ok")).height,
        "suppressed_by_allow": suppressed,
    }


def store_result(store: Store, result: ConformanceResult) -> None:
    """Write the result frames as ``result_conformance_<name>`` tables of the store.

    >>> store_result(store, check(store.log(), design))  # doctest: +SKIP
    >>> store.result("conformance_cases")  # doctest: +SKIP
    """
    for name, df in result.frames().items():
        store.put_result(f"conformance_{name}", df)
