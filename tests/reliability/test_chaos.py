"""The chaos soak, short: every fault kind once (then random ones) against the full runtime
and the churning strategy on the in-process simulator; every invariant must hold."""

from __future__ import annotations

from pathlib import Path

import pytest

from tradovate_api.chaos import FAULT_KINDS, ChaosConfig, format_table, run_chaos
from tradovate_api.cli import main


@pytest.mark.timeout(120)
async def test_short_chaos_soak_has_no_mismatch(tmp_path: Path) -> None:
    lines: list[str] = []
    result = await run_chaos(ChaosConfig(seconds=30.0, seed=7, work_dir=tmp_path),
                             progress=lines.append)
    table = format_table(result)
    assert result.mismatches == [], table
    assert result.exit_code == 0, table
    assert set(result.faults) == set(FAULT_KINDS), "a short run covers every fault kind"
    assert len(lines) == sum(result.faults.values())
    assert result.reconnects["md"] >= 5
    assert result.reconnects["trading"] >= 5
    assert result.fills >= 5, "the strategy traded through the faults"
    assert result.tickets.get("rejected", 0) >= 1, "injected rejections reached tickets"
    assert result.alert_attempts_failed >= 1, "the notifier outage was felt"
    assert len(result.all_recoveries) >= 6
    assert max(result.all_recoveries) < 10.0
    assert "mismatches        0" in table
    assert (tmp_path / "logs" / "chaos.jsonl").stat().st_size > 0
    assert (tmp_path / "state" / "journal.db").stat().st_size > 0  # checked against the sim
    assert list((tmp_path / "recordings").iterdir()), "md was recorded through the faults"


def test_chaos_command_refuses_a_non_positive_length(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["chaos", "--minutes", "0"]) == 2
    assert "--minutes" in capsys.readouterr().err
