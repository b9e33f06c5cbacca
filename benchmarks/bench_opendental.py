"""The Open Dental adapter on a real-sized database: a full read, and incremental reads.

Generates a 100,000-patient Open Dental practice into Open Dental 24.3's real tables
(tests/adapters/opendental/schema-24.3.0.0.sql) in a local MariaDB, with bulk inserts, then
times, through the adapter's read-only user:

* a full read (``fetch_since(None)``, validated snapshot);
* an incremental read with nothing changed;
* an incremental read after 100 appointments were edited;

first with the schema as Open Dental's documentation declares it (primary keys only) plus the
``PatNum`` indexes every Open Dental database has, then again after adding indexes on the
change stamps (what docs/opendental.md asks an operator to create). Ratios are against the
full read measured in the same run.

Usage::

    export SOPHIE_TEST_MARIADB_URL=$(bash scripts/start-mariadb.sh)
    .venv/bin/python benchmarks/bench_opendental.py [--patients 100000]

The admin user of scripts/start-mariadb.sh creates and drops the ``opendental_bench``
database; sophie itself only reads.
"""

from __future__ import annotations

import argparse
import os
import random
import time
from collections.abc import Callable, Iterator, Sequence
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pymysql
import pymysql.constants.CLIENT

from sophie.adapters.opendental import OpenDentalAdapter, OpenDentalSettings

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = ROOT / "tests" / "adapters" / "opendental" / "schema-24.3.0.0.sql"
DATABASE = "opendental_bench"
ADMIN = ("sophie_admin", "sophie-admin-test")
AS_OF = datetime.fromisoformat("2026-03-05T11:45:00-05:00")
OLD_STAMP = "2026-01-01 00:00:00"
PATIENT_INDEXED = ("appointment", "histappointment", "procedurelog", "treatplan", "claim", "claimproc", "recall",
                   "commlog", "commoptout", "patplan")  # fmt: skip
STAMP_INDEXES = (("patient", "DateTStamp"), ("appointment", "DateTStamp"), ("histappointment", "HistDateTStamp"),
                 ("procedurelog", "DateTStamp"), ("treatplan", "SecDateTEdit"), ("claim", "SecDateTEdit"),
                 ("claimproc", "SecDateTEdit"), ("recall", "DateTStamp"), ("recall", "DisableUntilDate"),
                 ("commlog", "DateTStamp"))  # fmt: skip


def _batches(rows: Iterator[tuple[Any, ...]], size: int = 5000) -> Iterator[list[tuple[Any, ...]]]:
    batch: list[tuple[Any, ...]] = []
    for row in rows:
        batch.append(row)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def _insert(cursor: Any, table: str, columns: Sequence[str], rows: Iterator[tuple[Any, ...]]) -> int:
    statement = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join(['%s'] * len(columns))})"
    count = 0
    for batch in _batches(rows):
        cursor.executemany(statement, batch)  # PyMySQL sends one multi-row INSERT per batch
        count += len(batch)
    return count


def generate(cursor: Any, patients: int, rng: random.Random) -> dict[str, int]:
    """Fill the practice: preferences, people, chairs, a month of schedules, then the patients' rows."""
    cursor.execute("INSERT INTO preference (PrefName, ValueString) VALUES ('PracticeTitle', 'Bench Dental'),"
                   " ('AppointmentTimeIncrement', '10'), ('EasyNoClinics', '1'), ('ScheduleProvUnassigned', '1'),"
                   " ('ApptEConfirmStatusAccepted', '28'), ('RecallTypesShowingInList', '1,2,3')")  # fmt: skip
    cursor.execute("INSERT INTO definition (DefNum, Category, ItemOrder, ItemName, ItemValue) VALUES"
                   " (21, 2, 0, 'Not Called', ''), (22, 2, 1, 'Unconfirmed', ''), (28, 2, 2, 'AppointmentConfirmed',"
                   " 'AppointmentConfirmed'), (31, 27, 0, 'Appt Related', 'APPT'), (34, 27, 1, 'Recall', 'RECALL')")
    providers = [(n, f"P{n}", f"Prov{n}", "Dr", 1 if n > 6 else 0) for n in range(1, 11)]
    cursor.executemany("INSERT INTO provider (ProvNum, Abbr, LName, FName, IsSecondary) VALUES (%s, %s, %s, %s, %s)",
                       providers)  # fmt: skip
    cursor.executemany("INSERT INTO operatory (OperatoryNum, OpName, IsHygiene, ProvDentist, ProvHygienist)"
                       " VALUES (%s, %s, %s, %s, %s)",
                       [(n, f"Op {n}", int(n > 6), n if n <= 6 else 0, n if n > 6 else 0) for n in range(1, 11)])
    cursor.execute("INSERT INTO recalltype (RecallTypeNum, Description, Procedures) VALUES (1, 'Prophy', 'D1110'),"
                   " (2, 'Child Prophy', 'D1120'), (3, 'Perio', 'D4910')")
    codes = [(1, "D0120", "/X/"), (2, "D1110", "//XX//"), (3, "D2740", "/XXXX/"), (4, "D2391", "/XX/"),
             (5, "D4910", "//XX//")]  # fmt: skip
    cursor.executemany("INSERT INTO procedurecode (CodeNum, ProcCode, ProcTime) VALUES (%s, %s, %s)", codes)
    first = date(2026, 2, 23)
    days = [first + timedelta(days=d) for d in range(28) if (first + timedelta(days=d)).weekday() < 5]
    counts = {"schedule": _insert(cursor, "schedule", ("SchedDate", "StartTime", "StopTime", "SchedType", "ProvNum"),
                                  ((day, "08:00:00", "17:00:00", 1, prov) for day in days for prov in range(1, 11)))}
    counts["patient"] = _insert(
        cursor, "patient",
        ("PatNum", "LName", "FName", "PatStatus", "Birthdate", "Guarantor", "PriProv", "HasIns", "PreferContactMethod",
         "BalTotal", "DateTStamp"),
        ((n, f"Last{n}", f"First{n}", 0, date(1950 + n % 60, 1 + n % 12, 1 + n % 28), n - n % 3 if n % 3 else n,
          1 + n % 6, "I" if n % 2 else "", (0, 4, 8, 5)[n % 4], float(n % 400), OLD_STAMP)
         for n in range(1, patients + 1)),
    )  # fmt: skip
    base = datetime(2025, 6, 1, 8, 0)

    def appointments() -> Iterator[tuple[Any, ...]]:
        for n in range(1, patients + 1):
            for k in range(1 + n % 2):
                start = base + timedelta(days=rng.randrange(400), minutes=10 * rng.randrange(50))
                status = 2 if start < datetime(2026, 3, 5) else 1
                yield (2 * n + k, n, status, "X" * 12, (21, 22, 28)[n % 3], 1 + n % 10, 1 + n % 6, start,
                       int(n % 10 > 5), OLD_STAMP)  # fmt: skip

    counts["appointment"] = _insert(cursor, "appointment", ("AptNum", "PatNum", "AptStatus", "Pattern", "Confirmed",
                                    "Op", "ProvNum", "AptDateTime", "IsHygiene", "DateTStamp"), appointments())

    def procedures() -> Iterator[tuple[Any, ...]]:
        for n in range(1, patients + 1):
            for k in range(2):
                status = 1 if (n + k) % 5 == 0 else 2
                yield (2 * n + k, n, 1 + (n + k) % 5, status, date(2026, 1, 1) + timedelta(days=(n + k) % 60),
                       (95.0, 120.0, 1250.0, 180.0, 240.0)[(n + k) % 5], 1, OLD_STAMP)  # fmt: skip

    counts["procedurelog"] = _insert(cursor, "procedurelog", ("ProcNum", "PatNum", "CodeNum", "ProcStatus", "ProcDate",
                                     "ProcFee", "UnitQty", "DateTStamp"), procedures())
    counts["treatplan"] = _insert(cursor, "treatplan", ("TreatPlanNum", "PatNum", "DateTP", "TPStatus", "SecDateTEdit"),
                                  ((n, n, date(2026, 1, 15), 1, OLD_STAMP) for n in range(1, patients + 1, 2)))
    counts["claim"] = _insert(
        cursor, "claim",
        ("ClaimNum", "PatNum", "DateService", "DateSent", "ClaimStatus", "ClaimFee", "InsPayEst", "ClaimType",
         "SecDateTEdit"),
        ((n, n, date(2026, 1, 10), date(2026, 1, 12), "SRU"[n % 3], 240.0, 180.0, "P", OLD_STAMP)
         for n in range(1, patients + 1, 4)),
    )  # fmt: skip
    counts["claimproc"] = _insert(cursor, "claimproc", ("ClaimNum", "ProcNum", "PatNum", "Status", "SecDateTEdit"),
                                  ((n, 2 * n, n, 0, OLD_STAMP) for n in range(1, patients + 1, 4)))
    counts["recall"] = _insert(
        cursor, "recall", ("PatNum", "RecallTypeNum", "DateDue", "DatePrevious", "DateScheduled", "DateTStamp"),
        ((n, 1 + n % 3, date(2026, 1, 1) + timedelta(days=n % 200), date(2025, 6, 1), date(1, 1, 1), OLD_STAMP)
         for n in range(1, patients + 1)),
    )  # fmt: skip
    counts["commlog"] = _insert(
        cursor, "commlog", ("PatNum", "CommDateTime", "CommType", "Mode_", "SentOrReceived", "DateTStamp"),
        ((n, datetime(2026, 2, 1, 9) + timedelta(minutes=n % 5000), 31 + 3 * (n % 2), 3, 1, OLD_STAMP)
         for n in range(1, patients + 1, 2)),
    )  # fmt: skip
    return counts


def _timed(label: str, action: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    result = action()
    elapsed = time.perf_counter() - started
    print(f"  {label}: {elapsed:.2f} s", flush=True)
    return elapsed, result


def measure(adapter: OpenDentalAdapter, admin: Any, offset: int) -> dict[str, float]:
    """Time a full read, an idle incremental read, and one after 100 appointments changed."""
    full_s, full = _timed("full read", lambda: adapter.fetch_since(None))
    idle_s, idle = _timed("incremental, nothing changed", lambda: adapter.fetch_since(full.watermark))
    with admin.cursor() as cursor:
        cursor.execute("UPDATE appointment SET Confirmed = 28 WHERE AptNum BETWEEN %s AND %s AND AptNum %% 2 = 0",
                       (offset, offset + 198))  # fmt: skip
    some_s, some = _timed("incremental, 100 appointments changed", lambda: adapter.fetch_since(idle.watermark))
    assert some.changes is not None, "an incremental read answered with a full snapshot"
    assert len(some.changes.appointments) >= 100, "the changes were not seen"
    return {"full": full_s, "idle": idle_s, "changed": some_s}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--patients", type=int, default=100_000)
    parser.add_argument("--keep", action="store_true", help="leave the database in place")
    options = parser.parse_args()
    url = urlsplit(os.environ.get("SOPHIE_TEST_MARIADB_URL", "mysql://sophie_reader:sophie-read-only@127.0.0.1:3307/x"))
    host, port = url.hostname or "127.0.0.1", url.port or 3306
    admin = pymysql.connect(host=host, port=port, user=ADMIN[0], password=ADMIN[1], autocommit=True,
                            client_flag=pymysql.constants.CLIENT.MULTI_STATEMENTS)  # fmt: skip
    with admin.cursor() as cursor:
        cursor.execute(f"DROP DATABASE IF EXISTS {DATABASE}")
        cursor.execute(f"CREATE DATABASE {DATABASE} CHARACTER SET utf8mb4")
        cursor.execute(f"USE {DATABASE}")
        cursor.execute(SCHEMA.read_text())
        while cursor.nextset():
            pass
        admin.autocommit(False)
        print(f"generating {options.patients:,} patients into Open Dental 24.3's tables", flush=True)
        _, counts = _timed("generation", lambda: generate(cursor, options.patients, random.Random(1)))
        admin.commit()
        admin.autocommit(True)
        print("  rows: " + ", ".join(f"{table} {count:,}" for table, count in counts.items()), flush=True)
        for table in PATIENT_INDEXED:  # Open Dental's own databases index PatNum everywhere
            cursor.execute(f"CREATE INDEX PatNum ON {table} (PatNum)")
        cursor.execute("CREATE INDEX Guarantor ON patient (Guarantor)")
    settings = OpenDentalSettings.from_url(f"mysql://{url.username}:{url.password}@{host}:{port}/{DATABASE}", env={})
    try:
        print("stamps as Open Dental's documentation declares them (no index):", flush=True)
        bare = measure(OpenDentalAdapter(_with_as_of(settings)), admin, 1000)
        with admin.cursor() as cursor:
            for table, column in STAMP_INDEXES:
                cursor.execute(f"CREATE INDEX sophie_{column} ON {table} ({column})")
        print("with the indexes docs/opendental.md recommends:", flush=True)
        indexed = measure(OpenDentalAdapter(_with_as_of(settings)), admin, 5000)
        for name, run in (("no stamp index", bare), ("stamp indexes", indexed)):
            print(f"{name}: incremental idle = {run['idle'] / run['full']:.3f} x full, "
                  f"100 changes = {run['changed'] / run['full']:.3f} x full")  # fmt: skip
    finally:
        if not options.keep:
            with admin.cursor() as cursor:
                cursor.execute(f"DROP DATABASE IF EXISTS {DATABASE}")
        admin.close()


def _with_as_of(settings: OpenDentalSettings) -> OpenDentalSettings:
    from dataclasses import replace

    return replace(settings, as_of=AS_OF)


if __name__ == "__main__":
    main()
