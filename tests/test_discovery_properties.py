"""Invariants: with seq breaking timestamp ties, row order never changes a result."""

from __future__ import annotations

import datetime as dt

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

import wfmine.discovery as d

T0 = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)

events = st.lists(
    st.tuples(
        st.sampled_from(["c1", "c2", "c3"]),
        st.sampled_from(["a", "b", "c", "d"]),
        st.integers(min_value=0, max_value=3),  # few distinct hours: many ties
        st.sampled_from(["ann", "bob", None]),
    ),
    min_size=0,
    max_size=25,
)


def _frame(rows: list[tuple[str, str, int, str | None]]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "case_id": [r[0] for r in rows],
            "activity": [r[1] for r in rows],
            "timestamp": [T0 + dt.timedelta(hours=r[2]) for r in rows],
            "resource": [r[3] for r in rows],
        },
        schema={
            "case_id": pl.String,
            "activity": pl.String,
            "timestamp": pl.Datetime("us", "UTC"),
            "resource": pl.String,
        },
    ).with_row_index("seq")


@settings(max_examples=60, deadline=None)
@given(rows=events, seed=st.integers(min_value=0, max_value=10_000))
def test_shuffling_rows_changes_nothing(
    rows: list[tuple[str, str, int, str | None]], seed: int
) -> None:
    log = _frame(rows)
    shuffled = log.sample(fraction=1.0, shuffle=True, seed=seed)
    assert d.directly_follows(shuffled).equals(d.directly_follows(log))
    assert d.variants(shuffled).equals(d.variants(log))
    assert d.case_variants(shuffled).equals(d.case_variants(log))
    assert d.start_activities(shuffled) == d.start_activities(log)
    assert d.end_activities(shuffled) == d.end_activities(log)
    assert d.handover_frame(shuffled).equals(d.handover_frame(log))
    assert d.performance_dfg(shuffled).equals(d.performance_dfg(log))
    assert d.case_durations(shuffled).equals(d.case_durations(log))
    whole = d.overview(shuffled)
    assert whole.dfg.equals(d.directly_follows(log))
    assert whole.variants.equals(d.variants(log))
    assert whole.summary == d.log_summary(log)
    assert (whole.start_activities, whole.end_activities) == (
        d.start_activities(log),
        d.end_activities(log),
    )


@settings(max_examples=40, deadline=None)
@given(rows=events)
def test_dfg_frequencies_add_up(rows: list[tuple[str, str, int, str | None]]) -> None:
    log = _frame(rows)
    cases = log["case_id"].n_unique()
    assert d.directly_follows(log)["frequency"].sum() == log.height - cases
    assert sum(d.start_activities(log).values()) == cases
    assert d.variants(log)["cases"].sum() == cases
