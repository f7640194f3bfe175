"""Writers: a flat log to XES, the store to OCEL 2.0 JSON, the store's tables to Parquet.

All three are columnar: XES text is built with polars string expressions (one
line per event, XML special characters escaped) and streamed to the file;
OCEL JSON is built by DuckDB inside the store; Parquet is DuckDB's ``COPY``.
No Python loop runs over events, so exporting millions of events takes seconds.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Final, cast

import polars as pl

from wfmine.formats import XML_INVALID_CHARS
from wfmine.store import Store

__all__ = ["STORE_TABLES", "to_ocel_json", "to_parquet", "to_xes"]

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
\t<classifier name="Activity" keys="concept:name"/>
\t<string key="concept:name" value="{name}"/>
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


def to_xes(
    log: pl.DataFrame | pl.LazyFrame,
    path: str | Path,
    *,
    name: str | None = None,
    compresslevel: int = 6,
) -> int:
    """Write a flat log (:data:`wfmine.model.LOG_SCHEMA`) as an XES file; returns the event count.

    One trace per ``case_id``, events ordered by (timestamp, seq, event_id);
    ``activity`` becomes ``concept:name``, ``timestamp`` ``time:timestamp``
    (UTC, microseconds), ``resource`` ``org:resource`` and ``team``
    ``org:group`` when present. pm4py column names are accepted too. A path
    ending in ``.gz`` is gzip-compressed. ``rustxes`` and pm4py read the
    result back with the same events.
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
    lf = lf.filter(pl.col("case_id").is_not_null()).sort(
        order, nulls_last=True, maintain_order=True
    )

    ts = pl.col("timestamp")
    ts_dtype = lf.collect_schema()["timestamp"]
    if isinstance(ts_dtype, pl.Datetime) and ts_dtype.time_zone is None:
        ts = ts.dt.replace_time_zone("UTC")
    ts_text = ts.dt.convert_time_zone("UTC").dt.to_string("%Y-%m-%dT%H:%M:%S%.6f+00:00")

    pieces: list[pl.Expr] = [
        pl.lit("\t\t<event>"),
        _string_attr("concept:name", pl.col("activity")),
        pl.concat_str([pl.lit('<date key="time:timestamp" value="'), ts_text, pl.lit('"/>')]),
    ]
    if "resource" in names:
        pieces.append(_string_attr("org:resource", pl.col("resource")))
    if "team" in names:
        pieces.append(_string_attr("org:group", pl.col("team")))
    pieces.append(pl.lit("</event>"))
    event = pl.concat_str(pieces, ignore_nulls=True)

    case = pl.col("case_id")
    first = (case != case.shift(1)).fill_null(True)
    last = (case != case.shift(-1)).fill_null(True)
    opening = pl.when(first).then(
        pl.concat_str(
            [pl.lit('\t<trace>\n\t\t<string key="concept:name" value="'), _xml_text(case)]
        )
        + pl.lit('"/>\n')
    )
    closing = pl.when(last).then(pl.lit("\n\t</trace>"))
    lines = lf.select(
        pl.concat_str([opening, event, closing], ignore_nulls=True).alias("line")
    ).collect()

    log_name = _escape(name if name is not None else out.name.split(".")[0])
    with _open_out(out, compresslevel) as fh:
        fh.write(_XES_HEADER.format(name=log_name).encode("utf-8"))
        if lines.height:
            lines.write_csv(fh, include_header=False, quote_style="never")
        fh.write(b"</log>\n")
    return lines.height


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


_OCEL_EVENTS_SQL: Final = """
WITH rel AS (
    SELECT event_id,
           list({'objectId': object_id, 'qualifier': coalesce(qualifier, '')}
                ORDER BY object_id, qualifier) AS relationships
    FROM event_objects GROUP BY event_id
)
SELECT to_json({
    'id': e.event_id,
    'type': e.activity,
    'time': strftime(timezone('UTC', e."timestamp"), '%Y-%m-%dT%H:%M:%S.%fZ'),
    'attributes': list_concat(
        list_transform(
            coalesce(json_keys(e.attrs), []::VARCHAR[]),
            lambda k: {'name': k,
                  'value': coalesce(json_extract_string(e.attrs,
                             '/' || replace(replace(k, '~', '~0'), '/', '~1')), '')}),
        CASE WHEN e.actor_id IS NULL THEN []
             ELSE [{'name': 'org:resource', 'value': e.actor_id}] END,
        CASE WHEN e.team IS NULL THEN []
             ELSE [{'name': 'org:group', 'value': e.team}] END),
    'relationships': coalesce(r.relationships,
        CASE WHEN e.object_id IS NULL THEN []
             ELSE [{'objectId': e.object_id, 'qualifier': ''}] END)
})::VARCHAR
FROM events e LEFT JOIN rel r USING (event_id)
WHERE e."timestamp" IS NOT NULL
ORDER BY e."timestamp", e.event_id
"""

_OCEL_OBJECTS_SQL: Final = """
WITH rel AS (
    SELECT from_object,
           list({'objectId': to_object, 'qualifier': coalesce(relation, '')}
                ORDER BY to_object, relation) AS relationships
    FROM object_links WHERE to_object IN (SELECT object_id FROM objects)
    GROUP BY from_object
)
SELECT to_json({
    'id': o.object_id,
    'type': o.object_type,
    'attributes': list_transform(
        coalesce(json_keys(o.attrs), []::VARCHAR[]),
        lambda k: {'name': k, 'time': '1970-01-01T00:00:00Z',
              'value': coalesce(json_extract_string(o.attrs,
                         '/' || replace(replace(k, '~', '~0'), '/', '~1')), '')}),
    'relationships': coalesce(r.relationships, [])
})::VARCHAR
FROM objects o LEFT JOIN rel r ON r.from_object = o.object_id
ORDER BY o.object_id
"""


def _types(store: Store, table: str, type_col: str) -> list[dict[str, object]]:
    extra = ", 'org:resource', 'org:group'" if table == "events" else ""
    rows = store.connection.execute(
        f"""
        SELECT {type_col} AS t, list(DISTINCT k ORDER BY k) FILTER (WHERE k IS NOT NULL)
        FROM (SELECT {type_col}, unnest(coalesce(json_keys(attrs), []::VARCHAR[])
                                        || [NULL{extra}]) AS k
              FROM {table} WHERE {type_col} IS NOT NULL)
        GROUP BY t ORDER BY t
        """
    ).fetchall()
    return [
        {"name": t, "attributes": [{"name": k, "type": "string"} for k in (keys or [])]}
        for t, keys in rows
    ]


def to_ocel_json(store: Store, path: str | Path) -> dict[str, int]:
    """Write the store as an OCEL 2.0 JSON log; returns the counts written.

    Objects keep their store ids and types, object links become object-to-object
    relationships (qualifier = relation), every event-object relation of an
    event becomes one of its relationships (an event without any gets its
    primary object). Attribute values are written as strings; the actor and
    team of an event as the attributes ``org:resource`` and ``org:group``.
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
