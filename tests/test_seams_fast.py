"""The seams' array kernels against the general path they shortcut.

:func:`wfmine.findings.seams.handoffs` reads the handoffs off integer arrays
(``_run_handoffs``): without a design off the rows next to each change, ties searched;
with one, the giver's last act and the taker's first searched among all acts. The seam
table counts, shares and extremes on pair numbers. Both must give what the as-of joins
and a plain group-by over the strings give, row for row.
"""

from __future__ import annotations

import datetime as dt
import sys

import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from wfmine.findings._events import staged_events
from wfmine.findings.seams import handoffs, seams

module = sys.modules[handoffs.__module__]  # the package's name is its function's

T0 = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)


def _log(seed: int) -> pl.DataFrame:
    """A random flat log: cases in id order, stamps in time order within each, ties of
    stamps (seconds, minutes or hours apart, some with microseconds), teams and kinds
    with gaps."""
    rng = np.random.default_rng(seed)
    n = int(rng.integers(2, 400))
    case = np.sort(rng.integers(0, int(rng.integers(1, 30)), n))
    stamp = rng.integers(0, 30, n) * int(rng.choice([1, 60, 3600])) * 1_000_000
    if seed % 3 == 0:
        stamp = stamp + rng.integers(0, 1000, n)
    order = np.lexsort((stamp, case))
    team = [f"T{t}" for t in rng.integers(0, int(rng.integers(1, 6)), n)]
    if seed % 4 == 0:
        team = [None if rng.random() < 0.1 else t for t in team]
    return pl.DataFrame(
        {
            "case_id": [f"case-{c:04d}" for c in case[order]],
            "activity": ["a"] * n,
            "timestamp": pl.Series(stamp[order]).cast(pl.Datetime("us", "UTC")),
            "seq": np.arange(n),
            "event_id": [f"e{i:04d}" for i in range(n)],
            "actor_id": [f"a{a}" for a in rng.integers(0, 6, n)],
            "actor_kind": rng.choice(["human", "agent", "bot"], n, p=[0.7, 0.2, 0.1]).tolist(),
            "team": team,
        }
    )


@pytest.mark.parametrize("seed", range(60))
def test_adjacent_handoffs_are_the_as_of_joins_answer(seed: int) -> None:
    events = staged_events(_log(seed), None)
    found = handoffs(events, None)
    acts = events.filter(pl.col("team").is_not_null() & (pl.col("actor_kind") != "bot"))
    acts = acts.select("case_id", "timestamp", pl.col("team").alias("_side"))
    if acts.height == 0:
        assert found.height == 0
        return
    coded = module._coded(acts)
    general = module._finish(module._asof_handoffs(coded, coded), "team")
    assert_frame_equal(found, general, check_exact=True)


@pytest.mark.parametrize("seed", range(60))
def test_handoffs_between_steps_are_the_as_of_joins_answer(seed: int) -> None:
    """Some acts are steps (a design's), the rest only tell when a side let go or picked
    up: the searched times, the runs of steps, rework and the order are the joins'."""
    rng = np.random.default_rng(1000 + seed)
    events = staged_events(_log(seed), None)
    acts = events.filter(pl.col("team").is_not_null() & (pl.col("actor_kind") != "bot"))
    acts = acts.select("case_id", "timestamp", pl.col("team").alias("_side"))
    if acts.height == 0:
        return
    step = pl.Series("_step", rng.random(acts.height) < rng.choice([0.2, 0.5, 0.9]))
    if not step.any():
        return
    found = module._run_handoffs(acts, step, "team")
    coded = module._coded(acts)
    general = module._finish(module._asof_handoffs(coded.filter(step), coded), "team")
    assert found is not None
    assert_frame_equal(found, general, check_exact=True)


def test_handoffs_of_a_case_out_of_time_order_go_through_the_joins() -> None:
    """A case whose stamps go back down its rows is not read off the arrays (the blocks
    would not follow its stamps): the kernel says so, and ``handoffs`` asks the joins."""
    acts = pl.DataFrame(
        {
            "case_id": ["a", "a", "a", "b", "b"],
            "timestamp": [T0, T0 + dt.timedelta(hours=2), T0 + dt.timedelta(hours=1), T0, T0],
            "_side": ["dev", "qa", "dev", "dev", "qa"],
        }
    )
    assert module._run_handoffs(acts, None, "team") is None
    assert module._run_handoffs(acts, pl.Series([True] * acts.height), "team") is None


@pytest.mark.parametrize("seed", range(60))
def test_seam_figures_are_a_group_by_of_the_strings(seed: int) -> None:
    """Counts, shares, extremes and example cases of each seam as a group-by over
    ``(from, to)`` gives them (the sums and order statistics are the group-by's own)."""
    events = staged_events(_log(seed), None)
    found = handoffs(events, None)
    if found.height == 0:
        return
    table = module._seam_figures(found, 3.0).sort("from", "to")
    threshold = 3.0 * found.get_column("wait_s").median()
    expected = (
        found.group_by("from", "to")
        .agg(
            pl.len().alias("handoffs"),
            pl.col("case_id").n_unique().alias("cases"),
            (pl.col("wait_s") > threshold).mean().alias("stall_share"),
            pl.col("rework").mean().alias("rework_share"),
            pl.col("taken_at").min().alias("first_seen"),
            pl.col("taken_at").max().alias("last_seen"),
            pl.col("case_id").unique().sort().head(10).alias("example_cases"),
        )
        .sort("from", "to")
    )
    assert_frame_equal(
        table.select(expected.columns),
        expected,
        check_exact=True,
        check_dtypes=False,
    )


def test_pair_numbers_hold_when_the_givers_do_not_chain() -> None:
    """A case whose handoffs do not chain (the giver is not the previous taker: a tie put
    them in another order) numbers every pair by its own sides; the codes of the takers
    and of the givers come from one categorical mapping."""
    rows = [  # case, from, to
        ("a", "qa", "dev"),
        ("a", "ops", "qa"),  # not chained: the previous taker is dev
        ("a", "qa", "ops"),  # chained
        ("b", "dev", "ops"),
        ("b", "ops", "qa"),
    ]
    frame = pl.DataFrame(
        {
            "dimension": ["team"] * len(rows),
            "case_id": [r[0] for r in rows],
            "from": [r[1] for r in rows],
            "to": [r[2] for r in rows],
            "wait_s": [float(i) for i in range(len(rows))],
            "rework": [False] * len(rows),
            "taken_at": [T0 + dt.timedelta(hours=i) for i in range(len(rows))],
        }
    )
    table = module._seam_figures(frame, 3.0)
    got = {(r["from"], r["to"]): r["handoffs"] for r in table.iter_rows(named=True)}
    assert got == {("qa", "dev"): 1, ("ops", "qa"): 2, ("qa", "ops"): 1, ("dev", "ops"): 1}


def test_seams_of_a_log_whose_acts_are_all_steps_match_a_filtered_copy() -> None:
    """Every event an act with a team (a plain log): handoffs read the events' own columns;
    one bot event among them (filtered) gives the handoffs of the log without it."""
    log = _log(7).with_columns(pl.col("team").fill_null("T0"), pl.lit("human").alias("actor_kind"))
    events = staged_events(log, None)
    with_bot = events.with_columns(
        pl.when(pl.int_range(pl.len()) == 3)
        .then(pl.lit("bot"))
        .otherwise(pl.col("actor_kind"))
        .alias("actor_kind")
    )
    without = events.filter(pl.int_range(pl.len()) != 3).with_columns(
        pl.int_range(pl.len(), dtype=pl.Int64).alias("pos")
    )
    assert_frame_equal(handoffs(with_bot, None), handoffs(without, None), check_exact=True)
    assert_frame_equal(seams(with_bot, None), seams(without, None), check_exact=True)
