"""OCEL CSV: the extended-table layout pm4py reads with ``pm4py.read_ocel_csv``.

One row per event: ``ocel:eid``, ``ocel:activity``, ``ocel:timestamp``, one
``ocel:type:<object type>`` column per object type holding the related
objects as a list literal (``['o1', 'o2']``), every other column an event
attribute. An optional objects table (``ocel:oid``, ``ocel:type`` and the
objects' attributes) is read from ``options["objects"]`` or, when it exists,
the file next to the events named ``<stem>_objects.csv``
(``<stem>-objects.csv``, ``<stem>.objects.csv``); without it every related
object is created with the type of its column, as pm4py does.

Events are numbered in file order and mapped exactly as the other OCEL
encodings are (:mod:`wfmine.formats.ocel`): same ids, primary object,
qualifier ``""``, ``org:resource`` as the actor and ``org:group`` the team.
Everything is read and built with polars: no Python loop over rows.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

import polars as pl

from wfmine.errors import FormatError
from wfmine.formats import json_object_expr

__all__ = ["objects_file", "read_parts", "sniff"]

EVENT_ID: Final = "ocel:eid"
ACTIVITY: Final = "ocel:activity"
TIMESTAMP: Final = "ocel:timestamp"
TYPE_PREFIX: Final = "ocel:type:"
OBJECT_ID: Final = "ocel:oid"
OBJECT_TYPE: Final = "ocel:type"
#: a quoted item of a Python list literal (single or double quotes, backslash escapes)
_ITEM: Final = r"""'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*\""""


def _header(path: Path) -> list[str]:
    return pl.scan_csv(path, infer_schema=False, n_rows=0).collect_schema().names()


def sniff(path: Path) -> bool:
    """An OCEL events CSV: the three ``ocel:`` event columns and at least one object-type column."""
    try:
        if not path.is_file():
            return False
        with path.open("rb") as fh:
            if fh.read(1) in (b"{", b"<", b"\x1f"):
                return False
        names = set(_header(path))
    except Exception:  # any parse failure means "not ours"
        return False
    return {EVENT_ID, ACTIVITY, TIMESTAMP} <= names and any(
        n.startswith(TYPE_PREFIX) for n in names
    )


def objects_file(path: Path, options: Mapping[str, Any]) -> Path | None:
    """The objects table that goes with the events file ``path`` (``None``: none)."""
    given = options.get("objects")
    if given:
        found = Path(str(given))
        if not found.is_file():
            raise FormatError(found, "no such objects file (option objects)")
        return found
    stem = path.name[: -len(".csv")] if path.name.lower().endswith(".csv") else path.stem
    for name in (f"{stem}_objects.csv", f"{stem}-objects.csv", f"{stem}.objects.csv"):
        candidate = path.with_name(name)
        if candidate.is_file() and candidate != path:
            return candidate
    return None


def read_parts(path: Path, options: Mapping[str, Any]) -> dict[str, Any]:
    """The events, relations and objects of an OCEL CSV in the shape :mod:`ocel` maps."""
    try:
        events = pl.read_csv(path, infer_schema=False)
    except (pl.exceptions.PolarsError, OSError) as exc:
        raise FormatError(path, f"cannot read as CSV: {exc}") from None
    missing = [c for c in (EVENT_ID, ACTIVITY, TIMESTAMP) if c not in events.columns]
    if missing:
        raise FormatError(path, f"not an OCEL CSV: no column {', '.join(missing)}")
    type_cols = [c for c in events.columns if c.startswith(TYPE_PREFIX)]
    attr_cols = [c for c in events.columns if c not in (EVENT_ID, ACTIVITY, TIMESTAMP, *type_cols)]
    strings = dict.fromkeys(attr_cols, pl.String())

    def text(col: str) -> pl.Expr:
        return pl.col(col) if col in events.columns else pl.lit(None, pl.String)

    ev = events.select(
        pl.col(EVENT_ID).alias("eid"),
        pl.col(ACTIVITY).alias("activity"),
        pl.col(TIMESTAMP).alias("time"),
        json_object_expr(strings).alias("attrs"),
        text("org:resource").replace("", None).alias("resource"),
        text("org:group").replace("", None).alias("group"),
    )
    related = [
        events.select(
            pl.col(EVENT_ID).alias("eid"),
            pl.col(col).str.extract_all(_ITEM).alias("oid"),
            pl.lit(col.removeprefix(TYPE_PREFIX)).alias("type"),
        )
        .explode("oid")
        .filter(pl.col("oid").is_not_null())
        .with_columns(
            pl.col("oid")
            .str.slice(1, pl.col("oid").str.len_chars() - 2)
            .str.replace_all(r"\\(.)", "$1")
        )
        for col in type_cols
    ]
    rel = (
        pl.concat(related)
        if related
        else pl.DataFrame(schema={"eid": pl.String, "oid": pl.String, "type": pl.String})
    )
    e2o = rel.select("eid", "oid", pl.lit("").alias("qualifier")).unique(maintain_order=True)

    table = objects_file(path, options)
    if table is not None:
        try:
            objs = pl.read_csv(table, infer_schema=False)
        except (pl.exceptions.PolarsError, OSError) as exc:
            raise FormatError(table, f"cannot read as CSV: {exc}") from None
        if OBJECT_ID not in objs.columns:
            raise FormatError(table, f"not an OCEL objects CSV: no column {OBJECT_ID}")
        ob_attr = {c: pl.String() for c in objs.columns if c not in (OBJECT_ID, OBJECT_TYPE)}
        objects = objs.select(
            pl.col(OBJECT_ID).alias("oid"),
            (pl.col(OBJECT_TYPE) if OBJECT_TYPE in objs.columns else pl.lit(None, pl.String)).alias(
                "type"
            ),
            json_object_expr(ob_attr).alias("attrs"),
        )
        # objects the events name but the table lacks: typed by their column
        extra = rel.unique("oid", keep="first", maintain_order=True).join(
            objects, on="oid", how="anti"
        )
        objects = pl.concat([objects, extra.select("oid", "type", pl.lit("{}").alias("attrs"))])
    else:
        objects = rel.unique("oid", keep="first", maintain_order=True).select(
            "oid", "type", pl.lit("{}").alias("attrs")
        )
    meta: dict[str, Any] = {
        "object_types": [c.removeprefix(TYPE_PREFIX) for c in type_cols],
        "objects_file": str(table) if table is not None else None,
    }
    return {
        "events": ev,
        "e2o": e2o,
        "objects": objects,
        "o2o": pl.DataFrame(schema={"src": pl.String, "dst": pl.String, "qualifier": pl.String}),
        "_meta": meta,
        "_kind": "ocel-csv",
    }
