"""How execution behaves for one practice: ownership strategy, role ladder, reopen grace."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta

from sophie.execution.assignment import DEFAULT_LADDER, OwnershipStrategy
from sophie.execution.capacity import DEFAULT_CAPACITY
from sophie.model.calendar import BusinessDuration, business_hours
from sophie.rules.evaluation import MAX_FINDINGS

__all__ = ["DEFAULT_SETTINGS", "ExecutionSettings"]

_ONE_BUSINESS_HOUR = business_hours(1)


@dataclass(frozen=True)
class ExecutionSettings:
    """Settings of the execution layer.

    Attributes:
        strategy: How a role's holder is chosen (least open tasks by default).
        ladder: Role -> the role that covers for it when nobody holding it is in.
        fixed_owners: Role -> staff id, for the ``fixed`` strategy.
        reopen_grace: How long after a task is marked done its rule may still fire before the
            task is reopened (the PMS may take a moment to show the work).
        max_attempts: How many times a cycle re-reads and retries after another writer
            changed the same tasks.
        max_findings: The most findings one evaluation may have; past it the cycle stops
            with :class:`~sophie.errors.FindingsLimitError` before anything is written.
        capacity: Tasks a business day a person can act on, unless their staff record says
            otherwise; the rest waits in their backlog (see :mod:`sophie.execution.capacity`).
    """

    strategy: OwnershipStrategy = OwnershipStrategy.LEAST_OPEN
    ladder: Mapping[str, str] = field(default_factory=lambda: dict(DEFAULT_LADDER))
    fixed_owners: Mapping[str, str] = field(default_factory=dict)
    reopen_grace: BusinessDuration | timedelta = _ONE_BUSINESS_HOUR
    max_attempts: int = 5
    max_findings: int = MAX_FINDINGS
    capacity: int = DEFAULT_CAPACITY


DEFAULT_SETTINGS = ExecutionSettings()
"""The defaults: least open tasks, :data:`~sophie.execution.assignment.DEFAULT_LADDER`, one
business hour of grace."""
