"""The actor features' array kernels against the features read plainly, with polars' group-bys.

:func:`wfmine.findings.actors.behaviour_features` reads every feature off integer arrays in
two orders; here each one is also computed the plain way, one group-by per feature, on
random logs that reach every branch of the kernels: time units, time zones, null stamps,
more actors than a byte holds, logs not in case order, equal stamps.
"""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from wfmine.findings.actors import SESSION_S, behaviour_features
from wfmine.stages import CASE_ORDER

_PER_SECOND = {"ms": 1_000, "us": 1_000_000, "ns": 1_000_000_000}


def _log(
    seed: int,
    *,
    events: int = 3000,
    actors: int = 30,
    cases: int = 300,
    unit: str = "us",
    zone: str | None = "UTC",
    null_share: float = 0.0,
    seconds: int = 20 * 86400,
    shuffled: bool = False,
) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    per = _PER_SECOND[unit]
    stamps = 1_700_000_000 * per + rng.integers(0, seconds, events) * per
    log = pl.DataFrame(
        {
            "case_id": pl.Series(rng.integers(0, cases, events)).cast(pl.String),
            "actor_id": pl.Series(rng.integers(0, actors, events)).cast(pl.String),
            "timestamp": pl.Series(stamps).cast(pl.Datetime(unit, zone)),  # type: ignore[arg-type]
            "seq": pl.Series(rng.integers(0, 3, events)),
            "event_id": pl.Series(np.arange(events)).cast(pl.String),
        }
    )
    if null_share:
        drop = pl.Series(rng.random(events) < null_share)
        log = log.with_columns(
            pl.when(drop).then(None).otherwise(pl.col("timestamp")).alias("timestamp")
        )
    log = log.sort(list(CASE_ORDER))
    return log.sample(fraction=1.0, shuffle=True, seed=seed) if shuffled else log


def _plain(log: pl.DataFrame) -> pl.DataFrame:
    """The features one group-by each: reactions from shifts over the case and over the
    (case, actor) pair, the clock from the stamps' own calendar fields."""
    ts = pl.col("timestamp")
    before = ts.shift(1).over("case_id")
    own_before = ts.shift(1).over("case_id", "actor_id")
    trigger = pl.col("actor_id").shift(1).over("case_id") != pl.col("actor_id")
    fresh = own_before.is_null() | ((before - own_before).dt.total_seconds() > SESSION_S)
    react = pl.when(trigger.fill_null(False) & fresh).then(
        (ts - before).dt.total_seconds(fractional=True)
    )
    reactions = (
        log.sort(list(CASE_ORDER))
        .with_columns(react.alias("_react"))
        .group_by("actor_id")
        .agg(
            pl.len().cast(pl.UInt32).alias("events"),
            pl.col("case_id").n_unique().cast(pl.UInt32).alias("cases"),
            pl.col("_react").count().cast(pl.UInt32).alias("reactions"),
            pl.col("_react").median().alias("reaction_median_s"),
            (pl.col("_react") < 60).mean().alias("fast_reaction_share"),
        )
    )
    gap = ts.sort().diff().dt.total_seconds(fractional=True)
    clock = log.group_by("actor_id").agg(
        (ts.dt.weekday() >= 6).mean().alias("weekend_share"),
        (pl.len() / ts.dt.date().n_unique()).alias("events_per_day"),
        ts.min().alias("first_seen"),
        ts.max().alias("last_seen"),
        (gap.std() / gap.mean()).alias("interval_cv"),
    )
    return reactions.join(clock, on="actor_id").sort("actor_id")


@pytest.mark.parametrize(
    "shape",
    [
        {},
        {"unit": "ms"},
        {"unit": "ns"},
        {"zone": None},
        {"zone": "Europe/Berlin"},
        {"actors": 400, "cases": 60},  # more actors than one byte numbers
        {"actors": 3, "cases": 20, "seconds": 3000},  # many sub-minute reactions
        {"events": 500, "actors": 400, "cases": 400},  # actors with one event
        {"seconds": 40 * 365 * 86400},  # more (actor, day) cells than events
        {"shuffled": True},
        {"seconds": 50},  # equal stamps broken by seq and event id
    ],
    ids=str,
)
def test_kernels_match_the_plain_group_bys(shape: dict[str, object]) -> None:
    log = _log(7, **shape)  # type: ignore[arg-type]
    got = behaviour_features(log).select(_plain(log).columns)
    assert_frame_equal(got, _plain(log), check_exact=False, rel_tol=1e-12, abs_tol=0)


@pytest.mark.parametrize("zone", ["UTC", "America/New_York"])
def test_clock_kernels_match_with_null_stamps(zone: str) -> None:
    log = _log(11, null_share=0.1, zone=zone)
    columns = ["actor_id", "events", "weekend_share", "events_per_day", "first_seen"]
    columns += ["last_seen", "interval_cv"]
    got = behaviour_features(log).select(columns)
    assert_frame_equal(
        got, _plain(log).select(columns), check_exact=False, rel_tol=1e-12, abs_tol=0
    )
