"""What execution reads from the rules layer, as small structural types.

Reconcile works on anything shaped like :class:`sophie.rules.evaluation.Evaluation`
and :class:`sophie.rules.packs.loader.CompiledRule`; these protocols name exactly the
fields it uses, so tests (and other rule engines) can hand in plain objects.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Protocol

from sophie.model.calendar import BusinessDuration

__all__ = ["EscalationStepLike", "EvaluationLike", "FindingLike", "MemberLike", "RuleLike"]


class MemberLike(Protocol):
    """One subject of a group finding."""

    @property
    def subject_id(self) -> str:
        """The member's id."""

    @property
    def patient_id(self) -> str | None:
        """The member's patient, if any."""


class FindingLike(Protocol):
    """One stall a rule found: a subject, its stall identity and the task it asks for."""

    @property
    def rule_id(self) -> str:
        """The rule that fired."""

    @property
    def pack(self) -> str:
        """The pack the rule is in."""

    @property
    def subject_type(self) -> str:
        """The entity type of the subject."""

    @property
    def subject_id(self) -> str:
        """The subject's id."""

    @property
    def key(self) -> str:
        """The stall identity: the rendered key template (the group), or the subject id."""

    @property
    def members(self) -> Sequence[MemberLike]:
        """Every subject of the group (the subject first); empty: the subject alone."""

    @property
    def evidence(self) -> Mapping[str, object]:
        """The values that made the rule fire."""

    @property
    def owner(self) -> str:
        """A role name or ``staff:<id>``."""

    @property
    def priority(self) -> str:
        """low, normal, high or urgent."""

    @property
    def due_at(self) -> datetime:
        """When a task opened now would be due."""

    @property
    def title(self) -> str:
        """The task title (may name the patient)."""

    @property
    def patient_id(self) -> str | None:
        """The patient concerned, if any."""

    @property
    def stall(self) -> str:
        """The first rule of the finding's ``task.continues`` chain (empty: its own rule)."""

    @property
    def stall_type(self) -> str:
        """That first rule's entity type (empty: the finding's subject type)."""

    @property
    def stage(self) -> int:
        """The rule's stage in its chain (1: the first)."""


class EvaluationLike(Protocol):
    """The findings of one evaluation and what it saw cleanly."""

    @property
    def findings(self) -> Sequence[FindingLike]:
        """Every finding, in rule then subject order."""

    @property
    def complete(self) -> bool:
        """Whether every rule ran on every subject without error."""

    @property
    def evaluated(self) -> Mapping[str, frozenset[str]]:
        """Rule id to the subject ids it evaluated cleanly."""


class EscalationStepLike(Protocol):
    """One rung of a rule's escalation ladder."""

    @property
    def after(self) -> timedelta | BusinessDuration:
        """How long after the due time the step fires."""

    @property
    def to(self) -> str | None:
        """The role or ``staff:<id>`` to hand the task to, if any."""

    @property
    def priority(self) -> str | None:
        """The priority from this step on, if it changes."""


class RuleLike(Protocol):
    """The parts of a compiled rule that execution needs."""

    @property
    def id(self) -> str:
        """The rule id."""

    @property
    def title(self) -> str:
        """The rule's title (no patient data; used in notifications)."""

    @property
    def version(self) -> str:
        """The pack version."""

    @property
    def content_hash(self) -> str:
        """Hash of the rule's text."""

    @property
    def resolve(self) -> str:
        """``auto`` (close when the stall clears) or ``manual``."""

    @property
    def escalate(self) -> Sequence[EscalationStepLike]:
        """The escalation steps, in order."""
