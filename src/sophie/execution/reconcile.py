"""Reconcile: the findings of one evaluation plus the tasks already open -> task changes.

Pure: no I/O, no clock (``now`` is an argument), the same inputs give the same changes.
Level-triggered and idempotent by key: reconciling the result of a reconcile against the
same evaluation changes nothing.

For each task already open (or marked done and awaiting confirmation), in key order:

1. an opening task whose opening has started **expires**;
2. a task whose stall the evaluation saw cleared **resolves** (rule ``resolve: auto``).
   "Saw" means the rule evaluated that subject cleanly, or — on a complete evaluation —
   the subject is gone from the PMS data. A rule that errored, a subject it did not
   evaluate, or a rule that did not run leave the task alone. A group task (see
   :mod:`sophie.rules.groups`) resolves only when every one of its members was seen
   cleared: an evaluation that saw some members never resolves the group;
3. a task is **touched** when its title, patient, priority or members change (a member
   joins or leaves its group), a snooze or a block's check-back time ends, or its owner
   is no longer available (it is reassigned). Members the evaluation did not see are
   kept. Evidence alone does not touch a task (it often holds ``now``); it is refreshed
   with any change;
4. each escalation step whose deadline passed **escalates** it, once per step;
5. a task marked done whose rule still fires after the grace period **reopens**; one
   whose stall is seen cleared is **verified** (and no longer watched).

Then each finding whose key has no task **creates** one, owned per
:mod:`sophie.execution.assignment`.

**Stages of one stall** (rules chained by ``task.continues``, see
:mod:`sophie.rules.packs.stages`) share one key: ``practice:<first rule>:<its subject
type>:<key>``. When another stage fires for a stall whose task is open, the task **carries
on** (touched, same id): it takes the stage's rule, title, subject and members, its
priority and due time (never before now), and its owner role (a new owner only when the
role differs); its escalation level starts again at 0 for the stage's own ladder (the
audit trail keeps the earlier steps). When two stages fire for one stall at once, the later
stage wins. A task opened before its rule joined a chain (its key still names its own
rule) is carried over to the stall's key; if two such tasks are open for one stall, the
later stage's carries on and the other resolves.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime

from sophie.execution.assignment import Assigner
from sophie.execution.escalation import due_steps, end_block, grace_passed
from sophie.execution.inputs import EvaluationLike, FindingLike, RuleLike
from sophie.execution.settings import DEFAULT_SETTINGS, ExecutionSettings
from sophie.execution.stores.ledger import select_all
from sophie.execution.tasks import (
    ChangeKind,
    MemberRef,
    Task,
    TaskChange,
    TaskStatus,
    jsonable,
    raise_priority,
    task_id_for,
    task_key,
)
from sophie.model.calendar import BusinessCalendar
from sophie.model.enums import Priority
from sophie.model.records import StaffMember
from sophie.rules.groups import id_order

__all__ = ["ChairDay", "ReconcileResult", "finding_key", "opening_chair_day", "opening_start", "reconcile"]

logger = logging.getLogger(__name__)

ChairDay = tuple[str, date]
"""An operatory and a practice-local date: where openings are found."""

SubjectExists = Callable[[str, str], bool]
ExpiryOf = Callable[[FindingLike], "datetime | None"]


@dataclass(frozen=True)
class ReconcileResult:
    """What one reconcile decided.

    Attributes:
        changes: The changes, in order (a task may change more than once, e.g. touched then
            escalated).
        cursors: Round-robin state after the reconcile (role -> last staff id given a task).
    """

    changes: tuple[TaskChange, ...]
    cursors: Mapping[str, str]

    def count(self, kind: ChangeKind) -> int:
        """Return how many changes are of ``kind``."""
        return sum(1 for change in self.changes if change.kind is kind)


def finding_key(practice_id: str, finding: FindingLike) -> str:
    """Return the task key a finding maps to (its stall's: the first rule of its stage chain)."""
    return task_key(
        practice_id, finding.stall or finding.rule_id, finding.stall_type or finding.subject_type, finding.key
    )


def stall_key(practice_id: str, task: Task, rules: Mapping[str, RuleLike]) -> str:
    """Return the key ``task`` has under its rule's stall (its own key unless its rule joined a chain).

    A task opened while its rule was a stall of its own has ``practice:<rule>:<type>:<key>``;
    once the rule continues another, the stall's key names the chain's first rule instead.
    """
    rule = rules.get(task.rule)
    first = _stall_of(rule) if rule is not None else ""
    own = f"{practice_id}:{task.rule}:{task.subject_type}:"
    if not first or first == task.rule or not task.key.startswith(own):
        return task.key
    return task_key(practice_id, first, getattr(rule, "stall_type", "") or task.subject_type, task.key[len(own) :])


def _stall_of(rule: RuleLike) -> str:
    return str(getattr(rule, "stall", "") or rule.id)


def _stage_of(rule: RuleLike | None) -> int:
    return int(getattr(rule, "stage", 1)) if rule is not None else 1


def _members(finding: FindingLike) -> tuple[MemberRef, ...]:
    return tuple(MemberRef(m.subject_id, m.patient_id) for m in finding.members)


def opening_start(opening_id: str, calendar: BusinessCalendar) -> datetime | None:
    """Return an opening's start from its id ``<operatory>@YYYY-MM-DDTHH:MM`` (practice-local)."""
    _, _, stamp = opening_id.rpartition("@")
    try:
        local = datetime.fromisoformat(stamp)
    except ValueError:
        return None
    return None if local.tzinfo is not None else local.replace(tzinfo=calendar.tz)


def opening_chair_day(opening_id: str) -> ChairDay | None:
    """Return ``(operatory id, practice-local date)`` of an opening id, or ``None`` if it is not one."""
    chair, at, stamp = opening_id.rpartition("@")
    if not at:
        return None
    try:
        return chair, datetime.fromisoformat(stamp).date()
    except ValueError:
        return None


def reconcile(
    tasks: Iterable[Task],
    evaluation: EvaluationLike,
    now: datetime,
    *,
    practice_id: str,
    rules: Mapping[str, RuleLike],
    staff: Sequence[StaffMember],
    calendar: BusinessCalendar,
    settings: ExecutionSettings = DEFAULT_SETTINGS,
    cursors: Mapping[str, str] | None = None,
    subject_exists: SubjectExists | None = None,
    expiry_of: ExpiryOf | None = None,
    generation: int = 0,
    open_counts: Mapping[str, int] | None = None,
) -> ReconcileResult:
    """Return the task changes that bring ``tasks`` in line with ``evaluation`` at ``now``.

    Args:
        tasks: The practice's open-ish tasks and its done tasks awaiting confirmation.
        evaluation: The findings, and which rule saw which subjects cleanly.
        now: The reconcile instant (aware).
        practice_id: The practice (first part of every key).
        rules: Rule id -> rule, for escalation ladders, resolve mode and versions.
        staff: The practice's staff, for ownership.
        calendar: The practice's business calendar.
        settings: Ownership strategy, ladder and reopen grace.
        cursors: Round-robin state from the previous reconcile.
        subject_exists: Whether a subject is still in the PMS data; lets a complete
            evaluation resolve tasks whose subject disappeared (an opening that was filled).
        expiry_of: When a new task's chance lapses (default: an opening's start).
        generation: The ledger's cycle count, folded into new task ids (see
            :func:`~sophie.execution.tasks.task_id_for`).
        open_counts: Open tasks per owner in the whole practice, for least-open ownership.
            Default: counted from ``tasks``. Pass it when ``tasks`` is only the part of the
            practice an incremental evaluation re-read.

    Returns:
        The changes and the new round-robin state.
    """
    run = _Reconcile(evaluation, now.astimezone(calendar.tz), practice_id, rules, calendar, settings, subject_exists)
    run.generation = generation
    previous = sorted(tasks, key=lambda task: (task.key, task.created_at, task.id))
    if open_counts is None:
        open_counts = select_all(previous).open_counts
    run.assigner = Assigner(
        staff,
        run.now,
        open_counts=open_counts,
        strategy=settings.strategy,
        ladder=settings.ladder,
        fixed_owners=settings.fixed_owners,
        cursors=cursors,
    )
    findings: dict[str, FindingLike] = {}
    for found in evaluation.findings:
        key = finding_key(practice_id, found)
        held = findings.get(key)
        if held is None or found.stage > held.stage:  # two stages of one stall at once: the later one
            findings[key] = found
    keyed = [(stall_key(practice_id, task, rules), task) for task in previous]
    carried = run.merge_stages(keyed)
    open_keys = {key for key, task in keyed if task.is_open}
    for key, task in keyed:
        if task.id not in carried:
            continue
        finding = findings.get(key)
        if task.is_open:
            run.follow_open(task, finding, key)
        elif task.awaits_verification:
            run.follow_done(task, finding, covered=key in open_keys)
    followed = {key for key, _ in keyed}
    for key, finding in findings.items():
        if key not in followed:
            run.create(key, finding, expiry_of)
    return ReconcileResult(tuple(run.changes), dict(run.assigner.cursors))


def _details(task: Task) -> tuple[object, ...]:
    """What a person sees of a task's stall; evidence alone (often holding ``now``) is not a change."""
    return (task.title, task.patient_id, task.priority, task.members)


class _Reconcile:
    """The state of one reconcile: its inputs, the assigner and the changes so far."""

    assigner: Assigner
    generation: int = 0

    def __init__(
        self,
        evaluation: EvaluationLike,
        now: datetime,
        practice_id: str,
        rules: Mapping[str, RuleLike],
        calendar: BusinessCalendar,
        settings: ExecutionSettings,
        subject_exists: SubjectExists | None,
    ) -> None:
        self.evaluation = evaluation
        self.now = now
        self.practice_id = practice_id
        self.rules = rules
        self.calendar = calendar
        self.settings = settings
        self.subject_exists = subject_exists
        self.changes: list[TaskChange] = []
        self._stalls: dict[str, list[RuleLike]] | None = None

    # -- bookkeeping -----------------------------------------------------------------------

    def emit(self, kind: ChangeKind, before: Task | None, after: Task, why: str, level: int | None = None) -> Task:
        rule = self.rules.get(after.rule)
        if rule is not None and (after.rule_version, after.content_hash) != (rule.version, rule.content_hash):
            after = replace(after, rule_version=rule.version, content_hash=rule.content_hash)
        if before is not None:
            after = replace(after, updated_at=self.now, version=before.version + 1)
        owner_changed = before is None or before.owner_id != after.owner_id
        self.changes.append(TaskChange(kind, after, before, why, level=level, owner_changed=owner_changed))
        logger.debug("task %s %s: %s", after.id, kind, why)
        return after

    def seen(self, task: Task, subject_id: str) -> bool:
        """Whether the evaluation saw one of the task's subjects (evaluated cleanly, or gone).

        For a stage of a stall, every stage of the same entity type that ran must have seen
        it (an error in the next stage's rule never resolves the task).
        """
        seen = self.evaluation.evaluated.get(task.rule)
        if seen is None:
            return False
        gone = bool(
            self.evaluation.complete
            and self.subject_exists is not None
            and not self.subject_exists(task.subject_type, subject_id)
        )
        if gone:
            return True
        for rule_id in self.stages_like(task):
            stage_seen = self.evaluation.evaluated.get(rule_id)
            if stage_seen is not None and subject_id not in stage_seen:
                return False
        return subject_id in seen

    def stages_like(self, task: Task) -> list[str]:
        """Return the rule ids of the task's stall whose entity type is the task's (its own included)."""
        rule = self.rules.get(task.rule)
        if rule is None:
            return [task.rule]
        first = _stall_of(rule)
        if self._stalls is None:
            self._stalls = {}
            for other in self.rules.values():
                self._stalls.setdefault(_stall_of(other), []).append(other)
        return [
            other.id
            for other in self._stalls.get(first, [rule])
            if other.id == task.rule or getattr(other, "entity_type", None) == task.subject_type
        ]

    def merge_stages(self, keyed: Sequence[tuple[str, Task]]) -> set[str]:
        """Resolve all but one of several open tasks for one stall (tasks opened before a chain existed).

        Returns the ids of the tasks reconcile follows: every task but those resolved here.
        The task of the latest stage (then the newest) carries on.
        """
        by_key: dict[str, list[Task]] = {}
        for key, task in keyed:
            if task.is_open:
                by_key.setdefault(key, []).append(task)
        follow = {task.id for _, task in keyed}
        for tasks in by_key.values():
            if len(tasks) < 2:
                continue
            ranked = sorted(tasks, key=lambda t: (_stage_of(self.rules.get(t.rule)), t.created_at, t.id))
            carrier = ranked[-1]
            for task in ranked[:-1]:
                why = f"another stage of the same stall continues as task {carrier.id}"
                self.emit(ChangeKind.RESOLVED, task, self.close(task, TaskStatus.RESOLVED), why)
                follow.discard(task.id)
        return follow

    def seen_cleared(self, task: Task) -> bool:
        """Whether the evaluation saw every subject of the task (a group: every member) and none fired."""
        return all(self.seen(task, subject_id) for subject_id in task.member_ids)

    def unseen_members(self, task: Task, finding: FindingLike | None) -> tuple[MemberRef, ...]:
        """Return the task's members the evaluation did not see (kept as they were)."""
        firing = set() if finding is None else {m.subject_id for m in finding.members}
        return tuple(m for m in task.members if m.subject_id not in firing and not self.seen(task, m.subject_id))

    def close(self, task: Task, status: TaskStatus) -> Task:
        self.assigner.count_open(task.owner_id, -1)
        closed = end_block(task, self.now, self.calendar)
        return replace(closed, status=status, resolved_at=self.now, resolution=str(status), snoozed_until=None)

    def next_stage(self, task: Task, finding: FindingLike, key: str) -> tuple[Task, str]:
        """Return the task carried on to ``finding``'s stage of its stall, and why.

        It takes the stage's rule, subject, members, title, evidence, priority and due
        time (never before now); its escalation level starts again at 0 (the stage's own
        ladder); a new owner only when the stage's owner role differs from the task's.
        """
        after = replace(
            task,
            key=key,
            rule=finding.rule_id,
            pack=finding.pack,
            subject_type=finding.subject_type,
            subject_id=finding.subject_id,
            patient_id=finding.patient_id,
            members=_members(finding),
            title=finding.title,
            evidence=jsonable(finding.evidence),
            priority=Priority(finding.priority),
            due_at=max(finding.due_at.astimezone(self.calendar.tz), self.now),
            escalation_level=0,
        )
        why = f"the stall moved from rule {task.rule} to its stage {finding.rule_id}"
        if finding.owner != task.owner_role:
            assignment = self.assigner.assign(finding.owner)
            if assignment.owner_id != task.owner_id:
                self.assigner.count_open(task.owner_id, -1)
                self.assigner.count_open(assignment.owner_id, +1)
                after = replace(after, owner_id=assignment.owner_id)
                if after.status is TaskStatus.ACKNOWLEDGED:
                    after = replace(after, status=TaskStatus.OPEN)
                why += f"; owner {assignment.why}"
            after = replace(after, owner_role=assignment.owner_role)
        return after, why

    def refreshed(self, task: Task, finding: FindingLike) -> Task:
        return replace(
            task,
            subject_id=finding.subject_id,
            title=finding.title,
            patient_id=finding.patient_id,
            evidence=jsonable(finding.evidence),
            priority=raise_priority(task.priority, finding.priority),
            members=self.merged_members(task, finding),
        )

    def merged_members(self, task: Task, finding: FindingLike) -> tuple[MemberRef, ...]:
        """Return the finding's members plus the task's members this evaluation did not see."""
        members = _members(finding)
        if not task.members:
            return members
        kept = self.unseen_members(task, finding)
        return tuple(sorted((*members, *kept), key=lambda m: id_order(m.subject_id))) if kept else members

    def reassigned(self, task: Task) -> tuple[Task, str | None]:
        """Return the task with a new owner if its owner is no longer available."""
        if self.assigner.available(task.owner_id):
            return task, None
        spec = task.owner_role or (f"staff:{task.owner_id}" if task.owner_id else "office_manager")
        assignment = self.assigner.assign(spec)
        if assignment.owner_id == task.owner_id:
            return task, None
        self.assigner.count_open(task.owner_id, -1)
        self.assigner.count_open(assignment.owner_id, +1)
        why = f"owner {task.owner_id or 'none'} unavailable; reassigned {assignment.why}"
        return replace(task, owner_id=assignment.owner_id), why

    # -- open tasks ------------------------------------------------------------------------

    def follow_open(self, task: Task, finding: FindingLike | None, key: str) -> None:
        rule = self.rules.get(task.rule)
        if finding is not None and (finding.rule_id != task.rule or key != task.key):
            self.follow_stage(task, finding, key)
            return
        if task.expires_at is not None and self.now >= task.expires_at:
            self.emit(ChangeKind.EXPIRED, task, self.close(task, TaskStatus.EXPIRED), "the opening's start has passed")
            return
        if finding is None and rule is not None and rule.resolve == "auto" and self.seen_cleared(task):
            self.emit(
                ChangeKind.RESOLVED, task, self.close(task, TaskStatus.RESOLVED), "the PMS no longer shows the stall"
            )
            return
        current, reasons = self.time_events(task)
        if finding is not None:
            wanted = (
                finding.title,
                finding.patient_id,
                raise_priority(current.priority, finding.priority),
                self.merged_members(current, finding),
            )
            if wanted != _details(current):
                reasons.append("stall details changed" if wanted[3] == current.members else "group members changed")
        elif len(task.members) > 1:
            kept = self.unseen_members(task, None)
            if len(kept) < len(task.members):  # some members were seen cleared, the others not seen
                current = replace(current, members=kept, subject_id=kept[0].subject_id)
                reasons.append("group members changed")
        current, moved = self.reassigned(current)
        if moved:
            reasons.append(moved)
        if reasons:
            if finding is not None:
                current = self.refreshed(current, finding)
            current = self.emit(ChangeKind.TOUCHED, task, current, "; ".join(reasons))
        if rule is not None and (finding is not None or rule.resolve != "auto"):
            self.escalate(current, rule)

    def follow_stage(self, task: Task, finding: FindingLike, key: str) -> None:
        """Carry an open task on to the stage of its stall that fires now (or onto its stall's key)."""
        current, reasons = self.time_events(task)
        if finding.rule_id != task.rule:
            current, why = self.next_stage(current, finding, key)
            reasons.append(why)
        else:  # opened before its rule joined a chain: same stage, the stall's key
            current = self.refreshed(replace(current, key=key), finding)
            reasons.append("carried over to its stall's key")
        current, moved = self.reassigned(current)
        if moved:
            reasons.append(moved)
        current = self.emit(ChangeKind.TOUCHED, task, current, "; ".join(reasons))
        rule = self.rules.get(finding.rule_id)
        if rule is not None:
            self.escalate(current, rule)

    def time_events(self, task: Task) -> tuple[Task, list[str]]:
        reasons: list[str] = []
        if task.status is TaskStatus.SNOOZED and task.snoozed_until is not None and task.snoozed_until <= self.now:
            task = replace(task, status=TaskStatus.OPEN, snoozed_until=None)
            reasons.append("snooze ended")
        if task.status is TaskStatus.BLOCKED and task.blocked_until is not None and task.blocked_until <= self.now:
            task = replace(end_block(task, self.now, self.calendar), status=TaskStatus.OPEN)
            reasons.append("block check-back time reached")
        return task, reasons

    def escalate(self, task: Task, rule: RuleLike) -> Task:
        for level, step in due_steps(task, rule.escalate, self.calendar, self.now):
            after = replace(task, escalation_level=level, priority=raise_priority(task.priority, step.priority))
            route = "owner kept"
            if step.to is not None:
                assignment = self.assigner.assign(step.to)
                route = assignment.why
                if assignment.owner_id != task.owner_id:
                    self.assigner.count_open(task.owner_id, -1)
                    self.assigner.count_open(assignment.owner_id, +1)
                    after = replace(after, owner_id=assignment.owner_id)
                    if after.status is TaskStatus.ACKNOWLEDGED:
                        after = replace(after, status=TaskStatus.OPEN)
                if assignment.owner_role is not None:
                    after = replace(after, owner_role=assignment.owner_role)
            if after.status is TaskStatus.SNOOZED:
                after = replace(after, status=TaskStatus.OPEN, snoozed_until=None)
            why = f"escalation step {level} ({step.after} after due); {route}"
            task = self.emit(ChangeKind.ESCALATED, task, after, why, level=level)
        return task

    # -- done tasks ------------------------------------------------------------------------

    def follow_done(self, task: Task, finding: FindingLike | None, *, covered: bool) -> None:
        """Verify a done task whose stall cleared; reopen one whose stall outlived the grace.

        ``covered``: another task for the same stall is open (a person reopened an older one),
        so this one is left to wait.
        """
        rule = self.rules.get(task.rule)
        if finding is None:
            if self.seen_cleared(task):
                self.emit(ChangeKind.VERIFIED, task, replace(task, verified_at=self.now), "the PMS confirms it")
            return
        rule = self.rules.get(finding.rule_id)
        if covered or rule is None or rule.resolve != "auto" or task.done_at is None:
            return
        if not grace_passed(task.done_at, self.now, self.settings.reopen_grace, self.calendar):
            return
        staged = task
        if finding.rule_id != task.rule:
            staged, _ = self.next_stage(task, finding, finding_key(self.practice_id, finding))
        reopened = replace(
            self.refreshed(staged, finding),
            status=TaskStatus.OPEN,
            done_at=None,
            resolved_at=None,
            resolution=None,
            reopen_count=task.reopen_count + 1,
        )
        self.assigner.count_open(task.owner_id, +1)
        reopened, moved = self.reassigned(reopened)
        why = f"marked done, but the PMS still shows the stall after {self.settings.reopen_grace}"
        reopened = self.emit(ChangeKind.REOPENED, task, reopened, why + (f"; {moved}" if moved else ""))
        self.escalate(reopened, rule)

    # -- new tasks -------------------------------------------------------------------------

    def create(self, key: str, finding: FindingLike, expiry_of: ExpiryOf | None) -> None:
        expires_at = expiry_of(finding) if expiry_of is not None else self.default_expiry(finding)
        if expires_at is not None and expires_at <= self.now:
            logger.debug("skip %s: its chance lapsed at %s", key, expires_at.isoformat())
            return
        assignment = self.assigner.assign(finding.owner)
        self.assigner.count_open(assignment.owner_id, +1)
        rule = self.rules.get(finding.rule_id)
        tz = self.calendar.tz
        task = Task(
            id=task_id_for(key, self.now, self.generation),
            key=key,
            practice_id=self.practice_id,
            rule=finding.rule_id,
            pack=finding.pack,
            rule_version=rule.version if rule is not None else "",
            content_hash=rule.content_hash if rule is not None else "",
            subject_type=finding.subject_type,
            subject_id=finding.subject_id,
            patient_id=finding.patient_id,
            members=_members(finding),
            title=finding.title,
            owner_role=assignment.owner_role,
            owner_id=assignment.owner_id,
            priority=Priority(finding.priority),
            status=TaskStatus.OPEN,
            created_at=self.now,
            updated_at=self.now,
            due_at=finding.due_at.astimezone(tz),
            expires_at=None if expires_at is None else expires_at.astimezone(tz),
            evidence=jsonable(finding.evidence),
            timezone=str(tz.key),
        )
        what = f"{finding.subject_type} {finding.subject_id}"
        if len(finding.members) > 1:
            what += f" and {len(finding.members) - 1} more in its group"
        why = f"rule {finding.rule_id} fired on {what}; owner {assignment.why}"
        task = self.emit(ChangeKind.CREATED, None, task, why)
        if rule is not None:
            self.escalate(task, rule)

    def default_expiry(self, finding: FindingLike) -> datetime | None:
        if finding.subject_type != "opening":
            return None
        return opening_start(finding.subject_id, self.calendar)
