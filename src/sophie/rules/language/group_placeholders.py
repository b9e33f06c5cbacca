"""Group placeholders in task titles: ``{group.count}``, ``{group.sum(claim.billed)|money}``...

Findings of one rule whose key template renders the same text are one task (a *group*,
see :mod:`sophie.rules.groups`). Its title is the rule's title rendered for the group's
first member, where these placeholders stand for the whole group:

=====================================  ===============================================
``{group.count}``                      how many members (``3``)
``{group.count("procedure")}``         the count with its noun (``1 procedure``,
                                       ``3 procedures``; ``"family|families"`` gives an
                                       irregular plural)
``{group.sum(EXPR)}``                  the sum of a number or money expression over the
                                       members (nulls skipped)
``{group.min(EXPR)}`` / ``max(EXPR)``  the smallest / largest value (numbers, money, dates,
                                       times) over the members
=====================================  ===============================================

``EXPR`` is an expression of the rule's language about one member (``claim.billed``), checked
against the rule's scope when the pack loads; the usual ``|filter`` applies to the result.
Outside a group (a rule without a key, or a group of one) the placeholders give the
member's own values: count 1, the sum of one value. Only titles may use them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from sophie.errors import ExpressionError, TemplateProblem
from sophie.rules.diagnostics import suggest
from sophie.rules.language.compilation.compiler import compile_expression
from sophie.rules.language.expressions import CheckedExpression, Scope, check_expression
from sophie.rules.language.types import NUMERIC_KINDS

if TYPE_CHECKING:
    from sophie.model import View
    from sophie.rules.language.context import EvalContext
    from sophie.rules.language.functions import FunctionRegistry

__all__ = ["AGGREGATES", "GROUP_NAME", "GroupPlaceholder", "check_group_slot", "is_group_slot"]

GROUP_NAME = "group"
"""The name group placeholders start with (unless the rule's subject is itself called ``group``)."""

AGGREGATES = ("count", "sum", "min", "max")
"""What a group placeholder can say about the group."""

_CALL = re.compile(r"^group\s*\.\s*([A-Za-z_][A-Za-z0-9_]*)\s*(?:\((.*)\))?\s*$", re.DOTALL)
_NOUN = re.compile(r"""^\s*(["'])([A-Za-z][A-Za-z \-]*)(?:\|([A-Za-z][A-Za-z \-]*))?\1\s*$""")
_ORDERED = NUMERIC_KINDS | {"date", "datetime"}

Evaluator = Callable[["EvalContext", "View"], object]


@dataclass(frozen=True)
class GroupPlaceholder:
    """One ``{group.<aggregate>(...)|filter}`` of a title.

    Attributes:
        text: The placeholder's expression as written (``group.sum(claim.billed)``).
        aggregate: One of :data:`AGGREGATES`.
        filter: The filter name, or ``None``.
        expression: The checked member expression (``None`` for ``count``).
        evaluate: The compiled member expression.
        noun: For ``count("noun")``: the singular and plural nouns.
    """

    text: str
    aggregate: str
    filter: str | None
    expression: CheckedExpression | None = None
    evaluate: Evaluator | None = None
    noun: tuple[str, str] | None = None

    def value(self, context: EvalContext, members: Sequence[View]) -> object:
        """Return the aggregate over ``members`` (a count with a noun is text)."""
        if self.aggregate == "count":
            count = len(members)
            if self.noun is None:
                return count
            return f"{count} {self.noun[0] if count == 1 else self.noun[1]}"
        assert self.evaluate is not None
        values: list[Any] = [v for v in (self.evaluate(context, member) for member in members) if v is not None]
        if not values:
            return None
        if self.aggregate == "sum":
            return sum(values, Decimal(0) if any(isinstance(v, Decimal) for v in values) else 0)
        return min(values) if self.aggregate == "min" else max(values)


def is_group_slot(expression: str, scope: Scope) -> bool:
    """Whether a placeholder's expression is group vocabulary (``group.…``) in this scope."""
    return scope.subject != GROUP_NAME and bool(_CALL.match(expression))


def check_group_slot(
    expression: str,
    offset: int,
    filter_name: str | None,
    scope: Scope,
    functions: FunctionRegistry | None,
    problems: list[TemplateProblem],
) -> GroupPlaceholder | None:
    """Check a group placeholder written at ``offset``; report problems and return ``None`` if wrong."""
    match = _CALL.match(expression)
    assert match is not None
    aggregate, argument = match.group(1), match.group(2)
    if aggregate not in AGGREGATES:
        message = f"unknown group value {aggregate!r}; use one of {', '.join(f'group.{a}' for a in AGGREGATES)}"
        problems.append(TemplateProblem(offset, message, suggest(aggregate, AGGREGATES)))
        return None
    if aggregate == "count":
        return _count(expression, offset, filter_name, argument, problems)
    if argument is None or not argument.strip():
        problems.append(
            TemplateProblem(offset, f"group.{aggregate} needs an expression about one member, e.g. "
                            f"{{group.{aggregate}(claim.billed)}}")
        )  # fmt: skip
        return None
    inner_offset = offset + match.start(2) + (len(argument) - len(argument.lstrip()))
    try:
        checked = check_expression(argument.strip(), scope, functions=functions)
    except ExpressionError as err:
        for problem in err.problems:
            at = inner_offset + _offset(argument.strip(), problem.line, problem.column)
            problems.append(TemplateProblem(at, problem.message, problem.suggestion))
        return None
    kinds = NUMERIC_KINDS if aggregate == "sum" else _ORDERED
    if checked.type.kind not in kinds:
        wanted = "a number or money" if aggregate == "sum" else "a number, money, a date or a time"
        problems.append(
            TemplateProblem(inner_offset, f"group.{aggregate} needs {wanted}; {argument.strip()} gives "
                            f"{checked.type.describe()}")
        )  # fmt: skip
        return None
    return GroupPlaceholder(expression, aggregate, filter_name, checked, compile_expression(checked))


def _count(
    expression: str, offset: int, filter_name: str | None, argument: str | None, problems: list[TemplateProblem]
) -> GroupPlaceholder | None:
    if argument is None:
        return GroupPlaceholder(expression, "count", filter_name)
    noun = _NOUN.match(argument)
    if noun is None:
        problems.append(
            TemplateProblem(offset, 'group.count takes a quoted noun, e.g. {group.count("claim")} or '
                            '{group.count("family|families")}')
        )  # fmt: skip
        return None
    singular = noun.group(2).strip()
    plural = (noun.group(3) or f"{singular}s").strip()
    return GroupPlaceholder(expression, "count", filter_name, noun=(singular, plural))


def _offset(text: str, line: int, column: int) -> int:
    lines = text.split("\n")
    line = max(1, min(line, len(lines)))
    return sum(len(previous) + 1 for previous in lines[: line - 1]) + max(0, column - 1)
