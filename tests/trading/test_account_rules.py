"""The prop-firm rules engine with hand-computed numbers: the trailing drawdown (intraday and
end-of-day, up to its floor), flat_by and the last minutes of the session on an injected
clock across the exchange's time zone and its daylight-saving change, and the exchange's own
limits read from an account store fed with the protocol's entities decoded from wire JSON;
two accounts' risk managers on one store: a breach halts only its own account."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from tradovate_api.alerts import AlertLog
from tradovate_api.orders.account_rules import AccountRules, TrailingDrawdown
from tradovate_api.orders.exchange_limits import ExchangeLimits
from tradovate_api.orders.risk import RiskManager
from tradovate_api.protocol import EntityEvent
from tradovate_api.protocol.messages import decode_entities
from tradovate_api.settings import Risk, RulePreset
from tradovate_api.stores import create_account_store, create_market_store

CHICAGO = ZoneInfo("America/Chicago")


def ms(year: int, month: int, day: int, hour: int, minute: int, second: int = 0) -> int:
    """Epoch ms of a wall-clock time in Chicago."""
    at = dt.datetime(year, month, day, hour, minute, second, tzinfo=CHICAGO)
    return int(at.timestamp() * 1000)


# ----------------------------------------------------------------------------- trailing


def test_intraday_trailing_follows_the_high_water_then_stops_at_the_floor() -> None:
    # Start 50,000, drawdown 2,000, floor 50,000: the level starts at 48,000.
    trailing = TrailingDrawdown(2_000.0, intraday=True, floor=50_000.0, start=50_000.0)
    assert trailing.level == 48_000.0
    assert trailing.observe(49_500.0) == 1_500.0  # below the start: the level stays
    assert trailing.level == 48_000.0
    assert trailing.observe(51_200.0) == 2_000.0  # a new high: the level follows
    assert (trailing.high_water, trailing.level) == (51_200.0, 49_200.0)
    assert trailing.observe(50_000.0) == 800.0
    assert trailing.observe(52_500.0) == 2_500.0  # 50,500 would pass the floor: capped
    assert trailing.level == 50_000.0
    assert trailing.observe(60_000.0) == 10_000.0  # fixed from now on
    assert trailing.level == 50_000.0
    assert trailing.observe(50_000.0) == 0.0  # at the level: breached


def test_eod_trailing_moves_only_with_the_end_of_day_balance() -> None:
    trailing = TrailingDrawdown(2_500.0, intraday=False, start=50_000.0)
    assert trailing.observe(53_000.0) == 5_500.0  # intraday highs do not count
    assert trailing.level == 47_500.0
    trailing.end_of_day(51_000.0)
    assert trailing.level == 48_500.0
    trailing.end_of_day(50_200.0)  # a lower close does not lower it
    assert trailing.level == 48_500.0
    assert trailing.observe(48_500.0) == 0.0


def test_without_a_start_the_first_balance_is_the_high_water() -> None:
    trailing = TrailingDrawdown(1_000.0, intraday=False)
    assert trailing.observe(25_000.0) == 1_000.0
    assert trailing.level == 24_000.0


def test_a_restored_high_water_never_lowers_the_one_the_settings_give() -> None:
    trailing = TrailingDrawdown(2_000.0, intraday=True, start=50_000.0)
    assert trailing.restore(51_200.0, None)  # an earlier run's high: the level follows
    assert (trailing.high_water, trailing.level) == (51_200.0, 49_200.0)
    assert not trailing.restore(50_500.0, None)  # a lower one changes nothing
    assert trailing.level == 49_200.0
    assert trailing.observe(49_300.0) == 100.0


def test_an_eod_restore_counts_the_day_that_ended_between_the_runs() -> None:
    # The earlier run last rolled on 15 July with a high-water of 50,400; this run starts on
    # the 16th, whose start-of-day cash (the 15th's close) is 51,000.
    account, writer = create_account_store()
    wire(writer, "cashBalance", '[{"id":70,"accountId":7,"timestamp":"2026-07-16T14:00:00Z",'
         '"tradeDate":{"year":2026,"month":7,"day":16},"currencyId":1,"amount":50800,'
         '"amountSOD":51000}]')
    trailing = TrailingDrawdown(2_500.0, intraday=False, start=50_000.0)
    trailing.restore(50_400.0, dt.date(2026, 7, 15))
    assert trailing.level == 47_900.0
    trailing.roll(account, ACCOUNT, 50_800.0)
    assert (trailing.high_water, trailing.level) == (51_000.0, 48_500.0)
    # Without the earlier run's trade date the first roll only notes the day.
    fresh = TrailingDrawdown(2_500.0, intraday=False, start=50_000.0)
    fresh.roll(account, ACCOUNT, 50_800.0)
    assert fresh.level == 47_500.0


# ----------------------------------------------------------------------------- time of day


def rules(**preset: object) -> AccountRules:
    account, _ = create_account_store()
    market, _ = create_market_store()
    return AccountRules(RulePreset(**preset), account, market, lambda: 0)  # type: ignore[arg-type]


@pytest.mark.parametrize("day", [(2026, 7, 15), (2026, 12, 16)], ids=["CDT", "CST"])
def test_flat_by_is_exchange_time_in_summer_and_winter(day: tuple[int, int, int]) -> None:
    engine = rules(flat_by="15:55")
    before, at = ms(*day, 15, 54, 59), ms(*day, 15, 55)
    assert engine.entry_refusal(before) is None
    assert engine.entry_refusal(at) == ("flat_by 15:55 America/Chicago reached: no entries "
                                        "until the session reopens at 17:00")
    assert engine.in_flat_window(ms(*day, 16, 30))
    assert not engine.in_flat_window(ms(*day, 17, 0))  # the next session
    # In UTC the same rule is an hour apart across the change: 20:55 in July, 21:55 in Dec.
    utc = dt.datetime.fromtimestamp(at / 1000, dt.UTC)
    assert utc.hour == (20 if day[1] == 7 else 21)
    assert utc.minute == 55


def test_flat_by_across_the_dst_change_weekend() -> None:
    engine = rules(flat_by="15:00")
    # Friday 2026-10-30 (CDT, UTC-5) and Monday 2026-11-02 (CST, UTC-6): 15:00 local both.
    assert engine.entry_refusal(ms(2026, 10, 30, 14, 59)) is None
    assert engine.in_flat_window(ms(2026, 10, 30, 15, 0))
    assert engine.entry_refusal(ms(2026, 11, 2, 14, 59)) is None
    assert engine.in_flat_window(ms(2026, 11, 2, 15, 0))
    assert ms(2026, 11, 2, 15, 0) - ms(2026, 10, 30, 15, 0) == (3 * 24 + 1) * 3_600_000


def test_no_new_positions_in_the_last_minutes_of_the_calendar_session() -> None:
    engine = rules(no_new_positions_last_minutes=10)
    # Wednesday 2026-07-15: the CME equity session closes at 16:00 Chicago.
    assert engine.entry_refusal(ms(2026, 7, 15, 15, 49, 59)) is None
    assert engine.entry_refusal(ms(2026, 7, 15, 15, 50)) == (
        "no new positions in the last 10 minutes of the session (it closes at 16:00 "
        "America/Chicago)")
    assert engine.entry_refusal(ms(2026, 7, 15, 16, 30)) is None  # closed: nothing to gate
    assert engine.entry_refusal(ms(2026, 7, 15, 17, 30)) is None  # the next session
    # The day after Thanksgiving 2026 closes early (12:00 Chicago, from the calendar).
    assert engine.entry_refusal(ms(2026, 11, 27, 11, 49, 59)) is None
    assert engine.entry_refusal(ms(2026, 11, 27, 11, 50)) == (
        "no new positions in the last 10 minutes of the session (it closes at 12:00 "
        "America/Chicago)")


# ----------------------------------------------------------------------------- exchange


ACCOUNT = 7


def wire(writer: object, entity_type: str, json: str) -> None:
    """An entity as user sync sends it: wire JSON decoded by the protocol, applied."""
    event = EntityEvent(entity_type, "Updated", decode_entities(entity_type, json.encode()))
    writer.apply(event)  # type: ignore[attr-defined]


def test_distances_to_the_exchange_limits_and_the_margin() -> None:
    account, writer = create_account_store()
    wire(writer, "cashBalance", '[{"id":70,"accountId":7,"timestamp":"2026-07-15T14:00:00Z",'
         '"tradeDate":{"year":2026,"month":7,"day":15},"currencyId":1,"amount":49400,'
         '"amountSOD":50000}]')
    wire(writer, "userAccountAutoLiq", '[{"id":7,"changesLocked":true,"dailyLossLiqOnly":800,'
         '"dailyLossAutoLiq":1000,"trailingMaxDrawdown":2000,'
         '"trailingMaxDrawdownLimit":50100,"trailingMaxDrawdownMode":"RealTime",'
         '"flattenTimestamp":"2026-07-15T20:55:00Z"}]')
    limits = ExchangeLimits(account, margin=0.1)
    now = int(dt.datetime(2026, 7, 15, 20, 0, tzinfo=dt.UTC).timestamp() * 1000)
    # High-water 51,000 first: level min(51,000 - 2,000, 50,100) = 49,000.
    assert limits.update(ACCOUNT, 51_000.0, None, now) is None
    # amountSOD 50,000 - 51,000 = a 1,000 gain; liq-only 1,800 away, liq 2,000 away.
    d = limits.distances
    assert (d.daily_loss_liq_only, d.daily_loss_auto_liq) == (1_800.0, 2_000.0)
    assert (d.trailing_level, d.trailing_drawdown) == (49_000.0, 2_000.0)
    assert d.flatten_in_seconds == 55 * 60.0
    assert d.restricted is None
    # At 49,400 (open P&L included): loss 600, 200 from liq-only (800 x 10 % = 80: not yet),
    # 400 from liquidation; 400 above the trailing level (2,000 x 10 % = 200: not yet).
    assert limits.update(ACCOUNT, 49_400.0, None, now) is None
    d = limits.distances
    assert (d.daily_loss_liq_only, d.daily_loss_auto_liq, d.trailing_drawdown) == \
        (200.0, 400.0, 400.0)
    # At 49,180: 180 above the trailing level, within 200: entries stop.
    reason = limits.update(ACCOUNT, 49_180.0, None, now)
    assert reason is not None
    assert "trailing max drawdown level 49,000.00" in reason
    # Liq-only 80 away (within 10 % of 800) at 49,280: stop too.
    reason = limits.update(ACCOUNT, 49_280.0, None, now)
    assert reason is not None
    assert "liquidate-only at 800.00" in reason


def test_flatten_time_and_risk_status_stop_entries() -> None:
    account, writer = create_account_store()
    wire(writer, "userAccountAutoLiq",
         '[{"id":7,"flattenTimestamp":"2026-07-15T20:55:00Z"}]')
    limits = ExchangeLimits(account, margin=0.1)
    at = int(dt.datetime(2026, 7, 15, 20, 49, 59, tzinfo=dt.UTC).timestamp() * 1000)
    assert limits.update(ACCOUNT, None, None, at) is None  # 5 min 1 s before
    assert limits.update(ACCOUNT, None, None, at + 1000) is not None  # 5 minutes before
    wire(writer, "accountRiskStatus", '[{"id":7,"adminAction":"LockTradingImmediately",'
         '"adminTimestamp":"2026-07-15T20:00:00Z","liquidateOnly":"2026-07-15T20:00:00Z"}]')
    reason = limits.update(ACCOUNT, None, None, 0)
    assert reason == "the exchange has the account locked"
    assert limits.distances.restricted == "locked"
    wire(writer, "accountRiskStatus", '[{"id":7,"adminAction":"Normal"}]')
    assert limits.update(ACCOUNT, None, None, 0) is None


def test_eod_mode_keeps_the_high_water_until_the_roll() -> None:
    account, writer = create_account_store()
    wire(writer, "userAccountAutoLiq", '[{"id":7,"trailingMaxDrawdown":1000,'
         '"trailingMaxDrawdownMode":"EOD"}]')
    cash = ('[{{"id":70,"accountId":7,"timestamp":"2026-07-15T14:00:00Z","tradeDate":'
            '{{"year":2026,"month":7,"day":{day}}},"currencyId":1,"amount":{amount},'
            '"amountSOD":{amount}}}]')
    wire(writer, "cashBalance", cash.format(day=15, amount=20_000))
    limits = ExchangeLimits(account, margin=0.0)
    limits.update(ACCOUNT, 20_000.0, None, 0)
    limits.update(ACCOUNT, 20_900.0, None, 0)  # intraday high: no effect in EOD mode
    assert limits.distances.trailing_level == 19_000.0
    wire(writer, "cashBalance", cash.format(day=16, amount=20_600))  # the day closed +600
    limits.update(ACCOUNT, 20_600.0, None, 0)
    assert limits.distances.trailing_level == 19_600.0


def test_a_breach_halts_only_its_own_account() -> None:
    account, writer = create_account_store()
    market, _ = create_market_store()
    cash = ('[{{"id":{ident},"accountId":{ident},"timestamp":"2026-07-15T14:00:00Z",'
            '"tradeDate":{{"year":2026,"month":7,"day":15}},"currencyId":1,'
            '"amount":{amount}}}]')
    limits = Risk(preset={"eval": RulePreset(trailing_drawdown=1_000.0,
                                             trailing_mode="intraday")})
    halts: dict[int, list[str]] = {1: [], 2: []}
    managers = {}
    for ident in (1, 2):
        wire(writer, "cashBalance", cash.format(ident=ident, amount=50_000))
        manager = RiskManager(limits.for_preset("eval"), account, market, AlertLog(),
                              lambda: 0)
        manager.bind(ident, halts[ident].append)
        manager.evaluate()
        managers[ident] = manager
    wire(writer, "cashBalance", cash.format(ident=1, amount=49_000))
    for manager in managers.values():
        manager.evaluate()
    assert halts[1] == ["trailing drawdown: balance 49,000.00 (open P&L included) at or below "
                        "the level 49,000.00 (high-water 50,000.00 - trailing_drawdown "
                        "1,000.00)"]
    assert halts[2] == []
    assert managers[2].halted is None
