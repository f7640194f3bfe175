"""OCEL reader: object-centric event logs (OCEL 2.0 JSON, XML and SQLite, OCEL 1.0 JSON-OCEL).

OCEL CSV (pm4py's extended table, :mod:`wfmine.formats.ocel_csv`) is read
too. OCEL 2.0 XML (``<log><object-types>…<events>``) is read into the shape of
OCEL 2.0 JSON, attribute values typed by the types the file declares
(integer, float, boolean; times and strings as text), and mapped the same way.

OCEL is the store's own shape, so the mapping is direct (``dataset`` is the
file name without its suffix, or ``options["dataset"]``):

- every OCEL object -> ``objects`` (``ocel:<dataset>/<oid>``, ``object_type``
  the OCEL type, attrs its attribute values: the first value of each, plus
  ``ocel:changes`` listing later values with their time when an attribute changes);
- every OCEL event -> ``events`` (``ocel:<dataset>/<eid>``, activity the
  event type, ``seq`` its position in the file); its *primary* object is the
  first related object by object id (deterministic whatever the file order);
- every event-object relation -> ``event_objects`` with its qualifier
  (``""`` where OCEL 1.0 has none);
- every object-object relation -> ``object_links`` (relation = the qualifier,
  ``"related"`` when empty; evidence ``ocel:o2o``).

An event attribute ``org:resource`` becomes the actor (``ocel:<value>``) and
``org:group`` the team. Events without a parsable time or without any related
object are quarantined.

OCEL has no single case: choose one by object type, e.g.
``store.log(case_notion="applications")``. The default ``work_item`` notion
makes each OCEL object its own case.

Why a little over 600 lines: OCEL 1.0 and 2.0, JSON and SQLite, share the
one builder of the object, event and relation tables.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

import polars as pl

from wfmine.errors import FormatError
from wfmine.formats import dataset_name, json_object_expr, parse_utc_expr
from wfmine.model import EVENT_SCHEMA, Batch, frame, to_json

__all__ = ["load", "sniff"]

SUFFIXES: Final = (
    ".jsonocel",
    ".json",
    ".xmlocel",
    ".xml",
    ".csv",
    ".sqlite",
    ".sqlite3",
    ".db",
    ".ocel",
)
_SQLITE_MAGIC: Final = b"SQLite format 3\x00"
_OCEL_SQL_TABLES: Final = frozenset({"event", "object", "event_object"})
_JSON_MARKERS: Final = ('"objectTypes"', '"eventTypes"', '"ocel:global-log"', '"ocel:events"')


def sniff(path: Path) -> bool:
    """Is ``path`` an OCEL log (JSON with OCEL keys, or SQLite with OCEL tables)? Never raises."""
    try:
        if not path.is_file():
            return False
        with path.open("rb") as fh:
            head = fh.read(65536)
        if head.startswith(_SQLITE_MAGIC):
            return _sqlite_tables(path) >= _OCEL_SQL_TABLES
        text = head.decode("utf-8", errors="replace").lstrip()
        if text.startswith("<"):
            return _is_ocel_xml(text)
        if not text.startswith("{"):
            from wfmine.formats import ocel_csv

            return ocel_csv.sniff(path)
        return any(m in text for m in _JSON_MARKERS)
    except (OSError, sqlite3.Error):
        return False


def _sqlite_tables(path: Path) -> set[str]:
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        rows = con.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()
    finally:
        con.close()
    return {str(r[0]) for r in rows}


def load(path: Path | str, options: Mapping[str, Any] | None = None) -> Batch:
    """Read an OCEL 2.0 JSON, OCEL 1.0 JSON or OCEL 2.0 SQLite log into a batch (source ``ocel``).

    Options: ``dataset`` (the name used in ids). Raises :class:`FormatError`
    for a file that is not OCEL or cannot be parsed.
    """
    p = Path(path)
    opts = dict(options or {})
    if not p.is_file():
        raise FormatError(p, "no such file")
    dataset = dataset_name(p, opts, SUFFIXES)
    with p.open("rb") as fh:
        head = fh.read(16)
    if head.startswith(_SQLITE_MAGIC):
        parts = _read_sqlite(p)
    elif head.lstrip().startswith(b"<"):
        parts = _read_xml(p)
    elif not head.lstrip().startswith(b"{") and _is_ocel_csv(p):
        from wfmine.formats import ocel_csv

        parts = ocel_csv.read_parts(p, opts)
    else:
        parts = _read_json(p)
    kind = str(parts["_kind"])
    batch = _build(parts, dataset=dataset, origin=str(p))
    batch.stats["files"] = 1
    batch.warnings.extend(str(w) for w in parts.get("_warnings", []))
    batch.raw_records = frame(
        "raw_records",
        [
            {
                "source": "ocel",
                "record_type": "log",
                "record_id": dataset,
                "payload": to_json({"format": kind, **parts.get("_meta", {})}),
                "origin": str(p),
            }
        ],
    )
    return batch


def _is_ocel_csv(path: Path) -> bool:
    from wfmine.formats import ocel_csv

    return ocel_csv.sniff(path)


# -- XML -------------------------------------------------------------------------------

_XML_MARKERS: Final = ("<object-types", "<event-types", "<objects", "<events")


def _is_ocel_xml(head: str) -> bool:
    """An OCEL 2.0 XML log: a ``<log>`` root with OCEL 2.0 sections (and no XES traces)."""
    lower = head.lower()
    return "<log" in lower and any(m in lower for m in _XML_MARKERS) and "<trace" not in lower


def _typed(value: str | None, kind: str | None) -> Any:
    """An XML attribute text as the JSON value of its declared OCEL type."""
    if value is None:
        return None
    kind = (kind or "string").lower()
    try:
        if "int" in kind:
            return int(value)
        if "float" in kind or "double" in kind:
            return float(value)
    except ValueError:
        return value
    if "bool" in kind and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    return value


def _read_xml(path: Path) -> dict[str, Any]:
    """OCEL 2.0 XML into the OCEL 2.0 JSON shape, then mapped as JSON is."""
    from xml.etree import ElementTree as ET

    try:
        root = ET.parse(path).getroot()
    except ET.ParseError as exc:
        line, column = exc.position
        raise FormatError(
            path, f"malformed XML: {exc}", position=f"line {line}, column {column + 1}"
        ) from None
    if root.tag != "log" or root.find("events") is None:
        raise FormatError(path, "not an OCEL 2.0 XML log: no <log> root with <events>")

    def declared(section: str, item: str) -> tuple[list[dict[str, Any]], dict[str, dict[str, str]]]:
        listed: list[dict[str, Any]] = []
        types: dict[str, dict[str, str]] = {}
        for node in root.iterfind(f"{section}/{item}"):
            attrs = [
                {"name": a.get("name"), "type": a.get("type") or "string"}
                for a in node.iterfind("attributes/attribute")
            ]
            name = str(node.get("name"))
            listed.append({"name": name, "attributes": attrs})
            types[name] = {str(a["name"]): str(a["type"]) for a in attrs}
        return listed, types

    object_types, object_attr = declared("object-types", "object-type")
    event_types, event_attr = declared("event-types", "event-type")

    def relationships(node: ET.Element) -> list[dict[str, Any]]:
        return [
            {"objectId": r.get("object-id"), "qualifier": r.get("qualifier") or ""}
            for r in node.iterfind("objects/relationship")
        ]

    objects = []
    for node in root.iterfind("objects/object"):
        kinds = object_attr.get(str(node.get("type")), {})
        objects.append(
            {
                "id": node.get("id"),
                "type": node.get("type"),
                "attributes": [
                    {
                        "name": a.get("name"),
                        "time": a.get("time"),
                        "value": _typed(a.text, kinds.get(str(a.get("name")))),
                    }
                    for a in node.iterfind("attributes/attribute")
                ],
                "relationships": relationships(node),
            }
        )
    events = []
    for node in root.iterfind("events/event"):
        kinds = event_attr.get(str(node.get("type")), {})
        events.append(
            {
                "id": node.get("id"),
                "type": node.get("type"),
                "time": node.get("time"),
                "attributes": [
                    {"name": a.get("name"), "value": _typed(a.text, kinds.get(str(a.get("name"))))}
                    for a in node.iterfind("attributes/attribute")
                ],
                "relationships": relationships(node),
            }
        )
    data = {
        "objectTypes": object_types,
        "eventTypes": event_types,
        "objects": objects,
        "events": events,
    }
    parts = _from_ocel2(path, data)
    parts["_kind"] = "ocel2-xml"
    return parts


# -- JSON ------------------------------------------------------------------------------


def _read_json(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            data = json.load(fh)
    except json.JSONDecodeError as exc:
        raise FormatError(
            path, f"invalid JSON: {exc.msg}", position=f"line {exc.lineno}, column {exc.colno}"
        ) from None
    except UnicodeDecodeError as exc:
        raise FormatError(
            path, f"not UTF-8 text ({exc.reason})", position=f"byte {exc.start}"
        ) from None
    if not isinstance(data, dict):
        raise FormatError(path, "not an OCEL log: the JSON is not an object")
    if "ocel:events" in data or "ocel:objects" in data:
        return _from_ocel1(path, data)
    if "events" in data and ("objectTypes" in data or "objects" in data):
        return _from_ocel2(path, data)
    raise FormatError(path, f"not an OCEL log: expected OCEL keys, found {sorted(data)[:8]}")


def _from_ocel2(path: Path, data: dict[str, Any]) -> dict[str, Any]:
    ev_id: list[str] = []
    ev_type: list[Any] = []
    ev_time: list[Any] = []
    ev_attrs: list[dict[str, Any]] = []
    e2o: list[tuple[str, str, str]] = []
    for index, event in enumerate(data.get("events") or []):
        if not isinstance(event, dict) or "id" not in event:
            raise FormatError(path, "event without an id", position=f"events[{index}]")
        eid = str(event["id"])
        ev_id.append(eid)
        ev_type.append(event.get("type"))
        ev_time.append(event.get("time"))
        ev_attrs.append(
            {
                str(a.get("name")): a.get("value")
                for a in event.get("attributes") or []
                if isinstance(a, dict)
            }
        )
        for rel in event.get("relationships") or []:
            if isinstance(rel, dict) and rel.get("objectId") is not None:
                e2o.append((eid, str(rel["objectId"]), str(rel.get("qualifier") or "")))
    ob_id: list[str] = []
    ob_type: list[Any] = []
    ob_attrs: list[dict[str, Any]] = []
    o2o: list[tuple[str, str, str]] = []
    for index, obj in enumerate(data.get("objects") or []):
        if not isinstance(obj, dict) or "id" not in obj:
            raise FormatError(path, "object without an id", position=f"objects[{index}]")
        oid = str(obj["id"])
        ob_id.append(oid)
        ob_type.append(obj.get("type"))
        ob_attrs.append(_timed_attrs(obj.get("attributes") or []))
        for rel in obj.get("relationships") or []:
            if isinstance(rel, dict) and rel.get("objectId") is not None:
                o2o.append((oid, str(rel["objectId"]), str(rel.get("qualifier") or "")))
    meta: dict[str, Any] = {k: data[k] for k in ("objectTypes", "eventTypes") if k in data}
    return _parts(
        ev_id, ev_type, ev_time, ev_attrs, e2o, ob_id, ob_type, ob_attrs, o2o, meta, "ocel2-json"
    )


def _timed_attrs(attributes: list[Any]) -> dict[str, Any]:
    """First value per attribute name (by time); later values under ``ocel:changes``."""
    rows = [a for a in attributes if isinstance(a, dict) and "name" in a]
    rows.sort(key=lambda a: str(a.get("time") or ""))
    values: dict[str, Any] = {}
    changes: list[dict[str, Any]] = []
    for a in rows:
        name = str(a["name"])
        if name in values:
            changes.append({"name": name, "time": a.get("time"), "value": a.get("value")})
        else:
            values[name] = a.get("value")
    if changes:
        values["ocel:changes"] = changes
    return values


def _from_ocel1(path: Path, data: dict[str, Any]) -> dict[str, Any]:
    events = data.get("ocel:events") or {}
    objects = data.get("ocel:objects") or {}
    if not isinstance(events, dict) or not isinstance(objects, dict):
        raise FormatError(path, "not an OCEL 1.0 log: ocel:events/ocel:objects are not objects")
    ev_id: list[str] = []
    ev_type: list[Any] = []
    ev_time: list[Any] = []
    ev_attrs: list[dict[str, Any]] = []
    e2o: list[tuple[str, str, str]] = []
    for eid, event in events.items():
        if not isinstance(event, dict):
            raise FormatError(path, "event is not an object", position=f"ocel:events[{eid!r}]")
        ev_id.append(str(eid))
        ev_type.append(event.get("ocel:activity"))
        ev_time.append(event.get("ocel:timestamp"))
        ev_attrs.append(dict(event.get("ocel:vmap") or {}))
        for oid in event.get("ocel:omap") or []:
            e2o.append((str(eid), str(oid), ""))
    ob_id = [str(k) for k in objects]
    ob_type = [v.get("ocel:type") if isinstance(v, dict) else None for v in objects.values()]
    ob_attrs = [
        dict(v.get("ocel:ovmap") or {}) if isinstance(v, dict) else {} for v in objects.values()
    ]
    meta = {k: data[k] for k in data if k.startswith("ocel:global")}
    return _parts(
        ev_id, ev_type, ev_time, ev_attrs, e2o, ob_id, ob_type, ob_attrs, [], meta, "ocel1-json"
    )


def _parts(
    ev_id: list[str],
    ev_type: list[Any],
    ev_time: list[Any],
    ev_attrs: list[dict[str, Any]],
    e2o: list[tuple[str, str, str]],
    ob_id: list[str],
    ob_type: list[Any],
    ob_attrs: list[dict[str, Any]],
    o2o: list[tuple[str, str, str]],
    meta: dict[str, Any],
    kind: str,
) -> dict[str, Any]:
    events = pl.DataFrame(
        {
            "eid": ev_id,
            "activity": [None if t is None else str(t) for t in ev_type],
            "time": [None if t is None else str(t) for t in ev_time],
            "attrs": [to_json(a) for a in ev_attrs],
            "resource": [_text(a.get("org:resource")) for a in ev_attrs],
            "group": [_text(a.get("org:group")) for a in ev_attrs],
        },
        schema={k: pl.String for k in ("eid", "activity", "time", "attrs", "resource", "group")},
    )
    return {
        "events": events,
        "e2o": _triples(e2o, ("eid", "oid", "qualifier")),
        "objects": pl.DataFrame(
            {
                "oid": ob_id,
                "type": [None if t is None else str(t) for t in ob_type],
                "attrs": [to_json(a) for a in ob_attrs],
            },
            schema={"oid": pl.String, "type": pl.String, "attrs": pl.String},
        ),
        "o2o": _triples(o2o, ("src", "dst", "qualifier")),
        "_meta": meta,
        "_kind": kind,
    }


def _text(value: Any) -> str | None:
    return None if value is None or value == "" else str(value)


def _triples(rows: list[tuple[str, str, str]], names: tuple[str, str, str]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=dict.fromkeys(names, pl.String), orient="row")


# -- SQLite ----------------------------------------------------------------------------


def _read_sqlite(path: Path) -> dict[str, Any]:
    try:
        con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    except sqlite3.Error as exc:
        raise FormatError(path, f"cannot open SQLite database: {exc}") from None
    try:
        tables = {
            str(r[0])
            for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()
        }
        missing = _OCEL_SQL_TABLES - tables
        if missing:
            raise FormatError(
                path, f"not an OCEL 2.0 SQLite log: missing table(s) {sorted(missing)}"
            )
        return _sqlite_parts(con, tables)
    except sqlite3.Error as exc:
        raise FormatError(path, f"cannot read the OCEL SQLite tables: {exc}") from None
    finally:
        con.close()


def _query(con: sqlite3.Connection, sql: str) -> tuple[list[str], list[tuple[Any, ...]]]:
    cursor = con.execute(sql)
    names = [d[0] for d in cursor.description]
    return names, cursor.fetchall()


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _type_tables(con: sqlite3.Connection, tables: set[str], kind: str) -> dict[str, str]:
    """OCEL type -> per-type table name (``event_<map>`` / ``object_<map>``)."""
    map_table = f"{kind}_map_type"
    if map_table not in tables:
        return {}
    _, rows = _query(con, f"SELECT ocel_type, ocel_type_map FROM {map_table}")
    return {str(t): f"{kind}_{m}" for t, m in rows if f"{kind}_{m}" in tables}


def _sqlite_parts(con: sqlite3.Connection, tables: set[str]) -> dict[str, Any]:
    _, event_rows = _query(con, "SELECT ocel_id, ocel_type FROM event ORDER BY rowid")
    times: dict[str, Any] = {}
    attrs: dict[str, dict[str, Any]] = {}
    for table in _type_tables(con, tables, "event").values():
        names, rows = _query(con, f"SELECT * FROM {_quote(table)}")
        for row in rows:
            record = dict(zip(names, row, strict=True))
            eid = str(record.pop("ocel_id"))
            times[eid] = record.pop("ocel_time", None)
            attrs[eid] = {k: v for k, v in record.items() if v is not None}
    ev_id = [str(r[0]) for r in event_rows]
    ev_type = [r[1] for r in event_rows]
    ev_time = [times.get(e) for e in ev_id]
    ev_attrs = [attrs.get(e, {}) for e in ev_id]
    _, rel_rows = _query(
        con, "SELECT ocel_event_id, ocel_object_id, ocel_qualifier FROM event_object"
    )
    e2o = [(str(e), str(o), str(q or "")) for e, o, q in rel_rows]

    _, object_rows = _query(con, "SELECT ocel_id, ocel_type FROM object ORDER BY rowid")
    timed: dict[str, list[dict[str, Any]]] = {}
    for table in _type_tables(con, tables, "object").values():
        names, rows = _query(con, f"SELECT * FROM {_quote(table)}")
        for row in rows:
            record = dict(zip(names, row, strict=True))
            oid = str(record.pop("ocel_id"))
            when = record.pop("ocel_time", None)
            changed = record.pop("ocel_changed_field", None)
            for key, value in record.items():
                if value is None or (changed and key != changed):
                    continue
                timed.setdefault(oid, []).append({"name": key, "time": when, "value": value})
    ob_id = [str(r[0]) for r in object_rows]
    ob_type = [r[1] for r in object_rows]
    ob_attrs = [_timed_attrs(timed.get(o, [])) for o in ob_id]
    o2o: list[tuple[str, str, str]] = []
    if "object_object" in tables:
        _, rows = _query(
            con, "SELECT ocel_source_id, ocel_target_id, ocel_qualifier FROM object_object"
        )
        o2o = [(str(s), str(t), str(q or "")) for s, t, q in rows]
    meta = {"tables": sorted(tables)}
    return _parts(
        ev_id, ev_type, ev_time, ev_attrs, e2o, ob_id, ob_type, ob_attrs, o2o, meta, "ocel2-sqlite"
    )


# -- mapping ---------------------------------------------------------------------------


def _build(parts: Mapping[str, Any], *, dataset: str, origin: str) -> Batch:
    prefix = f"ocel:{dataset}/"
    events: pl.DataFrame = parts["events"]
    e2o: pl.DataFrame = parts["e2o"]
    objects: pl.DataFrame = parts["objects"]
    o2o: pl.DataFrame = parts["o2o"]

    primary = (
        e2o.sort("eid", "oid", "qualifier")
        .group_by("eid", maintain_order=True)
        .agg(pl.col("oid").first().alias("primary"))
    )
    work = (
        events.with_row_index("seq")
        .join(primary, on="eid", how="left")
        .with_columns(parse_utc_expr(pl.col("time")).alias("ts"))
        .with_columns(
            pl.when(pl.col("activity").is_null())
            .then(pl.lit("event has no type (activity)"))
            .when(pl.col("ts").is_null())
            .then(pl.lit("event time missing or unparsable"))
            .when(pl.col("primary").is_null())
            .then(pl.lit("event relates to no object"))
            .alias("reason")
        )
    )
    good = work.filter(pl.col("reason").is_null())
    bad = work.filter(pl.col("reason").is_not_null())
    ev = good.select(
        (pl.lit(prefix) + pl.col("eid")).alias("event_id"),
        pl.col("activity"),
        pl.col("ts").alias("timestamp"),
        pl.col("seq").cast(pl.Int64),
        (pl.lit("ocel:") + pl.col("resource")).alias("actor_id"),
        pl.col("group").alias("team"),
        pl.lit("ocel").alias("source"),
        (pl.lit(prefix) + pl.col("primary")).alias("object_id"),
        pl.col("attrs"),
        (pl.lit("event:") + pl.col("eid")).alias("raw_ref"),
    ).cast(dict(EVENT_SCHEMA))  # type: ignore[arg-type]
    kept = good.select("eid")
    event_objects = e2o.join(kept, on="eid", how="semi").select(
        (pl.lit(prefix) + pl.col("eid")).alias("event_id"),
        (pl.lit(prefix) + pl.col("oid")).alias("object_id"),
        pl.col("qualifier"),
    )
    obj = objects.unique("oid", keep="first", maintain_order=True).select(
        (pl.lit(prefix) + pl.col("oid")).alias("object_id"),
        pl.col("type").fill_null("object").alias("object_type"),
        pl.lit("ocel").alias("source"),
        pl.col("oid").alias("key"),
        pl.lit(None, pl.String).alias("title"),
        pl.col("attrs"),
    )
    links = o2o.select(
        (pl.lit(prefix) + pl.col("src")).alias("from_object"),
        (pl.lit(prefix) + pl.col("dst")).alias("to_object"),
        pl.when(pl.col("qualifier") == "")
        .then(pl.lit("related"))
        .otherwise(pl.col("qualifier"))
        .alias("relation"),
        pl.lit("ocel:o2o").alias("evidence"),
    )
    names = good.get_column("resource").drop_nulls().unique().sort()
    accounts = pl.DataFrame({"r": names}).select(
        (pl.lit("ocel:") + pl.col("r")).alias("account_id"),
        pl.lit("ocel").alias("source"),
        pl.col("r").alias("login"),
        pl.col("r").alias("display_name"),
        pl.lit(None, pl.String).alias("email"),
        pl.lit("unknown").alias("platform_kind"),
        pl.lit("{}").alias("attrs"),
    )
    quarantine = bad.rename({"eid": "id", "activity": "type", "attrs": "attributes"}).select(
        pl.lit("ocel").alias("source"),
        (pl.lit(f"{origin}#event ") + pl.col("id")).alias("record_ref"),
        pl.col("reason"),
        json_object_expr(
            {"id": pl.String(), "type": pl.String(), "time": pl.String(), "attributes": pl.String()}
        ).alias("payload"),
    )
    batch = Batch(
        source="ocel",
        events=ev,
        event_objects=event_objects,
        objects=obj,
        object_links=links,
        accounts=accounts,
        quarantine=quarantine,
    )
    unknown = e2o.join(objects.select(pl.col("oid")), on="oid", how="anti").height
    if unknown:
        batch.warnings.append(f"{origin}: {unknown} event-object relation(s) name unknown objects")
    if bad.height:
        batch.warnings.append(f"{origin}: {bad.height} event(s) quarantined (see quarantine)")
    batch.stats.update(
        {
            "events": ev.height,
            "objects": obj.height,
            "event_objects": event_objects.height,
            "object_links": links.height,
            "object_types": obj.get_column("object_type").n_unique(),
            "quarantined": bad.height,
        }
    )
    return batch
