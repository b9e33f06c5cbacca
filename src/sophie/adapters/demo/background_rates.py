"""How often the demo's ordinary (unplanted) families trip each rule of the default pack.

The planted families are the ground truth; the thousands of background families live
ordinary lives, and ordinary lives have stalls too (a recall falls overdue, a claim waits
a month). :data:`BACKGROUND_RATES` bounds those findings per rule, per 1,000 patients, so
that a rule that starts firing on everyone fails a test instead of passing unnoticed.

The bounds were set at about 1.25 times the highest rate measured on the demo mornings
the tests use (seeds 1 and 2 with 2,000 patients on the default morning; seed 4 with 600
patients on six other mornings), rounded up to a multiple of 5 and at least 5. A rule
whose background changes on purpose (a new threshold, rules regrouped) gets its number
adjusted here, and ``docs/demo-practice.md`` shows the same table.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

__all__ = ["BACKGROUND_RATES", "BackgroundRate"]


@dataclass(frozen=True, slots=True)
class BackgroundRate:
    """At most ``per_1000`` findings of a rule per 1,000 patients outside the plants, and why any."""

    per_1000: int
    why: str


BACKGROUND_RATES: Mapping[str, BackgroundRate] = {
    "tx.unscheduled.first_touch": BackgroundRate(40, "exams present treatment every day; some is not booked yet"),
    "tx.unscheduled.second_touch": BackgroundRate(20, "presented treatment still unbooked after two weeks"),
    "tx.unscheduled.third_touch": BackgroundRate(35, "presented treatment still unbooked after two months"),
    "tx.planned_appt.not_scheduled": BackgroundRate(10, "planned appointments not yet booked"),
    "tx.huddle.patient_today_has_unscheduled_tx": BackgroundRate(5, "a patient seen today with treatment left to book"),
    "tx.preauth.no_response": BackgroundRate(5, "pre-authorizations the carrier has not answered"),
    "tx.preauth.returned_patient_not_contacted": BackgroundRate(10, "answered pre-authorizations without a call yet"),
    "tx.preauth.expiring": BackgroundRate(5, "approved pre-authorizations close to lapsing"),
    "sched.opening.today": BackgroundRate(5, "a gap in today's schedule left by the background's bookings"),
    "sched.broken.not_rescheduled": BackgroundRate(10, "ordinary cancellations and no-shows not yet rebooked"),
    "sched.unconfirmed.72h": BackgroundRate(55, "visits in the next two days not confirmed yet"),
    "sched.unconfirmed.24h": BackgroundRate(20, "visits tomorrow not confirmed yet"),
    "sched.unscheduled_list.stale": BackgroundRate(5, "appointments left on the unscheduled list"),
    "sched.chronic_breaker": BackgroundRate(10, "patients with two broken appointments in a year"),
    "recall.left_without_next_visit": BackgroundRate(15, "a cleaning today with no next visit booked"),
    "recall.due_soon.unscheduled": BackgroundRate(20, "recalls due within a month and not booked"),
    "recall.overdue": BackgroundRate(80, "recalls past due: the most common stall of a real practice"),
    "recall.overdue.6mo": BackgroundRate(85, "recalls more than six months past due"),
    "reactivation.before_inactive": BackgroundRate(50, "patients last seen 18 to 24 months ago"),
    "claims.completed_not_billed": BackgroundRate(40, "work completed yesterday or today, claim not made yet"),
    "claims.created_not_sent": BackgroundRate(40, "claims made and not sent yet (more on later mornings)"),
    "claims.secondary_on_hold": BackgroundRate(5, "secondary claims waiting on a paid primary"),
    "claims.outstanding.30d": BackgroundRate(20, "claims unanswered after 30 days"),
    "claims.outstanding.60d": BackgroundRate(25, "claims unanswered after 60 days"),
    "claims.outstanding.90d": BackgroundRate(35, "claims unanswered after 90 days"),
    "claims.received.underpaid_or_denied": BackgroundRate(15, "claims paid short or denied"),
    "billing.balance.aging": BackgroundRate(35, "family balances past 60 days with no recent statement"),
    "billing.past_due.patient_today": BackgroundRate(20, "a family with a past-due balance has a visit today"),
}
"""Rule id -> the most background findings allowed per 1,000 patients. A rule not listed: none."""
