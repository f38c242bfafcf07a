"""The research benchmark measures every variant on a tiny sample, and its sweep's cluster
run equals its serial run."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.research_bench import sweep, throughput
from tradovate_api.research.dbn_sample import write_sample


def test_the_throughput_variants_all_run(tmp_path: Path) -> None:
    source = write_sample(tmp_path / "s.dbn.zst", "mbp-10", events=800)
    result = throughput(source, tmp_path, rounds=1)
    assert result["records"] == 800
    assert set(result["records_per_second"]) == {"dbn decode", "import", "replay idle",
                                                 "replay reference", "direct reference"}
    assert set(result["events_per_second"]) == {"replay idle", "replay reference",
                                                "direct reference"}
    assert all(v["median"] > 0 for v in result["records_per_second"].values())


@pytest.mark.timeout(240)
def test_the_sweep_comparison_runs_both_ways_with_equal_results(tmp_path: Path) -> None:
    source = write_sample(tmp_path / "s.dbn.zst", "mbp-10", events=600, seed=2)
    result = sweep(source, tmp_path, rounds=1, workers=2)
    assert result["combinations"] == 16
    assert result["results_equal"] is True
    assert result["ratio"]["median"] > 0
