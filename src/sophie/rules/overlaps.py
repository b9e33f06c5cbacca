"""Rules that overlap: two rules giving the same owner a task for the same subjects.

An analyst's new rule often repeats one already in a pack the practice runs (a second
"confirm tomorrow's appointments" beside dental-core's). :func:`find_overlaps` evaluates
every rule over one practice at one moment and reports each pair of rules, of different
packs or of the same pack, on the same entity type that gives the same owner a task for
the same subjects. The result is a list of warnings: overlapping rules are legal, and the
analyst chooses which to keep.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from itertools import combinations

from sophie.errors import Diagnostic
from sophie.model import Snapshot
from sophie.rules.evaluation import evaluate
from sophie.rules.packs.compiled_pack import CompiledPack, CompiledRule

__all__ = ["find_overlaps"]


def _plural(entity_type: str, count: int) -> str:
    if count == 1:
        return entity_type
    return entity_type[:-1] + "ies" if entity_type.endswith("y") else entity_type + "s"


def find_overlaps(
    packs: Sequence[CompiledPack], snapshot: Snapshot, now: datetime, *, practice: str = "the practice"
) -> list[Diagnostic]:
    """Return a warning for each pair of rules that give one owner tasks for the same subjects.

    Each pack is evaluated on its own over ``snapshot`` at ``now``; two rules overlap when they
    are on the same entity type and both fire on a subject with the same owner. The warning is
    located at the later rule (in the order given) and names the earlier one.

    Args:
        packs: The packs, in the order they were given (a pack given twice is checked once).
        snapshot: The practice to evaluate them on.
        now: The moment of the evaluation.
        practice: How to name the practice in the messages (``"the demo practice"``).
    """
    types = [rule.entity_type for pack in packs for rule in pack.rules if rule.enabled]
    if len(types) == len(set(types)):
        return []  # no two rules on one entity type: nothing can overlap, and nothing to evaluate
    rules: list[tuple[CompiledPack, CompiledRule]] = []
    fired: dict[tuple[str, str], set[tuple[str, str]]] = defaultdict(set)
    seen: set[tuple[str, str]] = set()
    for pack in packs:
        if (pack.name, pack.file) in seen:
            continue
        seen.add((pack.name, pack.file))
        rules.extend((pack, rule) for rule in pack.rules if rule.enabled)
        for finding in evaluate([pack], snapshot, now).findings:
            fired[(pack.name, finding.rule_id)].add((finding.subject_id, finding.owner))
    warnings: list[Diagnostic] = []
    for (first_pack, first), (second_pack, second) in combinations(rules, 2):
        if first.entity_type != second.entity_type:
            continue
        shared = fired[(first_pack.name, first.id)] & fired[(second_pack.name, second.id)]
        by_owner: dict[str, list[str]] = defaultdict(list)
        for subject_id, owner in shared:
            by_owner[owner].append(subject_id)
        for owner, subjects in sorted(by_owner.items()):
            subjects.sort()
            message = (
                f"rule {second.id} overlaps rule {first.id} (pack {first_pack.name}, {first.file}:{first.line}): "
                f"both give {owner} a task for the same {len(subjects)} "
                f"{_plural(second.entity_type, len(subjects))} on {practice}, e.g. {subjects[0]}; "
                "keep one, or narrow a condition"
            )
            warnings.append(Diagnostic(second.file, second.line, 1, message, rule_id=second.id, severity="warning"))
    return warnings
