"""The protective-stop invariant (settings ``risk.protective_stop``): every open position has
working stop orders on the closing side covering it.

Checked by the risk watch (periodically and after fills). A position left without enough stop
for longer than ``protective_stop_grace_seconds`` — the strategy had its chance to place its
own; or a liquidation from another application cancelled it — is repaired: ``place`` puts a
Stop ``protective_stop_points`` beyond the position's price (or flattens when that price is
already through the market), ``flatten`` closes the position. Either way an urgent
``risk.protective_stop`` alert says what happened. Nothing is done for a contract while one of
our requests in it is unanswered or unknown, so a repair is never sent twice.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from typing import TYPE_CHECKING

from ..alerts import Alert, AlertSink, Severity
from ..settings import Risk
from ..stores import AccountView, MarketDataView
from .contracts import ContractBook
from .tickets import OrderTicket, TicketState

if TYPE_CHECKING:
    from .manager import OrderManager

_log = logging.getLogger("tradovate_api.orders.protection")

STOP_TYPES = frozenset({"Stop", "StopLimit", "TrailingStop", "TrailingStopLimit"})


class ProtectiveStops:
    """Keeps the invariant for the order manager's account (see the module doc)."""

    def __init__(self, orders: OrderManager, account: AccountView, market: MarketDataView,
                 contracts: ContractBook, alerts: AlertSink, limits: Risk,
                 clock: Callable[[], int]) -> None:
        self._orders = orders
        self._account = account
        self._market = market
        self._contracts = contracts
        self._alerts = alerts
        self._limits = limits
        self._clock = clock
        self._missing_since: dict[int, int] = {}
        self.repairs = 0

    def check(self) -> None:
        """One pass over the account's open positions."""
        orders = self._orders
        if orders.halted is not None:
            return
        now = self._clock()
        grace = self._limits.protective_stop_grace_seconds * 1000
        account_id = orders.account_id
        busy = {t.contract_id for t in orders.pending() + orders.unknown()}
        seen: set[int] = set()
        for position in self._account.positions.values():
            net = position.net_pos
            if position.account_id != account_id or net == 0:
                continue
            contract_id = position.contract_id
            seen.add(contract_id)
            covered = self._covered(contract_id, "Sell" if net > 0 else "Buy")
            if covered >= abs(net):
                self._missing_since.pop(contract_id, None)
                continue
            since = self._missing_since.setdefault(contract_id, now)
            if now - since < grace or contract_id in busy:
                continue
            self._missing_since[contract_id] = now  # a new grace period for the repair
            self._repair(contract_id, net, abs(net) - covered, position.net_price)
        for contract_id in set(self._missing_since) - seen:
            del self._missing_since[contract_id]

    def _covered(self, contract_id: int, closing: str) -> int:
        covered = 0
        for state in self._account.open_orders(self._orders.account_id, contract_id):
            version = state.version
            if (state.order.action == closing and state.status == "Working"
                    and version is not None and version.order_type in STOP_TYPES):
                covered += state.remaining or 0
        return covered

    def _repair(self, contract_id: int, net: int, missing: int,
                price: float | None) -> None:
        self.repairs += 1
        spec = self._contracts.get(contract_id)
        name = spec.symbol if spec is not None else str(contract_id)
        if self._limits.protective_stop == "place":
            ticket = self._place_stop(contract_id, net, missing, price, "protective stop")
            if ticket is not None and ticket.state is not TicketState.REFUSED:
                self._alert(f"Position {net:+d} {name} had no protective stop: placed "
                            f"{ticket.action} {missing} stop at {ticket.stop_price:g}", "")
                return
            if ticket is not None:
                _log.error("protective stop refused (%s); flattening %s", ticket.reason, name)
        self._orders.flatten(contract_id, trigger="no protective stop")
        self._alert(f"Position {net:+d} {name} had no protective stop: flattened",
                    "" if self._limits.protective_stop == "flatten"
                    else "A stop could not be placed (no price, or the market is already "
                         "beyond it).")

    def protect(self, contract_id: int) -> OrderTicket | None:
        """Place the stop a position lacks now — no grace time, even while new orders are
        halted (the shutdown keeps positions protected this way). Never flattens. ``None``
        when the position is flat or covered, or no stop can be placed (no price or
        ``protective_stop_points``, or the market already beyond it)."""
        position = self._account.position(self._orders.account_id, contract_id)
        if position is None or position.net_pos == 0:
            return None
        net = position.net_pos
        missing = abs(net) - self._covered(contract_id, "Sell" if net > 0 else "Buy")
        if missing <= 0:
            return None
        return self._place_stop(contract_id, net, missing, position.net_price,
                                "protective stop at shutdown")

    def _place_stop(self, contract_id: int, net: int, missing: int, price: float | None,
                    trigger: str) -> OrderTicket | None:
        """A closing stop ``protective_stop_points`` beyond ``price``; ``None`` when there
        is no such price or the market is already beyond it (it would fill at once)."""
        spec = self._contracts.get(contract_id)
        points = self._limits.protective_stop_points
        if spec is None or price is None or points is None:
            return None
        raw = price - points if net > 0 else price + points
        ticks = raw / spec.tick_size
        stop = round((math.floor(ticks + 1e-9) if net > 0 else math.ceil(ticks - 1e-9))
                     * spec.tick_size, 10)
        quote = self._market.quote(contract_id)
        bid = quote.bid if quote is not None else None
        ask = quote.ask if quote is not None else None
        if stop <= 0 or (net > 0 and bid is not None and stop >= bid) or (
                net < 0 and ask is not None and stop <= ask):
            return None
        return self._orders.place(spec.symbol, "Sell" if net > 0 else "Buy", missing,
                                  order_type="Stop", stop_price=stop, trigger=trigger,
                                  protective=True)

    def _alert(self, title: str, body: str) -> None:
        _log.error("%s", title)
        self._alerts.emit(Alert(Severity.URGENT, "risk.protective_stop", title, body))
