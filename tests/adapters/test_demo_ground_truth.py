"""The demo's ground truth against findings: a missed stall and a fired near-miss are both named."""

from __future__ import annotations

from sophie.adapters.demo.ground_truth import check_plants
from sophie.adapters.demo.practice import DemoPractice, DemoSettings
from sophie.rules import evaluate, load_pack


def first_morning() -> tuple[list, set[tuple[str, str]]]:
    practice = DemoPractice(DemoSettings(seed=3, patients=300))
    snapshot = practice.snapshot()
    findings = evaluate([load_pack("dental-core")], snapshot, snapshot.as_of, evidence=False).findings
    return practice.plants(), {(f.rule_id, f.subject_id) for f in findings}


def test_the_pack_meets_the_plants_and_a_change_on_either_side_is_reported():
    plants, found = first_morning()
    truth = check_plants(plants, found)
    assert truth.clean
    assert truth.stalls == sum(p.fires for p in plants) > 20
    assert truth.near_misses == sum(not p.fires for p in plants) > 20
    assert truth.summary() == (
        f"Ground truth: {truth.stalls} of {truth.stalls} planted stalls found; 0 of {truth.near_misses} planted "
        "near-misses fired."
    )

    stall = next(p for p in plants if p.fires)
    near = next(p for p in plants if not p.fires)
    broken = check_plants(plants, (found - {(stall.kind, stall.subject_id)}) | {(near.kind, near.subject_id)})
    assert not broken.clean
    assert broken.missed == (f"{stall.kind} {stall.subject_type} {stall.subject_id} ({stall.note})",)
    assert broken.fired == (f"{near.kind} {near.subject_type} {near.subject_id} ({near.note})",)
    assert broken.summary().startswith(f"Ground truth: {truth.stalls - 1} of {truth.stalls} planted stalls found; 1 of")
