"""Plugins: the hook specifications, the plugin manager, the records hooks return, the built-ins.

What a plugin author needs is importable from here::

    from sophie.plugins import AdapterInfo, NotifierInfo, Plugins, RulePackSource, hookimpl

- :mod:`~sophie.plugins.hookspecs` declares every ``sophie_*`` hook and its calling options.
- :mod:`~sophie.plugins.records` holds what the hooks return (adapters, notifiers, packs).
- :mod:`~sophie.plugins.manager` loads entry points and answers the host's questions.
- :mod:`~sophie.plugins.builtin` registers sophie's own adapters, notifiers, packs and
  functions through the same hooks.

Inside sophie, modules import the submodules (``sophie.plugins.hookspecs`` for the
markers, ``sophie.plugins.records`` for the records), never this package's names. Importing
a submodule runs this file first, so it must not load the manager: the manager loads the
built-in plugins, and those import the markers. :class:`Plugins` is therefore resolved on
first use (``from sophie.plugins import Plugins`` works as usual).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sophie.plugins.hookspecs import hookimpl
from sophie.plugins.records import AdapterInfo, NotifierInfo, RulePackSource

if TYPE_CHECKING:
    from sophie.plugins.manager import Plugins

__all__ = ["AdapterInfo", "NotifierInfo", "Plugins", "RulePackSource", "hookimpl"]


def __getattr__(name: str) -> object:
    """Return :class:`~sophie.plugins.manager.Plugins` on first use (see the module docstring)."""
    if name == "Plugins":
        from sophie.plugins.manager import Plugins

        return Plugins
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
