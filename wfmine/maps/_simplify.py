"""Simplifying a process map: which activities and paths to draw, and the caption saying so.

Disco's sliders, with defaults that keep a map readable:

- **activities**: up to 25 are all kept; beyond that the most frequent ones
  covering at least 95% of the events (at most 25), or the share of events
  the caller asks for (:func:`keep_activities`);
- **paths**: every kept activity keeps its strongest path in and out, and
  enough others that it is reachable from the start and reaches the end;
  then the most frequent others up to a budget, or up to the share of
  transitions the caller asks for (:func:`keep_paths`); or exactly the
  ``top_edges`` most frequent (:func:`choose_paths`);
- :func:`caption` says what was hidden.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Final

from wfmine.errors import InputError
from wfmine.maps._model import END, START, Path

__all__ = ["caption", "choose_paths", "keep_activities", "keep_paths", "share_of"]

#: keep every activity up to this many; beyond, cover ``_AUTO_EVENT_SHARE`` of the events
_AUTO_MAX_ACTIVITIES: Final = 25
_AUTO_EVENT_SHARE: Final = 0.95


def share_of(value: float | None, name: str) -> float | None:
    """``value`` checked as a share of the log in (0, 1] (None: the default simplification)."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value <= 1:
        raise InputError(f"{name} must be a share of the log in (0, 1], not {value!r}")
    return float(value)


def keep_activities(counts: Mapping[str, int], share: float | None) -> list[str]:
    """The activities to draw: all, or the most frequent ones covering ``share`` of the events."""
    ranked = sorted(counts, key=lambda a: (-counts[a], a))
    if share is None and len(ranked) <= _AUTO_MAX_ACTIVITIES:
        return ranked
    goal = (share if share is not None else _AUTO_EVENT_SHARE) * sum(counts.values())
    kept: list[str] = []
    covered = 0
    for a in ranked:
        if covered >= goal or (share is None and len(kept) >= _AUTO_MAX_ACTIVITIES):
            break
        kept.append(a)
        covered += counts[a]
    return kept


def keep_paths(
    paths: Sequence[Path], activities: Sequence[str], share: float | None, budget: int | None
) -> list[bool]:
    """Which paths to draw (``paths`` are most frequent first).

    Every activity keeps its strongest incoming and outgoing path, then paths
    are added so that every activity is reachable from the start and reaches
    the end (strongest first); then the most frequent others until ``share``
    of all transitions are covered, or else until ``budget`` paths.
    """
    keep = [False] * len(paths)
    cases = max(sum(p.freq for p in paths if p.source == START), 1)
    for i, p in enumerate(paths):  # where many cases start or end
        if (p.source == START or p.target == END) and p.freq >= 0.05 * cases:
            keep[i] = True
    for a in activities:
        for side in ("target", "source"):
            for i, p in enumerate(paths):
                if p.source != p.target and getattr(p, side) == a:
                    keep[i] = True
                    break
    for forward in (True, False):
        # grow the set reached from the start (or reaching the end) one strongest bridge at a time
        ends = [(p.source, p.target) if forward else (p.target, p.source) for p in paths]
        adjacent: dict[str, list[str]] = {}
        for (a, b), k in zip(ends, keep, strict=True):
            if k:
                adjacent.setdefault(a, []).append(b)
        reached: set[str] = set()
        frontier = [START if forward else END]
        while True:
            while frontier:
                node = frontier.pop()
                if node not in reached:
                    reached.add(node)
                    frontier.extend(adjacent.get(node, []))
            if all(a in reached for a in activities):
                break
            bridge = next(
                (
                    i
                    for i, (a, b) in enumerate(ends)
                    if not keep[i] and a in reached and b not in reached
                ),
                None,
            )
            if bridge is None:
                break
            keep[bridge] = True
            a, b = ends[bridge]
            adjacent.setdefault(a, []).append(b)
            frontier = [b]
    total = sum(p.freq for p in paths)
    covered = sum(p.freq for p, k in zip(paths, keep, strict=True) if k)
    count = sum(k for p, k in zip(paths, keep, strict=True) if p.source != p.target)
    for i, p in enumerate(paths):
        if keep[i]:
            continue
        if share is not None:
            if covered >= share * total:
                break
        elif p.source != p.target:  # self-loops cost no room: they are not budgeted
            if budget is None or count >= budget:
                continue
            count += 1
        keep[i] = True
        covered += p.freq
    return keep


def choose_paths(
    flow: Sequence[Path],
    boundary: Sequence[Path],
    activities: Sequence[str],
    share: float | None,
    top_edges: int | None,
) -> tuple[list[str], list[Path], list[Path]]:
    """The activities and paths to draw, and every candidate path.

    ``flow`` are the paths between ``activities`` (most frequent first),
    ``boundary`` those from the start and to the end. With ``top_edges``
    exactly the most frequent flow paths are drawn (and the activities they,
    or the start and end, touch); otherwise :func:`keep_paths` with a budget
    of twice as many paths as activities (at least 20). Returns (activities,
    chosen paths, candidates), paths most frequent first.
    """
    candidates = sorted(
        [*flow, *boundary],
        key=lambda p: (-p.freq, p.source in (START,) or p.target == END, p.source, p.target),
    )
    if top_edges is None:
        budget = max(20, 2 * len(activities))
        mask = keep_paths(candidates, activities, share, budget)
        chosen = [p for p, k in zip(candidates, mask, strict=True) if k]
        return list(activities), chosen, candidates
    chosen_flow = list(flow[:top_edges])
    touched = {p.source for p in chosen_flow} | {p.target for p in chosen_flow}
    touched |= {p.target if p.source == START else p.source for p in boundary}
    kept = [a for a in activities if a in touched]
    shown = set(kept)
    chosen = chosen_flow + [
        p for p in boundary if (p.target if p.source == START else p.source) in shown
    ]
    chosen.sort(key=candidates.index)
    return kept, chosen, candidates


def caption(
    counts: Mapping[str, int],
    kept: Sequence[str],
    hidden: Sequence[str],
    chosen: Sequence[Path],
    candidates: Sequence[Path],
    *,
    skipped_over: bool,
    wait: bool,
) -> list[str]:
    """What a process map hid, one sentence each (empty when it shows everything).

    ``skipped_over``: paths connect kept activities across hidden ones (a
    log, not a DFG frame); ``wait``: the labels are median waits.
    """
    lines: list[str] = []
    events_total = sum(counts.values())
    if hidden:
        covered = sum(counts[a] for a in kept)
        names = ", ".join(hidden[:6]) + (f" and {len(hidden) - 6} more" if len(hidden) > 6 else "")
        lines.append(
            f"Showing {len(kept)} of {len(counts)} activities ({covered / max(events_total, 1):.0%} "
            f"of events); hidden: {names}."
            + (" Paths skip over hidden activities." if skipped_over else "")
        )
    if len(chosen) < len(candidates):
        covered_paths = sum(p.freq for p in chosen)
        all_freq = sum(p.freq for p in candidates) or 1
        lines.append(
            f"Showing {len(chosen)} of {len(candidates)} paths ({covered_paths / all_freq:.0%} of "
            "transitions): every activity keeps its strongest paths in and out, then the most "
            "frequent."
        )
    if wait:
        lines.append("Labels and colours: median wait between the two activities.")
    return lines
