"""Slot-fill candidates in the evidence of opening findings.

A finding of a rule ``for: opening`` carries, under ``candidates``, the best patients to
call for it (:mod:`sophie.rules.slot_fill.ranking`): ids, first name and last initial, what they
need, minutes and score. The task keeps that list, so the scheduling coordinator opens
the task and calls down it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from sophie.rules.slot_fill.ranking import rank_for_opening

if TYPE_CHECKING:
    from sophie.model import View
    from sophie.rules.language.context import EvalContext

__all__ = ["EVIDENCE_CANDIDATES", "candidate_lines", "with_opening_candidates"]

EVIDENCE_CANDIDATES = 5
"""How many candidates an opening task's evidence lists."""


def with_opening_candidates(
    entity_type: str, context: EvalContext, view: View, evidence: Mapping[str, object]
) -> dict[str, object]:
    """Return ``evidence`` with the ranked ``candidates`` added when the subject is an opening.

    Ranking is best effort: should it fail, the finding stands without candidates.
    """
    found = dict(evidence)
    if entity_type != "opening":
        return found
    try:
        ranked = rank_for_opening(context.index, view, context.now, limit=EVIDENCE_CANDIDATES)
    except Exception:  # the task matters more than its list of names
        return found
    found["candidates"] = [candidate.as_evidence() for candidate in ranked]
    return found


def candidate_lines(evidence: Mapping[str, object]) -> list[str]:
    """Return the ranked candidates of an opening finding's evidence as lines for ``sophie explain``."""
    ranked = evidence.get("candidates")
    if not isinstance(ranked, list):
        return []
    if not ranked:
        return ["  candidates: none fits (length, chair, provider, consent, already booked)"]
    lines = ["  candidates (best first):"]
    for number, item in enumerate(ranked, start=1):
        if isinstance(item, Mapping):
            lines.append(
                f"    {number}. {item.get('patient_id')} {item.get('name')}: {item.get('need')}, "
                f"{item.get('minutes')} min, score {item.get('score')}"
            )
    return lines
