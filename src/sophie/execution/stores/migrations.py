"""Versioned schema migrations shared by the ledger stores: one step per version, SQL per dialect.

Every store keeps one integer, its schema version (SQLite: ``PRAGMA user_version``;
PostgreSQL: the ``sophie_schema`` table). :data:`~sophie.execution.stores.schema.STEPS`
lists the steps in order; step ``n`` brings a ledger from version ``n - 1`` to ``n`` and
carries the statements for each dialect, so both stores always describe the same tables.
A store runs the steps it lacks in one transaction that also records the new version; a
ledger whose version is newer than the steps known is refused, untouched.

Adding a migration: append a :class:`Step` to :data:`~sophie.execution.stores.schema.STEPS`
with the next version, its SQLite statements and their PostgreSQL translation. Most DDL
is the same text in both (``CREATE TABLE`` with ``TEXT``/``INTEGER`` columns, ``CREATE
[UNIQUE] INDEX ... WHERE``, ``ALTER TABLE ... ADD COLUMN``, ``DROP INDEX IF EXISTS``);
what differs: ``INTEGER PRIMARY KEY AUTOINCREMENT`` is ``BIGINT GENERATED ALWAYS AS
IDENTITY PRIMARY KEY``, ``REAL`` is ``DOUBLE PRECISION``, a trigger's body is a PL/pgSQL
function plus ``CREATE TRIGGER ... EXECUTE FUNCTION``, ``INSERT OR IGNORE`` is ``INSERT ...
ON CONFLICT DO NOTHING``. A test checks that both stores end with the same tables, columns
and indexes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

__all__ = ["Dialect", "Statement", "Step", "check_steps", "pending", "run_statement"]

Statement = str | Callable[[Any], None]
"""One piece of a step: SQL text, or a function given the connection (for what SQL alone
cannot say in a dialect, such as SQLite's table rebuild to change a CHECK constraint)."""


class Dialect(StrEnum):
    """The SQL dialects the ledger stores speak."""

    SQLITE = "sqlite"
    POSTGRES = "postgres"


@dataclass(frozen=True, slots=True)
class Step:
    """One schema version: the statements that bring the previous version to it, per dialect.

    Attributes:
        version: The version this step produces (1 for the first).
        summary: What it changes, in a line.
        sqlite: Its statements for SQLite.
        postgres: Its statements for PostgreSQL.
    """

    version: int
    summary: str
    sqlite: tuple[Statement, ...]
    postgres: tuple[Statement, ...]

    def statements(self, dialect: Dialect) -> tuple[Statement, ...]:
        """Return this step's statements in ``dialect``."""
        return self.sqlite if dialect is Dialect.SQLITE else self.postgres


def check_steps(steps: Sequence[Step]) -> int:
    """Check that ``steps`` are numbered 1, 2, ... and written for every dialect; return the latest version.

    Raises:
        ValueError: A version is missing, repeated or out of order, or a step lacks a dialect.
    """
    for expected, step in enumerate(steps, start=1):
        if step.version != expected:
            raise ValueError(f"migration step {step.version} is out of order (expected {expected})")
        for dialect in Dialect:
            if not step.statements(dialect):
                raise ValueError(f"migration step {step.version} has no {dialect} statements")
    return len(steps)


def pending(steps: Sequence[Step], found: int, dialect: Dialect) -> list[Statement]:
    """Return the statements, in order, that bring a ledger at version ``found`` up to the last step."""
    return [statement for step in steps[found:] for statement in step.statements(dialect)]


def run_statement(connection: Any, statement: Statement) -> None:
    """Run one statement of a step on ``connection`` (a function is called with it)."""
    if callable(statement):
        statement(connection)
    else:
        connection.execute(statement)
