"""The reference interpreter: a deliberately plain tree-walk over the typed IR, and explain.

It defines what every construct means; the compiler must agree with it on every input
(a differential test checks this). It trusts no static fact about nulls: every value is
tested at run time, so a mistake in the checker's ``optional`` flags shows up as a
disagreement rather than hiding in both.

Evaluation is left to right. Null rules: an attribute of null is null;
arithmetic with null is null (once the left side is null, the right side is not
evaluated); an ordering comparison with null is false (same short-circuit); ``==``/``!=``
and ``is`` compare with null as usual; ``and``/``or``/``not`` and ``if`` treat null as
false and always give ``True`` or ``False``; loops over a null list see no items;
``x in null`` is false.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from sophie.model.views import read_attribute
from sophie.rules.language.expressions_ir import (
    Aggregate,
    Arith,
    Attr,
    BusinessAgeCompare,
    Call,
    Compare,
    Cond,
    Const,
    ListExpr,
    Logic,
    Neg,
    Node,
    Not,
    Param,
    ToDecimal,
    Var,
)
from sophie.rules.language.functions.builtin import (
    LIST_IMPLS,
    business_add,
    business_age_holds,
    concat,
    contains,
    elapsed_between,
    wall_add,
    wall_sub,
)

if TYPE_CHECKING:
    from sophie.model import View
    from sophie.rules.language.context import EvalContext
    from sophie.rules.language.expressions import CheckedExpression

__all__ = ["ExplainNode", "error_message", "explain", "interpret"]

_ARITH: dict[str, Callable[[object, object], object]] = {
    "+": operator.add,
    "-": operator.sub,
    "*": operator.mul,
    "/": operator.truediv,
    "%": operator.mod,
}
_CONTEXT_OPS: dict[str, Callable[..., object]] = {
    "+b": business_add,
    "+w": wall_add,
    "-w": wall_sub,
    "-e": elapsed_between,
}
_ORDER: dict[str, Callable[[Any, Any], Any]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}


def error_message(error: BaseException) -> str:
    """Return how an evaluation error is reported: ``ZeroDivisionError: division by zero``."""
    return f"{type(error).__name__}: {error}"


def interpret(expr: CheckedExpression, context: EvalContext, subject: View) -> object:
    """Evaluate a checked expression for one subject.

    Raises:
        Exception: Whatever the expression raised on this subject (for example
            ``ZeroDivisionError``); callers capture it per subject.
    """
    return _Evaluator(context, subject).value_of(expr.tree)


@dataclass(frozen=True)
class ExplainNode:
    """One step of an explanation: a sub-condition, its source text and its value.

    Attributes:
        text: The source text of the sub-expression.
        value: Its value for this subject (``None`` if it failed).
        children: The parts it was decided by: each operand of ``and``/``or``/``not``, the
            compared values of a comparison, the branches of ``if``.
        error: The error it raised, if it failed.
    """

    text: str
    value: object
    children: tuple[ExplainNode, ...] = ()
    error: str | None = None


def explain(expr: CheckedExpression, context: EvalContext, subject: View) -> ExplainNode:
    """Evaluate an expression for one subject and say why it came out as it did.

    Every operand of ``and``/``or`` is evaluated and shown, even those the short-circuit
    skips, so an analyst sees each condition that holds and each that does not. The value
    of each node is the one evaluation gives it (short-circuit included).
    """
    evaluator = _Evaluator(context, subject)
    return _explain(evaluator, expr.tree, expr.text)


def _explain(evaluator: _Evaluator, node: Node, text: str) -> ExplainNode:
    value: object = None
    error: str | None = None
    try:
        value = evaluator.value_of(node)
    except Exception as err:  # one failing part must not stop the explanation
        error = error_message(err)
    parts: tuple[Node, ...] = ()
    if isinstance(node, Logic | Compare):
        parts = node.operands
    elif isinstance(node, Not):
        parts = (node.operand,)
    elif isinstance(node, BusinessAgeCompare):
        parts = (node.since, node.duration)
    elif isinstance(node, Cond):
        parts = (node.test, node.body, node.orelse)
    children = tuple(_explain(evaluator, part, text) for part in parts)
    return ExplainNode(node.span.segment(text), value, children, error)


class _Evaluator:
    """Evaluates IR nodes for one subject."""

    def __init__(self, context: EvalContext, subject: View) -> None:
        self.context = context
        self.subject = subject
        self.loops: dict[int, object] = {}

    def value_of(self, node: Node) -> object:  # one branch per node kind
        if isinstance(node, Const):
            return node.value
        if isinstance(node, Var):
            return self.var(node)
        if isinstance(node, Param):
            return self.context.params[node.name]
        if isinstance(node, Attr):
            obj = self.value_of(node.obj)
            return None if obj is None else read_attribute(obj, node.name)
        if isinstance(node, Not):
            return self.value_of(node.operand) is not True
        if isinstance(node, Neg):
            value = self.value_of(node.operand)
            return None if value is None else -value  # type: ignore[operator]
        if isinstance(node, Logic):
            return self.logic(node)
        if isinstance(node, Arith):
            return self.arith(node)
        if isinstance(node, ToDecimal):
            value = self.value_of(node.operand)
            return Decimal(repr(value)) if isinstance(value, float) else value
        if isinstance(node, Compare):
            return self.compare(node)
        if isinstance(node, BusinessAgeCompare):
            return self.business_compare(node)
        if isinstance(node, Cond):
            return self.value_of(node.body) if self.value_of(node.test) is True else self.value_of(node.orelse)
        if isinstance(node, ListExpr):
            return [self.value_of(item) for item in node.items]
        if isinstance(node, Call):
            return self.call(node)
        if isinstance(node, Aggregate):
            return self.aggregate(node)
        raise TypeError(f"unknown IR node {type(node).__name__}")

    def var(self, node: Var) -> object:
        kind = node.kind
        if kind == "subject":
            return self.subject
        if kind == "loop":
            return self.loops[node.slot]
        return {"now": self.context.now, "today": self.context.today, "practice": self.context.practice}[kind]

    def logic(self, node: Logic) -> bool:
        wanted = node.op == "or"
        for operand in node.operands:
            if (self.value_of(operand) is True) is wanted:
                return wanted
        return not wanted

    def arith(self, node: Arith) -> object:
        left = self.value_of(node.left)
        if left is None:
            return None
        right = self.value_of(node.right)
        if right is None:
            return None
        if node.op in _CONTEXT_OPS:
            return _CONTEXT_OPS[node.op](self.context, left, right)
        if node.op == "+" and isinstance(left, str) and isinstance(right, str):
            return concat(left, right)
        return _ARITH[node.op](left, right)

    def compare(self, node: Compare) -> bool:
        left = self.value_of(node.operands[0])
        for op, right_node in zip(node.ops, node.operands[1:], strict=True):
            if op in _ORDER and left is None:
                return False
            right = self.value_of(right_node)
            if not _compare(op, left, right):
                return False
            left = right
        return True

    def business_compare(self, node: BusinessAgeCompare) -> bool:
        since = self.value_of(node.since)
        if since is None:
            return False
        duration = self.value_of(node.duration)
        if duration is None:
            return False
        context = self.context
        return business_age_holds(context.calendar, since, context.now, duration, node.op)  # type: ignore[arg-type]

    def call(self, node: Call) -> object:
        function = node.function
        args = [self.value_of(arg) for arg in node.args]
        if function.propagates_null and any(arg is None for arg in args):
            return None
        if function.needs_context:
            return function.impl(self.context, *args)
        return function.impl(*args)

    def aggregate(self, node: Aggregate) -> object:
        items = self.value_of(node.iterable)
        if node.element is None:
            return LIST_IMPLS[node.name](items)
        name = node.name
        values: list[object] = []
        for item in items or ():  # type: ignore[attr-defined]
            self.loops[node.slot] = item
            if node.condition is not None and self.value_of(node.condition) is not True:
                continue
            if name in ("len", "count") and not (name == "count" and node.element.type.kind == "bool"):
                values.append(True)
                continue
            value = self.value_of(node.element)
            if name == "any" and value is True:
                return True
            if name == "all" and value is not True:
                return False
            if value is not None and (name != "count" or value is True):
                values.append(value)
        return _finish(name, values, node)


def _compare(op: str, left: object, right: object) -> bool:
    if op in _ORDER:
        return right is not None and bool(_ORDER[op](left, right))
    if op == "==":
        return bool(left == right)
    if op == "!=":
        return bool(left != right)
    if op == "is":
        return left is right
    if op == "is_not":
        return left is not right
    found = contains(left, right)
    return found if op == "in" else not found


def _finish(name: str, values: list[object], node: Aggregate) -> object:
    if name == "any":
        return False
    if name == "all":
        return True
    if name in ("count", "len"):
        return len(values)
    if name == "sum":
        element_kind = node.element.type.kind if node.element is not None else ""
        start: object = timedelta(0) if element_kind == "duration" else 0
        return sum(values, start)  # type: ignore[call-overload]
    if not values:
        return None
    return min(values) if name == "min" else max(values)  # type: ignore[type-var]
