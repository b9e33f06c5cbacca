"""The typing rules of the expression language, the scope names resolve in, and the checker's face.

Each function answers one question the checker asks (what does ``a + b`` give, may ``a``
be compared with ``b``) and returns either a type or ``None``/a message in plain words.
:class:`Scope` says what the names of an expression refer to; :class:`Checking` is what the
rules for calls and comparisons see of the checker.
"""

from __future__ import annotations

import ast
import difflib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from types import MappingProxyType
from typing import TYPE_CHECKING, Protocol

from sophie.errors import UnknownNameError
from sophie.model import ENTITY_TYPES
from sophie.rules.language.expressions_ir import Const, Node, Span, ToDecimal, Var
from sophie.rules.language.types import DECIMAL, ExprType

if TYPE_CHECKING:
    from sophie.rules.language.functions import FunctionRegistry

__all__ = [
    "ORDER_OPS",
    "Checking",
    "Scope",
    "accepts",
    "arith_result",
    "close_name",
    "equality_problem",
    "fits",
    "ordering_problem",
    "to_decimal",
]

ORDER_OPS = frozenset({"<", "<=", ">", ">="})

_VERBS = {
    "+": "add {r} to {l}",
    "-": "subtract {r} from {l}",
    "*": "multiply {l} by {r}",
    "/": "divide {l} by {r}",
    "%": "take {l} modulo {r}",
}
@dataclass(frozen=True)
class Scope:
    """What the names of an expression can refer to.

    Attributes:
        subject: The name the subject is bound to (its alias, or its entity type name).
        entity_type: The subject's entity type (a key of ``ENTITY_TYPES``).
        params: Parameter name to type, for ``params.<name>``.
    """

    subject: str
    entity_type: str
    params: Mapping[str, ExprType] = field(default_factory=dict, hash=False)

    def __post_init__(self) -> None:
        if self.entity_type not in ENTITY_TYPES:
            raise UnknownNameError("entity type", self.entity_type, known=sorted(ENTITY_TYPES))
        object.__setattr__(self, "params", MappingProxyType(dict(self.params)))


class Checking(Protocol):
    """What the call and comparison rules see of the checker walking one expression.

    The checker (:mod:`sophie.rules.language.checker`) implements it; the rules for calls
    (:mod:`~sophie.rules.language.expressions_calls`) and comparisons
    (:mod:`~sophie.rules.language.expressions_compare`) take it, so neither imports the checker.
    """

    scope: Scope
    functions: FunctionRegistry
    loops: dict[str, Var]
    next_slot: int

    def span(self, node: ast.AST) -> Span:
        """Return where ``node`` is in the expression text."""
        ...

    def problem(self, node: ast.AST | Span, message: str, suggestion: str | None = None) -> None:
        """Record a problem at ``node``."""
        ...

    def attr_span(self, node: ast.Attribute) -> Span:
        """Return where the attribute name of ``node`` is."""
        ...

    def segment(self, node: Node) -> str:
        """Return the source text of a checked node."""
        ...

    def visit(self, node: ast.AST, *, business_age: bool = False) -> Node | None:
        """Check ``node`` and return its typed IR (``None`` after a problem)."""
        ...

    def visit_all(self, nodes: Sequence[ast.AST]) -> list[Node] | None:
        """Check every node; ``None`` if any had a problem."""
        ...

    def is_condition(self, node: Node, where: str, at: ast.AST) -> bool:
        """Return whether ``node`` is true-or-false, recording a problem if not."""
        ...


_WIDTH = ("int", "number", "decimal")
_DATE_HINT = "; use date(x) for the practice-local date of a date and time, or days_since(x)"
_ORDERABLE = frozenset({"int", "number", "decimal", "str", "date", "datetime", "duration"})


def arith_result(op: str, left: ExprType, right: ExprType) -> tuple[str, ExprType] | str:
    """Return the (possibly refined) operator and the result type of ``left <op> right``.

    The operator comes back as ``"+w"``/``"-w"`` for a datetime plus or minus a duration
    (wall-clock arithmetic in the practice's timezone), ``"-e"`` for the elapsed time between
    two datetimes and ``"+b"`` for a datetime plus a business duration (a calendar step).
    Returns a message when the operands do not mix.
    """
    optional = left.optional or right.optional
    lk, rk = left.kind, right.kind
    if lk == "none" or rk == "none":
        other = right if lk == "none" else left
        return op, other.with_optional(True) if other.kind != "none" else other
    if lk == "any" or rk == "any":
        return op, ExprType("any", optional=True)
    result = _plain_arith(op, left, right)
    if result is None:
        return "cannot " + _VERBS[op].format(l=left.plain().describe(), r=right.plain().describe()) + _hint(op, lk, rk)
    refined, kind = result
    return refined, ExprType(kind, optional=optional)


def _plain_arith(op: str, left: ExprType, right: ExprType) -> tuple[str, str] | None:
    lk, rk = left.kind, right.kind
    if left.is_numeric and right.is_numeric:
        if op == "/" and lk == "int" and rk == "int":
            return op, "number"
        return op, max(lk, rk, key=_WIDTH.index)
    pair = (lk, op, rk)
    if pair in (("datetime", "+", "duration"), ("duration", "+", "datetime")):
        return "+w", "datetime"
    if pair == ("datetime", "-", "duration"):
        return "-w", "datetime"
    if pair == ("datetime", "-", "datetime"):
        return "-e", "duration"
    table: dict[tuple[str, str, str], str] = {
        ("date", "+", "duration"): "date",
        ("duration", "+", "date"): "date",
        ("date", "-", "duration"): "date",
        ("date", "-", "date"): "duration",
        ("duration", "+", "duration"): "duration",
        ("duration", "-", "duration"): "duration",
        ("duration", "/", "duration"): "number",
        ("duration", "*", "int"): "duration",
        ("duration", "*", "number"): "duration",
        ("int", "*", "duration"): "duration",
        ("number", "*", "duration"): "duration",
        ("duration", "/", "int"): "duration",
        ("duration", "/", "number"): "duration",
        ("str", "+", "str"): "str",
    }
    if pair == ("datetime", "+", "business_duration"):
        return "+b", "datetime"
    kind = table.get(pair)
    return None if kind is None else (op, kind)


def _hint(op: str, lk: str, rk: str) -> str:
    if {lk, rk} == {"date", "datetime"}:
        return _DATE_HINT
    if "business_duration" in (lk, rk):
        return "; compare business_age(t) with business_days(n), or add business time to a date and time"
    if "decimal" in (lk, rk) and "duration" in (lk, rk):
        return "; durations multiply by whole numbers or numbers, not money"
    return ""


def equality_problem(left: ExprType, right: ExprType) -> str | None:
    """Return why ``left == right`` is meaningless, or ``None`` when it is fine."""
    lk, rk = left.kind, right.kind
    if "none" in (lk, rk) or "any" in (lk, rk):
        return None
    if left.is_numeric and right.is_numeric:
        return None
    if {lk, rk} == {"date", "datetime"}:
        return f"cannot compare {left.plain().describe()} with {right.plain().describe()}{_DATE_HINT}"
    if lk != rk or (lk == "entity" and left.entity != right.entity):
        return f"cannot compare {left.plain().describe()} with {right.plain().describe()}"
    if lk == "business_age":
        return "business_age(...) can only be compared with business_days(n) or business_hours(n)"
    return None


def ordering_problem(op: str, left: ExprType, right: ExprType) -> str | None:
    """Return why ``left <op> right`` (an ordering) is meaningless, or ``None``."""
    lk, rk = left.kind, right.kind
    if "none" in (lk, rk) or "any" in (lk, rk):
        return None
    if left.is_numeric and right.is_numeric:
        return None
    if {lk, rk} == {"date", "datetime"}:
        return f"cannot compare {left.plain().describe()} with {right.plain().describe()}{_DATE_HINT}"
    if lk == rk and lk in _ORDERABLE:
        return None
    if "business_duration" in (lk, rk):
        return "business durations are compared only as business_age(t) >= business_days(n)"
    if lk == rk:
        return f"{left.plain().describe()} cannot be ordered with {op!r}"
    return f"cannot compare {left.plain().describe()} with {right.plain().describe()}"


def accepts(param: ExprType, arg: ExprType) -> bool:
    """Return whether a function parameter of type ``param`` takes an argument of type ``arg``."""
    if param.kind == "any" or arg.kind in ("none", "any"):
        return True
    if param.is_numeric and arg.is_numeric:
        return _WIDTH.index(arg.kind) <= _WIDTH.index(param.kind)
    if param.kind != arg.kind:
        return False
    if param.kind in ("entity", "list") and param.entity is not None:
        return param.entity == arg.entity
    if param.kind == "list" and param.item is not None and arg.item is not None:
        return accepts(param.item, arg.item)
    return True


def fits(expect: ExprType, actual: ExprType) -> bool:
    """Return whether a value of type ``actual`` may stand where ``expect`` is required."""
    if expect.kind == "any" or actual.kind in ("none", "any"):
        return True
    if expect.is_numeric and actual.is_numeric:
        return True
    if expect.kind != actual.kind:
        return False
    return expect.entity is None or expect.entity == actual.entity


def close_name(name: str, known: Sequence[str]) -> str | None:
    """Return the known name closest to ``name`` (for "did you mean"), if one is close."""
    matches = difflib.get_close_matches(name, list(known), n=1, cutoff=0.6)
    return matches[0] if matches else None


def to_decimal(node: Node) -> Node:
    """Return ``node`` made to meet money exactly.

    Numeric literals become ``Decimal`` constants (through their shortest repr, so ``0.1``
    is ``Decimal("0.1")``); other floats are converted when evaluated; ints stay as they are
    (they compare with ``Decimal`` exactly).
    """
    kind = node.type.kind
    if kind not in ("int", "number"):
        return node
    if isinstance(node, Const) and isinstance(node.value, int | float) and not isinstance(node.value, bool):
        return Const(DECIMAL, node.span, Decimal(repr(node.value)))
    if kind == "int":
        return node
    return ToDecimal(DECIMAL.with_optional(node.type.optional), node.span, node)
