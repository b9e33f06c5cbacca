"""Load a rule pack: safe YAML, checked models, compiled rules; every problem located.

:func:`compile_pack` takes parsed YAML (see :mod:`sophie.rules.yaml_source`) and
returns a :class:`CompiledPack`, or raises one :class:`~sophie.errors.RuleError`
holding every problem of the file (and of its tests file), each as
``FILE:LINE:COL: error: MESSAGE``. Structure is checked by the pydantic models of
:mod:`sophie.rules.pack_schema`; roles, expressions, templates and test fixtures
are checked here, rule by rule, so one broken rule does not hide the next.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ValidationError

from sophie.errors import RuleError, UnknownNameError
from sophie.model import BUILTIN_ROLES
from sophie.model.calendar import BusinessDuration
from sophie.rules.compiler import compile_conditions, compile_expression
from sophie.rules.durations import DurationSyntaxError, looks_like_duration, parse_duration
from sophie.rules.expressions import CheckedExpression, ExpressionError, Scope, check_expression
from sophie.rules.functions import FunctionRegistry
from sophie.rules.pack_schema import PRIORITIES, Collector, Pack, PackTestCase, Rule, parse_for, suggest, textify
from sophie.rules.pack_tests import CompiledTest, compile_test
from sophie.rules.templates import Template, TemplateError, compile_template, text_offset
from sophie.rules.types import BOOL, DATETIME, STR, ExprType, type_of_value

if TYPE_CHECKING:
    from sophie.model import View
    from sophie.rules.compiler import ConditionResults
    from sophie.rules.context import EvalContext
    from sophie.rules.yaml_source import PathKey, YamlDocument

__all__ = [
    "CompiledPack",
    "CompiledRule",
    "DueSpec",
    "EscalationStep",
    "ValueSpec",
    "compile_pack",
    "param_default",
]

_ROLE_WORD = re.compile(r"^[a-z][a-z0-9_]*$")
_STAFF = re.compile(r"^staff:(?P<id>\S+)$")
_WORD = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")

Evaluator = Callable[["EvalContext", "View"], object]
BatchRunner = Callable[["EvalContext", "list[View]"], "ConditionResults"]


@dataclass(frozen=True)
class EscalationStep:
    """One escalation step of a rule.

    Attributes:
        after: Business (or elapsed) time after the task's due time.
        to: The role or ``staff:<id>`` to hand the task to, if any.
        priority: The priority from this step on, if it changes.
    """

    after: timedelta | BusinessDuration
    to: str | None
    priority: str | None


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
        """Return the due time for a task opened at ``context.now``."""
        if self.evaluate is not None:
            return self.evaluate(context, subject)
        assert self.duration is not None
        return context.calendar.add(context.now, self.duration).astimezone(context.calendar.tz)


@dataclass(frozen=True)
class CompiledRule:
    """A checked, compiled rule.

    Attributes:
        id: The rule id. pack / version: the pack's name and version.
        content_hash: Hash of the rule's text as loaded, for the audit trail.
        entity_type / alias: What the rule is ``for`` and the name its subject has.
        when: The checked condition.
        title / key: Task title and key templates (``key`` ``None``: the subject id).
        owner / priority / due: How the task is assigned, ranked and timed.
        escalate: Escalation steps, in order. resolve: ``auto`` or ``manual``.
        tests: The rule's tests (inline and from the tests file).
        file / line: Where the rule is written.
    """

    id: str
    title: str
    pack: str
    version: str
    content_hash: str
    entity_type: str
    alias: str
    description: str | None
    enabled: bool
    when: CheckedExpression
    task_title: Template
    key: Template | None
    owner: ValueSpec
    priority: ValueSpec
    due: DueSpec
    escalate: tuple[EscalationStep, ...]
    resolve: str
    file: str
    line: int
    tests: tuple[CompiledTest, ...] = ()


@dataclass(frozen=True)
class CompiledPack:
    """A checked, compiled pack, ready to evaluate many snapshots.

    Attributes:
        name / version / description: From the pack file.
        params: Parameter defaults (duration texts already turned into durations).
        roles: Every role the pack may name (built-in and declared).
        rules: The rules, in file order.
        file: The pack file.
        functions: The function registry the pack was checked against.
    """

    name: str
    version: str
    description: str | None
    params: Mapping[str, object]
    roles: frozenset[str]
    rules: tuple[CompiledRule, ...]
    file: str
    functions: FunctionRegistry = field(repr=False, compare=False)
    _batches: dict[tuple[str, tuple[str, ...]], BatchRunner] = field(
        default_factory=dict, repr=False, compare=False
    )

    def rule(self, rule_id: str) -> CompiledRule:
        """Return the rule with this id.

        Raises:
            UnknownNameError: With the closest rule id as a suggestion.
        """
        for rule in self.rules:
            if rule.id == rule_id:
                return rule
        ids = [rule.id for rule in self.rules]
        raise UnknownNameError("rule", rule_id, known=ids, suggestion=suggest(rule_id, ids))

    @property
    def tests(self) -> tuple[CompiledTest, ...]:
        """Every test of every rule, in rule order."""
        return tuple(test for rule in self.rules for test in rule.tests)

    def batch(self, entity_type: str, rules: tuple[CompiledRule, ...]) -> BatchRunner:
        """Return the fused condition runner for ``rules`` (all of ``entity_type``), built once."""
        cache_key = (entity_type, tuple(rule.id for rule in rules))
        runner = self._batches.get(cache_key)
        if runner is None:
            runner = compile_conditions(entity_type, [rule.when for rule in rules])
            self._batches[cache_key] = runner
        return runner


def param_default(value: Any) -> object:
    """Return a pack parameter's default as rules see it: a duration text becomes a duration."""
    if isinstance(value, str) and looks_like_duration(value):
        try:
            return parse_duration(value).value()
        except DurationSyntaxError:
            return value
    if isinstance(value, list):
        return tuple(value)
    return value


@dataclass
class _PackContext:
    name: str
    version: str
    roles: frozenset[str]
    param_types: dict[str, ExprType]
    params: dict[str, object]
    functions: FunctionRegistry
    out: Collector


def _hash(raw: Any) -> str:
    text = json.dumps(raw, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def _check(
    pc: _PackContext, text: str, path: PathKey, scope: Scope, expect: ExprType | None, rule_id: str
) -> CheckedExpression | None:
    try:
        return check_expression(text, scope, expect=expect, functions=pc.functions)
    except ExpressionError as err:
        for problem in err.problems:
            offset = text_offset(text, problem.line, problem.column)
            pc.out.in_scalar(path, offset, problem.message, rule_id=rule_id, suggestion=problem.suggestion)
        return None


def _template(pc: _PackContext, text: str, path: PathKey, scope: Scope, rule_id: str) -> Template | None:
    try:
        return compile_template(text, scope, functions=pc.functions)
    except TemplateError as err:
        for problem in err.problems:
            pc.out.in_scalar(path, problem.offset, problem.message, rule_id=rule_id, suggestion=problem.suggestion)
        return None


def _role(pc: _PackContext, value: str, path: PathKey, rule_id: str) -> bool:
    """Check a literal owner (a role or ``staff:<id>``); report and return False when unknown."""
    if _STAFF.match(value) or value in pc.roles:
        return True
    pc.out.at(
        path,
        f"unknown role {value!r}; declare it under 'roles:' or use a built-in role or staff:<id>",
        rule_id=rule_id,
        suggestion=suggest(value, sorted(pc.roles)),
    )
    return False


def _owner(pc: _PackContext, value: str, path: PathKey, scope: Scope, rule_id: str) -> ValueSpec | None:
    if _STAFF.match(value) or _ROLE_WORD.match(value):
        return ValueSpec(literal=value) if _role(pc, value, path, rule_id) else None
    checked = _check(pc, value, path, scope, STR, rule_id)
    return None if checked is None else ValueSpec(expression=checked, evaluate=compile_expression(checked))


def _priority(pc: _PackContext, value: str, path: PathKey, scope: Scope, rule_id: str) -> ValueSpec | None:
    if value in PRIORITIES:
        return ValueSpec(literal=value)
    if _WORD.match(value):
        pc.out.at(
            path,
            f"unknown priority {value!r}; use one of {', '.join(PRIORITIES)} or an expression",
            rule_id=rule_id,
            suggestion=suggest(value, PRIORITIES),
        )
        return None
    checked = _check(pc, value, path, scope, STR, rule_id)
    return None if checked is None else ValueSpec(expression=checked, evaluate=compile_expression(checked))


def _due(pc: _PackContext, value: str, path: PathKey, scope: Scope, rule_id: str) -> DueSpec | None:
    if looks_like_duration(value):
        try:
            return DueSpec(duration=parse_duration(value).value())
        except DurationSyntaxError as err:
            pc.out.at(path, str(err), rule_id=rule_id, suggestion=err.suggestion)
            return None
    checked = _check(pc, value, path, scope, DATETIME, rule_id)
    return None if checked is None else DueSpec(expression=checked, evaluate=compile_expression(checked))


def _escalation(pc: _PackContext, rule: Rule, path: PathKey) -> tuple[EscalationStep, ...]:
    steps = []
    for number, step in enumerate(rule.escalate):
        if step.to is not None:
            _role(pc, step.to, (*path, "escalate", number, "to"), rule.id)
        steps.append(EscalationStep(parse_duration(step.after).value(), step.to, step.priority))
    return tuple(steps)


def _compile_rule(pc: _PackContext, rule: Rule, raw: Any, path: PathKey) -> CompiledRule | None:
    entity, alias = parse_for(rule.for_)
    scope = Scope(subject=alias, entity_type=entity, params=pc.param_types)
    task = (*path, "task")
    before = len(pc.out.items)
    when = _check(pc, rule.when, (*path, "when"), scope, BOOL, rule.id)
    title = _template(pc, rule.task.title, (*task, "title"), scope, rule.id)
    key = None if rule.task.key is None else _template(pc, rule.task.key, (*task, "key"), scope, rule.id)
    owner = _owner(pc, rule.task.owner, (*task, "owner"), scope, rule.id)
    priority = _priority(pc, rule.task.priority, (*task, "priority"), scope, rule.id)
    due = _due(pc, rule.task.due, (*task, "due"), scope, rule.id)
    escalate = _escalation(pc, rule, path)
    tests = []
    for number, test in enumerate(rule.tests):
        compiled = compile_test(test, rule.id, (*path, "tests", number), pc.out, pc.params)
        if compiled is not None:
            tests.append(compiled)
    if len(pc.out.items) > before or when is None or title is None or owner is None:
        return None
    assert priority is not None and due is not None
    mark = pc.out.source.locate(path)
    return CompiledRule(
        id=rule.id,
        title=rule.title,
        pack=pc.name,
        version=pc.version,
        content_hash=_hash(raw),
        entity_type=entity,
        alias=alias,
        description=rule.description,
        enabled=rule.enabled,
        when=when,
        task_title=title,
        key=key,
        owner=owner,
        priority=priority,
        due=due,
        escalate=escalate,
        resolve=rule.resolve,
        file=pc.out.source.file,
        line=mark.line,
        tests=tuple(tests),
    )


def _validate(out: Collector, model: type[BaseModel], data: Any, path: PathKey, rule_id: str | None = None) -> Any:
    try:
        return model.model_validate(data)
    except ValidationError as err:
        out.validation(err, model, path, rule_id=rule_id)
        return None


def _header(out: Collector, data: dict[str, Any], functions: FunctionRegistry) -> _PackContext:
    header = _validate(out, Pack, {**data, "rules": []}, ())
    if "rules" not in data:
        out.at((), "missing required key 'rules' (the list of rules)")
    name = header.pack if header else str(data.get("pack", "?"))
    version = header.version if header else str(data.get("version", "0.0.0"))
    declared = header.roles if header else []
    raw_params = header.params if header else {}
    params = {key: param_default(value) for key, value in raw_params.items()}
    param_types = {}
    for key, value in params.items():
        try:
            param_types[key] = type_of_value(list(value) if isinstance(value, tuple) else value)
        except TypeError as err:
            out.at(("params", key), str(err))
    roles = frozenset(BUILTIN_ROLES) | frozenset(declared)
    return _PackContext(name, version, roles, param_types, params, functions, out)


def _rules(pc: _PackContext, data: dict[str, Any]) -> list[CompiledRule]:
    raw_rules = data.get("rules")
    if raw_rules is None:
        return []
    if not isinstance(raw_rules, list):
        pc.out.at(("rules",), "'rules' must be a list of rules (each item starting with '- id:')")
        return []
    compiled: list[CompiledRule] = []
    seen: dict[str, int] = {}
    for number, raw in enumerate(raw_rules):
        path: PathKey = ("rules", number)
        raw_id = raw.get("id") if isinstance(raw, dict) else None
        if isinstance(raw_id, str):
            if raw_id in seen:
                pc.out.at((*path, "id"), f"duplicate rule id {raw_id!r} (first at line {seen[raw_id]})", rule_id=raw_id)
            else:
                seen[raw_id] = pc.out.source.locate((*path, "id")).line
        textify(Rule, raw, path, pc.out.source)
        rule = _validate(pc.out, Rule, raw, path, raw_id if isinstance(raw_id, str) else None)
        if rule is not None:
            result = _compile_rule(pc, rule, raw, path)
            if result is not None:
                compiled.append(result)
    return compiled


def _attach_file_tests(pc: _PackContext, rules: list[CompiledRule], tests: YamlDocument) -> list[CompiledRule]:
    out = Collector(tests.source)
    ids = [rule.id for rule in rules]
    extra: dict[str, list[CompiledTest]] = {}
    data = tests.data
    if not isinstance(data, list):
        out.at((), "a tests file is a list of tests, each with rule, name, now, given and expect")
        data = []
    for number, raw in enumerate(data):
        path: PathKey = (number,)
        textify(PackTestCase, raw, path, tests.source)
        case = _validate(out, PackTestCase, raw, path)
        if case is None:
            continue
        if case.rule not in ids:
            out.at((*path, "rule"), f"no rule {case.rule!r} in pack {pc.name}", suggestion=suggest(case.rule, ids))
            continue
        compiled = compile_test(case, case.rule, path, out, pc.params)
        if compiled is not None:
            extra.setdefault(case.rule, []).append(compiled)
    pc.out.items.extend(out.items)
    return [
        rule if rule.id not in extra else replace(rule, tests=rule.tests + tuple(extra[rule.id])) for rule in rules
    ]


def compile_pack(
    document: YamlDocument,
    *,
    tests: YamlDocument | None = None,
    functions: FunctionRegistry | None = None,
) -> CompiledPack:
    """Check and compile a pack (and its tests file, if any).

    Args:
        document: The pack file, parsed by :func:`~sophie.rules.yaml_source.parse_yaml`.
        tests: The sibling ``<pack>.tests.yaml``, parsed likewise.
        functions: The functions rules may call (default: the built-ins).

    Raises:
        RuleError: Every problem of the pack and its tests, located, in file order.
    """
    registry = functions if functions is not None else FunctionRegistry.builtin()
    out = Collector(document.source)
    data = document.data
    if not isinstance(data, dict):
        out.at((), "a pack file is a mapping with the keys pack, version and rules")
        raise RuleError(out.sorted())
    textify(Pack, data, (), document.source, skip=("rules",))
    pc = _header(out, data, registry)
    rules = _rules(pc, data)
    if tests is not None:
        rules = _attach_file_tests(pc, rules, tests)
    if out.items:
        raise RuleError(out.sorted())
    return CompiledPack(
        name=pc.name,
        version=pc.version,
        description=data.get("description"),
        params=dict(pc.params),
        roles=pc.roles,
        rules=tuple(rules),
        file=document.source.file,
        functions=registry,
    )
