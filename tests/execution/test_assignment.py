"""Ownership: one available person per task, by strategy, up the role ladder, never nobody."""

from __future__ import annotations

from execution_fakes import STAFF, Finding, after, at, member, run

from sophie.execution import Assigner, OwnershipStrategy
from sophie.execution.assignment import DEFAULT_LADDER, is_available

NOW = at("2026-03-09T10:00")


def owners(result):
    return [change.task.owner_id for change in result.changes]


def findings(n, owner="treatment_coordinator"):
    return [Finding(f"tp-{i}", NOW, owner=owner) for i in range(n)]


def test_least_open_tasks_spreads_new_tasks_across_the_roles_holders():
    assert owners(run([], findings(4))) == ["tc1", "tc2", "tc1", "tc2"]


def test_least_open_counts_tasks_already_open():
    first = after([], run([], findings(2)[:1]))  # tc1 holds one
    result = run(first, findings(3)[1:])
    assert owners(result) == ["tc2", "tc1"]


def test_round_robin_rotates_and_remembers_its_place():
    from sophie.execution import ExecutionSettings

    settings = ExecutionSettings(strategy=OwnershipStrategy.ROUND_ROBIN)
    first = run([], findings(3), settings=settings)
    assert owners(first) == ["tc1", "tc2", "tc1"]
    assert first.cursors == {"treatment_coordinator": "tc1"}
    more = [Finding("tp-9", NOW)]
    assert owners(run(after([], first), more, settings=settings, cursors=first.cursors)) == ["tc2"]


def test_fixed_gives_the_configured_person_while_they_are_in():
    from sophie.execution import ExecutionSettings

    settings = ExecutionSettings(strategy=OwnershipStrategy.FIXED, fixed_owners={"treatment_coordinator": "tc2"})
    assert owners(run([], findings(2), settings=settings)) == ["tc2", "tc2"]
    away = (STAFF[0], member("tc2", "treatment_coordinator", away=("2026-03-09T00:00", "2026-03-10T00:00")), *STAFF[2:])
    assert owners(run([], findings(1), settings=settings, staff=away)) == ["tc1"]


def test_out_of_office_and_inactive_holders_are_skipped():
    staff = (
        member("tc1", "treatment_coordinator", active=False),
        member("tc2", "treatment_coordinator", away=("2026-03-09T08:00", "2026-03-09T12:00")),
        *STAFF[2:],
    )
    result = run([], findings(1), staff=staff)
    assert owners(result) == ["om"]  # the ladder: treatment_coordinator -> office_manager
    assert "treatment_coordinator -> office_manager" in result.changes[0].why
    assert result.changes[0].task.owner_role == "treatment_coordinator"  # the role asked for is kept


def test_the_ladder_climbs_to_the_owner_dentist_and_then_to_anyone():
    only_dentist = (member("dr", "owner_dentist"),)
    assert owners(run([], findings(1, "scheduling_coordinator"), staff=only_dentist)) == ["dr"]
    only_assistant = (member("as", "assistant"),)
    assert owners(run([], findings(1, "scheduling_coordinator"), staff=only_assistant)) == ["as"]


def test_nobody_at_all_leaves_the_task_unowned_but_still_created():
    result = run([], findings(1), staff=())
    assert owners(result) == [None] and result.changes[0].task.owner_role == "treatment_coordinator"


def test_a_named_person_is_used_when_in_and_else_their_manager():
    staff = (member("om", "office_manager"), member("tc1", "treatment_coordinator", manager="om", active=False))
    assert owners(run([], findings(1, "staff:om"), staff=staff)) == ["om"]
    result = run([], findings(1, "staff:tc1"), staff=staff)
    assert owners(result) == ["om"] and result.changes[0].task.owner_role is None


def test_the_default_ladder_ends_at_the_owner_dentist():
    assigner = Assigner([member("dr", "owner_dentist")], NOW)
    for role in DEFAULT_LADDER:
        assert assigner.assign(role).owner_id == "dr"
    assert assigner.assign("some_new_role").path == ("some_new_role", "office_manager", "owner_dentist")


def test_availability_uses_half_open_leave_periods():
    person = member("a", "front_desk", away=("2026-03-09T08:00", "2026-03-09T10:00"))
    assert not is_available(person, at("2026-03-09T09:59"))
    assert is_available(person, at("2026-03-09T10:00"))
