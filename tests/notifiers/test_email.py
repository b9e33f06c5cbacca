"""The email notifier against a real SMTP server on loopback: accept, STARTTLS and login, refuse, recover."""

from __future__ import annotations

import ssl
from datetime import timedelta

import pytest

from sophie.errors import ConfigurationError
from sophie.notifiers.base import DeliveryError, Message
from sophie.notifiers.email import EmailNotifier

from .loopback import T0, MailSink, free_port

MESSAGE = Message(key="t-1:created", task_id="t-1", rule_title="Presented treatment is not scheduled",
                  priority="high", owner_id="s-2", owner_role="treatment_coordinator",
                  due_at=T0 + timedelta(days=1))


def plain(sink: MailSink, **options: object) -> EmailNotifier:
    return EmailNotifier(sink.host, "sophie@smile.example", port=sink.port, security="none",
                         to=["frontdesk@smile.example"], timeout=5, **options)  # type: ignore[arg-type]


def test_a_message_is_delivered_as_plain_text(mail_sink: MailSink) -> None:
    plain(mail_sink, addresses={"s-2": "bo@smile.example"}).send(MESSAGE, now=T0)
    [mail] = mail_sink.messages
    assert mail_sink.envelopes == [("sophie@smile.example", ["bo@smile.example"])]
    assert mail["Subject"] == "[sophie] New task (high): Presented treatment is not scheduled [t-1]"
    assert mail.get_content_type() == "text/plain"
    assert "Owner: treatment_coordinator / staff s-2" in mail.get_payload()
    assert mail["X-Sophie-Key"] == "t-1:created"


def test_every_attempt_at_one_message_has_the_same_message_id(mail_sink: MailSink) -> None:
    notifier = plain(mail_sink)
    notifier.send(MESSAGE, now=T0)
    notifier.send(MESSAGE, now=T0 + timedelta(minutes=5))
    notifier.send(MESSAGE.model_copy(update={"key": "t-1:escalated:1"}), now=T0)
    first, again, other = mail_sink.message_ids()
    assert first == again != other
    assert first.endswith("@smile.example>")


def test_owner_without_address_goes_to_the_shared_list(mail_sink: MailSink) -> None:
    plain(mail_sink, addresses={"s-9": "x@smile.example"}).send(MESSAGE, now=T0)
    assert mail_sink.envelopes[0][1] == ["frontdesk@smile.example"]


def test_starttls_and_login(tls_mail_sink: MailSink, client_tls: ssl.SSLContext) -> None:
    notifier = EmailNotifier("localhost", "sophie@smile.example", port=tls_mail_sink.port, to=["a@smile.example"],
                             username="sophie", password="s3cret", ssl_context=client_tls, timeout=5)
    notifier.send(MESSAGE, now=T0)
    assert tls_mail_sink.logins == ["sophie"]
    assert len(tls_mail_sink.messages) == 1


def test_a_wrong_password_is_retried_not_dropped(tls_mail_sink: MailSink, client_tls: ssl.SSLContext) -> None:
    notifier = EmailNotifier("localhost", "sophie@smile.example", port=tls_mail_sink.port, to=["a@smile.example"],
                             username="sophie", password="wrong", ssl_context=client_tls, timeout=5)
    with pytest.raises(DeliveryError, match="login refused") as caught:
        notifier.send(MESSAGE, now=T0)
    assert caught.value.retryable
    assert "wrong" not in str(caught.value)


def test_an_untrusted_certificate_is_refused(tls_mail_sink: MailSink) -> None:
    notifier = EmailNotifier("localhost", "sophie@smile.example", port=tls_mail_sink.port, to=["a@smile.example"],
                             timeout=5)
    with pytest.raises(DeliveryError, match="SSLCertVerificationError") as caught:
        notifier.send(MESSAGE, now=T0)
    assert tls_mail_sink.messages == []
    assert caught.value.retryable


def test_starttls_is_never_skipped(mail_sink: MailSink) -> None:
    notifier = EmailNotifier(mail_sink.host, "sophie@smile.example", port=mail_sink.port, to=["a@smile.example"],
                             timeout=5)
    with pytest.raises(DeliveryError, match="offers no STARTTLS") as caught:
        notifier.send(MESSAGE, now=T0)
    assert not caught.value.retryable
    assert mail_sink.messages == []


def test_a_busy_server_is_retried_then_recovers(mail_sink: MailSink) -> None:
    notifier = plain(mail_sink)
    mail_sink.mode = "busy"
    with pytest.raises(DeliveryError, match=r"recipients refused \(SMTP \[451\]\)") as caught:
        notifier.send(MESSAGE, now=T0)
    assert caught.value.retryable
    mail_sink.mode = "accept"
    notifier.send(MESSAGE, now=T0)
    assert len(mail_sink.messages) == 1


def test_an_unknown_mailbox_is_permanent(mail_sink: MailSink) -> None:
    mail_sink.mode = "reject"
    with pytest.raises(DeliveryError, match=r"SMTP \[550\]") as caught:
        plain(mail_sink).send(MESSAGE, now=T0)
    assert not caught.value.retryable


def test_a_server_that_is_down_is_retryable() -> None:
    notifier = EmailNotifier("127.0.0.1", "sophie@smile.example", port=free_port(), security="none",
                             to=["a@smile.example"], timeout=2)
    with pytest.raises(DeliveryError, match="ConnectionRefusedError") as caught:
        notifier.send(MESSAGE, now=T0)
    assert caught.value.retryable


@pytest.mark.parametrize(
    ("options", "problem"),
    [
        ({}, "needs `to` addresses"),
        ({"to": ["a@b"], "password": "x"}, "needs a username"),
        ({"to": ["a@b"], "security": "tls"}, "starttls, ssl or none"),
    ],
)
def test_bad_settings_are_configuration_errors(options: dict[str, object], problem: str) -> None:
    with pytest.raises(ConfigurationError, match=problem):
        EmailNotifier("localhost", "sophie@smile.example", **options)  # type: ignore[arg-type]
