"""Why a rule fires for a subject, or why not: the value of every sub-condition.

Built on the reference interpreter's :func:`~sophie.rules.language.interpreter.explain`, which
evaluates the checked expression tree and keeps each node's value.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from sophie.errors import UnknownNameError
from sophie.model.records import decimal_number
from sophie.rules.diagnostics import suggest
from sophie.rules.evaluation import Finding, evaluate_rules, finding_for, plain_value, subject_id
from sophie.rules.language.context import EvalContext
from sophie.rules.language.interpreter import ExplainNode, explain
from sophie.rules.packs.params import resolve_params
from sophie.rules.slot_fill.evidence import candidate_lines

if TYPE_CHECKING:
    from sophie.model import Snapshot
    from sophie.rules.packs.compiled_pack import CompiledPack, CompiledRule

__all__ = ["RuleExplanation", "duration_text", "explain_rule", "find_rule"]

_MAX_CANDIDATES = 5000  # did-you-mean over more ids than this costs more than it helps


@dataclass(frozen=True)
class RuleExplanation:
    """The evaluation of one rule's condition on one subject, node by node.

    Attributes:
        pack / rule_id: The rule.
        subject_type / subject_id: The subject.
        now: The evaluation time.
        fires: Whether the condition holds (and the rule is enabled).
        enabled: Whether the rule is enabled in its pack.
        tree: The condition's explanation tree.
        finding: The finding the rule makes, when it fires (for a rule with a key template,
            the finding of the subject's whole group: its ``members``).
        error: Why the finding could not be made (or the condition failed), if it could not.
        timezone: The practice's timezone: times are shown in it (``None``: as they are).
    """

    pack: str
    rule_id: str
    subject_type: str
    subject_id: str
    now: datetime
    fires: bool
    enabled: bool
    tree: ExplainNode | None
    finding: Finding | None
    error: str | None = None
    timezone: tzinfo | None = None

    def lines(self) -> list[str]:
        """Return the explanation as an indented tree of ``text => value`` lines."""
        verdict = "fires" if self.fires else "does not fire"
        if not self.enabled:
            verdict += " (the rule is disabled)"
        lines = [f"{self.rule_id} on {self.subject_type} {self.subject_id} at {self.now.isoformat()}: {verdict}"]
        if self.tree is not None:
            stack: list[tuple[ExplainNode, int]] = [(self.tree, 1)]
            while stack:
                node, depth = stack.pop()
                text = " ".join(node.text.split())
                lines.append(f"{'  ' * depth}{text} => {self._shown(node.value)}")
                stack.extend((child, depth + 1) for child in reversed(node.children))
        if self.error:
            lines.append(f"  error: {self.error}")
        if self.finding is not None:
            f = self.finding
            lines.append(f"  task: {f.title!r} owner={f.owner} priority={f.priority} due={f.due_at.isoformat()}")
            if f.members:
                shown = ", ".join(f.member_ids[:20]) + (", ..." if len(f.members) > 20 else "")
                lines.append(f"  group: {f.key!r}, {len(f.members)} member(s): {shown}")
            lines.extend(candidate_lines(f.evidence))
        return lines

    def as_dict(self) -> dict[str, Any]:
        """Return the explanation as JSON-ready data."""
        finding = None
        if self.finding is not None:
            f = self.finding
            finding = {
                "key": f.key,
                "title": f.title,
                "owner": f.owner,
                "priority": f.priority,
                "due_at": f.due_at.isoformat(),
                "patient_id": f.patient_id,
                "evidence": dict(f.evidence),
                "group": None if not f.members else {"key": f.key, "members": list(f.member_ids)},
            }
        return {
            "pack": self.pack,
            "rule": self.rule_id,
            "subject": {"type": self.subject_type, "id": self.subject_id},
            "now": self.now.isoformat(),
            "fires": self.fires,
            "enabled": self.enabled,
            "tree": None if self.tree is None else self._node_dict(self.tree),
            "finding": finding,
            "error": self.error,
        }


    def _shown(self, value: object) -> str:
        return json.dumps(self._display(value), ensure_ascii=False)

    def _node_dict(self, node: ExplainNode) -> dict[str, Any]:
        return {
            "text": " ".join(node.text.split()),
            "value": self._display(node.value),
            "children": [self._node_dict(child) for child in node.children],
        }

    def _display(self, value: object) -> object:
        """Return a value as a reader wants it: amounts as numbers, times in the practice's zone."""
        if isinstance(value, bool) or value is None:
            return value
        if isinstance(value, Decimal):
            return decimal_number(value)
        if isinstance(value, datetime) and self.timezone is not None:
            return value.astimezone(self.timezone).isoformat()
        if isinstance(value, timedelta):
            return duration_text(value)
        if isinstance(value, list | tuple):
            return [self._display(item) for item in value[:20]]
        return plain_value(value)


def duration_text(value: timedelta) -> str:
    """Return a duration as ``7d 1h 35m``, ``30m``, ``-1h`` or ``0s`` (whole seconds)."""
    seconds = round(value.total_seconds())
    sign, seconds = ("-" if seconds < 0 else ""), abs(seconds)
    days, seconds = divmod(seconds, 86_400)
    hours, seconds = divmod(seconds, 3_600)
    minutes, seconds = divmod(seconds, 60)
    parts = [f"{n}{unit}" for n, unit in ((days, "d"), (hours, "h"), (minutes, "m"), (seconds, "s")) if n]
    return sign + " ".join(parts) if parts else "0s"


def find_rule(packs: Sequence[CompiledPack], rule_id: str) -> tuple[CompiledPack, CompiledRule]:
    """Return the pack and rule with id ``rule_id``.

    Raises:
        UnknownNameError: With the closest rule id as a suggestion.
    """
    for pack in packs:
        for rule in pack.rules:
            if rule.id == rule_id:
                return pack, rule
    ids = [rule.id for pack in packs for rule in pack.rules]
    raise UnknownNameError("rule", rule_id, known=ids, suggestion=suggest(rule_id, ids))


def _group_of(
    pack: CompiledPack,
    rule: CompiledRule,
    snapshot: Snapshot,
    now: datetime,
    params: Mapping[str, object] | None,
    finding: Finding,
) -> Finding:
    """Return the finding of the group ``finding``'s subject belongs to (the rule over every subject)."""
    whole = evaluate_rules(pack, [rule], snapshot, now, params)
    for group in whole.findings:
        if group.key == finding.key and finding.subject_id in group.member_ids:
            return group
    return finding


def explain_rule(
    packs: Sequence[CompiledPack],
    snapshot: Snapshot,
    rule_id: str,
    subject: str,
    now: datetime,
    params: Mapping[str, object] | None = None,
) -> RuleExplanation:
    """Explain whether rule ``rule_id`` fires for the subject with id ``subject``.

    Raises:
        UnknownNameError: For an unknown rule or subject id (with a did-you-mean).
        ConfigurationError: For bad parameter overrides.
    """
    pack, rule = find_rule(packs, rule_id)
    index = snapshot.index
    view = index.get(rule.entity_type, subject)
    if view is None:
        ids = [subject_id(v) for v in index.subjects(rule.entity_type)][:_MAX_CANDIDATES]
        raise UnknownNameError(rule.entity_type, subject, suggestion=suggest(subject, ids))
    resolved = resolve_params([pack], {k: v for k, v in (params or {}).items()})[0]
    context = EvalContext.build(index, now, resolved)
    tree: ExplainNode | None = None
    finding: Finding | None = None
    error: str | None = None
    try:
        tree = explain(rule.when, context, view)
    except Exception as err:  # reported, like a per-subject error in a run
        error = f"{type(err).__name__}: {err}"
    holds = tree is not None and tree.value is True
    if holds:
        try:
            finding = finding_for(pack, rule, context, view, with_evidence=True)
        except Exception as err:
            error = str(err)
    if finding is not None and rule.key is not None:
        finding = _group_of(pack, rule, snapshot, now, params, finding)
    return RuleExplanation(
        pack=pack.name,
        rule_id=rule.id,
        subject_type=rule.entity_type,
        subject_id=subject,
        now=now,
        fires=holds and rule.enabled and finding is not None,
        enabled=rule.enabled,
        tree=tree,
        finding=finding,
        error=error,
        timezone=index.tz,
    )
