""":func:`infer_design`: the steps put together, the draft validated before it is returned."""

from __future__ import annotations

from typing import Any

import polars as pl

from wfmine.conformance import case_attributes, store_accounts
from wfmine.design import activity_key, load_design_text
from wfmine.errors import InputError
from wfmine.infer._base import (
    _CREATED,
    _STATUS,
    CHAT_SOURCES,
    InferredDesign,
    _conform,
    _Lines,
    _slug,
)
from wfmine.infer._practice import (
    _empty_gate,
    _gate_practice,
    _gated_stage,
    _merge_opens_next,
    _observed_agents,
    _observed_seams,
    _share,
    _stage_figures,
    _transitions,
)
from wfmine.infer._render import _render
from wfmine.infer._stages import _attribute, _group_statuses, _stage_names, _status_events
from wfmine.stages import case_scope, stage_events, stage_visits
from wfmine.store import Store

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
