"""The designed workflow: a YAML file a workflow architect writes, read into typed models.

A design names the *stages* of the work, how raw activities map onto them
(``"<source>:<activity glob>"`` patterns), who owns each stage (a team), which
kind of performer may execute it, the allowed stage transitions, validation
gates graded by risk tier, owned seams, sanctioned agents and accepted
deviations. The full field reference is ``docs/design.md``.

Every problem in a design file is reported as a :class:`wfmine.errors.DesignError`
naming the file, the line and the problem, because the person who fixes it
reads YAML, not Python tracebacks::

    design.yaml, line 12: stage 'qa' in transitions is not a defined stage

>>> design = load_design_text('''
... version: 1
... name: tiny
... stages:
...   - {id: build, performer: either, activities: ["github:PR opened"]}
...   - {id: ship, performer: human, activities: ["github:PR merged"]}
... transitions: [[build, ship]]
... ''')
>>> design.stage_of("github", "PR merged")
'ship'
"""

from __future__ import annotations

from wfmine.design._load import load_design, load_design_text
from wfmine.design._mapping import activity_key, agent_keys, map_stages, unmatched_patterns
from wfmine.design._model import (
    ALLOW_KINDS,
    GATE_REQUIREMENTS,
    PERFORMERS,
    TIERS,
    AgentSpec,
    AllowRule,
    Change,
    Design,
    Gate,
    Performer,
    Requirement,
    Risk,
    RiskRule,
    Seam,
    Stage,
    Tier,
)
from wfmine.design._patterns import PATTERN_SOURCES, glob_regex, parse_duration, pattern_regex

__all__ = [
    "ALLOW_KINDS",
    "GATE_REQUIREMENTS",
    "PATTERN_SOURCES",
    "PERFORMERS",
    "TIERS",
    "AgentSpec",
    "AllowRule",
    "Change",
    "Design",
    "Gate",
    "Performer",
    "Requirement",
    "Risk",
    "RiskRule",
    "Seam",
    "Stage",
    "Tier",
    "activity_key",
    "agent_keys",
    "glob_regex",
    "load_design",
    "load_design_text",
    "map_stages",
    "parse_duration",
    "pattern_regex",
    "unmatched_patterns",
]
