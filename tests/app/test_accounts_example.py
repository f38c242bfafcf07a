"""The example of docs/accounts.md runs as documented: ``tradovate-api run`` with
``examples/accounts.toml`` on the embedded simulator (three accounts of one login, two
strategies), a subprocess without credentials, journaled per account and strategy."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from test_cli_run import SUMMARY, spawn

from tradovate_api.journal import JournalReader

EXAMPLE = Path(__file__).parents[2] / "examples" / "accounts.toml"
LOGINS = Path(__file__).parents[2] / "examples" / "logins.toml"


@pytest.fixture
async def processes() -> AsyncIterator[list[asyncio.subprocess.Process]]:
    """Kill (by PID) what a failed test left running."""
    started: list[asyncio.subprocess.Process] = []
    yield started
    for proc in started:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()


async def test_the_documented_example_trades_three_accounts_with_two_strategies(
        tmp_path: Path, processes: list[asyncio.subprocess.Process]) -> None:
    settings = tmp_path / "accounts.toml"
    shutil.copy(EXAMPLE, settings)
    proc = await spawn(tmp_path, "--settings", str(settings), "--duration", "20")
    processes.append(proc)
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    text = out.decode()
    assert proc.returncode == 0, err.decode()
    assert text.startswith("tradovate-api: evaluation, funded on the embedded simulator")
    assert SUMMARY in text
    with JournalReader(tmp_path / "state" / "journal.db") as reader:
        requests = reader.requests()
    # Both instances of "evaluation" see the same market and decide alike, each on its own
    # account; every request names its account and (unless the framework's own) strategy.
    evaluation = {r.account_id for r in requests if r.source == "evaluation"}
    assert len(evaluation) == 2, [(r.account_id, r.source, r.kind) for r in requests]
    assert all(r.account_id for r in requests)
    assert {r.source for r in requests} <= {"evaluation", "funded", ""}


async def test_the_documented_logins_example_trades_under_two_logins(
        tmp_path: Path, processes: list[asyncio.subprocess.Process]) -> None:
    """``examples/logins.toml``: the embedded simulator gets a user per login; each login
    caches its own token (0600) and every account trades or is journaled under its own."""
    settings = tmp_path / "logins.toml"
    shutil.copy(LOGINS, settings)
    proc = await spawn(tmp_path, "--settings", str(settings), "--duration", "20")
    processes.append(proc)
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    text = out.decode()
    assert proc.returncode == 0, err.decode()
    assert SUMMARY in text
    assert "reconnects    md 0, trading 0, trading personal 0" in text
    for name in ("token.json", "token.personal.json"):
        assert (tmp_path / "state" / name).stat().st_mode & 0o777 == 0o600
    per_account = text.split("per account", 1)[1]
    assert all(name in per_account for name in ("EVAL1", "EVAL2", "FUNDED"))
    with JournalReader(tmp_path / "state" / "journal.db") as reader:
        requests = reader.requests()
    assert all(r.account_id for r in requests)
