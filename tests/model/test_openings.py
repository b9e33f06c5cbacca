"""Openings: gaps in schedule blocks, never overlapping an occupied chair."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from sophie.model import Appointment, ScheduleBlock, find_openings

NY = ZoneInfo("America/New_York")
DAY = datetime(2026, 3, 5, 8, 0, tzinfo=NY)


def block(start_min: int, end_min: int, chair: str = "op-1") -> ScheduleBlock:
    return ScheduleBlock(
        provider_id="prov-1", operatory_id=chair,
        start=DAY + timedelta(minutes=start_min), end=DAY + timedelta(minutes=end_min),
    )


def booked(n: int, start_min: int, end_min: int, status: str = "scheduled", chair: str = "op-1") -> Appointment:
    return Appointment(
        id=f"a-{n}", patient_id="p", status=status, operatory_id=chair,
        start=DAY + timedelta(minutes=start_min), end=DAY + timedelta(minutes=end_min),
    )


def test_gap_between_appointments_is_an_opening_with_a_local_time_id() -> None:
    openings = find_openings([block(0, 240)], [booked(1, 0, 60), booked(2, 120, 240)], tz=NY, min_minutes=30)
    assert [(o.id, o.duration) for o in openings] == [("op-1@2026-03-05T09:00", timedelta(hours=1))]


def test_broken_appointments_leave_the_chair_free_and_completed_ones_do_not() -> None:
    appointments = [booked(1, 0, 60, "completed"), booked(2, 60, 120, "broken"), booked(3, 120, 240, "arrived")]
    openings = find_openings([block(0, 240)], appointments, tz=NY, min_minutes=30)
    assert [o.id for o in openings] == ["op-1@2026-03-05T09:00"]


def test_short_gaps_are_not_openings() -> None:
    openings = find_openings([block(0, 120)], [booked(1, 0, 100)], tz=NY, min_minutes=30)
    assert openings == []


def test_other_chairs_do_not_block() -> None:
    openings = find_openings([block(0, 60)], [booked(1, 0, 60, chair="op-2")], tz=NY, min_minutes=30)
    assert [o.id for o in openings] == ["op-1@2026-03-05T08:00"]


def test_id_uses_practice_local_time_whatever_the_input_offset() -> None:
    utc_block = ScheduleBlock(
        provider_id="p", operatory_id="op-1",
        start=datetime(2026, 7, 1, 12, 0, tzinfo=UTC), end=datetime(2026, 7, 1, 13, 0, tzinfo=UTC),
    )
    [opening] = find_openings([utc_block], [], tz=NY, min_minutes=30)
    assert opening.id == "op-1@2026-07-01T08:00"


spans = st.lists(st.tuples(st.integers(0, 600), st.integers(5, 180)), max_size=12)


@settings(max_examples=300, deadline=None)
@given(blocks=st.lists(st.tuples(st.integers(0, 600), st.integers(30, 480)), min_size=1, max_size=3),
       appointments=spans, minimum=st.integers(5, 60))
def test_openings_cover_exactly_the_free_time(blocks, appointments, minimum) -> None:
    block_list = [block(start, start + length) for start, length in blocks]
    appts = [booked(i, start, start + length) for i, (start, length) in enumerate(appointments)]
    openings = find_openings(block_list, appts, tz=NY, min_minutes=minimum)
    busy = [(a.start, a.end) for a in appts]
    for opening in openings:
        assert opening.duration >= timedelta(minutes=minimum)
        assert any(b.start <= opening.start and opening.end <= b.end for b in block_list)
        assert all(opening.end <= s or e <= opening.start for s, e in busy)
    # Every free minute inside a block belongs to an opening unless its gap is too short.
    for minute in range(0, 1100, 7):
        t = DAY + timedelta(minutes=minute)
        in_block = any(b.start <= t < b.end for b in block_list)
        is_busy = any(s <= t < e for s, e in busy)
        covered = any(o.start <= t < o.end for o in openings)
        if covered:
            assert in_block and not is_busy
        elif in_block and not is_busy and len(block_list) == 1:
            # the free run containing t must be shorter than the minimum
            start = t
            while start - timedelta(minutes=1) >= block_list[0].start and not any(
                s <= start - timedelta(minutes=1) < e for s, e in busy
            ):
                start -= timedelta(minutes=1)
            end = t
            while end < block_list[0].end and not any(s <= end < e for s, e in busy):
                end += timedelta(minutes=1)
            assert end - start < timedelta(minutes=minimum)
