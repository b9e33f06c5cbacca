"""Slot-fill ranking: hard filters, the documented score, relaxation as the start nears."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from sophie.adapters import load_snapshot_file
from sophie.errors import UnknownNameError
from sophie.model import Snapshot
from sophie.rules.slot_fill.ranking import DEFAULT_POLICY, SlotFillPolicy, rank_candidates

AFTER = Path(__file__).parents[1] / "fixtures" / "opening_story" / "after-cancellation.yaml"
NY = ZoneInfo("America/New_York")
OPENING = "op-1@2026-03-02T14:00"
EARLY = datetime(2026, 3, 2, 11, 40, tzinfo=NY)  # more than 2 hours before 14:00
LATE = datetime(2026, 3, 2, 12, 30, tzinfo=NY)  # within 2 hours


@pytest.fixture(scope="module")
def snapshot() -> Snapshot:
    return load_snapshot_file(AFTER)


def changed(snapshot: Snapshot, section: str, record_id: str, **fields: object) -> Snapshot:
    key = "patient_id" if section == "balances" else "id"
    records = [r.model_copy(update=fields) if getattr(r, key) == record_id else r for r in getattr(snapshot, section)]
    data = {name: getattr(snapshot, name) for name in Snapshot.model_fields}
    return Snapshot(**{**data, section: records})  # a new snapshot, so a new index


def ids(snapshot: Snapshot, now: datetime = EARLY, **kwargs: object) -> list[str]:
    return [c.patient_id for c in rank_candidates(snapshot.index, OPENING, now, **kwargs)]  # type: ignore[arg-type]


def test_ranks_asap_then_treatment_then_broken(snapshot):
    assert ids(snapshot) == ["p-5", "p-6", "p-7"]


def test_score_is_the_sum_of_its_documented_parts(snapshot):
    for candidate in rank_candidates(snapshot.index, OPENING, EARLY):
        assert set(candidate.parts) == {"value", "waiting", "urgency", "likelihood"}
        assert candidate.score == pytest.approx(sum(candidate.parts.values()), abs=0.01)
        assert 0 <= candidate.score <= 100


def test_do_not_contact_patient_is_never_a_candidate_even_with_the_best_work(snapshot):
    assert "p-8" not in ids(snapshot)
    allowed = changed(snapshot, "patients", "p-8", do_not_contact=False)
    assert ids(allowed)[0] == "p-8"  # the $1,400 veneer would lead the list


@pytest.mark.parametrize("status", ["inactive", "archived", "deceased"])
def test_patients_who_are_not_active_are_left_out(snapshot, status):
    gone = changed(snapshot, "patients", "p-6", status=status)
    assert "p-6" not in ids(gone)


def test_work_longer_than_the_opening_is_left_out(snapshot):
    assert "p-10" not in ids(snapshot)  # crown + root canal, 180 minutes, in a 60-minute gap


def test_a_crown_the_practice_books_in_60_minutes_fits_a_60_minute_opening(snapshot):
    active = changed(snapshot, "patients", "p-11", status="active")
    assert "p-11" not in ids(active)  # the built-in guess for a crown is 90 minutes
    timed = changed(active, "procedures", "proc-11", minutes=60)  # the PMS's own chair time for it
    [crown] = [c for c in rank_candidates(timed.index, OPENING, EARLY) if c.patient_id == "p-11"]
    assert (crown.minutes, crown.minutes_from) == (60, "pms")


def test_known_and_guessed_minutes_are_told_apart(snapshot):
    candidates = {c.patient_id: c for c in rank_candidates(snapshot.index, OPENING, EARLY)}
    assert candidates["p-6"].minutes_from == "estimate"  # D2391: no minutes in the snapshot
    assert candidates["p-5"].minutes_from == "pms"  # an ASAP appointment's own length
    timed = changed(snapshot, "procedures", "proc-6", minutes=40)
    assert {c.patient_id: c for c in rank_candidates(timed.index, OPENING, EARLY)}["p-6"].minutes_from == "pms"


def _recall_needs(snapshot: Snapshot) -> dict[str, object]:
    from sophie.rules.slot_fill.pool import candidate_pool

    return {need.candidate.record_id: need.candidate for needs in candidate_pool(snapshot.index, DEFAULT_POLICY).values()
            for need in needs if need.candidate.source == "recall"}  # fmt: skip


def test_a_recall_not_yet_due_is_offered_only_when_the_patient_asked_for_the_first_slot(snapshot):
    later = changed(snapshot, "recalls", "rc-9", due_date=datetime(2026, 4, 1).date())
    assert "rc-9" not in _recall_needs(later)
    asap = changed(later, "recalls", "rc-9", asap=True)
    assert "rc-9" in _recall_needs(asap)


def test_hygiene_work_goes_only_to_a_hygiene_chair(snapshot):
    assert "p-9" not in ids(snapshot)  # overdue prophy, but op-1 is a dentist's chair


def test_patient_already_booked_at_that_time_is_left_out(snapshot):
    busy = changed(
        snapshot,
        "appointments",
        "a-4",
        patient_id="p-6",
        start=datetime(2026, 3, 2, 14, 30, tzinfo=NY),
    )
    assert "p-6" not in ids(busy)


def test_the_patient_who_cancelled_is_not_offered_the_same_time_back(snapshot):
    assert "p-1" not in ids(snapshot)


def test_preferred_provider_elsewhere_is_relaxed_within_two_hours(snapshot):
    elsewhere = changed(snapshot, "patients", "p-6", primary_provider_id="prov-2")
    assert "p-6" not in ids(elsewhere, EARLY)
    assert "p-6" in ids(elsewhere, LATE)
    assert DEFAULT_POLICY.relax_within == timedelta(hours=2)
    wider = SlotFillPolicy(relax_within=timedelta(hours=3))
    assert "p-6" in ids(elsewhere, EARLY, policy=wider)


def test_more_broken_appointments_lower_the_likelihood(snapshot):
    base = {c.patient_id: c for c in rank_candidates(snapshot.index, OPENING, EARLY)}
    flaky = changed(
        snapshot,
        "appointments",
        "a-7",
        broken_kind="no_show",
    )
    assert base["p-7"].parts["likelihood"] < base["p-6"].parts["likelihood"]
    again = {c.patient_id: c for c in rank_candidates(flaky.index, OPENING, EARLY)}
    assert again["p-7"].parts == base["p-7"].parts


def test_limit_and_determinism(snapshot):
    assert ids(snapshot, limit=1) == ["p-5"]
    assert rank_candidates(snapshot.index, OPENING, EARLY) == rank_candidates(
        load_snapshot_file(AFTER).index, OPENING, EARLY
    )


def test_an_opening_that_started_has_no_candidates(snapshot):
    assert ids(snapshot, datetime(2026, 3, 2, 14, 0, tzinfo=NY)) == []


def test_unknown_opening_is_a_lookup_error(snapshot):
    with pytest.raises(UnknownNameError):
        rank_candidates(snapshot.index, "op-1@2026-03-02T09:00", EARLY)


def test_evidence_holds_first_name_and_initial_only(snapshot):
    evidence = rank_candidates(snapshot.index, OPENING, EARLY)[0].as_evidence()
    assert evidence["name"] == "Eva G."
    assert set(evidence) == {"patient_id", "name", "source", "record_id", "need", "minutes", "minutes_from", "score"}
