"""What the benchmark sends: Tradovate-format market-data frames built with the project's own
protocol models, and the probe-price scheme that ties an order back to the tick that caused it.

Every frame is an ``a[...]`` frame encoded by :func:`tradovate_api.protocol.encode_messages`
from the typed models, so clients see exactly the wire format. The mix is the one the stack
was chosen with: mostly one 10-level DOM (~670 B) or one full quote (~400 B) per frame, some
frames batching several contracts, plus packed tick-chart packets.

A *probe* is a full quote of the probe contract whose bid is ``PROBE_BASE + seq * TICK``. A
client answers it with a limit ``order/placeorder`` at that bid, so the feeder recovers ``seq``
from the order's price whatever client (or framework) built the order.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterator
from typing import Any

import msgspec

from tradovate_api.protocol import ChartEvent, MarketDataEvent, Props, PropsEvent, encode_messages
from tradovate_api.protocol.models import (
    Account,
    CashBalance,
    ChartData,
    ChartPacket,
    Command,
    Contract,
    ContractMaturity,
    Dom,
    MarketData,
    Order,
    OrderVersion,
    PackedTick,
    PlaceOrder,
    PriceLevel,
    Product,
    Quote,
    QuoteEntries,
    QuoteEntry,
    SyncMessage,
    TradeDate,
    User,
)

TICK = 0.25
_json = msgspec.json.Encoder()
STAMP = "2026-11-23T14:30:01.237Z"

# Noise contracts (front-month style names, made-up ids) and their starting prices.
CONTRACTS: dict[int, tuple[str, float]] = {
    3_570_918: ("ESZ6", 6012.25),
    3_570_919: ("NQZ6", 21450.50),
    3_570_920: ("MESZ6", 6012.25),
    3_570_921: ("MNQZ6", 21450.50),
}
PROBE_CONTRACT_ID = 3_570_999
PROBE_SYMBOL = "BNCHZ6"
PROBE_BASE = 1000.0
PROBE_SYMBOLS = {PROBE_SYMBOL, str(PROBE_CONTRACT_ID)}

HISTORICAL_ID_BASE = 10_000
REALTIME_ID_BASE = 20_000
"""``md/getChart`` answers with these plus the contract's index in :data:`CONTRACTS`."""

TICK_SHARE = 0.05
"""Share of tick-chart packets among the frames of :meth:`FrameMix.frames`."""
PRINTS_PER_PACKET = 4

ACCOUNT_ID = 900_001
ACCOUNT_SPEC = "BENCH0001"
USER_ID = 700_001


def num(x: float) -> float | int:
    """Tradovate normalises numbers: 2633.00 goes out as 2633."""
    return int(x) if x.is_integer() else x


def probe_price(seq: int) -> float:
    return PROBE_BASE + seq * TICK


def probe_seq(price: float) -> int:
    return round((price - PROBE_BASE) / TICK)


def full_quote(contract_id: int, bid: float, stamp: str = STAMP) -> Quote:
    """A quote with every entry Tradovate sends (~410 B on the wire)."""
    entries = QuoteEntries(
        bid=QuoteEntry(price=num(bid), size=7), offer=QuoteEntry(price=num(bid + TICK), size=12),
        trade=QuoteEntry(price=num(bid), size=2), total_trade_volume=QuoteEntry(size=411832),
        open_interest=QuoteEntry(size=2140702), high_price=QuoteEntry(price=num(bid + 31.5)),
        low_price=QuoteEntry(price=num(bid - 18.25)), opening_price=QuoteEntry(price=num(bid - 3)),
        settlement_price=QuoteEntry(price=num(bid - 4.75)))
    return Quote(contract_id=contract_id, timestamp=stamp, entries=entries)


def dom(contract_id: int, best_bid: float, salt: int, stamp: str = STAMP) -> Dom:
    """A 10-level book around ``best_bid``; ``salt`` varies the sizes."""
    bids = [PriceLevel(price=num(best_bid - i * TICK), size=(7 + 131 * i + salt) % 470 + 1)
            for i in range(10)]
    offers = [PriceLevel(price=num(best_bid + (i + 1) * TICK),
                         size=(5 + 173 * i + 3 * salt) % 530 + 1) for i in range(10)]
    return Dom(contract_id=contract_id, timestamp=stamp, bids=bids, offers=offers)


def md_frame(quotes: list[Quote] | None = None, doms: list[Dom] | None = None) -> bytes:
    return encode_messages([MarketDataEvent(MarketData(quotes=quotes or [], doms=doms or []))])


def probe_frame(seq: int) -> bytes:
    """The probe: one full quote of the probe contract whose bid encodes ``seq``."""
    return md_frame(quotes=[full_quote(PROBE_CONTRACT_ID, probe_price(seq))])


def chart_ids(index: int) -> tuple[int, int]:
    """(historicalId, realtimeId) of the tick chart of the ``index``-th contract."""
    return HISTORICAL_ID_BASE + index, REALTIME_ID_BASE + index


def contract_index(symbol: str | int) -> int | None:
    """Index in :func:`all_contracts` (noise contracts first, then the probe) of a symbol or
    contract id; ``None`` when unknown."""
    for index, (cid, name) in enumerate(all_contracts().items()):
        if symbol in (name, cid, str(cid)):
            return index
    return None


class Counted:
    """A frame with the number of md entries it carries (quotes + DOMs + tick packets)."""

    __slots__ = ("data", "events")

    def __init__(self, data: bytes, events: int) -> None:
        self.data = data
        self.events = events


class FrameMix:
    """An endless, seeded stream of market-data frames in the baseline's proportions.

    DOM and quote frames are drawn from a pre-encoded pool (varied prices and sizes). Tick
    packets are encoded on the fly because their tick ids must be new every time: the store
    deduplicates prints by id, so a replayed id would not be applied.
    """

    def __init__(self, seed: int = 1, pool: int = 512) -> None:
        rng = random.Random(seed)
        self._rng = rng
        ids = list(CONTRACTS)
        self._ids = ids
        self._doms: list[Counted] = []
        self._quotes: list[Counted] = []
        self._batches: list[Counted] = []
        for n in range(pool):
            cid = ids[n % len(ids)]
            px = CONTRACTS[cid][1] + rng.randint(-40, 40) * TICK
            self._doms.append(Counted(md_frame(doms=[dom(cid, px, n)]), 1))
            self._quotes.append(Counted(md_frame(quotes=[full_quote(cid, px)]), 1))
            picked = rng.sample(ids, 3)
            quotes = [full_quote(c, CONTRACTS[c][1] + rng.randint(-40, 40) * TICK) for c in picked]
            doms = [dom(c, CONTRACTS[c][1] + rng.randint(-40, 40) * TICK, n) for c in picked]
            self._batches.append(Counted(md_frame(quotes=quotes, doms=doms), 6))
        self._tick_id = 1
        self._last_ms: dict[int, int] = {}
        self.pool = pool

    def dom_frames(self) -> Iterator[Counted]:
        """Endless single-DOM frames (for queueing ahead of a probe)."""
        n = 0
        while True:
            yield self._doms[n % self.pool]
            n += 1

    def tick_frame(self) -> Counted:
        """One packed tick-chart packet (realtime id) with 4 new prints of one contract in
        one millisecond (a sweep), stamped with the wall clock so the prints enter, then
        leave, the rolling windows; a contract's packets never go back in time."""
        rng = self._rng
        index = rng.randrange(len(self._ids))
        cid = self._ids[index]
        base = round(CONTRACTS[cid][1] / TICK) + rng.randint(-40, 40)
        ticks = []
        for k in range(PRINTS_PER_PACKET):
            p = rng.randint(-2, 2)
            ticks.append(PackedTick(id=self._tick_id, t=0, p=p, s=rng.randint(1, 30),
                                    b=p - 1 + (k & 1), a=p + (k & 1), bs=rng.randint(5, 200),
                                    as_=rng.randint(5, 200)))
            self._tick_id += 1
        stamp = max(time.time_ns() // 1_000_000, self._last_ms.get(cid, 0))
        self._last_ms[cid] = stamp
        packet = ChartPacket(id=chart_ids(index)[1], s="rt", td=20261123, bp=base, bt=stamp,
                             ts=TICK, tks=ticks)
        return Counted(encode_messages([ChartEvent(ChartData(charts=[packet]))]), 1)

    def frames(self) -> Iterator[Counted]:
        """Endless mix: 55% DOM, 30% quote, 10% batched (3 quotes + 3 DOMs), 5% tick packet."""
        rng = self._rng
        n = 0
        while True:
            roll = rng.random()
            if roll < 0.55:
                yield self._doms[n % self.pool]
            elif roll < 0.85:
                yield self._quotes[n % self.pool]
            elif roll < 1 - TICK_SHARE:
                yield self._batches[n % self.pool]
            else:
                yield self.tick_frame()
            n += 1


# ----------------------------------------------------------------------------- reference data

_PRODUCTS = {"ESZ6": ("ES", 50.0), "NQZ6": ("NQ", 20.0), "MESZ6": ("MES", 5.0),
             "MNQZ6": ("MNQ", 2.0), PROBE_SYMBOL: ("BNCH", 50.0)}


def all_contracts() -> dict[int, str]:
    """Contract id → name, noise contracts and the probe contract."""
    return {**{cid: name for cid, (name, _) in CONTRACTS.items()},
            PROBE_CONTRACT_ID: PROBE_SYMBOL}


def contract_entity(contract_id: int) -> Contract:
    return Contract(id=contract_id, name=all_contracts()[contract_id],
                    contract_maturity_id=contract_id + 1_000_000, status="DefinitionChecked")


def product_entity(symbol: str) -> Product:
    """The product of a contract name (``ESZ6``) or of a product name (``ES``)."""
    by_product = {name: (name, value) for name, value in _PRODUCTS.values()}
    name, value = _PRODUCTS.get(symbol) or by_product[symbol]
    return Product(id=500 + sorted(by_product).index(name), name=name, currency_id=1,
                   product_type="Futures", description=f"{name} (benchmark)", exchange_id=1,
                   contract_group_id=1, status="Verified", value_per_point=value,
                   price_format_type="Decimal", price_format=-2, tick_size=TICK)


def maturity_entity(contract_id: int) -> ContractMaturity:
    product = product_entity(all_contracts()[contract_id])
    return ContractMaturity(id=contract_id + 1_000_000, product_id=product.id,
                            expiration_month=202612, expiration_date="2026-12-18T14:30:00Z",
                            is_front=True)


def sync_snapshot() -> SyncMessage:
    """The ``user/syncrequest`` answer: one user, one account with cash, the contracts."""
    ids = list(all_contracts())
    return SyncMessage(
        users=[User(id=USER_ID, name="bench", status="Active")],
        accounts=[Account(id=ACCOUNT_ID, name=ACCOUNT_SPEC, user_id=USER_ID,
                          account_type="Customer", active=True, clearing_house_id=2,
                          risk_category_id=2, auto_liq_profile_id=2,
                          margin_account_type="Speculator", legal_status="Individual")],
        cash_balances=[CashBalance(id=1, account_id=ACCOUNT_ID, timestamp=STAMP,
                                   trade_date=TradeDate(year=2026, month=11, day=23),
                                   currency_id=1, amount=1_000_000.0, realized_pnl=0.0)],
        contracts=[contract_entity(c) for c in ids],
        contract_maturities=[maturity_entity(c) for c in ids],
        products=list({p.id: p for p in (product_entity(all_contracts()[c]) for c in ids)}
                      .values()))


def order_events(order_id: int, order: PlaceOrder, contract_id: int = PROBE_CONTRACT_ID) -> bytes:
    """The ``props`` frame that follows an accepted order: its command, the order
    (Working), its version, then the order Canceled — an IOC limit that found nothing to
    trade. The framework's account store, order manager and strategy all see the order live
    and end, so nothing is left working (and the position stays flat)."""
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime())
    command = Command(id=order_id, order_id=order_id, timestamp=stamp, command_type="New",
                      command_status="ExecutionStopped", cl_ord_id=order.cl_ord_id,
                      is_automated=order.is_automated)
    working = Order(id=order_id, account_id=ACCOUNT_ID, contract_id=contract_id,
                    timestamp=stamp, action=order.action, ord_status="Working", admin=False)
    version = OrderVersion(id=order_id, order_id=order_id, order_qty=order.order_qty,
                           order_type=order.order_type, price=order.price,
                           time_in_force="IOC")
    canceled = msgspec.structs.replace(working, ord_status="Canceled")

    def props(entity_type: str, event_type: str, entity: Any) -> PropsEvent:
        return PropsEvent(Props(entity_type, event_type, msgspec.Raw(_json.encode(entity))))

    return encode_messages([props("command", "Created", command),
                            props("order", "Created", working),
                            props("orderVersion", "Created", version),
                            props("order", "Updated", canceled)])
