"""Two simulated weeks of a practice using sophie: the loop moving, day by day.

The demo practice is generated once, for the first morning; from then on its data only
changes by the passing of time and by the work simulated staff do in it. Visits are checked
out as their time passes (before each cycle, see :meth:`PmsState.check_out`): a visit that
ended is completed, its procedures too, an insured patient's claim is sent and most hygiene
patients book their next visit; and patients answer the automated confirmation requests as
their visits come closer (:meth:`PmsState.answer_reminders`). Each
business day:

- 07:30 — the practice is read and a cycle runs: stalls that crossed their thresholds
  overnight become tasks, overdue ones escalate, cleared ones resolve, openings that
  started expire;
- 10:00 — simulated staff go through their queue: some do the work in the PMS (book the
  plan, close the claim, fill the opening...), some mark a task done without doing it,
  some acknowledge, snooze or block, and the rest is ignored (so it escalates);
- 12:00 — a second cycle sees the morning's work: worked tasks resolve by themselves,
  tasks marked done while the PMS still shows the stall reopen.

Everything is seeded: the same arguments give the same report. Nothing reads the clock.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from sophie.errors import TransitionError
from sophie.execution.engine import CycleResult, run_cycle
from sophie.execution.settings import DEFAULT_SETTINGS, ExecutionSettings
from sophie.execution.simulation.targets import Targets, measure_targets
from sophie.execution.simulation.work import WORKABLE, PmsState
from sophie.execution.stores.ledger import sqlite_path
from sophie.execution.stores.sqlite.ledger import SqliteLedger
from sophie.execution.tasks import JsonValue, Task, TaskStatus
from sophie.model.enums import Priority

if TYPE_CHECKING:
    from sophie.model import Snapshot
    from sophie.rules import CompiledPack

__all__ = ["DEFAULT_PACK_NAMES", "DayReport", "SimulationReport", "simulate"]

DEFAULT_PACK_NAMES = ("dental-core", "example")
"""The pack simulated when none is given: the first of these that is installed."""

_MORNING, _WORK, _MIDDAY = time(7, 30), time(10, 0), time(12, 0)
_STAFF_MOVES = (("work", 0.30), ("mark_done", 0.08), ("acknowledge", 0.15), ("snooze", 0.04), ("block", 0.03))


@dataclass(frozen=True)
class DayReport:
    """What happened on one simulated business day.

    Attributes:
        day: The practice-local date.
        changes: Role -> change kind -> count (both cycles of the day).
        staff: What simulated staff did: ``work`` (in the PMS), ``mark_done``, ``acknowledge``,
            ``snooze``, ``block``, ``ignore``.
        findings: Findings of the morning cycle.
        open_tasks: Open tasks after the midday cycle.
        day_max: The most non-urgent tasks any one person's day held (after each cycle
            and after the staff's work).
        urgent_max: The most urgent tasks any one person's day held (counted apart).
        backlog: Tasks waiting in backlogs after the midday cycle.
        day_one_waiting: How many of the tasks the first morning put in a backlog still wait.
        day_one_waiting_at_start: How many the first morning put there.
    """

    day: date
    changes: Mapping[str, Mapping[str, int]]
    staff: Mapping[str, int]
    findings: int
    open_tasks: int
    day_max: int = 0
    urgent_max: int = 0
    backlog: int = 0
    day_one_waiting: int = 0
    day_one_waiting_at_start: int = 0

    def totals(self) -> dict[str, int]:
        """Return change counts by kind, over all roles."""
        total: Counter[str] = Counter()
        for counts in self.changes.values():
            total.update(counts)
        return dict(total)


@dataclass(frozen=True)
class SimulationReport:
    """The result of :func:`simulate`.

    Attributes:
        practice_id: The demo practice.
        seed / patients: The demo's settings.
        packs: Pack name -> version.
        days: One report per simulated business day.
        queue: The open tasks at the end, most urgent first.
        targets: The day-a-team-can-work targets read from the ledger at the end
            (:mod:`sophie.execution.simulation.targets`).
    """

    practice_id: str
    seed: int
    patients: int
    packs: Mapping[str, str]
    days: tuple[DayReport, ...]
    queue: tuple[Task, ...]
    targets: Targets = field(default_factory=Targets, compare=False)

    def totals(self) -> dict[str, int]:
        """Return change counts by kind over the whole simulation."""
        total: Counter[str] = Counter()
        for day in self.days:
            total.update(day.totals())
        return dict(total)

    def load(self) -> dict[str, JsonValue]:
        """Return the load a person sees: the capacity targets measured over the simulation.

        ``day_max`` / ``urgent_max``: the fullest day of any person (urgent apart);
        ``day_one_backlog``: tasks the first morning put in a backlog; ``drain_days``: the
        business day (1-based) by which all of them had left it (``None``: not within the
        simulation); ``day_one_left``: how many of them still wait at the end;
        ``new_per_day``: per role, tasks created a business day after the first (``mean``
        and ``max``).
        """
        first = self.days[0] if self.days else None
        drained = next((n for n, day in enumerate(self.days, 1) if day.day_one_waiting == 0), None)
        later = self.days[1:]
        roles = sorted({role for day in later for role in day.changes})
        per_role: dict[str, JsonValue] = {}
        for role in roles:
            created = [day.changes.get(role, {}).get("created", 0) for day in later]
            per_role[role] = {"mean": round(sum(created) / len(created), 1), "max": max(created)}
        return {
            "day_max": max((day.day_max for day in self.days), default=0),
            "urgent_max": max((day.urgent_max for day in self.days), default=0),
            "day_one_backlog": 0 if first is None else first.day_one_waiting_at_start,
            "drain_days": drained,
            "day_one_left": self.days[-1].day_one_waiting if self.days else 0,
            "backlog_at_end": self.days[-1].backlog if self.days else 0,
            "new_per_day": per_role,
        }

    def as_dict(self) -> dict[str, JsonValue]:
        """Return the report as JSON-ready data."""
        return {
            "practice": self.practice_id,
            "seed": self.seed,
            "patients": self.patients,
            "packs": dict(self.packs),
            "totals": self.totals(),
            "load": self.load(),
            "days": [
                {"day": d.day.isoformat(), "changes": {r: dict(c) for r, c in d.changes.items()},
                 "staff": dict(d.staff), "findings": d.findings, "open_tasks": d.open_tasks}
                for d in self.days
            ],
            "queue": [task.as_dict() for task in self.queue],
            "targets": self.targets.as_dict(),
        }  # fmt: skip


def _packs(pack: str | Path | CompiledPack | Sequence[str | Path | CompiledPack] | None) -> list[CompiledPack]:
    from sophie.rules import CompiledPack, available_packs, load_pack

    if pack is None:
        known = available_packs()
        pack = next((name for name in DEFAULT_PACK_NAMES if name in known), DEFAULT_PACK_NAMES[-1])
    refs = [pack] if isinstance(pack, str | Path | CompiledPack) else list(pack)
    return [ref if isinstance(ref, CompiledPack) else load_pack(ref) for ref in refs]


def _demo(seed: int, patients: int, as_of: datetime) -> Snapshot:
    from sophie.adapters.demo.practice import DemoPractice, DemoSettings

    return DemoPractice(DemoSettings(seed=seed, patients=patients, as_of=as_of)).snapshot()


def _count(changes: Sequence[CycleResult], into: dict[str, Counter[str]]) -> None:
    for result in changes:
        for change in result.listed_changes:
            into.setdefault(change.task.owner_role or "unassigned", Counter())[str(change.kind)] += 1


def _work_all(pms: PmsState, task: Task, now: datetime) -> bool:
    """Do the work of every member of a task (a group is one piece of work); whether there was any."""
    done = [pms.work(task.subject_type, subject_id, now) for subject_id in task.member_ids]
    return any(done)


def _fullest(ledger: SqliteLedger, practice_id: str) -> tuple[int, int]:
    """Return the most non-urgent tasks, and the most urgent ones, any one person's day holds."""
    normal: Counter[str] = Counter()
    urgent: Counter[str] = Counter()
    for task in ledger.queue(practice_id=practice_id):
        (urgent if task.priority is Priority.URGENT else normal)[task.owner_id or ""] += 1
    return max(normal.values(), default=0), max(urgent.values(), default=0)


class _Staff:
    """Simulated staff: a seeded choice of what each person does with each task of their day.

    ``closing``: every person closes what is in their day (the work done in the PMS when it
    can be, else the task marked done) instead of the seeded mix.
    """

    def __init__(self, ledger: SqliteLedger, rng: random.Random, *, closing: bool = False) -> None:
        self.ledger = ledger
        self.rng = rng
        self.closing = closing

    def work_through(self, practice_id: str, now: datetime, pms: PmsState) -> Counter[str]:
        done: Counter[str] = Counter()
        until = now + timedelta(days=1)
        for task in sorted(self.ledger.queue(practice_id=practice_id), key=lambda t: t.id):
            move = self.choose(task)
            actor = f"staff:{task.owner_id}" if task.owner_id else "cli"
            try:
                if move == "work" and not _work_all(pms, task, now):
                    move = "ignore"
                    if self.closing:
                        self.ledger.transition(task.id, "done", actor=actor, now=now)
                        move = "mark_done"
                elif move == "mark_done":
                    self.ledger.transition(task.id, "done", actor=actor, now=now)
                elif move == "acknowledge":
                    self.ledger.transition(task.id, "ack", actor=actor, now=now)
                elif move == "snooze":
                    self.ledger.transition(task.id, "snooze", actor=actor, now=now, until=until)
                elif move == "block":
                    reason = "waiting on the insurer"
                    self.ledger.transition(task.id, "block", actor=actor, now=now, reason=reason, until=until)
            except TransitionError:
                move = "ignore"
            done[move] += 1
        return done

    def choose(self, task: Task) -> str:
        if self.closing:
            return "work" if task.subject_type in WORKABLE else "mark_done"
        draw = self.rng.random()
        for move, share in _STAFF_MOVES:
            if draw < share:
                if move == "work" and task.subject_type not in WORKABLE:
                    return "mark_done"
                if move in ("snooze", "block") and task.status is not TaskStatus.OPEN:
                    return "ignore"
                return move
            draw -= share
        return "ignore"


def simulate(
    days: int = 14,
    patients: int = 2000,
    seed: int = 1,
    db: str = ":memory:",
    pack: str | Path | CompiledPack | Sequence[str | Path | CompiledPack] | None = None,
    *,
    start: date | None = None,
    settings: ExecutionSettings = DEFAULT_SETTINGS,
    on_day: Callable[[DayReport], None] | None = None,
    closing: bool = False,
) -> SimulationReport:
    """Run the demo practice through ``days`` calendar days of sophie (see the module docstring).

    Args:
        days: Calendar days to simulate (closed days are skipped).
        patients: Size of the demo practice (at least 200).
        seed: The demo's seed, and the simulated staff's.
        db: The ledger (``:memory:``, a path or ``sqlite:///PATH``).
        pack: Packs by name or path, or compiled (default: ``dental-core``, else ``example``).
        start: The first day (default: the demo's default Monday).
        settings: Ownership and reopen settings.
        on_day: Called with each day's report as soon as the day is done (progress display).
        closing: Simulated people close everything in their day (see :class:`_Staff`)
            instead of the seeded mix of work, ignoring, snoozing and blocking.

    Raises:
        ConfigurationError: Bad settings (too few patients, an unknown pack...).
    """
    from sophie.adapters.demo.practice import DEFAULT_AS_OF, DemoSettings

    packs = _packs(pack)
    zone = ZoneInfo(DemoSettings().timezone)
    first = start or DEFAULT_AS_OF.astimezone(zone).date()
    reports: list[DayReport] = []
    rng = random.Random(f"sophie-simulation:{seed}")
    pms = PmsState(_demo(seed, patients, datetime.combine(first, _MORNING, zone)))
    practice_id = pms.practice.id
    calendar = pms.snapshot(datetime.combine(first, _MORNING, zone)).index.calendar
    with SqliteLedger(sqlite_path(db), busy_timeout_ms=30_000) as ledger:
        staff = _Staff(ledger, rng, closing=closing)
        day_one: set[str] | None = None
        for offset in range(days):
            day = first + timedelta(days=offset)
            if not calendar.is_business_day(day):
                continue
            changes: dict[str, Counter[str]] = {}
            morning = datetime.combine(day, _MORNING, zone)
            pms.check_out(morning, rng)
            pms.answer_reminders(morning, rng)
            early = run_cycle(pms.snapshot(morning), packs, ledger, now=morning, settings=settings)
            fullest = [_fullest(ledger, practice_id)]
            if day_one is None:
                day_one = {task.id for task in ledger.queue(practice_id=practice_id, backlog=True)}
            moves = staff.work_through(practice_id, datetime.combine(day, _WORK, zone), pms)
            fullest.append(_fullest(ledger, practice_id))
            midday = datetime.combine(day, _MIDDAY, zone)
            pms.check_out(midday, rng)
            pms.answer_reminders(midday, rng)
            late = run_cycle(pms.snapshot(midday), packs, ledger, now=midday, settings=settings)
            fullest.append(_fullest(ledger, practice_id))
            _count([early, late], changes)
            waiting = ledger.queue(practice_id=practice_id, backlog=True)
            reports.append(DayReport(day, {r: dict(c) for r, c in sorted(changes.items())}, dict(moves),
                                     early.findings, late.open_tasks,
                                     day_max=max(f[0] for f in fullest), urgent_max=max(f[1] for f in fullest),
                                     backlog=len(waiting),
                                     day_one_waiting=sum(1 for task in waiting if task.id in day_one),
                                     day_one_waiting_at_start=len(day_one)))  # fmt: skip
            if on_day is not None:
                on_day(reports[-1])
        queue = tuple(ledger.queue(practice_id=practice_id))
        targets = measure_targets(ledger, practice_id, [r.day for r in reports], day_one or ())
    targets.urgent_max = max((r.urgent_max for r in reports), default=0)
    targets.day_max = max((r.day_max for r in reports), default=0)
    versions = {p.name: p.version for p in packs}
    return SimulationReport(practice_id, seed, patients, versions, tuple(reports), queue, targets)
