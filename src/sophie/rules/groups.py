"""Groups: findings of one rule whose key template renders the same text are one stall.

A rule's ``task.key`` is a template (``"{claim.patient.id}:{claim.service_date}"``). Without
one, each subject is its own stall (its key is its id). With one, every subject for which
the rule fires and whose key renders the same text is a *member* of one group, and the
group is one task: one claim task per visit, not one per procedure.

The group's finding is its first member's (members ordered by id, numbers by value), with:

- ``key``: the rendered key; ``members``: every member's id, patient and own evidence;
- ``title``: the rule's title rendered for the first member, with the group placeholders
  (``{group.count}``, ``{group.sum(claim.billed)|money}``...) computed over all members;
- ``priority``: the highest member priority; ``due_at``: the earliest member due time;
- ``evidence``: ``{"count": n, "members": [{"type", "id", "patient_id", "evidence"}...]}``
  plus each group placeholder's value, by its text.

Nothing here reads the clock or does I/O.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

__all__ = ["Member", "group_evidence", "id_order"]

_CHUNKS = re.compile(r"(\d+)")


@dataclass(frozen=True)
class Member:
    """One subject of a group.

    Attributes:
        subject_id: The member's id.
        patient_id: The member's patient, where there is one.
        evidence: The values that made the rule fire on this member.
    """

    subject_id: str
    patient_id: str | None
    evidence: Mapping[str, object]


def id_order(subject_id: str) -> tuple[tuple[int, int | str], ...]:
    """Return a sort key that orders ids naturally (``p-9`` before ``p-10``)."""
    return tuple((0, int(chunk)) if chunk.isdigit() else (1, chunk) for chunk in _CHUNKS.split(subject_id) if chunk)


def group_evidence(
    subject_type: str, members: Sequence[Member], aggregates: Mapping[str, object]
) -> dict[str, object]:
    """Return a group task's evidence: the count, each member's, and the title's group values."""
    return {
        "count": len(members),
        "members": [
            {"type": subject_type, "id": m.subject_id, "patient_id": m.patient_id, "evidence": dict(m.evidence)}
            for m in members
        ],
        **aggregates,
    }
