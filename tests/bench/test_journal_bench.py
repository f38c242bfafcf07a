"""The write-ahead benchmark runs every variant, and its journals close cleanly."""

from __future__ import annotations

from pathlib import Path

from bench.journal_bench import run
from tradovate_api.journal import read_intents


def test_the_write_ahead_benchmark_times_every_call(tmp_path: Path) -> None:
    results = run(calls=40, rounds=2, directory=tmp_path)
    assert set(results) == {"before_send (NORMAL)", "before_send (FULL, fdatasync)",
                            "ticket enqueue (for scale)", "mmap intent (considered, NORMAL)",
                            "mmap intent (considered, FULL, msync)"}
    assert all(r["calls"] == 80 and r["median_us"] > 0 for r in results.values())
    # closed cleanly with nothing lost: the intent files were emptied at close
    assert read_intents(tmp_path / "normal.db-intents").intents == ()
