"""The staff pages' own store: accounts, API tokens, and the practice directory.

A small SQLite file beside the ledger (``sophie.db`` -> ``sophie.site.db``), so the
ledger's schema stays the loop's. It holds:

- ``account``: a staff id and its argon2 password hash;
- ``api_token``: a name and the SHA-256 of a random token (shown once, never stored);
- ``web_session``: signed-in sessions, by the SHA-256 of the cookie's random id (the id
  itself is never stored), with the staff id, the CSRF token, when it was last used
  (seconds since the epoch) and a message for the next page;
- the **directory** the last ``sophie run`` read from the PMS: staff names and roles,
  each patient's display name (first name and last initial) for the tasks' patients,
  and today's schedule with each patient's unscheduled treatment and balance (the huddle).
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

from sophie.errors import ConfigurationError, LedgerError

__all__ = [
    "HuddlePatient",
    "SiteStore",
    "StaffEntry",
    "site_store_path",
    "token_digest",
]

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS account (staff_id TEXT PRIMARY KEY, password_hash TEXT NOT NULL, "
    "created_at TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS api_token (name TEXT PRIMARY KEY, digest TEXT NOT NULL UNIQUE, "
    "created_at TEXT NOT NULL, last_used_at TEXT)",
    "CREATE TABLE IF NOT EXISTS staff (practice_id TEXT NOT NULL, staff_id TEXT NOT NULL, name TEXT NOT NULL, "
    "roles_json TEXT NOT NULL, active INTEGER NOT NULL, PRIMARY KEY (practice_id, staff_id))",
    "CREATE TABLE IF NOT EXISTS patient (practice_id TEXT NOT NULL, patient_id TEXT NOT NULL, "
    "display TEXT NOT NULL, PRIMARY KEY (practice_id, patient_id))",
    "CREATE TABLE IF NOT EXISTS huddle (practice_id TEXT NOT NULL, day TEXT NOT NULL, start TEXT NOT NULL, "
    "patient_id TEXT NOT NULL, display TEXT NOT NULL, provider TEXT NOT NULL, unscheduled TEXT NOT NULL, "
    "balance TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS directory_read (practice_id TEXT PRIMARY KEY, read_at TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS web_session (digest TEXT PRIMARY KEY, staff_id TEXT NOT NULL, csrf TEXT NOT NULL, "
    "created_at REAL NOT NULL, seen_at REAL NOT NULL, flash_json TEXT)",
    "CREATE INDEX IF NOT EXISTS web_session_seen ON web_session (seen_at)",
)


def site_store_path(ledger_path: str) -> str:
    """Return the site store's file for a SQLite ledger file (``x.db`` -> ``x.site.db``)."""
    if ledger_path == ":memory:":
        return ":memory:"
    path = Path(ledger_path)
    return str(path.with_name(f"{path.stem}.site{path.suffix or '.db'}"))


def token_digest(token: str) -> str:
    """Return the stored form of an API token (tokens are random, so a plain SHA-256 suffices)."""
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class StaffEntry:
    """A staff member as the directory knows them.

    Attributes:
        staff_id: The PMS's staff id.
        name: Their name.
        roles: Their roles.
        active: Whether they still work there.
        practice_id: Their practice.
    """

    staff_id: str
    name: str
    roles: tuple[str, ...]
    active: bool = True
    practice_id: str = ""


@dataclass(frozen=True, slots=True)
class HuddlePatient:
    """A patient on today's schedule who has unscheduled treatment or a balance.

    Attributes:
        start: The appointment's start.
        patient_id: The patient.
        display: First name and last initial.
        provider: The provider's name.
        unscheduled: Unscheduled treatment (money).
        balance: The family balance (money).
    """

    start: datetime
    patient_id: str
    display: str
    provider: str
    unscheduled: Decimal
    balance: Decimal


class SiteStore:
    """The accounts, tokens and directory (see the module docstring).

    Args:
        path: The SQLite file (created if missing), or ``":memory:"``.

    Raises:
        LedgerError: The file cannot be opened.
    """

    def __init__(self, path: str) -> None:
        self.path = path
        try:
            self._db = sqlite3.connect(path, isolation_level=None, timeout=30, check_same_thread=False)
            self._db.row_factory = sqlite3.Row
            self._db.execute("PRAGMA busy_timeout = 30000")
            if path != ":memory:":
                self._db.execute("PRAGMA journal_mode = WAL")
            for statement in _SCHEMA:
                self._db.execute(statement)
        except sqlite3.DatabaseError as err:
            raise LedgerError(f"{path}: cannot open the site store: {err}") from err

    def __enter__(self) -> SiteStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection."""
        self._db.close()

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield self._db
            self._db.execute("COMMIT")
        except BaseException:
            self._db.execute("ROLLBACK")
            raise

    # -- accounts and tokens -----------------------------------------------------------------

    def set_password_hash(self, staff_id: str, password_hash: str, now: datetime) -> None:
        """Create or replace a staff member's account."""
        with self._write() as db:
            db.execute(
                "INSERT INTO account (staff_id, password_hash, created_at) VALUES (?, ?, ?) ON CONFLICT (staff_id) "
                "DO UPDATE SET password_hash = excluded.password_hash",
                (staff_id, password_hash, now.astimezone(UTC).isoformat()),
            )

    def password_hash(self, staff_id: str) -> str | None:
        """Return a staff member's password hash (``None``: no account)."""
        row = self._db.execute("SELECT password_hash FROM account WHERE staff_id = ?", (staff_id,)).fetchone()
        return None if row is None else str(row[0])

    def accounts(self) -> list[str]:
        """Return the staff ids that have accounts."""
        return [row[0] for row in self._db.execute("SELECT staff_id FROM account ORDER BY staff_id")]

    def add_token(self, name: str, token: str, now: datetime) -> None:
        """Store a new API token's digest under ``name``.

        Raises:
            ConfigurationError: A token by that name exists.
        """
        try:
            with self._write() as db:
                db.execute(
                    "INSERT INTO api_token (name, digest, created_at) VALUES (?, ?, ?)",
                    (name, token_digest(token), now.astimezone(UTC).isoformat()),
                )
        except sqlite3.IntegrityError:
            raise ConfigurationError(f"a token named {name!r} exists; revoke it first or pick another name") from None

    def revoke_token(self, name: str) -> bool:
        """Delete a token; return whether one was deleted."""
        with self._write() as db:
            return db.execute("DELETE FROM api_token WHERE name = ?", (name,)).rowcount == 1

    def token_name(self, token: str) -> str | None:
        """Return the name of the token ``token`` is (``None``: not a token)."""
        row = self._db.execute("SELECT name FROM api_token WHERE digest = ?", (token_digest(token),)).fetchone()
        return None if row is None else str(row[0])

    def tokens(self) -> list[tuple[str, str]]:
        """Return each token's name and creation time."""
        return [(r[0], r[1]) for r in self._db.execute("SELECT name, created_at FROM api_token ORDER BY name")]

    # -- sessions ----------------------------------------------------------------------------

    def add_session(self, digest: str, staff_id: str, csrf: str, now: float, *, idle_before: float) -> None:
        """Store a new session (and forget the sessions idle since before ``idle_before``)."""
        with self._write() as db:
            db.execute("DELETE FROM web_session WHERE seen_at < ?", (idle_before,))
            db.execute(
                "INSERT INTO web_session (digest, staff_id, csrf, created_at, seen_at) VALUES (?, ?, ?, ?, ?)",
                (digest, staff_id, csrf, now, now),
            )

    def session_row(self, digest: str) -> tuple[str, str, float, str | None] | None:
        """Return a session's staff id, CSRF token, last use and pending message (``None``: no such session)."""
        row = self._db.execute(
            "SELECT staff_id, csrf, seen_at, flash_json FROM web_session WHERE digest = ?", (digest,)
        ).fetchone()
        return None if row is None else (str(row[0]), str(row[1]), float(row[2]), row[3])

    def touch_session(self, digest: str, now: float) -> None:
        """Note that a session was used at ``now``."""
        with self._write() as db:
            db.execute("UPDATE web_session SET seen_at = ? WHERE digest = ? AND seen_at < ?", (now, digest, now))

    def set_session_flash(self, digest: str, flash_json: str | None) -> None:
        """Set (or clear) the message a session's next page shows."""
        with self._write() as db:
            db.execute("UPDATE web_session SET flash_json = ? WHERE digest = ?", (flash_json, digest))

    def drop_session(self, digest: str) -> bool:
        """Delete a session; return whether there was one."""
        with self._write() as db:
            return db.execute("DELETE FROM web_session WHERE digest = ?", (digest,)).rowcount == 1

    # -- directory ---------------------------------------------------------------------------

    def replace_directory(
        self,
        practice_id: str,
        *,
        staff: Sequence[StaffEntry],
        patients: Sequence[tuple[str, str]],
        huddle: Sequence[HuddlePatient],
        day: date,
        read_at: datetime,
    ) -> None:
        """Replace a practice's directory with what the PMS shows now (one transaction)."""
        with self._write() as db:
            for table in ("staff", "patient"):
                db.execute(f"DELETE FROM {table} WHERE practice_id = ?", (practice_id,))
            db.execute("DELETE FROM huddle WHERE practice_id = ?", (practice_id,))
            db.executemany(
                "INSERT INTO staff (practice_id, staff_id, name, roles_json, active) VALUES (?, ?, ?, ?, ?)",
                [(practice_id, s.staff_id, s.name, json.dumps(list(s.roles)), int(s.active)) for s in staff],
            )
            db.executemany(
                "INSERT OR REPLACE INTO patient (practice_id, patient_id, display) VALUES (?, ?, ?)",
                [(practice_id, pid, display) for pid, display in patients],
            )
            db.executemany(
                "INSERT INTO huddle (practice_id, day, start, patient_id, display, provider, unscheduled, balance) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [(practice_id, day.isoformat(), h.start.isoformat(), h.patient_id, h.display, h.provider,
                  str(h.unscheduled), str(h.balance)) for h in huddle],
            )  # fmt: skip
            db.execute(
                "INSERT OR REPLACE INTO directory_read (practice_id, read_at) VALUES (?, ?)",
                (practice_id, read_at.astimezone(UTC).isoformat()),
            )

    def staff(self) -> dict[str, StaffEntry]:
        """Return every staff member of every practice, by staff id."""
        rows = self._db.execute("SELECT * FROM staff ORDER BY name")
        return {
            row["staff_id"]: StaffEntry(
                row["staff_id"],
                row["name"],
                tuple(json.loads(row["roles_json"])),
                bool(row["active"]),
                row["practice_id"],
            )
            for row in rows
        }

    def patient_displays(self, patient_ids: Sequence[str]) -> dict[str, str]:
        """Return the display names of the patients given (those the directory knows)."""
        found: dict[str, str] = {}
        ids = list(dict.fromkeys(patient_ids))
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            sql = f"SELECT patient_id, display FROM patient WHERE patient_id IN ({', '.join('?' * len(chunk))})"
            found.update({row[0]: row[1] for row in self._db.execute(sql, chunk)})
        return found

    def huddle(self, day: date) -> list[HuddlePatient]:
        """Return the patients on ``day``'s schedule with unscheduled treatment or a balance."""
        rows = self._db.execute("SELECT * FROM huddle WHERE day = ? ORDER BY start, display", (day.isoformat(),))
        return [
            HuddlePatient(
                datetime.fromisoformat(row["start"]),
                row["patient_id"],
                row["display"],
                row["provider"],
                Decimal(row["unscheduled"]),
                Decimal(row["balance"]),
            )
            for row in rows
        ]

    def directory_read_at(self) -> datetime | None:
        """Return when the directory was last read from the PMS (``None``: never)."""
        row = self._db.execute("SELECT max(read_at) FROM directory_read").fetchone()
        return None if row is None or row[0] is None else datetime.fromisoformat(row[0])
