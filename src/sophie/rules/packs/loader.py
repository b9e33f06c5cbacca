"""Load a rule pack: safe YAML, checked models, compiled rules; every problem located.

:func:`compile_pack` takes parsed YAML (see :mod:`sophie.rules.packs.yaml_source`) and
returns a :class:`CompiledPack`, or raises one :class:`~sophie.errors.RuleError`
holding every problem of the file (and of its tests file), each as
``FILE:LINE:COL: error: MESSAGE``. Structure is checked by the pydantic models of
:mod:`sophie.rules.packs.pack_schema`; roles, expressions, templates and test fixtures
are checked here, rule by rule, so one broken rule does not hide the next. The
compiled types live in :mod:`sophie.rules.packs.compiled_pack`.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ValidationError
from pydantic_core import PydanticCustomError

from sophie.errors import Diagnostic, RuleError
from sophie.model import BUILTIN_ROLES
from sophie.rules.diagnostics import Collector, suggest, textify
from sophie.rules.language.due_times import can_precede_opening
from sophie.rules.language.durations import DurationSyntaxError, looks_like_duration, parse_duration
from sophie.rules.language.expressions import Scope
from sophie.rules.language.functions import FunctionRegistry
from sophie.rules.language.templates import DueSpec, TaskChecker, ValueSpec
from sophie.rules.language.types import BOOL, ExprType, type_of_value
from sophie.rules.packs.compiled_pack import CompiledPack, CompiledRule, EscalationStep
from sophie.rules.packs.pack_schema import Escalation, Pack, PackTestCase, Rule, RuleTest, Task, parse_for
from sophie.rules.packs.pack_tests import CompiledTest, compile_test
from sophie.rules.packs.stages import chain_stages, declared_continues

if TYPE_CHECKING:
    from collections.abc import Collection

    from sophie.rules.packs.yaml_source import PathKey, YamlDocument

__all__ = [
    "CompiledPack",
    "CompiledRule",
    "DueSpec",
    "EscalationStep",
    "ValueSpec",
    "compile_pack",
    "param_default",
]


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
    checks: TaskChecker
    out: Collector
    warnings: list[Diagnostic] = field(default_factory=list)


_EARLY_DUE = (
    "this due time can be before the task opens; such a task is due one business hour after it opens "
    "instead (write max(now, ...) or now + ... to say when)"
)


def _hash(raw: Any) -> str:
    text = json.dumps(raw, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def _escalation(pc: _PackContext, steps: list[Escalation], path: PathKey, rule_id: str) -> tuple[EscalationStep, ...]:
    compiled = []
    for number, step in enumerate(steps):
        if step.to is not None:
            pc.checks.role(step.to, (*path, "escalate", number, "to"), rule_id)
        compiled.append(EscalationStep(parse_duration(step.after).value(), step.to, step.priority))
    return tuple(compiled)


@dataclass
class _Parts:
    """The parts of a rule that passed the structural check (all of them, for a valid rule)."""

    rule_id: str
    for_: str | None
    when: str | None
    task: Task | None
    escalate: list[Escalation]
    tests: list[RuleTest]


def _quietly(model: type[BaseModel], data: Any) -> Any:
    try:
        return model.model_validate(data)
    except ValidationError:
        return None


def _salvage(raw: Any, rule_id: str) -> _Parts:
    """Return what can still be checked in a rule that failed the structural check."""
    if not isinstance(raw, dict):
        return _Parts(rule_id, None, None, None, [], [])
    for_text = raw.get("for")
    if isinstance(for_text, str):
        try:
            parse_for(for_text)
        except PydanticCustomError:
            for_text = None
    when = raw.get("when")
    escalate = raw.get("escalate")
    return _Parts(
        rule_id,
        for_text if isinstance(for_text, str) else None,
        when if isinstance(when, str) and when.strip() else None,
        _quietly(Task, raw.get("task")),
        [step for step in (_quietly(Escalation, s) for s in escalate) if step] if isinstance(escalate, list) else [],
        [],
    )


def _semantics(pc: _PackContext, parts: _Parts, path: PathKey) -> dict[str, Any]:
    """Check roles, expressions, templates, durations and tests; return the compiled pieces."""
    rule_id, task = parts.rule_id, parts.task
    got: dict[str, Any] = {}
    scope = None
    if parts.for_ is not None:
        entity, alias = parse_for(parts.for_)
        scope = Scope(subject=alias, entity_type=entity, params=pc.param_types)
        got.update(entity_type=entity, alias=alias)
    if scope is not None and parts.when is not None:
        got["when"] = pc.checks.expression(parts.when, (*path, "when"), scope, BOOL, rule_id)
    if task is not None:
        at: PathKey = (*path, "task")
        got["task_title"] = pc.checks.template(task.title, (*at, "title"), scope, rule_id, group=True)
        got["key"] = None if task.key is None else pc.checks.template(task.key, (*at, "key"), scope, rule_id)
        got["owner"] = pc.checks.owner(task.owner, (*at, "owner"), scope, rule_id)
        got["priority"] = pc.checks.priority(task.priority, (*at, "priority"), scope, rule_id)
        got["due"] = pc.checks.due(task.due, (*at, "due"), scope, rule_id)
        due = got["due"]
        if due is not None and due.expression is not None and can_precede_opening(due.expression):
            found = pc.out.source.diagnostic((*at, "due"), _EARLY_DUE, rule_id=rule_id)
            pc.warnings.append(replace(found, severity="warning"))
    got["escalate"] = _escalation(pc, parts.escalate, path, rule_id)
    tests = (compile_test(t, rule_id, (*path, "tests", n), pc.out, pc.params) for n, t in enumerate(parts.tests))
    got["tests"] = tuple(test for test in tests if test is not None)
    return got


def _compile_rule(pc: _PackContext, rule: Rule | None, raw: Any, path: PathKey, rule_id: str) -> CompiledRule | None:
    before = len(pc.out.items)
    if rule is None:
        _semantics(pc, _salvage(raw, rule_id), path)
        return None
    parts = _Parts(rule.id, rule.for_, rule.when, rule.task, list(rule.escalate), list(rule.tests))
    got = _semantics(pc, parts, path)
    if len(pc.out.items) > before:
        return None
    return CompiledRule(
        id=rule.id,
        title=rule.title,
        pack=pc.name,
        version=pc.version,
        content_hash=_hash(raw),
        description=rule.description,
        enabled=rule.enabled,
        resolve=rule.resolve,
        file=pc.out.source.file,
        line=pc.out.source.locate(path).line,
        **got,
    )


def _validate(out: Collector, model: type[BaseModel], data: Any, path: PathKey, rule_id: str | None = None) -> Any:
    try:
        return model.model_validate(data)
    except ValidationError as err:
        out.validation(err, model, path, rule_id=rule_id)
        return None


def _salvaged_header(data: dict[str, Any]) -> tuple[list[str], dict[str, Any]]:
    """Return the roles and params that are valid on their own, when the header as a whole is not.

    A bad pack name or version must not also make every ``params.x`` an unknown parameter:
    each role and parameter is checked alone, and the good ones are kept.
    """
    probe = {"pack": "salvage", "version": "0.0.0", "rules": []}
    raw_roles, raw_params = data.get("roles"), data.get("params")
    roles = [r for r in raw_roles if _quietly(Pack, {**probe, "roles": [r]})] if isinstance(raw_roles, list) else []
    params: dict[str, Any] = {}
    for key, value in raw_params.items() if isinstance(raw_params, dict) else ():
        checked = _quietly(Pack, {**probe, "params": {key: value}})
        if checked is not None:
            params.update(checked.params)
    return roles, params


def _header(out: Collector, data: dict[str, Any], functions: FunctionRegistry) -> _PackContext:
    header = _validate(out, Pack, {**data, "rules": []}, ())
    if "rules" not in data:
        out.at((), "missing required key 'rules' (the list of rules)")
    name = header.pack if header else str(data.get("pack", "?"))
    version = header.version if header else str(data.get("version", "0.0.0"))
    declared, raw_params = (header.roles, header.params) if header else _salvaged_header(data)
    params = {key: param_default(value) for key, value in raw_params.items()}
    param_types = {}
    for key, value in params.items():
        try:
            param_types[key] = type_of_value(list(value) if isinstance(value, tuple) else value)
        except TypeError as err:
            out.at(("params", key), str(err))
    roles = frozenset(BUILTIN_ROLES) | frozenset(declared)
    return _PackContext(name, version, roles, param_types, params, TaskChecker(roles, functions, out), out)


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
        rule_id = raw_id if isinstance(raw_id, str) else f"rules[{number}]"
        rule = _validate(pc.out, Rule, raw, path, rule_id)
        result = _compile_rule(pc, rule, raw, path, rule_id)
        if result is not None:
            compiled.append(result)
    return compiled


def _attach_file_tests(
    pc: _PackContext, rules: list[CompiledRule], tests: YamlDocument, declared: Collection[str]
) -> list[CompiledRule]:
    """Attach the tests of a ``<pack>.tests.yaml``; ``declared`` holds every rule id the pack wrote.

    A test of a rule that is declared but broken is checked (its fixture may have problems of
    its own) and set aside quietly: the rule's own error is the root cause, reported once.
    """
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
        if case.rule not in declared:
            known = sorted(declared)
            out.at((*path, "rule"), f"no rule {case.rule!r} in pack {pc.name}", suggestion=suggest(case.rule, known))
            continue
        compiled = compile_test(case, case.rule, path, out, pc.params)
        if compiled is not None and case.rule in ids:
            extra.setdefault(case.rule, []).append(compiled)
    pc.out.items.extend(out.items)
    return [rule if rule.id not in extra else replace(rule, tests=rule.tests + tuple(extra[rule.id])) for rule in rules]


def _declared_ids(data: dict[str, Any]) -> set[str]:
    raw_rules = data.get("rules")
    if not isinstance(raw_rules, list):
        return set()
    return {raw["id"] for raw in raw_rules if isinstance(raw, dict) and isinstance(raw.get("id"), str)}


def compile_pack(
    document: YamlDocument,
    *,
    tests: YamlDocument | None = None,
    functions: FunctionRegistry | None = None,
) -> CompiledPack:
    """Check and compile a pack (and its tests file, if any).

    Args:
        document: The pack file, parsed by :func:`~sophie.rules.packs.yaml_source.parse_yaml`.
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
    rules = chain_stages(out, _rules(pc, data), declared_continues(data), _declared_ids(data))
    if tests is not None:
        rules = _attach_file_tests(pc, rules, tests, _declared_ids(data))
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
        warnings=tuple(pc.warnings),
    )
