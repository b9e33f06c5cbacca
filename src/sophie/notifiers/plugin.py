"""sophie's own notifiers, registered through the public ``sophie_notifiers`` hook.

:mod:`sophie.plugins.builtin` re-exports :func:`sophie_notifiers`, so the built-in
notifiers are listed under ``sophie.builtin`` like the built-in adapters and packs.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from sophie.notifiers.console import ConsoleNotifier
from sophie.notifiers.email import EmailNotifier
from sophie.notifiers.webhook import WebhookNotifier
from sophie.plugins.manager import hookimpl
from sophie.plugins.records import NotifierInfo

if TYPE_CHECKING:
    from sophie.notifiers.base import Notifier
    from sophie.plugins.manager import Plugins

__all__ = ["create_notifier", "sophie_notifiers"]


@hookimpl
def sophie_notifiers() -> Iterator[NotifierInfo]:
    """The ``console``, ``webhook`` and ``email`` notifiers."""
    yield NotifierInfo("console", ConsoleNotifier, "print each message as plain text")
    yield NotifierInfo("webhook", WebhookNotifier, "POST signed JSON (Standard Webhooks) to a URL")
    yield NotifierInfo("email", EmailNotifier, "plain-text mail over SMTP (STARTTLS, login)")


def create_notifier(name: str, settings: dict[str, Any] | None = None, *, plugins: Plugins | None = None) -> Notifier:
    """Build the notifier called ``name`` (built-in or from a plugin) from its settings.

    Raises:
        UnknownNameError: no notifier has that name (with a did-you-mean).
        ConfigurationError: the settings do not fit the notifier.
    """
    import difflib

    from sophie.errors import ConfigurationError, UnknownNameError
    from sophie.notifiers.base import Notifier
    from sophie.plugins.manager import Plugins

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
