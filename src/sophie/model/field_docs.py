"""What each stored field of a snapshot record means, in words an analyst reads.

``sophie functions`` and the rule language's reference show these beside each field's type;
fields with a fixed set of values also list the values (taken from the enums, so they never
drift from what the model accepts).
"""

from __future__ import annotations

__all__ = ["FIELD_DOCS"]

_ID = "the record's id in the PMS (text)"
_PATIENT = "the patient's id"

FIELD_DOCS: dict[str, dict[str, str]] = {
    "Practice": {
        "id": "the practice's id",
        "name": "the practice's name",
        "timezone": "IANA time zone, e.g. America/New_York: every time is read in it",
        "hours": "open intervals per weekday",
        "holidays": "dates the practice is closed",
        "country": "country code, for public holidays",
        "min_opening_minutes": "the shortest gap in a schedule block that counts as an opening",
    },
    "StaffMember": {
        "id": "the staff member's id",
        "name": "full name, as staff see it",
        "roles": "the roles this person holds (who can own which tasks)",
        "active": "false once the person has left the practice",
        "manager_id": "the staff member this person reports to",
        "out_of_office": "periods of leave: no task is given to the person then",
        "capacity": "tasks a business day this person can act on (default: the practice's setting)",
    },
    "Provider": {
        "id": "the provider's id",
        "name": "the clinician's name",
        "kind": "what kind of clinician",
        "staff_id": "the staff member who is this provider, if they also own tasks",
    },
    "Operatory": {
        "id": "the chair's id",
        "name": "the chair's name (e.g. Op 1)",
        "hygiene": "true for a hygiene chair",
    },
    "ScheduleBlock": {
        "start": "when the provider starts working in the chair",
        "end": "when the provider stops working in the chair",
        "provider_id": "the provider who works",
        "operatory_id": "the chair they work in",
    },
    "Patient": {
        "id": _ID,
        "first_name": "first name (staff messages show it with the last initial only)",
        "last_name": "last name",
        "birth_date": "date of birth, when known",
        "status": "where the patient stands with the practice",
        "preferred_contact": "how the patient prefers to be reached",
        "do_not_contact": "true when the patient asked not to be contacted: outreach rules skip them",
        "guarantor_id": "the patient responsible for the account (themselves when empty)",
        "primary_provider_id": "the patient's usual provider",
        "insured": "true when the patient has dental insurance",
    },
    "Appointment": {
        "id": _ID,
        "patient_id": _PATIENT,
        "status": "planned (a next visit not yet booked), unscheduled (taken off the book, to rebook), "
        "scheduled, arrived, completed, or broken (cancelled or missed)",
        "start": "when the visit starts (booked appointments)",
        "end": "when the visit ends",
        "provider_id": "the provider seeing the patient",
        "operatory_id": "the chair",
        "confirmed": "true once the patient confirmed the visit",
        "asap": "true when the patient wants an earlier time (the ASAP list)",
        "broken_kind": "for a broken appointment: cancelled or no_show",
        "broken_at": "when the appointment was broken",
        "hygiene": "true for a hygiene visit",
        "created_at": "when the appointment was made",
    },
    "Procedure": {
        "id": _ID,
        "patient_id": _PATIENT,
        "code": "the CDT code, e.g. D2740 (a crown)",
        "description": "the procedure in words",
        "fee": "the fee, in the practice's currency",
        "status": "planned (treatment-planned), completed, existing (done elsewhere before), referred out, "
        "or deleted",
        "planned_at": "when it was treatment-planned",
        "completed_at": "when it was done",
        "appointment_id": "the appointment it is attached to, if any",
        "treatment_plan_id": "the treatment plan it belongs to, if any",
        "tooth": "the tooth number, when it applies",
        "bill_insurance": "false when the PMS says not to bill it to insurance (none when it does not say)",
        "minutes": "the chair time the PMS plans for it, when the PMS says",
    },
    "TreatmentPlan": {
        "id": _ID,
        "patient_id": _PATIENT,
        "status": "draft, presented (shown to the patient, no decision yet), accepted, declined, completed, "
        "or inactive",
        "presented_at": "when the plan was presented to the patient",
        "decided_at": "when the patient accepted or declined",
    },
    "Claim": {
        "id": _ID,
        "patient_id": _PATIENT,
        "kind": "primary or secondary insurance claim, or a pre-authorization",
        "status": "draft (not created yet), ready (to send), on_hold, sent (waiting for the carrier), "
        "received (the carrier has it), denied, or closed (paid or settled)",
        "carrier": "the insurance carrier's name",
        "service_date": "the date of the visit the claim bills",
        "sent_at": "when the claim was first sent",
        "received_at": "when the carrier acknowledged or paid it",
        "billed": "the amount billed",
        "expected": "what the practice expects the carrier to pay",
        "paid": "what the carrier paid",
        "procedure_ids": "the procedures the claim bills",
    },
    "Recall": {
        "id": _ID,
        "patient_id": _PATIENT,
        "kind": "which periodic visit: prophy (cleaning), perio maintenance, child, exam, or other",
        "due_date": "when the visit is due",
        "appointment_id": "the appointment booked for it, if any",
        "disabled": "true when the practice switched this recall off",
        "asap": "true when the patient asked for the first slot that opens, even before the due date",
    },
    "Contact": {
        "id": _ID,
        "patient_id": _PATIENT,
        "at": "when the contact happened",
        "channel": "how: phone, text, email, mail or in person",
        "direction": "out (the practice reached out) or in (the patient did)",
        "topic": "what it was about",
        "outcome": "how it ended (reached, left a message, no answer, scheduled, declined, call back)",
        "call_back_on": "the date the patient asked to be called back",
        "staff_id": "who made or took the contact",
    },
    "Balance": {
        "patient_id": "the guarantor whose account this is",
        "current": "the amount owed, less than 30 days old",
        "over_30": "owed 31-60 days",
        "over_60": "owed 61-90 days",
        "over_90": "owed more than 90 days",
    },
}
