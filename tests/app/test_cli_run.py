"""``tradovate-api run`` as a user runs it: a subprocess on the embedded simulator, without
credentials. SIGINT runs the shutdown sequence and exits 0 with the summary; a second SIGINT
exits at once (130); ``--duration`` trades the reference strategy (at least one closed
trade) and prints the summary; live trading needs its flag."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import sys
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

CLI = Path(sys.executable).with_name("tradovate-api")
STARTED = "md up, trading up"
SUMMARY = "=== tradovate-api run summary ==="


def clean_env() -> dict[str, str]:
    """No credentials of any kind: the command must work without an account."""
    return {k: v for k, v in os.environ.items()
            if not k.startswith(("TRADOVATE_", "TWILIO_", "SMTP_", "ALERT_"))}


async def spawn(cwd: Path, *args: str) -> asyncio.subprocess.Process:
    assert CLI.exists(), f"the console script is not installed at {CLI}"
    return await asyncio.create_subprocess_exec(
        str(CLI), "run", *args, cwd=cwd, env=clean_env(), stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)


async def read_until(proc: asyncio.subprocess.Process, predicate: Callable[[str], bool],
                     limit: float = 30.0) -> list[str]:
    """Lines of stdout up to and including the first one ``predicate`` accepts."""
    assert proc.stdout is not None
    lines: list[str] = []
    async with asyncio.timeout(limit):
        while True:
            raw = await proc.stdout.readline()
            if not raw:
                raise AssertionError(f"stdout ended early: {lines}")
            lines.append(raw.decode())
            if predicate(lines[-1]):
                return lines


@pytest.fixture
async def processes() -> AsyncIterator[list[asyncio.subprocess.Process]]:
    """Kill (by PID) whatever a failed test left running."""
    started: list[asyncio.subprocess.Process] = []
    yield started
    for proc in started:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()


def log_messages(cwd: Path) -> list[str]:
    path = cwd / "logs" / "tradovate-api.jsonl"
    return [json.loads(line)["msg"] for line in path.read_text().splitlines()]


def busy_poll_settings(cwd: Path, busy: bool) -> None:
    """``./settings.toml`` switching busy-poll on (the command reads it from its directory)."""
    if busy:
        (cwd / "settings.toml").write_text("[connection]\nbusy_poll = true\n")


@pytest.mark.parametrize("busy", [False, True], ids=["default", "busy-poll"])
async def test_sigint_runs_the_shutdown_sequence_and_exits_0(
        tmp_path: Path, processes: list[asyncio.subprocess.Process], busy: bool) -> None:
    busy_poll_settings(tmp_path, busy)
    proc = await spawn(tmp_path)
    processes.append(proc)
    head = await read_until(proc, lambda line: STARTED in line)
    assert "ReferenceStrategy on the embedded simulator" in head[0]
    os.kill(proc.pid, signal.SIGINT)
    out, err = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == 0, err.decode()
    text = "".join(head) + out.decode()
    assert SUMMARY in text
    assert re.search(r"trades +\d+ closed", text)
    assert re.search(r"fills +\d+", text)
    messages = log_messages(tmp_path)
    steps = ["shutdown (signal SIGINT): new orders halted", "market data unsubscribed",
             "exit requests sent", "final summary", "flushing the log",
             "supervisor stopped (signal SIGINT), exit code 0"]
    at = [next(i for i, m in enumerate(messages) if step in m) for step in steps]
    assert at == sorted(at)
    assert (tmp_path / "state" / "token.json").stat().st_mode & 0o077 == 0
    assert any(m.startswith("busy-poll mode: the event loop never sleeps") for m in messages) \
        is busy


@pytest.mark.parametrize("busy", [False, True], ids=["default", "busy-poll"])
async def test_second_sigint_exits_at_once(
        tmp_path: Path, processes: list[asyncio.subprocess.Process], busy: bool) -> None:
    busy_poll_settings(tmp_path, busy)
    proc = await spawn(tmp_path)
    processes.append(proc)
    await read_until(proc, lambda line: STARTED in line)
    os.kill(proc.pid, signal.SIGINT)
    # The second one while the shutdown sequence runs (two at once would merge into one).
    await read_until(proc, lambda line: line.startswith("shutting down (signal SIGINT)"))
    os.kill(proc.pid, signal.SIGINT)
    signalled = time.monotonic()
    out, _ = await asyncio.wait_for(proc.communicate(), 15)
    assert proc.returncode == 130
    assert time.monotonic() - signalled < 5.0
    assert SUMMARY not in out.decode()
    (line,) = [x for x in out.decode().splitlines() if "second interrupt" in x]
    assert line.startswith("exiting at once (second interrupt); nothing more is sent. Open: ")
    messages = log_messages(tmp_path)
    assert any("second SIGINT: exiting at once" in m for m in messages)
    assert not any(m.startswith("final summary") for m in messages)


async def test_duration_run_trades_and_prints_the_summary(
        tmp_path: Path, processes: list[asyncio.subprocess.Process]) -> None:
    proc = await spawn(tmp_path, "--duration", "20")
    processes.append(proc)
    out, err = await asyncio.wait_for(proc.communicate(), 50)
    assert proc.returncode == 0, err.decode()
    text = out.decode()
    assert text.count(STARTED) >= 2  # a status line every few seconds (stdout is a pipe)
    assert SUMMARY in text
    trades = re.search(r"trades +(\d+) closed", text)
    fills = re.search(r"fills +(\d+)", text)
    assert trades is not None
    assert fills is not None
    assert int(trades.group(1)) >= 1, text
    assert int(fills.group(1)) >= 2
    assert "ended: duration: shutdown requested: 20s elapsed" in text
    assert list((tmp_path / "reports").glob("*session_end.json"))


async def test_live_needs_the_flag_and_demo_needs_credentials(
        tmp_path: Path, processes: list[asyncio.subprocess.Process]) -> None:
    proc = await spawn(tmp_path, "--env", "live")
    processes.append(proc)
    _, err = await asyncio.wait_for(proc.communicate(), 20)
    assert proc.returncode == 2
    assert "--i-understand-live-trading" in err.decode()
    for args in (("--env", "live", "--i-understand-live-trading"), ("--env", "demo")):
        proc = await spawn(tmp_path, *args)
        processes.append(proc)
        _, err = await asyncio.wait_for(proc.communicate(), 20)
        assert proc.returncode == 1
        assert "TRADOVATE_NAME" in err.decode()
        assert "TRADOVATE_PASSWORD" in err.decode()
    assert not (tmp_path / "logs").exists()  # refused before anything started
