"""One analysis of one log: every figure computed once, lazily, and handed down typed.

:class:`Analysis` is built from a flat log (or a store), a design and a
window. It holds the scope (which cases every figure describes), the stage
events and visits of the one kernel (:mod:`wfmine.stages`), the conformance
result, the findings and the metrics; each is computed the first time it is
read and then kept. The CLI, the HTML report and the notebook facade
(:class:`wfmine.Log`) all read the same object, so they show the same cases
and findings for the same window, and each states its scope in one line
(:meth:`Scope.describe`).

>>> import wfmine
>>> from wfmine.analysis import Analysis
>>> a = Analysis.of(wfmine.open(":memory:"))
>>> a.scope.describe()
'0 cases, all data'

Dependencies run one way: the scope of a design's analysis comes from the
conformance check (which judges the cases the design speaks about), the
findings get the conformance result and the stage events instead of
recomputing them, and the discovery figures (DFG, variants, durations,
throughput) describe the cases in scope.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Generic, TypeVar, overload

import polars as pl

from wfmine import conformance, discovery, stages
from wfmine.conformance import ConformanceResult
from wfmine.design import Design, load_design, unmatched_patterns
from wfmine.errors import InputError
from wfmine.findings import SeamView, actors_of, seam_view
from wfmine.findings import findings as find_all
from wfmine.findings import metrics as architect_metrics
from wfmine.findings import seams as seam_table
from wfmine.findings._shape import findings_frame, sort_findings
from wfmine.findings.actors import ai_events
from wfmine.findings.failures import (
    failure_occurrences,
    idle_spells,
    judged_limits,
    root_occurrences,
    stalled_visits,
)
from wfmine.findings.metrics import judged_events
from wfmine.findings.seams import handoffs
from wfmine.findings.stalls import visit_durations
from wfmine.model import LOG_SCHEMA
from wfmine.stages import CASE_ORDER, OUT_OF_SCOPE_SCHEMA, in_case_order
from wfmine.store import Store
from wfmine.window import Window, parse_window

if TYPE_CHECKING:  # imported where they are read: every command imports this module
    # (through ``import wfmine``), only a design's analysis reads governance or drift
    from typing import Self

    from wfmine.drift import DriftReport
    from wfmine.governance import Inputs

__all__ = ["Analysis", "Scope", "conform_log", "discover_frames", "discover_payload"]

#: how a design's scope is decided, in the words every output uses
SCOPE_RULE: Final = "work items with at least one event mapped to a stage of the design"
_SOURCE_NAMES: Final = {"slack": "Slack", "email": "e-mail", "github": "GitHub", "jira": "Jira"}


_T = TypeVar("_T")
#: guards the creation of an analysis's per-figure locks (held for a dict lookup only)
_LOCKS_GUARD: Final = threading.Lock()


class figure(Generic[_T]):
    """A figure of an analysis computed on first read and kept, as ``functools.cached_property``
    keeps it (in the instance's ``__dict__``: ``"dfg" in vars(a)`` says whether it is made),
    and safe to read from two threads at once (:meth:`Analysis.alongside`): a figure another
    thread is computing is waited for, never computed twice. Each figure of each analysis has
    its own lock, taken only while the figure is missing; figures read each other one way
    (the dependencies are a DAG), so two threads never wait on each other. A figure whose
    computation raises is not kept: the next read computes it again, and raises again.
    """

    def __init__(self, func: Callable[[Any], _T]) -> None:
        self.func = func
        self.attrname = func.__name__
        self.__doc__ = func.__doc__

    def __set_name__(self, owner: type, name: str) -> None:
        self.attrname = name

    @overload
    def __get__(self, instance: None, owner: type | None = None) -> Self: ...

    @overload
    def __get__(self, instance: object, owner: type | None = None) -> _T: ...

    def __get__(self, instance: object | None, owner: type | None = None) -> Self | _T:
        if instance is None:
            return self
        cache = instance.__dict__
        name = self.attrname
        if name in cache:
            return cache[name]  # type: ignore[no-any-return]
        with _lock_of(cache, name):
            if name not in cache:  # not made by another thread meanwhile
                cache[name] = self.func(instance)
            return cache[name]  # type: ignore[no-any-return]


def _lock_of(cache: dict[str, Any], name: str) -> threading.RLock:
    """The lock of figure ``name`` of the analysis whose ``__dict__`` is ``cache``."""
    with _LOCKS_GUARD:
        locks: dict[str, threading.RLock] = cache.setdefault("_figure_locks", {})
        lock = locks.get(name)
        if lock is None:
            lock = locks[name] = threading.RLock()
        return lock


def conform_log(log: pl.DataFrame) -> pl.DataFrame:
    """``log`` with exactly the flat-log columns (:data:`wfmine.model.LOG_SCHEMA`) first.

    Missing columns are added as nulls, naive timestamps read as UTC, extra
    columns kept after them; the rows are put in case order (case, timestamp,
    seq, event_id) unless they already are.
    """
    missing = [c for c in ("case_id", "activity", "timestamp") if c not in log.columns]
    if missing:
        raise InputError(
            f"the log lacks the columns {missing} (see wfmine.model.LOG_SCHEMA); "
            f"it has {log.columns}"
        )
    cols: list[pl.Expr] = []
    for name, dtype in LOG_SCHEMA.items():
        if name not in log.columns:
            cols.append(pl.lit(None, dtype=dtype).alias(name))
            continue
        have = log.schema[name]
        if have == dtype:
            cols.append(pl.col(name))
        elif name == "timestamp" and isinstance(have, pl.Datetime) and have.time_zone is None:
            cols.append(pl.col(name).dt.replace_time_zone("UTC").cast(dtype))
        else:
            cols.append(pl.col(name).cast(dtype))
    out = log.select(cols + [pl.col(c) for c in log.columns if c not in LOG_SCHEMA])
    if not in_case_order(out):
        out = out.sort(list(CASE_ORDER), nulls_last=True, maintain_order=True)
    return out


@dataclass(frozen=True)
class Scope:
    """Which cases an analysis describes, and over which window.

    Without a design every case of the window is in scope. With one, the
    cases the design speaks about (:data:`SCOPE_RULE`); the others —
    conversations and items linked to no work item, which the case notion
    makes cases of their own — are counted in ``out_of_scope``.
    """

    window: Window
    start: dt.datetime | None
    end: dt.datetime | None
    cases_total: int
    cases: int
    events: int
    rule: str
    design_name: str | None = None
    out_of_scope: pl.DataFrame = field(
        default_factory=lambda: pl.DataFrame(schema=OUT_OF_SCOPE_SCHEMA), repr=False
    )

    @property
    def left_out(self) -> int:
        """Cases of the window that are not in scope."""
        return self.cases_total - self.cases

    @property
    def left_out_by_source(self) -> dict[str, int]:
        """Left-out cases by the source of their own object (``{"slack": 400, …}``), largest first."""
        if self.out_of_scope.height == 0:
            return {}
        counts = (
            self.out_of_scope.select(
                pl.col("case_id").str.extract(r"^([^:]+):", 1).fill_null("other").alias("source")
            )
            .group_by("source")
            .len()
            .sort(["len", "source"], descending=[True, False])
        )
        return {str(s): int(n) for s, n in counts.iter_rows()}

    def period(self) -> str:
        """The window in words: ``all data``, ``last 90 days (2025-04-01 → 2025-06-30)``."""
        text = self.window.describe()
        if self.window.span is not None and self.start is not None and self.end is not None:
            text += f" ({self.start:%Y-%m-%d} → {self.end:%Y-%m-%d})"
        return text

    def describe(self) -> str:
        """One line saying which cases and which window every figure describes.

        >>> Scope(Window(), None, None, 12, 10, 90, SCOPE_RULE, "Acme").describe()
        "10 work items in scope of design 'Acme' (2 other cases left out), all data"
        """
        if self.design_name is None:
            return f"{self.cases:,} cases, {self.period()}"
        text = f"{self.cases:,} work items in scope of design {self.design_name!r}"
        if self.left_out:
            by = self.left_out_by_source
            parts = ", ".join(f"{n:,} {_SOURCE_NAMES.get(s, s)}" for s, n in by.items())
            text += (
                f" ({self.left_out:,} other cases left out: {parts})"
                if len(by) > 1
                else (f" ({self.left_out:,} other cases left out)")
            )
        return f"{text}, {self.period()}"

    def as_dict(self) -> dict[str, Any]:
        """The JSON form (``"scope"`` in ``--json`` outputs; keys are stable)."""
        return {
            "text": self.describe(),
            "rule": self.rule,
            "design": self.design_name,
            "window": self.window.describe(),
            "start": self.start.isoformat() if self.start else None,
            "end": self.end.isoformat() if self.end else None,
            "cases_total": self.cases_total,
            "cases_in_scope": self.cases,
            "cases_out_of_scope": self.left_out,
            "out_of_scope_by_source": self.left_out_by_source,
            "events_in_scope": self.events,
        }


def _window_log(
    log: pl.DataFrame, window: Window, now: dt.datetime
) -> tuple[pl.DataFrame, dt.datetime | None, dt.datetime | None]:
    """Whole cases with at least one event inside the window, and the window's bounds."""
    data_end = log.get_column("timestamp").max() if log.height else None
    start, end = window.resolve(now, data_end if isinstance(data_end, dt.datetime) else None)
    if start is None and end is None:
        return log, None, None
    cond = pl.lit(True)
    if start is not None:
        cond = cond & (pl.col("timestamp") >= start)
    if end is not None:
        cond = cond & (pl.col("timestamp") < end)
    inside = log.filter(cond).select("case_id").unique()
    return log.join(inside, on="case_id", how="semi", maintain_order="left"), start, end


class Analysis:
    """A log (or a store's log) under one design and window, every analysis computed once.

    Build it with :meth:`of`; read what you need — each attribute is computed
    on first use and kept:

    - ``scope`` (:class:`Scope`), ``log`` (the flat log of the cases in
      scope), ``window_log`` (every case of the window);
    - ``staged`` (:func:`wfmine.stages.stage_events` of the window's log),
      ``visits``, ``conformance`` (:class:`~wfmine.conformance.ConformanceResult`),
      ``stage_paths`` — all ``None`` without a design;
    - ``findings`` (the findings frame), ``metrics``;
    - ``summary``, ``dfg``, ``variants``, ``case_durations``, ``throughput``,
      ``seams`` (handoffs between teams and performer kinds, ranked by the
      waiting they cause).

    >>> a = Analysis.of(store, "design.yaml", window="90d")  # doctest: +SKIP
    >>> a.scope.describe()  # doctest: +SKIP
    "100 work items in scope of design 'Acme delivery' (837 other cases left out), last 90 days"
    """

    def __init__(
        self,
        log: pl.DataFrame,
        design: Design | None = None,
        *,
        store: Store | None = None,
        window: Window | None = None,
        now: dt.datetime | None = None,
        design_path: Path | None = None,
    ) -> None:
        now = now or dt.datetime.now(dt.UTC)
        self.now = now if now.tzinfo else now.replace(tzinfo=dt.UTC)
        self.design = design
        self.design_path = design_path
        self.store = store
        self.window = window or Window()
        self._source_log = conform_log(log)
        #: per case, the kind of work item (:data:`wfmine.model.KIND_SCHEMA`) when the log comes
        #: without the store's attrs to read them from (a lake: :func:`wfmine.lake.read_kinds`)
        self.kinds: pl.DataFrame | None = None

    @classmethod
    def of(
        cls,
        source: Store | pl.DataFrame,
        design: Design | str | Path | None = None,
        *,
        window: Window | str | None = None,
        case_notion: str = "work_item",
        now: dt.datetime | None = None,
        store: Store | None = None,
    ) -> Analysis:
        """An analysis of a store's log (under ``case_notion``) or of a flat log frame.

        ``design`` is a loaded design or a path to a design file; ``window``
        a :class:`~wfmine.window.Window`, ``"90d"``/``"12w"``/``"all"`` or
        ``None`` (all data). A frame taken from a store (a part of its log)
        is analysed with what that ``store`` knows (identities, risk
        attributes, platform fields).
        """
        path = Path(design) if isinstance(design, str | Path) else None
        loaded = load_design(path) if path is not None else design
        assert loaded is None or isinstance(loaded, Design)
        store = source if isinstance(source, Store) else store
        log = source.log(case_notion=case_notion) if isinstance(source, Store) else source
        return cls(log, loaded, store=store, window=parse_window(window), now=now, design_path=path)

    @contextmanager
    def alongside(self, *figures: Callable[[Analysis], object]) -> Iterator[None]:
        """Compute ``figures`` on a second thread while the body of the ``with`` reads others.

        Each is a function of this analysis (``lambda a: a.overview``), computed in
        the order given; polars and numpy let go of the interpreter while they work,
        so the two cores of a laptop both do. Whichever thread asks for a figure first
        computes it and the other waits for it (:class:`figure`): the results are the
        ones a single thread gets. A figure that fails there is left for the thread that
        reads it to compute again, and raise. Leaving the ``with`` waits for the second
        thread. Pass only figures the caller goes on to read.

        >>> with a.alongside(lambda a: a.overview):  # doctest: +SKIP
        ...     seams = a.seams
        """

        def work() -> None:
            for compute in figures:
                try:
                    compute(self)
                except Exception:
                    continue

        thread = threading.Thread(target=work, name="wfmine-analysis", daemon=True)
        thread.start()
        try:
            yield
        finally:
            thread.join()

    def __repr__(self) -> str:
        design = f"design={self.design.name!r}" if self.design is not None else "no design"
        return f"<Analysis {self.window.describe()}, {design}, {self._source_log.height:,} events>"

    # -- scope ------------------------------------------------------------------------

    @figure
    def _windowed(self) -> tuple[pl.DataFrame, dt.datetime | None, dt.datetime | None]:
        return _window_log(self._source_log, self.window, self.now)

    @property
    def window_log(self) -> pl.DataFrame:
        """Every case with an event inside the window (whole cases), in case order."""
        return self._windowed[0]

    @figure
    def scope(self) -> Scope:
        """Which cases every figure describes (:class:`Scope`)."""
        log, start, end = self._windowed
        if self.conformance is None:
            # every case of the window is in scope (self.log is the window's log): its summary
            # counts them, once for both (a million case ids hashed once, not twice)
            total = int(self.summary["cases"]) if log.height else 0
            return Scope(self.window, start, end, total, total, log.height, "every case")
        total = log.get_column("case_id").n_unique() if log.height else 0
        summary = self.conformance.summary
        return Scope(
            self.window,
            start,
            end,
            total,
            int(summary["cases"]),
            int(summary["events"]),
            SCOPE_RULE,
            self.design.name if self.design is not None else None,
            self.conformance.out_of_scope,
        )

    @figure
    def log(self) -> pl.DataFrame:
        """The flat log of the cases in scope, in case order."""
        if self.conformance is None:
            return self.window_log
        every = self.conformance.out_of_scope.height == 0  # every case of the window in scope
        if every and self.window_log.get_column("case_id").null_count() == 0:
            return self.window_log
        ids = self.conformance.cases.select("case_id")
        return self.window_log.join(ids, on="case_id", how="semi", maintain_order="left")

    @figure
    def warnings(self) -> list[str]:
        """What a person must not miss about this analysis: design patterns matching nothing.

        The CLI prints these before any figure and the report shows them at its top.
        """
        if self.design is None:
            return []
        # the window's distinct (source, activity) pairs are all it reads (found once already)
        return unmatched_patterns(self.design, self.activity_pairs)

    # -- the design's view ----------------------------------------------------------------

    @figure
    def accounts(self) -> pl.DataFrame | None:
        """``account_id, actor_id`` of the store's resolved accounts (registry matching)."""
        return conformance.store_accounts(self.store) if self.store is not None else None

    @figure
    def staged(self) -> pl.DataFrame | None:
        """The window's events with their stages (:func:`wfmine.stages.stage_events`)."""
        if self.design is None:
            return None
        # the window's log is in case order (conform_log; the window keeps whole cases in order)
        return stages.stage_events(
            self.window_log, self.design, accounts=self.accounts, ordered=True
        )

    @figure
    def activity_pairs(self) -> pl.DataFrame:
        """The window's distinct ``source, activity`` pairs: what design patterns are matched
        against (the gates' approvals in the check and in drift), found once."""
        return self.window_log.select("source", "activity").unique()

    @figure
    def conformance(self) -> ConformanceResult | None:
        """The check against the design (``None`` without one), with everything the store knows."""
        if self.design is None:
            return None
        return conformance.check(
            self.window_log,
            self.design,
            case_attrs=self.case_attrs,
            accounts=self.accounts,
            staged=self.staged,
            pairs=self.activity_pairs,
        )

    @figure
    def case_attrs(self) -> pl.DataFrame | None:
        """The store's case attributes of the window's cases (:func:`wfmine.conformance.case_attributes`)."""
        if self.store is None:
            return None
        return conformance.case_attributes(self.store, self.window_log)

    @property
    def visits(self) -> pl.DataFrame | None:
        """The stage visits of the cases in scope (``None`` without a design)."""
        return self.conformance.visits if self.conformance is not None else None

    @figure
    def stage_paths(self) -> pl.DataFrame | None:
        """Paths through the designed stages: ``stages`` (list), ``cases``, ``coverage``, ``fitness``."""
        if self.conformance is None:
            return None
        cases = self.conformance.cases
        schema = pl.Schema(
            {
                "stages": pl.List(pl.String()),
                "cases": pl.UInt32(),
                "coverage": pl.Float64(),
                "fitness": pl.Float64(),
            }
        )
        if cases.height == 0:
            return pl.DataFrame(schema=schema)
        return (
            cases.group_by("variant")
            .agg(pl.len().alias("cases"), pl.col("fitness").mean().alias("fitness"))
            .with_columns((pl.col("cases") / pl.col("cases").sum()).alias("coverage"))
            .sort(["cases", "variant"], descending=[True, False])
            .rename({"variant": "stages"})
            .select(schema.names())
            .cast(schema)
        )

    @figure
    def stage_times(self) -> pl.DataFrame | None:
        """Per stage: ``visits``, ``median_s``, ``p90_s``, ``expected_s`` and ``over_share``.

        The time cases spend in each stage against the design's expectation
        (``over_share``: the share of visits longer than expected; null where
        the design expects nothing); slowest median first. ``None`` without a
        design.
        """
        if self.conformance is None:
            return None
        timing = self.conformance.timing
        schema = pl.Schema(
            {
                "stage": pl.String(),
                "visits": pl.UInt32(),
                "median_s": pl.Float64(),
                "p90_s": pl.Float64(),
                "expected_s": pl.Float64(),
                "over_share": pl.Float64(),
            }
        )
        if timing.height == 0:
            return pl.DataFrame(schema=schema)
        return (
            timing.group_by("stage")
            .agg(
                pl.len().alias("visits"),
                pl.col("duration_s").median().alias("median_s"),
                pl.col("duration_s").quantile(0.9, interpolation="linear").alias("p90_s"),
                pl.col("expected_s").first(),
                (pl.col("duration_s") > pl.col("expected_s")).mean().alias("over_share"),
            )
            .sort(["median_s", "stage"], descending=[True, False], nulls_last=True)
            .select(schema.names())
            .cast(schema)
        )

    @figure
    def duration_stats(self) -> dict[str, float | None]:
        """Case durations of the cases in scope: ``median_s``, ``p90_s``, ``p99_s``, ``max_s``."""
        d = self.case_durations.get_column("duration_s").drop_nulls()
        if d.len() == 0:
            return {"median_s": None, "p90_s": None, "p99_s": None, "max_s": None}

        def q(share: float) -> float | None:
            value = d.quantile(share, interpolation="linear")
            return float(value) if value is not None else None

        top = d.max()
        return {
            "median_s": q(0.5),
            "p90_s": q(0.9),
            "p99_s": q(0.99),
            "max_s": float(top) if isinstance(top, int | float) else None,
        }

    # -- findings and metrics -------------------------------------------------------------

    @figure
    def findings(self) -> pl.DataFrame:
        """Every finding (:data:`wfmine.findings.FINDING_SCHEMA`), computed once.

        The detectors of :func:`wfmine.findings.findings`, plus a
        ``reviewer_quality`` finding for each agent reviewer whose approvals are
        followed by failure measurably more often than people's
        (:func:`wfmine.governance.reviewer_findings`).
        """
        # the seam table's inputs first, then the table (the unowned seams' source) on the
        # second core while the other detectors run: find_all asks for it last
        occurrences, actors = self.occurrences, self.actors
        with self.alongside(lambda a: a.seams):
            found = find_all(
                self.window_log,
                self.design,
                store=self.store,
                conformance=self.conformance,
                staged=self.staged,
                events_attrs=self.events_attrs,
                ai=self.ai_events,
                occurrences=occurrences,
                case_attrs=self.case_attrs,
                judged=self.judged,
                limits=self.stall_limits,
                actors=actors,
                seam_table=lambda: self.seams,
            )
        if self.design is None:
            return found
        from wfmine import governance as gov  # the agent-governance figures: with a design only

        reviewers = findings_frame(gov.reviewer_findings(self.governance, names=self.display_names))
        if reviewers.height == 0:
            return found
        return sort_findings(pl.concat([found, reviewers.select(found.columns)]))

    @figure
    def display_names(self) -> dict[str, str]:
        """Actor id -> the name a person reads (from the store's identities)."""
        if self.store is None:
            return {}
        rows = self.store.sql(
            "SELECT actor_id, display_name FROM actors WHERE display_name IS NOT NULL"
        )
        return {str(k): str(v) for k, v in rows.iter_rows()}

    @figure
    def governance(self) -> Inputs:
        """What the agent-governance figures share (:mod:`wfmine.governance`), computed once."""
        from wfmine import governance as gov

        store = self.store
        return gov.build_inputs(
            self.log,
            self.design,
            self.conformance,
            self.events_attrs,
            gov.store_commit_links(store) if store is not None else None,
            self.staged,
            occurrences=self.occurrences,
            ai=self.ai_events,
            judged=self.judged if self.conformance is not None else None,
            finished=self.finished_visits if self.conformance is not None else None,
        )

    @figure
    def events_attrs(self) -> pl.DataFrame | None:
        """``event_id, attrs, account_id`` of the store's events (read once)."""
        return self.store.event_attrs() if self.store is not None else None

    @figure
    def ai_events(self) -> pl.DataFrame:
        """The events signed by an AI tool (:func:`wfmine.findings.actors.ai_events`)."""
        return ai_events(self.events_attrs)

    @figure
    def judged(self) -> pl.DataFrame:
        """The stage events of the cases in scope (:func:`wfmine.findings.metrics.judged_events`)."""
        return judged_events(
            self.window_log, self.design, staged=self.staged, conformance=self.conformance
        )

    @figure
    def judged_visits(self) -> pl.DataFrame:
        """The stage visits of :attr:`judged` (with a design: the conformance check's)."""
        if self.conformance is not None:
            return self.conformance.visits
        return stages.stage_visits(self.judged)

    @figure
    def finished_visits(self) -> pl.DataFrame:
        """The finished visits of :attr:`judged_visits` with their durations
        (:func:`wfmine.findings.stalls.visit_durations`): what the idle spells and the stall
        limits are both read from."""
        return visit_durations(self.judged_visits, self.design)

    @figure
    def idle_spells(self) -> pl.DataFrame:
        """Each finished visit's longest idle spell (:func:`wfmine.findings.failures.idle_spells`).

        The stall search of the failure occurrences and of the metrics' recovery
        times, done once.
        """
        return idle_spells(
            self.judged, self.judged_visits, self.design, finished=self.finished_visits
        )

    @figure
    def stall_limits(self) -> pl.DataFrame:
        """The stall limits of the cases in scope (:func:`wfmine.findings.failures.judged_limits`:
        per stage, project and, where the tracker names them, kind of work item) -- those the
        failure occurrences, the recovery times and the patterns' evidence all read."""
        return judged_limits(
            self.judged,
            self.design,
            self.events_attrs,
            visits=self.judged_visits,
            kinds=self.kinds,
            finished=self.finished_visits,
        )

    @figure
    def stalled(self) -> pl.DataFrame:
        """The visits whose longest idle spell passed their stall limit
        (:func:`wfmine.findings.failures.stalled_visits`): the ``stall`` occurrences and the
        metrics' recovery times are both read from these."""
        return stalled_visits(
            self.judged, self.judged_visits, self.stall_limits, self.design, self.idle_spells
        )

    @figure
    def occurrences(self) -> pl.DataFrame:
        """Every failure occurrence of the cases in scope, with the store's attrs.

        One set for the findings, the metrics' weekly counts and governance: a
        reopen the tracker flags counts in all three or in none.
        """
        return failure_occurrences(
            self.judged,
            self.design,
            self.events_attrs,
            visits=self.judged_visits,
            spells=self.idle_spells,
            limits=self.stall_limits,
            stalled=self.stalled,
        )

    @figure
    def actors(self) -> pl.DataFrame:
        """Every actor of the window classified human, bot, agent or unknown
        (:func:`wfmine.findings.classify_actors`), with the store's accounts."""
        return actors_of(self.window_log, self.store, self.events_attrs, self.ai_events)

    @figure
    def seam_view(self) -> SeamView:
        """What every seam figure is read from (:func:`wfmine.findings.seam_view`): the judged
        events with their performers' teams, automation's actors and the root events."""
        # with a design the findings need every occurrence anyway; without one (a plain log's
        # discovery) only the roots are computed: the same rows (root_occurrences)
        roots = (
            self.occurrences
            if self.design is not None
            else root_occurrences(self.judged, None, self.events_attrs, visits=self.judged_visits)
        )
        return seam_view(self.judged, self.store, self.actors, roots)

    @figure
    def team_handoffs(self) -> pl.DataFrame:
        """The handoffs between teams of the cases in scope (:func:`wfmine.findings.seams.handoffs`
        of :attr:`seam_view`: steps performed by automation hand nothing over)."""
        view = self.seam_view
        return handoffs(view.events, self.design, dimension="team", automation=view.automation)

    @figure
    def metrics(self) -> dict[str, pl.DataFrame]:
        """The architect's metrics (:func:`wfmine.findings.metrics`) of the cases in scope."""
        return architect_metrics(
            self.window_log,
            self.design,
            staged=self.staged,
            conformance=self.conformance,
            occurrences=self.occurrences,
            team_handoffs=self.team_handoffs,
            visits=self.judged_visits,
            spells=self.idle_spells,
            judged=self.judged,
            events_attrs=self.events_attrs,
            limits=self.stall_limits,
            stalled=self.stalled,
        )

    @figure
    def seams(self) -> pl.DataFrame:
        """Handoffs between teams and between humans and agents, ranked by waiting caused."""
        view = self.seam_view
        return seam_table(
            view.events,
            self.design,
            automation=view.automation,
            roots=view.roots,
            computed={"team": self.team_handoffs},
        )

    @figure
    def reviewer_audit(self) -> pl.DataFrame | None:
        """What happened to the work each reviewer approved (:func:`wfmine.governance.reviewer_audit`)."""
        from wfmine import governance as gov

        return gov.reviewer_audit(self.governance) if self.design is not None else None

    @figure
    def reviewer_comparison(self) -> pl.DataFrame | None:
        """Each agent reviewer against people on comparable work (same tier and stage)."""
        from wfmine import governance as gov

        return gov.reviewer_comparison(self.governance) if self.design is not None else None

    @figure
    def cohorts(self) -> pl.DataFrame:
        """Every metric split by who did the work (:func:`wfmine.governance.cohort_table`)."""
        from wfmine import governance as gov

        return gov.cohort_table(self.governance)

    @figure
    def delivery(self) -> dict[str, pl.DataFrame]:
        """DORA metrics weekly and by cohort, and the architect's measures beside them."""
        from wfmine import governance as gov

        return gov.delivery(self)

    @figure
    def drift(self) -> DriftReport | None:
        """When the practice changed, and whether the design's changes took effect."""
        if self.design is None:
            return None
        from wfmine import drift as drift_layer

        changes = (
            drift_layer.design_changes(self.design_path) if self.design_path is not None else None
        )
        return drift_layer.drift(
            self.window_log,
            self.design,
            changes=changes,
            accounts=self.accounts,
            result=self.conformance,
            staged=self.staged,
            judged=self.judged,
            occurrences=self.occurrences,
            team_handoffs=self.team_handoffs,
            pairs=self.activity_pairs,
        )

    # -- discovery of the cases in scope --------------------------------------------------

    @figure
    def overview(self) -> discovery.Overview:
        """Summary, DFG, variants, start and end activities of the cases in scope, from one
        ordered and coded pass over the events (:func:`wfmine.discovery.overview`)."""
        return discovery.overview(self.log)

    @figure
    def summary(self) -> dict[str, Any]:
        """``cases, events, activities, start, end`` of the cases in scope."""
        # the scope may need it before anything else: alone, it needs no ordered pass
        if "overview" in self.__dict__:
            return self.overview.summary
        return discovery.log_summary(self.log)

    @figure
    def dfg(self) -> pl.DataFrame:
        """Directly-follows edges with frequency and waits (:func:`wfmine.discovery.directly_follows`)."""
        return self.overview.dfg

    @figure
    def variants(self) -> pl.DataFrame:
        """Activity variants with their cases and coverage."""
        return self.overview.variants

    @figure
    def case_durations(self) -> pl.DataFrame:
        """Per case: start, end, duration."""
        return discovery.case_durations(self.log)

    @figure
    def throughput(self) -> pl.DataFrame:
        """Cases completed per week."""
        return discovery.throughput_weekly(self.log)

    def discover_payload(self, *, top: int = 10) -> dict[str, Any]:
        """The ``wfmine discover --json`` payload of the cases in scope (keys are stable)."""
        return _as_dicts(self.discover_frames(top=top))

    def discover_frames(self, *, top: int = 10) -> dict[str, Any]:
        """:meth:`discover_payload` with its tables left as frames (the CLI writes them whole)."""
        found = self.overview
        return discover_frames(
            self.log,
            top=top,
            summary=self.summary,
            dfg=self.dfg,
            variants=self.variants,
            boundaries=(found.start_activities, found.end_activities),
        )


def discover_payload(
    log: pl.DataFrame,
    *,
    top: int = 10,
    summary: dict[str, Any] | None = None,
    dfg: pl.DataFrame | None = None,
    variants: pl.DataFrame | None = None,
) -> dict[str, Any]:
    """The ``wfmine discover --json`` payload for a flat log (keys are a stable interface).

    ``summary``, ``dfg`` and ``variants`` are taken as given when the caller
    has computed them already.
    """
    return _as_dicts(discover_frames(log, top=top, summary=summary, dfg=dfg, variants=variants))


def discover_frames(
    log: pl.DataFrame,
    *,
    top: int = 10,
    summary: dict[str, Any] | None = None,
    dfg: pl.DataFrame | None = None,
    variants: pl.DataFrame | None = None,
    boundaries: tuple[dict[str, int], dict[str, int]] | None = None,
) -> dict[str, Any]:
    """:func:`discover_payload` with ``dfg``, ``variants``, ``busiest_edges`` and
    ``slowest_waits`` as frames, whose ``to_dicts()`` are the payload's lists.

    ``boundaries``: the start and end activities, when the caller has them.

    A million-event log has tens of thousands of variants: the CLI writes
    them as JSON column by column (:func:`wfmine.cli._print.json_text`)
    instead of making a dict per row first.
    """
    dfg = discovery.directly_follows(log) if dfg is None else dfg
    var = discovery.variants(log) if variants is None else variants
    slowest = dfg.sort(
        ["wait_median_s", "frequency", "source", "target"],
        descending=[True, True, False, False],
        nulls_last=True,
    )
    # every case follows one variant: its first and last activities are the variant's
    starts, ends = (
        boundaries
        if boundaries is not None
        else (_boundary(var, first=True), _boundary(var, first=False))
    )
    return {
        "log": summary if summary is not None else discovery.log_summary(log),
        "start_activities": starts,
        "end_activities": ends,
        "dfg": dfg,
        "variants": var,
        "busiest_edges": dfg.head(top),
        "slowest_waits": slowest.head(top),
    }


def _boundary(variants: pl.DataFrame, *, first: bool) -> dict[str, int]:
    """:func:`wfmine.discovery.start_activities` (``first``) or ``end_activities``, from the
    variants: the same counts in the same order, without another pass over the events."""
    trace = pl.col("activities")
    counts = (
        variants.group_by((trace.list.first() if first else trace.list.last()).alias("activity"))
        .agg(pl.col("cases").sum())
        .sort(["cases", "activity"], descending=[True, False])
    )
    return dict(zip(counts["activity"].to_list(), counts["cases"].to_list(), strict=True))


def _as_dicts(payload: dict[str, Any]) -> dict[str, Any]:
    return {k: v.to_dicts() if isinstance(v, pl.DataFrame) else v for k, v in payload.items()}
