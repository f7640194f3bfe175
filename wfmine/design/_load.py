"""Reading a design file with the line of every problem.

Every problem in a design file is a :class:`wfmine.errors.DesignError` naming
the file, the line and the problem, because the person who fixes it reads
YAML, not Python tracebacks.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Final

import yaml
from pydantic import ValidationError

from wfmine.design._model import Design
from wfmine.errors import DesignError


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
        node = yaml.compose(text, Loader=_LOADER)
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
#: libyaml's parser where PyYAML was built with it (15x faster on a design file; the same
#: nodes and line marks), else the pure-Python one
_LOADER: Final = yaml.CSafeLoader if yaml.__with_libyaml__ else yaml.SafeLoader


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
    for key, listed in (("start", design.start), ("end", design.end)):
        for i, stage_id in enumerate(listed):
            need_stage(stage_id, (key, i), key)
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
        for key, named in (("from", rule.from_), ("to", rule.to), ("stage", rule.stage)):
            if named is not None:
                need_stage(named, ("allow", i, key), "allow")
