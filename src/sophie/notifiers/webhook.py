"""The ``webhook`` notifier: an HTTP POST of JSON, signed the Standard Webhooks way.

Each request carries three headers (https://www.standardwebhooks.com/):

* ``webhook-id``: the message's idempotency key, the same on every retry, so a
  receiver that stores the ids it has seen processes each message once;
* ``webhook-timestamp``: seconds since the epoch when this attempt was made;
* ``webhook-signature``: ``v1,<base64 HMAC-SHA256 of "<id>.<timestamp>.<body>">``,
  keyed with the secret (``whsec_`` followed by base64 bytes).

Receivers can check signatures with any Standard Webhooks library, or with
:func:`verify_webhook`. The body is ``{"type": "task.<change>", "timestamp": ...,
"data": <the message>}``.

Only the standard library is used (``urllib.request``). Redirects are not followed
(a POST must not silently become a GET elsewhere). Timeouts, connection failures,
HTTP 408, 429 and 5xx are retryable, honouring ``Retry-After`` in seconds; any other
status is permanent and the message goes to the dead letters.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import http.client
import json
import urllib.error
import urllib.request
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from sophie.errors import ConfigurationError, DeliveryError, WebhookVerificationError
from sophie.notifiers.base import Message, Notifier

__all__ = ["WebhookNotifier", "WebhookVerificationError", "sign_webhook", "verify_webhook"]

_RETRYABLE_STATUS = frozenset({408, 425, 429})
_MAX_RETRY_AFTER = timedelta(hours=6)




def _secret_bytes(secret: str) -> bytes:
    try:
        key = base64.b64decode(secret.removeprefix("whsec_"), validate=True)
    except (binascii.Error, ValueError) as err:
        raise ConfigurationError("a webhook secret is 'whsec_' followed by base64 bytes") from err
    if len(key) < 16:
        raise ConfigurationError("a webhook secret needs at least 16 bytes (128 bits)")
    return key


def sign_webhook(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    """Return the ``webhook-signature`` value for one request: ``v1,<base64 HMAC-SHA256>``.

    Raises:
        ConfigurationError: the secret is not ``whsec_`` plus base64 of at least 16 bytes.
    """
    signed = f"{message_id}.{timestamp}.".encode() + body
    digest = hmac.new(_secret_bytes(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode("ascii")


def verify_webhook(
    secret: str,
    headers: Mapping[str, str],
    body: bytes,
    *,
    now: datetime,
    tolerance: timedelta = timedelta(minutes=5),
) -> str:
    """Check a received webhook; return its ``webhook-id`` (the key to deduplicate on).

    Raises:
        WebhookVerificationError: a header is missing, the timestamp is outside
            ``tolerance`` of ``now``, or no signature matches.
    """
    lower = {name.lower(): value for name, value in headers.items()}
    try:
        message_id, stamp, signatures = lower["webhook-id"], lower["webhook-timestamp"], lower["webhook-signature"]
        timestamp = int(stamp)
    except (KeyError, ValueError) as err:
        raise WebhookVerificationError("missing or malformed webhook-id/-timestamp/-signature header") from err
    if abs(now.timestamp() - timestamp) > tolerance.total_seconds():
        raise WebhookVerificationError("webhook timestamp is outside the tolerance")
    expected = sign_webhook(secret, message_id, timestamp, body)
    if not any(hmac.compare_digest(expected, candidate) for candidate in signatures.split()):
        raise WebhookVerificationError("no webhook signature matches")
    return message_id


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def _retry_after(value: str | None) -> timedelta | None:
    if value is None or not value.strip().isdigit():
        return None
    return min(timedelta(seconds=int(value.strip())), _MAX_RETRY_AFTER)


class WebhookNotifier(Notifier):
    """POSTs each message as signed JSON to one URL.

    Args:
        url: The endpoint (``http`` or ``https``).
        secret: The signing secret, ``whsec_<base64>``; without one, requests are unsigned.
        timeout: Seconds to wait for the connection and for each read of the response.
        headers: Extra headers (e.g. an ``Authorization`` token); never logged.
        proxies: Proxies by scheme; ``None`` uses the environment's, ``{}`` none.

    Raises:
        ConfigurationError: the URL is not http(s) or the secret is malformed.
    """

    name = "webhook"

    def __init__(
        self,
        url: str,
        *,
        secret: str | None = None,
        timeout: float = 10.0,
        headers: Mapping[str, str] | None = None,
        proxies: Mapping[str, str] | None = None,
    ) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ConfigurationError(f"webhook url must be http:// or https:// with a host, not {url!r}")
        if secret is not None:
            _secret_bytes(secret)
        if timeout <= 0:
            raise ConfigurationError("webhook timeout must be positive")
        self.url = url
        self.endpoint = f"{parts.scheme}://{parts.hostname}{f':{parts.port}' if parts.port else ''}"
        self.secret = secret
        self.timeout = timeout
        self.headers = dict(headers or {})
        handlers: list[urllib.request.BaseHandler] = [_NoRedirect()]
        if proxies is not None:
            handlers.append(urllib.request.ProxyHandler(dict(proxies)))
        self._opener = urllib.request.build_opener(*handlers)

    def body(self, message: Message, *, now: datetime) -> bytes:
        """Return the JSON body posted for ``message``."""
        document = {"type": f"task.{message.change}", "timestamp": now.isoformat(), "data": message.to_json()}
        return json.dumps(document, sort_keys=True, separators=(",", ":")).encode()

    def send(self, message: Message, *, now: datetime) -> None:
        """POST the message once.

        Raises:
            DeliveryError: no 2xx answer; retryable for timeouts, connection errors,
                408, 425, 429 and 5xx.
        """
        body = self.body(message, now=now)
        timestamp = int(now.timestamp())
        headers = {**self.headers, "Content-Type": "application/json", "User-Agent": "sophie-webhook"}
        headers.update({"webhook-id": message.key, "webhook-timestamp": str(timestamp)})
        if self.secret is not None:
            headers["webhook-signature"] = sign_webhook(self.secret, message.key, timestamp, body)
        request = urllib.request.Request(self.url, data=body, headers=headers, method="POST")
        try:
            with self._opener.open(request, timeout=self.timeout) as response:
                response.read(65536)
        except urllib.error.HTTPError as err:
            status = err.code
            err.close()
            retryable = status in _RETRYABLE_STATUS or status >= 500
            raise DeliveryError(
                f"webhook {self.endpoint}: HTTP {status}",
                retryable=retryable,
                retry_after=_retry_after(err.headers.get("Retry-After")) if retryable else None,
            ) from err
        except TimeoutError as err:
            raise DeliveryError(f"webhook {self.endpoint}: no answer within {self.timeout:g}s") from err
        except urllib.error.URLError as err:
            reason = type(err.reason).__name__ if isinstance(err.reason, BaseException) else "URLError"
            raise DeliveryError(f"webhook {self.endpoint}: cannot connect ({reason})") from err
        except (OSError, http.client.HTTPException) as err:
            raise DeliveryError(f"webhook {self.endpoint}: {type(err).__name__}") from err
