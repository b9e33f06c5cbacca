"""A task's evidence in words, for the pages and ``sophie task show``: a group reads as its members, never raw JSON."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from pathlib import Path

import pytest

from sophie.execution.stores.sqlite.ledger import SqliteLedger
from sophie.execution.task_text import MAX_MEMBER_LINES, evidence_lines

SOPHIE = str(Path(sys.executable).with_name("sophie"))


@pytest.fixture(scope="module")
def ledger_path(tmp_path_factory):
    root = tmp_path_factory.mktemp("demo")
    subprocess.run([SOPHIE, "run", "--adapter", "demo", "--db", f"sqlite:///{root / 'ledger.db'}"],
                   check=True, capture_output=True)  # fmt: skip
    return root / "ledger.db"


@pytest.fixture(scope="module")
def tasks(ledger_path):
    with SqliteLedger(str(ledger_path)) as ledger:
        return ledger.open_tasks("demo") + ledger.find_tasks(statuses=["backlog"], practice_id="demo")


def members(task) -> list:
    found = task.evidence.get("members")
    return found if isinstance(found, list) else []


def test_a_group_of_several_reads_one_line_per_member_with_its_totals(tasks):
    task = next(t for t in tasks if len(members(t)) > 1)
    lines = {line.label: line.value for line in evidence_lines(task)}
    assert lines["Records in this task"] == str(len(members(task)))
    for member in members(task)[:MAX_MEMBER_LINES]:
        label = f"{member['type'].replace('_', ' ')} {member['id']}"
        assert label in lines and ": " in lines[label]  # its plain facts, in words
    assert any(label.endswith("(all records)") for label in lines)
    assert not any("{" in value or "evidence" in value for value in lines.values())


def test_a_group_of_one_reads_as_its_member_alone(tasks):
    task = next(t for t in tasks if len(members(t)) == 1 and any(key.startswith("group.") for key in t.evidence))
    alone = dataclasses.replace(task, evidence=members(task)[0]["evidence"])
    assert evidence_lines(task) == evidence_lines(alone)


def test_a_large_group_lists_the_first_members_and_counts_the_rest(tasks):
    task = next(t for t in tasks if len(members(t)) > 1)
    many = [dict(members(task)[0], id=f"x-{n}") for n in range(MAX_MEMBER_LINES + 3)]
    lines = evidence_lines(dataclasses.replace(task, evidence={**task.evidence, "members": many}))
    labels = [line.label for line in lines]
    assert sum(label.startswith(f"{many[0]['type'].replace('_', ' ')} x-") for label in labels) == MAX_MEMBER_LINES
    assert ("More records", "3 not listed") in [(line.label, line.value) for line in lines]


def test_sophie_task_show_names_a_groups_members_in_words(tasks, ledger_path):
    task = next(t for t in tasks if len(members(t)) > 1)
    shown = subprocess.run([SOPHIE, "task", "show", task.id, "--db", f"sqlite:///{ledger_path}"],
                           check=True, capture_output=True, text=True).stdout  # fmt: skip
    ids = [member["id"] for member in members(task)]
    assert f"members: {len(ids)}: {', '.join(ids[:10])}" in shown
    assert "Records in this task" in shown and "{'" not in shown and '"evidence"' not in shown
