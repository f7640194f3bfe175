"""``wfmine agents``: reviewer audit, human vs agent cohorts, DORA metrics (issue 19)."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from wfmine.cli._common import (
    CaseNotionOption,
    DbOption,
    DesignOption,
    JsonOption,
    WindowOption,
    console,
    design_for,
    emit_json,
    guarded,
    resolve_db,
    validate_case_notion,
)


def register(app: typer.Typer) -> None:
    app.command("agents")(agents)


def _hours(value: Any) -> str:
    if value is None:
        return "-"
    h = float(value) / 3600.0
    return f"{h / 24:.1f}d" if h >= 48 else f"{h:.1f}h"


def _pct(value: Any) -> str:
    return "-" if value is None else f"{float(value):.0%}"


@guarded
def agents(
    design: DesignOption = None,
    db: DbOption = None,
    as_json: JsonOption = False,
    window: WindowOption = "all",
    days: Annotated[
        float,
        typer.Option(help="Days after a merge in which a revert, reopen or fix counts against it."),
    ] = 14,
    case_notion: CaseNotionOption = "work_item",
) -> None:
    """What happened to the work each reviewer approved, every metric by cohort, DORA weekly."""
    import polars as pl

    from wfmine.analysis import Analysis
    from wfmine.errors import InputError
    from wfmine.findings import findings_json
    from wfmine.findings._shape import findings_frame
    from wfmine.governance import (
        cohort_table,
        delivery,
        reviewer_audit,
        reviewer_comparison,
        reviewer_findings,
    )
    from wfmine.governance.dora import definitions
    from wfmine.store import open_for_reading
    from wfmine.window import parse_window

    span = parse_window(window, "--window")
    if not days > 0:
        raise InputError(f"--days must be a positive number of days (got {days:g})")
    store_path = resolve_db(db)
    if not store_path.exists():
        raise InputError(f"{store_path}: no store there (run `wfmine ingest` first, or give --db)")
    with open_for_reading(store_path) as store:
        validate_case_notion(store, case_notion)
        chosen = design_for(design, store_path)
        if chosen is None:
            raise InputError(
                "no design: give --design FILE, or run in a workspace that has design.yaml"
            )
        analysis = Analysis.of(store, chosen, window=span, case_notion=case_notion)
        names = analysis.display_names
        inp = analysis.governance
        audit = reviewer_audit(inp, window_days=days)
        comparison = reviewer_comparison(inp, window_days=days)
        found = findings_frame(reviewer_findings(inp, window_days=days, names=names))
        cohorts = cohort_table(inp, window_days=days)
        figures = delivery(analysis, window_days=days)
    if as_json:
        emit_json(
            {
                "scope": analysis.scope.as_dict(),
                "window_days": days,
                "reviewers": audit.to_dicts(),
                "comparison": comparison.to_dicts(),
                "findings": findings_json(found),
                "cohorts": cohorts.to_dicts(),
                "dora": {
                    "definitions": definitions(),
                    "summary": figures["dora_summary_all"].to_dicts(),
                    "summary_by_cohort": figures["dora_summary"].to_dicts(),
                    "weekly": figures["dora_weekly_all"].to_dicts(),
                    "weekly_by_cohort": figures["dora_weekly"].to_dicts(),
                },
                "architect": {
                    k: figures[k].to_dicts()
                    for k in (
                        "stability",
                        "recovery",
                        "seam_coverage",
                        "failure_decline",
                        "agent_readiness",
                    )
                },
            }
        )
        return
    from rich.table import Table

    out = console()
    out.print(analysis.scope.describe())
    table = Table(
        title=f"Reviewer audit: what followed the merges they approved (within {days:g} days)"
    )
    for col in ("reviewer", "kind", "approvals", "human gate", "reverted", "reopened",
                "CI fix", "follow-up", "failed (95% CI)"):  # fmt: skip
        table.add_column(col)
    for r in audit.filter(pl.col("tier") == "all").iter_rows(named=True):
        name = names.get(str(r["reviewer"]), str(r["reviewer"]))
        table.add_row(
            name,
            r["kind"] + (" (sanctioned)" if r["sanctioned"] else ""),
            str(r["approvals"]),
            str(r["human_required"]),
            f"{r['reverted']} ({_pct(r['reverted_rate'])})",
            f"{r['reopened']} ({_pct(r['reopened_rate'])})",
            f"{r['ci_fix']} ({_pct(r['ci_fix_rate'])})",
            f"{r['follow_up_fix']} ({_pct(r['follow_up_fix_rate'])})",
            f"{_pct(r['failed_rate'])} [{_pct(r['failed_low'])}-{_pct(r['failed_high'])}]",
        )
    out.print(table)
    for r in comparison.filter(pl.col("level") == "pooled").iter_rows(named=True):
        name = names.get(str(r["reviewer"]), str(r["reviewer"]))
        if not r["agent_prs"]:
            out.print(
                f"{name}: no PR it approved alone shares a tier and stage with human-approved work."
            )
            continue
        p = "-" if r["p_value"] is None else f"{r['p_value']:.3g}"
        out.print(
            f"{name} alone vs human-approved work of the same tier and stage: "
            f"{_pct(r['agent_rate'])} of {r['agent_prs']} failed vs {_pct(r['human_rate'])} of "
            f"{r['human_prs']} (CMH p={p}) -> "
            + ("[red]measurably worse[/red]" if r["worse"] else "not measurably worse")
        )
    for f in found.iter_rows(named=True):
        out.print(f"[bold]{f['severity']}[/bold] reviewer_quality: {f['summary']}")
    ct = Table(title="Metrics by cohort (median [95% CI] or rate [95% Wilson CI])")
    for col in ("metric", "stage", "cohort", "n", "value"):
        ct.add_column(col)
    for r in cohorts.iter_rows(named=True):
        fmt = _hours if r["unit"] == "s" else _pct
        ct.add_row(r["metric"], r["stage"] or "", r["cohort"], str(r["n"]),
                   f"{fmt(r['value'])} [{fmt(r['low'])}-{fmt(r['high'])}]")  # fmt: skip
    out.print(ct)
    dt_ = Table(title="DORA (deployment = merge; failure = revert or reopen) by cohort")
    for col in ("cohort", "deployments", "per week", "lead time", "change failure rate",
                "time to restore", "recovery"):  # fmt: skip
        dt_.add_column(col)
    for r in pl.concat([figures["dora_summary_all"], figures["dora_summary"]]).iter_rows(
        named=True
    ):
        dt_.add_row(r["cohort"], str(r["deployments"]), f"{r['deployments_per_week'] or 0:g}",
                    _hours(r["lead_time_median_s"]), _pct(r["change_failure_rate"]),
                    _hours(r["restore_median_s"]), _hours(r["recovery_median_s"]))  # fmt: skip
    out.print(dt_)
    wk = Table(title="DORA weekly (last 8 weeks)")
    for col in ("week", "deployments", "lead time", "CFR", "restore"):
        wk.add_column(col)
    for r in figures["dora_weekly_all"].tail(8).iter_rows(named=True):
        wk.add_row(f"{r['week']:%Y-%m-%d}", str(r["deployments"]), _hours(r["lead_time_median_s"]),
                   _pct(r["change_failure_rate"]), _hours(r["restore_median_s"]))  # fmt: skip
    out.print(wk)
    rd = Table(title="Agent readiness per stage")
    for col in ("stage", "verdict", "agent share", "agent rework", "human rework"):
        rd.add_column(col)
    for r in figures["agent_readiness"].iter_rows(named=True):
        rd.add_row(r["stage"], r["verdict"], _pct(r["agent_share"]), _pct(r["agent_rework"]),
                   _pct(r["human_rework"]))  # fmt: skip
    out.print(rd)
    st = figures["stability"].row(0, named=True) if figures["stability"].height else {}
    if st:
        out.print(
            f"Throughput stability (wfmine's definition): CV {st['cv'] or 0:.2f}, weekly "
            f"completions p10-p90 {st['p10'] or 0:g}-{st['p90'] or 0:g} over {st['weeks']} weeks."
        )
    for r in figures["failure_decline"].iter_rows(named=True):
        out.print(
            f"Failure pattern {r['type']}: {r['cases']} cases over {r['weeks']} weeks, {r['trend']}."
        )
