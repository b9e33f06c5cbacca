"""The read-only SELECTs the Open Dental adapter runs, and the one function that runs them.

Every statement is a SELECT with ``%s`` parameters (never string-built values), so the
adapter works with a database user that has SELECT rights and nothing else. Table and
column names are Open Dental's own (see ``docs/opendental.md`` for what each one means).

Patient-scoped queries take an optional list of ``PatNum`` values: an incremental fetch
re-reads only the patients whose rows changed since its watermark.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
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
    "preference": "SELECT PrefName, ValueString FROM preference WHERE PrefName IN ('PracticeTitle')",
    "clinic": "SELECT ClinicNum, Description, IsHidden FROM clinic",
    "definition": "SELECT DefNum, Category, ItemName, ItemValue, IsHidden FROM definition WHERE Category IN (%s, %s)",
    "provider": "SELECT ProvNum, Abbr, FName, LName, IsSecondary, IsHidden, ProvStatus FROM provider",
    "operatory": "SELECT OperatoryNum, OpName, IsHidden, IsHygiene, ClinicNum FROM operatory",
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
        " IsHygiene, ClinicNum, DateTimeArrived, Priority, SecDateTEntry, DateTStamp"
        " FROM appointment",
        "PatNum",
    ),
    "histappointment": (
        "SELECT AptNum, PatNum, HistApptAction, HistDateTStamp FROM histappointment WHERE HistApptAction IN (2, 3)",
        "PatNum",
    ),
    "procedurelog": (
        "SELECT p.ProcNum, p.PatNum, p.AptNum, p.PlannedAptNum, p.ProcDate, p.ProcTime, p.ProcFee, p.UnitQty,"
        " p.BaseUnits, p.ProcStatus, p.ProvNum, p.ClinicNum, p.ToothNum, p.DateTP,"
        " pc.ProcCode, pc.Descript FROM procedurelog p LEFT JOIN procedurecode pc ON pc.CodeNum = p.CodeNum",
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
        "SELECT ClaimNum, PatNum, DateService, DateSent, DateReceived, ClaimStatus, ClaimType, ClaimFee,"
        " InsPayEst, InsPayAmt, ClinicNum FROM claim",
        "PatNum",
    ),
    "claimproc": (
        "SELECT ClaimProcNum, ClaimNum, ProcNum, PatNum, Status FROM claimproc WHERE ClaimNum > 0 AND ProcNum > 0",
        "PatNum",
    ),
    "recall": (
        "SELECT RecallNum, PatNum, RecallTypeNum, DateDue, DateScheduled, IsDisabled FROM recall",
        "PatNum",
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
    ("histappointment", "HistDateTStamp"),
    ("procedurelog", "DateTStamp"),
    ("treatplan", "SecDateTEdit"),
    ("claim", "SecDateTEdit"),
    ("claimproc", "SecDateTEdit"),
    ("recall", "DateTStamp"),
    ("commlog", "DateTStamp"),
)
"""Patient-scoped tables and their change stamp (updated by Open Dental on every insert and edit)."""


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


def changed_patients(cursor: Cursor, since: datetime) -> list[int]:
    """Return the patients with any row stamped at or after ``since`` (server time, see adapter)."""
    union = " UNION ".join(f"SELECT PatNum FROM {table} WHERE {stamp} >= %s" for table, stamp in STAMPED)
    rows = select(cursor, union, [since] * len(STAMPED))
    return sorted({int(row["PatNum"]) for row in rows})
