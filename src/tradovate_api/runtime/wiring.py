"""Building a run's parts from the login and the server's answers, in the order they need.

A token comes before any request, the account and the contracts before the order path, the
trading session before the gateway, the order manager before the strategy context; the
sessions call the readers, which need the dispatcher. That order is the whole difficulty of
start-up, so it is written once, here: :func:`wire` returns the :class:`Wiring`, and the app's
lifecycle only starts and stops what it holds. The strategy's context
(:class:`~tradovate_api.strategy.context.StrategyContext`) is built here and nowhere else.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from ..alerts import AlertSink
from ..auth import AuthManager
from ..client import (
    AuthTokens,
    ConnectionOptions,
    FrameObserver,
    MarketDataSession,
    RestClient,
    TradingSession,
)
from ..errors import ConfigError, StartupError
from ..market_hours import MarketHours
from ..orders import (
    ContractBook,
    LiveGateway,
    OrderManager,
    OutcomeResolver,
    RestGateway,
    RestServerCommands,
)
from ..orders.risk import RiskManager
from ..protocol.models import Account
from ..secrets import TradovateCredentials
from ..settings import Endpoints, Settings
from ..stores import AccountView, AccountWriter, MarketDataView
from ..strategy import Strategy
from ..strategy.context import StrategyContext
from ..strategy.dispatch import Dispatcher
from .copier_wiring import CopierWiring, wire_copier
from .md_subscriptions import MdSubscriptions
from .metrics import RuntimeMetrics
from .readers import Readers
from .rest_exit import ShutdownGateway
from .resync import ResyncGuard


@dataclass(slots=True)
class Opened:
    """What start-up opened that must be closed at the end of the run, even when start-up
    failed half-way."""

    auth: AuthManager | None = None
    rest: RestClient | None = None

    async def close(self) -> None:
        for closing in (self.rest, self.auth):
            if closing is not None:
                with contextlib.suppress(Exception):
                    await closing.close()


@dataclass(slots=True)
class Wiring:
    """Everything made at start-up from the login and the server's answers."""

    auth: AuthManager
    rest: RestClient
    md: MarketDataSession
    trading: TradingSession
    risk: RiskManager
    orders: OrderManager
    resolver: OutcomeResolver
    dispatcher: Dispatcher
    subscriptions: MdSubscriptions
    account_id: int
    account_name: str
    gateway: ShutdownGateway
    guard: ResyncGuard
    contracts: ContractBook
    symbols: list[str]
    """The subscribed contracts, the traded one first."""
    copier: CopierWiring | None = None
    """The trade copier, when settings have a ``[copier]`` table."""


async def wire(settings: Settings, credentials: TradovateCredentials, endpoints: Endpoints,
               strategy: Strategy, *, alerts: AlertSink, clock: Callable[[], int],
               market: MarketDataView, account: AccountView,
               account_writer: AccountWriter, metrics: RuntimeMetrics, readers: Readers,
               frame_observer: FrameObserver | None,
               connection_options: ConnectionOptions | None,
               sim_symbols: list[str] | None, opened: Opened) -> Wiring:
    """Log in, choose the account, resolve the contracts, build the sessions and the order
    path, and attach the readers. ``sim_symbols``: the embedded simulator's default
    instruments (``None`` on a real server). ``account_writer`` gets the contracts' reference
    entities before the first snapshot. What it opens is recorded in ``opened``."""
    auth = opened.auth = AuthManager.from_settings(
        settings, credentials, alerts, rest_url=endpoints.rest,
        clock=lambda: datetime.fromtimestamp(clock() / 1000, UTC))
    token = await auth.token()
    if token.user_id is None:
        raise StartupError("the token response carried no userId")
    trading_tokens = AuthTokens(auth, market_data=False)
    md_tokens = AuthTokens(auth, market_data=True)
    rest = opened.rest = RestClient(endpoints.rest, trading_tokens,
                                    timeout=settings.connection.request_timeout_seconds,
                                    token_rejected=trading_tokens.rejected)
    chosen = await choose_account(rest, settings.trading.account)
    symbols = instruments(settings, sim_symbols)
    contracts = await ContractBook.resolve(rest, symbols)
    account_writer.add_reference(contracts.reference_entities())
    options = connection_options or ConnectionOptions.from_settings(
        settings.connection.heartbeat_seconds, settings.connection.silence_timeout_seconds,
        settings.connection.request_timeout_seconds)
    md = MarketDataSession(endpoints.md_ws, md_tokens, readers.on_md, options=options,
                           token_rejected=md_tokens.rejected)
    md.frame_observer = frame_observer
    trading = TradingSession(endpoints.trading_ws, trading_tokens, readers.on_account,
                             user_id=token.user_id, options=options,
                             token_rejected=trading_tokens.rejected)
    md.login_count = trading.login_count = lambda: auth.logins
    risk = RiskManager(settings.risk, account, market, alerts, clock,
                       account_id=chosen.id, hours=MarketHours(settings.market.calendar))
    subscriptions = MdSubscriptions(md, contracts, risk, alerts)
    md.subscription_refused = subscriptions.refused
    md.subscription_restored = subscriptions.restored
    md.reader_problem = readers.md_problem
    trading.reader_problem = readers.trading_problem
    metrics.track_session("md", md)
    metrics.track_session("trading", trading)
    gateway = ShutdownGateway(LiveGateway(trading), RestGateway(rest))
    orders = OrderManager(gateway, account, risk, contracts,
                          alerts, account_id=chosen.id, account_spec=chosen.name,
                          clock=clock)
    orders.add_listener(readers.on_ticket)
    resolver = OutcomeResolver(orders, RestServerCommands(rest), alerts,
                               grace=settings.risk.unknown_order_grace_seconds,
                               alert_after=settings.risk.unknown_order_alert_seconds,
                               answer_timeout=max(
                                   settings.connection.request_timeout_seconds,
                                   settings.auth.request_timeout_seconds))
    ctx = StrategyContext(market=market, account=account, orders=orders,
                          contracts=contracts, alerts=alerts,
                          account_id=chosen.id, params=settings.strategy,
                          clock=clock, trading_symbol=symbols[0],
                          log=logging.getLogger(f"tradovate_api.strategy.{strategy.name}"))
    dispatcher = Dispatcher(strategy, ctx, orders=orders, alerts=alerts, risk=risk,
                            pause_on_error=settings.trading.pause_on_error,
                            measure_hooks=settings.trading.measure_hooks)
    copier = None if settings.copier is None else await wire_copier(
        settings, rest, gateway, account=account, market=market, contracts=contracts,
        alerts=alerts, clock=clock, run_orders=orders)
    guard = ResyncGuard(trading.resync, alerts, risk)
    readers.attach(md, dispatcher, guard, contracts, orders.cause, orders.tickets)
    return Wiring(auth, rest, md, trading, risk, orders, resolver, dispatcher, subscriptions,
                  chosen.id, chosen.name, gateway, guard, contracts, symbols, copier)


async def choose_account(rest: RestClient, wanted: str | None) -> Account:
    """The active account named ``wanted``, or the login's only active account."""
    accounts: list[Account] = await rest.request("account/list", result_type=list[Account])
    usable = [a for a in accounts if a.active and not a.closed]
    if wanted is not None:
        for account in usable:
            if account.name == wanted:
                return account
        raise StartupError(f"trading.account: no active account named {wanted!r} "
                           f"(this login has: {', '.join(a.name for a in usable) or 'none'})")
    if len(usable) != 1:
        raise StartupError(f"trading.account: this login has {len(usable)} active accounts "
                           f"({', '.join(a.name for a in usable)}); name one")
    return usable[0]


def instruments(settings: Settings, sim_symbols: list[str] | None) -> list[str]:
    """Subscribed contracts, the traded one first (on the embedded simulator without
    ``instruments``: ``sim_symbols``)."""
    symbols = list(settings.instruments)
    if not symbols:
        if sim_symbols is None:
            raise ConfigError("instruments: list the contracts to subscribe and trade")
        symbols = list(sim_symbols)
    traded = settings.trading.symbol or symbols[0]
    return [traded, *(s for s in symbols if s != traded)]
