"""The ``email`` notifier: plain-text mail over SMTP, with STARTTLS and login when asked.

Delivery is at least once. SMTP has no idempotency key a server honours, so if sophie
stops after the server accepted a message but before the outbox recorded it as sent,
the next run sends it again: **at most one duplicate per crash in that window**. To
let mail clients fold such a duplicate away, every attempt at one message carries the
same ``Message-ID`` (derived from the outbox key) and an ``X-Sophie-Key`` header.

SMTP replies decide retries: 4xx codes and connection failures are retryable; 5xx
codes (unknown mailbox, message refused) are permanent and the message goes to the
dead letters, except that authentication failures are retried so that a password
fixed later still gets the mail out. A server that does not offer STARTTLS when
``security="starttls"`` is a permanent error: sophie never falls back to plain text.
"""

from __future__ import annotations

import hashlib
import smtplib
import ssl
from collections.abc import Mapping, Sequence
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Literal

from sophie.errors import ConfigurationError
from sophie.notifiers.base import DeliveryError, Message, Notifier

__all__ = ["EmailNotifier", "Security"]

Security = Literal["starttls", "ssl", "none"]


def _domain(address: str) -> str:
    return address.rpartition("@")[2].strip(" >") or "sophie.invalid"


class EmailNotifier(Notifier):
    """Sends each message as a plain-text email.

    Args:
        host: The SMTP server.
        sender: The ``From`` address.
        port: The server's port (587 for STARTTLS, 465 for implicit TLS, 25 plain).
        to: Addresses that receive every message whose owner has no address of their own.
        addresses: Staff id -> address, so each task's owner gets their own mail.
        security: ``starttls`` (default), ``ssl`` (implicit TLS) or ``none`` (loopback relays only).
        username: Log in with this user (and ``password``) after securing the connection.
        password: The password; never logged.
        timeout: Seconds to wait for the server at each step.
        ssl_context: The TLS settings; default: the system's trusted CAs, hostname checked.
        subject_prefix: Put before every subject, e.g. ``[sophie]``.

    Raises:
        ConfigurationError: no way to address a message, or a password without a user.
    """

    name = "email"

    def __init__(
        self,
        host: str,
        sender: str,
        *,
        port: int | None = None,
        to: Sequence[str] = (),
        addresses: Mapping[str, str] | None = None,
        security: Security = "starttls",
        username: str | None = None,
        password: str | None = None,
        timeout: float = 30.0,
        ssl_context: ssl.SSLContext | None = None,
        subject_prefix: str = "[sophie]",
    ) -> None:
        if security not in ("starttls", "ssl", "none"):
            raise ConfigurationError(f"email security must be starttls, ssl or none, not {security!r}")
        if not to and not addresses:
            raise ConfigurationError("the email notifier needs `to` addresses or per-staff `addresses`")
        if password is not None and username is None:
            raise ConfigurationError("an email password needs a username")
        self.host = host
        self.port = port if port is not None else {"starttls": 587, "ssl": 465, "none": 25}[security]
        self.sender = sender
        self.to = tuple(to)
        self.addresses = dict(addresses or {})
        self.security: Security = security
        self.username = username
        self.password = password
        self.timeout = timeout
        self.ssl_context = ssl_context
        self.subject_prefix = subject_prefix

    def recipients(self, message: Message) -> list[str]:
        """Return who gets ``message``: its owner's address, else the ``to`` list."""
        own = self.addresses.get(message.owner_id or "")
        return [own] if own else list(self.to)

    def compose(self, message: Message, *, now: datetime) -> EmailMessage:
        """Return the email for ``message`` (the same ``Message-ID`` on every attempt)."""
        mail = EmailMessage()
        mail["From"] = self.sender
        mail["To"] = ", ".join(self.recipients(message))
        mail["Subject"] = f"{self.subject_prefix} {message.subject()}".strip()
        mail["Date"] = format_datetime(now)
        digest = hashlib.sha256(message.key.encode()).hexdigest()[:32]
        mail["Message-ID"] = f"<sophie.{digest}@{_domain(self.sender)}>"
        mail["X-Sophie-Key"] = message.key
        mail.set_content(message.text())
        return mail

    def _connect(self) -> smtplib.SMTP:
        context = self.ssl_context or ssl.create_default_context()
        if self.security == "ssl":
            return smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout, context=context)
        client = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        try:
            if self.security == "starttls":
                client.ehlo()
                if not client.has_extn("starttls"):
                    raise DeliveryError(f"email {self.host}:{self.port}: server offers no STARTTLS", retryable=False)
                client.starttls(context=context)
                client.ehlo()
        except BaseException:
            client.close()
            raise
        return client

    def send(self, message: Message, *, now: datetime) -> None:
        """Send the message once.

        Raises:
            DeliveryError: not accepted; retryable unless the server answered 5xx.
        """
        recipients = self.recipients(message)
        if not recipients:
            raise DeliveryError(f"email: no address for task {message.task_id}'s owner", retryable=False)
        mail = self.compose(message, now=now)
        where = f"email {self.host}:{self.port}"
        try:
            client = self._connect()
            try:
                if self.username is not None:
                    client.login(self.username, self.password or "")
                client.send_message(mail, from_addr=self.sender, to_addrs=recipients)
            finally:
                try:
                    client.quit()
                except (smtplib.SMTPException, OSError):
                    client.close()
        except smtplib.SMTPAuthenticationError as err:
            raise DeliveryError(f"{where}: login refused (SMTP {err.smtp_code})") from err
        except smtplib.SMTPRecipientsRefused as err:
            codes = sorted({code for code, _ in err.recipients.values()})
            permanent = all(code >= 500 for code in codes)
            raise DeliveryError(f"{where}: recipients refused (SMTP {codes})", retryable=not permanent) from err
        except smtplib.SMTPResponseException as err:
            code = err.smtp_code
            raise DeliveryError(f"{where}: refused (SMTP {code})", retryable=not 500 <= code < 600) from err
        except (smtplib.SMTPException, OSError) as err:
            raise DeliveryError(f"{where}: {type(err).__name__}") from err
