"""Execution: findings become owned tasks that escalate, resolve themselves and are audited.

- :func:`reconcile` (pure) turns an evaluation plus the open tasks into task changes.
- :mod:`~sophie.execution.assignment` gives each task one available owner.
- :mod:`~sophie.execution.escalation` times escalations and the paused clock of a block.
- :class:`Ledger` is the store interface; :class:`SqliteLedger` the embedded default.
- :func:`run_cycle` does one whole cycle (what ``sophie run`` does);
  :func:`sophie.execution.simulation.loop.simulate` runs the loop over simulated weeks.
"""

from __future__ import annotations

from sophie.errors import LedgerConflictError, LedgerError, TransitionError
from sophie.execution.actions import Action, ActionResult, apply_action
from sophie.execution.assignment import DEFAULT_LADDER, Assigner, Assignment, OwnershipStrategy, is_available
from sophie.execution.engine import CycleResult, apply_evaluation, rules_by_id, run_cycle
from sophie.execution.reconcile import ReconcileResult, reconcile
from sophie.execution.settings import DEFAULT_SETTINGS, ExecutionSettings
from sophie.execution.stores.audit import AuditEvent
from sophie.execution.stores.ledger import (
    DEFAULT_DB_URL,
    CycleRecord,
    Ledger,
    StoredLedger,
    is_postgres_url,
    sqlite_path,
)
from sophie.execution.stores.opening import open_existing_ledger, open_ledger
from sophie.execution.stores.outbox import OutboxMessage
from sophie.execution.stores.sqlite.ledger import SqliteLedger
from sophie.execution.tasks import OPEN_STATUSES, TERMINAL_STATUSES, ChangeKind, Task, TaskChange, TaskStatus

__all__ = [
    "DEFAULT_DB_URL",
    "DEFAULT_LADDER",
    "DEFAULT_SETTINGS",
    "OPEN_STATUSES",
    "TERMINAL_STATUSES",
    "Action",
    "ActionResult",
    "Assigner",
    "Assignment",
    "AuditEvent",
    "ChangeKind",
    "CycleRecord",
    "CycleResult",
    "ExecutionSettings",
    "Ledger",
    "LedgerConflictError",
    "LedgerError",
    "OutboxMessage",
    "OwnershipStrategy",
    "ReconcileResult",
    "SqliteLedger",
    "StoredLedger",
    "Task",
    "TaskChange",
    "TaskStatus",
    "TransitionError",
    "apply_action",
    "apply_evaluation",
    "is_available",
    "is_postgres_url",
    "open_existing_ledger",
    "open_ledger",
    "reconcile",
    "rules_by_id",
    "run_cycle",
    "sqlite_path",
]
