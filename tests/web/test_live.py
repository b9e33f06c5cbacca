"""The board's change stream (server-sent events) follows writes made by another process."""

from __future__ import annotations

import json
import threading
import time

import httpx
from web_fixtures import Server, make_practice, signed_in, sophie

LATER = "2026-03-03T11:45:00-05:00"


def read_events(response, found, stop):
    event: dict[str, str] = {}
    try:
        for line in response.iter_lines():
            if stop.is_set():
                return
            if not line:
                if "data" in event:
                    found.append((time.monotonic(), event))
                event = {}
            elif not line.startswith(":") and ":" in line:
                name, _, value = line.partition(":")
                event[name] = value.strip()
    except (httpx.HTTPError, httpx.StreamError):  # the test closed the stream
        return


def test_the_change_stream_sends_the_marker_then_each_change_by_another_process(tmp_path):
    practice = make_practice(tmp_path)
    server = Server(practice.root)
    try:
        assert httpx.get(server.url + "/api/v1/changes").status_code == 401
        client = signed_in(server, practice.manager)
        version = client.get("/api/v1/version").json()["version"]
        found: list = []
        stop = threading.Event()
        with client.stream("GET", "/api/v1/changes", timeout=30) as response:
            assert response.status_code == 200
            assert response.headers["content-type"].startswith("text/event-stream")
            reader = threading.Thread(target=read_events, args=(response, found, stop), daemon=True)
            reader.start()
            deadline = time.monotonic() + 10
            while not found and time.monotonic() < deadline:
                time.sleep(0.05)
            assert found and found[0][1] == {"event": "change", "data": version}
            ran = sophie("run", "--now", LATER, cwd=practice.root)  # another process writes the ledger
            assert ran.returncode == 0, ran.stderr
            written = time.monotonic()
            while len(found) < 2 and time.monotonic() < written + 5:
                time.sleep(0.05)
            stop.set()
        assert len(found) >= 2, "no change event within 5 s of the other process's commit"
        assert found[1][1]["event"] == "change" and found[1][1]["data"] != version
        assert found[1][1]["data"] == client.get("/api/v1/version").json()["version"]
    finally:
        server.stop()


def test_seats_bound_streams_per_viewer_and_in_all_and_count_a_give_back_once():
    from sophie.web.live import StreamSeats

    seats = StreamSeats(each=2, total=3)
    first, second = seats.take("staff:a"), seats.take("staff:a")
    assert first and second and seats.take("staff:a") is None  # a's third
    third = seats.take("staff:b")
    assert third and seats.take("staff:c") is None  # the server's fourth
    first.give_back()
    first.give_back()  # twice counts once
    assert seats.held("staff:a") == 1 and seats.held() == 2
    assert seats.take("staff:c") and seats.take("staff:a") is None  # a has room, the server not
    assert seats.held("staff:a") == 1 and seats.held() == 3


def test_a_fifth_stream_of_one_person_is_refused_and_a_closed_one_frees_its_place(tmp_path):
    from sophie.web.live import MAX_STREAMS_EACH

    practice = make_practice(tmp_path)
    server = Server(practice.root)
    try:
        manager, person = signed_in(server, practice.manager), signed_in(server, practice.person)
        opened = [manager.stream("GET", "/api/v1/changes", timeout=30) for _ in range(MAX_STREAMS_EACH)]
        responses = [stream.__enter__() for stream in opened]
        assert [r.status_code for r in responses] == [200] * MAX_STREAMS_EACH
        with manager.stream("GET", "/api/v1/changes", timeout=30) as refused:
            assert refused.status_code == 429 and refused.headers["retry-after"] == "30"
            assert "poll" in json.loads(refused.read())["error"]
        with person.stream("GET", "/api/v1/changes", timeout=30) as theirs:  # another person is not held back
            assert theirs.status_code == 200
        opened.pop().__exit__(None, None, None)
        deadline, status = time.monotonic() + 10, 429
        while status == 429 and time.monotonic() < deadline:  # the server notices the disconnect
            with manager.stream("GET", "/api/v1/changes", timeout=30) as again:
                status = again.status_code
            time.sleep(0.1)
        assert status == 200
        for stream in opened:
            stream.__exit__(None, None, None)
    finally:
        server.stop()
