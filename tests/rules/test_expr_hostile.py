"""Hostile expressions are rejected with located problems, never with any other exception."""

from __future__ import annotations

from pathlib import Path

import pytest

from sophie.rules.language.expressions import MAX_LENGTH, ExpressionError, Scope, check_expression
from sophie.rules.language.types import INT

CORPUS = Path(__file__).with_name("hostile_expressions.txt")
SCOPE = Scope("plan", "treatment_plan", {"x": INT, "first_touch_days": INT})


def corpus() -> list[str]:
    return [line for line in CORPUS.read_text(encoding="utf-8").split("\n") if line]


def generated() -> dict[str, str]:
    """Inputs too large or too deep to keep in the corpus file."""
    return {
        "parens-1000": "(" * 1000 + "1" + ")" * 1000,
        "brackets-1000": "[" * 1000 + "]" * 1000,
        "mixed-1000": "([" * 500 + "])" * 500,
        "unclosed-1000": "(" * 1000,
        "not-chain-999": "not " * 999 + "plan.scheduled",
        "minus-chain-1999": "- " * 1999 + "1",
        "minus-nospace-3999": "-" * 3999 + "1",
        "sum-chain": "1" + " + 1" * 999,
        "and-chain": " and ".join(["plan.scheduled"] * 300),
        "if-chain": "1 if plan.scheduled else " * 300 + "2",
        "call-chain": "lower(" * 60 + '"a"' + ")" * 60,
        "attribute-chain": "plan" + ".patient" * 70,
        "compare-chain-of-types": " < ".join(["1", "plan.status"] * 300),
        "too-long": "plan.scheduled or " * 400 + "plan.scheduled",
        "long-string": '"' + "a" * 3000 + '"',
        "long-int": "9" * 3000,
        "null-byte": "plan.status == \"a\x00\"",
        "null-byte-bare": "plan\x00.status",
        "nested-generators": "any(" * 30 + "p.fee > 0 for p in plan.procedures" + ")" * 30,
        "comment-only": "# nothing here",
        "whitespace-only": "   \n\t  ",
        "empty": "",
        "crlf-injection": "plan.scheduled\r\n; __import__('os')",
        "form-feed": "plan.scheduled\f or __import__('os')",
        "deep-lists-in-call": "len(" + "[" * 60 + "]" * 60 + ")",
    }


def assert_rejected(text: str) -> None:
    """Reject with located problems; any other exception propagates and fails the test."""
    with pytest.raises(ExpressionError) as caught:
        check_expression(text, SCOPE)
    assert caught.value.problems, text
    for problem in caught.value.problems:
        assert problem.line >= 1 and problem.column >= 1, problem
        assert problem.message


def test_the_corpus_holds_at_least_200_distinct_expressions() -> None:
    lines = corpus()
    assert len(lines) >= 200
    assert len(set(lines)) == len(lines)


@pytest.mark.parametrize("text", corpus())
def test_every_corpus_expression_is_rejected_with_a_located_problem(text: str) -> None:
    assert_rejected(text)


@pytest.mark.parametrize("name", sorted(generated()))
def test_every_generated_hostile_input_is_rejected_cleanly(name: str) -> None:
    assert_rejected(generated()[name])


def test_the_length_limit_is_checked_before_parsing() -> None:
    with pytest.raises(ExpressionError, match="too long") as caught:
        check_expression("1 + " * MAX_LENGTH + "1", SCOPE)
    assert caught.value.problems[0].line == 1


def test_deep_nesting_reports_where_the_limit_was_crossed() -> None:
    with pytest.raises(ExpressionError) as caught:
        check_expression("(" * 1000 + "1" + ")" * 1000, SCOPE)
    (problem,) = caught.value.problems
    assert (problem.line, problem.column) == (1, 51)
    assert "nested too deeply" in problem.message


def test_a_non_string_expression_is_a_problem_not_a_crash() -> None:
    with pytest.raises(ExpressionError):
        check_expression(42, SCOPE)  # type: ignore[arg-type]
