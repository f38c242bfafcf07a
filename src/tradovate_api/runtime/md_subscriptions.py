"""The run's market-data subscriptions: made at start, watched while trading, dropped at exit.

A contract whose subscription the server refused after a reconnect is blind: the strategy
would trade it on prices that no longer move. So a refusal stops new entries in that contract
(exits still pass) and alerts; the subscription is tried again every
:data:`MD_RETRY_SECONDS` and on every reconnect, and entries are allowed again once it is
live. The session replays its subscriptions per connection; this module decides what is
subscribed and what a refusal means for trading.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable

from ..alerts import Alert, AlertSink, Severity
from ..client import MarketDataSession, RequestTimeout
from ..errors import ConnectionLost
from ..orders import ContractBook
from ..orders.risk import RiskManager
from ..protocol.models.subscriptions import ChartDescription, TimeRange
from .accounts import AccountRisks

_log = logging.getLogger("tradovate_api.runtime.md_subscriptions")

TICK_HISTORY = 500
"""Prints of history requested with each tick chart (time and sales across a reconnect)."""
MD_RETRY_SECONDS = 30.0
"""How often market-data subscriptions the server refused are tried again."""


class MdSubscriptions:
    """Quote, DOM and tick chart of every contract of ``contracts`` on ``md``; the session
    calls :meth:`refused` and :meth:`restored`."""

    def __init__(self, md: MarketDataSession, contracts: ContractBook,
                 risk: RiskManager | AccountRisks,
                 alerts: AlertSink) -> None:
        self._md = md
        self._contracts = contracts
        self._risk = risk
        self._alerts = alerts

    async def subscribe(self) -> None:
        """Subscribe every contract (once both sockets are ready)."""
        md = self._md
        description = ChartDescription(underlying_type="Tick", element_size=1,
                                       element_size_unit="UnderlyingUnits")
        history = TimeRange(as_much_as_elements=TICK_HISTORY)
        for symbol in self._contracts.symbols:
            await _subscribed(symbol, md.subscribe_quote(symbol))
            await _subscribed(symbol, md.subscribe_dom(symbol))
            await _subscribed(symbol, md.get_chart(symbol, description, history))
        _log.info("subscribed quote, DOM and tick chart of %s",
                  ", ".join(self._contracts.symbols))

    async def unsubscribe(self) -> None:
        """The shutdown's: drop every subscription (bounded wait for the answers)."""
        md = self._md
        if md.ready:
            await md.unsubscribe_all(response_timeout=2.0)
        _log.info("shutdown: market data unsubscribed")

    def refused(self, symbol: str | int, reason: str) -> None:
        """A re-subscription refused after a reconnect: the contract is blind — stop
        entries in it until the subscription is live again."""
        spec = self._contracts.get(symbol)
        name = spec.symbol if spec is not None else str(symbol)
        if spec is not None:
            self._risk.suspend_entries(
                spec.contract_id, f"market data of {name} refused by the server: {reason}",
                "market data")
        self._alerts.emit(Alert(Severity.URGENT, "md.subscription_refused",
                                f"Market data of {name} refused after a reconnect",
                                f"{reason}. New entries in {name} are stopped until the "
                                f"subscription is live again; it is tried again every "
                                f"{MD_RETRY_SECONDS:g}s and on every reconnect."))

    def restored(self, symbol: str | int, _reason: str) -> None:
        spec = self._contracts.get(symbol)
        name = spec.symbol if spec is not None else str(symbol)
        if spec is not None:
            self._risk.resume_entries(spec.contract_id, "market data")
        self._alerts.emit(Alert(Severity.ROUTINE, "md.subscription_restored",
                                f"Market data of {name} live again",
                                f"New entries in {name} are allowed again."))

    async def retry_refused(self) -> None:
        """The "md refusals" task: try the refused subscriptions again, for ever."""
        md = self._md
        while True:
            await asyncio.sleep(MD_RETRY_SECONDS)
            await md.retry_refused()


async def _subscribed(symbol: str, request: Awaitable[object]) -> None:
    try:
        await request
    except (ConnectionLost, RequestTimeout) as exc:
        # Registered before it was sent: the next connection sends it again.
        _log.warning("md subscription for %s interrupted (%s); it is sent again on "
                     "reconnect", symbol, exc)
