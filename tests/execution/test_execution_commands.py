"""``sophie run``, ``sophie queue`` and ``sophie task``, driven as a user drives them."""

from __future__ import annotations

import hashlib
import json
import sqlite3
import subprocess
import sys
from itertools import pairwise
from pathlib import Path

import pytest
from click.testing import CliRunner
from execution_fakes import PACK, clinic_data

from sophie.cli import cli

THU = "2026-03-05T10:00:00-05:00"


def write_snapshot(path: Path, as_of: str = "2026-03-05T10:00", **state: bool) -> Path:
    path.write_text(json.dumps(clinic_data(as_of, **state)))
    return path


def sophie(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def run(db: Path, snapshot: Path, now: str = THU, *extra: str) -> dict:
    code, out, err = sophie("run", "--adapter", "files", "--source", str(snapshot), "--pack", str(PACK),
                            "--db", f"sqlite:///{db}", "--now", now, "--format", "json", *extra)  # fmt: skip
    assert code == 0, err
    return json.loads(out)


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def files(tmp_path):
    return tmp_path / "sophie.db", write_snapshot(tmp_path / "practice.json")


def test_run_twice_on_the_same_input_prints_changes_then_none(files):
    db, snapshot = files
    first = run(db, snapshot)
    assert [(c["change"], c["task"]["rule"]) for c in first["changes"]] == [
        ("created", "plan.unscheduled"),
        ("created", "opening.unfilled"),
    ]
    task = first["changes"][0]["task"]
    assert set(task) == {"id", "key", "rule", "pack", "subject", "patient_id", "title", "owner_role", "owner_id",
                         "priority", "status", "created_at", "due_at", "escalation_level", "snoozed_until",
                         "resolved_at", "resolution", "evidence"}  # fmt: skip
    assert task["key"] == "p1:plan.unscheduled:treatment_plan:tp-1"
    assert task["subject"] == {"type": "treatment_plan", "id": "tp-1"} and task["pack"] == "exec-test"
    assert first["summary"]["created"] == 2 and first["summary"]["complete"] is True
    second = run(db, snapshot)
    assert second["changes"] == [] and second["summary"]["open_tasks"] == 2


def test_run_prints_a_table_by_default(files):
    db, snapshot = files
    code, out, _ = sophie("run", "--adapter", "files", "--source", str(snapshot), "--pack", str(PACK),
                          "--db", f"sqlite:///{db}", "--now", THU)  # fmt: skip
    assert code == 0
    assert "2 created" in out and "Call Ana about" in out and "Fill the opening" in out
    code, out, _ = sophie("run", "--adapter", "files", "--source", str(snapshot), "--pack", str(PACK),
                          "--db", f"sqlite:///{db}", "--now", THU)  # fmt: skip
    assert "no changes; 2 open tasks" in out


def test_moving_now_forward_escalates_as_declared(files):
    db, snapshot = files
    run(db, snapshot)
    run(db, snapshot, "2026-03-05T14:00:00-05:00")  # the opening's start passed
    assert run(db, snapshot, "2026-03-10T09:59:00-04:00")["changes"] == []
    step = run(db, snapshot, "2026-03-10T10:00:00-04:00")["changes"]
    assert [
        (c["change"], c["task"]["escalation_level"], c["task"]["owner_id"], c["task"]["priority"]) for c in step
    ] == [("escalated", 1, "om", "urgent")]
    late = run(db, snapshot, "2026-03-20T10:00:00-04:00")["changes"]
    assert [(c["change"], c["task"]["owner_id"]) for c in late] == [("escalated", "dr")]


def test_a_snapshot_where_the_stall_cleared_resolves_the_task(files, tmp_path):
    db, snapshot = files
    run(db, snapshot)
    cleared = write_snapshot(tmp_path / "cleared.json", "2026-03-05T11:00", plan_scheduled=True, opening_filled=True)
    result = run(db, cleared, "2026-03-05T11:00:00-05:00")
    assert sorted(c["change"] for c in result["changes"]) == ["resolved", "resolved"]
    assert all(c["task"]["resolution"] == "resolved" for c in result["changes"])


def test_queue_ranks_by_priority_then_due_for_a_role_or_a_person(files):
    db, snapshot = files
    run(db, snapshot)
    code, out, _ = sophie("queue", "--db", f"sqlite:///{db}", "--format", "json")
    assert code == 0
    ranked = json.loads(out)["tasks"]
    assert [t["rule"] for t in ranked] == ["opening.unfilled", "plan.unscheduled"]  # urgent before high
    code, out, _ = sophie("queue", "--role", "treatment_coordinator", "--db", f"sqlite:///{db}", "--format", "json")
    assert [t["owner_id"] for t in json.loads(out)["tasks"]] == ["tc"]
    code, out, _ = sophie("queue", "--staff", "sc", "--db", f"sqlite:///{db}")
    assert "Queue for staff sc: 1 open" in out and "Fill the opening" in out
    code, _, _err = sophie("queue", "--staff", "sc", "--role", "x", "--db", f"sqlite:///{db}")
    assert code == 2


def test_task_actions_from_the_command_line(files):
    db, snapshot = files
    task_id = run(db, snapshot)["changes"][0]["task"]["id"]
    url = f"sqlite:///{db}"
    code, out, _ = sophie("task", "ack", task_id, "--by", "tc", "--db", url, "--now", "2026-03-05T10:10:00-05:00")
    assert (code, out.strip()) == (0, f"task {task_id} acknowledged: open -> acknowledged")
    code, out, _ = sophie("task", "block", task_id, "--reason", "waiting on insurer", "--until",
                          "2026-03-06T10:00:00-05:00", "--db", url, "--now", "2026-03-05T10:20:00-05:00",
                          "--format", "json")  # fmt: skip
    assert json.loads(out)["task"]["blocked_reason"] == "waiting on insurer"
    code, out, _ = sophie("task", "snooze", task_id, "--until", "2026-03-09T09:00:00-05:00", "--db", url,
                          "--now", "2026-03-05T11:00:00-05:00")  # fmt: skip
    assert code == 0 and "blocked -> snoozed" in out
    code, out, _ = sophie("task", "done", task_id, "--db", url, "--now", "2026-03-05T11:30:00-05:00")
    assert "snoozed -> done" in out
    code, out, _ = sophie("task", "reopen", task_id, "--db", url, "--now", "2026-03-05T11:40:00-05:00")
    assert "done -> open" in out
    code, out, _ = sophie("task", "show", task_id, "--db", url, "--format", "json")
    trail = json.loads(out)["audit"]
    assert [(e["kind"], e["actor"]) for e in trail] == [
        ("created", "sophie"), ("acknowledged", "staff:tc"), ("blocked", "cli"), ("snoozed", "cli"), ("done", "cli"),
        ("reopened", "cli"),
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["task", "ack", "t-nope"], "unknown task 't-nope'"),
        (["task", "reopen", "{task}"], "cannot reopen task"),
        (["task", "snooze", "{task}", "--until", "2026-03-05T09:00:00-05:00", "--now", THU], "is not after now"),
        (["task", "ack", "{task}", "--now", "2026-03-05T10:00:00"], "has no UTC offset"),
    ],
)
def test_refused_task_actions_exit_2_and_leave_the_ledger_untouched(files, args, message):
    db, snapshot = files
    task_id = run(db, snapshot)["changes"][0]["task"]["id"]
    before = digest(db)
    code, _out, err = sophie(*[a.replace("{task}", task_id) for a in args], "--db", f"sqlite:///{db}")
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1
    assert digest(db) == before


def bad_pack(tmp_path: Path) -> Path:
    path = tmp_path / "bad-pack.yaml"
    path.write_text(PACK.read_text().replace("owner: treatment_coordinator", "owner: treatment_cordinator"))
    return path


def bad_snapshot(tmp_path: Path) -> Path:
    data = clinic_data()
    data["treatment_plans"][0]["status"] = "forgotten"
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(data))
    return path


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda a, t: a.__setitem__(3, str(bad_snapshot(t))), "treatment_plans[0] (id=tp-1).status"),
        (lambda a, t: a.__setitem__(5, str(bad_pack(t))), "treatment_cordinator"),
        (lambda a, t: a.__setitem__(5, "no-such-pack"), "unknown pack 'no-such-pack'"),
        (lambda a, t: a.extend(["--param", "no_such=1"]), "unknown parameter 'no_such'"),
        (lambda a, t: a.extend(["--param", "first_touch_days=soon"]), "--param first_touch_days"),
        (lambda a, t: a.__setitem__(9, "yesterday"), "is not an ISO 8601 datetime"),
        (lambda a, t: a.extend(["--format", "xml"]), "'xml' is not one of"),
        (lambda a, t: a.__setitem__(1, "nope"), "unknown adapter 'nope'"),
        (lambda a, t: a.__setitem__(7, "mysql://db/sophie"), "unsupported ledger 'mysql'"),
    ],
)
def test_bad_input_exits_2_with_one_line_and_the_ledger_byte_for_byte_untouched(files, tmp_path, change, message):
    db, snapshot = files
    run(db, snapshot)
    before = digest(db)
    args = ["--adapter", "files", "--source", str(snapshot), "--pack", str(PACK), "--db", f"sqlite:///{db}",
            "--now", "2026-03-12T10:00:00-05:00"]  # fmt: skip
    change(args, tmp_path)
    code, out, err = sophie("run", *args)
    assert code == 2, (out, err)
    assert message in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1 or message.startswith("treatment_cordinator")
    assert digest(db) == before


def test_bad_input_does_not_create_a_ledger(tmp_path):
    db = tmp_path / "fresh.db"
    code, _, err = sophie("run", "--adapter", "files", "--source", str(bad_snapshot(tmp_path)), "--pack", str(PACK),
                          "--db", f"sqlite:///{db}", "--now", THU)  # fmt: skip
    assert code == 2 and not db.exists()
    code, _, err = sophie("queue", "--db", f"sqlite:///{db}")
    assert code == 2 and "no ledger at" in err and not db.exists()


def test_two_concurrent_runs_on_one_database_never_duplicate_a_task(tmp_path):
    db = tmp_path / "shared.db"
    snapshot = write_snapshot(tmp_path / "practice.json")
    command = [sys.executable, "-m", "sophie", "run", "--adapter", "files", "--source", str(snapshot), "--pack",
               str(PACK), "--db", f"sqlite:///{db}", "--now", THU, "--format", "json"]  # fmt: skip
    for _round in range(3):
        processes = [subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                     for _ in range(2)]  # fmt: skip
        outputs = [process.communicate(timeout=120) for process in processes]
        assert all(process.returncode == 0 for process in processes), outputs
    created = [c for out, _ in outputs for c in json.loads(out)["changes"]]
    assert created == []  # the last round found everything in place
    db_rows = sqlite3.connect(db).execute("SELECT key, count(*) FROM task GROUP BY key").fetchall()
    assert sorted(db_rows) == [("p1:opening.unfilled:opening:op-1@2026-03-05T13:00", 1),
                               ("p1:plan.unscheduled:treatment_plan:tp-1", 1)]  # fmt: skip
    events = sqlite3.connect(db).execute("SELECT kind, count(*) FROM task_event GROUP BY kind").fetchall()
    assert events == [("created", 2)]


EXAMPLE = Path(__file__).parents[2] / "examples" / "snapshots" / "cancellation-morning.yaml"


@pytest.fixture
def two_schedulers(tmp_path: Path) -> Path:
    """The example morning with a second scheduling coordinator, s-9."""
    text = EXAMPLE.read_text(encoding="utf-8")
    anchor = "  - {id: s-3, name: Sam Ortiz, roles: [scheduling_coordinator, front_desk], manager_id: s-4}\n"
    assert anchor in text
    path = tmp_path / "morning.yaml"
    path.write_text(text.replace(anchor, anchor + "  - {id: s-9, name: Kim Vo, roles: [scheduling_coordinator]}\n"))
    return path


def scheduling_owners(snapshot: Path, tmp_path: Path, *flags: str) -> list[str]:
    code, out, err = sophie("run", "--adapter", "files", "--source", str(snapshot), "--db", ":memory:",
                            "--now", "2026-03-05T11:40:00-05:00", "--format", "json", *flags)  # fmt: skip
    assert code == 0, err
    return [c["task"]["owner_id"] for c in json.loads(out)["changes"]
            if c["task"]["owner_role"] == "scheduling_coordinator"]  # fmt: skip


def test_ownership_flags_choose_who_gets_new_tasks(two_schedulers: Path, tmp_path: Path) -> None:
    least_open = scheduling_owners(two_schedulers, tmp_path)
    assert len(least_open) >= 3 and set(least_open) == {"s-3", "s-9"}  # the load is shared
    fixed = scheduling_owners(two_schedulers, tmp_path, "--owner-strategy", "fixed",
                              "--fixed-owner", "scheduling_coordinator=s-9")  # fmt: skip
    assert fixed == ["s-9"] * len(least_open)
    turns = scheduling_owners(two_schedulers, tmp_path, "--owner-strategy", "round_robin")
    assert all(a != b for a, b in pairwise(turns))


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--owner-strategy", "random"], "'random' is not one of"),
        (["--fixed-owner", "schedulng_coordinator=s-9"], "did you mean 'scheduling_coordinator'?"),
        (["--fixed-owner", "scheduling_coordinator"], "expected ROLE=VALUE"),
        (["--cover", "front_desk=ofice_manager"], "did you mean 'office_manager'?"),
        (["--reopen-grace", "2 hourz"], "did you mean '2 hours'?"),
    ],
)
def test_bad_ownership_flags_exit_2_with_one_line(two_schedulers: Path, flags: list[str], message: str) -> None:
    code, out, err = sophie("run", "--adapter", "files", "--source", str(two_schedulers), "--db", ":memory:", *flags)
    assert code == 2 and out == ""
    assert message in err and len(err.strip().splitlines()) == 1


def test_cover_and_grace_become_settings() -> None:
    from sophie.cli.ownership_options import settings_from
    from sophie.model.calendar import business_hours

    settings = settings_from("least_open", (), ("front_desk=owner_dentist",), "2 business_hours")
    assert settings.ladder["front_desk"] == "owner_dentist"
    assert settings.ladder["hygienist"] == "hygiene_coordinator"  # the rest of the default ladder stays
    assert settings.reopen_grace == business_hours(2)


def test_watch_takes_the_ownership_flags_too(two_schedulers: Path, tmp_path: Path) -> None:
    from sophie.execution import SqliteLedger

    db = tmp_path / "w.db"
    code, _, err = sophie("watch", "--adapter", "files", "--source", str(two_schedulers), "--db", f"sqlite:///{db}",
                          "--once", "--output", "json", "--clock-start", "2026-03-05T11:40:00-05:00",
                          "--clock-speed", "0", "--owner-strategy", "fixed",
                          "--fixed-owner", "scheduling_coordinator=s-9")  # fmt: skip
    assert code == 0, err
    with SqliteLedger(str(db)) as ledger:
        owners = {t.owner_id for t in ledger.queue(role="scheduling_coordinator")}
    assert owners == {"s-9"}
