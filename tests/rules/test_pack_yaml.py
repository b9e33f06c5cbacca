"""The safe, positioned YAML reader behind pack files."""

from __future__ import annotations

import math

import pytest

from sophie.errors import RuleError
from sophie.rules.packs.yaml_source import Mark, parse_yaml


def test_plain_scalars_follow_the_yaml_1_2_core_schema() -> None:
    text = (
        "a: yes\nb: no\nc: on\nd: off\ne: NO\nf: 1:30\ng: 2026-03-05\nh: true\ni: False\nj: ~\nk:\n"
        "l: 12\nm: -3\nn: 0o17\no: 0x1f\np: 1.5\nq: .inf\nr: 1e3\ns: .nan\n"
    )
    data = parse_yaml(text).data
    assert data["a"] == "yes"
    assert data["b"] == "no"
    assert data["c"] == "on"
    assert data["d"] == "off"
    assert data["e"] == "NO"
    assert data["f"] == "1:30"
    assert data["g"] == "2026-03-05"
    assert data["h"] is True
    assert data["i"] is False
    assert data["j"] is None
    assert data["k"] is None
    assert (data["l"], data["m"], data["n"], data["o"]) == (12, -3, 15, 31)
    assert data["p"] == 1.5
    assert data["q"] == math.inf
    assert data["r"] == 1000.0
    assert math.isnan(data["s"])


def test_quoted_scalars_and_str_tags_stay_text() -> None:
    data = parse_yaml("a: '1.0'\nb: \"true\"\nc: !!str 12\nd: ! 12\n").data
    assert data == {"a": "1.0", "b": "true", "c": "12", "d": "12"}


def test_core_tags_convert_or_report() -> None:
    assert parse_yaml("a: !!float 1\nb: !!int '7'\nc: !!null ''\n").data == {"a": 1.0, "b": 7, "c": None}
    with pytest.raises(RuleError, match="'x' is not a valid !!bool"):
        parse_yaml("a: !!bool x\n")


def test_mapping_keys_are_always_text() -> None:
    assert parse_yaml("1: a\ntrue: b\nnull: c\n").data == {"1": "a", "true": "b", "null": "c"}


def test_positions_of_values_and_keys_are_one_based() -> None:
    document = parse_yaml("pack: demo\nrules:\n  - id: r1\n    when: x\n", file="p.yaml")
    source = document.source
    assert source.value_mark(("pack",)) == Mark(1, 7)
    assert source.key_mark(("pack",)) == Mark(1, 1)
    assert source.value_mark(("rules", 0)) == Mark(3, 5)
    assert source.value_mark(("rules", 0, "when")) == Mark(4, 11)
    assert source.key_mark(("rules", 0, "when")) == Mark(4, 5)
    assert source.locate(("rules", 0, "missing")) == Mark(3, 5)
    assert str(source.diagnostic(("rules", 0, "id"), "bad")) == "p.yaml:3:9: error: bad"


@pytest.mark.parametrize(
    ("text", "needle", "expected"),
    [
        ("when: plan.total > 1\n", "total", Mark(1, 12)),
        ("when: 'plan.status == ''x'' and plan.total'\n", "total", Mark(1, 38)),
        ('when: "plan.status == \\"x\\" and plan.total"\n', "total", Mark(1, 38)),
        ('when: "a\\u00e9 plan.total"\n', "total", Mark(1, 21)),
        ("when: |\n  a and\n    plan.total\n", "total", Mark(3, 10)),
        ("when: |-\n    a and\n      plan.total\n", "total", Mark(3, 12)),
        ("when: |  # comment\n  a and\n  plan.total\n", "total", Mark(3, 8)),
        ("when: >\n  a and\n  plan.total\n", "total", Mark(3, 8)),
        ("when: a and\n  plan.total\n", "total", Mark(2, 8)),
        ('when: "a and\n  plan.total"\n', "total", Mark(2, 8)),
        ("- |\n  x\n\n  plan.total\n", "total", Mark(4, 8)),
    ],
)
def test_positions_inside_scalars_of_every_style(text: str, needle: str, expected: Mark) -> None:
    document = parse_yaml(text)
    path = ("when",) if isinstance(document.data, dict) else (0,)
    value = document.data["when"] if isinstance(document.data, dict) else document.data[0]
    assert document.source.mark_in_scalar(path, value.index(needle)) == expected


def test_position_past_the_end_of_a_scalar_points_just_after_it() -> None:
    document = parse_yaml("when: plan.total ==\n")
    assert document.source.mark_in_scalar(("when",), len("plan.total ==")) == Mark(1, 20)


def test_duplicate_keys_anchors_and_tags_are_all_reported() -> None:
    with pytest.raises(RuleError) as caught:
        parse_yaml("a: 1\na: 2\nb: &x 3\nc: !!python/name:os.system x\n", file="f.yaml")
    assert [str(d) for d in caught.value.diagnostics] == [
        "f.yaml:2:1: error: duplicate key 'a' (first at line 1)",
        "f.yaml:3:4: error: anchors and aliases are not allowed (found anchor &x)",
        "f.yaml:4:4: error: tag !!python/name:os.system is not allowed; packs hold plain text, numbers, lists and "
        "mappings",
    ]


def test_deep_flow_nesting_never_raises_recursion_error() -> None:
    with pytest.raises(RuleError, match="nest"):
        parse_yaml("a: " + "[" * 5000 + "]" * 5000)


def test_a_utf8_bom_is_accepted(tmp_path: object) -> None:
    from pathlib import Path

    from sophie.rules.packs.yaml_source import read_yaml_file

    path = Path(str(tmp_path)) / "bom.yaml"
    path.write_bytes("\ufeffa: 1\n".encode())
    assert read_yaml_file(path).data == {"a": 1}
