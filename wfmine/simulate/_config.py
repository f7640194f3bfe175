"""Configuration of the simulation: which problems to plant, how often, with which trend."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Literal

Trend = Literal["rising", "declining", "stable"]

FAILURE_TYPES: tuple[str, ...] = (
    "rework_loop",
    "reopen",
    "revert",
    "ci_fix",
    "stall",
    "ping_pong",
    "abandoned",
)
GATE_TYPES: tuple[str, ...] = (
    "missing_two_humans",
    "agent_only_approval",
    "self_approval",
    "approval_after_merge",
    "no_approval",
)
DEVIATION_TYPES: tuple[str, ...] = ("skipped", "out_of_order")


def _ro(d: dict[str, float]) -> Mapping[str, float]:
    return MappingProxyType(d)


def _rot(d: dict[str, Trend]) -> Mapping[str, Trend]:
    return MappingProxyType(d)


@dataclass(frozen=True)
class SimConfig:
    """Rates of the planted problems (per eligible work item) and their trends.

    Failure-pattern rates apply to every eligible item; gate-violation rates
    to items of the tier the gate concerns (``missing_two_humans`` to
    high-stakes items, ``agent_only_approval`` to irreversible items, the
    others to irreversible and high-stakes items). A rate of 0 switches a
    problem off; ``shadow_agents=False`` switches off all shadow agents.
    """

    failure_rates: Mapping[str, float] = field(
        default_factory=lambda: _ro(
            {
                "rework_loop": 0.05,
                "reopen": 0.035,
                "revert": 0.03,
                "ci_fix": 0.05,
                "stall": 0.035,
                "ping_pong": 0.035,
                "abandoned": 0.03,
            }
        )
    )
    failure_trends: Mapping[str, Trend] = field(
        default_factory=lambda: _rot(
            {
                "rework_loop": "declining",
                "reopen": "rising",
                "revert": "stable",
                "ci_fix": "rising",
                "stall": "declining",
                "ping_pong": "rising",
                "abandoned": "stable",
            }
        )
    )
    gate_rates: Mapping[str, float] = field(
        default_factory=lambda: _ro(
            {
                "missing_two_humans": 0.3,
                "agent_only_approval": 0.2,
                "self_approval": 0.06,
                "approval_after_merge": 0.06,
                "no_approval": 0.06,
            }
        )
    )
    deviation_rates: Mapping[str, float] = field(
        default_factory=lambda: _ro(
            {
                "skipped": 0.025,
                "out_of_order": 0.02,
            }
        )
    )
    escalation_rate: float = 0.2  # support bugs escalated by e-mail straight to engineering
    shadow_agents: bool = True
    ai_signature_rate: float = 0.6  # share of the AI-using humans' commits with trailers
    out_of_stage_rate: float = 0.03  # merges done by the review agent
    copilot_rate: float = 0.12  # items delegated to the sanctioned coding agent
    high_stakes_share: float = 0.1
    irreversible_share: float = 0.15
