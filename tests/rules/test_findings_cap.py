"""A pack whose rules fire for everything stops at a clear error, not at the end of memory."""

from __future__ import annotations

import pytest
from test_pack_evaluation import THURSDAY_10, pack_from, plans_snapshot

from sophie.errors import FindingsLimitError, SophieError
from sophie.rules import evaluate
from sophie.rules.evaluation import MAX_FINDINGS

PACK = """\
pack: p
version: 1.0.0
rules:
  - id: few
    title: T
    for: treatment_plan as plan
    when: plan.id == "tp-1"
    task: {title: "x", owner: treatment_coordinator, due: 1 day}
  - id: everything
    title: T
    for: treatment_plan as plan
    when: "true"
    task: {title: "x", owner: treatment_coordinator, due: 1 day}
"""


def snapshot(count: int):  # type: ignore[no-untyped-def]
    plans = [(f"tp-{n}", "presented", "2026-03-02T10:00:00-05:00", 10.0) for n in range(1, count + 1)]
    return plans_snapshot(*plans)


def test_more_findings_than_the_cap_is_an_error_naming_the_rule() -> None:
    with pytest.raises(FindingsLimitError) as caught:
        evaluate([pack_from(PACK)], snapshot(12), THURSDAY_10, max_findings=10)
    error = caught.value
    assert isinstance(error, SophieError)
    assert error.rule_id == "everything" and error.limit == 10 and error.count == 13
    assert "13 findings" in str(error) and "'everything' (12)" in str(error) and "max_findings" in str(error)


def test_up_to_the_cap_every_finding_is_kept() -> None:
    result = evaluate([pack_from(PACK)], snapshot(9), THURSDAY_10, max_findings=10)
    assert len(result.findings) == 10


def test_the_default_cap_is_generous() -> None:
    assert MAX_FINDINGS >= 200_000
    assert len(evaluate([pack_from(PACK)], snapshot(3), THURSDAY_10).findings) == 4


def test_a_cycle_with_too_many_findings_writes_nothing() -> None:
    from sophie.execution import ExecutionSettings, SqliteLedger, run_cycle

    with SqliteLedger(":memory:") as ledger:
        with pytest.raises(FindingsLimitError):
            run_cycle(snapshot(12), [pack_from(PACK)], ledger, now=THURSDAY_10,
                      settings=ExecutionSettings(max_findings=10))  # fmt: skip
        assert ledger.open_tasks() == []
