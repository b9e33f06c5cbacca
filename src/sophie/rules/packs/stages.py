"""Stages of one stall: rules chained by ``task.continues`` share one task.

A stall often has stages: an appointment unconfirmed 72 hours before becomes unconfirmed
24 hours before; a claim outstanding 30 days becomes outstanding 60, then 90 days. Each
stage is its own rule (its own window, owner, priority and ladder), but a person sees one
piece of work. A rule that writes ``task.continues: <rule id>`` is the next stage of that
rule's stall: its findings render the stall's key under the chain's first rule, so when
the next stage fires the open task carries on (same id, retitled and re-owned) instead of
closing and a new one opening.

The chain is checked here, every problem located at the ``continues`` line:

- it names a rule of the same pack, not the rule itself, and never loops back;
- a rule is continued by at most one rule (the stages of a stall form one chain);
- both rules name the stall alike: for the same entity type, the same ``task.key``
  template (or neither has one); for different entity types (a recall's stall continuing
  as its patient's), both write a ``task.key`` rendering the shared identity.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any

from sophie.rules.diagnostics import Collector, suggest
from sophie.rules.packs.compiled_pack import CompiledRule

if TYPE_CHECKING:
    from sophie.rules.packs.yaml_source import PathKey

__all__ = ["chain_stages", "declared_continues"]


def declared_continues(data: dict[str, Any]) -> dict[str, tuple[str, PathKey]]:
    """Return rule id -> (the rule it continues, where ``continues`` is written), from the raw pack."""
    found: dict[str, tuple[str, PathKey]] = {}
    raw_rules = data.get("rules")
    if not isinstance(raw_rules, list):
        return found
    for number, raw in enumerate(raw_rules):
        if not isinstance(raw, dict) or not isinstance(raw.get("id"), str):
            continue
        task = raw.get("task")
        target = task.get("continues") if isinstance(task, dict) else None
        if isinstance(target, str) and target:
            found[raw["id"]] = (target, ("rules", number, "task", "continues"))
    return found


def chain_stages(
    out: Collector, rules: list[CompiledRule], continues: dict[str, tuple[str, PathKey]], declared: set[str]
) -> list[CompiledRule]:
    """Check the ``continues`` chains and return the rules with their stall and stage set.

    ``declared``: every rule id the pack writes (a chain naming a broken rule is not
    reported again: that rule's own error is the cause).
    """
    by_id = {rule.id: rule for rule in rules}
    continued_by: dict[str, str] = {}
    good: dict[str, str] = {}
    for rule_id, (target, path) in continues.items():
        if not _link_ok(out, rule_id, target, path, by_id, declared, continued_by):
            continue
        continued_by[target] = rule_id
        good[rule_id] = target
    for rule_id in list(good):
        if _loops(rule_id, good):
            out.at(
                continues[rule_id][1],
                f"task.continues loops back to {rule_id!r}: stages form a chain with a first stage",
                rule_id=rule_id,
            )
            good.pop(rule_id)
    staged: list[CompiledRule] = []
    for rule in rules:
        first, stage = rule.id, 1
        while first in good:
            first, stage = good[first], stage + 1
        root = by_id.get(first, rule)
        staged.append(replace(rule, stall=root.id, stall_type=root.entity_type, stage=stage))
    return staged


def _link_ok(
    out: Collector,
    rule_id: str,
    target: str,
    path: PathKey,
    by_id: dict[str, CompiledRule],
    declared: set[str],
    continued_by: dict[str, str],
) -> bool:
    if target == rule_id:
        out.at(
            path, "a rule cannot continue itself; name the rule whose stall this is the next stage of", rule_id=rule_id
        )
        return False
    if target not in declared:
        out.at(
            path,
            f"task.continues names no rule {target!r} in this pack",
            rule_id=rule_id,
            suggestion=suggest(target, sorted(declared)),
        )
        return False
    rule, earlier = by_id.get(rule_id), by_id.get(target)
    if rule is None or earlier is None:  # a broken rule: its own error is reported
        return False
    if target in continued_by:
        out.at(
            path,
            f"rule {target!r} is already continued by {continued_by[target]!r}: the stages of a stall form one chain",
            rule_id=rule_id,
        )
        return False
    if rule.entity_type == earlier.entity_type:
        mine = None if rule.key is None else rule.key.text
        theirs = None if earlier.key is None else earlier.key.text
        if mine != theirs:
            out.at(
                path,
                f"this rule's task.key ({_shown(mine)}) must be the key of {target!r} ({_shown(theirs)}), "
                "so that both stages name the same stall",
                rule_id=rule_id,
            )
            return False
    elif rule.key is None or earlier.key is None:
        out.at(
            path,
            f"a rule for {rule.entity_type} continuing one for {earlier.entity_type} ({target!r}) needs a "
            "task.key in both rules that renders the stall's shared identity (e.g. the patient id)",
            rule_id=rule_id,
        )
        return False
    return True


def _shown(key: str | None) -> str:
    return "none: the subject id" if key is None else repr(key)


def _loops(start: str, good: dict[str, str]) -> bool:
    seen = {start}
    at = good.get(start)
    while at is not None:
        if at in seen:
            return True
        seen.add(at)
        at = good.get(at)
    return False
