"""The typed intermediate representation (IR) that the checker builds from an expression.

Every node carries its inferred :class:`~sophie.rules.language.types.ExprType` and the span of
source text it came from. The compiler and the reference interpreter both work from this
tree only, never from the analyst's text. Nodes are frozen and compare by structure (spans
are ignored), so equal sub-expressions can be shared.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sophie.rules.language.types import ExprType, RuleFunction

__all__ = [
    "AGGREGATES",
    "Aggregate",
    "Arith",
    "BusinessAgeCompare",
    "Call",
    "Compare",
    "Cond",
    "Const",
    "ListExpr",
    "Logic",
    "Neg",
    "Node",
    "Not",
    "Param",
    "Span",
    "ToDecimal",
    "Var",
    "char_position",
    "children",
    "walk",
]

AGGREGATES: tuple[str, ...] = ("any", "all", "count", "sum", "min", "max", "len")
"""Functions that may take a generator ``(x for v in xs if c)`` as their only argument."""


@dataclass(frozen=True, slots=True)
class Span:
    """Where a node's text is: 1-based lines, 0-based character columns, end exclusive."""

    line: int
    column: int
    end_line: int
    end_column: int

    def segment(self, text: str) -> str:
        """Return the part of ``text`` this span covers."""
        lines = text.split("\n")
        if not 1 <= self.line <= self.end_line <= len(lines):
            return ""
        if self.line == self.end_line:
            return lines[self.line - 1][self.column : self.end_column]
        parts = [lines[self.line - 1][self.column :]]
        parts.extend(lines[self.line : self.end_line - 1])
        parts.append(lines[self.end_line - 1][: self.end_column])
        return "\n".join(parts)


@dataclass(frozen=True, slots=True)
class Node:
    """Base of every IR node.

    Attributes:
        type: The inferred type.
        span: The source text it came from (ignored by ``==``).
    """

    type: ExprType
    span: Span = field(compare=False)


@dataclass(frozen=True, slots=True)
class Const(Node):
    """A literal: ``int``, ``float``, ``Decimal``, ``str``, ``bool`` or ``None``."""

    value: object


@dataclass(frozen=True, slots=True)
class Var(Node):
    """A name: ``subject``, ``now``, ``today``, ``practice``, or a loop variable.

    Attributes:
        kind: ``"subject"``, ``"now"``, ``"today"``, ``"practice"`` or ``"loop"``.
        slot: For loop variables, a number unique within the expression.
    """

    kind: str
    slot: int = 0


@dataclass(frozen=True, slots=True)
class Param(Node):
    """``params.<name>``: a value fixed for the whole run."""

    name: str


@dataclass(frozen=True, slots=True)
class Attr(Node):
    """``obj.name``: a field or derived value of an entity (``None`` when ``obj`` is)."""

    obj: Node
    name: str


@dataclass(frozen=True, slots=True)
class Not(Node):
    """``not operand``: ``True`` unless the operand is ``True``."""

    operand: Node


@dataclass(frozen=True, slots=True)
class Neg(Node):
    """``-operand`` (``None`` stays ``None``)."""

    operand: Node


@dataclass(frozen=True, slots=True)
class Logic(Node):
    """``a and b and …`` / ``a or b or …``; null counts as false; the result is a bool."""

    op: str
    operands: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Arith(Node):
    """``left <op> right`` for ``+ - * / %``; ``None`` if either side is ``None``.

    ``op`` is ``"+w"``/``"-w"`` for a datetime plus or minus a duration (wall-clock time in
    the practice's timezone), ``"-e"`` for the elapsed time between two datetimes and ``"+b"``
    for a datetime plus a business duration.
    """

    op: str
    left: Node
    right: Node


@dataclass(frozen=True, slots=True)
class ToDecimal(Node):
    """Convert a float operand to ``Decimal`` (through its shortest repr) to meet money."""

    operand: Node


@dataclass(frozen=True, slots=True)
class Compare(Node):
    """A (possibly chained) comparison ``a < b <= c``.

    ``ops[i]`` compares ``operands[i]`` with ``operands[i + 1]``; one of
    ``== != < <= > >= in not_in is is_not``.
    """

    ops: tuple[str, ...]
    operands: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class BusinessAgeCompare(Node):
    """``business_age(since) <op> duration`` with ``op`` one of ``>= > < <=``."""

    op: str
    since: Node
    duration: Node


@dataclass(frozen=True, slots=True)
class Cond(Node):
    """``body if test else orelse``."""

    test: Node
    body: Node
    orelse: Node


@dataclass(frozen=True, slots=True)
class ListExpr(Node):
    """A list literal ``[a, b, …]``."""

    items: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Call(Node):
    """A call of a registered function."""

    function: RuleFunction
    args: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Aggregate(Node):
    """``name(element for var in iterable if condition)``, or ``name(iterable)``.

    Attributes:
        name: One of :data:`AGGREGATES`.
        iterable: The list looped over (``None`` at run time counts as empty).
        slot: The loop variable's slot (0 for the plain-list form).
        element: The generator's element, or ``None`` for the plain-list form.
        condition: The generator's ``if``, if any.
        var_name: The loop variable as the analyst wrote it (for explain).
    """

    name: str
    iterable: Node
    slot: int = 0
    element: Node | None = None
    condition: Node | None = None
    var_name: str = ""


def children(node: Node) -> Iterator[Node]:
    """Yield the direct sub-nodes of ``node`` in evaluation order."""
    if isinstance(node, Attr):
        yield node.obj
    elif isinstance(node, Not | Neg | ToDecimal):
        yield node.operand
    elif isinstance(node, Logic):
        yield from node.operands
    elif isinstance(node, Arith):
        yield node.left
        yield node.right
    elif isinstance(node, Compare):
        yield from node.operands
    elif isinstance(node, BusinessAgeCompare):
        yield node.since
        yield node.duration
    elif isinstance(node, Cond):
        yield node.test
        yield node.body
        yield node.orelse
    elif isinstance(node, ListExpr):
        yield from node.items
    elif isinstance(node, Call):
        yield from node.args
    elif isinstance(node, Aggregate):
        yield node.iterable
        if node.condition is not None:
            yield node.condition
        if node.element is not None:
            yield node.element


def walk(node: Node) -> Iterator[Node]:
    """Yield ``node`` and every node below it (pre-order, iteratively)."""
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        stack.extend(reversed(list(children(current))))


def char_position(source: str, lineno: int, byte_offset: int) -> tuple[int, int]:
    """Return (1-based line, 0-based character column) in the text for a parser position.

    The parser counts columns in UTF-8 bytes of the wrapped source (which has one extra
    character on line 1).
    """
    lines = source.split("\n")
    line_text = lines[lineno - 1] if 0 < lineno <= len(lines) else ""
    column = len(line_text.encode("utf-8")[:byte_offset].decode("utf-8", errors="ignore"))
    if lineno == 1:
        column = max(0, column - 1)
    return max(1, min(lineno, len(lines) - 1)), column
