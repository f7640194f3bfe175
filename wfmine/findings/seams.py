"""Seams: where a case passes from one team (or performer kind) to another, and who owns that.

A seam is observed between two consecutive steps of a case whose team
changes (``team`` seams) or whose performer kind changes between human and
agent (``performer`` seams). Consecutive events of the same team are one
step; events with no team (or a kind other than human/agent) are skipped, so
no seam is invented across unknown ground. For every ``from -> to`` pair the
table gives handoffs, median / p90 wait (last event of the giving side to the
first of the taking side), the share that stalls, and the share followed by
rework (the case comes back to the giving side later). Against a design each
seam is owned (listed under ``seams:``) or unowned.

Only events someone performed are steps (a CI result hands nothing over).
With a design, seams are read from the *workflow steps* only -- the events
the design maps onto a stage. Messages and e-mails around a work item
(a question, a "thanks", a notification) are conversation about the work,
not the work changing hands; an escalation that really moves work shows up
in the steps (the item goes from its reporter's team straight to the team
that builds it). Without a design, or when the design maps no event, every
event counts.

>>> import polars as pl
>>> seams(pl.DataFrame(schema={"case_id": pl.String, "timestamp": pl.Datetime("us", "UTC"),
...     "seq": pl.Int64, "event_id": pl.String, "team": pl.String,
...     "actor_kind": pl.String})).height
0
"""

from __future__ import annotations

from typing import Any, Final

import polars as pl

from wfmine.findings._design import DesignView, as_view, map_stages
from wfmine.findings._shape import Finding

__all__ = ["STALL_FACTOR", "handoffs", "seams", "unowned_seams", "workflow_steps"]

#: a handoff stalls when its wait exceeds this many times the median wait of all handoffs
STALL_FACTOR: Final = 3.0
#: an unowned seam needs this many handoffs to become a finding
MIN_HANDOFFS: Final = 3

_SEAM_SCHEMA: Final[dict[str, Any]] = {
    "dimension": pl.String, "from": pl.String, "to": pl.String, "handoffs": pl.UInt32,
    "cases": pl.UInt32, "wait_median_s": pl.Float64, "wait_p90_s": pl.Float64,
    "wait_total_s": pl.Float64, "stall_share": pl.Float64, "rework_share": pl.Float64,
    "owned": pl.Boolean, "owner": pl.String, "first_seen": pl.Datetime("us", "UTC"),
    "last_seen": pl.Datetime("us", "UTC"), "example_cases": pl.List(pl.String),
}  # fmt: skip


def workflow_steps(log: pl.DataFrame, design: Any = None) -> pl.DataFrame:
    """The events of ``log`` that are steps: performed by someone and, with a design, mapped.

    An event no one performed (a CI result, a merge record whose actor the
    export left out) hands nothing over: it has no performing team. (A log
    that names no actor at all keeps every event.) With a design, only the
    events mapped onto a stage are workflow steps; when the design maps none,
    every event counts.
    """
    if "actor_id" in log.columns and log["actor_id"].null_count() < log.height:
        log = log.filter(pl.col("actor_id").is_not_null())
    view = as_view(design)
    if view is None:
        return log
    staged = map_stages(log, view)
    steps = staged.filter(pl.col("stage").is_not_null())
    return steps if steps.height else staged


def _steps(log: pl.DataFrame, column: str) -> pl.DataFrame:
    """Collapse consecutive events of a case with the same ``column`` value into steps."""
    df = (
        log.filter(pl.col(column).is_not_null())
        .sort(["case_id", "timestamp", "seq", "event_id"])
        .with_columns(
            (pl.col(column) != pl.col(column).shift(1).over("case_id"))
            .fill_null(True)
            .cum_sum()
            .over("case_id")
            .alias("_step")
        )
    )
    return (
        df.group_by("case_id", "_step")
        .agg(
            pl.col(column).first().alias("side"),
            pl.col("timestamp").min().alias("start"),
            pl.col("timestamp").max().alias("end"),
        )
        .sort(["case_id", "_step"])
    )


def handoffs(log: pl.DataFrame, *, dimension: str = "team") -> pl.DataFrame:
    """One row per handoff: ``case_id, from, to, left_at, taken_at, wait_s, rework``.

    ``dimension`` is ``"team"`` (the ``team`` column) or ``"performer"``
    (``actor_kind`` restricted to human and agent).
    """
    if dimension == "performer":
        src = log.with_columns(
            pl.when(pl.col("actor_kind").is_in(["human", "agent"]))
            .then(pl.col("actor_kind"))
            .alias("_side")
        )
    else:
        src = log.with_columns(pl.col("team").alias("_side"))
    steps = _steps(src, "_side")
    last_visit = steps.group_by("case_id", "side").agg(pl.col("_step").max().alias("_last"))
    out = (
        steps.with_columns(
            pl.col("side").shift(-1).over("case_id").alias("to"),
            pl.col("start").shift(-1).over("case_id").alias("taken_at"),
        )
        .filter(pl.col("to").is_not_null())
        .join(last_visit, on=["case_id", "side"], how="left")
        .select(
            "case_id",
            pl.col("side").alias("from"),
            "to",
            pl.col("end").alias("left_at"),
            "taken_at",
            (pl.col("taken_at") - pl.col("end")).dt.total_seconds(fractional=True).alias("wait_s"),
            (pl.col("_last") > pl.col("_step") + 1).alias("rework"),
        )
    )
    return out.with_columns(pl.lit(dimension).alias("dimension"))


def _owned_expr(view: DesignView | None) -> tuple[pl.Expr, pl.Expr]:
    if view is None:
        return pl.lit(None, dtype=pl.Boolean), pl.lit(None, dtype=pl.String)
    owned: Any = pl.lit(False)
    owner: Any = pl.lit(None, dtype=pl.String)
    for seam in reversed(view.seams):
        cond = ((pl.col("from") == seam.src) | pl.lit(seam.src == "*")) & (
            (pl.col("to") == seam.dst) | pl.lit(seam.dst == "*")
        )
        owned = pl.when(cond).then(pl.lit(True)).otherwise(owned)
        owner = pl.when(cond).then(pl.lit(seam.owner)).otherwise(owner)
    return owned, owner


def seams(
    log: pl.DataFrame,
    design: Any = None,
    *,
    stall_factor: float = STALL_FACTOR,
    dimensions: tuple[str, ...] = ("team", "performer"),
) -> pl.DataFrame:
    """The seam table: every observed ``from -> to`` with its figures, owned or not.

    Stall threshold: ``stall_factor`` x the median wait of all handoffs of the
    same dimension. ``owned`` is null without a design. With a design, only
    workflow steps count (:func:`workflow_steps`).
    """
    view = as_view(design)
    log = workflow_steps(log, view)
    parts = [handoffs(log, dimension=d) for d in dimensions if _has(log, d)]
    parts = [p for p in parts if p.height]
    if not parts:
        return pl.DataFrame(schema=_SEAM_SCHEMA)
    h = pl.concat(parts).with_columns(
        (pl.col("wait_s") > stall_factor * pl.col("wait_s").median().over("dimension")).alias(
            "_stall"
        )
    )
    owned, owner = _owned_expr(view)
    table = (
        h.sort(["case_id", "taken_at"])
        .group_by("dimension", "from", "to")
        .agg(
            pl.len().alias("handoffs"),
            pl.col("case_id").n_unique().alias("cases"),
            pl.col("wait_s").median().alias("wait_median_s"),
            pl.col("wait_s").quantile(0.9, interpolation="linear").alias("wait_p90_s"),
            pl.col("wait_s").sum().alias("wait_total_s"),
            pl.col("_stall").mean().alias("stall_share"),
            pl.col("rework").mean().alias("rework_share"),
            pl.col("taken_at").min().alias("first_seen"),
            pl.col("taken_at").max().alias("last_seen"),
            pl.col("case_id").unique().sort().head(10).alias("example_cases"),
        )
        .with_columns(owned.alias("owned"), owner.alias("owner"))
    )
    return (
        table.select(list(_SEAM_SCHEMA))
        .cast(_SEAM_SCHEMA)  # type: ignore[arg-type]
        .sort(["wait_total_s", "dimension", "from", "to"], descending=[True, False, False, False])
    )


def _has(log: pl.DataFrame, dimension: str) -> bool:
    column = "actor_kind" if dimension == "performer" else "team"
    return column in log.columns


def unowned_seams(
    log: pl.DataFrame,
    design: Any,
    *,
    stall_factor: float = STALL_FACTOR,
    min_handoffs: int = MIN_HANDOFFS,
    table: pl.DataFrame | None = None,
) -> list[Finding]:
    """Findings for seams the design does not own, ranked by the total waiting they cause.

    Needs a design (ownership is defined there); without one, returns nothing.
    Severity: ``high`` for the seams that together cause the first half of
    all unowned waiting or that stall in a third of handoffs, ``medium`` for
    the next 30 %, ``low`` for the rest.
    """
    if as_view(design) is None:
        return []
    t = table if table is not None else seams(log, design, stall_factor=stall_factor)
    un = t.filter((pl.col("owned") == False) & (pl.col("handoffs") >= min_handoffs))  # noqa: E712
    if un.height == 0:
        return []
    total = float(un["wait_total_s"].sum()) or 1.0
    un = un.with_columns((pl.col("wait_total_s").cum_sum() / total).alias("_cum"))
    out: list[Finding] = []
    for row in un.iter_rows(named=True):
        prev = row["_cum"] - row["wait_total_s"] / total
        if prev < 0.5 or (row["stall_share"] or 0) >= 1 / 3:
            severity = "high"
        elif prev < 0.8:
            severity = "medium"
        else:
            severity = "low"
        subject = f"{row['from']} -> {row['to']}"
        hours = (row["wait_median_s"] or 0) / 3600
        out.append(
            Finding(
                kind="unowned_seam",
                subject=subject,
                severity=severity,
                summary=(
                    f"No one owns the {row['dimension']} handoff {subject}: {row['handoffs']} "
                    f"handoffs, median wait {hours:.1f} h, {row['stall_share']:.0%} stall; "
                    f"name an owner in the design's seams."
                ),
                evidence={
                    "dimension": row["dimension"],
                    "from": row["from"],
                    "to": row["to"],
                    "handoffs": row["handoffs"],
                    "events": row["handoffs"] * 2,
                    "cases": row["example_cases"],
                    "case_count": row["cases"],
                    "wait_median_s": _r(row["wait_median_s"]),
                    "wait_p90_s": _r(row["wait_p90_s"]),
                    "wait_total_s": _r(row["wait_total_s"]),
                    "stall_share": _r(row["stall_share"]),
                    "stall_rule": f"wait > {stall_factor:g} x median wait of all handoffs",
                    "rework_share": _r(row["rework_share"]),
                },
                first_seen=row["first_seen"],
                last_seen=row["last_seen"],
            )
        )
    return out


def _r(value: float | None) -> float | None:
    return None if value is None else round(float(value), 3)
