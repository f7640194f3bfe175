"""Reviewer audit: what happened to the work each reviewer approved.

For every reviewer -- each sanctioned review agent, each human, every other
account that approved -- the pull requests they approved *before the merge*
and what followed the merge within ``window_days``:

``reverted``       a ``Revert merged`` of that PR (its ``reverts`` attribute;
                   without it, the revert undoes the last PR of the case merged
                   before it);
``reopened``       the work item reopened (a ``reopen`` occurrence of
                   :func:`wfmine.findings.failures.failure_occurrences` in the
                   case after the merge);
``ci_fix``         a CI fail-and-fix cycle (``ci_fix`` occurrence) in the case
                   after the merge;
``follow_up_fix``  another (non-revert) PR of the same case opened after the
                   merge: the change needed more work;
``failed``         reverted or reopened: the change did not hold. This is the
                   outcome the agent-versus-human comparison tests.

Rates come with 95 % Wilson score intervals, computed with the closed form
(``(p + z²/2n ± z·sqrt(p(1-p)/n + z²/4n²)) / (1 + z²/n)``, z = 1.95996), per
reviewer and risk tier and for all tiers (``tier = "all"``), and per reviewer
kind (``level = "kind"``).

**Comparable work.** An agent reviewer's approvals are compared with human
approvals of work of the *same risk tier* (the design's tier of the case)
*approved in the same stage* of the design: the strata are tier × stage. The
agent group is the PRs the agent approved and no human approved (its own
judgement let the change through); the human group the PRs at least one
human approved. Per stratum the 2×2 table is tested with Fisher's exact test
(:func:`wfmine.findings.significance.fisher_exact`: scipy's test, in exact
integers); the pooled test over strata is the Cochran–Mantel–Haenszel
chi-square with continuity correction, computed from its closed form with
the p-value of a chi-square of 1 degree of freedom
(:func:`wfmine.findings.significance.chi2_sf_1`), beside the Mantel–Haenszel
common odds ratio and the Mantel–Haenszel weighted rate difference (weights ``n1·n0/n``). Strata
missing either group say nothing about the difference and are left out.

An agent reviewer is **measurably worse** (a ``reviewer_quality`` finding)
when the pooled test is significant at ``ALPHA`` = 0.05, its approvals fail
more often, and the weighted rate difference is at least ``MIN_RATE_DIFF``
(5 percentage points).
"""

from __future__ import annotations

import math
from typing import Any, Final

import polars as pl

from wfmine.conformance import ConformanceResult
from wfmine.design import Design
from wfmine.findings._events import stage_context
from wfmine.findings._shape import Finding
from wfmine.findings.significance import chi2_sf_1, fisher_exact
from wfmine.governance._inputs import HasInputs, Inputs, inputs_of

__all__ = [
    "ALPHA",
    "MIN_RATE_DIFF",
    "OUTCOMES",
    "Z95",
    "approvals",
    "pr_outcomes",
    "reviewer_audit",
    "reviewer_comparison",
    "reviewer_findings",
    "wilson",
]

ALPHA: Final = 0.05
MIN_RATE_DIFF: Final = 0.05
Z95: Final = 1.959963984540054
OUTCOMES: Final = ("reverted", "reopened", "ci_fix", "follow_up_fix", "failed")
_HUMAN_REQUIRED: Final = ("human_approval", "two_humans")


def wilson(k: pl.Expr, n: pl.Expr, z: float = Z95) -> tuple[pl.Expr, pl.Expr]:
    """The Wilson score interval ``(low, high)`` of ``k`` successes in ``n`` (closed form)."""
    nf = n.cast(pl.Float64)
    p = k.cast(pl.Float64) / nf
    denom = 1.0 + z * z / nf
    centre = (p + z * z / (2.0 * nf)) / denom
    half = z * (p * (1.0 - p) / nf + z * z / (4.0 * nf * nf)).sqrt() / denom
    ok = n > 0
    return (
        pl.when(ok & (k > 0)).then((centre - half).clip(lower_bound=0.0)).when(ok).then(0.0),
        pl.when(ok).then((centre + half).clip(upper_bound=1.0)),
    )


def pr_outcomes(inp: Inputs, window_days: float = 14) -> pl.DataFrame:
    """Per merged PR: ``pr_id, case_id, merged, tier`` and a flag per outcome (see module)."""
    window = pl.duration(seconds=int(window_days * 86400))
    merged = inp.prs.filter(pl.col("merged").is_not_null()).select("pr_id", "case_id", "merged")
    later = pl.concat(
        [
            inp.reverts.select(
                "case_id",
                pl.col("reverted_at").alias("at"),
                pl.lit("reverted").alias("what"),
                pl.col("target").cast(pl.String),
            ),
            inp.occurrences.filter(pl.col("type").is_in(["reopen", "ci_fix"])).select(
                "case_id",
                pl.col("timestamp").alias("at"),
                pl.col("type").replace({"reopen": "reopened"}).alias("what"),
                pl.lit(None, dtype=pl.String).alias("target"),
            ),
            inp.prs.filter(~pl.col("is_revert") & pl.col("opened").is_not_null()).select(
                "case_id",
                pl.col("opened").alias("at"),
                pl.lit("follow_up_fix").alias("what"),
                pl.col("pr_id").alias("target"),
            ),
        ]
    )
    hits = (
        merged.join(later, on="case_id")
        .filter(
            (pl.col("at") >= pl.col("merged"))
            & (pl.col("at") <= pl.col("merged") + window)
            & ((pl.col("what") != "reverted") | (pl.col("target") == pl.col("pr_id")))
            & ((pl.col("what") != "follow_up_fix") | (pl.col("target") != pl.col("pr_id")))
            & ((pl.col("what") == "reverted") | (pl.col("at") > pl.col("merged")))
        )
        .group_by("pr_id")
        .agg(*[(pl.col("what") == o).any().alias(o) for o in OUTCOMES[:4]])
    )
    out = merged.join(hits, on="pr_id", how="left").join(inp.tiers, on="case_id", how="left")
    flags = [pl.col(o).fill_null(False) for o in OUTCOMES[:4]]
    return (
        out.with_columns(flags)
        .with_columns((pl.col("reverted") | pl.col("reopened")).alias("failed"))
        .sort("pr_id")
    )


def approvals(inp: Inputs) -> pl.DataFrame:
    """One row per (reviewer, merged PR) approved before the merge.

    ``reviewer, kind (human | agent | automation), sanctioned (the design's
    agent id or null), pr_id, case_id, approved_at, stage, merged, author``.
    """
    ap = inp.events.filter(
        (pl.col("activity") == "PR approved")
        & (pl.col("object_type") == "pull_request")
        & pl.col("performer").is_not_null()
    ).select(
        pl.coalesce("actor_id", "resource").alias("reviewer"),
        pl.col("performer").alias("kind"),
        pl.col("agent").alias("sanctioned"),
        pl.col("object_id").alias("pr_id"),
        pl.col("timestamp").alias("approved_at"),
        stage_context().alias("stage"),
    )
    prs = inp.prs.filter(pl.col("merged").is_not_null()).select(
        "pr_id", "case_id", "merged", "author"
    )
    return (
        ap.join(prs, on="pr_id")
        .filter(pl.col("approved_at") <= pl.col("merged"))
        .filter((pl.col("reviewer") != pl.col("author")).fill_null(True))
        .sort("approved_at")
        .unique(subset=["reviewer", "pr_id"], keep="first", maintain_order=True)
        .with_columns(pl.col("stage").fill_null("-"))
    )


def _rates(df: pl.DataFrame, keys: list[str]) -> pl.DataFrame:
    aggs: list[pl.Expr] = [pl.len().alias("approvals"), pl.col("human_required").sum()]
    aggs += [pl.col(o).sum().alias(o) for o in OUTCOMES]
    out = df.group_by(keys).agg(aggs)
    cols: list[pl.Expr] = []
    for o in OUTCOMES:
        lo, hi = wilson(pl.col(o), pl.col("approvals"))
        cols += [
            (pl.col(o) / pl.col("approvals")).alias(f"{o}_rate"),
            lo.alias(f"{o}_low"),
            hi.alias(f"{o}_high"),
        ]
    return out.with_columns(cols)


def _human_required(conformance: ConformanceResult | None) -> pl.DataFrame:
    if conformance is None or conformance.gates.height == 0:
        return pl.DataFrame(schema={"case_id": pl.String, "human_required": pl.Boolean})
    return (
        conformance.gates.group_by("case_id")
        .agg(pl.col("required").is_in(list(_HUMAN_REQUIRED)).any().alias("human_required"))
        .select("case_id", "human_required")
    )


def _joined(inp: Inputs, window_days: float) -> pl.DataFrame:
    outcome = pr_outcomes(inp, window_days).drop("case_id", "merged")
    return (
        approvals(inp)
        .join(outcome, on="pr_id", how="left")
        .join(_human_required(inp.conformance), on="case_id", how="left")
        .with_columns(
            pl.col("human_required").fill_null(False),
            pl.col("tier").fill_null("unknown"),
        )
    )


AUDIT_KEYS: Final = ("level", "reviewer", "kind", "sanctioned", "tier")


def reviewer_audit(
    source: HasInputs | pl.DataFrame | Inputs,
    design: Design | None = None,
    *,
    conformance: ConformanceResult | None = None,
    window_days: float = 14,
    events_attrs: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """One row per reviewer and risk tier (and ``tier = "all"``), plus one per reviewer kind.

    ``source`` is an :class:`~wfmine.analysis.Analysis` or a flat log (then
    give its ``design`` and, if computed, ``conformance``). Columns:
    ``level`` (``reviewer`` | ``kind``), ``reviewer``, ``kind``,
    ``sanctioned``, ``tier``, ``approvals``, ``human_required`` (approvals of
    changes whose gate required a human approval: an agent's such approval
    does not satisfy the gate), and per outcome (see the module docstring)
    its count, ``_rate``, ``_low`` and ``_high`` (95 % Wilson interval).
    Sorted by kind, approvals (most first), reviewer, tier.
    """
    inp = inputs_of(source, design, conformance=conformance, events_attrs=events_attrs)
    df = _joined(inp, window_days)
    if df.height == 0:
        return _rates(df.with_columns(pl.lit("").alias("level")), list(AUDIT_KEYS)).clear()
    sanctioned = df.group_by("reviewer").agg(pl.col("sanctioned").drop_nulls().first())
    df = df.drop("sanctioned").join(sanctioned, on="reviewer", how="left")
    everyone = df.with_columns(pl.lit("all").alias("tier"))
    by_kind = pl.concat([df, everyone]).with_columns(
        (pl.lit("all ") + pl.col("kind") + pl.lit(" reviewers")).alias("reviewer"),
        pl.lit(None, dtype=pl.String).alias("sanctioned"),
    )
    parts = [
        _rates(pl.concat([df, everyone]).with_columns(pl.lit("reviewer").alias("level")),
               list(AUDIT_KEYS)),
        _rates(by_kind.with_columns(pl.lit("kind").alias("level")), list(AUDIT_KEYS)),
    ]  # fmt: skip
    out = pl.concat(parts)
    total = out.filter(pl.col("tier") == "all").select("reviewer", pl.col("approvals").alias("_n"))
    return (
        out.join(total, on="reviewer", how="left")
        .with_columns((pl.col("tier") != "all").alias("_t"))
        .sort(
            ["level", "kind", "_n", "reviewer", "_t", "tier"],
            descending=[True, False, True, False, False, False],
        )
        .drop("_n", "_t")
    )


def _groups(df: pl.DataFrame, outcome: str) -> dict[str, pl.DataFrame]:
    """Per agent reviewer: its agent-only PRs and the human-approved PRs, with stratum."""
    per_pr = df.group_by("pr_id").agg(
        (pl.col("kind") == "human").any().alias("_human"),
        pl.col("stage").filter(pl.col("kind") == "human").first().alias("_hstage"),
        pl.col("tier").first(),
        pl.col(outcome).first().alias("_y"),
        pl.col("case_id").first(),
        pl.col("merged").first(),
    )
    human = per_pr.filter(pl.col("_human")).select(
        "pr_id", "case_id", "tier", pl.col("_hstage").alias("stage"), "_y", "merged"
    )
    out: dict[str, pl.DataFrame] = {}
    agents = df.filter(pl.col("kind") != "human")
    for (reviewer,), rows in agents.group_by(["reviewer"], maintain_order=True):
        alone = rows.join(per_pr.filter(~pl.col("_human")).select("pr_id", "_y"), on="pr_id")
        mine = alone.select("pr_id", "case_id", "tier", "stage", "_y", "merged")
        out[str(reviewer)] = pl.concat(
            [
                mine.with_columns(pl.lit(True).alias("_agent")),
                human.with_columns(pl.lit(False).alias("_agent")),
            ]
        )
    return out


def _cmh(tables: list[tuple[int, int, int, int]]) -> dict[str, float | None]:
    """Pooled CMH chi-square (continuity-corrected), MH odds ratio and weighted rate difference.

    Each table is ``(a, n1, c, n0)``: failures and size of the agent group,
    failures and size of the human group.
    """
    s_a = s_e = s_v = or_num = or_den = rd_num = rd_den = 0.0
    for a, n1, c, n0 in tables:
        n = n1 + n0
        m1 = a + c
        s_a += a
        s_e += n1 * m1 / n
        if n > 1:
            s_v += n1 * n0 * m1 * (n - m1) / (n * n * (n - 1))
        or_num += a * (n0 - c) / n
        or_den += (n1 - a) * c / n
        w = n1 * n0 / n
        rd_num += w * (a / n1 - c / n0)
        rd_den += w
    if s_v > 0:
        chi2 = (max(abs(s_a - s_e) - 0.5, 0.0)) ** 2 / s_v
        p: float | None = chi2_sf_1(chi2)
    else:
        chi2, p = math.nan, None
    return {
        "statistic": chi2 if not math.isnan(chi2) else None,
        "p_value": p,
        "odds_ratio": (or_num / or_den) if or_den > 0 else (math.inf if or_num > 0 else None),
        "rate_diff": rd_num / rd_den if rd_den > 0 else None,
    }


_COMPARISON_SCHEMA: Final = pl.Schema(
    {
        "reviewer": pl.String,
        "level": pl.String,
        "tier": pl.String,
        "stage": pl.String,
        "agent_prs": pl.Int64,
        "agent_failed": pl.Int64,
        "agent_rate": pl.Float64,
        "human_prs": pl.Int64,
        "human_failed": pl.Int64,
        "human_rate": pl.Float64,
        "rate_diff": pl.Float64,
        "odds_ratio": pl.Float64,
        "p_value": pl.Float64,
        "test": pl.String,
        "worse": pl.Boolean,
    }
)


def reviewer_comparison(
    source: HasInputs | pl.DataFrame | Inputs,
    design: Design | None = None,
    *,
    conformance: ConformanceResult | None = None,
    window_days: float = 14,
    outcome: str = "failed",
    events_attrs: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """Each agent reviewer against human reviewers of comparable work (see the module docstring).

    One row per stratum (``level = "stratum"``: tier × stage, Fisher's exact
    test) and one pooled row per agent reviewer (``level = "pooled"``:
    Cochran–Mantel–Haenszel, ``rate_diff`` the MH-weighted difference,
    ``worse`` whether the agent is measurably worse).
    """
    if outcome not in OUTCOMES:
        from wfmine.errors import InputError

        raise InputError(f"unknown outcome {outcome!r}; valid: {', '.join(OUTCOMES)}")
    inp = inputs_of(source, design, conformance=conformance, events_attrs=events_attrs)
    df = _joined(inp, window_days)
    rows: list[dict[str, Any]] = []
    for reviewer, g in _groups(df, outcome).items():
        strata = (
            g.group_by("tier", "stage")
            .agg(
                pl.col("_agent").sum().alias("n1"),
                (pl.col("_agent") & pl.col("_y")).sum().alias("a"),
                (~pl.col("_agent")).sum().alias("n0"),
                (~pl.col("_agent") & pl.col("_y")).sum().alias("c"),
            )
            .filter((pl.col("n1") > 0) & (pl.col("n0") > 0))
            .sort("tier", "stage")
        )
        tables: list[tuple[int, int, int, int]] = []
        for s in strata.iter_rows(named=True):
            a, n1, c, n0 = int(s["a"]), int(s["n1"]), int(s["c"]), int(s["n0"])
            tables.append((a, n1, c, n0))
            odds, p = fisher_exact(a, n1 - a, c, n0 - c)
            rows.append({
                "reviewer": reviewer, "level": "stratum", "tier": s["tier"], "stage": s["stage"],
                "agent_prs": n1, "agent_failed": a, "agent_rate": a / n1,
                "human_prs": n0, "human_failed": c, "human_rate": c / n0,
                "rate_diff": a / n1 - c / n0,
                "odds_ratio": float(odds) if math.isfinite(odds) else None,
                "p_value": float(p), "test": "fisher_exact", "worse": None,
            })  # fmt: skip
        n1s = sum(t[1] for t in tables)
        n0s = sum(t[3] for t in tables)
        a_s = sum(t[0] for t in tables)
        c_s = sum(t[2] for t in tables)
        pooled = _cmh(tables) if tables else {"p_value": None, "odds_ratio": None,
                                              "rate_diff": None}  # fmt: skip
        rd = pooled["rate_diff"]
        p_val = pooled["p_value"]
        worse = bool(p_val is not None and p_val < ALPHA and rd is not None and rd >= MIN_RATE_DIFF)
        odds_ratio = pooled["odds_ratio"]
        rows.append({
            "reviewer": reviewer, "level": "pooled", "tier": None, "stage": None,
            "agent_prs": n1s, "agent_failed": a_s, "agent_rate": a_s / n1s if n1s else None,
            "human_prs": n0s, "human_failed": c_s, "human_rate": c_s / n0s if n0s else None,
            "rate_diff": rd,
            "odds_ratio": odds_ratio if odds_ratio is not None and math.isfinite(odds_ratio)
            else None,
            "p_value": p_val, "test": "cochran_mantel_haenszel", "worse": worse,
        })  # fmt: skip
    return (
        pl.DataFrame(rows, schema=_COMPARISON_SCHEMA, orient="row")
        if rows
        else pl.DataFrame(schema=_COMPARISON_SCHEMA)
    )


def reviewer_findings(
    source: HasInputs | pl.DataFrame | Inputs,
    design: Design | None = None,
    *,
    conformance: ConformanceResult | None = None,
    window_days: float = 14,
    events_attrs: pl.DataFrame | None = None,
    names: dict[str, str] | None = None,
) -> list[Finding]:
    """A ``reviewer_quality`` finding per agent reviewer that is measurably worse (module docstring)."""
    inp = inputs_of(source, design, conformance=conformance, events_attrs=events_attrs)
    comparison = reviewer_comparison(inp, window_days=window_days)
    df = _joined(inp, window_days)
    groups = _groups(df, "failed")
    design = inp.design
    out: list[Finding] = []
    for row in comparison.filter((pl.col("level") == "pooled") & pl.col("worse")).iter_rows(
        named=True
    ):
        reviewer = str(row["reviewer"])
        name = (names or {}).get(reviewer, reviewer)
        g = groups[reviewer]
        mine = g.filter(pl.col("_agent"))
        failed_cases = mine.filter(pl.col("_y")).get_column("case_id").unique().sort().to_list()
        strata = comparison.filter(
            (pl.col("reviewer") == reviewer) & (pl.col("level") == "stratum")
        ).drop("reviewer", "level", "worse")
        a, n1 = int(row["agent_failed"]), int(row["agent_prs"])
        c, n0 = int(row["human_failed"]), int(row["human_prs"])
        rd = float(row["rate_diff"])
        lo1, hi1 = _wilson_py(a, n1)
        lo0, hi0 = _wilson_py(c, n0)
        excess = max(a - n1 * (c / n0 if n0 else 0.0), 0.0)
        tiers = sorted({str(t) for t in strata.get_column("tier").to_list()})
        stages = sorted({str(s) for s in strata.get_column("stage").to_list()})
        gate = design.gates[0] if design is not None and design.gates else None
        suggestion = None
        if gate is not None:
            patch = (
                "gates:\n"
                f"  - before: {gate.before}\n"
                f"    approvals: {list(gate.approvals)}\n"
                "    reversible: human_approval\n"
            )
            suggestion = {
                "patch": patch,
                "effect": (
                    f"{n1} changes in the log went through on {name}'s approval alone; with a "
                    f"human approval at the human rate about {excess:.0f} fewer would have been "
                    f"reverted or reopened"
                ),
            }
        merged = mine.get_column("merged")
        out.append(
            Finding(
                kind="reviewer_quality",
                subject=reviewer,
                severity="high" if rd >= 0.15 else "medium",
                summary=(
                    f"Changes approved by {name} alone were reverted or reopened within "
                    f"{window_days:g} days {a / n1:.0%} of the time ({a}/{n1}), against "
                    f"{c / n0:.0%} ({c}/{n0}) for human-approved changes of the same risk tier "
                    f"and stage (Cochran–Mantel–Haenszel p={row['p_value']:.3g})."
                ),
                evidence={
                    "cases": failed_cases,
                    "events": a,
                    "window_days": window_days,
                    "agent": {"prs": n1, "failed": a, "rate": a / n1, "ci95": [lo1, hi1]},
                    "human": {
                        "prs": n0,
                        "failed": c,
                        "rate": c / n0 if n0 else None,
                        "ci95": [lo0, hi0],
                    },
                    "rate_diff": rd,
                    "odds_ratio": row["odds_ratio"],
                    "p_value": row["p_value"],
                    "test": "Cochran–Mantel–Haenszel over tier × stage strata "
                    "(Fisher's exact test per stratum)",
                    "comparable": "same risk tier and same approval stage; agent group: PRs "
                    "approved by the agent and no human; human group: PRs a human approved",
                    "strata": strata.to_dicts(),
                },
                first_seen=merged.min(),
                last_seen=merged.max(),
                trend=None,
                subject_name=name,
                assumption=(
                    f"the design assumes {name}'s approval is enough for {', '.join(tiers)} "
                    f"changes approved in {', '.join(stages)}"
                ),
                suggestion=suggestion,
            )
        )
    return out


def _wilson_py(k: int, n: int, z: float = Z95) -> tuple[float | None, float | None]:
    if n == 0:
        return None, None
    p = k / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return (max(centre - half, 0.0) if k else 0.0), min(centre + half, 1.0)
