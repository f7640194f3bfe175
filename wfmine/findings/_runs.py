"""Runs of equal values in arrays already in order: the array kernels' one boundary test."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # numpy (0.1 s) is imported by the function, as by its callers
    import numpy as np
    from numpy.typing import NDArray

__all__ = ["run_starts"]


def run_starts(*keys: NDArray[Any]) -> NDArray[np.bool_]:
    """True on the first row of each run of rows equal in every one of ``keys`` (same length).

    >>> import numpy as np
    >>> run_starts(np.array([1, 1, 2, 2]), np.array([5, 6, 6, 6])).tolist()
    [True, True, True, False]
    """
    import numpy as np

    starts = np.ones(keys[0].size, dtype=bool)
    change = keys[0][1:] != keys[0][:-1]
    for key in keys[1:]:
        change |= key[1:] != key[:-1]
    starts[1:] = change
    return starts
