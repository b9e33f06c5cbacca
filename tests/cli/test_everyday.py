"""The everyday commands as a front desk uses them: the queue, one task, acting on it, delivering."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

MORNING = "2026-03-02T08:00:00-05:00"


def sophie(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sophie", *args], cwd=cwd, capture_output=True, text=True, timeout=300, check=False
    )


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A ledger (and the staff directory beside it) after one demo run at the demo's morning."""
    where = tmp_path_factory.mktemp("demo")
    result = sophie("run", "--adapter", "demo", "--db", "sqlite:///ledger.db", cwd=where)
    assert result.returncode == 0, result.stderr
    return where


@pytest.fixture
def fresh(demo_run: Path, tmp_path: Path) -> Path:
    """A copy of the demo run that a test may change."""
    for name in ("ledger.db", "ledger.site.db"):
        shutil.copy(demo_run / name, tmp_path / name)
    return tmp_path


def first_task(where: Path) -> dict[str, object]:
    listed = sophie("queue", "--db", "sqlite:///ledger.db", "--format", "json", "--limit", "1", cwd=where)
    task: dict[str, object] = json.loads(listed.stdout)["tasks"][0]
    return task


def test_the_queue_names_owners_shortens_titles_and_counts_what_it_leaves_out(demo_run: Path) -> None:
    result = sophie("queue", "--db", "sqlite:///ledger.db", "--limit", "2", cwd=demo_run)
    assert result.returncode == 0, result.stderr
    rows = [line for line in result.stdout.splitlines() if line.startswith(" t-")]
    assert len(rows) == 2
    assert "Larry Rossi" in rows[0] and not any(re.search(r" s-\d+ ", row) for row in rows)  # names, not ids
    assert all(row.rstrip().endswith("…") and len(row) <= 120 for row in rows)
    total = json.loads(sophie("queue", "--db", "sqlite:///ledger.db", "--format", "json", cwd=demo_run).stdout)
    assert f"{total['count'] - 2} more not shown (--limit 2)." in result.stdout


def test_the_queue_keeps_ids_when_no_directory_was_recorded(fresh: Path) -> None:
    (fresh / "ledger.site.db").unlink()
    result = sophie("queue", "--db", "sqlite:///ledger.db", "--limit", "1", cwd=fresh)
    assert result.returncode == 0, result.stderr
    assert " s-6 " in result.stdout


def test_overdue_and_today_filter_by_the_due_time_in_the_practice_zone(demo_run: Path) -> None:
    def count(*flags: str) -> int:
        listed = sophie("queue", "--db", "sqlite:///ledger.db", "--format", "json", *flags, cwd=demo_run)
        assert listed.returncode == 0, listed.stderr
        return int(json.loads(listed.stdout)["count"])

    everything = count()
    assert count("--overdue", "--now", "2026-02-20T08:00:00-05:00") == 0
    assert count("--today", "--now", "2026-02-20T08:00:00-05:00") == 0
    due_today = count("--today", "--now", MORNING)
    assert 0 < due_today <= everything
    assert count("--overdue", "--now", MORNING) < due_today  # nothing is late at 08:00 that is due later today
    assert count("--overdue", "--now", "2027-01-01T08:00:00-05:00") == everything


def test_task_show_says_why_the_task_exists_in_words(demo_run: Path) -> None:
    task = first_task(demo_run)
    result = sophie("task", "show", str(task["id"]), "--db", "sqlite:///ledger.db", cwd=demo_run)
    assert result.returncode == 0, result.stderr
    why = result.stdout.split("Why it exists:")[1].split("Audit trail")[0]
    assert "Start: Mon Mar 2, 10:00 AM" in why  # the practice's zone, as people write it
    assert "Confirmed: no" in why


def test_ack_by_an_unknown_staff_id_is_refused_with_a_did_you_mean(fresh: Path) -> None:
    task = first_task(fresh)
    result = sophie("task", "ack", str(task["id"]), "--by", "s-66", "--db", "sqlite:///ledger.db", cwd=fresh)
    assert result.returncode == 2
    assert "no staff member 's-66'" in result.stderr and "did you mean s-6 (Larry Rossi)?" in result.stderr
    assert "Traceback" not in result.stderr
    assert first_task(fresh)["status"] == "open"
    known = sophie("task", "ack", str(task["id"]), "--by", "s-6", "--db", "sqlite:///ledger.db", cwd=fresh)
    assert known.returncode == 0, known.stderr


@pytest.mark.parametrize(
    ("action", "offered", "not_offered"),
    [("ack", [], ["--until", "--reason"]), ("done", [], ["--until", "--reason"]),
     ("snooze", ["--until"], ["--reason"]), ("block", ["--until", "--reason"], [])],
)  # fmt: skip
def test_each_task_action_offers_only_its_own_options(
    tmp_path: Path, action: str, offered: list[str], not_offered: list[str]
) -> None:
    shown = sophie("task", action, "--help", cwd=tmp_path).stdout
    assert all(option in shown for option in [*offered, "--by"])
    assert not any(option in shown for option in not_offered)


def test_outbox_deliver_sends_everything_due_or_says_how_many_remain(fresh: Path) -> None:
    # a second cycle at noon adds its notifications to the morning's: more than one batch of 100
    noon = "2026-03-02T12:00:00-05:00"
    assert sophie("run", "--adapter", "demo", "--db", "sqlite:///ledger.db", "--now", noon, cwd=fresh).returncode == 0
    status = sophie("outbox", "status", "--db", "sqlite:///ledger.db", "--now", noon, "--format", "json", cwd=fresh)
    due = json.loads(status.stdout)["due"]
    assert due > 100  # more than one batch
    some = sophie("outbox", "deliver", "--console", "--limit", "5", "--db", "sqlite:///ledger.db", "--now", noon,
                  cwd=fresh)  # fmt: skip
    assert some.returncode == 0, some.stderr
    assert some.stdout.splitlines()[-1].startswith(f"sent 5, retrying 0, dead-lettered 0; {due - 5} more due")
    assert "(America/New_York)" in some.stdout.splitlines()[-1]
    rest = sophie("outbox", "deliver", "--console", "--db", "sqlite:///ledger.db", "--now", noon, "--format",
                  "json", cwd=fresh)  # fmt: skip
    report = json.loads(rest.stdout[rest.stdout.index('{\n  "sent"'):])
    assert (report["sent"], report["remaining_due"]) == (due - 5, 0)
