"""The one shape every finding has (DESIGN.md "Findings"), as a dataclass and a frame.

``finding_id`` is a stable hash of (kind, subject): re-running the detectors on
a grown log updates a finding instead of creating a new one, so a report can
say "new since last week".
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Final

import polars as pl

from wfmine.model import to_json

__all__ = [
    "ALL_FINDING_KINDS",
    "FINDING_KINDS",
    "FINDING_SCHEMA",
    "SEVERITY_RANK",
    "Finding",
    "finding_id",
    "findings_frame",
    "findings_json",
    "iso",
    "iso_expr",
]

SEVERITY_RANK: Final = {"high": 0, "medium": 1, "low": 2}
#: the kinds of finding :func:`wfmine.findings.findings` reports
FINDING_KINDS: Final[tuple[str, ...]] = (
    "shadow_agent",
    "unowned_seam",
    "failure_pattern",
    "gate_violation",
)
#: every kind an analysis reports: the detectors' and the reviewer audit's
#: (:func:`wfmine.governance.reviewer_findings`)
ALL_FINDING_KINDS: Final[tuple[str, ...]] = (*FINDING_KINDS, "reviewer_quality")

FINDING_SCHEMA: Final = pl.Schema(
    {
        "kind": pl.String,
        "subject": pl.String,
        "severity": pl.String,
        "summary": pl.String,
        "evidence": pl.String,
        "first_seen": pl.String,
        "last_seen": pl.String,
        "trend": pl.String,
        "finding_id": pl.String,
        "subject_name": pl.String,
        "assumption": pl.String,
        #: JSON text ``{"patch": ..., "effect": ...}`` or null, like ``evidence``
        "suggestion": pl.String,
    }
)


def finding_id(kind: str, subject: str) -> str:
    """Stable id of a finding: the first 16 hex digits of sha256(kind NUL subject)."""
    return hashlib.sha256(f"{kind}\x00{subject}".encode()).hexdigest()[:16]


def iso(value: Any) -> str | None:
    """ISO-8601 UTC text of a timestamp (``None`` stays ``None``)."""
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        return str(value.astimezone(dt.UTC).isoformat()).replace("+00:00", "Z")
    return str(value)


def iso_expr(value: pl.Expr) -> pl.Expr:
    """:func:`iso` of a UTC timestamp column, as an expression (``...T10:00:00Z``, with
    ``.ffffff`` only where the microseconds are not zero, as ``isoformat`` writes)."""
    whole = value.dt.strftime("%Y-%m-%dT%H:%M:%SZ")
    return (
        pl.when(value.dt.microsecond() == 0)
        .then(whole)
        .otherwise(value.dt.strftime("%Y-%m-%dT%H:%M:%S%.6fZ"))
    )


@dataclass(frozen=True)
class Finding:
    """One finding: what, about whom or what, how bad, and the evidence."""

    kind: str
    subject: str
    severity: str
    summary: str
    evidence: dict[str, Any] = field(default_factory=dict)
    first_seen: Any = None
    last_seen: Any = None
    trend: str | None = None
    #: the subject as a person reads it (display name, "qa → operations", ...)
    subject_name: str | None = None
    #: the design assumption the finding shows broken, one sentence
    assumption: str | None = None
    #: ``{"patch": "<design-file edit in YAML>", "effect": "<estimated effect>"}``
    suggestion: dict[str, str] | None = None

    @property
    def finding_id(self) -> str:
        """Stable hash of (kind, subject)."""
        return finding_id(self.kind, self.subject)

    def row(self) -> dict[str, Any]:
        """The finding as a row of :data:`FINDING_SCHEMA`."""
        return {
            "kind": self.kind,
            "subject": self.subject,
            "severity": self.severity,
            "summary": self.summary,
            "evidence": to_json(self.evidence),
            "first_seen": iso(self.first_seen),
            "last_seen": iso(self.last_seen),
            "trend": self.trend,
            "finding_id": self.finding_id,
            "subject_name": self.subject_name or self.subject,
            "assumption": self.assumption,
            "suggestion": to_json(self.suggestion) if self.suggestion else None,
        }


def findings_frame(items: Iterable[Finding]) -> pl.DataFrame:
    """Findings as a frame of :data:`FINDING_SCHEMA`, sorted by kind, severity, subject."""
    rows = [f.row() for f in items]
    df = pl.DataFrame(rows, schema=FINDING_SCHEMA) if rows else pl.DataFrame(schema=FINDING_SCHEMA)
    return sort_findings(df)


def sort_findings(df: pl.DataFrame) -> pl.DataFrame:
    """Deterministic order: kind, severity (high first), subject, finding_id."""
    rank = pl.col("severity").replace_strict(SEVERITY_RANK, default=9, return_dtype=pl.Int64)
    return (
        df.with_columns(rank.alias("_rank"))
        .sort(["kind", "_rank", "subject", "finding_id"])
        .drop("_rank")
    )


def findings_json(df: pl.DataFrame) -> list[dict[str, Any]]:
    """Findings as the DESIGN.md JSON objects (evidence and suggestion parsed back).

    In the frame ``evidence`` and ``suggestion`` are JSON text (one column
    type for every kind of finding); here they are objects again.

    >>> findings_json(findings_frame([Finding("unowned_seam", "a -> b", "low", "s")]))[0]["kind"]
    'unowned_seam'
    """
    out: list[dict[str, Any]] = []
    for row in df.iter_rows(named=True):
        item = dict(row)
        item["evidence"] = json.loads(row["evidence"]) if row["evidence"] else {}
        text = row.get("suggestion")
        item["suggestion"] = json.loads(text) if text else None
        out.append(item)
    return out
