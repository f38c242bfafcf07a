"""What a strategy sees and does: the runtime's implementation of the strategy API.

The context is the strategy's whole world (:class:`~.api.StrategyAPI`): ``market`` and
``account`` are read-only views of the stores (always current: the dispatcher calls the
strategy after the store applied the event), ``orders`` a read-only view of its tickets and
working orders, ``params`` the settings file's ``[strategy]`` table — an instance of the
strategy's declared ``Params`` (see :mod:`.params`), else a read-only mapping —, ``now_ms()``
the clock (the replay's simulated clock in a replay), and the order intents go to the order
manager, which checks risk on each. Order methods never raise for a refusal: the returned
ticket's ``state`` is ``REFUSED`` and its ``reason`` says why.

The context keeps the order manager's intent methods (bound, private) and never the manager
itself: nothing it exposes lets a strategy reach the manager's records or send around the risk
checks. Calling the bound method directly also saves an attribute look-up per order.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from ..alerts import Alert, AlertSink, Severity
from ..orders.contracts import ContractBook, ContractSpec
from ..orders.order_strategy import StrategyBracket
from ..orders.tickets import OrderTicket
from ..stores import AccountView, MarketDataView, wall_clock_ms
from .orders_view import OrdersView

if TYPE_CHECKING:
    from ..orders.manager import OrderManager

WakeScheduler = Callable[[int], None]


class StrategyContext:
    """``strategy.ctx`` (implements :class:`~.api.StrategyAPI`). ``trading_symbol`` is the
    configured contract to trade (settings ``trading.symbol``; default: the first contract of
    the book); ``source`` (the strategy's name) goes on every ticket it creates. Built by the
    runtime (live, replay) from the stores' views and the order manager."""

    __slots__ = ("_alerts", "_bracket", "_bracket_strategy", "_cancel", "_cancel_all",
                 "_clock", "_contracts", "_flatten", "_interrupt_strategy", "_modify",
                 "_oco", "_place", "_source", "_wake", "account", "account_id", "log", "market",
                 "orders", "params", "trading_symbol")

    def __init__(self, *, market: MarketDataView, account: AccountView, orders: OrderManager,
                 contracts: ContractBook, alerts: AlertSink, account_id: int,
                 params: Mapping[str, Any] | object | None = None,
                 clock: Callable[[], int] = wall_clock_ms,
                 log: logging.Logger | None = None,
                 trading_symbol: str | None = None, source: str = "") -> None:
        self.market = market
        self.account = account
        self.orders = OrdersView(orders.tickets, account, account_id, contracts)
        """The strategy's tickets and the account's working orders, read-only."""
        self._place = orders.place
        self._bracket = orders.bracket
        self._oco = orders.oco
        self._bracket_strategy = orders.bracket_strategy
        self._interrupt_strategy = orders.interrupt_strategy
        self._modify = orders.modify
        self._cancel = orders.cancel
        self._cancel_all = orders.cancel_all
        self._flatten = orders.flatten
        self._contracts = contracts
        self._source = source
        self.account_id = account_id
        self.params: Any = (MappingProxyType(dict(params or {}))
                            if params is None or isinstance(params, Mapping) else params)
        """The strategy's parameters: its ``Params`` instance when it declares them (the
        dispatcher converts the table), else the ``[strategy]`` table, read-only."""
        self.log = log or logging.getLogger("tradovate_api.strategy")
        self._alerts = alerts
        self._clock = clock
        if trading_symbol is None and len(contracts):
            trading_symbol = contracts.symbols[0]
        if trading_symbol is not None and trading_symbol not in contracts:
            raise ValueError(f"trading symbol {trading_symbol!r} is not in the contract book")
        self.trading_symbol = trading_symbol
        self._wake: WakeScheduler | None = None

    def bind_timer(self, wake: WakeScheduler) -> None:
        """The dispatcher's timer (set by the dispatcher; strategies use :meth:`wake_at`)."""
        self._wake = wake

    # ------------------------------------------------------------------ reading

    def now_ms(self) -> int:
        """Epoch milliseconds from the run's clock (simulated in replays)."""
        return self._clock()

    @property
    def instruments(self) -> tuple[str, ...]:
        """Symbols of every contract of the run (the subscribed instruments)."""
        return self._contracts.symbols

    def contract_id(self, symbol: str) -> int:
        """Raises :class:`~tradovate_api.orders.UnknownContract` for a symbol not traded."""
        return self._contracts.contract_id(symbol)

    def symbol(self, contract_id: int) -> str:
        return self._contracts.symbol(contract_id)

    def spec(self, symbol_or_id: str | int) -> ContractSpec:
        """Contract and product facts (value per point, tick size)."""
        return self._contracts.spec(symbol_or_id)

    def round_price(self, symbol: str, price: float) -> float:
        """``price`` on the contract's tick grid: order prices off the grid are refused."""
        return self._contracts.spec(symbol).round_price(price)

    def position(self, symbol: str) -> int:
        """The server's net position of the traded account in a contract (0 if none)."""
        position = self.account.position(self.account_id, self._contracts.contract_id(symbol))
        return 0 if position is None else position.net_pos

    # ------------------------------------------------------------------ orders

    def place(self, symbol: str, action: str, qty: int, *, order_type: str = "Market",
              price: float | None = None, stop_price: float | None = None,
              trigger: str = "") -> OrderTicket:
        """``action`` (``"Buy"``/``"Sell"``) ``qty``: Market, Limit (``price``), Stop
        (``stop_price``) or StopLimit (both). ``trigger`` says why (journal and reports)."""
        return self._place(symbol, action, qty, order_type=order_type, price=price,
                           stop_price=stop_price, trigger=trigger, source=self._source)

    def buy(self, symbol: str, qty: int, *, order_type: str = "Market",
            price: float | None = None, stop_price: float | None = None,
            trigger: str = "") -> OrderTicket:
        """Buy ``qty`` (see :meth:`place`)."""
        return self._place(symbol, "Buy", qty, order_type=order_type, price=price,
                           stop_price=stop_price, trigger=trigger, source=self._source)

    def sell(self, symbol: str, qty: int, *, order_type: str = "Market",
             price: float | None = None, stop_price: float | None = None,
             trigger: str = "") -> OrderTicket:
        """Sell ``qty`` (see :meth:`buy`)."""
        return self._place(symbol, "Sell", qty, order_type=order_type, price=price,
                           stop_price=stop_price, trigger=trigger, source=self._source)

    def bracket(self, symbol: str, action: str, qty: int, *, entry_type: str = "Market",
                price: float | None = None, take_profit: float | None = None,
                stop_loss: float | None = None, trigger: str = "") -> OrderTicket:
        """An entry (Market, or Limit at ``price``) whose fill sends a take-profit Limit and/or
        a stop-loss Stop at the given prices, one cancelling the other (``order/placeoso``)."""
        return self._bracket(symbol, action, qty, entry_type=entry_type, price=price,
                             take_profit=take_profit, stop_loss=stop_loss, trigger=trigger,
                             source=self._source)

    def oco(self, symbol: str, action: str, qty: int, *, take_profit: float,
            stop_loss: float, trigger: str = "") -> OrderTicket:
        """Exits for an open position (``order/placeoco``): a Limit at ``take_profit`` and a
        Stop at ``stop_loss``, both ``action`` (the closing side); a fill of one cancels the
        other."""
        return self._oco(symbol, action, qty, take_profit=take_profit, stop_loss=stop_loss,
                         trigger=trigger, source=self._source)

    def bracket_strategy(self, symbol: str, action: str, qty: int, *,
                         entry_type: str = "Market", price: float | None = None,
                         target_offset: float | None = None,
                         stop_offset: float | None = None, trailing_stop: bool = False,
                         brackets: Sequence[StrategyBracket] | None = None,
                         trigger: str = "") -> OrderTicket:
        """An entry (Market, or Limit at ``price``) as a Tradovate order strategy
        (``orderStrategy/startorderstrategy``): each fill gets a take-profit Limit
        ``target_offset`` points and a Stop ``stop_offset`` points from its fill price, an
        OCO pair sized to that fill. Offsets are signed: a Buy takes a positive target and a
        negative stop, a Sell the opposite. ``brackets`` splits the entry into several
        brackets. Stop it with :meth:`interrupt_strategy`."""
        return self._bracket_strategy(
            symbol, action, qty, entry_type=entry_type, price=price,
            target_offset=target_offset, stop_offset=stop_offset, trailing_stop=trailing_stop,
            brackets=brackets, trigger=trigger, source=self._source)

    def interrupt_strategy(self, ticket_or_strategy_id: OrderTicket | int) -> OrderTicket:
        """Stop an order strategy: its remaining orders (an unfilled entry, the targets and
        stops) are cancelled; a position it opened stays."""
        return self._interrupt_strategy(ticket_or_strategy_id, source=self._source)

    def modify(self, ticket_or_order_id: OrderTicket | int, *, qty: int | None = None,
               price: float | None = None, stop_price: float | None = None) -> OrderTicket:
        """Change a working order's quantity and/or prices."""
        return self._modify(ticket_or_order_id, qty=qty, price=price, stop_price=stop_price,
                            source=self._source)

    def cancel(self, ticket_or_order_id: OrderTicket | int) -> OrderTicket:
        return self._cancel(ticket_or_order_id, source=self._source)

    def cancel_all(self, symbol: str | None = None) -> list[OrderTicket]:
        """Cancel every working order (of one contract if ``symbol``)."""
        return self._cancel_all(symbol, source=self._source)

    def flatten(self, symbol: str | None = None, trigger: str = "") -> list[OrderTicket]:
        """Close every position (or the one in ``symbol``) and cancel its orders."""
        return self._flatten(symbol, trigger=trigger, source=self._source)

    # ------------------------------------------------------------------ time and alerts

    def wake_at(self, ms: int) -> None:
        """Call ``on_timer`` at epoch millisecond ``ms`` (at once if it has passed)."""
        if self._wake is None:
            raise RuntimeError("wake_at needs a dispatcher (the context is not running)")
        self._wake(ms)

    def alert(self, severity: Severity | str, key: str, title: str, body: str = "") -> None:
        """Tell the trader (``urgent``: SMS and e-mail; ``routine``: e-mail). ``key`` names
        the kind of event, for routing and de-duplication (prefixed ``strategy.``)."""
        full_key = key if key.startswith("strategy.") else f"strategy.{key}"
        self._alerts.emit(Alert(Severity(severity), full_key, title, body))
