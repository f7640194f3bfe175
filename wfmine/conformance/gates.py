"""Gate conformance: were the right approvals given before the gated step?

For each gate (``before: <stage>``) and each case that reaches that stage,
the *gated event* is the case's first event in the stage. The case's risk
tier comes from its labels, components, project and paths
(:func:`case_attributes`, :meth:`wfmine.design.Design.tier_expr`) and picks
the requirement: ``agent_review`` (one approval by anyone),
``human_approval`` (one human approval) or ``two_humans`` (two distinct human
approvers). Approvals are the case's events matching the gate's ``approvals``
patterns *before* the gated event, by distinct actors, never the author of
the change: the actor of the gate's ``author`` event (``PR opened``) on the
gated event's object, else the case's first such event, else the first actor
of ``author_stage`` (default: the stage ``PR opened`` maps to).

A case that fails its requirement gets exactly one violation, first that
applies: ``self_approval`` (the author approved their own change before the
gated event), ``approval_after_merge`` (approvals given after the gated event
would have met it), ``missing_two_humans`` (one human approver where two are
needed), ``agent_only_approval`` (only agents approved where a human was
needed), ``no_approval``.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, Final

import polars as pl

from wfmine.design import TIERS, Design, activity_key, pattern_regex
from wfmine.stages import first_in_group, in_kernel_order

if TYPE_CHECKING:
    from wfmine.store import Store

__all__ = [
    "CASE_ATTRS_SCHEMA",
    "GATE_VIOLATIONS",
    "case_attributes",
    "case_tiers",
    "gate_checks",
    "gate_deviations",
]

GATE_VIOLATIONS: Final = (
    "self_approval",
    "approval_after_merge",
    "missing_two_humans",
    "agent_only_approval",
    "no_approval",
)

_CASE_ATTRS: dict[str, Any] = {
    "case_id": pl.String,
    "labels": pl.List(pl.String),
    "components": pl.List(pl.String),
    "project": pl.String,
    "paths": pl.List(pl.String),
    #: the case's work item is still open in its source system (null: unknown)
    "open": pl.Boolean,
}

_GATE: dict[str, Any] = {
    "case_id": pl.String,
    "gate": pl.String,
    "tier": pl.String,
    "required": pl.String,
    "author": pl.String,
    "approvers": pl.List(pl.String),
    "human_approvers": pl.Int64,
    "gated_event_id": pl.String,
    "gated_at": pl.Datetime("us", "UTC"),
    "gated_actor_id": pl.String,
    "ok": pl.Boolean,
    "violation": pl.String,
}

CASE_ATTRS_SCHEMA: Final = pl.Schema(_CASE_ATTRS)
_GATE_SCHEMA: Final = pl.Schema(_GATE)


def case_attributes(store: Store, log: pl.DataFrame) -> pl.DataFrame:
    """Per case: ``labels``, ``components``, ``project``, ``paths`` and ``open``.

    Reads the objects' ``attrs`` JSON (Jira issues: ``labels``,
    ``components``, ``project``; pull requests: ``labels``, ``paths``) for
    every object the log's cases touch, and unions them per case. A Jira key's
    prefix stands in for a missing project. ``open`` comes from the case's own
    (root) object: a Jira issue whose status category is not ``done``, a
    GitHub pull request or issue whose state is ``open``; null when the
    source does not say (standard logs).

    >>> attrs = case_attributes(store, store.log())  # doctest: +SKIP
    """
    # a row repeating the previous row's (case, object) adds no pair: dropped before hashing
    case, obj = pl.col("case_id"), pl.col("object_id")
    changed = ((case != case.shift(1)) | (obj != obj.shift(1))).fill_null(True)
    pairs = log.select(case, obj).drop_nulls().filter(changed).unique()
    if pairs.height == 0:
        return pl.DataFrame(schema=CASE_ATTRS_SCHEMA)
    # each case's own object is read too; a log whose events all belong to their case's own
    # object (a standard log's) has it among its pairs already: no union to deduplicate
    own = pairs.select((pl.col("object_id") == pl.col("case_id")).all()).item()
    union = "" if own else "UNION SELECT DISTINCT case_id, case_id AS object_id FROM _case_objects"
    # the pairs go in as a registered frame, for this query only (Store.sql: under the
    # store's lock, so a second thread of the analysis never meets the frame registered)
    objs = store.sql(
        rf"""
            SELECT c.case_id,
                   json_extract_string(o.attrs, '$.labels[*]') AS labels,
                   json_extract_string(o.attrs, '$.components[*]') AS components,
                   coalesce(json_extract_string(o.attrs, '$.project.key'),
                            CASE WHEN json_type(o.attrs, '$.project') = 'VARCHAR'
                                 THEN json_extract_string(o.attrs, '$.project') END,
                            CASE WHEN o.object_type = 'issue'
                                 THEN nullif(regexp_extract(o.key, '^([A-Za-z][A-Za-z0-9_]*)-\d+$', 1), '')
                            END) AS project,
                   json_extract_string(o.attrs, '$.paths[*]') AS paths,
                   CASE WHEN o.object_id <> c.case_id THEN NULL
                        WHEN json_extract_string(o.attrs, '$.status_category') IS NOT NULL
                        THEN lower(json_extract_string(o.attrs, '$.status_category')) <> 'done'
                        WHEN json_extract_string(o.attrs, '$.state') IS NOT NULL
                        THEN lower(json_extract_string(o.attrs, '$.state')) = 'open'
                   END AS open
            FROM (SELECT * FROM _case_objects {union}) c
            JOIN objects o ON o.object_id = c.object_id
            """,
        frames={"_case_objects": pairs},
    )
    if objs.height == 0:
        return pl.DataFrame(schema=CASE_ATTRS_SCHEMA)
    # components may be objects ({"name": ...}); keep their name
    name = (
        pl.when(pl.element().str.starts_with("{"))
        .then(pl.element().str.json_path_match("$.name"))
        .otherwise(pl.element())
    )
    objs = objs.with_columns(pl.col("components").list.eval(name))
    lists = ("labels", "components", "paths")
    if objs.get_column("case_id").is_unique().all():
        # one object per case (a standard log's): each row is its case's union already
        # (a column of empty or missing lists only, as a standard log's are, just filled)
        none: pl.Expr = pl.lit([], dtype=pl.List(pl.String))
        out = objs.with_columns(
            (
                pl.col(c).list.drop_nulls().list.unique().list.sort()
                if objs.get_column(c).list.len().max()
                else pl.col(c)
            ).fill_null(none)
            for c in lists
        )
    else:
        out = objs.group_by("case_id").agg(
            *(pl.col(c).explode().drop_nulls().unique().sort() for c in lists),
            pl.col("project").drop_nulls().sort().first(),
            pl.col("open").drop_nulls().first(),
        )
    return out.select(CASE_ATTRS_SCHEMA.names()).cast(CASE_ATTRS_SCHEMA).sort("case_id")


def case_tiers(
    cases: pl.DataFrame, design: Design, case_attrs: pl.DataFrame | None
) -> pl.DataFrame:
    """``case_id``, ``tier`` for every case in ``cases`` (default tier when no attributes)."""
    # in the cases' order (the case table reads the tiers beside the cases when aligned)
    ids = cases.select("case_id").unique(maintain_order=True)
    if case_attrs is None or case_attrs.height == 0:
        return ids.with_columns(pl.lit(design.risk.default).alias("tier"))
    attrs = case_attrs
    for col, dtype in CASE_ATTRS_SCHEMA.items():
        if col not in attrs.columns:
            attrs = attrs.with_columns(pl.lit(None, dtype=dtype).alias(col))
    tiered = attrs.select("case_id", design.tier_expr().alias("tier"))
    if tiered.get_column("tier").eq_missing(design.risk.default).all():
        # every case of the attributes has the default tier (and those without attributes do)
        return ids.with_columns(pl.lit(design.risk.default, dtype=pl.String).alias("tier"))
    return ids.join(tiered, on="case_id", how="left", maintain_order="left").with_columns(
        pl.col("tier").fill_null(design.risk.default)
    )


def _matches(pairs: pl.DataFrame, patterns: list[str]) -> pl.Expr:
    """Does an event's ``source:activity`` match one of ``patterns``?

    The patterns run once per distinct (source, activity) pair (``pairs``, the
    log's); the expression compares plain strings against the few that match.
    """
    if not patterns:
        return pl.lit(False)
    rx = "^(?:" + "|".join(pattern_regex(p) for p in patterns) + ")$"
    re.compile(rx)
    hit_pairs = pairs.filter(activity_key().str.contains(rx)).rows()
    # per source of the matching pairs: its source and one of its activities (a hash
    # lookup per event, not a comparison per pair); a missing value matches a missing one
    by_source: dict[str | None, list[str | None]] = {}
    for src, act in hit_pairs:
        by_source.setdefault(src, []).append(act)
    hits = []
    for src, acts in by_source.items():
        named = sorted(a for a in acts if a is not None)
        activity = pl.col("activity").is_in(named).fill_null(False) if named else pl.lit(False)
        if None in acts:
            activity = activity | pl.col("activity").is_null()
        hits.append(pl.col("source").eq_missing(pl.lit(src, dtype=pl.String)) & activity)
    return pl.any_horizontal(hits) if hits else pl.lit(False)


def _concrete_stage(design: Design, patterns: list[str]) -> str | None:
    for p in patterns:
        source, _, activity = p.partition(":")
        if not any(ch in p for ch in "*?["):
            stage = design.stage_of(source, activity)
            if stage not in (None, "other"):
                return stage
    return None


def _satisfied(required: pl.Expr, any_n: pl.Expr, human_n: pl.Expr) -> pl.Expr:
    return (
        ((required == "agent_review") & (any_n >= 1))
        | ((required == "human_approval") & (human_n >= 1))
        | ((required == "two_humans") & (human_n >= 2))
    )


def gate_checks(
    events: pl.DataFrame,
    design: Design,
    tiers: pl.DataFrame,
    *,
    pairs: pl.DataFrame | None = None,
    positions: bool = False,
) -> pl.DataFrame:
    """One row per (case, gate) for cases reaching a gated stage, with the verdict.

    ``pairs``: the distinct ``source, activity`` of the events (or of a log they are
    part of), when the caller has them. ``positions``: each row has its gated event's
    ``pos`` too, as ``gated_pos`` (a last column; :func:`gate_deviations` keeps it)."""
    schema = pl.Schema({**_GATE_SCHEMA, "gated_pos": pl.Int64()}) if positions else _GATE_SCHEMA
    frames: list[pl.DataFrame] = []
    pairs = events.select("source", "activity").unique() if pairs is None else pairs
    # in the kernel's order each case is a run of rows: its number (a running count of the
    # runs) keys the joins and group-bys below instead of the case id strings
    key = "_case" if in_kernel_order(events) else "case_id"
    if key == "_case":
        events = events.with_columns(first_in_group("case_id").cum_sum().alias("_case"))
    for gate in design.gates:
        # each filter below copies only the columns it passes on (events have many more)
        gated = (
            events.select(
                *dict.fromkeys(["case_id", key]),
                "stage",
                "pos",
                "event_id",
                "timestamp",
                "actor_id",
                "object_id",
            )
            .filter(pl.col("stage") == gate.before)
            .unique(key, keep="first", maintain_order=True)  # events are in pos order
            .select(
                *dict.fromkeys(["case_id", key]),
                pl.col("pos").alias("gated_pos"),
                pl.col("event_id").alias("gated_event_id"),
                pl.col("timestamp").alias("gated_at"),
                pl.col("actor_id").alias("gated_actor_id"),
                pl.col("object_id").alias("gated_object"),
            )
        )
        if gated.height == 0:
            continue
        # the author: the author event on the gated object, else the case's first one
        authored = (
            events.select(key, "source", "activity", "actor_id", "object_id", "pos")
            .filter(_matches(pairs, gate.author) & pl.col("actor_id").is_not_null())
            .join(gated.select(key, "gated_object"), on=key)
            .with_columns(
                (pl.col("object_id") != pl.col("gated_object")).fill_null(True).alias("_other")
            )
            .sort(key, "_other", "pos")
            .group_by(key, maintain_order=True)
            .agg(pl.col("actor_id").first().alias("author"))
        )
        author_stage = gate.author_stage or _concrete_stage(design, gate.author)
        if author_stage is not None:
            fallback = (
                events.select(key, "stage", "actor_id", "pos")
                .filter((pl.col("stage") == author_stage) & pl.col("actor_id").is_not_null())
                .join(gated.select(key), on=key, how="semi")
                .group_by(key)
                .agg(pl.col("actor_id").sort_by("pos").first().alias("_fallback"))
            )
        else:
            fallback = pl.DataFrame(schema={key: events.schema[key], "_fallback": pl.String})
        # each gated case's author, once per case; the approvals (only the columns read)
        # get it by one join
        authors = (
            gated.select(key, "gated_pos")
            .join(authored, on=key, how="left")
            .join(fallback, on=key, how="left")
            .select(key, "gated_pos", pl.coalesce("author", "_fallback").alias("author"))
        )
        approvals = (
            events.select(key, "source", "activity", "pos", "actor_id", "kind")
            .filter(_matches(pairs, gate.approvals) & pl.col("actor_id").is_not_null())
            .select(key, "pos", "actor_id", "kind")
            .join(authors, on=key)
            .with_columns(
                (pl.col("pos") < pl.col("gated_pos")).alias("before"),
                (pl.col("actor_id") == pl.col("author")).fill_null(False).alias("self"),
                (pl.col("kind") == "human").alias("human"),
            )
        )
        before, own, human = pl.col("before"), pl.col("self"), pl.col("human")
        # per case and approver whether any of their approvals counts each way, then per
        # case the approvers counted (each approver is one row: the distinct ones are summed)
        ways = {
            "n_any": before & ~own,
            "n_human": before & ~own & human,
            "n_self": before & own,
            "n_any_late": ~own,
            "n_human_late": ~own & human,
        }
        # the ways as columns first: the group-bys then aggregate plain columns (each a
        # vectorised kernel, not an expression evaluated group by group); the approvers of a
        # case put in (case, approver) order once and gathered into one list per case
        per_approver = (
            approvals.select(key, "actor_id", *(way.alias(name) for name, way in ways.items()))
            .group_by(key, "actor_id")
            .agg(pl.col(name).any() for name in ways)
        )
        approvers = (
            per_approver.filter(pl.col("n_any"))
            .select(key, "actor_id")
            .sort(key, "actor_id")
            .group_by(key, maintain_order=True)
            .agg(pl.col("actor_id").alias("approvers"))
        )
        # a case without an approver counted has no list here: the verdict gives it [] below
        agg = (
            per_approver.group_by(key)
            .agg(pl.col(name).sum() for name in ways)
            .join(approvers, on=key, how="left")
        )
        req_map = {t: gate.requirement(t) for t in TIERS}
        verdict = (
            gated.join(tiers, on="case_id", how="left")
            .with_columns(pl.col("tier").fill_null(design.risk.default))
            .join(agg, on=key, how="left")
            .join(authored, on=key, how="left")
            .join(fallback, on=key, how="left")
            .with_columns(
                pl.coalesce("author", "_fallback").alias("author"),
                pl.col("tier").replace_strict(req_map, return_dtype=pl.String).alias("required"),
                pl.col("approvers").fill_null(pl.lit([], dtype=pl.List(pl.String))),
                *[
                    pl.col(c).fill_null(0)
                    for c in (
                        "n_any",
                        "n_human",
                        "n_self",
                        "n_any_late",
                        "n_human_late",
                    )
                ],
            )
        )
        req = pl.col("required")
        ok = _satisfied(req, pl.col("n_any"), pl.col("n_human"))
        violation = (
            pl.when(ok)
            .then(None)
            .when(pl.col("n_self") > 0)
            .then(pl.lit("self_approval"))
            .when(_satisfied(req, pl.col("n_any_late"), pl.col("n_human_late")))
            .then(pl.lit("approval_after_merge"))
            .when((req == "two_humans") & (pl.col("n_human") == 1))
            .then(pl.lit("missing_two_humans"))
            .when(pl.col("n_any") >= 1)
            .then(pl.lit("agent_only_approval"))
            .otherwise(pl.lit("no_approval"))
        )
        frames.append(
            verdict.with_columns(
                pl.lit(gate.before).alias("gate"),
                ok.alias("ok"),
                violation.alias("violation"),
                pl.col("n_human").cast(pl.Int64).alias("human_approvers"),
            ).select(schema.names())
        )
    if not frames:
        return pl.DataFrame(schema=schema)
    return pl.concat(frames).cast(schema).sort("case_id", "gate")


def gate_deviations(gates: pl.DataFrame) -> pl.DataFrame:
    """One deviation per failed gate check, at the gated event (and its ``pos`` when
    ``gates`` has the ``gated_pos`` of :func:`gate_checks` ``(positions=True)``)."""
    return gates.filter(~pl.col("ok")).select(
        "case_id",
        pl.col("violation").alias("category"),
        pl.col("gate").alias("stage"),
        pl.lit(None, dtype=pl.String).alias("from_stage"),
        pl.lit(None, dtype=pl.String).alias("to_stage"),
        pl.col("gated_event_id").alias("event_id"),
        pl.col("gated_at").alias("timestamp"),
        pl.col("gated_actor_id").alias("actor_id"),
        pl.concat_str(
            pl.format(
                "{} tier needs {} before {}; approvers: {}",
                "tier",
                "required",
                "gate",
                pl.col("approvers").list.join(", ").replace("", "none"),
            ),
            pl.when(pl.col("violation") == "self_approval")
            .then(pl.format(" (the author, {}, approved their own change)", "author"))
            .when(pl.col("violation") == "approval_after_merge")
            .then(pl.lit(" (enough approvals came only after it)"))
            .otherwise(pl.lit("")),
        ).alias("detail"),
        pl.lit("gate").alias("aspect"),
        *([pl.col("gated_pos").alias("pos")] if "gated_pos" in gates.columns else []),
    )
