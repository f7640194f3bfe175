"""Events onto stages: the ``source:activity`` key, the stage column, agents' ids, unmatched patterns."""

from __future__ import annotations

import re

import polars as pl

from wfmine.design._model import Design
from wfmine.design._patterns import glob_regex, pattern_regex


def activity_key() -> pl.Expr:
    """The expression ``source:activity`` that design patterns match against."""
    return pl.concat_str(
        [pl.col("source").fill_null(""), pl.lit(":"), pl.col("activity").fill_null("")]
    )


def map_stages(log: pl.DataFrame, design: Design, *, column: str = "stage") -> pl.DataFrame:
    """Add the ``stage`` column: the first stage (file order) whose patterns match the event.

    Runs the patterns once per distinct (source, activity) pair and joins the
    result back, so the cost is one hash join over the log. Unmatched events
    get null, or ``"other"`` when the design says ``unmapped: keep`` and maps
    other activities of the event's source (:meth:`Design.maps_source`).

    >>> import polars as pl
    >>> from wfmine.design import load_design_text
    >>> d = load_design_text("stages: [{id: s, activities: ['xes:a*']}]")
    >>> map_stages(pl.DataFrame({"source": ["xes", "xes"], "activity": ["ab", "b"]}), d)["stage"].to_list()
    ['s', None]
    """
    pairs = log.select("source", "activity").unique()
    key = activity_key()
    expr: pl.Expr = pl.lit(None, dtype=pl.String)
    if design.unmapped == "keep":
        expr = (
            pl.when(pl.col("source").fill_null("").str.contains(design._source_regex))
            .then(pl.lit("other"))
            .otherwise(expr)
        )
    # build the when-chain backwards so the first stage in file order wins
    for stage_id, rx in reversed(design._stage_regexes):
        expr = (
            pl.when(key.str.contains(f"^(?:{rx.pattern})$")).then(pl.lit(stage_id)).otherwise(expr)
        )
    pairs = pairs.with_columns(expr.alias(column))
    # join the two key columns only (one row per event: the pairs are unique), so the
    # log's other columns are not copied
    stage = (
        log.select("source", "activity")
        .join(pairs, on=["source", "activity"], how="left", nulls_equal=True, maintain_order="left")
        .get_column(column)
    )
    return log.with_columns(stage)


def unmatched_patterns(design: Design, log: pl.DataFrame) -> list[str]:
    """One warning per design activity pattern that matches no event of ``log``.

    A typo (``jira:Status: Q.A.``) would otherwise turn every case into one
    that "skipped QA". Each warning names the pattern, the stage and the
    closest activities the log has (by :func:`difflib.get_close_matches`).
    Patterns of a source the log has no event of are not judged (a design
    may speak of sources this log does not hold), unless the log has no
    event of any source the design names.

    >>> import polars as pl
    >>> from wfmine.design import load_design_text
    >>> d = load_design_text("stages: [{id: qa, activities: ['jira:Status: Q.A.']}]")
    >>> unmatched_patterns(d, pl.DataFrame({"source": ["jira"], "activity": ["Status: QA"]}))
    ["design stage 'qa': pattern 'jira:Status: Q.A.' matches no activity in the log; closest: 'jira:Status: QA'"]
    """
    import difflib

    if log.height == 0:
        return []
    # the distinct (source, activity) pairs first: the key is built on those, not on every row
    keys = (
        log.select("source", "activity")
        .unique()
        .select(activity_key().alias("key"), pl.col("source").fill_null("").alias("source"))
        .unique()
        .sort("key")
    )
    present = set(keys.get_column("source").to_list())
    names = keys.get_column("key").to_list()
    warnings: list[str] = []
    for stage in design.stages:
        for pattern in stage.activities:
            rx = re.compile(f"^(?:{pattern_regex(pattern)})$")
            if any(rx.match(k) for k in names):
                continue
            source = pattern.partition(":")[0]
            if not any(re.fullmatch(glob_regex(source), s) for s in present):
                continue
            near = difflib.get_close_matches(pattern, names, n=3, cutoff=0.6)
            hint = "; closest: " + ", ".join(repr(n) for n in near) if near else ""
            warnings.append(
                f"design stage {stage.id!r}: pattern {pattern!r} matches no activity in the log"
                + hint
            )
    return warnings


def agent_keys(design: Design, accounts: pl.DataFrame | None = None) -> dict[str, str]:
    """Every id a sanctioned agent may appear under in a log, mapped to the agent's id.

    The agent's own id, its listed accounts, and — when ``accounts`` (a frame
    with ``account_id`` and ``actor_id``, e.g. ``store.sql("select * from
    actor_accounts")``) is given — the actor ids those accounts resolve to.
    So matching works whether or not identity resolution has run.
    """
    keys: dict[str, str] = {}
    resolved: dict[str, str] = {}
    if accounts is not None and accounts.height:
        resolved = dict(accounts.select("account_id", "actor_id").drop_nulls().iter_rows())
    for agent in design.agents:
        for k in [
            agent.id,
            *agent.accounts,
            *(resolved[a] for a in agent.accounts if a in resolved),
        ]:
            keys.setdefault(k, agent.id)
    return keys
