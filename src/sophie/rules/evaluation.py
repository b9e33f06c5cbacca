"""Evaluate compiled packs over a snapshot: findings, per-subject errors, timings.

:func:`evaluate` is pure: the same packs, snapshot, ``now`` and parameters give the
same :class:`Evaluation`, findings in pack order, then rule order, then subject order.
A rule that fails on one subject records a :class:`SubjectError` and moves on; the
evaluation is then not ``complete`` (so the ledger does not resolve what it did not see).
Parameter defaults and overrides are resolved by :mod:`sophie.rules.packs.params`.
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import TYPE_CHECKING

from sophie.errors import ConfigurationError, EvaluationError, FindingsLimitError
from sophie.model.views import View
from sophie.rules.groups import Member, group_evidence, id_order
from sophie.rules.language.context import EvalContext
from sophie.rules.language.due_times import no_earlier_than_opening
from sophie.rules.language.templates import Evaluator
from sophie.rules.packs.pack_schema import PRIORITIES
from sophie.rules.packs.params import parse_param_overrides, resolve_params
from sophie.rules.probes import evidence_probes, plain_value, subject_id
from sophie.rules.slot_fill.evidence import with_opening_candidates

if TYPE_CHECKING:
    from sophie.model import Snapshot, SnapshotIndex
    from sophie.rules.packs.compiled_pack import CompiledPack, CompiledRule

__all__ = [
    "MAX_FINDINGS",
    "Evaluation",
    "Finding",
    "SubjectError",
    "evaluate",
    "evaluate_rules",
    "evidence_probes",
    "finding_for",
    "group_findings",
    "parse_param_overrides",
    "plain_value",
    "subject_id",
]

_STAFF = re.compile(r"^staff:\S+\Z")

MAX_FINDINGS = 200_000
"""The default cap on findings per run: far above a practice's real work, far below memory trouble."""


@dataclass(frozen=True)
class Finding:
    """One stall: a rule that holds for one subject, with the task it asks for.

    Attributes:
        rule_id / pack / version / content_hash: The rule and the pack it came from.
        subject_type / subject_id: What the rule fired on.
        key: Identity of the stall (the rendered key template, or the subject id).
        evidence: The values that decided it (leaf values of the condition), JSON-ready.
        owner: A role name or ``staff:<id>``.
        priority: ``low``, ``normal``, ``high`` or ``urgent``.
        due_at: When the task is due (aware, practice timezone).
        title: The rendered task title.
        patient_id: The subject's patient, where there is one.
        members: For a rule with a key template, every subject of the group (this finding's
            subject is the first); empty for a rule without one (the subject alone).
        stall / stall_type / stage: The stall the finding belongs to (see
            :mod:`sophie.rules.packs.stages`): the first rule of its ``task.continues`` chain,
            that rule's entity type, and this rule's stage (1: first). Empty: the rule itself.
    """

    rule_id: str
    pack: str
    subject_type: str
    subject_id: str
    key: str
    evidence: Mapping[str, object]
    owner: str
    priority: str
    due_at: datetime
    title: str
    patient_id: str | None
    version: str = ""
    content_hash: str = ""
    members: tuple[Member, ...] = ()
    stall: str = ""
    stall_type: str = ""
    stage: int = 1

    @property
    def member_ids(self) -> tuple[str, ...]:
        """Return the ids of the subjects this finding stands for."""
        return tuple(m.subject_id for m in self.members) if self.members else (self.subject_id,)


@dataclass(frozen=True)
class SubjectError:
    """A rule that failed on one subject (or, with ``subject_id`` ``None``, on all of them)."""

    rule_id: str
    pack: str
    subject_type: str
    subject_id: str | None
    message: str

    def as_exception(self) -> EvaluationError:
        """Return the error as an :class:`~sophie.errors.EvaluationError`."""
        return EvaluationError(self.message, rule_id=self.rule_id, subject_id=self.subject_id or "*")


@dataclass(frozen=True)
class Evaluation:
    """The result of evaluating packs over one snapshot.

    Attributes:
        findings: Every finding, by pack, rule and subject order.
        errors: Every per-subject failure.
        complete: ``True`` when no rule failed on any subject.
        rule_seconds: Time per rule id (its share of the fused condition pass plus its own work).
        now: The evaluation time.
        evaluated: Rule id to the ids of subjects it evaluated without error.
    """

    findings: tuple[Finding, ...]
    errors: tuple[SubjectError, ...]
    complete: bool
    rule_seconds: Mapping[str, float]
    now: datetime
    evaluated: Mapping[str, frozenset[str]]


def _patient_id(view: View) -> str | None:
    if view.entity_type == "patient":
        return str(view.id)
    value = getattr(view, "patient_id", None)
    return None if value is None else str(value)


def _evidence(probes: tuple[tuple[str, Evaluator], ...], context: EvalContext, view: View) -> dict[str, object]:
    found: dict[str, object] = {}
    for text, probe in probes:
        try:
            found[text] = plain_value(probe(context, view))
        except Exception:  # evidence is best effort; the finding stands without it
            continue
    return found


def _owner_value(rule: CompiledRule, roles: frozenset[str], value: object) -> str:
    if isinstance(value, str) and (value in roles or _STAFF.match(value)):
        return value
    raise ValueError(f"owner gave {plain_value(value)!r}, which is not a known role or staff:<id>")


def finding_for(
    pack: CompiledPack, rule: CompiledRule, context: EvalContext, view: View, *, with_evidence: bool
) -> Finding:
    """Return the finding ``rule`` makes for ``view`` (whose condition holds).

    Raises:
        ValueError: When the owner, priority, due time or key cannot be made.
    """
    owner = _owner_value(rule, pack.roles, rule.owner.value(context, view))
    priority = rule.priority.value(context, view)
    if priority not in PRIORITIES:
        raise ValueError(f"priority gave {plain_value(priority)!r}; expected one of {', '.join(PRIORITIES)}")
    due_at = rule.due.due_at(context, view)
    if not isinstance(due_at, datetime):
        raise ValueError(f"due gave {plain_value(due_at)!r}, not a datetime")
    due_at = no_earlier_than_opening(due_at, context.now, context.calendar)
    identity = subject_id(view)
    key = identity if rule.key is None else rule.key.render(context, view, limit=None)
    if not key:
        raise ValueError("the key template rendered empty text")
    evidence = _evidence(pack.evidence_probes(rule), context, view) if with_evidence else {}
    evidence = with_opening_candidates(rule.entity_type, context, view, evidence) if with_evidence else evidence
    return Finding(
        rule_id=rule.id,
        pack=pack.name,
        subject_type=rule.entity_type,
        subject_id=identity,
        key=key,
        evidence=evidence,
        owner=owner,
        priority=str(priority),
        due_at=due_at,
        title=rule.task_title.render(context, view),
        patient_id=_patient_id(view),
        version=rule.version,
        content_hash=rule.content_hash,
        stall=rule.stall or rule.id,
        stall_type=rule.stall_type or rule.entity_type,
        stage=rule.stage,
    )


_RANK = {priority: rank for rank, priority in enumerate(PRIORITIES)}


def group_findings(rule: CompiledRule, context: EvalContext, matched: Sequence[tuple[View, Finding]]) -> list[Finding]:
    """Return one finding per group: the findings of ``rule`` whose key rendered the same text.

    A rule without a key template keeps one finding per subject. See :mod:`sophie.rules.groups`.
    """
    if rule.key is None:
        return [finding for _, finding in matched]
    groups: dict[str, list[tuple[View, Finding]]] = {}
    for view, finding in matched:
        groups.setdefault(finding.key, []).append((view, finding))
    found = []
    for members in groups.values():
        members.sort(key=lambda pair: id_order(pair[1].subject_id))
        found.append(_group(rule, context, members))
    return found


def _group(rule: CompiledRule, context: EvalContext, pairs: Sequence[tuple[View, Finding]]) -> Finding:
    first_view, first = pairs[0]
    views = [view for view, _ in pairs]
    findings = [finding for _, finding in pairs]
    aggregates: dict[str, object] = {}
    title = first.title
    try:
        for placeholder in rule.task_title.group_placeholders():
            aggregates[placeholder.text] = plain_value(placeholder.value(context, views))
        title = rule.task_title.render_group(context, first_view, views)
    except Exception:  # the members rendered one by one; keep the first member's title
        aggregates = {}
    members = tuple(Member(f.subject_id, f.patient_id, f.evidence) for f in findings)
    return replace(
        first,
        title=title,
        priority=max((f.priority for f in findings), key=lambda p: _RANK.get(p, 0)),
        due_at=min(f.due_at for f in findings),
        evidence=group_evidence(rule.entity_type, members, aggregates),
        members=members,
    )


@dataclass
class _Run:
    findings: list[Finding]
    errors: list[SubjectError]
    seconds: dict[str, float]
    evaluated: dict[str, frozenset[str]]
    max_findings: int = 0
    matched: dict[str, int] = field(default_factory=dict)

    def count(self, rules: Sequence[CompiledRule], matches: Sequence[Sequence[object]]) -> None:
        """Count a batch's matches; raise before building findings past the cap."""
        for rule, found in zip(rules, matches, strict=True):
            self.matched[rule.id] = self.matched.get(rule.id, 0) + len(found)
        total = sum(self.matched.values())
        if total > self.max_findings:
            rule_id = max(self.matched, key=lambda key: self.matched[key])
            raise FindingsLimitError(
                limit=self.max_findings, count=total, rule_id=rule_id, rule_count=self.matched[rule_id]
            )


def _run_batch(
    pack: CompiledPack, entity: str, rules: tuple[CompiledRule, ...], context: EvalContext, run: _Run, evidence: bool
) -> dict[str, list[Finding]]:
    subjects = list(context.index.subjects(entity))
    started = time.perf_counter()
    try:
        results = pack.batch(entity, rules)(context, subjects)
    except Exception as err:  # a failure of the whole pass: every rule in it is incomplete
        for rule in rules:
            run.errors.append(SubjectError(rule.id, pack.name, entity, None, f"{type(err).__name__}: {err}"))
            run.evaluated[rule.id] = frozenset()
        return {}
    run.count(rules, results.matches)
    share = (time.perf_counter() - started) / max(len(rules), 1)
    failed: list[set[int]] = [set() for _ in rules]
    for number, view, message in results.errors:
        failed[number].add(id(view))
        run.errors.append(SubjectError(rules[number].id, pack.name, entity, subject_id(view), message))
    position = {id(view): number for number, view in enumerate(subjects)}
    by_rule: dict[str, list[Finding]] = {}
    for number, rule in enumerate(rules):
        started = time.perf_counter()
        found: list[tuple[View, Finding]] = []
        for view in sorted(results.matches[number], key=lambda v: position.get(id(v), -1)):
            try:
                found.append((view, finding_for(pack, rule, context, view, with_evidence=evidence)))
            except Exception as err:  # one bad record never stops a run
                failed[number].add(id(view))
                run.errors.append(SubjectError(rule.id, pack.name, entity, subject_id(view), str(err)))
        run.evaluated[rule.id] = frozenset(subject_id(v) for v in subjects if id(v) not in failed[number])
        by_rule[rule.id] = group_findings(rule, context, found)
        run.seconds[rule.id] = share + time.perf_counter() - started
    return by_rule


def _run_pack(
    pack: CompiledPack,
    rules: Sequence[CompiledRule],
    index: SnapshotIndex,
    now: datetime,
    params: Mapping[str, object],
    run: _Run,
    evidence: bool,
) -> None:
    context = EvalContext.build(index, now, params)
    groups: dict[str, list[CompiledRule]] = {}
    for rule in rules:
        groups.setdefault(rule.entity_type, []).append(rule)
    by_rule: dict[str, list[Finding]] = {}
    for entity, members in groups.items():
        by_rule.update(_run_batch(pack, entity, tuple(members), context, run, evidence))
    for rule in rules:
        run.findings.extend(by_rule.get(rule.id, ()))


def evaluate_rules(
    pack: CompiledPack,
    rules: Sequence[CompiledRule],
    snapshot: Snapshot,
    now: datetime,
    params: Mapping[str, object] | None = None,
    *,
    evidence: bool = True,
    max_findings: int = MAX_FINDINGS,
) -> Evaluation:
    """Evaluate some rules of one pack (enabled or not); see :func:`evaluate`."""
    resolved = resolve_params([pack], params)[0]
    run = _Run([], [], {}, {}, max_findings)
    _run_pack(pack, rules, snapshot.index, now, resolved, run, evidence)
    return Evaluation(tuple(run.findings), tuple(run.errors), not run.errors, run.seconds, now, run.evaluated)


def evaluate(
    packs: Sequence[CompiledPack],
    snapshot: Snapshot,
    now: datetime,
    params: Mapping[str, object] | None = None,
    *,
    evidence: bool = True,
    max_findings: int = MAX_FINDINGS,
) -> Evaluation:
    """Evaluate every enabled rule of ``packs`` over ``snapshot`` at ``now``.

    Args:
        packs: Compiled packs (see :func:`sophie.rules.load_pack`).
        snapshot: The practice's data.
        now: The evaluation time (aware).
        params: Parameter overrides: ``name`` (every pack declaring it) or ``pack.name``.
        evidence: Whether to record the deciding values of each finding.
        max_findings: The most findings a run may have; past it the run stops with
            :class:`~sophie.errors.FindingsLimitError` (a rule that fires for everything).

    Raises:
        ConfigurationError: For an unknown parameter, a value of the wrong type, a naive
            ``now``, or two packs that share a rule id.
        FindingsLimitError: If the rules find more than ``max_findings`` findings.
    """
    if now.tzinfo is None or now.utcoffset() is None:
        raise ConfigurationError(f"now must be a timezone-aware datetime, got {now.isoformat()}")
    owners: dict[str, str] = {}
    for pack in packs:
        for rule in pack.rules:
            if rule.id in owners:
                raise ConfigurationError(f"rule id {rule.id!r} is in both pack {owners[rule.id]} and pack {pack.name}")
            owners[rule.id] = pack.name
    resolved = resolve_params(packs, params)
    run = _Run([], [], {}, {}, max_findings)
    index = snapshot.index
    for pack, pack_params in zip(packs, resolved, strict=True):
        _run_pack(pack, [rule for rule in pack.rules if rule.enabled], index, now, pack_params, run, evidence)
    return Evaluation(tuple(run.findings), tuple(run.errors), not run.errors, run.seconds, now, run.evaluated)
