"""``tradovate-api bench`` runs the suite of the source checkout, from any directory, with the
suite's own options passed through."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path


def test_cli_bench_delegates_to_the_suite(tmp_path: Path) -> None:
    out = tmp_path / "results"
    proc = subprocess.run(
        [sys.executable, "-m", "tradovate_api.cli", "bench", "--quick", "--clients", "bare",
         "--scenarios", "idle", "--probes", "20", "--warmup", "2", "--out", str(out)],
        cwd=tmp_path, capture_output=True, text=True, timeout=55, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    result = json.loads((out / "latest.json").read_text())
    assert result["params"]["probes"] == 20
    (run,) = result["runs"]
    assert (run["client"], run["scenario"], run["metrics"]["n"]) == ("bare", "idle", 20)


def test_cli_bench_help_is_the_suites_and_other_commands_stay_strict(tmp_path: Path) -> None:
    help_text = subprocess.run([sys.executable, "-m", "tradovate_api.cli", "bench", "--help"],
                               cwd=tmp_path, capture_output=True, text=True, timeout=30,
                               check=True).stdout
    assert "--soak-minutes" in help_text
    bad = subprocess.run([sys.executable, "-m", "tradovate_api.cli", "sim", "--soak-minutes",
                          "1"], cwd=tmp_path, capture_output=True, text=True, timeout=30,
                         check=False)
    assert bad.returncode == 2
    assert "unrecognized arguments: --soak-minutes 1" in bad.stderr
