"""``sophie serve --demo``: two simulated weeks of the demo practice, with an account per person."""

from __future__ import annotations

import tempfile
from datetime import datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo

from sophie.cli import render

__all__ = ["DEMO_PASSWORD", "demo_accounts", "prepare_demo"]

DEMO_PASSWORD = "sophie-demo"
"""The password of every demo account (the demo serves made-up people on loopback only)."""

DEMO_PATIENTS = 800


def demo_accounts(site_path: str, now: datetime) -> list[tuple[str, str, tuple[str, ...]]]:
    """Give every staff member of the demo directory an account; return (id, name, roles) of each."""
    from sophie.web.security import hash_password
    from sophie.web.site_store import SiteStore

    hashed = hash_password(DEMO_PASSWORD)
    with SiteStore(site_path) as store:
        staff = sorted(store.staff().values(), key=lambda s: s.staff_id)
        for entry in staff:
            store.set_password_hash(entry.staff_id, hashed, now)
    return [(entry.staff_id, entry.name, entry.roles) for entry in staff]


def prepare_demo(directory: Path | None = None, *, echo: bool = True) -> tuple[str, str, datetime]:
    """Simulate the demo practice into a fresh ledger; return its URL, the site store and the demo's clock."""
    from sophie.adapters import DemoAdapter
    from sophie.execution import SqliteLedger
    from sophie.execution.simulation.loop import simulate
    from sophie.web.directory import record_directory
    from sophie.web.site_store import SiteStore, site_store_path

    where = directory or Path(tempfile.mkdtemp(prefix="sophie-demo-"))
    ledger = where / "demo.db"
    if echo:
        render.echo("sophie: simulating two weeks of the demo practice…", err=True)
    report = simulate(days=14, patients=DEMO_PATIENTS, db=str(ledger))
    zone = ZoneInfo("America/New_York")
    clock = datetime.combine(report.days[-1].day, time(12, 30), zone)
    snapshot = DemoAdapter(patients=DEMO_PATIENTS, as_of=clock).fetch()
    with SqliteLedger(str(ledger)) as store:
        patients = [task.patient_id for task in store.open_tasks()]
    site = site_store_path(str(ledger))
    with SiteStore(site) as store:
        record_directory(store, snapshot, patients)
    accounts = demo_accounts(site, clock)
    if echo:
        render.echo(f"sophie: demo accounts (password {DEMO_PASSWORD}):", err=True)
        for staff_id, name, roles in accounts:
            render.echo(f"  {staff_id:<8} {name:<22} {', '.join(roles)}", err=True)
    return f"sqlite:///{ledger}", site, clock
