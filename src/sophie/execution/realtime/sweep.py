"""Sweeps: re-evaluate a watched practice a slice at a time, between complete reads.

Some stalls appear with no change in the PMS at all: time alone makes them true (a visit
now inside 72 hours and still unconfirmed, a claim turning 30 days old). A poll (a complete
read and a full cycle) catches them, but at 100,000 patients a poll takes half a minute
and the watcher handles nothing else meanwhile. A :class:`Sweep` instead cuts the practice
into slices of families (and chair-days, for openings) and re-evaluates one slice per
step, on the data the watcher already holds, so a whole round takes ``period`` and no step
costs more than fifty families. Each step is an ordinary incremental cycle: it
resolves only what it re-evaluated. Events and timers go first; a sweep step runs only
when neither is waiting.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sophie.execution.realtime.practice_state import PracticeState, Scope

__all__ = ["FAMILIES_PER_STEP", "Sweep"]

FAMILIES_PER_STEP = 50
"""Families re-evaluated per sweep step (see docs/performance.md for what a step costs)."""


@dataclass
class Sweep:
    """A round-robin over the practice's families and chair-days, one slice per step.

    Attributes:
        period: How long a whole round takes; steps are spaced evenly across it.
        families_per_step: At most this many families per slice.
        rounds: Complete rounds so far (since the last :meth:`plan`).
    """

    period: timedelta
    families_per_step: int = FAMILIES_PER_STEP
    rounds: int = field(default=0, init=False)
    _slices: list[Scope] = field(default_factory=list, init=False, repr=False)
    _position: int = field(default=0, init=False, repr=False)
    _next_at: datetime | None = field(default=None, init=False, repr=False)

    def plan(self, state: PracticeState, now: datetime) -> None:
        """Cut ``state`` into slices (after each complete read); the first step is one interval away.

        Families and chair-days are dealt out in turn, so each slice holds a mix of both.
        """
        heads = state.family_heads()
        chairs = state.chair_days(now.astimezone(state.tz).date())
        count = max(1, math.ceil(len(heads) / max(1, self.families_per_step)))
        self._slices = [Scope(patients=set(heads[i::count]), chairs=set(chairs[i::count])) for i in range(count)]
        self._position, self.rounds = 0, 0
        self._next_at = now + self.step

    @property
    def step(self) -> timedelta:
        """The time between two steps."""
        return self.period / max(1, len(self._slices))

    @property
    def next_at(self) -> datetime | None:
        """When the next step is due (``None`` before :meth:`plan`)."""
        return self._next_at

    def due(self, now: datetime) -> bool:
        """Whether a step is due at ``now``."""
        return self._next_at is not None and now >= self._next_at

    def take(self, now: datetime) -> Scope:
        """Return the next slice's scope and schedule the step after it."""
        scope = self._slices[self._position]
        self._position += 1
        if self._position == len(self._slices):
            self._position, self.rounds = 0, self.rounds + 1
        self._next_at = now + self.step
        return Scope(patients=set(scope.patients), chairs=set(scope.chairs))
