"""Schema migrations: one list of versioned steps, SQL per dialect, the same tables in both stores."""

from __future__ import annotations

import sqlite3
import threading

import psycopg
import pytest

from ledger_stores import postgres_schema
from sophie.errors import LedgerError
from sophie.execution import open_ledger
from sophie.execution.stores.migrations import Dialect, Step, check_steps, pending, run_statement
from sophie.execution.stores.schema import LATEST_VERSION, STEPS


def sqlite_columns(path) -> dict[str, list[str]]:
    db = sqlite3.connect(path)
    tables = [row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")]
    return {table: [row[1] for row in db.execute(f"PRAGMA table_info({table})")] for table in tables}


def sqlite_indexes(path) -> set[str]:
    db = sqlite3.connect(path)
    return {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL")}


def postgres_columns(url) -> dict[str, list[str]]:
    with psycopg.connect(url) as db:
        rows = db.execute(
            "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = current_schema() "
            "AND table_name != 'sophie_schema' ORDER BY table_name, ordinal_position"
        ).fetchall()
    columns: dict[str, list[str]] = {}
    for table, column in rows:
        columns.setdefault(table, []).append(column)
    return columns


def postgres_indexes(url) -> set[str]:
    with psycopg.connect(url) as db:
        rows = db.execute("SELECT indexname FROM pg_indexes WHERE schemaname = current_schema()").fetchall()
    return {name for (name,) in rows if not name.endswith("_pkey")}


def test_the_steps_are_numbered_and_written_for_both_dialects():
    assert check_steps(STEPS) == LATEST_VERSION == len(STEPS)
    with pytest.raises(ValueError, match="out of order"):
        check_steps([*STEPS, Step(LATEST_VERSION + 2, "gap", ("SELECT 1",), ("SELECT 1",))])
    with pytest.raises(ValueError, match="no postgres statements"):
        check_steps([*STEPS, Step(LATEST_VERSION + 1, "sqlite only", ("SELECT 1",), ())])
    assert pending(STEPS, LATEST_VERSION, Dialect.SQLITE) == []
    assert pending(STEPS, LATEST_VERSION - 1, Dialect.POSTGRES) == list(STEPS[-1].postgres)


def test_a_step_may_be_a_function_of_the_connection(tmp_path):
    def rebuild(connection):
        connection.execute("CREATE TABLE rebuilt (id TEXT)")

    step = Step(LATEST_VERSION + 1, "a rebuild", (rebuild,), ("CREATE TABLE rebuilt (id TEXT)",))
    db = sqlite3.connect(tmp_path / "x.db")
    for statement in pending([*STEPS, step], LATEST_VERSION, Dialect.SQLITE):
        run_statement(db, statement)
    assert db.execute("SELECT name FROM sqlite_master WHERE name = 'rebuilt'").fetchone() == ("rebuilt",)


def test_both_stores_hold_the_same_tables_columns_and_indexes(tmp_path):
    path = tmp_path / "ledger.db"
    open_ledger(f"sqlite:///{path}").close()
    with postgres_schema() as url:
        open_ledger(url).close()
        assert postgres_columns(url) == sqlite_columns(path)
        assert postgres_indexes(url) == sqlite_indexes(path)


def test_a_postgres_ledger_at_version_1_is_brought_up_to_date(tmp_path):
    with postgres_schema() as url:
        with psycopg.connect(url, autocommit=True) as db:
            db.execute("CREATE TABLE sophie_schema (version INTEGER NOT NULL)")
            for statement in STEPS[0].postgres:
                db.execute(statement)
            db.execute("INSERT INTO sophie_schema VALUES (1)")
        open_ledger(url).close()
        with psycopg.connect(url) as db:
            assert db.execute("SELECT version FROM sophie_schema").fetchall() == [(LATEST_VERSION,)]
        assert "dead_at" in postgres_columns(url)["outbox"]


def test_workers_starting_together_migrate_once():
    with postgres_schema() as url:
        errors: list[BaseException] = []

        def start() -> None:
            try:
                open_ledger(url).close()
            except BaseException as err:  # reported below
                errors.append(err)

        threads = [threading.Thread(target=start) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []
        with psycopg.connect(url) as db:
            assert db.execute("SELECT version FROM sophie_schema").fetchall() == [(LATEST_VERSION,)]


def test_a_postgres_ledger_from_a_newer_sophie_or_not_a_ledger_is_refused_untouched():
    with postgres_schema() as url:
        open_ledger(url).close()
        with psycopg.connect(url, autocommit=True) as db:
            db.execute("UPDATE sophie_schema SET version = %s", (LATEST_VERSION + 1,))
        with pytest.raises(LedgerError, match="newer than this sophie"):
            open_ledger(url)
    with postgres_schema() as url:
        with psycopg.connect(url, autocommit=True) as db:
            db.execute("CREATE TABLE task (id TEXT)")
        with pytest.raises(LedgerError, match="not a sophie ledger"):
            open_ledger(url)
        assert postgres_columns(url) == {"task": ["id"]}


def test_an_unreachable_server_is_a_ledger_error_without_the_password():
    with pytest.raises(LedgerError, match="cannot connect") as caught:
        open_ledger("postgresql://sophie:hunter2-secret@127.0.0.1:1/nothing")
    assert "hunter2-secret" not in str(caught.value)


def test_a_practices_last_cycle_is_read_from_an_index_in_both_stores(tmp_path):
    path = tmp_path / "ledger.db"
    open_ledger(f"sqlite:///{path}").close()
    plan = sqlite3.connect(path).execute(
        "EXPLAIN QUERY PLAN SELECT max(at) FROM cycle WHERE practice_id = 'p1'"
    ).fetchall()
    assert "cycle_practice_at" in " ".join(str(row[-1]) for row in plan)
    with postgres_schema() as url:
        open_ledger(url).close()
        with psycopg.connect(url, autocommit=True) as db:
            db.execute("SET enable_seqscan = off")
            plan = db.execute("EXPLAIN SELECT max(at) FROM cycle WHERE practice_id = 'p1'").fetchall()
        assert "cycle_practice_at" in " ".join(row[0] for row in plan)
