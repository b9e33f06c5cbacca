"""Open Dental rows → sophie's patient-scoped snapshot sections.

Each function reads the rows of one patient group (every patient, or the patients an
incremental fetch re-reads) and returns raw snapshot records paired with the
``PatNum`` they belong to. Deleted and hidden rows are left out; every interpretation
is listed in ``docs/opendental.md``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from sophie.adapters.opendental.codes import (
    APPOINTMENT_STATUS,
    CONTACT_METHOD,
    HIST_MISSED,
    OPT_OUT_ALL,
    PATIENT_STATUS,
    TP_ACTIVE,
    TP_INACTIVE,
    TP_SAVED,
)
from sophie.adapters.opendental.practice_mapping import (
    PracticeIndex,
    local_datetime,
    local_midnight,
    real_date,
)
from sophie.adapters.opendental.queries import Row
from sophie.adapters.opendental.records_mapping import claims, contacts, procedures_of, recalls

__all__ = ["Owned", "map_patient_sections"]

Owned = tuple[int, dict[str, Any]]
"""A raw record and the ``PatNum`` it belongs to."""

_BROKEN_CODE_DAYS = 7


def _money(value: object) -> Decimal:
    return Decimal(str(value or 0)).quantize(Decimal("0.01"))


def _by_patient(rows: Sequence[Row], column: str = "PatNum") -> dict[int, list[Row]]:
    grouped: dict[int, list[Row]] = {}
    for row in rows:
        grouped.setdefault(int(row[column]), []).append(row)
    return grouped


def _patients(rows: Sequence[Row], index: PracticeIndex, known: set[int]) -> tuple[list[Owned], list[Owned]]:
    patients: list[Owned] = []
    balances: list[Owned] = []
    for row in sorted(rows, key=lambda r: int(r["PatNum"])):
        number = int(row["PatNum"])
        if number not in known:
            continue
        method = int(row["PreferContactMethod"] or 0)
        guarantor = int(row["Guarantor"] or 0)
        preferred = CONTACT_METHOD.get(method, "phone")
        sms, email = index.opt_outs.get(number, (0, 0))
        if (preferred == "text" and sms & OPT_OUT_ALL) or (preferred == "email" and email & OPT_OUT_ALL):
            preferred = "phone"
        patients.append((number, {
            "id": str(number),
            "first_name": str(row["FName"] or ""),
            "last_name": str(row["LName"] or ""),
            "birth_date": real_date(row["Birthdate"]),
            "status": PATIENT_STATUS.get(int(row["PatStatus"]), "inactive"),
            "preferred_contact": preferred,
            "do_not_contact": method == 1,
            "guarantor_id": str(guarantor) if guarantor != number and guarantor in known else None,
            "primary_provider_id": index.provider_id(row["PriProv"]),
            "insured": str(row["HasIns"] or "").strip().upper() == "I",
        }))
        aging = [_money(row[column]) for column in ("Bal_0_30", "Bal_31_60", "Bal_61_90", "BalOver90")]
        if guarantor in (0, number) and any(aging) and _home(row, index):
            balances.append((number, {
                "patient_id": str(number), "current": aging[0], "over_30": aging[1], "over_60": aging[2],
                "over_90": aging[3],
            }))
    return patients, balances


def _home(patient: Row, index: PracticeIndex) -> bool:
    """Return whether a patient belongs to the clinic read (always, when no clinic is set)."""
    clinic = index.settings.clinic
    return clinic is None or int(patient["ClinicNum"] or 0) == clinic


def _at_clinic(row: Row, index: PracticeIndex, home: set[int]) -> bool:
    """Return whether an appointment is the clinic's: its ``ClinicNum``, else its chair's, else the patient's."""
    clinic = index.settings.clinic
    if clinic is None:
        return True
    if int(row["ClinicNum"] or 0):
        return int(row["ClinicNum"]) == clinic
    if int(row["Op"] or 0):
        return index.operatory_clinic(row["Op"]) == clinic
    return int(row["PatNum"]) in home


def _broken(row: Row, start: datetime | None, history: list[Row], codes: list[Row], index: PracticeIndex
            ) -> tuple[str | None, datetime | None]:  # fmt: skip
    """Return (broken_kind, broken_at): the appointment history first, then D9986/D9987, then the edit stamp."""
    events = sorted((r for r in history if int(r["AptNum"]) == int(row["AptNum"])),
                    key=lambda r: (real_date(r["HistDateTStamp"]) or date.min, int(r["HistApptNum"])))
    if events:
        last = events[-1]
        kind = "no_show" if int(last["HistApptAction"]) == HIST_MISSED else "cancelled"
        return kind, local_datetime(last["HistDateTStamp"], index.zone)
    day = start.date() if start else None
    interpretation = index.settings.interpretation
    for proc in codes:
        proc_day = real_date(proc["ProcDate"])
        if day is None or proc_day is None or not day <= proc_day <= day + timedelta(days=_BROKEN_CODE_DAYS):
            continue
        kind = "no_show" if proc["ProcCode"] in interpretation.missed_codes else "cancelled"
        return kind, start if proc_day == day else local_midnight(proc_day, index.zone)
    return None, _utc(row["DateTStamp"])


def _utc(value: object) -> datetime | None:
    """Return a ``TIMESTAMP`` change stamp (read in a UTC session) as an aware UTC datetime."""
    if not isinstance(value, datetime) or value.year < 1880:
        return None
    return value.replace(tzinfo=UTC)


def _appointments(rows: Sequence[Row], history: Sequence[Row], procedures: Sequence[Row], index: PracticeIndex,
                  known: set[int], home: set[int]) -> list[Owned]:  # fmt: skip
    interpretation = index.settings.interpretation
    broken_codes = interpretation.missed_codes | interpretation.cancelled_codes
    history_by_patient = _by_patient(history)
    codes_by_patient: dict[int, list[Row]] = {}
    for proc in sorted(procedures, key=lambda r: (real_date(r["ProcDate"]) or date.min, int(r["ProcNum"]))):
        if proc["ProcCode"] in broken_codes and int(proc["ProcStatus"]) == 2:
            codes_by_patient.setdefault(int(proc["PatNum"]), []).append(proc)
    booked_from = {int(r["NextAptNum"] or 0) for r in rows if int(r["NextAptNum"] or 0) != int(r["AptNum"])} - {0}
    records: list[Owned] = []
    for row in sorted(rows, key=lambda r: int(r["AptNum"])):
        patient, aptstatus = int(row["PatNum"]), int(row["AptStatus"])
        status = APPOINTMENT_STATUS.get(aptstatus)
        if status is None or patient not in known or not _at_clinic(row, index, home):
            continue
        if status == "planned" and int(row["AptNum"]) in booked_from:
            continue  # the Planned Appointment Tracker's rule: another appointment was booked from it
        start = local_datetime(row["AptDateTime"], index.zone)
        if status == "scheduled" and start is None:
            status = "unscheduled"
        if status in ("planned", "unscheduled"):
            start = None
        arrived = local_datetime(row["DateTimeArrived"], index.zone)
        if (status == "scheduled" and start is not None and arrived is not None and arrived.date() == start.date()
                and arrived.time() != time()):  # Open Dental writes midnight when the patient has not arrived
            status = "arrived"
        end = None
        if start is not None:
            minutes = max(len(str(row["Pattern"] or "")), 1) * 5
            end = _elapsed(start, minutes, index)
        operatory = index.operatory_id(row["Op"]) if start is not None else None
        hygienist = int(row["ProvHyg"] or 0)
        provider = index.provider_id(hygienist if row["IsHygiene"] and hygienist else row["ProvNum"] or hygienist)
        op_row = index.operatories.get(int(row["Op"] or 0))
        kind, broken_at = (None, None)
        if status == "broken":
            kind, broken_at = _broken(row, start, history_by_patient.get(patient, []),
                                      codes_by_patient.get(patient, []), index)  # fmt: skip
        records.append((patient, {
            "id": str(row["AptNum"]),
            "patient_id": str(patient),
            "status": status,
            "start": start,
            "end": end,
            "provider_id": provider,
            "operatory_id": operatory,
            "confirmed": index.is_confirmed(row["Confirmed"]),
            "asap": int(row["Priority"] or 0) == 1 or aptstatus == 4,
            "broken_kind": kind,
            "broken_at": broken_at,
            "hygiene": bool(row["IsHygiene"]) or bool(op_row and op_row["IsHygiene"] and start is not None),
            "created_at": local_datetime(row["SecDateTEntry"], index.zone),
        }))
    return records


def _elapsed(start: datetime, minutes: int, index: PracticeIndex) -> datetime:
    """Add elapsed minutes (not wall-clock minutes) to a local time, so a visit across a DST change keeps its length."""
    return (start.astimezone(UTC) + timedelta(minutes=minutes)).astimezone(index.zone)


def _plans(rows: Sequence[Row], attached: Mapping[int, list[int]], procedures: Mapping[int, dict[str, Any]],
           index: PracticeIndex, known: set[int]) -> list[Owned]:  # fmt: skip
    saved = _by_patient([r for r in rows if int(r["TPStatus"]) == TP_SAVED])
    records: list[Owned] = []
    for row in sorted(rows, key=lambda r: int(r["TreatPlanNum"])):
        patient, tpstatus = int(row["PatNum"]), int(row["TPStatus"])
        if patient not in known or tpstatus not in (TP_ACTIVE, TP_INACTIVE):
            continue
        record: dict[str, Any] = {"id": str(row["TreatPlanNum"]), "patient_id": str(patient), "status": "inactive"}
        if tpstatus == TP_ACTIVE:
            work = [procedures[p] for p in attached.get(int(row["TreatPlanNum"]), []) if p in procedures]
            record.update(_active_plan_status(row, saved.get(patient, []), work, index))
            statuses = [p["status"] for p in work]
            if statuses and all(status == "completed" for status in statuses):
                record["status"] = "completed"
        records.append((patient, record))
    return records


def _active_plan_status(active: Row, saved: list[Row], procedures: list[dict[str, Any]], index: PracticeIndex
                        ) -> dict[str, Any]:  # fmt: skip
    """Infer presented/accepted: Open Dental has no such field (see docs/opendental.md).

    Signed is accepted; a saved copy is presented on its date; an active plan never saved
    but holding treatment-planned work is presented when that work was planned (the
    Treatment Finder lists it whatever the plan's state).
    """
    since = real_date(active["DateTP"]) or date.min
    signed = local_datetime(active["DateTSigned"], index.zone)
    candidates = sorted(
        (r for r in saved if (real_date(r["DateTP"]) or date.min) >= since),
        key=lambda r: (real_date(r["DateTP"]) or date.min, int(r["TreatPlanNum"])),
    )
    presented = None
    if candidates:
        latest = candidates[-1]
        signed = signed or local_datetime(latest["DateTSigned"], index.zone)
        presented = local_midnight(latest["DateTP"], index.zone) or signed
    if signed is not None:
        return {"status": "accepted", "presented_at": presented or signed, "decided_at": signed}
    if presented is not None:
        return {"status": "presented", "presented_at": presented}
    planned = [p["planned_at"] for p in procedures if p["status"] == "planned" and p["planned_at"] is not None]
    if planned:
        return {"status": "presented", "presented_at": min(planned)}
    return {"status": "draft"}


def map_patient_sections(tables: Mapping[str, Sequence[Row]], index: PracticeIndex, known: set[int]
                         ) -> dict[str, list[Owned]]:  # fmt: skip
    """Map the patient-scoped tables of one group of patients onto snapshot sections.

    Args:
        tables: Rows by Open Dental table name (the patient-scoped queries).
        index: The practice-wide tables (providers, operatories, users, definitions).
        known: Every patient in the snapshot (a guarantor outside this group still counts).
    """
    patients, balances = _patients(tables["patient"], index, known)
    present = {number for number, _ in patients}
    home = {int(row["PatNum"]) for row in tables["patient"] if int(row["PatNum"]) in present and _home(row, index)}
    appointments = _appointments(tables["appointment"], tables["histappointment"], tables["procedurelog"], index,
                                 present, home)  # fmt: skip
    attached: dict[int, list[int]] = {}
    for row in tables["treatplanattach"]:
        attached.setdefault(int(row["TreatPlanNum"]), []).append(int(row["ProcNum"]))
    plan_status = {int(r["TreatPlanNum"]): int(r["TPStatus"]) for r in tables["treatplan"]}
    procedures = procedures_of(tables["procedurelog"], appointments, attached, plan_status, tables["claimproc"], index,
                               present, home)  # fmt: skip
    by_number = {int(record["id"]): record for _, record in procedures}
    plans = _plans(tables["treatplan"], attached, by_number, index, home)
    emitted_plans = {record["id"] for _, record in plans}
    procedures = [(p, {**r, "treatment_plan_id": r["treatment_plan_id"] if r["treatment_plan_id"] in emitted_plans
                       else None}) for p, r in procedures]  # fmt: skip
    return {
        "patients": patients,
        "balances": balances,
        "appointments": appointments,
        "procedures": procedures,
        "treatment_plans": plans,
        "claims": claims(tables["claim"], tables["claimproc"], set(by_number), index, present),
        "recalls": recalls(tables["recall"], appointments, index, home),
        "contacts": contacts(tables["commlog"], index, present),
    }
