"""``sophie demo`` ends with the day-a-team-can-work targets, computed from its own simulation."""

from __future__ import annotations

import re

from click.testing import CliRunner

from sophie.cli import cli
from sophie.execution.simulation.loop import simulate


def demo_output(seed: int, *flags: str) -> str:
    result = CliRunner().invoke(
        cli, ["demo", "--patients", "200", "--days", "4", "--seed", str(seed), "--queue", "0", *flags],
        terminal_width=200,
    )  # fmt: skip
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


def test_closing_runs_the_weeks_with_everyone_closing_their_day():
    text = demo_output(1, "--closing")
    closing, mixed = (simulate(days=4, patients=200, seed=1, closing=flag).targets for flag in (True, False))
    assert closing.as_dict() != mixed.as_dict()  # the two ways of working differ on this practice
    for role, row in closing.as_dict()["roles"].items():
        drained = row["backlog_drained_by_day"]
        shown = "—" if not row["day_one_backlog"] else (str(drained) if drained is not None else "> 4")
        assert re.search(rf"│ {re.escape(role)} +│ +{row['day_one']} │ .*│ +{row['day_one_backlog']} │ +{shown} │", text)
    assert "leave some tasks undone" not in " ".join(text.split())
    assert "`sophie demo --closing` runs the same weeks" in " ".join(_raw[1].split())
