"""Building a notifier by name: built-in or from a plugin, through :class:`~sophie.plugins.manager.Plugins`."""

from __future__ import annotations

import difflib
from typing import Any

from sophie.errors import ConfigurationError, UnknownNameError
from sophie.notifiers.base import Notifier
from sophie.plugins.manager import Plugins

__all__ = ["create_notifier"]


def create_notifier(name: str, settings: dict[str, Any] | None = None, *, plugins: Plugins | None = None) -> Notifier:
    """Build the notifier called ``name`` (built-in or from a plugin) from its settings.

    Raises:
        UnknownNameError: no notifier has that name (with a did-you-mean).
        ConfigurationError: the settings do not fit the notifier.
    """
    known = (plugins or Plugins()).notifiers()
    info = known.get(name.lower())
    if info is None:
        close = difflib.get_close_matches(name, list(known), n=1)
        raise UnknownNameError("notifier", name, known=list(known), suggestion=close[0] if close else None)
    try:
        notifier = info.factory(**(settings or {}))
    except TypeError as err:
        raise ConfigurationError(f"notifier {name!r}: {err}") from err
    if not isinstance(notifier, Notifier):
        raise ConfigurationError(f"notifier {name!r} built a {type(notifier).__name__}, not a Notifier")
    return notifier
