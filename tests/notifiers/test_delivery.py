"""The delivery worker: at least once, backoff with jitter, dead letters, counts; time is simulated through `now`."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from sophie.notifiers.base import DeliveryError, Message
from sophie.notifiers.delivery import DeliveryWorker, InMemoryOutbox, OutboxCounts, RetryPolicy
from sophie.notifiers.email import EmailNotifier
from sophie.notifiers.webhook import WebhookNotifier

from .loopback import T0, MailSink, Recorder, WebhookSink


def message(number: int) -> Message:
    return Message(key=f"t-{number}:created", task_id=f"t-{number}", rule_title="Recall overdue", priority="normal")


def queue(count: int) -> InMemoryOutbox:
    outbox = InMemoryOutbox()
    for number in range(1, count + 1):
        outbox.add(message(number), now=T0)
    return outbox


def run_until_quiet(worker: DeliveryWorker, start: datetime, *, until: datetime) -> datetime:
    """Run the worker whenever it says something is due, up to `until`; return the last `now`."""
    now = start
    while now <= until:
        report = worker.run_once(now)
        if report.next_due is None:
            break
        now = max(report.next_due, now + timedelta(seconds=1))
    return now


def test_backoff_grows_exponentially_with_bounded_deterministic_jitter() -> None:
    policy = RetryPolicy(first_delay=timedelta(seconds=30), factor=2, max_delay=timedelta(minutes=10), jitter=0.2)
    for attempts, base in [(1, 30), (2, 60), (3, 120), (5, 480), (6, 600), (9, 600)]:
        delay = policy.delay(attempts, "t-1:created").total_seconds()
        assert base * 0.8 <= delay <= base * 1.2
        assert delay == policy.delay(attempts, "t-1:created").total_seconds()
    spread = {policy.delay(3, f"t-{n}:created") for n in range(20)}
    assert len(spread) == 20  # rows failing together do not retry together


def test_retry_after_is_a_floor_not_a_ceiling() -> None:
    policy = RetryPolicy()
    assert policy.retry_at(1, "k", T0, retry_after=timedelta(minutes=10)) == T0 + timedelta(minutes=10)
    assert policy.retry_at(12, "k", T0, retry_after=timedelta(seconds=1)) > T0 + timedelta(minutes=40)


def test_a_delivered_row_is_sent_once() -> None:
    outbox, recorder = queue(3), Recorder()
    report = DeliveryWorker(outbox, {"recorder": recorder}).run_once(T0)
    assert (report.sent, report.deliveries, report.next_due) == (3, 3, None)
    assert DeliveryWorker(outbox, {"recorder": recorder}).run_once(T0 + timedelta(hours=1)).sent == 0
    assert recorder.sent == ["t-1:created", "t-2:created", "t-3:created"]
    assert outbox.counts(T0) == OutboxCounts(sent=3)


def test_a_failure_is_retried_after_the_backoff_and_not_before() -> None:
    outbox, recorder = queue(1), Recorder([DeliveryError("boom")])
    worker = DeliveryWorker(outbox, {"recorder": recorder}, policy=RetryPolicy(jitter=0))
    report = worker.run_once(T0)
    assert (report.retried, report.next_due) == (1, T0 + timedelta(seconds=30))
    assert outbox.counts(T0) == OutboxCounts(pending=1, retrying=1)
    assert worker.run_once(T0 + timedelta(seconds=29)).sent == 0
    assert worker.run_once(T0 + timedelta(seconds=30)).sent == 1
    assert outbox.errors("t-1:created") == ["boom"]


def test_dead_letter_after_max_attempts_and_requeue() -> None:
    outbox = queue(1)
    recorder = Recorder([DeliveryError("down")] * 3)
    worker = DeliveryWorker(outbox, {"recorder": recorder}, policy=RetryPolicy(max_attempts=3))
    run_until_quiet(worker, T0, until=T0 + timedelta(days=1))
    assert outbox.dead_keys() == ["t-1:created"]
    assert outbox.entry("t-1:created").attempts == 3
    assert outbox.counts(T0 + timedelta(days=1)) == OutboxCounts(dead=1)
    assert outbox.requeue_dead(now=T0 + timedelta(days=1)) == 1
    assert worker.run_once(T0 + timedelta(days=1)).sent == 1
    assert recorder.sent == ["t-1:created"]


def test_a_permanent_failure_is_dead_lettered_at_once() -> None:
    outbox = queue(1)
    report = DeliveryWorker(outbox, {"r": Recorder([DeliveryError("HTTP 400", retryable=False)])}).run_once(T0)
    assert (report.dead_lettered, report.next_due) == (1, None)


def test_a_notifier_bug_is_retried_and_logged_without_its_message(caplog: pytest.LogCaptureFixture) -> None:
    outbox = queue(1)
    worker = DeliveryWorker(outbox, {"r": Recorder([KeyError("Zebediah Canary")])})
    assert worker.run_once(T0).retried == 1
    assert "KeyError" in caplog.text
    assert "Zebediah" not in caplog.text


def test_a_channel_that_succeeded_is_not_repeated_when_another_fails() -> None:
    outbox = queue(1)
    good, flaky = Recorder(), Recorder([DeliveryError("down"), DeliveryError("down")])
    worker = DeliveryWorker(outbox, {"good": good, "flaky": flaky})
    run_until_quiet(worker, T0, until=T0 + timedelta(hours=1))
    assert good.sent == flaky.sent == ["t-1:created"]


def test_a_crashed_worker_leaves_the_row_to_be_sent_after_its_lease() -> None:
    class Crash(BaseException):
        pass

    class CrashingOutbox(InMemoryOutbox):
        crash = True

        def mark_delivered(self, key: str, channel: str, *, now: datetime) -> None:
            if self.crash:
                self.crash = False
                raise Crash
            super().mark_delivered(key, channel, now=now)

    outbox, recorder = CrashingOutbox(), Recorder()
    outbox.add(message(1), now=T0)
    lease = timedelta(minutes=5)
    with pytest.raises(Crash):
        DeliveryWorker(outbox, {"r": recorder}, lease=lease).run_once(T0)
    assert outbox.counts(T0 + timedelta(minutes=1)) == OutboxCounts(pending=1, in_flight=1)
    restarted = DeliveryWorker(outbox, {"r": recorder}, lease=lease)
    assert restarted.run_once(T0 + timedelta(minutes=1)).sent == 0  # still leased by the dead worker
    assert restarted.run_once(T0 + lease).sent == 1
    assert recorder.sent == ["t-1:created", "t-1:created"]  # at least once: one duplicate after one crash


def test_an_hour_long_webhook_outage_loses_nothing_and_sends_each_message_once(webhook_sink: WebhookSink) -> None:
    outbox = queue(5)
    worker = DeliveryWorker(outbox, {"webhook": WebhookNotifier(webhook_sink.url, timeout=2)})
    webhook_sink.mode = "fail"
    now = run_until_quiet(worker, T0, until=T0 + timedelta(hours=1))
    assert webhook_sink.received == []
    assert webhook_sink.attempts >= 5 * 6  # it kept trying through the hour
    counts = outbox.counts(now)
    assert (counts.pending, counts.retrying, counts.sent, counts.dead) == (5, 5, 0, 0)
    webhook_sink.mode = "accept"
    run_until_quiet(worker, now, until=T0 + timedelta(hours=3))
    assert sorted(webhook_sink.ids()) == [f"t-{n}:created" for n in range(1, 6)]
    assert outbox.counts(T0 + timedelta(hours=3)) == OutboxCounts(sent=5)


def test_an_hour_long_smtp_outage_loses_nothing(mail_sink: MailSink) -> None:
    outbox = queue(3)
    notifier = EmailNotifier(mail_sink.host, "sophie@smile.example", port=mail_sink.port, security="none",
                             to=["desk@smile.example"], timeout=5)
    worker = DeliveryWorker(outbox, {"email": notifier})
    mail_sink.mode = "busy"
    now = run_until_quiet(worker, T0, until=T0 + timedelta(hours=1))
    assert mail_sink.messages == []
    # It kept trying through the hour: waits of 30 s, 1, 2, 4, 8 and 16 min (each at most 20% longer)
    # add up to under 38 minutes, so every message was tried at least 7 times before the server came back.
    attempts = [outbox.entry(f"t-{n}:created").attempts for n in (1, 2, 3)]
    assert all(count >= 7 for count in attempts), attempts
    assert mail_sink.refused == sum(attempts)  # each attempt reached the server and was turned away
    assert all("451" in outbox.errors(f"t-{n}:created")[-1] for n in (1, 2, 3))
    counts = outbox.counts(now)
    assert (counts.pending, counts.retrying, counts.sent, counts.dead) == (3, 3, 0, 0)
    mail_sink.mode = "accept"
    run_until_quiet(worker, now, until=T0 + timedelta(hours=3))
    assert sorted(m["X-Sophie-Key"] for m in mail_sink.messages) == ["t-1:created", "t-2:created", "t-3:created"]


def test_email_after_a_crash_is_duplicated_at_most_once_with_the_same_message_id(mail_sink: MailSink) -> None:
    class Crash(BaseException):
        pass

    class CrashOnce(InMemoryOutbox):
        crashes = 1

        def mark_delivered(self, key: str, channel: str, *, now: datetime) -> None:
            if self.crashes:
                self.crashes -= 1
                raise Crash
            super().mark_delivered(key, channel, now=now)

    outbox = CrashOnce()
    outbox.add(message(1), now=T0)
    notifier = EmailNotifier(mail_sink.host, "sophie@smile.example", port=mail_sink.port, security="none",
                             to=["desk@smile.example"], timeout=5)
    with pytest.raises(Crash):
        DeliveryWorker(outbox, {"email": notifier}).run_once(T0)
    run_until_quiet(DeliveryWorker(outbox, {"email": notifier}), T0 + timedelta(minutes=1), until=T0 + timedelta(hours=1))
    assert len(mail_sink.messages) == 2
    assert len(set(mail_sink.message_ids())) == 1


def test_claims_respect_the_batch_size_and_order() -> None:
    outbox, recorder = queue(5), Recorder()
    report = DeliveryWorker(outbox, {"r": recorder}, batch=2).run_once(T0)
    assert (report.sent, report.next_due) == (2, T0)
    assert recorder.sent == ["t-1:created", "t-2:created"]
    assert outbox.counts(T0) == OutboxCounts(pending=3, due=3, sent=2)
    assert not outbox.add(message(1), now=T0)
