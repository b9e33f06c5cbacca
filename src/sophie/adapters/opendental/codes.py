"""Open Dental's enumerations and definition categories, and what each value means to sophie.

Values from Open Dental's published source (``OpenDentBusiness/Db/Enumerations.cs`` and the
table types); ``docs/opendental.md`` explains each choice.
"""

from __future__ import annotations

__all__ = [
    "APPOINTMENT_STATUS",
    "APPT_CONFIRMED",
    "CLAIMPROC_ESTIMATE",
    "CLAIM_KIND",
    "CLAIM_STATUS",
    "COMMLOG_CHANNEL",
    "COMMLOG_TYPES",
    "CONTACT_METHOD",
    "HIST_CANCELLED",
    "HIST_MISSED",
    "OPT_OUT_ALL",
    "PATIENT_STATUS",
    "PROCEDURE_STATUS",
    "TP_ACTIVE",
    "TP_INACTIVE",
    "TP_SAVED",
]

APPT_CONFIRMED = 2
"""DefCat.ApptConfirmed: the practice's confirmation statuses."""
COMMLOG_TYPES = 27
"""DefCat.CommLogTypes: the practice's commlog types."""
PATIENT_STATUS = {0: "active", 1: "inactive", 2: "inactive", 3: "archived", 5: "deceased", 6: "prospective"}
"""PatStatus → patient status; 4 (Deleted) is left out. 1 is NonPatient (a family member who is not a patient)."""
CONTACT_METHOD = {0: "phone", 1: "none", 2: "phone", 3: "phone", 4: "phone", 5: "email", 6: "phone", 7: "mail",
                  8: "text"}  # fmt: skip
"""PreferContactMethod (ContactMethod) → preferred contact; 1 is DoNotCall."""
APPOINTMENT_STATUS = {1: "scheduled", 2: "completed", 3: "unscheduled", 4: "scheduled", 5: "broken", 6: "planned"}
"""AptStatus → appointment status; 7/8 (patient notes) are left out; 4 (ASAP, deprecated) is a scheduled ASAP."""
PROCEDURE_STATUS = {1: "planned", 2: "completed", 3: "existing", 4: "existing", 5: "referred"}
"""ProcStatus → procedure status; 6 (Deleted), 7 (Condition) and 8 (TPi, inactive plan) are left out."""
CLAIM_KIND = {"P": "primary", "S": "secondary", "PreAuth": "preauth", "Other": "primary"}
"""ClaimType → claim kind; Cap (capitation) claims are left out."""
CLAIM_STATUS = {"U": "draft", "W": "ready", "H": "on_hold", "I": "on_hold", "P": "sent", "S": "sent", "R": "received"}
"""ClaimStatus → claim status; anything else reads as sent (still followed up)."""
COMMLOG_CHANNEL = {0: "phone", 1: "email", 2: "mail", 3: "phone", 4: "in_person", 5: "text", 6: "text", 7: "phone",
                   8: "mail"}  # fmt: skip
"""Commlog Mode_ (CommItemMode) → contact channel."""
HIST_MISSED, HIST_CANCELLED = 2, 3
TP_SAVED, TP_ACTIVE, TP_INACTIVE = 0, 1, 2
OPT_OUT_ALL = 1
"""CommOptOutType.All (a flag of ``commoptout.OptOutSms`` / ``OptOutEmail``): no automated message on that channel."""
CLAIMPROC_ESTIMATE = 6
"""ClaimProcStatus.Estimate: the insurance estimate of a procedure not yet on a claim."""
