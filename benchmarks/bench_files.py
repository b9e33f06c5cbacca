"""``sophie run --adapter files`` against merely parsing the snapshot's JSON, at growing practice sizes.

Usage: python benchmarks/bench_files.py [PATIENTS ...]   (default: 5500 11000 22000)

For each size, in one run: a demo practice is written as a JSON snapshot file; then,
measured from outside (a fresh process each, best of ``REPEATS``), the wall time of a
process that only parses the file with ``json`` against the wall time of
``sophie run --adapter files`` on it (a fresh SQLite ledger each time, so every run is
the write-heaviest first cycle; JSON output to /dev/null). The ratio of the two is the
number the target is about (<= 15x), and it should stay flat as the practice grows
(linear cost). Then, in this process, one cycle split into its steps (read, validate,
index, evaluate, reconcile + commit, print) shows where the time goes. The load average
is printed: the machine is shared, so compare ratios within one run.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from sophie.adapters import DemoAdapter
from sophie.adapters.files import read_data_file
from sophie.cli.commands.snapshot_commands import snapshot_text
from sophie.execution import open_ledger
from sophie.execution.engine import apply_evaluation, rules_by_id
from sophie.model import parse_snapshot
from sophie.rules import evaluate, load_pack

NOW = datetime(2026, 3, 9, 15, 0, tzinfo=UTC)
REPEATS = 3
SOPHIE = str(Path(sys.executable).with_name("sophie"))
PARSE = "import json, sys; from decimal import Decimal; json.loads(open(sys.argv[1], 'rb').read(), parse_float=Decimal)"


def wall(command: list[str]) -> float:
    """Return the best wall time of ``REPEATS`` runs of ``command`` (a fresh process each)."""
    best = float("inf")
    for _ in range(REPEATS):
        started = time.perf_counter()
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
        best = min(best, time.perf_counter() - started)
    return best


def run_wall(path: Path, directory: Path) -> float:
    best = float("inf")
    for attempt in range(REPEATS):
        db = directory / f"ledger-{attempt}.db"
        command = [SOPHIE, "run", "--adapter", "files", "--source", str(path), "--pack", "dental-core",
                   "--db", f"sqlite:///{db}", "--now", NOW.isoformat(), "--format", "json"]  # fmt: skip
        started = time.perf_counter()
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
        best = min(best, time.perf_counter() - started)
    return best


def steps(path: Path, directory: Path) -> dict[str, float]:
    """Return the seconds of each step of one cycle, in this process."""
    packs = [load_pack("dental-core")]
    times: dict[str, float] = {}
    mark = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal mark
        now = time.perf_counter()
        times[name], mark = now - mark, now

    data = read_data_file(path)
    lap("read")
    snapshot = parse_snapshot(data, source=str(path))
    lap("validate")
    _ = snapshot.index
    lap("index")
    evaluation = evaluate(packs, snapshot, NOW)
    lap("evaluate")
    with open_ledger(f"sqlite:///{directory / 'steps.db'}") as ledger:
        result = apply_evaluation(ledger, snapshot, evaluation, rules=rules_by_id(packs), now=NOW)
    lap("reconcile + commit")
    json.dumps(result.as_dict(), default=str)
    lap("print")
    return times


def main() -> None:
    sizes = [int(arg) for arg in sys.argv[1:] if arg.isdigit()] or [5500, 11000, 22000]
    print(f"sophie run --adapter files vs parsing its JSON; load average {os.getloadavg()[0]:.2f}, "
          f"{os.cpu_count()} CPUs")  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        for patients in sizes:
            path = directory / f"practice-{patients}.json"
            snapshot = DemoAdapter(seed=1, patients=patients, as_of=NOW).fetch()
            path.write_text(snapshot_text(snapshot, yaml_format=False), encoding="utf-8")
            del snapshot
            parse = wall([sys.executable, "-c", PARSE, str(path)])
            run = run_wall(path, directory)
            split = steps(path, directory)
            total = sum(split.values())
            parts = ", ".join(f"{name} {seconds / total:.0%}" for name, seconds in split.items())
            print(f"  {patients:6d} patients ({path.stat().st_size / 2**20:5.1f} MiB): parse {parse:6.2f} s, "
                  f"sophie run {run:6.2f} s, ratio {run / parse:5.1f}x, per 1k patients {run / patients * 1000:5.3f} s;"
                  f" in-process {total:5.2f} s: {parts}")  # fmt: skip
    print(f"  load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
