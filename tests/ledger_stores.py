"""Both ledger stores for the store tests: a fresh SQLite file or a fresh PostgreSQL schema per test.

PostgreSQL tests need SOPHIE_TEST_POSTGRES_URL (``bash scripts/start-postgres.sh`` prints
one; CI sets it) and are skipped without it.
"""

from __future__ import annotations

import os
import uuid
from contextlib import contextmanager
from urllib.parse import quote

import pytest

POSTGRES_ENV = "SOPHIE_TEST_POSTGRES_URL"
STORES = ("sqlite", "postgres")


def postgres_server() -> str:
    url = os.environ.get(POSTGRES_ENV)
    if not url:
        pytest.skip(f"{POSTGRES_ENV} is not set (bash scripts/start-postgres.sh)")
    return url


def with_schema(url: str, schema: str) -> str:
    joiner = "&" if "?" in url else "?"
    return f"{url}{joiner}options={quote(f'-csearch_path={schema}')}"


@contextmanager
def postgres_schema(prefix: str = "t"):
    """Create an empty schema; yield a URL whose connections use it; drop it afterwards."""
    import psycopg

    server = postgres_server()
    schema = f"{prefix}_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(server, autocommit=True) as db:
        db.execute(f"CREATE SCHEMA {schema}")
    try:
        yield with_schema(server, schema)
    finally:
        with psycopg.connect(server, autocommit=True) as db:
            db.execute(f"DROP SCHEMA {schema} CASCADE")


@contextmanager
def store_url(store: str, tmp_path, name: str = "ledger"):
    """Yield a ``--db`` URL for a fresh ledger of the given store."""
    if store == "sqlite":
        yield f"sqlite:///{tmp_path / f'{name}.db'}"
    else:
        with postgres_schema() as url:
            yield url


def raw(ledger, sql: str, params=()) -> list[tuple]:
    """Run SQL written with ``?`` marks on a ledger's own connection; return rows as tuples."""
    from sophie.execution import SqliteLedger

    if isinstance(ledger, SqliteLedger):
        return [tuple(row) for row in ledger._db.execute(sql, params).fetchall()]
    cursor = ledger.connection.execute(sql.replace("?", "%s"), params)
    return [tuple(row.values()) for row in cursor.fetchall()] if cursor.description else []
