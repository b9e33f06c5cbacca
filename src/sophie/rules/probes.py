"""What a finding shows about its subject: its id, evidence probes, values as plain JSON.

:func:`evidence_probes` compiles, once per rule, the attribute reads, parameters, calls and
aggregates that decide a rule's condition; the evaluator runs them for each finding and
records their values with :func:`plain_value`.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from enum import Enum

from sophie.model.calendar import BusinessDuration
from sophie.model.views import View
from sophie.rules.language.compilation.compiler import compile_expression
from sophie.rules.language.expressions import CheckedExpression
from sophie.rules.language.expressions_ir import (
    Aggregate,
    Arith,
    Attr,
    BusinessAgeCompare,
    Call,
    Compare,
    Cond,
    ListExpr,
    Logic,
    Neg,
    Node,
    Not,
    Param,
    ToDecimal,
    children,
)
from sophie.rules.language.templates import Evaluator

__all__ = ["evidence_probes", "plain_value", "subject_id"]


def subject_id(view: View) -> str:
    """Return a subject's id (a balance's is its guarantor's patient id)."""
    value = getattr(view, "id", None)
    return str(value if value is not None else view.patient_id)


def plain_value(value: object) -> object:
    """Return a JSON-ready copy of an expression value (decimals and times as text)."""
    if isinstance(value, Enum):
        return value.value
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, timedelta | BusinessDuration):
        return str(value)
    if isinstance(value, View):
        return subject_id(value)
    if isinstance(value, list | tuple):
        return [plain_value(item) for item in value[:20]]
    return str(value)


_DESCEND = (Logic, Not, Neg, ToDecimal, Compare, BusinessAgeCompare, Arith, Cond, ListExpr)


def evidence_probes(expr: CheckedExpression) -> tuple[tuple[str, Evaluator], ...]:
    """Return compiled probes for the values that decide ``expr``, by their source text.

    The probes are the attribute reads, parameters, calls and aggregates that the
    condition's logic combines (not the constants, and nothing inside a generator), so a
    finding's evidence costs a few attribute loads, not a re-evaluation.
    """
    probes: dict[str, Evaluator] = {}
    stack: list[Node] = [expr.tree]
    while stack:
        node = stack.pop()
        if isinstance(node, _DESCEND):
            stack.extend(reversed(list(children(node))))
        elif isinstance(node, Attr | Param | Call | Aggregate):
            text = " ".join(expr.segment(node).split())
            if text and text not in probes:
                probe = CheckedExpression(text=text, type=node.type, tree=node, scope=expr.scope)
                probes[text] = compile_expression(probe)
    return tuple(probes.items())
