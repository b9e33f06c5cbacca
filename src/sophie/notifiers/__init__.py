"""Notifiers: telling staff about their tasks, and delivering the ledger's outbox reliably.

- :mod:`~sophie.notifiers.base`: the :class:`Notifier` contract and the :class:`Message` record.
- Built-ins: :class:`ConsoleNotifier`, :class:`WebhookNotifier` (Standard Webhooks
  signatures), :class:`EmailNotifier` (SMTP with STARTTLS).
- :mod:`~sophie.notifiers.delivery`: the worker that drains an :class:`Outbox`
  at least once, with backoff and dead letters.
"""

from __future__ import annotations

from sophie.notifiers.base import DeliveryError, Message, MessageSettings, Notifier, NotifierError, patient_label
from sophie.notifiers.console import ConsoleNotifier
from sophie.notifiers.delivery import (
    DeliveryReport,
    DeliveryWorker,
    InMemoryOutbox,
    Outbox,
    OutboxCounts,
    OutboxEntry,
    RetryPolicy,
)
from sophie.notifiers.email import EmailNotifier
from sophie.notifiers.webhook import WebhookNotifier, sign_webhook, verify_webhook

__all__ = [
    "ConsoleNotifier",
    "DeliveryError",
    "DeliveryReport",
    "DeliveryWorker",
    "EmailNotifier",
    "InMemoryOutbox",
    "Message",
    "MessageSettings",
    "Notifier",
    "NotifierError",
    "Outbox",
    "OutboxCounts",
    "OutboxEntry",
    "RetryPolicy",
    "WebhookNotifier",
    "patient_label",
    "sign_webhook",
    "verify_webhook",
]
