"""Sessions live in the site store: they survive a server restart, expire when idle, and sign-out deletes them."""

from __future__ import annotations

import hashlib
import sqlite3
import time

import httpx
from web_fixtures import Server, csrf_of, make_practice, signed_in


def session_rows(root):
    db = sqlite3.connect(root / "sophie.site.db")
    try:
        return db.execute("SELECT digest, staff_id, seen_at FROM web_session").fetchall()
    finally:
        db.close()


def test_a_session_survives_a_restart_expires_when_idle_and_ends_at_sign_out(tmp_path):
    practice = make_practice(tmp_path)
    first = Server(practice.root)
    try:
        client = signed_in(first, practice.person)
        cookie = client.cookies["sophie_session"]
        assert client.get("/my-day").status_code == 200
    finally:
        first.stop()
    rows = session_rows(practice.root)
    assert [(digest, staff) for digest, staff, _ in rows] == [(hashlib.sha256(cookie.encode()).hexdigest(),
                                                               practice.person)]  # fmt: skip
    stored = b"".join(p.read_bytes() for p in practice.root.glob("sophie.site.db*"))
    assert cookie.encode() not in stored  # only the id's hash is kept

    second = Server(practice.root)  # a new process: nothing in memory
    try:
        page = httpx.get(second.url + "/my-day", cookies={"sophie_session": cookie}, follow_redirects=False)
        assert page.status_code == 200 and "My day" in page.text

        # Idle past the lifetime: refused, and the row is gone.
        other = signed_in(second, practice.manager)
        other_digest = hashlib.sha256(other.cookies["sophie_session"].encode()).hexdigest()
        db = sqlite3.connect(practice.root / "sophie.site.db")
        db.execute("UPDATE web_session SET seen_at = ? WHERE digest = ?", (time.time() - 9 * 3600, other_digest))
        db.commit()
        db.close()
        expired = other.get("/my-day")
        assert expired.status_code == 303 and expired.headers["location"] == "/sign-in"
        assert other_digest not in [digest for digest, _, _ in session_rows(practice.root)]

        # Sign-out deletes the session: the old cookie no longer works, even if replayed.
        client = httpx.Client(base_url=second.url, cookies={"sophie_session": cookie}, follow_redirects=False)
        csrf = csrf_of(client.get("/my-day").text)
        out = client.post("/sign-out", data={"csrf": csrf})
        assert out.status_code == 303
        assert session_rows(practice.root) == []
        replay = httpx.get(second.url + "/my-day", cookies={"sophie_session": cookie}, follow_redirects=False)
        assert replay.status_code == 303 and replay.headers["location"] == "/sign-in"
        client.close()
    finally:
        second.stop()
