"""The array kernels' shared pieces: runs of equal values in arrays already in order (one
boundary test), and strings numbered densely in sort order (one renumbering)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # numpy (0.1 s) is imported by the function, as by its callers
    import numpy as np
    from numpy.typing import NDArray

import polars as pl

__all__ = ["dense_numbers", "run_starts"]


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


def dense_numbers(values: pl.Series, *, start: int, dtype: Any) -> tuple[pl.Series, NDArray[Any]]:
    """The distinct ``values`` in sort order, and each row's number among them: ``start`` for
    the first, then up by one (numpy ``dtype``).

    The values are hashed once (a categorical); its codes are renumbered in sort order
    through a table indexed by code, so a figure per value can be an array indexed by number.

    >>> import polars as pl
    >>> names, numbers = dense_numbers(pl.Series(["qa", "dev", "qa"]), start=1, dtype="int32")
    >>> names.to_list(), numbers.tolist()
    (['dev', 'qa'], [2, 1, 2])
    """
    import numpy as np

    categorical = values.cast(pl.Categorical)
    present = categorical.unique()
    names = present.cast(pl.String)
    order = names.arg_sort().to_numpy()
    codes = present.to_physical().to_numpy().astype(np.int64)
    renumber = np.zeros(int(codes.max()) + 1 if codes.size else 0, dtype=dtype)
    renumber[codes[order]] = np.arange(start, codes.size + start, dtype=dtype)
    return names.gather(order), renumber[categorical.to_physical().to_numpy()]
