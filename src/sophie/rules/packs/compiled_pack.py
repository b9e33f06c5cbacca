"""The compiled form of a rule pack: :class:`CompiledPack`, its rules and their escalation steps.

:func:`sophie.rules.packs.loader.compile_pack` builds these once per pack file; they are
then evaluated over many snapshots. A pack keeps, per group of rules, the fused
condition runner and the evidence probes it has built, so each is built once.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sophie.errors import Diagnostic, UnknownNameError
from sophie.model.calendar import BusinessDuration
from sophie.rules.diagnostics import suggest
from sophie.rules.language.compilation.compiler import compile_conditions
from sophie.rules.language.expressions import CheckedExpression
from sophie.rules.language.functions import FunctionRegistry
from sophie.rules.language.templates import DueSpec, Evaluator, Template, ValueSpec
from sophie.rules.probes import evidence_probes

if TYPE_CHECKING:
    from sophie.model import Snapshot, View
    from sophie.rules.language.compilation.compiler import ConditionResults
    from sophie.rules.language.context import EvalContext

__all__ = ["BatchRunner", "CompiledPack", "CompiledRule", "CompiledTest", "EscalationStep"]

BatchRunner = Callable[["EvalContext", "list[View]"], "ConditionResults"]


@dataclass(frozen=True)
class CompiledTest:
    """A checked test of one rule.

    Attributes:
        rule_id: The rule under test.
        name: The test's name.
        now: The evaluation time.
        snapshot: The fixture, validated.
        params: Parameter overrides for this test.
        expect: Expected findings as ``(subject id, owner or None)``.
        file / line: Where the test is written.
    """

    rule_id: str
    name: str
    now: datetime
    snapshot: Snapshot = field(repr=False)
    params: Mapping[str, object]
    expect: tuple[tuple[str, str | None], ...]
    file: str
    line: int


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
        stall / stall_type / stage: The stall this rule's findings belong to: the id and entity
            type of the first rule of its ``task.continues`` chain (the rule itself when it
            continues nothing), and this rule's place in the chain (1: the first stage).
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
    when: CheckedExpression = field(repr=False)
    task_title: Template = field(repr=False)
    key: Template | None = field(repr=False)
    owner: ValueSpec = field(repr=False)
    priority: ValueSpec = field(repr=False)
    due: DueSpec = field(repr=False)
    escalate: tuple[EscalationStep, ...] = field(repr=False)
    resolve: str
    file: str
    line: int
    tests: tuple[CompiledTest, ...] = field(default=(), repr=False)
    stall: str = ""
    stall_type: str = ""
    stage: int = 1


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
        warnings: Located warnings (``sophie check`` prints them; the pack loads).
    """

    name: str
    version: str
    description: str | None
    params: Mapping[str, object]
    roles: frozenset[str] = field(repr=False)
    rules: tuple[CompiledRule, ...] = field(repr=False)
    file: str
    functions: FunctionRegistry = field(repr=False, compare=False)
    warnings: tuple[Diagnostic, ...] = field(default=(), repr=False, compare=False)
    _batches: dict[tuple[str, tuple[str, ...]], BatchRunner] = field(default_factory=dict, repr=False, compare=False)
    _probes: dict[str, tuple[tuple[str, Evaluator], ...]] = field(default_factory=dict, repr=False, compare=False)

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

    def evidence_probes(self, rule: CompiledRule) -> tuple[tuple[str, Evaluator], ...]:
        """Return the compiled evidence probes of ``rule`` (see :func:`~sophie.rules.probes.evidence_probes`)."""
        probes = self._probes.get(rule.id)
        if probes is None:
            probes = evidence_probes(rule.when)
            self._probes[rule.id] = probes
        return probes

    def batch(self, entity_type: str, rules: tuple[CompiledRule, ...]) -> BatchRunner:
        """Return the fused condition runner for ``rules`` (all of ``entity_type``), built once."""
        cache_key = (entity_type, tuple(rule.id for rule in rules))
        runner = self._batches.get(cache_key)
        if runner is None:
            runner = compile_conditions(entity_type, [rule.when for rule in rules])
            self._batches[cache_key] = runner
        return runner
