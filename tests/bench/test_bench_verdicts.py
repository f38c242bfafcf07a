"""The replay and research benchmarks give no verdict on their targets at smoke sizes (what
``python -m bench --quick`` runs): numbers from a few thousand events are noise."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench import replay_bench, research_bench


@pytest.fixture(autouse=True)
def _logging_restored() -> Iterator[None]:
    """The scripts' ``main`` silences logging for the whole process (they run as their own
    process); the tests after these must log again."""
    level = logging.root.manager.disable
    yield
    logging.disable(level)


def _verdict_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith("target ")]


def test_the_replay_bench_at_smoke_size_gives_no_verdict(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "replay.json"
    assert replay_bench.main(["--seconds", "2", "--rounds", "1", "--smoke",
                              "--out", str(out)]) == 0
    lines = _verdict_lines(capsys.readouterr().out)
    assert len(lines) == 1
    assert lines[0].endswith(": no verdict (smoke sizes)")
    assert json.loads(out.read_text())["target_met"] is None


@pytest.mark.timeout(240)
def test_the_research_bench_at_smoke_size_gives_no_verdict(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "research.json"
    assert research_bench.main(["--events", "600", "--rounds", "1", "--sweep-events", "300",
                                "--sweep-rounds", "1", "--smoke", "--out", str(out)]) == 0
    lines = _verdict_lines(capsys.readouterr().out)
    assert len(lines) == 2
    assert all(line.endswith(": no verdict (smoke sizes)") for line in lines)
    result = json.loads(out.read_text())
    assert (result["events_target_met"], result["sweep_target_met"]) == (None, None)


def test_a_full_size_verdict_still_says_met_or_not() -> None:
    assert [research_bench.verdict(v) for v in (True, False)] == ["met", "NOT met"]
    assert [replay_bench.verdict(v) for v in (True, False)] == ["met", "NOT met"]
