"""Changing a snapshot between cycles with ``model_copy``: the copy's index follows its records."""

from __future__ import annotations

import sophie

EXAMPLE = "examples/snapshots/cancellation-morning.yaml"


def test_a_copy_with_changed_records_is_indexed_afresh() -> None:
    snapshot = sophie.load_snapshot_file(EXAMPLE)
    first = snapshot.appointments[0]
    assert snapshot.index.get("appointment", first.id).confirmed is first.confirmed  # built and cached
    changed = [a.model_copy(update={"confirmed": not a.confirmed}) if a.id == first.id else a
               for a in snapshot.appointments]  # fmt: skip
    copy = snapshot.model_copy(update={"appointments": changed})
    assert copy.index is not snapshot.index
    assert copy.index.get("appointment", first.id).confirmed is not first.confirmed
    assert snapshot.index.get("appointment", first.id).confirmed is first.confirmed  # the original is untouched


def test_a_copy_without_a_record_no_longer_finds_it() -> None:
    snapshot = sophie.load_snapshot_file(EXAMPLE)
    gone = snapshot.claims[0].id
    assert snapshot.index.get("claim", gone) is not None
    copy = snapshot.model_copy(update={"claims": snapshot.claims[1:]})
    assert copy.index.get("claim", gone) is None
    assert copy.index.count("claim") == snapshot.index.count("claim") - 1
