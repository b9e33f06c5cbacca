"""The checker: walk an allow-listed Python syntax tree into the typed IR, collecting problems.

Every node kind the language allows has one method here; anything else is reported by
name in plain words. Problems do not stop the walk, so one expression reports all of its
mistakes at once, each at its own line and column.
"""

from __future__ import annotations

import ast
import math
from collections.abc import Callable, Sequence

from sophie.errors import ExpressionProblem
from sophie.model import ENTITY_TYPES
from sophie.rules.language.expressions_calls import check_call
from sophie.rules.language.expressions_compare import check_compare
from sophie.rules.language.expressions_ir import (
    Arith,
    Attr,
    Cond,
    Const,
    ListExpr,
    Logic,
    Neg,
    Node,
    Not,
    Param,
    Span,
    Var,
    char_position,
)
from sophie.rules.language.expressions_typing import Scope, arith_result, close_name, fits, to_decimal
from sophie.rules.language.functions import FunctionRegistry
from sophie.rules.language.types import (
    ANY,
    BOOL,
    DATE,
    DATETIME,
    INT,
    NONE,
    NUMBER,
    STR,
    ExprType,
    entity_type,
    from_field_type,
    list_of,
    unify,
)

__all__ = ["MAX_INT", "MAX_STRING", "check_tree"]

MAX_INT = 10**15
"""Integer literals must be smaller than this in magnitude."""

MAX_STRING = 1000
"""The longest string literal accepted, in characters."""

_NAMED_CONSTANTS = {"true": True, "false": False, "null": None}
_RESERVED = ("params", "practice", "now", "today", "true", "false", "null")
_GENERATOR_USE = "any(), all(), count(), sum(), min(), max() or len()"

_FORBIDDEN: dict[type[ast.AST], str] = {
    ast.Lambda: "lambda is not allowed in rule expressions",
    ast.ListComp: "list comprehensions are not allowed; use any(), all() or count() over a generator",
    ast.SetComp: "set comprehensions are not allowed",
    ast.DictComp: "dict comprehensions are not allowed",
    ast.GeneratorExp: f"a generator (x for x in ...) can only be the only argument of {_GENERATOR_USE}",
    ast.Subscript: "indexing and slicing (x[...]) are not allowed",
    ast.Slice: "slices are not allowed",
    ast.Starred: "'*' unpacking is not allowed",
    ast.JoinedStr: "f-strings are not allowed in rule expressions",
    ast.FormattedValue: "f-strings are not allowed in rule expressions",
    ast.NamedExpr: "':=' (assignment) is not allowed in rule expressions",
    ast.Await: "'await' is not allowed",
    ast.Yield: "'yield' is not allowed",
    ast.YieldFrom: "'yield from' is not allowed",
    ast.Dict: "dictionaries ({key: value}) are not allowed",
    ast.Set: "sets ({a, b}) are not allowed; use a list [a, b]",
    ast.Tuple: "tuples are not allowed; use a list [a, b]",
}
_BINOPS: dict[type[ast.operator], str] = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.Mod: "%"}
_FORBIDDEN_BINOPS: dict[type[ast.operator], str] = {
    ast.Pow: "'**' (power) is not allowed",
    ast.FloorDiv: "'//' is not allowed; use '/'",
    ast.MatMult: "'@' is not allowed",
    ast.BitOr: "'|' (bitwise or) is not allowed; use 'or'",
    ast.BitAnd: "'&' (bitwise and) is not allowed; use 'and'",
    ast.BitXor: "'^' (bitwise xor) is not allowed",
    ast.LShift: "'<<' (shift) is not allowed",
    ast.RShift: "'>>' (shift) is not allowed",
}
def check_tree(
    tree: ast.expr, text: str, scope: Scope, functions: FunctionRegistry, expect: ExprType | None
) -> tuple[Node | None, list[ExpressionProblem]]:
    """Return the typed IR of a parsed expression, and every problem found."""
    checker = _Checker(text, scope, functions)
    node = checker.visit(tree)
    if node is not None and expect is not None and not fits(expect, node.type):
        what = "a condition must be true or false" if expect.kind == "bool" else f"{expect.describe()} is needed here"
        checker.problem(tree, f"{what}, but this expression gives {node.type.describe()}")
    return node, checker.problems


class _Checker:
    """One walk over one expression."""

    def __init__(self, text: str, scope: Scope, functions: FunctionRegistry) -> None:
        self.text = text
        self.source = "(" + text + "\n)"
        self.scope = scope
        self.functions = functions
        self.problems: list[ExpressionProblem] = []
        self.loops: dict[str, Var] = {}
        self.next_slot = 1
        self.dispatch: dict[type[ast.AST], Callable[[ast.AST], Node | None]] = {
            ast.Constant: self.constant,  # type: ignore[dict-item]
            ast.Name: self.name,  # type: ignore[dict-item]
            ast.Attribute: self.attribute,  # type: ignore[dict-item]
            ast.UnaryOp: self.unary,  # type: ignore[dict-item]
            ast.BoolOp: self.boolean,  # type: ignore[dict-item]
            ast.BinOp: self.binary,  # type: ignore[dict-item]
            ast.Compare: self.compare,  # type: ignore[dict-item]
            ast.IfExp: self.if_else,  # type: ignore[dict-item]
            ast.List: self.list_literal,  # type: ignore[dict-item]
            ast.Call: self.call,  # type: ignore[dict-item]
        }

    # -- positions and problems -------------------------------------------------------------

    def span(self, node: ast.AST) -> Span:
        """Return where ``node`` is in the expression text."""
        start_line: int = getattr(node, "lineno", 1)
        line, column = char_position(self.source, start_line, getattr(node, "col_offset", 0))
        end_lineno: int = getattr(node, "end_lineno", None) or start_line
        end_offset: int = getattr(node, "end_col_offset", None) or 0
        end_line, end_column = char_position(self.source, end_lineno, end_offset)
        return Span(line, column, end_line, end_column)

    def problem(self, node: ast.AST | Span, message: str, suggestion: str | None = None) -> None:
        span = node if isinstance(node, Span) else self.span(node)
        self.problems.append(ExpressionProblem(span.line, span.column + 1, message, suggestion))

    def attr_span(self, node: ast.Attribute) -> Span:
        """Return the span of the attribute name itself (after the dot)."""
        span = self.span(node)
        return Span(span.end_line, max(0, span.end_column - len(node.attr)), span.end_line, span.end_column)

    def segment(self, node: Node) -> str:
        return node.span.segment(self.text)

    # -- dispatch ------------------------------------------------------------------------------

    def visit(self, node: ast.AST, *, business_age: bool = False) -> Node | None:
        method = self.dispatch.get(type(node))
        if method is None:
            self.problem(node, _FORBIDDEN.get(type(node), f"{type(node).__name__} is not allowed in rule expressions"))
            return None
        result = method(node)
        if result is not None and result.type.kind == "business_age" and not business_age:
            self.problem(node, "business_age(...) can only be compared with business_days(n) or business_hours(n)")
            return None
        return result

    def visit_all(self, nodes: Sequence[ast.AST]) -> list[Node] | None:
        results = [self.visit(node) for node in nodes]
        return None if any(result is None for result in results) else [r for r in results if r is not None]

    # -- leaves --------------------------------------------------------------------------------

    def constant(self, node: ast.Constant) -> Node | None:
        value = node.value
        span = self.span(node)
        if isinstance(value, bool) or value is None:
            return Const(BOOL if value is not None else NONE, span, value)
        if isinstance(value, int):
            if abs(value) >= MAX_INT:
                self.problem(node, "this number is too large (integers must be below 10**15)")
                return None
            return Const(INT, span, value)
        if isinstance(value, float):
            if not math.isfinite(value) or abs(value) >= MAX_INT:
                self.problem(node, "this number is too large (numbers must be below 10**15)")
                return None
            return Const(NUMBER, span, value)
        if isinstance(value, str):
            if len(value) > MAX_STRING:
                self.problem(node, f"this text is too long ({len(value)} characters; at most {MAX_STRING})")
                return None
            return Const(STR, span, value)
        words = {bytes: "bytes literals (b'...') are", complex: "complex numbers are"}.get(type(value), "'...' is")
        self.problem(node, f"{words} not allowed in rule expressions")
        return None

    def name(self, node: ast.Name) -> Node | None:
        name, span, scope = node.id, self.span(node), self.scope
        if name in _NAMED_CONSTANTS:
            value = _NAMED_CONSTANTS[name]
            return Const(BOOL if value is not None else NONE, span, value)
        if name.startswith("_"):
            self.problem(node, "names starting with '_' are not allowed")
            return None
        if name in self.loops:
            loop = self.loops[name]
            return Var(loop.type, span, "loop", loop.slot)
        if name == scope.subject:
            return Var(entity_type(scope.entity_type), span, "subject")
        fixed = {"practice": entity_type("practice"), "now": DATETIME, "today": DATE}
        if name in fixed:
            return Var(fixed[name], span, name)
        if name == "params":
            self.problem(node, "params is the group of parameters; write params.<name>")
        elif name in self.functions:
            example = self.functions.require(name).example or f"{name}(...)"
            self.problem(node, f"{name} is a function; call it, e.g. {example}")
        elif name in ENTITY_TYPES:
            self.problem(node, f"unknown name {name!r}; the subject is called {scope.subject!r} here", scope.subject)
        else:
            known = [scope.subject, *self.loops, *_RESERVED]
            self.problem(node, f"unknown name {name!r}", close_name(name, known))
        return None

    def attribute(self, node: ast.Attribute) -> Node | None:
        if node.attr.startswith("_"):
            self.problem(self.attr_span(node), "attributes starting with '_' are not allowed")
            return None
        value = node.value
        if isinstance(value, ast.Name) and value.id == "params" and "params" not in self.loops:
            return self.param(node)
        obj = self.visit(value)
        if obj is None:
            return None
        kind, attr = obj.type.kind, node.attr
        if kind == "entity" and obj.type.entity is not None:
            fields = ENTITY_TYPES[obj.type.entity]
            spec = fields.get(attr)
            if spec is None:
                suggestion = close_name(attr, list(fields))
                known = "" if suggestion else f" (fields: {', '.join(fields)})"
                self.problem(self.attr_span(node), f"{obj.type.entity} has no field {attr!r}{known}", suggestion)
                return None
            field_type = from_field_type(spec.type)
            return Attr(field_type.with_optional(field_type.optional or obj.type.optional), self.span(node), obj, attr)
        segment = self.segment(obj)
        if kind == "list":
            self.problem(
                self.attr_span(node),
                f"{segment} is {obj.type.describe()}, which has no field {attr!r}; "
                f"use e.g. any(x.{attr} ... for x in {segment})",
            )
        else:
            self.problem(self.attr_span(node), f"{segment} is {obj.type.describe()}; it has no fields or methods")
        return None

    def param(self, node: ast.Attribute) -> Node | None:
        params = self.scope.params
        if node.attr not in params:
            known = f" (parameters: {', '.join(sorted(params))})" if params else " (this pack declares no parameters)"
            suggestion = close_name(node.attr, list(params))
            self.problem(self.attr_span(node), f"unknown parameter {node.attr!r}{known}", suggestion)
            return None
        return Param(params[node.attr], self.span(node), node.attr)

    # -- operators -----------------------------------------------------------------------------

    def unary(self, node: ast.UnaryOp) -> Node | None:
        if isinstance(node.op, ast.UAdd | ast.Invert):
            what = "unary '+' is not allowed" if isinstance(node.op, ast.UAdd) else "'~' is not allowed; use 'not'"
            self.problem(node, what)
            return None
        operand = self.visit(node.operand)
        if operand is None:
            return None
        span = self.span(node)
        if isinstance(node.op, ast.Not):
            if not self.is_condition(operand, "'not'", node.operand):
                return None
            return Not(BOOL, span, operand)
        if isinstance(operand, Const) and operand.type.kind in ("int", "number"):
            return Const(operand.type, span, -operand.value)  # type: ignore[operator]
        if not (operand.type.is_numeric or operand.type.kind in ("duration", "none", "any")):
            self.problem(node, f"cannot negate {operand.type.describe()}")
            return None
        return Neg(operand.type, span, operand)

    def is_condition(self, node: Node, where: str, at: ast.AST) -> bool:
        if node.type.kind in ("bool", "none", "any"):
            return True
        self.problem(at, f"{where} needs true or false, but this is {node.type.describe()}")
        return False

    def boolean(self, node: ast.BoolOp) -> Node | None:
        op = "and" if isinstance(node.op, ast.And) else "or"
        operands = self.visit_all(node.values)
        if operands is None:
            return None
        if not all([self.is_condition(o, f"'{op}'", v) for o, v in zip(operands, node.values, strict=True)]):
            return None
        return Logic(BOOL, self.span(node), op, tuple(operands))

    def binary(self, node: ast.BinOp) -> Node | None:
        if type(node.op) not in _BINOPS:
            self.problem(node, _FORBIDDEN_BINOPS.get(type(node.op), "this operator is not allowed"))
            return None
        left, right = self.visit(node.left), self.visit(node.right)
        if left is None or right is None:
            return None
        result = arith_result(_BINOPS[type(node.op)], left.type, right.type)
        if isinstance(result, str):
            self.problem(node, result)
            return None
        op, result_type = result
        if result_type.kind == "decimal":
            left, right = to_decimal(left), to_decimal(right)
        return Arith(result_type, self.span(node), op, left, right)

    def compare(self, node: ast.Compare) -> Node | None:
        return check_compare(self, node)

    def if_else(self, node: ast.IfExp) -> Node | None:
        test, body, orelse = self.visit(node.test), self.visit(node.body), self.visit(node.orelse)
        if test is None or body is None or orelse is None:
            return None
        if not self.is_condition(test, "the condition of if/else", node.test):
            return None
        result = unify(body.type, orelse.type)
        if result is None:
            self.problem(
                node,
                f"the two branches of if/else give different types: {body.type.describe()} and "
                f"{orelse.type.describe()}",
            )
            return None
        if result.kind == "decimal":
            body, orelse = to_decimal(body), to_decimal(orelse)
        return Cond(result, self.span(node), test, body, orelse)

    def list_literal(self, node: ast.List) -> Node | None:
        items = self.visit_all(node.elts)
        if items is None:
            return None
        item_type: ExprType | None = items[0].type if items else ANY
        for item in items[1:]:
            merged = None if item_type is None else unify(item_type, item.type)
            if merged is None:
                self.problem(node, f"a list's items must be of one type; found {items[0].type.describe()} "
                             f"and {item.type.describe()}")
                return None
            item_type = merged
        return ListExpr(list_of(item_type or ANY), self.span(node), tuple(items))

    # -- calls ---------------------------------------------------------------------------------

    def call(self, node: ast.Call) -> Node | None:
        return check_call(self, node)
