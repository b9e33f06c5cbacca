"""Flags that once ended in an internal error (exit 70) give one located line and exit 2."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from sophie.cli import cli


def sophie(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    return result.exit_code, result.stderr


@pytest.mark.parametrize("now", ["0001-01-01T00:00:00+00:00", "9999-12-31T23:59:59+00:00", "0001-01-01T00:00:00+14:00"])
def test_a_now_at_the_edge_of_the_calendar_is_refused(tmp_path: Path, now: str) -> None:
    code, err = sophie("run", "--adapter", "demo", "--db", f"sqlite:///{tmp_path / 'x.db'}", "--now", now)
    assert code == 2, err
    assert "--now" in err and "internal error" not in err
    assert len(err.strip().splitlines()) == 1
    assert not (tmp_path / "x.db").exists()


@pytest.mark.parametrize("smtp", ["host:notaport", "host:99999", "host:-1", ":25"])
def test_a_bad_smtp_port_is_refused(tmp_path: Path, smtp: str) -> None:
    code, err = sophie("outbox", "deliver", "--db", f"sqlite:///{tmp_path / 'x.db'}", "--smtp", smtp,
                       "--mail-from", "a@example.com", "--mail-to", "b@example.com")  # fmt: skip
    assert code == 2, err
    assert "--smtp" in err and "internal error" not in err
    assert len(err.strip().splitlines()) == 1


def test_watch_exits_2_when_its_lock_file_cannot_be_created(tmp_path: Path) -> None:
    # The lock beside the ledger cannot be made (here a directory is in its place; an
    # unwritable directory gives the same OSError to an ordinary user).
    (tmp_path / "w.db.watch.lock").mkdir()
    code, err = sophie("watch", "--adapter", "demo", "--db", f"sqlite:///{tmp_path / 'w.db'}", "--once",
                       "--output", "json")  # fmt: skip
    assert code == 2, err
    assert "w.db.watch.lock" in err and "internal error" not in err
    assert len(err.strip().splitlines()) == 1
