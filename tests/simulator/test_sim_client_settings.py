"""``tradovate-api sim --client-settings FILE`` writes what ``tradovate-api run`` needs to trade
against the standalone simulator as it trades on the embedded one: the addresses, the same
front months and the simulator's fees (without them a run against the standalone simulator
reported P&L without commissions, while the embedded one charged them)."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from tradovate_api.cli import main
from tradovate_api.runtime.embedded_simulator import embedded_simulator_config, front_months
from tradovate_api.settings import load_settings
from tradovate_api.simulator import Simulator


async def _start_sim(settings_file: Path) -> tuple[asyncio.subprocess.Process, list[str]]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tradovate_api.cli", "sim", "--port", "0", "--md-port", "0",
        "--warm-up", "0", "--client-settings", str(settings_file),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL)
    assert proc.stdout is not None
    lines: list[str] = []
    async with asyncio.timeout(30):
        while not lines or not lines[-1].startswith("client"):
            line = (await proc.stdout.readline()).decode()
            assert line, f"the simulator stopped: {lines}"
            lines.append(line)
    return proc, lines


async def test_the_written_settings_reach_this_simulator_with_its_fees(tmp_path: Path) -> None:
    written = tmp_path / "client.toml"
    proc, lines = await _start_sim(written)
    try:
        printed = {line.split()[0]: line.split()[1] for line in lines[:3]}
        assert lines[-1].strip() == f"client   tradovate-api run --settings {written}"
        settings = load_settings(written)
        assert settings.environment == "sim"
        assert settings.urls.rest == printed["REST"]
        assert settings.urls.trading_ws == printed["trading"]
        assert settings.urls.md_ws == printed["md"]
        embedded = Simulator(embedded_simulator_config())
        assert list(settings.instruments) == front_months(embedded)
        assert settings.trading.commission_per_side == {
            inst.product.name: inst.commission_per_side for inst in embedded.catalog}
        assert all(fee > 0 for fee in settings.trading.commission_per_side.values())
        assert main(["config", "check", "--settings", str(written), "--env-file",
                     "/dev/null"]) == 0
    finally:
        proc.terminate()
        await asyncio.wait_for(proc.wait(), 10)
