"""The staff pages over real HTTP on loopback: sign-in, My day, actions, access, CSRF, limits, logs."""

from __future__ import annotations

import re

import httpx
import pytest
from web_fixtures import CANARY_FIRST, CANARY_LAST, PASSWORD, Server, client_for, csrf_of, make_practice, signed_in


@pytest.fixture(scope="module")
def practice(tmp_path_factory):
    return make_practice(tmp_path_factory.mktemp("practice"))


@pytest.fixture(scope="module")
def server(practice):
    running = Server(practice.root)
    yield running
    running.stop()


def audit(server, practice, task_id):
    answer = httpx.get(f"{server.url}/api/v1/tasks/{task_id}", headers={"Authorization": f"Bearer {practice.token}"})
    assert answer.status_code == 200
    return answer.json()


def test_signed_out_pages_redirect_and_the_api_answers_401(server):
    for path in ("/my-day", "/huddle", "/scorecard", "/"):
        answer = httpx.get(server.url + path, follow_redirects=False)
        assert answer.status_code == 303 and answer.headers["location"] in ("/sign-in", "/my-day")
    assert httpx.get(server.url + "/api/v1/tasks").status_code == 401
    assert httpx.get(server.url + "/api/v1/tasks", headers={"Authorization": "Bearer nope"}).status_code == 401


def test_sign_in_sets_a_strict_http_only_cookie_and_refuses_a_wrong_password(server, practice):
    client = client_for(server)
    page = client.get("/sign-in")
    wrong = client.post("/sign-in", data={"staff_id": practice.person, "password": "nope", "csrf": csrf_of(page.text)})
    assert wrong.status_code == 401 and "do not match" in wrong.text
    right = client.post("/sign-in", data={"staff_id": practice.person, "password": PASSWORD, "csrf": csrf_of(page.text)})
    assert right.status_code == 303
    cookie = next(v for k, v in right.headers.multi_items() if k == "set-cookie" and v.startswith("sophie_session="))
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie.replace("Strict", "strict")
    assert "Secure" not in cookie  # plain HTTP on loopback; any other host gets Secure cookies
    assert right.headers["location"] == "/my-day"
    assert "default-src 'self'" in right.headers["content-security-policy"]


def test_my_day_shows_the_persons_tasks_in_words(server, practice):
    client = signed_in(server, practice.person)
    page = client.get("/my-day")
    assert page.status_code == 200
    html = page.text
    assert f"Call {CANARY_FIRST} {CANARY_LAST} about treatment" in html
    assert f"{CANARY_FIRST} {CANARY_LAST[0]}." in html  # first name and last initial
    assert re.search(r"\$\d{1,3}(,\d{3})*\.\d\d", html)  # money as money
    assert re.search(r"Due (Mon|Tue|Wed|Thu|Fri|Sat|Sun) \w{3} \d+, \d+:\d\d (AM|PM)", html)
    assert not re.search(r"\d+ days?, \d+:\d\d:\d\d", html)  # no raw timedelta text (161 days, 13:00:29)
    assert not re.search(r"Owner: s-\d", html)  # owners by name
    assert "overdue" in html and "due today" in html and "in backlog" in html
    assert 'href="/scorecard"' not in html  # not a manager


def test_each_action_is_audited_with_the_signed_in_staff_id(server, practice):
    client = signed_in(server, practice.person)
    tasks = httpx.get(f"{server.url}/api/v1/tasks", params={"owner": practice.person, "limit": 50},
                      headers={"Authorization": f"Bearer {practice.token}"}).json()["tasks"]  # fmt: skip
    # tasks in the person's day (a backlog task cannot be snoozed or blocked)
    ids = [t["id"] for t in tasks if t["id"] != practice.canary_task and t["status"] == "open"][:4]
    csrf = csrf_of(client.get("/my-day").text)
    steps = [
        (ids[0], "ack", {}, "acknowledged"),
        (ids[1], "snooze", {"until": "2026-03-05T09:00"}, "snoozed"),
        (ids[2], "block", {"reason": "waiting for the lab"}, "blocked"),
        (ids[3], "note", {"note": "left a voicemail"}, "noted"),
        (ids[0], "done", {}, "done"),
    ]
    for task_id, action, fields, event in steps:
        answer = client.post(f"/tasks/{task_id}/{action}", data={"csrf": csrf, "back": "my-day", **fields})
        assert answer.status_code == 303 and answer.headers["location"] == "/my-day"
        last = audit(server, practice, task_id)["audit"][-1]
        assert (last["kind"], last["actor"]) == (event, f"staff:{practice.person}")
    detail = audit(server, practice, ids[1])["task"]
    assert detail["status"] == "snoozed" and detail["snoozed_until"].startswith("2026-03-05T09:00:00-05:00")
    assert audit(server, practice, ids[2])["task"]["blocked_reason"] == "waiting for the lab"
    assert audit(server, practice, ids[3])["audit"][-1]["data"]["note"] == "left a voicemail"
    assert audit(server, practice, ids[0])["task"]["status"] == "done"


def test_a_person_cannot_act_on_anothers_task(server, practice):
    client = signed_in(server, practice.person)
    csrf = csrf_of(client.get("/my-day").text)
    answer = client.post(f"/tasks/{practice.other_task}/done", data={"csrf": csrf})
    assert answer.status_code == 403
    assert audit(server, practice, practice.other_task)["task"]["status"] == "open"
    api = client.post(f"/api/v1/tasks/{practice.other_task}/actions/done", headers={"X-CSRF-Token": csrf})
    assert api.status_code == 403
    assert client.get(f"/api/v1/tasks/{practice.other_task}").status_code == 403
    assert client.get("/scorecard").status_code == 403


def test_a_post_without_the_csrf_token_is_refused(server, practice):
    client = signed_in(server, practice.person)
    task = practice.canary_task
    assert client.post(f"/tasks/{task}/ack", data={}).status_code == 403
    assert client.post(f"/tasks/{task}/ack", data={"csrf": "forged"}).status_code == 403
    assert client.post(f"/api/v1/tasks/{task}/actions/ack").status_code == 403
    assert audit(server, practice, task)["task"]["status"] == "open"


def test_the_manager_sees_everything_and_the_scorecard(server, practice):
    client = signed_in(server, practice.manager)
    assert 'href="/scorecard"' in client.get("/my-day").text
    card = client.get("/scorecard")
    assert card.status_code == 200 and "<svg" in card.text and "Week by week" in card.text
    board = client.get("/huddle")
    assert board.status_code == 200 and "Who carries what" in board.text
    assert client.get(f"/api/v1/tasks/{practice.other_task}").status_code == 200


def test_the_api_filters_tasks_and_gives_a_day_a_report_and_its_openapi_document(server, practice):
    auth = {"Authorization": f"Bearer {practice.token}"}
    by_role = httpx.get(f"{server.url}/api/v1/tasks", params={"role": "office_manager"}, headers=auth).json()
    assert by_role["count"] > 0 and {t["owner_role"] for t in by_role["tasks"]} == {"office_manager"}
    day = httpx.get(f"{server.url}/api/v1/staff/{practice.person}/day", headers=auth).json()
    assert set(day["counts"]) == {"open", "overdue", "due_today", "backlog"} and day["counts"]["open"] > 0
    report = httpx.get(f"{server.url}/api/v1/report", headers=auth).json()
    assert report["total"]["created"] > 0
    document = httpx.get(f"{server.url}/api/v1/openapi.json").json()
    assert document["openapi"].startswith("3.") and "/api/v1/tasks/{task_id}/actions/{action}" in document["paths"]
    acted = httpx.post(f"{server.url}/api/v1/tasks/{practice.other_task}/actions/note", headers=auth,
                       json={"note": "from the integration"})  # fmt: skip
    assert acted.status_code == 200 and audit(server, practice, practice.other_task)["audit"][-1]["actor"] == "token:tests"


def test_no_patient_data_reaches_the_server_logs(server, practice):
    client = signed_in(server, practice.person)
    assert CANARY_FIRST in client.get("/my-day").text
    csrf = csrf_of(client.get("/my-day").text)
    client.post(f"/tasks/{practice.canary_task}/note", data={"csrf": csrf, "note": "spoke to her"})
    client.get("/huddle")
    logs = server.logs()
    assert "GET /my-day" in logs  # the log is being written
    assert CANARY_FIRST not in logs and CANARY_LAST not in logs


def test_the_21st_wrong_password_in_a_minute_is_refused(practice):
    fresh = Server(practice.root)
    try:
        client = client_for(fresh)
        csrf = csrf_of(client.get("/sign-in").text)
        codes = [
            client.post("/sign-in", data={"staff_id": practice.person, "password": f"wrong {n}", "csrf": csrf}).status_code
            for n in range(20)
        ]
        assert codes == [401] * 20
        refused = client.post("/sign-in", data={"staff_id": practice.person, "password": PASSWORD, "csrf": csrf})
        assert refused.status_code == 429 and "Too many attempts" in refused.text
    finally:
        fresh.stop()


def test_user_add_refuses_a_staff_id_the_practice_does_not_have(practice):
    from web_fixtures import sophie

    refused = sophie("user", "add", f"{practice.person}9", cwd=practice.root, stdin=PASSWORD + "\n")
    assert refused.returncode == 2, refused.stderr
    assert f"did you mean '{practice.person}'" in refused.stderr and "Traceback" not in refused.stderr
    listed = sophie("user", "list", cwd=practice.root).stdout
    assert f"{practice.person}9" not in listed.split()


SCRIPT = "<script>alert(1)</script>"
ATTRIBUTE = 'Ana"onmouseover=x'


def test_hostile_patient_names_render_inert_on_every_page(tmp_path):
    """Names and titles from the PMS are escaped everywhere; the pages forbid inline script and framing."""
    import sqlite3

    hostile = make_practice(tmp_path)
    db, site = sqlite3.connect(hostile.root / "sophie.db"), sqlite3.connect(hostile.root / "sophie.site.db")
    patients = [row[0] for row in site.execute("SELECT patient_id FROM patient ORDER BY patient_id")]
    for number, patient in enumerate(patients):
        name = (SCRIPT, ATTRIBUTE)[number % 2]
        site.execute("UPDATE patient SET display = ? WHERE patient_id = ?", (name, patient))
        db.execute("UPDATE task SET title = ? WHERE patient_id = ?", (f"Call {name} about treatment", patient))
    site.commit()
    db.commit()
    site.close()
    db.close()
    running = Server(hostile.root)
    try:
        person, manager = signed_in(running, hostile.person), signed_in(running, hostile.manager)
        pages = [(person, "/my-day"), (person, "/huddle"), (manager, "/my-day"), (manager, "/huddle"),
                 (manager, "/scorecard")]  # fmt: skip
        shown = ""
        for client, path in pages:
            answer = client.get(path)
            assert answer.status_code == 200, path
            assert SCRIPT not in answer.text and ATTRIBUTE not in answer.text, path
            assert "alert(1)" not in answer.text or "&lt;script&gt;alert(1)&lt;/script&gt;" in answer.text, path
            csp = answer.headers["content-security-policy"]
            assert "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp, path
            assert answer.headers["x-frame-options"] == "DENY" and answer.headers["referrer-policy"] == "no-referrer"
            assert answer.headers["cache-control"] == "no-store", path
            shown += answer.text
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in shown  # the names are on the pages, as text
        assert "Ana&#34;onmouseover=x" in shown or "Ana&quot;onmouseover=x" in shown
        assert SCRIPT not in running.logs() and "onmouseover" not in running.logs()
    finally:
        running.stop()


def test_a_persons_backlog_shows_on_my_day_the_board_and_the_api(tmp_path):
    """With capacity 5 most of a person's work waits in the backlog; every view counts it alike."""

    full = make_practice(tmp_path, capacity=5)  # a short day: every task in it is listed on the page
    running = Server(full.root)
    try:
        person = signed_in(running, full.person)
        day = person.get(f"/api/v1/staff/{full.person}/day").json()
        waiting = day["counts"]["backlog"]
        assert waiting > 0 and len(day["backlog"]) == min(waiting, 200)
        assert {task["status"] for task in day["backlog"]} == {"backlog"}
        assert f"<b>{waiting}</b> in backlog" in person.get("/my-day").text
        board = signed_in(running, full.manager).get("/huddle").text
        assert f'<td class="num">{waiting}</td></tr>' in board[board.index('id="load"') :]  # the Backlog column
    finally:
        running.stop()


def test_a_task_released_from_the_backlog_shows_in_the_day_with_its_due_time_from_release(tmp_path):
    """Done on My day frees room: the next backlog task joins the day (due counted from its release)."""
    from datetime import datetime

    from web_fixtures import NOW

    from sophie.execution.task_text import local_time

    full = make_practice(tmp_path, capacity=5)  # a short day: every task in it is listed on the page
    running = Server(full.root)
    try:
        person = signed_in(running, full.person)
        before = person.get(f"/api/v1/staff/{full.person}/day").json()
        waiting = {task["id"] for task in before["backlog"]}
        listed = {task["id"] for key in ("overdue", "due_today", "later") for task in before[key]}
        assert waiting and not waiting & listed  # the backlog is counted, not listed in the day
        page = person.get("/my-day").text
        assert not {tid for tid in waiting if f'data-task="{tid}"' in page}
        first = next(t for t in before["overdue"] + before["due_today"] + before["later"] if t["priority"] != "urgent")
        done = person.post(f"/tasks/{first['id']}/done", data={"csrf": csrf_of(page), "back": "my-day"})
        assert done.status_code == 303

        after = person.get(f"/api/v1/staff/{full.person}/day").json()
        assert after["counts"]["backlog"] == before["counts"]["backlog"] - 1
        released = waiting - {task["id"] for task in after["backlog"]}
        assert len(released) == 1
        (released_id,) = released
        in_day = {task["id"]: (key, task) for key in ("overdue", "due_today", "later") for task in after[key]}
        assert released_id in in_day
        section, task = in_day[released_id]
        assert task["status"] == "open" and datetime.fromisoformat(task["due_at"]) >= datetime.fromisoformat(NOW)
        assert section != "overdue"  # its clock started at the release
        detail = person.get(f"/api/v1/tasks/{released_id}").json()
        assert detail["audit"][-1]["kind"] == "released"

        page = person.get("/my-day").text
        section_id = {"due_today": "due-today", "later": "later"}[section]
        shown = page[page.index(f'id="{section_id}"') :]
        card = shown[shown.index(f'data-task="{released_id}"') :]
        assert f"Due {local_time(task['due_at'], 'America/New_York')}" in card[: card.index("</article>")]
        assert f"<b>{after['counts']['backlog']}</b> in backlog" in page
    finally:
        running.stop()
