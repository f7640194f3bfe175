"""Process-model conformance through pm4py: token replay and alignments, once per variant.

Two uses:

- :func:`check_model` — *model mode* for standard logs (XES, CSV, OCEL):
  check a log against a PNML or BPMN model. Token-based replay and
  alignments run once per distinct trace variant (a 1M-event log has
  thousands of cases but often few variants) and are expanded to cases; the
  aggregate log fitness is computed exactly as pm4py's
  ``fitness_token_based_replay`` and ``fitness_alignments`` compute it, so the
  figures are equal.
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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import polars as pl

from wfmine.stages import CASE_ORDER, Scope, case_scope, stage_events, stage_visits
from wfmine.design import Design
from wfmine.errors import InputError

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


def check_model(
    log: pl.DataFrame,
    model: str | Path | PetriModel,
    *,
    alignments: bool = True,
    token_replay: bool = True,
) -> ModelCheck:
    """Token-based replay and alignment fitness of ``log`` on a PNML/BPMN model.

    ``model`` is a path or a ``(net, initial_marking, final_marking)``
    triple. Each distinct variant is replayed once. ``summary`` holds
    ``token_log_fitness`` (``0.5·(1 − Σmissing/Σconsumed) + 0.5·(1 −
    Σremaining/Σproduced)`` over all cases, as pm4py), ``alignment_log_fitness``
    (``1 − Σcost/Σbwc``), the average trace fitness and the share of fitting
    cases of each.
    """
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
    if alignments:
        from pm4py.algo.conformance.alignments.petri_net import algorithm as al

        aligned = al.apply(ev_log, net, im, fm, parameters={"show_progress_bar": False})
        columns["alignment_fitness"] = [float(a["fitness"]) for a in aligned]
        columns["cost"] = [float(a["cost"]) for a in aligned]
        columns["bwc"] = [float(a["bwc"]) for a in aligned]
    variants = variants.with_columns(
        pl.Series(k, v, dtype=pl.Boolean if k == "token_fit" else None) for k, v in columns.items()
    )
    cases = per_case.join(variants, on="activities", how="left").sort("case_id")
    return ModelCheck(variants=variants, cases=cases, summary=_model_summary(variants))


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
        s = v.select((pl.col("cost") * w).sum().alias("cost"), (pl.col("bwc") * w).sum().alias("bwc"),
                     (pl.col("alignment_fitness") * w).sum().alias("f"),
                     w.filter(pl.col("alignment_fitness") == 1.0).sum().alias("fit")).row(0, named=True)  # fmt: skip
        out["alignment_log_fitness"] = 1.0 - (s["cost"] / s["bwc"] if s["bwc"] > 0 else 0.0)
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
