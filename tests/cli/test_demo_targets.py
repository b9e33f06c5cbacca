"""``sophie demo`` ends with the day-a-team-can-work targets, computed from its own simulation."""

from __future__ import annotations

import re

from click.testing import CliRunner

from sophie.cli import cli
from sophie.execution.simulation.loop import simulate


def demo_output(seed: int) -> str:
    result = CliRunner().invoke(
        cli, ["demo", "--patients", "200", "--days", "4", "--seed", str(seed), "--queue", "0"], terminal_width=200
    )
    assert result.exit_code == 0, result.output
    return result.output


def test_the_demo_prints_the_targets_of_its_own_run():
    for seed in (1, 2):
        text = " ".join(_raw[seed].split())
        targets = simulate(days=4, patients=200, seed=seed).targets
        assert f"Most urgent tasks in one person's day: {targets.urgent_max};" in text
        assert f"open together): {len(targets.duplicate_pairs)};" in text
        assert f"tasks for $0: {len(targets.zero_money)};" in text
        assert f"tasks born overdue: {len(targets.born_overdue)};" in text
        assert f"instead of a new task: {targets.stage_moves}." in text
        rows = targets.as_dict()["roles"]
        assert isinstance(rows, dict) and rows
        for role, row in rows.items():
            assert isinstance(row, dict)
            pattern = (
                rf"│ {re.escape(role)} +│ +{row['day_one']} │ +{row['new_per_day_mean']} │ +{row['new_per_day_max']} │"
                rf" +(ok|over) │ +{row['day_one_backlog']} │"
            )
            assert re.search(pattern, _raw[seed]), (role, row)


_raw: dict[int, str] = {}


def setup_module() -> None:
    for seed in (1, 2):
        _raw[seed] = demo_output(seed)
