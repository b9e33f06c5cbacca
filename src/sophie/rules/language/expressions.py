"""Rule expressions: parse safely, allow only a small language, resolve and type every name.

An expression is Python syntax read by :func:`ast.parse` and never run as Python: the
tree is walked against an allow-list of node kinds, every name and attribute is resolved
against the domain model (:data:`sophie.model.ENTITY_TYPES`) and every function against a
typed registry, and the result is a typed tree (:mod:`sophie.rules.language.expressions_ir`) that
the compiler and the interpreter evaluate. Size and nesting are limited before the parser
sees the text, so hostile input gives located problems, never a crash.
"""

from __future__ import annotations

import ast
import warnings
from dataclasses import dataclass, field

from sophie.errors import ExpressionError, ExpressionProblem
from sophie.rules.language.checker import check_tree
from sophie.rules.language.expressions_ir import Node, char_position
from sophie.rules.language.expressions_typing import Scope
from sophie.rules.language.functions import FunctionRegistry
from sophie.rules.language.types import ExprType

__all__ = [
    "MAX_DEPTH",
    "MAX_LENGTH",
    "MAX_NESTING",
    "CheckedExpression",
    "ExpressionError",
    "ExpressionProblem",
    "Scope",
    "check_expression",
]

MAX_LENGTH = 4000
"""The longest expression text accepted, in characters."""

MAX_NESTING = 50
"""The deepest nesting of brackets ``( [ {`` accepted."""

MAX_DEPTH = 64
"""The deepest syntax tree accepted (operators nest too: ``- - - x``)."""

_OPENERS = {"(": ")", "[": "]", "{": "}"}
_CLOSERS = {")": "(", "]": "[", "}": "{"}


@dataclass(frozen=True)
class CheckedExpression:
    """An expression that passed every check, with its typed tree.

    Attributes:
        text: The expression as written.
        type: The type of its value.
        tree: The typed IR the compiler and interpreter evaluate.
        scope: The scope it was checked in.
    """

    text: str
    type: ExprType
    tree: Node = field(repr=False)
    scope: Scope

    def segment(self, node: Node) -> str:
        """Return the source text of a node of this expression's tree."""
        return node.span.segment(self.text)


def check_expression(
    text: str,
    scope: Scope,
    *,
    expect: ExprType | None = None,
    functions: FunctionRegistry | None = None,
) -> CheckedExpression:
    """Parse, resolve and type-check one expression.

    Args:
        text: The expression (may span several lines).
        scope: The subject, its entity type and the parameter types.
        expect: The type the value must have (``BOOL`` for a ``when``), if any.
        functions: The callable functions; the built-ins when omitted.

    Returns:
        The checked expression.

    Raises:
        ExpressionError: With every problem found, each with its line and column.
    """
    if not isinstance(text, str):
        raise ExpressionError([ExpressionProblem(1, 1, f"an expression must be text, got {type(text).__name__}")])
    normalized = text.replace("\r\n", "\n").replace("\r", "\n")
    tree = parse_expression(normalized)
    registry = functions if functions is not None else FunctionRegistry.builtin()
    node, problems = check_tree(tree, normalized, scope, registry, expect)
    if problems or node is None:
        raise ExpressionError(problems or [ExpressionProblem(1, 1, "invalid expression")], text=text)
    return CheckedExpression(text=normalized, type=node.type, tree=node, scope=scope)


def parse_expression(text: str) -> ast.expr:
    """Parse expression text into a Python syntax tree, within the size and depth limits.

    The text is wrapped in brackets so that it may span lines; positions reported are
    relative to the text as given.

    Raises:
        ExpressionError: For empty, oversized or too deeply nested text and syntax errors.
    """
    if not text.strip():
        raise ExpressionError([ExpressionProblem(1, 1, "the expression is empty")], text=text)
    if len(text) > MAX_LENGTH:
        raise ExpressionError(
            [ExpressionProblem(1, 1, f"the expression is too long ({len(text)} characters; at most {MAX_LENGTH})")],
            text=text,
        )
    problems = scan_brackets(text)
    if problems:
        raise ExpressionError(problems, text=text)
    source = "(" + text + "\n)"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            tree = ast.parse(source, mode="eval")
    except SyntaxError as err:
        line, column = err.lineno or 1, max(1, (err.offset or 1) - (1 if (err.lineno or 1) == 1 else 0))
        lines = text.split("\n")
        if line > len(lines):
            line, column = len(lines), len(lines[-1].rstrip()) + 1
        message = (err.msg or "invalid syntax").replace("'==' or ':=' instead of", "'==' instead of")
        raise ExpressionError([ExpressionProblem(line, column, f"syntax error: {message}")], text=text) from None
    except (RecursionError, MemoryError, ValueError, OverflowError) as err:
        message = "the expression is too deeply nested or too large" if not isinstance(err, ValueError) else str(err)
        raise ExpressionError([ExpressionProblem(1, 1, message)], text=text) from None
    if isinstance(tree.body, ast.Tuple) and not tree.body.elts and "(" not in text:
        raise ExpressionError([ExpressionProblem(1, 1, "the expression is empty")], text=text)
    depth_problem = _depth_problem(tree.body, source)
    if depth_problem is not None:
        raise ExpressionError([depth_problem], text=text)
    return tree.body


def scan_brackets(text: str) -> list[ExpressionProblem]:
    """Check bracket balance and depth without recursion, skipping strings and comments."""
    stack: list[tuple[str, int, int]] = []
    line, column, i, n = 1, 0, 0, len(text)
    while i < n:
        char = text[i]
        if char in "'\"":
            quote = char * 3 if text.startswith(char * 3, i) else char
            j = i + len(quote)
            while j < n and not text.startswith(quote, j):
                if text[j] == "\n" and len(quote) == 1:
                    break
                j += 2 if text[j] == "\\" else 1
            j = min(n, j + len(quote))
            line += text.count("\n", i, j)
            column = j - (text.rfind("\n", 0, j) + 1)
            i = j
            continue
        if char == "#":
            end = text.find("\n", i)
            column += (n if end < 0 else end) - i
            i = n if end < 0 else end
            continue
        if char in _OPENERS:
            stack.append((char, line, column + 1))
            if len(stack) > MAX_NESTING:
                message = f"brackets are nested too deeply (more than {MAX_NESTING})"
                return [ExpressionProblem(line, column + 1, message)]
        elif char in _CLOSERS:
            if not stack:
                return [ExpressionProblem(line, column + 1, f"unmatched {char!r}")]
            opener, open_line, open_column = stack.pop()
            if _CLOSERS[char] != opener:
                return [
                    ExpressionProblem(
                        line, column + 1, f"{char!r} does not close {opener!r} opened at {open_line}:{open_column}"
                    )
                ]
        if char == "\n":
            line, column = line + 1, 0
        else:
            column += 1
        i += 1
    if stack:
        opener, open_line, open_column = stack[-1]
        return [ExpressionProblem(open_line, open_column, f"{opener!r} is never closed")]
    return []


def _depth_problem(root: ast.AST, source: str) -> ExpressionProblem | None:
    """Return a problem if the syntax tree is deeper than :data:`MAX_DEPTH` (checked iteratively)."""
    stack: list[tuple[ast.AST, int]] = [(root, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_DEPTH:
            line, column = char_position(source, getattr(node, "lineno", 1), getattr(node, "col_offset", 1))
            message = f"the expression is nested too deeply (more than {MAX_DEPTH} levels)"
            return ExpressionProblem(line, column + 1, message)
        stack.extend((child, depth + 1) for child in ast.iter_child_nodes(node))
    return None
