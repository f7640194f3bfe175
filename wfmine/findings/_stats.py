"""Small statistics the findings need, on numpy only (no scipy dependency)."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

__all__ = ["mann_kendall"]


def mann_kendall(values: Sequence[float], *, alpha: float = 0.05) -> dict[str, float | str | int]:
    """Mann-Kendall trend test with tie correction: is the series monotonically rising or falling?

    Returns ``trend`` (``"rising"``, ``"declining"``, ``"stable"``, or
    ``"insufficient"`` below 4 points), the statistic ``s``, ``z``, the
    two-sided normal-approximation ``p`` and Sen's slope (median pairwise
    slope, per step). Non-parametric: no assumption about the distribution of
    weekly counts, robust to single outlier weeks.

    >>> mann_kendall([5, 4, 4, 3, 2, 2, 1, 0])["trend"]
    'declining'
    """
    x = np.asarray(values, dtype=float)
    n = int(x.size)
    if n < 4:
        return {"test": "mann-kendall", "trend": "insufficient", "n": n}
    i, j = np.triu_indices(n, k=1)
    diffs = x[j] - x[i]
    s = float(np.sign(diffs).sum())
    _, counts = np.unique(x, return_counts=True)
    ties = float((counts * (counts - 1) * (2 * counts + 5)).sum())
    var = (n * (n - 1) * (2 * n + 5) - ties) / 18.0
    if var <= 0:
        z = 0.0
    elif s > 0:
        z = (s - 1) / math.sqrt(var)
    elif s < 0:
        z = (s + 1) / math.sqrt(var)
    else:
        z = 0.0
    p = math.erfc(abs(z) / math.sqrt(2))
    slope = float(np.median(diffs / (j - i)))
    trend = "stable" if p >= alpha else ("rising" if z > 0 else "declining")
    return {
        "test": "mann-kendall",
        "trend": trend,
        "n": n,
        "s": s,
        "z": round(z, 4),
        "p": round(p, 5),
        "sen_slope": round(slope, 6),
    }
