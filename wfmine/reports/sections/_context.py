"""What every section of one report shares: the Analysis, the charts, links into the appendix.

The report computes nothing of its own: the scope, the log in scope, the
findings and every figure come from the :class:`~wfmine.analysis.Analysis`
the report is rendered from. The context only keeps what rendering needs:
the charts embedded so far, which cases the sections linked to (the cases
appendix lists them), and the previous report's summary to compare with.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

import orjson
import polars as pl
from markupsafe import Markup

from wfmine.analysis import Analysis
from wfmine.design import Design
from wfmine.reports._charts import Charts
from wfmine.reports._render import slug

__all__ = ["SEVERITY_ORDER", "Context", "Unavailable"]

SEVERITY_ORDER: Final = {"high": 0, "medium": 1, "low": 2}


class Unavailable(Exception):
    """A section does not apply to this report (no design, nothing to show); the message says why.

    Not an error: the section says so in a quiet note. Any other exception is
    a failure, shown as a loud warning and listed in ``Report.failed_sections``.
    """


def _loads(text: str) -> Any:
    """``json.loads(text)``, through orjson (a few times faster: a report at 1M events reads
    the evidence of ~12,000 findings); text orjson refuses (``NaN``) goes to ``json``."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)


def _case_count(finding: Mapping[str, Any]) -> int:
    ev = finding.get("evidence") or {}
    count = ev.get("case_count") if isinstance(ev, Mapping) else None
    if isinstance(count, int):
        return count
    cases = ev.get("cases") if isinstance(ev, Mapping) else None
    return len(cases) if isinstance(cases, list) else 0


@dataclass
class Context:
    """Everything the sections of one report share."""

    analysis: Analysis
    charts: Charts = field(default_factory=Charts)
    previous: Mapping[str, Any] | None = None
    chosen: tuple[str, ...] = ()  # the sections this report shows
    max_cases: int = 200
    max_events_per_case: int = 60
    top_variants: int = 20
    summary: dict[str, Any] = field(default_factory=dict)
    cases: dict[str, None] = field(default_factory=dict)  # case ids the appendix lists, in order

    # -- what the analysis holds ------------------------------------------------------

    @property
    def log(self) -> pl.DataFrame:
        """The flat log of the cases in scope."""
        return self.analysis.log

    @property
    def design(self) -> Design | None:
        """The design the report checks against, if any."""
        return self.analysis.design

    def need_design(self) -> Design:
        """The design, or :class:`Unavailable` saying the section needs one."""
        if self.analysis.design is None:
            raise Unavailable("needs a design (give the report definition a design file)")
        return self.analysis.design

    @functools.cached_property
    def findings(self) -> list[dict[str, Any]]:
        """The Analysis's findings as dicts (evidence as a mapping), most severe first."""
        items = []
        for row in self.analysis.findings.iter_rows(named=True):
            item = dict(row)
            ev = item.get("evidence")
            if isinstance(ev, str):
                item["evidence"] = _loads(ev) if ev else {}
            elif ev is None:
                item["evidence"] = {}
            hint = item.get("suggestion")
            if isinstance(hint, str):
                item["suggestion"] = _loads(hint) if hint else None
            items.append(item)
        return sorted(
            items,
            key=lambda f: (
                SEVERITY_ORDER.get(str(f.get("severity")), 3),
                -_case_count(f),
                str(f.get("subject_name") or f.get("subject")),
            ),
        )

    @functools.cached_property
    def _by_kind(self) -> dict[object, list[dict[str, Any]]]:
        by: dict[object, list[dict[str, Any]]] = {}
        for f in self.findings:
            by.setdefault(f.get("kind"), []).append(f)
        return by

    def findings_of(self, kind: str) -> list[dict[str, Any]]:
        """The findings of one kind, most severe first."""
        return list(self._by_kind.get(kind, []))

    @functools.cached_property
    def titles(self) -> dict[str, str]:
        """Work item titles from the store, for naming cases (empty without a store)."""
        store = self.analysis.store
        if store is None:
            return {}
        # the titled objects, kept where they are cases of the window: a join in polars
        # (a list parameter of every case id costs DuckDB 0.3 s at 100,000 cases)
        titled = store.sql("SELECT object_id, title FROM objects WHERE title IS NOT NULL")
        if not titled.height:
            return {}
        cases = self.analysis.window_log.select(
            pl.col("case_id").cast(pl.String).alias("object_id")
        )
        found = titled.join(cases, on="object_id", how="semi")
        return {str(k): str(v) for k, v in found.iter_rows() if v}

    # -- links into the cases appendix ------------------------------------------------

    @functools.cached_property
    def _case_ids(self) -> frozenset[str]:
        # the window's log is in case order: the first row of each run of one case id names
        # every case (a comparison with the previous row, not a hash of a million ids); the
        # set is the same in any order, a run split in two only names its case twice
        ids = self.analysis.window_log.get_column("case_id")
        firsts = ids.filter((ids != ids.shift(1)).fill_null(True)).drop_nulls()
        return frozenset(firsts.to_list())

    def resolve_case(self, ref: str) -> str | None:
        """The log's case id for ``ref`` (``ACME-12`` finds ``jira:ACME-12``), if any."""
        if ref in self._case_ids:
            return ref
        for prefix in ("jira:", "xes:", "github:", "csv:"):
            if prefix + ref in self._case_ids:
                return prefix + ref
        return None

    def case_name(self, ref: str) -> str:
        """A case as a person reads it: ``ACME-12`` (no source prefix)."""
        return ref.split(":", 1)[1] if ref.startswith(("jira:", "xes:", "csv:")) else ref

    def case_link(self, ref: object) -> Markup:
        """A link to ``ref``'s event trail in the appendix (plain text when it is not listed)."""
        text = str(ref)
        case = self.resolve_case(text)
        shown = self.case_name(text)
        if case is not None and (case in self.cases or len(self.cases) < self.max_cases):
            self.cases.setdefault(case)
            title = self.titles.get(case, "")
            return Markup('<a class="case" href="#{}" title="{}">{}</a>').format(
                slug("case", case), title, shown
            )
        return Markup('<span class="case">{}</span>').format(shown)

    def case_links(self, refs: Sequence[object], limit: int = 8) -> Markup:
        """Links to the first ``limit`` cases of ``refs`` plus how many more there are."""
        if not refs:
            return Markup('<span class="muted">–</span>')
        shown = Markup(", ").join(self.case_link(r) for r in refs[:limit])
        more = len(refs) - limit
        tail = Markup(' <span class="muted">and {:,} more</span>').format(more) if more > 0 else ""
        return Markup('<span class="cases">{}{}</span>').format(shown, tail)
