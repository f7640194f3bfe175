"""GitHub: the second pass — commits and checks onto their PRs, one event per id (most trusted record wins), the batch."""

from __future__ import annotations

import datetime as dt

import polars as pl

from wfmine.connectors._batch import json_text, utc_series
from wfmine.connectors.github._collect import _Collector, _Pending
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
        attrs = {"sha": sha, "trailers": parse_trailers(message),
                 "author_email": author_info.get("email"), "author_name": author_info.get("name"),
                 "message_first_line": _first_line(message),
                 "committer_email": committer_info.get("email"),
                 "authored_at": author_info.get("date")}  # fmt: skip
        c.put_object(oid, 0, committer_info.get("date"), {
            "object_id": oid, "object_type": "commit", "source": "github",
            "key": f"{repo}@{sha[:12]}", "title": _first_line(message),
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
                          f"commit_message: {_first_line(message)}")  # fmt: skip


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
    # event id -> (trust, raw_ref, pending, object id, activity) of the most trusted record;
    # the row (attrs as JSON) is built for that one only
    best: dict[str, tuple[int, str, _Pending, str, str]] = {}
    actors: dict[str, tuple[int, str, str]] = {}
    for p in c.pending:
        if p.object_id is not None:
            oid = p.object_id
            activity = p.activity if isinstance(p.activity, str) else p.activity[0]
        else:
            assert p.number is not None
            is_pr = p.is_pr or (p.repo, p.number) in c.known_prs
            oid = f"github:{p.repo}#{'pr' if is_pr else 'issue'}/{p.number}"
            activity = p.activity if isinstance(p.activity, str) else p.activity[0 if is_pr else 1]
            if not is_pr and activity.startswith("PR "):
                activity = {
                    "PR closed": "GH issue closed",
                    "PR reopened": "GH issue reopened",
                }.get(activity, activity)
            _ensure_object(c, oid, p.repo, p.number, is_pr)
        event_id = f"{oid}/{p.suffix}"
        current = best.get(event_id)
        if current is None or (p.trust, p.raw_ref) < (current[0], current[1]):
            best[event_id] = (p.trust, p.raw_ref, p, oid, activity)
        if p.actor_id is not None:
            known = actors.get(event_id)
            if known is None or (p.trust, p.raw_ref) < known[:2]:
                actors[event_id] = (p.trust, p.raw_ref, p.actor_id)
    merged_at: dict[str, list[dt.datetime]] = {}
    for _, _, p, oid, activity in best.values():
        if activity == "PR merged":
            merged_at.setdefault(oid, []).append(p.timestamp)
    # the events a column at a time, in event-id order
    ids: list[str] = []
    activities: list[str] = []
    moments: list[dt.datetime] = []
    actor_ids: list[str | None] = []
    object_ids: list[str] = []
    attrs: list[str] = []
    raw_refs: list[str] = []
    related_rows: list[tuple[int, str]] = []  # (position in ids, a further object)
    for event_id in sorted(best):
        _, raw_ref, p, oid, activity = best[event_id]
        if (
            activity == "PR closed"
            and oid in merged_at
            and any(abs((p.timestamp - m).total_seconds()) <= 60 for m in merged_at[oid])
        ):
            continue  # GitHub closes a PR when it merges it: one step, not two
        # the most trusted record may lack the actor (a pull list has no merged_by): take
        # it from the most trusted record that names one
        actor = p.actor_id
        if actor is None:
            named = actors.get(event_id)
            if named is not None:
                actor = named[2]
        for other in p.related:
            related_rows.append((len(ids), other))
        ids.append(event_id)
        activities.append(activity)
        moments.append(p.timestamp)
        actor_ids.append(actor)
        object_ids.append(oid)
        attrs.append(json_text(p.attrs))
        raw_refs.append(raw_ref)
    events = _event_frame(ids, activities, moments, actor_ids, object_ids, attrs, raw_refs)
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
