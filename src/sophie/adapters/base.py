"""The adapter contract: how a practice-management system (PMS) hands sophie a snapshot.

An adapter reads one practice's data from somewhere (a PMS database, a REST API,
an export folder, a generator) and returns a validated :class:`~sophie.model.Snapshot`.
It is the only code that knows the vendor's tables; everything after it (rules,
reconcile, the ledger) sees the snapshot alone.

What an adapter must do:
    1. Subclass :class:`Adapter`, set ``name`` and implement :meth:`Adapter.fetch`: read
       the source, map it onto the snapshot sections (``sophie.model``), and return
       ``parse_snapshot(data, source=...)`` (which validates every record, rejects naive
       datetimes and checks that every id a record names exists).
    2. Return a *complete* snapshot or raise. Never return a partial one: a record
       missing from the snapshot reads as "the work happened", and sophie would close
       the task. Raise instead:

       * :class:`~sophie.errors.SourceUnavailableError`: the source cannot be reached
         or read (network down, database locked, file missing). Retrying may help.
       * :class:`AdapterAuthError`: the source refused the credentials. Retrying will
         not help until someone fixes the configuration.
       * :class:`~sophie.errors.SnapshotError` (from ``parse_snapshot``) or
         :class:`~sophie.errors.AdapterDataError`: the source answered with data that
         does not fit the model. Name record ids, never patient names or clinical
         values, in the message: errors end up in logs.

       sophie treats every one of these the same way for tasks: nothing is resolved
       on a failed or stale fetch (:func:`ensure_fresh`).
    3. Be deterministic and read-only: fetching twice from an unchanged source gives
       equal snapshots (record order does not matter), and fetching never writes to
       the PMS.
    4. Keep times timezone-aware (the practice's zone or UTC) and ids stable strings.
    5. Log ids and counts only: no names, birth dates, procedure codes or payloads.

What an adapter may do:
    * **Incremental fetch.** Set ``supports_incremental = True`` and override
      :meth:`Adapter.fetch_since`. Called with ``None`` it returns a complete snapshot
      and a watermark (an opaque string: a timestamp, a change-log sequence number);
      called with a watermark it returns only what changed since then
      (:class:`SnapshotChanges`: upserted records and deleted ids) and the next
      watermark. :meth:`IncrementalResult.apply` merges changes into the previous
      snapshot; the merged snapshot must equal what :meth:`Adapter.fetch` returns
      at that moment (the conformance kit checks exactly that). The default
      implementation does a full fetch, so callers may always use ``fetch_since``.
    * **Events.** Set ``supports_events = True`` and override :meth:`Adapter.events`
      to yield :class:`AdapterEvent` records (an appointment was cancelled, a
      procedure completed...). An event is a *hint* to fetch sooner, not the truth:
      sophie acts on snapshots only, so a lost or duplicated event is harmless.
    * **Resources.** Override :meth:`Adapter.close` to release connections; adapters
      are context managers.

Register the adapter through the ``sophie_adapters`` hook and test it with the
conformance kit (:mod:`sophie.testing`; see ``docs/plugins.md``).

Example:
    A minimal adapter::

        class MyAdapter(Adapter):
            name = "my-pms"

            def __init__(self, source: str) -> None:
                self.source = source

            def fetch(self) -> Snapshot:
                try:
                    rows = read_rows_somehow(self.source)
                except ConnectionError as err:
                    raise SourceUnavailableError(f"{self.source}: cannot connect") from err
                return parse_snapshot(map_rows(rows), source="my-pms")
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from types import TracebackType
from typing import Any, ClassVar, Self

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator

from sophie.errors import (
    AdapterAuthError,
    AdapterDataError,
    AdapterError,
    ConfigurationError,
    SnapshotError,
    SourceUnavailableError,
    StaleSnapshotError,
)
from sophie.model import SECTIONS, Snapshot, check_references
from sophie.model.records import (
    Appointment,
    Balance,
    Claim,
    Contact,
    Operatory,
    Patient,
    Practice,
    Procedure,
    Provider,
    Recall,
    RecordId,
    ScheduleBlock,
    StaffMember,
    TreatmentPlan,
)

__all__ = [
    "Adapter",
    "AdapterAuthError",
    "AdapterDataError",
    "AdapterError",
    "AdapterEvent",
    "AdapterEventKind",
    "IncrementalResult",
    "SnapshotChanges",
    "SnapshotError",
    "SourceUnavailableError",
    "StaleSnapshotError",
    "Watermark",
    "ensure_fresh",
    "record_key",
]

Watermark = str
"""An adapter's position in its source (a timestamp, a sequence number), opaque to sophie."""






def ensure_fresh(snapshot: Snapshot, *, now: datetime, max_age: timedelta) -> None:
    """Raise if ``snapshot`` was read more than ``max_age`` before ``now``.

    Raises:
        StaleSnapshotError: the snapshot is too old to resolve tasks from.
    """
    age = now - snapshot.as_of
    if age > max_age:
        raise StaleSnapshotError(
            f"snapshot of practice {snapshot.practice.id} is {age} old (limit {max_age})", age=age, max_age=max_age
        )


class AdapterEventKind(StrEnum):
    """What an :class:`AdapterEvent` reports."""

    APPOINTMENT_CREATED = "appointment_created"
    APPOINTMENT_CANCELLED = "appointment_cancelled"
    APPOINTMENT_BROKEN = "appointment_broken"
    APPOINTMENT_RESCHEDULED = "appointment_rescheduled"
    PROCEDURE_COMPLETED = "procedure_completed"
    CLAIM_CHANGED = "claim_changed"
    CONTACT_LOGGED = "contact_logged"

    @property
    def section(self) -> str:
        """The snapshot section the event's record lives in, e.g. ``appointments``."""
        return self.value.split("_", 1)[0] + "s"


class AdapterEvent(BaseModel):
    """A change the PMS reported: a hint to fetch sooner, never the truth itself.

    Attributes:
        kind: What happened.
        record_id: The id of the record it happened to (in ``kind.section``).
        at: When it happened (timezone-aware).
        patient_id: The patient concerned, when known.
        watermark: The source position after this event, to resume from.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: AdapterEventKind
    record_id: RecordId
    at: AwareDatetime
    patient_id: RecordId | None = None
    watermark: Watermark | None = None


class SnapshotChanges(BaseModel):
    """What changed in a practice since a watermark: upserted records and deleted ids.

    Each section lists records that are new or changed (whole records, replacing the
    old ones by id). ``deleted`` maps a section to the ids that disappeared; a
    balance's id is its ``patient_id`` and a schedule block's is
    ``<operatory_id>@<start ISO>`` (:func:`record_key`). ``practice`` is set when the
    practice's own settings changed.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    as_of: AwareDatetime
    practice: Practice | None = None
    staff: list[StaffMember] = Field(default_factory=list)
    providers: list[Provider] = Field(default_factory=list)
    operatories: list[Operatory] = Field(default_factory=list)
    schedule_blocks: list[ScheduleBlock] = Field(default_factory=list)
    patients: list[Patient] = Field(default_factory=list)
    appointments: list[Appointment] = Field(default_factory=list)
    procedures: list[Procedure] = Field(default_factory=list)
    treatment_plans: list[TreatmentPlan] = Field(default_factory=list)
    claims: list[Claim] = Field(default_factory=list)
    recalls: list[Recall] = Field(default_factory=list)
    contacts: list[Contact] = Field(default_factory=list)
    balances: list[Balance] = Field(default_factory=list)
    deleted: dict[str, list[RecordId]] = Field(default_factory=dict)

    @field_validator("deleted")
    @classmethod
    def _known_sections(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        unknown = sorted(set(value) - set(SECTIONS))
        if unknown:
            raise ValueError(f"unknown section(s) {', '.join(unknown)}; use one of {', '.join(SECTIONS)}")
        return value

    def is_empty(self) -> bool:
        """Return whether nothing changed (apart from ``as_of``)."""
        return self.practice is None and not self.deleted and not any(getattr(self, s) for s in SECTIONS)

    def counts(self) -> dict[str, int]:
        """Return the number of upserted and deleted records per section (ids only, for logs)."""
        counts = {section: len(getattr(self, section)) + len(self.deleted.get(section, ())) for section in SECTIONS}
        return {section: count for section, count in counts.items() if count}


def record_key(section: str, record: BaseModel) -> str:
    """Return the identity of a record within its section.

    ``id`` for most sections, ``patient_id`` for balances, and
    ``<operatory_id>@<start ISO 8601>`` for schedule blocks (which have no id).
    """
    if section == "schedule_blocks":
        return f"{getattr(record, 'operatory_id')}@{getattr(record, 'start').isoformat()}"  # noqa: B009
    if section == "balances":
        return str(getattr(record, "patient_id"))  # noqa: B009
    return str(getattr(record, "id"))  # noqa: B009


def _merge(section: str, old: Sequence[BaseModel], new: Sequence[BaseModel], gone: Sequence[str]) -> list[BaseModel]:
    merged: dict[str, BaseModel] = {record_key(section, record): record for record in old}
    for record in new:
        merged[record_key(section, record)] = record
    for key in gone:
        merged.pop(key, None)
    return list(merged.values())


@dataclass(frozen=True)
class IncrementalResult:
    """The answer to :meth:`Adapter.fetch_since`: a complete snapshot or the changes since a watermark.

    Exactly one of ``snapshot`` and ``changes`` is set. Build one with
    :meth:`full` or :meth:`delta`.

    Attributes:
        watermark: Where the next ``fetch_since`` should start.
        snapshot: A complete snapshot (a first fetch, a reset, or an adapter without
            incremental support).
        changes: What changed since the watermark that was passed in.
    """

    watermark: Watermark
    snapshot: Snapshot | None = None
    changes: SnapshotChanges | None = None

    def __post_init__(self) -> None:
        if (self.snapshot is None) == (self.changes is None):
            raise ConfigurationError("an IncrementalResult holds either a snapshot or changes, not both or neither")

    @classmethod
    def full(cls, snapshot: Snapshot, watermark: Watermark) -> IncrementalResult:
        """Return a result holding a complete snapshot."""
        return cls(watermark=watermark, snapshot=snapshot)

    @classmethod
    def delta(cls, changes: SnapshotChanges | Mapping[str, Any], watermark: Watermark) -> IncrementalResult:
        """Return a result holding changes (a :class:`SnapshotChanges` or raw data for one).

        Raises:
            AdapterDataError: raw changes that do not fit the model.
        """
        if not isinstance(changes, SnapshotChanges):
            try:
                changes = SnapshotChanges.model_validate(changes)
            except ValueError as err:
                raise AdapterDataError(f"incremental changes do not fit the model: {err}") from err
        return cls(watermark=watermark, changes=changes)

    @property
    def complete(self) -> bool:
        """Whether this result is a complete snapshot (rather than changes)."""
        return self.snapshot is not None

    def apply(self, base: Snapshot | None) -> Snapshot:
        """Return the snapshot after this result: the full one, or ``base`` with the changes merged in.

        Upserts replace records by :func:`record_key`; new records are appended;
        deleted ids are removed. Referential integrity is checked on the result.

        Raises:
            ConfigurationError: changes were given but there is no ``base`` to apply them to.
            IntegrityError: the merged snapshot names ids it does not contain.
        """
        if self.snapshot is not None:
            return self.snapshot
        changes = self.changes
        assert changes is not None  # guaranteed by __post_init__
        if base is None:
            raise ConfigurationError("incremental changes need the snapshot they follow; fetch_since(None) first")
        deleted = changes.deleted
        sections = {
            section: _merge(section, getattr(base, section), getattr(changes, section), deleted.get(section, []))
            for section in SECTIONS
        }
        merged = Snapshot(practice=changes.practice or base.practice, as_of=changes.as_of, **sections)
        check_references(merged, source="incremental fetch")
        return merged


class Adapter(ABC):
    """Base class of every adapter (see the module docstring for the whole contract).

    Attributes:
        name: The name users select the adapter by (``sophie run --adapter NAME``).
        supports_incremental: Whether :meth:`fetch_since` returns changes rather
            than full snapshots.
        supports_events: Whether :meth:`events` yields anything.
    """

    name: ClassVar[str] = ""
    supports_incremental: ClassVar[bool] = False
    supports_events: ClassVar[bool] = False

    @abstractmethod
    def fetch(self) -> Snapshot:
        """Read the practice and return a complete, validated snapshot.

        Raises:
            SourceUnavailableError: the source cannot be reached or read.
            AdapterAuthError: the source refused the credentials.
            SnapshotError: the data does not fit the model (every problem listed).
            AdapterDataError: the data cannot be mapped onto the model at all.
        """

    def fetch_since(self, watermark: Watermark | None) -> IncrementalResult:
        """Return what changed since ``watermark`` (``None``: everything) and the next watermark.

        The default does a full :meth:`fetch` and uses ``as_of`` as the watermark, so
        callers may use ``fetch_since`` with any adapter.

        Raises:
            SourceUnavailableError: as :meth:`fetch`; also when the watermark is too old
                for the source's change log (callers then fetch with ``None``).
            AdapterAuthError: as :meth:`fetch`.
            SnapshotError: as :meth:`fetch`.
        """
        snapshot = self.fetch()
        return IncrementalResult.full(snapshot, watermark=snapshot.as_of.isoformat())

    def events(self, since: Watermark | None = None) -> Iterator[AdapterEvent]:
        """Yield the changes the source reported after ``since`` (hints; the default yields nothing).

        Raises:
            SourceUnavailableError: the event source cannot be reached.
        """
        return iter(())

    def close(self) -> None:  # noqa: B027  # optional hook, deliberately empty
        """Release connections and files (the default has none)."""

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.close()
