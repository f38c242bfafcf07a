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
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

import msgspec

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
from ..orders.copier import CopierService
from ..orders.manager import run_prefix
from ..orders.risk import RiskManager
from ..protocol.models import Account
from ..secrets import TradovateCredentials
from ..settings import AccountSettings, Endpoints, Risk, Settings, account_limits
from ..stores import AccountView, AccountWriter, MarketDataView
from ..strategy import Strategy
from ..strategy.context import StrategyContext
from ..strategy.dispatch import Dispatcher
from .accounts import AccountRisks, AccountRun, StrategyRun, TicketsOfAccounts
from .copier_wiring import build_copier, copier_accounts
from .logins import LoginRun
from .md_subscriptions import MdSubscriptions
from .metrics import RuntimeMetrics
from .readers import Readers
from .rest_exit import ShutdownGateway
from .resync import ResyncGuard
from .strategy_feed import StrategyFeed

_log = logging.getLogger("tradovate_api.runtime.wiring")


@dataclass(slots=True)
class Opened:
    """What start-up opened that must be closed at the end of the run, even when start-up
    failed half-way: each login's auth manager and REST client, the primary's first."""

    auths: list[AuthManager] = field(default_factory=list)
    rests: list[RestClient] = field(default_factory=list)

    @property
    def auth(self) -> AuthManager | None:
        """The primary login's auth manager."""
        return self.auths[0] if self.auths else None

    async def close(self) -> None:
        for rest in self.rests:
            with contextlib.suppress(Exception):
                await rest.close()
        for auth in self.auths:
            with contextlib.suppress(Exception):
                await auth.close()


@dataclass(slots=True)
class Wiring:
    """Everything made at start-up from the login and the server's answers."""

    logins: tuple[LoginRun, ...]
    """Each login's token, REST client, trading connection, gateway and accounts: the
    primary login first (the only one without ``[[logins]]``)."""
    md: MarketDataSession
    accounts: tuple[AccountRun, ...]
    """The traded accounts, in the settings' order, then the trade copier's followers."""
    runs: tuple[StrategyRun, ...]
    """Every strategy on every account it trades."""
    feed: StrategyFeed
    subscriptions: MdSubscriptions
    contracts: ContractBook
    symbols: list[str]
    """The subscribed contracts, the traded one first."""
    copier: CopierService | None
    """The trade copier (``[copier]``); its followers are the last of ``accounts``."""

    @property
    def auth(self) -> AuthManager:
        """The primary login's auth manager (its token also opens the md connection)."""
        return self.logins[0].auth

    @property
    def rest(self) -> RestClient:
        """The primary login's REST client."""
        return self.logins[0].rest

    @property
    def trading(self) -> TradingSession:
        """The primary login's trading connection."""
        return self.logins[0].trading

    @property
    def gateway(self) -> ShutdownGateway:
        """The primary login's gateway."""
        return self.logins[0].gateway

    @property
    def guard(self) -> ResyncGuard:
        """The primary login's resync guard."""
        return self.logins[0].guard


async def wire(settings: Settings, credentials: TradovateCredentials, endpoints: Endpoints,
               strategies: Sequence[Sequence[Strategy]], *, alerts: AlertSink,
               clock: Callable[[], int], market: MarketDataView, account: AccountView,
               account_writer: AccountWriter, metrics: RuntimeMetrics, readers: Readers,
               frame_observer: FrameObserver | None,
               connection_options: ConnectionOptions | None,
               sim_symbols: list[str] | None, opened: Opened,
               logins: Mapping[str, TradovateCredentials] | None = None) -> Wiring:
    """Log in (each login), choose the accounts, resolve the contracts, build the sessions
    and the order path of each account, a context and dispatcher per strategy and account,
    and attach the readers. ``strategies[i]`` holds the instances of
    ``settings.strategy_list()[i]``, one per account it trades. ``credentials``: the primary
    login's; ``logins``: each ``[[logins]]`` entry's by name (missing: none given).
    ``sim_symbols``: the embedded simulator's default instruments (``None`` on a real
    server). ``account_writer`` gets the contracts' reference entities before the first
    snapshot. What it opens is recorded in ``opened``."""
    given = logins or {}
    names: list[str] = ["", *(login.name for login in settings.logins)]
    auths: list[AuthManager] = []
    rests: list[RestClient] = []
    user_ids: list[int] = []
    for name in names:
        auth = AuthManager.from_settings(
            settings, given.get(name, TradovateCredentials()) if name else credentials,
            alerts, rest_url=endpoints.rest, login=name or None,
            clock=lambda: datetime.fromtimestamp(clock() / 1000, UTC))
        opened.auths.append(auth)
        token = await auth.token()
        if token.user_id is None:
            raise StartupError(f"the token response{f' of login {name!r}' if name else ''} "
                               f"carried no userId")
        tokens = AuthTokens(auth, market_data=False)
        rest = RestClient(endpoints.rest, tokens,
                          timeout=settings.connection.request_timeout_seconds,
                          token_rejected=tokens.rejected)
        opened.rests.append(rest)
        auths.append(auth)
        rests.append(rest)
        user_ids.append(token.user_id)
    listed = settings.account_list()
    chosen, scopes = await choose_login_accounts(settings, names, rests, listed)
    copier = settings.copier
    leader, following = (None, []) if copier is None else await copier_accounts(rests[0],
                                                                                copier)
    entries = [*zip(listed, chosen, strict=True),
               *((f.account_settings, found) for f, found in
                 zip(copier.followers if copier is not None else (), following, strict=True))]
    symbols = instruments(settings, sim_symbols)
    plan = settings.strategy_list()
    for index, strategy_entry in enumerate(plan):
        for symbol in strategy_entry.symbols:
            if symbol not in symbols:
                raise ConfigError(f"strategies[{index}].symbols: {symbol!r} is not one of the "
                                  f"instruments ({', '.join(symbols)})")
    contracts = await ContractBook.resolve(rests[0], symbols)
    account_writer.add_reference(contracts.reference_entities())
    options = connection_options or ConnectionOptions.from_settings(
        settings.connection.heartbeat_seconds, settings.connection.silence_timeout_seconds,
        settings.connection.request_timeout_seconds)
    md_tokens = AuthTokens(auths[0], market_data=True)
    md = MarketDataSession(endpoints.md_ws, md_tokens, readers.on_md, options=options,
                           token_rejected=md_tokens.rejected)
    md.frame_observer = frame_observer
    primary_auth = auths[0]
    md.login_count = lambda: primary_auth.logins
    metrics.track_session("md", md)
    login_readers = [readers, *(readers.for_login(scopes[i]) for i in range(1, len(names)))]
    if len(names) > 1:
        readers.scope = scopes[0]
    sessions: list[TradingSession] = []
    gateways: list[ShutdownGateway] = []
    for index, name in enumerate(names):
        tokens = AuthTokens(auths[index], market_data=False)
        trading = TradingSession(endpoints.trading_ws, tokens, login_readers[index].on_account,
                                 user_id=user_ids[index], options=options,
                                 token_rejected=tokens.rejected)
        login_auth = auths[index]
        trading.login_count = lambda login_auth=login_auth: login_auth.logins
        trading.reader_problem = login_readers[index].trading_problem
        metrics.track_session(f"trading {name}" if name else "trading", trading)
        sessions.append(trading)
        gateways.append(ShutdownGateway(LiveGateway(trading), RestGateway(rests[index])))
    prefix = run_prefix()
    accounts: list[AccountRun] = []
    login_of: list[int] = []
    hours = MarketHours(settings.market.calendar)
    for index, (listed_entry, found) in enumerate(entries):
        at = names.index(listed_entry.login or "")
        login_of.append(at)
        sharing = sum(1 for entry, _ in entries if (entry.login or "") == names[at])
        limits = login_share(account_limits(settings, listed_entry), sharing)
        risk = RiskManager(limits, account, market, alerts, clock, account_id=found.id,
                           hours=hours)
        orders = OrderManager(gateways[at], account, risk, contracts, alerts,
                              account_id=found.id, account_spec=found.name, clock=clock,
                              id_prefix=prefix if index == 0 else f"{prefix}.{index}")
        if accounts:  # the md reader stamps one cause: every account's tickets read it
            orders.cause = accounts[0].orders.cause
        orders.add_listener(readers.on_ticket)
        resolver = OutcomeResolver(orders, RestServerCommands(rests[at]), alerts,
                                   grace=settings.risk.unknown_order_grace_seconds,
                                   alert_after=settings.risk.unknown_order_alert_seconds,
                                   answer_timeout=max(
                                       settings.connection.request_timeout_seconds,
                                       settings.auth.request_timeout_seconds))
        accounts.append(AccountRun(listed_entry, found.id, found.name, risk, orders, resolver))
    traded, followers = accounts[:len(listed)], accounts[len(listed):]
    by_key = {run.settings.key: run for run in traded}
    all_risks = AccountRisks([a.risk for a in accounts])
    subscriptions = MdSubscriptions(md, contracts, all_risks, alerts)
    md.subscription_refused = subscriptions.refused
    md.subscription_restored = subscriptions.restored
    md.reader_problem = readers.md_problem
    runs: list[StrategyRun] = []
    several = sum(len(entry.accounts) for entry in plan) > 1
    for entry, instances in zip(plan, strategies, strict=True):
        for key, strategy in zip(entry.accounts, instances, strict=True):
            target = by_key[key]
            # Without [[strategies]] the strategy is known by its own name (the instance the
            # caller gave may not be of trading.strategy's class).
            name = entry.name if settings.strategies else strategy.name
            ctx = StrategyContext(
                market=market, account=account, orders=target.orders, contracts=contracts,
                alerts=alerts, account_id=target.account_id, params=entry.params, clock=clock,
                trading_symbol=entry.symbols[0] if entry.symbols else symbols[0],
                log=logging.getLogger(f"tradovate_api.strategy.{name}"), source=name)
            dispatcher = Dispatcher(strategy, ctx, orders=target.orders, alerts=alerts,
                                    risk=target.risk,
                                    pause_on_error=settings.trading.pause_on_error,
                                    measure_hooks=settings.trading.measure_hooks,
                                    feeds_orders=False,
                                    label=f"{name}@{target.name}" if several else None)
            runs.append(StrategyRun(name, target, strategy, dispatcher))
    service = None if copier is None or leader is None else build_copier(
        copier, leader, followers, traded, account, alerts)
    login_runs: list[LoginRun] = []
    feed = StrategyFeed(traded, runs)  # the copier settles its followers itself
    for at, name in enumerate(names):
        mine = tuple(a for a, i in zip(accounts, login_of, strict=True) if i == at)
        if len(names) > 1:
            login_feed = StrategyFeed([a for a in mine if a in traded],
                                      [r for r in runs if r.account in mine],
                                      market_runs=runs)
        else:
            login_feed = feed
        if at == 0:
            feed = login_feed
        guard = ResyncGuard(sessions[at].resync, alerts,
                            all_risks if len(names) == 1 else AccountRisks(
                                [a.risk for a in mine]))
        login_readers[at].attach(md, login_feed, guard, contracts, accounts[0].orders.cause,
                                 mine[0].orders.tickets if len(mine) == 1
                                 else TicketsOfAccounts(mine))
        login_runs.append(LoginRun(name, auths[at], rests[at], sessions[at], gateways[at],
                                   guard, login_readers[at], mine,
                                   None if len(names) == 1 else scopes[at]))
    return Wiring(tuple(login_runs), md, tuple(accounts), tuple(runs), feed, subscriptions,
                  contracts, symbols, service)


async def choose_login_accounts(settings: Settings, names: Sequence[str],
                                rests: Sequence[RestClient],
                                listed: Sequence[AccountSettings]
                                ) -> tuple[list[Account], list[frozenset[int]]]:
    """Each listed account found among its login's (``names[i]`` is the login ``rests[i]``
    speaks for, ``""`` the primary), in the settings' order; and each login's account ids
    (what its snapshots speak for)."""
    found: dict[int, Account] = {}
    scopes: list[frozenset[int]] = []
    for at, name in enumerate(names):
        mine = [(i, entry) for i, entry in enumerate(listed) if (entry.login or "") == name]
        usable = await login_accounts(rests[at])
        scopes.append(frozenset(a.id for a in usable))
        chosen = pick_accounts(usable, [entry for _, entry in mine],
                               login=name if len(names) > 1 else None,
                               several=len(listed) > 1)
        found.update({i: account for (i, _), account in zip(mine, chosen, strict=True)})
    ordered = [found[i] for i in range(len(listed))]
    if len({a.id for a in ordered}) != len(ordered):
        raise StartupError("accounts: the same account is listed twice (by name and by id)")
    return ordered, scopes


async def login_accounts(rest: RestClient) -> list[Account]:
    """The login's active accounts."""
    accounts: list[Account] = await rest.request("account/list", result_type=list[Account])
    return [a for a in accounts if a.active and not a.closed]


def pick_accounts(usable: Sequence[Account], wanted: Sequence[AccountSettings], *,
                  login: str | None, several: bool) -> list[Account]:
    """The account of ``usable`` (one login's active accounts) for each entry of
    ``wanted``; ``login``: the login's name, said in the error when the run has several
    (``""``: the primary)."""
    has = ", ".join(a.name for a in usable) or "none"
    under = "" if login is None else (f" under login {login!r}" if login
                                      else " under the primary login")
    chosen = []
    for entry in wanted:
        if entry.name is None and entry.id is None:
            if len(usable) != 1:
                raise StartupError(f"trading.account: this login has {len(usable)} active "
                                   f"accounts ({has}); name one")
            chosen.append(usable[0])
            continue
        found = next((a for a in usable if (entry.name is None or a.name == entry.name)
                      and (entry.id is None or a.id == entry.id)), None)
        if found is None:
            where = "accounts" if several or entry.id is not None else "trading.account"
            which = (f"named {entry.name!r}" if entry.id is None else f"with id {entry.id}"
                     if entry.name is None else f"named {entry.name!r} with id {entry.id}")
            raise StartupError(f"{where}: no active account {which}{under} (this login has: "
                               f"{has})")
        chosen.append(found)
    return chosen


def login_share(limits: Risk, accounts: int) -> Risk:
    """An account's limits with its share of the login's hourly order budget: Tradovate
    counts requests per user (reference §7.1), so the accounts of one login split
    ``max_orders_per_hour`` evenly rather than each spending all of it."""
    if accounts == 1:
        return limits
    share = max(1, limits.max_orders_per_hour // accounts)
    _log.info("risk: the login's %d orders an hour are shared by %d accounts: %d each",
              limits.max_orders_per_hour, accounts, share)
    return msgspec.structs.replace(limits, max_orders_per_hour=share)


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
