"""The reference strategy: the original program's DOM-imbalance and time-and-sales pressure
strategy, ported with its decision logic intact and its crash and data-loss paths removed.

Signal (every evaluation, in every state; the spec's §3.3):

1. **Large trade** — the newest print of the last ``window_ms`` with size ≥ ``large_trade``:
   its side is the signal (text ``"Large Trade " + JSON``); an Unknown-side print falls
   through to step 2. Returns before the extremes are updated.
2. **DOM** — ``dom_net = 100·A/(A+B) − 100·B/(A+B)`` over every level of the pooled books
   (A = offers, B = bids; ``dom_sign = "bids_minus_offers"`` flips it); 0 without books, NaN
   (never a signal) when both sides are empty.
3. **Pressure** — ``ts_net`` = buy − sell aggressor volume of the last ``window_ms``
   (Unknown-side prints count 0 and are logged).
4. **Thresholds** — ``thr = max(ts_pressure_threshold, |E|)`` where E is the session's
   largest |ts_net| so far (the *ratchet*; ``pressure_ratchet = false`` uses the floor only);
   Buy if ``ts_net > thr`` and ``dom_net > dom_threshold``, Sell if ``ts_net < −thr`` and
   ``dom_net < −dom_threshold``.
5. E and the DOM extreme are updated after the comparison.

State machine (§3.4): Unaware → (snapshot; adopt an open position in the traded contract at
its real side and price) → AwaitingTrades → (signal: market order ``order_qty``) →
SentEntryOrders → (entry order filled) → InATrade → (opposite signal, or unrealized loss
below −``trade_close_trigger`` priced from the live quote: market order closing the whole
position) → SentExitOrders → (exit filled: realized = net·bpv·(exit − entry) − 2·commission·|net|)
→ AwaitingTrades, re-entering if a signal is still there — at once in the original; here
after ``entry_pause_ms`` (1 s) since the previous order, so that the strategy stays within the
default order rate and its exits are never refused for it (0 restores the original).

Port decisions (see docs/strategies.md): inputs pooled over every subscribed instrument
(``pool_instruments``; off: the traded contract only); fills matched by order id from the
account store; a refused, rejected or never-placed order returns to the previous state
instead of getting stuck; a position flattened from outside (risk halt, another app) ends
the trade. Evaluated on every market-data and account event and when a print leaves the
window (``ctx.wake_at``), with the context's clock, so replays are deterministic.
"""

from __future__ import annotations

import logging
import math
from collections import deque
from enum import StrEnum
from typing import Annotated, Literal

import msgspec

from tradovate_api.strategy import (
    BarUpdated,
    ConfigError,
    DomBook,
    NewFill,
    OrderState,
    OrderTicket,
    QuoteState,
    RefusalLog,
    Side,
    Strategy,
    StrategyParams,
    TicketState,
    TradesAdded,
    TradovateError,
    WindowStats,
    strategy_params,
)

_log = logging.getLogger("tradovate_api.strategies.reference")

_PositiveInt = Annotated[int, msgspec.Meta(ge=1)]
_NonNegative = Annotated[float, msgspec.Meta(ge=0)]
_NonNegativeInt = Annotated[int, msgspec.Meta(ge=0)]
MAX_DECISIONS = 10_000
"""Decisions kept (the newest; a run of identical refusals is one decision)."""
MAX_TRADES = 1_000
"""Trades kept in :attr:`ReferenceStrategy.positions` (the newest; the session's P&L counts
every trade)."""
_REFUSED = ("entry_refused", "exit_refused")
_encode = msgspec.json.Encoder().encode


class ReferenceParams(StrategyParams, frozen=True):
    """Settings ``[strategy]`` of the reference strategy; defaults are the original values."""

    large_trade: _NonNegative = 400.0
    """Single-print size that is a signal on its own (contracts)."""
    ts_pressure_threshold: _NonNegative = 150.0
    """Floor of the net aggressor-volume threshold (contracts per window)."""
    dom_threshold: _NonNegative = 35.0
    """DOM imbalance threshold (percentage points)."""
    window_ms: _PositiveInt = 1000
    """Window of pressure and large trades; at most the market store's window."""
    trade_close_trigger: _NonNegative = 500.0
    """Exit when unrealized P&L (money, no commission) falls below minus this."""
    commission_per_side: _NonNegative = 2.05
    """Money per contract per side, deducted from realized P&L at close."""
    order_qty: _PositiveInt = 1
    symbol: str | None = None
    """Contract to trade; default the run's trading symbol. Must be a subscribed one."""
    pool_instruments: bool = True
    """Pool the DOM sums, pressure and large-trade scan over every subscribed instrument (the
    original ES+NQ pooling); false: the traded contract only."""
    dom_sign: Literal["offers_minus_bids", "bids_minus_offers"] = "offers_minus_bids"
    """The original computes %offers − %bids; the other sign is the textbook imbalance."""
    pressure_ratchet: bool = True
    """A pressure signal needs a new session record of |net volume| (the original)."""
    entry_pause_ms: _NonNegativeInt = 1000
    """An entry waits this long after the strategy's previous order (exits never wait). The
    original re-enters at once, so an exit and a re-entry (and a quick exit after it) go out
    within a second: three orders, over the default ``risk.max_orders_per_second`` of 2, and
    the third — an exit — would be refused. With the pause an entry and its exit always fit
    the default rate. 0: the original's immediate re-entry."""


class State(StrEnum):
    UNAWARE = "Unaware"
    AWAITING_TRADES = "AwaitingTrades"
    SENT_ENTRY_ORDERS = "SentEntryOrders"
    IN_A_TRADE = "InATrade"
    SENT_EXIT_ORDERS = "SentExitOrders"


class Signal(msgspec.Struct, frozen=True, gc=False):
    """One evaluation's signal. ``text`` is set for a large trade; a pressure signal is
    put into words by :meth:`describe` only when an order is placed on it: wording costs two
    JSON encodes, and most signals are not acted on (a trade is open on their side, an entry
    waits its pause) — in the research bench's replay a quarter of the evaluations have a
    signal and fewer than one in a thousand of those places an order."""

    side: Side
    text: str = ""
    ts_net: float = 0.0
    dom_net: float = 0.0
    threshold: float = 0.0
    """The pressure threshold the signal passed."""
    at_ms: int = 0

    def describe(self, params: ReferenceParams) -> str:
        """The signal's text: the large trade, or the pressure and DOM figures that made it
        (empty for Unknown)."""
        if self.text or self.side is Side.UNKNOWN:
            return self.text
        return (_encode({"net": self.ts_net, "threshold": self.threshold,
                         "windowMs": params.window_ms, "at": self.at_ms}).decode() + "\n"
                + _encode({"net": self.dom_net, "threshold": params.dom_threshold}).decode())


class MarketPosition(msgspec.Struct, kw_only=True):
    """One trade of the strategy, from entry to exit (the original's MarketPosition)."""

    contract_id: int
    net_pos: int = 0
    entry_price: float | None = None
    exit_price: float | None = None
    entry_trigger: str = ""
    exit_trigger: str = ""
    realized: float = 0.0
    closed: bool = False
    adopted: bool = False
    opened_ms: int = 0
    closed_ms: int | None = None

    def unrealized(self, bid: float | None, ask: float | None, value_per_point: float
                   ) -> float | None:
        """Open P&L at the quote (long at the bid, short at the ask), no commission."""
        if self.entry_price is None or self.net_pos == 0:
            return 0.0 if self.net_pos == 0 else None
        if self.net_pos > 0:
            return None if bid is None else self.net_pos * value_per_point * (
                bid - self.entry_price)
        return None if ask is None else -self.net_pos * value_per_point * (
            self.entry_price - ask)


class Decision(msgspec.Struct, frozen=True, gc=False):
    """What the strategy decided at ``at_ms`` (for tests, reports and the summary).

    ``kind``: ``adopt``, ``flat_at_start``, ``entry``, ``entry_refused``, ``entry_failed``,
    ``filled``, ``exit``, ``stop``, ``exit_refused``, ``exit_failed``, ``closed``,
    ``closed_outside``. A refused order is asked for again on every event while the refusal
    lasts (a risk limit, a blocked contract, a halt): ``count`` such refusals in a row, the
    last at ``last_ms`` (its reason in ``text``), are one decision."""

    at_ms: int
    kind: str
    state: State
    action: str = ""
    qty: int = 0
    price: float | None = None
    text: str = ""
    count: int = 1
    last_ms: int | None = None


class ReferenceStrategy(Strategy):
    """The original program's strategy (see the module doc)."""

    Params = ReferenceParams

    def __init__(self) -> None:
        self.params = ReferenceParams()
        self.state = State.UNAWARE
        self.positions: deque[MarketPosition] = deque(maxlen=MAX_TRADES)
        """The newest trades, the open one last."""
        self._earlier_realized = 0.0
        """Realized P&L of the trades no longer in :attr:`positions`."""
        self.decisions: deque[Decision] = deque(maxlen=MAX_DECISIONS)
        self._refusals: RefusalLog | None = None
        """Refused decisions are logged one line per kind per interval, with a count: during
        a refusal storm (an order asked for on every quote) the strategy must not flood the
        log by itself."""
        self.ts_extreme = 0.0
        """E: the session's largest |net volume| (signed), the ratchet."""
        self.dom_extreme = 0.0
        self.unknown_prints = 0
        self._symbol = ""
        self._contract_id = 0
        self._bpv = 0.0
        self._scope: int | None = None
        """Contract of the windows and books (``None``: pooled over all)."""
        self._store_window_ms = 0
        self._entry: OrderTicket | None = None
        self._exit: OrderTicket | None = None
        self._wake_ms: int | None = None
        self._last_order_ms: int | None = None
        """When the strategy's newest order (not refused) was placed."""
        self._pause_wake_ms: int | None = None

    # ------------------------------------------------------------------ start

    def on_start(self) -> None:
        ctx = self.ctx
        self.params = strategy_params(self, ctx.params)  # checked: config check, dispatcher
        self._refusals = RefusalLog(ctx.log, ctx.now_ms, level=logging.INFO)
        symbol = self.params.symbol or ctx.trading_symbol
        if symbol is None or symbol not in ctx.instruments:
            raise ConfigError(f"strategy.symbol: {symbol!r} is not one of the subscribed "
                              f"instruments ({', '.join(ctx.instruments) or 'none'})")
        spec = ctx.spec(symbol)
        self._symbol, self._contract_id = symbol, spec.contract_id
        self._bpv = spec.value_per_point
        self._scope = None if self.params.pool_instruments else spec.contract_id
        now = ctx.now_ms()
        stats = ctx.market.window(None, now)
        self._store_window_ms = stats.now_ms - stats.start_ms
        if self.params.window_ms > self._store_window_ms:
            raise ConfigError(f"strategy.window_ms: {self.params.window_ms} exceeds the market "
                              f"store's window of {self._store_window_ms} ms")
        ctx.log.info("reference strategy on %s (bpv %g), inputs %s", symbol, self._bpv,
                     "pooled: " + ", ".join(ctx.instruments) if self._scope is None
                     else symbol)
        self.evaluate(now)

    # ------------------------------------------------------------------ events

    def on_quote(self, quote: QuoteState) -> None:
        self.evaluate(self.ctx.now_ms())

    def on_dom(self, book: DomBook) -> None:
        self.evaluate(self.ctx.now_ms())

    def on_trade(self, trades: TradesAdded) -> None:
        for trade in trades.trades:
            if trade.side is Side.UNKNOWN:
                self.unknown_prints += 1
                if self.unknown_prints <= 10 or self.unknown_prints % 1000 == 0:
                    self.ctx.log.info("print %d of contract %d has no aggressor side; it "
                                      "counts 0 (%d so far)", trade.id, trade.contract_id,
                                      self.unknown_prints)
        self.evaluate(self.ctx.now_ms())

    def on_bar(self, bar: BarUpdated) -> None:
        self.evaluate(self.ctx.now_ms())

    def on_order(self, order: OrderState) -> None:
        self.evaluate(self.ctx.now_ms())

    def on_fill(self, fill: NewFill) -> None:
        self.evaluate(self.ctx.now_ms())

    def on_ticket(self, ticket: OrderTicket) -> None:
        self.evaluate(self.ctx.now_ms())

    def on_timer(self, now_ms: int) -> None:
        if self._wake_ms == now_ms:
            self._wake_ms = None
        self.evaluate(now_ms)

    # ------------------------------------------------------------------ evaluation

    def evaluate(self, now: int) -> None:
        """One evaluation at ``now``: the signal (always), then the current state's rule."""
        stats = self.ctx.market.window(self._scope, now, self.params.window_ms)
        signal = self.signal(now, stats)
        self._schedule_window_exit(now, stats.oldest_ms)
        state = self.state
        if state is State.AWAITING_TRADES:
            self._awaiting(now, signal)
        elif state is State.IN_A_TRADE:
            self._in_trade(now, signal)
        elif state is State.SENT_ENTRY_ORDERS:
            self._sent_entry(now)
        elif state is State.SENT_EXIT_ORDERS:
            self._sent_exit(now)
        else:
            self._unaware(now)

    def signal(self, now: int, stats: WindowStats | None = None) -> Signal:
        """The spec's ``generate_signal`` at ``now``; updates the extremes (see module doc).
        ``stats``: the window of ``window_ms`` at ``now``, if the caller has read it."""
        params = self.params
        market = self.ctx.market
        scope = self._scope
        width = params.window_ms
        if stats is None:
            stats = market.window(scope, now, width)
        largest = stats.largest
        if largest is not None and largest.size >= params.large_trade:
            large = market.newest_window_trade(scope, min_size=params.large_trade, now_ms=now,
                                               width_ms=width)
            if large is not None and large.side is not Side.UNKNOWN:
                return Signal(large.side, "Large Trade " + _encode(large).decode())
        ts_net = stats.buy_volume - stats.sell_volume
        dom_net = self._dom_net()
        extreme = abs(self.ts_extreme)
        threshold = max(params.ts_pressure_threshold, extreme) if params.pressure_ratchet \
            else params.ts_pressure_threshold
        side = Side.UNKNOWN
        if ts_net > threshold and dom_net > params.dom_threshold:
            side = Side.BUY
        elif ts_net < -threshold and dom_net < -params.dom_threshold:
            side = Side.SELL
        if abs(ts_net) > extreme:
            self.ts_extreme = ts_net
        if abs(dom_net) > abs(self.dom_extreme):
            self.dom_extreme = dom_net
        return Signal(side, "", ts_net, dom_net, threshold, now)

    def _dom_net(self) -> float:
        market = self.ctx.market
        scope = self._scope
        if scope is None:
            if not market.doms:
                return 0.0
            bids, offers = market.dom_totals()
        else:
            if market.dom(scope) is None:
                return 0.0
            bids, offers = market.dom_totals((scope,))
        total = bids + offers
        if total == 0:
            return math.nan
        net = 100.0 * offers / total - 100.0 * bids / total
        return net if self.params.dom_sign == "offers_minus_bids" else -net

    def _schedule_window_exit(self, now: int, oldest: int | None) -> None:
        """Wake when the oldest print still in the window (stamped ``oldest``) leaves it (the
        spec's third kind of evaluation instant): a print stamped ``t`` counts until
        ``t + window_ms``."""
        if oldest is None:
            return
        wake = oldest + self.params.window_ms + 1
        if wake != self._wake_ms and wake > now:
            self._wake_ms = wake
            self.ctx.wake_at(wake)

    # ------------------------------------------------------------------ states

    def _unaware(self, now: int) -> None:
        ctx = self.ctx
        if not ctx.account.synced:
            return
        position = ctx.account.position(ctx.account_id, self._contract_id)
        others = [p for p in ctx.account.positions.values()
                  if p.account_id == ctx.account_id and p.net_pos != 0
                  and p.contract_id != self._contract_id]
        for other in others:
            ctx.log.warning("open position %+d in contract %d is not the traded contract; it "
                            "is left alone", other.net_pos, other.contract_id)
        if position is None or position.net_pos == 0:
            ctx.log.info("Account is flat")
            self._decide(now, "flat_at_start", State.AWAITING_TRADES)
            return
        price = position.net_price
        if price is None:
            try:
                price = ctx.account.pnl(ctx.account_id, self._contract_id).avg_price
            except TradovateError:
                price = None
        if price is None:
            ctx.alert("urgent", "reference.adopt_without_price",
                      f"Adopted {position.net_pos:+d} {self._symbol} without an entry price",
                      "The unrealized-loss stop cannot be computed for this position.")
        self._open_trade(MarketPosition(
            contract_id=self._contract_id, net_pos=position.net_pos, entry_price=price,
            entry_trigger="position open at start", adopted=True, opened_ms=now))
        self._decide(now, "adopt", State.IN_A_TRADE, "Buy" if position.net_pos > 0 else "Sell",
                     abs(position.net_pos), price)

    def _awaiting(self, now: int, signal: Signal) -> None:
        if signal.side is Side.UNKNOWN or self._pausing(now):
            return
        action = str(signal.side)
        qty = self.params.order_qty
        text = signal.describe(self.params)
        ticket = self.ctx.place(self._symbol, action, qty, trigger=text)
        if ticket.state is TicketState.REFUSED:
            self._refused(now, "entry_refused", State.AWAITING_TRADES, ticket)
            return
        self._entry = ticket
        self._last_order_ms = now
        self._open_trade(MarketPosition(contract_id=self._contract_id,
                                        entry_trigger=text, opened_ms=now))
        self._decide(now, "entry", State.SENT_ENTRY_ORDERS, action, qty, text=text)

    def _pausing(self, now: int) -> bool:
        """Whether an entry must still wait ``entry_pause_ms`` after the previous order; if
        so, an evaluation is scheduled for when it may go (the signal is read again then)."""
        last = self._last_order_ms
        if last is None:
            return False
        ready = last + self.params.entry_pause_ms
        if now >= ready:
            return False
        if self._pause_wake_ms != ready:
            self._pause_wake_ms = ready
            self.ctx.wake_at(ready)
        return True

    def _sent_entry(self, now: int) -> None:
        ticket = self._entry
        assert ticket is not None
        position = self.positions[-1]
        order = self._order_of(ticket)
        if order is None:
            if ticket.state in (TicketState.REJECTED, TicketState.NOT_PLACED):
                self.positions.pop()
                self._entry = None
                self._decide(now, "entry_failed", State.AWAITING_TRADES, ticket.action,
                             ticket.qty, text=ticket.reason)
            return
        if not _settled(order):
            return
        self._entry = None
        if order.filled_qty == 0:
            self.positions.pop()
            self._decide(now, "entry_failed", State.AWAITING_TRADES, ticket.action, ticket.qty,
                         text=f"entry order {order.status}: {ticket.reason}")
            return
        sign = 1 if order.order.action == "Buy" else -1
        position.net_pos = sign * order.filled_qty
        position.entry_price = order.avg_fill_price
        position.contract_id = order.order.contract_id or self._contract_id
        self._decide(now, "filled", State.IN_A_TRADE, order.order.action, order.filled_qty,
                     order.avg_fill_price)

    def _in_trade(self, now: int, signal: Signal) -> None:
        ctx = self.ctx
        position = self.positions[-1]
        if self._closed_outside(position):
            position.closed, position.closed_ms = True, now
            position.exit_trigger = "position closed outside the strategy"
            self._decide(now, "closed_outside", State.AWAITING_TRADES,
                         text=position.exit_trigger)
            return
        net = position.net_pos
        if (net < 0 and signal.side is Side.BUY) or (net > 0 and signal.side is Side.SELL):
            self._send_exit(now, position, str(signal.side), signal.describe(self.params),
                            "exit")
            return
        quote = ctx.market.quote(position.contract_id)
        if quote is None:
            return
        pnl = position.unrealized(quote.bid, quote.ask, self._bpv)
        if pnl is not None and pnl < -self.params.trade_close_trigger:
            self._send_exit(now, position, "Sell" if net > 0 else "Buy",
                            f"Unrealized Pnl = {pnl}", "stop")

    def _send_exit(self, now: int, position: MarketPosition, action: str, text: str,
                   kind: str) -> None:
        qty = abs(position.net_pos)
        ticket = self.ctx.place(self.ctx.symbol(position.contract_id), action, qty,
                                trigger=text)
        if ticket.state is TicketState.REFUSED:
            self._refused(now, "exit_refused", State.IN_A_TRADE, ticket)
            return
        self._exit = ticket
        self._last_order_ms = now
        position.exit_trigger = text
        self._decide(now, kind, State.SENT_EXIT_ORDERS, action, qty, text=text)

    def _sent_exit(self, now: int) -> None:
        ticket = self._exit
        assert ticket is not None
        position = self.positions[-1]
        order = self._order_of(ticket)
        if order is None:
            if ticket.state in (TicketState.REJECTED, TicketState.NOT_PLACED):
                self._exit = None
                position.exit_trigger = ""
                self._decide(now, "exit_failed", State.IN_A_TRADE, ticket.action, ticket.qty,
                             text=ticket.reason)
            return
        if not _settled(order):
            return
        self._exit = None
        filled = order.filled_qty
        if filled == 0 or order.avg_fill_price is None:
            position.exit_trigger = ""
            self._decide(now, "exit_failed", State.IN_A_TRADE, ticket.action, ticket.qty,
                         text=f"exit order {order.status}: {ticket.reason}")
            return
        sign = 1 if position.net_pos > 0 else -1
        closed = min(filled, abs(position.net_pos))
        entry = position.entry_price if position.entry_price is not None \
            else order.avg_fill_price
        position.realized += (sign * closed * self._bpv * (order.avg_fill_price - entry)
                              - 2 * self.params.commission_per_side * closed)
        position.net_pos -= sign * closed
        position.exit_price = order.avg_fill_price
        if position.net_pos != 0:
            self._decide(now, "exit_failed", State.IN_A_TRADE, ticket.action, filled,
                         order.avg_fill_price, "exit only partly filled")
            return
        position.closed, position.closed_ms = True, now
        self._decide(now, "closed", State.AWAITING_TRADES, ticket.action, filled,
                     order.avg_fill_price, f"realized {position.realized:.2f}")

    def _order_of(self, ticket: OrderTicket) -> OrderState | None:
        if ticket.order_id is None:
            return None
        return self.ctx.account.order(ticket.order_id)

    def _closed_outside(self, position: MarketPosition) -> bool:
        """The server position and the account's own fills both say flat: someone else
        (the risk halt, another application) closed it."""
        ctx = self.ctx
        server = ctx.account.position(ctx.account_id, position.contract_id)
        if server is not None and server.net_pos != 0:
            return False
        try:
            return ctx.account.pnl(ctx.account_id, position.contract_id).net_pos == 0
        except TradovateError:
            return False

    def _open_trade(self, position: MarketPosition) -> None:
        positions = self.positions
        if len(positions) == positions.maxlen:
            self._earlier_realized += positions[0].realized
        positions.append(position)

    def _decide(self, now: int, kind: str, state: State, action: str = "", qty: int = 0,
                price: float | None = None, text: str = "") -> None:
        self.state = state
        self.decisions.append(Decision(now, kind, state, action, qty, price, text))
        self.ctx.log.info("reference: %s", _describe(kind, action, qty, self._symbol, state,
                                                     text))

    def _refused(self, now: int, kind: str, state: State, ticket: OrderTicket) -> None:
        """A refused order: one decision for a run of identical refusals, and one log line
        per kind of refusal per interval (with the number left out)."""
        self.state = state
        decisions = self.decisions
        last = decisions[-1] if decisions else None
        action, qty, reason = ticket.action, ticket.qty, ticket.reason
        if last is not None and (last.kind, last.state, last.action, last.qty) == (
                kind, state, action, qty):
            decisions[-1] = msgspec.structs.replace(last, count=last.count + 1, last_ms=now,
                                                    text=reason)
        else:
            decisions.append(Decision(now, kind, state, action, qty, None, reason))
        message = "reference: " + _describe(kind, action, qty, self._symbol, state, reason)
        if self._refusals is None:  # (before on_start: cannot happen, kept safe)
            self.ctx.log.info("%s", message)
        else:
            self._refusals.note(f"{kind} ({ticket.refusal or 'refused'})", message)

    # ------------------------------------------------------------------ results

    @property
    def session_pnl(self) -> float:
        """Σ realized P&L of the strategy's trades (after commissions), all of them."""
        return self._earlier_realized + sum(p.realized for p in self.positions)

    def open_pnl(self) -> float | None:
        """Unrealized P&L of the open trade at the live quote (``None``: no quote)."""
        if not self.positions or self.positions[-1].closed:
            return 0.0
        position = self.positions[-1]
        quote = self.ctx.market.quote(position.contract_id)
        if quote is None:
            return None
        return position.unrealized(quote.bid, quote.ask, self._bpv)


def _describe(kind: str, action: str, qty: int, symbol: str, state: State, text: str) -> str:
    return (f"{kind} {action} {qty or ''} {symbol} → {state}"
            + (f" ({text.splitlines()[0][:120]})" if text else ""))


def _settled(order: OrderState) -> bool:
    """Done, and every fill of it is linked (the order turns Filled before its fill
    entity arrives)."""
    if not order.is_done:
        return False
    if order.status == "Filled":
        return order.remaining == 0
    return True
