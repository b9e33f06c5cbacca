"""Task titles are one bounded line: control characters refused in packs, stripped from data,
and a title that would expand without bound is cut short."""

from __future__ import annotations

import pytest
from test_pack_evaluation import THURSDAY_10, pack_from, plans_snapshot

from sophie.errors import RuleError
from sophie.rules import evaluate
from sophie.rules.language.templates import MAX_TITLE

PACK = """\
pack: p
version: 1.0.0
rules:
  - id: r
    title: T
    for: treatment_plan as plan
    when: plan.status == "presented"
    task:
      title: {title}
      owner: treatment_coordinator
      due: 1 day
"""


@pytest.mark.parametrize(("title", "column"), [('"Call\\r\\nBcc: x"', 19), ('"Call\\u001b[2J {{plan.id}}"', 19),
                                              ('"Call \\u0085x"', 20), ('"Tab\\there"', 18)])  # fmt: skip
def test_control_characters_in_a_title_template_are_a_located_error(title: str, column: int) -> None:
    with pytest.raises(RuleError) as caught:
        pack_from(PACK.format(title=title))
    diagnostic = caught.value.diagnostics[0]
    assert "control character" in diagnostic.message
    assert (diagnostic.line, diagnostic.column) == (9, column)


def test_control_characters_in_data_are_stripped_from_rendered_titles() -> None:
    snapshot = plans_snapshot(("tp-1", "presented", "2026-03-02T10:00:00-05:00", 10.0))
    data = snapshot.model_dump(mode="json")
    data["patients"][0]["first_name"] = "Ana\r\nBcc: evil@example.com\x1b[2J\x85"
    from sophie.model import parse_snapshot

    result = evaluate([pack_from(PACK.format(title='"Call {plan.patient.first_name}"'))], parse_snapshot(data),
                      THURSDAY_10)  # fmt: skip
    assert [f.title for f in result.findings] == ["Call AnaBcc: evil@example.com[2J"]


def test_a_title_is_cut_at_the_limit_with_an_ellipsis() -> None:
    snapshot = plans_snapshot(("tp-1", "presented", "2026-03-02T10:00:00-05:00", 10.0))
    data = snapshot.model_dump(mode="json")
    data["patients"][0]["first_name"] = "A" * 5_000_000
    from sophie.model import parse_snapshot

    name = "plan.patient.first_name"
    title = '"' + "{" + " + ".join([name] * 40) + "}" + "{" + name + "}" * 1 + '"'
    result = evaluate([pack_from(PACK.format(title=title))], parse_snapshot(data), THURSDAY_10)
    titles = [f.title for f in result.findings]
    errors = [e.message for e in result.errors]
    assert titles == [] and errors and "too long" in errors[0]  # concatenation past the text limit is refused
    result = evaluate([pack_from(PACK.format(title='"Call {' + name + '} now {' + name + '}"'))],
                      parse_snapshot(data), THURSDAY_10)  # fmt: skip
    (finding,) = result.findings
    assert len(finding.title) == MAX_TITLE and finding.title.startswith("Call AAA") and finding.title.endswith("…")
