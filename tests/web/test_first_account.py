"""A practice fresh from ``sophie init`` and ``sophie run`` is told how to let its first person sign in."""

from __future__ import annotations

import re

from web_fixtures import NOW, PASSWORD, Server, sophie


def test_nobody_can_sign_in_until_an_account_is_added_and_every_step_says_so(tmp_path):
    init = sophie("init", "--adapter", "demo", cwd=tmp_path)
    assert "sophie user add STAFF_ID" in init.stdout and "sophie user list" in init.stdout
    before_run = sophie("user", "list", cwd=tmp_path)
    assert before_run.returncode == 0 and before_run.stdout == ""
    assert "run `sophie run` first" in before_run.stderr
    assert sophie("run", "--now", NOW, cwd=tmp_path).returncode == 0

    empty = sophie("user", "list", cwd=tmp_path)
    assert empty.returncode == 0 and empty.stdout == ""
    assert "no accounts yet" in empty.stderr
    people = empty.stderr.split("The practice's staff: ", 1)[1]
    assert "s-6 Larry Rossi (treatment_coordinator, scheduling_coordinator)" in people
    assert people.count("(") == 8  # every staff member of the demo practice, with their roles

    server = Server(tmp_path)
    try:
        assert "no accounts yet" in server.logs()
    finally:
        server.stop()

    assert sophie("user", "add", "s-6", cwd=tmp_path, stdin=PASSWORD + "\n").returncode == 0
    listed = sophie("user", "list", cwd=tmp_path)
    assert listed.stdout.split("\t")[:2] == ["s-6", "Larry Rossi"] and listed.stderr == ""
    server = Server(tmp_path)
    try:
        assert "no accounts yet" not in server.logs()
    finally:
        server.stop()


def test_a_demo_practice_is_served_at_its_own_time_not_months_overdue(tmp_path):
    """``sophie init --adapter demo && sophie run && sophie serve``: the demo lives on its own (simulated) morning."""
    from web_fixtures import signed_in

    assert sophie("init", "--adapter", "demo", cwd=tmp_path).returncode == 0
    assert sophie("run", cwd=tmp_path).returncode == 0  # the demo practice's own morning, Monday 2026-03-02 07:30
    assert sophie("user", "add", "s-6", cwd=tmp_path, stdin=PASSWORD + "\n").returncode == 0
    server = Server(tmp_path, now=None)
    try:
        assert "the demo practice lives at Mon 2026-03-02 07:30" in server.logs()
        page = signed_in(server, "s-6").get("/my-day").text
        assert "Monday, March 2" in page
        assert not re.search(r"overdue by \d+ days", page)  # served on the real clock, every task was months overdue
        assert re.search(r"\(due in \d+ (minutes|hours?)\)", page)
    finally:
        server.stop()


def test_staff_names_from_the_pms_reach_the_terminal_without_control_codes(tmp_path):
    import sqlite3

    assert sophie("init", "--adapter", "demo", cwd=tmp_path).returncode == 0
    assert sophie("run", "--now", NOW, cwd=tmp_path).returncode == 0
    site = sqlite3.connect(tmp_path / "sophie.site.db")
    site.execute("UPDATE staff SET name = ? WHERE staff_id = 's-6'", ("Larry\x1b[2J\x1b]0;owned\x07\nRossi\t\u202eX",))
    site.commit()
    site.close()
    hint = sophie("user", "list", cwd=tmp_path).stderr
    assert "s-6 Larry[2J]0;ownedRossiX (" in hint and "\x1b" not in hint and "\u202e" not in hint
    assert sophie("user", "add", "s-6", cwd=tmp_path, stdin=PASSWORD + "\n").returncode == 0
    listed = sophie("user", "list", cwd=tmp_path).stdout
    assert listed.split("\t")[:2] == ["s-6", "Larry[2J]0;ownedRossiX"] and listed.count("\n") == 1
