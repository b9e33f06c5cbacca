"""`sophie run --adapter opendental --source mysql://...` turns the seeded stalls into dental-core's tasks."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from sophie.plugins.manager import Plugins

if TYPE_CHECKING:
    from conftest import SeededDatabase

NOW = "2026-03-05T11:45:00-05:00"

EXPECTED = {
    ("tx.unscheduled.first_touch", "treatment_plan", "50"),  # saved (presented) plan 2026-03-02, never called
    ("tx.planned_appt.not_scheduled", "appointment", "21"),  # planned 2026-02-20, nothing booked
    ("sched.opening.today", "opening", "1@2026-03-05T14:00"),  # the hour left open this afternoon
    ("sched.broken.not_rescheduled", "appointment", "17"),  # missed (histappointment), not rebooked
    ("sched.broken.not_rescheduled", "appointment", "18"),  # cancelled (D9987), not rebooked
    ("sched.unconfirmed.72h", "appointment", "14"),  # tomorrow 14:00, "Left Msg"
    ("sched.unconfirmed.24h", "appointment", "13"),  # tomorrow 08:00, "Unconfirmed"
    ("recall.left_without_next_visit", "appointment", "12"),  # this morning's prophy, no next visit
    ("recall.overdue", "recall", "200"),  # prophy due 2026-02-01
    ("claims.created_not_sent", "claim", "63"),  # unsent since 2026-03-02
    ("claims.secondary_on_hold", "claim", "61"),  # primary received 2026-02-25
    ("claims.outstanding.30d", "claim", "62"),  # sent 2026-01-26
    ("billing.balance.aging", "balance", "18"),  # $120 over 60 days
    ("claims.outstanding.30d", "claim", "66"),  # first sent 2026-01-20 (resent 2026-03-01)
    ("tx.unscheduled.first_touch", "treatment_plan", "54"),  # never saved, planned 2026-03-01
    ("claims.completed_not_billed", "procedure", "122"),  # an estimate to bill, no claim (121: "do not bill")
}
"""Every stall planted in seed.sql, and nothing else (the near-misses there must stay quiet)."""


def _plugin_path(tmp_path: Path) -> str:
    """Make ``opendental`` installable by entry point unless sophie already registers it itself."""
    if "opendental" in Plugins(entry_points_enabled=False).adapters():
        return ""
    info = tmp_path / "plugins" / "sophie_opendental_test-0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: sophie-opendental-test\nVersion: 0\n")
    (info / "entry_points.txt").write_text("[sophie]\nopendental = sophie.adapters.opendental.plugin\n")
    return str(info.parent)


def test_sophie_run_creates_the_tasks_dental_core_should(seeded_shared: SeededDatabase, tmp_path: Path) -> None:
    source = seeded_shared.url(as_of=NOW)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in (_plugin_path(tmp_path), os.environ.get("PYTHONPATH")) if p))
    env.pop("SOPHIE_DISABLE_PLUGINS", None)
    command = [sys.executable, "-m", "sophie", "run", "--adapter", "opendental", "--source", source,
               "--pack", "dental-core", "--db", f"sqlite:///{tmp_path / 'ledger.db'}", "--now", NOW, "--format", "json"]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    assert seeded_shared.server.reader_password not in result.stderr
    output = json.loads(result.stdout)
    created = {(c["task"]["rule"], c["task"]["subject"]["type"], c["task"]["subject"]["id"])
               for c in output["changes"] if c["change"] == "created"}  # fmt: skip
    assert created == EXPECTED
    assert output["summary"]["errors"] == 0


def test_sophie_run_with_a_wrong_password_fails_in_one_line_without_it(
    seeded_shared: SeededDatabase, tmp_path: Path
) -> None:
    server = seeded_shared.server
    source = f"mysql://{server.reader}:wrong-Secret-9@{server.host}:{server.port}/{seeded_shared.name}"
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in (_plugin_path(tmp_path), os.environ.get("PYTHONPATH")) if p))
    command = [sys.executable, "-m", "sophie", "run", "--adapter", "opendental", "--source", source,
               "--db", f"sqlite:///{tmp_path / 'ledger.db'}", "--now", NOW]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120, check=False)
    assert result.returncode != 0
    assert "wrong-Secret-9" not in result.stderr + result.stdout
    assert "Traceback" not in result.stderr
