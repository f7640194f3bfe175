"""What every governance figure reads, computed once per analysis: PRs, cohorts, outcomes.

A *pull request* here is every object of type ``pull_request`` in the cases in
scope, with its author (the performer of ``PR opened``), when it was opened,
made ready for review, first committed to, first reviewed, picked up and
merged, and its **cohort** -- who did the work:

``automation``     the author is plain automation: a ``bot`` account, or a
                   login the signals data lists as a ``bot`` tool
                   (dependabot, renovate, github-actions), or a sanctioned
                   agent of the design whose accounts are such logins;
``agent``          the author is an AI agent (an ``agent`` account or a
                   sanctioned agent of the design that is not automation);
``human_with_ai``  a human author and at least one of the PR's commits (or the
                   PR's own events by its author, e.g. a ``claude/`` branch)
                   carries an AI tool's signature
                   (:func:`wfmine.findings.actors.ai_events`);
``human``          a human author, nothing AI-signed;
``unknown``        the export names no author.

A commit belongs to the PR linked to it (``part_of`` links of the store)
or, without links, to the first PR of its case merged at or after it -- the
merge that shipped it (else the last PR of the case opened before it).

A case's cohort is the cohort of its pull requests, the first present of
``agent``, ``human_with_ai``, ``human``, ``automation`` (a work item an agent
coded part of is agent work); a case with no PR is ``human`` when a human
performed any of its events, ``automation`` when only automation did.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Final, Protocol

import polars as pl

from wfmine.conformance import ConformanceResult
from wfmine.design import Design
from wfmine.findings._events import staged_events
from wfmine.findings.actors import ai_events
from wfmine.findings.failures import failure_occurrences
from wfmine.findings.signals import load_signals
from wfmine.stages import first_in_group, in_kernel_order
from wfmine.store import Store

__all__ = [
    "COHORTS",
    "REVIEW_ACTIVITIES",
    "HasInputs",
    "Inputs",
    "build_inputs",
    "inputs_of",
    "store_attrs",
    "store_commit_links",
]

#: the cohorts a PR or case can belong to, in the order tables list them
COHORTS: Final = ("human", "human_with_ai", "agent", "automation", "unknown")
#: activities that are a review or comment on a PR (pickup: the first by a human non-author)
REVIEW_ACTIVITIES: Final = (
    "PR approved",
    "Changes requested",
    "PR reviewed",
    "Review comment added",
    "PR comment added",
)
#: reviews proper (review time starts at the first of these)
REVIEWS: Final = ("PR approved", "Changes requested", "PR reviewed")
#: activities that are a deployment when a log has them (else a merge is a deployment)
DEPLOY_ACTIVITIES: Final = ("Deployed", "Deployment succeeded", "Release published")
TS: Final = pl.Datetime("us", "UTC")


def _secs(end: str, start: str) -> pl.Expr:
    return (pl.col(end) - pl.col(start)).dt.total_seconds(fractional=True)


def performer_expr(design: Design | None) -> pl.Expr:
    """``automation`` / ``agent`` / ``human`` / null (nobody named) for each event."""
    sig = load_signals()
    bots = {login.lower() for login, kind, _ in sig.table("logins") if kind == "bot"}
    ids = set(bots) | {f"github:{b}" for b in bots}
    if design is not None:
        for spec in design.agents:
            logins = {a.split(":", 1)[-1].lower() for a in spec.accounts}
            if logins and logins <= bots:
                ids.add(spec.id.lower())
    idset = sorted(ids)
    actor = pl.col("actor_id").cast(pl.String).str.to_lowercase()
    resource = pl.col("resource").cast(pl.String).str.to_lowercase()
    raw = pl.col("actor_kind").fill_null("unknown")
    nobody = pl.col("actor_id").is_null() & pl.col("resource").is_null()
    is_auto = (
        (raw == "bot")
        | actor.is_in(idset).fill_null(False)
        | resource.is_in(idset).fill_null(False)
        | pl.col("agent").cast(pl.String).str.to_lowercase().is_in(idset).fill_null(False)
    )
    return (
        pl.when(nobody)
        .then(pl.lit(None, dtype=pl.String))
        .when(is_auto)
        .then(pl.lit("automation"))
        .when((raw == "agent") | pl.col("agent").is_not_null())
        .then(pl.lit("agent"))
        .otherwise(pl.lit("human"))
    )


@dataclass
class Inputs:
    """The frames the governance figures share (see the module docstring)."""

    design: Design | None
    #: stage events of the cases in scope, with ``performer`` (see :func:`performer_expr`)
    events: pl.DataFrame
    #: one row per pull request (see :func:`_pull_requests`)
    prs: pl.DataFrame
    #: ``case_id, cohort``
    cases: pl.DataFrame
    #: ``case_id, tier`` (null tier without a design)
    tiers: pl.DataFrame
    #: failure occurrences (:func:`wfmine.findings.failures.failure_occurrences`)
    occurrences: pl.DataFrame
    #: reverts: ``revert_event_id, case_id, reverted_at, revert_opened, target``
    reverts: pl.DataFrame
    conformance: ConformanceResult | None
    #: the conformance visits' finished ones with their durations
    #: (:func:`wfmine.findings.stalls.visit_durations`), when the caller has them: the cohorts'
    #: waits per stage read them instead of computing them again
    finished: pl.DataFrame | None = None


class HasInputs(Protocol):
    """What the governance figures read from an analysis: its inputs, computed once.

    :class:`wfmine.analysis.Analysis` is one (its ``governance`` attribute),
    and the parts it builds them from.
    """

    @property
    def governance(self) -> Inputs: ...

    @property
    def log(self) -> pl.DataFrame: ...

    @property
    def design(self) -> Design | None: ...

    @property
    def conformance(self) -> ConformanceResult | None: ...

    @property
    def staged(self) -> pl.DataFrame | None: ...

    @property
    def store(self) -> Store | None: ...


def store_attrs(store: Store) -> pl.DataFrame:
    """``event_id, attrs, account_id`` of every event of a store."""
    return store.sql(
        "SELECT event_id, CAST(attrs AS VARCHAR) AS attrs, actor_id AS account_id FROM events"
    )


def store_commit_links(store: Store) -> pl.DataFrame:
    """``commit_id, pr_id`` from the store's ``part_of`` links of commits to pull requests."""
    return store.sql(
        "SELECT l.from_object AS commit_id, l.to_object AS pr_id FROM object_links l "
        "JOIN objects o ON o.object_id = l.to_object "
        "WHERE l.relation = 'part_of' AND o.object_type = 'pull_request'"
    ).unique(subset="commit_id", keep="first", maintain_order=True)


def inputs_of(
    source: HasInputs | pl.DataFrame | Inputs,
    design: Design | None = None,
    *,
    conformance: ConformanceResult | None = None,
    events_attrs: pl.DataFrame | None = None,
    commit_links: pl.DataFrame | None = None,
    staged: pl.DataFrame | None = None,
) -> Inputs:
    """The shared inputs of an analysis (computed once, by the analysis) or of a flat log.

    For a flat log give the ``design`` and, if computed, its ``conformance``
    result and ``staged`` events; ``events_attrs`` (``event_id, attrs`` and
    optionally ``account_id``) enables AI signatures and revert targets.
    """
    if isinstance(source, Inputs):
        return source
    if not isinstance(source, pl.DataFrame):
        if events_attrs is None and commit_links is None:
            return source.governance
        # other attributes or links than the store's: the analysis' parts, built anew
        store = source.store
        if store is not None:
            events_attrs = store_attrs(store) if events_attrs is None else events_attrs
            commit_links = store_commit_links(store) if commit_links is None else commit_links
        return build_inputs(
            source.log, source.design, source.conformance, events_attrs, commit_links,
            source.staged,
        )  # fmt: skip
    if design is not None and conformance is None:
        from wfmine.conformance import check

        conformance = check(source, design, staged=staged)
    return build_inputs(source, design, conformance, events_attrs, commit_links, staged)


def build_inputs(
    log: pl.DataFrame,
    design: Design | None,
    conformance: ConformanceResult | None,
    events_attrs: pl.DataFrame | None,
    commit_links: pl.DataFrame | None,
    staged: pl.DataFrame | None,
    *,
    occurrences: pl.DataFrame | None = None,
    ai: pl.DataFrame | None = None,
    judged: pl.DataFrame | None = None,
    finished: pl.DataFrame | None = None,
) -> Inputs:
    """The shared inputs; ``occurrences`` (:func:`failure_occurrences` of the judged
    events and ``events_attrs``), ``ai`` (:func:`ai_events` of ``events_attrs``),
    ``judged`` (the stage events of the conformance result's cases, in case
    order) and ``finished`` (:func:`~wfmine.findings.stalls.visit_durations` of the
    conformance result's visits) are taken as given when the caller has computed them."""
    if staged is None:
        staged = staged_events(log, design)
    ids = log.select("case_id").unique()
    if conformance is not None:
        ids = conformance.cases.select("case_id")
    if judged is None or conformance is None:
        judged = staged.join(ids, on="case_id", how="semi", maintain_order="left")
    events = judged.with_columns(performer_expr(design).alias("performer"))
    occ = failure_occurrences(events, design, events_attrs) if occurrences is None else occurrences
    if conformance is not None:
        tiers = conformance.cases.select("case_id", pl.col("tier").cast(pl.String))
    else:
        tiers = ids.with_columns(pl.lit(None, dtype=pl.String).alias("tier"))
    signed = (ai_events(events_attrs) if ai is None else ai).select("event_id").unique()
    reverts = _reverts(events, events_attrs)
    prs = _pull_requests(events, signed, commit_links, reverts)
    reverts = _revert_targets(reverts, prs)
    cases = _case_cohorts(events, prs)
    finished = finished if conformance is not None else None
    return Inputs(design, events, prs, cases, tiers, occ, reverts, conformance, finished)


def _reverts(events: pl.DataFrame, events_attrs: pl.DataFrame | None) -> pl.DataFrame:
    rv = events.filter(pl.col("activity") == "Revert merged").select(
        pl.col("event_id").alias("revert_event_id"),
        "case_id",
        pl.col("object_id").alias("revert_pr"),
        pl.col("timestamp").alias("reverted_at"),
    )
    if events_attrs is not None and events_attrs.height and rv.height:
        target = events_attrs.select(
            pl.col("event_id").alias("revert_event_id"),
            pl.col("attrs").cast(pl.String).str.json_path_match("$.reverts").alias("target"),
        ).unique(subset="revert_event_id", keep="first")
        rv = rv.join(target, on="revert_event_id", how="left")
    else:
        rv = rv.with_columns(pl.lit(None, dtype=pl.String).alias("target"))
    return rv


def _pull_requests(
    events: pl.DataFrame,
    signed: pl.DataFrame,
    commit_links: pl.DataFrame | None,
    reverts: pl.DataFrame,
) -> pl.DataFrame:
    pr_events = events.filter(pl.col("object_type") == "pull_request")
    act = pl.col("activity")
    ts = pl.col("timestamp")
    opened = act == "PR opened"
    base = pr_events.group_by("object_id").agg(
        pl.col("case_id").first(),
        ts.filter(opened).min().alias("opened"),
        pl.col("actor_id").filter(opened).first().alias("author"),
        pl.col("performer").filter(opened).first().alias("author_kind"),
        ts.filter(act == "PR ready for review").min().alias("ready"),
        ts.filter(act == "PR merged").min().alias("merged"),
    )
    base = base.rename({"object_id": "pr_id"})
    firsts = (
        pr_events.join(
            base.select(
                pl.col("pr_id").alias("object_id"),
                "author",
                pl.max_horizontal("opened", "ready").alias("_start"),
            ),
            on="object_id",
        )
        .group_by("object_id")
        .agg(
            ts.filter(act.is_in(REVIEWS)).min().alias("first_review"),
            ts.filter(
                act.is_in(REVIEW_ACTIVITIES)
                & (pl.col("performer") == "human")
                & (pl.col("actor_id") != pl.col("author")).fill_null(True)
                & (ts >= pl.col("_start")).fill_null(True)
            )
            .min()
            .alias("pickup_at"),
            pl.col("event_id")
            .filter((pl.col("actor_id") == pl.col("author")).fill_null(False))
            .alias("_own"),
        )
        .rename({"object_id": "pr_id"})
    )
    prs = base.join(firsts, on="pr_id", how="left")
    # commits: to their linked PR, else to the first PR of the case merged at or after them
    commits = events.filter(pl.col("activity") == "Commit pushed").select(
        "case_id", "event_id", pl.col("object_id").alias("commit_id"), "timestamp"
    )
    commits = commits.with_columns(
        pl.col("event_id").is_in(signed["event_id"].implode()).alias("_signed")
    )
    if commit_links is not None and commit_links.height:
        commits = commits.join(
            commit_links.select("commit_id", pl.col("pr_id").alias("_linked")),
            on="commit_id",
            how="left",
        )
    else:
        commits = commits.with_columns(pl.lit(None, dtype=pl.String).alias("_linked"))
    merges = (
        prs.filter(pl.col("merged").is_not_null())
        .select("case_id", pl.col("merged").alias("_t"), pl.col("pr_id").alias("_fwd"))
        .sort("_t")
    )
    opens = (
        prs.filter(pl.col("opened").is_not_null())
        .select("case_id", pl.col("opened").alias("_t"), pl.col("pr_id").alias("_back"))
        .sort("_t")
    )
    commits = commits.sort("timestamp").with_columns(pl.col("timestamp").alias("_t"))
    commits = commits.join_asof(
        merges, on="_t", by="case_id", strategy="forward", check_sortedness=False
    )
    commits = commits.join_asof(
        opens, on="_t", by="case_id", strategy="backward", check_sortedness=False
    )
    commits = commits.with_columns(pl.coalesce("_linked", "_fwd", "_back").alias("pr_id"))
    per_pr = (
        commits.filter(pl.col("pr_id").is_not_null())
        .group_by("pr_id")
        .agg(
            pl.col("timestamp").min().alias("first_commit"),
            pl.len().alias("commits"),
            pl.col("_signed").any().alias("_ai_commit"),
        )
    )
    prs = prs.join(per_pr, on="pr_id", how="left")
    own_signed = prs.select(
        "pr_id",
        pl.col("_own")
        .list.eval(pl.element().is_in(signed["event_id"].implode()))
        .list.any()
        .alias("_ai_own"),
    )
    prs = prs.join(own_signed, on="pr_id", how="left")
    ai = pl.col("_ai_commit").fill_null(False) | pl.col("_ai_own").fill_null(False)
    kind = pl.col("author_kind")
    cohort = (
        pl.when(kind == "automation")
        .then(pl.lit("automation"))
        .when(kind == "agent")
        .then(pl.lit("agent"))
        .when((kind == "human") & ai)
        .then(pl.lit("human_with_ai"))
        .when(kind == "human")
        .then(pl.lit("human"))
        .otherwise(pl.lit("unknown"))
    )
    revert_prs = reverts.select(pl.col("revert_pr").alias("pr_id")).unique()
    return (
        prs.with_columns(
            cohort.alias("cohort"),
            pl.col("commits").fill_null(0),
            pl.col("pr_id").is_in(revert_prs["pr_id"].implode()).alias("is_revert"),
        )
        .drop("_own", "_ai_commit", "_ai_own")
        .sort("pr_id")
    )


def _revert_targets(reverts: pl.DataFrame, prs: pl.DataFrame) -> pl.DataFrame:
    """Each revert's target PR: its ``reverts`` attribute, else the last PR merged before it."""
    opened = prs.select(pl.col("pr_id").alias("revert_pr"), pl.col("opened").alias("revert_opened"))
    rv = reverts.join(opened, on="revert_pr", how="left")
    merged = (
        prs.filter(pl.col("merged").is_not_null() & ~pl.col("is_revert"))
        .select("case_id", pl.col("merged").alias("_t"), pl.col("pr_id").alias("_last"))
        .sort("_t")
    )
    rv = (
        rv.with_columns(pl.col("reverted_at").alias("_t"))
        .sort("_t")
        .join_asof(merged, on="_t", by="case_id", strategy="backward", check_sortedness=False)
        .with_columns(pl.coalesce("target", "_last").alias("target"))
        .drop("_t", "_last")
    )
    return rv


def _case_cohorts(events: pl.DataFrame, prs: pl.DataFrame) -> pl.DataFrame:
    order = {c: i for i, c in enumerate(("agent", "human_with_ai", "human", "automation"))}
    from_prs = (
        prs.filter(pl.col("cohort") != "unknown")
        .with_columns(pl.col("cohort").replace_strict(order, return_dtype=pl.Int64).alias("_r"))
        .group_by("case_id")
        .agg(pl.col("cohort").sort_by("_r").first())
    )
    performers = _case_performers(events)
    fallback = (
        pl.when(pl.col("_h"))
        .then(pl.lit("human"))
        .when(pl.col("_a"))
        .then(pl.lit("automation"))
        .otherwise(pl.lit("unknown"))
    )
    return (
        performers.join(from_prs, on="case_id", how="left")
        .select("case_id", pl.coalesce("cohort", fallback).alias("cohort"))
        .sort("case_id")
    )


def _case_performers(events: pl.DataFrame) -> pl.DataFrame:
    """``case_id, _h, _a``: whether a human, and whether automation, performed any event of
    each case. In the kernel's order each case is one run of rows: counted at the runs' ends
    with array operations, not grouped on a million case ids."""
    human = (pl.col("performer") == "human").fill_null(False)
    auto = (pl.col("performer") == "automation").fill_null(False)
    if events.height == 0 or not in_kernel_order(events):
        return events.group_by("case_id").agg(human.any().alias("_h"), auto.any().alias("_a"))
    import numpy as np

    flags = events.select(first_in_group("case_id").alias("f"), human.alias("h"), auto.alias("a"))
    first, h, a = (flags.to_series(i).to_numpy() for i in range(3))
    starts = np.flatnonzero(first)
    ends = np.append(starts[1:], len(first))  # one past each run's last row

    def some(mask: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
        seen = np.zeros(len(mask) + 1, dtype=np.int64)
        np.cumsum(mask, out=seen[1:])
        return np.asarray(seen[ends] - seen[starts] > 0)

    return pl.DataFrame(
        {
            "case_id": events.get_column("case_id").gather(starts),
            "_h": some(h),
            "_a": some(a),
        }
    )


def week(expr: pl.Expr) -> pl.Expr:
    """The ISO week (Monday 00:00 UTC) of a timestamp."""
    return expr.dt.truncate("1w")


def as_utc(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)
