"""What each page shows, read from the ledger and the site store (no HTTP here).

Who may see and act on what: everyone sees and acts on their own tasks and their roles'
queues; ``office_manager`` and ``owner_dentist`` (and API tokens) on everything.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from sophie.errors import SophieError, UnknownNameError
from sophie.execution.actions import Action, ActionResult
from sophie.execution.stores.ledger import OwnerLoad, ReportingLedger
from sophie.execution.tasks import DAY_STATUSES, Task
from sophie.web.rendering import Candidate, EvidenceLine, candidates, evidence_lines, local_time, relative_due
from sophie.web.site_store import HuddlePatient, SiteStore, StaffEntry

__all__ = [
    "MANAGER_ROLES",
    "PAGE_LATER_LIMIT",
    "PAGE_SECTION_LIMIT",
    "Board",
    "MyDay",
    "NotAllowedError",
    "PageContext",
    "TaskCard",
    "Viewer",
    "act",
    "board",
    "can_see",
    "my_day",
    "task_card",
]

MANAGER_ROLES = frozenset({"office_manager", "owner_dentist"})
"""Roles that see every task and the scorecard."""

SECTION_LIMIT = 50
"""The most tasks the API's day lists overdue and due today (the counts say how many there are)."""

LATER_LIMIT = 20
"""The most tasks the API's day lists later."""

PAGE_SECTION_LIMIT = 25
"""The most tasks My day's page shows overdue and due today: what a person can work through, and
what renders quickly with thousands open (the counts say how many there are)."""

PAGE_LATER_LIMIT = 15
"""The most tasks My day's page shows later."""

TEAM_LIMIT = 10
"""The most tasks of the person's roles' queue My day lists."""

_DAY_STATUSES = tuple(sorted(str(status) for status in DAY_STATUSES))


@dataclass(frozen=True, slots=True)
class Viewer:
    """Who is asking: a signed-in person or an API token.

    Attributes:
        actor: How their actions are audited (``staff:<id>`` or ``token:<name>``).
        staff_id: The staff id (``None`` for a token).
        name: Their name.
        roles: Their roles.
    """

    actor: str
    staff_id: str | None
    name: str
    roles: tuple[str, ...] = ()

    @property
    def is_manager(self) -> bool:
        """Whether they see everything (a manager's role, or an API token)."""
        return self.staff_id is None or bool(MANAGER_ROLES.intersection(self.roles))


def can_see(viewer: Viewer, task: Task) -> bool:
    """Return whether ``viewer`` may see and act on ``task``."""
    if viewer.is_manager:
        return True
    return task.owner_id == viewer.staff_id or (task.owner_role is not None and task.owner_role in viewer.roles)


@dataclass(frozen=True)
class PageContext:
    """What every page needs: the clock, the practice's zone, names.

    Attributes:
        now: The time of the request.
        zone: The practice's IANA zone.
        staff: The directory's staff, by id.
        practice_id: The practice served (``None``: the ledger's only one; no filter).
    """

    now: datetime
    zone: str
    staff: dict[str, StaffEntry]
    practice_id: str | None = None

    @property
    def day_start(self) -> datetime:
        """Midnight today in the practice's zone."""
        local = self.now.astimezone(ZoneInfo(self.zone))
        return datetime.combine(local.date(), time(0), ZoneInfo(self.zone))

    @property
    def day_end(self) -> datetime:
        """Midnight tonight in the practice's zone."""
        return datetime.combine(self.day_start.date() + timedelta(days=1), time(0), ZoneInfo(self.zone))

    def name(self, staff_id: str | None) -> str:
        """Return a staff member's name (``nobody`` when unowned; the id when unknown)."""
        if staff_id is None:
            return "nobody"
        entry = self.staff.get(staff_id)
        return entry.name if entry is not None else staff_id


@dataclass(frozen=True)
class TaskCard:
    """A task as a page shows it.

    Attributes:
        task: The task.
        patient: The patient's first name and last initial ("" when none).
        owner: The owner's name.
        due: The due time in the practice's zone.
        due_in: ``overdue by 2 days`` / ``due in 3 hours``.
        why: The evidence in words.
        candidates: An opening's ranked candidates.
    """

    task: Task
    patient: str
    owner: str
    due: str
    due_in: str
    why: list[EvidenceLine]
    candidates: list[Candidate] = field(default_factory=list)


def task_card(task: Task, context: PageContext, patients: dict[str, str]) -> TaskCard:
    """Return the card of one task."""
    return TaskCard(
        task=task,
        patient=patients.get(task.patient_id or "", ""),
        owner=context.name(task.owner_id),
        due=local_time(task.due_at, context.zone),
        due_in=relative_due(task.due_at, context.now),
        why=evidence_lines(task),
        candidates=candidates(task.evidence),
    )


def _cards(tasks: list[Task], context: PageContext, site: SiteStore) -> list[TaskCard]:
    patients = site.patient_displays([t.patient_id for t in tasks if t.patient_id])
    return [task_card(task, context, patients) for task in tasks]


@dataclass(frozen=True)
class MyDay:
    """A person's day.

    Attributes:
        overdue / today / later: The tasks in their day by due time (at most :data:`SECTION_LIMIT`
            each); tasks waiting in their backlog are counted, not listed.
        load: Their counts (in the day, overdue, due today, backlog).
        team: Tasks in the day of their roles, owned by someone else or nobody (first few).
        team_count: How many of those there are.
    """

    overdue: list[TaskCard]
    today: list[TaskCard]
    later: list[TaskCard]
    load: OwnerLoad
    team: list[TaskCard]
    team_count: int


def my_day(
    ledger: ReportingLedger,
    site: SiteStore,
    viewer: Viewer,
    context: PageContext,
    *,
    section_limit: int = SECTION_LIMIT,
    later_limit: int = LATER_LIMIT,
) -> MyDay:
    """Return ``viewer``'s day: their tasks by due time (the first few of each section) and their roles' queue."""
    me, day, practice = viewer.staff_id, _DAY_STATUSES, context.practice_id
    overdue = ledger.find_tasks(
        owner_id=me, statuses=day, due_before=context.now, practice_id=practice, limit=section_limit
    )
    today = ledger.find_tasks(
        owner_id=me, statuses=day, due_after=context.now, due_before=context.day_end, practice_id=practice,
        limit=section_limit,
    )  # fmt: skip
    later = ledger.find_tasks(
        owner_id=me, statuses=day, due_after=context.day_end, practice_id=practice, limit=later_limit
    )
    loads = (
        ledger.owner_loads(now=context.now, day_end=context.day_end, owner_id=me, practice_id=practice) if me else {}
    )
    load = loads.get(me or "", OwnerLoad(0, 0, 0, 0))
    team: list[Task] = []
    team_count = 0
    for role in viewer.roles:
        team += ledger.find_tasks(role=role, statuses=day, not_owner_id=me, practice_id=practice, limit=TEAM_LIMIT)
        team_count += ledger.count_tasks(role=role, statuses=day, not_owner_id=me, practice_id=practice)
    return MyDay(
        _cards(overdue, context, site), _cards(today, context, site), _cards(later, context, site), load,
        _cards(team[:TEAM_LIMIT], context, site), team_count,
    )  # fmt: skip


@dataclass(frozen=True)
class PersonLoad:
    """One person's load on the board.

    Attributes:
        staff_id: Who.
        name: Their name.
        roles: Their roles.
        load: Their counts.
    """

    staff_id: str
    name: str
    roles: tuple[str, ...]
    load: OwnerLoad


@dataclass(frozen=True)
class Board:
    """The huddle board.

    Attributes:
        openings: Today's openings (open, and those closed today), with owners.
        huddle: Patients on today's schedule with unscheduled treatment or a balance.
        loads: Each person's load, busiest first.
        escalated: Tasks escalated in the last 24 hours, newest first.
        version: The ledger's change marker when the board was read.
        directory_read_at: When the directory (names, schedule) was read from the PMS.
    """

    openings: list[TaskCard]
    huddle: list[HuddlePatient]
    loads: list[PersonLoad]
    escalated: list[TaskCard]
    version: str
    directory_read_at: datetime | None


_ANY_STATUS = ("open", "acknowledged", "snoozed", "blocked", "backlog", "done", "resolved", "expired", "cancelled")


def board(ledger: ReportingLedger, site: SiteStore, context: PageContext) -> Board:
    """Return the huddle board as of ``context.now``."""
    version = ledger.change_marker()
    practice = context.practice_id
    openings = ledger.find_tasks(
        subject_type="opening", statuses=_ANY_STATUS, due_after=context.day_start - timedelta(hours=12),
        practice_id=practice, limit=60,
    )  # fmt: skip
    openings = [t for t in openings if t.is_open or (t.resolved_at is not None and t.resolved_at >= context.day_start)]
    openings.sort(key=lambda t: (not t.is_open, t.expires_at or t.due_at))
    loads = ledger.owner_loads(now=context.now, day_end=context.day_end, practice_id=practice)
    people = [
        PersonLoad(sid, context.name(sid), context.staff[sid].roles if sid in context.staff else (), load)
        for sid, load in loads.items()
        if sid
    ]
    for sid, entry in context.staff.items():
        if sid not in loads and entry.active:
            people.append(PersonLoad(sid, entry.name, entry.roles, OwnerLoad(0, 0, 0, 0)))
    if "" in loads:
        people.append(PersonLoad("", "nobody (no one holds the role)", (), loads[""]))
    people.sort(key=lambda p: (-p.load.overdue, -p.load.open, p.name))
    events = ledger.events(since=context.now - timedelta(days=1), kinds=("escalated",))
    latest: dict[str, datetime] = {}
    for event in events:
        latest[event.task_id] = event.at
    ids = sorted(latest, key=lambda tid: latest[tid], reverse=True)[:40]
    found = ledger.find_tasks(task_ids=ids, statuses=_ANY_STATUS, practice_id=practice)
    escalated = sorted(found, key=lambda t: latest[t.id], reverse=True)
    return Board(
        _cards(openings, context, site),
        site.huddle(context.day_start.date()),
        people,
        _cards(escalated, context, site),
        version,
        site.directory_read_at(),
    )


class NotAllowedError(SophieError, PermissionError):
    """The viewer may not see or act on that task."""

    __module__ = "sophie"


def act(
    ledger: ReportingLedger,
    viewer: Viewer,
    task_id: str,
    action: str,
    *,
    now: datetime,
    until: datetime | None = None,
    text: str | None = None,
    practice_id: str | None = None,
) -> ActionResult:
    """Apply a person's action through the ledger's audited transition, as ``sophie task`` does.

    ``text`` is the block's reason or the note; a task of another practice than
    ``practice_id`` (when given) is unknown here.

    Raises:
        NotAllowedError: The task is not the viewer's, nor their roles'.
        UnknownNameError: No such task. TransitionError: Not allowed from its status.
    """
    task = ledger.get(task_id)
    if task.id != task_id or (practice_id is not None and task.practice_id != practice_id):
        raise UnknownNameError("task", task_id)  # no prefixes from the pages and the API: ids are exact
    if not can_see(viewer, task):
        raise NotAllowedError(f"task {task_id} is not yours")
    return ledger.transition(task.id, Action(action), actor=viewer.actor, now=now, until=until, reason=text)
