"""The demo adapter: a deterministic synthetic practice behind the adapter contract."""

from __future__ import annotations

from datetime import datetime

from sophie.adapters.base import Adapter
from sophie.adapters.demo.practice import DemoPractice, DemoSettings
from sophie.model import Snapshot

__all__ = ["DemoAdapter"]


class DemoAdapter(Adapter):
    """A deterministic synthetic practice (see :mod:`sophie.adapters.demo.practice`).

    Args:
        seed: The random seed; the same seed gives the same practice.
        patients: How many patients the practice has.
        as_of: The moment the practice is read at; ``None`` for the generator's fixed default.
    """

    name = "demo"

    def __init__(self, *, seed: int = 1, patients: int = 2000, as_of: datetime | None = None) -> None:
        self.seed = seed
        self.patients = patients
        self.as_of = as_of
        self._settings()  # refuse bad settings now, not at the first fetch

    def _settings(self) -> DemoSettings:
        if self.as_of is None:
            return DemoSettings(seed=self.seed, patients=self.patients)
        return DemoSettings(seed=self.seed, patients=self.patients, as_of=self.as_of)

    def practice(self) -> DemoPractice:
        """Return the generator for these settings."""
        return DemoPractice(self._settings())

    def fetch(self) -> Snapshot:
        """Generate the practice."""
        return self.practice().snapshot()
