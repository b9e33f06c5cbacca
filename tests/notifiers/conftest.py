"""Fixtures for the notifier tests: the loopback servers of ``loopback.py``, started and stopped per test.

This folder is a package (``__init__.py``) so that this conftest does not shadow ``tests/conftest.py``.
"""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from typing import Any

import pytest

from .loopback import CERTS, MailSink, WebhookSink, start_smtp, start_webhook


@pytest.fixture
def webhook_sink() -> Iterator[WebhookSink]:
    sink = WebhookSink()
    server, thread = start_webhook(sink)
    yield sink
    server.shutdown()
    server.server_close()
    thread.join(5)


@pytest.fixture
def mail_sink() -> Iterator[MailSink]:
    sink = MailSink()
    controller = start_smtp(sink)
    yield sink
    controller.stop()


@pytest.fixture
def tls_mail_sink() -> Iterator[MailSink]:
    """An SMTP server that requires STARTTLS and then a login (user ``sophie``, password ``s3cret``)."""
    sink = MailSink()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(CERTS / "server.pem", CERTS / "server.key")

    def authenticate(server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> Any:
        from aiosmtpd.smtp import AuthResult

        def text(value: str | bytes) -> str:
            return value.decode() if isinstance(value, bytes) else value

        ok = text(auth_data.login) == "sophie" and text(auth_data.password) == "s3cret"
        if ok:
            sink.logins.append(text(auth_data.login))
        return AuthResult(success=ok, handled=False)

    controller = start_smtp(
        sink, tls_context=context, require_starttls=True, authenticator=authenticate, auth_required=True
    )
    yield sink
    controller.stop()


@pytest.fixture
def client_tls() -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(CERTS / "ca.pem"))


@pytest.fixture(autouse=True)
def _no_proxies(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
