"""The fast paths of the drift test and of the significance tests give the general paths' numbers.

Each fast path is compared bit for bit with the general computation it replaces, on
awkward input: ties, NaNs, unsorted values, single values, empty arrays.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from wfmine.drift import _BLOCK, _chi2_splits
from wfmine.findings.significance import (
    _binary,
    _dense,
    _pairs_binary,
    _pairs_table,
    average_ranks,
    kendall_tau_b,
)


def _ranks_stable(values: Any) -> np.ndarray[Any, Any]:
    """The general ranking: a stable sort, every value's tie group found by its dense rank."""
    arr = np.asarray(values).ravel()
    sorter = np.argsort(arr, kind="mergesort")
    inv = np.empty(sorter.size, dtype=np.intp)
    inv[sorter] = np.arange(sorter.size, dtype=np.intp)
    ordered = arr[sorter]
    obs = np.r_[True, ordered[1:] != ordered[:-1]]
    dense = obs.cumsum()[inv]
    count = np.r_[np.nonzero(obs)[0], len(obs)]
    return 0.5 * (count[dense] + count[dense - 1] + 1)  # type: ignore[no-any-return]


def _awkward(rng: np.random.Generator) -> list[Any]:
    cases: list[Any] = [
        np.zeros(0),
        np.array([7.0]),
        np.array([2.0, 2.0, 2.0]),
        np.array([np.nan, 1.0, np.nan, 0.0, 1.0]),
        np.array([np.nan]),
        np.array([-0.0, 0.0, 0.0, -1.0]),
        np.array([np.inf, -np.inf, 1.0, np.inf]),
        np.array([3, 1, 2, 1, 3], dtype=np.int64),
        np.array([True, False, True]),
        [5, 1, 5, 2],
    ]
    for _ in range(100):
        n = int(rng.integers(0, 200))
        a = rng.integers(0, int(rng.integers(1, 30)), n).astype(float)
        if n and rng.random() < 0.3:
            a[rng.integers(0, n, 3)] = np.nan
        cases.append(a)
    cases.append(np.round(rng.exponential(1e4, 20_000)))
    return cases


def test_average_ranks_equal_the_stable_ranking() -> None:
    for values in _awkward(np.random.default_rng(5)):
        got, want = average_ranks(values), _ranks_stable(values)
        assert got.dtype == want.dtype and got.shape == want.shape
        assert got.tobytes() == want.tobytes(), values


@pytest.mark.parametrize("cats", [1, 2, 4, 9])
def test_chi2_splits_in_blocks_equal_the_whole_stack(cats: int) -> None:
    rng = np.random.default_rng(cats)
    weeks = 20
    counts = rng.integers(0, 6, (weeks, cats)).astype(float)
    counts[3] = 0.0  # an empty week
    if cats > 2:
        counts[:, 1] = 0.0  # a category never seen
    perms = np.empty((3 * _BLOCK + 7, weeks), dtype=np.int64)
    perms[:] = np.arange(weeks)
    perms[1:] = rng.permuted(perms[1:], axis=1)
    whole = _chi2_splits(counts[perms], 3, weeks - 2)
    blocks = np.concatenate(
        [
            _chi2_splits(counts[perms[i : i + _BLOCK]], 3, weeks - 2)
            for i in range(0, len(perms), _BLOCK)
        ]
    )
    assert whole.tobytes() == blocks.tobytes()


def test_kendall_pairs_of_a_binary_y_equal_the_table_count() -> None:
    rng = np.random.default_rng(11)
    cases: list[tuple[Any, Any]] = [
        (np.array([1.0, 2.0]), np.array([0.0, 1.0])),
        (np.array([2.0, 1.0, 2.0, 2.0]), np.array([1.0, 0.0, 0.0, 1.0])),
        (np.array([np.nan, 1.0, np.nan, 0.0]), np.array([1.0, 0.0, 0.0, 1.0])),
        (np.array([3.0, 3.0, 3.0]), np.array([-0.0, 0.0, 5.0])),
        (np.array([0.0, 1.0, 2.0]), np.array([-np.inf, np.inf, np.inf])),
    ]
    for _ in range(100):
        n = int(rng.integers(2, 300))
        x = rng.integers(0, int(rng.integers(1, 40)), n).astype(float)
        y = np.where(rng.random(n) < rng.random(), 3.5, -2.0)
        y[:2] = (3.5, -2.0)  # both values, in any mix
        cases.append((x, y))
    cases.append((np.sort(rng.exponential(1e6, 50_000)), (rng.random(50_000) < 0.1) * 1.0))
    for x, y in cases:
        gx, nx = _dense(np.asarray(x, dtype=float))
        upper = _binary(np.asarray(y, dtype=float))
        assert upper is not None, (x, y)
        fast, table = _pairs_binary(gx, nx, upper), _pairs_table(gx, nx, y)
        assert fast[0] == table[0], (x, y)
        assert np.array_equal(fast[1], table[1]) and fast[1].dtype == table[1].dtype
        assert np.array_equal(fast[2], table[2]) and fast[2].dtype == table[2].dtype


def test_binary_is_only_two_values_without_nan() -> None:
    for y in ([], [1.0], [2.0, 2.0], [0.0, 1.0, 2.0], [0.0, np.nan, 1.0], [np.nan, np.nan]):
        assert _binary(np.asarray(y, dtype=float)) is None, y
    mask = _binary(np.array([1.0, -0.0, 0.0, 1.0]))
    assert mask is not None and mask.tolist() == [True, False, False, True]


def test_kendall_tau_b_on_a_flag_is_scipys() -> None:
    from scipy.stats import kendalltau

    rng = np.random.default_rng(3)
    x = np.round(rng.exponential(50.0, 400))
    y = (rng.random(400) < 0.3) * 1.0
    tau, p = kendall_tau_b(x, y)
    ref = kendalltau(x, y, method="asymptotic")
    assert tau == pytest.approx(ref.statistic, abs=1e-12)
    assert p == pytest.approx(ref.pvalue, rel=1e-9)
