"""The significance tests wfmine uses, computed exactly with numpy and the standard library.

Each function gives what its :mod:`scipy.stats` namesake gives for the
inputs wfmine passes (same statistic, same tie corrections, the same
p-value up to the last bits of floating point), without importing
``scipy.stats``: that import alone takes the better part of a second, more
than every test of a report together.

- :func:`kendall_tau_b`: ``kendalltau(x, y, method="asymptotic")`` (tau-b, two-sided);
- :func:`theil_sen_slope`: ``theilslopes(y, x).slope``;
- :func:`normal_quantile`: ``norm.ppf(q)``;
- :func:`chi2_sf_1`: ``chi2.sf(x, 1)``;
- :func:`fisher_exact`: ``fisher_exact([[a, b], [c, d]])`` (two-sided), in exact integers;
- :func:`average_ranks`: ``rankdata(values)`` (ties get their average rank).

>>> round(kendall_tau_b([1, 2, 3, 4, 5], [0, 0, 1, 0, 1])[0], 4)
0.5164
>>> fisher_exact(3, 1, 1, 3)[1]
0.4857142857142857
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from fractions import Fraction
from statistics import NormalDist
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # numpy (0.1 s) is imported by the functions that use it
    import numpy as np


__all__ = [
    "average_ranks",
    "chi2_sf_1",
    "fisher_exact",
    "kendall_tau_b",
    "normal_quantile",
    "theil_sen_slope",
]

#: the largest (x groups x y levels) table :func:`kendall_tau_b` builds
_MAX_CELLS = 50_000_000


def _ndtr(a: float) -> float:
    """The standard normal CDF, computed as Cephes' ``ndtr`` (scipy's) computes it."""
    x = a * math.sqrt(0.5)
    z = abs(x)
    if z < math.sqrt(0.5):
        return 0.5 + 0.5 * math.erf(x)
    y = 0.5 * math.erfc(z)
    return 1.0 - y if x > 0 else y


def _dense(values: np.ndarray[Any, Any]) -> tuple[np.ndarray[Any, Any], int]:
    """Dense ranks from 0 (equal values share one) and the number of distinct values."""
    import numpy as np

    uniq, codes = np.unique(values, return_inverse=True)
    return codes.ravel().astype(np.int64), int(uniq.size)


def _binary(values: np.ndarray[Any, Any]) -> np.ndarray[Any, Any] | None:
    """Where ``values`` take the larger of their two distinct values, if they take exactly two
    (no NaN): their dense ranks (:func:`_dense`) as a mask, without sorting them."""

    if values.size == 0:
        return None
    lo, hi = values.min(), values.max()
    if not lo < hi:  # constant, or a NaN among them
        return None
    upper = values == hi
    return upper if bool((upper | (values == lo)).all()) else None


def _tie_sums(counts: np.ndarray[Any, Any]) -> tuple[int, int, int]:
    """Σ t(t-1)/2, Σ t(t-1)(t-2) and Σ t(t-1)(2t+5) over the tie groups' sizes t."""
    t = [int(c) for c in counts[counts > 1]]
    return (
        sum(c * (c - 1) // 2 for c in t),
        sum(c * (c - 1) * (c - 2) for c in t),
        sum(c * (c - 1) * (2 * c + 5) for c in t),
    )


def _pairs_table(
    gx: np.ndarray[Any, Any], nx: int, ys: np.ndarray[Any, Any]
) -> tuple[int, np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    """Concordant minus discordant pairs, and the counts of each x and each y value, from the
    table of the pairs' counts (``gx``: the dense ranks of x, of ``nx`` values)."""
    import numpy as np

    gy, ny = _dense(ys)
    if nx * ny > _MAX_CELLS:
        raise ValueError(f"{nx} x {ny} distinct values: too many for the exact count")
    table = np.zeros((nx, ny), dtype=np.int64)
    np.add.at(table, (gx, gy), 1)
    # pairs with a smaller x: of them, those with a smaller y minus those with a larger one
    before = np.cumsum(table, axis=0) - table
    below = np.cumsum(before, axis=1) - before
    above = before.sum(axis=1, keepdims=True) - below - before
    return int((table * (below - above)).sum()), table.sum(axis=1), table.sum(axis=0)


def _pairs_binary(
    gx: np.ndarray[Any, Any], nx: int, upper: np.ndarray[Any, Any]
) -> tuple[int, np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    """:func:`_pairs_table` of a ``y`` with two values (``upper``: where it has the larger,
    :func:`_binary`), its table's two columns counted directly: the same integers, without
    the sort of ``y``, the scattered adds or the reductions along the table's short rows."""
    import numpy as np

    x_counts = np.bincount(gx, minlength=nx)
    ones = np.bincount(gx[upper], minlength=nx)
    zeros = x_counts - ones
    # each one paired with the zeros of a smaller x (concordant), each zero with the ones of
    # a smaller x (discordant): the table's count with two columns
    con = int((ones * (np.cumsum(zeros) - zeros)).sum())
    dis = int((zeros * (np.cumsum(ones) - ones)).sum())
    n_ones = int(ones.sum())
    return con - dis, x_counts, np.array([int(upper.size) - n_ones, n_ones], dtype=np.int64)


def kendall_tau_b(x: Sequence[float] | np.ndarray[Any, Any],
                  y: Sequence[float] | np.ndarray[Any, Any]) -> tuple[float, float]:  # fmt: skip
    """Kendall's tau-b of ``x`` and ``y`` and its two-sided p-value (normal approximation).

    Concordant minus discordant pairs are counted exactly from a table of
    the pairs' counts by (value of ``x``, value of ``y``) -- O(n log n) for
    a 0/1 ``y``, whose table's two columns are counted directly (no limit
    on its size then: it is never built) -- and the variance carries the
    tie corrections of ``scipy.stats.kendalltau``. ``(nan, nan)`` when
    either side is constant.
    """
    import numpy as np

    xs = np.asarray(x, dtype=float).ravel()
    ys = np.asarray(y, dtype=float).ravel()
    if xs.size != ys.size:
        raise ValueError("x and y differ in length")
    size = int(xs.size)
    if size == 0:
        return math.nan, math.nan
    gx, nx = _dense(xs)
    upper = _binary(ys)
    con_minus_dis, x_counts, y_counts = (
        _pairs_table(gx, nx, ys) if upper is None else _pairs_binary(gx, nx, upper)
    )
    tot = size * (size - 1) // 2
    xtie, x0, x1 = _tie_sums(x_counts)
    ytie, y0, y1 = _tie_sums(y_counts)
    if xtie == tot or ytie == tot:
        return math.nan, math.nan
    tau = con_minus_dis / math.sqrt(tot - xtie) / math.sqrt(tot - ytie)
    tau = min(1.0, max(-1.0, tau))
    m = size * (size - 1.0)
    var = (m * (2 * size + 5) - x1 - y1) / 18 + (2 * xtie * ytie) / m
    if size > 2:
        var += x0 * y0 / (9 * m * (size - 2))
    z = con_minus_dis / math.sqrt(var)
    return tau, 2 * _ndtr(-abs(z))


def theil_sen_slope(y: Sequence[float] | np.ndarray[Any, Any],
                    x: Sequence[float] | np.ndarray[Any, Any]) -> float:  # fmt: skip
    """Sen's slope: the median of the slopes between every two points with distinct ``x``."""
    import numpy as np

    ys = np.array(y, dtype=float).ravel()
    xs = np.array(x, dtype=float).ravel()
    deltax = xs[:, np.newaxis] - xs
    deltay = ys[:, np.newaxis] - ys
    slopes = deltay[deltax > 0] / deltax[deltax > 0]
    slopes.sort()
    return float(np.median(slopes)) if slopes.size else math.nan


def normal_quantile(q: float) -> float:
    """The standard normal quantile of ``q`` (``norm.ppf``)."""
    return NormalDist().inv_cdf(q)


def chi2_sf_1(x: float) -> float:
    """P(X > x) for a chi-square variable with one degree of freedom (``chi2.sf(x, 1)``)."""
    if x <= 0:
        return 1.0
    return math.erfc(math.sqrt(x / 2))


def fisher_exact(a: int, b: int, c: int, d: int) -> tuple[float, float]:
    """Odds ratio and two-sided p-value of Fisher's exact test of the table ``[[a, b], [c, d]]``.

    The p-value sums the probabilities of every table with the same margins
    that is at most as likely as the observed one (within scipy's relative
    tolerance of 1e-14), in exact integer arithmetic.
    """
    if min(a, b, c, d) < 0:
        raise ValueError("a table of counts has no negative cells")
    if 0 in (a + c, b + d, a + b, c + d):
        return math.nan, 1.0
    odds = a * d / (c * b) if c > 0 and b > 0 else math.inf
    n1, n2, n = a + b, c + d, a + c
    lo, hi = max(0, n - n2), min(n, n1)
    weights = [math.comb(n1, k) * math.comb(n2, n - k) for k in range(lo, hi + 1)]
    observed = weights[a - lo]
    # scipy counts a table as extreme when its probability is <= (1 + 1e-14) x the observed
    limit = Fraction(observed) * (1 + Fraction(1, 10**14))
    extreme = sum(w for w in weights if w <= limit)
    return odds, min(1.0, extreme / sum(weights))


def average_ranks(values: Sequence[float] | np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    """Ranks from 1 of ``values``, ties given the average of the ranks they span (``rankdata``).

    A value's rank depends on the values only, not on where the sort puts its equals, so
    the sort need not be stable (numpy's default sort, several times faster than the
    merge sort) -- except with NaNs, each of which is its own tie group (NaN equals
    nothing) ranked by its place after the sort: then the stable sort keeps them in input
    order, as ``rankdata`` does.
    """
    import numpy as np

    arr = np.asarray(values).ravel()
    size = int(arr.size)
    unordered = arr.dtype.kind in "biu" or (arr.dtype.kind == "f" and not np.isnan(arr).any())
    sorter = np.argsort(arr) if unordered else np.argsort(arr, kind="mergesort")
    ordered = arr[sorter]
    obs = np.r_[True, ordered[1:] != ordered[:-1]] if size else np.zeros(0, dtype=bool)
    starts = np.flatnonzero(obs)
    ends = np.r_[starts[1:], size]
    # a tie group spanning sorted places starts .. ends - 1 has the ranks starts + 1 .. ends
    ranks: np.ndarray[Any, Any] = np.empty(size)
    ranks[sorter] = np.repeat(0.5 * (ends + starts + 1), ends - starts)
    return ranks
