"""sophie: the execution layer for dental practice-management systems.

The public API, in the order data flows: a snapshot of the practice (from an
adapter or a file), its index of relations, derived values and openings, and the
business calendar. Everything listed in ``__all__`` is documented and stable.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from sophie.adapters import Adapter, DemoAdapter, FilesAdapter, create_adapter, load_snapshot_file
from sophie.errors import (
    AdapterAuthError,
    AdapterDataError,
    AdapterError,
    CalendarError,
    ConfigurationError,
    DeliveryError,
    Diagnostic,
    EvaluationError,
    IntegrityError,
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
    UnknownNameError,
    WebhookVerificationError,
)
from sophie.model import Opening, Snapshot, SnapshotIndex, View, parse_snapshot
from sophie.model.calendar import BusinessCalendar, BusinessDuration, business_days, business_hours
from sophie.model.summary import PracticeSummary

try:
    __version__ = version("sophie")
except PackageNotFoundError:  # running from a source tree without installing
    __version__ = "0.0.0"

__all__ = [
    "Adapter",
    "AdapterAuthError",
    "AdapterDataError",
    "AdapterError",
    "BusinessCalendar",
    "BusinessDuration",
    "CalendarError",
    "ConfigurationError",
    "DeliveryError",
    "DemoAdapter",
    "Diagnostic",
    "EvaluationError",
    "FilesAdapter",
    "IntegrityError",
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
    "StaleSnapshotError",
    "UnknownNameError",
    "View",
    "WebhookVerificationError",
    "__version__",
    "business_days",
    "business_hours",
    "create_adapter",
    "load_snapshot_file",
    "parse_snapshot",
]
