"""A Kanban organisation's work: sub-tasks, a Blocked status, handoffs by reassignment.

How it looks in the real exports (``Shape.subtask_rate``, ``blocked_status``,
``handoff_team``, ``team_tz``, ``design_names_creation``; the ``kanban`` shape):

- **The initial status is no transition.** An issue is created in ``Backlog``: nothing
  moves it *into* Backlog (its first changelog status item has ``fromString: "Backlog"``),
  except a later move back when product parks work it had selected. The design names the
  board's statuses only (``jira:Status: Backlog``, ``jira:Status: Selected for
  Development``), as an architect reads the Jira workflow, not ``jira:Issue created``. The
  truth: every work item is in the first stage from its creation.
- **Sub-tasks.** Product splits some stories into Jira sub-tasks when writing them
  (``issuetype.subtask: true``, ``hierarchyLevel: -1``, ``fields.parent`` with the parent's
  key; the parent lists them in ``fields.subtasks``). Each runs Jira's sub-task workflow,
  ``To Do`` -> ``In Progress`` -> ``Done``, with its own changelog and assignee: the engineer
  building the story works its build sub-tasks early in the build stage, long before the
  story is done; a tester works its test sub-task while the story is in QA.

  What the truth says about them follows DESIGN.md. Its case notion: "a case is a work item
  (a Jira issue) with the PRs, commits, threads and emails linked to it folded in"; its
  stages across sources: "the item's authoritative state (normally the tracker's status)
  sets the stage it is in; [other] events ... are attributed to the stage they belong to
  ... without moving the item". A sub-task is a Jira issue, but not a work item the design
  speaks about: the designed workflow is drawn for what moves across the board (stories,
  bugs, tasks), and a sub-task is a piece of its parent's work, tracked under it in a
  workflow of its own the design does not draw (its ``To Do`` is no designed status; its
  ``In Progress`` and ``Done`` share names and ids with the board's, but say where the
  *piece* is, not where the item is). So the truth takes a sub-task as *part of its
  parent's case*: ``work_items`` and ``risk_tiers`` name no sub-task and nothing planted is
  on one; its acts are acts of the parent's case, in the stage the parent is in at that
  moment (``subtasks[].stage``), and they move the parent nowhere. A sub-task's ``Done`` is
  not its parent released, a tester's sub-task going ``In Progress`` while the story is in
  QA is no return to build (no rework, no reopen), and a sub-task done days before its
  parent is no stall: the parent goes on being worked. The exports tie a sub-task to its
  parent by ``fields.parent.key`` only (no link, no text naming the parent).
- **Blocked.** Engineers park work in ``Blocked`` (a status of the build stage in the
  design: a waiting status on the board) while it waits on someone outside the team, with a
  comment saying on what, and move it back to ``In Progress`` when it is unblocked: a few
  working hours to two days, within the stage and no failure. Some spells last 8.75-11.75
  days (over 1.25 x the stage's expected week): those are the planted stalls of the build
  stage (``stall`` in ``build``, measured from the move into ``Blocked`` to the move out).
- **Handoffs by reassignment.** Build work on the warehouse, event and search components
  needs the data team (in another time zone; it owns no stage): the engineer comments and
  reassigns the issue to one of them, the status staying ``In Progress``; the data engineer's
  first act (a comment, or a commit on the pull request) comes a day or days later; when
  done they comment and reassign it back, and the engineer picks it up. The design owns
  neither handoff: two unowned seams whose only traces are the assignment, the comments and
  the commits (``reassignment_handoffs``, also in ``seam_waits``).
- **Time zones.** Every team works its own hours in its own zone (``Shape.team_tz``:
  Berlin, Kolkata, Sao Paulo): a handoff from Berlin's afternoon waits for Sao Paulo's
  morning or Kolkata's next day, overnight, as a matter of course: no stall.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from wfmine.simulate._flow import ShapeFlow
from wfmine.simulate._flow_base import Case, ShapeTruth
from wfmine.simulate._model import Change, Item, World
from wfmine.simulate._org import Actor
from wfmine.simulate._shapes import SUBTASK_STATUSES, Shape, StageDef
from wfmine.simulate._text import pr_url
from wfmine.simulate._util import iso

_PARTS = ("Backend", "Frontend", "API", "Docs", "Tracking")
_BLOCKERS = (
    "waiting on the payment provider's sandbox credentials",
    "waiting on a decision from product about the edge cases",
    "waiting for the vendor to fix their API",
    "waiting on legal to sign off the copy",
    "waiting on access to the staging database",
)


class KanbanFlow(ShapeFlow):
    """``ShapeFlow`` with sub-tasks, a blocked status and handoffs by reassignment."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        #: each split story's sub-tasks still to be worked: (stage kind, sub-task)
        self.subs: dict[str, list[tuple[str, Item]]] = {}
        self.refined: set[str] = set()
        #: the truth of each sub-task, filled in as it is worked
        self.sub_truth: dict[str, dict[str, Any]] = {}

    # -- intake: split, select (and sometimes park)
    def _walk(self, case: Case, start: int, t: datetime) -> datetime | None:
        if start == 1 and not case.cause and case.item.key not in self.refined:
            self.refined.add(case.item.key)
            if self.shape.subtask_rate:
                self._split(case)
            t = self._refine(case, t)
        return super()._walk(case, start, t)

    def _split(self, case: Case) -> None:
        """Product splits a story into sub-tasks when writing it (minutes after it)."""
        rng, sh, item = self.rng, self.shape, case.item
        if item.itype != "Story" or rng.random() >= sh.subtask_rate:
            return
        reporter = self.a(item.reporter)
        kinds = [("build", p) for p in rng.sample(_PARTS, rng.randint(1, 2))]
        if case.plan != "stall" and rng.random() < 0.6:  # a stalled check has no sub-task work
            kinds.append(("check", "Test"))
        t = item.created
        project = case.project.key
        low = item.summary[0].lower() + item.summary[1:]
        for kind, part in kinds:
            t = self.clock.bot(t, 60, 600)
            self.counter[project] += 1
            n = self.counter[project]
            sub = Item(
                f"{project}-{n}",
                n,
                f"{part}: {low}",
                f"{part} part of {item.key}.",
                "Sub-task",
                item.priority,
                [],
                [],
                item.tier,
                reporter.id,
                t,
                parent=item.key,
                initial_status=SUBTASK_STATUSES[0],
            )
            self.items.append(sub)
            self._act(case, reporter, t, "jira:Issue created")
            self.subs.setdefault(item.key, []).append((kind, sub))
            entry: dict[str, Any] = {
                "key": sub.key,
                "parent": item.key,
                "stage": None,  # the stage its parent is in while it is worked
                "assignee": None,
                "created": iso(t),
                "started": None,
                "done": None,
                "statuses": list(SUBTASK_STATUSES),
            }
            self.sub_truth[sub.key] = entry
            if t <= self.end:
                self.gt.subtasks.append(entry)

    def _refine(self, case: Case, t: datetime) -> datetime:
        """Product selects the item for development, sometimes parking it in the backlog again."""
        rng, intake = self.rng, self.shape.stages[0]
        who = self.a(case.item.reporter)
        selected = intake.statuses[1]
        ts = self.clock.human(t, who, intake.hours)
        if rng.random() < 0.12:
            self._move(case, ts, who, selected)
            tb = self.clock.human(ts, who, 4)
            self._comment(
                case, tb, who, "Parking this in the backlog until the next priorities call."
            )
            self._move(case, self.clock.bot(tb, 20, 120), who, intake.statuses[0])
            ts = self.clock.human(case.last_t, who, intake.hours)
        self._move(case, ts, who, selected)
        return ts

    # -- sub-tasks
    def _sub_move(self, case: Case, sub: Item, t: datetime, who: Actor, frm: str, to: str) -> None:
        h = self._status(t, who.id, frm, to)
        if self.statuses[to][1] == "done":
            h.items.append(Change("resolution", "resolution", None, None, "10000", "Done"))
        sub.histories.append(h)
        self._act(case, who, t, f"jira:Status: {to}")

    def _work_subs(
        self, case: Case, kind: str, who: Actor, t: datetime, until: datetime | None = None
    ) -> datetime:
        """``who`` works the case's sub-tasks of ``kind`` from ``t`` (done before ``until``)."""
        subs = [s for k, s in self.subs.get(case.item.key, []) if k == kind]
        if not subs:
            return t
        todo, doing, done = SUBTASK_STATUSES
        for sub in subs:
            ts = self.clock.human(t, who, 0.3)
            if until is not None and ts >= until:
                ts = t + (until - t) / 3
            sub.histories.append(self._assign(ts, who.id, None, who))
            self._act(case, who, ts, "jira:Assignee changed")
            tm = ts + timedelta(seconds=self.rng.randint(5, 90))
            self._sub_move(case, sub, tm, who, todo, doing)
            td = self.clock.human(tm, who, 2.0)
            if until is not None:
                late = until - timedelta(minutes=self.rng.randint(5, 30))
                td = min(td, late) if late > tm else tm + (until - tm) / 2
            self._sub_move(case, sub, td, who, doing, done)
            entry = self.sub_truth[sub.key]
            if ts <= self.end:
                entry |= {"stage": case.stage, "assignee": who.id}
            if tm <= self.end:
                entry["started"] = iso(tm)
            if td <= self.end:
                entry["done"] = iso(td)
            t = td
        return t

    # -- build: sub-tasks, the pull request, a handoff by reassignment, a blocked spell
    def _build(self, case: Case, st: StageDef, t: datetime) -> datetime:
        sh, rng = self.shape, self.rng
        first = case.pr is None and not case.cause
        author = case.author
        assert author is not None
        if first:
            t = self._work_subs(case, "build", author, t)
        t = super()._build(case, st, t)
        if not first:
            return t
        handoff = sh.handoff_team and any(c in sh.handoff_components for c in case.item.components)
        if handoff:
            t = self._reassign(case, st, t)
        if sh.blocked_status:
            if case.plan == "blocked":
                t = self._blocked(case, st, t, stall=True)
            elif not handoff and rng.random() < sh.blocked_rate:
                t = self._blocked(case, st, t, stall=False)
        return t

    def _blocked(self, case: Case, st: StageDef, t: datetime, *, stall: bool) -> datetime:
        """The work waits in the blocked status: hours to two days, or (``stall``) 8.75-11.75."""
        rng, sh = self.rng, self.shape
        eng = case.author
        assert eng is not None
        reason = rng.choice(_BLOCKERS)
        tc = self.clock.human(t, eng, 1.0)
        self._comment(case, tc, eng, f"Blocked: {reason}.")
        tb = self.clock.bot(tc, 20, 120)
        self._move(case, tb, eng, sh.blocked_status)
        if stall:
            lo, hi = sh.stall_days(st.id, case.project.key, case.item.itype)
            te = self._stall_end(tb, eng, rng.uniform(lo, hi), lo / 8)
        else:
            te = self.clock.human(tb, eng, rng.uniform(2.0, 6.0), 0.4)
            cap = tb + timedelta(hours=16 * 24 / 9)  # two working days at most
            if te > cap:
                te = self.clock.snap(cap, eng)
        self._move(case, te, eng, st.statuses[0])
        self._comment(case, self.clock.bot(te, 20, 200), eng, "Unblocked, back on it.")
        days = round((te - tb).total_seconds() / 86400, 2)
        if stall:
            self._fail(case, "stall", st.id, te)
            self.gt.stall_days[case.item.key] = days
        if tb <= self.end:
            self.gt.blocked.append(
                {
                    "case": case.item.key,
                    "stage": st.id,
                    "status": sh.blocked_status,
                    "blocked_at": iso(tb),
                    "unblocked_at": iso(te),
                    "days": days,
                    "reason": reason,
                    "stall": stall,
                }
            )
        return case.last_t

    def _handed(self, case: Case, n_seams: int, status: str) -> None:
        """The handoff just recorded (``case.seams[n_seams]``) was one by reassignment."""
        assert len(case.seams) == n_seams + 1
        seam = case.seams[-1]
        self.gt.reassignments.append(seam | {"status": status})

    def _reassign(self, case: Case, st: StageDef, t: datetime) -> datetime:
        """Engineering reassigns the issue to the data team and back, its status unchanged."""
        rng, sh = self.rng, self.shape
        eng, pr, item = case.author, case.pr, case.item
        assert eng is not None and pr is not None
        comp = next(c for c in item.components if c in sh.handoff_components)
        them = rng.choice(self.members(sh.handoff_team))
        url = pr_url(pr.repo, pr.number)
        tc = self.clock.human(t, eng, 0.5)
        self._comment(
            case,
            tc,
            eng,
            f"{them.name.split()[0]}, the {comp} part is yours: the change so far is {url}.",
        )
        ta = self.clock.bot(tc, 20, 120)
        item.histories.append(self._assign(ta, eng.id, eng, them))
        self._act(case, eng, ta, "jira:Assignee changed")
        tw = self._wait(ta, eng.team, them)
        n = len(case.seams)
        if rng.random() < 0.5:
            self._comment(case, tw, them, f"Looking at the {comp} part now.")
            tw = self.clock.human(tw, them, 3)
        for j in range(rng.randint(1, 2)):
            c = self._commit(
                pr, tw, them, f"{item.key}: {'Add' if j == 0 else 'Tune'} {comp} changes"
            )
            self._act(case, them, c.t, "github:Commit pushed")
            tw = self.clock.human(self._check(pr, c.sha, c.t, True), them, 2)
        self._handed(case, n, case.status)
        self._comment(case, tw, them, f"Done on our side, back to you {eng.name.split()[0]}.")
        tb = self.clock.bot(tw, 20, 120)
        item.histories.append(self._assign(tb, them.id, them, eng))
        self._act(case, them, tb, "jira:Assignee changed")
        tp = self._wait(tb, them.team, eng)
        n = len(case.seams)
        self._comment(case, tp, eng, "Thanks, taking it on from here.")
        self._handed(case, n, case.status)
        return tp

    def _wait(self, t: datetime, frm: str, who: Actor) -> datetime:
        """When ``who`` first acts on work handed over by team ``frm`` at ``t`` (bounded)."""
        wait = self.shape.seam_hours.get((frm, who.team), 6.0)
        tw = self.clock.human(t, who, wait, 0.5)
        cap = t + timedelta(hours=wait * 1.5 * 24 / 9)
        return self.clock.snap(cap, who) if tw > cap else tw

    # -- QA: the tester works the test sub-task while checking
    def _check_stage(self, case: Case, st: StageDef, t: datetime) -> datetime:
        te = super()._check_stage(case, st, t)
        if st.profile == "fixed" or case.cause or case.current is None:
            return te
        self._work_subs(case, "check", case.current, t, until=te)
        return te


def plays_kanban(shape: Shape) -> bool:
    """Whether ``shape`` has sub-tasks, a blocked status or handoffs by reassignment."""
    return bool(shape.subtask_rate or shape.blocked_status or shape.handoff_team)


def generate_kanban(shape: Shape, seed: int, items: int, months: int) -> tuple[World, ShapeTruth]:
    return KanbanFlow(shape, seed, items, months).run()
