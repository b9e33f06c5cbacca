"""``sophie report`` and ``sophie serve`` on a PostgreSQL ledger (a group's), against the real server.

The site store (accounts, tokens, sessions) of a PostgreSQL ledger is a local SQLite file:
``sophie.site.db`` in the working directory, unless ``server.site_db`` says where.
"""

from __future__ import annotations

import html
import json
from dataclasses import replace
from datetime import datetime

import httpx
import pytest
from web_fixtures import NOW, PASSWORD, Server, signed_in, sophie

from ledger_stores import postgres_schema
from sophie.adapters import DemoAdapter
from sophie.execution import CycleRecord
from sophie.execution.tasks import ChangeKind, TaskChange
from sophie.web.site_store import SiteStore

ARGS = ["--since", "2026-03-01", "--until", "2026-03-03", "--format", "json"]


@pytest.fixture
def pg_url():
    with postgres_schema("web") as url:
        yield url


def test_report_and_pages_on_a_postgresql_ledger_with_two_practices(tmp_path, pg_url):
    root = tmp_path
    assert sophie("init", "--adapter", "demo", cwd=root).returncode == 0
    for db in (pg_url, f"sqlite:///{root / 'twin.db'}"):
        ran = sophie("run", "--db", db, "--now", NOW, cwd=root)
        assert ran.returncode == 0, ran.stderr
    on_pg = sophie("report", "--db", pg_url, *ARGS, cwd=root)
    assert on_pg.returncode == 0, on_pg.stderr
    on_sqlite = sophie("report", "--db", f"sqlite:///{root / 'twin.db'}", *ARGS, cwd=root)
    card = json.loads(on_pg.stdout)
    assert card["total"]["created"] > 0 and card == json.loads(on_sqlite.stdout)  # the same cycle, the same numbers

    # A second practice in the same ledger: the commands ask which one.
    from sophie.execution.stores.postgres.ledger import PostgresLedger

    practice = DemoAdapter(as_of=datetime.fromisoformat(NOW)).fetch().practice.model_copy(update={"id": "north"})
    with PostgresLedger(pg_url) as ledger:  # one task of the other practice, owned by everyone's ids
        sample = ledger.find_tasks(limit=1)[0]
        north_task = replace(sample, id="t-north-1", key="north:x", practice_id="north", subject_id="north-1")
    with PostgresLedger(pg_url) as ledger:
        ledger.apply([TaskChange(ChangeKind.CREATED, north_task, None, "created")], [], [], practice=practice,
                     cycle=CycleRecord("north", datetime.fromisoformat(NOW), True, 0))  # fmt: skip
    which = sophie("report", "--db", pg_url, *ARGS, cwd=root)
    assert which.returncode == 2 and "--practice" in which.stderr and "Traceback" not in which.stderr
    assert "sophie-test" not in which.stderr  # the URL's password is never shown
    picked = sophie("report", "--db", pg_url, "--practice", "demo", *ARGS, cwd=root)
    assert picked.returncode == 0 and json.loads(picked.stdout) == card
    unknown = sophie("report", "--db", pg_url, "--practice", "south", *ARGS, cwd=root)
    assert unknown.returncode == 2 and "south" in unknown.stderr

    # Accounts and a token in the local site store; the pages read the PostgreSQL ledger.
    token = sophie("token", "create", "--name", "t", "--db", pg_url, cwd=root).stdout.strip()
    assert (root / "sophie.site.db").is_file()
    refused = sophie("serve", "--db", pg_url, "--port", "1", cwd=root)
    assert refused.returncode == 2 and "--practice" in refused.stderr
    server = Server(root, "--db", pg_url, "--practice", "demo")
    try:
        api = httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {token}"})
        tasks = api.get("/api/v1/tasks", params={"limit": 1000}).json()["tasks"]
        owners = [t["owner_id"] for t in tasks if t["owner_id"]]
        person = max(set(owners), key=owners.count)
        assert "t-north-1" not in {t["id"] for t in tasks}  # the served practice's tasks only
        assert api.get("/api/v1/tasks/t-north-1").status_code == 404
        assert api.post("/api/v1/tasks/t-north-1/actions/ack").status_code == 404
        added = sophie("user", "add", person, "--db", pg_url, cwd=root, stdin=PASSWORD + "\n")
        assert added.returncode == 0, added.stderr
        client = signed_in(server, person)
        page = client.get("/my-day").text
        mine = [t["id"] for t in tasks if t["owner_id"] == person and t["status"] != "backlog"]
        assert mine and any(f'data-task="{task_id}"' in page for task_id in mine)
        with SiteStore(str(root / "sophie.site.db")) as store:  # `sophie run` recorded the directory there
            staff = store.staff()
        assert person in staff and html.escape(staff[person].name) in page  # names, not staff ids
        day = client.get(f"/api/v1/staff/{person}/day").json()
        assert day["counts"]["open"] == len(mine)
        assert client.get("/huddle").status_code == 200
        assert client.get("/scorecard").status_code in (200, 403)
        report = api.get("/api/v1/report", params={"since": "2026-03-01T00:00:00-05:00",
                                                   "until": "2026-03-04T00:00:00-05:00"}).json()  # fmt: skip
        assert report["total"] == card["total"]
        version = client.get("/api/v1/version").json()["version"]
        with client.stream("GET", "/api/v1/changes") as stream:
            lines = stream.iter_lines()
            assert next(line for line in lines if line.startswith("data:")) == f"data: {version}"
        api.close()
    finally:
        server.stop()


@pytest.mark.parametrize("command", ["report", "serve"])
def test_an_unreachable_postgresql_ledger_is_one_line_without_its_password(command, tmp_path):
    done = sophie(command, "--db", "postgresql://sophie:s3cret@127.0.0.1:1/group", cwd=tmp_path)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.startswith("sophie: error: postgresql://127.0.0.1:1/group: cannot connect to the ledger")
    assert "s3cret" not in done.stdout + done.stderr
