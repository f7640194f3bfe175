"""How the commands print for people: findings first, then conformance, then how work flows.

Every figure comes from one :class:`wfmine.analysis.Analysis`; this module
only lays it out (rich tables, one duration formatter, names before ids).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Final

from wfmine.units import human_count, human_duration

if TYPE_CHECKING:
    import polars as pl

    from wfmine.analysis import Analysis

__all__ = [
    "KIND_TITLES",
    "json_pieces",
    "json_text",
    "print_conformance",
    "print_findings",
    "print_flow",
    "print_inputs",
    "print_scope",
    "print_seams",
]

#: finding kinds as a person reads them, in the order they are shown
KIND_TITLES: Final = {
    "shadow_agent": ("shadow agent", "shadow agents"),
    "unowned_seam": ("unowned seam", "unowned seams"),
    "failure_pattern": ("failure pattern", "failure patterns"),
    "gate_violation": ("gate violation", "gate violations"),
    "reviewer_quality": ("agent reviewer worse than people", "agent reviewers worse than people"),
}
_SEVERITY: Final = {"high": 0, "medium": 1, "low": 2}
_SEVERITY_STYLE: Final = {"high": "bold red", "medium": "yellow", "low": "dim"}


def _esc(value: object) -> str:
    from rich.markup import escape

    return escape("" if value is None else str(value))


def _plural(n: int, kind: str) -> str:
    one, many = KIND_TITLES.get(kind, (kind.replace("_", " "), kind.replace("_", " ") + "s"))
    return f"{n} {one if n == 1 else many}"


def print_inputs(out: Any, inputs: Mapping[str, Any]) -> None:
    """One line per input read (new events, quarantined records, warnings) and per skip."""
    for item in inputs["loaded"]:
        if item.get("unchanged"):
            out.print(
                f"[green]✓[/green] {_esc(item['kind'])}: {_esc(item['path'])} "
                "(unchanged since it was read: not read again)"
            )
            continue
        q = f", {item['quarantined']} quarantined" if item["quarantined"] else ""
        out.print(
            f"[green]✓[/green] {_esc(item['kind'])}: {_esc(item['path'])} "
            f"({human_count(item['events_added'])} new events{q})"
        )
        for warning in item["warnings"]:
            out.print(f"  [bold yellow]! {_esc(warning)}[/bold yellow]")
    for item in inputs["skipped"]:
        out.print(f"[dim]- skipped {_esc(item['path'])}: {_esc(item['reason'])}[/dim]")


def print_scope(out: Any, analysis: Analysis) -> None:
    """The one line saying which cases and which window every figure below describes."""
    summary = analysis.summary
    out.print(f"\n[bold]Scope:[/bold] {_esc(analysis.scope.describe())}")
    for warning in analysis.warnings:
        out.print(f"[bold yellow]! {_esc(warning)}[/bold yellow]")
    if summary["events"]:
        start, end = str(summary["start"])[:10], str(summary["end"])[:10]
        out.print(
            f"{human_count(summary['cases'])} cases, {human_count(summary['events'])} events, "
            f"{summary['activities']} activities, {start} → {end}"
        )
    else:
        out.print("[yellow]No events in scope.[/yellow]")


def print_findings(out: Any, frame: pl.DataFrame, *, top: int = 3) -> None:
    """Findings grouped by kind, the most severe first in each; names before ids."""
    from rich.table import Table

    if frame.height == 0:
        out.print("\n[bold]No findings.[/bold]")
        return
    rows = frame.to_dicts()
    counts = {
        k: sum(1 for r in rows if r["kind"] == k) for k in dict.fromkeys(r["kind"] for r in rows)
    }
    kinds = [k for k in KIND_TITLES if k in counts] + [k for k in counts if k not in KIND_TITLES]
    out.print(
        f"\n[bold]{len(rows)} findings[/bold]: " + ", ".join(_plural(counts[k], k) for k in kinds)
    )
    for kind in kinds:
        mine = sorted(
            (r for r in rows if r["kind"] == kind),
            key=lambda r: (
                _SEVERITY.get(r["severity"], 3),
                str(r.get("subject_name") or r["subject"]),
            ),
        )
        table = Table(
            title=_plural(len(mine), kind).split(" ", 1)[1].capitalize(),
            title_justify="left",
            show_header=False,
            box=None,
            padding=(0, 1),
        )
        table.add_column("severity", no_wrap=True)
        table.add_column("subject", max_width=32)
        table.add_column("summary", ratio=1)
        for r in mine[:top]:
            style = _SEVERITY_STYLE.get(r["severity"], "")
            table.add_row(
                f"[{style}]{_esc(r['severity'])}[/{style}]" if style else _esc(r["severity"]),
                _esc(r.get("subject_name") or r["subject"]),
                _esc(r["summary"]),
            )
        out.print(table)
        if len(mine) > top:
            out.print(f"  [dim]… and {len(mine) - top} more: wfmine findings --kind {kind}[/dim]")


def print_conformance(out: Any, analysis: Analysis) -> None:
    """The check against the design in two sentences."""
    result = analysis.conformance
    if result is None:
        return
    s = result.summary
    fitness = s.get("log_fitness")
    fit_text = f"fitness {fitness:.3f}" if isinstance(fitness, float) else "fitness –"
    out.print(
        f"\n[bold]Conformance[/bold]: {fit_text}; {human_count(s['fitting_cases'])} of "
        f"{human_count(s['cases'])} work items follow the designed flow"
        + (f" ({s['open_cases']} still open, judged so far)" if s.get("open_cases") else "")
        + "."
    )
    aspects = {k: v for k, v in s["deviations_by_aspect"].items() if v}
    if aspects:
        words = {"flow": "flow", "performer": "performer", "gate": "gate", "time": "over time"}
        out.print(
            f"{human_count(s['deviations'])} deviations in {human_count(s['cases_with_deviations'])} "
            "work items: "
            + ", ".join(f"{n} {words.get(a, a)}" for a, n in aspects.items())
            + (
                f"; {s['suppressed_by_allow']} more accepted by the design's allow list"
                if s.get("suppressed_by_allow")
                else ""
            )
            + ". Details: wfmine check"
        )


def _table(title: str, columns: Sequence[tuple[str, str]]) -> Any:
    from rich.table import Table

    table = Table(title=title, title_justify="left")
    for name, justify in columns:
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    return table


def print_flow(out: Any, payload: Mapping[str, Any], analysis: Analysis, top: int) -> None:
    """Paths through the designed stages, variants (when they repeat), busiest and slowest edges."""
    if not payload["log"]["events"]:
        return
    paths = analysis.stage_paths
    if paths is not None and paths.height:
        table = _table(
            "Top paths through the designed stages",
            [("#", "right"), ("cases", "right"), ("coverage", "right"), ("fitness", "right"),
             ("stages", "left")],
        )  # fmt: skip
        for i, v in enumerate(paths.head(top).to_dicts(), 1):
            table.add_row(
                str(i), human_count(v["cases"]), f"{v['coverage']:.0%}", f"{v['fitness']:.2f}",
                _esc(" → ".join(v["stages"])),
            )  # fmt: skip
        out.print(table)
    count, variants = _rows(payload["variants"], top)
    if variants and variants[0]["cases"] > 1:
        table = _table(
            "Top variants (activities)",
            [("#", "right"), ("cases", "right"), ("coverage", "right"), ("activities", "left")],
        )
        for i, v in enumerate(variants, 1):
            trail = " → ".join(v["activities"])
            if len(trail) > 110:
                trail = trail[:107] + "…"
            table.add_row(str(i), human_count(v["cases"]), f"{v['coverage']:.1%}", _esc(trail))
        out.print(table)
    elif variants:
        out.print(
            f"[dim]Every one of the {human_count(count)} activity variants is a single "
            "case: see the paths through the stages and the edges instead.[/dim]"
        )
    edges = _table(
        "Busiest directly-follows edges",
        [("from", "left"), ("to", "left"), ("count", "right"), ("median wait", "right")],
    )
    for e in _rows(payload["busiest_edges"], top)[1]:
        edges.add_row(
            _esc(e["source"]), _esc(e["target"]), human_count(e["frequency"]),
            human_duration(e["wait_median_s"]),
        )  # fmt: skip
    out.print(edges)
    slow = _table(
        "Slowest waits (median)",
        [("from", "left"), ("to", "left"), ("count", "right"), ("median", "right"),
         ("p90", "right")],
    )  # fmt: skip
    for e in _rows(payload["slowest_waits"], top)[1]:
        slow.add_row(
            _esc(e["source"]), _esc(e["target"]), human_count(e["frequency"]),
            human_duration(e["wait_median_s"]), human_duration(e["wait_p90_s"]),
        )  # fmt: skip
    out.print(slow)


def _rows(table: Any, top: int) -> tuple[int, list[dict[str, Any]]]:
    """How many rows ``table`` (a frame or a list of dicts) has, and its first ``top`` as dicts."""
    if isinstance(table, Sequence):
        return len(table), [dict(r) for r in table[:top]]
    return int(table.height), list(table.head(top).to_dicts())


def print_seams(out: Any, seams: Sequence[Mapping[str, Any]] | pl.DataFrame, top: int) -> None:
    """Handoffs between teams (and between humans and agents), by the waiting they cause."""
    if not isinstance(seams, Sequence):
        seams = seams.to_dicts()  # a few dozen team and performer pairs
    if not seams:
        return
    table = _table(
        "Handoffs causing the most waiting",
        [("from", "left"), ("to", "left"), ("handoffs", "right"), ("median wait", "right"),
         ("total wait", "right"), ("owner", "left")],
    )  # fmt: skip
    for s in seams[:top]:
        owned = s.get("owned")
        owner = s.get("owner") or ("[red]nobody[/red]" if owned is False else "–")
        table.add_row(
            _esc(s["from"]), _esc(s["to"]), human_count(s["handoffs"]),
            human_duration(s["wait_median_s"]), human_duration(s["wait_total_s"]),
            owner if owned is False and not s.get("owner") else _esc(owner),
        )  # fmt: skip
    out.print(table)
    if len(seams) > top:
        rest = seams[top:]
        total = sum(float(s["wait_total_s"] or 0.0) for s in rest)
        out.print(
            f"  [dim]… and {len(rest)} more pairs ({human_count(sum(int(s['handoffs']) for s in rest))} "
            f"handoffs, {human_duration(total)} of waiting in all)[/dim]"
        )


# -- JSON text: exactly what ``json.dumps(value, indent=2, ensure_ascii=False, default=str)``
# gives, with frames rendered column by column instead of through a dict per row ---------


def json_text(value: Any) -> str:
    """``value`` as ``--json`` prints it: byte for byte ``json.dumps(value, indent=2,
    ensure_ascii=False, default=str)`` with every polars frame in ``value`` read as
    its ``to_dicts()``.

    The standard library walks indented output in Python, one call per value
    (seconds for the 76,000 variants of a 1M-event log, after as long again to
    make a dict per row). Here a frame's columns are encoded whole -- strings
    that need no escaping and integers by polars, floats by ``float.__repr__``
    (what the standard library writes), anything else by the standard library
    itself -- and its rows joined by polars: the same text at the cost of the
    columns.
    """
    return "".join(json_pieces(value))


def json_pieces(value: Any) -> list[str]:
    """:func:`json_text` in the pieces it is made of, in order.

    A command writes them one after the other (``writelines``) instead of joining
    them first: the variants' text (tens of megabytes) is then never copied into
    a second string.
    """
    out: list[str] = []
    _json(value, 0, out)
    return out


def _json(value: Any, depth: int, out: list[str]) -> None:
    """Append the pieces of ``value``'s JSON text, indented for ``depth``, to ``out``."""
    import json

    import polars as pl

    if isinstance(value, pl.DataFrame):
        _frame_json(value, depth, out)
        return
    pad = "\n" + "  " * (depth + 1)
    end = "\n" + "  " * depth
    if isinstance(value, dict) and value and all(isinstance(k, str) for k in value):
        for i, (k, v) in enumerate(value.items()):
            out += ["{" if i == 0 else ",", pad, _key(k), ": "]
            _json(v, depth + 1, out)
        out += [end, "}"]
        return
    if isinstance(value, list | tuple) and any(isinstance(v, pl.DataFrame | dict) for v in value):
        for i, v in enumerate(value):
            out += ["[" if i == 0 else ",", pad]
            _json(v, depth + 1, out)
        out += [end, "]"]
        return
    text = json.dumps(value, indent=2, ensure_ascii=False, default=str)
    out.append(text.replace("\n", end) if depth and "\n" in text else text)


def _key(name: str) -> str:
    import json

    return str(json.encoder.encode_basestring(name))


def _frame_json(df: pl.DataFrame, depth: int, out: list[str]) -> None:
    """Append the rows of ``df`` as a JSON list of objects, the list at ``depth``, to ``out``.

    Every row's text is one ``concat_str`` of the keys (literals) and the columns'
    pieces, and the rows one ``str.join``: a column's text is not materialized on
    its own first (the variants' activity lists are most of a 25 MB output, and
    each extra pass over them is a copy).
    """
    import polars as pl

    if df.height == 0 or df.width == 0:
        out.append("[]")
        return
    field = "\n" + "  " * (depth + 2)
    pieces: list[pl.Expr] = []
    for i, name in enumerate(df.columns):
        pieces.append(pl.lit(("{" if i == 0 else ",") + field + _key(name) + ": "))
        pieces += _column_pieces(df.get_column(name), depth + 2)
    pieces.append(pl.lit("\n" + "  " * (depth + 1) + "}"))
    pad = "\n" + "  " * (depth + 1)
    joined = pl.select(pl.concat_str(pieces).str.join("," + pad)).item()
    out += ["[", pad, str(joined), "\n" + "  " * depth + "]"]


def _column_pieces(s: pl.Series, depth: int) -> list[pl.Expr]:
    """Expressions whose concatenation is each value of ``s`` as JSON text, nested lines
    indented for ``depth`` (``null`` where the value is missing).

    A column without nulls needs no ``fill_null`` pass, and plain strings and lists
    of plain strings put their quotes in literal pieces around the column: the row's
    ``concat_str`` writes them with the rest, no column is copied to quote it.
    """
    import polars as pl

    dtype = s.dtype
    nulls = s.null_count() > 0
    if dtype == pl.String or isinstance(dtype, pl.Categorical | pl.Enum):
        text = s.cast(pl.String)
        if not nulls and not _needs_escape(text).any():
            return [pl.lit('"'), pl.lit(text), pl.lit('"')]
        out = pl.lit(_string_json(text))
    elif dtype.is_integer():
        out = pl.lit(s).cast(pl.String)
    elif dtype == pl.Boolean:
        out = pl.lit(s).replace_strict({True: "true", False: "false"}, return_dtype=pl.String)
    elif dtype == pl.Float64:
        out = _float_json(s)
    elif _plain_datetimes(s):
        out = _datetime_json(s)
    elif isinstance(dtype, pl.List) and (dtype.inner == pl.String or dtype.inner.is_integer()):
        listed = _list_pieces(s, depth)
        if listed is None:
            out = pl.lit(_python_json(s, depth))  # nulls inside lists, escapes: the rare case
        elif not nulls and not (s.list.len() == 0).any():
            return listed
        else:
            empty = pl.lit(s.list.len() == 0)
            out = pl.when(empty).then(pl.lit("[]")).otherwise(pl.concat_str(listed))
    else:
        out = pl.lit(_python_json(s, depth))
    return [out.fill_null("null") if nulls else out]


def _float_json(s: pl.Series) -> pl.Expr:
    """Floats as the standard library writes them (``repr``; NaN, Infinity).

    Polars writes the same shortest round-trip digits as ``repr`` and switches to
    an exponent at the same 1e16, but not below 1e-4, where ``repr`` writes
    ``1e-05``: those values (a variant's coverage of one case in 100,000, mostly
    a few distinct values) take ``repr``, once per distinct value. An expression,
    evaluated in the row's ``concat_str``: the column's text is not kept on its own.
    """
    import polars as pl

    text = pl.lit(s).cast(pl.String)
    if s.is_infinite().any():
        text = text.replace({"inf": "Infinity", "-inf": "-Infinity"})
    small = ((s.abs() < 1e-4) & (s != 0.0)).fill_null(False)
    if not small.any():
        return text
    odd = s.filter(small).unique().to_list()
    exact = pl.lit(s).replace_strict(odd, [float.__repr__(v) for v in odd], default=None)
    return pl.when(pl.lit(small)).then(exact).otherwise(text)


def _plain_datetimes(s: pl.Series) -> bool:
    """Whether ``s`` holds datetimes :func:`_datetime_json` writes as ``str`` does: naive or
    UTC, to the micro- or millisecond, years 1000-9999 (four digits either way)."""
    import polars as pl

    dtype = s.dtype
    if not isinstance(dtype, pl.Datetime) or dtype.time_unit not in ("us", "ms"):
        return False
    if dtype.time_zone not in (None, "UTC") or s.null_count() == s.len():
        return False
    years = s.dt.year()
    return bool(years.min() >= 1000 and years.max() <= 9999)  # type: ignore[operator]


def _datetime_json(s: pl.Series) -> pl.Expr:
    """Datetimes as the standard library writes them (``default=str``): quoted
    ``YYYY-MM-DD HH:MM:SS``, ``.ffffff`` unless the microseconds are zero, ``+00:00``
    when in UTC -- by polars, not one ``str`` per value."""
    import polars as pl

    zone = "+00:00" if s.dtype.time_zone == "UTC" else ""  # type: ignore[attr-defined]
    whole = pl.lit(s).dt.microsecond() == 0
    text = (
        pl.when(whole)
        .then(pl.lit(s).dt.strftime("%Y-%m-%d %H:%M:%S"))
        .otherwise(pl.lit(s).dt.strftime("%Y-%m-%d %H:%M:%S%.6f"))
    )
    return pl.lit('"') + text + pl.lit(zone + '"')


def _python_json(s: pl.Series, depth: int) -> pl.Series:
    """Values as the standard library writes their Python form (datetimes by ``str``)."""
    import json

    import polars as pl

    end = "\n" + "  " * depth
    return pl.Series(
        [
            json.dumps(v, indent=2, ensure_ascii=False, default=str).replace("\n", end)
            for v in s.to_list()
        ],
        dtype=pl.String,
    )


def _needs_escape(s: pl.Series) -> pl.Series:
    """Strings the standard library escapes (quotes, backslashes, control characters)."""
    return s.str.contains(r'[\x00-\x1f"\\]').fill_null(False)


def _string_json(s: pl.Series) -> pl.Series:
    """Strings as JSON: quoted by polars when nothing needs escaping, else by the stdlib."""
    import json

    import polars as pl

    plain = pl.select(pl.lit('"') + pl.lit(s) + pl.lit('"')).to_series()
    needs = _needs_escape(s)
    if not needs.any():
        return plain
    odd = s.filter(needs).unique().to_list()
    escaped = s.replace_strict(odd, [json.encoder.encode_basestring(v) for v in odd], default=None)
    return pl.select(pl.when(needs).then(escaped).otherwise(plain)).to_series()


def _list_pieces(s: pl.Series, depth: int) -> list[pl.Expr] | None:
    """Lists of strings or integers as indented JSON lists, ``None`` when an item is null
    or needs escaping.

    The pieces are right for the lists that hold items; an empty list's text is
    ``[]`` and a missing one's ``null`` (:func:`_column_pieces` puts those in).
    """
    import polars as pl

    inner = s.dtype.inner  # type: ignore[attr-defined]
    # one flat pass over the items answers both questions: explode keeps every item that is
    # not null (whatever it makes of empty and missing lists), so the lists hold a null when
    # they hold more items than that; escapes are looked for among the distinct items (a
    # variant's activities are a few dozen names repeated a million times)
    flat = s.explode()
    if int(s.list.len().sum()) > flat.len() - flat.null_count():
        return None
    if inner == pl.String and _needs_escape(flat.unique()).any():
        return None
    pad = "\n" + "  " * (depth + 1)
    end = "\n" + "  " * depth + "]"
    if inner == pl.String:  # nothing to escape: the quotes go into the separator
        return [pl.lit("[" + pad + '"'), pl.lit(s.list.join('",' + pad + '"')), pl.lit('"' + end)]
    items = pl.lit(s).list.eval(pl.element().cast(pl.String)).list.join("," + pad)
    return [pl.lit("[" + pad), items, pl.lit(end)]
