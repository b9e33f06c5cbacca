"""Slot fill: rank the patients who could take an opening in the schedule.

Pure: the same snapshot index, opening and ``now`` give the same ranking. Nothing here
reads the clock or does I/O.

**Candidate pool** (one need per record; a patient appears once, with their best need):

* ``asap``: a scheduled appointment later than the opening, flagged ASAP;
* ``treatment``: planned procedures on a presented or accepted plan that are not booked;
* ``broken``: a cancelled or missed appointment (last 365 days) not rebooked;
* ``recall``: a recall past due (or flagged ``asap``) with nothing booked.

**Hard filters** (never relaxed): the work fits the opening's length; hygiene work goes to a
hygiene chair with a hygienist, other work to a non-hygiene chair with a dentist or
specialist; the patient may be contacted (not ``do_not_contact``, status active or
prospective, a preferred contact other than ``none``); the patient has nothing booked
that overlaps the opening; the appointment that left the gap is not offered back to the
patient who cancelled it.

**Optional constraint** (relaxed as the start nears): a patient whose primary provider is
another provider is left out, unless the opening starts within
:attr:`SlotFillPolicy.relax_within` (2 hours by default), when any provider-compatible
work is offered.

**Score** (0 to 100, higher first; ties by patient id), the sum of four parts (computed
once per snapshot, as of its ``as_of``, so that a watch loop ranks every event from the
same pool; the filters and the relaxation use the exact ``now``):

* ``value`` (≤ 40): the fee of the work, capped at ``fee_cap``;
* ``waiting`` (≤ 20): days the work has waited (since presented, broken, due or created),
  capped at ``waiting_cap_days``;
* ``urgency`` (≤ 25): clinical urgency by procedure (perio, endodontics, crowns first) and
  by source;
* ``likelihood`` (≤ 15): the chance to accept (by source: ASAP patients asked for it) times
  the chance to show (each broken appointment in the last year lowers it by 25%).
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING

from sophie.errors import UnknownNameError
from sophie.rules.slot_fill.pool import (
    DEFAULT_POLICY,
    Need,
    OpeningCandidate,
    PoolKey,
    SlotFillPolicy,
    candidate_pool,
    need_order,
)

if TYPE_CHECKING:
    from sophie.model import SnapshotIndex, View

__all__ = ["DEFAULT_POLICY", "OpeningCandidate", "SlotFillPolicy", "rank_candidates", "rank_for_opening"]


def _candidates_for(pool: dict[PoolKey, list[Need]], opening: View, relaxed: bool) -> Iterable[Need]:
    """The needs that can go in the opening's kind of chair, best first (only its provider's, unless relaxed)."""
    hygiene = bool(opening.hygiene)
    if relaxed:
        lists = [needs for (kind, _), needs in pool.items() if kind == hygiene]
    else:
        lists = [pool.get((hygiene, None), []), pool.get((hygiene, opening.provider_id), [])]
    return heapq.merge(*lists, key=need_order)


def _fits(need: Need, opening: View, minutes: float, relaxed: bool) -> bool:
    offered = need.candidate
    if offered.minutes > minutes or offered.hygiene != opening.hygiene:
        return False
    kind = str(opening.provider.kind)
    if offered.hygiene != (kind == "hygienist"):
        return False
    start, end = opening.start, opening.end
    span = need.blocked_span
    if offered.source == "asap" and span is not None and span[0] < end:
        return False  # only an appointment later than the opening can move up
    if offered.source != "asap" and span is not None and span[0] < end and start < span[1]:
        return False  # the patient who cancelled this time is not offered it back
    for busy_start, busy_end in need.busy:
        if busy_start < end and start < busy_end:
            return False
    preferred = need.patient.primary_provider_id
    return relaxed or preferred is None or preferred == opening.provider_id


def rank_for_opening(
    index: SnapshotIndex, opening: View, now: datetime, *, limit: int = 10, policy: SlotFillPolicy = DEFAULT_POLICY
) -> list[OpeningCandidate]:
    """Return the best ``limit`` candidates for the opening view ``opening`` at ``now``.

    An opening that has already started has no candidates.
    """
    if opening.start <= now or limit <= 0:
        return []
    minutes = opening.duration.total_seconds() / 60
    relaxed = opening.start - now <= policy.relax_within
    found: list[OpeningCandidate] = []
    seen: set[str] = set()
    for need in _candidates_for(candidate_pool(index, policy), opening, relaxed):
        patient_id = need.candidate.patient_id
        if patient_id in seen or not _fits(need, opening, minutes, relaxed):
            continue
        seen.add(patient_id)
        found.append(need.candidate)
        if len(found) >= limit:
            break
    return found


def rank_candidates(
    index: SnapshotIndex, opening_id: str, now: datetime, limit: int = 10, *, policy: SlotFillPolicy = DEFAULT_POLICY
) -> list[OpeningCandidate]:
    """Return the patients who could take opening ``opening_id`` at ``now``, best first.

    Args:
        index: The snapshot's index (``snapshot.index``).
        opening_id: The opening's id, ``<operatory_id>@<local start YYYY-MM-DDTHH:MM>``.
        now: The ranking time (aware); relaxation and waiting times depend on it.
        limit: At most this many candidates.
        policy: The score's weights and limits.

    Raises:
        UnknownNameError: The snapshot has no such opening.
    """
    opening = index.get("opening", opening_id)
    if opening is None:
        known = [o.id for o in index.openings][:50]
        raise UnknownNameError("opening", opening_id, known=known)
    return rank_for_opening(index, opening, now, limit=limit, policy=policy)
