"""Finding adapters by name, and the demo adapter.

Adapters, built-in or not, are registered through the ``sophie_adapters`` hook
(:mod:`sophie.plugins.builtin` registers ``demo`` and ``files``).
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sophie.adapters.base import Adapter
from sophie.model import Snapshot

if TYPE_CHECKING:
    from sophie.adapters.demo.practice import DemoPractice, DemoSettings
    from sophie.plugins.manager import Plugins

__all__ = ["DemoAdapter", "adapter_names", "create_adapter"]


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
        from sophie.adapters.demo.practice import DemoSettings

        if self.as_of is None:
            return DemoSettings(seed=self.seed, patients=self.patients)
        return DemoSettings(seed=self.seed, patients=self.patients, as_of=self.as_of)

    def practice(self) -> DemoPractice:
        """Return the generator for these settings."""
        from sophie.adapters.demo.practice import DemoPractice

        return DemoPractice(self._settings())

    def fetch(self) -> Snapshot:
        """Generate the practice."""
        return self.practice().snapshot()


def adapter_names(plugins: Plugins | None = None) -> list[str]:
    """Return the names of the available adapters (built-in and from plugins), sorted."""
    from sophie.plugins.manager import Plugins

    return sorted((plugins or Plugins()).adapters())


def create_adapter(name: str, *, source: str | None = None, plugins: Plugins | None = None) -> Adapter:
    """Create the adapter called ``name`` (built-in or from a plugin).

    Raises:
        UnknownNameError: no adapter has that name (with a did-you-mean).
        ConfigurationError: the adapter needs a source that was not given.
    """
    from sophie.plugins.manager import Plugins

    info = (plugins or Plugins()).adapter(name)
    return info.factory(source=source)
