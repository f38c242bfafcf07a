"""``tradovate-api sim`` on a chosen clock: ``--start-at`` runs the simulated market from that
moment and says so."""

from __future__ import annotations

import asyncio
import sys


async def test_start_at_runs_the_simulated_clock_from_that_moment_and_prints_it() -> None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tradovate_api.cli", "sim", "--port", "0", "--md-port", "0",
        "--warm-up", "0", "--start-at", "2026-11-18T09:00", stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL)
    assert proc.stdout is not None
    lines: list[str] = []
    try:
        async with asyncio.timeout(30):
            while len(lines) < 4:
                line = (await proc.stdout.readline()).decode()
                if not line:
                    break
                lines.append(line)
    finally:
        proc.terminate()
        await asyncio.wait_for(proc.wait(), 10)
    assert [line.split()[0] for line in lines[:3]] == ["REST", "trading", "md"]
    assert lines[3].startswith("simulated time 2026-11-18T09:00")
    assert lines[3].endswith("(Chicago)\n")
