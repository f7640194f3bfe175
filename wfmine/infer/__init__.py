"""The design, read from the work: a draft design file inferred from the observed log.

:func:`infer_design` drafts a ``design.yaml`` (the format of ``docs/design.md``)
from a flat log, with a comment on every line saying what the line rests on,
so an architect can review it line by line and keep, change or delete:

- **stages** from the tracker's statuses (Jira ``Status: <name>`` and
  ``Issue created``). Statuses used as one step are grouped: a status left
  within :data:`PASS_THROUGH_S` for the same next status nearly every time (an
  automation hop), and a rarely used status that always leads back into an
  earlier one (a ``Reopened`` door into ``In Progress``);
- the **activities** of the other sources mapped onto the stage the tracker
  was in when they happened (an as-of join on the tracker status); an event
  that nearly always moves the tracker within :data:`TRIGGER_S` (a merge that
  closes the issue by automation) belongs to the stage it moves the item into;
- each stage's **team** by share of the human work done in it, its
  **performer** (human / agent / either) by the share of its events done by
  agents and bots, and its **expected** time from the visits' durations;
- **transitions** as practised by at least ``min_share`` of the cases (the
  rarer ones are listed in comments as candidates for ``allow`` or removal);
- the **gate** before the irreversible step (the stage ``PR merged`` maps to)
  and the **risk tiers** as practised: the approvals that precede it, per
  component and label where they separate tiers;
- **seams** observed between teams and between humans and agents, and the
  **bots and agents** seen, each marked "observed, not sanctioned: decide".

The draft is validated with :func:`wfmine.design.load_design_text` before it is
returned: a draft that would not load is a bug and raises.

>>> draft = infer_design(store.log(), store=store)  # doctest: +SKIP
>>> print(draft.text)  # doctest: +SKIP
"""

from __future__ import annotations

from wfmine.infer._base import CHAT_SOURCES, PASS_THROUGH_S, TRIGGER_S, InferredDesign
from wfmine.infer._draft import infer_design
from wfmine.infer._suggest import SuggestedPatch, suggest_patch

__all__ = [
    "CHAT_SOURCES",
    "PASS_THROUGH_S",
    "TRIGGER_S",
    "InferredDesign",
    "SuggestedPatch",
    "infer_design",
    "suggest_patch",
]
