"""GitHub: the second pass — commits and checks onto their PRs, one event per id (most trusted record wins), the batch."""

from __future__ import annotations

import datetime as dt
from typing import Final

import polars as pl

from wfmine.connectors._batch import json_text, utc_series
from wfmine.connectors.github._collect import _Collector
from wfmine.connectors.github._common import (
    _FAILED,
    _RANK,
    _first_line,
    _get,
    _repo_of,
    parse_trailers,
    refs_in,
)
from wfmine.model import Batch


def _finish_commits(c: _Collector) -> None:
    for commit, raw_ref, hint, repo in c.commits:
        sha = commit["sha"]
        info = commit["commit"]
        message = info.get("message")
        author_info = info.get("author") if isinstance(info.get("author"), dict) else {}
        committer_info = info.get("committer") if isinstance(info.get("committer"), dict) else {}
        actor = c.account(commit.get("author"))
        c.account(commit.get("committer"))
        number = hint if hint is not None else c.sha_to_pr.get((repo, sha))
        oid = f"github:{repo}@{sha}"
        first_line = _first_line(message)
        attrs = {"sha": sha, "trailers": parse_trailers(message),
                 "author_email": author_info.get("email"), "author_name": author_info.get("name"),
                 "message_first_line": first_line,
                 "committer_email": committer_info.get("email"),
                 "authored_at": author_info.get("date")}  # fmt: skip
        c.put_object(oid, 0, committer_info.get("date"), {
            "object_id": oid, "object_type": "commit", "source": "github",
            "key": f"{repo}@{sha[:12]}", "title": first_line,
            "attrs": {**attrs, "pull_request": number},
        })  # fmt: skip
        related: tuple[str, ...] = ()
        if number is not None:
            pr_oid = f"github:{repo}#pr/{number}"
            c.link(oid, pr_oid, "part_of", f"commit of {repo}#{number}")
            related = (pr_oid,)
        when = committer_info.get("date") or author_info.get("date")
        c.event(repo, None, None, "commit", "Commit pushed", when, actor, attrs, raw_ref, 0,
                   object_id=oid, related=related)  # fmt: skip
        for ref in refs_in(message):
            if ref.kind in ("jira_key", "jira_url"):
                c.link(oid, f"jira:{ref.value}", "commit_message",
                          f"commit_message: {first_line}")  # fmt: skip


def _finish_checks(c: _Collector) -> None:
    for what, check, raw_ref in c.checks:
        repo = _repo_of(check.get("url"), check.get("html_url"))
        assert repo is not None
        if what == "run" and f"{repo}#{check['id']}" in c.runs_with_jobs:
            continue  # its jobs (check runs) carry the finer events
        conclusion = check.get("conclusion")
        if conclusion == "success":
            activity = "Check passed"
        elif conclusion in _FAILED:
            activity = "Check failed"
        else:
            continue  # cancelled, skipped, neutral, still running: no verdict
        number = next(
            (p.get("number") for p in check.get("pull_requests") or [] if isinstance(p, dict)),
            None,
        )
        if not isinstance(number, int):
            number = c.sha_to_pr.get((repo, check["head_sha"]))
        when = check.get("completed_at") or check.get("updated_at") or check.get("started_at")
        attrs = {"conclusion": conclusion, "name": check.get("name"), "head_sha": check["head_sha"],
                 "app": _get(check, "app", "slug"), "event": check.get("event"),
                 "head_branch": check.get("head_branch")}  # fmt: skip
        suffix = f"{'check' if what == 'check' else 'run'}/{check['id']}"
        if isinstance(number, int):
            c.event(repo, number, True, suffix, activity, when, None, attrs, raw_ref, 0)
        else:
            oid = f"github:{repo}@{check['head_sha']}"
            c.put_object(oid, 9, None, {
                "object_id": oid, "object_type": "commit", "source": "github",
                "key": f"{repo}@{check['head_sha'][:12]}", "title": None,
                "attrs": {"sha": check["head_sha"]},
            })  # fmt: skip
            c.event(
                repo, None, None, suffix, activity, when, None, attrs, raw_ref, 0, object_id=oid
            )


def finish(c: _Collector, *, cursor: str | None) -> Batch:
    """Resolve pending events to their objects, merge duplicates, and build the batch."""
    _finish_commits(c)
    _finish_checks(c)
    events, related_rows = _events(c)
    event_objects = _event_object_frame(events, related_rows)
    objects = []
    for oid in sorted(c.objects):
        row = dict(c.objects[oid][2])
        row["attrs"] = json_text(row["attrs"])
        objects.append(row)
    accounts = []
    for aid in sorted(c.accounts):
        row = dict(c.accounts[aid])
        row["attrs"] = json_text(row["attrs"])
        accounts.append(row)
    batch = c.build(
        events=events,
        event_objects=event_objects,
        objects=objects,
        accounts=accounts,
        cursor=cursor,
    )
    batch.raw_records = batch.raw_records.unique(
        subset=["record_type", "record_id"], keep="first", maintain_order=True
    )
    batch.stats = dict(c.stats)
    return batch


#: a PR activity's name for an issue, where the two differ
_ISSUE_NAMES: Final = {"PR closed": "GH issue closed", "PR reopened": "GH issue reopened"}


def _events(c: _Collector) -> tuple[pl.DataFrame, list[tuple[int, str]]]:
    """The events table: each pending event on its object, one row per event id.

    Of the pending events sharing an id the most trusted record gives the row (lowest
    ``(trust, raw_ref)``, the first read of equals); one that lacks the actor (a pull list
    has no ``merged_by``) takes it from the most trusted record that names one. A PR
    closed within a minute of its merge is the merge (GitHub closes a PR when it merges
    it: one step, not two). Rows in event-id order; also (row, object) for the further
    objects an event touches.

    A column at a time: ids and the choice of each id's record in polars; the attrs
    written as JSON (:func:`json_text`) for the rows kept only.
    """
    pending = c.pending
    if not pending:
        return _event_frame([], [], [], [], [], [], []), []
    (repos, numbers, is_prs, suffixes, pr_acts, issue_acts, moments, actors, attrs, raw_refs,
     trusts, object_ids, related) = zip(*pending, strict=True)  # fmt: skip
    known = c.known_prs
    issue_names = _ISSUE_NAMES
    objects = c.objects
    # per event, in one pass: its object and activity (a PR's or an issue's, once the kind
    # is known); an object known only from events still gets a row
    oids: list[str] = []
    activities: list[str] = []
    add_oid, add_activity = oids.append, activities.append
    for r, n, p, o, a, i in zip(
        repos, numbers, is_prs, object_ids, pr_acts, issue_acts, strict=True
    ):
        if o is not None:
            add_oid(o)
            add_activity(a)
            continue
        pr = bool(p) or (r, n) in known
        oid = f"github:{r}#{'pr' if pr else 'issue'}/{n}"
        add_oid(oid)
        add_activity(a if pr else issue_names.get(i, i) if i.startswith("PR ") else i)
        if oid not in objects:
            assert n is not None
            _ensure_object(c, oid, r, n, pr)
    frame = pl.DataFrame(
        [
            pl.Series("oid", oids, dtype=pl.String),
            pl.Series("suffix", suffixes, dtype=pl.String),
            pl.Series("trust", trusts, dtype=pl.Int64),
            pl.Series("raw_ref", raw_refs, dtype=pl.String),
            pl.Series("actor_id", actors, dtype=pl.String),
        ]
    )
    chosen = (
        frame.with_columns(
            pl.concat_str("oid", pl.lit("/"), "suffix").alias("event_id"),
            pl.int_range(pl.len(), dtype=pl.Int64).alias("at"),
        )
        # stable: of equal (trust, raw_ref) the first read stays first, as it did
        .sort("event_id", "trust", "raw_ref", maintain_order=True)
        .group_by("event_id", maintain_order=True)
        .agg(
            pl.col("at").first(),
            pl.col("raw_ref").first(),
            pl.col("oid").first(),
            pl.col("actor_id").drop_nulls().first(),
        )
    )
    at = chosen.get_column("at").to_list()
    chosen = chosen.with_columns(
        pl.Series("activity", [activities[i] for i in at], dtype=pl.String),
        utc_series("timestamp", [moments[i] for i in at]),
    )
    merged = chosen.filter(pl.col("activity") == "PR merged").select(
        "oid", pl.col("timestamp").alias("merged")
    )
    if merged.height:
        # GitHub closes a PR when it merges it: one step, not two
        folded = (
            chosen.select("event_id", "oid", "timestamp", "activity")
            .filter(pl.col("activity") == "PR closed")
            .join(merged, on="oid")
            .filter((pl.col("timestamp") - pl.col("merged")).abs() <= pl.duration(seconds=60))
            .get_column("event_id")
            .unique()
        )
        if folded.len():
            chosen = chosen.filter(~pl.col("event_id").is_in(folded.implode()))
    at = chosen.get_column("at").to_list()
    related_rows = [(row, other) for row, i in enumerate(at) for other in related[i]]
    activity = chosen.get_column("activity")
    events = pl.DataFrame(
        [
            chosen.get_column("event_id"),
            activity,
            chosen.get_column("timestamp"),
            activity.replace_strict(_RANK, default=20, return_dtype=pl.Int64).alias("seq"),
            chosen.get_column("actor_id"),
            pl.repeat(None, chosen.height, dtype=pl.String, eager=True).alias("team"),
            pl.repeat("github", chosen.height, dtype=pl.String, eager=True).alias("source"),
            chosen.get_column("oid").alias("object_id"),
            pl.Series("attrs", [json_text(attrs[i]) for i in at], dtype=pl.String),
            chosen.get_column("raw_ref"),
        ]
    )
    return events, related_rows


def _ensure_object(c: _Collector, oid: str, repo: str, number: int, is_pr: bool) -> None:
    """An object known only from events (an issue event's URL) still gets a row."""
    if oid in c.objects:
        return
    c.put_object(oid, 9, None, {
        "object_id": oid, "object_type": "pull_request" if is_pr else "gh_issue",
        "source": "github", "key": f"{repo}#{number}", "title": None, "attrs": {},
    })  # fmt: skip


def _event_frame(
    ids: list[str],
    activities: list[str],
    moments: list[dt.datetime],
    actor_ids: list[str | None],
    object_ids: list[str],
    attrs: list[str],
    raw_refs: list[str],
) -> pl.DataFrame:
    """The events table from its columns; ``seq`` is the activity's rank (20 when unranked)."""
    n = len(ids)
    activity = pl.Series("activity", activities, dtype=pl.String)
    return pl.DataFrame(
        [
            pl.Series("event_id", ids, dtype=pl.String),
            activity,
            utc_series("timestamp", moments),
            activity.replace_strict(_RANK, default=20, return_dtype=pl.Int64).alias("seq"),
            pl.Series("actor_id", actor_ids, dtype=pl.String),
            pl.Series("team", [None] * n, dtype=pl.String),
            pl.Series("source", ["github"] * n, dtype=pl.String),
            pl.Series("object_id", object_ids, dtype=pl.String),
            pl.Series("attrs", attrs, dtype=pl.String),
            pl.Series("raw_ref", raw_refs, dtype=pl.String),
        ]
    )


def _event_object_frame(events: pl.DataFrame, related: list[tuple[int, str]]) -> pl.DataFrame:
    """Each event's own object (``commit`` when its id names one, else ``work_item``), then
    the objects it also touches (``pull_request``), in event order."""
    own = events.select(
        "event_id",
        "object_id",
        pl.when(pl.col("object_id").str.contains("@", literal=True))
        .then(pl.lit("commit"))
        .otherwise(pl.lit("work_item"))
        .alias("qualifier"),
        pl.int_range(pl.len(), dtype=pl.Int64).alias("_at"),
        pl.lit(0, dtype=pl.Int64).alias("_part"),
    )
    if related:
        at = pl.Series("_at", [i for i, _ in related], dtype=pl.Int64)
        further = pl.DataFrame(
            [
                events.get_column("event_id").gather(at),
                pl.Series("object_id", [o for _, o in related], dtype=pl.String),
                pl.Series("qualifier", ["pull_request"] * len(related), dtype=pl.String),
                at,
                pl.int_range(1, len(related) + 1, dtype=pl.Int64, eager=True).alias("_part"),
            ]
        )
        own = pl.concat([own, further]).sort("_at", "_part", maintain_order=True)
    return own.drop("_at", "_part")
