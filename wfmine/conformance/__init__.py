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

>>> import wfmine
>>> from wfmine.design import load_design
>>> from wfmine.conformance import check, case_attributes
>>> store = wfmine.open("acme.duckdb")  # doctest: +SKIP
>>> log = store.log()  # doctest: +SKIP
>>> result = check(log, load_design("design.yaml"),
...                case_attrs=case_attributes(store, log),
...                accounts=store.sql("select * from actor_accounts"))  # doctest: +SKIP
>>> result.cases.sort("fitness").head()  # doctest: +SKIP

Process-model checks for standard logs (PNML/BPMN, pm4py parity) are in
:mod:`wfmine.conformance.models`; optimal explanations of deviating variants
in :func:`wfmine.conformance.models.explain_variants`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

import polars as pl

from wfmine.conformance._stages import UnknownKind, prepare, stage_visits
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
from wfmine.design import Design

if TYPE_CHECKING:
    from wfmine.store import Store

__all__ = [
    "CASE_ATTRS_SCHEMA",
    "DEVIATION_SCHEMA",
    "FLOW_CATEGORIES",
    "GATE_VIOLATIONS",
    "ConformanceResult",
    "apply_allow",
    "case_attributes",
    "check",
    "deviation_impact",
    "map_stages",
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
      ``flow_deviations``, ``deviations`` (all aspects), ``tier``,
      ``gate_ok`` (null when no gated stage was reached);
    - ``deviations``: one row per deviation (:data:`DEVIATION_SCHEMA`), the
      design's ``allow`` rules already applied;
    - ``gates``: one row per (case, gate) with tier, requirement, approvers,
      author, verdict;
    - ``timing``: one row per stage visit with duration and expectation;
    - ``impact``: per deviation category, median case duration with and
      without it;
    - ``summary``: headline figures (JSON-ready).
    """

    cases: pl.DataFrame
    deviations: pl.DataFrame
    gates: pl.DataFrame
    timing: pl.DataFrame
    impact: pl.DataFrame
    summary: dict[str, Any] = field(default_factory=dict)

    def frames(self) -> dict[str, pl.DataFrame]:
        """The result frames by name (as :func:`store_result` stores them)."""
        return {
            "cases": self.cases,
            "deviations": self.deviations,
            "gates": self.gates,
            "timing": self.timing,
            "impact": self.impact,
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
) -> ConformanceResult:
    """Check a flat log against a design: flow, performers, gates and time.

    ``case_attrs`` (:data:`CASE_ATTRS_SCHEMA`, e.g. from
    :func:`case_attributes`) decides risk tiers; without it every case has
    the design's default tier. ``accounts`` (``account_id``, ``actor_id``)
    lets agent registry accounts match resolved actors. ``allow=False``
    reports deviations the design's ``allow`` list accepts. A visit is over
    time beyond ``stall_factor`` × the stage's ``expected``. Actors of unknown
    kind count as ``unknown_kind`` (``None``: not judged).

    The result does not depend on the log's row order: everything is ordered
    by (case, timestamp, seq, event_id).

    >>> result = check(log, design)  # doctest: +SKIP
    >>> result.summary["log_fitness"]  # doctest: +SKIP
    0.93
    """
    events = prepare(log, design, accounts=accounts, unknown_kind=unknown_kind)
    visits = stage_visits(events)
    cases = events.group_by("case_id").agg(
        pl.len().cast(pl.Int64).alias("events"),
        pl.col("timestamp").min().alias("start"),
        pl.col("timestamp").max().alias("end"),
    )
    cases = cases.with_columns(
        ((pl.col("end") - pl.col("start")).dt.total_microseconds() / 1e6).alias("duration_s")
    )
    tiers = case_tiers(cases, design, case_attrs)
    gates = gate_checks(events, design, tiers)
    timing = stage_timing(visits, design, stall_factor=stall_factor)
    parts = [
        flow_deviations(events, visits, design),
        performer_deviations(events, design),
        gate_deviations(gates),
        timing_deviations(timing),
    ]
    deviations = pl.concat(
        [p.select(DEVIATION_SCHEMA.names()).cast(DEVIATION_SCHEMA) for p in parts]
    )
    # performer events may be counted against a sanctioned agent: keep its id for allow rules
    agents = (
        events.select("event_id", "agent").filter(pl.col("agent").is_not_null()).unique("event_id")
    )
    suppressed = 0
    if allow and design.allow:
        before = deviations.height
        deviations = apply_allow(deviations, design, agents=agents)
        suppressed = before - deviations.height
    deviations = deviations.sort(
        "case_id", "timestamp", "event_id", "aspect", "category", "stage", nulls_last=True
    )
    cases = _case_table(cases, visits, deviations, tiers, gates)
    impact = deviation_impact(cases, deviations)
    summary = _summary(cases, deviations, gates, suppressed)
    return ConformanceResult(
        cases=cases,
        deviations=deviations,
        gates=gates,
        timing=timing.sort("case_id", "visit"),
        impact=impact,
        summary=summary,
    )


def apply_allow(
    deviations: pl.DataFrame, design: Design, *, agents: pl.DataFrame | None = None
) -> pl.DataFrame:
    """Drop the deviations the design's ``allow`` rules accept.

    A rule applies when its ``kind`` names the deviation's category or aspect
    (``transition`` names every flow deviation of a move) and every other
    field it gives matches: ``from``/``to`` the move, ``stage`` the stage,
    ``actor`` the actor or sanctioned agent, ``case`` the case id (a bare
    ``ACME-12`` also matches ``jira:ACME-12``).
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
    present = deviations.select("case_id", "category").unique()
    rows: list[dict[str, Any]] = []
    durations = cases.select("case_id", "duration_s")
    for category in sorted(present.get_column("category").unique().to_list()):
        with_ids = present.filter(pl.col("category") == category).select("case_id")
        w = durations.join(with_ids, on="case_id", how="semi")
        wo = durations.join(with_ids, on="case_id", how="anti")
        mw = w.get_column("duration_s").median()
        mo = wo.get_column("duration_s").median()
        rows.append(
            {
                "category": category,
                "cases": w.height,
                "median_with_s": mw,
                "median_without_s": mo,
                "delta_s": (mw - mo) if isinstance(mw, float) and isinstance(mo, float) else None,
            }
        )
    schema = {
        "category": pl.String,
        "cases": pl.Int64,
        "median_with_s": pl.Float64,
        "median_without_s": pl.Float64,
        "delta_s": pl.Float64,
    }
    return pl.DataFrame(rows, schema=schema, orient="row") if rows else pl.DataFrame(schema=schema)


def _case_table(
    cases: pl.DataFrame,
    visits: pl.DataFrame,
    deviations: pl.DataFrame,
    tiers: pl.DataFrame,
    gates: pl.DataFrame,
) -> pl.DataFrame:
    fit = flow_fitness(visits, deviations)
    variant = visits.group_by("case_id").agg(pl.col("stage").sort_by("visit").alias("variant"))
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
        .with_columns(
            pl.col(c).fill_null(0)
            for c in (
                "visits",
                "flow_deviations",
                "deviations",
                "performer_deviations",
                "gate_violations",
                "timing_deviations",
            )
        )
    )
    return out.select(
        "case_id", "events", "visits", "start", "end", "duration_s", "variant", "fitness",
        "flow_deviations", "deviations", "performer_deviations", "gate_violations",
        "timing_deviations", "tier", "gate_ok",
    ).sort("case_id")  # fmt: skip


def _summary(
    cases: pl.DataFrame, deviations: pl.DataFrame, gates: pl.DataFrame, suppressed: int
) -> dict[str, Any]:
    m = int(cases.get_column("visits").sum())
    d = int(cases.get_column("flow_deviations").sum())
    by_category = dict(deviations.group_by("category").len().sort("category").iter_rows())
    fitted = cases.filter(pl.col("fitness").is_not_null())
    mean_fitness = fitted.get_column("fitness").mean() if fitted.height else None
    return {
        "cases": cases.height,
        "events": int(cases.get_column("events").sum()),
        "log_fitness": 1.0 - d / (m + d) if m + d else None,
        "mean_fitness": mean_fitness,
        "fitting_cases": fitted.filter(pl.col("fitness") == 1.0).height,
        "deviations": deviations.height,
        "deviations_by_category": {str(k): int(v) for k, v in by_category.items()},
        "cases_with_deviations": cases.filter(pl.col("deviations") > 0).height,
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
