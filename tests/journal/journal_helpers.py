"""A matching engine world (the simulator's Exchange, no sockets) that produces real account
events and snapshots for journal tests."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from tradovate_api.orders.order_strategy import (
    MULTIBRACKET,
    StrategyBracket,
    strategy_params,
    strategy_uuid,
)
from tradovate_api.protocol import EntityEvent
from tradovate_api.protocol.models import (
    Contract,
    ContractMaturity,
    InterruptOrderStrategy,
    PlaceOrder,
    PlaceOSO,
    PriceLevel,
    Product,
    RestrainedOrderVersion,
    StartOrderStrategy,
    SyncMessage,
    Tick,
)
from tradovate_api.simulator.book import Book, MarketUpdate
from tradovate_api.simulator.changes import EntityChange
from tradovate_api.simulator.engine import Exchange
from tradovate_api.simulator.instruments import Instrument, InstrumentCatalog

ES = 3001
NOON_CT = dt.datetime(2026, 11, 24, 18, 0, tzinfo=dt.UTC).timestamp()


def es_instrument() -> Instrument:
    product = Product(id=3101, name="ES", currency_id=1, product_type="Futures",
                      description="E-mini S&P 500", exchange_id=11, contract_group_id=21,
                      status="Verified", value_per_point=50.0, price_format_type="Decimal",
                      price_format=-2, tick_size=0.25)
    maturity = ContractMaturity(id=3201, product_id=product.id, expiration_month=202612,
                                expiration_date="2026-12-18T14:30:00.000Z", is_front=True)
    contract = Contract(id=ES, name="ESZ6", contract_maturity_id=maturity.id)
    return Instrument(product, maturity, contract, 2.5, 5000.0)


def events_of(changes: Sequence[EntityChange]) -> list[EntityEvent]:
    return [EntityEvent(c.entity_type, c.event_type, (c.entity,)) for c in changes]


class World:
    """One user with one account trading ESZ6 against a hand-set book."""

    def __init__(self) -> None:
        self.now = NOON_CT
        self.catalog = InstrumentCatalog([es_instrument()])
        self.book = Book(ES, 0.25)
        self.set_book(5000.0, 5000.25)
        self.exchange = Exchange(self.catalog, {ES: self.book}, lambda: self.now)
        self.user = self.exchange.add_user("sim").id
        self.account = self.exchange.add_account(self.user, "DEMO1", 50_000.0).id
        self.next_tick = 1

    def set_book(self, bid: float, ask: float, size: float = 20) -> None:
        self.book.bids = [PriceLevel(price=bid - 0.25 * i, size=size) for i in range(5)]
        self.book.offers = [PriceLevel(price=ask + 0.25 * i, size=size) for i in range(5)]

    def place(self, action: str, qty: int, order_type: str = "Market",
              price: float | None = None, cl_ord_id: str | None = None,
              stop_price: float | None = None) -> tuple[int | None, list[EntityEvent]]:
        result, changes = self.exchange.place_order(self.user, PlaceOrder(
            action=action, symbol="ESZ6", order_qty=qty, order_type=order_type, price=price,
            stop_price=stop_price, account_id=self.account, cl_ord_id=cl_ord_id,
            is_automated=True))
        assert result.failure_reason is None, result.failure_text
        return result.order_id, events_of(changes)

    def bracket(self, action: str, price: float, take_profit: float, stop_loss: float,
                cl_ord_id: str) -> tuple[int | None, list[EntityEvent]]:
        """A Limit entry at ``price`` with take-profit and stop-loss legs (held until the
        entry fills), legs ``<cl_ord_id>-tp`` / ``-sl``."""
        exit_action = "Sell" if action == "Buy" else "Buy"
        result, changes = self.exchange.place_oso(self.user, PlaceOSO(
            action=action, symbol="ESZ6", order_qty=1, order_type="Limit", price=price,
            account_id=self.account, cl_ord_id=cl_ord_id, is_automated=True,
            bracket1=RestrainedOrderVersion(action=exit_action, order_type="Limit",
                                            price=take_profit, cl_ord_id=f"{cl_ord_id}-tp"),
            bracket2=RestrainedOrderVersion(action=exit_action, order_type="Stop",
                                            stop_price=stop_loss,
                                            cl_ord_id=f"{cl_ord_id}-sl")))
        assert result.failure_reason is None, result.failure_text
        return result.order_id, events_of(changes)

    def strategy(self, action: str, qty: int, target: float, stop: float, cl_ord_id: str,
                 price: float | None = None) -> tuple[int, list[EntityEvent]]:
        """An order strategy (multibracket): a Market entry (Limit at ``price``) whose fills
        get a target ``target`` and a stop ``stop`` points away, carrying ``cl_ord_id`` as
        ``customTag50`` (its targets' and stops' commands too). Returns the strategy id."""
        result, changes = self.exchange.start_order_strategy(self.user, StartOrderStrategy(
            symbol="ESZ6", order_strategy_type_id=MULTIBRACKET, action=action,
            account_id=self.account, account_spec="DEMO1", params=strategy_params(
                qty, "Market" if price is None else "Limit", price, None, None,
                (StrategyBracket(qty, target, stop),)),
            uuid=strategy_uuid(cl_ord_id), custom_tag50=cl_ord_id, is_automated=True))
        assert result.order_strategy is not None, result.error_text
        return result.order_strategy.id, events_of(changes)

    def interrupt(self, strategy_id: int) -> list[EntityEvent]:
        result, changes = self.exchange.interrupt_order_strategy(
            self.user, InterruptOrderStrategy(order_strategy_id=strategy_id))
        assert result.order_strategy is not None, result.error_text
        return events_of(changes)

    def trade(self, price: float, size: float = 10) -> list[EntityEvent]:
        """A print at ``price`` (fills resting limits at or through it)."""
        self.now += 1
        tick = Tick(self.next_tick, int(self.now * 1000), round(price / 0.25), price, size,
                    price - 0.25, 10, price, 10)
        self.next_tick += 1
        update = MarketUpdate(int(self.now * 1000), trades=[(ES, tick)])
        return events_of(self.exchange.on_market(update))

    def sync(self) -> SyncMessage:
        return self.exchange.sync(self.user)
