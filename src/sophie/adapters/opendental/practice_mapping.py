"""Open Dental rows → the practice-wide sections: practice, staff, providers, operatories, schedule blocks.

Also the time conversions every mapping uses: Open Dental stores wall-clock times of the
practice's zone (``DATETIME``, ``DATE``, ``TIME``), except its change stamps (``TIMESTAMP``),
which the adapter reads in UTC. Dates before 1880 are Open Dental's "no date"
(``0001-01-01``) and read as missing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sophie.adapters.opendental.queries import Row
from sophie.adapters.opendental.settings import OpenDentalSettings

__all__ = [
    "PracticeIndex",
    "local_datetime",
    "local_midnight",
    "map_practice_sections",
    "real_date",
    "utc_datetime",
]

_NO_DATE_BEFORE = 1880


def real_date(value: object) -> date | None:
    """Return a date, or ``None`` for Open Dental's "no date" and for anything that is not a date."""
    if isinstance(value, datetime):
        value = value.date()
    if not isinstance(value, date) or value.year < _NO_DATE_BEFORE:
        return None
    return value


def local_datetime(value: object, zone: ZoneInfo) -> datetime | None:
    """Return a practice-local wall-clock ``DATETIME`` as an aware datetime (``None`` for "no date").

    An ambiguous time (the repeated hour when clocks go back) reads as its first occurrence.
    """
    if not isinstance(value, datetime) or value.year < _NO_DATE_BEFORE:
        return None
    return value.replace(tzinfo=zone, fold=0)


def local_midnight(value: object, zone: ZoneInfo) -> datetime | None:
    """Return the start of a practice-local ``DATE`` as an aware datetime."""
    day = real_date(value)
    return None if day is None else datetime.combine(day, time(), tzinfo=zone)


def utc_datetime(value: object) -> datetime | None:
    """Return a ``TIMESTAMP`` read in a UTC session as an aware UTC datetime."""
    if not isinstance(value, datetime) or value.year < _NO_DATE_BEFORE:
        return None
    return value.replace(tzinfo=UTC)


def _clock(value: object) -> timedelta:
    if isinstance(value, timedelta):
        return value
    if isinstance(value, time):
        return timedelta(hours=value.hour, minutes=value.minute, seconds=value.second)
    return timedelta(0)


def _text(value: object) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return "" if value is None else str(value)


CONFIRMING_PREFERENCES = (
    "ApptEConfirmStatusAccepted",
    "AppointmentTimeArrivedTrigger",
    "AppointmentTimeSeatedTrigger",
    "AppointmentTimeDismissedTrigger",
)
"""Preferences naming the confirmation statuses (DefCat.ApptConfirmed) that mean the patient confirmed or came."""


def _number(value: object, default: int = 0) -> int:
    try:
        return int(_text(value).strip())
    except ValueError:
        return default


class PracticeIndex:
    """What patient-scoped mapping needs from the practice-wide tables: ids, definitions, preferences.

    Args:
        tables: The practice-wide tables.
        settings: The adapter's settings.
        today: The office's date at the read (recalls disabled until a date compare with it).
    """

    def __init__(self, tables: Mapping[str, Sequence[Row]], settings: OpenDentalSettings, today: date) -> None:
        self.settings = settings
        self.today = today
        self.zone = ZoneInfo(settings.timezone)
        self.preferences: dict[str, str] = {_text(r["PrefName"]): _text(r["ValueString"]) for r in tables["preference"]}
        self.definitions: dict[int, Row] = {int(row["DefNum"]): row for row in tables["definition"]}
        self.time_increment = _number(self.preferences.get("AppointmentTimeIncrement"), 5) or 5
        self.clinics_enabled = self.preferences.get("EasyNoClinics", "1").strip() == "0"
        self.unassigned_provider = _number(self.preferences.get("ScheduleProvUnassigned"))
        self.recall_types_listed = {
            _number(part) for part in self.preferences.get("RecallTypesShowingInList", "").split(",") if part.strip()
        }
        self.confirming: set[int] = {_number(self.preferences.get(name)) for name in CONFIRMING_PREFERENCES} - {0}
        self.subtract_insurance = self.preferences.get("BalancesDontSubtractIns", "0").strip() != "1"
        self.opt_outs: dict[int, tuple[int, int]] = {}
        for row in tables["commoptout"]:
            sms, email = self.opt_outs.get(int(row["PatNum"]), (0, 0))
            self.opt_outs[int(row["PatNum"])] = (sms | int(row["OptOutSms"] or 0), email | int(row["OptOutEmail"] or 0))
        self.providers: dict[int, Row] = {
            int(row["ProvNum"]): row
            for row in tables["provider"]
            if not row["IsHidden"] and int(row["ProvStatus"]) == 0
        }
        clinic = settings.clinic
        self.all_operatories: dict[int, Row] = {int(row["OperatoryNum"]): row for row in tables["operatory"]}
        self.operatories: dict[int, Row] = {
            int(row["OperatoryNum"]): row
            for row in tables["operatory"]
            if not row["IsHidden"] and (clinic is None or int(row["ClinicNum"]) == clinic)
        }
        self.users: dict[int, Row] = {int(row["UserNum"]): row for row in tables["userod"] if not row["IsHidden"]}
        self.recall_types: dict[int, Row] = {int(row["RecallTypeNum"]): row for row in tables["recalltype"]}

    def is_confirmed(self, def_num: Any) -> bool:
        """Return whether a confirmation status means confirmed (the names configured, else the preferences')."""
        names = self.settings.interpretation.confirmed
        if names is not None:
            return self.settings.interpretation.is_confirmed(self.definition_name(def_num))
        return int(def_num or 0) in self.confirming

    def operatory_clinic(self, op_num: Any) -> int:
        """Return the clinic of an operatory (0 when the number names none)."""
        row = self.all_operatories.get(int(op_num or 0))
        return int(row["ClinicNum"] or 0) if row else 0

    def definition_name(self, def_num: Any) -> str | None:
        """Return a definition's ItemName, or ``None`` when the number names no definition."""
        row = self.definitions.get(int(def_num or 0))
        return None if row is None else _text(row["ItemName"])

    def provider_id(self, prov_num: Any) -> str | None:
        """Return the sophie id of a provider that is in the snapshot."""
        number = int(prov_num or 0)
        return str(number) if number in self.providers else None

    def operatory_id(self, op_num: Any) -> str | None:
        """Return the sophie id of an operatory that is in the snapshot."""
        number = int(op_num or 0)
        return str(number) if number in self.operatories else None

    def staff_id(self, user_num: Any) -> str | None:
        """Return the sophie id of a user that is in the snapshot."""
        number = int(user_num or 0)
        return str(number) if number in self.users else None


def _person_name(row: Row) -> str:
    name = " ".join(part for part in (_text(row.get("FName")).strip(), _text(row.get("LName")).strip()) if part)
    return name or _text(row.get("Abbr")) or f"provider {row['ProvNum']}"


def _staff(tables: Mapping[str, Sequence[Row]], index: PracticeIndex) -> list[dict[str, Any]]:
    groups: dict[int, list[str]] = {}
    for row in tables["usergroup"]:
        groups.setdefault(int(row["UserNum"]), []).append(_text(row["Description"]))
    staff = []
    for number, user in sorted(index.users.items()):
        roles: list[str] = []
        for group in sorted(groups.get(number, [])):
            roles.extend(role for role in index.settings.interpretation.roles_for(group) if role not in roles)
        provider = index.providers.get(int(user["ProvNum"] or 0))
        if not roles:
            roles = ["hygienist" if provider and provider["IsSecondary"] else "associate_dentist"] if provider else []
        staff.append({
            "id": str(number),
            "name": _person_name(provider) if provider else _text(user["UserName"]),
            "roles": roles or ["front_desk"],
        })
    return staff


def _providers(index: PracticeIndex, staff_ids: Iterable[str]) -> list[dict[str, Any]]:
    by_provider: dict[int, str] = {}
    known = set(staff_ids)
    for number, user in sorted(index.users.items()):
        prov = int(user["ProvNum"] or 0)
        if prov and str(number) in known:
            by_provider.setdefault(prov, str(number))
    return [
        {
            "id": str(number),
            "name": _person_name(row),
            "kind": "hygienist" if row["IsSecondary"] else "dentist",
            "staff_id": by_provider.get(number),
        }
        for number, row in sorted(index.providers.items())
    ]


def _schedule(tables: Mapping[str, Sequence[Row]], index: PracticeIndex) -> tuple[list[dict[str, Any]], list[date]]:
    blocks: dict[tuple[str, datetime], dict[str, Any]] = {}
    holidays: set[date] = set()
    clinic = index.settings.clinic
    for row in sorted(tables["schedule"], key=lambda r: (int(r["ScheduleNum"]), int(r["OperatoryNum"] or 0))):
        day = real_date(row["SchedDate"])
        if day is None:
            continue
        if int(row["SchedType"]) == 0:
            if int(row["Status"]) == 2 and (clinic is None or int(row["ClinicNum"] or 0) == clinic):
                holidays.add(day)
            continue
        provider = index.provider_id(row["ProvNum"])
        if provider is None:
            continue
        chairs = [row["OperatoryNum"]] if row["OperatoryNum"] is not None else _chairs_of(int(row["ProvNum"]), index)
        midnight = datetime.combine(day, time())
        start = (midnight + _clock(row["StartTime"])).replace(tzinfo=index.zone)
        end = (midnight + _clock(row["StopTime"])).replace(tzinfo=index.zone)
        for chair in chairs:
            operatory = index.operatory_id(chair)
            if operatory is not None and end.astimezone(UTC) > start.astimezone(UTC):
                blocks.setdefault((operatory, start), {
                    "provider_id": provider, "operatory_id": operatory, "start": start, "end": end,
                })
    return list(blocks.values()), sorted(holidays)


def _chairs_of(provider: int, index: PracticeIndex) -> list[int]:
    """Return the chairs a provider schedule with no ``scheduleop`` rows covers, as Open Dental's book does.

    A dentist's chair (``ProvDentist``) or a hygiene chair's hygienist (``ProvHygienist``) takes
    the schedules of that provider; a chair with neither takes the schedules of the
    ``ScheduleProvUnassigned`` provider.
    """
    chairs = []
    for number, op in sorted(index.operatories.items()):
        dentist, hygienist, hygiene = int(op["ProvDentist"] or 0), int(op["ProvHygienist"] or 0), bool(op["IsHygiene"])
        if dentist > 0 and not hygiene:
            owner = dentist
        elif hygienist > 0 and hygiene:
            owner = hygienist
        else:
            owner = index.unassigned_provider
        if owner == provider:
            chairs.append(number)
    return chairs


def map_practice_sections(tables: Mapping[str, Sequence[Row]], index: PracticeIndex) -> dict[str, Any]:
    """Return the practice and its practice-wide sections as raw snapshot data."""
    settings = index.settings
    title = index.preferences.get("PracticeTitle", "")
    if settings.clinic is not None:
        clinic = next((r for r in tables["clinic"] if int(r["ClinicNum"]) == settings.clinic), None)
        title = _text(clinic["Description"]) if clinic else title
    blocks, holidays = _schedule(tables, index)
    staff = _staff(tables, index)
    return {
        "practice": {
            "id": settings.effective_practice_id,
            "name": title or settings.database,
            "timezone": settings.timezone,
            "hours": {day: [list(interval) for interval in spans] for day, spans in settings.hours.items()},
            "holidays": holidays,
        },
        "staff": staff,
        "providers": _providers(index, (member["id"] for member in staff)),
        "operatories": [
            {"id": str(number), "name": _text(row["OpName"]), "hygiene": bool(row["IsHygiene"])}
            for number, row in sorted(index.operatories.items())
        ],
        "schedule_blocks": blocks,
    }
