"""The trend test of a failure pattern: is its weekly rate rising, declining or stable?

Mann–Kendall's test is Kendall's rank correlation between the series and
time, so it runs through :func:`~wfmine.findings.significance.kendall_tau_b`
(tau-b, whose tie correction is Mann–Kendall's; time has no ties; what
``scipy.stats.kendalltau`` gives, without its import) and the slope through
:func:`~wfmine.findings.significance.theil_sen_slope` (Sen's slope). Non-parametric: no
assumption about how weekly counts are distributed, robust to single
outlier weeks.

A handful of weekly points says nothing about a trend: below
``MIN_POINTS`` points the answer is ``"too little data"``; a series with no
significant trend is ``"stable"`` only when at least ``MIN_EVENTS`` weeks
show the pattern (with fewer, a trend could not have been seen).

>>> trend_test([0.1 * i for i in range(12)])["trend"]
'rising'
>>> trend_test([0.2, 0.1, 0.3])["trend"]
'too little data'
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Final

from wfmine.findings.significance import kendall_tau_b, normal_quantile, theil_sen_slope

if TYPE_CHECKING:  # numpy is imported where it is used
    from numpy.typing import NDArray

__all__ = [
    "ALPHA",
    "MIN_CASES",
    "MIN_EVENTS",
    "MIN_POINTS",
    "STABLE_RATIO",
    "TREND_LABELS",
    "case_trend_test",
    "trend_test",
]

#: two-sided significance level of the test
ALPHA: Final = 0.05
#: weekly points the test needs
MIN_POINTS: Final = 8
#: weeks with a non-zero value needed before "no trend" reads as "stable"
MIN_EVENTS: Final = 8
TREND_LABELS: Final = ("rising", "stable", "declining", "too little data")


def trend_test(
    values: Sequence[float], *, alpha: float = ALPHA, min_points: int = MIN_POINTS
) -> dict[str, Any]:
    """Mann–Kendall trend of ``values`` (one per week, oldest first), JSON-ready.

    Returns ``test``, ``trend`` (one of :data:`TREND_LABELS`), ``n``, and
    when tested ``tau``, ``p`` (two-sided) and ``sen_slope`` (per week).
    """
    import numpy as np

    x = np.asarray([v for v in values if v is not None and math.isfinite(v)], dtype=float)
    n = int(x.size)
    out: dict[str, Any] = {"test": "mann-kendall (kendall tau vs time)", "n": n}
    if n < min_points:
        return {**out, "trend": "too little data", "min_points": min_points}
    if float(np.ptp(x)) == 0.0:
        return {**out, "trend": "stable", "tau": 0.0, "p": 1.0, "sen_slope": 0.0}
    t = np.arange(n, dtype=float)
    tau, p = kendall_tau_b(t, x)
    slope = theil_sen_slope(x, t)
    if p < alpha:
        trend = "rising" if tau > 0 else "declining"
    elif int(np.count_nonzero(x)) < MIN_EVENTS:
        trend = "too little data"  # no trend seen, but too few weeks to have seen one
    else:
        trend = "stable"
    return {**out, "trend": trend, "tau": round(tau, 4), "p": round(p, 5),
            "sen_slope": round(slope, 6)}  # fmt: skip


#: cases with the pattern the per-case test needs before saying anything
MIN_CASES: Final = 5
#: "no significant change" reads as "stable" only when the 95 % interval of the later
#: half's rate over the earlier half's lies within 1/STABLE_RATIO .. STABLE_RATIO: a pattern
#: called stable has changed its rate by less than half either way. (2.0 let planted rises
#: whose last weeks fall short -- work started too late to show the pattern yet -- read as
#: "stable", on kanban at 480 items, seed 83: interval 0.94 .. 1.81)
STABLE_RATIO: Final = 1.5
_WEEK_S: Final = 7 * 86400.0


def case_trend_test(
    starts: Sequence[float] | NDArray[Any],
    flags: Sequence[bool] | NDArray[Any],
    *,
    alpha: float = ALPHA,
    min_weeks: int = MIN_POINTS,
) -> dict[str, Any]:
    """Is the share of cases showing a pattern changing with the time the cases started?

    ``starts``: each case's start (seconds since the epoch) -- every case
    that could have shown the pattern, not only those that did; ``flags``:
    whether it did. Kendall's tau-b between start time and the 0/1 flag
    (Mann–Kendall on the per-case series, ties corrected) uses every case
    instead of a handful of weekly rates, so a planted rise is seen with
    far fewer cases. ``"too little data"`` below ``MIN_CASES`` cases with the
    pattern or ``min_weeks`` weeks of starts; with no significant change,
    ``"stable"`` only when the data rule out a large one (the later half's
    rate within ``STABLE_RATIO`` of the earlier half's, 95 % interval),
    else ``"too little data"``.
    """
    import numpy as np

    t = np.asarray(starts, dtype=float)
    f = np.asarray(flags, dtype=float)
    hits = int(f.sum())
    out: dict[str, Any] = {
        "test": "mann-kendall (kendall tau-b: case start vs pattern shown)",
        "n": int(t.size),
        "cases_with_pattern": hits,
    }
    weeks = float(np.ptp(t)) / _WEEK_S if t.size else 0.0
    if hits < MIN_CASES or weeks < min_weeks or hits == t.size:
        return {**out, "trend": "too little data", "min_cases": MIN_CASES, "min_weeks": min_weeks}
    tau, p = kendall_tau_b(t, f)
    out = {**out, "tau": round(tau, 4), "p": round(p, 5)}
    if p < alpha:
        return {**out, "trend": "rising" if tau > 0 else "declining"}
    # no significant change: "stable" only if the data rule out a large one -- the rate
    # in the later half of the cases within STABLE_RATIO of the earlier half's (95 %)
    order = np.argsort(t, kind="stable")
    half = t.size // 2
    first, second = f[order[:half]], f[order[half:]]
    a, b = float(first.sum()), float(second.sum())
    if a == 0 or b == 0:
        return {**out, "trend": "too little data"}
    ratio = (b / second.size) / (a / first.size)
    se = math.sqrt(1 / a - 1 / first.size + 1 / b - 1 / second.size)
    z = normal_quantile(1 - alpha / 2)
    low, high = ratio * math.exp(-z * se), ratio * math.exp(z * se)
    steady = low >= 1 / STABLE_RATIO and high <= STABLE_RATIO
    return {
        **out,
        "trend": "stable" if steady else "too little data",
        "later_to_earlier": round(ratio, 3),
        "ci95": [round(low, 3), round(high, 3)],
    }
