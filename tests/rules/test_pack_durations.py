"""Durations as analysts write them: '2 hours', '1 business_day'."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from sophie.model.calendar import business_days, business_hours
from sophie.rules.language.durations import Duration, DurationSyntaxError, looks_like_duration, parse_duration


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("30 minutes", timedelta(minutes=30)),
        ("1 minute", timedelta(minutes=1)),
        ("2 hours", timedelta(hours=2)),
        ("1 day", timedelta(days=1)),
        ("3 weeks", timedelta(weeks=3)),
        ("1 business_day", business_days(1)),
        ("2 business_days", business_days(2)),
        ("4 business_hours", business_hours(4)),
        ("0 minutes", timedelta(0)),
        ("  5   days ", timedelta(days=5)),
        ("2 business days", business_days(2)),
        ("2 Business_Days", business_days(2)),
    ],
)
def test_durations_parse_to_calendar_values(text: str, value: object) -> None:
    assert parse_duration(text).value() == value


def test_a_duration_prints_in_its_canonical_form() -> None:
    assert str(parse_duration("1 business_days")) == "1 business_day"
    assert str(parse_duration("2 hour")) == "2 hours"
    assert parse_duration("2 business_hours") == Duration(2, "business_hours")
    assert parse_duration("2 business_hours").is_business


@pytest.mark.parametrize(
    ("text", "message", "suggestion"),
    [
        ("2 dayz", "unknown duration unit 'dayz'", "2 days"),
        ("1 bussiness_day", "unknown duration unit", "1 business_day"),
        ("2 fortnights", "unknown duration unit 'fortnights'", None),
        ("1.5 hours", "whole number", None),
        ("-1 days", "cannot be negative", None),
        ("two days", "is not a duration", None),
        ("days", "is not a duration", None),
        ("", "is not a duration", None),
        ("100001 days", "too long", None),
    ],
)
def test_bad_durations_say_why(text: str, message: str, suggestion: str | None) -> None:
    with pytest.raises(DurationSyntaxError, match=message) as caught:
        parse_duration(text)
    assert caught.value.suggestion == suggestion


def test_looks_like_duration_tells_attempts_from_expressions() -> None:
    assert looks_like_duration("2 dayz")
    assert not looks_like_duration("opening.start - hours(1)")
    assert not looks_like_duration("plan.presented_at")


def test_a_huge_string_parameter_is_checked_in_linear_time(tmp_path) -> None:
    # A guard, not a speed assertion: the old pattern backtracked cubically on spaces and
    # took hours on this 20 KB default; the subprocess timeout only stops a runaway.
    import subprocess
    import sys

    text = "1" + " " * 10_000 + "a" + " " * 10_000 + "!"
    pack = tmp_path / "huge.yaml"
    pack.write_text(
        "pack: huge\nversion: 1.0.0\ndescription: A huge parameter.\n"
        f"params:\n  note: {json.dumps(text)}\n"
        "rules:\n  - id: plan.x\n    title: X\n    for: treatment_plan as plan\n    when: plan.status == params.note\n"
        "    task:\n      title: X\n      owner: treatment_coordinator\n      priority: low\n      due: 1 day\n",
        encoding="utf-8",
    )
    result = subprocess.run([sys.executable, "-m", "sophie", "check", str(pack)], capture_output=True, text=True,
                            timeout=30, check=False)  # fmt: skip
    assert result.returncode in (0, 1), result.stderr
    assert len(result.stdout) < 2000


def test_long_texts_are_not_durations() -> None:
    assert not looks_like_duration("1" + " " * 5000 + "day")
    with pytest.raises(DurationSyntaxError, match="too long"):
        parse_duration("1" + " " * 5000 + "day")
