"""Tracker statuses grouped into stages, and the other sources' activities mapped onto them."""

from __future__ import annotations

import polars as pl

from wfmine.design import activity_key
from wfmine.infer._base import (
    _CREATED,
    _STATUS,
    CHAT_SOURCES,
    PASS_THROUGH_S,
    TRIGGER_S,
    _human,
    _pct,
    _slug,
)

# -- statuses -> stages -----------------------------------------------------------------


def _status_events(log: pl.DataFrame) -> pl.DataFrame:
    """The tracker's state events: ``Issue created`` and ``Status: <name>`` of Jira, per case."""
    act = pl.col("activity")
    state = (pl.col("source") == "jira") & (act.str.starts_with(_STATUS) | (act == _CREATED))
    ev = (
        log.filter(state.fill_null(False))
        .with_columns(
            pl.when(act == _CREATED)
            .then(pl.lit(_CREATED))
            .otherwise(act.str.slice(len(_STATUS)))
            .alias("status")
        )
        .sort("case_id", "timestamp", "seq", "event_id", nulls_last=True)
    )
    return ev.with_columns(
        pl.col("status").shift(-1).over("case_id").alias("next"),
        (pl.col("timestamp").shift(-1).over("case_id") - pl.col("timestamp"))
        .dt.total_seconds(fractional=True)
        .alias("dwell_s"),
        pl.int_range(pl.len()).over("case_id").alias("idx"),
    )


def _group_statuses(ev: pl.DataFrame) -> pl.DataFrame:
    """Per status: its figures and the group (stage) it belongs to."""
    n_cases = ev.get_column("case_id").n_unique()
    stats = ev.group_by("status").agg(
        pl.col("case_id").n_unique().alias("cases"),
        pl.len().alias("entries"),
        pl.col("dwell_s").median().alias("dwell_median_s"),
    )
    first = (
        ev.group_by("case_id", "status")
        .agg(pl.col("idx").min().alias("first"))
        .group_by("status")
        .agg(pl.col("first").median().alias("order"))
    )
    nxt = (
        ev.filter(pl.col("next").is_not_null())
        .group_by("status", "next")
        .len()
        .sort(["status", "len", "next"], descending=[False, True, False])
        .group_by("status", maintain_order=True)
        .agg(
            pl.col("next").first(),
            (pl.col("len").first() / pl.col("len").sum()).alias("next_share"),
        )
    )
    stats = (
        stats.join(first, on="status", how="left")
        .join(nxt, on="status", how="left")
        .sort(["order", "entries", "status"], descending=[False, True, False])
    )
    order = dict(zip(stats["status"], stats["order"], strict=True))
    parent: dict[str, str] = {s: s for s in stats["status"]}
    why: dict[str, str] = {}

    def root(s: str) -> str:
        while parent[s] != s:
            s = parent[s]
        return s

    for row in stats.iter_rows(named=True):
        s, nx, share = row["status"], row["next"], row["next_share"] or 0.0
        if nx is None or nx == s or share < 0.9:
            continue
        dwell = row["dwell_median_s"]
        if dwell is not None and dwell < PASS_THROUGH_S:
            if root(nx) != root(s):
                parent[root(s)] = root(nx)
                why[s] = (
                    f"left for {nx!r} within {_human(dwell)} (median) in {_pct(share)} of "
                    "entries: one step"
                )
        elif row["cases"] < 0.2 * n_cases and order[nx] < order[s] and root(nx) != root(s):
            parent[root(s)] = root(nx)
            why[s] = (
                f"used in {row['cases']} cases, always leading back into {nx!r} "
                f"({_pct(share)}): a door into that step"
            )
    groups = {s: root(s) for s in parent}
    return stats.with_columns(
        pl.col("status").replace_strict(groups, return_dtype=pl.String).alias("group"),
        pl.col("status").replace_strict(why, default=None, return_dtype=pl.String).alias("grouped"),
    )


def _stage_names(stats: pl.DataFrame) -> dict[str, str]:
    """Stage id per group: the slug of its status, ``intake`` for a bare ``Issue created``."""
    names: dict[str, str] = {}
    used: set[str] = set()
    for group in dict.fromkeys(stats.get_column("group").to_list()):
        base = "intake" if group == _CREATED else _slug(group)
        name, i = base, 2
        while name in used or name == "other":
            name, i = f"{base}_{i}", i + 1
        used.add(name)
        names[group] = name
    return names


# -- the other sources' activities ---------------------------------------------------------


def _attribute(log: pl.DataFrame, ev: pl.DataFrame, group_stage: dict[str, str]) -> pl.DataFrame:
    """Per activity key of the other sources: the stage it mostly happens in, and why."""
    state = ev.select(
        "case_id",
        pl.col("timestamp").alias("_at"),
        pl.col("status").replace_strict(group_stage, return_dtype=pl.String).alias("_st"),
    ).sort("_at")
    first = (
        ev.sort("timestamp")
        .group_by("case_id")
        .agg(
            pl.col("status")
            .first()
            .replace_strict(group_stage, return_dtype=pl.String)
            .alias("_first")
        )
    )
    is_state = (pl.col("source") == "jira") & pl.col("activity").str.starts_with(_STATUS)
    others = (
        log.filter(~is_state.fill_null(False) & (pl.col("activity") != _CREATED))
        .filter(~pl.col("source").is_in(list(CHAT_SOURCES)).fill_null(False))
        .filter(pl.col("source").fill_null("") != "jira")
        .join(first, on="case_id", how="inner")
        .select(
            "case_id",
            "timestamp",
            "source",
            "activity",
            "team",
            "actor_kind",
            "_first",
            key=activity_key(),
        )
        .sort("timestamp")
    )
    if others.height == 0:
        return pl.DataFrame(
            schema={
                "key": pl.String,
                "stage": pl.String,
                "events": pl.UInt32,
                "share": pl.Float64,
                "rule": pl.String,
            }
        )
    back = others.join_asof(
        state.rename({"_at": "_prev_at", "_st": "_prev"}),
        left_on="timestamp",
        right_on="_prev_at",
        by="case_id",
        strategy="backward",
        check_sortedness=False,
    ).sort("timestamp")
    both = back.join_asof(
        state.rename({"_at": "_next_at", "_st": "_next"}),
        left_on="timestamp",
        right_on="_next_at",
        by="case_id",
        strategy="forward",
        allow_exact_matches=False,
        check_sortedness=False,
    )
    gap = (pl.col("_next_at") - pl.col("timestamp")).dt.total_seconds(fractional=True)
    both = both.with_columns(
        pl.coalesce("_prev", "_first").alias("_in"),
        ((gap <= TRIGGER_S) & (pl.col("_next") != pl.coalesce("_prev", "_first")))
        .fill_null(False)
        .alias("_trig"),
    )
    trig = both.group_by("key").agg(pl.col("_trig").mean().alias("trigger_share"))
    as_of = (
        both.group_by("key", "_in")
        .len()
        .sort(["key", "len", "_in"], descending=[False, True, False])
        .group_by("key", maintain_order=True)
        .agg(
            pl.col("_in").first().alias("in_stage"),
            (pl.col("len").first() / pl.col("len").sum()).alias("in_share"),
            pl.col("len").sum().alias("events"),
        )
    )
    moved = (
        both.filter(pl.col("_trig"))
        .group_by("key", "_next")
        .len()
        .sort(["key", "len", "_next"], descending=[False, True, False])
        .group_by("key", maintain_order=True)
        .agg(pl.col("_next").first().alias("to_stage"))
    )
    # the team owning each stage: who moves work into it on the tracker; and who does
    # each activity
    movers = ev.filter((pl.col("actor_kind") == "human") & pl.col("team").is_not_null())
    owner = dict(
        movers.with_columns(
            pl.col("status").replace_strict(group_stage, return_dtype=pl.String).alias("_in")
        )
        .group_by("_in", "team")
        .len()
        .sort(["_in", "len", "team"], descending=[False, True, False])
        .group_by("_in", maintain_order=True)
        .agg(pl.col("team").first())
        .iter_rows()
    )
    people = both.filter((pl.col("actor_kind") == "human") & pl.col("team").is_not_null())
    doer = (
        people.group_by("key", "team")
        .len()
        .sort(["key", "len", "team"], descending=[False, True, False])
        .group_by("key", maintain_order=True)
        .agg(
            pl.col("team").first().alias("doer"),
            (pl.col("len").first() / pl.col("len").sum()).alias("doer_share"),
        )
    )
    ahead = (
        both.group_by("key", "_next")
        .len()
        .drop_nulls("_next")
        .sort(["key", "len", "_next"], descending=[False, True, False])
        .group_by("key", maintain_order=True)
        .agg(pl.col("_next").first().alias("next_stage"))
    )
    out = (
        as_of.join(trig, on="key")
        .join(moved, on="key", how="left")
        .join(doer, on="key", how="left")
        .join(ahead, on="key", how="left")
    )
    own_of = pl.col("in_stage").replace_strict(owner, default=None, return_dtype=pl.String)
    next_own = pl.col("next_stage").replace_strict(owner, default=None, return_dtype=pl.String)
    triggers = pl.col("trigger_share") >= 0.8
    # work the next stage's team does while the tracker still shows this stage is that
    # stage's work, done before the tracker caught up (a release team merging)
    heralds = (
        (pl.col("doer_share") >= 0.6)
        & (pl.col("doer") != own_of)
        & (pl.col("doer") == next_own)
        & (pl.col("next_stage") != pl.col("in_stage"))
    ).fill_null(False)
    return out.select(
        "key",
        pl.when(triggers)
        .then("to_stage")
        .when(heralds)
        .then("next_stage")
        .otherwise("in_stage")
        .alias("stage"),
        pl.col("events").cast(pl.UInt32),
        pl.when(triggers)
        .then("trigger_share")
        .when(heralds)
        .then("doer_share")
        .otherwise("in_share")
        .alias("share"),
        pl.when(triggers)
        .then(pl.lit("moves the tracker into"))
        .when(heralds)
        .then(
            pl.format(
                "is done by {}, the team of the next stage, before the tracker moves to", "doer"
            )
        )
        .otherwise(pl.lit("happens while the tracker is in"))
        .alias("rule"),
    ).sort("key")
