"""docs/rule-language.md stays true: its error messages, functions and examples are checked."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from sophie.rules.language.expressions import ExpressionError, Scope, check_expression
from sophie.rules.language.functions import FunctionRegistry
from sophie.rules.language.types import BOOL, INT

DOC = Path(__file__).resolve().parents[2] / "docs" / "rule-language.md"
SCOPE = Scope("plan", "treatment_plan", {"first_touch_days": INT})


def section(title: str) -> str:
    text = DOC.read_text(encoding="utf-8")
    start = text.index(f"\n## {title}\n")
    end = text.find("\n## ", start + 1)
    return text[start : end if end > 0 else None]


def cells(line: str) -> list[str]:
    parts = re.split(r"(?<!\\)\|", line.strip())[1:-1]
    return [part.strip().strip("`").replace("\\|", "|") for part in parts]


def error_rows() -> list[tuple[str, str, str]]:
    rows = [cells(line) for line in section("Error messages").splitlines() if line.startswith("| `")]
    return [(row[0], row[1], row[2]) for row in rows]


def test_the_error_catalogue_has_many_entries() -> None:
    assert len(error_rows()) >= 60


@pytest.mark.parametrize(("text", "where", "message"), error_rows())
def test_each_documented_error_message_is_what_the_checker_says(text: str, where: str, message: str) -> None:
    with pytest.raises(ExpressionError) as caught:
        check_expression(text, SCOPE, expect=BOOL if where == "when" else None)
    assert str(caught.value.problems[0]) == message


def test_every_builtin_function_is_documented() -> None:
    documented = {cells(line)[0] for line in section("Functions").splitlines() if line.startswith("| `")}
    assert documented == set(FunctionRegistry.builtin().names())


def test_the_collection_examples_check() -> None:
    block = section("Collections").split("```text")[1].split("```")[0]
    lines = [line.strip() for line in block.splitlines() if line.strip()]
    assert len(lines) == 4, lines
    for line in lines:
        check_expression(line, SCOPE)  # raises ExpressionError on any problem


def test_the_examples_of_where_expressions_appear_check() -> None:
    scopes = {"plan": SCOPE, "appointment": Scope("appointment", "appointment")}
    introduction = DOC.read_text(encoding="utf-8").split("\n## Names")[0]
    rows = [cells(line) for line in introduction.splitlines() if line.startswith("| `")]
    for row in rows:
        example = row[2]
        if example.startswith("{"):
            example = example.strip("{}").split("|")[0]
        subject = "appointment" if "appointment." in example else "plan"
        check_expression(example, scopes[subject])  # raises ExpressionError on any problem
    assert len(rows) == 4, rows
