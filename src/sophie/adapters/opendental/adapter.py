"""The ``opendental`` adapter: a read-only SQL reader of an Open Dental MySQL/MariaDB database.

Every fetch opens one connection, reads inside one consistent, read-only transaction
(so all tables are seen at one instant), maps the rows, and closes the connection.
Incremental fetches re-read the patients whose rows were stamped since the watermark
(see :meth:`OpenDentalAdapter.fetch_since`).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sophie.adapters.base import Adapter, IncrementalResult, Watermark, record_key
from sophie.adapters.opendental.codes import APPT_CONFIRMED, COMMLOG_TYPES
from sophie.adapters.opendental.mapping import map_patient_sections
from sophie.adapters.opendental.practice_mapping import PracticeIndex
from sophie.adapters.opendental.practice_mapping import map_practice_sections as _map_practice
from sophie.adapters.opendental.queries import (
    PATIENT_QUERIES,
    PRACTICE_QUERIES,
    Cursor,
    changed_patients,
    select,
    select_patient_rows,
)
from sophie.adapters.opendental.settings import OpenDentalSettings, mask_secret
from sophie.errors import AdapterAuthError, ConfigurationError, SourceUnavailableError
from sophie.model import SECTIONS, Snapshot, parse_snapshot

__all__ = ["STAMP_OVERLAP", "OpenDentalAdapter"]

logger = logging.getLogger(__name__)

STAMP_OVERLAP = timedelta(minutes=2)
"""How far before the watermark an incremental fetch looks (rows committed late by slow transactions)."""

PRACTICE_SECTIONS = ("staff", "providers", "operatories", "schedule_blocks")
_AUTH_CODES = {1044, 1045, 1698}
_Keys = dict[str, dict[str, int | None]]
FINGERPRINTED = ("definition", "provider", "operatory", "userod", "usergroup", "recalltype", "clinic", "preference")
"""Practice tables whose change re-maps every patient (they decide ids and meanings patient records use)."""


@dataclass(frozen=True)
class _State:
    """What the last fetch handed out: its watermark, the record keys (with owners) and the practice fingerprint."""

    watermark: Watermark
    keys: _Keys
    fingerprint: str
    opt_outs: frozenset[tuple[Any, ...]] = frozenset()


class OpenDentalAdapter(Adapter):
    """Reads one Open Dental practice (or one of its clinics) with SELECT statements only.

    Args:
        settings: Where the database is and how to interpret it.
    """

    name = "opendental"
    supports_incremental = True

    def __init__(self, settings: OpenDentalSettings) -> None:
        self.settings = settings
        self._last: _State | None = None

    def __repr__(self) -> str:
        return f"OpenDentalAdapter({self.settings.masked_url()!r})"

    def fetch(self) -> Snapshot:
        """Read the whole practice.

        Raises:
            SourceUnavailableError: the server cannot be reached or the database read.
            AdapterAuthError: the server refused the user or password.
            SnapshotError: the rows do not fit sophie's model (record ids named).
        """
        return self._full().snapshot

    def fetch_since(self, watermark: Watermark | None) -> IncrementalResult:
        """Return everything (``None``, or a watermark this adapter did not hand out), else the changes.

        Changes are whole re-mapped patients: every record of each patient with a row stamped
        (``DateTStamp``, ``SecDateTEdit``, ``HistDateTStamp``) since the watermark, less
        ``STAMP_OVERLAP``, and the ids of that patient's records that disappeared. The
        practice-wide sections (staff, providers, chairs, schedule) are re-read whole.

        Raises:
            SourceUnavailableError: as :meth:`fetch`.
            AdapterAuthError: as :meth:`fetch`.
            SnapshotError: as :meth:`fetch`.
        """
        if watermark is None or self._last is None or self._last.watermark != watermark:
            full = self._full()
            return IncrementalResult.full(full.snapshot, watermark=self._last_watermark())
        previous = self._last
        since = datetime.fromisoformat(watermark).astimezone(UTC).replace(tzinfo=None) - STAMP_OVERLAP
        read = self._read(since, previous)
        keys, changes = self._changes(read.data, read.owners, read.changed, previous.keys)
        result = IncrementalResult.delta(changes, watermark=read.watermark)
        self._last = _State(read.watermark, keys, read.fingerprint, read.opt_outs)
        return result

    def _last_watermark(self) -> Watermark:
        assert self._last is not None  # set by every read
        return self._last.watermark

    def _full(self) -> _FullRead:
        read = self._read(None, None)
        snapshot = parse_snapshot(read.data, source=self.settings.masked_url())
        keys = {s: _owned_keys(s, getattr(snapshot, s), read.owners.get(s)) for s in SECTIONS}
        self._last = _State(read.watermark, keys, read.fingerprint, read.opt_outs)
        return _FullRead(snapshot)

    def _changes(self, data: dict[str, Any], owners: dict[str, list[int]], changed: set[int], previous: _Keys
                 ) -> tuple[_Keys, dict[str, Any]]:  # fmt: skip
        """Validate the re-read records and work out the deleted ids, per section."""
        from sophie.adapters.base import SnapshotChanges

        validated = SnapshotChanges.model_validate(data)
        keys: _Keys = {}
        deleted: dict[str, list[str]] = {}
        for section in SECTIONS:
            now = _owned_keys(section, getattr(validated, section), owners.get(section))
            before = previous.get(section, {})
            if section in PRACTICE_SECTIONS:
                gone = set(before) - set(now)
                keys[section] = now
            else:
                gone = {key for key, owner in before.items() if owner in changed} - set(now)
                keys[section] = {k: v for k, v in before.items() if v not in changed} | now
            if gone:
                deleted[section] = sorted(gone)
        return keys, validated.model_dump() | {"deleted": deleted}

    def _read(self, since: datetime | None, previous: _State | None) -> _Read:
        """Read and map the practice (``since`` None) or the patients changed since ``since``.

        When the practice tables that give patient records their meaning changed (a provider
        hidden, a definition renamed), every patient is re-read.
        """
        connection = self._connect()
        try:
            with connection.cursor() as cursor:
                clock = select(cursor, "SELECT UTC_TIMESTAMP() AS now")[0]["now"]
                cursor.execute("START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY")
                practice = {
                    table: select(cursor, query, [APPT_CONFIRMED, COMMLOG_TYPES] if table == "definition" else [])
                    for table, query in PRACTICE_QUERIES.items()
                }
                fingerprint = _fingerprint(practice)
                opt_outs = frozenset(tuple(sorted(row.items())) for row in practice["commoptout"])
                server_time = clock.replace(tzinfo=UTC) if isinstance(clock, datetime) else datetime.now(UTC)
                as_of = self.settings.as_of or server_time
                zone = ZoneInfo(self.settings.timezone)
                index = PracticeIndex(practice, self.settings, as_of.astimezone(zone).date())
                _refuse_several_clinics(practice, index, self.settings.masked_url())
                known = self._known_patients(cursor)
                changed: set[int] = set()
                scope: list[int] | None = None
                if since is not None and previous is not None:
                    if fingerprint != previous.fingerprint:
                        changed = known | {o for keys in previous.keys.values() for o in keys.values() if o is not None}
                    else:
                        since_local = since.replace(tzinfo=UTC).astimezone(zone).replace(tzinfo=None)
                        changed = set(changed_patients(cursor, since, since_local, index.today))
                        changed |= {int(dict(row)["PatNum"]) for row in opt_outs ^ previous.opt_outs}
                        changed |= self._family_of(cursor, changed)
                        scope = sorted(changed)
                tables = {table: select_patient_rows(cursor, table, scope) for table in PATIENT_QUERIES}
                connection.rollback()
        except ConfigurationError:
            raise
        except Exception as err:
            raise self._translate(err) from None
        finally:
            connection.close()
        data = _map_practice(practice, index)
        owned = map_patient_sections(tables, index, known)
        owners = {section: [owner for owner, _ in records] for section, records in owned.items()}
        data |= {section: [record for _, record in records] for section, records in owned.items()}
        data["as_of"] = as_of
        counts = ", ".join(f"{len(data[s])} {s}" for s in SECTIONS if data.get(s))
        logger.info("opendental %s: read %s%s", self.settings.masked_url(), counts,
                    "" if since is None else f" ({len(changed)} changed patients)")  # fmt: skip
        return _Read(data, owners, changed, server_time.isoformat(), fingerprint, opt_outs)

    def _known_patients(self, cursor: Cursor) -> set[int]:
        """Return the patients read: every one, or with a clinic those registered or seen or billed there."""
        query, args = "SELECT PatNum FROM patient WHERE PatStatus <> 4", []
        clinic = self.settings.clinic
        if clinic is not None:
            query += (
                " AND (ClinicNum = %s OR PatNum IN (SELECT a.PatNum FROM appointment a LEFT JOIN operatory o"
                " ON o.OperatoryNum = a.Op WHERE a.ClinicNum = %s OR (a.ClinicNum = 0 AND o.ClinicNum = %s))"
                " OR PatNum IN (SELECT PatNum FROM claim WHERE ClinicNum = %s))"
            )
            args = [clinic] * 4
        return {int(row["PatNum"]) for row in select(cursor, query, args)}

    @staticmethod
    def _family_of(cursor: Cursor, patients: set[int]) -> set[int]:
        """Return the family members of changed guarantors (their guarantor_id may have changed meaning)."""
        if not patients:
            return set()
        placeholders = ", ".join(["%s"] * len(patients))
        rows = select(cursor, f"SELECT PatNum FROM patient WHERE Guarantor IN ({placeholders})", sorted(patients))
        return {int(row["PatNum"]) for row in rows}

    def _connect(self) -> Any:
        try:
            import pymysql
            import pymysql.cursors
        except ImportError:
            raise ConfigurationError("the opendental adapter needs PyMySQL: pip install 'sophie[opendental]'") from None
        settings = self.settings
        try:
            return pymysql.connect(
                host=settings.host,
                port=settings.port,
                user=settings.user,
                password=settings.password,
                database=settings.database,
                connect_timeout=settings.connect_timeout,
                read_timeout=300,
                charset="utf8mb4",
                cursorclass=pymysql.cursors.DictCursor,
                autocommit=False,
                init_command="SET time_zone = '+00:00'",
            )
        except Exception as err:
            raise self._translate(err) from None

    def _translate(self, err: Exception) -> Exception:
        """Turn a driver error into a typed sophie error whose message names no password."""
        code = err.args[0] if err.args and isinstance(err.args[0], int) else None
        detail = mask_secret(f"{type(err).__name__} {code or ''}".strip(), self.settings.password)
        where = self.settings.masked_url()
        if code in _AUTH_CODES:
            return AdapterAuthError(f"{where}: the server refused the credentials ({detail})")
        return SourceUnavailableError(f"{where}: cannot read the Open Dental database ({detail})")


@dataclass(frozen=True)
class _Read:
    data: dict[str, Any]
    owners: dict[str, list[int]]
    changed: set[int]
    watermark: Watermark
    fingerprint: str
    opt_outs: frozenset[tuple[Any, ...]]


def _printable(text: str, limit: int = 60) -> str:
    """Return PMS text fit for a one-line message: control characters dropped, length bounded."""
    clean = "".join(ch for ch in text if ch.isprintable())
    return clean if len(clean) <= limit else clean[: limit - 1] + "…"


def _refuse_several_clinics(practice: Mapping[str, Sequence[Mapping[str, Any]]], index: PracticeIndex, where: str
                            ) -> None:  # fmt: skip
    """Refuse a database with clinics switched on and several clinics, read without choosing one.

    Each clinic is its own practice (its chairs, schedules, holidays and staff); read as one
    they would mix, so the error lists the clinics to choose from.

    Raises:
        ConfigurationError: the clinics, as ``clinic=N`` settings with their names.
    """
    if index.settings.clinic is not None or not index.clinics_enabled:
        return
    clinics = practice["clinic"]
    visible = sorted((int(r["ClinicNum"]), str(r["Description"] or "")) for r in clinics if not r["IsHidden"])
    if len(visible) > 1:
        names = "; ".join(f"clinic={number} ({_printable(name)})" for number, name in visible)
        raise ConfigurationError(
            f"{where}: this Open Dental database has clinics switched on and {len(visible)} clinics; read each one"
            f" as its own practice with ?clinic=N in the source (or SOPHIE_OD_CLINIC): {names}"
        )


@dataclass(frozen=True)
class _FullRead:
    snapshot: Snapshot


def _fingerprint(practice: Mapping[str, Sequence[Mapping[str, Any]]]) -> str:
    text = repr([(table, sorted(repr(sorted(row.items())) for row in practice[table])) for table in FINGERPRINTED])
    return hashlib.sha256(text.encode()).hexdigest()


def _owned_keys(section: str, records: Sequence[Any], owners: Sequence[int] | None) -> dict[str, int | None]:
    if owners is None:
        return {record_key(section, record): None for record in records}
    return {record_key(section, record): owner for record, owner in zip(records, owners, strict=True)}
