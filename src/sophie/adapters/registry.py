"""The built-in adapters, by name.

Plugins add adapters through the ``sophie_adapters`` hook (a later release); until
then the built-ins are looked up here.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from sophie.adapters.base import Adapter
from sophie.adapters.files import FilesAdapter
from sophie.errors import ConfigurationError, UnknownNameError
from sophie.model import Snapshot

__all__ = ["DemoAdapter", "adapter_names", "create_adapter"]


class DemoAdapter(Adapter):
    """A deterministic synthetic practice (see :mod:`sophie.adapters.demo`).

    Args:
        seed: The random seed; the same seed gives the same practice.
        patients: How many patients the practice has.
        as_of: The moment the practice is read at; ``None`` for the generator's fixed default.
    """

    name = "demo"

    def __init__(self, *, seed: int = 1, patients: int = 2000, as_of: datetime | None = None) -> None:
        if patients < 1:
            raise ConfigurationError(f"patients must be at least 1, not {patients}")
        self.seed = seed
        self.patients = patients
        self.as_of = as_of

    def practice(self):  # type: ignore[no-untyped-def]  # replaced below once demo exists
        """Return the generator for these settings."""
        from sophie.adapters.demo import DemoPractice, DemoSettings

        if self.as_of is None:
            settings = DemoSettings(seed=self.seed, patients=self.patients)
        else:
            settings = DemoSettings(seed=self.seed, patients=self.patients, as_of=self.as_of)
        return DemoPractice(settings)

    def fetch(self) -> Snapshot:
        """Generate the practice."""
        snapshot: Snapshot = self.practice().snapshot()
        return snapshot


def _files(source: str | None) -> Adapter:
    if not source:
        raise ConfigurationError("the files adapter needs --source PATH (a snapshot .json or .yaml file)")
    return FilesAdapter(Path(source))


def _demo(source: str | None) -> Adapter:
    return DemoAdapter()


_BUILTINS: dict[str, Callable[[str | None], Adapter]] = {"demo": _demo, "files": _files}


def adapter_names() -> list[str]:
    """Return the names of the available adapters, sorted."""
    return sorted(_BUILTINS)


def create_adapter(name: str, *, source: str | None = None) -> Adapter:
    """Create the adapter called ``name``.

    Raises:
        UnknownNameError: no adapter has that name (with a did-you-mean).
        ConfigurationError: the adapter needs a source that was not given.
    """
    factory = _BUILTINS.get(name)
    if factory is None:
        close = difflib.get_close_matches(name, _BUILTINS, n=1)
        raise UnknownNameError("adapter", name, known=list(_BUILTINS), suggestion=close[0] if close else None)
    return factory(source)
