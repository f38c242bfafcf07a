"""The exchange's own auto-liquidation against hand-built books: the trailing drawdown in
RealTime and EOD mode, its floor, liquidate-only mode, locks and when they end."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import msgspec
import pytest

from tradovate_api.errors import ConfigError
from tradovate_api.protocol.models import (
    AccountRiskStatus,
    Command,
    Contract,
    ContractMaturity,
    Order,
    OrderVersion,
    PlaceOrder,
    Position,
    PriceLevel,
    Product,
    UserAccountAutoLiq,
)
from tradovate_api.simulator.book import Book, MarketUpdate
from tradovate_api.simulator.changes import EntityChange
from tradovate_api.simulator.config import (
    AutoLiqConfig,
    auto_liq_entity,
    config_from_mapping,
    load_config,
)
from tradovate_api.simulator.engine import Exchange
from tradovate_api.simulator.instruments import Instrument, InstrumentCatalog
from tradovate_api.simulator.risk_guard import Standing

ES = 3001
BALANCE = 50_000.0
COMMISSION = 2.5
NOON_CT = dt.datetime(2026, 11, 24, 18, 0, tzinfo=dt.UTC).timestamp()


def _es() -> Instrument:
    product = Product(id=3101, name="ES", currency_id=1, product_type="Futures",
                      description="ES", exchange_id=11, contract_group_id=21,
                      status="Verified", value_per_point=50.0, price_format_type="Decimal",
                      price_format=-2, tick_size=0.25)
    maturity = ContractMaturity(id=3201, product_id=product.id, expiration_month=202612,
                                expiration_date="2026-12-18T14:30:00.000Z", is_front=True)
    contract = Contract(id=ES, name="ESZ6", contract_maturity_id=maturity.id)
    return Instrument(product, maturity, contract, COMMISSION, 5000.0)


@dataclass
class World:
    exchange: Exchange
    book: Book
    user: int
    guarded: int
    plain: int
    clock: list[float]
    """The exchange's clock: ``clock[0]`` epoch seconds."""

    def quote(self, bid: float, last: float | None = None) -> list[EntityChange]:
        """Move the book to ``bid``/``bid + 0.25`` (mark: the mid) and let the exchange
        look."""
        self.book.bids = [PriceLevel(price=bid, size=50)]
        self.book.offers = [PriceLevel(price=bid + 0.25, size=50)]
        self.book.last_price = last if last is not None else bid
        return self.exchange.on_market(MarketUpdate(now_ms=int(self.clock[0] * 1000)))

    def buy(self, account: int, qty: int = 1, action: str = "Buy") -> tuple[str | None,
                                                                           list[EntityChange]]:
        result, changes = self.exchange.place_order(self.user, PlaceOrder(
            action=action, symbol="ESZ6", order_qty=qty, order_type="Market",
            account_id=account, is_automated=True))
        return result.failure_reason, changes


def world(**limits: object) -> World:
    book = Book(ES, 0.25)
    clock: list[float] = [NOON_CT]
    exchange = Exchange(InstrumentCatalog([_es()]), {ES: book}, lambda: clock[0])
    user = exchange.add_user("alice")
    guarded = exchange.add_account(user.id, "GUARDED", BALANCE, UserAccountAutoLiq(
        id=0, **limits))  # type: ignore[arg-type]
    plain = exchange.add_account(user.id, "PLAIN", BALANCE)
    w = World(exchange, book, user.id, guarded.id, plain.id, clock)
    w.quote(5000.0)
    return w


def statuses(changes: list[EntityChange], account: int) -> list[str | None]:
    return [c.entity.admin_action for c in changes if c.entity_type == "accountRiskStatus"
            and isinstance(c.entity, AccountRiskStatus) and c.entity.id == account]


def net_pos(w: World, account: int) -> int:
    found = [p for p in w.exchange.entities("position", w.user)
             if isinstance(p, Position) and p.account_id == account]
    return found[0].net_pos if found else 0


def test_realtime_trailing_follows_open_profit_and_liquidates_on_the_giveback() -> None:
    w = world(trailing_max_drawdown=100.0, trailing_max_drawdown_mode="RealTime")
    assert w.buy(w.guarded)[0] is None  # filled at 5000.25, net liq 49,991.25
    assert w.buy(w.plain)[0] is None
    w.quote(5004.0)  # mark 5004.125: net liq 50,191.25 = the new high-water mark
    assert w.exchange.high_water_mark(w.guarded) == pytest.approx(50_191.25)
    assert statuses(w.quote(5002.25), w.guarded) == []  # 50,103.75: above 50,091.25
    changes = w.quote(5002.0)  # mark 5002.125: net liq 50,091.25 = the level
    assert statuses(changes, w.guarded) == ["AgreedOnLiquidationByAutoLiq",
                                            "LockTradingImmediately"]
    admin = [c.entity for c in changes if c.entity_type == "order"
             and isinstance(c.entity, Order) and c.event_type == "Created"]
    assert len(admin) == 1
    assert admin[0].admin
    assert admin[0].action == "Sell"
    assert admin[0].account_id == w.guarded
    command = next(c.entity for c in changes if c.entity_type == "command"
                   and isinstance(c.entity, Command) and c.entity.order_id == admin[0].id)
    assert command.sender_id is None
    assert net_pos(w, w.guarded) == 0
    assert net_pos(w, w.plain) == 1, "the other account is untouched"
    assert statuses(changes, w.plain) == []
    assert w.exchange.risk_standing(w.guarded) is Standing.LOCKED
    assert w.exchange.risk_standing(w.plain) is Standing.NORMAL
    assert w.buy(w.guarded)[0] == "TradingLocked"
    assert w.buy(w.plain)[0] is None


def test_eod_trailing_ignores_intraday_peaks_and_moves_at_the_close() -> None:
    w = world(trailing_max_drawdown=100.0, trailing_max_drawdown_mode="EOD")
    w.buy(w.guarded)
    w.quote(5004.0)
    assert w.exchange.high_water_mark(w.guarded) == BALANCE, "EOD: no intraday move"
    assert statuses(w.quote(5002.0), w.guarded) == [], "RealTime would liquidate here"
    w.quote(5004.0, last=5004.0)
    w.exchange.roll_trade_date()  # settles at 5004: cash 50,000 - 2.5 + 187.5
    assert w.exchange.high_water_mark(w.guarded) == pytest.approx(50_185.0)
    assert statuses(w.quote(5002.0), w.guarded) == []  # net liq 50,091.25 > 50,085
    changes = w.quote(5001.75)  # net liq 50,078.75 <= 50,085
    assert statuses(changes, w.guarded) == ["AgreedOnLiquidationByAutoLiq",
                                            "LockTradingImmediately"]
    assert net_pos(w, w.guarded) == 0


def test_the_floor_stops_the_trailing_level() -> None:
    w = world(trailing_max_drawdown=100.0, trailing_max_drawdown_limit=50_050.0)
    w.buy(w.guarded)
    w.quote(5004.0)  # high-water 50,191.25: the level would be 50,091.25, the floor holds it
    assert statuses(w.quote(5002.0), w.guarded) == [], "50,091.25 is above the floor"
    changes = w.quote(5000.875)  # mark 5001.0: net liq 50,035 <= 50,050
    assert statuses(changes, w.guarded)[-1] == "LockTradingImmediately"


def test_trailing_drawdown_lock_survives_the_next_trade_date() -> None:
    w = world(trailing_max_drawdown=1.0)
    w.buy(w.guarded)  # the commission alone crosses it
    assert w.exchange.risk_standing(w.guarded) is Standing.LOCKED
    assert statuses(w.exchange.roll_trade_date(), w.guarded) == []
    assert w.buy(w.guarded)[0] == "TradingLocked"


def test_daily_loss_lock_ends_at_the_next_trade_date_unless_do_not_unlock() -> None:
    for do_not_unlock in (False, True):
        w = world(daily_loss_auto_liq=5.0, do_not_unlock=do_not_unlock)
        _, changes = w.buy(w.guarded)
        assert statuses(changes, w.guarded)[-1] == "LockTradingImmediately"
        rolled = statuses(w.exchange.roll_trade_date(), w.guarded)
        if do_not_unlock:
            assert rolled == []
            assert w.buy(w.guarded)[0] == "TradingLocked"
        else:
            assert rolled == ["Normal"]
            assert w.buy(w.guarded)[0] is None


def test_liquidate_only_refuses_entries_and_takes_exits() -> None:
    w = world(daily_loss_liq_only=5.0, daily_loss_auto_liq=10_000.0)
    _, changes = w.buy(w.guarded, 2)  # 2 x (2.5 commission + 6.25 half spread) lost
    assert statuses(changes, w.guarded) == ["AgreedOnLiqOnlyModeByAutoLiq"]
    status = next(c.entity for c in changes if c.entity_type == "accountRiskStatus")
    assert isinstance(status, AccountRiskStatus)
    assert status.liquidate_only is not None
    assert net_pos(w, w.guarded) == 2, "liquidate-only does not flatten"
    assert w.buy(w.guarded)[0] == "LiquidationOnly"
    assert w.buy(w.guarded, 3, "Sell")[0] == "LiquidationOnly", "a reversal is an entry"
    assert w.buy(w.guarded, 1, "Sell")[0] is None
    assert w.buy(w.guarded, 1, "Sell")[0] is None
    assert net_pos(w, w.guarded) == 0
    assert w.buy(w.guarded, 1, "Sell")[0] == "LiquidationOnly"
    assert w.buy(w.plain)[0] is None, "the other account trades normally"
    assert statuses(w.exchange.roll_trade_date(), w.guarded) == ["Normal"]
    assert w.buy(w.guarded)[0] is None


def test_liquidation_cancels_working_orders_of_that_account_only() -> None:
    w = world(trailing_max_drawdown=100.0)
    w.buy(w.guarded)
    for account in (w.guarded, w.plain):
        result, _ = w.exchange.place_order(w.user, PlaceOrder(
            action="Buy", symbol="ESZ6", order_qty=1, order_type="Limit", price=4990.0,
            account_id=account, is_automated=True))
        assert result.order_id is not None
    changes = w.quote(4998.0)
    canceled = [c.entity for c in changes if c.entity_type == "order"
                and isinstance(c.entity, Order) and c.entity.ord_status == "Canceled"]
    assert [o.account_id for o in canceled] == [w.guarded]
    assert [o.account_id for o, _, _ in w.exchange.working_orders(w.plain)] == [w.plain]
    assert w.exchange.working_orders(w.guarded) == []
    version = next(c.entity for c in changes if c.entity_type == "orderVersion"
                   and isinstance(c.entity, OrderVersion) and c.event_type == "Created")
    assert version.text == "Auto-liquidation: trailingMaxDrawdown reached"


def test_flatten_timestamp_flattens_once_and_trading_goes_on() -> None:
    w = world(flatten_timestamp="2026-11-24T18:00:30Z")
    w.buy(w.plain)
    w.buy(w.guarded)
    assert net_pos(w, w.guarded) == 1, "not yet"
    w.clock[0] += 30
    changes = w.quote(5000.0)
    assert net_pos(w, w.guarded) == 0
    assert net_pos(w, w.plain) == 1
    assert statuses(changes, w.guarded) == []
    assert w.buy(w.guarded)[0] is None
    assert net_pos(w, w.guarded) == 1, "one-time: the next position stays"


def test_settings_update_is_refused_while_changes_are_locked() -> None:
    w = world(changes_locked=True, daily_loss_auto_liq=500.0)
    refused, _ = w.exchange.update_auto_liq(w.user, {"id": w.guarded,
                                                     "dailyLossAutoLiq": 5000.0})
    assert isinstance(refused, str)
    assert "locked" in refused
    updated, changes = w.exchange.update_auto_liq(w.user, {"id": w.plain,
                                                           "trailingMaxDrawdown": 1.0})
    assert isinstance(updated, UserAccountAutoLiq)
    assert updated.trailing_max_drawdown == 1.0
    assert [(c.entity_type, c.event_type) for c in changes] == [
        ("userAccountAutoLiq", "Updated")]
    other = w.exchange.add_user("bob")
    denied, _ = w.exchange.update_auto_liq(other.id, {"id": w.plain, "changesLocked": True})
    assert isinstance(denied, str)
    assert "denied" in denied


@pytest.mark.parametrize(("auto_liq", "error"), [
    ({"daily_loss_liq_only": 600.0, "daily_loss_auto_liq": 500.0},
     "daily_loss_liq_only must not exceed daily_loss_auto_liq"),
    ({"trailing_max_drawdown_limit": 50_000.0}, "trailing_max_drawdown_limit needs "
                                                "trailing_max_drawdown"),
    ({"trailing_max_drawdown_mode": "Daily"}, "invalid enum value 'Daily'"),
    ({"flatten_timestamp": "2026-11-24 20:00"}, "give a time zone"),
    ({"trailing_max_drawdown": -5.0}, "expected float > 0.0"),
    ({"daily_loss": 5.0}, "daily_loss: unknown key"),
])
def test_bad_auto_liq_settings_name_the_key(auto_liq: dict[str, object], error: str) -> None:
    with pytest.raises(ConfigError) as raised:
        config_from_mapping({"users": [{"name": "a", "password": "a", "accounts": [
            {"name": "A1", "auto_liq": auto_liq}]}]})
    assert "users[0].accounts[0].auto_liq" in str(raised.value)
    assert error in str(raised.value)


def test_account_names_are_unique_across_logins() -> None:
    with pytest.raises(ConfigError, match="account names must be unique"):
        config_from_mapping({"users": [
            {"name": "a", "password": "a", "accounts": [{"name": "X"}]},
            {"name": "b", "password": "b", "accounts": [{"name": "X"}]}]})


def test_the_entity_carries_the_configured_values_on_the_wire() -> None:
    config = config_from_mapping({"users": [{"name": "a", "password": "a", "accounts": [
        {"name": "A1", "auto_liq": {"trailing_max_drawdown": 2500.0,
                                    "trailing_max_drawdown_mode": "EOD",
                                    "trailing_max_drawdown_limit": 50_100.0,
                                    "daily_loss_alert": 300.0, "do_not_unlock": True}}]}]})
    accounts = config.users[0].accounts
    assert accounts is not None
    wire = msgspec.json.decode(msgspec.json.encode(auto_liq_entity(accounts[0].auto_liq)))
    assert wire == {"id": 0, "changesLocked": False, "dailyLossAlert": 300.0,
                    "trailingMaxDrawdown": 2500.0, "trailingMaxDrawdownLimit": 50_100.0,
                    "trailingMaxDrawdownMode": "EOD", "doNotUnlock": True}


def test_the_documented_example_config_loads(tmp_path: Path) -> None:
    """docs/simulator.md's accounts example is a working ``sim --config`` file."""
    docs = (Path(__file__).parents[2] / "docs" / "simulator.md").read_text(encoding="utf-8")
    section = docs.split("## Accounts, logins and auto-liquidation", 1)[1]
    example = section.split("```toml\n", 1)[1].split("```", 1)[0]
    path = tmp_path / "sim.toml"
    path.write_text(example, encoding="utf-8")
    accounts = load_config(path).users[0].accounts
    assert accounts is not None
    assert [a.name for a in accounts] == ["EVAL1", "PERSONAL"]
    assert accounts[0].auto_liq == AutoLiqConfig(
        trailing_max_drawdown=2500.0, trailing_max_drawdown_mode="RealTime",
        trailing_max_drawdown_limit=50_100.0, daily_loss_liq_only=800.0,
        daily_loss_auto_liq=1000.0, daily_loss_alert=500.0,
        flatten_timestamp="2026-11-24T20:55:00Z")
    assert accounts[1].auto_liq is None
