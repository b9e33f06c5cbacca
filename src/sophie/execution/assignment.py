"""Ownership: turn a role (or ``staff:<id>``) into one person who is in today.

A role resolves to an active staff member who holds it and is not out of office at
``now``, chosen by a strategy:

- ``least_open`` (default): the holder with the fewest open tasks; ties go to the
  first in snapshot order.
- ``round_robin``: the holder after the one who got the role's last task.
- ``fixed``: the person configured for the role (``fixed_owners``), else the first
  holder in snapshot order.

When nobody holding the role is available, the next role up the ladder is tried
(:data:`DEFAULT_LADDER`; configurable), then any available office manager or owner
dentist, then anyone available. A task is left without an owner only when the
practice lists no active staff member at all.

``staff:<id>`` is used as given when that person is available; otherwise their
manager (and the manager's manager), then the ladder from their first role.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sophie.model.records import StaffMember

__all__ = [
    "DEFAULT_LADDER",
    "Assigner",
    "Assignment",
    "OwnershipStrategy",
    "is_available",
]

DEFAULT_LADDER: Mapping[str, str] = {
    "scheduling_coordinator": "front_desk",
    "hygiene_coordinator": "scheduling_coordinator",
    "front_desk": "office_manager",
    "treatment_coordinator": "office_manager",
    "insurance_coordinator": "financial_coordinator",
    "financial_coordinator": "office_manager",
    "hygienist": "hygiene_coordinator",
    "assistant": "office_manager",
    "associate_dentist": "owner_dentist",
    "office_manager": "owner_dentist",
}
"""Role -> the role that covers for it. ``owner_dentist`` is the top; an unknown role goes to
``office_manager``."""

_LAST_RESORT = ("office_manager", "owner_dentist")
_STAFF_PREFIX = "staff:"


class OwnershipStrategy(StrEnum):
    """How one holder of a role is chosen."""

    LEAST_OPEN = "least_open"
    ROUND_ROBIN = "round_robin"
    FIXED = "fixed"


@dataclass(frozen=True, slots=True)
class Assignment:
    """Who got a task, and how.

    Attributes:
        owner_id: The staff member (``None`` only when the practice lists nobody active).
        owner_role: The role asked for (``None`` for a ``staff:<id>`` request).
        path: The roles or people tried, in order, ending with the one that answered.
    """

    owner_id: str | None
    owner_role: str | None
    path: tuple[str, ...]

    @property
    def why(self) -> str:
        """A short account, e.g. ``scheduling_coordinator -> front_desk: s-4``."""
        return f"{' -> '.join(self.path)}: {self.owner_id or 'nobody'}"


def is_available(member: StaffMember, now: datetime) -> bool:
    """Return whether ``member`` is active and not out of office at ``now``."""
    return member.active and not any(period.start <= now < period.end for period in member.out_of_office)


class Assigner:
    """Resolves owners during one reconcile, keeping open-task counts and round-robin cursors.

    Args:
        staff: The practice's staff, in snapshot order.
        now: The moment availability is judged at.
        open_counts: Open tasks per staff id before this reconcile.
        strategy: How to choose among a role's available holders.
        ladder: Role -> covering role.
        fixed_owners: Role -> staff id, for the ``fixed`` strategy.
        cursors: Role -> staff id who got the role's last task (round-robin state).
    """

    def __init__(
        self,
        staff: Sequence[StaffMember],
        now: datetime,
        *,
        open_counts: Mapping[str, int] | None = None,
        strategy: OwnershipStrategy = OwnershipStrategy.LEAST_OPEN,
        ladder: Mapping[str, str] = DEFAULT_LADDER,
        fixed_owners: Mapping[str, str] | None = None,
        cursors: Mapping[str, str] | None = None,
    ) -> None:
        self._staff = list(staff)
        self._by_id = {member.id: member for member in self._staff}
        self._position = {member.id: position for position, member in enumerate(self._staff)}
        self._available = [member for member in self._staff if is_available(member, now)]
        self._available_ids = {member.id for member in self._available}
        self._counts: Counter[str] = Counter(open_counts or {})
        self._strategy = OwnershipStrategy(strategy)
        self._ladder = ladder
        self._fixed = dict(fixed_owners or {})
        self.cursors: dict[str, str] = dict(cursors or {})

    def available(self, staff_id: str | None) -> bool:
        """Return whether ``staff_id`` names an available staff member."""
        return staff_id is not None and staff_id in self._available_ids

    def count_open(self, staff_id: str | None, delta: int) -> None:
        """Adjust a person's open-task count as tasks open, close or move during the reconcile."""
        if staff_id is not None:
            self._counts[staff_id] += delta

    def assign(self, owner: str) -> Assignment:
        """Return the owner for a role name or ``staff:<id>`` (see the module docstring)."""
        if owner.startswith(_STAFF_PREFIX):
            return self._assign_person(owner[len(_STAFF_PREFIX) :])
        return self._assign_role(owner, ())

    def _assign_person(self, staff_id: str) -> Assignment:
        path: list[str] = []
        member = self._by_id.get(staff_id)
        seen: set[str] = set()
        current_id: str | None = staff_id
        while current_id is not None and current_id not in seen:
            seen.add(current_id)
            path.append(f"staff:{current_id}")
            if current_id in self._available_ids:
                return Assignment(current_id, None, tuple(path))
            current = self._by_id.get(current_id)
            current_id = current.manager_id if current is not None else None
        role = member.roles[0] if member is not None else "office_manager"
        found = self._assign_role(role, tuple(path))
        return Assignment(found.owner_id, None, found.path)

    def _assign_role(self, role: str, tried: tuple[str, ...]) -> Assignment:
        path = list(tried)
        for candidate_role in self._climb(role):
            path.append(candidate_role)
            holders = [member for member in self._available if candidate_role in member.roles]
            if holders:
                chosen = self._choose(candidate_role, holders)
                return Assignment(chosen, role, tuple(path))
        if self._available:
            path.append("anyone")
            return Assignment(self._choose("*", self._available), role, tuple(path))
        path.append("nobody available")
        return Assignment(None, role, tuple(path))

    def _climb(self, role: str) -> Iterable[str]:
        seen: set[str] = set()
        current: str | None = role
        while current is not None and current not in seen:
            seen.add(current)
            yield current
            current = self._ladder.get(current, None if current in _LAST_RESORT else "office_manager")
        for last in _LAST_RESORT:
            if last not in seen:
                yield last

    def _choose(self, role: str, holders: Sequence[StaffMember]) -> str:
        if self._strategy is OwnershipStrategy.FIXED:
            wanted = self._fixed.get(role)
            chosen = next((m.id for m in holders if m.id == wanted), holders[0].id)
        elif self._strategy is OwnershipStrategy.ROUND_ROBIN:
            # The next holder after the last one in snapshot order, even if the last one is away.
            last = self._position.get(self.cursors.get(role, ""), -1)
            size = len(self._staff)
            chosen = min(holders, key=lambda member: (self._position[member.id] - last - 1) % size).id
            self.cursors[role] = chosen
        else:
            chosen = min(holders, key=lambda member: self._counts[member.id]).id
        return chosen
