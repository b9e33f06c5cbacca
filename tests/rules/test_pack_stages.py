"""Stages of one stall: ``task.continues`` chains, and the located errors ``sophie check`` gives."""

from __future__ import annotations

import pytest

from sophie.errors import RuleError
from sophie.rules import compile_pack, load_pack, parse_yaml
from sophie.rules.packs.pack_schema import Pack

HEAD = "pack: demo\nversion: 1.0.0\nrules:\n"


def rule(rule_id: str, *, for_: str = "claim", key: str | None = None, continues: str | None = None) -> str:
    lines = [
        f"  - id: {rule_id}",
        "    title: T",
        f"    for: {for_}",
        "    when: 'true'",
        "    task:",
        "      title: x",
        "      owner: front_desk",
        "      due: 1 business_day",
    ]
    if key is not None:
        lines.append(f'      key: "{key}"')
    if continues is not None:
        lines.append(f"      continues: {continues}")
    return "\n".join(lines) + "\n"


def load(*rules: str):
    return compile_pack(parse_yaml(HEAD + "".join(rules), file="p.yaml"))


def errors(*rules: str) -> list[str]:
    with pytest.raises(RuleError) as caught:
        load(*rules)
    return [str(d) for d in caught.value.diagnostics]


def test_a_chain_gives_every_stage_the_first_rules_stall_and_its_place():
    pack = load(rule("c.30d"), rule("c.60d", continues="c.30d"), rule("c.90d", continues="c.60d"), rule("other"))
    stages = {r.id: (r.stall, r.stall_type, r.stage) for r in pack.rules}
    assert stages == {
        "c.30d": ("c.30d", "claim", 1),
        "c.60d": ("c.30d", "claim", 2),
        "c.90d": ("c.30d", "claim", 3),
        "other": ("other", "claim", 1),
    }


def test_stages_of_different_subjects_share_a_stall_through_their_keys():
    pack = load(
        rule("recall.late", for_="recall", key="{recall.patient_id}"),
        rule("patient.lapsed", for_="patient", key="{patient.id}", continues="recall.late"),
    )
    assert pack.rule("patient.lapsed").stall_type == "recall"


def test_an_unknown_rule_is_located_and_the_closest_suggested():
    found = errors(rule("c.30d"), rule("c.60d", continues="c.3od"))
    assert any("p.yaml:20:" in e and "task.continues names no rule 'c.3od'" in e and "c.30d" in e for e in found)


def test_a_rule_cannot_continue_itself():
    found = errors(rule("c.30d", continues="c.30d"))
    assert any("p.yaml:12:18:" in e and "cannot continue itself" in e for e in found)


def test_a_loop_is_refused():
    found = errors(rule("a", continues="b"), rule("b", continues="a"))
    assert any("loops back" in e for e in found)


def test_a_stage_is_continued_by_one_rule_only():
    found = errors(rule("a"), rule("b", continues="a"), rule("c", continues="a"))
    assert any("p.yaml:29:" in e and "already continued by 'b'" in e for e in found)


def test_stages_of_one_subject_type_need_the_same_key():
    found = errors(rule("a", key="{claim.patient_id}"), rule("b", continues="a"))
    assert any("must be the key of 'a'" in e for e in found)


def test_stages_of_different_subject_types_need_keys():
    found = errors(rule("a", for_="recall"), rule("b", for_="patient", continues="a"))
    assert any("needs a task.key in both rules" in e for e in found)


def test_the_pack_schema_documents_continues():
    task = Pack.model_json_schema()["$defs"]["Task"]["properties"]
    assert "continues" in task and "next stage" in task["continues"]["description"]


def test_dental_core_chains_the_stages_of_its_stalls():
    pack = load_pack("dental-core")
    chains = {}
    for r in pack.rules:
        chains.setdefault(r.stall, []).append((r.stage, r.id))
    assert sorted(chains["sched.unconfirmed.72h"]) == [(1, "sched.unconfirmed.72h"), (2, "sched.unconfirmed.24h")]
    assert [i for _, i in sorted(chains["claims.outstanding.30d"])] == [
        "claims.outstanding.30d", "claims.outstanding.60d", "claims.outstanding.90d",
    ]  # fmt: skip
    assert [i for _, i in sorted(chains["recall.due_soon.unscheduled"])] == [
        "recall.due_soon.unscheduled", "recall.overdue", "recall.overdue.6mo", "reactivation.before_inactive",
    ]  # fmt: skip
    assert [i for _, i in sorted(chains["tx.unscheduled.first_touch"])] == [
        "tx.unscheduled.first_touch", "tx.unscheduled.second_touch", "tx.unscheduled.third_touch",
    ]  # fmt: skip
