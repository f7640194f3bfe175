"""XES reader: ``.xes`` and ``.xes.gz`` event logs into a :class:`~wfmine.model.Batch`.

Parsing gives the frame of the Rust reader ``rustxes`` (one polars frame, one
row per event): a file of the usual one-element-a-line shape is read by the
vectorised scanner :mod:`wfmine.formats._xes_scan` (the same frame, several
times faster), any other by ``rustxes`` itself. Everything after it is polars
expressions: no Python object is built per event, so a million-event log loads
in a few seconds instead of pm4py's half a minute.

Mapping (see ``docs/contracts.md``), with ``dataset`` the file name without
``.xes``/``.xes.gz`` (or ``options["dataset"]``):

- one object per trace: ``xes:<dataset>/<case>``, type ``case``, key the case
  id, attrs the trace attributes (``case:*`` without the prefix);
- one event per XES event: activity ``concept:name``, ``seq`` its position in
  the trace (0-based, file order), ``event_id`` ``xes:<dataset>/<case>/<seq>``,
  actor ``xes:<org:resource>``, team ``org:group``, attrs every other event
  attribute (``lifecycle:transition`` included);
- one account per distinct resource; one raw record with the log-level meta
  (extensions, classifiers, globals, log attributes) and, under ``file``, the
  file's absolute path, size, modification time and SHA-256.

**Raw records.** Events are not stored a second time as text: each is
re-derivable from the store and the file. The event keeps every attribute
(the mapped ones as its fields, the rest in ``attrs``, trace attributes on
its case object); its ``event_id`` names its trace and its position in it,
and the log's raw record identifies the file by its SHA-256, so the XML the
event came from can be found again and checked to be the one ingested.

Events without a timestamp (or whose timestamp is only the log's global
default, which ``rustxes`` fills in) and events without an activity or case id
are quarantined with their reason; the rest loads.

``rustxes`` panics on malformed input. The panic is caught and the file is
re-read by a streaming well-formedness check (expat, no Python handlers) that
finds the line and column of the problem for the :class:`~wfmine.errors.FormatError`.
"""

from __future__ import annotations

import gzip
import json
import os
import shutil
import sys
import tempfile
import time
import zlib
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Final, NoReturn
from xml.parsers import expat

import polars as pl

from wfmine.errors import FormatError
from wfmine.formats import _xes_scan, dataset_name, json_object_expr, to_utc_expr
from wfmine.formats._xes_scan import captured_stderr
from wfmine.model import EVENT_SCHEMA, UTC_TS, Batch, frame
from wfmine.store import file_fingerprint

__all__ = [
    "classifier_keys",
    "declared_classifiers",
    "load",
    "locate_problem",
    "read_frame",
    "sniff",
]

SUFFIXES: Final = (".xes.gz", ".xes")
_GZIP_MAGIC: Final = b"\x1f\x8b"
_CASE: Final = "case:concept:name"
_ACTIVITY: Final = "concept:name"
_TIME: Final = "time:timestamp"
_RESOURCE: Final = "org:resource"
_GROUP: Final = "org:group"
_CHUNK: Final = 1 << 20


def sniff(path: Path) -> bool:
    """Is ``path`` an XES log? Looks for ``<log`` and an XES marker near the start.

    Gzip files are decompressed for their first 64 KiB only. Never raises.
    """
    try:
        if not path.is_file():
            return False
        head = _head(path, 65536)
    except (OSError, EOFError, zlib.error):
        return False
    text = head.decode("utf-8", errors="replace").lower()
    if "<log" not in text:
        return False
    markers = ("xes", "<trace", "<extension", "concept:name")
    return any(m in text for m in markers)


def _head(path: Path, size: int) -> bytes:
    with path.open("rb") as fh:
        start = fh.read(2)
    if start == _GZIP_MAGIC:
        with gzip.open(path, "rb") as gz:
            return gz.read(size)
    with path.open("rb") as fh:
        return fh.read(size)


def read_frame(path: str | os.PathLike[str]) -> tuple[pl.DataFrame, dict[str, Any]]:
    """Parse an XES file with ``rustxes``: one row per event and the log meta.

    Columns are the XES attribute keys (trace attributes prefixed ``case:``),
    rows in file order. Raises :class:`FormatError` with the position of the
    problem when the file is not a well-formed XES log.
    """
    p, df, meta, captured, whole = _parse(path)
    _complete(p, captured, _whole(p, whole))
    return df, meta


def _parse(
    path: str | os.PathLike[str], *, fast: bool = True
) -> tuple[Path, pl.DataFrame, dict[str, Any], str, bool]:
    """The log's frame and meta as ``rustxes`` reads them, what rustxes wrote to stderr,
    and whether the file is known to end with ``</log>``; not yet checked for a cut.

    A file of the common one-element-a-line shape is read by :mod:`._xes_scan`
    (the same frame, several times faster; it sees the whole file, so a cut one is
    never read there); any other, or with ``fast=False``, by ``rustxes`` itself.
    Raises :class:`FormatError` when ``rustxes`` cannot read the file.
    """
    p = Path(path)
    if not p.exists():
        raise FormatError(p, "no such file")
    if not p.is_file():
        raise FormatError(p, "not a file")
    if fast and (scanned := _xes_scan.scan(p)) is not None:
        df, meta, captured = scanned
        return p, df, meta, captured, True
    import rustxes  # a declared dependency; imported here, where a log is read

    captured_: list[str] = []
    with _named_for_rustxes(p) as target, captured_stderr(captured_):
        try:
            df, meta_text = rustxes.import_xes(str(target))
            failure: str | None = None
        except BaseException as exc:  # rustxes panics: pyo3 PanicException is a BaseException
            if isinstance(exc, KeyboardInterrupt | SystemExit):
                raise
            failure = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    if failure is not None:
        _fail(p, failure)
    try:
        meta = json.loads(meta_text) if meta_text else {}
    except ValueError:
        meta = {"raw": meta_text}
    return p, df, meta, "".join(captured_), False


def _complete(path: Path, captured: str, ends_with_log: bool) -> None:
    """Refuse a cut file (``rustxes`` returns what it read before the cut); else replay
    what ``rustxes`` wrote to stderr."""
    if not ends_with_log:
        # rustxes returns what it read so far from a truncated file: never keep half a log
        _fail(path, "the file ends before </log>")
    if captured:
        sys.stderr.write(captured)


def _fail(path: Path, failure: str) -> NoReturn:
    problem, position = locate_problem(path)
    if problem is None:
        problem = f"not a readable XES log ({failure})"
    raise FormatError(path, problem, position=position)


def _whole(path: Path, known: bool) -> bool:
    """Whether ``path`` ends with ``</log>``: ``known`` when the scanner read it whole, else
    looked at (:func:`_ends_with_log_close`)."""
    return known or _ends_with_log_close(path)


def _ends_with_log_close(path: Path) -> bool:
    """Whether the (possibly gzipped) file ends with ``</log>``: a cheap truncation check.

    Plain files: read the last bytes. Gzip: stream-decompress (zlib, in C,
    ~0.7 s for a 1M-event log) keeping only the tail, and require the gzip end
    marker.
    """
    with path.open("rb") as fh:
        magic = fh.read(2)
        if magic != b"\x1f\x8b":
            fh.seek(0, 2)
            size = fh.tell()
            fh.seek(max(0, size - 256))
            return fh.read().rstrip().endswith(b"</log>")
        fh.seek(0)
        inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
        tail = b""
        try:
            while chunk := fh.read(1 << 20):
                out = inflater.decompress(chunk)
                if out:
                    tail = (tail + out)[-256:]
                if inflater.eof:
                    break
        except zlib.error:
            return False
        return inflater.eof and tail.rstrip().endswith(b"</log>")


@contextmanager
def _named_for_rustxes(path: Path) -> Iterator[Path]:
    """``rustxes`` picks gzip by the ``.gz`` suffix: give gzip content that name."""
    try:
        with path.open("rb") as fh:
            magic = fh.read(2)
    except OSError as exc:
        raise FormatError(path, f"cannot read: {exc.strerror or exc}") from None
    is_gz_name = path.name.lower().endswith(".gz")
    if (magic == _GZIP_MAGIC) == is_gz_name:
        yield path
        return
    with tempfile.TemporaryDirectory(prefix="wfmine-xes-") as tmp:
        link = Path(tmp) / ("log.xes.gz" if magic == _GZIP_MAGIC else "log.xes")
        try:
            link.symlink_to(path.resolve())
        except OSError:
            shutil.copyfile(path, link)
        yield link


def locate_problem(path: Path) -> tuple[str | None, str | None]:
    """Find why ``path`` is not a readable XES file: ``(problem, "line L, column C")``.

    Streams the file (through gzip when it is compressed) into expat with no
    Python handlers except one that notes the root element, so even a large
    file is checked quickly and in constant memory. Returns ``(None, None)``
    when the file is well-formed XML with a ``<log>`` root.
    """
    parser = expat.ParserCreate()
    root: list[str] = []

    def on_start(name: str, attrs: dict[str, str]) -> None:
        del attrs
        root.append(name)
        parser.StartElementHandler = None

    parser.StartElementHandler = on_start

    def where() -> str:
        return f"line {parser.CurrentLineNumber}, column {parser.CurrentColumnNumber + 1}"

    try:
        with path.open("rb") as fh:
            magic = fh.read(2)
    except OSError as exc:
        return f"cannot read: {exc.strerror or exc}", None
    compressed = magic == _GZIP_MAGIC
    if path.stat().st_size == 0:
        return "empty file", "line 1, column 1"
    total = 0
    try:
        for chunk in _xml_chunks(path, compressed):
            total += len(chunk)
            parser.Parse(chunk, False)
            if root and _local(root[0]) != "log":
                return f"not an XES log: the root element is <{root[0]}>, not <log>", where()
        if total == 0:
            return "empty file (the gzip data holds nothing)", "line 1, column 1"
        parser.Parse(b"", True)
    except expat.ExpatError as exc:
        message = expat.ErrorString(exc.code) if exc.code else str(exc)
        return f"malformed XML: {message}", f"line {exc.lineno}, column {exc.offset + 1}"
    except _TruncatedGzip as exc:
        return f"{exc}; the {total} bytes of XML before the cut end here", where()
    except OSError as exc:
        return f"cannot read: {exc}", None
    if not root:
        return "not an XES log: no root element", where()
    if _local(root[0]) != "log":
        return f"not an XES log: the root element is <{root[0]}>, not <log>", "line 1, column 1"
    return None, None


class _TruncatedGzip(Exception):
    """The gzip stream is cut short or corrupt."""


def _xml_chunks(path: Path, compressed: bool) -> Iterator[bytes]:
    """The file's (decompressed) bytes in chunks, keeping what a truncated gzip still holds.

    ``gzip.GzipFile.read`` drops the last partial block when the stream ends
    early; a raw ``zlib`` decompressor hands it over, so the position of the
    cut can be reported.
    """
    with path.open("rb") as fh:
        if not compressed:
            while chunk := fh.read(_CHUNK):
                yield chunk
            return
        decomp = zlib.decompressobj(wbits=31)
        pending = False  # inside a gzip member that has not ended yet
        while raw := fh.read(_CHUNK):
            while raw:
                pending = True
                try:
                    out = decomp.decompress(raw)
                except zlib.error as exc:
                    raise _TruncatedGzip(f"corrupt gzip data ({exc})") from None
                if out:
                    yield out
                if not decomp.eof:
                    break
                # member complete; a multi-member gzip goes on with what follows
                pending = False
                raw = decomp.unused_data
                decomp = zlib.decompressobj(wbits=31)
        if pending:
            if tail := decomp.flush():
                yield tail
            raise _TruncatedGzip("truncated gzip data (the stream ends early)")


def _local(tag: str) -> str:
    return tag.rsplit(":", 1)[-1].rsplit("}", 1)[-1].lower()


def load(path: Path | str, options: Mapping[str, Any] | None = None) -> Batch:
    """Read an XES log into a batch (source ``xes``).

    Options: ``dataset`` (the name used in ids; default the file name without
    ``.xes``/``.xes.gz``); ``classifier``: the activity classifier, a name the
    log declares (``<classifier name=.. keys=..>``) or event attribute keys
    (a space-separated string or a list). The activity is then the keys'
    values joined by ``+``, as pm4py joins them; default ``concept:name``. A
    non-default classifier is part of the dataset name (``<dataset>@<k1>+<k2>``),
    so the two views of one file never share event ids. The log's raw record
    keeps the declared classifiers, the one used and every attribute's type. Raises :class:`FormatError` naming
    the file and position for malformed or non-XES input, or an unknown
    classifier (listing the declared ones); nothing is returned then.
    """
    started = time.perf_counter()
    p = Path(path)
    opts = dict(options or {})
    dataset = dataset_name(p, opts, SUFFIXES)
    p, df, meta, captured, read_whole = _parse(p)
    # the mapping below is polars, which lets go of the interpreter: meanwhile the file is
    # read once more on the other core, for its SHA-256 and, when rustxes read it, for the
    # check that it is not cut short (a gzip stream is inflated to its end)
    with ThreadPoolExecutor(1) as pool:
        whole = pool.submit(_whole, p, read_whole)
        fingerprint = pool.submit(file_fingerprint, p)
        # the meta's JSON (BPI 2012: 7 MB) is written there too, while polars maps the frame
        meta_json = pool.submit(_json_members, meta)
        try:
            declared = declared_classifiers(meta)
            keys = classifier_keys(opts.get("classifier"), declared, df.columns, origin=str(p))
            if keys != [_ACTIVITY]:
                df = _classified(df, keys)
                dataset = f"{dataset}@{'+'.join(keys)}"
            # its raw record is made below, once, with the file and types added: the meta of
            # a log with statistics is megabytes of JSON (BPI 2012: 7 MB, 0.3 s to write)
            batch = _mapped(df, meta, dataset=dataset, origin=str(p), classifier=keys)
        except FormatError:
            _complete(p, captured, whole.result())  # a cut file is what to say first
            raise
        _complete(p, captured, whole.result())
        try:
            file = fingerprint.result()
        except OSError as exc:
            raise FormatError(p, f"cannot read: {exc.strerror or exc}") from None
    types = {name: str(dtype) for name, dtype in df.schema.items()}
    members = {
        **meta_json.result(),
        **_json_members({"file": file, "attribute_types": types, "classifier": keys}),
    }
    batch.raw_records = _raw_log_of(_json_object(members), dataset, str(p))
    batch.stats["load_ms"] = int((time.perf_counter() - started) * 1000)
    return batch


def declared_classifiers(meta: Mapping[str, Any]) -> dict[str, list[str]]:
    """The classifiers the log declares: name -> attribute keys, in file order."""
    out: dict[str, list[str]] = {}
    for item in meta.get("classifiers") or []:
        if isinstance(item, dict) and item.get("name") and isinstance(item.get("keys"), list):
            out[str(item["name"])] = [str(k) for k in item["keys"]]
    return out


def classifier_keys(
    given: str | list[str] | tuple[str, ...] | None,
    declared: Mapping[str, list[str]],
    columns: list[str],
    *,
    origin: str = "",
) -> list[str]:
    """The event attribute keys of a classifier option (default ``concept:name``).

    ``given`` is a declared classifier's name (exact, then case-insensitive) or
    the keys themselves. Raises :class:`FormatError` listing the declared
    classifiers when it names neither a declared classifier nor event attributes.
    """
    if given is None or given == "" or given == []:
        return [_ACTIVITY]
    if isinstance(given, str):
        if given in declared:
            keys = declared[given]
        else:
            folded = {k.lower(): v for k, v in declared.items()}
            keys = folded.get(given.strip().lower()) or given.split()
    else:
        keys = [str(k) for k in given]
    events = [c for c in columns if not c.startswith("case:")]
    missing = [k for k in keys if k not in events]
    if missing or not keys:
        listed = "; ".join(f"{n!r} ({' '.join(k)})" for n, k in declared.items()) or "none"
        raise FormatError(
            origin,
            f"unknown classifier {given!r}: no event attribute {', '.join(missing) or '?'}; "
            f"the log declares {listed}",
        )
    return keys


#: the column holding a non-default classifier's activity; ``concept:name`` itself stays
#: an event attribute (kept in ``attrs``, so an export writes it back as it was)
_CLASSIFIED: Final = "wfmine:classified"


def _classified(df: pl.DataFrame, keys: list[str]) -> pl.DataFrame:
    """The frame with the classifier's joined values as the activity (:data:`_CLASSIFIED`).

    An event without one of the keys has no activity (and is quarantined).
    """
    joined = pl.concat_str([pl.col(k).cast(pl.String) for k in keys], separator="+")
    return df.with_columns(joined.alias(_CLASSIFIED))


def _global_default(meta: Mapping[str, Any], key: str) -> str | None:
    """The text of the log's global default event attribute ``key``, if it declares one.

    rustxes writes a global default into every event that lacks the attribute,
    so an event whose value equals it may have had none.
    """
    for attr in meta.get("global_event_attrs") or []:
        if isinstance(attr, dict) and attr.get("key") == key:
            value = (attr.get("value") or {}).get("content")
            return value if isinstance(value, str) else None
    return None


def from_frame(
    df: pl.DataFrame,
    meta: Mapping[str, Any],
    *,
    dataset: str,
    origin: str = "",
    classifier: Sequence[str] = (_ACTIVITY,),
) -> Batch:
    """Map a ``rustxes`` frame (one row per event) and its meta onto store tables.

    Split from :func:`load` so other readers of XES-shaped frames (pm4py data
    frames, CSV with the pm4py column names) can reuse the mapping.
    ``classifier``: the activity's keys; with other keys than ``concept:name``
    the frame carries their joined values (:func:`_classified`).
    """
    batch = _mapped(df, meta, dataset=dataset, origin=origin, classifier=classifier)
    batch.raw_records = _raw_log(meta, dataset, origin)
    return batch


def _mapped(
    df: pl.DataFrame,
    meta: Mapping[str, Any],
    *,
    dataset: str,
    origin: str,
    classifier: Sequence[str],
) -> Batch:
    """:func:`from_frame` but the raw record, which its caller makes (and :func:`load` makes
    with more in it)."""
    if df.width and _ACTIVITY not in df.columns:
        raise FormatError(origin, "no event has a concept:name attribute (the activity)")
    if df.width and _CASE not in df.columns:
        raise FormatError(origin, "no trace has a concept:name attribute (the case id)")
    prefix = f"xes:{dataset}/"
    if df.height == 0:
        batch = Batch(source="xes")
        batch.warnings.append(f"{origin}: the log has no events")
        batch.stats.update({"files": 1, "events": 0, "cases": 0, "quarantined": 0})
        return batch

    schema = df.schema
    # the activity: concept:name, or a classifier's joined keys (concept:name then stays an
    # attribute of the event, as the file had it)
    activity = _ACTIVITY if list(classifier) == [_ACTIVITY] else _CLASSIFIED
    event_attr_cols = {
        name: dtype
        for name, dtype in schema.items()
        if not name.startswith("case:")
        and name not in (activity, _TIME, _RESOURCE, _GROUP)
        and name != _CLASSIFIED
    }
    case_attr_cols = {
        name: dtype for name, dtype in schema.items() if name.startswith("case:") and name != _CASE
    }

    ts = _timestamp_expr(schema)
    default_ts = _global_default_time(meta)
    case = pl.col(_CASE).cast(pl.String)
    resource = pl.col(_RESOURCE).cast(pl.String) if _RESOURCE in schema else pl.lit(None, pl.String)
    group = pl.col(_GROUP).cast(pl.String) if _GROUP in schema else pl.lit(None, pl.String)

    work = df.lazy().with_columns(
        case.alias("_case"),
        pl.int_range(pl.len(), dtype=pl.Int64).over(_CASE).alias("_seq"),
        ts.alias("_ts"),
    )
    reason = (
        pl.when(pl.col("_case").is_null())
        .then(pl.lit("trace has no concept:name (case id)"))
        .when(pl.col(activity).is_null())
        .then(pl.lit("event has no concept:name (activity)"))
        .when(pl.col("_ts").is_null())
        .then(pl.lit("event has no time:timestamp"))
    )
    default_name = _global_default(meta, _ACTIVITY)
    if default_name is not None and _ACTIVITY in classifier:
        # an event whose name is the log's global default placeholder had no name of its
        # own: unknown is unknown, never an activity called "name" or "__INVALID__"
        reason = reason.when(pl.col(_ACTIVITY).cast(pl.String) == default_name).then(
            pl.lit(f"event has no concept:name (only the log's global default {default_name!r})")
        )
    if default_ts is not None:
        reason = reason.when(pl.col("_ts") == pl.lit(default_ts).cast(UTC_TS)).then(
            pl.lit("event has no time:timestamp (only the log's global default)")
        )
    work = work.with_columns(reason.otherwise(pl.lit(None, pl.String)).alias("_reason"))
    work_df = work.collect()

    if work_df.get_column("_reason").null_count() == work_df.height:
        # the usual log, every event good: no copy of the frame into good and bad
        bad, good = work_df.clear(), work_df
    else:
        bad = work_df.filter(pl.col("_reason").is_not_null())
        good = work_df.filter(pl.col("_reason").is_null())

    # the tables are planned lazily and collected together (polars runs them side by side)
    events_plan = (
        good.lazy()
        .select(
            (pl.lit(prefix) + pl.col("_case") + pl.lit("/") + pl.col("_seq").cast(pl.String)).alias(
                "event_id"
            ),
            pl.col(activity).cast(pl.String).alias("activity"),
            pl.col("_ts").alias("timestamp"),
            pl.col("_seq").alias("seq"),
            (pl.lit("xes:") + resource).alias("actor_id"),
            group.alias("team"),
            pl.lit("xes").alias("source"),
            (pl.lit(prefix) + pl.col("_case")).alias("object_id"),
            json_object_expr(event_attr_cols).alias("attrs"),
            (pl.lit("trace:") + pl.col("_case")).alias("raw_ref"),
        )
        .cast(dict(EVENT_SCHEMA))  # type: ignore[arg-type]
    )

    objects_plan = (
        work_df.lazy()
        .filter(pl.col("_case").is_not_null())
        .group_by("_case", maintain_order=True)
        .agg(*(pl.col(c).drop_nulls().first() for c in case_attr_cols))
        .select(
            (pl.lit(prefix) + pl.col("_case")).alias("object_id"),
            pl.lit("case").alias("object_type"),
            pl.lit("xes").alias("source"),
            pl.col("_case").alias("key"),
            pl.lit(None, pl.String).alias("title"),
            json_object_expr(case_attr_cols, strip_prefix="case:").alias("attrs"),
        )
    )

    quarantine_plan = bad.lazy().select(
        pl.lit("xes").alias("source"),
        (
            pl.lit(f"{origin}#trace ")
            + pl.col("_case").fill_null("?")
            + pl.lit(" event ")
            + pl.col("_seq").cast(pl.String)
        ).alias("record_ref"),
        pl.col("_reason").alias("reason"),
        json_object_expr({c: schema[c] for c in schema}).alias("payload"),
    )
    events, objects, quarantine = pl.collect_all([events_plan, objects_plan, quarantine_plan])
    accounts = _accounts(good, resource)

    batch = Batch(
        source="xes",
        events=events,
        objects=objects,
        accounts=accounts,
        quarantine=quarantine,
    )
    if bad.height:
        batch.warnings.append(f"{origin}: {bad.height} event(s) quarantined (see quarantine)")
    batch.stats.update(
        {
            "files": 1,
            "events": events.height,
            "cases": objects.height,
            "activities": events.get_column("activity").n_unique(),
            "resources": accounts.height,
            "quarantined": bad.height,
        }
    )
    return batch


def _timestamp_expr(schema: Mapping[str, pl.DataType]) -> pl.Expr:
    """``time:timestamp`` as UTC. ``rustxes`` returns naive values that are already UTC."""
    if _TIME not in schema:
        return pl.lit(None, UTC_TS)
    dtype = schema[_TIME]
    col = pl.col(_TIME)
    if dtype == pl.String:
        return col.str.to_datetime(time_zone="UTC", strict=False).cast(UTC_TS)
    return to_utc_expr(col, dtype)


def _global_default_time(meta: Mapping[str, Any]) -> Any:
    """The log's global default ``time:timestamp`` (rustxes fills it into events without one)."""
    import datetime as dt

    for attr in meta.get("global_event_attrs") or []:
        if isinstance(attr, dict) and attr.get("key") == _TIME:
            value = (attr.get("value") or {}).get("content")
            if isinstance(value, str):
                try:
                    moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
                except ValueError:
                    return None
                if moment.tzinfo is None:
                    moment = moment.replace(tzinfo=dt.UTC)
                return moment.astimezone(dt.UTC)
    return None


def _accounts(events: pl.DataFrame, resource: pl.Expr) -> pl.DataFrame:
    names = (
        events.select(resource.alias("r")).get_column("r").drop_nulls().unique().sort()
        if events.height
        else pl.Series("r", [], pl.String)
    )
    df = pl.DataFrame({"r": names})
    return df.select(
        (pl.lit("xes:") + pl.col("r")).alias("account_id"),
        pl.lit("xes").alias("source"),
        pl.col("r").alias("login"),
        pl.col("r").alias("display_name"),
        pl.lit(None, pl.String).alias("email"),
        pl.lit("unknown").alias("platform_kind"),
        pl.lit("{}").alias("attrs"),
    )


def _json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _json_members(meta: Mapping[str, Any]) -> dict[str, str]:
    """Each member of ``meta`` as the JSON text :func:`_json` writes for it."""
    return {str(key): _json(value) for key, value in meta.items()}


def _json_object(members: Mapping[str, str]) -> str:
    """:func:`_json` of the object whose members' texts are ``members``: the same text."""
    return "{" + ",".join(f"{_json(k)}:{members[k]}" for k in sorted(members)) + "}"


def _raw_log(meta: Mapping[str, Any], dataset: str, origin: str) -> pl.DataFrame:
    return _raw_log_of(_json(meta), dataset, origin)


def _raw_log_of(payload: str, dataset: str, origin: str) -> pl.DataFrame:
    return frame(
        "raw_records",
        [
            {
                "source": "xes",
                "record_type": "log",
                "record_id": dataset,
                "payload": payload,
                "origin": origin,
            }
        ],
    )
