"""The copier bench writes its result where ``--out`` says (``python -m bench --out DIR`` passes
its directory; a test must not write into ``bench/results``), and a run too short for its
probe strategy to send an order still reports, with no tick-to-order figure."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench import copier_bench


@pytest.mark.timeout(120)
def test_the_copier_bench_writes_where_out_says_even_when_too_short_to_probe(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    default = copier_bench.RESULTS / "copier.json"
    before = default.stat().st_mtime_ns if default.exists() else None
    out = tmp_path / "copier.json"
    assert copier_bench.main(["--rounds", "1", "--orders", "3", "--pace", "0.01",
                              "--out", str(out)]) == 0
    result = json.loads(out.read_text())
    assert {run["mode"] for run in result["runs"]} == {"fills", "orders"}
    assert all(1 <= run["copied"] <= 3 for run in result["runs"])  # the last may be cut
    assert "--out" not in result["command"]
    assert "| fills |" in capsys.readouterr().out
    assert (default.stat().st_mtime_ns if default.exists() else None) == before
