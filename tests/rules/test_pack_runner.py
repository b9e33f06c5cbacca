"""Pack tests: fixtures, the default practice, exhaustive expectations, results."""

from __future__ import annotations

from sophie.rules import compile_pack, parse_yaml, run_pack_tests
from sophie.rules.packs.pack_tests import DEFAULT_PRACTICE

PACK = """\
pack: demo
version: 1.0.0
rules:
  - id: open-hours
    title: T
    for: treatment_plan as plan
    when: plan.status == "presented" and business_age(plan.presented_at) >= business_hours(2)
    task: {{title: "x", owner: '{owner}', due: 1 day}}
    tests:
{tests}"""

FIXTURE = """\
        given:
          patients: [{id: p-1, first_name: Ana, last_name: Lima}, {id: p-2, first_name: Ben, last_name: Okafor}]
          treatment_plans:
            - {id: tp-1, patient_id: p-1, status: presented, presented_at: 2026-03-06T15:30:00Z}
            - {id: tp-2, patient_id: p-2, status: presented, presented_at: 2026-03-06T10:00:00Z}
"""


def run(tests: str, owner: str = "front_desk") -> list[str]:
    pack = compile_pack(parse_yaml(PACK.format(tests=tests, owner=owner), file="demo.yaml"))
    report = run_pack_tests([pack])
    return [result.line_text() for result in report.results] + [report.summary()]


def test_the_default_practice_is_open_weekdays_eight_to_five_utc() -> None:
    assert DEFAULT_PRACTICE["timezone"] == "UTC"
    assert set(DEFAULT_PRACTICE["hours"]) == {"mon", "tue", "wed", "thu", "fri"}
    # Friday 15:30 UTC + 2 open hours = Monday 08:30 UTC (the default practice closes at 17:00).
    lines = run(
        "      - name: monday early\n        now: 2026-03-09T08:29:00Z\n"
        + FIXTURE
        + "        expect: [{subject: tp-2}]\n"
        "      - name: monday later\n        now: 2026-03-09T08:30:00Z\n"
        + FIXTURE
        + "        expect: [{subject: tp-1}, {subject: tp-2}]\n"
    )
    assert lines == ["PASS open-hours/monday early", "PASS open-hours/monday later", "2 passed, 0 failed"]


def test_expectations_are_exhaustive_and_order_free() -> None:
    lines = run(
        "      - name: one missing\n        now: 2026-03-09T12:00:00Z\n"
        + FIXTURE
        + "        expect: [{subject: tp-2}]\n"
        "      - name: reversed order\n        now: 2026-03-09T12:00:00Z\n"
        + FIXTURE
        + "        expect: [{subject: tp-2, owner: front_desk}, {subject: tp-1}]\n"
        "      - name: extra expected\n        now: 2026-03-09T12:00:00Z\n"
        + FIXTURE
        + "        expect: [{subject: tp-1}, {subject: tp-2}, {subject: tp-3}]\n"
    )
    assert lines[0].startswith("FAIL open-hours/one missing (demo.yaml:10): expected [tp-2], got [tp-1 (front_desk), ")
    assert lines[1] == "PASS open-hours/reversed order"
    assert lines[2].startswith("FAIL open-hours/extra expected")
    assert lines[-1] == "1 passed, 2 failed"


def test_a_rule_error_on_the_fixture_fails_the_test_and_says_why() -> None:
    lines = run(
        "      - name: owner from data\n        now: 2026-03-09T12:00:00Z\n" + FIXTURE + "        expect: []\n",
        owner="plan.status",
    )
    assert lines[0].startswith("FAIL open-hours/owner from data")
    assert "errors: tp-1: owner gave 'presented', which is not a known role or staff:<id>" in lines[0]


def test_as_of_defaults_to_now_and_can_be_given() -> None:
    pack = compile_pack(
        parse_yaml(
            PACK.format(
                owner="front_desk",
                tests="      - name: t\n        now: 2026-03-09T12:00:00Z\n        expect: []\n"
                "      - name: u\n        now: 2026-03-09T12:00:00Z\n        given: {as_of: 2026-03-09T11:00:00Z}\n"
                "        expect: []\n",
            )
        )
    )
    first, second = pack.rules[0].tests
    assert first.snapshot.as_of == first.now
    assert second.snapshot.as_of.hour == 11
    assert first.snapshot.practice.id == "test-practice"
