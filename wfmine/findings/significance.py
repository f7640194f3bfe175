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


def _tie_sums(counts: np.ndarray[Any, Any]) -> tuple[int, int, int]:
    """Σ t(t-1)/2, Σ t(t-1)(t-2) and Σ t(t-1)(2t+5) over the tie groups' sizes t."""
    t = [int(c) for c in counts[counts > 1]]
    return (
        sum(c * (c - 1) // 2 for c in t),
        sum(c * (c - 1) * (c - 2) for c in t),
        sum(c * (c - 1) * (2 * c + 5) for c in t),
    )


def kendall_tau_b(x: Sequence[float] | np.ndarray[Any, Any],
                  y: Sequence[float] | np.ndarray[Any, Any]) -> tuple[float, float]:  # fmt: skip
    """Kendall's tau-b of ``x`` and ``y`` and its two-sided p-value (normal approximation).

    Concordant minus discordant pairs are counted exactly from a table of
    the pairs' counts by (value of ``x``, value of ``y``) -- O(n log n) for
    a 0/1 ``y`` -- and the variance carries the tie corrections of
    ``scipy.stats.kendalltau``. ``(nan, nan)`` when either side is constant.
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
    gy, ny = _dense(ys)
    if nx * ny > _MAX_CELLS:
        raise ValueError(f"{nx} x {ny} distinct values: too many for the exact count")
    table = np.zeros((nx, ny), dtype=np.int64)
    np.add.at(table, (gx, gy), 1)
    # pairs with a smaller x: of them, those with a smaller y minus those with a larger one
    before = np.cumsum(table, axis=0) - table
    below = np.cumsum(before, axis=1) - before
    above = before.sum(axis=1, keepdims=True) - below - before
    con_minus_dis = int((table * (below - above)).sum())
    tot = size * (size - 1) // 2
    xtie, x0, x1 = _tie_sums(table.sum(axis=1))
    ytie, y0, y1 = _tie_sums(table.sum(axis=0))
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
    """Ranks from 1 of ``values``, ties given the average of the ranks they span (``rankdata``)."""
    import numpy as np

    arr = np.asarray(values).ravel()
    sorter = np.argsort(arr, kind="mergesort")
    inv = np.empty(sorter.size, dtype=np.intp)
    inv[sorter] = np.arange(sorter.size, dtype=np.intp)
    ordered = arr[sorter]
    obs = np.r_[True, ordered[1:] != ordered[:-1]]
    dense = obs.cumsum()[inv]
    count = np.r_[np.nonzero(obs)[0], len(obs)]
    ranks: np.ndarray[Any, Any] = 0.5 * (count[dense] + count[dense - 1] + 1)
    return ranks
