"""How ``sophie explain`` shows values: amounts as numbers, times in the practice's zone, durations briefly."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from sophie.rules.explain import RuleExplanation, duration_text
from sophie.rules.language.interpreter import ExplainNode

NY = ZoneInfo("America/New_York")


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (timedelta(days=7, hours=1, minutes=35), "7d 1h 35m"),
        (timedelta(minutes=30), "30m"),
        (timedelta(hours=-1), "-1h"),
        (timedelta(days=-1, hours=2), "-22h"),
        (timedelta(seconds=0.4), "0s"),
        (timedelta(seconds=90), "1m 30s"),
    ],
)
def test_durations_read_briefly(value: timedelta, text: str) -> None:
    assert duration_text(value) == text


def test_explain_shows_amounts_as_numbers_and_times_in_the_practice_zone() -> None:
    fee = ExplainNode("plan.unscheduled_fees", Decimal("1535.00"), ())
    cents = ExplainNode("claim.balance", Decimal("12.50"), ())
    when = ExplainNode("now", datetime(2026, 3, 5, 16, 40, tzinfo=UTC), ())
    waited = ExplainNode("age(plan.presented_at)", timedelta(days=7, hours=1, minutes=35), ())
    root = ExplainNode("plan.unscheduled_fees > 1000", True, (fee, cents, when, waited))
    explanation = RuleExplanation(
        pack="p", rule_id="r", subject_type="treatment_plan", subject_id="tp-1",
        now=datetime(2026, 3, 5, 11, 40, tzinfo=NY), fires=True, enabled=True, tree=root, finding=None, timezone=NY,
    )  # fmt: skip
    lines = explanation.lines()
    assert "    plan.unscheduled_fees => 1535" in lines
    assert "    claim.balance => 12.5" in lines
    assert '    now => "2026-03-05T11:40:00-05:00"' in lines
    assert '    age(plan.presented_at) => "7d 1h 35m"' in lines
    values = [child["value"] for child in json.loads(json.dumps(explanation.as_dict()))["tree"]["children"]]
    assert values == [1535, 12.5, "2026-03-05T11:40:00-05:00", "7d 1h 35m"]
