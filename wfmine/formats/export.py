"""Writers: a flat log or the store to XES, the store to OCEL 2.0 JSON, its tables to Parquet.

All are columnar: XES text is built with polars string expressions (one line
per event, XML special characters escaped) and streamed to the file; OCEL
JSON is built by DuckDB inside the store; Parquet is DuckDB's ``COPY``. No
Python loop runs over events, so exporting millions of events takes seconds.

Round trips lose nothing a reader keeps: :func:`store_to_xes` writes every
event and trace attribute the store holds with its XES type (string, date,
int, float, boolean), the trace ids as the log named them; :func:`to_ocel_json`
writes object attribute history with its times, same-instant events in their
original order and the original event and object ids. pm4py reads the
exports back with the same cases, events, activities, timestamps and
attributes as the original files (``tests/test_formats_export.py``).
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any, Final, cast

import polars as pl

from wfmine.formats import XML_INVALID_CHARS, parse_utc_expr
from wfmine.store import Store

__all__ = ["STORE_TABLES", "store_to_xes", "to_ocel_json", "to_parquet", "to_xes"]

#: The store tables :func:`to_parquet` writes.
STORE_TABLES: Final = (
    "raw_records",
    "events",
    "event_objects",
    "objects",
    "object_links",
    "accounts",
    "actors",
    "actor_accounts",
    "ingest_runs",
    "quarantine",
    "findings",
)

#: pm4py column names accepted by :func:`to_xes` in place of the flat-log names.
_PM4PY_NAMES: Final = {
    "case:concept:name": "case_id",
    "concept:name": "activity",
    "time:timestamp": "timestamp",
    "org:resource": "resource",
    "org:group": "team",
}

_XES_HEADER: Final = """<?xml version="1.0" encoding="UTF-8"?>
<log xes.version="1.0" xes.features="nested-attributes" openxes.version="1.0RC7">
\t<extension name="Concept" prefix="concept" uri="http://www.xes-standard.org/concept.xesext"/>
\t<extension name="Time" prefix="time" uri="http://www.xes-standard.org/time.xesext"/>
\t<extension name="Organizational" prefix="org" uri="http://www.xes-standard.org/org.xesext"/>
\t<extension name="Lifecycle" prefix="lifecycle" uri="http://www.xes-standard.org/lifecycle.xesext"/>
{classifiers}\t<string key="concept:name" value="{name}"/>
\t<string key="creator" value="wfmine"/>
"""


def _xml_text(expr: pl.Expr) -> pl.Expr:
    """Text made safe for an XML attribute value: invalid characters dropped, specials escaped."""
    return (
        expr.cast(pl.String)
        .str.replace_all(XML_INVALID_CHARS, "")
        .str.replace_many(
            ["&", "<", ">", '"', "\n", "\r", "\t"],
            ["&amp;", "&lt;", "&gt;", "&quot;", "&#10;", "&#13;", "&#9;"],
        )
    )


def _escape(text: str) -> str:
    return (
        text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
    )


def _string_attr(key: str, value: pl.Expr) -> pl.Expr:
    """``<string key=".." value=".."/>`` or null when the value is null."""
    return pl.concat_str(
        [pl.lit(f'<string key="{_escape(key)}" value="'), _xml_text(value), pl.lit('"/>')]
    )


@contextmanager
def _open_out(path: Path, compresslevel: int) -> Iterator[IO[bytes]]:
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.name.lower().endswith(".gz"):
        with gzip.open(path, "wb", compresslevel=compresslevel) as gz:
            yield cast(IO[bytes], gz)
    else:
        with path.open("wb") as fh:
            yield fh


#: attribute keys the XES writer sets itself (never taken from ``attrs``)
_MAPPED_KEYS: Final = frozenset({"concept:name", "time:timestamp", "org:resource", "org:group"})
_XES_DATE_TEXT: Final = "%Y-%m-%dT%H:%M:%S%.6f+00:00"


def _typed_elements(column: pl.Series, dates: frozenset[str]) -> pl.Series:
    """XES attribute elements (``<int key=.. value=../>`` …) for each JSON object of ``column``.

    Each distinct JSON text is decoded once (polars infers one type per key);
    keys typed as dates in the source (``dates``) become ``<date>``, integers
    ``<int>``, floats ``<float>``, booleans ``<boolean>``, nested values their
    JSON text as ``<string>``. Null where an object has no attribute.
    """
    texts = column.fill_null("{}")
    uniq = texts.unique().to_frame("j").filter(pl.col("j") != "{}")
    if uniq.height == 0:
        return pl.Series(column.name, [None] * column.len(), dtype=pl.String)
    # a key with values of several types is decoded as text (polars' supertype)
    decoded = uniq.get_column("j").str.json_decode(infer_schema_length=None)
    dtype = decoded.dtype
    fields = dtype.fields if isinstance(dtype, pl.Struct) else []
    if not fields:
        return pl.Series(column.name, [None] * column.len(), dtype=pl.String)
    frame = uniq.with_columns(decoded.alias("_v")).unnest("_v")
    pieces: list[pl.Expr] = []
    for fld in sorted(fields, key=lambda f: f.name):
        key, ftype = fld.name, fld.dtype
        if key in _MAPPED_KEYS or key == "j" or isinstance(ftype, pl.Null):
            continue
        col = pl.col(key)
        if ftype == pl.String and key in dates:
            moment = parse_utc_expr(col)
            element = (
                pl.when(moment.is_not_null())
                .then(_element("date", key, moment.dt.to_string(_XES_DATE_TEXT)))
                .otherwise(_element("string", key, col))
            )
        elif ftype == pl.String:
            element = _element("string", key, col)
        elif ftype.is_integer():
            element = _element("int", key, col.cast(pl.String))
        elif ftype.is_float():
            element = _element("float", key, col.cast(pl.String))
        elif ftype == pl.Boolean:
            element = _element("boolean", key, col.cast(pl.String))
        else:
            encoded = pl.struct(col.alias("v")).struct.json_encode()
            element = _element("string", key, encoded.str.slice(5, encoded.str.len_bytes() - 6))
        pieces.append(pl.when(col.is_not_null()).then(element))
    if not pieces:
        return pl.Series(column.name, [None] * column.len(), dtype=pl.String)
    built = frame.select(
        pl.col("j"), pl.concat_str(pieces, ignore_nulls=True).replace("", None).alias("x")
    )
    return (
        texts.to_frame("j")
        .join(built, on="j", how="left", maintain_order="left")
        .get_column("x")
        .alias(column.name)
    )


def _element(kind: str, key: str, value: pl.Expr) -> pl.Expr:
    return pl.concat_str(
        [pl.lit(f'<{kind} key="{_escape(key)}" value="'), _xml_text(value), pl.lit('"/>')]
    )


def _classifier_lines(classifiers: list[tuple[str, list[str]]] | None) -> str:
    chosen = classifiers or [("Activity", ["concept:name"])]
    lines = []
    for name, keys in chosen:
        quoted = " ".join(f"'{k}'" if " " in k else k for k in keys)
        lines.append(f'\t<classifier name="{_escape(name)}" keys="{_escape(quoted)}"/>\n')
    return "".join(lines)


def to_xes(
    log: pl.DataFrame | pl.LazyFrame,
    path: str | Path,
    *,
    name: str | None = None,
    compresslevel: int = 6,
    dates: tuple[frozenset[str], frozenset[str]] = (frozenset(), frozenset()),
    classifiers: list[tuple[str, list[str]]] | None = None,
) -> int:
    """Write a flat log (:data:`wfmine.model.LOG_SCHEMA`) as an XES file; returns the event count.

    One trace per ``case_id``, events ordered by (timestamp, seq, event_id);
    ``activity`` becomes ``concept:name``, ``timestamp`` ``time:timestamp``
    (UTC, microseconds), ``resource`` ``org:resource`` and ``team``
    ``org:group`` when present. pm4py column names are accepted too. A path
    ending in ``.gz`` is gzip-compressed. ``rustxes`` and pm4py read the
    result back with the same events.

    Optional columns carry the rest of the log: ``attrs`` (a JSON object of
    further event attributes), ``case_key`` (the trace's ``concept:name``;
    default ``case_id``) and ``case_attrs`` (a JSON object of trace
    attributes). ``dates`` names the (event, trace) attribute keys whose text
    is a date; ``classifiers`` the log's declared ``(name, keys)``.
    """
    out = Path(path)
    lf = log.lazy()
    names = lf.collect_schema().names()
    renames = {k: v for k, v in _PM4PY_NAMES.items() if k in names and v not in names}
    lf = lf.rename(renames)
    names = lf.collect_schema().names()
    for required in ("case_id", "activity", "timestamp"):
        if required not in names:
            raise ValueError(f"to_xes needs a {required!r} column; the log has {names}")
    order = [c for c in ("case_id", "timestamp", "seq", "event_id") if c in names]
    df = (
        lf.filter(pl.col("case_id").is_not_null())
        .sort(order, nulls_last=True, maintain_order=True)
        .collect()
    )
    event_dates, trace_dates = dates
    if "attrs" in names:
        df = df.with_columns(_typed_elements(df.get_column("attrs"), event_dates).alias("_ea"))
    if "case_attrs" in names:
        df = df.with_columns(_typed_elements(df.get_column("case_attrs"), trace_dates).alias("_ta"))

    ts = pl.col("timestamp")
    ts_dtype = df.schema["timestamp"]
    if isinstance(ts_dtype, pl.Datetime) and ts_dtype.time_zone is None:
        ts = ts.dt.replace_time_zone("UTC")
    ts_text = ts.dt.convert_time_zone("UTC").dt.to_string(_XES_DATE_TEXT)

    pieces: list[pl.Expr] = [
        pl.lit("\t\t<event>"),
        _string_attr("concept:name", pl.col("activity")),
        pl.concat_str([pl.lit('<date key="time:timestamp" value="'), ts_text, pl.lit('"/>')]),
    ]
    if "resource" in names:
        pieces.append(_string_attr("org:resource", pl.col("resource")))
    if "team" in names:
        pieces.append(_string_attr("org:group", pl.col("team")))
    if "attrs" in names:
        pieces.append(pl.col("_ea"))
    pieces.append(pl.lit("</event>"))
    event = pl.concat_str(pieces, ignore_nulls=True)

    case = pl.col("case_id")
    trace_name = pl.col("case_key").fill_null(case) if "case_key" in names else case
    first = (case != case.shift(1)).fill_null(True)
    last = (case != case.shift(-1)).fill_null(True)
    opening = pl.when(first).then(
        pl.concat_str(
            [
                pl.lit('\t<trace>\n\t\t<string key="concept:name" value="'),
                _xml_text(trace_name),
                pl.lit('"/>'),
                pl.col("_ta").fill_null("") if "case_attrs" in names else pl.lit(""),
                pl.lit("\n"),
            ]
        )
    )
    closing = pl.when(last).then(pl.lit("\n\t</trace>"))
    lines = df.select(pl.concat_str([opening, event, closing], ignore_nulls=True).alias("line"))

    log_name = _escape(name if name is not None else out.name.split(".")[0])
    header = _XES_HEADER.format(name=log_name, classifiers=_classifier_lines(classifiers))
    with _open_out(out, compresslevel) as fh:
        fh.write(header.encode("utf-8"))
        if lines.height:
            lines.write_csv(fh, include_header=False, quote_style="never")
        fh.write(b"</log>\n")
    return lines.height


def store_to_xes(
    store: Store,
    path: str | Path,
    *,
    case_notion: str = "work_item",
    name: str | None = None,
    compresslevel: int = 6,
) -> int:
    """Write the store's flat log under ``case_notion`` as XES, keeping every attribute.

    Traces are named by their case object's key (the XES/CSV case id as the
    log had it), carry the object's attributes as trace attributes, and each
    event every attribute it holds (``attrs``) with its XES type; resources
    are the accounts' logins (``org:resource`` as the log had it) and
    ``org:group`` the team recorded at the event. Attributes an XES file
    declared as dates are written as dates again. Returns the event count.
    """
    log = store.log(case_notion=case_notion)
    extra = store.sql(
        "SELECT e.event_id, e.attrs, e.team AS _team, a.login AS _login FROM events e "
        "LEFT JOIN accounts a ON a.account_id = e.actor_id"
    )
    cases = store.sql(
        "SELECT object_id AS case_id, key AS case_key, attrs AS case_attrs FROM objects"
    )
    flat = (
        log.select("case_id", "activity", "timestamp", "seq", "event_id")
        .join(extra, on="event_id", how="left", maintain_order="left")
        .join(cases, on="case_id", how="left", maintain_order="left")
        .rename({"_login": "resource", "_team": "team"})
        # an XES log read with another classifier keeps the event's own concept:name among
        # its attributes (the activity is the classifier's joined keys): write it back
        .with_columns(
            pl.coalesce(
                pl.col("attrs").str.json_path_match("$['concept:name']"), pl.col("activity")
            ).alias("activity")
        )
    )
    dates, classifiers = _xes_meta(store)
    return to_xes(
        flat,
        path,
        name=name,
        compresslevel=compresslevel,
        dates=dates,
        classifiers=classifiers,
    )


def _xes_meta(
    store: Store,
) -> tuple[tuple[frozenset[str], frozenset[str]], list[tuple[str, list[str]]]]:
    """Date-typed (event, trace) attribute keys and the classifiers the stored XES logs declare."""
    rows = store.sql(
        "SELECT payload FROM raw_records WHERE source = 'xes' AND record_type = 'log' "
        "ORDER BY record_id"
    )
    event_dates: set[str] = set()
    trace_dates: set[str] = set()
    classifiers: dict[str, list[str]] = {}
    for text in rows.get_column("payload").to_list():
        try:
            meta: dict[str, Any] = json.loads(text)
        except (TypeError, ValueError):
            continue
        for key, dtype in (meta.get("attribute_types") or {}).items():
            if str(dtype).startswith("Datetime"):
                if key.startswith("case:"):
                    trace_dates.add(key.removeprefix("case:"))
                else:
                    event_dates.add(key)
        for item in meta.get("classifiers") or []:
            if isinstance(item, dict) and item.get("name") and isinstance(item.get("keys"), list):
                classifiers.setdefault(str(item["name"]), [str(k) for k in item["keys"]])
    return (frozenset(event_dates), frozenset(trace_dates)), list(classifiers.items())


def to_parquet(store: Store, folder: str | Path) -> dict[str, Path]:
    """Write every store table to ``<folder>/<table>.parquet``; returns table -> file.

    DuckDB streams each table to Parquet itself, so nothing passes through
    Python rows. JSON columns are written as text.
    """
    target = Path(folder)
    target.mkdir(parents=True, exist_ok=True)
    written: dict[str, Path] = {}
    con = store.connection
    for table in STORE_TABLES:
        exists = con.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_name = ?", [table]
        ).fetchall()
        if not exists or not exists[0][0]:
            continue
        json_cols = [
            row[0]
            for row in con.execute(
                "SELECT column_name FROM information_schema.columns "
                "WHERE table_name = ? AND data_type = 'JSON'",
                [table],
            ).fetchall()
        ]
        replace = ", ".join(f'"{c}"::VARCHAR AS "{c}"' for c in json_cols)
        select = f"SELECT * REPLACE ({replace})" if json_cols else "SELECT *"
        file = target / f"{table}.parquet"
        literal = str(file).replace("'", "''")
        con.execute(f"COPY ({select} FROM {table}) TO '{literal}' (FORMAT parquet)")
        written[table] = file
    return written


#: the id an object or event is exported under: the OCEL file's own for OCEL-read rows
_OCEL_IDS_SQL: Final = """_ocel_oid AS (
    SELECT object_id, CASE WHEN source = 'ocel' AND key IS NOT NULL THEN key ELSE object_id END
           AS xid
    FROM objects
)"""

_POINTER: Final = "'/' || replace(replace(k, '~', '~0'), '/', '~1')"

_OCEL_EVENTS_SQL: Final = f"""
WITH {_OCEL_IDS_SQL}, rel AS (
    SELECT eo.event_id,
           list({{'objectId': coalesce(m.xid, eo.object_id), 'qualifier': coalesce(qualifier, '')}}
                ORDER BY eo.object_id, qualifier) AS relationships
    FROM event_objects eo LEFT JOIN _ocel_oid m ON m.object_id = eo.object_id
    GROUP BY eo.event_id
)
SELECT to_json({{
    'id': CASE WHEN e.source = 'ocel' AND e.raw_ref LIKE 'event:%'
               THEN substr(e.raw_ref, 7) ELSE e.event_id END,
    'type': e.activity,
    'time': strftime(timezone('UTC', e."timestamp"), '%Y-%m-%dT%H:%M:%S.%fZ'),
    'attributes': list_concat(
        list_transform(
            coalesce(json_keys(e.attrs), []::VARCHAR[]),
            lambda k: {{'name': k, 'value': json_extract(e.attrs, {_POINTER})}}),
        CASE WHEN coalesce(a.login, e.actor_id) IS NULL
                  OR json_exists(e.attrs, '$."org:resource"') THEN []
             ELSE [{{'name': 'org:resource', 'value': to_json(coalesce(a.login, e.actor_id))}}]
        END,
        CASE WHEN e.team IS NULL OR json_exists(e.attrs, '$."org:group"') THEN []
             ELSE [{{'name': 'org:group', 'value': to_json(e.team)}}] END),
    'relationships': coalesce(r.relationships,
        CASE WHEN e.object_id IS NULL THEN []
             ELSE [{{'objectId': coalesce(m.xid, e.object_id), 'qualifier': ''}}] END)
}})::VARCHAR
FROM events e
LEFT JOIN rel r USING (event_id)
LEFT JOIN accounts a ON a.account_id = e.actor_id
LEFT JOIN _ocel_oid m ON m.object_id = e.object_id
WHERE e."timestamp" IS NOT NULL
ORDER BY e."timestamp", e.seq, e.event_id
"""

#: an attribute's first value at the epoch (OCEL 2.0's "initial value"), then its changes
_OCEL_OBJECTS_SQL: Final = f"""
WITH {_OCEL_IDS_SQL}, rel AS (
    SELECT l.from_object,
           list({{'objectId': coalesce(m.xid, l.to_object),
                 'qualifier': CASE WHEN l.evidence = 'ocel:o2o' AND l.relation = 'related'
                                   THEN '' ELSE coalesce(l.relation, '') END}}
                ORDER BY l.to_object, l.relation) AS relationships
    FROM object_links l JOIN _ocel_oid m ON m.object_id = l.to_object
    GROUP BY l.from_object
)
SELECT to_json({{
    'id': coalesce(m.xid, o.object_id),
    'type': o.object_type,
    'attributes': list_concat(
        list_transform(
            list_filter(coalesce(json_keys(o.attrs), []::VARCHAR[]), lambda k: k <> 'ocel:changes'),
            lambda k: {{'name': k, 'time': '1970-01-01T00:00:00Z',
                        'value': json_extract(o.attrs, {_POINTER})}}),
        coalesce(list_transform(
            CAST(json_extract(o.attrs, '$."ocel:changes"') AS JSON[]),
            lambda c: {{'name': json_extract_string(c, '$.name'),
                        'time': json_extract_string(c, '$.time'),
                        'value': json_extract(c, '$.value')}}), [])),
    'relationships': coalesce(r.relationships, [])
}})::VARCHAR
FROM objects o
LEFT JOIN rel r ON r.from_object = o.object_id
LEFT JOIN _ocel_oid m ON m.object_id = o.object_id
ORDER BY coalesce(m.xid, o.object_id)
"""

#: OCEL 2.0 attribute type of a JSON value type
_OCEL_TYPES: Final = {
    "BIGINT": "integer",
    "UBIGINT": "integer",
    "DOUBLE": "float",
    "BOOLEAN": "boolean",
    "VARCHAR": "string",
}


def _declared_types(store: Store) -> dict[str, dict[str, dict[str, str]]]:
    """The attribute types the stored OCEL 2.0 JSON logs declare: kind -> type -> name -> type."""
    out: dict[str, dict[str, dict[str, str]]] = {"objectTypes": {}, "eventTypes": {}}
    rows = store.sql(
        "SELECT payload FROM raw_records WHERE source = 'ocel' AND record_type = 'log'"
    )
    for text in rows.get_column("payload").to_list():
        try:
            meta: dict[str, Any] = json.loads(text)
        except (TypeError, ValueError):
            continue
        for kind, by_type in out.items():
            for item in meta.get(kind) or []:
                if not isinstance(item, dict) or not item.get("name"):
                    continue
                attrs = by_type.setdefault(str(item["name"]), {})
                for attr in item.get("attributes") or []:
                    if isinstance(attr, dict) and attr.get("name"):
                        attrs.setdefault(str(attr["name"]), str(attr.get("type") or "string"))
    return out


def _types(store: Store, table: str, type_col: str) -> list[dict[str, object]]:
    """``objectTypes`` / ``eventTypes``: each type's attributes with their OCEL types.

    The types a read OCEL file declared are kept; others follow the JSON
    values (integer, float, boolean, string).
    """
    if table == "events":
        keys = f"""
            SELECT e.{type_col} AS t, k, json_type(e.attrs, {_POINTER}) AS jt
            FROM (SELECT *, unnest(coalesce(json_keys(attrs), []::VARCHAR[])) AS k FROM events) e
            UNION ALL SELECT activity, 'org:resource', 'VARCHAR' FROM events
                WHERE actor_id IS NOT NULL AND NOT json_exists(attrs, '$."org:resource"')
            UNION ALL SELECT activity, 'org:group', 'VARCHAR' FROM events
                WHERE team IS NOT NULL AND NOT json_exists(attrs, '$."org:group"')"""
        kind = "eventTypes"
    else:
        keys = f"""
            SELECT o.{type_col} AS t, k, json_type(o.attrs, {_POINTER}) AS jt
            FROM (SELECT *, unnest(coalesce(json_keys(attrs), []::VARCHAR[])) AS k
                  FROM objects) o WHERE k <> 'ocel:changes'
            UNION ALL
            SELECT o.{type_col}, json_extract_string(c, '$.name'), json_type(c, '$.value')
            FROM (SELECT *, unnest(CAST(json_extract(attrs, '$."ocel:changes"') AS JSON[])) AS c
                  FROM objects WHERE json_exists(attrs, '$."ocel:changes"')) o"""
        kind = "objectTypes"
    rows = store.connection.execute(
        f"""
        SELECT t, list(DISTINCT k ORDER BY k) FILTER (WHERE k IS NOT NULL),
               list(DISTINCT k || chr(0) || coalesce(jt, 'NULL'))
        FROM (SELECT {type_col} AS t, NULL AS k, NULL AS jt FROM {table}
              WHERE {type_col} IS NOT NULL
              UNION ALL {keys})
        WHERE t IS NOT NULL
        GROUP BY t ORDER BY t
        """
    ).fetchall()
    declared = _declared_types(store)[kind]
    out: list[dict[str, object]] = []
    for t, names, typed in rows:
        seen: dict[str, set[str]] = {}
        for item in typed or []:
            if item is None:
                continue
            name, _, jtype = str(item).partition("\x00")
            if jtype not in ("NULL", "null"):
                seen.setdefault(name, set()).add(_OCEL_TYPES.get(jtype, "string"))
        attributes = []
        # attributes a read file declared keep their place even when no value has them
        for name in sorted(set(names or []) | set(declared.get(str(t), {}))):
            given = declared.get(str(t), {}).get(name)
            found = seen.get(name, set())
            inferred = next(iter(found)) if len(found) == 1 else "string"
            attributes.append({"name": name, "type": given or inferred})
        out.append({"name": t, "attributes": attributes})
    return out


def to_ocel_json(store: Store, path: str | Path) -> dict[str, int]:
    """Write the store as an OCEL 2.0 JSON log; returns the counts written.

    Objects and events read from an OCEL file keep that file's ids (others
    their store ids) and types; object links become object-to-object
    relationships (qualifier = relation), every event-object relation of an
    event becomes one of its relationships (an event without any gets its
    primary object). Attribute values keep their JSON types and the types the
    file declared; an object attribute's first value is its initial value
    (time 1970-01-01, as OCEL 2.0 writes it) followed by its changes at their
    times. Events are ordered by (time, seq), so events at the same instant
    keep the order they had. An event's account login and team become
    ``org:resource`` and ``org:group`` unless the event has them already.
    """
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    con = store.connection
    object_types = _types(store, "objects", "object_type")
    event_types = _types(store, "events", "activity")
    counts = {"objects": 0, "events": 0}
    with out.open("w", encoding="utf-8") as fh:
        fh.write('{"objectTypes":' + json.dumps(object_types, ensure_ascii=False))
        fh.write(',\n"eventTypes":' + json.dumps(event_types, ensure_ascii=False))
        for key, query in (("objects", _OCEL_OBJECTS_SQL), ("events", _OCEL_EVENTS_SQL)):
            fh.write(f',\n"{key}":[\n')
            cursor = con.execute(query)
            first = True
            while rows := cursor.fetchmany(50_000):
                text = ",\n".join(r[0] for r in rows)
                fh.write(text if first else ",\n" + text)
                first = False
                counts[key] += len(rows)
            fh.write("\n]")
        fh.write("}\n")
    return counts
