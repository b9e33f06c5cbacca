"""The read-only SELECTs the Open Dental adapter runs, and the one function that runs them.

Every statement is a SELECT with ``%s`` parameters (never string-built values), so the
adapter works with a database user that has SELECT rights and nothing else. Table and
column names are Open Dental's own (see ``docs/opendental.md`` for what each one means).

Patient-scoped queries take an optional list of ``PatNum`` values: an incremental fetch
re-reads only the patients whose rows changed since its watermark.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any, Protocol

__all__ = [
    "PATIENT_QUERIES",
    "PRACTICE_QUERIES",
    "Cursor",
    "Row",
    "changed_patients",
    "select",
    "select_patient_rows",
]

Row = dict[str, Any]
"""One result row, by column name."""


class Cursor(Protocol):
    """The part of a DB-API cursor (returning dict rows) the adapter uses."""

    def execute(self, query: str, args: Any = ...) -> int:
        """Run one statement."""

    def fetchall(self) -> Sequence[Row]:
        """Return the rows of the last statement."""


PRACTICE_QUERIES: dict[str, str] = {
    "preference": (
        "SELECT PrefName, ValueString FROM preference WHERE PrefName IN ('PracticeTitle', 'AppointmentTimeIncrement',"
        " 'EasyNoClinics', 'ScheduleProvUnassigned', 'ApptEConfirmStatusAccepted', 'AppointmentTimeArrivedTrigger',"
        " 'AppointmentTimeSeatedTrigger', 'AppointmentTimeDismissedTrigger', 'RecallTypesShowingInList',"
        " 'BalancesDontSubtractIns')"
    ),
    "clinic": "SELECT ClinicNum, Description, IsHidden FROM clinic",
    "definition": "SELECT DefNum, Category, ItemName, ItemValue, IsHidden FROM definition WHERE Category IN (%s, %s)",
    "provider": "SELECT ProvNum, Abbr, FName, LName, IsSecondary, IsHidden, ProvStatus FROM provider",
    "operatory": (
        "SELECT OperatoryNum, OpName, IsHidden, IsHygiene, ClinicNum, ProvDentist, ProvHygienist FROM operatory"
    ),
    "schedule": (
        "SELECT s.ScheduleNum, s.SchedDate, s.StartTime, s.StopTime, s.SchedType, s.ProvNum, s.Status,"
        " s.ClinicNum, so.OperatoryNum FROM schedule s LEFT JOIN scheduleop so ON so.ScheduleNum = s.ScheduleNum"
        " WHERE s.SchedType IN (0, 1)"
    ),
    "userod": "SELECT UserNum, UserName, ProvNum, ClinicNum, IsHidden FROM userod",
    "usergroup": (
        "SELECT a.UserNum, g.Description FROM usergroupattach a JOIN usergroup g ON g.UserGroupNum = a.UserGroupNum"
    ),
    "recalltype": "SELECT RecallTypeNum, Description, Procedures FROM recalltype",
    "commoptout": "SELECT PatNum, OptOutSms, OptOutEmail FROM commoptout",
}
"""Small tables read whole on every fetch (the practice, its people, chairs and schedule)."""

PATIENT_QUERIES: dict[str, tuple[str, str]] = {
    "patient": (
        "SELECT PatNum, LName, FName, PatStatus, Birthdate, Guarantor, PriProv, ClinicNum, HasIns,"
        " PreferContactMethod, Bal_0_30, Bal_31_60, Bal_61_90, BalOver90 FROM patient",
        "PatNum",
    ),
    "appointment": (
        "SELECT AptNum, PatNum, AptStatus, Pattern, Confirmed, Op, ProvNum, ProvHyg, AptDateTime,"
        " IsHygiene, ClinicNum, DateTimeArrived, Priority, NextAptNum, SecDateTEntry, DateTStamp"
        " FROM appointment",
        "PatNum",
    ),
    "histappointment": (
        "SELECT HistApptNum, AptNum, PatNum, HistApptAction, HistDateTStamp FROM histappointment"
        " WHERE HistApptAction IN (2, 3)",
        "PatNum",
    ),
    "procedurelog": (
        "SELECT p.ProcNum, p.PatNum, p.AptNum, p.PlannedAptNum, p.ProcDate, p.ProcTime, p.ProcFee, p.UnitQty,"
        " p.BaseUnits, p.ProcStatus, p.ProvNum, p.ClinicNum, p.ToothNum, p.DateTP,"
        " pc.ProcCode, pc.Descript, pc.ProcTime AS CodeTime"
        " FROM procedurelog p LEFT JOIN procedurecode pc ON pc.CodeNum = p.CodeNum",
        "p.PatNum",
    ),
    "treatplan": (
        "SELECT TreatPlanNum, PatNum, DateTP, TPStatus, DateTSigned FROM treatplan",
        "PatNum",
    ),
    "treatplanattach": (
        "SELECT a.TreatPlanNum, a.ProcNum, t.PatNum FROM treatplanattach a"
        " JOIN treatplan t ON t.TreatPlanNum = a.TreatPlanNum",
        "t.PatNum",
    ),
    "claim": (
        "SELECT c.ClaimNum, c.PatNum, c.DateService, c.DateSent, c.DateSentOrig, c.DateReceived, c.ClaimStatus,"
        " c.ClaimType, c.ClaimFee, c.InsPayEst, c.InsPayAmt, c.ClinicNum, cr.CarrierName FROM claim c"
        " LEFT JOIN insplan ip ON ip.PlanNum = c.PlanNum LEFT JOIN carrier cr ON cr.CarrierNum = ip.CarrierNum",
        "c.PatNum",
    ),
    "claimproc": (
        "SELECT ClaimProcNum, ClaimNum, ProcNum, PatNum, Status, NoBillIns FROM claimproc"
        " WHERE ProcNum > 0 AND (ClaimNum > 0 OR Status = 6)",
        "PatNum",
    ),
    "recall": (
        "SELECT r.RecallNum, r.PatNum, r.RecallTypeNum, r.DateDue, r.DateScheduled, r.IsDisabled, r.DisableUntilDate,"
        " r.DisableUntilBalance, r.Priority, g.BalTotal, g.InsEst FROM recall r"
        " JOIN patient p ON p.PatNum = r.PatNum LEFT JOIN patient g ON g.PatNum = p.Guarantor",
        "r.PatNum",
    ),
    "commlog": (
        "SELECT CommlogNum, PatNum, CommDateTime, CommType, Mode_, SentOrReceived, UserNum FROM commlog",
        "PatNum",
    ),
}
"""Patient-scoped tables: the SELECT, and the column that names the patient."""

STAMPED: tuple[tuple[str, str], ...] = (
    ("patient", "DateTStamp"),
    ("appointment", "DateTStamp"),
    ("procedurelog", "DateTStamp"),
    ("treatplan", "SecDateTEdit"),
    ("claim", "SecDateTEdit"),
    ("claimproc", "SecDateTEdit"),
    ("recall", "DateTStamp"),
    ("commlog", "DateTStamp"),
)
"""Patient-scoped tables and their change stamp: a ``TIMESTAMP`` Open Dental updates on every insert and edit."""

LOCAL_STAMPED: tuple[tuple[str, str], ...] = (("histappointment", "HistDateTStamp"),)
"""Tables stamped with a ``DATETIME`` of the office's clock (Open Dental writes its local time)."""


def select(cursor: Cursor, query: str, args: Sequence[Any] = ()) -> list[Row]:
    """Run one SELECT and return its rows.

    Raises:
        ValueError: the statement is not a SELECT (a guard: the adapter never writes).
    """
    if not query.lstrip().upper().startswith("SELECT"):
        raise ValueError("the Open Dental adapter only runs SELECT statements")
    cursor.execute(query, tuple(args))
    return list(cursor.fetchall())


def select_patient_rows(cursor: Cursor, table: str, patients: Sequence[int] | None) -> list[Row]:
    """Read a patient-scoped table, for every patient or only for ``patients``."""
    query, column = PATIENT_QUERIES[table]
    if patients is None:
        return select(cursor, query)
    if not patients:
        return []
    joiner = " AND " if " WHERE " in query else " WHERE "
    placeholders = ", ".join(["%s"] * len(patients))
    return select(cursor, f"{query}{joiner}{column} IN ({placeholders})", list(patients))


def changed_patients(cursor: Cursor, since: datetime, since_local: datetime, today: date) -> list[int]:
    """Return the patients with a row stamped at or after the watermark, or a recall re-enabled since.

    Args:
        cursor: An open cursor (session time zone UTC).
        since: The watermark as a naive UTC time (compared with ``TIMESTAMP`` stamps).
        since_local: The same instant on the office's clock (compared with ``DATETIME`` stamps).
        today: The office's date now: a recall disabled until a day after ``since_local`` and
            up to ``today`` came back to Open Dental's recall list without any edit.
    """
    parts = [f"SELECT PatNum FROM {table} WHERE {stamp} >= %s" for table, stamp in STAMPED + LOCAL_STAMPED]
    parts.append("SELECT PatNum FROM recall WHERE DisableUntilDate > %s AND DisableUntilDate <= %s")
    args = [since] * len(STAMPED) + [since_local] * len(LOCAL_STAMPED) + [since_local.date(), today]
    rows = select(cursor, " UNION ".join(parts), args)
    return sorted({int(row["PatNum"]) for row in rows})
