"""Standard process-mining formats: XES, OCEL 2.0 (JSON, SQLite), CSV/Parquet, and exports.

Each reader module offers ``sniff(path) -> bool`` and ``load(path, options=None)
-> Batch``; :data:`XES_READER`, :data:`OCEL_READER`, :data:`CSV_READER` and
:data:`PARQUET_READER` wrap them as :class:`wfmine.connectors._base.Reader`
objects (importing the module on first use, so importing this package stays light):

- :mod:`wfmine.formats.xes` — ``.xes`` / ``.xes.gz``: the usual one-element-a-line files by a
  vectorised scanner (``formats/_xes_scan``, rustxes' frame exactly), any other through ``rustxes``;
- :mod:`wfmine.formats.ocel` — OCEL 2.0 JSON, OCEL 1.0 JSON-OCEL and OCEL 2.0 SQLite;
- :mod:`wfmine.formats.tabular` — CSV / Parquet with a column mapping;
- :mod:`wfmine.formats.export` — XES, OCEL 2.0 JSON and Parquet writers.

Readers build every frame with polars expressions, never a Python object per
event, so a million-event log loads in seconds. This module holds the small
expression helpers they share.

**Case notion for OCEL logs.** An OCEL log has no single case: each object
type (order, item, application, ...) is a possible one. Objects keep their
OCEL type as ``object_type``, so pick the case notion by type, e.g.
``store.log(case_notion="applications")``; the default ``"work_item"`` notion
makes every OCEL object its own case (OCEL types are not work-item types).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Final

import polars as pl

from wfmine.model import UTC_TS, Batch

__all__ = [
    "CSV_READER",
    "OCEL_READER",
    "PARQUET_READER",
    "XES_READER",
    "dataset_name",
    "json_object_expr",
    "option",
    "parse_utc_expr",
    "to_utc_expr",
]

#: Characters XML 1.0 does not allow anywhere (removed on export).
XML_INVALID_CHARS: Final = r"[\x00-\x08\x0B\x0C\x0E-\x1F]"


def dataset_name(path: Path, options: Mapping[str, Any], suffixes: Sequence[str]) -> str:
    """The dataset name: ``options["dataset"]`` or the file name without a known suffix.

    The dataset name is part of every object and event id, so it must not
    depend on the folder a file was read from.
    """
    given = options.get("dataset")
    if given:
        return str(given)
    name = path.name
    lower = name.lower()
    for suffix in sorted(suffixes, key=len, reverse=True):
        if lower.endswith(suffix):
            return name[: -len(suffix)]
    return path.stem


def option(options: Mapping[str, Any], key: str, default: str) -> str:
    """A string option with a default (``None`` and ``""`` mean the default)."""
    value = options.get(key)
    return default if value is None or value == "" else str(value)


def _value_as_json(name: str, dtype: pl.DataType, key: str) -> pl.Expr:
    """``"<name>":<value>`` for one column, or null when the value is null.

    Datetimes become ISO-8601 UTC text; every other type is encoded by polars'
    JSON writer (strings escaped correctly), so no value is formatted in Python.
    """
    col = pl.col(name)
    if isinstance(dtype, pl.Datetime):
        zoned = col.dt.replace_time_zone("UTC") if dtype.time_zone is None else col
        col = zoned.dt.convert_time_zone("UTC").dt.to_string("%Y-%m-%dT%H:%M:%S%.fZ")
    elif isinstance(dtype, pl.Date | pl.Time | pl.Duration | pl.Decimal | pl.Categorical):
        col = col.cast(pl.String)
    encoded = pl.struct(col.alias(key)).struct.json_encode()
    # '{"k":v}' -> '"k":v'
    inner = encoded.str.slice(1, encoded.str.len_bytes() - 2)
    return pl.when(pl.col(name).is_not_null()).then(inner)


def json_object_expr(schema: Mapping[str, pl.DataType], *, strip_prefix: str = "") -> pl.Expr:
    """One compact JSON object per row of the given columns, keys sorted, nulls left out.

    ``strip_prefix`` is removed from the keys (``"case:"`` for trace attributes).
    The result is deterministic text: the same values always give the same string.
    """
    if not schema:
        return pl.lit("{}", dtype=pl.String)
    parts: list[pl.Expr] = []
    for name in sorted(schema, key=lambda n: n.removeprefix(strip_prefix)):
        key = name.removeprefix(strip_prefix)
        parts.append(_value_as_json(name, schema[name], key))
    body = pl.concat_str(parts, separator=",", ignore_nulls=True)
    return pl.concat_str([pl.lit("{"), body.fill_null(""), pl.lit("}")])


def to_utc_expr(expr: pl.Expr, dtype: pl.DataType) -> pl.Expr:
    """Cast a datetime column to UTC microseconds (naive values are taken as UTC)."""
    if isinstance(dtype, pl.Datetime):
        if dtype.time_zone is None:
            expr = expr.dt.replace_time_zone("UTC")
        return expr.dt.convert_time_zone("UTC").cast(UTC_TS)
    if isinstance(dtype, pl.Date):
        return expr.cast(pl.Datetime("us")).dt.replace_time_zone("UTC").cast(UTC_TS)
    return expr.cast(UTC_TS)


#: Timestamp layouts tried, in order, when no format is given (first match wins per value).
_AWARE_FORMATS: Final = (
    "%Y-%m-%dT%H:%M:%S%.f%:z",
    "%Y-%m-%d %H:%M:%S%.f%:z",
    "%Y-%m-%dT%H:%M:%S%.f%z",
    "%Y-%m-%d %H:%M:%S%.f%z",
    "%Y-%m-%dT%H:%M%:z",
)
_NAIVE_FORMATS: Final = (
    "%Y-%m-%dT%H:%M:%S%.fZ",
    "%Y-%m-%dT%H:%M:%S%.f",
    "%Y-%m-%d %H:%M:%S%.f",
    "%Y-%m-%dT%H:%M:%SZ",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%dT%H:%MZ",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%dT%H:%M",
    "%Y/%m/%d %H:%M:%S",
    "%d.%m.%Y %H:%M:%S",
    "%Y-%m-%d",
)


def parse_utc_expr(expr: pl.Expr, fmt: str | None = None) -> pl.Expr:
    """Parse timestamp text to UTC; null where the text does not parse.

    Offsets (``+01:00``, ``+0200``, ``Z``) are honoured value by value, so a
    column mixing summer and winter time reads correctly; text without an
    offset is taken as UTC. ``fmt`` (a chrono/strftime format) forces one layout.
    """
    text = expr.cast(pl.String).str.strip_chars()
    if fmt:
        aware = "%z" in fmt or "%:z" in fmt or "%#z" in fmt
        parsed = text.str.to_datetime(
            fmt, strict=False, time_unit="us", time_zone="UTC" if aware else None
        )
        return to_utc_expr(parsed, pl.Datetime("us", "UTC" if aware else None))
    tries = [
        text.str.to_datetime(f, strict=False, time_unit="us", time_zone="UTC")
        for f in _AWARE_FORMATS
    ] + [
        text.str.to_datetime(f, strict=False, time_unit="us").dt.replace_time_zone("UTC")
        for f in _NAIVE_FORMATS
    ]
    return pl.coalesce(tries).cast(UTC_TS)


# -- readers (the contract of wfmine.connectors._base.Reader) ----------------------------

_PARQUET_MAGIC: Final = b"PAR1"


def _parquet_file(path: Path) -> bool:
    try:
        with path.open("rb") as fh:
            return fh.read(4) == _PARQUET_MAGIC
    except OSError:
        return False


class _XesReader:
    """XES / XES.gz logs (:mod:`wfmine.formats.xes`)."""

    kind: Final = "xes"
    standard: Final = True

    def sniff(self, path: Path) -> bool:
        from wfmine.formats import xes

        return xes.sniff(path)

    def load(self, path: Path, options: Mapping[str, Any] | None = None) -> Batch:
        from wfmine.formats import xes

        return xes.load(path, options)


class _OcelReader:
    """OCEL 2.0 JSON / SQLite and OCEL 1.0 JSON-OCEL logs (:mod:`wfmine.formats.ocel`)."""

    kind: Final = "ocel"
    standard: Final = True

    def sniff(self, path: Path) -> bool:
        from wfmine.formats import ocel

        return ocel.sniff(path)

    def load(self, path: Path, options: Mapping[str, Any] | None = None) -> Batch:
        from wfmine.formats import ocel

        return ocel.load(path, options)


class _TabularReader:
    """CSV or Parquet event tables (:mod:`wfmine.formats.tabular`); ``parquet`` claims Parquet files."""

    standard: Final = True

    def __init__(self, kind: str) -> None:
        self.kind: Final = kind

    def sniff(self, path: Path) -> bool:
        from wfmine.formats import tabular

        return tabular.sniff(path) and _parquet_file(path) == (self.kind == "parquet")

    def load(self, path: Path, options: Mapping[str, Any] | None = None) -> Batch:
        from wfmine.formats import tabular

        return tabular.load(path, options)


XES_READER: Final = _XesReader()
OCEL_READER: Final = _OcelReader()
CSV_READER: Final = _TabularReader("csv")
PARQUET_READER: Final = _TabularReader("parquet")
