"""``sophie ledger verify``: check that a ledger is what sophie wrote.

The checks, each store-neutral (a store only hands over its rows, see
:class:`SupportsVerify`):

- **the audit chain**: every event links to the one before it and its hash matches its
  content, with the key of a keyed chain (``SOPHIE_AUDIT_KEY``) when the ledger has one;
- **the guards**: the append-only triggers and the one-open-task-per-key index are there
  (a store puts back a dropped guard when it opens and notes the repair; both are reported);
- **one open task per key**;
- **each task agrees with its history**: as many audit events as its version, and its
  status, owner, priority, due time and escalation level as its last event left them;
- **the outbox**: every notification belongs to a task and to the audit event that
  called for it, and goes to the owner that event names.

A problem is reported, never repaired: :func:`verify_ledger` returns a
:class:`VerifyReport` and the caller decides (the CLI prints one line per problem and
exits 1).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from sophie.errors import ConfigurationError
from sophie.execution.stores.audit import AUDIT_KEY_ENV, GENESIS_HASH, AuditEvent, ChainScheme, chain_hash, key_check
from sophie.execution.tasks import OPEN_STATUSES, JsonValue

__all__ = [
    "ChainMarker",
    "ChainedEvent",
    "GuardState",
    "IntegrityProblem",
    "OutboxRecord",
    "ProblemKind",
    "SupportsVerify",
    "TaskHead",
    "VerifyReport",
    "verify_ledger",
]

_OPEN = frozenset(str(status) for status in OPEN_STATUSES)


class ProblemKind(StrEnum):
    """What a problem is about."""

    AUDIT_CHAIN = "audit_chain"
    AUDIT_KEY = "audit_key"
    GUARD = "guard"
    DUPLICATE_OPEN_KEY = "duplicate_open_key"
    TASK_HISTORY = "task_history"
    OUTBOX = "outbox"


@dataclass(frozen=True, slots=True)
class IntegrityProblem:
    """One thing in the ledger that sophie did not write that way.

    Attributes:
        kind: What it is about.
        subject: The row or object, e.g. ``audit event 17 (task t-1a2b3c4d5e)``.
        message: What is wrong with it.
    """

    kind: ProblemKind
    subject: str
    message: str

    def __str__(self) -> str:
        return f"{self.subject}: {self.message}"

    def as_dict(self) -> dict[str, JsonValue]:
        """Return the problem as JSON-ready data."""
        return {"kind": str(self.kind), "subject": self.subject, "message": self.message}


@dataclass(frozen=True, slots=True)
class ChainedEvent:
    """An audit event as stored, with its place in the chain.

    Attributes:
        seq: Its position (ascending, not necessarily without gaps).
        task_id: The task it names.
        event: The decoded event, or ``None`` when the stored row cannot be read back.
        prev_hash: The link it stores to the event before it.
        hash: Its stored hash.
    """

    seq: int
    task_id: str
    event: AuditEvent | None
    prev_hash: str
    hash: str


@dataclass(frozen=True, slots=True)
class TaskHead:
    """The fields of a stored task that its audit events also record.

    Attributes:
        id / key / status / version / owner_id / priority / escalation_level: As stored.
        due_at: As stored (``None`` when it cannot be read back).
    """

    id: str
    key: str
    status: str
    version: int
    owner_id: str | None
    priority: str
    escalation_level: int
    due_at: datetime | None


@dataclass(frozen=True, slots=True)
class OutboxRecord:
    """A stored notification: its idempotency key, task, recipient and kind."""

    key: str
    task_id: str
    recipient_id: str | None
    kind: str


@dataclass(frozen=True, slots=True)
class ChainMarker:
    """What a ledger records about its audit chain: the scheme, and the key's check value."""

    scheme: str
    key_check: str | None = None


@dataclass(frozen=True, slots=True)
class GuardState:
    """A guard (trigger or index) that is damaged now, or was put back when the store opened.

    Attributes:
        name: The guard, e.g. ``task_event_append_only_update``.
        kind: ``trigger`` or ``index``.
        state: ``missing``, ``altered`` or ``restored``.
        at: When it was put back (for ``restored``).
    """

    name: str
    kind: str
    state: str
    at: str | None = None


class SupportsVerify(Protocol):
    """What :func:`verify_ledger` reads from a store (every store implements it)."""

    def chained_events(self) -> Iterable[ChainedEvent]:
        """Return every audit event in chain order."""

    def task_heads(self) -> Iterable[TaskHead]:
        """Return every task."""

    def outbox_records(self) -> Iterable[OutboxRecord]:
        """Return every outbox row, sent or not."""

    def chain_marker(self) -> ChainMarker | None:
        """Return what the ledger records about its chain (``None``: a plain chain)."""

    def guard_states(self) -> Sequence[GuardState]:
        """Return the guards that are damaged now or were put back."""


@dataclass(frozen=True, slots=True)
class VerifyReport:
    """What :func:`verify_ledger` found.

    Attributes:
        scheme: The chain it checked the events against.
        events / tasks / outbox: How many it read.
        problems: Each thing found wrong (empty: the ledger is clean).
    """

    scheme: ChainScheme
    events: int
    tasks: int
    outbox: int
    problems: tuple[IntegrityProblem, ...] = field(default_factory=tuple)

    @property
    def clean(self) -> bool:
        """Whether no problem was found."""
        return not self.problems

    def as_dict(self) -> dict[str, JsonValue]:
        """Return the report as JSON-ready data."""
        return {
            "clean": self.clean,
            "chain": str(self.scheme),
            "events": self.events,
            "tasks": self.tasks,
            "outbox": self.outbox,
            "problems": [problem.as_dict() for problem in self.problems],
        }


def verify_ledger(store: SupportsVerify, *, audit_key: bytes | None) -> VerifyReport:
    """Check a ledger's audit chain, guards, tasks and outbox (see the module docstring).

    Args:
        store: The ledger.
        audit_key: The secret of ``SOPHIE_AUDIT_KEY`` (``None`` when unset).

    Raises:
        ConfigurationError: The ledger's chain is keyed and no key was given.
    """
    problems: list[IntegrityProblem] = []
    chain = _chain_key(store.chain_marker(), audit_key, problems)
    problems.extend(_guard_problems(store.guard_states()))
    history: dict[str, list[ChainedEvent]] = {}
    events = 0
    for link in _check_chain(store.chained_events(), chain, problems):
        history.setdefault(link.task_id, []).append(link)
        events += 1
    tasks = list(store.task_heads())
    problems.extend(_duplicate_keys(tasks))
    problems.extend(_task_problems(tasks, history))
    outbox = list(store.outbox_records())
    problems.extend(_outbox_problems(outbox, {task.id for task in tasks}, history))
    return VerifyReport(chain.scheme, events, len(tasks), len(outbox), tuple(problems))


@dataclass(frozen=True, slots=True)
class _Chain:
    scheme: ChainScheme
    key: bytes | None = None
    check_hashes: bool = True


def _chain_key(marker: ChainMarker | None, audit_key: bytes | None, problems: list[IntegrityProblem]) -> _Chain:
    """Return how to check the chain: its scheme, its key, and whether hashes can be checked."""
    if marker is None:
        if audit_key is not None:
            problems.append(
                IntegrityProblem(
                    ProblemKind.AUDIT_KEY,
                    "audit chain",
                    f"{AUDIT_KEY_ENV} is set but this ledger's chain is plain SHA-256: it was started "
                    "without the key, or the record of its key was removed",
                )
            )
        return _Chain(ChainScheme.SHA256)
    if marker.scheme != ChainScheme.HMAC_SHA256:
        problems.append(
            IntegrityProblem(ProblemKind.AUDIT_KEY, "audit chain", f"unknown chain scheme {marker.scheme[:40]!r}")
        )
        return _Chain(ChainScheme.SHA256, check_hashes=False)
    if audit_key is None:
        raise ConfigurationError(
            f"this ledger's audit chain is keyed (HMAC-SHA256): set {AUDIT_KEY_ENV} to the ledger's key to verify it"
        )
    if marker.key_check != key_check(audit_key):
        problems.append(
            IntegrityProblem(
                ProblemKind.AUDIT_KEY,
                "audit chain",
                f"{AUDIT_KEY_ENV} is not the key this ledger's chain was written with (or the record of "
                "that key was altered); event hashes not checked",
            )
        )
        return _Chain(ChainScheme.HMAC_SHA256, check_hashes=False)
    return _Chain(ChainScheme.HMAC_SHA256, audit_key)


def _check_chain(
    links: Iterable[ChainedEvent], chain: _Chain, problems: list[IntegrityProblem]
) -> Iterator[ChainedEvent]:
    previous, previous_seq = GENESIS_HASH, None
    for link in links:
        subject = f"audit event {link.seq} (task {link.task_id})"
        if link.prev_hash != previous:
            after = "the start of the chain" if previous_seq is None else f"event {previous_seq}"
            problems.append(
                IntegrityProblem(
                    ProblemKind.AUDIT_CHAIN,
                    subject,
                    f"does not follow {after}: events before it were removed, reordered or re-hashed",
                )
            )
        if link.event is None:
            problems.append(IntegrityProblem(ProblemKind.AUDIT_CHAIN, subject, "cannot be read back: it was edited"))
        elif chain.check_hashes and link.hash != chain_hash(link.prev_hash, link.event, chain.key):
            problems.append(
                IntegrityProblem(
                    ProblemKind.AUDIT_CHAIN,
                    subject,
                    f"{link.event.kind} event does not match its {chain.scheme} hash: it was edited",
                )
            )
        previous, previous_seq = link.hash, link.seq
        yield link


def _guard_problems(states: Sequence[GuardState]) -> Iterator[IntegrityProblem]:
    for state in states:
        subject = f"{state.kind} {state.name}"
        if state.state == "restored":
            message = (
                f"was missing or altered and was put back at {state.at}: something wrote to the ledger "
                "around its guards; check the audit chain and the tasks"
            )
        else:
            message = f"is {state.state}: the ledger's guarantees are off until it is put back"
        yield IntegrityProblem(ProblemKind.GUARD, subject, message)


def _duplicate_keys(tasks: Sequence[TaskHead]) -> Iterator[IntegrityProblem]:
    counts = Counter(task.key for task in tasks if task.status in _OPEN)
    for key, count in sorted(counts.items()):
        if count > 1:
            ids = ", ".join(sorted(task.id for task in tasks if task.key == key and task.status in _OPEN))
            yield IntegrityProblem(
                ProblemKind.DUPLICATE_OPEN_KEY, f"key {key}", f"{count} open tasks hold it ({ids}); at most one may"
            )


def _task_problems(tasks: Sequence[TaskHead], history: Mapping[str, list[ChainedEvent]]) -> Iterator[IntegrityProblem]:
    known = {task.id for task in tasks}
    for task_id in sorted(set(history) - known):
        seqs = ", ".join(str(link.seq) for link in history[task_id][:5])
        yield IntegrityProblem(
            ProblemKind.TASK_HISTORY, f"task {task_id}", f"has audit events ({seqs}) but is not in the ledger"
        )
    for task in tasks:
        links = history.get(task.id, [])
        subject = f"task {task.id}"
        if len(links) != task.version:
            yield IntegrityProblem(
                ProblemKind.TASK_HISTORY,
                subject,
                f"version {task.version} but {len(links)} audit event{'s' if len(links) != 1 else ''}",
            )
        last = links[-1].event if links else None
        if last is None:
            continue
        for name, stored, recorded in _compared(task, last):
            if stored != recorded:
                yield IntegrityProblem(
                    ProblemKind.TASK_HISTORY,
                    subject,
                    f"{name} is {_shown(stored)} but its last audit event ({links[-1].seq}) says {_shown(recorded)}",
                )


def _compared(task: TaskHead, event: AuditEvent) -> Iterator[tuple[str, object, object]]:
    data = event.data
    yield "status", task.status, event.to_status
    yield "owner", task.owner_id, data.get("owner_id")
    yield "priority", task.priority, data.get("priority")
    yield "escalation level", task.escalation_level, data.get("escalation_level")
    due = data.get("due_at")
    try:
        recorded = datetime.fromisoformat(due) if isinstance(due, str) else due
    except ValueError:
        recorded = due
    yield "due time", task.due_at, recorded


def _shown(value: object) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    return repr(value)[:60]


def _outbox_problems(
    rows: Sequence[OutboxRecord], known: set[str], history: Mapping[str, list[ChainedEvent]]
) -> Iterator[IntegrityProblem]:
    for row in rows:
        subject = f"outbox {row.key}"
        if row.task_id not in known:
            yield IntegrityProblem(ProblemKind.OUTBOX, subject, f"its task {row.task_id} is not in the ledger")
            continue
        events = [link.event for link in history.get(row.task_id, []) if link.event is not None]
        source = _calling_event(row, events)
        if source is None:
            yield IntegrityProblem(
                ProblemKind.OUTBOX, subject, f"no audit event of task {row.task_id} called for this {row.kind} notice"
            )
        elif source.data.get("owner_id") != row.recipient_id:
            yield IntegrityProblem(
                ProblemKind.OUTBOX,
                subject,
                f"goes to {row.recipient_id!r} but the event that called for it names owner "
                f"{source.data.get('owner_id')!r}",
            )


def _calling_event(row: OutboxRecord, events: Sequence[AuditEvent]) -> AuditEvent | None:
    """Return the audit event that queued this notification (see ``message_for_change``)."""
    prefix, _, suffix = row.key.partition(f"{row.task_id}:")
    kind, _, number = suffix.partition(":")
    if prefix or kind != row.kind:
        return None
    if kind == "created":
        return next((event for event in events if event.kind == "created" and not number), None)
    if not number.isdigit():
        return None
    wanted = int(number)
    if kind == "escalated":
        levels = ((e, e.data.get("level", e.data.get("escalation_level"))) for e in events if e.kind == "escalated")
        return next((event for event, level in levels if level == wanted), None)
    if kind == "reopened":
        reopened = [event for event in events if event.kind == "reopened"]
        return reopened[wanted - 1] if 0 < wanted <= len(reopened) else None
    if kind == "reassigned":
        return next((e for e in events if e.data.get("version") == wanted and "previous_owner_id" in e.data), None)
    return None
