"""Drift: when the practised workflow changed, and whether a change of the design took effect.

**Change points.** Four kinds of weekly series are built from the one stage
kernel (:mod:`wfmine.stages`) under a design:

- ``paths``: the distribution of the stage paths of the work items completed
  each week (items whose path reaches an end stage; the rarer paths pooled);
- ``wait``: per stage, the durations of its visits ending each week (the
  final visit of an item left out: it has no end);
- ``performer``: per stage and activity (30 events or more), the events
  done by agents and bots vs people each week (an agent taking over a stage
  takes over its acts; the stage's mix of activities would dilute it);
- ``gate``: the number of distinct approvers before the gated step, per
  item reaching it each week (a gate tightened or loosened).

Each series is tested for one change: every split week with at least
``min_weeks`` weeks on both sides is a candidate; the statistic is the
largest, over the candidates, of the Pearson chi-square of the before/after
table (categorical series) or of the absolute standardised Mann–Whitney rank
sum (waits). Its p-value comes from permuting the weeks (``permutations``
times, seeded): the maximum over candidates is compared with the maxima of
the permuted series, so trying many weeks does not make a change easier to
find (a max-statistic guard). Across series a Bonferroni correction applies
(``p_adjusted = p × series tested``); a change is reported when
``p_adjusted < alpha`` and its effect size reaches ``min_effect``. Each
side of a reported change is tested again (binary segmentation, Bonferroni
also over the segments) for a second change. As many weeks as the median
item takes are left out at the start of the path series (the first
completions are the fastest items, not a different practice) and at the
end of the wait and performer series (items still in flight have not shown
their long visits and later acts yet).

**Design changes.** :func:`design_changes` reads when the design changed:
the ``changes:`` list of the design file (``[{date, description}]``; read
from the raw YAML, the design model does not hold it yet) and, when the
file is in a git repository, its history (``git log --follow``).
:func:`change_effects` compares, per change, the ``weeks`` before with the
``weeks`` after: conformance rate, median wait per stage, failure patterns
per item and seam coverage, each with its test (Fisher's exact test on
rates, Mann–Whitney on waits), and says whether the change took effect.

Why one module of about 800 lines: the weekly series, the permutation scan
over them and the before/after effects of design changes are one method,
sharing the series definitions and the correction for multiple tests.
"""

from __future__ import annotations

import datetime as dt
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import polars as pl

from wfmine.conformance import ConformanceResult, check
from wfmine.design import Design, load_design
from wfmine.findings import failure_occurrences
from wfmine.findings.seams import handoffs
from wfmine.findings.significance import average_ranks, fisher_exact
from wfmine.stages import (
    first_in_group,
    in_case_order,
    in_kernel_order,
    shift_in_group,
    stage_events,
)

if TYPE_CHECKING:  # numpy (0.1 s) is imported by the functions that use it
    import numpy as np

__all__ = [
    "CHANGE_SCHEMA",
    "EFFECT_SCHEMA",
    "DriftReport",
    "change_effects",
    "change_points",
    "design_changes",
    "drift",
    "load_design_with_changes",
    "weekly_series",
]

#: paths kept apart in the path series; the rarer ones are pooled as "other"
TOP_PATHS: Final = 8

CHANGE_SCHEMA: Final = pl.Schema(
    {
        "series": pl.String(),  # "stage paths", "wait in review", "agents' share in review", ...
        "kind": pl.String(),  # paths | wait | performer | gate
        "stage": pl.String(),
        "week": pl.Date(),  # the first week of the new practice
        "before": pl.String(),
        "after": pl.String(),
        "effect": pl.Float64(),  # Cramér's V (categorical) or rank-biserial correlation (waits)
        "statistic": pl.Float64(),
        "p_value": pl.Float64(),  # permutation p of the max statistic over split weeks
        "p_adjusted": pl.Float64(),  # Bonferroni over the series tested
        "test": pl.String(),
        "strength": pl.String(),  # strong | clear (by p_adjusted and effect)
    }
)

EFFECT_SCHEMA: Final = pl.Schema(
    {
        "date": pl.Date(),
        "change": pl.String(),
        "source": pl.String(),  # changes | git
        "metric": pl.String(),
        "stage": pl.String(),
        "before": pl.Float64(),
        "after": pl.Float64(),
        "n_before": pl.Int64(),
        "n_after": pl.Int64(),
        "p_value": pl.Float64(),
        "test": pl.String(),
        "significant": pl.Boolean(),
    }
)


@dataclass(frozen=True)
class DriftReport:
    """Change points of the practice, the design's changes and their effects."""

    change_points: pl.DataFrame  # CHANGE_SCHEMA
    series_tested: int
    weeks: int
    changes: pl.DataFrame  # date, description, source
    effects: pl.DataFrame  # EFFECT_SCHEMA
    verdicts: pl.DataFrame  # date, change, source, took_effect (null: no data), summary

    def as_dict(self) -> dict[str, Any]:
        """The ``wfmine drift --json`` payload (keys are stable)."""
        return {
            "weeks": self.weeks,
            "series_tested": self.series_tested,
            "change_points": _jsonable(self.change_points),
            "design_changes": _jsonable(self.changes),
            "effects": _jsonable(self.effects),
            "verdicts": _jsonable(self.verdicts),
        }


def _jsonable(df: pl.DataFrame) -> list[dict[str, Any]]:
    return [
        {k: (v.isoformat() if isinstance(v, dt.date) else v) for k, v in row.items()}
        for row in df.to_dicts()
    ]


def _week(expr: pl.Expr) -> pl.Expr:
    return expr.dt.truncate("1w").dt.date()


# -- weekly series -------------------------------------------------------------------------


@dataclass(frozen=True)
class _Series:
    name: str
    kind: str
    stage: str | None
    weeks: list[dt.date]
    #: categorical: W x C counts; waits: None
    counts: np.ndarray[Any, np.dtype[np.float64]] | None = None
    labels: tuple[str, ...] = ()
    #: waits: per week the values
    values: list[np.ndarray[Any, np.dtype[np.float64]]] | None = None


def _all_weeks(start: dt.date, end: dt.date) -> list[dt.date]:
    n = (end - start).days // 7 + 1
    return [start + dt.timedelta(weeks=i) for i in range(n)]


def _categorical(
    frame: pl.DataFrame, weeks: list[dt.date], name: str, kind: str, stage: str | None
) -> _Series | None:
    """``frame`` (``week``, ``cat``) as a week x category count matrix."""
    return _matrix(frame.group_by("week", "cat").len(), weeks, name, kind, stage)


def _matrix(
    counts: pl.DataFrame, weeks: list[dt.date], name: str, kind: str, stage: str | None
) -> _Series | None:
    """The rows (``week``, ``cat``, ``len``: one per distinct week and category) of a
    :func:`_categorical` frame's count, as its week x category matrix."""
    import numpy as np

    if counts.height == 0:
        return None
    cats = tuple(sorted(str(c) for c in counts.get_column("cat").unique().to_list()))
    if len(cats) < 2:
        return None
    index = {w: i for i, w in enumerate(weeks)}
    col = {c: j for j, c in enumerate(cats)}
    m = np.zeros((len(weeks), len(cats)))
    for w, c, n in counts.select("week", "cat", "len").iter_rows():
        if w in index:
            m[index[w], col[str(c)]] += n
    if m.sum() == 0:
        return None
    return _Series(name, kind, stage, weeks, counts=m, labels=cats)


def weekly_series(
    log: pl.DataFrame,
    design: Design,
    *,
    accounts: pl.DataFrame | None = None,
    result: ConformanceResult | None = None,
    staged: pl.DataFrame | None = None,
    judged: pl.DataFrame | None = None,
    pairs: pl.DataFrame | None = None,
) -> tuple[list[_Series], list[dt.date]]:
    """The weekly series the change-point test reads (see the module docstring).

    ``staged``: :func:`wfmine.stages.stage_events` of ``log`` when the caller has
    it; ``judged``: those of the check's cases (``Analysis.judged``); ``pairs``: the
    log's distinct ``source, activity`` (``Analysis.activity_pairs``).
    """
    import numpy as np

    res = result if result is not None else check(log, design, accounts=accounts)
    staged = _judged(log, design, accounts, res, staged, judged)
    if staged.height == 0:
        return [], []
    first = staged.get_column("timestamp").min()
    last = staged.get_column("timestamp").max()
    assert isinstance(first, dt.datetime) and isinstance(last, dt.datetime)
    start = first.date() - dt.timedelta(days=first.weekday())
    weeks = _all_weeks(start, last.date())
    out: list[_Series] = []
    # paths of completed work items, by completion week, after the lead-in
    ends = set(design.end_stages)
    done = res.cases.filter(pl.col("variant").list.last().is_in(sorted(ends)))
    # the median item duration, in weeks: early completions are the fast items, and in the
    # last weeks items are still in flight (their long visits and later acts not yet seen)
    median: Any = done.get_column("duration_s").median() if done.height else None
    lead = min(int(np.ceil(float(median or 0.0) / (7 * 86400))), max(0, len(weeks) // 4))
    body = weeks[: len(weeks) - lead] if lead else weeks
    if done.height:
        top = (
            done.group_by("variant")
            .len()
            .sort(["len", "variant"], descending=[True, False])
            .head(TOP_PATHS)
            .get_column("variant")
            .list.join(" > ")
            .to_list()
        )
        path = pl.col("variant").list.join(" > ")
        paths = done.select(
            _week(pl.col("end")).alias("week"),
            pl.when(path.is_in(top)).then(path).otherwise(pl.lit("other")).alias("cat"),
        )
        s = _categorical(paths, weeks[lead:], "stage paths", "paths", None)
        if s is not None:
            out.append(s)
    visits = res.visits  # the visits of ``staged``: the check's cases, whose events they are
    # visits come in case order (each case's visits together): the next one is the next row
    following = (
        shift_in_group(pl.col("visit"), "case_id", -1)
        if in_case_order(visits, ("case_id", "visit"))
        else pl.col("visit").shift(-1).over("case_id")
    )
    closed = (
        visits.lazy()
        .filter(following.is_not_null())
        .select(
            "stage",
            (pl.col("end") - pl.col("start")).dt.total_seconds(fractional=True).alias("dur"),
            _week(pl.col("end")).alias("week"),
        )
        .collect()
    )
    index = {w: i for i, w in enumerate(body)}
    # the events each stage's own people and agents performed, counted per activity, week and
    # kind of performer in one group-by: each series is read from these few rows
    own = (
        staged.lazy()
        .filter(
            pl.col("performed")
            & (pl.col("stage") == pl.col("at_stage"))
            & pl.col("kind").is_in(["human", "agent"])
        )
        .group_by("stage", "activity", _week(pl.col("timestamp")).alias("week"), "kind")
        .len()
        .collect()
    )
    own_by = _parts(own, "stage")
    # the closed visits' durations per stage and week: one group-by into lists, read as one
    # array with each list's bounds (not a partition of the visits and a group-by per stage)
    waits = closed.group_by("stage", "week").agg(pl.col("dur").cast(pl.Float64))
    flat = waits.get_column("dur").explode().to_numpy()
    bounds = np.zeros(waits.height + 1, dtype=np.int64)
    np.cumsum(waits.get_column("dur").list.len().to_numpy(), out=bounds[1:])
    waits_by: dict[str, list[tuple[Any, int]]] = {}
    for i, (stage, w) in enumerate(waits.select("stage", "week").iter_rows()):
        if stage is not None:
            waits_by.setdefault(stage, []).append((w, i))
    for stage in design.stage_ids:
        parts = waits_by.get(stage, [])
        if sum(bounds[i + 1] - bounds[i] for _, i in parts) >= 20:
            values: list[np.ndarray[Any, np.dtype[np.float64]]] = [np.zeros(0) for _ in body]
            for w, i in parts:
                if w in index:
                    values[index[w]] = flat[bounds[i] : bounds[i + 1]]
            out.append(_Series(f"wait in {stage}", "wait", stage, body, values=values))
        # per activity of the stage: an agent taking over is a change in who does each act,
        # which the stage's mix of activities would dilute
        in_stage = own_by.get(stage, own.clear())
        busy = (
            in_stage.group_by("activity")
            .agg(pl.col("len").sum())
            .filter(pl.col("len") >= 30)
            .sort("activity")
            .get_column("activity")
            .to_list()
        )
        by_activity = _parts(in_stage, "activity") if busy else {}
        for activity in busy:
            part_of = by_activity.get(activity, in_stage.clear())
            kinds = part_of.select("week", pl.col("kind").alias("cat"), "len")
            s = _matrix(
                kinds, body, f"agents' share of '{activity}' in {stage}", "performer", stage
            )
            if s is not None:
                out.append(s)
    gate_series = _gate_series(staged, design, weeks, pairs)
    if gate_series is not None:
        out.append(gate_series)
    return out, weeks


def _parts(df: pl.DataFrame, column: str) -> dict[Any, pl.DataFrame]:
    """``df``'s rows by their (non-null) value of ``column``, each part in ``df``'s order."""
    if df.height == 0:
        return {}
    return {
        key[0]: part
        for key, part in df.partition_by(column, as_dict=True, maintain_order=True).items()
        if key[0] is not None
    }


def _gate_series(
    staged: pl.DataFrame, design: Design, weeks: list[dt.date], pairs: pl.DataFrame | None = None
) -> _Series | None:
    if not design.gates:
        return None
    from wfmine.design import pattern_regex

    gate = design.gates[0]
    rx = "^(?:" + "|".join(pattern_regex(p) for p in gate.approvals) + ")$"
    key = pl.concat_str([pl.col("source").fill_null(""), pl.lit(":"), pl.col("activity")])
    # the regex runs on the distinct (source, activity) pairs; the events are picked by
    # activity first (a superset of the matching ones), so only those get the key and the test
    pairs = staged.select("source", "activity").unique() if pairs is None else pairs
    tested = pairs.select("activity", key.str.contains(rx).alias("_hit"))
    # the matching pairs' activities (of a log the events are part of: perhaps a few more)
    matching = tested.filter(pl.col("_hit")).get_column("activity").unique().sort()
    approval = pl.col("activity").is_in(matching.implode())
    # where every pair of those activities matches, the activity says it: no key, no regex
    if not tested.filter(approval).get_column("_hit").fill_null(False).all():
        approval = approval & key.str.contains(rx)
    at_gate = (pl.col("stage") == gate.before).fill_null(False)
    per = _gate_entries_in_order(staged, at_gate, approval) if in_kernel_order(staged) else None
    if per is None:
        per = _gate_entries(staged, gate.before, approval)
    if per.height < 20:
        return None
    return _categorical(per, weeks, f"approvers before {gate.before}", "gate", gate.before)


def _gate_entries(staged: pl.DataFrame, before: str, approval: pl.Expr) -> pl.DataFrame:
    """``week, cat`` of each case reaching the gated stage ``before``: the week it got there and
    its distinct approvers before (``0`` … ``3``, more counted as 3)."""
    # the columns read, before a filter copies the rows
    gated = staged.select("case_id", "stage", "pos", "timestamp").filter(pl.col("stage") == before)
    if in_kernel_order(gated) and gated.get_column("timestamp").null_count() == 0:
        # each case's rows together, in time order: its first row has both minima
        entry = gated.filter(first_in_group("case_id")).select(
            "case_id", pl.col("pos").alias("_gate"), pl.col("timestamp").alias("_at")
        )
    else:
        entry = gated.group_by("case_id").agg(
            pl.col("pos").min().alias("_gate"), pl.col("timestamp").min().alias("_at")
        )
    appr = (
        staged.select("case_id", "source", "activity", "pos", "actor_id")
        .filter(approval)
        .join(entry, on="case_id")
        .filter(pl.col("pos") < pl.col("_gate"))
        .group_by("case_id")
        .agg(pl.col("actor_id").n_unique().alias("n"))
    )
    return entry.join(appr, on="case_id", how="left").select(
        _week(pl.col("_at")).alias("week"),
        pl.col("n").fill_null(0).clip(upper_bound=3).cast(pl.String).alias("cat"),
    )


def _gate_entries_in_order(
    staged: pl.DataFrame, at_gate: pl.Expr, approval: pl.Expr
) -> pl.DataFrame | None:
    """:func:`_gate_entries` of stage events in the kernel's order (``None`` when a gated
    event has no timestamp): each case's rows are a run, ``pos`` rising, so a case's first
    gated row is its entry and the rows before it are those with no gated row yet (a
    running count of gated rows made case-local), found with array operations instead of
    a join on the case ids."""
    import numpy as np

    if staged.height == 0 or staged.select((at_gate & pl.col("timestamp").is_null()).any()).item():
        return None
    flags = staged.select(
        first_in_group("case_id").alias("f"), at_gate.alias("g"), approval.fill_null(False)
    )
    first, gated, approves = (flags.to_series(i).to_numpy() for i in range(3))
    run = np.cumsum(first)  # 1, 2, ...: the case of each row
    seen = np.cumsum(gated)
    starts = np.flatnonzero(first)
    before = seen[starts] - gated[starts]  # gated rows before each case
    so_far = seen - before[run - 1]  # the case's gated rows up to each row
    ends = np.append(starts[1:] - 1, len(first) - 1)
    reaches = (seen[ends] - before) > 0
    entries = np.flatnonzero(gated & (so_far == 1))
    earlier = np.flatnonzero(approves & (so_far == 0) & reaches[run - 1])
    entry = pl.DataFrame(
        {"_run": run[entries], "_at": staged.get_column("timestamp").gather(entries)}
    )
    appr = (
        pl.DataFrame(
            {"_run": run[earlier], "actor_id": staged.get_column("actor_id").gather(earlier)}
        )
        .group_by("_run")
        .agg(pl.col("actor_id").n_unique().alias("n"))
    )
    return entry.join(appr, on="_run", how="left").select(
        _week(pl.col("_at")).alias("week"),
        pl.col("n").fill_null(0).clip(upper_bound=3).cast(pl.String).alias("cat"),
    )


# -- the test ------------------------------------------------------------------------------


def _chi2_splits(m: np.ndarray[Any, Any], lo: int, hi: int) -> np.ndarray[Any, Any]:
    """Pearson chi-square of before/after tables for splits ``lo..hi-1`` of stacked ``m``.

    ``m``: (R, W, C) counts; returns (R, hi - lo).
    """
    import numpy as np

    cum = np.cumsum(m, axis=1)
    total = cum[:, -1:, :]  # (R, 1, C)
    before = cum[:, lo - 1 : hi - 1, :]  # splits k: weeks < k
    after = total - before
    n_b = before.sum(axis=2, keepdims=True)
    n_a = after.sum(axis=2, keepdims=True)
    n = n_b + n_a
    col = before + after
    with np.errstate(divide="ignore", invalid="ignore"):
        e_b = n_b * col / n
        e_a = n_a * col / n
        t = np.where(e_b > 0, (before - e_b) ** 2 / e_b, 0.0) + np.where(
            e_a > 0, (after - e_a) ** 2 / e_a, 0.0
        )
        stat = t.sum(axis=2)
    ok = (n_b[..., 0] > 0) & (n_a[..., 0] > 0)
    return np.where(ok, stat, 0.0)


def _rank_splits(
    rank_sums: np.ndarray[Any, Any], sizes: np.ndarray[Any, Any], lo: int, hi: int
) -> np.ndarray[Any, Any]:
    """|z| of the Mann–Whitney rank sum of before vs after, for splits ``lo..hi-1``.

    ``rank_sums``, ``sizes``: (R, W) per-week sums of the pooled ranks and counts.
    """
    import numpy as np

    cr = np.cumsum(rank_sums, axis=1)
    cn = np.cumsum(sizes, axis=1)
    n_total = cn[:, -1:]
    r_b = cr[:, lo - 1 : hi - 1]
    n_b = cn[:, lo - 1 : hi - 1]
    n_a = n_total - n_b
    with np.errstate(divide="ignore", invalid="ignore"):
        expected = n_b * (n_total + 1) / 2
        var = n_b * n_a * (n_total + 1) / 12
        z = np.where(var > 0, np.abs(r_b - expected) / np.sqrt(var), 0.0)
    return np.asarray(z)


#: permutations per block of the chi-square scan (see :func:`_scan`)
_BLOCK: Final = 128


@dataclass(frozen=True)
class _Found:
    split: int
    statistic: float
    p_value: float


def _scan(
    s: _Series, lo: int, hi: int, min_weeks: int, permutations: int, rng: np.random.Generator
) -> _Found | None:
    """The best split of weeks ``lo..hi`` (exclusive) and its permutation p-value."""
    import numpy as np

    width = hi - lo
    if width < 2 * min_weeks:
        return None
    first, last = min_weeks, width - min_weeks + 1  # split index within the segment
    # the identity, then ``permutations`` shuffles of it: rng.permuted shuffles each row in
    # turn as rng.permutation(width) would (the same draws), without a call per row
    perms = np.empty((permutations + 1, width), dtype=np.int64)
    perms[:] = np.arange(width)
    perms[1:] = rng.permuted(perms[1:], axis=1)
    if s.counts is not None:
        seg = s.counts[lo:hi]
        if (seg.sum(axis=0) > 0).sum() < 2:
            return None
        # in blocks of permutations: each block's (rows, weeks, categories) temporaries stay
        # in the cache (the whole stack's do not); rows are independent, so the same numbers
        stats = np.concatenate(
            [
                _chi2_splits(seg[perms[i : i + _BLOCK]], first, last)
                for i in range(0, permutations + 1, _BLOCK)
            ]
        )
    else:
        assert s.values is not None
        vals = s.values[lo:hi]
        sizes = np.array([len(v) for v in vals], dtype=float)
        if sizes.sum() < 2 * min_weeks:
            return None
        pooled = np.concatenate([v for v in vals if len(v)])
        ranks = average_ranks(pooled)
        bounds = np.concatenate([[0], np.cumsum(sizes).astype(int)])
        sums = np.array([ranks[bounds[i] : bounds[i + 1]].sum() for i in range(width)])
        stats = _rank_splits(sums[perms], sizes[perms], first, last)
    best = stats.max(axis=1)
    observed = float(best[0])
    if observed <= 0:
        return None
    p = float((1 + (best[1:] >= observed - 1e-12).sum()) / (permutations + 1))
    split = lo + first + int(np.argmax(stats[0]))
    return _Found(split, observed, p)


def _judged(
    log: pl.DataFrame,
    design: Design,
    accounts: pl.DataFrame | None,
    result: ConformanceResult,
    staged: pl.DataFrame | None,
    judged: pl.DataFrame | None,
) -> pl.DataFrame:
    """The stage events of the check's cases: ``judged``, else ``staged`` (computed if need be)
    restricted to them."""
    if judged is not None:
        return judged
    if staged is None:
        staged = stage_events(log, design, accounts=accounts)
    return staged.join(result.cases.select("case_id"), on="case_id", how="semi")


def _describe(s: _Series, lo: int, split: int, hi: int) -> tuple[str, str, float]:
    """Before / after in words, and the effect size, of a split."""
    import numpy as np

    if s.counts is not None:
        b = s.counts[lo:split].sum(axis=0)
        a = s.counts[split:hi].sum(axis=0)
        table = np.stack([b, a])
        keep = table.sum(axis=0) > 0
        table = table[:, keep]
        labels = [lab for lab, k in zip(s.labels, keep, strict=True) if k]
        n = table.sum()
        exp = table.sum(axis=1, keepdims=True) * table.sum(axis=0, keepdims=True) / n
        chi2 = float(np.where(exp > 0, (table - exp) ** 2 / exp, 0).sum())
        v = float(np.sqrt(chi2 / n / max(1, min(table.shape) - 1))) if n else 0.0
        if s.kind == "performer":
            j = labels.index("agent") if "agent" in labels else None

            def share(row: np.ndarray[Any, Any]) -> str:
                tot = row.sum()
                return (
                    f"agents {row[j] / tot:.0%} of {int(tot)} events"
                    if j is not None and tot
                    else "n/a"
                )

            return share(table[0]), share(table[1]), v

        def top(row: np.ndarray[Any, Any]) -> str:
            tot = row.sum()
            order = np.argsort(-row)[:3]
            return "; ".join(f"{labels[i]} {row[i] / tot:.0%}" for i in order if row[i]) + (
                f" (n={int(tot)})"
            )

        return top(table[0]), top(table[1]), v
    assert s.values is not None
    before = np.concatenate([np.zeros(0), *s.values[lo:split]])
    after = np.concatenate([np.zeros(0), *s.values[split:hi]])
    # Mann-Whitney's U of ``before``: its rank sum in the pooled sample less its least
    u = (
        float(average_ranks(np.concatenate([before, after]))[: len(before)].sum())
        - len(before) * (len(before) + 1) / 2
        if len(before) and len(after)
        else 0.0
    )
    r = 1 - 2 * u / (len(before) * len(after)) if len(before) and len(after) else 0.0

    def med(x: np.ndarray[Any, Any]) -> str:
        return f"median {_human(float(np.median(x)))} (n={len(x)})" if len(x) else "n/a"

    return med(before), med(after), abs(r)


def _human(seconds: float) -> str:
    if seconds < 3600:
        return f"{seconds / 60:.0f}m"
    if seconds < 2 * 86400:
        return f"{seconds / 3600:.1f}h"
    return f"{seconds / 86400:.1f}d"


def change_points(
    log: pl.DataFrame,
    design: Design,
    *,
    accounts: pl.DataFrame | None = None,
    alpha: float = 0.05,
    permutations: int = 1999,
    min_weeks: int = 3,
    min_effect: float = 0.4,
    seed: int = 0,
    result: ConformanceResult | None = None,
    staged: pl.DataFrame | None = None,
    judged: pl.DataFrame | None = None,
    pairs: pl.DataFrame | None = None,
) -> tuple[pl.DataFrame, int, int]:
    """Change points of the practised workflow (:data:`CHANGE_SCHEMA`), series tested, weeks.

    See the module docstring for the series, the test and its guard. A
    significant change smaller than ``min_effect`` (Cramér's V, or the
    rank-biserial correlation of waits) is not reported: week-to-week
    wandering of a busy series (one reviewer away for a month) is
    significant without being a change of practice.
    """
    import numpy as np

    series, weeks = weekly_series(
        log, design, accounts=accounts, result=result, staged=staged, judged=judged, pairs=pairs
    )
    rng = np.random.default_rng(seed)
    rows: list[dict[str, Any]] = []
    family = max(1, len(series))
    for s in series:
        lo0 = weeks.index(s.weeks[0]) if s.weeks and s.weeks[0] in weeks else 0
        offset = lo0  # the series' week 0 in the full calendar
        segments = [(0, len(s.weeks))]
        depth = 0
        while segments and depth < 3:
            nxt: list[tuple[int, int]] = []
            tests = len(segments)  # Bonferroni also over the segments tested at this depth
            for lo, hi in segments:
                found = _scan(s, lo, hi, min_weeks, permutations, rng)
                if found is None:
                    continue
                p_adj = min(1.0, found.p_value * family * tests)
                if p_adj >= alpha:
                    continue
                before, after, effect = _describe(s, lo, found.split, hi)
                if effect < min_effect:
                    continue
                strength = "strong" if p_adj < alpha / 5 and effect >= 0.6 else "clear"
                test = (
                    "max Pearson chi-square over split weeks"
                    if s.counts is not None
                    else "max |z| of the Mann-Whitney rank sum over split weeks"
                ) + (
                    f", {permutations} week permutations, Bonferroni over {family} series"
                    + (f" x {tests} segments" if tests > 1 else "")
                )
                rows.append(
                    {
                        "series": s.name,
                        "kind": s.kind,
                        "stage": s.stage,
                        "week": weeks[offset + found.split],
                        "before": before,
                        "after": after,
                        "effect": round(effect, 3),
                        "statistic": round(found.statistic, 3),
                        "p_value": found.p_value,
                        "p_adjusted": p_adj,
                        "test": test,
                        "strength": strength,
                    }
                )
                nxt += [(lo, found.split), (found.split, hi)]
            segments = nxt
            depth += 1
    frame = pl.DataFrame(rows, schema=CHANGE_SCHEMA) if rows else pl.DataFrame(schema=CHANGE_SCHEMA)
    return frame.sort(["week", "series"]), len(series), len(weeks)


# -- the design's changes --------------------------------------------------------------------


def load_design_with_changes(path: str | Path) -> tuple[Design, pl.DataFrame]:
    """The design of ``path`` and its ``changes:`` list (``date, description, source``).

    Both come from the one reading of the design file (:func:`wfmine.design.load_design`).
    """
    design = load_design(path)
    schema = {"date": pl.Date, "description": pl.String, "source": pl.String}
    rows = [
        {"date": c.date, "description": c.description, "source": "changes"} for c in design.changes
    ]
    changes = pl.DataFrame(rows, schema=schema) if rows else pl.DataFrame(schema=schema)
    return design, changes


def design_changes(path: str | Path) -> pl.DataFrame:
    """When the design changed: its ``changes:`` list and its git history (``date, description, source``).

    Git is asked only when the file is inside a work tree; a failing or
    missing git gives no history, not an error.
    """
    p = Path(path).resolve()
    _, listed = load_design_with_changes(p)
    rows: list[dict[str, Any]] = []
    try:
        inside = subprocess.run(
            ["git", "-C", str(p.parent), "rev-parse", "--is-inside-work-tree"],
            capture_output=True,
            text=True,
            timeout=20,
            check=False,
        )
        if inside.returncode == 0 and inside.stdout.strip() == "true":
            res = subprocess.run(
                [
                    "git",
                    "-C",
                    str(p.parent),
                    "log",
                    "--follow",
                    "--format=%H%x09%aI%x09%s",
                    "--",
                    p.name,
                ],
                capture_output=True,
                text=True,
                timeout=20,
                check=False,
            )
            if res.returncode == 0:
                for line in res.stdout.splitlines():
                    parts = line.split("\t", 2)
                    if len(parts) >= 2:
                        when = dt.datetime.fromisoformat(parts[1]).astimezone(dt.UTC).date()
                        subject = parts[2] if len(parts) > 2 else ""
                        rows.append(
                            {
                                "date": when,
                                "description": f"{parts[0][:10]} {subject}",
                                "source": "git",
                            }
                        )
    except (OSError, subprocess.SubprocessError, ValueError):
        rows = []
    git = pl.DataFrame(rows, schema=listed.schema) if rows else listed.clear()
    return pl.concat([listed, git]).sort("date")


def _fisher(a_yes: int, a_n: int, b_yes: int, b_n: int) -> float:
    if a_n == 0 or b_n == 0:
        return 1.0
    return fisher_exact(a_yes, a_n - a_yes, b_yes, b_n - b_yes)[1]


def _rate_row(
    metric: str, k_before: int, n_before: int, k_after: int, n_after: int
) -> dict[str, Any]:
    """A before/after share of work items, compared with Fisher's exact test."""
    return {
        "metric": metric,
        "stage": None,
        "before": k_before / n_before if n_before else None,
        "after": k_after / n_after if n_after else None,
        "n_before": n_before,
        "n_after": n_after,
        "p_value": _fisher(k_before, n_before, k_after, n_after),
        "test": "Fisher's exact test",
    }


def change_effects(
    log: pl.DataFrame,
    design: Design,
    changes: pl.DataFrame,
    *,
    weeks: int = 8,
    alpha: float = 0.05,
    accounts: pl.DataFrame | None = None,
    result: ConformanceResult | None = None,
    staged: pl.DataFrame | None = None,
    judged: pl.DataFrame | None = None,
    occurrences: pl.DataFrame | None = None,
    team_handoffs: pl.DataFrame | None = None,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Per design change, before vs after (``weeks`` each side): did it take effect?

    Returns (:data:`EFFECT_SCHEMA` rows, verdicts ``date, change, source,
    took_effect, summary``). A metric is ``significant`` when its p-value is
    below ``alpha`` divided by the metrics compared for that change.
    ``staged``/``judged``: as for :func:`weekly_series`. ``occurrences`` and
    ``team_handoffs``: the failure occurrences and team handoffs of the judged
    cases when already computed (``Analysis.occurrences``,
    ``Analysis.team_handoffs``: the findings' own, stall limits per kind of
    work item included), so a change is judged on the failures the findings
    report, not on a second reading of them.
    """
    import numpy as np

    verdict_schema = {
        "date": pl.Date,
        "change": pl.String,
        "source": pl.String,
        "took_effect": pl.Boolean,
        "summary": pl.String,
    }
    if changes.height == 0:
        return pl.DataFrame(schema=EFFECT_SCHEMA), pl.DataFrame(schema=verdict_schema)
    res = result if result is not None else check(log, design, accounts=accounts)
    staged = _judged(log, design, accounts, res, staged, judged)
    cases = res.cases.select("case_id", "end", "fitness")
    visits = res.visits.with_columns(
        (pl.col("end") - pl.col("start")).dt.total_seconds(fractional=True).alias("dur")
    )
    occ = occurrences if occurrences is not None else failure_occurrences(staged, design)
    occ_cases = occ.select("case_id").unique()
    team = (
        team_handoffs if team_handoffs is not None else handoffs(staged, design, dimension="team")
    )
    # the pairs the design owns, as the seam detector reads them (wildcards and the way
    # back of a designed round trip included)
    owned = {
        (a, b)
        for a, b in team.select("from", "to").unique().iter_rows()
        if design.seam_owner(a, b) is not None
    }
    rows: list[dict[str, Any]] = []
    verdicts: list[dict[str, Any]] = []
    first_ts, last_ts = (log.get_column("timestamp").min(), log.get_column("timestamp").max())
    for when, change, source in changes.select("date", "description", "source").iter_rows():
        at = dt.datetime.combine(when, dt.time(), tzinfo=dt.UTC)
        outside = _outside_log(at, first_ts, last_ts)
        if outside is not None:
            # a change made after the log ends (or before it starts) has no "after" (or
            # "before") in this data: say so rather than compare two empty sides
            verdicts.append(
                {"date": when, "change": change, "source": source, "took_effect": None,
                 "summary": outside}
            )  # fmt: skip
            continue
        lo, hi = at - dt.timedelta(weeks=weeks), at + dt.timedelta(weeks=weeks)
        metrics: list[dict[str, Any]] = []

        def side(
            frame: pl.DataFrame,
            col: str,
            lo: dt.datetime = lo,
            at: dt.datetime = at,
            hi: dt.datetime = hi,
        ) -> tuple[pl.DataFrame, pl.DataFrame]:
            b = frame.filter((pl.col(col) >= lo) & (pl.col(col) < at))
            a = frame.filter((pl.col(col) >= at) & (pl.col(col) < hi))
            return b, a

        cb, ca = side(cases, "end")
        fit_b = int((cb["fitness"] >= 1).sum())
        fit_a = int((ca["fitness"] >= 1).sum())
        metrics.append(_rate_row("conformance rate", fit_b, cb.height, fit_a, ca.height))
        fb = cb.join(occ_cases, on="case_id", how="semi").height
        fa = ca.join(occ_cases, on="case_id", how="semi").height
        metrics.append(_rate_row("items with a failure pattern", fb, cb.height, fa, ca.height))
        if team.height:
            hb, ha = side(team, "taken_at")
            pairs = pl.DataFrame(
                sorted(owned), schema={"from": pl.String, "to": pl.String}, orient="row"
            )
            ob = hb.join(pairs, on=["from", "to"], how="semi").height
            oa = ha.join(pairs, on=["from", "to"], how="semi").height
            metrics.append(_rate_row("seam coverage", ob, hb.height, oa, ha.height))
        vb, va = side(visits, "end")
        for stage in design.stage_ids:
            xb = vb.filter(pl.col("stage") == stage).get_column("dur").to_numpy()
            xa = va.filter(pl.col("stage") == stage).get_column("dur").to_numpy()
            if len(xb) < 5 or len(xa) < 5:
                continue
            # its exact small-sample p-value is scipy's: imported only where it is needed
            from scipy.stats import mannwhitneyu  # type: ignore[import-untyped, unused-ignore]

            metrics.append(
                {
                    "metric": "median wait",
                    "stage": stage,
                    "before": float(np.median(xb)),
                    "after": float(np.median(xa)),
                    "n_before": len(xb),
                    "n_after": len(xa),
                    "p_value": float(mannwhitneyu(xb, xa).pvalue),
                    "test": "Mann-Whitney U",
                }
            )
        k = max(1, len(metrics))
        moved = []
        for m in metrics:
            sig = m["p_value"] < alpha / k
            rows.append({"date": when, "change": change, "source": source, **m, "significant": sig})
            if sig:
                what = m["metric"] + (f" in {m['stage']}" if m["stage"] else "")
                if m["metric"] == "median wait":
                    moved.append(f"{what} {_human(m['before'])} -> {_human(m['after'])}")
                else:
                    moved.append(f"{what} {m['before']:.0%} -> {m['after']:.0%}")
        verdicts.append(
            {
                "date": when,
                "change": change,
                "source": source,
                "took_effect": bool(moved) if cb.height and ca.height else None,
                "summary": (
                    "took effect: " + "; ".join(moved)
                    if moved
                    else f"no measurable change in the {weeks} weeks around it"
                    if cb.height and ca.height
                    else f"nothing to compare: no work item completed in the {weeks} weeks "
                    + ("after" if cb.height else "before" if ca.height else "before or after")
                    + " it"
                ),
            }
        )
    return pl.DataFrame(rows, schema=EFFECT_SCHEMA), pl.DataFrame(verdicts, schema=verdict_schema)


def _outside_log(at: dt.datetime, first: object, last: object) -> str | None:
    """Why a change at ``at`` cannot be measured in a log spanning ``first`` .. ``last``, if so."""
    if not isinstance(first, dt.datetime) or not isinstance(last, dt.datetime):
        return "nothing to compare: the log has no events"
    tz = dt.UTC if first.tzinfo is not None else None
    at = at if tz is not None else at.replace(tzinfo=None)
    if at > last:
        return f"too early to tell: made after the log's last event ({last:%Y-%m-%d})"
    if at < first:
        return f"nothing to compare: made before the log's first event ({first:%Y-%m-%d})"
    return None


def drift(
    log: pl.DataFrame,
    design: Design,
    *,
    design_path: str | Path | None = None,
    changes: pl.DataFrame | None = None,
    accounts: pl.DataFrame | None = None,
    alpha: float = 0.05,
    permutations: int = 1999,
    weeks: int = 8,
    seed: int = 0,
    result: ConformanceResult | None = None,
    staged: pl.DataFrame | None = None,
    judged: pl.DataFrame | None = None,
    occurrences: pl.DataFrame | None = None,
    team_handoffs: pl.DataFrame | None = None,
    pairs: pl.DataFrame | None = None,
) -> DriftReport:
    """Change points of the practice and, per design change, whether it took effect.

    ``result``, ``staged`` and ``judged``: the conformance, the stage events of
    ``log`` under ``design`` and those of the check's cases when already
    computed (``Analysis.conformance``, ``Analysis.staged``,
    ``Analysis.judged``), so they are not computed again; ``occurrences`` and
    ``team_handoffs`` likewise (:func:`change_effects`), and ``pairs``, the log's
    distinct ``source, activity`` (``Analysis.activity_pairs``).
    """
    result = result if result is not None else check(log, design, accounts=accounts)
    if staged is None and judged is None:
        staged = stage_events(log, design, accounts=accounts)
    points, tested, n_weeks = change_points(
        log,
        design,
        accounts=accounts,
        alpha=alpha,
        permutations=permutations,
        seed=seed,
        result=result,
        staged=staged,
        judged=judged,
        pairs=pairs,
    )
    known = (
        changes
        if changes is not None
        else design_changes(design_path)
        if design_path is not None
        else pl.DataFrame(schema={"date": pl.Date, "description": pl.String, "source": pl.String})
    )
    effects, verdicts = change_effects(
        log, design, known, weeks=weeks, alpha=alpha, accounts=accounts, result=result,
        staged=staged, judged=judged, occurrences=occurrences, team_handoffs=team_handoffs,
    )  # fmt: skip
    return DriftReport(points, tested, n_weeks, known, effects, verdicts)
