"""Process-model conformance through pm4py: token replay and alignments, once per variant.

Two uses:

- :func:`check_model` — *model mode* for standard logs (XES, CSV, OCEL):
  check a log against a PNML or BPMN model. Token-based replay (the
  default: seconds) or, on request, alignments (optimal but can take minutes:
  bounded by a time limit, with progress) run once per distinct trace
  variant (a 1M-event log has thousands of cases but often few variants) and
  are expanded to cases; the aggregate log fitness is computed exactly as
  pm4py's ``fitness_token_based_replay`` and ``fitness_alignments`` compute
  it, so the figures are equal. ``summary["method"]`` says which ran.
- :func:`explain_variants` — turn a :class:`~wfmine.design.Design` into a
  Petri net (:func:`design_petri_net`) and align each deviating *stage*
  variant to it, giving optimal explanations in log and model moves.

pm4py is imported inside these functions: it costs about a second to import.

>>> from wfmine.conformance.models import check_model
>>> result = check_model(log, "model.pnml")  # doctest: +SKIP
>>> result.summary["token_log_fitness"], result.summary["alignment_log_fitness"]  # doctest: +SKIP
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import polars as pl

from wfmine.design import Design
from wfmine.errors import InputError
from wfmine.stages import CASE_ORDER, Scope, case_scope, stage_events, stage_visits

__all__ = [
    "ModelCheck",
    "check_model",
    "design_petri_net",
    "explain_variants",
    "read_model",
    "trace_variants",
]

_ACTIVITY_KEY: Final = "concept:name"
#: (net, initial marking, final marking) as pm4py builds them
PetriModel = tuple[Any, Any, Any]


@dataclass
class ModelCheck:
    """Result of :func:`check_model`.

    - ``variants``: one row per trace variant — ``activities``, ``cases``,
      token replay figures (``token_fitness``, missing/consumed/remaining/
      produced tokens) and alignment figures (``alignment_fitness``,
      ``cost``, ``bwc``);
    - ``cases``: one row per case with its variant's figures;
    - ``summary``: log-level figures equal to pm4py's.
    """

    variants: pl.DataFrame
    cases: pl.DataFrame
    summary: dict[str, Any] = field(default_factory=dict)


def read_model(path: str | Path) -> PetriModel:
    """Read a PNML Petri net or a BPMN model (converted to a Petri net)."""
    import pm4py

    p = Path(path)
    if not p.exists():
        raise InputError(f"{p}: no such model file")
    suffix = p.suffix.lower()
    if suffix == ".pnml":
        net, im, fm = pm4py.read_pnml(str(p))
        return net, im, fm
    if suffix == ".bpmn":
        net, im, fm = pm4py.convert_to_petri_net(pm4py.read_bpmn(str(p)))
        return net, im, fm
    raise InputError(f"{p}: a model is a .pnml or .bpmn file")


def trace_variants(log: pl.DataFrame, *, activity: str = "activity") -> pl.DataFrame:
    """Every case's trace (activities in (timestamp, seq, event_id) order) and variant.

    Returns ``case_id``, ``activities`` (list) — group it by ``activities``
    for variants.
    """
    order = [c for c in CASE_ORDER if c in log.columns]
    return (
        log.sort(order, nulls_last=True, maintain_order=True)
        .group_by("case_id", maintain_order=True)
        .agg(pl.col(activity).alias("activities"))
    )


def _event_log(traces: list[list[str]]) -> Any:
    from pm4py.objects.log.obj import Event, EventLog, Trace

    return EventLog([Trace([Event({_ACTIVITY_KEY: a}) for a in t]) for t in traces])


#: progress of alignments: (variants aligned, variants, cases covered, cases, seconds)
AlignProgress = Callable[[int, int, int, int, float], None]


def check_model(
    log: pl.DataFrame,
    model: str | Path | PetriModel,
    *,
    alignments: bool = False,
    token_replay: bool | None = None,
    timeout: float | None = None,
    progress: AlignProgress | None = None,
) -> ModelCheck:
    """Token-based replay (default) or alignment fitness of ``log`` on a PNML/BPMN model.

    ``model`` is a path or a ``(net, initial_marking, final_marking)``
    triple. Each distinct variant is replayed once. ``summary`` holds
    ``method`` (``"token_replay"`` or ``"alignments"``), ``token_log_fitness``
    (``0.5·(1 − Σmissing/Σconsumed) + 0.5·(1 − Σremaining/Σproduced)`` over
    all cases, as pm4py) or ``alignment_log_fitness`` (``1 − Σcost/Σbwc``),
    the average trace fitness and the share of fitting cases.

    ``alignments=True`` aligns the variants instead (``token_replay=True``
    adds the token figures too), most frequent first, in batches: after each
    batch ``progress`` is called, and once ``timeout`` seconds have passed no
    further variant is aligned. Then ``summary["alignments_complete"]`` is
    false, the variants left out have no alignment figures, and the alignment
    figures cover ``summary["aligned_cases"]`` of the cases.
    """
    if token_replay is None:
        token_replay = not alignments
    net, im, fm = read_model(model) if isinstance(model, str | Path) else model
    per_case = trace_variants(log)
    variants = (
        per_case.group_by("activities", maintain_order=True)
        .agg(pl.len().cast(pl.Int64).alias("cases"))
        .sort("cases", descending=True, maintain_order=True)
    )
    traces: list[list[str]] = variants.get_column("activities").to_list()
    ev_log = _event_log(traces)
    columns: dict[str, list[Any]] = {}
    if token_replay:
        from pm4py.algo.conformance.tokenreplay import algorithm as tr

        replay = tr.apply(ev_log, net, im, fm, parameters={"show_progress_bar": False})
        columns["token_fitness"] = [float(r["trace_fitness"]) for r in replay]
        columns["token_fit"] = [bool(r["trace_is_fit"]) for r in replay]
        for k in ("missing", "consumed", "remaining", "produced"):
            columns[f"{k}_tokens"] = [int(r[f"{k}_tokens"]) for r in replay]
    complete = True
    if alignments:
        weights = variants.get_column("cases").to_list()
        found, complete = _align(traces, weights, (net, im, fm), timeout, progress)
        columns["alignment_fitness"] = [None if a is None else a[0] for a in found]
        columns["cost"] = [None if a is None else a[1] for a in found]
        columns["bwc"] = [None if a is None else a[2] for a in found]
    variants = variants.with_columns(
        pl.Series(k, v, dtype=pl.Boolean if k == "token_fit" else pl.Float64 if k in (
            "alignment_fitness", "cost", "bwc") else None)
        for k, v in columns.items()
    )  # fmt: skip
    cases = per_case.join(variants, on="activities", how="left").sort("case_id")
    summary: dict[str, Any] = {"method": "alignments" if alignments else "token_replay"}
    summary.update(_model_summary(variants))
    if alignments:
        aligned = variants.filter(pl.col("alignment_fitness").is_not_null())
        summary["alignments_complete"] = complete
        summary["aligned_variants"] = aligned.height
        summary["aligned_cases"] = int(aligned.get_column("cases").sum())
        if timeout is not None:
            summary["timeout_s"] = timeout
    return ModelCheck(variants=variants, cases=cases, summary=summary)


def _align(
    traces: list[list[str]],
    weights: list[int],
    model: PetriModel,
    timeout: float | None,
    progress: AlignProgress | None,
) -> tuple[list[tuple[float, float, float] | None], bool]:
    """pm4py's alignment (fitness, cost, bwc) of each trace, most frequent first, within ``timeout``.

    Traces are aligned in batches (one pm4py call each: 1, 2, 4, … traces, at
    most about 2% of them); pm4py's own time limits (per log call and per trace) are set to the
    time left, so one hard trace cannot run past the limit. Returns the
    figures (``None`` for traces not aligned in time) and whether all were.
    """
    from pm4py.algo.conformance.alignments.petri_net import algorithm as al

    net, im, fm = model
    started = time.perf_counter()
    found: list[tuple[float, float, float] | None] = [None] * len(traces)
    total_cases = sum(weights)
    done_cases = 0
    cap = max(1, len(traces) // 50)
    begin, step = 0, 1
    while begin < len(traces):
        left = None if timeout is None else timeout - (time.perf_counter() - started)
        if left is not None and left <= 0:
            return found, False
        params: dict[Any, Any] = {"show_progress_bar": False}
        if left is not None:
            params[al.Parameters.PARAM_MAX_ALIGN_TIME] = left
            params[al.Parameters.PARAM_MAX_ALIGN_TIME_TRACE] = left
        batch = traces[begin : begin + step]
        aligned = al.apply(_event_log(batch), net, im, fm, parameters=params)
        for offset, a in enumerate(aligned):
            if a is not None and a.get("fitness") is not None:
                found[begin + offset] = (float(a["fitness"]), float(a["cost"]), float(a["bwc"]))
                done_cases += weights[begin + offset]
        if progress is not None:
            count = sum(f is not None for f in found)
            progress(count, len(traces), done_cases, total_cases, time.perf_counter() - started)
        if any(a is None or a.get("fitness") is None for a in aligned):
            return found, False
        begin += len(batch)
        step = min(cap, step * 2)  # small batches first: progress from the start
    return found, True


def _model_summary(v: pl.DataFrame) -> dict[str, Any]:
    n = int(v.get_column("cases").sum())
    out: dict[str, Any] = {"cases": n, "variants": v.height}
    w = pl.col("cases")
    if "token_fitness" in v.columns:
        s = v.select(*(pl.col(f"{k}_tokens").mul(w).sum().alias(k) for k in
                       ("missing", "consumed", "remaining", "produced")),
                     (pl.col("token_fitness") * w).sum().alias("f"),
                     w.filter(pl.col("token_fit")).sum().alias("fit")).row(0, named=True)  # fmt: skip
        ok = n > 0 and s["consumed"] > 0 and s["produced"] > 0
        out["token_log_fitness"] = (
            0.5 * (1 - s["missing"] / s["consumed"]) + 0.5 * (1 - s["remaining"] / s["produced"])
            if ok else 0.0
        )  # fmt: skip
        out["token_average_trace_fitness"] = s["f"] / n if ok else 0.0
        out["token_fitting_cases_pct"] = 100.0 * s["fit"] / n if ok else 0.0
    if "alignment_fitness" in v.columns:
        # over the aligned variants only (all of them unless a time limit stopped alignments)
        v = v.filter(pl.col("alignment_fitness").is_not_null())
        n = int(v.get_column("cases").sum())
        s = v.select((pl.col("cost") * w).sum().alias("cost"), (pl.col("bwc") * w).sum().alias("bwc"),
                     (pl.col("alignment_fitness") * w).sum().alias("f"),
                     w.filter(pl.col("alignment_fitness") == 1.0).sum().alias("fit")).row(0, named=True)  # fmt: skip
        bwc = s["bwc"] or 0.0
        out["alignment_log_fitness"] = 1.0 - (s["cost"] / bwc if bwc > 0 else 0.0)
        out["alignment_average_trace_fitness"] = s["f"] / n if n else 0.0
        out["alignment_fitting_cases_pct"] = 100.0 * s["fit"] / n if n else 0.0
    return out


def design_petri_net(design: Design) -> PetriModel:
    """The design as a Petri net: one place per stage, one transition per allowed move.

    Place ``after:<s>`` means "the last stage visit was ``s``". Each start
    stage ``s`` has a transition labelled ``s`` from the source place; each
    allowed move ``a -> b`` a transition labelled ``b`` from ``after:a`` to
    ``after:b``; each end stage an invisible transition to the sink. The
    net's language is exactly the stage sequences the design allows (with
    consecutive repeats collapsed).
    """
    from pm4py.objects.petri_net.obj import Marking, PetriNet
    from pm4py.objects.petri_net.utils import petri_utils

    net = PetriNet(f"design:{design.name}")
    source, sink = PetriNet.Place("source"), PetriNet.Place("sink")
    places = {s: PetriNet.Place(f"after:{s}") for s in design.stage_ids}
    for p in (source, sink, *places.values()):
        net.places.add(p)

    def arc(name: str, label: str | None, src: Any, dst: Any) -> None:
        t = PetriNet.Transition(name, label)
        net.transitions.add(t)
        petri_utils.add_arc_from_to(src, t, net)
        petri_utils.add_arc_from_to(t, dst, net)

    for s in design.start_stages:
        arc(f"start->{s}", s, source, places[s])
    for a, b in sorted(design.transitions):
        if a != b:
            arc(f"{a}->{b}", b, places[a], places[b])
    for e in design.end_stages:
        arc(f"{e}->end", None, places[e], sink)
    return net, Marking({source: 1}), Marking({sink: 1})


def _allowed_sequence(design: Design, stages: list[str]) -> bool:
    if not stages:
        return True
    moves_ok = all(move in design.allowed for move in itertools.pairwise(stages))
    return moves_ok and stages[0] in design.start_stages and stages[-1] in design.end_stages


def explain_variants(
    log: pl.DataFrame, design: Design, *, top: int = 10, scope: Scope = "work_items"
) -> pl.DataFrame:
    """Optimal alignments of the ``top`` most frequent deviating stage variants.

    A stage variant is a case's sequence of stage visits. Each deviating
    variant is aligned once to :func:`design_petri_net`; moves read
    ``"sync <stage>"``, ``"log <stage>"`` (visited, not allowed there) and
    ``"model <stage>"`` (required by the design, not visited). ``scope``
    picks the cases as :func:`wfmine.conformance.check` does.

    >>> explain_variants(log, design, top=5)  # doctest: +SKIP
    """
    from pm4py.algo.conformance.alignments.petri_net import algorithm as al

    events = stage_events(log, design, unknown_kind=None)
    in_scope, _ = case_scope(events, scope)
    visits = stage_visits(events.join(in_scope, on="case_id", how="semi", maintain_order="left"))
    variants = (
        visits.group_by("case_id", maintain_order=True)
        .agg(pl.col("stage").alias("variant"))  # visits are in case order
        .group_by("variant")
        .agg(
            pl.len().cast(pl.Int64).alias("cases"),
            pl.col("case_id").sort().head(5).alias("example_cases"),
        )
        .sort(["cases", pl.col("variant").list.join(">")], descending=[True, False])
    )
    deviating = [
        row for row in variants.iter_rows(named=True)
        if not _allowed_sequence(design, list(row["variant"]))
    ][:top]  # fmt: skip
    schema: dict[str, Any] = {
        "variant": pl.List(pl.String),
        "cases": pl.Int64,
        "example_cases": pl.List(pl.String),
        "fitness": pl.Float64,
        "cost": pl.Float64,
        "moves": pl.List(pl.String),
        "explanation": pl.String,
    }
    if not deviating:
        return pl.DataFrame(schema=schema)
    net, im, fm = design_petri_net(design)
    aligned = al.apply(
        _event_log([list(r["variant"]) for r in deviating]),
        net, im, fm, parameters={"show_progress_bar": False},
    )  # fmt: skip
    rows = []
    for row, a in zip(deviating, aligned, strict=True):
        moves: list[str] = []
        for log_label, model_label in a["alignment"]:
            if log_label != ">>" and model_label != ">>":
                moves.append(f"sync {log_label}")
            elif log_label != ">>":
                moves.append(f"log {log_label}")
            elif model_label is not None:
                moves.append(f"model {model_label}")
        deviations = [m for m in moves if not m.startswith("sync")]
        rows.append(
            {
                **row,
                "fitness": float(a["fitness"]),
                "cost": float(a["cost"]),
                "moves": moves,
                "explanation": "; ".join(
                    ("extra " + m[4:]) if m.startswith("log") else ("missing " + m[6:])
                    for m in deviations
                ),
            }
        )
    return pl.DataFrame(rows, schema=schema)
