"""``sophie ledger verify`` on a real PostgreSQL ledger, tampered with as an intruder with the ledger's role would."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest
from click.testing import CliRunner
from execution_fakes import PACK, clinic_data
from psycopg.conninfo import conninfo_to_dict

from ledger_stores import POSTGRES_ENV, postgres_schema
from sophie.cli import cli
from sophie.execution.stores.audit import GENESIS_HASH, chain_hash
from sophie.execution.stores.integrity import decode_event

pytestmark = pytest.mark.skipif(not os.environ.get(POSTGRES_ENV), reason=f"{POSTGRES_ENV} is not set")

SOPHIE = os.path.join(os.path.dirname(sys.executable), "sophie")
THU = "2026-03-05T10:00:00-05:00"
KEY = "k3y-for-tests-0123456789abcdef"


def sophie(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def verify(url: str, *extra: str) -> tuple[int, list[str], str]:
    """Run ``sophie ledger verify`` as an operator would: the installed command, in its own process."""
    done = subprocess.run([SOPHIE, "ledger", "verify", "--db", url, *extra], capture_output=True, text=True,
                          env={**os.environ}, timeout=120)  # fmt: skip
    return done.returncode, done.stdout.splitlines(), done.stderr


def build(url: str, directory: Path) -> None:
    """Created, escalated, expired and acknowledged tasks, written by ``sophie run`` and ``sophie task``."""
    directory.mkdir(exist_ok=True)
    snapshot = directory / "practice.json"
    snapshot.write_text(json.dumps(clinic_data("2026-03-05T10:00")))
    for now in (THU, "2026-03-05T14:00:00-05:00", "2026-03-10T10:00:00-04:00"):
        code, _, err = sophie("run", "--adapter", "files", "--source", str(snapshot), "--pack", str(PACK),
                              "--db", url, "--now", now)  # fmt: skip
        assert code == 0, err
    code, _, err = sophie("task", "ack", task_of(url, "plan.unscheduled"), "--db", url,
                          "--now", "2026-03-10T10:05:00-04:00")  # fmt: skip
    assert code == 0, err


def sql(url: str, *statements: str, params: tuple[object, ...] = ()) -> list[tuple]:
    """Run statements on the ledger's schema as its own role (autocommit); return the last one's rows."""
    rows: list[tuple] = []
    with psycopg.connect(url, autocommit=True) as db:
        for statement in statements:
            cursor = db.execute(statement, params if "%s" in statement else ())
            rows = cursor.fetchall() if cursor.description else []
    return rows


def task_of(url: str, rule: str) -> str:
    return str(sql(url, "SELECT id FROM task WHERE rule_id = %s", params=(rule,))[0][0])


def rehash(url: str, key: bytes | None = None) -> None:
    """Re-hash the whole chain as an intruder without the ledger's key would, triggers off meanwhile."""
    with psycopg.connect(url, autocommit=True, row_factory=psycopg.rows.dict_row) as db:
        db.execute("ALTER TABLE task_event DISABLE TRIGGER USER")
        previous = GENESIS_HASH
        for row in db.execute("SELECT * FROM task_event ORDER BY seq").fetchall():
            digest = chain_hash(previous, decode_event(row), key)
            db.execute("UPDATE task_event SET prev_hash = %s, hash = %s WHERE seq = %s", (previous, digest, row["seq"]))
            previous = digest
        db.execute("ALTER TABLE task_event ENABLE TRIGGER USER")


@pytest.fixture
def url(tmp_path):
    with postgres_schema("v") as schema_url:
        build(schema_url, tmp_path)
        yield schema_url


def test_a_ledger_written_by_sophie_is_clean_and_named_without_its_password(url):
    code, lines, err = verify(url)
    server = conninfo_to_dict(url)
    assert (code, err) == (0, "")
    assert lines[0].startswith(f"ledger postgresql://{server['host']}:{server['port']}/{server['dbname']}: 2 tasks, ")
    assert "(plain SHA-256 chain)" in lines[0] and lines[1:] == ["clean: no problem found"]
    assert server["password"] not in "\n".join(lines)
    code, out, _ = sophie("ledger", "verify", "--db", url, "--format", "json")
    report = json.loads(out)
    assert (code, report["clean"], report["tasks"], report["events"], report["problems"]) == (0, True, 2, 5, [])


def test_an_event_edited_with_its_trigger_disabled_is_named_and_the_trigger_comes_back(url):
    sql(
        url,
        "ALTER TABLE task_event DISABLE TRIGGER task_event_append_only_update",
        "UPDATE task_event SET why = 'nothing to see' WHERE seq = 2",
    )
    task_id = sql(url, "SELECT task_id FROM task_event WHERE seq = 2")[0][0]
    code, lines, _ = verify(url)
    assert code == 1
    assert f"audit event 2 (task {task_id}): created event does not match its sha256 hash: it was edited" in lines
    assert any(
        line.startswith("trigger task_event_append_only_update: was missing or altered and was put back at ")
        for line in lines
    )
    assert len(lines) == 3  # the header and the two problems: no cascade down the chain
    with pytest.raises(psycopg.errors.RaiseException, match="append-only"):  # opening the ledger put it back
        sql(url, "UPDATE task_event SET why = 'again' WHERE seq = 1")


def test_a_replaced_guard_function_and_a_dropped_trigger_are_put_back(url):
    task_id = task_of(url, "plan.unscheduled")
    sql(
        url,
        "CREATE OR REPLACE FUNCTION task_event_append_only() RETURNS trigger LANGUAGE plpgsql AS "
        "$$ BEGIN RETURN OLD; END $$",
        "DROP TRIGGER task_event_append_only_truncate ON task_event",
        "DELETE FROM task_event WHERE seq = (SELECT max(seq) FROM task_event)",
    )
    code, lines, _ = verify(url)
    assert code == 1
    assert any(line.startswith("function task_event_append_only: was missing or altered") for line in lines)
    assert any(line.startswith("trigger task_event_append_only_truncate: was missing or altered") for line in lines)
    assert f"task {task_id}: version 3 but 2 audit events" in lines
    with pytest.raises(psycopg.errors.RaiseException, match="append-only"):
        sql(url, "TRUNCATE task_event CASCADE")


def test_a_task_row_edited_directly_disagrees_with_its_last_event(url):
    task_id = task_of(url, "plan.unscheduled")
    sql(url, "UPDATE task SET status = 'done', owner_id = 'intruder' WHERE id = %s", params=(task_id,))
    last = sql(url, "SELECT max(seq) FROM task_event WHERE task_id = %s", params=(task_id,))[0][0]
    code, lines, _ = verify(url)
    assert code == 1
    assert f"task {task_id}: status is 'done' but its last audit event ({last}) says 'acknowledged'" in lines
    assert any(line.startswith(f"task {task_id}: owner is 'intruder' but its last audit event") for line in lines)


def test_a_version_that_does_not_match_the_events_is_reported(url):
    task_id = task_of(url, "plan.unscheduled")
    sql(url, "UPDATE task SET version = version + 1 WHERE id = %s", params=(task_id,))
    code, lines, _ = verify(url)
    assert (code, lines[1:]) == (1, [f"task {task_id}: version 4 but 3 audit events"])


def test_a_second_open_task_for_one_key_is_reported_and_the_index_stays_missing(url):
    task_id = task_of(url, "plan.unscheduled")
    columns = [row[0] for row in sql(url, "SELECT column_name FROM information_schema.columns WHERE "
                                          "table_schema = current_schema() AND table_name = 'task' "
                                          "ORDER BY ordinal_position")]  # fmt: skip
    copied = ", ".join("'t-copy000001'" if column == "id" else column for column in columns)
    sql(url, "DROP INDEX task_open_key", f"INSERT INTO task SELECT {copied} FROM task WHERE id = %s", params=(task_id,))
    key = sql(url, "SELECT key FROM task WHERE id = %s", params=(task_id,))[0][0]
    code, lines, _ = verify(url)
    assert code == 1
    assert f"key {key}: 2 open tasks hold it ({', '.join(sorted([task_id, 't-copy000001']))}); at most one may" in lines
    assert "index task_open_key: is missing: the ledger's guarantees are off until it is put back" in lines
    assert "task t-copy000001: version 3 but 0 audit events" in lines


def test_outbox_rows_that_no_event_called_for_are_reported(url):
    task_id = task_of(url, "plan.unscheduled")
    opening = task_of(url, "opening.unfilled")
    sql(
        url,
        "INSERT INTO outbox (key, task_id, recipient_id, kind, payload_json, created_at, not_before) "
        "VALUES (%s || ':escalated:7', %s, 'om', 'escalated', '{}', '2026-03-05T15:00:00+00:00', "
        "'2026-03-05T15:00:00+00:00')",
        params=(task_id, task_id),
    )
    sql(url, "UPDATE outbox SET recipient_id = 'intruder' WHERE key = %s", params=(f"{opening}:created",))
    code, lines, _ = verify(url)
    assert code == 1
    assert lines[1:] == sorted(
        [
            f"outbox {task_id}:escalated:7: no audit event of task {task_id} called for this escalated notice",
            f"outbox {opening}:created: goes to 'intruder' but the event that called for it names owner 'sc'",
        ]
    )


def test_a_plain_chain_rehashed_whole_passes_but_a_keyed_one_does_not(tmp_path, monkeypatch):
    with postgres_schema("v") as plain:
        build(plain, tmp_path / "plain")
        sql(plain, "ALTER TABLE task_event DISABLE TRIGGER USER", "UPDATE task_event SET why = 'edited' WHERE seq = 2",
            "ALTER TABLE task_event ENABLE TRIGGER USER")  # fmt: skip
        rehash(plain)
        assert verify(plain)[0] == 0  # the limit of a plain chain: an intruder can re-hash it
    monkeypatch.setenv("SOPHIE_AUDIT_KEY", KEY)
    with postgres_schema("v") as keyed:
        build(keyed, tmp_path / "keyed")
        code, lines, _ = verify(keyed)
        assert code == 0 and "(keyed HMAC-SHA256 chain, checked with SOPHIE_AUDIT_KEY)" in lines[0]
        sql(keyed, "ALTER TABLE task_event DISABLE TRIGGER USER", "UPDATE task_event SET why = 'edited' WHERE seq = 2",
            "ALTER TABLE task_event ENABLE TRIGGER USER")  # fmt: skip
        rehash(keyed)  # without the key: plain SHA-256 over the same content
        code, lines, err = verify(keyed)
        assert code == 1
        assert len([line for line in lines if "does not match its hmac-sha256 hash: it was edited" in line]) == 5
        assert KEY not in "\n".join(lines) + err
        monkeypatch.delenv("SOPHIE_AUDIT_KEY")
        code, lines, err = verify(keyed)
        assert (code, lines) == (2, [])
        assert err == (
            "sophie: error: this ledger's audit chain is keyed (HMAC-SHA256): set SOPHIE_AUDIT_KEY to the ledger's "
            "key to verify it\n"
        )

