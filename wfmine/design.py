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

import datetime as dt
import re
from collections.abc import Iterable, Mapping, Sequence
from functools import cached_property
from pathlib import Path
from typing import Annotated, Any, Final, Literal

import polars as pl
import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
)

from wfmine.errors import DesignError

__all__ = [
    "GATE_REQUIREMENTS",
    "PERFORMERS",
    "TIERS",
    "AgentSpec",
    "AllowRule",
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

Performer = Literal["human", "agent", "either"]
Tier = Literal["reversible", "irreversible", "high_stakes"]
Requirement = Literal["agent_review", "human_approval", "two_humans"]
PERFORMERS: Final = ("human", "agent", "either")
#: risk tiers, lowest first: a case gets the highest tier any matching rule gives
TIERS: Final[tuple[Tier, ...]] = ("reversible", "irreversible", "high_stakes")
GATE_REQUIREMENTS: Final = ("agent_review", "human_approval", "two_humans")
#: sources a pattern may name (a glob such as ``*`` matches any of them)
PATTERN_SOURCES: Final = ("jira", "github", "slack", "email", "xes", "ocel", "csv", "parquet")
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

_UNITS: Final = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_DURATION: Final = re.compile(r"(\d+(?:\.\d+)?)\s*([smhdw])")


def parse_duration(value: object) -> dt.timedelta:
    """Read a duration such as ``"30m"``, ``"4h"``, ``"2d"``, ``"1w"`` or ``"1d12h"``.

    A bare number is seconds. Raises ``ValueError`` with the accepted forms.

    >>> parse_duration("1d12h")
    datetime.timedelta(days=1, seconds=43200)
    """
    if isinstance(value, dt.timedelta):
        return value
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a duration like 30m, 4h, 2d, 1w")
    if isinstance(value, int | float):
        return dt.timedelta(seconds=float(value))
    if isinstance(value, str):
        text = value.strip().lower()
        parts = _DURATION.findall(text)
        if parts and _DURATION.sub("", text).strip() == "":
            return dt.timedelta(seconds=sum(float(n) * _UNITS[u] for n, u in parts))
    raise ValueError(f"{value!r} is not a duration like 30m, 4h, 2d, 1w")


def glob_regex(glob: str, *, paths: bool = False) -> str:
    """Translate a glob into an anchored-free regular expression body.

    ``*`` matches any text (with ``paths=True`` any text without ``/``, and
    ``**`` crosses folders), ``?`` one character, ``[abc]`` a class.
    Everything else is literal, so activity names with dots or brackets in
    patterns need no escaping beyond ``[``.

    Not :func:`fnmatch.translate`: its output uses Python-only syntax
    (``(?s:…)\\Z``) that polars' Rust regex engine rejects, and it has no
    ``**`` for paths; this body is valid in both engines.

    >>> import re
    >>> bool(re.fullmatch(glob_regex("infra/prod/**", paths=True), "infra/prod/db/main.tf"))
    True
    """
    out: list[str] = []
    i = 0
    while i < len(glob):
        ch = glob[i]
        if ch == "*":
            if paths and glob[i : i + 2] == "**":
                out.append(".*")
                i += 2
                if glob[i : i + 1] == "/":
                    # "a/**/b" also matches "a/b"
                    out[-1] = "(?:.*/)?"
                    i += 1
                continue
            out.append("[^/]*" if paths else ".*")
        elif ch == "?":
            out.append("[^/]" if paths else ".")
        elif ch == "[":
            end = glob.find("]", i + 1)
            if end == -1:
                out.append(re.escape(ch))
            else:
                body = glob[i + 1 : end]
                if body.startswith("!"):
                    body = "^" + body[1:]
                out.append("[" + body.replace("\\", "\\\\") + "]")
                i = end
        else:
            out.append(re.escape(ch))
        i += 1
    return "".join(out)


def pattern_regex(pattern: str) -> str:
    """The regular expression (unanchored) matching ``source:activity`` keys for ``pattern``."""
    source, _, activity = pattern.partition(":")
    src = glob_regex(source).replace(".*", "[^:]*").replace(".", "[^:]")
    return f"(?:{src}):(?:{glob_regex(activity)})"


def _check_pattern(value: str) -> str:
    source, sep, activity = value.partition(":")
    if not sep or not activity:
        raise ValueError(f"activity pattern {value!r} must be '<source>:<activity glob>'")
    if not any(re.fullmatch(glob_regex(source), s) for s in PATTERN_SOURCES):
        raise ValueError(
            f"activity pattern {value!r} names no known source "
            f"(one of {', '.join(PATTERN_SOURCES)}, or a glob such as '*')"
        )
    return value


def _as_list(value: object) -> object:
    return [value] if isinstance(value, str) else value


Duration = Annotated[dt.timedelta, BeforeValidator(parse_duration)]
Pattern = Annotated[str, BeforeValidator(lambda v: _check_pattern(v) if isinstance(v, str) else v)]
StrList = Annotated[list[str], BeforeValidator(_as_list)]
PatternList = Annotated[list[Pattern], BeforeValidator(_as_list)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


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
        req: Requirement = getattr(self, tier)
        return req


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

    def seam_owner(self, from_: str, to: str) -> str | None:
        """The owner of the seam ``from_ -> to`` (teams or performer kinds), or ``None``."""
        for seam in self.seams:
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


# -- mapping events to stages ---------------------------------------------------------


def activity_key() -> pl.Expr:
    """The expression ``source:activity`` that design patterns match against."""
    return pl.concat_str(
        [pl.col("source").fill_null(""), pl.lit(":"), pl.col("activity").fill_null("")]
    )


def map_stages(log: pl.DataFrame, design: Design, *, column: str = "stage") -> pl.DataFrame:
    """Add the ``stage`` column: the first stage (file order) whose patterns match the event.

    Runs the patterns once per distinct (source, activity) pair and joins the
    result back, so the cost is one hash join over the log. Unmatched events
    get null, or ``"other"`` when the design says ``unmapped: keep`` and maps
    other activities of the event's source (:meth:`Design.maps_source`).

    >>> import polars as pl
    >>> d = load_design_text("stages: [{id: s, activities: ['xes:a*']}]")
    >>> map_stages(pl.DataFrame({"source": ["xes", "xes"], "activity": ["ab", "b"]}), d)["stage"].to_list()
    ['s', None]
    """
    pairs = log.select("source", "activity").unique()
    key = activity_key()
    expr: pl.Expr = pl.lit(None, dtype=pl.String)
    if design.unmapped == "keep":
        expr = (
            pl.when(pl.col("source").fill_null("").str.contains(design._source_regex))
            .then(pl.lit("other"))
            .otherwise(expr)
        )
    # build the when-chain backwards so the first stage in file order wins
    for stage_id, rx in reversed(design._stage_regexes):
        expr = (
            pl.when(key.str.contains(f"^(?:{rx.pattern})$")).then(pl.lit(stage_id)).otherwise(expr)
        )
    pairs = pairs.with_columns(expr.alias(column))
    # join the two key columns only (one row per event: the pairs are unique), so the
    # log's other columns are not copied
    stage = (
        log.select("source", "activity")
        .join(pairs, on=["source", "activity"], how="left", nulls_equal=True, maintain_order="left")
        .get_column(column)
    )
    return log.with_columns(stage)


def unmatched_patterns(design: Design, log: pl.DataFrame) -> list[str]:
    """One warning per design activity pattern that matches no event of ``log``.

    A typo (``jira:Status: Q.A.``) would otherwise turn every case into one
    that "skipped QA". Each warning names the pattern, the stage and the
    closest activities the log has (by :func:`difflib.get_close_matches`).
    Patterns of a source the log has no event of are not judged (a design
    may speak of sources this log does not hold), unless the log has no
    event of any source the design names.

    >>> import polars as pl
    >>> d = load_design_text("stages: [{id: qa, activities: ['jira:Status: Q.A.']}]")
    >>> unmatched_patterns(d, pl.DataFrame({"source": ["jira"], "activity": ["Status: QA"]}))
    ["design stage 'qa': pattern 'jira:Status: Q.A.' matches no activity in the log; closest: 'jira:Status: QA'"]
    """
    import difflib

    if log.height == 0:
        return []
    keys = (
        log.select(activity_key().alias("key"), pl.col("source").fill_null("").alias("source"))
        .unique()
        .sort("key")
    )
    present = set(keys.get_column("source").to_list())
    names = keys.get_column("key").to_list()
    warnings: list[str] = []
    for stage in design.stages:
        for pattern in stage.activities:
            rx = re.compile(f"^(?:{pattern_regex(pattern)})$")
            if any(rx.match(k) for k in names):
                continue
            source = pattern.partition(":")[0]
            if not any(re.fullmatch(glob_regex(source), s) for s in present):
                continue
            near = difflib.get_close_matches(pattern, names, n=3, cutoff=0.6)
            hint = "; closest: " + ", ".join(repr(n) for n in near) if near else ""
            warnings.append(
                f"design stage {stage.id!r}: pattern {pattern!r} matches no activity in the log"
                + hint
            )
    return warnings


def agent_keys(design: Design, accounts: pl.DataFrame | None = None) -> dict[str, str]:
    """Every id a sanctioned agent may appear under in a log, mapped to the agent's id.

    The agent's own id, its listed accounts, and — when ``accounts`` (a frame
    with ``account_id`` and ``actor_id``, e.g. ``store.sql("select * from
    actor_accounts")``) is given — the actor ids those accounts resolve to.
    So matching works whether or not identity resolution has run.
    """
    keys: dict[str, str] = {}
    resolved: dict[str, str] = {}
    if accounts is not None and accounts.height:
        resolved = dict(accounts.select("account_id", "actor_id").drop_nulls().iter_rows())
    for agent in design.agents:
        for k in [
            agent.id,
            *agent.accounts,
            *(resolved[a] for a in agent.accounts if a in resolved),
        ]:
            keys.setdefault(k, agent.id)
    return keys


# -- loading with line numbers ----------------------------------------------------------


def load_design(path: str | Path) -> Design:
    """Read and validate a design file; errors name the line and the problem.

    >>> load_design("sample_logs/acme/design.yaml")  # doctest: +SKIP
    Design(name='Acme delivery', ...)
    """
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise DesignError(f"{p}: cannot read the design file: {exc.strerror}") from None
    return load_design_text(text, name=p.name)


def load_design_text(text: str, *, name: str = "design.yaml") -> Design:
    """Validate a design given as YAML text (``name`` is used in error messages)."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f", line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise DesignError(f"{name}{line}: not valid YAML: {problem}") from None
    if node is None:
        raise DesignError(f"{name}, line 1: the design file is empty")
    marks: dict[tuple[str | int, ...], int] = {}
    data = _plain(node, (), marks, name)
    if not isinstance(data, dict):
        raise DesignError(f"{name}, line {node.start_mark.line + 1}: a design is a mapping of keys")
    try:
        design = Design.model_validate(data)
    except ValidationError as exc:
        raise DesignError(_first_error(exc, marks, name)) from None
    _cross_check(design, marks, name)
    return design


def _plain(
    node: yaml.Node, path: tuple[str | int, ...], marks: dict[tuple[str | int, ...], int], name: str
) -> Any:
    """Turn a composed YAML node into plain Python, recording each path's line."""
    marks.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        out: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = _SCALARS.construct_object(key_node, deep=True)
            if isinstance(key, list | dict):
                raise DesignError(
                    f"{name}, line {key_node.start_mark.line + 1}: a key must be text"
                )
            if key in out:
                raise DesignError(
                    f"{name}, line {key_node.start_mark.line + 1}: key {key!r} appears twice"
                )
            key = str(key) if not isinstance(key, str) else key
            marks[(*path, key)] = key_node.start_mark.line + 1
            out[key] = _plain(value_node, (*path, key), marks, name)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_plain(item, (*path, i), marks, name) for i, item in enumerate(node.value)]
    return _SCALARS.construct_object(node, deep=True)


_SCALARS: Final = yaml.SafeLoader("")  # only its constructor is used, for scalar nodes


def _line(marks: Mapping[tuple[str | int, ...], int], loc: Sequence[str | int]) -> int:
    for n in range(len(loc), -1, -1):
        found = marks.get(tuple(loc[:n]))
        if found is not None:
            return found
    return 1


_ALIASES: Final = {"from_": "from"}


def _where(loc: Iterable[str | int]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + _ALIASES.get(part, part)
    return out


def _first_error(
    exc: ValidationError, marks: Mapping[tuple[str | int, ...], int], name: str
) -> str:
    err = exc.errors(include_url=False)[0]
    # pydantic puts union/validator tags into loc; keep the data path only
    loc = [
        p
        for p in err["loc"]
        if isinstance(p, int) or not str(p).startswith(("function-", "tuple["))
    ]
    loc = [_ALIASES.get(p, p) if isinstance(p, str) else p for p in loc]
    kind = err["type"]
    msg = str(err["msg"]).removeprefix("Value error, ")
    if kind == "extra_forbidden":
        parent = _where(loc[:-1]) or "the design"
        return f"{name}, line {_line(marks, loc)}: unknown key {loc[-1]!r} in {parent}"
    if kind == "missing":
        parent = _where(loc[:-1]) or "the design"
        return f"{name}, line {_line(marks, loc)}: {parent} is missing {loc[-1]!r}"
    field = _where(loc)
    given = err.get("input")
    shown = (
        f" (got {given!r})"
        if isinstance(given, str | int | float) and not isinstance(given, bool)
        else ""
    )
    if "Input should be" in msg or "valid" in msg:
        msg = msg[0].lower() + msg[1:]
        return f"{name}, line {_line(marks, loc)}: {field}: {msg}{shown}"
    return f"{name}, line {_line(marks, loc)}: {field}: {msg}"


def _cross_check(design: Design, marks: Mapping[tuple[str | int, ...], int], name: str) -> None:
    """Check that every stage, team and agent a field names is defined."""

    def fail(loc: Sequence[str | int], problem: str) -> DesignError:
        return DesignError(f"{name}, line {_line(marks, loc)}: {problem}")

    stages = set(design.stage_ids)
    seen: set[str] = set()
    for i, s in enumerate(design.stages):
        if s.id in seen:
            raise fail(("stages", i, "id"), f"stage {s.id!r} is defined twice")
        if s.id == "other":
            raise fail(("stages", i, "id"), "stage id 'other' is reserved for unmapped activities")
        seen.add(s.id)

    def need_stage(value: str, loc: Sequence[str | int], where: str) -> None:
        if value not in stages:
            raise fail(loc, f"stage {value!r} in {where} is not a defined stage")

    for i, (a, b) in enumerate(design.transitions):
        need_stage(a, ("transitions", i, 0), "transitions")
        need_stage(b, ("transitions", i, 1), "transitions")
    for key in ("start", "end"):
        for i, value in enumerate(getattr(design, key)):
            need_stage(value, (key, i), key)
    gated: set[str] = set()
    for i, gate in enumerate(design.gates):
        need_stage(gate.before, ("gates", i, "before"), "gates")
        if gate.before in gated:
            raise fail(("gates", i, "before"), f"stage {gate.before!r} has two gates")
        gated.add(gate.before)
        if gate.author_stage is not None:
            need_stage(gate.author_stage, ("gates", i, "author_stage"), "gates")
    teams = design.teams_defined
    for i, seam in enumerate(design.seams):
        for key, value in (("from", seam.from_), ("to", seam.to)):
            if value not in teams and value not in ("human", "agent"):
                raise fail(
                    ("seams", i, key),
                    f"{key} {value!r} in seams is neither a defined team "
                    f"({', '.join(sorted(teams)) or 'none'}) nor a performer kind (human, agent)",
                )
    agent_ids: set[str] = set()
    claimed: dict[str, str] = {}
    for i, agent in enumerate(design.agents):
        if agent.id in agent_ids:
            raise fail(("agents", i, "id"), f"agent {agent.id!r} is defined twice")
        agent_ids.add(agent.id)
        for j, stage in enumerate(agent.stages):
            need_stage(stage, ("agents", i, "stages", j), f"agent {agent.id!r}")
        for j, account in enumerate(agent.accounts):
            if claimed.get(account, agent.id) != agent.id:
                raise fail(
                    ("agents", i, "accounts", j),
                    f"account {account!r} belongs to agents {claimed[account]!r} and {agent.id!r}",
                )
            claimed[account] = agent.id
    for i, rule in enumerate(design.allow):
        for key, value in (("from", rule.from_), ("to", rule.to), ("stage", rule.stage)):
            if value is not None:
                need_stage(value, ("allow", i, key), "allow")
