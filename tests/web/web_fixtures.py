"""A practice with a ledger, accounts, and the real server on loopback (a subprocess)."""

from __future__ import annotations

import os
import re
import socket
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

NOW = "2026-03-03T10:30:00-05:00"
PASSWORD = "correct horse 7"
CANARY_FIRST, CANARY_LAST = "Zebulonia", "Quackenbush"


def sophie(*args: str, cwd: Path, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "sophie", *args], cwd=cwd, input=stdin, capture_output=True,
                          text=True, timeout=300, check=False)  # fmt: skip


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Practice:
    root: Path
    person: str  # a front-desk style person with tasks of their own
    manager: str  # the office manager
    other_task: str  # a task that is neither the person's nor their roles'
    canary_task: str  # one of the person's tasks, titled with the canary patient
    token: str


def make_practice(root: Path, *, capacity: int | None = None) -> Practice:
    """``sophie init --adapter demo``, ``sophie run``, accounts for two people, a token, a canary."""
    assert sophie("init", "--adapter", "demo", cwd=root).returncode == 0
    ran = sophie("run", "--now", NOW, *(() if capacity is None else ("--capacity", str(capacity))), cwd=root)
    assert ran.returncode == 0, ran.stderr
    db = sqlite3.connect(root / "sophie.db")
    site = sqlite3.connect(root / "sophie.site.db")
    roles = {sid: set(re.findall(r'"(\w+)"', js)) for sid, js in site.execute("SELECT staff_id, roles_json FROM staff")}
    managers = {sid for sid, r in roles.items() if r & {"office_manager", "owner_dentist"}}
    counts = db.execute(
        "SELECT owner_id, count(*) FROM task WHERE status = 'open' AND patient_id IS NOT NULL GROUP BY owner_id "
        "ORDER BY count(*) DESC"
    ).fetchall()
    person = next(sid for sid, _ in counts if sid not in managers)
    manager = next(sid for sid in sorted(managers) if "office_manager" in roles[sid])
    mine = roles[person]
    other = next(
        tid for tid, owner, role in db.execute("SELECT id, owner_id, owner_role FROM task WHERE status = 'open'")
        if owner != person and role not in mine
    )
    canary, patient = db.execute(
        "SELECT id, patient_id FROM task WHERE owner_id = ? AND status = 'open' AND patient_id IS NOT NULL "
        "ORDER BY due_at LIMIT 1", (person,)
    ).fetchone()
    db.execute("UPDATE task SET title = ? WHERE id = ?", (f"Call {CANARY_FIRST} {CANARY_LAST} about treatment", canary))
    db.commit()
    site.execute("INSERT OR REPLACE INTO patient (practice_id, patient_id, display) VALUES ('demo', ?, ?)",
                 (patient, f"{CANARY_FIRST} {CANARY_LAST[0]}."))  # fmt: skip
    site.commit()
    site.close()
    db.close()
    for staff_id in (person, manager):
        added = sophie("user", "add", staff_id, cwd=root, stdin=PASSWORD + "\n")
        assert added.returncode == 0, added.stderr
    token = sophie("token", "create", "--name", "tests", cwd=root).stdout.strip()
    return Practice(root, person, manager, other, canary, token)


class Server:
    """``sophie serve`` in its own process, its output kept in a log file.

    The port is picked free and then bound by the server, so another process can take it in
    between: a server counts as started only when its own log says it listens on its port
    (not when the port answers, which another server might do); else it is started again on
    another port.
    """

    def __init__(self, root: Path, *extra: str, now: str | None = NOW) -> None:
        for _ in range(3):
            if self._start(root, extra, now):
                return
        raise RuntimeError(f"the server did not start: {self.log.read_text()}")

    def _start(self, root: Path, extra: tuple[str, ...], now: str | None) -> bool:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = root / f"server-{self.port}.log"
        self._out = self.log.open("w")
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "sophie", "serve", "--port", str(self.port), *(("--now", now) if now else ()), *extra],
            cwd=root, stdout=self._out, stderr=subprocess.STDOUT, env=env,
        )  # fmt: skip
        listening = f"running on http://127.0.0.1:{self.port} "
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and self.process.poll() is None:
            if listening in self.log.read_text():
                try:
                    if httpx.get(self.url + "/sign-in", timeout=2).status_code == 200:
                        return True
                except httpx.TransportError:
                    pass
            time.sleep(0.2)
        self.stop()
        return False

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self._out.close()

    def logs(self) -> str:
        self._out.flush()
        return self.log.read_text()


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, "no CSRF token in the page"
    return found.group(1)


OPEN_CLIENTS: list[httpx.Client] = []


def client_for(server: Server) -> httpx.Client:
    """A client closed after the test (see the autouse fixture in conftest)."""
    client = httpx.Client(base_url=server.url, follow_redirects=False, timeout=30)
    OPEN_CLIENTS.append(client)
    return client


def signed_in(server: Server, staff_id: str, password: str = PASSWORD) -> httpx.Client:
    client = client_for(server)
    page = client.get("/sign-in")
    answer = client.post("/sign-in", data={"staff_id": staff_id, "password": password, "csrf": csrf_of(page.text)})
    assert answer.status_code == 303 and answer.headers["location"] == "/my-day", answer.text[:300]
    return client
