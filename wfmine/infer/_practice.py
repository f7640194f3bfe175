"""What the draft rests on: stage figures, transitions, the gate and tiers as practised, seams and agents seen."""

from __future__ import annotations

from typing import Any, Final

import polars as pl

from wfmine.conformance import case_attributes, store_accounts
from wfmine.design import Design, activity_key
from wfmine.findings import seams as seam_table
from wfmine.infer._base import _DEFAULT_Q, _LEVELS, _TIER_OF_LEVEL, _dur
from wfmine.store import Store

_MERGES: Final = ("github:PR merged", "github:Revert merged")


def _merge_opens_next(members: dict[str, list[str]], order: list[str], acts: pl.DataFrame) -> None:
    """Merging is the irreversible step: it opens the stage after the one approvals happen in.

    When the tracker lags (the item is moved on by hand after the merge),
    merges land in the stage of the review; a gate "approvals before the
    merge" then needs the merge to start the next stage. Edits ``members``
    and the ``acts`` rows' explanations are left as they are (the comment
    says why).
    """
    del acts
    for i, stage in enumerate(order[:-1]):
        if "github:PR merged" in members[stage] and "github:PR approved" in members[stage]:
            nxt = order[i + 1]
            for key in _MERGES:
                if key in members[stage]:
                    members[stage].remove(key)
                    members[nxt].append(key)
            return


def _share(counts: pl.DataFrame, stage: str, total: int) -> float:
    hit = counts.filter(pl.col("stage") == stage)
    return float(hit.get_column("len").sum()) / total if hit.height else 0.0


def _stage_figures(
    staged: pl.DataFrame, visits: pl.DataFrame, stage_order: list[str]
) -> pl.DataFrame:
    """Per stage: owning team by share of human work, performer kind, visit durations."""
    work = staged.filter(pl.col("performed") & pl.col("at_stage").is_not_null())
    human = work.filter((pl.col("kind") == "human") & pl.col("team").is_not_null())
    teams = (
        human.group_by("at_stage", "team")
        .len()
        .sort(["at_stage", "len", "team"], descending=[False, True, False])
        .group_by("at_stage", maintain_order=True)
        .agg(
            pl.col("team").first(),
            (pl.col("len").first() / pl.col("len").sum()).alias("team_share"),
            pl.col("team").n_unique().alias("teams"),
            pl.format(
                "{} {}%",
                "team",
                (pl.col("len") / pl.col("len").sum() * 100).round(0).cast(pl.Int64),
            )
            .head(3)
            .str.join(", ")
            .alias("team_mix"),
        )
        .rename({"at_stage": "stage"})
    )
    own = staged.filter(
        pl.col("performed") & (pl.col("stage") == pl.col("at_stage")) & pl.col("kind").is_not_null()
    )
    kinds = own.group_by(pl.col("at_stage").alias("stage")).agg(
        pl.len().alias("events"), (pl.col("kind") == "agent").mean().alias("agent_share")
    )
    dur = (pl.col("end") - pl.col("start")).dt.total_seconds(fractional=True)
    times = visits.group_by("stage").agg(
        pl.len().alias("visits"),
        pl.col("case_id").n_unique().alias("cases"),
        dur.median().alias("median_s"),
        dur.quantile(0.8, interpolation="linear").alias("p80_s"),
    )
    base = pl.DataFrame({"stage": stage_order})
    out = (
        base.join(teams, on="stage", how="left")
        .join(kinds, on="stage", how="left")
        .join(times, on="stage", how="left")
    )
    share = pl.col("agent_share").fill_null(0.0)
    performer = (
        pl.when(share < 0.05)
        .then(pl.lit("human"))
        .when(share > 0.95)
        .then(pl.lit("agent"))
        .otherwise(pl.lit("either"))
    )
    expected = pl.col("p80_s").map_elements(
        lambda s: _dur(float(s)) if s and s > 0 else None, return_dtype=pl.String
    )
    # a team owning under a third of the work owns nothing: each project's team does it
    team = pl.when(pl.col("team_share") >= 0.34).then("team").otherwise(None)
    return out.with_columns(
        team.alias("team"), performer.alias("performer"), expected.alias("expected")
    )


def _transitions(visits: pl.DataFrame, n_cases: int, min_share: float) -> pl.DataFrame:
    moves = visits.with_columns(pl.col("stage").shift(-1).over("case_id").alias("to")).filter(
        pl.col("to").is_not_null()
    )
    counts = (
        moves.group_by(pl.col("stage").alias("from"), "to")
        .agg(pl.col("case_id").n_unique().alias("cases"), pl.len().alias("moves"))
        .with_columns((pl.col("cases") / n_cases).alias("share"))
        .with_columns((pl.col("share") >= min_share).alias("kept"))
        .sort(["cases", "from", "to"], descending=[True, False, False])
    )
    return counts


def _gated_stage(members: dict[str, list[str]], order: list[str]) -> str | None:
    for s in order:
        if "github:PR merged" in members[s]:
            return s
    return None


def _empty_gate() -> pl.DataFrame:
    return pl.DataFrame(
        schema={
            "criterion": pl.String,
            "value": pl.String,
            "cases": pl.UInt32,
            "level": pl.String,
            "tier": pl.String,
            "met_share": pl.Float64,
        }
    )


def _case_levels(staged: pl.DataFrame, gated: str) -> pl.DataFrame:
    """Per case reaching ``gated``: the strongest approval it had before (``_LEVELS`` index)."""
    key = activity_key()
    entry = (
        staged.filter(pl.col("stage") == gated)
        .group_by("case_id")
        .agg(pl.col("pos").min().alias("_gate"))
    )
    author = (
        staged.filter(key == "github:PR opened")
        .group_by("case_id")
        .agg(pl.col("actor_id").sort_by("pos").first().alias("_author"))
    )
    appr = (
        staged.filter(key == "github:PR approved")
        .join(entry, on="case_id")
        .join(author, on="case_id", how="left")
        .filter(pl.col("pos") < pl.col("_gate"))
        .filter((pl.col("actor_id") != pl.col("_author")).fill_null(True))
        .group_by("case_id")
        .agg(
            pl.len().alias("approvals"),
            pl.col("actor_id").filter(pl.col("kind") == "human").n_unique().alias("humans"),
        )
    )
    level = (
        pl.when(pl.col("humans") >= 2)
        .then(3)
        .when(pl.col("humans") == 1)
        .then(2)
        .when(pl.col("approvals") >= 1)
        .then(1)
        .otherwise(0)
    )
    return (
        entry.join(appr, on="case_id", how="left")
        .with_columns(pl.col("approvals", "humans").fill_null(0))
        .with_columns(level.alias("level"))
        .select("case_id", "level")
    )


def _shares(levels: pl.Series) -> list[float]:
    """Share of the approved cases (level >= 1) settled at exactly each level 1..3."""
    approved = levels.filter(levels >= 1)
    n = len(approved)
    return [float((approved == lv).sum()) / n if n else 0.0 for lv in (1, 2, 3)]


def _floor(levels: pl.Series, q: float = 0.3) -> int:
    """The practised requirement: the weakest approval at least ``q`` of the approved cases ship on.

    A gate is known by what is *enough* in practice: work that ships on an
    agent's approval alone, often, is reversible work, whatever else it gets.
    """
    shares = _shares(levels)
    for lv, share in zip((1, 2, 3), shares, strict=True):
        if share >= q:
            return lv
    return 0


def _stricter(part: pl.Series, rest: pl.Series, level: int, alpha: float) -> bool:
    """Is ``part`` approved at ``level`` significantly more strictly than ``rest`` (binomial)?"""
    from scipy.stats import binomtest  # type: ignore[import-untyped, unused-ignore]

    approved = part.filter(part >= 1)
    base = rest.filter(rest >= 1)
    n = len(approved)
    if n == 0 or len(base) == 0:
        return False
    below = int((approved < level).sum())
    p_below = float((base < level).sum()) / len(base)
    if p_below <= 0:
        return False
    return bool(binomtest(below, n, min(p_below, 1.0), alternative="less").pvalue < alpha)


def _met(levels: pl.Series, level: int) -> float:
    return float((levels >= level).sum()) / len(levels) if len(levels) else 0.0


def _gate_practice(
    staged: pl.DataFrame, gated: str, store: Store | None, *, alpha: float = 0.05
) -> pl.DataFrame:
    """Practised requirement overall (``default``) and per component / label that separates.

    A component or label is a stricter tier when the weakest approval its
    work ships on is stronger than the rest's and a one-sided binomial test
    says so (fewer of its cases ship on less than the rest would give,
    ``p < alpha``).
    """
    levels = _case_levels(staged, gated)
    if levels.height == 0:
        return _empty_gate()
    attrs = case_attributes(store, staged) if store is not None else None
    overall = _floor(levels["level"], _DEFAULT_Q)
    picked: list[dict[str, Any]] = []
    rest_levels = levels["level"]
    if attrs is not None:
        joined = levels.join(attrs, on="case_id", how="left")
        parts: list[tuple[str, str, pl.Series]] = []
        for criterion in ("components", "labels"):
            exploded = (
                joined.select("case_id", "level", pl.col(criterion).alias("value"))
                .explode("value")
                .filter(pl.col("value").is_not_null())
                .with_columns(pl.col("value").str.to_lowercase())
            )
            for key, group in exploded.group_by("value", maintain_order=True):
                if group.height >= 5:
                    parts.append((criterion, str(key[0]), group.get_column("level")))
        for criterion, name, series in parts:
            lv = _floor(series)
            if lv > overall and _stricter(series, levels["level"], lv, alpha):
                picked.append(
                    {
                        "criterion": criterion,
                        "value": name,
                        "cases": len(series),
                        "lvl": lv,
                        "met_share": _met(series, lv),
                    }
                )
        if picked:
            hit: pl.Expr = pl.lit(False)
            for criterion in ("components", "labels"):
                vals = sorted(c["value"] for c in picked if c["criterion"] == criterion)
                if vals:
                    hit = hit | pl.col(criterion).list.eval(
                        pl.element().str.to_lowercase().is_in(vals)
                    ).list.any().fill_null(False)
            rest = joined.filter(~hit)
            if rest.height:
                rest_levels = rest["level"]
                overall = _floor(rest_levels, _DEFAULT_Q)
    rows: list[dict[str, Any]] = [
        {
            "criterion": "default",
            "value": None,
            "cases": len(rest_levels),
            "level": _LEVELS[overall],
            "tier": _TIER_OF_LEVEL[overall],
            "met_share": _met(rest_levels, overall),
        }
    ]
    for c in sorted(picked, key=lambda c: (-c["lvl"], c["criterion"], c["value"])):
        rows.append(
            {
                "criterion": c["criterion"],
                "value": c["value"],
                "cases": c["cases"],
                "level": _LEVELS[c["lvl"]],
                "tier": _TIER_OF_LEVEL[c["lvl"]],
                "met_share": c["met_share"],
            }
        )
    return pl.DataFrame(rows, schema=_empty_gate().schema)


def _observed_seams(staged: pl.DataFrame, design: Design, n_cases: int) -> pl.DataFrame:
    table = seam_table(staged, design)
    if table.height == 0:
        return table
    return table.filter(
        (pl.col("from") != pl.col("to")) & (pl.col("cases") >= max(3, 0.02 * n_cases))
    )


def _observed_agents(staged: pl.DataFrame, store: Store | None) -> pl.DataFrame:
    bots = staged.filter(
        pl.col("actor_kind").is_in(["bot", "agent"]).fill_null(False)
        & pl.col("actor_id").is_not_null()
    )
    own = pl.col("stage") == pl.col("at_stage")
    per = bots.group_by("actor_id").agg(
        pl.len().alias("events"),
        pl.col("actor_kind").mode().first().alias("kind"),
        pl.col("resource").drop_nulls().mode().first().alias("name"),
        pl.col("source").unique().sort().alias("sources"),
        pl.col("case_id").n_unique().alias("cases"),
    )
    in_stage = (
        bots.filter(own.fill_null(False))
        .group_by("actor_id", "stage")
        .len()
        .with_columns((pl.col("len") / pl.col("len").sum().over("actor_id")).alias("share"))
        .filter(pl.col("share") >= 0.05)
        .sort(["actor_id", "len", "stage"], descending=[False, True, False])
        .group_by("actor_id", maintain_order=True)
        .agg(pl.col("stage").alias("stages"), pl.col("share").alias("stage_shares"))
    )
    out = per.join(in_stage, on="actor_id", how="left").filter(pl.col("events") >= 3)
    if store is not None and out.height:
        acc = (
            store_accounts(store)
            .group_by("actor_id")
            .agg(pl.col("account_id").unique().sort().alias("accounts"))
        )
        out = out.join(acc, on="actor_id", how="left")
    else:
        out = out.with_columns(pl.lit(None, dtype=pl.List(pl.String)).alias("accounts"))
    return out.sort(["events", "actor_id"], descending=[True, False])
