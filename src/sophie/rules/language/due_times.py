"""Due times a task can be born with: never already past.

A rule's ``due`` is a duration after the task opens (``2 business_days``) or an expression
giving a datetime (``appointment.start - hours(1)``). An expression can give a time before
the moment the task opens (the appointment is in 30 minutes; the opening starts now): a
task born overdue escalates at once and tells its owner nothing. So a due time earlier
than :data:`MINIMUM_DUE` after the opening is moved to it — **one business hour after the
task opens** (from the next opening when the practice is closed) — and ``sophie check``
warns about a ``due`` expression that can precede the opening (one that does not start
from ``now``: ``now + …``, or ``max(now, …)``).
"""

from __future__ import annotations

from datetime import datetime

from sophie.model.calendar import BusinessCalendar, BusinessDuration, business_hours
from sophie.rules.language.expressions import CheckedExpression
from sophie.rules.language.expressions_ir import Arith, Call, Node, Var

__all__ = ["MINIMUM_DUE", "can_precede_opening", "no_earlier_than_opening"]

MINIMUM_DUE: BusinessDuration = business_hours(1)
"""How long after it opens a task whose ``due`` came out earlier is due."""


def no_earlier_than_opening(due_at: datetime, now: datetime, calendar: BusinessCalendar) -> datetime:
    """Return ``due_at``, or :data:`MINIMUM_DUE` after ``now`` when ``due_at`` is not after ``now``."""
    if due_at > now:
        return due_at
    return calendar.add(now, MINIMUM_DUE).astimezone(calendar.tz)


def can_precede_opening(expression: CheckedExpression) -> bool:
    """Whether a ``due`` expression may give a time before the task opens (it does not start from ``now``)."""
    return not _from_now(expression.tree)


_PLUS = frozenset({"+", "+w", "+b"})


def _from_now(node: Node) -> bool:
    if isinstance(node, Var):
        return node.kind == "now"
    if isinstance(node, Arith):  # now plus a duration: "+w" (wall clock, either order) or "+b" (business time)
        return node.op in _PLUS and (_from_now(node.left) or _from_now(node.right))
    if isinstance(node, Call):
        return node.function.name == "max" and any(_from_now(arg) for arg in node.args)
    return False
