"""Small stand-ins for the rules layer, and a practice to run execution against."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sophie.execution import ExecutionSettings, Task, reconcile
from sophie.execution.reconcile import ReconcileResult
from sophie.model import Snapshot, StaffMember, parse_snapshot
from sophie.model.calendar import BusinessCalendar, BusinessDuration, business_days

NY = "America/New_York"
HOURS = {day: [["08:00", "12:00"], ["13:00", "17:00"]] for day in ("mon", "tue", "wed", "thu", "fri")}
PRACTICE_ID = "p1"


@dataclass(frozen=True)
class Step:
    after: timedelta | BusinessDuration
    to: str | None = None
    priority: str | None = None


@dataclass(frozen=True)
class Rule:
    id: str = "plan.unscheduled"
    title: str = "Presented treatment is not scheduled"
    version: str = "1.0.0"
    content_hash: str = "abc123"
    resolve: str = "auto"
    escalate: Sequence[Step] = ()
    entity_type: str = "treatment_plan"
    stall: str = ""
    stall_type: str = ""
    stage: int = 1


@dataclass(frozen=True)
class Member:
    subject_id: str
    patient_id: str | None = "pat-1"


@dataclass(frozen=True)
class Finding:
    subject_id: str
    due_at: datetime
    rule_id: str = "plan.unscheduled"
    pack: str = "test"
    subject_type: str = "treatment_plan"
    key: str = ""
    evidence: Mapping[str, object] = field(default_factory=dict)
    owner: str = "treatment_coordinator"
    priority: str = "normal"
    title: str = "Call the patient"
    patient_id: str | None = "pat-1"
    members: tuple[Member, ...] = ()
    stall: str = ""
    stall_type: str = ""
    stage: int = 1

    def __post_init__(self) -> None:
        if not self.key:
            object.__setattr__(self, "key", self.subject_id)


@dataclass(frozen=True)
class Evaluation:
    findings: tuple[Finding, ...]
    evaluated: Mapping[str, frozenset[str]]
    complete: bool = True
    errors: tuple[object, ...] = ()


def evaluation(
    findings: Iterable[Finding], seen: Mapping[str, Iterable[str]] | None = None, *, complete: bool = True
) -> Evaluation:
    """An evaluation whose rules saw the given subjects (default: every finding's subject)."""
    findings = tuple(findings)
    if seen is None:
        by_rule: dict[str, set[str]] = {}
        for f in findings:
            by_rule.setdefault(f.rule_id, set()).add(f.subject_id)
        seen = by_rule
    return Evaluation(findings, {rule: frozenset(ids) for rule, ids in seen.items()}, complete)


def calendar(tz: str = NY) -> BusinessCalendar:
    return BusinessCalendar.from_strings(tz, HOURS)


def at(text: str, tz: str = NY) -> datetime:
    from zoneinfo import ZoneInfo

    value = datetime.fromisoformat(text)
    return value if value.tzinfo else value.replace(tzinfo=ZoneInfo(tz))


def member(
    staff_id: str, *roles: str, active: bool = True, manager: str | None = None, away: tuple[str, str] | None = None
) -> StaffMember:
    data: dict[str, Any] = {"id": staff_id, "name": f"Staff {staff_id}", "roles": list(roles), "active": active}
    if manager:
        data["manager_id"] = manager
    if away:
        data["out_of_office"] = [{"start": at(away[0]), "end": at(away[1])}]
    return StaffMember.model_validate(data)


STAFF = (
    member("tc1", "treatment_coordinator"),
    member("tc2", "treatment_coordinator"),
    member("om", "office_manager"),
    member("dr", "owner_dentist"),
    member("fd", "front_desk"),
)

LADDER_RULE = Rule(
    escalate=(
        Step(business_days(2), "office_manager", "urgent"),
        Step(business_days(5), "owner_dentist"),
    )
)


def run(
    tasks: Iterable[Task],
    findings: Iterable[Finding] = (),
    now: datetime | str = "2026-03-09T10:00",
    *,
    rules: Sequence[Rule] = (LADDER_RULE,),
    staff: Sequence[StaffMember] = STAFF,
    seen: Mapping[str, Iterable[str]] | None = None,
    complete: bool = True,
    settings: ExecutionSettings | None = None,
    cal: BusinessCalendar | None = None,
    subject_exists: Any = None,
    cursors: Mapping[str, str] | None = None,
) -> ReconcileResult:
    when = at(now) if isinstance(now, str) else now
    kwargs: dict[str, Any] = {}
    if settings is not None:
        kwargs["settings"] = settings
    return reconcile(
        list(tasks),
        evaluation(findings, seen, complete=complete),
        when,
        practice_id=PRACTICE_ID,
        rules={rule.id: rule for rule in rules},
        staff=staff,
        calendar=cal or calendar(),
        subject_exists=subject_exists,
        cursors=cursors,
        **kwargs,
    )


def after(tasks: Iterable[Task], result: ReconcileResult) -> list[Task]:
    """The tasks a ledger would hold after applying ``result`` (latest version of each)."""
    by_id = {task.id: task for task in tasks}
    for change in result.changes:
        by_id[change.task.id] = change.task
    return sorted(by_id.values(), key=lambda t: t.key)


def watched(tasks: Iterable[Task]) -> list[Task]:
    return [t for t in tasks if t.is_open or t.awaits_verification]


def practice_snapshot(
    *, staff: Sequence[StaffMember] = STAFF, as_of: str = "2026-03-09T10:00:00-05:00", tz: str = NY, **sections: Any
) -> Snapshot:
    data: dict[str, Any] = {
        "practice": {"id": PRACTICE_ID, "name": "Test Dental", "timezone": tz, "hours": HOURS},
        "as_of": as_of,
        "staff": [s.model_dump(mode="json") for s in staff],
    }
    data.update(sections)
    return parse_snapshot(data)


PACK = Path(__file__).parent / "packs" / "exec-test.yaml"
CLINIC_STAFF = (
    member("tc", "treatment_coordinator"),
    member("sc", "scheduling_coordinator"),
    member("om", "office_manager"),
    member("dr", "owner_dentist"),
)


def clinic_data(
    as_of: str = "2026-03-05T10:00", *, plan_scheduled: bool = False, opening_filled: bool = False
) -> dict[str, Any]:
    """A practice with a plan presented Monday 2026-03-02 and a free afternoon in op-1 on Thursday 03-05."""
    appointments = []
    procedure = {
        "id": "pr-1",
        "patient_id": "pat-1",
        "code": "D2740",
        "fee": 1200,
        "status": "planned",
        "treatment_plan_id": "tp-1",
    }
    if plan_scheduled:
        appointments.append(
            {
                "id": "a-9",
                "patient_id": "pat-1",
                "status": "scheduled",
                "provider_id": "prov-1",
                "operatory_id": "op-2",
                "start": "2026-04-01T09:00:00-04:00",
                "end": "2026-04-01T10:00:00-04:00",
            }
        )
        procedure["appointment_id"] = "a-9"
    if opening_filled:
        appointments.append(
            {
                "id": "a-10",
                "patient_id": "pat-2",
                "status": "scheduled",
                "provider_id": "prov-1",
                "operatory_id": "op-1",
                "start": "2026-03-05T13:00:00-05:00",
                "end": "2026-03-05T17:00:00-05:00",
            }
        )
    return {
        "practice": {"id": PRACTICE_ID, "name": "Test Dental", "timezone": NY, "hours": HOURS},
        "as_of": at(as_of).isoformat(),
        "staff": [s.model_dump(mode="json") for s in CLINIC_STAFF],
        "patients": [
            {"id": "pat-1", "first_name": "Ana", "last_name": "Lima"},
            {"id": "pat-2", "first_name": "Ben", "last_name": "Osei"},
        ],
        "providers": [{"id": "prov-1", "name": "Dr. Reyes", "kind": "dentist"}],
        "operatories": [{"id": "op-1", "name": "Op 1"}, {"id": "op-2", "name": "Op 2"}],
        "schedule_blocks": [
            {
                "provider_id": "prov-1",
                "operatory_id": "op-1",
                "start": "2026-03-05T13:00:00-05:00",
                "end": "2026-03-05T17:00:00-05:00",
            }
        ],
        "treatment_plans": [
            {"id": "tp-1", "patient_id": "pat-1", "status": "presented", "presented_at": "2026-03-02T10:00:00-05:00"}
        ],
        "procedures": [procedure],
        "appointments": appointments,
    }


def clinic(as_of: str = "2026-03-05T10:00", **state: bool) -> Snapshot:
    return parse_snapshot(clinic_data(as_of, **state))
