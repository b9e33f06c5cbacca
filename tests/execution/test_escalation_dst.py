"""Escalation timing across daylight-saving changes, in three time zones, both directions."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from execution_fakes import STAFF, Finding, Rule, Step, after, calendar, run

from sophie.model.calendar import business_days, business_hours

RULE = Rule(
    escalate=(Step(business_hours(10), "office_manager", "high"), Step(business_days(2), "owner_dentist", "urgent"))
)

# (zone, the Friday before a DST change): spring forward and fall back in each zone.
WEEKS = [
    ("America/New_York", "2026-03-06"),  # clocks go forward Sun 03-08
    ("America/New_York", "2026-10-30"),  # back Sun 11-01
    ("Europe/London", "2026-03-27"),  # forward Sun 03-29
    ("Europe/London", "2026-10-23"),  # back Sun 10-25
    ("Australia/Sydney", "2026-04-03"),  # back Sun 04-05
    ("Australia/Sydney", "2026-10-02"),  # forward Sun 10-04
]


def local(zone: str, day: str, clock: str) -> datetime:
    return datetime.fromisoformat(f"{day}T{clock}").replace(tzinfo=ZoneInfo(zone))


@pytest.mark.parametrize(("zone", "friday"), WEEKS)
def test_each_step_fires_once_at_its_wall_clock_time_across_the_change(zone, friday):
    cal = calendar(zone)
    due = local(zone, friday, "10:00")
    monday = (due + timedelta(days=3)).date().isoformat()
    tuesday = (due + timedelta(days=4)).date().isoformat()
    first_deadline = local(zone, monday, "13:00")  # Fri 10-12, 13-17 (6h) + Mon 08-12 (4h): end of interval -> 13:00
    second_deadline = local(zone, tuesday, "10:00")  # two business days, same wall-clock time
    offsets = {due.utcoffset(), second_deadline.utcoffset()}
    assert len(offsets) == 2, "the week must straddle a DST change"

    def cycle(tasks, now):
        return run(tasks, [Finding("tp-1", due)], now, rules=(RULE,), staff=STAFF, cal=cal)

    tasks = after([], cycle([], due - timedelta(hours=1)))
    fired = []
    for now in (first_deadline - timedelta(minutes=1), first_deadline, first_deadline + timedelta(minutes=1),
                second_deadline - timedelta(seconds=1), second_deadline, second_deadline + timedelta(hours=5)):  # fmt: skip
        result = cycle(tasks, now)
        fired += [(now, change.level, change.task.owner_id) for change in result.changes]
        tasks = after(tasks, result)
    assert fired == [(first_deadline, 1, "om"), (second_deadline, 2, "dr")]
    assert tasks[0].due_at.astimezone(ZoneInfo(zone)).hour == 10
    assert str(tasks[0].priority) == "urgent"


@pytest.mark.parametrize(("zone", "friday"), WEEKS)
def test_a_late_cycle_after_the_change_fires_both_steps_once(zone, friday):
    cal = calendar(zone)
    due = local(zone, friday, "10:00")
    tasks = after([], run([], [Finding("tp-1", due)], due - timedelta(hours=1), rules=(RULE,), cal=cal))
    late = run(tasks, [Finding("tp-1", due)], due + timedelta(days=14), rules=(RULE,), cal=cal)
    assert [change.level for change in late.changes] == [1, 2]
    assert (
        run(after(tasks, late), [Finding("tp-1", due)], due + timedelta(days=14), rules=(RULE,), cal=cal).changes == ()
    )
