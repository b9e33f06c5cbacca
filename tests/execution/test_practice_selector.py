"""``sophie queue``, ``sophie task`` and ``sophie ledger verify`` on a ledger of several practices, run as a user runs them.

The same commands on a SQLite file and on a real PostgreSQL schema: a ledger holding
several practices needs ``--practice`` for the queue (exit 2 naming them when missing),
and a task id that is not whole is looked up within ``--practice``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from execution_fakes import PACK, clinic_data

SOPHIE = os.path.join(os.path.dirname(sys.executable), "sophie")
THU = "2026-03-05T10:00:00-05:00"


def sophie(*args: str) -> tuple[int, str, str]:
    done = subprocess.run([SOPHIE, *args], capture_output=True, text=True, timeout=120)
    return done.returncode, done.stdout, done.stderr


@pytest.fixture
def group(ledger_url: str, tmp_path: Path) -> str:
    """A ledger holding the tasks of two practices, north and south, each from one ``sophie run``."""
    for practice in ("north", "south"):
        data = clinic_data("2026-03-05T10:00")
        data["practice"]["id"] = practice
        snapshot = tmp_path / f"{practice}.json"
        snapshot.write_text(json.dumps(data))
        code, _, err = sophie("run", "--adapter", "files", "--source", str(snapshot), "--pack", str(PACK),
                              "--db", ledger_url, "--now", THU)  # fmt: skip
        assert code == 0, err
    return ledger_url


def queue(url: str, *extra: str) -> list[dict]:
    code, out, err = sophie("queue", "--db", url, "--format", "json", *extra)
    assert code == 0, err
    return list(json.loads(out)["tasks"])


def test_the_queue_of_a_ledger_of_several_practices_needs_one_named(group):
    code, out, err = sophie("queue", "--db", group)
    assert (code, out) == (2, "")
    assert err.splitlines() == [
        "sophie: error: this ledger holds 2 practices (north, south); choose one with --practice ID"
    ]
    north = queue(group, "--practice", "north")
    assert north and {task["key"].split(":")[0] for task in north} == {"north"}
    assert len(queue(group, "--practice", "south")) == len(north)
    code, out, err = sophie("queue", "--db", group, "--practice", "nort")
    assert (code, out, err) == (2, "", "sophie: error: unknown practice 'nort'; did you mean 'north'?\n")


def test_tasks_are_found_by_whole_id_anywhere_and_by_prefix_within_a_practice(group):
    north = queue(group, "--practice", "north")[0]["id"]
    south = queue(group, "--practice", "south")[0]["id"]
    code, out, _ = sophie("task", "show", north, "--db", group, "--format", "json")
    assert code == 0 and json.loads(out)["task"]["id"] == north
    code, out, err = sophie("task", "show", "t", "--db", group)
    assert (code, out) == (2, "")
    assert err == (
        "sophie: error: no single task matches 't' in this ledger of 2 practices (north, south); "
        "give the whole id, or --practice ID\n"
    )
    code, out, _ = sophie("task", "show", south[:-3], "--practice", "south", "--db", group, "--format", "json")
    assert code == 0 and json.loads(out)["task"]["id"] == south
    code, _, err = sophie("task", "ack", north, "--practice", "south", "--db", group)
    assert code == 2 and f"unknown task '{north} in practice south'" in err
    code, _, err = sophie("task", "ack", "t", "--practice", "nowhere", "--db", group)
    assert code == 2 and "unknown practice 'nowhere'" in err and "north, south" in err


def test_every_task_action_works_within_a_practice_and_leaves_the_ledger_clean(group):
    [first, second] = [task["id"] for task in queue(group, "--practice", "south")]
    steps = [
        ("ack", first),
        ("snooze", first, "--until", "2026-03-06T09:00:00-05:00"),
        ("block", second, "--reason", "waiting on the lab"),
        ("note", second, "--text", "called the lab"),
        ("done", first),
    ]
    for action, task_id, *extra in steps:
        code, _, err = sophie("task", action, task_id, *extra, "--practice", "south", "--db", group, "--now", THU)
        assert code == 0, (action, err)
    code, out, _ = sophie("task", "show", first, "--practice", "south", "--db", group, "--format", "json")
    kinds = [event["kind"] for event in json.loads(out)["audit"]]
    assert code == 0 and kinds[-3:] == ["acknowledged", "snoozed", "done"]
    assert all(task["key"].startswith("north:") for task in queue(group, "--practice", "north"))
    code, out, err = sophie("ledger", "verify", "--db", group)
    assert (code, err) == (0, ""), out
    assert out.splitlines()[-1] == "clean: no problem found"
