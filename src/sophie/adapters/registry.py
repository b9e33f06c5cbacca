"""Finding adapters by name (the demo adapter lives in :mod:`sophie.adapters.demo.adapter`).

Adapters, built-in or not, are registered through the ``sophie_adapters`` hook
(:mod:`sophie.plugins.builtin` registers ``demo`` and ``files``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sophie.adapters.base import Adapter
from sophie.adapters.demo.adapter import DemoAdapter

if TYPE_CHECKING:
    from sophie.plugins.manager import Plugins

__all__ = ["DemoAdapter", "adapter_names", "create_adapter"]


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
