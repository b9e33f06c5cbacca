"""The task part of a rule: title and key templates, owner, priority and due time.

Templates are text with ``{expression}`` placeholders, e.g. a task title:

``"Call {plan.patient.first_name} about treatment ({plan.unscheduled_total|money})"``:
each placeholder is an expression of the rule's language, checked against the rule's
scope when the pack loads (so a misspelt field is a located load error), with an
optional ``|filter`` that formats the value (``money``, ``date``, ``datetime``,
``time``, ``upper``, ``lower``, ``title``). ``{{`` and ``}}`` stand for literal braces.
A placeholder whose value is null renders as an empty string. Task titles may also use
group placeholders (``{group.count}``, ``{group.sum(claim.billed)|money}``; see
:mod:`sophie.rules.language.group_placeholders`).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

from sophie.errors import ExpressionError, TemplateError, TemplateProblem
from sophie.model.calendar import BusinessDuration
from sophie.rules.diagnostics import suggest
from sophie.rules.language.compilation.compiler import compile_expression
from sophie.rules.language.durations import DurationSyntaxError, looks_like_duration, parse_duration
from sophie.rules.language.expressions import CheckedExpression, Scope, check_expression
from sophie.rules.language.functions import FILTERS, format_value
from sophie.rules.language.group_placeholders import GroupPlaceholder, check_group_slot, is_group_slot
from sophie.rules.language.types import DATETIME, STR
from sophie.rules.packs.pack_schema import PRIORITIES

if TYPE_CHECKING:
    from collections.abc import Sequence

    from sophie.model import View
    from sophie.rules.diagnostics import Collector
    from sophie.rules.language.context import EvalContext
    from sophie.rules.language.functions import FunctionRegistry
    from sophie.rules.language.types import ExprType
    from sophie.rules.packs.yaml_source import PathKey

Evaluator = Callable[["EvalContext", "View"], object]

__all__ = [
    "FILTERS",
    "MAX_TITLE",
    "DueSpec",
    "Placeholder",
    "TaskChecker",
    "Template",
    "TemplateError",
    "TemplateProblem",
    "ValueSpec",
    "compile_template",
    "text_offset",
]

_QUOTES = ("'", '"')

MAX_TITLE = 300
"""The longest rendered title, in characters; a longer one is cut and ends with an ellipsis."""

_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")






@dataclass(frozen=True)
class Placeholder:
    """One ``{expression|filter}`` of a template.

    Attributes:
        expression: The checked expression.
        filter: The filter name, or ``None``.
        evaluate: The compiled expression: ``(context, subject) -> value``.
    """

    expression: CheckedExpression
    filter: str | None
    evaluate: Evaluator


@dataclass(frozen=True)
class Template:
    """A checked, compiled template.

    Attributes:
        text: The template as written.
        parts: Literal text and placeholders, in order.
    """

    text: str
    parts: tuple[str | Placeholder | GroupPlaceholder, ...]

    def render(self, context: EvalContext, subject: View, *, limit: int | None = MAX_TITLE) -> str:
        """Return the text with each placeholder's value formatted in (a group of one: ``subject``)."""
        return self.render_group(context, subject, (subject,), limit=limit)

    def render_group(
        self, context: EvalContext, subject: View, members: Sequence[View], *, limit: int | None = MAX_TITLE
    ) -> str:
        """Return the text for ``subject`` with group placeholders computed over ``members``.

        Control characters in the data (CR, LF, ESC...) are removed, so a title stays one
        line. With a ``limit``, placeholders past it are not evaluated and the text is cut
        to ``limit`` characters, ending with an ellipsis.
        """
        pieces: list[str] = []
        length = 0
        tz = context.calendar.tz
        for part in self.parts:
            if limit is not None and length > limit:
                break
            if isinstance(part, str):
                piece = part
            else:
                if isinstance(part, GroupPlaceholder):
                    value = part.value(context, members)
                else:
                    value = part.evaluate(context, subject)
                piece = "" if value is None else format_value(value, part.filter, tz)
                if limit is not None:
                    piece = piece[: limit + 1]
                piece = _CONTROL.sub("", piece)
            pieces.append(piece)
            length += len(piece)
        text = "".join(pieces)
        if limit is not None and len(text) > limit:
            return text[: limit - 1] + "…"
        return text

    def placeholders(self) -> tuple[Placeholder, ...]:
        """Return the placeholders of the template (group placeholders apart)."""
        return tuple(part for part in self.parts if isinstance(part, Placeholder))

    def group_placeholders(self) -> tuple[GroupPlaceholder, ...]:
        """Return the template's group placeholders."""
        return tuple(part for part in self.parts if isinstance(part, GroupPlaceholder))


def text_offset(text: str, line: int, column: int) -> int:
    """Return the 0-based offset in ``text`` of 1-based ``line`` and ``column``."""
    lines = text.split("\n")
    line = max(1, min(line, len(lines)))
    return sum(len(previous) + 1 for previous in lines[: line - 1]) + max(0, column - 1)


@dataclass(frozen=True)
class _Slot:
    expression: str
    offset: int
    filter: str | None
    filter_offset: int


def _closing_brace(text: str, start: int) -> int:
    """Return the index of the ``}`` closing the placeholder opened at ``start`` (or -1)."""
    quote: str | None = None
    at = start + 1
    while at < len(text):
        char = text[at]
        if quote is not None:
            if char == "\\":
                at += 1
            elif char == quote:
                quote = None
        elif char in _QUOTES:
            quote = char
        elif char == "}":
            return at
        at += 1
    return -1


def _filter_bar(inner: str) -> int:
    quote: str | None = None
    bar = -1
    for at, char in enumerate(inner):
        if quote is not None:
            if char == quote:
                quote = None
        elif char in _QUOTES:
            quote = char
        elif char == "|":
            bar = at
    return bar


def _slot(text: str, start: int, end: int) -> _Slot:
    inner = text[start + 1 : end]
    bar = _filter_bar(inner)
    expression = inner if bar < 0 else inner[:bar]
    lead = len(expression) - len(expression.lstrip())
    filter_text = None if bar < 0 else inner[bar + 1 :].strip()
    filter_offset = start + 1 + bar + 1 if bar >= 0 else start
    return _Slot(expression.strip(), start + 1 + lead, filter_text, filter_offset)


def _split(text: str, problems: list[TemplateProblem]) -> list[str | _Slot]:
    parts: list[str | _Slot] = []
    literal: list[str] = []
    at = 0
    while at < len(text):
        char = text[at]
        if char in "{}" and text[at + 1 : at + 2] == char:
            literal.append(char)
            at += 2
        elif char == "}":
            problems.append(TemplateProblem(at, "single '}' in template; write '}}' for a literal brace"))
            at += 1
        elif char == "{":
            end = _closing_brace(text, at)
            if end < 0:
                problems.append(TemplateProblem(at, "unclosed '{' in template; close it or write '{{' for a brace"))
                break
            if literal:
                parts.append("".join(literal))
                literal = []
            parts.append(_slot(text, at, end))
            at = end + 1
        else:
            if _CONTROL.match(char):
                message = f"control character U+{ord(char):04X} in a template; a title is one line of text"
                problems.append(TemplateProblem(at, message))
            literal.append(char)
            at += 1
    if literal:
        parts.append("".join(literal))
    return parts


def _check_slot(
    slot: _Slot, scope: Scope, functions: FunctionRegistry | None, problems: list[TemplateProblem], group: bool
) -> Placeholder | GroupPlaceholder | None:
    ok = True
    if slot.filter is not None and slot.filter not in FILTERS:
        problems.append(
            TemplateProblem(
                slot.filter_offset,
                f"unknown filter {slot.filter!r}; use one of {', '.join(FILTERS)}",
                suggest(slot.filter, FILTERS),
            )
        )
        ok = False
    if not slot.expression:
        problems.append(TemplateProblem(max(0, slot.offset - 1), "empty placeholder '{}'; write '{{}}' for braces"))
        return None
    if is_group_slot(slot.expression, scope):
        if not group:
            problems.append(TemplateProblem(slot.offset, "group values ({group.count}, {group.sum(...)}) "
                                            "can only be used in a task title"))  # fmt: skip
            return None
        placeholder = check_group_slot(slot.expression, slot.offset, slot.filter, scope, functions, problems)
        return placeholder if ok else None
    try:
        checked = check_expression(slot.expression, scope, functions=functions)
    except ExpressionError as err:
        for problem in err.problems:
            offset = slot.offset + text_offset(slot.expression, problem.line, problem.column)
            problems.append(TemplateProblem(offset, problem.message, problem.suggestion))
        return None
    if checked.type.kind in ("entity", "list", "params"):
        problems.append(
            TemplateProblem(
                slot.offset,
                f"placeholder {{{slot.expression}}} gives {checked.type.describe()}; "
                f"name a field of it, e.g. {{{slot.expression}.id}}",
            )
        )
        return None
    if not ok:
        return None
    return Placeholder(checked, slot.filter, compile_expression(checked))


def compile_template(
    text: str, scope: Scope, *, functions: FunctionRegistry | None = None, group: bool = False
) -> Template:
    """Check and compile a template against a rule's scope.

    Args:
        text: The template text.
        scope: The rule's scope (subject name, entity type, params).
        functions: The function registry (default: the built-in functions).
        group: Whether group placeholders are allowed (task titles).

    Raises:
        TemplateError: Every problem, each with its offset in ``text``.
    """
    problems: list[TemplateProblem] = []
    parts: list[str | Placeholder | GroupPlaceholder] = []
    for part in _split(text, problems):
        if isinstance(part, str):
            parts.append(part)
            continue
        placeholder = _check_slot(part, scope, functions, problems, group)
        if placeholder is not None:
            parts.append(placeholder)
    if problems:
        raise TemplateError(problems)
    return Template(text, tuple(parts))


# -- the rest of a rule's task: owner, priority, due ------------------------------------------

_ROLE_WORD = re.compile(r"^[a-z][a-z0-9_]*\Z")
_STAFF = re.compile(r"^staff:\S+\Z")
_WORD = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*\Z")


@dataclass(frozen=True)
class ValueSpec:
    """A task owner or priority: a literal, or a compiled expression giving one."""

    literal: str | None = None
    expression: CheckedExpression | None = None
    evaluate: Evaluator | None = None

    def value(self, context: EvalContext, subject: View) -> object:
        """Return the literal, or the expression's value for ``subject``."""
        if self.evaluate is None:
            return self.literal
        return self.evaluate(context, subject)


@dataclass(frozen=True)
class DueSpec:
    """When a task is due: a duration after it opens, or an expression giving a datetime."""

    duration: timedelta | BusinessDuration | None = None
    expression: CheckedExpression | None = None
    evaluate: Evaluator | None = None

    def due_at(self, context: EvalContext, subject: View) -> object:
        """Return the due time of a task opened at ``context.now`` (in the practice's timezone)."""
        if self.evaluate is not None:
            return self.evaluate(context, subject)
        if self.duration is None:
            raise ValueError("the rule has no due time")
        return context.calendar.add(context.now, self.duration).astimezone(context.calendar.tz)


class TaskChecker:
    """Checks the task part of a pack's rules, reporting problems located in the file.

    Literal owners must be known roles (built-in or declared) or ``staff:<id>``; literal
    priorities must be priority words; a value that is neither is read as an expression.

    Args:
        roles: Every role the pack may name.
        functions: The function registry.
        out: Where located problems go.
    """

    def __init__(self, roles: frozenset[str], functions: FunctionRegistry, out: Collector) -> None:
        self.roles = roles
        self.functions = functions
        self.out = out

    def expression(
        self, text: str, path: PathKey, scope: Scope | None, expect: ExprType | None, rule_id: str
    ) -> CheckedExpression | None:
        """Check an expression written at ``path``; ``None`` (and problems reported) if it is wrong."""
        if scope is None:  # the rule's `for` is broken; that is reported already
            return None
        try:
            return check_expression(text, scope, expect=expect, functions=self.functions)
        except ExpressionError as err:
            for problem in err.problems:
                offset = text_offset(text, problem.line, problem.column)
                self.out.in_scalar(path, offset, problem.message, rule_id=rule_id, suggestion=problem.suggestion)
            return None

    def template(
        self, text: str, path: PathKey, scope: Scope | None, rule_id: str, *, group: bool = False
    ) -> Template | None:
        """Check and compile a template written at ``path`` (``group``: a title, which may use group values)."""
        if scope is None:
            return None
        try:
            return compile_template(text, scope, functions=self.functions, group=group)
        except TemplateError as err:
            for problem in err.problems:
                self.out.in_scalar(
                    path, problem.offset, problem.message, rule_id=rule_id, suggestion=problem.suggestion
                )
            return None

    def role(self, value: str, path: PathKey, rule_id: str) -> bool:
        """Check a literal owner (a role or ``staff:<id>``); report it and return False when unknown."""
        if value.startswith("staff:") and not _STAFF.match(value):
            self.out.at(
                path, f"{value!r}: write staff:<id> with the staff member's id, e.g. staff:s-1", rule_id=rule_id
            )
            return False
        if _STAFF.match(value) or value in self.roles:
            return True
        self.out.at(
            path,
            f"unknown role {value!r}; declare it under 'roles:' or use a built-in role or staff:<id>",
            rule_id=rule_id,
            suggestion=suggest(value, sorted(self.roles)),
        )
        return False

    def owner(self, value: str, path: PathKey, scope: Scope | None, rule_id: str) -> ValueSpec | None:
        """Check a task owner: a role, ``staff:<id>``, or an expression giving one."""
        if value.startswith("staff:") or _ROLE_WORD.match(value):
            return ValueSpec(literal=value) if self.role(value, path, rule_id) else None
        checked = self.expression(value, path, scope, STR, rule_id)
        return None if checked is None else ValueSpec(expression=checked, evaluate=compile_expression(checked))

    def priority(self, value: str, path: PathKey, scope: Scope | None, rule_id: str) -> ValueSpec | None:
        """Check a task priority: a priority word, or an expression giving one."""
        if value in PRIORITIES:
            return ValueSpec(literal=value)
        if _WORD.match(value):
            self.out.at(
                path,
                f"unknown priority {value!r}; use one of {', '.join(PRIORITIES)} or an expression",
                rule_id=rule_id,
                suggestion=suggest(value, PRIORITIES),
            )
            return None
        checked = self.expression(value, path, scope, STR, rule_id)
        return None if checked is None else ValueSpec(expression=checked, evaluate=compile_expression(checked))

    def due(self, value: str, path: PathKey, scope: Scope | None, rule_id: str) -> DueSpec | None:
        """Check a due time: a duration after the task opens, or an expression giving a datetime."""
        if looks_like_duration(value):
            try:
                return DueSpec(duration=parse_duration(value).value())
            except DurationSyntaxError as err:
                self.out.at(path, str(err), rule_id=rule_id, suggestion=err.suggestion)
                return None
        checked = self.expression(value, path, scope, DATETIME, rule_id)
        return None if checked is None else DueSpec(expression=checked, evaluate=compile_expression(checked))
