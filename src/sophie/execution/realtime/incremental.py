"""Incremental cycles: a change (an event, a delta, a timer) re-evaluates only what it can affect.

An event is a hint, never the truth. The path is::

    event / delta / due task -> Scope (families of patients, chair-days)
        -> neighbourhood: a small snapshot holding just those records (from PracticeState)
        -> the rules of the entity types in scope, on the subjects in scope only
        -> reconcile: only subjects that were seen (or seen gone) are resolved

:class:`~sophie.execution.realtime.practice_state.PracticeState` holds the practice between complete
reads and turns a change into its scope. The cycle then follows only the tasks of that
scope (found through :class:`~sophie.execution.stores.task_cache.CachedTaskLedger`'s indexes, or
by filtering every open task on another ledger), while least-open ownership still weighs
the whole practice's open counts. So an event costs the size of its scope, not of the
practice; escalations of other tasks come from their own timers (``sophie watch``).

Safety: an incremental evaluation is recorded as not ``complete`` (it saw only its scope),
so reconcile resolves a task only when its subject was evaluated cleanly, or is listed as
gone from a scope that was re-read in full. Groups (one task for the findings of a rule
whose key renders the same text) are evaluated whole: when a followed task has members
outside the scope, or a finding's key names a task whose members lie outside it, the
scope is widened to those members' patients and chair-days and read again, so a group is
never re-rendered, or resolved, from some of its members. Duplicate, late or out-of-order events only
widen the scope of a re-read; they never carry data themselves. A re-read that fails
raises before anything is reconciled.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING

from sophie.execution.engine import CycleResult, apply_evaluation, rules_by_id, run_cycle
from sophie.execution.realtime.practice_state import SCOPED_TYPES, PracticeState, Scope
from sophie.execution.reconcile import finding_key, opening_chair_day
from sophie.execution.settings import DEFAULT_SETTINGS, ExecutionSettings
from sophie.execution.stores.ledger import TaskSelection, select_all
from sophie.execution.stores.task_cache import CachedTaskLedger, task_places, touches
from sophie.execution.tasks import TaskStatus
from sophie.rules.evaluation import Evaluation, Finding, SubjectError, finding_for, group_findings, subject_id
from sophie.rules.language.context import EvalContext
from sophie.rules.packs.params import resolve_params
from sophie.rules.slot_fill.evidence import EVIDENCE_CANDIDATES
from sophie.rules.slot_fill.ranking import rank_for_opening

if TYPE_CHECKING:
    from sophie.execution.stores.ledger import Ledger
    from sophie.execution.tasks import Task
    from sophie.model import Snapshot, View
    from sophie.plugins.manager import Plugins
    from sophie.rules import CompiledPack
    from sophie.rules.packs.compiled_pack import CompiledRule

__all__ = ["PracticeState", "Scope", "evaluate_scope", "run_incremental_cycle"]

_WIDEN_LIMIT = 4
"""How many times a cycle widens its scope to whole groups before reading the whole practice."""


def evaluate_scope(
    packs: Sequence[CompiledPack],
    snapshot: Snapshot,
    subjects: Mapping[str, set[str]],
    now: datetime,
    params: Mapping[str, object] | None = None,
    *,
    gone: Mapping[str, set[str]] | None = None,
) -> Evaluation:
    """Evaluate the enabled rules whose entity type is in ``subjects``, on those subjects only.

    ``gone`` lists, by entity type, subjects of open tasks that the re-read scope no longer
    holds: they count as seen (cleared). The result is never ``complete``.
    """
    resolved = resolve_params(packs, params)
    index = snapshot.index
    findings: list[Finding] = []
    errors: list[SubjectError] = []
    evaluated: dict[str, frozenset[str]] = {}
    seconds: dict[str, float] = {}
    for pack, pack_params in zip(packs, resolved, strict=True):
        context = EvalContext.build(index, now, pack_params)
        groups: dict[str, list[CompiledRule]] = {}
        for rule in pack.rules:
            if rule.enabled and (rule.entity_type in subjects or rule.entity_type in (gone or {})):
                groups.setdefault(rule.entity_type, []).append(rule)
        for entity, members in groups.items():
            rules = tuple(members)
            wanted = sorted(subjects.get(entity, ()))
            views = [v for v in (index.get(entity, sid) for sid in wanted) if v is not None]
            started = time.perf_counter()
            results = pack.batch(entity, rules)(context, views)
            failed: list[set[int]] = [set() for _ in rules]
            for number, view, message in results.errors:
                failed[number].add(id(view))
                errors.append(SubjectError(rules[number].id, pack.name, entity, subject_id(view), message))
            for number, rule in enumerate(rules):
                matched = _findings(pack, rule, context, results.matches[number], failed[number], errors)
                findings.extend(matched)
                seen = {subject_id(v) for v in views if id(v) not in failed[number]}
                evaluated[rule.id] = frozenset(seen | (gone or {}).get(entity, set()))
                seconds[rule.id] = (time.perf_counter() - started) / len(rules)
    return Evaluation(tuple(findings), tuple(errors), False, seconds, now, evaluated)


def _findings(
    pack: CompiledPack,
    rule: CompiledRule,
    context: EvalContext,
    matches: Iterable[View],
    failed: set[int],
    errors: list[SubjectError],
) -> list[Finding]:
    found: list[tuple[View, Finding]] = []
    for view in sorted(matches, key=subject_id):
        try:
            found.append((view, finding_for(pack, rule, context, view, with_evidence=True)))
        except Exception as err:  # one bad record never stops a cycle
            failed.add(id(view))
            errors.append(SubjectError(rule.id, pack.name, rule.entity_type, subject_id(view), str(err)))
    return group_findings(rule, context, found)


def _select(
    ledger: Ledger, state: PracticeState, family: set[str], scope: Scope, subjects: Mapping[str, set[str]]
) -> tuple[TaskSelection, dict[str, set[str]]]:
    """Return the tasks this cycle follows, and the subjects of those gone from the re-read scope.

    It follows the tasks whose subject it re-evaluated, and the tasks whose subject lay in
    the re-read scope but is no longer there (their stall is seen cleared). Every other
    task waits for its own event, timer or the next poll. ``family``: the scope's patients
    with their families.
    """
    if isinstance(ledger, CachedTaskLedger):
        near = ledger.select_touching(state.practice.id, family, scope.chairs)
    else:
        every = select_all(ledger.open_tasks(state.practice.id))
        inside = [task for task in every.tasks if touches(task, family, scope.chairs)]
        ids = {task.id for task in inside}
        waiting = [task for task in every.tasks if task.status is TaskStatus.BACKLOG and task.id not in ids]
        near = replace(every, tasks=inside, backlog=waiting)
    gone: dict[str, set[str]] = defaultdict(set)
    followed: list[Task] = []
    for task in near.tasks:
        kind = task.subject_type
        seen = False
        for member, patient in _member_places(task):
            if member in subjects.get(kind, ()):
                seen = True
            elif (kind == "opening" or kind in SCOPED_TYPES) and _in_scope(kind, member, patient, family, scope):
                gone[kind].add(member)
                seen = True
        if seen:
            followed.append(task)
    # backlog tasks it does not follow can still be released into room this cycle frees
    ids = {task.id for task in followed}
    left = [task for task in near.tasks if task.status is TaskStatus.BACKLOG and task.id not in ids]
    return replace(near, tasks=followed, backlog=[*near.backlog, *left]), dict(gone)


def _member_places(task: Task) -> list[tuple[str, str | None]]:
    if task.members:
        return [(m.subject_id, m.patient_id) for m in task.members]
    return [(task.subject_id, task.patient_id)]


def _in_scope(kind: str, member: str, patient: str | None, family: set[str], scope: Scope) -> bool:
    """Whether a member's records were re-read in full by this scope (so its absence means it is gone)."""
    if kind == "opening":
        return opening_chair_day(member) in scope.chairs
    return patient is not None and patient in family


def _outside(tasks: Iterable[Task], family: set[str], scope: Scope) -> Scope:
    """Return the places of ``tasks``' members that ``scope`` does not cover (empty: all covered)."""
    wider = Scope()
    for task in tasks:
        for place in task_places(task):
            if isinstance(place, str):
                if place not in family:
                    wider.patients.add(place)
            elif place not in scope.chairs:
                wider.chairs.add(place)
    return wider


def _joined(ledger: Ledger, practice_id: str, evaluation: Evaluation, selection: TaskSelection) -> list[Task]:
    """Return open tasks of group keys the evaluation found that the selection does not hold."""
    followed = {task.key for task in selection.tasks}
    keys = {finding_key(practice_id, f) for f in evaluation.findings if f.members} - followed
    if not keys:
        return []
    if isinstance(ledger, CachedTaskLedger):
        return ledger.with_keys(practice_id, sorted(keys))
    return [task for task in ledger.open_tasks(practice_id) if task.key in keys]


def _with_practice_candidates(
    evaluation: Evaluation, state: PracticeState, snapshot: Snapshot, family: set[str], now: datetime
) -> Evaluation:
    """Rank opening candidates from the whole practice, not just the scope's small snapshot.

    Patients in scope are ranked from the fresh small snapshot; everyone else from the last
    complete read (their records did not change since, or they would be in scope).
    """
    if not any(f.subject_type == "opening" for f in evaluation.findings):
        return evaluation
    findings = []
    for finding in evaluation.findings:
        view = snapshot.index.get("opening", finding.subject_id) if finding.subject_type == "opening" else None
        if view is None or "candidates" not in finding.evidence:
            findings.append(finding)
            continue
        wide = rank_for_opening(state.ranking_index, view, now, limit=EVIDENCE_CANDIDATES + len(family))
        fresh = rank_for_opening(snapshot.index, view, now, limit=EVIDENCE_CANDIDATES)
        merged = [c for c in wide if c.patient_id not in family] + fresh
        merged.sort(key=lambda c: (-c.score, c.patient_id))
        evidence = {**finding.evidence, "candidates": [c.as_evidence() for c in merged[:EVIDENCE_CANDIDATES]]}
        findings.append(replace(finding, evidence=evidence))
    return replace(evaluation, findings=tuple(findings))


def run_incremental_cycle(
    state: PracticeState,
    scope: Scope,
    packs: Sequence[CompiledPack],
    ledger: Ledger,
    *,
    now: datetime,
    params: Mapping[str, object] | None = None,
    settings: ExecutionSettings = DEFAULT_SETTINGS,
    plugins: Plugins | None = None,
) -> CycleResult:
    """Re-evaluate what ``scope`` can affect in ``state`` at ``now`` and reconcile it into ``ledger``.

    A ``full`` scope evaluates the whole practice (the cached snapshot, no re-read).
    Otherwise only the tasks of the scope's subjects are followed: another task's snooze,
    block or escalation deadline is handled when its own subjects are re-evaluated (the
    watcher's timer ticks do that, see :mod:`sophie.execution.realtime.watch`) or by a full cycle.
    Pass a :class:`~sophie.execution.stores.task_cache.CachedTaskLedger` to find the scope's
    tasks by index; any other ledger works too, at the cost of reading every open task.
    ``plugins`` is as for :func:`~sophie.execution.engine.run_cycle` (observers after the commit).

    Raises:
        ConfigurationError: A bad parameter or a naive ``now``.
        LedgerError: The ledger cannot be written.
    """
    if scope.full:
        return run_cycle(state.snapshot, packs, ledger, now=now, params=params, settings=settings, plugins=plugins)
    scope = Scope(set(scope.patients), set(scope.chairs))
    for _ in range(_WIDEN_LIMIT):
        snapshot, subjects = state.neighbourhood(scope)
        family = state.family(scope.patients)
        selection, gone = _select(ledger, state, family, scope, subjects)
        wider = _outside(selection.tasks, family, scope)
        if wider.is_empty():
            evaluation = evaluate_scope(packs, snapshot, subjects, now, params, gone=gone)
            wider = _outside(_joined(ledger, state.practice.id, evaluation, selection), family, scope)
            if wider.is_empty():
                break
        scope.add(wider)
    else:  # groups spread over more families than a few widenings reach: read the practice
        return run_cycle(state.snapshot, packs, ledger, now=now, params=params, settings=settings, plugins=plugins)
    evaluation = _with_practice_candidates(evaluation, state, snapshot, family, now)
    rules = rules_by_id(packs)
    versions = {pack.name: pack.version for pack in packs}
    first: list[TaskSelection] = [selection]

    def select() -> TaskSelection:  # a retry after a conflict reads the tasks again
        return first.pop() if first else _select(ledger, state, family, scope, subjects)[0]

    return apply_evaluation(
        ledger,
        snapshot,
        evaluation,
        rules=rules,
        now=now,
        settings=settings,
        packs=versions,
        select=select,
        plugins=plugins,
    )
