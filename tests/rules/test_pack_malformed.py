"""Every malformed pack in tests/rules/malformed/ fails to load with a located error.

Each file starts with ``# expect: LINE:COL SUBSTRING``: some diagnostic must sit at
exactly that line and column and contain the substring (the corpus generator marked
the position in the text, so the expectations were written, not recorded).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from sophie.errors import RuleError
from sophie.rules import load_pack, parse_yaml
from sophie.rules.packs.yaml_source import YamlLimits

CORPUS = Path(__file__).parent / "malformed"
CASES = sorted(CORPUS.glob("*.yaml"))
_EXPECT = re.compile(r"^# expect: (\d+):(\d+) ?(.*)$")


def test_the_corpus_holds_at_least_a_hundred_packs() -> None:
    assert len(CASES) >= 100


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_malformed_pack_reports_a_located_error(path: Path) -> None:
    match = _EXPECT.match(path.read_text(encoding="utf-8").splitlines()[0])
    assert match, f"{path.name} lacks its '# expect: LINE:COL text' line"
    line, column, text = int(match[1]), int(match[2]), match[3]
    with pytest.raises(RuleError) as caught:
        load_pack(path)
    diagnostics = caught.value.diagnostics
    assert diagnostics
    assert all(d.file == str(path) for d in diagnostics)
    shown = "\n".join(str(d) for d in diagnostics)
    assert any(d.line == line and d.column == column and text in str(d) for d in diagnostics), shown
    assert "Traceback" not in shown
    for diagnostic in diagnostics:
        assert re.match(rf"^{re.escape(str(path))}:\d+:\d+: error: .+", str(diagnostic))


def test_a_file_over_the_size_limit_is_refused_before_parsing(tmp_path: Path) -> None:
    pack = tmp_path / "big.yaml"
    pack.write_text("pack: big\nversion: 1.0.0\nrules: []\n# " + "x" * (1024 * 1024) + "\n", encoding="utf-8")
    with pytest.raises(RuleError, match=r"big.yaml:1:1: error: the file is \d+ bytes; the limit is 1048576"):
        load_pack(pack)


def test_a_file_that_is_not_utf8_is_refused_with_its_line(tmp_path: Path) -> None:
    pack = tmp_path / "latin.yaml"
    pack.write_bytes(b"pack: demo\nversion: 1.0.0\ndescription: caf\xe9\nrules: []\n")
    with pytest.raises(RuleError, match=r"latin.yaml:3:1: error: the file is not UTF-8 text"):
        load_pack(pack)


def test_too_many_values_are_refused() -> None:
    text = "params:\n  x: [" + ", ".join("1" for _ in range(200)) + "]\n"
    with pytest.raises(RuleError, match="more than 100 values"):
        parse_yaml(text, limits=YamlLimits(max_nodes=100))


def test_a_billion_laughs_document_is_refused_at_the_first_anchor() -> None:
    laughs = 'a: &a ["lol","lol","lol"]\nb: &b [*a,*a,*a]\nc: &c [*b,*b,*b]\n'
    with pytest.raises(RuleError) as caught:
        parse_yaml(laughs, file="bomb.yaml")
    assert str(caught.value.diagnostics[0]) == (
        "bomb.yaml:1:4: error: anchors and aliases are not allowed (found anchor &a)"
    )


def test_a_missing_file_is_an_error_not_a_crash(tmp_path: Path) -> None:
    from sophie.errors import UnknownNameError

    with pytest.raises(UnknownNameError, match="unknown pack file"):
        load_pack(str(tmp_path / "nope.yaml"))


def test_all_problems_of_a_file_are_reported_at_once() -> None:
    text = """\
pack: demo
version: 1.0
rules:
  - id: r1
    title: T
    for: treatment_plan as plan
    when: plan.stauts == "presented"
    task: {title: "x", owner: janitor, due: 1 day}
  - id: r2
    title: T
    for: patien
    when: patient.insured
    task: {title: "x", owner: front_desk, due: 2 dayz}
  - id: r3
    title: T
    for: patient
    when: patient.insured
    task: {title: "{patient.frist_name}", owner: front_desk, due: 1 day}
"""
    from sophie.rules import compile_pack

    with pytest.raises(RuleError) as caught:
        compile_pack(parse_yaml(text, file="many.yaml"))
    lines = [str(d) for d in caught.value.diagnostics]
    assert lines == [
        "many.yaml:2:10: error: version '1.0' is not a semantic version MAJOR.MINOR.PATCH, e.g. 1.0.0",
        "many.yaml:7:16: error: treatment_plan has no field 'stauts' (did you mean 'status'?)",
        "many.yaml:8:31: error: unknown role 'janitor'; declare it under 'roles:' or use a built-in role or staff:<id>",
        "many.yaml:11:10: error: unknown entity type 'patien'; rules can be written for patient, appointment, "
        "procedure, treatment_plan, claim, recall, contact, balance, opening (did you mean 'patient'?)",
        "many.yaml:13:48: error: unknown duration unit 'dayz' in '2 dayz'; use one of minutes, hours, days, "
        "weeks, business_days, business_hours (did you mean '2 days'?)",
        "many.yaml:18:29: error: patient has no field 'frist_name' (did you mean 'first_name'?)",
    ]
