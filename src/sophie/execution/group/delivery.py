"""Delivering a group's outbox from its workers: each practice's messages through its own notifiers.

The group's ledger has one outbox; a delivery job (any worker may run it, several at once)
claims due rows with :class:`~sophie.notifiers.postgres_outbox.PostgresOutbox`, whose
claims skip rows another worker is claiming and lease what they take, so two workers
never send one row. A worker killed mid-delivery leaves its rows leased; when the lease
runs out another worker sends them again, under the same idempotency key (the
``webhook-id`` header, the email ``Message-ID``), so nothing is lost and a receiver that
deduplicates sees each message once.

Each practice names its own channels (``[[practices.notifiers]]``). The delivery worker
sends every row to every channel, so a channel here is a :class:`PracticeChannel`: for a
message it picks the practice's notifier of that channel, and does nothing (the row
counts as delivered there) when the message's practice has no such channel.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from sophie.config.models import PracticeConfig, resolve_env_keys
from sophie.notifiers.base import Message, Notifier
from sophie.notifiers.delivery import DeliveryReport, DeliveryWorker
from sophie.notifiers.registry import create_notifier

if TYPE_CHECKING:
    from sophie.notifiers.delivery import Outbox
    from sophie.plugins.manager import Plugins

__all__ = ["PracticeChannel", "deliver_due", "group_channels"]


class PracticeChannel(Notifier):
    """One channel of a group (``webhook``, ``email``, ``webhook-2`` ...): each practice's notifier of it.

    Args:
        channel: The channel's name.
        by_practice: Practice id -> its notifier on this channel.
    """

    name = "practice-channel"

    def __init__(self, channel: str, by_practice: Mapping[str, Notifier]) -> None:
        self.channel = channel
        self.by_practice = dict(by_practice)

    def send(self, message: Message, *, now: datetime) -> None:
        """Send ``message`` through its practice's notifier; nothing when that practice has none."""
        notifier = self.by_practice.get(message.practice_id or "")
        if notifier is not None:
            notifier.send(message, now=now)

    def close(self) -> None:
        """Close every practice's notifier."""
        for notifier in self.by_practice.values():
            notifier.close()


def group_channels(practices: Sequence[PracticeConfig], *, plugins: Plugins | None = None) -> dict[str, Notifier]:
    """Return the group's channels: a practice's first notifier of a kind is channel ``kind``, its second ``kind-2``.

    Secrets (``NAME_env`` settings) are read from the environment here.

    Raises:
        ConfigurationError: A notifier's settings are unusable, or a named variable is not set.
        UnknownNameError: A notifier kind nobody provides.
    """
    channels: dict[str, dict[str, Notifier]] = {}
    for practice in practices:
        assert practice.id is not None
        seen: dict[str, int] = {}
        for config in practice.notifiers:
            kind = str(config.kind)
            seen[kind] = seen.get(kind, 0) + 1
            channel = kind if seen[kind] == 1 else f"{kind}-{seen[kind]}"
            notifier = create_notifier(kind, resolve_env_keys(config.settings), plugins=plugins)
            channels.setdefault(channel, {})[practice.id] = notifier
    return {channel: PracticeChannel(channel, members) for channel, members in sorted(channels.items())}


def deliver_due(
    outbox: Outbox,
    channels: Mapping[str, Notifier],
    *,
    batch: int = 50,
    lease: timedelta = timedelta(minutes=5),
    budget: timedelta = timedelta(seconds=50),
) -> DeliveryReport:
    """Deliver what is due, a batch at a time, until nothing due is left or ``budget`` is spent.

    Returns the counts summed over the batches, with ``next_due`` from the last one.
    """
    worker = DeliveryWorker(outbox, channels, batch=batch, lease=lease)
    started = time.monotonic()
    sent = retried = dead = deliveries = 0
    while True:
        report = worker.run_once(datetime.now(UTC))
        sent, retried = sent + report.sent, retried + report.retried
        dead, deliveries = dead + report.dead_lettered, deliveries + report.deliveries
        done = report.sent + report.retried + report.dead_lettered
        if done < batch or time.monotonic() - started >= budget.total_seconds():
            return DeliveryReport(sent, retried, dead, deliveries, report.next_due)
