"""One cycle of the loop: snapshot -> evaluate -> reconcile -> ledger (what ``sophie run`` does).

Embedding sophie takes a few lines::

    from sophie.adapters import create_adapter
    from sophie.execution import open_ledger, run_cycle
    from sophie.rules import load_pack

    snapshot = create_adapter("files", source="practice.json").fetch()
    with open_ledger("sqlite:///sophie.db") as ledger:
        result = run_cycle(snapshot, [load_pack("example")], ledger, now=now)
    for change in result.changes:
        print(change.kind, change.task.id, change.task.owner_id)

Once a cycle's transaction has committed, every change written goes to the plugins'
``sophie_task_changed`` observers (through pluggy). ``plugins=`` says whose: by default
the installed plugins (the ``sophie`` entry points, honouring ``SOPHIE_DISABLE_PLUGINS``),
loaded for the call; pass a :class:`~sophie.plugins.manager.Plugins` to choose (and to load
them once for many cycles), e.g. ``Plugins(entry_points_enabled=False, extra=[my_observer])``,
or ``Plugins(entry_points_enabled=False)`` for none. An observer that raises never undoes
the commit: its error is in :attr:`CycleResult.observer_errors` and logged.

Evaluation runs outside any transaction; the reconcile and its writes run against
the tasks as read just before, and a conflicting concurrent writer makes the cycle
re-read and reconcile again (so two processes never open the same stall twice).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from sophie.errors import LedgerConflictError, LedgerError
from sophie.execution.capacity import apply_capacity, capacities
from sophie.execution.inputs import EvaluationLike, FindingLike, RuleLike
from sophie.execution.reconcile import ReconcileResult, finding_key, opening_start, reconcile
from sophie.execution.settings import DEFAULT_SETTINGS, ExecutionSettings
from sophie.execution.stores.audit import event_for_change
from sophie.execution.stores.ledger import CycleRecord, Ledger, TaskSelection, select_all
from sophie.execution.stores.outbox import message_for_change
from sophie.execution.tasks import ChangeKind, JsonValue, TaskChange, TaskStatus
from sophie.plugins.manager import Plugins

if TYPE_CHECKING:
    from sophie.model import Snapshot
    from sophie.rules import CompiledPack

__all__ = ["CycleResult", "apply_evaluation", "rules_by_id", "run_cycle", "within_capacity"]

logger = logging.getLogger(__name__)

_LISTED = tuple(kind for kind in ChangeKind if kind is not ChangeKind.VERIFIED)


@dataclass(frozen=True)
class CycleResult:
    """What one cycle did.

    Attributes:
        practice_id: The practice.
        now: The cycle's time.
        changes: Every change written, in order (including ``verified`` ones).
        findings: How many findings the evaluation had.
        errors: How many rule/subject failures it had.
        complete: Whether the evaluation was complete.
        open_tasks: Open-ish tasks after the cycle.
        attempts: How many reconcile attempts the write took (more than 1: another writer raced).
        packs: Pack name -> version of the packs evaluated.
        observer_errors: What ``sophie_task_changed`` observers raised after the commit
            (one line each, naming the plugin); the changes stand regardless.
    """

    practice_id: str
    now: datetime
    changes: tuple[TaskChange, ...]
    findings: int
    errors: int
    complete: bool
    open_tasks: int
    attempts: int = 1
    packs: Mapping[str, str] = field(default_factory=dict)
    observer_errors: tuple[str, ...] = ()

    @property
    def listed_changes(self) -> tuple[TaskChange, ...]:
        """The changes ``sophie run`` prints (all but ``verified``)."""
        return tuple(change for change in self.changes if change.kind is not ChangeKind.VERIFIED)

    def counts(self) -> dict[str, int]:
        """Return the number of changes of each kind (``verified`` included)."""
        return {str(kind): sum(1 for c in self.changes if c.kind is kind) for kind in ChangeKind}

    def summary(self) -> dict[str, JsonValue]:
        """Return the ``summary`` object of ``sophie run --format json``."""
        return {
            "practice": self.practice_id,
            "now": self.now.isoformat(),
            **self.counts(),
            "backlogged": sum(1 for change in self.changes if change.backlogged),
            "findings": self.findings,
            "errors": self.errors,
            "complete": self.complete,
            "open_tasks": self.open_tasks,
            "packs": dict(self.packs),
        }

    def as_dict(self) -> dict[str, JsonValue]:
        """Return ``{"changes": [...], "summary": {...}}`` as ``sophie run --format json`` prints it."""
        return {"changes": [change.as_dict() for change in self.listed_changes], "summary": self.summary()}


def rules_by_id(packs: Sequence[CompiledPack]) -> dict[str, RuleLike]:
    """Return every rule of ``packs`` by id."""
    return {rule.id: rule for pack in packs for rule in pack.rules}


def run_cycle(
    snapshot: Snapshot,
    packs: Sequence[CompiledPack],
    ledger: Ledger,
    *,
    now: datetime,
    params: Mapping[str, object] | None = None,
    settings: ExecutionSettings = DEFAULT_SETTINGS,
    plugins: Plugins | None = None,
) -> CycleResult:
    """Evaluate ``packs`` over ``snapshot`` at ``now`` and reconcile the findings into ``ledger``.

    After the commit, each change goes to the ``sophie_task_changed`` observers of
    ``plugins`` (by default the installed plugins; see the module docstring).

    Raises:
        ConfigurationError: A bad parameter or a naive ``now`` (nothing is written).
        LedgerError: The ledger cannot be written, or other writers kept winning.
    """
    from sophie.rules import evaluate

    evaluation = evaluate(packs, snapshot, now, params, max_findings=settings.max_findings)
    versions = {pack.name: pack.version for pack in packs}
    return apply_evaluation(
        ledger,
        snapshot,
        evaluation,
        rules=rules_by_id(packs),
        now=now,
        settings=settings,
        packs=versions,
        plugins=plugins,
    )


def apply_evaluation(
    ledger: Ledger,
    snapshot: Snapshot,
    evaluation: EvaluationLike,
    *,
    rules: Mapping[str, RuleLike],
    now: datetime,
    settings: ExecutionSettings = DEFAULT_SETTINGS,
    packs: Mapping[str, str] | None = None,
    select: Callable[[], TaskSelection] | None = None,
    plugins: Plugins | None = None,
) -> CycleResult:
    """Reconcile an evaluation of ``snapshot`` into ``ledger`` in one transaction (retrying on conflict).

    After the commit (never inside the transaction), each change written goes to the
    ``sophie_task_changed`` observers of ``plugins``; ``None`` loads the installed plugins
    when there is a change to tell (see the module docstring).

    ``select`` reads the tasks to follow (called again on each attempt); by default every
    open-ish task of the practice. An incremental cycle passes only the tasks of the
    subjects it re-read, so its cost follows the change, not the size of the practice.

    Raises:
        LedgerError: After ``settings.max_attempts`` conflicting writes, or if the store fails.
    """
    practice = snapshot.practice
    index = snapshot.index
    calendar = index.calendar

    def subject_exists(subject_type: str, subject_id: str) -> bool:
        try:
            return index.get(subject_type, subject_id) is not None
        except KeyError:  # an entity type this snapshot does not know: assume it is there
            return True

    def expiry_of(finding: FindingLike) -> datetime | None:
        if finding.subject_type != "opening":
            return None
        opening = index.get("opening", finding.subject_id)
        start = getattr(opening, "start", None) if opening is not None else None
        return start if isinstance(start, datetime) else opening_start(finding.subject_id, calendar)

    errors = len(getattr(evaluation, "errors", ()))
    for attempt in range(1, settings.max_attempts + 1):
        selection = select() if select is not None else select_all(ledger.open_tasks(practice.id))
        planned = reconcile(
            selection.tasks,
            evaluation,
            now,
            practice_id=practice.id,
            rules=rules,
            staff=snapshot.staff,
            calendar=calendar,
            settings=settings,
            cursors=ledger.cursors(practice.id),
            subject_exists=subject_exists,
            expiry_of=expiry_of,
            generation=ledger.cycle_count(practice.id),
            open_counts=selection.open_counts,
        )
        result = within_capacity(planned, selection, evaluation, snapshot, now, settings)
        cycle = _cycle_record(practice.id, now, evaluation, result, errors, packs or {})
        try:
            _write(ledger, result, rules, snapshot, cycle)
        except LedgerConflictError as err:
            logger.info("cycle for practice %s: task %s changed meanwhile; retrying", practice.id, err.task_id)
            continue
        opened = result.count(ChangeKind.CREATED) + result.count(ChangeKind.REOPENED)
        closed = result.count(ChangeKind.RESOLVED) + result.count(ChangeKind.EXPIRED)
        outcome = CycleResult(
            practice_id=practice.id,
            now=now.astimezone(calendar.tz),
            changes=result.changes,
            findings=len(evaluation.findings),
            errors=errors,
            complete=evaluation.complete,
            open_tasks=selection.open_total + opened - closed,
            attempts=attempt,
            packs=dict(packs or {}),
            observer_errors=_observe(plugins, result.changes),
        )
        logger.info("cycle for practice %s at %s: %s", practice.id, now.isoformat(), outcome.counts())
        return outcome
    raise LedgerError(f"gave up after {settings.max_attempts} attempts: other writers kept changing the same tasks")


def _observe(plugins: Plugins | None, changes: Sequence[TaskChange]) -> tuple[str, ...]:
    """Tell the observers about committed changes; return (and log) what they raised."""
    if not changes:
        return ()
    host = plugins if plugins is not None else Plugins()
    if plugins is None:
        for problem in host.problems:
            logger.warning("%s", problem)
    errors = tuple(str(error) for error in host.notify_task_changes(changes))
    for error in errors:
        logger.warning("%s", error)
    return errors


def within_capacity(
    planned: ReconcileResult,
    selection: TaskSelection,
    evaluation: EvaluationLike,
    snapshot: Snapshot,
    now: datetime,
    settings: ExecutionSettings,
) -> ReconcileResult:
    """Return reconcile's result with every person's day kept within capacity (:mod:`~sophie.execution.capacity`)."""
    practice_id = snapshot.practice.id
    due_by_key = {finding_key(practice_id, finding): finding.due_at for finding in evaluation.findings}
    changes = apply_capacity(
        selection.tasks,
        planned.changes,
        now.astimezone(snapshot.index.calendar.tz),
        capacity=capacities(snapshot.staff, settings.capacity),
        default_capacity=settings.capacity,
        calendar=snapshot.index.calendar,
        due_by_key=due_by_key,
        counts=selection.day_counts,
        backlog=selection.backlog,
    )
    return ReconcileResult(changes, planned.cursors)


def _cycle_record(
    practice_id: str,
    now: datetime,
    evaluation: EvaluationLike,
    result: ReconcileResult,
    errors: int,
    packs: Mapping[str, str],
) -> CycleRecord:
    counts: dict[str, JsonValue] = {str(kind): result.count(kind) for kind in ChangeKind}
    counts.update({"errors": errors, "packs": dict(packs)})
    return CycleRecord(practice_id, now, evaluation.complete, len(evaluation.findings), counts)


def _write(
    ledger: Ledger,
    result: ReconcileResult,
    rules: Mapping[str, RuleLike],
    snapshot: Snapshot,
    cycle: CycleRecord,
) -> None:
    events = [event_for_change(change) for change in result.changes]
    final = {change.task.id: change.task.status for change in result.changes}
    waiting = {task_id for task_id, status in final.items() if status is TaskStatus.BACKLOG}
    outbox = []
    for change in result.changes:
        if change.task.id in waiting:  # nobody is told of a task in their backlog until it is released
            continue
        rule = rules.get(change.task.rule)
        message = message_for_change(change, rule.title if rule is not None else change.task.rule)
        if message is not None:
            outbox.append(message)
    ledger.apply(result.changes, events, outbox, practice=snapshot.practice, cursors=result.cursors, cycle=cycle)
