"""The ``acme`` adapter: reads the CSV export folder of the (fictional) Acme Dental PMS.

An Acme export is a folder of CSV files, one per table, with Acme's own column names
and **naive local times** (``2026-03-05 09:00``) in the practice's timezone, which is
what many real PMS exports look like. Every table has a ``ModifiedAt`` column, and
``deleted.csv`` lists removed rows, so the adapter can fetch incrementally:
``fetch_since(watermark)`` returns the rows modified at or after the watermark (rows
on the boundary are sent again; upserts make that harmless).

Errors follow sophie's contract: a missing folder or file is a
:class:`~sophie.errors.SourceUnavailableError`, a malformed row an
:class:`~sophie.errors.AdapterDataError` naming the file, row and column (never the
value: it may be a patient's name or birth date), and rows that do not fit the model
a :class:`~sophie.errors.SnapshotError` from ``parse_snapshot``.
"""

from __future__ import annotations

import csv
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sophie.adapters.base import Adapter, IncrementalResult, Watermark
from sophie.errors import AdapterDataError, SourceUnavailableError
from sophie.model import Snapshot, parse_snapshot

__all__ = ["SAMPLE_EXPORT", "AcmeAdapter"]

SAMPLE_EXPORT = Path(__file__).parent / "sample"
"""A small sample export shipped with the plugin."""

logger = logging.getLogger(__name__)

Row = dict[str, str]
Mapper = Callable[["_Reader", Row], dict[str, Any]]


def _flag(text: str) -> bool:
    return text.strip().lower() in ("y", "yes", "1", "true")


def _opt(text: str) -> str | None:
    return text.strip() or None


class _Reader:
    """Reads one export folder: files, rows, local times."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.zone = ZoneInfo("UTC")
        self.file = ""
        self.line = 0

    def rows(self, name: str, *, required: bool = True) -> list[Row]:
        path = self.folder / name
        if not path.exists() and not required:
            return []
        try:
            with path.open(newline="", encoding="utf-8") as handle:
                return list(csv.DictReader(handle))
        except (OSError, UnicodeDecodeError) as err:
            problem = f"acme export {self.folder}: cannot read {name}: {type(err).__name__}"
            raise SourceUnavailableError(problem) from err

    def cell(self, row: Row, column: str) -> str:
        value = row.get(column)
        if value is None:
            raise AdapterDataError(f"acme export {self.file} line {self.line}: no column {column!r}")
        return value

    def moment(self, row: Row, column: str) -> datetime | None:
        """Read a naive local ``YYYY-MM-DD HH:MM`` cell as an aware time in the practice's zone."""
        text = self.cell(row, column).strip()
        if not text:
            return None
        try:
            moment = datetime.strptime(text, "%Y-%m-%d %H:%M")
        except ValueError as err:
            message = f"acme export {self.file} line {self.line}: {column} is not 'YYYY-MM-DD HH:MM'"
            raise AdapterDataError(message) from err
        return moment.replace(tzinfo=self.zone)

    def time(self, row: Row, column: str) -> str | None:
        moment = self.moment(row, column)
        return None if moment is None else moment.isoformat()


def _practice(reader: _Reader, row: Row) -> dict[str, Any]:
    try:
        reader.zone = ZoneInfo(reader.cell(row, "TimeZone"))
    except (ZoneInfoNotFoundError, ValueError) as err:
        raise AdapterDataError(f"acme export practice.csv: unknown TimeZone {row.get('TimeZone')!r}") from err
    intervals = [part.split("-") for part in reader.cell(row, "Hours").split()]
    return {
        "id": reader.cell(row, "PracticeNo"),
        "name": reader.cell(row, "Name"),
        "timezone": reader.cell(row, "TimeZone"),
        "hours": {day: intervals for day in reader.cell(row, "Days").split()},
        "holidays": reader.cell(row, "Holidays").split(),
    }


_TABLES: dict[str, tuple[str, Mapper]] = {
    "staff": ("staff.csv", lambda r, row: {
        "id": r.cell(row, "StaffNo"), "name": r.cell(row, "Name"), "roles": r.cell(row, "Roles").split(),
        "active": _flag(r.cell(row, "Active")), "manager_id": _opt(r.cell(row, "ManagerNo")),
    }),
    "providers": ("providers.csv", lambda r, row: {
        "id": r.cell(row, "ProvNo"), "name": r.cell(row, "Name"), "kind": r.cell(row, "Kind"),
        "staff_id": _opt(r.cell(row, "StaffNo")),
    }),
    "operatories": ("operatories.csv", lambda r, row: {
        "id": r.cell(row, "OpNo"), "name": r.cell(row, "Name"), "hygiene": _flag(r.cell(row, "Hygiene")),
    }),
    "schedule_blocks": ("schedule.csv", lambda r, row: {
        "provider_id": r.cell(row, "ProvNo"), "operatory_id": r.cell(row, "OpNo"),
        "start": r.time(row, "Start"), "end": r.time(row, "End"),
    }),
    "patients": ("patients.csv", lambda r, row: {
        "id": r.cell(row, "PatNo"), "first_name": r.cell(row, "First"), "last_name": r.cell(row, "Last"),
        "birth_date": _opt(r.cell(row, "BirthDate")), "status": r.cell(row, "Status"),
        "insured": _flag(r.cell(row, "Insured")),
    }),
    "appointments": ("appointments.csv", lambda r, row: {
        "id": r.cell(row, "ApptNo"), "patient_id": r.cell(row, "PatNo"), "status": r.cell(row, "Status"),
        "start": r.time(row, "Start"), "end": r.time(row, "End"), "provider_id": _opt(r.cell(row, "ProvNo")),
        "operatory_id": _opt(r.cell(row, "OpNo")), "confirmed": _flag(r.cell(row, "Confirmed")),
    }),
    "procedures": ("procedures.csv", lambda r, row: {
        "id": r.cell(row, "ProcNo"), "patient_id": r.cell(row, "PatNo"), "code": r.cell(row, "Code"),
        "fee": r.cell(row, "Fee"), "status": r.cell(row, "Status"),
        "treatment_plan_id": _opt(r.cell(row, "PlanNo")), "appointment_id": _opt(r.cell(row, "ApptNo")),
        "completed_at": r.time(row, "CompletedAt"),
    }),
    "treatment_plans": ("plans.csv", lambda r, row: {
        "id": r.cell(row, "PlanNo"), "patient_id": r.cell(row, "PatNo"), "status": r.cell(row, "Status"),
        "presented_at": r.time(row, "PresentedAt"),
    }),
    "contacts": ("contacts.csv", lambda r, row: {
        "id": r.cell(row, "ContactNo"), "patient_id": r.cell(row, "PatNo"), "at": r.time(row, "At"),
        "channel": r.cell(row, "Channel"), "direction": r.cell(row, "Direction"), "topic": r.cell(row, "Topic"),
        "outcome": r.cell(row, "Outcome"), "staff_id": _opt(r.cell(row, "StaffNo")),
    }),
}


class AcmeAdapter(Adapter):
    """Reads an Acme Dental export folder.

    Args:
        folder: The export folder.
    """

    name = "acme"
    supports_incremental = True

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)

    @classmethod
    def from_source(cls, source: str | None = None) -> AcmeAdapter:
        """Build the adapter for ``sophie --adapter acme [--source FOLDER]`` (default: the sample)."""
        return cls(source or SAMPLE_EXPORT)

    def _read(self, since: datetime | None) -> tuple[dict[str, Any], dict[str, list[str]], datetime]:
        """Map the export; keep only rows modified at or after ``since`` (``None``: all)."""
        if not self.folder.is_dir():
            raise SourceUnavailableError(f"acme export {self.folder}: no such folder")
        reader = _Reader(self.folder)
        reader.file, reader.line = "practice.csv", 2
        practices = reader.rows("practice.csv")
        if len(practices) != 1:
            raise AdapterDataError(f"acme export {self.folder}: practice.csv must have exactly one row")
        data: dict[str, Any] = {"practice": _practice(reader, practices[0])}
        stamps = [_required(reader.moment(practices[0], "ExportedAt"), reader, "ExportedAt")]
        for section, (file, mapper) in _TABLES.items():
            reader.file, data[section] = file, []
            for line, row in enumerate(reader.rows(file), start=2):
                reader.line = line
                modified = _required(reader.moment(row, "ModifiedAt"), reader, "ModifiedAt")
                stamps.append(modified)
                if since is None or modified >= since:
                    data[section].append(mapper(reader, row))
        deleted: dict[str, list[str]] = {}
        reader.file = "deleted.csv"
        for line, row in enumerate(reader.rows("deleted.csv", required=False), start=2):
            reader.line = line
            at = _required(reader.moment(row, "DeletedAt"), reader, "DeletedAt")
            stamps.append(at)
            table = reader.cell(row, "Table")
            gone = next((name for name, (file, _) in _TABLES.items() if file == table), None)
            if gone is None:
                raise AdapterDataError(f"acme export deleted.csv line {reader.line}: unknown Table")
            if since is not None and at >= since:
                deleted.setdefault(gone, []).append(reader.cell(row, "Id"))
        data["as_of"] = max(stamps).isoformat()
        return data, deleted, max(stamps)

    def fetch(self) -> Snapshot:
        """Read the whole export."""
        data, _, _ = self._read(None)
        snapshot = parse_snapshot(data, source=f"acme:{self.folder.name}")
        logger.debug("acme export %s: %s", self.folder.name, snapshot.counts())
        return snapshot

    def fetch_since(self, watermark: Watermark | None) -> IncrementalResult:
        """Everything (``None``), or the rows modified and deleted at or after ``watermark``.

        The watermark is the newest time in the export, in UTC ISO 8601.
        """
        if watermark is None:
            snapshot = self.fetch()
            return IncrementalResult.full(snapshot, watermark=_mark(snapshot.as_of))
        try:
            since = datetime.fromisoformat(watermark)
        except ValueError as err:
            raise AdapterDataError(f"acme: watermark {watermark!r} is not an ISO 8601 time") from err
        data, deleted, newest = self._read(since)
        result = IncrementalResult.delta({**data, "deleted": deleted}, watermark=_mark(newest))
        logger.debug("acme export %s: changes %s", self.folder.name, result.changes and result.changes.counts())
        return result


def _mark(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat()


def _required(moment: datetime | None, reader: _Reader, column: str) -> datetime:
    if moment is None:
        raise AdapterDataError(f"acme export {reader.file} line {reader.line}: {column} is empty")
    return moment
