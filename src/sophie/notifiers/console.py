"""The ``console`` notifier: prints each message as plain text (for trying sophie out and for logs)."""

from __future__ import annotations

import sys
from datetime import datetime
from typing import TextIO

from sophie.notifiers.base import DeliveryError, Message, Notifier

__all__ = ["ConsoleNotifier"]


class ConsoleNotifier(Notifier):
    """Writes each message to a text stream, followed by a blank line.

    Args:
        stream: Where to write; standard output by default (looked up at send time,
            so redirection in tests and shells works).
    """

    name = "console"

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream

    def send(self, message: Message, *, now: datetime) -> None:
        """Print the message.

        Raises:
            DeliveryError: the stream is closed or cannot be written.
        """
        stream = self.stream or sys.stdout
        try:
            stream.write(message.text() + "\n")
            stream.flush()
        except (OSError, ValueError) as err:
            raise DeliveryError(f"console: cannot write: {type(err).__name__}") from err
