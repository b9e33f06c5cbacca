"""``--format json`` output: the fast printer says exactly what the standard encoder says."""

from __future__ import annotations

import contextlib
import io
import json

from hypothesis import given, settings
from hypothesis import strategies as st

from sophie.cli.render import json_text, print_json

_SCALARS = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8)
_JSON = st.recursive(
    _SCALARS,
    lambda children: st.lists(children, max_size=70) | st.dictionaries(st.text(max_size=6), children, max_size=5),
    max_leaves=200,
)


def _printed(data: object) -> str:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        print_json(data)
    return out.getvalue()


def _has_long_list(data: object) -> bool:
    if isinstance(data, list):
        return len(data) > 50 or any(_has_long_list(item) for item in data)
    if isinstance(data, dict):
        return any(_has_long_list(value) for value in data.values())
    return False


@settings(max_examples=150, deadline=None)
@given(_JSON)
def test_printed_json_holds_the_same_data_and_no_raw_control_character(data):
    text = _printed(data)
    assert json.loads(text) == json.loads(json_text(data))
    assert not any(ord(char) < 0x20 and char != "\n" for char in text)
    if not _has_long_list(data):  # short lists: character for character the indented encoder's text
        assert text == json_text(data, indent=2) + "\n"


def test_a_long_list_prints_one_compact_element_a_line():
    changes = [{"change": "created", "task": {"id": f"t{n}", "title": "Call\x07 A."}} for n in range(60)]
    lines = _printed({"changes": changes, "summary": {"created": 60}}).splitlines()
    assert lines[0] == "{" and lines[1] == '  "changes": ['
    assert lines[2] == '    {"change": "created", "task": {"id": "t0", "title": "Call\\u0007 A."}},'
    assert lines[61] == '    {"change": "created", "task": {"id": "t59", "title": "Call\\u0007 A."}}'
    assert lines[62:] == ["  ],", '  "summary": {', '    "created": 60', "  }", "}"]


def test_fifty_elements_are_still_indented_and_fifty_one_are_compact():
    assert _printed([[n] for n in range(50)]) == json_text([[n] for n in range(50)], indent=2) + "\n"
    assert _printed([[n] for n in range(51)]).splitlines()[1:3] == ["  [0],", "  [1],"]
