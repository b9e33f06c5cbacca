"""``sophie ledger verify`` on real ledger files, tampered with as an intruder would."""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime
from pathlib import Path

import pytest
from click.testing import CliRunner
from execution_fakes import PACK, clinic_data

from sophie.cli import cli
from sophie.errors import LedgerError
from sophie.execution import SqliteLedger
from sophie.execution.stores.audit import GENESIS_HASH, chain_hash
from sophie.execution.stores.integrity import decode_event
from sophie.execution.stores.sqlite.schema import GUARDS
from sophie.execution.stores.verify import ProblemKind, verify_ledger

THU = "2026-03-05T10:00:00-05:00"
KEY = "k3y-for-tests-0123456789abcdef"


def sophie(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def verify(db: Path, *extra: str) -> tuple[int, list[str], str]:
    code, out, err = sophie("ledger", "verify", "--db", f"sqlite:///{db}", *extra)
    return code, out.splitlines(), err


def build(directory: Path) -> Path:
    """A ledger with created, escalated and acted-on tasks, written by ``sophie run`` and ``sophie task``."""
    directory.mkdir(exist_ok=True)
    snapshot = directory / "practice.json"
    snapshot.write_text(json.dumps(clinic_data("2026-03-05T10:00")))
    db = directory / "sophie.db"
    for now in (THU, "2026-03-05T14:00:00-05:00", "2026-03-10T10:00:00-04:00"):
        code, _, err = sophie("run", "--adapter", "files", "--source", str(snapshot), "--pack", str(PACK),
                              "--db", f"sqlite:///{db}", "--now", now)  # fmt: skip
        assert code == 0, err
    code, _, err = sophie("task", "ack", plan_task(db), "--db", f"sqlite:///{db}", "--now", "2026-03-10T10:05:00-04:00")
    assert code == 0, err
    return db


def plan_task(db: Path) -> str:
    """The task of the unscheduled plan: created, escalated, acknowledged (version 3)."""
    with sqlite3.connect(db) as conn:
        return str(conn.execute("SELECT id FROM task WHERE rule_id = 'plan.unscheduled'").fetchone()[0])


def opening_task(db: Path) -> str:
    """The task of the opening: created, then expired when the opening started (version 2)."""
    with sqlite3.connect(db) as conn:
        return str(conn.execute("SELECT id FROM task WHERE rule_id = 'opening.unfilled'").fetchone()[0])


def tamper(db: Path, *statements: str, params: tuple[object, ...] = ()) -> None:
    conn = sqlite3.connect(db, isolation_level=None)
    for statement in statements:
        conn.execute(statement, params if "?" in statement else ())
    conn.close()


def rehash(db: Path, key: bytes | None = None) -> None:
    """Re-hash the whole chain as an intruder without the ledger's key would, and put the triggers back."""
    conn = sqlite3.connect(db, isolation_level=None)
    conn.row_factory = sqlite3.Row
    conn.execute("DROP TRIGGER IF EXISTS task_event_append_only_update")
    conn.execute("DROP TRIGGER IF EXISTS task_event_append_only_delete")
    previous = GENESIS_HASH
    for row in conn.execute("SELECT * FROM task_event ORDER BY seq").fetchall():
        digest = chain_hash(previous, decode_event(row), key)
        conn.execute("UPDATE task_event SET prev_hash = ?, hash = ? WHERE seq = ?", (previous, digest, row["seq"]))
        previous = digest
    for kind, statement in GUARDS.values():
        if kind == "trigger":
            conn.execute(statement)
    conn.close()


@pytest.fixture
def db(tmp_path):
    return build(tmp_path)


def test_a_ledger_written_by_sophie_run_on_the_demo_practice_is_clean(tmp_path):
    db = tmp_path / "demo.db"
    for now in ("2026-03-05T07:30:00-05:00", "2026-03-06T09:00:00-05:00"):
        code, _, err = sophie("run", "--adapter", "demo", "--now", now, "--db", f"sqlite:///{db}", "--format", "json")
        assert code == 0, err
    code, lines, err = verify(db)
    assert (code, err) == (0, "")
    assert lines[0].startswith(f"ledger {db}: ") and "(plain SHA-256 chain)" in lines[0]
    assert lines[1:] == ["clean: no problem found"]
    code, out, _ = sophie("ledger", "verify", "--db", f"sqlite:///{db}", "--format", "json")
    report = json.loads(out)
    assert (code, report["clean"], report["chain"], report["problems"]) == (0, True, "sha256", [])
    # Backlog tasks are not notified until released, so the outbox holds fewer rows than tasks.
    assert report["tasks"] > 600 and report["events"] > report["tasks"] and 100 < report["outbox"] <= report["events"]


def test_an_event_edited_after_dropping_the_trigger_is_named_and_the_trigger_comes_back(db):
    assert verify(db)[0] == 0
    tamper(
        db,
        "DROP TRIGGER task_event_append_only_update",
        "UPDATE task_event SET why = 'nothing to see' WHERE seq = 2",
    )
    code, lines, _ = verify(db)
    task_id = sqlite3.connect(db).execute("SELECT task_id FROM task_event WHERE seq = 2").fetchone()[0]
    assert code == 1
    assert f"audit event 2 (task {task_id}): created event does not match its sha256 hash: it was edited" in lines
    assert any(
        line.startswith("trigger task_event_append_only_update: was missing or altered and was put back at ")
        for line in lines
    )
    assert len(lines) == 3  # the header and the two problems: no cascade down the chain
    with sqlite3.connect(db) as conn:  # opening the ledger put the trigger back
        assert conn.execute("SELECT count(*) FROM sqlite_master WHERE name = 'task_event_append_only_update'").fetchone()
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            conn.execute("UPDATE task_event SET why = 'again' WHERE seq = 1")


def test_an_altered_trigger_is_put_back_too(db):
    tamper(
        db,
        "DROP TRIGGER task_event_append_only_delete",
        "CREATE TRIGGER task_event_append_only_delete BEFORE DELETE ON task_event BEGIN SELECT 1; END",
        "DELETE FROM task_event WHERE seq = (SELECT max(seq) FROM task_event)",
    )
    code, lines, _ = verify(db)
    assert code == 1
    assert any(line.startswith("trigger task_event_append_only_delete: was missing or altered") for line in lines)
    assert f"task {plan_task(db)}: version 3 but 2 audit events" in lines


def test_a_task_row_edited_directly_disagrees_with_its_last_event(db):
    task_id = plan_task(db)
    tamper(db, "UPDATE task SET status = 'done', owner_id = 'intruder' WHERE id = ?", params=(task_id,))
    code, lines, _ = verify(db)
    assert code == 1
    last = sqlite3.connect(db).execute("SELECT max(seq) FROM task_event WHERE task_id = ?", (task_id,)).fetchone()[0]
    assert f"task {task_id}: status is 'done' but its last audit event ({last}) says 'acknowledged'" in lines
    assert any(line.startswith(f"task {task_id}: owner is 'intruder' but its last audit event") for line in lines)


def test_a_version_that_does_not_match_the_events_is_reported(db):
    task_id = plan_task(db)
    tamper(db, "UPDATE task SET version = version + 1 WHERE id = ?", params=(task_id,))
    code, lines, _ = verify(db)
    assert (code, lines[1:]) == (1, [f"task {task_id}: version 4 but 3 audit events"])


def test_a_second_open_task_for_one_key_is_reported(db):
    task_id = plan_task(db)
    tamper(
        db,
        "DROP INDEX task_open_key",
        "INSERT INTO task SELECT 't-copy000001', key, practice_id, rule_id, pack, rule_version, content_hash, "
        "subject_type, subject_id, patient_id, title, owner_role, owner_id, priority, status, created_at, "
        "updated_at, due_at, escalation_level, snoozed_until, blocked_since, blocked_until, blocked_reason, "
        "blocked_seconds, done_at, verified_at, resolved_at, resolution, expires_at, reopen_count, evidence_json, "
        "version, timezone, members_json FROM task WHERE id = ?",
        params=(task_id,),
    )
    key = sqlite3.connect(db).execute("SELECT key FROM task WHERE id = ?", (task_id,)).fetchone()[0]
    code, lines, _ = verify(db)
    assert code == 1
    assert f"key {key}: 2 open tasks hold it ({', '.join(sorted([task_id, 't-copy000001']))}); at most one may" in lines
    # the index cannot come back while two open tasks share the key: it stays reported as missing
    assert "index task_open_key: is missing: the ledger's guarantees are off until it is put back" in lines
    assert "task t-copy000001: version 3 but 0 audit events" in lines


def test_outbox_rows_that_no_event_called_for_are_reported(db):
    task_id = plan_task(db)
    tamper(
        db,
        "INSERT INTO outbox (key, task_id, recipient_id, kind, payload_json, created_at, not_before) "
        "VALUES (? || ':escalated:7', ?, 'om', 'escalated', '{}', '2026-03-05T15:00:00+00:00', "
        "'2026-03-05T15:00:00+00:00')",
        "INSERT INTO outbox (key, task_id, recipient_id, kind, payload_json, created_at, not_before) "
        "VALUES ('t-ghost00000:created', 't-ghost00000', 'om', 'created', '{}', '2026-03-05T15:00:00+00:00', "
        "'2026-03-05T15:00:00+00:00')",
        params=(task_id, task_id),
    )
    tamper(db, "UPDATE outbox SET recipient_id = 'intruder' WHERE key = ?", params=(f"{opening_task(db)}:created",))
    code, lines, _ = verify(db)
    assert code == 1
    assert lines[1:] == sorted(
        [
            f"outbox {task_id}:escalated:7: no audit event of task {task_id} called for this escalated notice",
            "outbox t-ghost00000:created: its task t-ghost00000 is not in the ledger",
            f"outbox {opening_task(db)}:created: goes to 'intruder' but the event that called for it names owner 'sc'",
        ]
    )


def test_a_plain_chain_rehashed_whole_passes_but_a_keyed_one_does_not(tmp_path, monkeypatch):
    plain = build(tmp_path / "plain")
    tamper(plain, "DROP TRIGGER task_event_append_only_update", "UPDATE task_event SET why = 'edited' WHERE seq = 2")
    rehash(plain)
    assert verify(plain)[0] == 0  # the limit of a plain chain: an intruder can re-hash it

    monkeypatch.setenv("SOPHIE_AUDIT_KEY", KEY)
    keyed = build(tmp_path / "keyed")
    code, lines, _ = verify(keyed)
    assert code == 0 and "(keyed HMAC-SHA256 chain, checked with SOPHIE_AUDIT_KEY)" in lines[0]
    events = sqlite3.connect(keyed).execute("SELECT count(*) FROM task_event").fetchone()[0]
    tamper(keyed, "DROP TRIGGER task_event_append_only_update", "UPDATE task_event SET why = 'edited' WHERE seq = 2")
    rehash(keyed)  # without the key: plain SHA-256 over the same content
    code, lines, err = verify(keyed)
    assert code == 1
    assert len([line for line in lines if "does not match its hmac-sha256 hash: it was edited" in line]) == events
    assert KEY not in "\n".join(lines) + err


def test_removing_the_record_of_the_key_does_not_hide_a_rehash(tmp_path, monkeypatch):
    monkeypatch.setenv("SOPHIE_AUDIT_KEY", KEY)
    db = build(tmp_path)
    tamper(db, "DELETE FROM ledger_meta WHERE name LIKE 'audit_%'")
    rehash(db)
    code, lines, _ = verify(db)
    assert code == 1
    assert lines[1:] == [
        "audit chain: SOPHIE_AUDIT_KEY is set but this ledger's chain is plain SHA-256: it was started without "
        "the key, or the record of its key was removed"
    ]


def test_a_keyed_chain_needs_its_key_to_verify_and_to_write(tmp_path, monkeypatch):
    monkeypatch.setenv("SOPHIE_AUDIT_KEY", KEY)
    db = build(tmp_path)
    monkeypatch.setenv("SOPHIE_AUDIT_KEY", "another-key-0123456789")
    code, lines, err = verify(db)
    assert code == 1 and "audit chain: SOPHIE_AUDIT_KEY is not the key this ledger's chain was written with" in lines[1]
    monkeypatch.delenv("SOPHIE_AUDIT_KEY")
    code, lines, err = verify(db)
    assert code == 2 and lines == []
    assert err == (
        "sophie: error: this ledger's audit chain is keyed (HMAC-SHA256): set SOPHIE_AUDIT_KEY to the ledger's key "
        "to verify it\n"
    )
    with SqliteLedger(str(db), audit_key=None) as ledger, pytest.raises(LedgerError, match="keyed; set SOPHIE"):
        ledger.transition(plan_task(db), "done", actor="cli", now=datetime.fromisoformat("2026-03-10T11:00:00-04:00"))
    assert verify_ledger(SqliteLedger(str(db), audit_key=KEY.encode()), audit_key=KEY.encode()).clean


def test_a_short_key_is_refused_without_echoing_it(db, monkeypatch):
    monkeypatch.setenv("SOPHIE_AUDIT_KEY", "hunter2")
    code, lines, err = verify(db)
    assert code == 2 and lines == [] and "SOPHIE_AUDIT_KEY is too short (7 characters)" in err
    assert "hunter2" not in err


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ("missing.db", "no ledger at {path}; pass --db sqlite:///PATH"),
        ("notes.txt", "{path}: cannot open the ledger: file is not a database"),
    ],
)
def test_a_bad_db_exits_2_with_one_line(tmp_path, target, message):
    path = tmp_path / target
    if target.endswith(".txt"):
        path.write_text("not a ledger at all, just some notes that are long enough to have a header\n" * 20)
    code, out, err = sophie("ledger", "verify", "--db", f"sqlite:///{path}")
    assert (code, out, err) == (2, "", f"sophie: error: {message.format(path=path)}\n")
    code, out, err = sophie("ledger", "verify", "--db", ":memory:")
    assert (code, out) == (2, "") and "name a ledger file" in err


def test_the_library_returns_typed_problems(db):
    tamper(db, "UPDATE task SET version = 9 WHERE id = ?", params=(plan_task(db),))
    with SqliteLedger(str(db), audit_key=None) as ledger:
        report = verify_ledger(ledger, audit_key=None)
    assert [problem.kind for problem in report.problems] == [ProblemKind.TASK_HISTORY]
    assert report.as_dict()["problems"] == [
        {"kind": "task_history", "subject": f"task {plan_task(db)}", "message": "version 9 but 3 audit events"}
    ]


def test_without_db_the_ledger_of_sophie_toml_is_checked(tmp_path, monkeypatch):
    db = build(tmp_path / "practice")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "sophie.toml").write_text(f'[ledger]\nurl = "sqlite:///{db}"\n\n[practice]\nadapter = "demo"\n')
    code, out, err = sophie("ledger", "verify")
    assert (code, err) == (0, "") and out.startswith(f"ledger {db}: 2 tasks, 5 audit events")
    tamper(db, "UPDATE task SET version = 7 WHERE id = ?", params=(plan_task(db),))
    code, out, _ = sophie("ledger", "verify", "--config", str(tmp_path / "sophie.toml"))
    assert (code, out.splitlines()[1:]) == (1, [f"task {plan_task(db)}: version 7 but 3 audit events"])


@pytest.mark.parametrize("command", [("watch", "--adapter", "demo", "--once")])  # the others read PostgreSQL
def test_commands_that_need_sqlite_refuse_a_postgres_ledger_in_one_line_without_its_password(command):
    code, out, err = sophie(*command, "--db", "postgresql://sophie:s3cret@127.0.0.1:1/group")
    assert code == 2
    assert err.strip().splitlines() == [
        "sophie: error: this command needs a SQLite ledger for now (--db sqlite:///PATH); a PostgreSQL ledger "
        "serves run, queue, task, report, serve, ledger verify, outbox and worker"
    ]
    assert "s3cret" not in out + err
