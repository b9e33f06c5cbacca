"""Generate the malformed-pack corpus: python tests/rules/malformed/generate_corpus.py tests/rules/malformed

Each case is a YAML text with one "§" marking where the error must be reported; the script
removes the mark and writes it as the first-line "# expect: LINE:COL text" comment.
"""

from __future__ import annotations

import sys
from pathlib import Path

OUT = Path(sys.argv[1])

HEAD = "pack: demo\nversion: 1.0.0\n"


def rule(
    when='plan.status == "presented"',
    title='"Call {plan.patient.first_name}"',
    owner="treatment_coordinator",
    due="1 business_day",
    extra_task="",
    extra_rule="",
    for_="treatment_plan as plan",
    rid="r1",
    priority=None,
):
    task = f"      title: {title}\n      owner: {owner}\n      due: {due}\n"
    if priority is not None:
        task += f"      priority: {priority}\n"
    return f"  - id: {rid}\n    title: T\n    for: {for_}\n    when: {when}\n    task:\n{task}{extra_task}{extra_rule}"


def pack(*rules, head=HEAD, extra=""):
    return head + extra + "rules:\n" + "".join(rules)


FIXTURE_OK = """        given:
          patients:
            - {id: p-1, first_name: Ana, last_name: Lima}
          treatment_plans:
            - {id: tp-1, patient_id: p-1, status: presented, presented_at: 2026-03-02T10:00:00-05:00}
"""


def test_block(body):
    return "    tests:\n" + body


C = []


def case(name, text, expect, line=None):
    C.append((name, text, expect, line))


# ---- YAML level -------------------------------------------------------------------------
case("yaml_unclosed_flow", HEAD + "rules: [1, 2\n§", "did not find expected ',' or ']'")
case("yaml_tab_indent", HEAD + "rules:\n§\t- id: r1\n", "tab characters")
case("yaml_anchor_scalar", HEAD + "description: §&d hello\nrules: []\n", "anchors and aliases are not allowed")
case("yaml_alias", HEAD + "description: hello\nroles: [a, §*b]\nrules: []\n", "anchors and aliases are not allowed")
case("yaml_anchor_mapping", HEAD + "params: §&p\n  x: 1\nrules: []\n", "anchors and aliases are not allowed")
case("yaml_merge_key", HEAD + "params:\n  §<<: {x: 1}\nrules: []\n", "merge keys (<<) are not allowed")
case(
    "yaml_python_object",
    HEAD + "description: §!!python/object:os.system 1\nrules: []\n",
    "tag !!python/object:os.system is not allowed",
)
case("yaml_python_apply", HEAD + 'description: §!!python/object/apply:os.system ["ls"]\nrules: []\n', "is not allowed")
case("yaml_local_tag", HEAD + "description: §!secret hello\nrules: []\n", "tag !secret is not allowed")
case("yaml_binary_tag", HEAD + "description: §!!binary aGVsbG8=\nrules: []\n", "tag !!binary is not allowed")
case("yaml_set_tag", HEAD + "roles: §!!set {a, b}\nrules: []\n", "tag !!set is not allowed")
case("yaml_timestamp_tag", HEAD + "description: §!!timestamp 2026-01-01\nrules: []\n", "tag !!timestamp is not allowed")
case("yaml_bad_int_tag", HEAD + "params:\n  x: §!!int twelve\nrules: []\n", "is not a valid !!int")
case("yaml_duplicate_top_key", HEAD + "§version: 1.0.1\nrules: []\n", "duplicate key 'version' (first at line 3)")
case("yaml_duplicate_rule_key", pack(rule(extra_rule="    §title: Again\n")), "duplicate key 'title'")
case("yaml_duplicate_task_key", pack(rule(extra_task="      §owner: front_desk\n")), "duplicate key 'owner'")
case("yaml_two_documents", HEAD + "rules: []\n§---\npack: other\n", "one YAML document")
case(
    "yaml_deep_nesting",
    HEAD + "params:\n  x: " + "[" * 62 + "§" + "[" * 8 + "]" * 70 + "\nrules: []\n",
    "nested more than 64 levels",
)
case("yaml_unclosed_quote", HEAD + 'description: "unfinished\nrules: []\n§', "found unexpected end of stream")
case("yaml_bad_indentation", "pack: demo\n  version§: 1.0.0\nrules: []\n", "mapping values are not allowed")
case("yaml_empty_file", "§", "a pack file is a mapping", line=1)
case("yaml_top_level_list", "§- pack: demo\n", "a pack file is a mapping")
case("yaml_top_level_scalar", "§just some text\n", "a pack file is a mapping")
case("yaml_complex_key", HEAD + "params:\n  ? §[a, b]\n  : 1\nrules: []\n", "mapping keys must be plain text")
case("yaml_flow_complex_key", HEAD + "params: {§{a: 1}: 2}\nrules: []\n", "mapping keys must be plain text")

# ---- pack header --------------------------------------------------------------------------
case("pack_missing_name", "§version: 1.0.0\nrules: []\n", "missing required key 'pack'")
case("pack_missing_version", "§pack: demo\nrules: []\n", "missing required key 'version'")
case("pack_missing_rules", "§pack: demo\nversion: 1.0.0\n", "missing required key 'rules'")
case("pack_unknown_key", HEAD + "§descripton: typo\nrules: []\n", "unknown key 'descripton'")
case("pack_unknown_key_rule", HEAD + "§rule: []\n", "unknown key 'rule'")
case("pack_version_float", "pack: demo\nversion: §1.0\nrules: []\n", "version '1.0' is not a semantic version")
case("pack_version_four_parts", "pack: demo\nversion: §1.0.0.0\nrules: []\n", "is not a semantic version")
case("pack_version_v_prefix", "pack: demo\nversion: §v1.0.0\nrules: []\n", "is not a semantic version")
case("pack_name_uppercase", "pack: §Dental Core\nversion: 1.0.0\nrules: []\n", "pack name 'Dental Core'")
case("pack_rules_mapping", HEAD + "rules: §{a: 1}\n", "'rules' must be a list")
case("pack_rules_scalar", HEAD + "rules: §none yet\n", "'rules' must be a list")
case("pack_roles_not_list", HEAD + "roles: §front_desk\nrules: []\n", "expected a list")
case("pack_role_bad_name", HEAD + "roles: [§Front Desk]\nrules: []\n", "must be a lower_snake_case name")
case("pack_params_not_mapping", HEAD + "params: §[a, b]\nrules: []\n", "expected a mapping")
case("pack_param_bad_name", HEAD + "params:\n  §Bad-Name: 1\nrules: []\n", "must be a lower_snake_case name")
case("pack_param_mapping_value", HEAD + "params:\n  x: §{a: 1}\nrules: []\n", "a parameter is a number, text")
case("pack_param_mixed_list", HEAD + "params:\n  x: §[1, a]\nrules: []\n", "a list parameter holds values of one kind")
case("pack_description_list", HEAD + "description: §[a, b]\nrules: []\n", "expected text, got a list")
case("pack_version_missing_value", "pack: demo\nversion:§\nrules: []\n", "expected text, got nothing")

# ---- rule structure -------------------------------------------------------------------------
case("rule_not_mapping", pack("  - §just text\n"), "expected a mapping")
case(
    "rule_missing_id",
    pack(
        "  - §title: T\n    for: patient\n    when: patient.insured\n    task: {title: x, owner: front_desk, due: 1 day}\n"
    ),
    "missing required key 'id'",
)
case(
    "rule_missing_title",
    pack(
        "  - §id: r1\n    for: patient\n    when: patient.insured\n    task: {title: x, owner: front_desk, due: 1 day}\n"
    ),
    "missing required key 'title'",
)
case(
    "rule_missing_for",
    pack("  - §id: r1\n    title: T\n    when: patient.insured\n    task: {title: x, owner: front_desk, due: 1 day}\n"),
    "missing required key 'for'",
)
case(
    "rule_missing_when",
    pack("  - §id: r1\n    title: T\n    for: patient\n    task: {title: x, owner: front_desk, due: 1 day}\n"),
    "missing required key 'when'",
)
case(
    "rule_missing_task",
    pack("  - §id: r1\n    title: T\n    for: patient\n    when: patient.insured\n"),
    "missing required key 'task'",
)
case("rule_unknown_key", pack(rule(extra_rule="    §tittle: typo\n")), "unknown key 'tittle'")
case("rule_unknown_key_escalation", pack(rule(extra_rule="    §escalation: []\n")), "unknown key 'escalation'")
case("rule_bad_id", pack(rule(rid='§"bad id!"')), "rule id 'bad id!'")
case("rule_duplicate_id", pack(rule(), rule(rid="§r1")), "duplicate rule id 'r1' (first at line")
case("rule_unknown_entity", pack(rule(for_="§treatmentplan as plan")), "unknown entity type 'treatmentplan'")
case(
    "rule_unknown_entity_plural",
    pack(rule(for_="§patients", when="patients.insured")),
    "unknown entity type 'patients'",
)
case(
    "rule_for_missing_as",
    pack(rule(for_="§treatment_plan plan")),
    "'for' must be '<entity type>' or '<entity type> as <name>'",
)
case("rule_for_wrong_keyword", pack(rule(for_="§treatment_plan like plan")), "'for' must be")
case("rule_for_reserved_alias", pack(rule(for_="§treatment_plan as params")), "alias 'params' is a reserved name")
case("rule_for_bad_alias", pack(rule(for_="§treatment_plan as Plan")), "alias 'Plan' must be a lower_snake_case name")
case("rule_for_number", pack(rule(for_="§42")), "'for' must be")
case("rule_enabled_yes", pack(rule(extra_rule="    enabled: §yes\n")), "expected true or false")
case("rule_resolve_typo", pack(rule(extra_rule="    resolve: §automatic\n")), "resolve must be 'auto' or 'manual'")
case("rule_when_empty", pack(rule(when='§""')), "must not be empty")
case("rule_when_list", pack(rule(when="§[a, b]")), "expected text, got a list")
case("rule_tests_not_list", pack(rule(extra_rule="    tests: §{name: x}\n")), "expected a list")
case(
    "rule_task_not_mapping",
    pack("  - id: r1\n    title: T\n    for: patient\n    when: patient.insured\n    task: §call them\n"),
    "expected a mapping",
)
case(
    "rule_title_null",
    pack(
        "  - id: r1\n    title:§\n    for: patient\n    when: patient.insured\n    task: {title: x, owner: front_desk, due: 1 day}\n"
    ),
    "expected text, got nothing",
)

# ---- task -----------------------------------------------------------------------------------
case(
    "task_missing_owner",
    pack(
        "  - id: r1\n    title: T\n    for: patient\n    when: patient.insured\n    task:\n      §title: x\n      due: 1 day\n"
    ),
    "missing required key 'owner'",
)
case(
    "task_missing_title",
    pack(
        "  - id: r1\n    title: T\n    for: patient\n    when: patient.insured\n    task:\n      §owner: front_desk\n      due: 1 day\n"
    ),
    "missing required key 'title'",
)
case(
    "task_missing_due",
    pack(
        "  - id: r1\n    title: T\n    for: patient\n    when: patient.insured\n    task: §{title: x, owner: front_desk}\n"
    ),
    "missing required key 'due'",
)
case("task_unknown_key", pack(rule(extra_task="      §owners: front_desk\n")), "unknown key 'owners'")
case("task_unknown_role_typo", pack(rule(owner="§treatment_cordinator")), "unknown role 'treatment_cordinator'")
case("task_unknown_role", pack(rule(owner="§janitor")), "unknown role 'janitor'")
case("task_priority_typo", pack(rule(priority="§hgh")), "unknown priority 'hgh'")
case("task_priority_unknown", pack(rule(priority="§critical")), "unknown priority 'critical'")
case("task_priority_expr_type", pack(rule(priority="'§plan.total + 1'")), "text")
case("task_due_unit_typo", pack(rule(due="§2 bizness_days")), "unknown duration unit 'bizness_days'")
case("task_due_negative", pack(rule(due="§-1 days")), "cannot be negative")
case("task_due_fraction", pack(rule(due="§1.5 hours")), "whole number")
case("task_due_expr_type", pack(rule(due="§plan.total")), "date and time")
case("task_owner_expr_type", pack(rule(owner="§plan.total")), "text")
case("task_owner_staff_empty", pack(rule(owner='§"staff:"')), "write staff:<id>")
case("task_owner_staff_space", pack(rule(owner='§"staff: s-1"')), "write staff:<id>")
case("task_title_empty", pack(rule(title='§""')), "must not be empty")

# ---- escalation -------------------------------------------------------------------------------
case("escalate_not_list", pack(rule(extra_rule="    escalate: §office_manager\n")), "expected a list")
case(
    "escalate_missing_after",
    pack(rule(extra_rule="    escalate:\n      - §to: office_manager\n")),
    "missing required key 'after'",
)
case("escalate_bad_unit", pack(rule(extra_rule="    escalate:\n      - after: §2 dayz\n")), "did you mean '2 days'")
case("escalate_words", pack(rule(extra_rule="    escalate:\n      - after: §two days\n")), "is not a duration")
case(
    "escalate_unknown_role",
    pack(rule(extra_rule="    escalate:\n      - after: 2 days\n        to: §ofice_manager\n")),
    "unknown role 'ofice_manager'",
)
case(
    "escalate_bad_priority",
    pack(rule(extra_rule="    escalate:\n      - after: 2 days\n        priority: §asap\n")),
    "unknown priority 'asap'",
)
case(
    "escalate_unknown_key",
    pack(rule(extra_rule="    escalate:\n      - after: 2 days\n        §tp: office_manager\n")),
    "unknown key 'tp'",
)
case("escalate_after_number", pack(rule(extra_rule="    escalate:\n      - after: §2\n")), "is not a duration")

# ---- expressions ------------------------------------------------------------------------------
case("expr_misspelt_field", pack(rule(when='plan.§stauts == "presented"')), "stauts")
case("expr_unknown_name", pack(rule(when='§pln.status == "presented"')), "pln")
case("expr_date_vs_number", pack(rule(when="§plan.presented_at > 3")), "")
case("expr_syntax_error", pack(rule(when="plan.status ==§ ")), "")
case("expr_unknown_function", pack(rule(when="§busines_age(plan.presented_at) >= business_days(2)")), "busines_age")
case("expr_wrong_arg_count", pack(rule(when="business_age(plan.presented_at) >= §business_days(1, 2)")), "")
case("expr_not_bool", pack(rule(when="§plan.total")), "")
case(
    "expr_unknown_param",
    pack(rule(when="plan.total > params.§threshhold"), extra="params:\n  threshold: 100\n"),
    "threshhold",
)
case("expr_method_call", pack(rule(when='plan.status.§upper() == "X"')), "")
case("expr_dunder", pack(rule(when="plan.§__class__ == 1")), "")
case("expr_eval_call", pack(rule(when='§eval("1") == 1')), "eval")
case("expr_import", pack(rule(when='§__import__("os") == 1')), "")
case("expr_list_comprehension", pack(rule(when="'§[p for p in plan.procedures] == []'")), "")
case("expr_str_plus_int", pack(rule(when="§plan.status + 1 == 2")), "")
case("expr_double_quoted", pack(rule(when="\"plan.status == 'presented' and plan.§totl > 1\"")), "totl")
case("expr_single_quoted", pack(rule(when="'plan.status == ''presented'' and plan.§totl > 1'")), "totl")
case("expr_block_literal", pack(rule(when='|\n      plan.status == "presented"\n      and plan.§totl > 1')), "totl")
case(
    "expr_block_literal_indented",
    pack(rule(when='|\n      plan.status == "presented"\n      and (\n        plan.§totl > 1\n      )')),
    "totl",
)
case(
    "expr_block_literal_strip",
    pack(rule(when='|-\n      plan.status == "presented"\n      and plan.§totl > 1')),
    "totl",
)
case("expr_block_folded", pack(rule(when='>\n      plan.status == "presented"\n      and plan.§totl > 1')), "totl")
case("expr_plain_multiline", pack(rule(when='plan.status == "presented"\n      and plan.§totl > 1')), "totl")
case(
    "expr_block_with_comment",
    pack(rule(when='|   # the condition\n      plan.status == "presented"\n      and plan.§totl > 1')),
    "totl",
)
case("expr_assignment", pack(rule(when="§plan.total = 1")), "")
case("expr_lambda", pack(rule(when="'§(lambda: 1)() == 1'")), "")
case(
    "expr_alias_default_name",
    pack(rule(for_="treatment_plan", when='§plan.status == "presented"', title='"x"')),
    "plan",
)

# ---- templates ---------------------------------------------------------------------------------
case("template_misspelt_field", pack(rule(title='"Call {plan.patient.§frist_name}"')), "frist_name")
case("template_unknown_filter", pack(rule(title='"Owes {plan.total|§mony}"')), "unknown filter 'mony'")
case("template_unclosed", pack(rule(title='"Call §{plan.id"')), "unclosed '{'")
case("template_single_close", pack(rule(title='"Call plan§} now"')), "single '}'")
case("template_empty_placeholder", pack(rule(title='"Call §{} now"')), "empty placeholder")
case("template_entity_value", pack(rule(title='"Call {§plan.patient}"')), "name a field of it")
case("template_key_error", pack(rule(extra_task='      key: "{plan.§idd}"\n')), "idd")
case(
    "template_block",
    pack(rule(title="|\n        Call {plan.patient.first_name}\n        about {plan.§totl|money}")),
    "totl",
)
case("template_syntax", pack(rule(title='"Call {plan.id ==§}"')), "")
case("template_single_quoted", pack(rule(title="'It''s {plan.§totl}'")), "totl")


# ---- tests and fixtures ------------------------------------------------------------------------------
def with_test(body):
    return pack(rule(extra_rule=test_block(body)))


case(
    "test_missing_name",
    with_test("      - §now: 2026-03-05T10:00:00-05:00\n        expect: []\n"),
    "missing required key 'name'",
)
case("test_missing_now", with_test("      - §name: t\n        expect: []\n"), "missing required key 'now'")
case(
    "test_naive_now",
    with_test("      - name: t\n        now: §2026-03-05T10:00:00\n        expect: []\n"),
    "needs a UTC offset",
)
case(
    "test_garbage_now",
    with_test("      - name: t\n        now: §next tuesday\n        expect: []\n"),
    "expected a datetime",
)
case(
    "test_missing_expect",
    with_test("      - §name: t\n        now: 2026-03-05T10:00:00-05:00\n"),
    "missing required key 'expect'",
)
case(
    "test_unknown_key",
    with_test("      - name: t\n        now: 2026-03-05T10:00:00-05:00\n        §expected: []\n        expect: []\n"),
    "unknown key 'expected'",
)
case(
    "test_expect_not_list",
    with_test("      - name: t\n        now: 2026-03-05T10:00:00-05:00\n        expect: §tp-1\n"),
    "expected a list",
)
case(
    "test_expect_missing_subject",
    with_test("      - name: t\n        now: 2026-03-05T10:00:00-05:00\n        expect: [§{owner: front_desk}]\n"),
    "missing required key 'subject'",
)
case(
    "test_given_not_mapping",
    with_test("      - name: t\n        now: 2026-03-05T10:00:00-05:00\n        given: §[]\n        expect: []\n"),
    "expected a mapping",
)
case(
    "fixture_missing_field",
    with_test(
        "      - name: t\n        now: 2026-03-05T10:00:00-05:00\n        given:\n          patients:\n            - §{id: p-1, first_name: Ana}\n        expect: []\n"
    ),
    "last_name: required field is missing",
)
case(
    "fixture_unknown_field",
    with_test(
        "      - name: t\n        now: 2026-03-05T10:00:00-05:00\n        given:\n          patients:\n            - {id: p-1, §first_nam: Ana, last_name: Lima}\n        expect: []\n"
    ),
    "unknown field",
)
case(
    "fixture_bad_enum",
    with_test(
        "      - name: t\n        now: 2026-03-05T10:00:00-05:00\n        given:\n          patients:\n            - {id: p-1, first_name: Ana, last_name: Lima}\n          treatment_plans:\n            - {id: tp-1, patient_id: p-1, status: §presnted}\n        expect: []\n"
    ),
    "treatment_plans[0] (id=tp-1).status",
)
case(
    "fixture_dangling_reference",
    with_test(
        "      - name: t\n        now: 2026-03-05T10:00:00-05:00\n        given:\n          treatment_plans:\n            - {id: tp-1, patient_id: §p-9, status: presented}\n        expect: []\n"
    ),
    "names no record in patients",
)
case(
    "fixture_naive_datetime",
    with_test(
        "      - name: t\n        now: 2026-03-05T10:00:00-05:00\n        given:\n          patients:\n            - {id: p-1, first_name: Ana, last_name: Lima}\n          treatment_plans:\n            - {id: tp-1, patient_id: p-1, status: presented, presented_at: §2026-03-02T10:00:00}\n        expect: []\n"
    ),
    "no timezone",
)
case(
    "fixture_unknown_section",
    with_test(
        "      - name: t\n        now: 2026-03-05T10:00:00-05:00\n        given:\n          §patient: []\n        expect: []\n"
    ),
    "unknown field",
)
case(
    "fixture_bad_practice",
    with_test(
        '      - name: t\n        now: 2026-03-05T10:00:00-05:00\n        given:\n          practice: §{id: x, name: X, timezone: Mars/Olympus, hours: {mon: [["08:00", "17:00"]]}}\n        expect: []\n'
    ),
    "unknown timezone",
)
case(
    "fixture_section_not_list",
    with_test(
        "      - name: t\n        now: 2026-03-05T10:00:00-05:00\n        given:\n          patients: §{id: p-1}\n        expect: []\n"
    ),
    "patients",
)
case(
    "fixture_duplicate_id",
    with_test(
        "      - name: t\n        now: 2026-03-05T10:00:00-05:00\n        given:\n          patients:\n            - {id: p-1, first_name: Ana, last_name: Lima}\n            - {id: §p-1, first_name: Ben, last_name: Okafor}\n        expect: []\n"
    ),
    "duplicate id 'p-1'",
)
case(
    "test_params_unknown",
    pack(
        rule(
            extra_rule=test_block(
                "      - name: t\n        now: 2026-03-05T10:00:00-05:00\n        params: {§frist: 1}\n        expect: []\n"
            )
        ),
        extra="params:\n  first: 2\n",
    ),
    "the pack has no parameter 'frist'",
)
case(
    "test_params_wrong_type",
    pack(
        rule(
            extra_rule=test_block(
                "      - name: t\n        now: 2026-03-05T10:00:00-05:00\n        params: {first: §abc}\n        expect: []\n"
            )
        ),
        extra="params:\n  first: 2\n",
    ),
    "takes a whole number",
)

OUT.mkdir(parents=True, exist_ok=True)
for old in OUT.glob("*.yaml"):
    old.unlink()
names = set()
for name, text, expect, fixed_line in C:
    assert name not in names, name
    names.add(name)
    assert text.count("§") == 1, name
    at = text.index("§")
    before = text[:at]
    line = fixed_line or before.count("\n") + 2  # +1 for the header line
    col = at - (before.rfind("\n") + 1) + 1
    body = text.replace("§", "")
    (OUT / f"{name}.yaml").write_text(f"# expect: {line}:{col} {expect}\n{body}", encoding="utf-8")
print(len(C), "cases")
