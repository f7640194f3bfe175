"""CSV / Parquet reader: one row per event, columns named by a mapping.

Options (defaults are pm4py's column names): ``case`` (``case:concept:name``),
``activity`` (``concept:name``), ``timestamp`` (``time:timestamp``),
``resource`` (``org:resource``), ``group`` (``org:group``),
``timestamp_format`` (a strftime/chrono layout; default: ISO-8601 variants,
offsets honoured row by row), ``dataset``, ``separator`` (CSV, default ``,``),
``order`` (``"time"`` default, or ``"file"``).

Mapping: one object per case (``<source>:<dataset>/<case>``, type ``case``;
columns named ``case:*`` become its attrs), one event per row with every
unmapped column in attrs. ``seq`` numbers a case's events: with
``order="time"`` (default) by (timestamp, then row content), so shuffling the
rows of a file changes nothing; with ``order="file"`` by row position within
the case in file order. Rows with a missing case or activity or an unparsable
timestamp are quarantined with their row number.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

import polars as pl

from wfmine.errors import FormatError
from wfmine.formats import dataset_name, json_object_expr, option, parse_utc_expr, to_utc_expr
from wfmine.model import EVENT_SCHEMA, Batch, frame, to_json

__all__ = ["DEFAULTS", "load", "sniff"]

#: Default column mapping: pm4py's names.
DEFAULTS: Final = {
    "case": "case:concept:name",
    "activity": "concept:name",
    "timestamp": "time:timestamp",
    "resource": "org:resource",
    "group": "org:group",
}
_PARQUET_MAGIC: Final = b"PAR1"
SUFFIXES: Final = (".csv.gz", ".csv", ".tsv", ".parquet", ".pq")


def _is_parquet(path: Path) -> bool:
    with path.open("rb") as fh:
        return fh.read(4) == _PARQUET_MAGIC


def _columns(path: Path, separator: str) -> list[str]:
    if _is_parquet(path):
        return list(pl.read_parquet_schema(path))
    return (
        pl.scan_csv(path, separator=separator, infer_schema=False, n_rows=0)
        .collect_schema()
        .names()
    )


def sniff(path: Path) -> bool:
    """Is ``path`` a CSV or Parquet event table with the default (pm4py) column names? Never raises."""
    try:
        if not path.is_file():
            return False
        names = set(_columns(path, ","))
    except Exception:  # any parse failure means "not ours"
        return False
    return {DEFAULTS["case"], DEFAULTS["activity"], DEFAULTS["timestamp"]} <= names


def load(path: Path | str, options: Mapping[str, Any] | None = None) -> Batch:
    """Read a CSV or Parquet event table into a batch (source ``csv`` or ``parquet``).

    Raises :class:`FormatError` when a mapped column is missing (naming it and
    the file's columns) or the file cannot be parsed.
    """
    p = Path(path)
    opts = dict(options or {})
    if not p.is_file():
        raise FormatError(p, "no such file")
    separator = option(opts, "separator", ",")
    mapping = {k: option(opts, k, v) for k, v in DEFAULTS.items()}
    fmt = opts.get("timestamp_format") or None
    order = option(opts, "order", "time")
    if order not in ("time", "file"):
        raise FormatError(p, f"option order must be 'time' or 'file', not {order!r}")
    parquet = _is_parquet(p)
    source = "parquet" if parquet else "csv"
    try:
        lf = (
            pl.scan_parquet(p)
            if parquet
            else pl.scan_csv(p, separator=separator, infer_schema=False)
        )
        schema = lf.collect_schema()
    except (pl.exceptions.PolarsError, OSError) as exc:
        raise FormatError(p, f"cannot read as {source}: {exc}") from None
    names = schema.names()
    for role in ("case", "activity", "timestamp"):
        if mapping[role] not in names:
            raise FormatError(
                p,
                f"the {role} column {mapping[role]!r} is not in the file; its columns are {names}"
                + f" (set the option {role!r})",
            )
    for role in ("resource", "group"):
        if role in opts and opts[role] and mapping[role] not in names:
            raise FormatError(
                p,
                f"the {role} column {mapping[role]!r} is not in the file; its columns are {names}",
            )
    dataset = dataset_name(p, opts, SUFFIXES)
    try:
        df = lf.with_row_index("_row").collect()
    except pl.exceptions.PolarsError as exc:
        raise FormatError(p, f"cannot parse: {exc}") from None
    batch = _build(df, schema, mapping, fmt, order, source=source, dataset=dataset, origin=str(p))
    batch.stats["files"] = 1
    batch.stats["rows"] = df.height
    return batch


def _build(
    df: pl.DataFrame,
    schema: pl.Schema,
    mapping: Mapping[str, str],
    fmt: str | None,
    order: str,
    *,
    source: str,
    dataset: str,
    origin: str,
) -> Batch:
    prefix = f"{source}:{dataset}/"
    case_col, act_col, ts_col = mapping["case"], mapping["activity"], mapping["timestamp"]
    res_col = mapping["resource"] if mapping["resource"] in schema else None
    grp_col = mapping["group"] if mapping["group"] in schema else None
    mapped = {case_col, act_col, ts_col, res_col, grp_col}
    case_attr = {n: t for n, t in schema.items() if n.startswith("case:") and n not in mapped}
    event_attr = {n: t for n, t in schema.items() if n not in mapped and n not in case_attr}

    ts_dtype = schema[ts_col]
    if isinstance(ts_dtype, pl.Datetime | pl.Date):
        ts = to_utc_expr(pl.col(ts_col), ts_dtype)
    else:
        ts = parse_utc_expr(pl.col(ts_col), fmt)

    def text(col: str | None) -> pl.Expr:
        if col is None:
            return pl.lit(None, pl.String)
        return pl.col(col).cast(pl.String).str.strip_chars().replace("", None)

    work = df.with_columns(
        text(case_col).alias("_case"),
        text(act_col).alias("_act"),
        ts.alias("_ts"),
        text(res_col).alias("_res"),
        text(grp_col).alias("_grp"),
        json_object_expr(event_attr).alias("_attrs"),
    ).with_columns(
        pl.when(pl.col("_case").is_null())
        .then(pl.lit(f"missing case id ({case_col})"))
        .when(pl.col("_act").is_null())
        .then(pl.lit(f"missing activity ({act_col})"))
        .when(pl.col(ts_col).is_null() | (pl.col(ts_col).cast(pl.String).str.strip_chars() == ""))
        .then(pl.lit(f"missing timestamp ({ts_col})"))
        .when(pl.col("_ts").is_null())
        .then(pl.lit(f"unparsable timestamp ({ts_col})"))
        .alias("_reason")
    )
    bad = work.filter(pl.col("_reason").is_not_null())
    good = work.filter(pl.col("_reason").is_null())
    if order == "file":
        good = good.sort("_row")
    else:
        # content order: shuffling rows never changes seq or event ids
        good = good.sort("_case", "_ts", "_act", "_res", "_grp", "_attrs", "_row", nulls_last=True)
    good = good.with_columns(pl.int_range(pl.len(), dtype=pl.Int64).over("_case").alias("_seq"))
    good = good.sort("_case", "_seq")

    events = good.select(
        (pl.lit(prefix) + pl.col("_case") + pl.lit("/") + pl.col("_seq").cast(pl.String)).alias(
            "event_id"
        ),
        pl.col("_act").alias("activity"),
        pl.col("_ts").alias("timestamp"),
        pl.col("_seq").alias("seq"),
        (pl.lit(f"{source}:") + pl.col("_res")).alias("actor_id"),
        pl.col("_grp").alias("team"),
        pl.lit(source).alias("source"),
        (pl.lit(prefix) + pl.col("_case")).alias("object_id"),
        pl.col("_attrs").alias("attrs"),
        pl.lit(f"table:{dataset}").alias("raw_ref"),
    ).cast(dict(EVENT_SCHEMA))  # type: ignore[arg-type]

    objects = (
        good.group_by("_case")
        .agg(*(pl.col(c).drop_nulls().first() for c in case_attr))
        .sort("_case")
        .select(
            (pl.lit(prefix) + pl.col("_case")).alias("object_id"),
            pl.lit("case").alias("object_type"),
            pl.lit(source).alias("source"),
            pl.col("_case").alias("key"),
            pl.lit(None, pl.String).alias("title"),
            json_object_expr(case_attr, strip_prefix="case:").alias("attrs"),
        )
    )
    names = good.get_column("_res").drop_nulls().unique().sort()
    accounts = pl.DataFrame({"r": names}, schema={"r": pl.String}).select(
        (pl.lit(f"{source}:") + pl.col("r")).alias("account_id"),
        pl.lit(source).alias("source"),
        pl.col("r").alias("login"),
        pl.col("r").alias("display_name"),
        pl.lit(None, pl.String).alias("email"),
        pl.lit("unknown").alias("platform_kind"),
        pl.lit("{}").alias("attrs"),
    )
    quarantine = bad.select(
        pl.lit(source).alias("source"),
        (
            pl.lit(f"{origin}#row ")
            + (pl.col("_row") + 1).cast(pl.String)
            + pl.lit(" (line ")
            + (pl.col("_row") + 2).cast(pl.String)
            + pl.lit(")")
        ).alias("record_ref"),
        pl.col("_reason").alias("reason"),
        json_object_expr(dict(schema)).alias("payload"),
    )
    raw = frame(
        "raw_records",
        [
            {
                "source": source,
                "record_type": "table",
                "record_id": dataset,
                "payload": to_json(
                    {"columns": {n: str(t) for n, t in schema.items()}, "mapping": dict(mapping)}
                ),
                "origin": origin,
            }
        ],
    )
    batch = Batch(
        source=source,
        events=events,
        objects=objects,
        accounts=accounts,
        quarantine=quarantine,
        raw_records=raw,
    )
    if bad.height:
        batch.warnings.append(f"{origin}: {bad.height} row(s) quarantined (see quarantine)")
    batch.stats.update(
        {
            "events": events.height,
            "cases": objects.height,
            "activities": events.get_column("activity").n_unique(),
            "resources": accounts.height,
            "quarantined": bad.height,
        }
    )
    return batch
