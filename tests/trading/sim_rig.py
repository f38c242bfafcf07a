"""The trading layer over real sessions against the in-process simulator.

:class:`SimRig` wires what the runtime app wires (smaller): login, contract book over REST,
stores, a ``TradingSession`` and a ``MarketDataSession`` under a supervisor that reconnects
them, the order manager on a ``LiveGateway``, the outcome resolver reading the server's
``command/list`` over REST, risk (its time-based watches every 0.25 s, as the app runs them),
context and dispatcher. The readers apply events to the
stores and hand the changes to the dispatcher, exactly as the app's hot path.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable
from datetime import UTC, datetime
from types import TracebackType
from typing import Any

from tradovate_api.alerts import AlertLog
from tradovate_api.auth import AuthManager
from tradovate_api.client import (
    AuthTokens,
    ConnectionOptions,
    MarketDataSession,
    RestClient,
    SyncSnapshot,
    TradingSession,
)
from tradovate_api.orders import (
    ContractBook,
    LiveGateway,
    OrderGateway,
    OrderManager,
    OrderTicket,
    OutcomeResolver,
    RestServerCommands,
    TicketState,
)
from tradovate_api.orders.risk import RiskManager
from tradovate_api.protocol import ChartEvent, EntityEvent, MarketDataEvent, Message
from tradovate_api.protocol.models import Account, Command
from tradovate_api.protocol.models.subscriptions import ChartDescription, TimeRange
from tradovate_api.runtime import BackoffPolicy, BreakerPolicy, Policy, Supervisor
from tradovate_api.runtime.supervisor import SupervisorOptions
from tradovate_api.secrets import Secret, TradovateCredentials
from tradovate_api.settings import Risk
from tradovate_api.simulator import Simulator, SimulatorConfig
from tradovate_api.stores import create_account_store, create_market_store
from tradovate_api.strategy import Strategy
from tradovate_api.strategy.context import StrategyContext
from tradovate_api.strategy.dispatch import Dispatcher

FAST_SIM = SimulatorConfig(warm_up=30.0, tick_interval=0.02, heartbeat_interval=0.2,
                           idle_timeout=30.0)
OPTIONS = ConnectionOptions(heartbeat_interval=0.1, silence_timeout=2.0, open_timeout=2.0,
                            authorize_timeout=2.0, request_timeout=3.0, close_timeout=1.0)
SUPERVISION = SupervisorOptions(backoff=BackoffPolicy(initial=0.02, maximum=0.2, jitter=0.1),
                                breaker=BreakerPolicy(),
                                shutdown_timeout=3.0, cancel_timeout=1.0)
"""The shipped circuit breaker; only the pacing (back-off, shutdown budget) is shorter, so a
test runs in seconds."""
TICKS = ChartDescription(underlying_type="Tick", element_size=1,
                         element_size_unit="UnderlyingUnits")
LIMIT = 10.0
"""Seconds any wait in these tests may take."""
GRACE = 1.5
"""The rig's ``risk.unknown_order_grace_seconds`` unless a test gives its own limits: shorter
than the shipped 10 s so a lost-answer test takes seconds; the late executions these tests
inject all happen inside it (a test at the shipped grace says so)."""


class SimRig:
    """``async with SimRig(sim, strategy) as rig:`` — everything connected and synced, the
    strategy started."""

    def __init__(self, sim: Simulator, strategy: Strategy | None = None, *,
                 risk: Risk | None = None, symbols: tuple[str, ...] = ("ESZ6",),
                 gateway_timeout: float | None = None, drop_on_timeout: bool = True,
                 pause_on_error: bool = True, params: dict[str, Any] | None = None,
                 subscribe: bool = True, charts: bool = False,
                 gateway: Callable[[LiveGateway], OrderGateway] | None = None) -> None:
        """``gateway`` wraps the live gateway (a test's fault between the order manager and
        the socket)."""
        self.sim = sim
        self.strategy = strategy or Strategy()
        self.limits = risk or Risk(max_position=5, max_order_qty=5,
                                   max_orders_per_second=100.0, max_daily_loss=100_000.0,
                                   unknown_order_grace_seconds=GRACE)
        self.wrap_gateway = gateway
        self.symbols = symbols
        self.gateway_timeout = gateway_timeout
        self.drop_on_timeout = drop_on_timeout
        self.pause_on_error = pause_on_error
        self.params = params
        self.subscribe = subscribe
        self.charts = charts
        self.alerts = AlertLog()
        self.ticket_log: list[tuple[str, TicketState]] = []
        """(clOrdId, state) of every ticket notification, in order."""
        self.md_events = 0
        self._changed = asyncio.Event()
        self._run: asyncio.Task[int] | None = None

    # ------------------------------------------------------------------ wiring

    async def __aenter__(self) -> SimRig:
        sim = self.sim
        self.auth = AuthManager(sim.rest_url, TradovateCredentials(name="sim",
                                                                   password=Secret("sim")),
                                alerts=self.alerts,
                                clock=lambda: datetime.fromtimestamp(sim.clock(), UTC))
        token = await self.auth.token()
        assert token.user_id is not None
        self.rest = RestClient(sim.rest_url, AuthTokens(self.auth, market_data=False))
        self.contracts = await ContractBook.resolve(self.rest, self.symbols)
        accounts: list[Account] = await self.rest.request("account/list",
                                                          result_type=list[Account])
        self.account_id, self.account_name = accounts[0].id, accounts[0].name
        self.market, self.market_writer = create_market_store(clock_ms=self._clock)
        self.account, self.account_writer = create_account_store(
            commission_per_side={i.product.name: i.commission_per_side for i in sim.catalog})
        self.account_writer.add_reference(self.contracts.reference_entities())
        md_tokens = AuthTokens(self.auth, market_data=True)
        trading_tokens = AuthTokens(self.auth, market_data=False)
        self.md = MarketDataSession(sim.md_url, md_tokens, self._on_md, options=OPTIONS)
        self.trading = TradingSession(sim.ws_url, trading_tokens, self._on_account,
                                      user_id=token.user_id, options=OPTIONS)
        self.gateway = LiveGateway(self.trading, timeout=self.gateway_timeout,
                                   drop_on_timeout=self.drop_on_timeout)
        self.risk = RiskManager(self.limits, self.account, self.market, self.alerts,
                                self._clock)
        sending = self.wrap_gateway(self.gateway) if self.wrap_gateway else self.gateway
        self.orders = OrderManager(sending, self.account, self.risk, self.contracts,
                                   self.alerts, account_id=self.account_id,
                                   account_spec=self.account_name, clock=self._clock)
        self.orders.add_listener(self._on_ticket)
        self.resolver = OutcomeResolver(self.orders, RestServerCommands(self.rest), self.alerts,
                                        grace=self.limits.unknown_order_grace_seconds,
                                        alert_after=self.limits.unknown_order_alert_seconds)
        self.ctx = StrategyContext(market=self.market, account=self.account,
                                   orders=self.orders, contracts=self.contracts,
                                   alerts=self.alerts, account_id=self.account_id,
                                   params=self.params, clock=self._clock)
        self.dispatcher = Dispatcher(self.strategy, self.ctx, orders=self.orders,
                                     alerts=self.alerts, risk=self.risk,
                                     pause_on_error=self.pause_on_error)
        self.supervisor = Supervisor(self.alerts, SUPERVISION, rng=random.Random(3))
        self.supervisor.add_task("md read", self.md.run, Policy.RECONNECT)
        self.supervisor.add_task("account read", self._account_read, Policy.RECONNECT)
        self.supervisor.add_task("order outcomes", self.resolver.run)
        self.supervisor.add_task("risk watches", lambda: self.risk.run(0.25))
        self.supervisor.add_shutdown_hook("close md", self.md.close)
        self.supervisor.add_shutdown_hook("close trading", self.trading.close)
        self._run = asyncio.create_task(self.supervisor.run(handle_signals=False))
        async with asyncio.timeout(LIMIT):
            await self.trading.wait_ready()
            await self.md.wait_ready()
        if self.subscribe:
            for symbol in self.symbols:
                await self.md.subscribe_quote(symbol)
                await self.md.subscribe_dom(symbol)
                if self.charts:
                    await self.md.get_chart(symbol, TICKS, TimeRange(as_much_as_elements=10))
            await self.until(lambda: all(self.market.quote(c) is not None
                                         and self.market.dom(c) is not None
                                         for c in self.contracts.contract_ids))
        self.dispatcher.start()
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, tb: TracebackType | None) -> None:
        self.dispatcher.stop()
        self.supervisor.request_shutdown("test over")
        if self._run is not None:
            await asyncio.wait_for(self._run, LIMIT)
        await self.rest.close()
        await self.auth.close()

    def _clock(self) -> int:
        """The simulator's clock in epoch ms: the client side runs on the same time."""
        return int(self.sim.clock() * 1000)

    async def _account_read(self) -> None:
        try:
            await self.trading.run()
        finally:
            self.orders.on_disconnect()

    def _notify(self) -> None:
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()

    def _on_md(self, event: Message) -> None:
        kind = type(event)
        if kind is ChartEvent:
            for packet in event.data.charts:  # type: ignore[union-attr]
                chart = self.md.chart_for(packet.id)
                if chart is not None and chart.ids:
                    spec = self.contracts.get(str(chart.request.symbol))
                    if spec is not None:
                        self.market_writer.register_chart(spec.contract_id, chart.ids[0],
                                                          chart.realtime_id,
                                                          history_first=True)
        elif kind is not MarketDataEvent:
            return
        changes = self.market_writer.apply(event)  # type: ignore[arg-type]
        self.md_events += 1
        self.dispatcher.market(changes)
        self._notify()

    def _on_account(self, event: Message | SyncSnapshot) -> None:
        if type(event) is SyncSnapshot:
            report = self.account_writer.apply_snapshot(event.message)
            self.dispatcher.sync(report, event.connection)
        elif type(event) is EntityEvent:
            self.dispatcher.account(self.account_writer.apply(event))
        self._notify()

    def _on_ticket(self, ticket: OrderTicket) -> None:
        self.ticket_log.append((ticket.cl_ord_id, ticket.state))
        self._notify()

    # ------------------------------------------------------------------ helpers

    async def until(self, predicate: Callable[[], bool], limit: float = LIMIT) -> None:
        """Wait (bounded) until ``predicate()`` holds; re-checked on every event."""
        async with asyncio.timeout(limit):
            while not predicate():
                await self._changed.wait()

    def server_commands(self, cl_ord_id: str) -> list[Command]:
        """The simulator's own ``command`` entities carrying this client order id."""
        user = self.sim.exchange.users()[0].id
        return [c for c in self.sim.exchange.entities("command", user)
                if isinstance(c, Command) and c.cl_ord_id == cl_ord_id]

    def server_position(self, symbol: str = "ESZ6") -> int:
        contract_id = self.contracts.contract_id(symbol)
        user = self.sim.exchange.users()[0].id
        return sum(p.net_pos for p in self.sim.exchange.sync(user).positions
                   if p.contract_id == contract_id)

    def mid(self, symbol: str = "ESZ6") -> float:
        quote = self.market.quote(self.contracts.contract_id(symbol))
        assert quote is not None
        assert quote.bid is not None
        assert quote.ask is not None
        return (quote.bid + quote.ask) / 2


async def server_side(predicate: Callable[[], bool], limit: float = LIMIT) -> None:
    """Wait (bounded) for a condition on the simulator's own state, which raises no client
    event (e.g. while the sockets are silenced): checked every 10 ms."""
    async with asyncio.timeout(limit):
        while not predicate():  # noqa: ASYNC110 - the simulator's state has no event to await
            await asyncio.sleep(0.01)
