"""The design file's model: stages, risk, gates, seams, agents, accepted deviations.

Pydantic models, frozen; :class:`Design` adds the derived views every
consumer needs (stage order, allowed moves, start and end stages, the tier
expression). Read a file with :func:`wfmine.design.load_design`.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from functools import cached_property
from typing import Annotated, Final, Literal

import polars as pl
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator

from wfmine.design._patterns import as_list as _as_list
from wfmine.design._patterns import check_pattern as _check_pattern
from wfmine.design._patterns import glob_regex, parse_duration, pattern_regex

Performer = Literal["human", "agent", "either"]
Tier = Literal["reversible", "irreversible", "high_stakes"]
Requirement = Literal["agent_review", "human_approval", "two_humans"]
PERFORMERS: Final = ("human", "agent", "either")
#: risk tiers, lowest first: a case gets the highest tier any matching rule gives
TIERS: Final[tuple[Tier, ...]] = ("reversible", "irreversible", "high_stakes")
GATE_REQUIREMENTS: Final = ("agent_review", "human_approval", "two_humans")
#: deviation categories and aspects an ``allow`` rule may name
ALLOW_KINDS: Final = (
    "transition",
    "flow",
    "skipped",
    "out_of_order",
    "repeated",
    "unexpected",
    "missing_start",
    "missing_end",
    "unmapped",
    "performer",
    "agent_in_human_stage",
    "human_in_agent_stage",
    "agent_out_of_stage",
    "gate",
    "no_approval",
    "agent_only_approval",
    "missing_two_humans",
    "self_approval",
    "approval_after_merge",
    "time",
    "over_expected",
)


Duration = Annotated[dt.timedelta, BeforeValidator(parse_duration)]
Pattern = Annotated[str, BeforeValidator(lambda v: _check_pattern(v) if isinstance(v, str) else v)]
StrList = Annotated[list[str], BeforeValidator(_as_list)]
PatternList = Annotated[list[Pattern], BeforeValidator(_as_list)]


class _Model(BaseModel):
    # validators built on the first validation, not at import: every command imports the
    # design package, few read a design (about 40 ms of each start)
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True, defer_build=True)


class Stage(_Model):
    """One stage of the designed workflow."""

    id: str = Field(min_length=1)
    name: str | None = None
    description: str | None = None
    team: str | None = None
    performer: Performer = "either"
    #: how long a visit to this stage is expected to take
    expected: Duration | None = None
    activities: PatternList = Field(default_factory=list)
    #: the step a gate guards (informative; the gate's ``before`` decides)
    irreversible: bool = False


class RiskRule(_Model):
    """A rule giving cases a risk tier when any of its criteria matches."""

    tier: Tier
    labels: StrList = Field(default_factory=list)
    components: StrList = Field(default_factory=list)
    projects: StrList = Field(default_factory=list)
    paths: StrList = Field(default_factory=list)


class Risk(_Model):
    """How a case's risk tier is decided: the highest tier of all matching rules."""

    default: Tier = "reversible"
    rules: list[RiskRule] = Field(default_factory=list)


class Gate(_Model):
    """Approvals required before a case's first event in stage ``before``."""

    before: str
    approvals: PatternList = Field(default_factory=lambda: ["github:PR approved"])
    reversible: Requirement = "agent_review"
    irreversible: Requirement = "human_approval"
    high_stakes: Requirement = "two_humans"
    #: events whose actor is the author of the change (never a valid approver)
    author: PatternList = Field(default_factory=lambda: ["github:PR opened"])
    #: when no author event exists: the first actor of this stage is the author
    author_stage: str | None = None

    def requirement(self, tier: Tier) -> Requirement:
        """The approval requirement for ``tier``."""
        by_tier: dict[Tier, Requirement] = {
            "reversible": self.reversible,
            "irreversible": self.irreversible,
            "high_stakes": self.high_stakes,
        }
        return by_tier[tier]


class Seam(_Model):
    """An owned handoff between teams or performer kinds (``human``/``agent``)."""

    from_: str = Field(alias="from")
    to: str
    owner: str


class AgentSpec(_Model):
    """A sanctioned agent: the ids it acts under and where it may act.

    ``stages`` limits it to stages; ``tiers``, ``projects`` and
    ``components`` to the work it may act on (empty: no limit). A review
    agent sanctioned for reversible work that approves a high-stakes change
    acts outside its sanction.
    """

    id: str = Field(min_length=1)
    name: str | None = None
    accounts: StrList = Field(default_factory=list)
    stages: StrList = Field(default_factory=list)
    tiers: Annotated[list[Tier], BeforeValidator(_as_list)] = Field(default_factory=list)
    projects: StrList = Field(default_factory=list)
    components: StrList = Field(default_factory=list)


class AllowRule(_Model):
    """An accepted deviation: every given field must match for the rule to apply."""

    kind: str
    from_: str | None = Field(default=None, alias="from")
    to: str | None = None
    stage: str | None = None
    actor: str | None = None
    #: a ``"<source>:<activity glob>"`` pattern: the event the deviation is at
    activity: Pattern | None = None
    case: str | None = None
    reason: str | None = None

    @field_validator("kind")
    @classmethod
    def _known_kind(cls, value: str) -> str:
        if value not in ALLOW_KINDS:
            raise ValueError(f"allow kind {value!r} is not one of {', '.join(ALLOW_KINDS)}")
        return value


def _transition(value: object) -> object:
    if isinstance(value, Mapping):
        extra = set(value) - {"from", "to"}
        if extra:
            raise ValueError(f"unknown key {sorted(extra)[0]!r} in a transition")
        return (value.get("from"), value.get("to"))
    if isinstance(value, list | tuple) and len(value) != 2:
        raise ValueError("a transition is a pair [from, to]")
    return value


Transition = Annotated[tuple[str, str], BeforeValidator(_transition)]


class Change(_Model):
    """A dated change of the design (``changes:``), for judging whether it took effect."""

    date: dt.date
    description: str = Field(min_length=1)


class Design(_Model):
    """A designed workflow (see ``docs/design.md``).

    Build one with :func:`load_design`; the loader also checks that every
    stage, team and agent a field names is defined.
    """

    version: Literal[1] = 1
    name: str = "design"
    description: str | None = None
    #: teams that own no stage but appear in seams
    teams: StrList = Field(default_factory=list)
    stages: list[Stage] = Field(min_length=1)
    #: events that set the stage a work item is in (its authoritative state); empty: the
    #: work item's own events (see :mod:`wfmine.stages`)
    state: PatternList = Field(default_factory=list)
    unmapped: Literal["ignore", "keep"] = "ignore"
    transitions: list[Transition] = Field(default_factory=list)
    start: StrList = Field(default_factory=list)
    end: StrList = Field(default_factory=list)
    risk: Risk = Field(default_factory=Risk)
    gates: list[Gate] = Field(default_factory=list)
    seams: list[Seam] = Field(default_factory=list)
    agents: list[AgentSpec] = Field(default_factory=list)
    allow: list[AllowRule] = Field(default_factory=list)
    #: when the design changed and how (``wfmine drift`` compares before and after)
    changes: list[Change] = Field(default_factory=list)

    # -- derived views -------------------------------------------------------------

    @cached_property
    def stage_ids(self) -> tuple[str, ...]:
        """Stage ids in file (design) order."""
        return tuple(s.id for s in self.stages)

    @cached_property
    def order(self) -> dict[str, int]:
        """Each stage's position in the design order."""
        return {s: i for i, s in enumerate(self.stage_ids)}

    @cached_property
    def allowed(self) -> frozenset[tuple[str, str]]:
        """The allowed stage -> stage moves (self-loops are always allowed)."""
        return frozenset(self.transitions) | {(s, s) for s in self.stage_ids}

    @cached_property
    def start_stages(self) -> tuple[str, ...]:
        """Where cases may start: ``start``, else stages no transition enters, else the first."""
        if self.start:
            return tuple(self.start)
        targets = {b for a, b in self.transitions if a != b}
        roots = tuple(s for s in self.stage_ids if s not in targets)
        return roots or self.stage_ids[:1]

    @cached_property
    def end_stages(self) -> tuple[str, ...]:
        """Where cases may end: ``end``, else stages no transition leaves, else the last."""
        if self.end:
            return tuple(self.end)
        sources = {a for a, b in self.transitions if a != b}
        leaves = tuple(s for s in self.stage_ids if s not in sources)
        return leaves or self.stage_ids[-1:]

    @cached_property
    def teams_defined(self) -> frozenset[str]:
        """Teams the design knows: stage owners and ``teams``."""
        return frozenset([s.team for s in self.stages if s.team] + list(self.teams))

    def stage(self, stage_id: str) -> Stage:
        """The stage with id ``stage_id`` (``KeyError`` if none)."""
        for s in self.stages:
            if s.id == stage_id:
                return s
        raise KeyError(stage_id)

    @cached_property
    def _stage_regexes(self) -> tuple[tuple[str, re.Pattern[str]], ...]:
        return tuple(
            (s.id, re.compile("|".join(pattern_regex(p) for p in s.activities)))
            for s in self.stages
            if s.activities
        )

    @cached_property
    def _source_regex(self) -> str:
        """Anchored regex of the sources any stage pattern names (globs allowed)."""
        globs = sorted({p.partition(":")[0] for s in self.stages for p in s.activities})
        if not globs:
            return "^$.^"  # matches nothing
        parts = [glob_regex(g).replace(".*", "[^:]*").replace(".", "[^:]") for g in globs]
        return "^(?:" + "|".join(parts) + ")$"

    def maps_source(self, source: str | None) -> bool:
        """Does any stage pattern name ``source`` (e.g. ``jira``)?

        With ``unmapped: keep`` only unmatched events of such sources become
        ``other``: a design that speaks of no Slack activity says nothing about
        Slack messages folded into a case.
        """
        return re.fullmatch(self._source_regex, source or "") is not None

    def stage_of(self, source: str | None, activity: str | None) -> str | None:
        """The first stage (in file order) whose patterns match ``source:activity``.

        Unmatched activities give ``None`` (or ``"other"`` when ``unmapped: keep``
        and the design maps other activities of ``source``).
        """
        key = f"{source or ''}:{activity or ''}"
        for stage_id, rx in self._stage_regexes:
            if rx.fullmatch(key):
                return stage_id
        return "other" if self.unmapped == "keep" and self.maps_source(source) else None

    def shortest_path(self, a: str, b: str) -> list[str] | None:
        """Stages strictly between ``a`` and ``b`` on a shortest allowed path, or ``None``."""
        succ: dict[str, list[str]] = {}
        for x, y in self.transitions:
            if x != y:
                succ.setdefault(x, []).append(y)
        parent: dict[str, str] = {}
        frontier = [a]
        seen = {a}
        while frontier:
            nxt: list[str] = []
            for node in frontier:
                for y in succ.get(node, []):
                    if y in seen:
                        continue
                    parent[y] = node
                    if y == b:
                        path = []
                        cur = node
                        while cur != a:
                            path.append(cur)
                            cur = parent[cur]
                        return path[::-1]
                    seen.add(y)
                    nxt.append(y)
            frontier = nxt
        return None

    @cached_property
    def owned_seams(self) -> tuple[Seam, ...]:
        """The handoffs the design owns: ``seams``, and the way back of its round trips.

        A designed round trip is an owned seam ``a -> b`` that the design also
        draws back: a transition from a stage team ``b`` owns back to an earlier
        stage team ``a`` owns (security sending work back to build). Its return
        ``b -> a`` is the same designed loop, so it is owned too, by the same
        owner, unless ``seams`` names the return itself. A move back with no
        owned way out (a revert from a deploy team nobody owns the handoff to) owns
        nothing.
        """
        owner = {(s.from_, s.to): s.owner for s in self.seams}
        team = {s.id: s.team for s in self.stages}
        derived: dict[tuple[str, str], Seam] = {}
        for later, earlier in self.transitions:
            if self.order[earlier] >= self.order[later]:
                continue
            back = (team.get(later), team.get(earlier))
            if back[0] is None or back[1] is None or back[0] == back[1]:
                continue
            way_out = owner.get((back[1], back[0]))
            if way_out is None or (back[0], back[1]) in owner:
                continue
            derived.setdefault(
                (back[0], back[1]),
                Seam.model_validate({"from": back[0], "to": back[1], "owner": way_out}),
            )
        return (*self.seams, *derived.values())

    def seam_owner(self, from_: str, to: str) -> str | None:
        """The owner of the seam ``from_ -> to`` (teams or performer kinds), or ``None``."""
        for seam in self.owned_seams:
            if seam.from_ == from_ and seam.to == to:
                return seam.owner
        return None

    def tier_expr(self) -> pl.Expr:
        """A polars expression giving each row of a case-attributes frame its risk tier.

        Reads list columns ``labels``, ``components``, ``paths`` and the string
        column ``project``; labels, components and projects compare without
        case; paths are globs. The highest tier of all matching rules wins.
        """
        rank = pl.lit(TIERS.index(self.risk.default), dtype=pl.Int8)
        for rule in self.risk.rules:
            hits: list[pl.Expr] = []
            for col, values in (("labels", rule.labels), ("components", rule.components)):
                if values:
                    lowered = [v.lower() for v in values]
                    hits.append(
                        pl.col(col)
                        .list.eval(pl.element().str.to_lowercase().is_in(lowered))
                        .list.any()
                        .fill_null(False)
                    )
            if rule.projects:
                hits.append(
                    pl.col("project")
                    .str.to_lowercase()
                    .is_in([p.lower() for p in rule.projects])
                    .fill_null(False)
                )
            if rule.paths:
                rx = "^(?:" + "|".join(glob_regex(p, paths=True) for p in rule.paths) + ")$"
                hits.append(
                    pl.col("paths")
                    .list.eval(pl.element().str.contains(rx))
                    .list.any()
                    .fill_null(False)
                )
            if not hits:
                continue
            matched = pl.any_horizontal(hits)
            level = TIERS.index(rule.tier)
            rank = (
                pl.when(matched & (rank < level)).then(pl.lit(level, dtype=pl.Int8)).otherwise(rank)
            )
        return rank.replace_strict(dict(enumerate(TIERS)), return_dtype=pl.String)
