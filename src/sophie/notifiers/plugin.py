"""sophie's own notifiers, registered through the public ``sophie_notifiers`` hook.

:mod:`sophie.plugins.builtin` re-exports :func:`sophie_notifiers`, so the built-in
notifiers are listed under ``sophie.builtin`` like the built-in adapters and packs.
:func:`sophie.notifiers.registry.create_notifier` builds one by name.
"""

from __future__ import annotations

from collections.abc import Iterator

from sophie.notifiers.console import ConsoleNotifier
from sophie.notifiers.email import EmailNotifier
from sophie.notifiers.webhook import WebhookNotifier
from sophie.plugins.hookspecs import hookimpl
from sophie.plugins.records import NotifierInfo

__all__ = ["sophie_notifiers"]


@hookimpl
def sophie_notifiers() -> Iterator[NotifierInfo]:
    """The ``console``, ``webhook`` and ``email`` notifiers."""
    yield NotifierInfo("console", ConsoleNotifier, "print each message as plain text")
    yield NotifierInfo("webhook", WebhookNotifier, "POST signed JSON (Standard Webhooks) to a URL")
    yield NotifierInfo("email", EmailNotifier, "plain-text mail over SMTP (STARTTLS, login)")
