"""The chaos soak, short: every fault kind once — on the exchange's side through the
simulator's named faults, on the client's side kill -9 with a restart, a full disk and an alert
outage — against the client in its own process at the shipped settings; every invariant must
hold and every fault must fire and be survived."""

from __future__ import annotations

from pathlib import Path

import pytest

from tradovate_api.chaos import FAULT_KINDS, ChaosConfig, format_table, run_chaos
from tradovate_api.cli import main


@pytest.mark.timeout(900)
async def test_short_chaos_soak_survives_every_fault_kind_with_no_mismatch(
        tmp_path: Path) -> None:
    lines: list[str] = []
    result = await run_chaos(ChaosConfig(seconds=1.0, seed=7, work_dir=tmp_path, mean_gap=0.5,
                                         cover_all=True), progress=lines.append)
    table = format_table(result)
    assert result.mismatches == [], table
    assert result.exit_code == 0, table
    assert set(result.faults) == set(FAULT_KINDS), "a short run covers every fault kind"
    for kind, counts in result.faults.items():
        assert counts.injected >= 1, kind
        assert counts.fired == counts.injected, (kind, table)
        assert counts.survived == counts.injected, (kind, table)
    assert len([line for line in lines if line.endswith((": ok", "mismatch(es)"))]) == \
        sum(k.injected for k in result.faults.values())
    assert result.lives == 2, "killed once with -9 and started again"
    assert result.reconnects["md"] >= 5
    assert result.reconnects["trading"] >= 5
    assert result.fills >= 5, "the strategy traded through the faults"
    assert result.delivered >= 5
    assert result.tickets.get("rejected", 0) >= 1, "injected rejections reached tickets"
    assert result.alert_attempts_failed >= 1, "the notifier outage was felt"
    assert result.naked_episodes >= 1, "positions were opened and protected"
    assert "mismatches        0" in table
    assert (tmp_path / "logs" / "chaos.jsonl").stat().st_size > 0
    assert (tmp_path / "state" / "journal.db").stat().st_size > 0  # checked against the sim
    assert list((tmp_path / "recordings").iterdir()), "md was recorded through the faults"


def test_chaos_command_refuses_a_non_positive_length(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["chaos", "--minutes", "0"]) == 2
    assert "--minutes" in capsys.readouterr().err
