"""The audit trail: one append-only event per change to a task, who or what made it and why.

Events carry ids, statuses, times and rule versions; ``why`` is written with ids only, so
the trail can be shown to an auditor without exposing more than the task itself does.

Events are hash-chained: each stores the hash of the one before it and its own hash over
that link and its content, so an edited, removed or reordered event breaks the chain. A
plain chain (SHA-256) only catches an editor who does not re-hash what follows; a keyed
chain (HMAC-SHA256 with a secret from ``SOPHIE_AUDIT_KEY``) also catches one who does,
as long as the key is not on the machine they edited from.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from sophie.errors import ConfigurationError
from sophie.execution.tasks import JsonValue, Task, TaskChange

__all__ = [
    "AUDIT_KEY_ENV",
    "GENESIS_HASH",
    "SOPHIE_ACTOR",
    "AuditEvent",
    "ChainScheme",
    "audit_key_from_environment",
    "chain_hash",
    "event_for_action",
    "event_for_change",
    "key_check",
]

AUDIT_KEY_ENV = "SOPHIE_AUDIT_KEY"
"""The environment variable holding the secret of a keyed audit chain."""

GENESIS_HASH = "0" * 64
"""The link of the first event of a chain."""

_MIN_KEY_LENGTH = 16

SOPHIE_ACTOR = "sophie"
"""The actor of every change reconcile makes (people are ``staff:<id>``, the CLI ``cli``)."""


@dataclass(frozen=True, slots=True)
class AuditEvent:
    """One entry of a task's audit trail.

    Attributes:
        task_id: The task.
        at: When it happened.
        actor: ``sophie``, ``staff:<id>`` or ``cli``.
        kind: ``created``, ``touched``, ``escalated``, ``resolved``, ``reopened``, ``expired``,
            ``verified``, ``acknowledged``, ``done``, ``snoozed`` or ``blocked``.
        from_status: The status before (``None`` when created).
        to_status: The status after.
        why: The reason, with ids only.
        rule_id / rule_version / content_hash: The rule, its pack version and text hash.
        data: Extra facts (owner, priority, escalation level, due time...).
    """

    task_id: str
    at: datetime
    actor: str
    kind: str
    from_status: str | None
    to_status: str
    why: str
    rule_id: str
    rule_version: str
    content_hash: str
    data: Mapping[str, JsonValue] = field(default_factory=dict)

    def as_dict(self) -> dict[str, JsonValue]:
        """Return the event as JSON-ready data."""
        return {
            "task_id": self.task_id,
            "at": self.at.isoformat(),
            "actor": self.actor,
            "kind": self.kind,
            "from_status": self.from_status,
            "to_status": self.to_status,
            "why": self.why,
            "rule_id": self.rule_id,
            "rule_version": self.rule_version,
            "content_hash": self.content_hash,
            "data": dict(self.data),
        }


def _facts(task: Task) -> dict[str, JsonValue]:
    return {
        "owner_id": task.owner_id,
        "owner_role": task.owner_role,
        "priority": str(task.priority),
        "due_at": task.due_at.isoformat(),
        "escalation_level": task.escalation_level,
        "version": task.version,
    }


def event_for_change(change: TaskChange, *, actor: str = SOPHIE_ACTOR) -> AuditEvent:
    """Return the audit event recording a reconcile change."""
    task = change.task
    data = _facts(task)
    if change.level is not None:
        data["level"] = change.level
    if change.previous is not None and change.owner_changed:
        data["previous_owner_id"] = change.previous.owner_id
    return AuditEvent(
        task_id=task.id,
        at=task.updated_at,
        actor=actor,
        kind=str(change.kind),
        from_status=None if change.previous is None else str(change.previous.status),
        to_status=str(task.status),
        why=change.why,
        rule_id=task.rule,
        rule_version=task.rule_version,
        content_hash=task.content_hash,
        data=data,
    )


def event_for_action(
    previous: Task, task: Task, kind: str, why: str, *, actor: str, note: str | None = None
) -> AuditEvent:
    """Return the audit event recording a person's action on a task (a note's text goes in its data)."""
    data = _facts(task)
    if task.blocked_reason is not None:
        data["blocked_reason"] = task.blocked_reason
    if note is not None:
        data["note"] = note
    return AuditEvent(
        task_id=task.id,
        at=task.updated_at,
        actor=actor,
        kind=kind,
        from_status=str(previous.status),
        to_status=str(task.status),
        why=why,
        rule_id=task.rule,
        rule_version=task.rule_version,
        content_hash=task.content_hash,
        data=data,
    )


class ChainScheme(StrEnum):
    """How a ledger's audit events are chained."""

    SHA256 = "sha256"
    """Plain: anyone who can write the file can re-hash the chain after an edit."""

    HMAC_SHA256 = "hmac-sha256"
    """Keyed: re-hashing after an edit needs the secret of ``SOPHIE_AUDIT_KEY``."""


def audit_key_from_environment(environ: Mapping[str, str] | None = None) -> bytes | None:
    """Return the audit chain's secret from ``SOPHIE_AUDIT_KEY``, or ``None`` when unset.

    Raises:
        ConfigurationError: The variable is set but shorter than 16 characters (the
            message never repeats the value).
    """
    value = (os.environ if environ is None else environ).get(AUDIT_KEY_ENV)
    if value is None or value == "":
        return None
    if len(value) < _MIN_KEY_LENGTH:
        raise ConfigurationError(
            f"{AUDIT_KEY_ENV} is too short ({len(value)} characters); use at least {_MIN_KEY_LENGTH} random "
            "characters, e.g. the output of: python -c 'import secrets; print(secrets.token_hex(32))'"
        )
    return value.encode()


def key_check(key: bytes) -> str:
    """Return the fingerprint a ledger keeps to tell the right key from another one.

    It is an HMAC of a fixed text, so it reveals nothing the chain's own hashes do not.
    """
    return hmac.new(key, b"sophie audit chain key check", hashlib.sha256).hexdigest()


def chain_hash(previous_hash: str, event: AuditEvent, key: bytes | None = None) -> str:
    """Return the hash linking ``event`` to the one before it (tampering breaks the chain).

    Args:
        previous_hash: The hash of the event before (:data:`GENESIS_HASH` for the first).
        event: The event.
        key: The secret of a keyed chain (HMAC-SHA256); ``None`` for a plain SHA-256 chain.
    """
    text = json.dumps(event.as_dict(), sort_keys=True, separators=(",", ":"), default=str)
    message = f"{previous_hash}|{text}".encode()
    if key is None:
        return hashlib.sha256(message).hexdigest()
    return hmac.new(key, message, hashlib.sha256).hexdigest()
