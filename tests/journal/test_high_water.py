"""The trailing drawdown's high-water kept across runs in the journal: recorded when it
moves, the latest per account read back by the next run, restored only under the same rule."""

from __future__ import annotations

import asyncio
import datetime as dt
import sqlite3
from pathlib import Path

from tradovate_api.alerts import AlertLog
from tradovate_api.journal import Journal, JournalReader
from tradovate_api.orders.account_rules import TrailingDrawdown
from tradovate_api.runtime.high_water import HighWaterKeeper


def test_the_next_run_reads_each_accounts_latest_high_water(tmp_path: Path) -> None:
    path = tmp_path / "journal.db"
    intraday = TrailingDrawdown(2_000.0, intraday=True, start=50_000.0)
    eod = TrailingDrawdown(2_500.0, intraday=False, start=25_000.0)
    eod.trade_date = dt.date(2026, 7, 15)
    journal = Journal(path)
    written: list[int] = []
    record = journal.trailing

    def counted(account_id: int, *rest: object) -> None:
        written.append(account_id)
        record(account_id, *rest)  # type: ignore[arg-type]

    journal.trailing = counted  # type: ignore[method-assign, assignment]
    keeper = HighWaterKeeper(journal, {7: intraday, 8: eod}, AlertLog())
    keeper.record()
    intraday.observe(51_200.0)
    keeper.record()
    keeper.record()  # nothing moved: nothing written
    assert written == [7, 8, 7]
    assert journal.close()
    with sqlite3.connect(path) as conn:
        rows = conn.execute("SELECT account_id, high_water FROM trailing "
                            "ORDER BY account_id").fetchall()
    assert rows == [(7, 51_200.0), (8, 25_000.0)]  # one row per account, the latest

    second = Journal(path)
    previous = second.previous.trailing
    assert (previous[7].high_water, previous[7].mode, previous[7].drawdown) == (
        51_200.0, "intraday", 2_000.0)
    assert (previous[8].mode, previous[8].trade_date) == ("eod", "2026-07-15")
    restored = TrailingDrawdown(2_000.0, intraday=True, start=50_000.0)
    assert HighWaterKeeper(second, {7: restored}, AlertLog()).restore(previous) == [7]
    assert restored.level == 49_200.0
    assert second.close()


def test_a_high_water_kept_under_another_rule_is_not_used_and_the_alert_says_so(
        tmp_path: Path) -> None:
    path = tmp_path / "journal.db"
    journal = Journal(path)
    rule = TrailingDrawdown(2_000.0, intraday=True)
    rule.observe(52_000.0)
    HighWaterKeeper(journal, {7: rule}, AlertLog()).record()
    assert journal.close()

    second = Journal(path)
    alerts = AlertLog()
    changed = TrailingDrawdown(3_000.0, intraday=True, start=50_000.0)  # the preset changed
    assert HighWaterKeeper(second, {7: changed}, alerts).restore(second.previous.trailing) == []
    assert changed.high_water == 50_000.0
    [alert] = alerts.recent
    assert alert.key == "risk.high_water_not_restored"
    assert "intraday drawdown of 2,000.00 (high-water 52,000.00)" in alert.body
    assert second.close()


def test_the_keeper_records_while_running_and_once_more_when_stopped(tmp_path: Path) -> None:
    path = tmp_path / "journal.db"
    rule = TrailingDrawdown(1_000.0, intraday=True, start=10_000.0)

    async def main() -> None:
        journal = Journal(path)
        keeper = HighWaterKeeper(journal, {7: rule}, AlertLog())
        keeper.start()
        rule.observe(10_500.0)
        await keeper.stop()  # the last move is recorded at the stop
        assert await asyncio.to_thread(journal.close)

    asyncio.run(main())
    with JournalReader(path) as reader:
        assert reader.trailing()[7].high_water == 10_500.0
