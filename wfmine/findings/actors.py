"""Who is a human, a bot or an AI agent: a kind per actor, with a score and the evidence.

Three families of signals, strongest first (see ../shared/SIGNALS.md):

1. **platform fields** of the account (GitHub ``type: Bot`` / ``[bot]`` logins,
   Jira ``accountType: app``, Slack ``is_bot`` / ``bot_id``, e-mail
   ``Auto-Submitted`` / ``Precedence``) and of its events
   (``performed_via_github_app``, Slack ``bot_id``, ``auto_submitted``);
2. **known identifiers** of bots and AI tools (:mod:`wfmine.findings.signals`):
   logins and e-mail addresses of the account, and -- per event -- commit
   trailers, PR head-branch prefixes, text markers, message prefixes. Event
   signatures mark *AI-assisted work*; they do not turn the human who committed
   into a bot;
3. **behaviour**, for accounts no field gives away (BoDeGHa / RABBIT-style):
   sub-minute reaction to another actor's event in the same case, regular
   intervals, activity spread over all hours and all weekdays, near-identical
   messages, very high volume.

Display names and free words are never matched ("Claude" is a first name).

>>> import polars as pl
>>> classify_actors(pl.DataFrame(schema={"case_id": pl.String, "actor_id": pl.String,
...     "timestamp": pl.Datetime("us", "UTC"), "seq": pl.Int64, "event_id": pl.String})).height
0
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Final

import polars as pl

from wfmine.findings._runs import dense_numbers, run_starts
from wfmine.findings.signals import Signals, load_signals
from wfmine.model import to_json
from wfmine.stages import CASE_ORDER, first_in_group, in_case_order

if TYPE_CHECKING:  # numpy (0.1 s) is imported by the functions that use it
    import numpy as np
    from numpy.typing import NDArray

__all__ = ["AUTOMATION_THRESHOLD", "ai_events", "behaviour_features", "classify_actors"]

#: behaviour score at or above which an actor is taken for automation
AUTOMATION_THRESHOLD: Final = 0.5
#: fewer events than this and behaviour says nothing
MIN_EVENTS: Final = 12
#: an actor's own event this close before the trigger means it was already at work
#: in the case (a session), so its next event is a continuation, not a reaction
SESSION_S: Final = 300.0
#: the actor's working day: the busiest this-many consecutive hours of the clock
WORKDAY_HOURS: Final = 12

_TEXT_PATHS: Final = ("message_first_line", "text", "body", "subject", "title")


def _json_str(path: str) -> pl.Expr:
    return pl.col("attrs").str.json_path_match(f"$.{path}")


def _may_hold(
    frame: pl.DataFrame, keys: Sequence[str], literals: Sequence[str] = ()
) -> pl.DataFrame:
    """The rows of ``frame`` whose ``attrs`` (JSON text) can have one of the top-level ``keys``
    or ``literals``.

    A key is in the text as ``"key"``: rows without any of them cannot match
    the key's JSON path, so the costly parsing and pattern tests run on the
    others only (a million events' attrs, most of which carry none of them). A text
    shorter than the shortest of them holds none: those rows (a plain log's ``{}``) go
    by their length, read without the text, before the search through the others.
    """
    if not all(literals):  # an empty literal is in every text
        return frame
    needles = [f'"{k}"' for k in keys] + list(literals)
    attrs = pl.col("attrs").cast(pl.String)
    shortest = min(len(needle.encode()) for needle in needles)
    # (a null text is no row of the result, as a null test is false)
    return frame.filter(attrs.str.len_bytes() >= shortest).filter(attrs.str.contains_any(needles))


def ai_events(events_attrs: pl.DataFrame | None, signals: Signals | None = None) -> pl.DataFrame:
    """Events whose attrs carry an AI tool's signature.

    Returns ``event_id, ai_tool, ai_kind, ai_signal, author_email, author``.
    ``events_attrs`` has ``event_id`` and ``attrs`` (JSON text) and, if known,
    ``account_id`` (the account that performed the event). Signals: commit
    trailers (regular expressions on each trailer line), the PR head branch
    prefix, the commit author e-mail, fixed text markers and commit message
    prefixes -- all from the signals data. First matching tool wins.

    A branch name signs the *pull request*, so it counts only on events its
    author performed (``account_id`` equal to the attrs' ``author``): a human
    merging an agent's PR does not sign that merge. ``author_email`` (commit
    author) and ``author`` (PR author account) let a caller attribute signed
    events whose performer the export left out.
    """
    empty = pl.DataFrame(
        schema={"event_id": pl.String, "ai_tool": pl.String, "ai_kind": pl.String,
                "ai_signal": pl.String, "author_email": pl.String, "author": pl.String}
    )  # fmt: skip
    if events_attrs is None or events_attrs.height == 0 or "attrs" not in events_attrs.columns:
        return empty
    sig = signals or load_signals()
    account = (
        pl.col("account_id").cast(pl.String)
        if "account_id" in events_attrs.columns
        else pl.lit(None, dtype=pl.String)
    )
    # without performer accounts the author cannot be told apart: keep every branch match
    no_accounts = bool(events_attrs.select(account.is_null().all()).item())
    markers = [marker for marker, _, _ in sig.table("markers")]
    keys = ["trailers", "head", "author_email", "message_first_line"]
    df = (
        _may_hold(events_attrs, keys, markers)
        .select("event_id", pl.col("attrs").cast(pl.String), account.alias("_account"))
        .with_columns(
            _json_str("trailers")
            .str.json_decode(pl.List(pl.String))
            .list.join("\n")
            .fill_null("")
            .alias("_trailers"),
            _json_str("head").fill_null("").str.replace(r"^[^:/]+:", "").alias("_head"),
            _json_str("author_email").fill_null("").str.to_lowercase().alias("_email"),
            _json_str("message_first_line").fill_null("").alias("_first"),
            _json_str("author").alias("_author"),
            pl.col("attrs").fill_null("").alias("_text"),
        )
    )
    by_author = (
        pl.col("_author").is_null()
        | pl.lit(no_accounts)
        | (pl.col("_account") == pl.col("_author")).fill_null(False)
    )
    tool: Any = pl.lit(None, dtype=pl.String)
    kind: Any = pl.lit(None, dtype=pl.String)
    signal: Any = pl.lit(None, dtype=pl.String)
    checks: list[tuple[pl.Expr, str, str, str]] = []
    for pattern, k, name in sig.table("trailers"):
        checks.append((pl.col("_trailers").str.contains("(?im)" + pattern), k, name, "trailer"))
    for prefix, k, name in sig.table("branch_prefixes"):
        checks.append((pl.col("_head").str.starts_with(prefix) & by_author, k, name, "branch"))
    for email, k, name in sig.table("emails"):
        checks.append((pl.col("_email") == email.lower(), k, name, "author_email"))
    for marker, k, name in sig.table("markers"):
        checks.append((pl.col("_text").str.contains(marker, literal=True), k, name, "marker"))
    for prefix, k, name in sig.table("message_prefixes"):
        checks.append((pl.col("_first").str.starts_with(prefix), k, name, "message_prefix"))
    for cond, k, name, what in reversed(checks):
        tool = pl.when(cond).then(pl.lit(name)).otherwise(tool)
        kind = pl.when(cond).then(pl.lit(k)).otherwise(kind)
        signal = pl.when(cond).then(pl.lit(what)).otherwise(signal)
    out = df.select(
        "event_id",
        tool.alias("ai_tool"),
        kind.alias("ai_kind"),
        signal.alias("ai_signal"),
        pl.when(pl.col("_email") != "").then(pl.col("_email")).alias("author_email"),
        pl.col("_author").alias("author"),
    )
    return out.filter(pl.col("ai_tool").is_not_null()).cast(empty.schema)


def _event_platform(events_attrs: pl.DataFrame | None) -> pl.DataFrame:
    """Events whose own fields say an app or automation sent them (``event_id``, ``reason``)."""
    schema = {"event_id": pl.String, "reason": pl.String}
    if events_attrs is None or events_attrs.height == 0 or "attrs" not in events_attrs.columns:
        return pl.DataFrame(schema=schema)
    a = pl.col("attrs").cast(pl.String).fill_null("")
    auto = _json_str("auto_submitted").str.to_lowercase()
    prec = _json_str("precedence").str.to_lowercase()
    reason = (
        pl.when(a.str.contains(r'"performed_via_github_app"\s*:\s*\{'))
        .then(pl.lit("performed_via_github_app"))
        .when(a.str.contains(r'"subtype"\s*:\s*"bot_message"'))
        .then(pl.lit("slack bot_message"))
        .when(a.str.contains(r'"bot_id"\s*:\s*"[^"]+"'))
        .then(pl.lit("slack bot_id"))
        .when(auto.is_not_null() & (auto != "no") & (auto != ""))
        .then(pl.lit("Auto-Submitted"))
        .when(prec.is_in(["bulk", "list", "junk"]))
        .then(pl.lit("Precedence"))
        .otherwise(None)
    )
    keys = ["performed_via_github_app", "subtype", "bot_id", "auto_submitted", "precedence"]
    return (
        _may_hold(events_attrs, keys)
        .select("event_id", "attrs")
        .select("event_id", reason.alias("reason"))
        .filter(pl.col("reason").is_not_null())
    )


def _account_platform(accounts: pl.DataFrame, sig: Signals) -> pl.DataFrame:
    """Per account: kind and reason from platform fields or a known login / e-mail."""
    cols = accounts.columns
    acc = accounts.select(
        pl.col("account_id").cast(pl.String),
        (pl.col("actor_id") if "actor_id" in cols else pl.col("account_id")).alias("actor_id"),
        (pl.col("login") if "login" in cols else pl.lit(None)).cast(pl.String).alias("login"),
        (pl.col("email") if "email" in cols else pl.lit(None)).cast(pl.String).alias("email"),
        (pl.col("platform_kind") if "platform_kind" in cols else pl.lit(None))
        .cast(pl.String)
        .alias("platform_kind"),
        (pl.col("attrs") if "attrs" in cols else pl.lit(None))
        .cast(pl.String)
        .fill_null("")
        .alias("attrs"),
    )
    logins = pl.DataFrame(
        [(p.lower(), k, t) for p, k, t in sig.table("logins")],
        schema={"_key": pl.String, "login_kind": pl.String, "login_tool": pl.String},
        orient="row",
    ).unique("_key", keep="first")
    emails = pl.DataFrame(
        [(p.lower(), k, t) for p, k, t in sig.table("emails")],
        schema={"_ekey": pl.String, "email_kind": pl.String, "email_tool": pl.String},
        orient="row",
    ).unique("_ekey", keep="first")
    native = pl.col("account_id").str.replace(r"^[a-z]+:", "")
    acc = (
        acc.with_columns(
            pl.coalesce(pl.col("login"), native).str.to_lowercase().alias("_key"),
            pl.coalesce(
                pl.col("email"),
                pl.when(pl.col("account_id").str.starts_with("email:")).then(native),
            )
            .str.to_lowercase()
            .alias("_ekey"),
        )
        .join(logins, on="_key", how="left")
        .join(emails, on="_ekey", how="left")
    )
    a = pl.col("attrs")
    reason = (
        pl.when(pl.col("login_tool").is_not_null())
        .then(pl.format("known login of {}", pl.col("login_tool")))
        .when(pl.col("email_tool").is_not_null())
        .then(pl.format("known e-mail of {}", pl.col("email_tool")))
        .when(pl.col("platform_kind").is_in(["bot", "agent"]))
        .then(pl.format("platform_kind={}", pl.col("platform_kind")))
        .when(pl.col("_key").str.ends_with("[bot]"))
        .then(pl.lit("login ends with [bot]"))
        .when(a.str.contains(r'"type"\s*:\s*"Bot"'))
        .then(pl.lit("GitHub type Bot"))
        .when(a.str.contains(r'"accountType"\s*:\s*"app"'))
        .then(pl.lit("Jira accountType app"))
        .when(a.str.contains(r'"(is_bot|is_app_user)"\s*:\s*true'))
        .then(pl.lit("Slack is_bot"))
        .when(a.str.contains(r'"(bot_id|api_app_id|app_id)"\s*:\s*"[^"]+"'))
        .then(pl.lit("Slack bot/app id"))
        .when(a.str.contains(r'"(auto_submitted|Auto-Submitted)"\s*:\s*"(auto-[^"]*)"'))
        .then(pl.lit("Auto-Submitted"))
        .otherwise(None)
    )
    kind = (
        pl.when(pl.col("login_kind").is_not_null())
        .then(pl.col("login_kind"))
        .when(pl.col("email_kind").is_not_null())
        .then(pl.col("email_kind"))
        .when(pl.col("platform_kind") == "agent")
        .then(pl.lit("agent"))
        .when(reason.is_not_null())
        .then(pl.lit("bot"))
        .otherwise(None)
    )
    tool = pl.coalesce(pl.col("login_tool"), pl.col("email_tool"))
    return acc.select(
        "actor_id", "account_id", kind.alias("p_kind"), reason.alias("p_reason"),
        tool.alias("p_tool"), pl.col("platform_kind"),
    )  # fmt: skip


def behaviour_features(log: pl.DataFrame, texts: pl.DataFrame | None = None) -> pl.DataFrame:
    """Per actor: the behaviour features that separate automation from people.

    ``reaction_median_s`` and ``fast_reaction_share`` (share under 60 s) measure
    the time from the previous event of the same case by *another* actor (the
    trigger) -- unless the actor itself acted in the case within ``SESSION_S``
    before the trigger: then it was already at work there and simply went on;
    ``interval_cv`` is the coefficient of variation of the gaps between the
    actor's own events (low = clockwork); ``hour_entropy`` (0..1 over 24 hours),
    ``weekend_share`` and ``off_hours_share`` the spread over the clock --
    ``off_hours_share`` is the share of events outside the actor's own busiest
    ``WORKDAY_HOURS`` consecutive hours, so it does not depend on the time zone
    a person works in;
    ``events_per_day`` the volume on active days; ``duplicate_text_share`` the
    share of the actor's messages that repeat another one after digits are
    masked (from ``texts``: ``event_id``, ``text``).

    A million events have a few dozen actors: every feature is read from the
    actors' integer numbers (:func:`_actor_numbers`, the ids hashed once) in two
    orders, each (case, actor) pair's events in case order (:func:`_reactions`) and
    each actor's in time order (:func:`_clock`), instead of grouping the events by
    actor id once per feature.
    """
    # only the columns read below are copied by the filter (a log has many more)
    needed = [c for c in (*CASE_ORDER, "actor_id") if c in log.columns]
    base = log.select(needed).filter(pl.col("actor_id").is_not_null())
    # the stamps in one buffer, which each of the kernels below reads without a copy
    base = base.with_columns(base.get_column("timestamp").rechunk())
    first = _case_starts(base)
    if first is None:
        base = base.sort(list(CASE_ORDER))
        first = base.select(first_in_group("case_id")).to_series().to_numpy()
    ids, actor = _actor_numbers(base.get_column("actor_id"))
    main = pl.concat(
        [
            ids.to_frame("actor_id"),
            _reactions(base, actor, ids.len(), first),
            _clock(base.get_column("timestamp"), actor, ids.len()),
        ],
        how="horizontal",
    )
    out = main
    if texts is not None and texts.height:
        t = (
            base.select("event_id", "actor_id")
            .join(texts.select("event_id", "text"), on="event_id", how="inner")
            .filter(pl.col("text").str.len_chars() > 0)
            .with_columns(
                pl.col("text")
                .str.to_lowercase()
                .str.replace_all(r"\d+", "#")
                .str.replace_all(r"\s+", " ")
                .str.strip_chars()
                .alias("_norm")
            )
            .group_by("actor_id")
            .agg(
                pl.len().alias("texts"),
                (1 - pl.col("_norm").n_unique() / pl.len()).alias("duplicate_text_share"),
            )
        )
        out = out.join(t, on="actor_id", how="left")
    else:
        out = out.with_columns(
            pl.lit(None, dtype=pl.UInt32).alias("texts"),
            pl.lit(None, dtype=pl.Float64).alias("duplicate_text_share"),
        )
    return out.sort("actor_id")


def _case_starts(base: pl.DataFrame) -> NDArray[np.bool_] | None:
    """True on each case's first row of ``base`` when it is in :data:`CASE_ORDER` (no null in
    those columns), else ``None`` -- :func:`wfmine.stages.in_case_order`'s answer, read off
    the case boundaries the reactions need anyway: the cases' ids ascend (one id per case),
    and within a case the stamps, then on equal stamps the sequence numbers, then on both
    equal the event ids (the few rows where it comes to that)."""
    import numpy as np

    if base.height < 2 or any(k not in base.columns for k in CASE_ORDER):
        return None if not in_case_order(base) else _first_rows(base)
    if any(base.get_column(k).null_count() for k in CASE_ORDER):
        return None
    ids = base.get_column("case_id")
    first = ids.ne_missing(ids.shift(1)).to_numpy()
    if not ids.filter(pl.Series(first)).is_sorted():
        return None
    same = ~first[1:]
    ts = base.get_column("timestamp").to_physical().to_numpy()
    seq = base.get_column("seq").to_numpy()
    if bool((same & (ts[1:] < ts[:-1])).any()):
        return None
    tie = same & (ts[1:] == ts[:-1])
    if bool((tie & (seq[1:] < seq[:-1])).any()):
        return None
    after = np.flatnonzero(tie & (seq[1:] == seq[:-1])) + 1
    if after.size:
        eid = base.get_column("event_id")
        now, before = eid.gather(pl.Series(after)), eid.gather(pl.Series(after - 1))
        if not bool((now >= before).all()):
            return None
    return first


def _first_rows(base: pl.DataFrame) -> NDArray[np.bool_]:
    return base.select(first_in_group("case_id")).to_series().to_numpy()


def _actor_numbers(actors: pl.Series) -> tuple[pl.Series, NDArray[np.uint32]]:
    """The distinct ``actors`` in id order, and each row's number among them.

    (:func:`~wfmine.findings._runs.dense_numbers`): a feature per actor is an array indexed
    by number and comes out in the order of the result.
    """
    names, numbers = dense_numbers(actors, start=0, dtype="uint32")
    return names.alias("actor_id"), numbers


def _reactions(
    base: pl.DataFrame, actor: NDArray[np.uint32], width: int, first: NDArray[np.bool_]
) -> pl.DataFrame:
    """Per actor number: ``events, cases, reactions, reaction_median_s, fast_reaction_share``.

    ``base`` is in case order, ``actor`` its rows' numbers (:func:`_actor_numbers`).
    The trigger of a row is the row before it in its case; the actor's own previous
    event in the case is the row before it in a stable order by (case, actor) pair, in
    which each pair is one run of rows and its first row counts a case.
    """
    import numpy as np

    ts = pl.col("timestamp")
    stamp = base.get_column("timestamp")
    moment = stamp.to_physical()
    # the row before is another actor's event in the same case; its stamp is read only then
    trigger = ~first
    trigger[1:] &= actor[1:] != actor[:-1]
    pair = np.cumsum(first, dtype=np.int64) * width + actor
    if not moment.null_count():
        return _stamped_reactions(moment.to_numpy(), stamp.dtype, actor, width, pair, trigger)
    # each actor's rows one block, in case order (a radix sort of small integers)
    by_actor = np.argsort(_narrow(actor, width), kind="stable")
    rows = pl.DataFrame(
        {
            "_actor": actor[by_actor],
            "_pair": pair[by_actor],
            "_trigger": trigger[by_actor],
            "timestamp": _gather(moment, by_actor).cast(stamp.dtype),
            # (the first row's stands in for none: no trigger reads it)
            "_prev_ts": _gather(moment.shift(1, fill_value=0), by_actor).cast(stamp.dtype),
        }
    ).with_columns(pl.col("_actor").set_sorted())
    own = pl.col("_pair") == pl.col("_pair").shift(1)
    own_prev = pl.when(own).then(ts.shift(1))
    react = pl.when(
        pl.col("_trigger")
        & (own_prev.is_null() | ((pl.col("_prev_ts") - own_prev).dt.total_seconds() > SESSION_S))
    ).then((ts - pl.col("_prev_ts")).dt.total_seconds(fractional=True))
    per = (
        rows.with_columns(react.alias("_react"), own.fill_null(False).alias("_own"))
        .group_by("_actor", maintain_order=True)
        .agg(
            pl.len().alias("events"),
            (~pl.col("_own")).sum().alias("cases"),
            pl.col("_react").count().alias("reactions"),
            pl.col("_react").median().alias("reaction_median_s"),
            (pl.col("_react") < 60).mean().alias("fast_reaction_share"),
        )
    )
    return per.drop("_actor").cast({"cases": pl.UInt32})


def _stamped_reactions(
    moment: NDArray[np.int64],
    dtype: pl.DataType,
    actor: NDArray[np.uint32],
    width: int,
    pair: NDArray[np.int64],
    trigger: NDArray[np.bool_],
) -> pl.DataFrame:
    """:func:`_reactions` when no stamp is null, on the arrays: the rows in (case, actor)
    order, counted per actor by ``bincount``, and the reactions' waits sorted per actor
    for the medians. The pairs (case number above actor number) ascend with the cases
    already, so their stable sort only orders each case's few rows, and every gather in
    that order reads rows close together. A reaction's seconds are the stamps' difference
    times the reciprocal of the unit, as polars' ``total_seconds(fractional=True)`` reads
    them (an order-keeping map: the waits sort as the seconds do); the session test
    truncates to whole seconds, as ``total_seconds()`` does."""
    import numpy as np

    assert isinstance(dtype, pl.Datetime)
    per_second = {"ns": 1_000_000_000, "us": 1_000_000, "ms": 1_000}[dtype.time_unit or "us"]
    order = np.argsort(pair, kind="stable")
    paired = pair[order]
    own = np.zeros(order.size, dtype=bool)
    np.equal(paired[1:], paired[:-1], out=own[1:])
    del paired
    who = actor[order]
    stamp = moment[order]
    # the row before each one in case order (row 0's stands in for none: no trigger reads it)
    order -= 1
    trigger_at = moment[order]
    order += 1
    # the actor's own previous event in the case is the row before it in pair order; in
    # case order the trigger comes no earlier than it
    fresh = trigger_at[1:] - stamp[:-1]
    fresh //= per_second
    reacting = trigger[order]
    reacting[1:] &= ~own[1:] | (fresh > SESSION_S)
    del fresh, order
    wait = stamp
    wait -= trigger_at
    del trigger_at
    # each reactor's waits in ascending order, for the medians
    reactor, waits = _by_actor_then_time(who[reacting].astype(np.int64), wait[reacting])
    events = np.bincount(actor, minlength=width)
    cases = np.bincount(who[~own], minlength=width)
    reactions = np.bincount(reactor, minlength=width)
    seconds = waits * (1 / per_second)
    fast = np.bincount(reactor[seconds < 60], minlength=width)
    median = _medians(seconds, reactions)
    none = np.flatnonzero(reactions == 0)
    share = fast / np.maximum(reactions, 1)
    return pl.DataFrame(
        [
            pl.Series("events", events, dtype=pl.UInt32),
            pl.Series("cases", cases, dtype=pl.UInt32),
            pl.Series("reactions", reactions, dtype=pl.UInt32),
            pl.Series("reaction_median_s", median, dtype=pl.Float64).scatter(none, None),
            pl.Series("fast_reaction_share", share, dtype=pl.Float64).scatter(none, None),
        ]
    )


def _medians(values: NDArray[np.float64], counts: NDArray[np.intp]) -> NDArray[np.float64]:
    """Per group: the median of ``values``, sorted within consecutive groups of ``counts``
    rows (NaN for an empty group) -- as polars' ``median`` reads it: the middle value,
    or between the two middle ones ``lower + (upper - lower) * 0.5``."""
    import numpy as np

    starts = (np.cumsum(counts) - counts)[counts > 0]
    some = counts[counts > 0]
    lower = values[starts + (some - 1) // 2]
    upper = values[starts + some // 2]
    median = np.full(counts.size, np.nan)
    median[counts > 0] = lower + (upper - lower) * 0.5
    return median


def _narrow(actor: NDArray[np.uint32], width: int) -> NDArray[Any]:
    """``actor`` in the narrowest unsigned type that holds ``width`` numbers: numpy sorts
    8- and 16-bit integers by radix, in one or two passes."""
    import numpy as np

    if width <= 1 << 8:
        return actor.astype(np.uint8)
    return actor.astype(np.uint16) if width <= 1 << 16 else actor


def _gather(values: pl.Series, order: NDArray[np.intp]) -> pl.Series:
    """``values`` (integers) in ``order``: numpy's take where no value is null (a quarter of
    the time of polars' gather over a million rows), polars' otherwise."""
    if values.null_count():
        return values.gather(order)
    return pl.Series(values.name, values.to_numpy()[order])


def _clock(stamp: pl.Series, actor: NDArray[np.uint32], width: int) -> pl.DataFrame:
    """Per actor number: ``weekend_share, events_per_day, first_seen, last_seen, interval_cv,
    hour_entropy, off_hours_share``.

    Hours, days and weekdays are read off the wall-clock integer of each stamp (its
    time zone's local time: in UTC the stamp itself), counted per actor by ``bincount``;
    the gaps and the first and last stamps from each actor's stamps in time order, one
    sort of one integer (actor number above the stamp) where that fits in 63 bits. A
    null stamp has no hour, weekday or gap, and is one "date" of its own, as a null date
    counts among an actor's dates.
    """
    import numpy as np

    dtype = stamp.dtype
    assert isinstance(dtype, pl.Datetime)
    per_second = {"ns": 1_000_000_000, "us": 1_000_000, "ms": 1_000}[dtype.time_unit or "us"]
    per_hour = 3600 * per_second
    wall = stamp.dt.replace_time_zone(None) if dtype.time_zone not in (None, "UTC") else stamp
    events = np.bincount(actor, minlength=width)
    # the arrays are polars' own buffers (no copy) unless a stamp is null
    valid = stamp.is_not_null().to_numpy() if stamp.null_count() else None
    moment = _stamped(stamp, valid)
    local = moment if wall is stamp else _stamped(wall, valid)
    who = (actor if valid is None else actor[valid]).astype(np.int64)
    stamped = np.bincount(who, minlength=width)

    hour = local // per_hour
    day = hour // 24
    hour -= day * 24
    low_day = int(day.min()) if day.size else 0
    span = int(day.max()) - low_day + 1 if day.size else 1
    day -= low_day
    day += who * span  # the (actor, day) cell

    def weekends(days: NDArray[np.int64]) -> NDArray[np.bool_]:
        # 1970-01-01 was a Thursday: (day + 3) % 7 is 0 on Mondays, 5 and 6 on weekends
        return (days + (low_day + 3)) % 7 >= 5

    if width * span <= max(4 * day.size, 1 << 20):  # a count per (actor, day) cell
        per_day = np.bincount(day, minlength=width * span).reshape(width, span)
        dates = np.count_nonzero(per_day, axis=1) + (stamped < events)
        weekend = per_day[:, weekends(np.arange(span))].sum(axis=1)
    else:
        day.sort()
        distinct = day[run_starts(day)]
        dates = np.bincount(distinct // span, minlength=width) + (stamped < events)
        weekend = np.bincount(day[weekends(day % span)] // span, minlength=width)
    del day
    hour += who * 24  # the (actor, hour of the clock) cell
    counts = np.bincount(hour, minlength=width * 24)
    del hour

    timed_actor, timed = _by_actor_then_time(who, moment)
    del who
    starts = run_starts(timed_actor)
    ends = np.roll(starts, -1)
    first_seen = np.zeros(width, dtype=np.int64)
    last_seen = np.zeros(width, dtype=np.int64)
    first_seen[timed_actor[starts]] = timed[starts]
    last_seen[timed_actor[ends]] = timed[ends]
    seen = stamped > 0
    interval_cv, has_cv = _interval_cv(timed_actor, timed, starts, actor, valid, width, per_second)
    del timed_actor, timed, starts, ends

    cells = np.flatnonzero(counts)
    hours = pl.DataFrame(
        {"_actor": cells // 24, "_h": (cells % 24).astype(np.int8), "_n": counts[cells]}
    )
    spread = _hour_spread(hours)
    entropy = np.full(width, np.nan)
    off_hours = np.full(width, np.nan)
    spread_actor = spread.get_column("_actor").to_numpy()
    entropy[spread_actor] = spread.get_column("hour_entropy").to_numpy()
    off_hours[spread_actor] = spread.get_column("off_hours_share").to_numpy()
    hourly = np.zeros(width, dtype=bool)
    hourly[spread_actor] = True

    def feature(name: str, values: Any, present: Any, kind: Any = pl.Float64) -> pl.Series:
        return pl.Series(name, values).cast(kind).scatter(np.flatnonzero(~present), None)

    return pl.DataFrame(
        [
            feature("weekend_share", weekend / np.maximum(stamped, 1), seen),
            pl.Series("events_per_day", events / dates),
            feature("first_seen", first_seen, seen, pl.Int64).cast(dtype),
            feature("last_seen", last_seen, seen, pl.Int64).cast(dtype),
            feature("interval_cv", interval_cv, has_cv),
            feature("hour_entropy", entropy, hourly),
            feature("off_hours_share", off_hours, hourly),
        ]
    )


def _stamped(stamp: pl.Series, valid: NDArray[np.bool_] | None) -> NDArray[np.int64]:
    """The stamps' integers, of the ``valid`` rows only when some are null."""
    moment = stamp.to_physical()
    return (moment if valid is None else moment.drop_nulls()).to_numpy()


def _interval_cv(
    timed_actor: NDArray[np.int64],
    timed: NDArray[np.int64],
    starts: NDArray[np.bool_],
    actor: NDArray[np.uint32],
    valid: NDArray[np.bool_] | None,
    width: int,
    per_second: int,
) -> tuple[NDArray[np.float64], NDArray[np.bool_]]:
    """Per actor number: the coefficient of variation of the gaps between its stamps in time
    order (``timed``, grouped by ``timed_actor``, each group's first row in ``starts``), and
    whether it has one.

    The gaps in seconds are the stamps' differences times the reciprocal of the unit, as
    polars' ``diff().dt.total_seconds(fractional=True)`` reads them; a group's first gap
    is null, and an actor's null stamps (``valid`` false) lead its group as null gaps,
    where a sort by time puts them -- polars' deviation and mean run over the same slots
    as on the stamps themselves.
    """
    import numpy as np

    gaps = np.empty(timed.size, dtype=np.float64)
    np.subtract(timed[1:], timed[:-1], out=gaps[1:])
    gaps *= 1 / per_second
    gaps[starts] = np.nan
    group = timed_actor
    if valid is not None:
        unstamped = np.sort(actor[~valid]).astype(np.int64)
        # before the first stamped row of its actor (or where that actor's rows would be)
        at = np.searchsorted(timed_actor, unstamped)
        gaps = np.insert(gaps, at, np.nan)
        group = np.insert(timed_actor, at, unstamped)
    gap = pl.col("_gap")
    cv = (
        pl.DataFrame({"_actor": group, "_gap": pl.Series(gaps, nan_to_null=True)})
        .with_columns(pl.col("_actor").set_sorted())
        .group_by("_actor", maintain_order=True)
        .agg((gap.std() / gap.mean()).alias("_cv"))
    )
    interval_cv = np.full(width, np.nan)
    has_cv = np.zeros(width, dtype=bool)
    cv_actor = cv.get_column("_actor").to_numpy()
    interval_cv[cv_actor] = cv.get_column("_cv").fill_null(np.nan).to_numpy()
    has_cv[cv_actor] = cv.get_column("_cv").is_not_null().to_numpy()
    return interval_cv, has_cv


def _by_actor_then_time(actor: NDArray[np.int64], moment: NDArray[np.int64]) -> tuple[Any, Any]:
    """``actor`` and ``moment`` ordered by actor, then moment.

    One sort of one integer holding both (the actor's number above the stamp's
    offset from the first stamp) when that fits in 63 bits -- polars' sort on one
    thread, a third of numpy's time on a million -- else a sort on two keys.
    """
    import numpy as np

    if not moment.size:
        return actor, moment
    low = int(moment.min())
    bits = (int(moment.max()) - low).bit_length()
    if bits < 63 and int(actor.max()) < 1 << (63 - bits):
        key = actor << bits
        key |= moment - low
        key = pl.Series(key).sort(multithreaded=False).to_numpy()
        timed = key & ((1 << bits) - 1)
        timed += low
        return key >> bits, timed
    order = np.lexsort((moment, actor))
    return actor[order], moment[order]


def _hour_spread(hours: pl.DataFrame) -> pl.DataFrame:
    """``_actor, hour_entropy, off_hours_share`` from each actor's events per hour of the clock
    (``_actor, _h, _n``, the hours it was active in)."""
    entropy = (
        hours.with_columns((pl.col("_n") / pl.col("_n").sum().over("_actor")).alias("_p"))
        .group_by("_actor")
        .agg((-(pl.col("_p") * pl.col("_p").log()).sum() / math.log(24)).alias("hour_entropy"))
    )
    starts = pl.DataFrame({"_start": list(range(24))}, schema={"_start": pl.Int8})
    workday = (
        hours.join(starts, how="cross")
        .with_columns(
            (((pl.col("_h").cast(pl.Int16) - pl.col("_start")) % 24) < WORKDAY_HOURS).alias("_in")
        )
        .group_by("_actor", "_start")
        .agg(pl.col("_n").filter(pl.col("_in")).sum().alias("_inside"), pl.col("_n").sum())
        .group_by("_actor")
        .agg((1 - (pl.col("_inside") / pl.col("_n")).max()).alias("off_hours_share"))
    )
    return entropy.join(workday, on="_actor")


def _behaviour_score(f: pl.DataFrame) -> pl.DataFrame:
    """Add ``behaviour_score`` (0..1) and ``behaviour_signals`` (list of what fired).

    Weights follow the separating features in SIGNALS.md; the score is the sum
    over families of evidence (reaction speed, its consistency, spread over
    the clock, over the week, rhythm, content, volume) of the strongest fired
    signal in each, capped at 1. An actor with fewer than MIN_EVENTS
    events scores 0 (too little to judge). Reacting to other people's events
    within a minute, consistently (>= 80 % of >= 10 reactions), is the one
    behaviour no person keeps up: on its own it reaches the default threshold
    (0.5). Every other signal needs at least one more to get there.
    """
    # (family, signal, condition, weight): a family is one kind of evidence and
    # counts once, with its strongest signal -- spread over the clock is one
    # thing whether entropy or off-hours share shows it
    rules: list[tuple[str, str, pl.Expr, float]] = [
        ("reaction", "sub-minute reactions",
         (pl.col("reactions") >= 5) & (pl.col("fast_reaction_share") >= 0.5), 0.35),
        ("reaction", "reacts within minutes",
         (pl.col("reactions") >= 5) & (pl.col("reaction_median_s") < 300)
         & (pl.col("fast_reaction_share") < 0.5), 0.15),
        ("consistency", "consistently sub-minute",
         (pl.col("reactions") >= 10) & (pl.col("fast_reaction_share") >= 0.8), 0.15),
        ("clock", "active around the clock", pl.col("hour_entropy") >= 0.85, 0.2),
        ("clock", "active off-hours", pl.col("off_hours_share") >= 0.2, 0.15),
        ("week", "active on weekends", pl.col("weekend_share") >= 0.2, 0.15),
        ("rhythm", "regular intervals", pl.col("interval_cv") < 0.5, 0.2),
        ("content", "near-identical messages",
         (pl.col("texts") >= 5) & (pl.col("duplicate_text_share") >= 0.5), 0.2),
        ("volume", "very high volume",
         pl.col("events_per_day") >= 3 * pl.col("events_per_day").median(), 0.1),
    ]  # fmt: skip
    enough = pl.col("events") >= MIN_EVENTS
    fired = [
        pl.when(enough & cond.fill_null(False)).then(pl.lit(name)).otherwise(None)
        for _, name, cond, _ in rules
    ]
    families = sorted({family for family, *_ in rules})
    score = pl.sum_horizontal(
        [
            pl.max_horizontal(
                [
                    pl.when(enough & cond.fill_null(False)).then(w).otherwise(0.0)
                    for fam, _, cond, w in rules
                    if fam == family
                ]
            )
            for family in families
        ]
    )
    return f.with_columns(
        pl.min_horizontal(score, pl.lit(1.0)).alias("behaviour_score"),
        pl.concat_list(fired).list.drop_nulls().alias("behaviour_signals"),
    )


def classify_actors(
    log: pl.DataFrame,
    accounts: pl.DataFrame | None = None,
    events_attrs: pl.DataFrame | None = None,
    *,
    signals: Signals | None = None,
    threshold: float = AUTOMATION_THRESHOLD,
    ai: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """Classify every actor of ``log`` as human, bot, agent or unknown, with score and evidence.

    ``ai``: :func:`ai_events` of the same ``events_attrs`` and signals, when the
    caller has computed it already.

    ``accounts`` (optional): the store's ``accounts`` rows (``account_id``,
    ``login``, ``email``, ``platform_kind``, ``attrs``), with an ``actor_id``
    column when identity resolution maps accounts to actors (else the account
    is the actor). ``events_attrs`` (optional): ``event_id``, ``attrs`` (JSON
    text) and, if known, ``account_id`` -- the events table -- for event-level
    platform fields and AI signatures.

    Returns ``actor_id, kind, score, basis, tool, events, ai_events, ai_tools,
    evidence`` where ``score`` is the confidence that the actor is automation
    (bot or agent), ``basis`` is ``platform`` / ``identifier`` / ``behaviour``
    / ``none``, and ``evidence`` is JSON with the signals and features.

    >>> import polars as pl
    >>> classify_actors(pl.DataFrame({"case_id": ["c"], "actor_id": ["github:codecov[bot]"],
    ...     "timestamp": [None], "seq": [0], "event_id": ["e"]},
    ...     schema_overrides={"timestamp": pl.Datetime("us", "UTC")}))["kind"].to_list()
    ['bot']
    """
    sig = signals or load_signals()
    schema: dict[str, Any] = {
        "actor_id": pl.String, "kind": pl.String, "score": pl.Float64, "basis": pl.String,
        "tool": pl.String, "events": pl.UInt32, "ai_events": pl.UInt32,
        "ai_tools": pl.List(pl.String), "evidence": pl.String,
    }  # fmt: skip
    base = log.filter(pl.col("actor_id").is_not_null())
    if base.height == 0:
        return pl.DataFrame(schema=schema)
    texts = None
    if events_attrs is not None and "attrs" in events_attrs.columns and events_attrs.height:
        # an event without any of the text keys has no text (behaviour_features skips those)
        texts = _may_hold(events_attrs, _TEXT_PATHS).select(
            "event_id",
            pl.coalesce([_json_str(p) for p in _TEXT_PATHS]).fill_null("").alias("text"),
        )
    feats = _behaviour_score(behaviour_features(base, texts))

    # accounts: explicit frame, else each actor is its own account
    if accounts is None or accounts.height == 0:
        # every actor once: the features' rows (not a distinct pass over the events' ids)
        accounts = feats.select(pl.col("actor_id").alias("account_id"))
    if (
        "actor_id" not in accounts.columns
        and events_attrs is not None
        and ("account_id" in events_attrs.columns)
    ):
        mapping = (
            base.select("event_id", "actor_id")
            .join(events_attrs.select("event_id", "account_id"), on="event_id")
            .select("account_id", "actor_id")
            .unique()
        )
        accounts = accounts.join(mapping, on="account_id", how="left").with_columns(
            pl.coalesce("actor_id", "account_id").alias("actor_id")
        )
    plat = _account_platform(accounts, sig)
    kind_rank = pl.col("p_kind").replace_strict(
        {"agent": 0, "bot": 1}, default=2, return_dtype=pl.Int64
    )
    per_actor_plat = (
        plat.filter(pl.col("p_kind").is_not_null())
        .sort([kind_rank, "account_id"])
        .group_by("actor_id", maintain_order=True)
        .agg(
            pl.col("p_kind").first(),
            pl.col("p_tool").drop_nulls().first(),
            pl.format("{}: {}", "account_id", "p_reason").alias("p_reasons"),
        )
    )

    ai = ai_events(events_attrs, sig) if ai is None else ai
    ev_plat = _event_platform(events_attrs)
    # most logs have neither: no join then hashes a million event ids to find none
    per_event = base.select("event_id", "actor_id")
    ai_counts = (
        (per_event if ai.height else per_event.clear())
        .join(ai, on="event_id")
        .group_by("actor_id")
        .agg(
            pl.len().alias("ai_events"),
            pl.col("ai_tool").unique().sort().alias("ai_tools"),
            pl.col("ai_signal").unique().sort().alias("ai_signals"),
        )
    )
    plat_counts = (
        (per_event if ev_plat.height else per_event.clear())
        .join(ev_plat, on="event_id")
        .group_by("actor_id")
        .agg(
            pl.len().alias("platform_events"), pl.col("reason").unique().sort().alias("ev_reasons")
        )
    )
    declared = _declared_kinds(base)
    df = (
        feats.join(per_actor_plat, on="actor_id", how="left")
        .join(ai_counts, on="actor_id", how="left")
        .join(plat_counts, on="actor_id", how="left")
        .join(declared, on="actor_id", how="left")
        .with_columns(
            pl.col("ai_events").fill_null(0).cast(pl.UInt32),
            pl.col("platform_events").fill_null(0),
            pl.col("ai_tools").fill_null([]),
        )
    )
    ev_plat_share = pl.col("platform_events") / pl.col("events")
    ai_share = pl.col("ai_events") / pl.col("events")
    agentish = (ai_share >= 0.5) | (
        pl.col("ai_signals").list.contains("branch") & (ai_share >= 0.3)
    )
    beh = pl.col("behaviour_score")
    kind = (
        pl.when(pl.col("p_kind").is_not_null()).then(pl.col("p_kind"))
        .when(ev_plat_share >= 0.5).then(pl.lit("bot"))
        .when(beh >= threshold).then(pl.when(agentish).then(pl.lit("agent")).otherwise(pl.lit("bot")))
        .when(pl.col("declared_kind").is_in(["human", "bot", "agent"]))
        .then(pl.col("declared_kind"))
        .when(pl.col("events") >= MIN_EVENTS).then(pl.lit("human"))
        .otherwise(pl.lit("unknown"))
    )  # fmt: skip
    basis = (
        pl.when(pl.col("p_kind").is_not_null())
        .then(
            pl.when(pl.col("p_reasons").list.eval(pl.element().str.contains("known ")).list.any())
            .then(pl.lit("identifier")).otherwise(pl.lit("platform"))
        )
        .when(ev_plat_share >= 0.5).then(pl.lit("platform"))
        .when(beh >= threshold).then(pl.lit("behaviour"))
        .when(pl.col("declared_kind").is_in(["human", "bot", "agent"])).then(pl.lit("declared"))
        .otherwise(pl.lit("none"))
    )  # fmt: skip
    score = (
        pl.when(pl.col("p_kind").is_not_null()).then(pl.lit(1.0))
        .when(ev_plat_share >= 0.5).then(pl.lit(0.95))
        .otherwise(beh)
    )  # fmt: skip
    df = df.with_columns(kind.alias("kind"), basis.alias("basis"), score.alias("score"))
    evidence_cols = [
        "declared_kind", "events", "cases", "reactions", "reaction_median_s",
        "fast_reaction_share", "interval_cv", "hour_entropy", "weekend_share", "off_hours_share",
        "events_per_day", "duplicate_text_share", "behaviour_score", "behaviour_signals",
        "p_reasons", "ev_reasons", "platform_events", "ai_events", "ai_tools", "ai_signals",
    ]  # fmt: skip
    rounded = [
        pl.col(c).round(3) if df.schema[c] in (pl.Float64, pl.Float32) else pl.col(c)
        for c in evidence_cols
    ]
    df = df.with_columns(
        pl.struct(rounded).map_elements(lambda s: to_json(_clean(s)), return_dtype=pl.String)
        .alias("evidence")
    )  # fmt: skip
    return (
        df.select(
            "actor_id",
            "kind",
            pl.col("score").round(3),
            "basis",
            pl.coalesce(pl.col("p_tool"), pl.col("ai_tools").list.first()).alias("tool"),
            pl.col("events").cast(pl.UInt32),
            "ai_events",
            "ai_tools",
            "evidence",
        )
        .cast(schema)  # type: ignore[arg-type]
        .sort("actor_id")
    )


def _declared_kinds(base: pl.DataFrame) -> pl.DataFrame:
    """Per actor: the kind its events declare most often (``declared_kind``; a tie goes to the
    first name in sort order; no row for an actor that declares none).

    Counted per (actor, kind) pair, a small frame, instead of a mode over each actor's events.
    """
    if "actor_kind" not in base.columns:
        return (
            base.select("actor_id")
            .unique()
            .with_columns(pl.lit(None, dtype=pl.String).alias("declared_kind"))
        )
    return (
        base.group_by("actor_id", "actor_kind")
        .len()
        .filter(pl.col("actor_kind").is_not_null())
        .sort(["actor_id", "len", "actor_kind"], descending=[False, True, False])
        .group_by("actor_id", maintain_order=True)
        .agg(pl.col("actor_kind").first().cast(pl.String).alias("declared_kind"))
    )


def _clean(row: dict[str, Any]) -> dict[str, Any]:
    """Drop empty entries so the evidence stays readable."""
    return {k: v for k, v in row.items() if (v is not None and v != [] and v != 0) or k == "events"}
