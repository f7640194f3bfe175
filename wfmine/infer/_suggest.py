"""The findings' design edits as one reviewable patch (:func:`suggest_patch`)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import polars as pl

from wfmine.design import load_design_text

# -- suggestions: the findings' design edits as one reviewable patch --------------------------


@dataclass(frozen=True)
class SuggestedPatch:
    """The findings' suggestions applied to a design file.

    ``diff`` is one unified diff (before / after, both written in the same
    normalised YAML), each hunk preceded by comments naming the findings whose
    edit it holds and their estimated effect; ``text`` the patched design (it
    loads with :func:`wfmine.design.load_design_text`); ``applied`` and
    ``skipped`` list each suggestion (``kind``, ``subject``, ``effect``, and for
    skipped ones the ``reason``).
    """

    diff: str
    text: str
    applied: list[dict[str, str]]
    skipped: list[dict[str, str]]


def _identity(section: str, item: Any) -> Any:
    if isinstance(item, dict):
        if "id" in item:
            return ("id", item["id"])
        if section == "seams" and "from" in item and "to" in item:
            return ("seam", item["from"], item["to"])
    return ("value", json.dumps(item, sort_keys=True, default=str))


def _merge(target: dict[str, Any], patch: dict[str, Any]) -> None:
    """Apply a design-file patch: lists gain items (an item with the same id is updated), maps merge."""
    for key, value in patch.items():
        have = target.get(key)
        if isinstance(have, list) and isinstance(value, list):
            index = {_identity(key, item): i for i, item in enumerate(have)}
            for item in value:
                ident = _identity(key, item)
                if ident in index:
                    old = have[index[ident]]
                    if isinstance(old, dict) and isinstance(item, dict):
                        _merge(old, item)
                    else:
                        have[index[ident]] = item
                else:
                    index[ident] = len(have)
                    have.append(item)
        elif isinstance(have, dict) and isinstance(value, dict):
            _merge(have, value)
        else:
            target[key] = value


def _dump(data: Any) -> str:
    import yaml

    return str(yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100))


def suggest_patch(
    design_text: str, findings: pl.DataFrame, *, name: str = "design.yaml"
) -> SuggestedPatch:
    """Apply every finding's ``suggestion`` (a YAML patch) to ``design_text``; one diff of it all.

    ``findings``: a findings frame (:data:`wfmine.findings.FINDING_SCHEMA`:
    ``suggestion`` is JSON text ``{"patch": ..., "effect": ...}`` or null).
    A suggestion whose patch is not YAML, or after which the design would
    not load, is skipped with the reason.
    """
    import copy
    import difflib

    import yaml

    from wfmine.errors import DesignError

    load_design_text(design_text, name=name)  # the design itself must be valid
    original = yaml.safe_load(design_text)
    data = copy.deepcopy(original)
    applied: list[dict[str, str]] = []
    skipped: list[dict[str, str]] = []
    added: list[tuple[dict[str, str], set[str]]] = []
    cols = [c for c in ("kind", "subject", "subject_name", "suggestion") if c in findings.columns]
    rows = findings.select(cols).to_dicts() if "suggestion" in cols else []
    for row in rows:
        text = row.get("suggestion")
        if not text:
            continue
        about = {
            "kind": str(row.get("kind") or ""),
            "subject": str(row.get("subject_name") or row.get("subject") or ""),
        }
        try:
            suggestion = json.loads(text)
            patch = yaml.safe_load(str(suggestion.get("patch") or ""))
        except (ValueError, yaml.YAMLError) as exc:
            skipped.append({**about, "effect": "", "reason": f"not a YAML patch: {exc}"})
            continue
        about["effect"] = str(suggestion.get("effect") or "")
        if not isinstance(patch, dict) or not patch:
            skipped.append({**about, "reason": "the patch is not a mapping of design keys"})
            continue
        trial = copy.deepcopy(data)
        _merge(trial, patch)
        try:
            load_design_text(_dump(trial), name=name)
        except DesignError as exc:
            skipped.append({**about, "reason": str(exc)})
            continue
        before = _dump(data).splitlines()
        after = _dump(trial).splitlines()
        if before == after:
            skipped.append({**about, "reason": "the design already says this"})
            continue
        plus = {
            line[1:]
            for line in difflib.unified_diff(before, after, lineterm="", n=0)
            if line.startswith("+") and not line.startswith("+++")
        }
        data = trial
        applied.append(about)
        added.append((about, plus))
    before_lines = _dump(original).splitlines()
    after_text = _dump(data)
    after_lines = after_text.splitlines()
    out = [
        f"# wfmine design suggest: {len(applied)} edit(s) of {name} from the findings "
        f"({len(skipped)} not applicable); effects are estimated from the log.",
        "# Both sides are the design in normalised YAML (comments of the file are not kept).",
        f"--- {name}",
        f"+++ {name} (suggested)",
    ]
    hunk: list[str] = []

    def flush() -> None:
        if not hunk:
            return
        lines = {h[1:] for h in hunk if h.startswith("+")}
        for about, plus in added:
            if plus & lines:
                out.append(f"# [{about['kind']}] {about['subject']}: {about['effect']}")
        out.extend(hunk)
        hunk.clear()

    for line in list(difflib.unified_diff(before_lines, after_lines, lineterm="", n=2))[2:]:
        if line.startswith("@@"):
            flush()
        hunk.append(line)
    flush()
    for item in skipped:
        out.append(f"# not applied [{item['kind']}] {item['subject']}: {item['reason']}")
    load_design_text(after_text, name=name)
    return SuggestedPatch(
        diff="\n".join(out) + "\n", text=after_text, applied=applied, skipped=skipped
    )
