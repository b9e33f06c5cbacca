"""The webhook notifier against a real HTTP server on loopback: signed, and honest about failures."""

from __future__ import annotations

import base64
from datetime import timedelta

import pytest

from sophie.errors import ConfigurationError
from sophie.notifiers.base import DeliveryError, Message
from sophie.notifiers.webhook import WebhookNotifier, WebhookVerificationError, sign_webhook, verify_webhook

from .loopback import T0, WebhookSink, free_port

SECRET = "whsec_" + base64.b64encode(b"sophie-test-secret-32-bytes-long").decode()
MESSAGE = Message(key="t-1:escalated:1", task_id="t-1", change="escalated", rule_title="Claim unanswered",
                  priority="urgent", owner_id="s-4", owner_role="office_manager", due_at=T0, escalation_level=1)


def test_signature_matches_the_standard_webhooks_reference_vector() -> None:
    signature = sign_webhook("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330,
                             b'{"test": 2432232314}')
    assert signature == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def test_a_delivered_webhook_is_signed_json_the_receiver_can_verify(webhook_sink: WebhookSink) -> None:
    WebhookNotifier(webhook_sink.url, secret=SECRET, headers={"Authorization": "Bearer abc"}).send(MESSAGE, now=T0)
    [request] = webhook_sink.received
    assert request.headers["webhook-id"] == "t-1:escalated:1"
    assert request.headers["webhook-timestamp"] == str(int(T0.timestamp()))
    assert request.headers["content-type"] == "application/json"
    assert request.headers["authorization"] == "Bearer abc"
    assert verify_webhook(SECRET, request.headers, request.body, now=T0 + timedelta(seconds=30)) == "t-1:escalated:1"
    document = request.json()
    assert document["type"] == "task.escalated"
    assert document["data"] == {
        "key": "t-1:escalated:1", "task_id": "t-1", "change": "escalated", "rule_title": "Claim unanswered",
        "priority": "urgent", "owner_id": "s-4", "owner_role": "office_manager", "due_at": "2026-03-05T16:45:00Z",
        "escalation_level": 1,
    }


def test_verification_refuses_tampering_and_replays(webhook_sink: WebhookSink) -> None:
    WebhookNotifier(webhook_sink.url, secret=SECRET).send(MESSAGE, now=T0)
    [request] = webhook_sink.received
    with pytest.raises(WebhookVerificationError, match="no webhook signature matches"):
        verify_webhook(SECRET, request.headers, request.body.replace(b"urgent", b"low"), now=T0)
    with pytest.raises(WebhookVerificationError, match="outside the tolerance"):
        verify_webhook(SECRET, request.headers, request.body, now=T0 + timedelta(hours=1))
    with pytest.raises(WebhookVerificationError, match="missing"):
        verify_webhook(SECRET, {}, request.body, now=T0)


def test_a_server_error_is_retryable(webhook_sink: WebhookSink) -> None:
    webhook_sink.mode = "fail"
    with pytest.raises(DeliveryError, match=r"webhook http://127\.0\.0\.1:\d+: HTTP 500") as caught:
        WebhookNotifier(webhook_sink.url).send(MESSAGE, now=T0)
    assert caught.value.retryable
    assert "/hooks/sophie" not in str(caught.value)  # the path may hold a token; only the endpoint is named


def test_too_many_requests_honours_retry_after(webhook_sink: WebhookSink) -> None:
    webhook_sink.mode = "busy"
    with pytest.raises(DeliveryError, match="HTTP 429") as caught:
        WebhookNotifier(webhook_sink.url).send(MESSAGE, now=T0)
    assert caught.value.retryable
    assert caught.value.retry_after == timedelta(seconds=120)


def test_a_client_error_is_permanent(webhook_sink: WebhookSink) -> None:
    webhook_sink.mode = "reject"
    with pytest.raises(DeliveryError, match="HTTP 400") as caught:
        WebhookNotifier(webhook_sink.url).send(MESSAGE, now=T0)
    assert not caught.value.retryable


def test_redirects_are_not_followed(webhook_sink: WebhookSink) -> None:
    webhook_sink.mode = "redirect"
    with pytest.raises(DeliveryError, match="HTTP 307") as caught:
        WebhookNotifier(webhook_sink.url).send(MESSAGE, now=T0)
    assert not caught.value.retryable
    assert webhook_sink.attempts == 1


def test_a_hanging_endpoint_times_out_and_is_retryable(webhook_sink: WebhookSink) -> None:
    # The endpoint answers 200 after 2 s: only a client that gave up at its timeout sees an error.
    webhook_sink.mode, webhook_sink.hang_seconds = "hang", 2.0
    with pytest.raises(DeliveryError, match=r"no answer within 0\.3s") as caught:
        WebhookNotifier(webhook_sink.url, timeout=0.3).send(MESSAGE, now=T0)
    assert caught.value.retryable
    assert webhook_sink.attempts == 1
    webhook_sink.mode = "accept"
    WebhookNotifier(webhook_sink.url, timeout=2).send(MESSAGE, now=T0)
    assert webhook_sink.ids() == ["t-1:escalated:1"]


def test_an_endpoint_that_is_down_is_retryable() -> None:
    with pytest.raises(DeliveryError, match="cannot connect") as caught:
        WebhookNotifier(f"http://127.0.0.1:{free_port()}/x", timeout=2).send(MESSAGE, now=T0)
    assert caught.value.retryable


@pytest.mark.parametrize(
    ("url", "secret", "problem"),
    [
        ("file:///etc/passwd", None, "must be http"),
        ("http:///nohost", None, "must be http"),
        ("https://example.com", "not-base64!", "whsec_"),
        ("https://example.com", "whsec_" + base64.b64encode(b"short").decode(), "at least 16 bytes"),
    ],
)
def test_bad_settings_are_configuration_errors(url: str, secret: str | None, problem: str) -> None:
    with pytest.raises(ConfigurationError, match=problem):
        WebhookNotifier(url, secret=secret)
