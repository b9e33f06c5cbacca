"""Connecting to PostgreSQL: one place that opens connections and names them without secrets."""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg.conninfo import conninfo_to_dict
from psycopg.rows import dict_row

from sophie.errors import LedgerError

__all__ = ["LEDGER_LOCK_SQL", "connect", "describe"]

LEDGER_LOCK_SQL = "SELECT pg_advisory_xact_lock(hashtext(coalesce(current_schema(), '')), %s)"
"""Take a transaction-scoped advisory lock of this ledger (its schema) by a small number: ledgers in
other schemas of the database do not share it."""


def describe(url: str) -> str:
    """Return ``postgresql://HOST:PORT/DB`` for messages: the URL without user, password or options."""
    try:
        parts = conninfo_to_dict(url)
    except psycopg.Error:
        return "postgresql://?"
    host = parts.get("host") or "localhost"
    port = parts.get("port") or "5432"
    return f"postgresql://{host}:{port}/{parts.get('dbname') or ''}"


def connect(url: str) -> psycopg.Connection[dict[str, Any]]:
    """Open an autocommit connection with dict rows (writes open their own transactions).

    Raises:
        LedgerError: The server cannot be reached or refuses the connection (the message
            names the server, never the password).
    """
    try:
        return psycopg.connect(url, autocommit=True, row_factory=dict_row, connect_timeout=10)
    except psycopg.Error as err:
        raise LedgerError(f"{describe(url)}: cannot connect to the ledger: {_without_secrets(str(err), url)}") from err


def _without_secrets(text: str, url: str) -> str:
    try:
        password = conninfo_to_dict(url).get("password")
    except psycopg.Error:
        password = None
    return text.replace(str(password), "***") if password else text
