"""The design, read from the work: a draft design file inferred from the observed log.

:func:`infer_design` drafts a ``design.yaml`` (the format of ``docs/design.md``)
from a flat log, with a comment on every line saying what the line rests on,
so an architect can review it line by line and keep, change or delete:

- **stages** from the tracker's statuses (Jira ``Status: <name>`` and
  ``Issue created``). Statuses used as one step are grouped: a status left
  within :data:`PASS_THROUGH_S` for the same next status nearly every time (an
  automation hop), and a rarely used status that always leads back into an
  earlier one (a ``Reopened`` door into ``In Progress``);
- the **activities** of the other sources mapped onto the stage the tracker
  was in when they happened (an as-of join on the tracker status); an event
  that nearly always moves the tracker within :data:`TRIGGER_S` (a merge that
  closes the issue by automation) belongs to the stage it moves the item into;
- each stage's **team** by share of the human work done in it, its
  **performer** (human / agent / either) by the share of its events done by
  agents and bots, and its **expected** time from the visits' durations;
- **transitions** as practised by at least ``min_share`` of the cases (the
  rarer ones are listed in comments as candidates for ``allow`` or removal);
- the **gate** before the irreversible step (the stage ``PR merged`` maps to)
  and the **risk tiers** as practised: the approvals that precede it, per
  component and label where they separate tiers;
- **seams** observed between teams and between humans and agents, and the
  **bots and agents** seen, each marked "observed, not sanctioned: decide".

The draft is validated with :func:`wfmine.design.load_design_text` before it is
returned: a draft that would not load is a bug and raises.

>>> draft = infer_design(store.log(), store=store)  # doctest: +SKIP
>>> print(draft.text)  # doctest: +SKIP
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any, Final

import polars as pl

from wfmine.conformance import case_attributes, store_accounts
from wfmine.design import Design, activity_key, load_design_text
from wfmine.errors import InputError
from wfmine.findings import seams as seam_table
from wfmine.model import LOG_SCHEMA
from wfmine.stages import case_scope, stage_events, stage_visits
from wfmine.store import Store

__all__ = [
    "CHAT_SOURCES",
    "PASS_THROUGH_S",
    "TRIGGER_S",
    "InferredDesign",
    "SuggestedPatch",
    "infer_design",
    "suggest_patch",
]

#: a status left this quickly for the same next status is an automation hop, not a step
PASS_THROUGH_S: Final = 120.0
#: an event followed this soon by a tracker move, nearly every time, triggers the move
TRIGGER_S: Final = 300.0
#: conversation, not steps: never mapped onto a stage
CHAT_SOURCES: Final = ("slack", "email")
_CREATED: Final = "Issue created"
_STATUS: Final = "Status: "
_LEVELS: Final = ("none", "agent_review", "human_approval", "two_humans")
_TIER_OF_LEVEL: Final = ("reversible", "reversible", "irreversible", "high_stakes")
#: the default tier is the weakest approval this share of the other work ships on; a
#: component or label needs twice that share (and a significant difference) to be stricter
_DEFAULT_Q: Final = 0.15


@dataclass(frozen=True)
class InferredDesign:
    """A drafted design: the YAML text (a comment on every line) and what it rests on.

    ``design`` is the text loaded with :func:`wfmine.design.load_design_text`;
    ``statuses`` (``status, stage, cases, dwell_median_s, next, next_share,
    grouped``), ``activities`` (``key, stage, events, share, rule``),
    ``transitions`` (``from, to, cases, share, kept``), ``gate`` (per criterion
    the practised requirement), ``seams`` and ``agents`` are the structured
    draft behind the lines.
    """

    text: str
    design: Design
    statuses: pl.DataFrame
    activities: pl.DataFrame
    transitions: pl.DataFrame
    stages: pl.DataFrame
    gate: pl.DataFrame
    seams: pl.DataFrame
    agents: pl.DataFrame
    notes: list[str] = field(default_factory=list)


# -- helpers ------------------------------------------------------------------------------


def _q(value: str) -> str:
    """A YAML scalar for ``value``: a JSON string is a valid double-quoted YAML scalar."""
    return json.dumps(value, ensure_ascii=False)


def _slug(name: str) -> str:
    s = re.sub(r"[^0-9a-z]+", "_", name.lower()).strip("_")
    return s or "stage"


def _dur(seconds: float) -> str:
    """A design duration (``30m``, ``4h``, ``2d``, ``1w``) at or above ``seconds``."""
    if seconds <= 3600:
        return f"{max(1, int(-(-seconds // 60)))}m"
    if seconds <= 2 * 86400:
        return f"{int(-(-seconds // 3600))}h"
    days = int(-(-seconds // 86400))
    return f"{days // 7}w" if days % 7 == 0 and days >= 7 else f"{days}d"


def _human(seconds: float | None) -> str:
    if seconds is None:
        return "n/a"
    if seconds < 120:
        return f"{seconds:.0f}s"
    if seconds < 7200:
        return f"{seconds / 60:.0f}m"
    if seconds < 2 * 86400:
        return f"{seconds / 3600:.1f}h"
    return f"{seconds / 86400:.1f}d"


def _pct(x: float) -> str:
    return f"{x:.0%}"


def _conform(log: pl.DataFrame) -> pl.DataFrame:
    missing = [c for c in ("case_id", "activity", "timestamp") if c not in log.columns]
    if missing:
        raise InputError(f"the log lacks the columns {missing} (see wfmine.model.LOG_SCHEMA)")
    cols = [
        pl.col(n).cast(t) if n in log.columns else pl.lit(None, dtype=t).alias(n)
        for n, t in LOG_SCHEMA.items()
    ]
    return log.select(cols)


class _Lines:
    """YAML lines, each with its comment, aligned when rendered."""

    def __init__(self) -> None:
        self.rows: list[tuple[str, str]] = []

    def add(self, text: str, comment: str) -> None:
        self.rows.append((text, comment.replace("\n", " ")))

    def render(self) -> str:
        width = min(56, max((len(t) for t, _ in self.rows), default=0)) + 2
        out = []
        for text, comment in self.rows:
            if not text:
                out.append(f"# {comment}")
            else:
                out.append(f"{text.ljust(width)}  # {comment}")
        return "\n".join(out) + "\n"


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


# -- the draft ------------------------------------------------------------------------------


def _draft_text(stages: list[dict[str, Any]], extra: dict[str, Any] | None = None) -> str:
    """A plain design text of ``stages`` (and ``extra`` keys) for computing with the kernel."""
    import yaml

    data: dict[str, Any] = {"version": 1, "name": "draft", "stages": stages}
    data.update(extra or {})
    return yaml.safe_dump(data, sort_keys=False)


def _fallback_stages(log: pl.DataFrame, min_events: int) -> list[tuple[str, list[str]]]:
    """Without a tracker: every frequent activity is its own step, in median position order."""
    pos = (
        log.with_columns(
            activity_key().alias("key"), pl.int_range(pl.len()).over("case_id").alias("_i")
        )
        .filter(~pl.col("source").is_in(list(CHAT_SOURCES)).fill_null(False))
        .group_by("key")
        .agg(pl.len().alias("n"), pl.col("_i").median().alias("order"))
        .filter(pl.col("n") >= min_events)
        .sort(["order", "n", "key"], descending=[False, True, False])
    )
    out: list[tuple[str, list[str]]] = []
    used: set[str] = set()
    for key in pos.get_column("key").to_list():
        base = _slug(key.partition(":")[2])
        name, i = base, 2
        while name in used or name == "other":
            name, i = f"{base}_{i}", i + 1
        used.add(name)
        out.append((name, [key]))
    return out


def infer_design(
    log: pl.DataFrame,
    *,
    store: Store | None = None,
    min_share: float = 0.02,
    min_events: int = 3,
    name: str = "Inferred design",
) -> InferredDesign:
    """Draft a design file from ``log`` (see the module docstring); validated before returned.

    ``store`` adds what the flat log does not hold: the cases' components and
    labels (risk tiers), and the accounts of the bots and agents seen.
    ``min_share``: a transition is kept when at least this share of the
    cases practise it. ``min_events``: an activity seen fewer times is not
    mapped.
    """
    log = _conform(log)
    if log.height == 0:
        raise InputError("the log is empty: there is nothing to infer a design from")
    notes: list[str] = []
    ev = _status_events(log)
    if ev.filter(pl.col("status") != _CREATED).height:
        stats = _group_statuses(ev)
        group_stage = {
            g: n for g, n in _stage_names(stats).items()
        }  # group -> stage id, in stage order
        status_stage = {
            s: group_stage[g] for s, g in zip(stats["status"], stats["group"], strict=True)
        }
        acts = _attribute(log, ev, status_stage).filter(pl.col("events") >= min_events)
        stage_order = list(dict.fromkeys(group_stage.values()))
        members: dict[str, list[str]] = {s: [] for s in stage_order}
        for status, stage in status_stage.items():
            members[stage].append(
                f"jira:{_CREATED}" if status == _CREATED else f"jira:{_STATUS}{status}"
            )
        for key, stage in acts.select("key", "stage").iter_rows():
            if stage in members and key not in members[stage]:
                members[stage].append(key)
        _merge_opens_next(members, stage_order, acts)
        statuses = stats.with_columns(
            pl.col("status").replace_strict(status_stage, return_dtype=pl.String).alias("stage")
        ).select("status", "stage", "cases", "dwell_median_s", "next", "next_share", "grouped")
        tracker = True
    else:
        notes.append("no tracker statuses in the log: every frequent activity is its own step")
        plan = _fallback_stages(log, min_events)
        if not plan:
            raise InputError("no activity is frequent enough to draft stages from")
        stage_order = [s for s, _ in plan]
        members = dict(plan)
        statuses = pl.DataFrame(
            schema={
                "status": pl.String,
                "stage": pl.String,
                "cases": pl.UInt32,
                "dwell_median_s": pl.Float64,
                "next": pl.String,
                "next_share": pl.Float64,
                "grouped": pl.String,
            }
        )
        acts = pl.DataFrame(
            {
                "key": [k for _, ks in plan for k in ks],
                "stage": [s for s, ks in plan for _ in ks],
            }
        )
        tracker = False
    # the kernel's view of the log under the draft: where each case is, visit by visit
    skeleton = [{"id": s, "activities": members[s]} for s in stage_order]
    base = load_design_text(_draft_text(skeleton), name="draft")
    accounts = store_accounts(store) if store is not None else None
    staged = stage_events(log, base, accounts=accounts)
    in_scope, _ = case_scope(staged)
    staged = staged.join(in_scope, on="case_id", how="semi", maintain_order="left")
    visits = stage_visits(staged)
    n_cases = max(in_scope.height, 1)
    stage_rows = _stage_figures(staged, visits, stage_order)
    trans = _transitions(visits, n_cases, min_share)
    rank = {s: i for i, s in enumerate(stage_order)}
    kept = sorted(
        ((a, b) for a, b, k in trans.select("from", "to", "kept").iter_rows() if k and a != b),
        key=lambda m: (rank[m[0]], rank[m[1]]),
    )
    firsts = visits.filter(pl.col("visit") == 1).group_by("stage").len()
    ended = visits
    if store is not None:
        # items still open in their tracker end nowhere yet: where they are is not an end
        attrs = case_attributes(store, staged)
        if "open" in attrs.columns:
            still = attrs.filter(pl.col("open").fill_null(False)).select("case_id")
            ended = visits.join(still, on="case_id", how="anti")
    lasts = ended.group_by("case_id").agg(pl.col("stage").last()).group_by("stage").len()
    start = [s for s in stage_order if _share(firsts, s, n_cases) >= min_share] or stage_order[:1]
    n_ended = max(ended.get_column("case_id").n_unique(), 1)
    end = [s for s in stage_order if _share(lasts, s, n_ended) >= 2 * min_share] or stage_order[-1:]
    gated = _gated_stage(members, stage_order)
    gate = _gate_practice(staged, gated, store) if gated is not None else _empty_gate()
    team_of = dict(stage_rows.select("stage", "team").iter_rows())
    perf_of = dict(stage_rows.select("stage", "performer").iter_rows())
    exp_of = dict(stage_rows.select("stage", "expected").iter_rows())
    typed = [
        {
            "id": s,
            **({"team": team_of[s]} if team_of.get(s) else {}),
            "performer": perf_of.get(s) or "either",
            "activities": members[s],
        }
        for s in stage_order
    ]
    with_teams = load_design_text(_draft_text(typed), name="draft")
    seam_rows = _observed_seams(staged, with_teams, n_cases)
    agent_rows = _observed_agents(staged, store)
    lines = _Lines()
    _render(
        lines,
        name=name,
        log=log,
        n_cases=n_cases,
        tracker=tracker,
        stage_order=stage_order,
        members=members,
        statuses=statuses,
        acts=acts,
        stage_rows=stage_rows,
        exp_of=exp_of,
        trans=trans,
        kept=kept,
        start=start,
        end=end,
        gated=gated,
        gate=gate,
        seam_rows=seam_rows,
        agent_rows=agent_rows,
        team_of=team_of,
        min_share=min_share,
    )
    text = lines.render()
    design = load_design_text(text, name="inferred design")  # fails loudly: a bug if it does
    return InferredDesign(
        text=text,
        design=design,
        statuses=statuses,
        activities=acts,
        transitions=trans,
        stages=stage_rows,
        gate=gate,
        seams=seam_rows,
        agents=agent_rows,
        notes=notes,
    )


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


# -- rendering -------------------------------------------------------------------------------


def _render(lines: _Lines, **k: Any) -> None:
    log: pl.DataFrame = k["log"]
    n_cases: int = k["n_cases"]
    stage_order: list[str] = k["stage_order"]
    members: dict[str, list[str]] = k["members"]
    statuses: pl.DataFrame = k["statuses"]
    acts: pl.DataFrame = k["acts"]
    stage_rows: pl.DataFrame = k["stage_rows"]
    trans: pl.DataFrame = k["trans"]
    team_of: dict[str, str | None] = k["team_of"]
    start_ts: Any = log["timestamp"].min()
    end_ts: Any = log["timestamp"].max()
    lines.add("", "A draft design inferred by `wfmine design infer` from the observed work.")
    lines.add(
        "",
        f"It rests on {log.height:,} events of {n_cases:,} work items, {start_ts:%Y-%m-%d} to "
        f"{end_ts:%Y-%m-%d}; every line says what it rests on. Review it: it describes the "
        "practice, not the intent.",
    )
    lines.add("version: 1", "the design-file format (docs/design.md)")
    lines.add(f"name: {_q(k['name'])}", "rename it")
    stage_teams = {t for t in team_of.values() if t}
    extra_teams = (
        sorted(
            {v for c in ("from", "to") for v in k["seam_rows"].get_column(c).to_list()}
            - stage_teams
            - {"human", "agent"}
        )
        if k["seam_rows"].height
        else []
    )
    if extra_teams:
        lines.add(
            f"teams: [{', '.join(_q(t) for t in extra_teams)}]",
            "teams that hand work over but own no stage",
        )
    lines.add(
        "stages:",
        "from the tracker's statuses, in the order work enters them"
        if k["tracker"]
        else "no tracker statuses: each frequent activity is a step, in median position order",
    )
    st_info = {r["stage"]: r for r in stage_rows.iter_rows(named=True)}
    status_info = {r["status"]: r for r in statuses.iter_rows(named=True)}
    act_info = {r["key"]: r for r in acts.iter_rows(named=True)}
    for s in stage_order:
        r = st_info[s]
        lines.add(f"  - id: {s}", f"{r['visits'] or 0} visits in {r['cases'] or 0} work items")
        if r["team"]:
            lines.add(
                f"    team: {_q(r['team'])}",
                f"{_pct(r['team_share'])} of the human work in this stage ({r['team_mix']})",
            )
        elif r["team_mix"]:
            lines.add("", f"  no team owns this stage: the work is spread ({r['team_mix']})")
        agent = r["agent_share"] or 0.0
        lines.add(
            f"    performer: {r['performer']}",
            f"agents and bots did {_pct(agent)} of its {r['events'] or 0} events, "
            f"people {_pct(1 - agent)}",
        )
        if r["expected"] and s not in k["end"]:
            lines.add(
                f"    expected: {r['expected']}",
                f"80% of visits end within it (median {_human(r['median_s'])})",
            )
        lines.add("    activities:", "what puts work in this stage, and what is done in it")
        for key in members[s]:
            status = (
                key.removeprefix(f"jira:{_STATUS}") if key.startswith(f"jira:{_STATUS}") else None
            )
            if key == f"jira:{_CREATED}":
                status = _CREATED
            if status is not None and status in status_info:
                si = status_info[status]
                why = si["grouped"] or (
                    f"a tracker status: {si['cases']} items, median stay "
                    f"{_human(si['dwell_median_s'])}"
                )
                if status == _CREATED and not si["grouped"]:
                    why = f"work items are created here ({si['cases']} items)"
                lines.add(f"      - {_q(key)}", why)
            elif key in act_info and act_info[key].get("stage") not in (None, s):
                a = act_info[key]
                lines.add(
                    f"      - {_q(key)}",
                    f"the irreversible step opens this stage: it {a['rule']} {a['stage']} "
                    f"({_pct(a['share'])} of its {a['events']} events), with the approvals",
                )
            elif key in act_info and "share" in act_info[key]:
                a = act_info[key]
                lines.add(
                    f"      - {_q(key)}",
                    f"{a['rule']} {s} ({_pct(a['share'])} of its {a['events']} events)",
                )
            else:
                lines.add(f"      - {_q(key)}", "its own step")
    lines.add(
        "unmapped: ignore", "chat, e-mail and tracker bookkeeping are conversation, not steps"
    )
    kept = k["kept"]
    lines.add(
        "transitions:",
        f"moves practised by at least {_pct(k['min_share'])} of the work items"
        if kept
        else "no move is practised often enough",
    )
    if not kept:
        lines.rows[-1] = ("transitions: []", lines.rows[-1][1])
    info = {(r["from"], r["to"]): r for r in trans.iter_rows(named=True)}
    for a, b in kept:
        r = info[(a, b)]
        lines.add(f"  - [{a}, {b}]", f"{r['cases']} items ({_pct(r['share'])})")
    rare = trans.filter(~pl.col("kept") & (pl.col("from") != pl.col("to")))
    for r in rare.iter_rows(named=True):
        lines.add(
            "",
            f"  rare: [{r['from']}, {r['to']}] in {r['cases']} items ({_pct(r['share'])}): "
            f"add it under allow ({{kind: transition, from: {r['from']}, to: {r['to']}}}) "
            "if it is sanctioned, or leave it out to see it as a deviation",
        )
    lines.add(f"start: [{', '.join(k['start'])}]", "where work items start")
    lines.add(f"end: [{', '.join(k['end'])}]", "where work items end")
    gate: pl.DataFrame = k["gate"]
    gated = k["gated"]
    if gated is not None and gate.height:
        default = gate.row(0, named=True)
        rules = gate.filter(
            (pl.col("criterion") != "default") & (pl.col("tier") != default["tier"])
        )
        lines.add("risk:", "tiers as practised: the approvals work gets before it ships")
        lines.add(
            f"  default: {default['tier']}",
            f"{_pct(default['met_share'])} of the other {default['cases']} gated items had "
            f"{default['level'].replace('_', ' ')}",
        )
        by_tier: dict[str, dict[str, list[dict[str, Any]]]] = {}
        for r in rules.iter_rows(named=True):
            by_tier.setdefault(r["tier"], {}).setdefault(r["criterion"], []).append(r)
        if by_tier:
            lines.add("  rules:", "components and labels whose work is approved more strictly")
            for tier in ("high_stakes", "irreversible"):
                if tier not in by_tier:
                    continue
                lines.add(f"    - tier: {tier}", "the tier whose requirement this work meets")
                for criterion, items in by_tier[tier].items():
                    values = ", ".join(_q(i["value"]) for i in items)
                    figures = "; ".join(
                        f"{i['value']}: {_pct(i['met_share'])} of {i['cases']} items had "
                        f"{i['level'].replace('_', ' ')}"
                        for i in items
                    )
                    lines.add(f"      {criterion}: [{values}]", figures)
        else:
            lines.add(
                "  rules: []", "no component or label is approved more strictly than the rest"
            )
        lines.add("gates:", f"approvals before the irreversible step ({gated}: where PRs merge)")
        lines.add(f"  - before: {gated}", "the first event in it is the irreversible step")
        lines.add('    approvals: ["github:PR approved"]', "the approval events seen")
        lines.add("    reversible: agent_review", "one approval by anyone, never the author")
        lines.add("    irreversible: human_approval", "one human approval")
        lines.add("    high_stakes: two_humans", "two distinct humans")
    seam_rows: pl.DataFrame = k["seam_rows"]
    if seam_rows.height:
        lines.add("seams:", "handoffs observed; each owner is a proposal: decide")
        agent_team = next((t for t in team_of.values() if t), None)
        for r in seam_rows.iter_rows(named=True):
            owner = r["to"] if r["dimension"] == "team" else (agent_team or "platform")
            lines.add(
                f"  - {{from: {_q(r['from'])}, to: {_q(r['to'])}, owner: {_q(owner)}}}",
                f"observed: {r['handoffs']} handoffs in {r['cases']} items, median wait "
                f"{_human(r['wait_median_s'])}; owner proposed: decide",
            )
    agent_rows: pl.DataFrame = k["agent_rows"]
    if agent_rows.height:
        lines.add("agents:", "bots and agents seen in the work: observed, not sanctioned: decide")
        used: set[str] = set()
        claimed: set[str] = set()
        for r in agent_rows.iter_rows(named=True):
            aid = str(r["actor_id"])
            if aid in used:
                continue
            used.add(aid)
            lines.add(
                f"  - id: {_q(aid)}",
                f"observed, not sanctioned: decide — {r['name'] or aid} ({r['kind']}), "
                f"{r['events']} events in {r['cases']} cases",
            )
            accounts = [a for a in (r["accounts"] or []) if a not in claimed]
            claimed.update(accounts)
            if accounts:
                lines.add(
                    f"    accounts: [{', '.join(_q(a) for a in accounts)}]",
                    "the accounts it acts under",
                )
            stages = r["stages"] or []
            if stages:
                shares = ", ".join(
                    f"{s} {_pct(x)}" for s, x in zip(stages, r["stage_shares"], strict=True)
                )
                lines.add(f"    stages: [{', '.join(stages)}]", f"where it acted: {shares}")
            else:
                lines.add(
                    "    stages: []",
                    f"it did no stage work (only {', '.join(r['sources'])} activity)",
                )


# -- suggestions: the findings' design edits as one reviewable patch --------------------------


@dataclass(frozen=True)
class SuggestedPatch:
    """The findings' suggestions applied to a design file.

    ``diff`` is one unified diff (before / after, both written in the same
    normalised YAML), each hunk preceded by comments naming the findings whose
    edit it holds and their estimated effect; ``text`` the patched design (it
    loads with :func:`wfmine.design.load_design_text`); ``applied`` and
    ``skipped`` list each suggestion (``kind``, ``subject``, ``effect``, and for
    skipped ones the ``reason``).
    """

    diff: str
    text: str
    applied: list[dict[str, str]]
    skipped: list[dict[str, str]]


def _identity(section: str, item: Any) -> Any:
    if isinstance(item, dict):
        if "id" in item:
            return ("id", item["id"])
        if section == "seams" and "from" in item and "to" in item:
            return ("seam", item["from"], item["to"])
    return ("value", json.dumps(item, sort_keys=True, default=str))


def _merge(target: dict[str, Any], patch: dict[str, Any]) -> None:
    """Apply a design-file patch: lists gain items (an item with the same id is updated), maps merge."""
    for key, value in patch.items():
        have = target.get(key)
        if isinstance(have, list) and isinstance(value, list):
            index = {_identity(key, item): i for i, item in enumerate(have)}
            for item in value:
                ident = _identity(key, item)
                if ident in index:
                    old = have[index[ident]]
                    if isinstance(old, dict) and isinstance(item, dict):
                        _merge(old, item)
                    else:
                        have[index[ident]] = item
                else:
                    index[ident] = len(have)
                    have.append(item)
        elif isinstance(have, dict) and isinstance(value, dict):
            _merge(have, value)
        else:
            target[key] = value


def _dump(data: Any) -> str:
    import yaml

    return str(yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100))


def suggest_patch(
    design_text: str, findings: pl.DataFrame, *, name: str = "design.yaml"
) -> SuggestedPatch:
    """Apply every finding's ``suggestion`` (a YAML patch) to ``design_text``; one diff of it all.

    ``findings``: a findings frame (:data:`wfmine.findings.FINDING_SCHEMA`:
    ``suggestion`` is JSON text ``{"patch": ..., "effect": ...}`` or null).
    A suggestion whose patch is not YAML, or after which the design would
    not load, is skipped with the reason.
    """
    import copy
    import difflib

    import yaml

    from wfmine.errors import DesignError

    load_design_text(design_text, name=name)  # the design itself must be valid
    original = yaml.safe_load(design_text)
    data = copy.deepcopy(original)
    applied: list[dict[str, str]] = []
    skipped: list[dict[str, str]] = []
    added: list[tuple[dict[str, str], set[str]]] = []
    cols = [c for c in ("kind", "subject", "subject_name", "suggestion") if c in findings.columns]
    rows = findings.select(cols).to_dicts() if "suggestion" in cols else []
    for row in rows:
        text = row.get("suggestion")
        if not text:
            continue
        about = {
            "kind": str(row.get("kind") or ""),
            "subject": str(row.get("subject_name") or row.get("subject") or ""),
        }
        try:
            suggestion = json.loads(text)
            patch = yaml.safe_load(str(suggestion.get("patch") or ""))
        except (ValueError, yaml.YAMLError) as exc:
            skipped.append({**about, "effect": "", "reason": f"not a YAML patch: {exc}"})
            continue
        about["effect"] = str(suggestion.get("effect") or "")
        if not isinstance(patch, dict) or not patch:
            skipped.append({**about, "reason": "the patch is not a mapping of design keys"})
            continue
        trial = copy.deepcopy(data)
        _merge(trial, patch)
        try:
            load_design_text(_dump(trial), name=name)
        except DesignError as exc:
            skipped.append({**about, "reason": str(exc)})
            continue
        before = _dump(data).splitlines()
        after = _dump(trial).splitlines()
        if before == after:
            skipped.append({**about, "reason": "the design already says this"})
            continue
        plus = {
            line[1:]
            for line in difflib.unified_diff(before, after, lineterm="", n=0)
            if line.startswith("+") and not line.startswith("+++")
        }
        data = trial
        applied.append(about)
        added.append((about, plus))
    before_lines = _dump(original).splitlines()
    after_text = _dump(data)
    after_lines = after_text.splitlines()
    out = [
        f"# wfmine design suggest: {len(applied)} edit(s) of {name} from the findings "
        f"({len(skipped)} not applicable); effects are estimated from the log.",
        "# Both sides are the design in normalised YAML (comments of the file are not kept).",
        f"--- {name}",
        f"+++ {name} (suggested)",
    ]
    hunk: list[str] = []

    def flush() -> None:
        if not hunk:
            return
        lines = {h[1:] for h in hunk if h.startswith("+")}
        for about, plus in added:
            if plus & lines:
                out.append(f"# [{about['kind']}] {about['subject']}: {about['effect']}")
        out.extend(hunk)
        hunk.clear()

    for line in list(difflib.unified_diff(before_lines, after_lines, lineterm="", n=2))[2:]:
        if line.startswith("@@"):
            flush()
        hunk.append(line)
    flush()
    for item in skipped:
        out.append(f"# not applied [{item['kind']}] {item['subject']}: {item['reason']}")
    load_design_text(after_text, name=name)
    return SuggestedPatch(
        diff="\n".join(out) + "\n", text=after_text, applied=applied, skipped=skipped
    )
