"""A scripted ES session: the simulator's matching engine fills our orders, its entity changes
feed a real account store (wire-encoded and decoded, as the account reader does), quotes and
prints feed a real market-data store, and every order has the ticket the order manager would
have made. The numbers it produces are hand-computed in ``HAND`` below."""

from __future__ import annotations

import datetime as dt
import random

import msgspec

from tradovate_api.orders.tickets import (
    OrderTicket,
    TicketKind,
    TicketState,
    set_bracket_ids,
    set_order_id,
    set_state,
)
from tradovate_api.protocol import (
    ChartEvent,
    EntityEvent,
    MarketDataEvent,
    decode_entities,
    pack_ticks,
)
from tradovate_api.protocol.models import (
    ChartData,
    Contract,
    ContractMaturity,
    MarketData,
    PlaceOrder,
    PlaceOSO,
    PriceLevel,
    Product,
    Quote,
    QuoteEntries,
    QuoteEntry,
    RestrainedOrderVersion,
    Tick,
)
from tradovate_api.simulator.book import Book, MarketUpdate
from tradovate_api.simulator.changes import EntityChange
from tradovate_api.simulator.engine import Exchange
from tradovate_api.simulator.instruments import Instrument, InstrumentCatalog
from tradovate_api.stores import create_account_store, create_market_store

ES = 7001
VPP, COMMISSION, BALANCE, TICK = 50.0, 2.05, 100_000.0, 0.25
T0 = dt.datetime(2026, 11, 24, 15, tzinfo=dt.UTC).timestamp()
T0_MS = int(T0 * 1000)
CHART = 41


def _catalog() -> InstrumentCatalog:
    product = Product(id=1, name="ES", currency_id=1, product_type="Futures", description="ES",
                      exchange_id=1, contract_group_id=1, status="Verified",
                      value_per_point=VPP, price_format_type="Decimal", price_format=-2,
                      tick_size=TICK)
    maturity = ContractMaturity(id=2, product_id=1, expiration_month=202612,
                                expiration_date="2026-12-18T14:30Z", is_front=True)
    contract = Contract(id=ES, name="ESZ6", contract_maturity_id=2)
    return InstrumentCatalog([Instrument(product, maturity, contract, COMMISSION, 5000.0)])


class Session:
    """One user and account on the simulator's exchange, with stores fed from it."""

    def __init__(self) -> None:
        self.now = T0
        self.book = Book(ES, TICK)
        self.exchange = Exchange(_catalog(), {ES: self.book}, lambda: self.now,
                                 rng=random.Random(7))
        self.user = self.exchange.add_user("trader").id
        self.account_id = self.exchange.add_account(self.user, "DEMO123", BALANCE).id
        self.account, self.writer = create_account_store(commission_per_side={"ES": COMMISSION})
        self.market, self.md = create_market_store(clock_ms=lambda: int(self.now * 1000))
        self.md.register_chart(ES, CHART)
        self.tickets: list[OrderTicket] = []
        self._next = 0
        self._tick_id = 0
        self.writer.apply_snapshot(self.exchange.sync(self.user))

    @property
    def now_ms(self) -> int:
        return int(self.now * 1000)

    def at(self, seconds: float) -> None:
        self.now = T0 + seconds

    def quote(self, mid: float) -> None:
        """Book one tick either side of ``mid`` (plenty of size) and publish the quote."""
        bid, ask = mid - TICK, mid + TICK
        self.book.bids = [PriceLevel(price=bid, size=50)]
        self.book.offers = [PriceLevel(price=ask, size=50)]
        self.book.last_price = mid
        stamp = dt.datetime.fromtimestamp(self.now, dt.UTC).isoformat()
        quote = Quote(contract_id=ES, timestamp=stamp, entries=QuoteEntries(
            bid=QuoteEntry(price=bid, size=50), offer=QuoteEntry(price=ask, size=50)))
        self.md.apply(MarketDataEvent(MarketData(quotes=[quote])))

    def prints(self, *prices: float) -> None:
        """Time-and-sales prints at ``now`` (they feed the price chart); the engine sees them
        too, so resting orders can trade."""
        ticks = []
        for price in prices:
            self._tick_id += 1
            ticks.append(Tick(self._tick_id, self.now_ms, round(price / TICK), price, 1.0))
        self.md.apply(ChartEvent(ChartData(charts=[pack_ticks(CHART, ticks, TICK, 20261124)])))
        self._feed(self.exchange.on_market(MarketUpdate(
            now_ms=self.now_ms, trades=[(ES, t) for t in ticks])))

    def _feed(self, changes: list[EntityChange]) -> None:
        for change in changes:
            raw = msgspec.json.encode(change.entity)
            self.writer.apply(EntityEvent(change.entity_type, change.event_type,
                                          decode_entities(change.entity_type, raw)))

    def _ticket(self, kind: TicketKind, action: str, qty: int, trigger: str) -> OrderTicket:
        self._next += 1
        ticket = OrderTicket(cl_ord_id=f"rpt-{self._next}", kind=kind, symbol="ESZ6",
                             contract_id=ES, action=action, qty=qty, order_type="Market",
                             trigger=trigger, created_ms=self.now_ms)
        self.tickets.append(ticket)
        return ticket

    def market_order(self, action: str, qty: int, trigger: str) -> OrderTicket:
        ticket = self._ticket(TicketKind.PLACE, action, qty, trigger)
        result, changes = self.exchange.place_order(self.user, PlaceOrder(
            account_id=self.account_id, action=action, symbol="ESZ6", order_qty=qty,
            order_type="Market", cl_ord_id=ticket.cl_ord_id, is_automated=True))
        assert result.order_id is not None, result
        set_order_id(ticket, result.order_id)
        set_state(ticket, TicketState.ACKED)
        self._feed(changes)
        return ticket

    def bracket(self, action: str, qty: int, take_profit: float, stop_loss: float,
                trigger: str) -> OrderTicket:
        ticket = self._ticket(TicketKind.OSO, action, qty, trigger)
        exit_side = "Sell" if action == "Buy" else "Buy"
        result, changes = self.exchange.place_oso(self.user, PlaceOSO(
            account_id=self.account_id, action=action, symbol="ESZ6", order_qty=qty,
            order_type="Market", cl_ord_id=ticket.cl_ord_id, is_automated=True,
            bracket1=RestrainedOrderVersion(action=exit_side, order_type="Limit",
                                            price=take_profit),
            bracket2=RestrainedOrderVersion(action=exit_side, order_type="Stop",
                                            stop_price=stop_loss)))
        legs = (result.oso1_id, result.oso2_id)
        assert result.order_id is not None, result
        assert None not in legs, result
        set_order_id(ticket, result.order_id)
        set_state(ticket, TicketState.ACKED)
        set_bracket_ids(ticket, tuple(leg for leg in legs if leg is not None))
        self._feed(changes)
        return ticket


def scripted(session: Session) -> None:
    """The session the hand-computed numbers below describe (times are seconds after T0).

    fills:  t=60 Buy 1 @5000.25 | t=120 Sell 1 @5001.75 | t=180 Sell 2 @5001.75
            t=240 Buy 1 @5003.25 | t=300 Buy 2 @5001.25 (closes the short, opens long 1)
    marks:  t=0 5000, t=90 5001, t=200 5002.5, t=360 5004 (quote mids)
    """
    session.at(0)
    session.quote(5000.0)
    session.at(60)
    session.market_order("Buy", 1, "pressure buy: ts_net=+410")
    session.at(90)
    session.quote(5001.0)
    session.at(120)
    session.quote(5002.0)
    session.market_order("Sell", 1, "opposite signal")
    session.at(180)
    session.market_order("Sell", 2, "pressure sell: ts_net=-380")
    session.at(200)
    session.quote(5002.5)
    session.at(240)
    session.quote(5003.0)
    session.market_order("Buy", 1, "Unrealized Pnl = -62.5")
    session.at(300)
    session.quote(5001.0)
    session.market_order("Buy", 2, "pressure buy: reverse")
    session.at(360)
    session.quote(5004.0)


HAND = {
    # trade 1: long 1, 5000.25 → 5001.75: 1.5 pt × 50 = 75; commissions 2 × 2.05
    # trade 2: short 2 @5001.75; exits 5003.25 (−75) and 5001.25 (+25) = −50; 4 × 2.05
    # trade 3: long 1 @5001.25, open; entry commission 2.05; marked at 5004: +137.5
    "realized": 75.0 - 75.0 + 25.0,
    "commissions": 7 * COMMISSION,
    "open": (5004.0 - 5001.25) * VPP,
    "fills": 5,
    "trades_closed": 2,
    "wins": 1,
    "losses": 1,
}
