"""docs/research.md's example runs as written: its commands, in an empty directory, with its
grid file."""

from __future__ import annotations

import re
import shlex
import sqlite3
from pathlib import Path

import pytest

from tradovate_api.cli import main

DOC = Path(__file__).resolve().parents[2] / "docs" / "research.md"


def _example() -> tuple[list[list[str]], str]:
    text = DOC.read_text(encoding="utf-8")
    section = text.split("## From a DBN file to a sweep report", 1)[1].split("\n## ", 1)[0]
    commands = [shlex.split(line[2:]) for line in re.findall(r"^\$ .*$", section, re.M)]
    grid = re.search(r"```toml\n(.*?)```", section, re.S)
    assert grid is not None
    return commands, grid.group(1)


@pytest.mark.timeout(300)
def test_the_documented_example_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    commands, grid = _example()
    assert [c[:2] for c in commands] == [["tradovate-api", "data"], ["tradovate-api", "data"],
                                         ["tradovate-api", "replay"],
                                         ["tradovate-api", "sweep"]]
    monkeypatch.chdir(tmp_path)
    (tmp_path / "grid.toml").write_text(grid, encoding="utf-8")
    for command in commands:
        assert main(command[1:]) == 0, command
    out = capsys.readouterr().out
    assert "report      backtests/es/report.html" in out
    assert "report      reports/sweeps/es/report.html" in out
    report = (tmp_path / "reports/sweeps/es/report.html").read_text(encoding="utf-8")
    for heading in ("Costs (every run)", "Best runs", "Net P&L over large_trade",
                    "Equity curves of the best", "slippage on marketable orders</th><td "
                    "class='l'>1 ticks"):
        assert heading in report
    with sqlite3.connect(tmp_path / "reports/sweeps/es/results.sqlite") as db:
        assert db.execute("SELECT COUNT(*) FROM runs").fetchone()[0] == 4
    db.close()
