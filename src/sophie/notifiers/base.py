"""The notifier contract: what a staff message holds, and how a notifier sends it.

A :class:`Message` is what staff are told about a task: its id, the rule's title, the
owner, the priority, the due time and a link. It carries **no clinical detail** and
no patient name; a practice may turn on ``include_patient_names``, and then only a
first name and last initial ("Zebediah C.") is added. Messages are built from the
ledger's outbox rows by :meth:`Message.from_outbox`, which reads an allow-list of
payload fields, so nothing else a payload might hold can leak into a message.

A :class:`Notifier` sends one message at a time. It raises :class:`DeliveryError` when
it cannot, saying whether a retry may help (``retryable``) and, when the receiver said
so, how long to wait (``retry_after``). The delivery worker
(:mod:`sophie.notifiers.delivery`) does the retrying; a notifier never sleeps or loops.

Example:
    A notifier that appends messages to a list::

        class ListNotifier(Notifier):
            name = "list"

            def __init__(self) -> None:
                self.sent: list[Message] = []

            def send(self, message: Message, *, now: datetime) -> None:
                self.sent.append(message)
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, ClassVar

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from sophie.errors import DeliveryError, NotifierError

__all__ = [
    "DeliveryError",
    "Message",
    "MessageSettings",
    "Notifier",
    "NotifierError",
    "patient_label",
]






def patient_label(first_name: str | None, last_name: str | None) -> str | None:
    """Return the most a staff message may show of a patient: first name and last initial.

    Example:
        >>> patient_label("Zebediah", "Canary")
        'Zebediah C.'
    """
    first = (first_name or "").strip()
    last = (last_name or "").strip()
    if not first:
        return None
    return f"{first} {last[0].upper()}." if last else first


@dataclass(frozen=True)
class MessageSettings:
    """A practice's choices about what staff messages show.

    Attributes:
        include_patient_names: Add the patient's first name and last initial (off by default).
        link_template: The link to a task, with ``{task_id}`` (and optionally
            ``{practice_id}``) filled in, e.g. ``https://board.example/tasks/{task_id}``.
    """

    include_patient_names: bool = False
    link_template: str | None = None


class Message(BaseModel):
    """A staff notification about one task (no clinical detail; see the module docstring).

    Attributes:
        key: The idempotency key: the same for every attempt to deliver this message.
        task_id: The task it is about.
        change: What happened: ``created``, ``escalated``, ``reopened``, ``reassigned``.
        rule_title: The rule's title (analysts write these without patient data).
        priority: ``low``, ``normal``, ``high`` or ``urgent``.
        practice_id: The practice.
        rule: The rule id.
        owner_id: The staff member who owns the task.
        owner_role: The role the task was assigned to.
        due_at: When the task is due.
        escalation_level: How many escalation steps have run.
        link: Where staff can open the task.
        patient: First name and last initial, only when the practice turned names on.
        items: For a digest (``change`` is ``digest``): one line per task it gathers (task
            id, what happened, priority, rule title, due time; never a task title).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    key: str = Field(min_length=1, max_length=300)
    task_id: str
    change: str = "created"
    rule_title: str = ""
    priority: str = "normal"
    practice_id: str | None = None
    rule: str | None = None
    owner_id: str | None = None
    owner_role: str | None = None
    due_at: AwareDatetime | None = None
    escalation_level: int = 0
    link: str | None = None
    patient: str | None = None
    items: tuple[str, ...] = ()

    @classmethod
    def from_outbox(
        cls,
        key: str,
        payload: Mapping[str, Any],
        *,
        settings: MessageSettings | None = None,
        patient: str | None = None,
    ) -> Message:
        """Build a message from an outbox row, reading only the fields a message may carry.

        Args:
            key: The outbox row's key (the idempotency key).
            payload: The row's payload; unknown fields are ignored.
            settings: The practice's message settings (default: no names, no link).
            patient: The patient label (:func:`patient_label`); dropped unless the
                settings include patient names.
        """
        chosen = settings or MessageSettings()
        fields = {name: payload[name] for name in _PAYLOAD_FIELDS if payload.get(name) is not None}
        fields.setdefault("task_id", payload.get("task_id") or key.split(":", 1)[0])
        link = None
        if chosen.link_template:
            link = chosen.link_template.format(task_id=fields["task_id"], practice_id=fields.get("practice_id", ""))
        label = payload.get("patient") if patient is None else patient
        shown = patient_label(*str(label).split(" ", 1)) if chosen.include_patient_names and label else None
        items = tuple(_item_line(item) for item in payload.get("items") or () if isinstance(item, Mapping))
        return cls(key=key, link=link, patient=shown, items=items, **fields)

    def subject(self) -> str:
        """One line: what happened to which task (for email subjects and chat titles)."""
        verb = {"created": "New task", "escalated": "Escalated", "reopened": "Reopened", "reassigned": "Reassigned",
                "released": "New task"}  # fmt: skip
        if self.change == "digest":
            return f"Digest for staff {self.owner_id or 'unassigned'}: {self.rule_title}"
        head = verb.get(self.change, self.change.capitalize())
        return f"{head} ({self.priority}): {self.rule_title or self.rule or 'task'} [{self.task_id}]"

    def text(self) -> str:
        """The message as plain text, one fact per line."""
        if self.change == "digest":
            return "\n".join([self.subject(), "", *self.items]) + "\n"
        lines = [self.subject(), "", f"Task: {self.task_id}"]
        if self.patient:
            lines.append(f"Patient: {self.patient}")
        owner = " / ".join(part for part in (self.owner_role, self.owner_id and f"staff {self.owner_id}") if part)
        if owner:
            lines.append(f"Owner: {owner}")
        if self.due_at is not None:
            lines.append(f"Due: {self.due_at:%a %Y-%m-%d %H:%M} {_offset(self.due_at)}")
        if self.escalation_level:
            lines.append(f"Escalation level: {self.escalation_level}")
        if self.link:
            lines.append(f"Open: {self.link}")
        return "\n".join(lines) + "\n"

    def to_json(self) -> dict[str, Any]:
        """The message as JSON-ready data (what webhooks post as ``data``)."""
        data = self.model_dump(mode="json", exclude_none=True)
        if not self.items:  # only digests carry items
            data.pop("items", None)
        return data


def _item_line(item: Mapping[str, Any]) -> str:
    """One line of a digest, from its item's facts (ids, change, priority, rule title, due time)."""
    due = item.get("due_at")
    when = ""
    if isinstance(due, str):
        try:
            moment = datetime.fromisoformat(due)
            when = f", due {moment:%a %m-%d %H:%M} {_offset(moment)}"
        except ValueError:
            when = ""
    return f"- {item.get('task_id')} {item.get('change')} ({item.get('priority')}): {item.get('rule_title')}{when}"


def _offset(moment: datetime) -> str:
    offset = moment.utcoffset() or timedelta(0)
    if not offset:
        return "UTC"
    sign, minutes = ("-" if offset < timedelta(0) else "+"), abs(int(offset.total_seconds())) // 60
    return f"UTC{sign}{minutes // 60:02d}:{minutes % 60:02d}"


_PAYLOAD_FIELDS = (
    "task_id",
    "change",
    "rule_title",
    "priority",
    "practice_id",
    "rule",
    "owner_id",
    "owner_role",
    "due_at",
    "escalation_level",
)


class Notifier(ABC):
    """Base class of every notifier: sends one :class:`Message` per call.

    Attributes:
        name: The notifier's name in configuration (``console``, ``webhook``, ``email``...).
    """

    name: ClassVar[str] = ""

    @abstractmethod
    def send(self, message: Message, *, now: datetime) -> None:
        """Deliver ``message`` once; ``now`` is the current time (for signatures and headers).

        Raises:
            DeliveryError: it was not delivered (``retryable`` says whether to try again).
        """

    def close(self) -> None:  # noqa: B027  # optional hook, deliberately empty
        """Release connections (the default has none)."""
