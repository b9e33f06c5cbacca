"""Plugins: the hook specifications, the plugin manager, the records hooks return, the built-ins.

What a plugin author needs is importable from here::

    from sophie.plugins import AdapterInfo, NotifierInfo, Plugins, RulePackSource, hookimpl

- :mod:`~sophie.plugins.hookspecs` declares every ``sophie_*`` hook and its calling options.
- :mod:`~sophie.plugins.records` holds what the hooks return (adapters, notifiers, packs).
- :mod:`~sophie.plugins.manager` loads entry points and answers the host's questions.
- :mod:`~sophie.plugins.builtin` registers sophie's own adapters, notifiers, packs and
  functions through the same hooks.
"""

from __future__ import annotations

from sophie.plugins.manager import Plugins, hookimpl
from sophie.plugins.records import AdapterInfo, NotifierInfo, RulePackSource

__all__ = ["AdapterInfo", "NotifierInfo", "Plugins", "RulePackSource", "hookimpl"]
