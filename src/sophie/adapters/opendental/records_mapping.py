"""Open Dental rows → procedures, claims, recalls and contacts (the rest of the patient-scoped sections)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, time, timedelta
from decimal import Decimal
from typing import Any

from sophie.adapters.opendental.codes import (
    CLAIM_KIND,
    CLAIM_STATUS,
    CLAIMPROC_ESTIMATE,
    COMMLOG_CHANNEL,
    PROCEDURE_STATUS,
    TP_ACTIVE,
)
from sophie.adapters.opendental.practice_mapping import PracticeIndex, local_datetime, local_midnight, real_date
from sophie.adapters.opendental.queries import Row

__all__ = ["claims", "contacts", "procedures_of", "recall_kind", "recalls"]

Owned = tuple[int, dict[str, Any]]


def _money(value: object) -> Decimal:
    return Decimal(str(value or 0)).quantize(Decimal("0.01"))


def _clock(value: object) -> timedelta:
    return value if isinstance(value, timedelta) else timedelta(0)


def _billable(claimprocs: Sequence[Row]) -> set[int]:
    """Return the procedures Open Dental would bill: on a claim, or with an estimate not marked "do not bill"."""
    return {
        int(row["ProcNum"])
        for row in claimprocs
        if int(row["ClaimNum"] or 0) > 0 or (int(row["Status"]) == CLAIMPROC_ESTIMATE and not row["NoBillIns"])
    }


def _minutes(pattern: object, index: PracticeIndex) -> int | None:
    """Return the chair time of a procedure code's time pattern (one character per time increment)."""
    length = len(str(pattern or "").strip())
    return length * index.time_increment if length else None


def _at_clinic(row: Row, index: PracticeIndex, home: set[int]) -> bool:
    clinic = index.settings.clinic
    if clinic is None:
        return True
    number = int(row["ClinicNum"] or 0)
    return number == clinic if number else int(row["PatNum"]) in home


def procedures_of(rows: Sequence[Row], appointments: Sequence[Owned], attached: Mapping[int, list[int]],
                  plan_status: Mapping[int, int], claimprocs: Sequence[Row], index: PracticeIndex, known: set[int],
                  home: set[int]) -> list[Owned]:  # fmt: skip
    """Map procedurelog rows (deleted, condition and inactive-plan rows, and other clinics' work left out)."""
    appointment_ids = {record["id"] for _, record in appointments}
    billable = _billable(claimprocs)
    plan_of: dict[int, int] = {}
    for plan, procs in sorted(attached.items()):
        for proc in procs:
            if proc not in plan_of or plan_status.get(plan) == TP_ACTIVE:
                plan_of[proc] = plan
    records: list[Owned] = []
    for row in sorted(rows, key=lambda r: int(r["ProcNum"])):
        patient, status = int(row["PatNum"]), PROCEDURE_STATUS.get(int(row["ProcStatus"]))
        if status is None or patient not in known or not _at_clinic(row, index, home):
            continue
        quantity = int(row["UnitQty"] or 0) + int(row["BaseUnits"] or 0)
        scheduled, planned = str(row["AptNum"] or 0), str(row["PlannedAptNum"] or 0)
        completed = None
        if status == "completed":
            day = real_date(row["ProcDate"])
            if day is not None:
                completed = local_datetime(datetime.combine(day, time()) + _clock(row["ProcTime"]), index.zone)
        plan_number = plan_of.get(int(row["ProcNum"]))
        records.append((patient, {
            "id": str(row["ProcNum"]),
            "patient_id": str(patient),
            "code": str(row["ProcCode"] or "").strip() or "unknown",
            "description": str(row["Descript"]) if row["Descript"] else None,
            "fee": _money(row["ProcFee"]) * (quantity if quantity > 0 else 1),
            "status": status,
            "planned_at": local_midnight(row["DateTP"], index.zone),
            "completed_at": completed,
            "appointment_id": scheduled if scheduled in appointment_ids
            else planned if planned in appointment_ids else None,
            "treatment_plan_id": str(plan_number) if plan_number is not None else None,
            "tooth": str(row["ToothNum"]).strip() or None if row["ToothNum"] else None,
            "minutes": _minutes(row["CodeTime"], index),
            "bill_insurance": int(row["ProcNum"]) in billable if status == "completed" else None,
        }))
    return records


def claims(rows: Sequence[Row], claimprocs: Sequence[Row], procedures: set[int], index: PracticeIndex,
           known: set[int]) -> list[Owned]:  # fmt: skip
    """Map claim rows, with their procedures from claimproc (capitation claims and other clinics' left out)."""
    procs: dict[int, set[int]] = {}
    clinic = index.settings.clinic
    for row in claimprocs:
        if int(row["ClaimNum"] or 0) > 0 and int(row["ProcNum"]) in procedures:
            procs.setdefault(int(row["ClaimNum"]), set()).add(int(row["ProcNum"]))
    records: list[Owned] = []
    for row in sorted(rows, key=lambda r: int(r["ClaimNum"])):
        patient, kind = int(row["PatNum"]), CLAIM_KIND.get(str(row["ClaimType"] or "").strip())
        if kind is None or patient not in known or (clinic is not None and int(row["ClinicNum"] or 0) != clinic):
            continue
        status = CLAIM_STATUS.get(str(row["ClaimStatus"] or "").strip(), "sent")
        received = status == "received"
        records.append((patient, {
            "id": str(row["ClaimNum"]),
            "patient_id": str(patient),
            "kind": kind,
            "status": status,
            "service_date": real_date(row["DateService"]),
            "carrier": str(row["CarrierName"]).strip() or None if row["CarrierName"] else None,
            "sent_at": _first_sent(row, index) if status in ("sent", "received") else None,
            "received_at": local_midnight(row["DateReceived"], index.zone) if received else None,
            "billed": _money(row["ClaimFee"]),
            "expected": _money(row["InsPayEst"]),
            "paid": _money(row["InsPayAmt"]) if received else None,
            "procedure_ids": [str(p) for p in sorted(procs.get(int(row["ClaimNum"]), ()))],
        }))
    return records


def _first_sent(row: Row, index: PracticeIndex) -> datetime | None:
    """Return when a claim was first sent: a resend moves ``DateSent``, ``DateSentOrig`` keeps the first."""
    return local_midnight(row["DateSentOrig"], index.zone) or local_midnight(row["DateSent"], index.zone)


def _hidden_recall(row: Row, index: PracticeIndex) -> bool:
    """Return whether Open Dental's recall list leaves the recall out (disabled, or not yet, or not listed)."""
    if row["IsDisabled"]:
        return True
    until = real_date(row["DisableUntilDate"])
    if until is not None and until > index.today:
        return True
    limit = float(row["DisableUntilBalance"] or 0)
    family = float(row["BalTotal"] or 0) - (float(row["InsEst"] or 0) if index.subtract_insurance else 0.0)
    if limit > 0 and family > limit:
        return True
    listed = index.recall_types_listed
    return bool(listed) and int(row["RecallTypeNum"] or 0) not in listed


def recall_kind(description: str, procedures: str) -> str:
    """Return the recall kind a recall type means, from its description and its procedure codes."""
    text, codes = description.lower(), {c.strip().upper() for c in procedures.split(",") if c.strip()}
    if "perio" in text or codes & {"D4910"}:
        return "perio"
    if "child" in text or codes & {"D1120"}:
        return "child"
    if "prophy" in text or "hygiene" in text or "cleaning" in text or codes & {"D1110"}:
        return "prophy"
    if "exam" in text or (codes and codes <= {"D0120", "D0150", "D0140", "D0180"}):
        return "exam"
    return "other"


def recalls(rows: Sequence[Row], appointments: Sequence[Owned], index: PracticeIndex, known: set[int]) -> list[Owned]:
    """Map recall rows; the appointment is the patient's booked visit on the recall's DateScheduled."""
    booked: dict[tuple[int, Any], str] = {}
    for patient, record in sorted(appointments, key=lambda item: int(item[1]["id"])):
        if record["status"] in ("scheduled", "arrived") and record["start"] is not None:
            booked.setdefault((patient, record["start"].date()), record["id"])
    records: list[Owned] = []
    for row in sorted(rows, key=lambda r: int(r["RecallNum"])):
        patient, due = int(row["PatNum"]), real_date(row["DateDue"])
        if patient not in known or due is None:
            continue
        recall_type = index.recall_types.get(int(row["RecallTypeNum"] or 0), {})
        scheduled = real_date(row["DateScheduled"])
        records.append((patient, {
            "id": str(row["RecallNum"]),
            "patient_id": str(patient),
            "kind": recall_kind(str(recall_type.get("Description") or ""), str(recall_type.get("Procedures") or "")),
            "due_date": due,
            "appointment_id": booked.get((patient, scheduled)) if scheduled else None,
            "disabled": _hidden_recall(row, index),
            "asap": int(row["Priority"] or 0) == 1,
        }))
    return records


def contacts(rows: Sequence[Row], index: PracticeIndex, known: set[int]) -> list[Owned]:
    """Map commlog rows. Open Dental records no call outcome: see docs/opendental.md for the default."""
    interpretation = index.settings.interpretation
    records: list[Owned] = []
    for row in sorted(rows, key=lambda r: int(r["CommlogNum"])):
        patient, at = int(row["PatNum"]), local_datetime(row["CommDateTime"], index.zone)
        if patient not in known or at is None:
            continue
        definition = index.definitions.get(int(row["CommType"] or 0), {})
        topic = interpretation.topic_for(str(definition.get("ItemValue") or ""), str(definition.get("ItemName") or ""))
        channel = COMMLOG_CHANNEL.get(int(row["Mode_"] or 0), "phone")
        direction = "in" if int(row["SentOrReceived"] or 0) == 2 else "out"
        outcome = "left_message" if direction == "out" and channel in ("text", "email", "mail") else "reached"
        records.append((patient, {
            "id": str(row["CommlogNum"]),
            "patient_id": str(patient),
            "at": at,
            "channel": channel,
            "direction": direction,
            "topic": topic,
            "outcome": outcome,
            "staff_id": index.staff_id(row["UserNum"]),
        }))
    return records
