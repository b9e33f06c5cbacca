"""The pack JSON Schema: valid, complete enough for editors, and in step with the loader."""

from __future__ import annotations

from typing import Any

import pytest

from sophie.rules import pack_json_schema, parse_yaml
from sophie.rules.packs.catalog import BUILTIN_PACKS_DIR, pack_tests_json_schema

jsonschema = pytest.importorskip("jsonschema")


def validator() -> Any:
    schema = pack_json_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def example_data() -> Any:
    return parse_yaml((BUILTIN_PACKS_DIR / "example.yaml").read_text(encoding="utf-8")).data


def test_the_example_pack_validates_against_the_schema() -> None:
    errors = list(validator().iter_errors(example_data()))
    assert errors == []


@pytest.mark.parametrize(
    ("change", "where"),
    [
        (lambda d: d.update(descripton="x"), "descripton"),
        (lambda d: d["rules"][0].update(tittle="x"), "tittle"),
        (lambda d: d["rules"][0]["task"].pop("owner"), "owner"),
        (lambda d: d["rules"][0].update(resolve="sometimes"), "sometimes"),
        (lambda d: d["rules"][0].update({"for": "treatmentplan"}), "treatmentplan"),
        (lambda d: d["rules"][0]["escalate"][0].update(priority="asap"), "asap"),
        (lambda d: d["rules"][0]["escalate"][0].update(after="2 busines_days"), "2 busines_days"),
        (lambda d: d["rules"][0]["escalate"][0].update(after="2 fortnights"), "2 fortnights"),
        (lambda d: d["rules"][0]["task"].update(due="2 busines_days"), "due 2 busines_days"),
    ],
)
def test_the_schema_rejects_what_the_loader_rejects(change: Any, where: str) -> None:
    data = example_data()
    change(data)
    errors = list(validator().iter_errors(data))
    assert errors, f"schema accepted a pack with {where!r}"


def test_the_schema_offers_completions_for_editors() -> None:
    schema = pack_json_schema()
    defs = schema["$defs"]
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["additionalProperties"] is False
    assert defs["Rule"]["properties"]["for"]["pattern"].startswith("^(patient|appointment|procedure|treatment_plan")
    assert "treatment_plan as plan" in defs["Rule"]["properties"]["for"]["examples"]
    assert defs["Rule"]["properties"]["resolve"]["enum"] == ["auto", "manual"]
    assert {"enum": ["low", "normal", "high", "urgent"]} in defs["Task"]["properties"]["priority"]["anyOf"]
    assert "1 business_day" in defs["Escalation"]["properties"]["after"]["examples"]
    for name, definition in defs.items():
        for key, prop in definition.get("properties", {}).items():
            assert prop.get("description") or "$ref" in prop or "allOf" in prop, f"{name}.{key} has no description"


@pytest.mark.parametrize("due", ["1 business_day", "2 business_days", "30 minutes", "1 week", "plan.presented_at + days(3)"])
def test_the_schema_accepts_every_duration_unit_and_due_expressions(due: str) -> None:
    data = example_data()
    data["rules"][0]["task"]["due"] = due
    data["rules"][0]["escalate"][0]["after"] = due if due[0].isdigit() else "1 business_day"
    assert list(validator().iter_errors(data)) == []


def test_the_tests_file_schema_takes_the_built_in_tests_files_and_rejects_what_the_loader_rejects() -> None:
    schema = pack_tests_json_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    check = jsonschema.Draft202012Validator(schema)
    for path in sorted(BUILTIN_PACKS_DIR.glob("*.tests.yaml")):
        data = parse_yaml(path.read_text(encoding="utf-8")).data
        assert list(check.iter_errors(data)) == [], path.name
        broken = [dict(data[0], expct=[])]
        assert list(check.iter_errors(broken)), "an unknown key passed"
        assert list(check.iter_errors([{k: v for k, v in data[0].items() if k != "rule"}])), "a test without rule passed"
