"""The demo's ground truth checked against findings: every planted stall found, no near-miss fired.

The demo practice plants stalls the default pack must find and near-misses (just inside a
threshold) it must not (:class:`~sophie.adapters.demo.plants.planting.Plant`). This module
compares a pack's findings with those plants; ``sophie demo`` prints the result and the
pack's tests require it to be clean.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sophie.adapters.demo.plants.planting import Plant

__all__ = ["GroundTruth", "check_plants"]


@dataclass(frozen=True)
class GroundTruth:
    """How a pack's findings met the plants.

    Attributes:
        stalls: Planted stalls (the pack must find each).
        near_misses: Planted near-misses (the pack must find none).
        missed: The stalls not found, one line each (kind, subject, why it was planted).
        fired: The near-misses found, one line each.
    """

    stalls: int
    near_misses: int
    missed: tuple[str, ...]
    fired: tuple[str, ...]

    @property
    def clean(self) -> bool:
        """Whether every stall was found and no near-miss fired."""
        return not self.missed and not self.fired

    def summary(self) -> str:
        """One line for a person: what was found out of what was planted."""
        return (
            f"Ground truth: {self.stalls - len(self.missed)} of {self.stalls} planted stalls found; "
            f"{len(self.fired)} of {self.near_misses} planted near-misses fired."
        )


def check_plants(plants: Iterable[Plant], found: Iterable[tuple[str, str]]) -> GroundTruth:
    """Compare plants with findings.

    Args:
        plants: The practice's plants (``DemoPractice.plants()``).
        found: ``(rule id, subject id)`` of every finding of the pack on the practice.

    Returns:
        The counts, and a line for each plant the findings disagree with.
    """
    seen = set(found)
    stalls = near_misses = 0
    missed: list[str] = []
    fired: list[str] = []
    for plant in plants:
        hit = (plant.kind, plant.subject_id) in seen
        line = f"{plant.kind} {plant.subject_type} {plant.subject_id} ({plant.note})"
        if plant.fires:
            stalls += 1
            if not hit:
                missed.append(line)
        else:
            near_misses += 1
            if hit:
                fired.append(line)
    return GroundTruth(stalls, near_misses, tuple(missed), tuple(fired))
