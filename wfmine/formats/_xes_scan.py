"""A vectorised reader for the common shape of an XES file, exact or nothing.

Most XES files (everything OpenXES, ProM, pm4py and wfmine's own export
write) put one element per line: ``<trace>``, ``<event>``, ``</event>``,
``</trace>`` and self-closing attributes ``<string key="k" value="v"/>``
(``rustxes`` keeps attribute values as they are written but for the five named
entities: a tab or a ``<`` stays, as here).
For such a file the lines are split on ``"`` by polars' CSV reader (in Rust,
on both cores), each line is classified by its tag, trace and event
membership come from running counts, and the attributes are gathered into one
column per key: no Python object per event. The log's header (extensions,
globals, classifiers, log attributes: everything before the first trace) is
still read by ``rustxes``, on its own, so the meta is exactly rustxes' own.

The frame is the one ``rustxes.import_xes`` returns for the file, to the
value and dtype, rows in file order (its columns come in hash order, these in
first-seen order): trace attributes prefixed ``case:`` on every event of the
trace, a missing attribute filled from the log's global default for that key
(``rustxes`` fills any key some event or trace has), dates as naive UTC
nanoseconds, events of traces without events none.

Anything this reader does not recognise makes :func:`scan` return ``None``
and the caller reads the file with ``rustxes`` (which also reports malformed
input): comments, CDATA, processing instructions or anything else after the
first trace, several elements on one line or one element over several,
nested attributes, lists and containers, ``id`` attributes, a key of two
types (or of another type than its global default), a key twice in one event
or trace, character references, an empty key or entities in keys, carriage returns, a date,
number or boolean written in a way not known to parse the same as in
``rustxes``, a non-UTF-8 file, a cut or multi-member gzip stream, a log
without events, text after ``</log>``.
"""

from __future__ import annotations

import io
import json
import os
import re
import sys
import tempfile
import zlib
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Final

import polars as pl

__all__ = ["captured_stderr", "scan"]

_GZIP_MAGIC: Final = b"\x1f\x8b"

# line classes: the first field of a line split on '"', whitespace stripped; a class's
# number is its place in _CLASSES
_BLANK: Final = 0
_TRACE: Final = 1
_TRACE_END: Final = 2
_EVENT: Final = 3
_EVENT_END: Final = 4
_LOG_END: Final = 5
_ATTR: Final = 6  # and above: an attribute, its type _ATTR + its place in _TYPES

#: XES attribute tags read here, with the dtype rustxes gives their values
_TYPES: Final = ("string", "date", "int", "float", "boolean")
_DTYPES: Final[dict[str, pl.DataType]] = {
    "string": pl.String(),
    "date": pl.Datetime("ns"),
    "int": pl.Int64(),
    "float": pl.Float64(),
    "boolean": pl.Boolean(),
}
#: the type names of the meta's global attributes (rustxes' AttributeValue variants)
_META_TYPES: Final = {
    "String": "string",
    "Date": "date",
    "Int": "int",
    "Float": "float",
    "Boolean": "boolean",
}
_CLASSES: Final = (
    "",
    "<trace>",
    "</trace>",
    "<event>",
    "</event>",
    "</log>",
    *(f"<{t} key=" for t in _TYPES),
)

#: value layouts known to read the same in polars as in rustxes; others fall back
_DATE_RE: Final = (
    r"^\d{4}-\d{2}-\d{2}T([01]\d|2[0-3]):[0-5]\d:[0-5]\d(\.\d{1,9})?(Z|[+-][01]\d:[0-5]\d)?$"
)
_INT_RE: Final = r"^-?\d{1,18}$"
_FLOAT_RE: Final = r"^-?(\d{1,300}(\.\d{0,300})?|\.\d{1,300})([eE][+-]?\d{1,3})?$"
_DATE_FORMAT: Final = "%Y-%m-%dT%H:%M:%S%.f%:z"
_ENTITIES: Final = (("&lt;", "<"), ("&gt;", ">"), ("&quot;", '"'), ("&apos;", "'"), ("&amp;", "&"))
_ENCODING_RE: Final = re.compile(rb"""^\s*<\?xml[^>]*\bencoding\s*=\s*["']([^"']*)["']""")


class _Unrecognised(Exception):
    """The file has something this reader does not read the way rustxes does."""


def scan(path: Path) -> tuple[pl.DataFrame, dict[str, Any], str] | None:
    """``rustxes.import_xes``' frame and meta for ``path``, and what rustxes wrote to
    stderr reading the header; ``None`` when the file is not of the shape read here."""
    try:
        return read(path)
    except (_Unrecognised, pl.exceptions.PolarsError, OSError, ValueError, zlib.error):
        return None


def read(path: Path) -> tuple[pl.DataFrame, dict[str, Any], str]:
    """:func:`scan`, raising what made the file one not read here (tests name the reason)."""
    # rustxes is imported, then reads the header, on the other core while the file is
    # inflated and its lines split (zlib and polars let go of the interpreter meanwhile)
    with ThreadPoolExecutor(1) as pool:
        pool.submit(_import_rustxes)
        data = _inflated(path)
        cut = _header_end(data)
        header = pool.submit(_header_meta, data[:cut])
        frame = _frame(data, cut, header)
        meta, captured = header.result()
    return frame, meta, captured


def _import_rustxes() -> None:
    import rustxes  # a declared dependency; imported here, where a log is read

    del rustxes


def _inflated(path: Path) -> bytes:
    """The file's bytes, gunzipped when it is gzip; not for a cut, corrupt or
    multi-member gzip stream (rustxes' reading of those is left to rustxes)."""
    raw = path.read_bytes()
    if not raw.startswith(_GZIP_MAGIC):
        return raw
    inflater = zlib.decompressobj(wbits=31)
    data = inflater.decompress(raw)
    if not inflater.eof or inflater.unused_data:
        raise _Unrecognised("a cut or multi-member gzip stream")
    return data


def _header_end(data: bytes) -> int:
    """Where the first ``<trace>`` line starts."""
    if b"\r" in data:
        raise _Unrecognised("carriage returns")
    head = _ENCODING_RE.match(data[:512])
    if head and head.group(1).lower().replace(b"_", b"-") not in (b"utf-8", b"utf8"):
        raise _Unrecognised("an encoding other than UTF-8")
    at = data.find(b"<trace>")
    start = data.rfind(b"\n", 0, at) + 1
    if at < 0 or data[start:at].strip(b" \t"):
        raise _Unrecognised("no <trace> line")
    return start


def _header_meta(header: bytes) -> tuple[dict[str, Any], str]:
    """rustxes' meta for the log's header (everything before the first trace), closed."""
    import rustxes  # a declared dependency; imported here, where a log is read

    with tempfile.TemporaryDirectory(prefix="wfmine-xes-") as tmp:
        target = Path(tmp) / "header.xes"
        target.write_bytes(header + b"</log>\n")
        captured: list[str] = []
        with captured_stderr(captured):
            try:
                df, meta_text = rustxes.import_xes(str(target))
            except BaseException as exc:  # a pyo3 PanicException is a BaseException
                if isinstance(exc, KeyboardInterrupt | SystemExit):
                    raise
                raise _Unrecognised("rustxes does not read the header") from None
    if df.height or df.width:
        raise _Unrecognised("the header has events")
    meta = json.loads(meta_text) if meta_text else {}
    if not isinstance(meta, dict):
        raise _Unrecognised("meta")
    return meta, "".join(captured)


def _frame(data: bytes, cut: int, header: Future[tuple[dict[str, Any], str]]) -> pl.DataFrame:
    """The event frame of the lines from ``cut`` on (the first trace's); ``header`` gives
    the meta, needed for the global defaults only."""
    # scanned, not read: the streaming engine splits and classifies the lines in pieces, so
    # the lines of the whole file are never one frame beside its bytes (bpic2012: about
    # 90 MB lower peak and 0.2 CPU s less than read_csv, the same frames)
    lines = pl.scan_csv(
        io.BytesIO(data),
        has_header=False,
        separator='"',
        quote_char=None,
        schema={c: pl.String for c in ("a", "k", "m", "v", "e")},
        missing_columns="insert",
        truncate_ragged_lines=False,
        empty_string_is_null=False,
        skip_lines=data.count(b"\n", 0, cut),
    )
    c, td, ed, e = pl.col("c"), pl.col("td"), pl.col("ed"), pl.col("e")
    is_attr = c >= _ATTR
    base = lines.select(
        pl.col("a")
        .str.strip_chars()
        .cast(pl.Enum(list(_CLASSES)), strict=False)
        .to_physical()
        .cast(pl.Int8)
        .alias("c"),
        "k",
        "m",
        "v",
        "e",
    ).with_columns(
        ((c == _TRACE).cum_sum() - (c == _TRACE_END).cum_sum()).alias("td"),
        ((c == _EVENT).cum_sum() - (c == _EVENT_END).cum_sum()).alias("ed"),
        ((c == _TRACE).cum_sum() - 1).alias("t"),
        ((c == _EVENT).cum_sum() - 1).alias("ev"),
    )
    checks = base.select(
        c.is_null().any().alias("unknown"),
        (is_attr & ((pl.col("m") != " value=") | ((e != "/>") & (e != " />"))))
        .any()
        .alias("odd_attribute"),
        (~td.is_between(0, 1)).any().alias("trace_depth"),
        (~ed.is_between(0, 1)).any().alias("event_depth"),
        ((c == _EVENT) & (td != 1)).any().alias("event_outside"),
        ((c == _TRACE_END) & (ed != 0)).any().alias("open_event"),
        (is_attr & (td != 1)).any().alias("attribute_outside"),
        ((c == _LOG_END) & (td != 0)).any().alias("log_end_inside"),
        # </log> once, and only blank lines after it
        ((c == _LOG_END).sum() != 1).alias("log_end"),
        (c.filter(c != _BLANK).last() != _LOG_END).alias("after_log_end"),
        (c == _EVENT).sum().alias("events"),
        is_attr.sum().alias("attributes"),
    )
    attrs = base.filter(is_attr).select(
        (ed == 1).alias("in_event"),
        pl.when(ed == 1).then(pl.col("ev")).otherwise(pl.col("t")).alias("i"),
        "k",
        (c - _ATTR).alias("type"),
        "v",
    )
    events = base.filter(c == _EVENT).select("t")
    found, attrs_df, events_df = pl.collect_all([checks, attrs, events], engine="streaming")
    verdict = found.row(0, named=True)
    n_events, n_attributes = verdict.pop("events"), verdict.pop("attributes")
    if any(verdict.values()) or n_events == 0:
        raise _Unrecognised("lines of another shape or nesting")
    # every attribute line has exactly four quotes (five fields): the other lines have none
    if data.count(b'"', cut) != 4 * n_attributes:
        raise _Unrecognised("quotes outside attribute lines")
    if data.find(b"&", cut) >= 0:
        attrs_df = _unescaped(attrs_df)
    event_trace = events_df.get_column("t")
    n_traces = int(event_trace[-1]) + 1
    meta = header.result()[0]
    globals_ = {scope: _globals(meta.get(f"global_{scope}_attrs")) for scope in ("event", "trace")}
    # a trace's number counts the traces without events too
    last_trace = attrs_df.select(pl.col("i").filter(~pl.col("in_event")).max()).item()
    traces = max(n_traces, (last_trace or 0) + 1)
    columns: dict[str, pl.Series] = {}
    for (in_event, key), rows in attrs_df.partition_by(
        ["in_event", "k"], as_dict=True, maintain_order=True
    ).items():
        keyed = _keyed(str(key), rows, globals_["event" if in_event else "trace"])
        if in_event:
            if str(key).startswith("case:"):
                raise _Unrecognised("an event attribute named like a trace attribute")
            columns[str(key)] = _reindexed(keyed, n_events)
        else:
            full = _reindexed(keyed, traces).gather(event_trace)
            if full.null_count() == n_events:
                raise _Unrecognised("a trace attribute only of traces without events")
            columns[f"case:{key}"] = full
    return pl.DataFrame([s.alias(n) for n, s in columns.items()])


def _unescaped(attrs: pl.DataFrame) -> pl.DataFrame:
    """String values with XML's five named entities replaced; a character reference or a
    bare ``&`` is not read here."""
    value = pl.col("v")
    bare = value.str.replace_all(r"&(lt|gt|quot|apos|amp);", "").str.contains("&", literal=True)
    if attrs.select(bare.any()).item():
        raise _Unrecognised("a character reference")
    for entity, char in _ENTITIES:
        value = value.str.replace_all(entity, char, literal=True)
    return attrs.with_columns(pl.when(pl.col("type") == 0).then(value).otherwise("v").alias("v"))


def _globals(items: Any) -> dict[str, tuple[str, Any]]:
    """A scope's global defaults from the meta: key -> (type, text)."""
    out: dict[str, tuple[str, Any]] = {}
    for item in items or []:
        if not isinstance(item, dict):
            raise _Unrecognised("global")
        value = item.get("value") or {}
        if item.get("own_attributes"):
            raise _Unrecognised("nested global")
        out[str(item.get("key"))] = (str(value.get("type")), value.get("content"))
    return out


_Keyed = tuple[pl.Series, pl.Series, pl.Series | None]
"""One key's owners (event or trace numbers, increasing), typed values and global default."""


def _keyed(key: str, rows: pl.DataFrame, defaults: dict[str, tuple[str, Any]]) -> _Keyed:
    """One key's attributes of one scope (events or traces), typed, with its default."""
    if not key or "&" in key:
        raise _Unrecognised("an empty key, or an entity in a key")
    kinds, owners = rows.get_column("type"), rows.get_column("i")
    if kinds.min() != kinds.max():
        raise _Unrecognised("a key of two types")
    if owners.len() > 1 and owners.diff().min() <= 0:  # type: ignore[operator]
        raise _Unrecognised("a key twice in one element")
    type_name = _TYPES[int(kinds[0])]
    values = _typed(rows.get_column("v"), type_name)
    default = _default(*defaults[key], type_name) if key in defaults else None
    return owners, values, default


def _default(meta_type: str, content: Any, type_name: str) -> pl.Series:
    """A global default from rustxes' meta as a one-value Series of the key's dtype.

    The meta holds numbers and booleans as JSON values, dates as RFC 3339 text.
    """
    if _META_TYPES.get(meta_type) != type_name:
        raise _Unrecognised("a global default of another type")
    if type_name in ("string", "date") and isinstance(content, str):
        return _typed(pl.Series([content]), type_name)
    if type_name == "boolean" and isinstance(content, bool):
        return pl.Series([content], dtype=pl.Boolean)
    if type_name == "int" and isinstance(content, int) and not isinstance(content, bool):
        return pl.Series([content], dtype=pl.Int64)
    if type_name == "float" and isinstance(content, int | float) and not isinstance(content, bool):
        return pl.Series([float(content)], dtype=pl.Float64)
    raise _Unrecognised("a global default not read here")


def _typed(values: pl.Series, type_name: str) -> pl.Series:
    """Attribute texts as rustxes types them; raises when a text is not read here."""
    if type_name == "string":
        return values
    if type_name == "boolean":
        if not values.is_in(["true", "false"]).all():
            raise _Unrecognised("boolean")
        return values == "true"
    pattern = {"date": _DATE_RE, "int": _INT_RE, "float": _FLOAT_RE}[type_name]
    if not values.str.contains(pattern).all():
        raise _Unrecognised(type_name)
    if type_name == "int":
        return values.cast(pl.Int64)
    if type_name == "float":
        return values.cast(pl.Float64)
    if not values.str.contains(r"[+-]\d\d:\d\d$").all():
        # rustxes reads a date without an offset as UTC
        zulu = values.str.ends_with("Z")
        values = (
            pl.DataFrame({"v": values, "z": zulu})
            .select(
                pl.when(pl.col("z"))
                .then(pl.col("v").str.head(-1) + "+00:00")
                .when(pl.col("v").str.contains(r"[+-]\d\d:\d\d$"))
                .then(pl.col("v"))
                .otherwise(pl.col("v") + "+00:00")
            )
            .to_series()
        )
    out = (
        values.str.to_datetime(_DATE_FORMAT, time_unit="ns", strict=True)
        .dt.convert_time_zone("UTC")
        .dt.replace_time_zone(None)
    )
    if out.null_count():
        raise _Unrecognised("date")
    return out


def _reindexed(keyed: _Keyed, n: int) -> pl.Series:
    """One key's values at their owners' positions in ``0..n``, the default elsewhere."""
    index, values, default = keyed
    if index.len() == n:
        return values  # every owner has it, in order
    out = pl.Series(values.name, [None], dtype=values.dtype).extend_constant(None, n - 1)
    if default is not None:
        out = pl.select(pl.repeat(default.item(), n, dtype=values.dtype)).to_series()
    return out.scatter(index, values)


@contextmanager
def captured_stderr(out: list[str]) -> Iterator[None]:
    """Hold back what native code writes to file descriptor 2 (a Rust panic's backtrace).

    The text is appended to ``out`` when the block ends; the caller replays it
    when nothing went wrong.
    """
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):
        yield
        return
    with tempfile.TemporaryFile() as sink:
        os.dup2(sink.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            sink.seek(0)
            out.append(sink.read().decode("utf-8", errors="replace"))
