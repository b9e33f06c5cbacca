"""``note``: a person's remark on a task, audited, with the task's status and clocks unchanged."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from sophie.cli import cli
from sophie.errors import TransitionError
from sophie.execution.actions import NOTE_LIMIT, Action, apply_action

NOW = "2026-03-03T10:30:00-05:00"


def test_a_note_is_audited_and_changes_nothing_else(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    assert runner.invoke(cli, ["init", "--adapter", "demo"]).exit_code == 0
    created = json.loads(runner.invoke(cli, ["run", "--now", NOW, "--format", "json"]).stdout)
    task = created["changes"][0]["task"]
    noted = runner.invoke(cli, ["task", "note", task["id"], "--text", "left a voicemail", "--by", "s-6", "--now", NOW])
    assert noted.exit_code == 0, noted.stderr
    shown = json.loads(runner.invoke(cli, ["task", "show", task["id"], "--format", "json"]).stdout)
    last = shown["audit"][-1]
    assert (last["kind"], last["actor"], last["data"]["note"]) == ("noted", "staff:s-6", "left a voicemail")
    assert shown["task"]["status"] == task["status"] and shown["task"]["due_at"] == task["due_at"]


def test_an_empty_or_overlong_note_is_refused(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    runner.invoke(cli, ["init", "--adapter", "demo"])
    runner.invoke(cli, ["run", "--now", NOW])
    from sophie.execution import SqliteLedger

    with SqliteLedger("sophie.db") as ledger:
        task = ledger.queue()[0]
    for text in ("  ", "x" * (NOTE_LIMIT + 1)):
        with pytest.raises(TransitionError):
            apply_action(task, Action.NOTE, now=task.updated_at, reason=text)
