"""Checking comparisons: equality, ordering, membership, ``is None`` and business ages.

Comparisons chain as in Python (``a < b <= c``). Money meets numbers exactly (numeric
literals next to a money field become ``Decimal`` constants), a string literal compared with
an enum field must be one of its values, and ``business_age(t)`` compares only with a
business duration.
"""

from __future__ import annotations

import ast

from sophie.rules.language.expressions_ir import BusinessAgeCompare, Call, Compare, Const, ListExpr, Node
from sophie.rules.language.expressions_typing import (
    ORDER_OPS,
    Checking,
    close_name,
    equality_problem,
    ordering_problem,
    to_decimal,
)
from sophie.rules.language.types import ANY, BOOL

__all__ = ["check_compare"]

_CMPOPS: dict[type[ast.cmpop], str] = {
    ast.Eq: "==",
    ast.NotEq: "!=",
    ast.Lt: "<",
    ast.LtE: "<=",
    ast.Gt: ">",
    ast.GtE: ">=",
    ast.In: "in",
    ast.NotIn: "not_in",
    ast.Is: "is",
    ast.IsNot: "is_not",
}
_FLIP = {">=": "<=", "<=": ">=", ">": "<", "<": ">"}


def check_compare(checker: Checking, node: ast.Compare) -> Node | None:
    """Return the IR of a (chained) comparison, or ``None`` after reporting its problems."""
    syntax = [node.left, *node.comparators]
    visited = [checker.visit(operand, business_age=True) for operand in syntax]
    ops = [_CMPOPS[type(op)] for op in node.ops]
    if any(operand is None for operand in visited):
        return None
    operands: list[Node] = [operand for operand in visited if operand is not None]
    if any(operand.type.kind == "business_age" for operand in operands):
        return _business_compare(checker, node, ops, operands)
    ok = True
    for i, op in enumerate(ops):
        ok = _pair(checker, op, operands, i, syntax) and ok
    return Compare(BOOL, checker.span(node), tuple(ops), tuple(operands)) if ok else None

def _pair(checker: Checking, op: str, operands: list[Node], i: int, syntax: list[ast.expr]) -> bool:
    left, right = operands[i], operands[i + 1]
    at = syntax[i + 1]
    if op in ("is", "is_not"):
        if _is_none(left) or _is_none(right):
            return True
        checker.problem(at, "'is' only compares with None (write x is None); use '==' to compare values")
        return False
    if op in ("in", "not_in"):
        return _membership(checker, left, right, at)
    if op in ORDER_OPS:
        problem = ordering_problem(op, left.type, right.type)
    else:
        problem = equality_problem(left.type, right.type)
    if problem is not None:
        checker.problem(syntax[i], problem + _quoted_number_hint(left, right))
        return False
    if left.type.kind == "decimal" or right.type.kind == "decimal":
        operands[i], operands[i + 1] = to_decimal(left), to_decimal(right)
    ok = _check_choice(checker, left, right, syntax[i + 1])
    return _check_choice(checker, right, left, syntax[i]) and ok

def _quoted_number_hint(left: Node, right: Node) -> str:
    """Say how to fix a number written in quotes and compared with a number (``fee >= "1000"``)."""
    for number, text in ((left, right), (right, left)):
        if number.type.is_numeric and isinstance(text, Const) and isinstance(text.value, str):
            try:
                float(text.value.strip())
            except ValueError:
                continue
            return f"; the quotes make {text.value!r} text: write the number without quotes ({text.value.strip()})"
    return ""


def _membership(checker: Checking, left: Node, right: Node, at: ast.AST) -> bool:
    kind = right.type.kind
    if kind == "str":
        if left.type.kind not in ("str", "none", "any"):
            checker.problem(at, f"'in' text needs text on the left, not {left.type.describe()}")
            return False
        return True
    if kind in ("none", "any"):
        return True
    if kind != "list":
        checker.problem(at, f"'in' needs a list or text on the right, but this is {right.type.describe()}")
        return False
    item = right.type.item or ANY
    problem = equality_problem(left.type, item)
    if problem is not None:
        message = problem.replace("cannot compare", "cannot look for", 1).replace(" with ", " in a list of ", 1)
        checker.problem(at, message)
        return False
    if isinstance(right, ListExpr):
        return all([_check_choice(checker, left, item_node, at) for item_node in right.items])
    return True

def _check_choice(checker: Checking, field: Node, literal: Node, at: ast.AST) -> bool:
    choices = field.type.choices
    if not choices or not isinstance(literal, Const) or not isinstance(literal.value, str):
        return True
    if literal.value in choices:
        return True
    checker.problem(
        literal.span,
        f"{literal.value!r} is not a value {checker.segment(field)} can have (one of: {', '.join(choices)})",
        close_name(literal.value, choices),
    )
    return False

def _business_compare(checker: Checking, node: ast.Compare, ops: list[str], operands: list[Node]) -> Node | None:
    if len(ops) != 1:
        checker.problem(node, "business_age comparisons cannot be chained; join them with 'and'")
        return None
    first_is_age = operands[0].type.kind == "business_age"
    age, other = (operands[0], operands[1]) if first_is_age else (operands[1], operands[0])
    op = ops[0] if first_is_age else _FLIP.get(ops[0], ops[0])
    if op not in _FLIP:
        checker.problem(node, "business_age(...) can be compared only with >=, >, < or <=")
        return None
    if other.type.kind not in ("business_duration", "none", "any"):
        checker.problem(
            node,
            f"compare business_age(...) with business_days(n) or business_hours(n), not with "
            f"{other.type.describe()}" + ("; for elapsed time use age(t)" if other.type.kind == "duration" else ""),
        )
        return None
    if not isinstance(age, Call) or len(age.args) != 1:
        checker.problem(node, "business_age(...) can be compared only directly")
        return None
    return BusinessAgeCompare(BOOL, checker.span(node), op, age.args[0], other)


def _is_none(node: Node) -> bool:
    return isinstance(node, Const) and node.value is None
