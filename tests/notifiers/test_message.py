"""Staff messages carry no clinical detail, and patient names only as "First L." when the practice turns them on."""

from __future__ import annotations

import io

import pytest

from sophie.notifiers.base import Message, MessageSettings, patient_label
from sophie.notifiers.console import ConsoleNotifier
from sophie.plugins.manager import Plugins

from .loopback import T0

PAYLOAD = {
    "task_id": "t-9", "change": "created", "practice_id": "smile", "rule": "treatment.unscheduled",
    "rule_title": "Presented treatment is not scheduled", "owner_id": "s-2", "owner_role": "treatment_coordinator",
    "priority": "high", "due_at": "2026-03-06T10:00:00-05:00", "escalation_level": 0,
    # fields a careless payload might carry; a message must never pick them up
    "title": "Call Zebediah about D9999", "patient_name": "Zebediah Canary", "evidence": {"code": "D9999"},
}


def test_a_message_reads_only_its_allow_listed_fields() -> None:
    message = Message.from_outbox("t-9:created", PAYLOAD)
    text = message.text() + str(message.to_json())
    assert "Zebediah" not in text
    assert "Canary" not in text
    assert "D9999" not in text
    assert message.subject() == "New task (high): Presented treatment is not scheduled [t-9]"


def test_patient_names_are_off_by_default_even_when_given() -> None:
    assert Message.from_outbox("k", PAYLOAD, patient="Zebediah Canary").patient is None


def test_with_names_on_only_first_name_and_last_initial_are_shown() -> None:
    settings = MessageSettings(include_patient_names=True, link_template="https://board.example/{practice_id}/{task_id}")
    message = Message.from_outbox("k", PAYLOAD, settings=settings, patient="Zebediah Canary")
    assert message.patient == "Zebediah C."
    assert message.link == "https://board.example/smile/t-9"
    assert "Patient: Zebediah C.\n" in message.text()
    assert "Canary" not in message.text()


@pytest.mark.parametrize(
    ("first", "last", "label"),
    [("Zebediah", "Canary", "Zebediah C."), ("ana", "lima", "ana L."), ("Cher", "", "Cher"), ("", "Lima", None)],
)
def test_patient_label(first: str, last: str, label: str | None) -> None:
    assert patient_label(first, last) == label


def test_message_text_lists_owner_due_time_and_link() -> None:
    message = Message.from_outbox("k", PAYLOAD, settings=MessageSettings(link_template="https://b/{task_id}"))
    assert message.text().splitlines()[2:] == [
        "Task: t-9", "Owner: treatment_coordinator / staff s-2", "Due: Fri 2026-03-06 10:00 UTC-05:00",
        "Open: https://b/t-9",
    ]


def test_console_notifier_prints_the_text() -> None:
    stream = io.StringIO()
    ConsoleNotifier(stream).send(Message.from_outbox("k", PAYLOAD), now=T0)
    assert stream.getvalue().startswith("New task (high): Presented treatment is not scheduled [t-9]\n")


def test_builtin_notifiers_register_through_the_hook() -> None:
    from sophie.notifiers.plugin import sophie_notifiers
    from sophie.notifiers.registry import create_notifier

    names = {info.name for info in sophie_notifiers()}
    assert names == {"console", "email", "webhook"}
    plugins = Plugins(entry_points_enabled=False)
    assert names <= set(plugins.notifiers())
    console = create_notifier("console", {"stream": io.StringIO()}, plugins=plugins)
    assert isinstance(console, ConsoleNotifier)


def test_unknown_notifier_and_bad_settings_are_clear_errors() -> None:
    from sophie.errors import ConfigurationError, UnknownNameError
    from sophie.notifiers.registry import create_notifier

    plugins = Plugins(entry_points_enabled=False)
    with pytest.raises(UnknownNameError, match="did you mean 'webhook'"):
        create_notifier("webhok", plugins=plugins)
    with pytest.raises(ConfigurationError, match="notifier 'webhook'"):
        create_notifier("webhook", {"uri": "https://x"}, plugins=plugins)
