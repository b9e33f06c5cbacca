"""``sophie demo`` ends with the day-a-team-can-work targets, measured as docs/alert-load.md measures them.

The demo's own weeks leave work undone on purpose (so escalation shows); the targets are read
from the same weeks run with everyone closing what is in their day.
"""

from __future__ import annotations

import json
import re

from click.testing import CliRunner

from sophie.cli import cli
from sophie.execution.simulation.loop import simulate
from sophie.execution.simulation.targets import Targets


def demo_output(seed: int, *flags: str) -> str:
    result = CliRunner().invoke(
        cli, ["demo", "--patients", "200", "--days", "4", "--seed", str(seed), "--queue", "0", *flags],
        terminal_width=200,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    return result.output


def assert_shows(text: str, targets: Targets) -> None:
    flat = " ".join(text.split())
    assert f"Most urgent tasks in one person's day: {targets.urgent_max};" in flat
    assert f"open together): {len(targets.duplicate_pairs)};" in flat
    assert f"tasks for $0: {len(targets.zero_money)};" in flat
    assert f"tasks born overdue: {len(targets.born_overdue)};" in flat
    assert f"instead of a new task: {targets.stage_moves}." in flat
    rows = targets.as_dict()["roles"]
    assert isinstance(rows, dict) and rows
    for role, row in rows.items():
        assert isinstance(row, dict)
        drained = row["backlog_drained_by_day"]
        shown = "—" if not row["day_one_backlog"] else (str(drained) if drained is not None else "> 4")
        pattern = (
            rf"│ {re.escape(role)} +│ +{row['day_one']} │ +{row['new_per_day_mean']} │ +{row['new_per_day_max']} │"
            rf" +(ok|over) │ +{row['day_one_backlog']} │ +{re.escape(shown)} │"
        )
        assert re.search(pattern, text), (role, row)


_raw: dict[int, str] = {}
_closing: dict[int, Targets] = {}


def setup_module() -> None:
    for seed in (1, 2):
        _raw[seed] = demo_output(seed)
        _closing[seed] = simulate(days=4, patients=200, seed=seed, closing=True).targets


def test_the_demo_prints_the_targets_of_the_weeks_with_everyone_closing_their_day():
    for seed in (1, 2):
        assert_shows(_raw[seed], _closing[seed])
        assert re.search(r"Ground truth: (\d+) of \1 planted stalls found; 0 of \d+ planted near-misses fired\.", _raw[seed])
        flat = " ".join(_raw[seed].split())
        assert "leave some tasks undone on purpose" in flat
        assert "the same weeks run again with everyone closing what is in their day" in flat


def test_the_two_ways_of_working_differ_so_the_targets_come_from_the_closing_run():
    mixed = simulate(days=4, patients=200, seed=1).targets
    assert mixed.as_dict() != _closing[1].as_dict()


def test_closing_runs_the_weeks_with_everyone_closing_their_day():
    text = demo_output(1, "--closing")
    assert_shows(text, _closing[1])
    assert "leave some tasks undone" not in " ".join(text.split())


def test_json_carries_the_measured_targets_beside_the_demo_s_own_run():
    data = json.loads(demo_output(1, "--format", "json"))
    assert data["targets"] == json.loads(json.dumps(_closing[1].as_dict()))
    truth = data["ground_truth"]
    assert truth["stalls"] > 20 and truth["near_misses"] > 20
    assert truth["missed"] == [] and truth["near_misses_fired"] == []
    assert data["simulation"]["targets"] == json.loads(json.dumps(simulate(days=4, patients=200, seed=1).targets.as_dict()))
