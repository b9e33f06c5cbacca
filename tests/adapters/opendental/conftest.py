"""A real MariaDB server for the Open Dental adapter's tests, and databases of Open Dental 24.3's real tables, seeded from seed.sql.

The server comes from ``SOPHIE_TEST_MARIADB_URL`` (CI exports it from
scripts/start-mariadb.sh); when the variable is unset, the session starts the server
itself with that script. It never skips: no server is a failure.
"""

from __future__ import annotations

import os
import subprocess
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pymysql
import pymysql.constants.CLIENT
import pytest

from sophie.adapters.opendental import OpenDentalAdapter, OpenDentalSettings
from sophie.model import Snapshot

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]
SCHEMA = (HERE / "schema-24.3.0.0.sql").read_text()
"""Open Dental 24.3's own tables (a trimmed copy of its published schema)."""
SEED = (HERE / "seed.sql").read_text()
AS_OF = datetime.fromisoformat("2026-03-05T11:45:00-05:00")
ADMIN = ("sophie_admin", "sophie-admin-test")


@dataclass
class Server:
    """Where the test server listens, and its read-only user."""

    host: str
    port: int
    reader: str
    reader_password: str

    def admin(self, database: str | None = None, **options: Any) -> Any:
        return pymysql.connect(host=self.host, port=self.port, user=ADMIN[0], password=ADMIN[1], database=database,
                               autocommit=True, **options)

    def reader_url(self, database: str, **query: str) -> str:
        tail = "&".join(f"{k}={v}" for k, v in query.items())
        return f"mysql://{self.reader}:{self.reader_password}@{self.host}:{self.port}/{database}" + (f"?{tail}" if tail else "")


@dataclass
class SeededDatabase:
    """One database of Open Dental 24.3's tables (schema-24.3.0.0.sql) loaded with seed.sql."""

    server: Server
    name: str

    def url(self, **query: str) -> str:
        return self.server.reader_url(self.name, **query)

    def settings(self, **changes: Any) -> OpenDentalSettings:
        settings = OpenDentalSettings.from_url(self.url(), env={})
        from dataclasses import replace

        return replace(settings, as_of=AS_OF, **changes)

    def adapter(self, **changes: Any) -> OpenDentalAdapter:
        return OpenDentalAdapter(self.settings(**changes))

    def execute(self, *statements: str) -> None:
        """Run statements as the admin user (the adapter itself only ever reads)."""
        with self.server.admin(self.name) as connection, connection.cursor() as cursor:
            for statement in statements:
                cursor.execute(statement)


def _start_server() -> str:
    url = os.environ.get("SOPHIE_TEST_MARIADB_URL", "").strip()
    if url:
        return url
    result = subprocess.run(["bash", str(ROOT / "scripts" / "start-mariadb.sh")], capture_output=True, text=True,
                            timeout=600, check=False)  # fmt: skip
    if result.returncode != 0 or not result.stdout.strip():
        pytest.fail(f"could not start MariaDB with scripts/start-mariadb.sh:\n{result.stderr[-2000:]}", pytrace=False)
    return result.stdout.strip().splitlines()[-1]


@pytest.fixture(scope="session")
def mariadb() -> Server:
    parts = urlsplit(_start_server())
    return Server(parts.hostname or "127.0.0.1", parts.port or 3306, parts.username or "", parts.password or "")


def _create(server: Server) -> SeededDatabase:
    name = f"opendental_t{uuid.uuid4().hex[:12]}"
    flags = pymysql.constants.CLIENT.MULTI_STATEMENTS
    with server.admin(client_flag=flags) as connection, connection.cursor() as cursor:
        cursor.execute(f"CREATE DATABASE {name} CHARACTER SET utf8mb4")
        cursor.execute(f"USE {name}")
        for script in (SCHEMA, SEED):
            cursor.execute(script)
            while cursor.nextset():
                pass
    return SeededDatabase(server, name)


def _drop(database: SeededDatabase) -> None:
    with database.server.admin() as connection, connection.cursor() as cursor:
        cursor.execute(f"DROP DATABASE IF EXISTS {database.name}")


@pytest.fixture(scope="session")
def seeded_shared(mariadb: Server) -> Iterator[SeededDatabase]:
    """One seeded database for tests that only read."""
    database = _create(mariadb)
    yield database
    _drop(database)


@pytest.fixture
def seeded(mariadb: Server) -> Iterator[SeededDatabase]:
    """A fresh seeded database for a test that changes rows."""
    database = _create(mariadb)
    yield database
    _drop(database)


@pytest.fixture(scope="session")
def od_snapshot(seeded_shared: SeededDatabase) -> Snapshot:
    return seeded_shared.adapter().fetch()


@pytest.fixture
def by_id(od_snapshot: Snapshot) -> Callable[[str, str], Any]:
    def find(section: str, record_id: str) -> Any:
        matches = [r for r in getattr(od_snapshot, section) if getattr(r, "id", getattr(r, "patient_id", None)) == record_id]
        assert matches, f"{section} {record_id} is not in the snapshot"
        return matches[0]

    return find


@pytest.fixture
def find_staff(by_id: Callable[[str, str], Any]) -> Callable[[str], Any]:
    return lambda staff_id: by_id("staff", staff_id)
