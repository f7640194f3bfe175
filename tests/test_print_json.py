"""``--json`` text (:func:`wfmine.cli._print.json_text`) is the standard library's, byte for byte.

The CLI writes frames column by column with polars instead of through a dict
per row; each column kind is checked here against ``json.dumps`` of the
frame's ``to_dicts()`` on the values where the two could part: floats on both
sides of polars' and ``repr``'s exponent switches, escapes, nulls inside and
around lists, datetimes with and without a fraction of a second, empty lists
and frames.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import polars as pl
import pytest

from wfmine.cli._print import json_pieces, json_text

FLOATS: list[float | None] = [
    0.0, -0.0, 1.0, 0.1, 1e-4, 9.99999e-5, 1e-5, 2.5e-7, 5e-324, 1.3127e-05, 123456.789,
    9999999999999998.0, 1e16, 1.2345678901234568e16, 2.5e22, 1.7976931348623157e308,
    float("nan"), float("inf"), float("-inf"), None, -3.5e-9,
]  # fmt: skip

FRAMES: list[pl.DataFrame] = [
    pl.DataFrame({"x": FLOATS}, schema={"x": pl.Float64}),
    pl.DataFrame({"x": [1e-5, 1e-5, 2e-5]}),  # repeated small values (a variant's coverage)
    pl.DataFrame(
        {
            "s": ["plain", 'quote "x"', "back\\slash", "tab\t", None, "é 😀"],
            "n": [1, None, -(2**63), 2**63 - 1, 0, 5],
            "b": [True, False, None, True, False, True],
        }
    ),
    pl.DataFrame({"l": [["a", "b"], [], None, ["c"], ["d", "e", "f"]]}),
    pl.DataFrame({"l": [["a", None], [], ["b"]]}),  # a null inside a list
    pl.DataFrame({"l": [["a\nb"], ["c"]]}),  # an item that needs escaping
    pl.DataFrame({"l": [[1, 2], [], None, [3]]}),
    pl.DataFrame(
        {"t": [dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=dt.UTC), None]},
        schema={"t": pl.Datetime("us", "UTC")},
    ),
    # datetimes, written by polars: whole seconds (no fraction, as str), micro- and
    # milliseconds, naive and UTC, a null; another zone and a year before 1000 take str
    pl.DataFrame(
        {
            "u": [
                dt.datetime(2011, 10, 1, 9, 5, 7, 1),
                dt.datetime(1999, 12, 31, 23, 59, 59),
                dt.datetime(2024, 2, 29, 0, 0, 0, 999999),
                None,
            ],
            "n": [
                dt.datetime(1000, 1, 1),
                None,
                dt.datetime(9999, 12, 31, 23, 59, 59, 5),
                dt.datetime(2020, 6, 1, 12, 0, 0, 250000),
            ],
        },
        schema={"u": pl.Datetime("us", "UTC"), "n": pl.Datetime("us")},
    ).with_columns(m=pl.col("u").dt.cast_time_unit("ms")),
    pl.DataFrame(
        {
            "p": [dt.datetime(2024, 7, 1, 12, 30), dt.datetime(2024, 1, 1, 8, 0, 0, 5)],
            "old": [dt.datetime(999, 1, 1), dt.datetime(2000, 1, 1)],
        },
        schema={"p": pl.Datetime("us", "Europe/Paris"), "old": pl.Datetime("us")},
    ),
    pl.DataFrame(schema={"x": pl.Float64}),
    # no nulls anywhere: strings and lists of strings quoted by the row's pieces around them
    pl.DataFrame(
        {
            "s": ["a", "b c"],
            "n": [1, 2],
            "b": [True, False],
            "x": [0.5, 1e-5],
            "l": [["a"], ["b", "c"]],
            "i": [[1], [2, 3]],
        }
    ),
    pl.DataFrame({"c": ["a", "b", "a"]}, schema={"c": pl.Categorical}),
    pl.DataFrame({"l": [["a"], []]}),  # empty lists, none missing
    pl.DataFrame({"l": [["a"], None]}),  # missing lists, none empty
    pl.DataFrame({"x": [1.5, float("inf")]}),  # infinity without nulls
    pl.DataFrame({"s": ["only"], "l": [["a", "b"]], "x": [2e-6]}),  # one row
]


def _reference(value: Any) -> str:
    def plain(v: Any) -> Any:
        if isinstance(v, pl.DataFrame):
            return v.to_dicts()
        if isinstance(v, dict):
            return {k: plain(x) for k, x in v.items()}
        if isinstance(v, list):
            return [plain(x) for x in v]
        return v

    return json.dumps(plain(value), indent=2, ensure_ascii=False, default=str)


@pytest.mark.parametrize("frame", FRAMES, ids=range(len(FRAMES)))
def test_frame_text_is_the_standard_librarys(frame: pl.DataFrame) -> None:
    value = {"top": frame, "nested": {"again": frame, "n": 1}}
    assert json_text(value) == _reference(value)


def test_pieces_are_the_text_in_order() -> None:
    """What ``discover --json`` writes piece by piece is the text, including lists holding
    frames and dicts, and the empty containers the standard library writes itself."""
    frame = FRAMES[2]
    value = {"runs": [frame, {"a": 1, "b": [1, 2]}], "empty": [], "d": {}, "s": "x", "f": frame}
    pieces = json_pieces(value)
    assert all(isinstance(p, str) for p in pieces)
    assert "".join(pieces) == json_text(value) == _reference(value)
