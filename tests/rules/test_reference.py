"""The reference an analyst reads: functions and fields in words, and pack docs that say only what is true."""

from __future__ import annotations

import json

from click.testing import CliRunner

from sophie.cli.commands import docs_commands, rules_commands
from sophie.model.enums import AppointmentStatus, ClaimStatus, ContactTopic


def functions_json() -> dict[str, object]:
    result = CliRunner().invoke(rules_commands.functions_command, ["--format", "json"])
    assert result.exit_code == 0, result.output
    data: dict[str, object] = json.loads(result.output)
    return data


def field_doc(data: dict[str, object], entity: str, name: str) -> str:
    fields = data["entities"][entity]  # type: ignore[index]
    return next(f["doc"] for f in fields if f["name"] == name)


def test_every_stored_field_says_what_it_means() -> None:
    data = functions_json()
    for entity, fields in data["entities"].items():  # type: ignore[attr-defined]
        for spec in fields:
            assert not spec["doc"].startswith("stored field"), (entity, spec["name"])
            assert len(spec["doc"].split()) >= 2 or spec["derived"], (entity, spec["name"], spec["doc"])


def test_fields_with_a_fixed_set_of_values_list_every_value() -> None:
    data = functions_json()
    for entity, name, enum in (
        ("appointment", "status", AppointmentStatus),
        ("claim", "status", ClaimStatus),
        ("contact", "topic", ContactTopic),
    ):
        doc = field_doc(data, entity, name)
        assert all(member.value in doc for member in enum), (entity, name, doc)


def test_the_functions_table_keeps_brackets_in_signatures() -> None:
    result = CliRunner().invoke(rules_commands.functions_command, [], env={"COLUMNS": "250"})
    assert result.exit_code == 0
    assert "any(test for x in list [if filter])" in result.output


def test_pack_docs_say_do_not_contact_only_for_rules_that_check_it() -> None:
    example = CliRunner().invoke(docs_commands.pack_docs_command, ["example"])
    core = CliRunner().invoke(docs_commands.pack_docs_command, ["dental-core"])
    assert example.exit_code == core.exit_code == 0
    assert "do-not-contact" not in example.output
    line = next(line for line in core.output.splitlines() if "Patients who are not called" in line)
    assert "`tx.unscheduled.first_touch`" in line
    assert "`claims.outstanding.30d`" not in line  # a claim follow-up calls the carrier, not the patient
    assert "1 business days" not in core.output
