"""sophie: the execution layer for dental practice-management systems.

The public API, in the order data flows: an adapter reads a practice into a
:class:`Snapshot`; rule packs (:func:`load_pack`) are evaluated over it
(:func:`evaluate`) into findings; :func:`run_cycle` reconciles them into owned,
escalating tasks in a ledger (:class:`SqliteLedger`). Everything listed in
``__all__`` is documented and stable; the errors are in :mod:`sophie.errors`.

Example:
    >>> import sophie
    >>> snapshot = sophie.load_snapshot_file("examples/snapshots/cancellation-morning.yaml")
    >>> packs = [sophie.load_pack("dental-core")]
    >>> with sophie.SqliteLedger(":memory:") as ledger:
    ...     result = sophie.run_cycle(snapshot, packs, ledger, now=snapshot.as_of)
    >>> sorted({change.task.owner_role for change in result.changes})[:2]
    ['financial_coordinator', 'front_desk']
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from sophie.adapters import Adapter, DemoAdapter, FilesAdapter, create_adapter, load_snapshot_file
from sophie.config import load_config
from sophie.errors import (
    AdapterAuthError,
    AdapterDataError,
    AdapterError,
    CalendarError,
    ConfigurationError,
    DeliveryError,
    Diagnostic,
    EvaluationError,
    ExpressionError,
    ExpressionProblem,
    FindingsLimitError,
    ForbiddenAttributeError,
    IntegrityError,
    LedgerConflictError,
    LedgerError,
    NotifierError,
    PluginConflictError,
    PluginError,
    PluginLoadError,
    RecordProblem,
    RuleError,
    SnapshotError,
    SophieError,
    SourceUnavailableError,
    StaleSnapshotError,
    TemplateError,
    TemplateProblem,
    TransitionError,
    UnknownNameError,
    WebhookVerificationError,
)
from sophie.execution import (
    Action,
    ActionResult,
    AuditEvent,
    CycleResult,
    ExecutionSettings,
    SqliteLedger,
    Task,
    TaskChange,
    TaskStatus,
    apply_action,
    open_ledger,
    reconcile,
    run_cycle,
)
from sophie.execution.task_text import EvidenceLine, evidence_lines
from sophie.model import Opening, Snapshot, SnapshotIndex, View, parse_snapshot
from sophie.model.calendar import BusinessCalendar, BusinessDuration, business_days, business_hours
from sophie.model.summary import PracticeSummary
from sophie.rules import CompiledPack, Evaluation, Finding, evaluate, explain_rule, load_pack, run_pack_tests

try:
    __version__ = version("sophie")
except PackageNotFoundError:  # running from a source tree without installing
    __version__ = "0.0.0"

__all__ = [
    "Action",
    "ActionResult",
    "Adapter",
    "AdapterAuthError",
    "AdapterDataError",
    "AdapterError",
    "AuditEvent",
    "BusinessCalendar",
    "BusinessDuration",
    "CalendarError",
    "CompiledPack",
    "ConfigurationError",
    "CycleResult",
    "DeliveryError",
    "DemoAdapter",
    "Diagnostic",
    "Evaluation",
    "EvaluationError",
    "EvidenceLine",
    "ExecutionSettings",
    "ExpressionError",
    "ExpressionProblem",
    "FilesAdapter",
    "Finding",
    "FindingsLimitError",
    "ForbiddenAttributeError",
    "IntegrityError",
    "LedgerConflictError",
    "LedgerError",
    "NotifierError",
    "Opening",
    "PluginConflictError",
    "PluginError",
    "PluginLoadError",
    "PracticeSummary",
    "RecordProblem",
    "RuleError",
    "Snapshot",
    "SnapshotError",
    "SnapshotIndex",
    "SophieError",
    "SourceUnavailableError",
    "SqliteLedger",
    "StaleSnapshotError",
    "Task",
    "TaskChange",
    "TaskStatus",
    "TemplateError",
    "TemplateProblem",
    "TransitionError",
    "UnknownNameError",
    "View",
    "WebhookVerificationError",
    "__version__",
    "apply_action",
    "business_days",
    "business_hours",
    "create_adapter",
    "evaluate",
    "evidence_lines",
    "explain_rule",
    "load_config",
    "load_pack",
    "load_snapshot_file",
    "open_ledger",
    "parse_snapshot",
    "reconcile",
    "run_cycle",
    "run_pack_tests",
]
