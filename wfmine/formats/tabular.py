"""CSV / Parquet reader: one row per event, columns named by a mapping.

Options (defaults are pm4py's column names): ``case`` (``case:concept:name``),
``activity`` (``concept:name``), ``timestamp`` (``time:timestamp``),
``resource`` (``org:resource``), ``group`` (``org:group``),
``timestamp_format`` (a strftime/chrono layout; default: ISO-8601 variants,
offsets honoured row by row), ``dataset``, ``separator`` (CSV, default ``,``),
``order`` (``"time"`` default, ``"content"`` or ``"file"``).

Mapping: one object per case (``<source>:<dataset>/<case>``, type ``case``;
columns named ``case:*`` become its attrs), one event per row with every
unmapped column in attrs. ``seq`` numbers a case's events: with
``order="time"`` (default) by timestamp, events of one case at the same
instant in file order (as pm4py and the XES reader order them), so shuffling
rows changes nothing as long as a case's tied events keep their order; with
``order="content"`` ties break by row content instead (any shuffle changes
nothing); with ``order="file"`` by row position within the case in file
order. Rows with a missing case or activity or an unparsable timestamp are
quarantined with their row number.

**Raw rows.** A standard log's rows are not stored a second time (as JSON
text or otherwise): each is re-derivable, byte for byte, from the store and
the file. The one raw record of a file (``record_type`` ``table``,
``record_id`` the dataset) holds the file's absolute path, size, modification
time and SHA-256, its columns with their types, and the reader options that
mapped it (columns, order, timestamp format, separator, dataset). An event
keeps every value of its row (the mapped columns as its fields, every other
column in ``attrs``) and its ``event_id`` (``<dataset>/<case>/<seq>``) is a
deterministic function of the file's content, the same function idempotent
re-ingest relies on. So :func:`raw_rows` checks the file against the stored
hash, re-runs that mapping, and returns each event's row exactly as the
reader saw it (CSV: each cell's text, byte for byte; Parquet: the stored
values), with the row number; it refuses a file that is gone or changed.
Quarantined rows keep their whole content (and row number) in
``quarantine``. Nothing per row is written for this: ``raw_ref`` is the
file's raw record, ``table:<dataset>``.

Timestamps without ``timestamp_format`` are parsed with the first layout (of
:func:`wfmine.formats.parse_utc_expr`'s) that reads a sample of the column;
only the values it does not read go through the full list, with the same result.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Final

import polars as pl

from wfmine.errors import FormatError
from wfmine.formats import (
    _AWARE_FORMATS,
    _NAIVE_FORMATS,
    dataset_name,
    json_object_expr,
    option,
    parse_utc_expr,
    to_utc_expr,
)
from wfmine.model import EVENT_SCHEMA, UTC_TS, Batch, frame, to_json
from wfmine.store import file_fingerprint

__all__ = ["DEFAULTS", "load", "raw_rows", "sniff"]

#: Default column mapping: pm4py's names.
DEFAULTS: Final = {
    "case": "case:concept:name",
    "activity": "concept:name",
    "timestamp": "time:timestamp",
    "resource": "org:resource",
    "group": "org:group",
}
_PARQUET_MAGIC: Final = b"PAR1"
#: The engine of the sort into case order: polars' in-memory one sorts a million rows in one
#: piece (the streaming one in morsels, then the events are rechunked: 0.07 s CPU more, and
#: more in all for the same rows; CSV load 0.79 -> 0.60 s CPU, Parquet 0.33-0.44 -> 0.29-0.37)
_SORT: Final = "in-memory"
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


#: Compressed CSV polars reads as it is (gzip, zlib, zstd): its header is not in its bytes.
_COMPRESSED: Final = (b"\x1f\x8b", b"\x78\x01", b"\x78\x5e", b"\x78\x9c", b"\x78\xda",
                      b"\x28\xb5\x2f\xfd")  # fmt: skip
#: How far :func:`_header_lacks_names` looks for the end of the header line.
_HEADER_BYTES: Final = 1 << 22


def _header_lacks_names(path: Path) -> bool:
    """True when ``path`` is plain text whose header line lacks a default case or timestamp
    column name, so it cannot be a default-named event table; False when unsure.

    The header is the first line when it leaves no quote open; a column named
    ``case:concept:name`` holds no quote, so its name is in that line as it is. A sniff of
    a JSON export (one line of megabytes) is then a byte search, not a CSV parse of it.
    """
    with path.open("rb") as fh:
        head = fh.read(1 << 16)
        if head.startswith(_PARQUET_MAGIC) or head.startswith(_COMPRESSED):
            return False
        end = head.find(b"\n")
        while end < 0 and len(head) < _HEADER_BYTES:
            more = fh.read(1 << 16)
            if not more:
                break
            end = more.find(b"\n")
            end = end if end < 0 else len(head) + end
            head += more
    if end < 0 and len(head) >= _HEADER_BYTES:
        return False  # the header goes on past what was read
    line = head if end < 0 else head[:end]
    if line.count(b'"') % 2:
        return False  # a quoted name holds a line break: the header goes on
    return not all(name.encode() in line for name in (DEFAULTS["case"], DEFAULTS["timestamp"]))


def sniff(path: Path) -> bool:
    """Is ``path`` a CSV or Parquet event table with the default (pm4py) column names? Never raises."""
    try:
        if not path.is_file() or _header_lacks_names(path):
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
    return _read(path, options, with_rows=False)


def _read(path: Path | str, options: Mapping[str, Any] | None, *, with_rows: bool) -> Batch:
    """:func:`load`; ``with_rows`` adds each event's file row (``_row``, 0-based) to its frame."""
    p = Path(path)
    opts = dict(options or {})
    if not p.is_file():
        raise FormatError(p, "no such file")
    separator = option(opts, "separator", ",")
    mapping = {k: option(opts, k, v) for k, v in DEFAULTS.items()}
    fmt = opts.get("timestamp_format") or None
    order = option(opts, "order", "time")
    if order not in ("time", "content", "file"):
        raise FormatError(p, f"option order must be 'time', 'content' or 'file', not {order!r}")
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
    with ThreadPoolExecutor(1) as pool:  # hash the bytes on the other core while parsing
        fingerprint = pool.submit(file_fingerprint, p)
        try:
            # no name holds the frame read here: _build lets go of it as soon as it can
            batch = _build(
                lf.with_row_index("_row").collect(),
                schema,
                mapping,
                fmt,
                order,
                source=source,
                dataset=dataset,
                origin=str(p),
                with_rows=with_rows,
            )
        except pl.exceptions.PolarsError as exc:
            raise FormatError(p, f"cannot parse: {exc}") from None
        try:
            file = fingerprint.result()
        except OSError as exc:
            raise FormatError(p, f"cannot read: {exc.strerror or exc}") from None
    used = {"order": order, "timestamp_format": fmt, "dataset": dataset, "separator": separator}
    batch.raw_records = _raw_table(source, dataset, str(p), schema, mapping, file, used)
    batch.stats["files"] = 1
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
    with_rows: bool = False,
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
        df = df.with_columns(to_utc_expr(pl.col(ts_col), ts_dtype).alias("_ts"))
    else:
        df = df.with_columns(_parse_timestamps(df, ts_col, fmt).alias("_ts"))

    def text(col: str | None) -> pl.Expr:
        if col is None:
            return pl.lit(None, pl.String)
        return pl.col(col).cast(pl.String).str.strip_chars().replace("", None)

    work = df.with_columns(
        text(case_col).alias("_case"),
        text(act_col).alias("_act"),
        text(res_col).alias("_res"),
        text(grp_col).alias("_grp"),
        json_object_expr(event_attr).alias("_attrs"),
    ).with_columns(
        # a missing or blank timestamp parses to null too: a row is bad exactly when one of
        # these is null, and only bad rows need their reason (the timestamp as text, ...)
        (pl.col("_case").is_null() | pl.col("_act").is_null() | pl.col("_ts").is_null()).alias(
            "_reason"
        )
    )
    rows = df.height
    del df  # from here on only the derived columns are kept (peak memory)
    blank_ts = pl.col(ts_col).is_null()
    if not isinstance(ts_dtype, pl.Datetime | pl.Date):
        blank_ts = blank_ts | (pl.col(ts_col).cast(pl.String).str.strip_chars() == "")
    bad = work.filter(pl.col("_reason")).with_columns(
        pl.when(pl.col("_case").is_null())
        .then(pl.lit(f"missing case id ({case_col})"))
        .when(pl.col("_act").is_null())
        .then(pl.lit(f"missing activity ({act_col})"))
        .when(blank_ts)
        .then(pl.lit(f"missing timestamp ({ts_col})"))
        .otherwise(pl.lit(f"unparsable timestamp ({ts_col})"))
        .alias("_reason")
    )
    keys = {
        "file": ["_case", "_row"],
        # ties in file order, as pm4py and the XES reader keep them
        "time": ["_case", "_ts", "_row"],
        # content order: shuffling rows never changes seq or event ids
        "content": ["_case", "_ts", "_act", "_res", "_grp", "_attrs", "_row"],
    }[order]
    # sorted by case: seq is the position in the case's run of rows (no hashing, no second sort)
    index = pl.int_range(pl.len(), dtype=pl.Int64)
    first = pl.when(pl.col("_case").ne_missing(pl.col("_case").shift(1))).then(index)
    rows_ok = (
        work.lazy()
        .filter(~pl.col("_reason"))
        .select("_row", "_case", "_act", "_ts", "_res", "_grp", "_attrs", *case_attr)
    )
    seq = (index - first.forward_fill()).alias("_seq")
    if order == "content":
        good = rows_ok.sort(keys, nulls_last=True).with_columns(seq).collect(engine=_SORT)
    else:
        # a stable sort by the case alone keeps file order inside a case: that is the
        # "file" order, and the "time" order too when each case's rows are in time order
        # already (most exports): one pass checks it, a multi-key sort is the fallback
        by_case = rows_ok.sort("_case", maintain_order=True, nulls_last=True)
        good = by_case.with_columns(seq).collect(engine=_SORT)
        if order == "time" and not _time_ordered(good):
            good = good.lazy().sort(keys, nulls_last=True).with_columns(seq).collect(engine=_SORT)
    del work

    # each case's object id made once, at its first row (seq 0: good is sorted by case), and
    # handed to its rows by position: a string view per row, not a million ids concatenated
    # (the event ids, too, are that id and the seq: 0.12 -> 0.09 CPU s at a million events)
    heads = good.get_column("_seq") == 0
    case_object = pl.select(pl.lit(prefix) + pl.lit(good.get_column("_case").filter(heads)))
    object_id = case_object.to_series().gather(heads.cast(pl.UInt32).cum_sum() - 1)
    events = good.select(
        pl.concat_str([pl.lit(object_id), pl.lit("/"), pl.col("_seq").cast(pl.String)]).alias(
            "event_id"
        ),
        pl.col("_act").alias("activity"),
        pl.col("_ts").alias("timestamp"),
        pl.col("_seq").alias("seq"),
        (pl.lit(f"{source}:") + pl.col("_res")).alias("actor_id"),
        pl.col("_grp").alias("team"),
        pl.lit(source).alias("source"),
        pl.lit(object_id).alias("object_id"),
        pl.col("_attrs").alias("attrs"),
        pl.lit(f"table:{dataset}").alias("raw_ref"),
    ).cast(dict(EVENT_SCHEMA))  # type: ignore[arg-type]
    # one chunk per column (the in-memory sort gives one; this copies nothing then): a
    # frame of chunks, as the streaming sort leaves one per morsel, is copied whole by the
    # first select that meets chunks of other lengths (the store's flat log, whose joined
    # columns are one chunk): 140 MB of a million events held beside these to the end
    events = events.rechunk()
    if with_rows:  # for raw_rows: which file row each event is (aligned with good)
        events = events.with_columns(good.get_column("_row"))

    # good is sorted by case: each case's first row names it, in order (no hashing)
    cases = (
        good.group_by("_case").agg(*(pl.col(c).drop_nulls().first() for c in case_attr))
        if case_attr
        else good.filter(first.is_not_null()).select("_case")
    )
    objects = cases.sort("_case").select(
        (pl.lit(prefix) + pl.col("_case")).alias("object_id"),
        pl.lit("case").alias("object_type"),
        pl.lit(source).alias("source"),
        pl.col("_case").alias("key"),
        pl.lit(None, pl.String).alias("title"),
        json_object_expr(case_attr, strip_prefix="case:").alias("attrs"),
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
    raw = _raw_table(source, dataset, origin, schema, mapping, None, None)
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
            "rows": rows,
        }
    )
    return batch


def _time_ordered(rows: pl.DataFrame) -> bool:
    """Whether ``rows`` (grouped by ``_case``) have non-decreasing ``_ts`` inside each case."""
    same = pl.col("_case") == pl.col("_case").shift(1)
    back = same & (pl.col("_ts") < pl.col("_ts").shift(1))
    return not bool(rows.select(back.fill_null(False).any()).item())


def _raw_table(
    source: str,
    dataset: str,
    origin: str,
    schema: pl.Schema,
    mapping: Mapping[str, str],
    file: Mapping[str, Any] | None,
    used: Mapping[str, Any] | None,
) -> pl.DataFrame:
    """The file's one raw record: what :func:`raw_rows` needs to re-derive every row."""
    payload: dict[str, Any] = {
        "columns": {n: str(t) for n, t in schema.items()},
        "mapping": dict(mapping),
    }
    if file is not None:
        payload["file"] = dict(file)
        payload["format"] = source
    if used is not None:
        payload["options"] = dict(used)
    return frame(
        "raw_records",
        [
            {
                "source": source,
                "record_type": "table",
                "record_id": dataset,
                "payload": to_json(payload),
                "origin": origin,
            }
        ],
    )


def _parse_timestamps(df: pl.DataFrame, column: str, fmt: str | None) -> pl.Expr:
    """Timestamp text to UTC, as :func:`parse_utc_expr` reads it, in one pass per layout needed.

    The full parse tries every layout on every value. Here the first layout
    that reads a sample of the column parses all of it, and only the values it
    leaves unread (other layouts, garbage) go through the full list. Layouts
    that both read a value read the same instant, so the result is the same.
    """
    if fmt:
        return parse_utc_expr(pl.col(column), fmt)
    text = pl.col(column).cast(pl.String).str.strip_chars()
    sample = df.select(text.alias("t")).get_column("t").drop_nulls().head(2000)
    sample = sample.filter(sample != "")
    chosen: pl.Expr | None = None
    if sample.len() and _iso_seconds(sample).null_count() == 0:
        chosen = text  # read by _iso_seconds below
    else:
        for layout in (*_AWARE_FORMATS, *_NAIVE_FORMATS):
            aware = layout in _AWARE_FORMATS
            parsed = text.str.to_datetime(
                layout, strict=False, time_unit="us", time_zone="UTC" if aware else None
            )
            expr = parsed if aware else parsed.dt.replace_time_zone("UTC")
            if _reads_all(sample, layout, aware):
                chosen = expr.cast(UTC_TS)
                break
    full = parse_utc_expr(pl.col(column))
    if chosen is None:
        return full
    primary = df.select(chosen.alias("p")).get_column("p")
    if chosen is text:
        primary = _iso_seconds(primary)
    missed = primary.is_null() & df.get_column(column).is_not_null()
    if not missed.any():
        return pl.lit(primary)
    rest = df.filter(missed).select(full.alias("p")).get_column("p")
    return pl.lit(primary.scatter(missed.arg_true(), rest))


def _iso_seconds(text: pl.Series) -> pl.Series:
    """``YYYY-MM-DDTHH:MM:SS`` with ``+HH:MM``/``-HH:MM`` or ``Z`` (whole seconds, the
    layout most exports write) as UTC; null for any other text.

    The date and time are parsed as one naive layout and the offset, of which a
    column has a handful, once per distinct value: about a third of the work of
    parsing every value with an offset layout. Every value it reads, the layouts of
    :func:`wfmine.formats.parse_utc_expr` read as the same instant (tested).
    """
    head = text.str.slice(0, 19).str.to_datetime("%Y-%m-%dT%H:%M:%S", strict=False, time_unit="us")
    tail = text.str.slice(19)
    tails = tail.drop_nulls().unique()
    valid = tails.str.contains(r"^[+-](?:[01]\d|2[0-3]):[0-5]\d$")
    signed = tails.filter(valid)
    sign = signed.str.starts_with("+").cast(pl.Int64) * 2 - 1
    hours, minutes = signed.str.slice(1, 2).cast(pl.Int64), signed.str.slice(4, 2).cast(pl.Int64)
    seconds = sign * (hours * 3600 + minutes * 60)
    old = pl.concat([signed, pl.Series(["Z"], dtype=pl.String)])
    new = pl.concat([seconds, pl.Series([0], dtype=pl.Int64)])
    offset = tail.replace_strict(old, new, default=None, return_dtype=pl.Int64)
    utc = head - (offset * 1_000_000).cast(pl.Duration("us"))
    return utc.dt.replace_time_zone("UTC").cast(UTC_TS)


def _reads_all(sample: pl.Series, layout: str, aware: bool) -> bool:
    if sample.len() == 0:
        return False
    parsed = sample.str.to_datetime(
        layout, strict=False, time_unit="us", time_zone="UTC" if aware else None
    )
    return parsed.null_count() == 0


def raw_rows(
    raw_record: Mapping[str, Any] | str, event_ids: Sequence[str] | None = None
) -> pl.DataFrame:
    """Re-derive the rows behind a stored table's events, exactly as the reader read them.

    ``raw_record`` is the ``payload`` of the file's raw record (``table``), as
    text or parsed. Returns one row per file row (or per one of ``event_ids``):
    ``row`` (1-based, header excluded, as quarantine references count),
    ``event_id`` (null for a quarantined row), then every column of the file
    (CSV: each cell's text, byte for byte; Parquet: the stored values). Raises
    :class:`FormatError` when the file is gone or its bytes are not the ones
    ingested (its SHA-256 differs).
    """
    payload = json.loads(raw_record) if isinstance(raw_record, str) else dict(raw_record)
    file = payload.get("file")
    options = payload.get("options")
    if not isinstance(file, Mapping) or not isinstance(options, Mapping):
        raise FormatError("raw record", "it names no file (stored by an older wfmine)")
    path = Path(str(file["path"]))
    if not path.is_file():
        raise FormatError(path, "the ingested file is gone; its rows cannot be re-derived")
    if file_fingerprint(path)["sha256"] != file["sha256"]:
        raise FormatError(path, "the file changed since it was ingested (its SHA-256 differs)")
    columns = payload.get("columns") or {}
    roles = {k: v for k, v in (payload.get("mapping") or {}).items() if v in columns}
    mapped = _read(path, {**roles, **options}, with_rows=True)
    ids = mapped.events.select((pl.col("_row") + 1).cast(pl.UInt32).alias("row"), "event_id")
    if event_ids is not None:
        ids = ids.filter(pl.col("event_id").is_in(pl.Series(list(event_ids), dtype=pl.String)))
    separator = str(options.get("separator") or ",")
    lf = (
        pl.scan_parquet(path)
        if payload.get("format") == "parquet"
        else pl.scan_csv(path, separator=separator, infer_schema=False)
    )
    rows = lf.with_row_index("row", offset=1).collect()
    return (
        rows.join(
            ids, on="row", how="inner" if event_ids is not None else "left", maintain_order="left"
        )
        .select("row", "event_id", pl.exclude("row", "event_id"))
        .sort("row")
    )
