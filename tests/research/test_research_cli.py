"""The research commands on the command line: the missing-extra message, import errors as
one line, and the optional dependencies kept out of the trading install's imports."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from contextlib import closing
from pathlib import Path

import pytest

from tradovate_api.cli import main
from tradovate_api.research.dbn_sample import write_sample


@pytest.mark.parametrize(("missing", "argv"), [
    ("databento_dbn", ["data", "import", "file.dbn"]),
    ("databento_dbn", ["data", "sample", "file.dbn"]),
    ("distributed", ["sweep", "--strategy", "m:C", "--data", "d", "--grid", "g.toml"]),
])
def test_without_the_extra_one_line_names_it(monkeypatch: pytest.MonkeyPatch,
                                             capsys: pytest.CaptureFixture[str], missing: str,
                                             argv: list[str]) -> None:
    monkeypatch.setitem(sys.modules, missing, None)  # import raises ImportError
    assert main(argv) == 1
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    assert missing in lines[0]
    assert "pip install 'tradovate-api[research]'" in lines[0]
    assert captured.out == ""


def test_import_errors_are_one_line_and_the_output_is_not_mixed(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = write_sample(tmp_path / "es.dbn", "mbp-1", events=300)
    out = tmp_path / "rec"
    assert main(["data", "import", str(source), "--out", str(out)]) == 0
    assert "contracts ESZ6 300" in capsys.readouterr().out
    assert main(["data", "import", str(source), "--out", str(out)]) == 1
    err = capsys.readouterr().err.strip()
    assert err == f"data import: {out} already holds recordings; choose another --out"
    cut = tmp_path / "cut.dbn"
    cut.write_bytes(source.read_bytes()[:-5])
    assert main(["data", "import", str(cut), "--out", str(tmp_path / "cut")]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"data import: {cut}: truncated:")
    assert "\n" not in err


def test_sweep_errors_are_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    grid = tmp_path / "g.toml"
    grid.write_text("[params]\nlarge_trade = [1.0]\n")
    assert main(["sweep", "--strategy", "tradovate_api.strategies.reference:ReferenceStrategy",
                 "--data", str(tmp_path / "none"), "--grid", str(grid), "--serial",
                 "--out", str(tmp_path / "out")]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("sweep: --data: no")
    assert "\n" not in err
    assert main(["sweep", "--strategy", "nowhere:Nothing", "--data", str(tmp_path),
                 "--grid", str(grid), "--serial"]) == 1
    assert "cannot import 'nowhere'" in capsys.readouterr().err
    assert main(["sweep", "--strategy", "m:C", "--data", str(tmp_path), "--grid", str(grid),
                 "--scheduler", "tcp://127.0.0.1:1", "--workers", "2"]) == 1
    assert "an existing cluster (--scheduler) has its own workers" in capsys.readouterr().err


def test_the_trading_install_does_not_import_the_extra() -> None:
    code = ("import sys, tradovate_api.cli, tradovate_api.research.command, "
            "tradovate_api.research.sweep, tradovate_api.research.dbn_import, "
            "tradovate_api.research.sweep_report\n"
            "tradovate_api.cli.build_parser()\n"
            "loaded = sorted(m for m in ('dask', 'distributed', 'databento_dbn') "
            "if m in sys.modules)\n"
            "assert not loaded, loaded")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


def test_sweep_of_a_dbn_file_imports_it_once_and_reports(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = write_sample(tmp_path / "es.dbn.zst", "mbp-1", events=1_500, seed=4)
    grid = tmp_path / "g.toml"
    grid.write_text("[sweep]\nmode = 'random'\nsamples = 2\nseed = 3\n[params]\n"
                    "large_trade = [5.0, 10.0, 20.0]\ndom_threshold = [0.0, 10.0]\n")
    out = tmp_path / "sweep"
    assert main(["sweep", "--strategy", "tradovate_api.strategies.reference:ReferenceStrategy",
                 "--data", str(source), "--grid", str(grid), "--serial",
                 "--out", str(out)]) == 0
    captured = capsys.readouterr()
    assert f"wrote       {out / 'data' / 'es'}" in captured.out
    assert "runs        2 in" in captured.out
    assert "sweep 2/2 runs (100%)" in captured.err
    assert (out / "report.html").is_file()
    assert "random (seed 3, 2 samples)" in (out / "report.html").read_text(encoding="utf-8")


@pytest.mark.timeout(240)
def test_a_sweep_says_which_alerts_its_runs_raised_without_their_log_lines(
        tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    """A run halted by a risk limit is an outcome of the sweep, kept in the table: its log
    lines (two per run from the worker processes, thousands in a large sweep) would bury the
    progress; one line says how many runs raised each alert."""
    source = write_sample(tmp_path / "es.dbn.zst", "mbp-10", events=20_000)
    grid = tmp_path / "g.toml"
    grid.write_text("[params]\nlarge_trade = [10.0, 40.0]\n[fixed]\n"
                    "ts_pressure_threshold = 5.0\npressure_ratchet = false\n")
    settings = tmp_path / "settings.toml"
    settings.write_text("[risk]\nmax_daily_loss = 10.0\n")
    out = tmp_path / "sweep"
    assert main(["sweep", "--strategy", "tradovate_api.strategies.reference:ReferenceStrategy",
                 "--data", str(source), "--grid", str(grid), "--workers", "2",
                 "--settings", str(settings), "--out", str(out)]) == 0
    captured = capfd.readouterr()  # the workers' output too (their stderr is this process's)
    assert "alerts      risk.daily_loss in 2 of 2 runs (the table's alerts column)" in \
        captured.out
    assert "daily loss" not in captured.err
    assert "sweep 2/2 runs (100%)" in captured.err
    with closing(sqlite3.connect(out / "results.sqlite")) as db:
        alerts = [row[0] for row in db.execute("SELECT alerts FROM runs ORDER BY run")]
    assert alerts == ["risk.daily_loss", "risk.daily_loss"]
