"""The trading application: everything ``tradovate-api run`` starts, wired together.

:class:`TradingApp` loads nothing itself (the CLI reads settings and secrets) and owns one
run: on ``sim`` without URL overrides it starts the embedded simulator in-process; it logs in
(token cached 0600), picks the account, resolves the contracts, builds the stores, the order
manager, the risk manager and the dispatcher, and runs the named tasks of the original design
under the :class:`~tradovate_api.runtime.Supervisor`:

=================  ===========  ====================================================
task               policy       what it does
=================  ===========  ====================================================
md read            reconnect    the market-data socket; its reader is the only
                                writer of the market store
account read       reconnect    the trading socket; its reader is the only writer of
                                the account store
order outcomes     essential    :class:`~tradovate_api.orders.OutcomeResolver`: settles
                                orders whose answer was lost from the server's
                                order list, after the grace period
token renewal      essential    ``AuthManager.run_renewal``
log writer         essential    watches the log writer (dropped records, failed
                                writes → alerts); the writing is its own thread
periodic report    essential    :class:`~tradovate_api.reports.ReportScheduler`: marks
                                sampled, periodic reports saved and submitted
strategy           essential    waits for the market open (logged), for both sockets
                                and the first account snapshot, subscribes quote +
                                DOM + tick chart per instrument, starts the strategy
                                (whose timers the dispatcher arms on the loop), then
                                runs the time-based risk watches
md refusals        essential    every 30 s, re-sends the market-data subscriptions the
                                server refused after a reconnect (entries in their
                                contracts are held meanwhile)
status             essential    the terminal status line (when a stream is given)
duration           essential    ends the run cleanly after ``duration`` seconds
busy poll          essential    with ``connection.busy_poll``: keeps the loop from
                                sleeping (see ``busy_poll.py``)
=================  ===========  ====================================================

Single writers: only the md reader callback calls the market store's writer and only the
account reader callback calls the account store's writer; everything else (strategy context,
risk, reports, status) gets the read-only views.

Shutdown (first SIGINT/SIGTERM, ``request_shutdown``, ``--duration``, a fatal end): halt new
orders, stop the strategy, unsubscribe market data, secure the positions — cancel the entries
and keep the protective stops (placing one where a position has none), or flatten, as
configured; over REST when the trading socket is down; waiting, bounded, for the account data
to confirm — then report what is still open and what protects it (summary, log, alert), final
summary, extra hooks, flush the log, close both sockets with a close frame. A second signal
exits at once (code 130), printing one line about what is open. SIGUSR1 resumes a strategy
paused by an exception (:meth:`TradingApp.resume_strategy`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, TextIO
from zoneinfo import ZoneInfo

import msgspec

from ..alerts import Alert, AlertLog, AlertSink, Severity
from ..auth import AuthManager
from ..client import (
    AuthTokens,
    ConnectionOptions,
    FrameObserver,
    MarketDataSession,
    RequestTimeout,
    RestClient,
    SyncSnapshot,
    TradingSession,
)
from ..errors import ConfigError, ConnectionLost, StartupError, TradovateError
from ..logwriter import LogWriter, setup_logging
from ..market_hours import MarketHours
from ..notify.message import Notification
from ..orders import (
    ContractBook,
    LiveGateway,
    OrderManager,
    OrderTicket,
    OutcomeResolver,
    RestGateway,
    RestServerCommands,
    TicketKind,
    TicketState,
)
from ..orders.risk import RiskManager
from ..protocol import MONEY_ENTITY_TYPES, ChartEvent, EntityEvent, MarketDataEvent
from ..protocol.messages import Message, UnknownEntity
from ..protocol.models import Account
from ..protocol.models.subscriptions import ChartDescription, TimeRange
from ..reports import ReportData, ReportKind, ReportScheduler, ReportSources, build_report
from ..secrets import TradovateCredentials
from ..settings import Endpoints, Settings
from ..stores import (
    AccountView,
    MarketDataView,
    NewFill,
    PnLUnknown,
    SyncReport,
    create_account_store,
    create_market_store,
    wall_clock_ms,
)
from ..strategy import Strategy
from ..strategy.context import StrategyContext
from ..strategy.dispatch import Dispatcher
from .busy_poll import BusyPoller
from .changed import Changed
from .exit_plan import ExitPlan, describe, plan_exit
from .heap import freeze_startup_heap, thaw
from .metrics import RuntimeMetrics
from .observer import AppObserver
from .rest_exit import ShutdownGateway, read_account
from .resync import ResyncGuard
from .status import StatusPrinter, StatusSnapshot, format_status, format_summary
from .supervisor import (
    EXIT_FAILURE,
    Policy,
    ShutdownHook,
    ShutdownRequested,
    Supervisor,
    SupervisorOptions,
    TaskFactory,
)
from .throttled_alerts import ThrottledAlerts

if TYPE_CHECKING:
    from ..simulator import Simulator, SimulatorConfig

_log = logging.getLogger("tradovate_api.runtime.app")

def embedded_simulator_config() -> SimulatorConfig:
    """The simulator ``tradovate-api run`` starts on ``sim``.

    Its market is the default one plus large prints: about one 500-lot block every 2.5 s
    across ES and NQ (0.02 per 100 ms step and contract, either side). The reference
    strategy's large-trade signal needs a print of 400 or more, which the default random walk
    (a few lots per print) never makes, so without them a demo run would watch the market and
    never trade; with them a round trip (entry on one block, exit on the next block of the
    other side) takes about 5 s on average. The strategy's logic and thresholds are unchanged.
    """
    from ..simulator import SimulatorConfig  # imported only when the simulator runs

    return SimulatorConfig(warm_up=600.0, large_print_probability=0.02, large_print_size=500)


def simulated_time_note(simulated_s: float) -> str:
    """One line naming the embedded simulator's time when it is not now (the market was
    closed, so it runs from the next open); empty when it is now."""
    if abs(simulated_s - time.time()) < 1.0:
        return ""
    moment = datetime.fromtimestamp(simulated_s, ZoneInfo("America/Chicago"))
    return (f"the market is closed now: the embedded simulator runs from "
            f"{moment.isoformat(timespec='minutes')} Chicago time")


SIM_PRODUCTS = ("ES", "NQ")
"""Front months used on the embedded simulator when ``instruments`` is empty (the reference
strategy pools ES and NQ and trades ES)."""
TICK_HISTORY = 500
"""Prints of history requested with each tick chart (time and sales across a reconnect)."""
LOG_CHECK_SECONDS = 5.0
RISK_CHECK_SECONDS = 0.25
"""Cadence of the time-based risk watches (kill-switch file, daily loss as prices move,
protective stops); fills and snapshots are checked as they arrive."""
SETTLE_FRACTION = 0.5
"""Share of the shutdown time (``shutdown.timeout_seconds``) spent securing the positions
(cancels, stops or flattening sent and confirmed)."""
REST_POLL_SECONDS = 1.0
"""While the shutdown works over REST, how often it reads the account again to confirm."""
MD_RETRY_SECONDS = 30.0
"""How often market-data subscriptions the server refused are tried again."""
READER_ALERT_SECONDS = 300.0
"""At most one alert per kind of reader problem this often."""

Submit = Callable[[Notification], object]
"""Where report notifications go (the notification center's ``submit``; must not block)."""


@dataclass(slots=True)
class _Wiring:
    """Everything made at start-up from the login and the server's answers."""

    auth: AuthManager
    rest: RestClient
    md: MarketDataSession
    trading: TradingSession
    risk: RiskManager
    orders: OrderManager
    resolver: OutcomeResolver
    dispatcher: Dispatcher
    account_id: int
    account_name: str
    gateway: ShutdownGateway
    guard: ResyncGuard


class TradingApp:
    """One run of a strategy. ``await run()`` returns the exit code (0 clean, 1 failure,
    130 forced by a second signal)."""

    def __init__(self, settings: Settings, credentials: TradovateCredentials,
                 strategy: Strategy, *, alerts: AlertSink | None = None,
                 endpoints: Endpoints | None = None,
                 clock: Callable[[], int] = wall_clock_ms,
                 simulator_config: SimulatorConfig | None = None,
                 duration: float | None = None, status: TextIO | None = None,
                 submit: Submit | None = None, handle_signals: bool = True,
                 supervisor_options: SupervisorOptions | None = None,
                 connection_options: ConnectionOptions | None = None,
                 market_open: Callable[[], Awaitable[float]] | None = None) -> None:
        """``endpoints`` overrides the settings' addresses; ``status`` gets the live status
        line; ``submit`` receives report notifications. The option arguments replace what
        the settings give (tests and tools): ``supervisor_options``, ``connection_options``
        and ``market_open`` (waits for the open, returns the seconds waited)."""
        self.settings = settings
        self.strategy = strategy
        self.alerts: AlertSink = alerts if alerts is not None else AlertLog()
        self.clock = clock
        self.duration = duration
        self._credentials = credentials
        self._status_stream = status
        self._handle_signals = handle_signals
        self._connection_options = connection_options
        self._market_open = market_open or MarketHours(settings.market.calendar).wait_for_open
        self.endpoints = endpoints or settings.endpoints()
        self.simulator: Simulator | None = None
        """The embedded simulator (``sim`` without URL overrides), else ``None``."""
        commissions = dict(settings.trading.commission_per_side)
        if self.endpoints is None:
            from ..simulator import Simulator  # ~75 ms of imports a live run does not need
            from ..simulator.calendar import open_clock

            # The embedded market trades at any hour: when it is closed now, the simulator and
            # this app run on a clock that starts just after the next open.
            sim_clock = open_clock() if clock is wall_clock_ms else (lambda: clock() / 1000)
            if clock is wall_clock_ms:
                clock = self.clock = lambda: int(sim_clock() * 1000)
            self.simulator = Simulator(simulator_config or embedded_simulator_config(),
                                       clock=sim_clock)
            for inst in self.simulator.catalog:
                commissions.setdefault(inst.product.name, inst.commission_per_side)
        self.metrics = RuntimeMetrics()
        market, self._md_writer = create_market_store(clock_ms=clock)
        account, self._account_writer = create_account_store(commission_per_side=commissions)
        self.market: MarketDataView = market
        self.account: AccountView = account
        self.reports = ReportScheduler(settings.reports, ReportSources(
            self.account, self.market, self.metrics, self._tickets), submit=submit)
        self.supervisor = Supervisor(self.alerts, supervisor_options
                                     or SupervisorOptions.from_settings(settings))
        self._w: _Wiring | None = None
        self._auth: AuthManager | None = None
        self._rest: RestClient | None = None
        self.contracts = ContractBook()
        self.symbol = ""
        """The traded contract."""
        self.log_writer: LogWriter | None = None
        self.started = asyncio.Event()
        """Set once the strategy's ``on_start`` has run."""
        self.summary: ReportData | None = None
        """The final report (set by the shutdown sequence)."""
        self.summary_text = ""
        self.exit_lines: list[str] = []
        """What was still open when the run stopped and what protects it (one line per
        position or working order; set by the shutdown sequence)."""
        self.account_changed = Changed()
        """Notified after every account event the reader applied."""
        self.connection_ended = Changed()
        """Notified whenever the md or trading connection has ended (or failed to open)."""
        self._extra_tasks: list[tuple[str, TaskFactory, Policy]] = []
        self._extra_hooks: list[tuple[str, ShutdownHook]] = []
        self._frame_observers: list[FrameObserver] = []
        self._observers: list[AppObserver] = []
        self.start_error = ""
        """Why the run could not start (empty when it did)."""
        self._md_connection = 0
        self._throttled: ThrottledAlerts | None = None
        self._rest_reads_ok = False
        self._mapped_charts: set[int] = set()
        self._tick_ns = 0
        self._printer: StatusPrinter | None = None
        self._phase = "starting"
        self._ran_for: float | None = None
        self.busy_poller: BusyPoller | None = None
        self.frozen_objects = 0
        """Objects the garbage collector skips during the run (see ``heap.py``)."""
        """The spinning task's counter, with ``connection.busy_poll``."""
        """Seconds from start to the beginning of the shutdown sequence."""

    # ------------------------------------------------------------------ parts (after start)

    def _wired(self) -> _Wiring:
        if self._w is None:
            raise RuntimeError("the app has not started")
        return self._w

    @property
    def auth(self) -> AuthManager | None:
        return self._auth

    @property
    def md(self) -> MarketDataSession | None:
        return None if self._w is None else self._w.md

    @property
    def trading(self) -> TradingSession | None:
        return None if self._w is None else self._w.trading

    @property
    def orders(self) -> OrderManager | None:
        return None if self._w is None else self._w.orders

    @property
    def resolver(self) -> OutcomeResolver | None:
        return None if self._w is None else self._w.resolver

    @property
    def risk(self) -> RiskManager | None:
        return None if self._w is None else self._w.risk

    @property
    def dispatcher(self) -> Dispatcher | None:
        return None if self._w is None else self._w.dispatcher

    @property
    def account_id(self) -> int | None:
        return None if self._w is None else self._w.account_id

    # ------------------------------------------------------------------ extension points

    def add_task(self, name: str, factory: TaskFactory,
                 policy: Policy = Policy.ESSENTIAL) -> None:
        """Run another supervised task (journal writer, recorder...). Call before ``run``."""
        self._extra_tasks.append((name, factory, policy))

    def add_frame_observer(self, observer: FrameObserver) -> None:
        """Give ``observer`` every raw market-data frame before it is decoded (recording).
        Observers are called in the order added; call before ``run``."""
        self._frame_observers.append(observer)

    def _frame_observer(self) -> FrameObserver | None:
        """What the md connection calls per frame: nothing, the one observer itself (no extra
        call on the reader's path), or all of them in turn."""
        observers = tuple(self._frame_observers)
        if len(observers) <= 1:
            return observers[0] if observers else None

        def each(frame: memoryview) -> None:
            for observer in observers:
                observer(frame)

        return each

    def add_observer(self, observer: AppObserver) -> None:
        """Tell ``observer`` what the readers apply (journal, md recorder). Call before
        ``run``."""
        self._observers.append(observer)

    def _notify(self, hook: str, *args: object) -> None:
        for observer in self._observers:
            try:
                getattr(observer, hook)(*args)
            except Exception:
                _log.exception("observer %s.%s failed", type(observer).__name__, hook)

    def add_shutdown_hook(self, name: str, hook: ShutdownHook) -> None:
        """Run ``hook`` at shutdown after the final summary, before the log is flushed and
        the sockets are closed."""
        self._extra_hooks.append((name, hook))

    def request_shutdown(self, reason: str = "requested") -> None:
        """Start the graceful shutdown sequence (exit code 0)."""
        self.supervisor.request_shutdown(reason)

    # ------------------------------------------------------------------ run

    async def run(self) -> int:
        """Start, trade until shut down, clean up; returns the exit code."""
        self._start_logging()
        try:
            try:
                await self._prepare()
            except Exception as exc:
                expected = isinstance(exc, TradovateError | OSError)
                reason = str(exc) if expected else f"unexpected {type(exc).__name__}: {exc}"
                _log.error("cannot start: %s", reason, exc_info=None if expected else exc)
                self.alerts.emit(Alert(Severity.URGENT, "app.start_failed",
                                       "Trading did not start", reason))
                self.start_error = reason
                return EXIT_FAILURE
            self._register()
            kill_signal = self._handle_signals and self._wired().risk.install_signal_handler()
            resume_signal = self._handle_signals and self._install_resume_signal()
            try:
                code = await self.supervisor.run(handle_signals=self._handle_signals)
            finally:
                loop = asyncio.get_running_loop()
                if kill_signal:
                    loop.remove_signal_handler(signal.SIGUSR2)
                if resume_signal:
                    loop.remove_signal_handler(signal.SIGUSR1)
                self._wired().guard.close()
            if self.supervisor.ends and not self.summary_text:
                _log.info("run ended before the summary (%s)", self.supervisor.exit_reason)
            return code
        finally:
            await self._clean_up()

    def _start_logging(self) -> None:
        log = self.settings.log
        self.log_writer = setup_logging(log.path, log.level, max_bytes=log.max_bytes,
                                        backup_count=log.backup_count,
                                        queue_size=log.queue_size)
        _log.info("tradovate-api run: environment %s, strategy %s", self.settings.environment,
                  self.strategy.name)

    async def _prepare(self) -> None:
        """Simulator, login, account, contracts, order path, sessions."""
        settings = self.settings
        endpoints = self.endpoints
        if self.simulator is not None:
            await self.simulator.start()
            endpoints = Endpoints(self.simulator.rest_url, self.simulator.ws_url,
                                  self.simulator.md_url)
            _log.info("embedded simulator started at %s", endpoints.rest)
            note = simulated_time_note(self.simulator.clock())
            if note:
                _log.info("%s", note)
        assert endpoints is not None
        clock = self.clock
        auth = self._auth = AuthManager.from_settings(
            settings, self._credentials, self.alerts, rest_url=endpoints.rest,
            clock=lambda: datetime.fromtimestamp(clock() / 1000, UTC))
        token = await auth.token()
        if token.user_id is None:
            raise StartupError("the token response carried no userId")
        trading_tokens = AuthTokens(auth, market_data=False)
        md_tokens = AuthTokens(auth, market_data=True)
        rest = self._rest = RestClient(endpoints.rest, trading_tokens,
                                       timeout=settings.connection.request_timeout_seconds,
                                       token_rejected=trading_tokens.rejected)
        account = await self._choose_account(rest)
        symbols = self._instruments()
        self.contracts = await ContractBook.resolve(rest, symbols)
        self.symbol = symbols[0]
        self._account_writer.add_reference(self.contracts.reference_entities())
        options = self._connection_options or ConnectionOptions.from_settings(
            settings.connection.heartbeat_seconds, settings.connection.silence_timeout_seconds,
            settings.connection.request_timeout_seconds)
        md = MarketDataSession(endpoints.md_ws, md_tokens, self._on_md, options=options,
                               token_rejected=md_tokens.rejected)
        md.frame_observer = self._frame_observer()
        trading = TradingSession(endpoints.trading_ws, trading_tokens, self._on_account,
                                 user_id=token.user_id, options=options,
                                 token_rejected=trading_tokens.rejected)
        md.login_count = trading.login_count = lambda: auth.logins
        md.subscription_refused = self._md_refused
        md.subscription_restored = self._md_restored
        md.reader_problem = self._md_problem
        trading.reader_problem = self._trading_problem
        self.metrics.track_session("md", md)
        self.metrics.track_session("trading", trading)
        risk = RiskManager(settings.risk, self.account, self.market, self.alerts, self.clock,
                           account_id=account.id)
        gateway = ShutdownGateway(LiveGateway(trading), RestGateway(rest))
        orders = OrderManager(gateway, self.account, risk, self.contracts,
                              self.alerts, account_id=account.id, account_spec=account.name,
                              clock=self.clock)
        orders.add_listener(self._on_ticket)
        resolver = OutcomeResolver(orders, RestServerCommands(rest), self.alerts,
                                   grace=settings.risk.unknown_order_grace_seconds,
                                   alert_after=settings.risk.unknown_order_alert_seconds,
                                   answer_timeout=max(
                                       settings.connection.request_timeout_seconds,
                                       settings.auth.request_timeout_seconds))
        ctx = StrategyContext(market=self.market, account=self.account, orders=orders,
                              contracts=self.contracts, alerts=self.alerts,
                              account_id=account.id, params=settings.strategy,
                              clock=self.clock, trading_symbol=self.symbol,
                              log=logging.getLogger(f"tradovate_api.strategy.{self.strategy.name}"))
        dispatcher = Dispatcher(self.strategy, ctx, orders=orders, alerts=self.alerts,
                                risk=risk, pause_on_error=settings.trading.pause_on_error,
                                measure_hooks=settings.trading.measure_hooks)
        self._w = _Wiring(auth, rest, md, trading, risk, orders, resolver, dispatcher,
                          account.id, account.name, gateway,
                          ResyncGuard(trading.resync, self.alerts, risk))
        self._notify("on_prepared", self)
        _log.info("trading %s on account %s (instruments %s)", self.symbol, account.name,
                  ", ".join(symbols))

    async def _choose_account(self, rest: RestClient) -> Account:
        accounts: list[Account] = await rest.request("account/list", result_type=list[Account])
        wanted = self.settings.trading.account
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

    def _instruments(self) -> list[str]:
        """Subscribed contracts, the traded one first."""
        symbols = list(self.settings.instruments)
        if not symbols:
            if self.simulator is None:
                raise ConfigError("instruments: list the contracts to subscribe and trade")
            by_product = {inst.product.name: inst.name for inst in self.simulator.catalog}
            symbols = [by_product[p] for p in SIM_PRODUCTS if p in by_product]
        traded = self.settings.trading.symbol or symbols[0]
        return [traded, *(s for s in symbols if s != traded)]

    def _register(self) -> None:
        sup, w = self.supervisor, self._wired()
        sup.add_task("md read", self._md_read, Policy.RECONNECT)
        sup.add_task("account read", self._account_read, Policy.RECONNECT)
        sup.add_task("order outcomes", w.resolver.run)
        sup.add_task("token renewal", w.auth.run_renewal)
        sup.add_task("log writer", self._watch_log)
        sup.add_task("periodic report", self.reports.run)
        sup.add_task("strategy", self._run_strategy)
        sup.add_task("md refusals", self._retry_md_refusals)
        if self._status_stream is not None:
            self._printer = StatusPrinter(self.status_line, self._status_stream)
            sup.add_task("status", self._printer.run)
        if self.duration is not None:
            sup.add_task("duration", self._end_after_duration)
        if self.settings.connection.busy_poll:
            self.busy_poller = BusyPoller()
            sup.add_task("busy poll", self.busy_poller.run)
            _log.info("busy-poll mode: the event loop never sleeps (one CPU core at 100%%)")
        for name, factory, policy in self._extra_tasks:
            sup.add_task(name, factory, policy)
        sup.add_shutdown_hook("halt orders", self._halt)
        sup.add_shutdown_hook("unsubscribe market data", self._unsubscribe)
        sup.add_shutdown_hook("secure positions", self._secure_positions)
        sup.on_forced_exit = self._forced_exit
        sup.add_shutdown_hook("final summary", self._final_summary)
        for name, hook in self._extra_hooks:
            sup.add_shutdown_hook(name, hook)
        sup.add_shutdown_hook("flush log", self._flush_log)
        sup.add_shutdown_hook("close sockets", self._close_sockets)

    async def _clean_up(self) -> None:
        if self.frozen_objects:
            thaw()
            self.frozen_objects = 0
        if self._printer is not None:
            self._printer.end_line()
        for closing in (self._rest, self._auth):
            if closing is not None:
                with contextlib.suppress(Exception):
                    await closing.close()
        if self.simulator is not None:
            with contextlib.suppress(Exception):
                await self.simulator.stop()
        writer, self.log_writer = self.log_writer, None
        if writer is not None:
            await asyncio.to_thread(writer.close)

    # ------------------------------------------------------------------ readers (hot path)

    def _on_md(self, event: Message) -> None:
        """The md reader: the market store's only writer, then the strategy."""
        received = time.perf_counter_ns()
        w = self._w
        if w is None:  # cannot happen: the md socket opens after wiring
            return
        if w.md.connects != self._md_connection:
            self._new_md_connection(w.md.connects)
        kind = type(event)
        if kind is ChartEvent:
            self._map_charts(event)  # type: ignore[arg-type]
        elif kind is not MarketDataEvent:
            return
        changes = self._md_writer.apply(event)  # type: ignore[arg-type]
        self.metrics.md_events += 1
        if changes:  # the dispatcher ignores them until the strategy has started
            self._tick_ns = received
            try:
                w.dispatcher.market(changes)
            finally:
                self._tick_ns = 0

    def _new_md_connection(self, number: int) -> None:
        """A new md socket: its books are stale until the first push, and chart ids of the
        old connection mean nothing now."""
        self._md_connection = number
        self._md_writer.clear_books()
        for chart_id in self._mapped_charts:
            self._md_writer.unregister_chart(chart_id)
        self._mapped_charts.clear()
        self._notify("on_md_connection", number)

    def _map_charts(self, event: ChartEvent) -> None:
        md = self._wired().md
        for packet in event.data.charts:
            if packet.id in self._mapped_charts:
                continue
            chart = md.chart_for(packet.id)
            if chart is None or not chart.ids:
                continue
            spec = self.contracts.get(chart.request.symbol)
            if spec is None:
                continue
            # History may come under either id (or the answer may give only one): every
            # packet before the chart's eoh is history.
            historical_id = chart.ids[0]
            self._md_writer.register_chart(spec.contract_id, historical_id, chart.realtime_id,
                                           history_first=True)
            self._mapped_charts.update(chart.ids)
            self._notify("on_chart", spec.contract_id, historical_id, chart.realtime_id)

    def _on_account(self, event: Message | SyncSnapshot) -> None:
        """The account reader: the account store's only writer, then orders and strategy."""
        kind = type(event)
        if kind is SyncSnapshot:
            snapshot: SyncSnapshot = event  # type: ignore[assignment]
            report = self._apply_snapshot(snapshot)
            if report is None:
                return
            self.metrics.account_events += 1
            if self._observers:
                self._notify("on_snapshot", snapshot, report)
            if not report.initial:
                self.metrics.resyncs += 1
                self.metrics.fills += len(report.new_fills)
                self._report_differences(report, snapshot.connection)
            self._wired().dispatcher.sync(report, snapshot.connection)
        elif kind is EntityEvent:
            entity_event: EntityEvent = event  # type: ignore[assignment]
            changes = self._account_writer.apply(entity_event)
            self.metrics.account_events += 1
            if self._observers:
                self._notify("on_account_event", entity_event, changes)
            self.metrics.fills += sum(1 for c in changes if type(c) is NewFill)
            self._wired().dispatcher.account(changes)
            if entity_event.repaired or entity_event.bad:
                self._odd_entities(entity_event)
        else:
            return
        self.account_changed.notify()

    def _apply_snapshot(self, snapshot: SyncSnapshot) -> SyncReport | None:
        """Apply a snapshot if it is complete; an incomplete one, or one that fails to apply
        (the store keeps its previous state), is a problem for the resync guard."""
        guard = self._wired().guard
        if snapshot.repaired:
            _log.warning("snapshot #%d: unreadable optional fields ignored: %s",
                         snapshot.connection, ", ".join(sorted(set(snapshot.repaired))))
        lost = [b for b in snapshot.bad if b.entity_type in MONEY_ENTITY_TYPES]
        if lost:
            guard.problem("account.snapshot_incomplete", "Account snapshot incomplete",
                          f"{len(lost)} entities of the snapshot of trading connection "
                          f"#{snapshot.connection} could not be read ({_kinds(lost)}; first: "
                          f"{lost[0].reason}); it was not applied")
            return None
        try:
            report = self._account_writer.apply_snapshot(snapshot.message)
        except Exception as exc:
            _log.exception("applying the snapshot of trading connection #%d failed",
                           snapshot.connection)
            guard.problem("account.snapshot_failed", "Account snapshot failed to apply",
                          f"{type(exc).__name__}: {exc}; the account data are those before "
                          f"the snapshot")
            return None
        guard.snapshot_applied()
        return report

    def _odd_entities(self, event: EntityEvent) -> None:
        if event.repaired:
            _log.warning("%s %s: unreadable optional fields ignored: %s", event.entity_type,
                         event.event_type, ", ".join(sorted(set(event.repaired))))
        bad = event.bad
        if not bad:
            return
        if event.entity_type not in MONEY_ENTITY_TYPES:
            _log.error("%d unreadable %s entities skipped: %s", len(bad), event.entity_type,
                       bad[0].reason)
            return
        self._wired().guard.problem(
            "account.unreadable_entity", f"Unreadable {event.entity_type} from Tradovate",
            f"{len(bad)} {event.entity_type} entities of a {event.event_type} event could "
            f"not be read ({bad[0].reason}); the rest of the event was applied")

    def _trading_problem(self, kind: str, detail: str) -> None:
        """The trading reader dropped input (it may have been an account event) or failed
        on an event half-way: the account data may be wrong."""
        if kind == "consumer":
            self._wired().guard.problem("account.reader_failed",
                                        "The account reader failed on an event", detail)
        else:
            self._wired().guard.problem("account.unreadable_input",
                                        "Unreadable input on the trading socket", detail)

    def _md_problem(self, kind: str, detail: str) -> None:
        """The md reader failed on an event (malformed md input is only counted and logged
        by the connection: it cannot touch the account)."""
        if kind != "consumer":
            return
        self._reader_alerts().emit(Alert(Severity.URGENT, "md.reader_failed",
                                         "The market-data reader failed on an event",
                                         f"{detail}. Market data keep flowing; the failed "
                                         f"event's changes may be missing."))

    def _reader_alerts(self) -> ThrottledAlerts:
        if self._throttled is None:
            self._throttled = ThrottledAlerts(self.alerts, READER_ALERT_SECONDS,
                                              asyncio.get_running_loop().time)
        return self._throttled

    # ------------------------------------------------------------------ md refusals

    def _md_refused(self, symbol: str | int, reason: str) -> None:
        """A re-subscription refused after a reconnect: the contract is blind — stop
        entries in it until the subscription is live again."""
        spec = self.contracts.get(symbol)
        name = spec.symbol if spec is not None else str(symbol)
        if spec is not None:
            self._wired().risk.suspend_entries(
                spec.contract_id, f"market data of {name} refused by the server: {reason}",
                "market data")
        self.alerts.emit(Alert(Severity.URGENT, "md.subscription_refused",
                               f"Market data of {name} refused after a reconnect",
                               f"{reason}. New entries in {name} are stopped until the "
                               f"subscription is live again; it is tried again every "
                               f"{MD_RETRY_SECONDS:g}s and on every reconnect."))

    def _md_restored(self, symbol: str | int, _reason: str) -> None:
        spec = self.contracts.get(symbol)
        name = spec.symbol if spec is not None else str(symbol)
        if spec is not None:
            self._wired().risk.resume_entries(spec.contract_id, "market data")
        self.alerts.emit(Alert(Severity.ROUTINE, "md.subscription_restored",
                               f"Market data of {name} live again",
                               f"New entries in {name} are allowed again."))

    async def _retry_md_refusals(self) -> None:
        md = self._wired().md
        while True:
            await asyncio.sleep(MD_RETRY_SECONDS)
            await md.retry_refused()

    # ------------------------------------------------------------------ resume

    def resume_strategy(self) -> bool:
        """Resume a strategy paused after one of its hooks raised (also SIGUSR1): it first
        receives the account updates it missed — every fill once, the latest state of each
        order and position — then events as usual. False when it was not paused."""
        dispatcher = self.dispatcher
        if dispatcher is None or not dispatcher.paused:
            _log.info("resume requested; the strategy is not paused")
            return False
        missed = dispatcher.missed
        dispatcher.resume()
        self.alerts.emit(Alert(Severity.ROUTINE, "strategy.resumed",
                               f"Strategy {self.strategy.name} resumed",
                               f"{missed} account updates it missed while paused were "
                               f"delivered first."))
        return True

    def _install_resume_signal(self) -> bool:
        try:
            asyncio.get_running_loop().add_signal_handler(signal.SIGUSR1, self.resume_strategy)
        except (NotImplementedError, RuntimeError, ValueError):
            return False
        return True

    def _report_differences(self, report: SyncReport, connection: int) -> None:
        """A resync after a reconnect: say what changed while we were away."""
        if not report.changed:
            _log.info("resync #%d: account state unchanged", connection)
            return
        body = (f"{len(report.new_fills)} fills, {len(report.busted_fills)} busted fills, "
                f"{len(report.orders)} order status changes and {len(report.positions)} "
                f"position changes happened while the trading socket was disconnected")
        _log.warning("resync #%d: %s", connection, body,
                     extra={"new_fills": [f.fill.id for f in report.new_fills],
                            "orders": [(o.order_id, o.before, o.after) for o in report.orders]})
        severity = Severity.URGENT if report.busted_fills else Severity.ROUTINE
        self.alerts.emit(Alert(severity, "account.resync_differences",
                               "Account changed while disconnected", body))

    def _on_ticket(self, ticket: OrderTicket) -> None:
        """Counts requests sent; one sent while the strategy handled a market event is a
        tick-to-order sample (md event delivered → frame written). A ticket is reported as
        PENDING exactly once, right after it was written; later reports are state changes."""
        if not ticket.sent_ns or ticket.state is not TicketState.PENDING:
            return
        self.metrics.orders_sent += 1
        if self._tick_ns:
            self.metrics.record_tick_to_order(ticket.sent_ns - self._tick_ns)

    # ------------------------------------------------------------------ tasks

    async def _md_read(self) -> None:
        try:
            await self._wired().md.run()
        finally:
            self.connection_ended.notify()

    async def _account_read(self) -> None:
        w = self._wired()
        try:
            await w.trading.run()
        finally:
            w.orders.on_disconnect()
            self.connection_ended.notify()

    async def _watch_log(self) -> None:
        """Alert when the log loses records (queue full) or cannot be written (disk full);
        the trading loop itself never waits for the log."""
        writer = self.log_writer
        assert writer is not None
        dropped = errors = 0
        while True:
            await asyncio.sleep(LOG_CHECK_SECONDS)
            if writer.write_errors > errors:
                errors = writer.write_errors
                self.alerts.emit(Alert(Severity.URGENT, "log.write_failed",
                                       "The log file cannot be written",
                                       f"{errors} failed writes to {writer.path} (disk full or "
                                       f"removed?); trading continues without a complete log"))
            if writer.dropped > dropped:
                dropped = writer.dropped
                self.alerts.emit(Alert(Severity.ROUTINE, "log.dropped",
                                       "Log records dropped",
                                       f"{dropped} records dropped because the log queue was "
                                       f"full"))

    async def _run_strategy(self) -> None:
        """Market-open wait, connections, subscriptions, ``on_start``; then the risk watches
        for ever (the strategy's timers are armed on the event loop by the dispatcher)."""
        settings, w = self.settings, self._wired()
        if settings.waits_for_open:
            self._phase = "waiting for the market open"
            waited = await self._market_open()
            _log.info("waited %.0fs for the market open", waited,
                      extra={"wait_seconds": waited})
        self._phase = "connecting"
        await w.md.wait_ready()
        await w.trading.wait_ready()
        await self.account_changed.until(lambda: self.account.synced)
        await self._subscribe()
        self.frozen_objects = freeze_startup_heap()
        _log.debug("start-up heap frozen: %d objects", self.frozen_objects)
        w.dispatcher.start()
        self.started.set()
        self._notify("on_strategy_started")
        self._phase = ""
        _log.info("strategy %s started", self.strategy.name)
        if self._printer is not None:
            self._printer.show()
        await w.risk.run(RISK_CHECK_SECONDS)

    async def _subscribe(self) -> None:
        md = self._wired().md
        description = ChartDescription(underlying_type="Tick", element_size=1,
                                       element_size_unit="UnderlyingUnits")
        history = TimeRange(as_much_as_elements=TICK_HISTORY)
        for symbol in self.contracts.symbols:
            await self._subscribed(symbol, md.subscribe_quote(symbol))
            await self._subscribed(symbol, md.subscribe_dom(symbol))
            await self._subscribed(symbol, md.get_chart(symbol, description, history))
        _log.info("subscribed quote, DOM and tick chart of %s", ", ".join(self.contracts.symbols))

    @staticmethod
    async def _subscribed(symbol: str, request: Awaitable[object]) -> None:
        try:
            await request
        except (ConnectionLost, RequestTimeout) as exc:
            # Registered before it was sent: the next connection sends it again.
            _log.warning("md subscription for %s interrupted (%s); it is sent again on "
                         "reconnect", symbol, exc)

    async def _end_after_duration(self) -> None:
        assert self.duration is not None
        await self.started.wait()
        await asyncio.sleep(self.duration)
        raise ShutdownRequested(f"{self.duration:g}s elapsed")

    # ------------------------------------------------------------------ shutdown hooks

    async def _halt(self) -> None:
        self._phase = "shutting down"
        self._ran_for = self.metrics.uptime
        reason = self.supervisor.exit_reason or "requested"
        _log.info("shutdown (%s): new orders halted, strategy stopped", reason)
        if self._printer is not None:
            self._printer.say(f"shutting down ({reason}); interrupt again to exit at once")
        w = self._wired()
        w.orders.halt("shutdown")
        if self.started.is_set():
            w.dispatcher.stop()

    async def _unsubscribe(self) -> None:
        md = self._wired().md
        if md.ready:
            await md.unsubscribe_all(response_timeout=2.0)
        _log.info("shutdown: market data unsubscribed")

    async def _secure_positions(self) -> None:
        """Leave no position naked: cancel the entries and keep the protective stops,
        placing one where a position has none (or flatten everything, as configured); over
        REST when the trading socket is down. Waits, bounded, for the account data to
        confirm, then reports what is open and what protects it."""
        w = self._wired()
        config = self.settings.shutdown
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.supervisor.options.shutdown_timeout * SETTLE_FRACTION
        w.gateway.rest_allowed = True
        over_rest = not w.trading.ready
        confirmed = not over_rest
        if over_rest:
            _log.warning("shutdown: the trading socket is down; securing the positions over "
                         "REST")
            confirmed = await self._read_account_over_rest(deadline)
        sent = self._exit_orders(self._plan())
        protecting = {t.contract_id for t in sent
                      if t.kind is TicketKind.PLACE and t.state is not TicketState.REFUSED}
        poller = (loop.create_task(self._poll_account_over_rest(), name="shutdown rest poll")
                  if over_rest and confirmed else None)
        try:
            if confirmed:  # REST unreachable too: nothing could confirm it, do not wait
                async with asyncio.timeout_at(deadline):
                    await self.account_changed.until(lambda: self._exit_settled(protecting))
        except TimeoutError:
            pass
        finally:
            if poller is not None:
                poller.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await poller
        if over_rest:
            confirmed = confirmed and self._rest_reads_ok
        _log.info("shutdown: %d exit requests sent (%s)", len(sent),
                  "flatten" if config.flatten else "cancel entries, keep protective stops")
        self._report_exit(confirmed or w.trading.ready)

    def _plan(self) -> ExitPlan:
        return plan_exit(self.account, self._wired().account_id, self._symbol)

    def _exit_orders(self, plan: ExitPlan) -> list[OrderTicket]:
        """Send what the shutdown settings ask for: liquidations, or cancels of the entries
        and protective stops where a position has none."""
        orders = self._wired().orders
        config = self.settings.shutdown
        if config.flatten:
            return orders.flatten(trigger="shutdown")
        tickets: list[OrderTicket] = []
        if config.cancel_entries:
            cancelling = {o.id for o in plan.entries}
            tickets += [orders.cancel(o.id, trigger="shutdown: entry") for o in plan.entries
                        if o.order.parent_id not in cancelling]  # held legs go with it
        protection = orders.protection
        for position in plan.unprotected:
            ticket = protection.protect(position.contract_id) if protection is not None \
                else None
            if ticket is None:
                _log.error("shutdown: no protective stop can be placed for %s %+d (%s)",
                           position.symbol, position.net, "protective stops are off"
                           if protection is None else "no price or distance, or the market "
                           "is beyond it")
            else:
                tickets.append(ticket)
        return tickets

    def _exit_settled(self, protecting: set[int]) -> bool:
        """The exit requests are confirmed: flat with no working orders (flatten), or the
        entries gone and the stops placed for ``protecting`` (contract ids) working."""
        config = self.settings.shutdown
        account_id = self._wired().account_id
        if config.flatten:
            return not self.account.open_orders(account_id) and all(
                p.net_pos == 0 for p in self.account.positions.values()
                if p.account_id == account_id)
        plan = self._plan()
        return (all(p.contract_id not in protecting for p in plan.unprotected)
                and (not config.cancel_entries or not plan.entries))

    async def _read_account_over_rest(self, deadline: float) -> bool:
        """Replace the (stale) account store with the account read over REST. The account
        reader is not running (the trading socket is down); should it come back meanwhile,
        its own snapshot simply replaces this one."""
        rest = self._rest
        if rest is None:
            return False
        try:
            async with asyncio.timeout_at(deadline):
                message = await read_account(rest)
        except TimeoutError:
            message = None
        self._rest_reads_ok = message is not None
        if message is None:
            return False
        self._account_writer.apply_snapshot(message)
        self.account_changed.notify()
        return True

    async def _poll_account_over_rest(self) -> None:
        while True:
            await asyncio.sleep(REST_POLL_SECONDS)
            await self._read_account_over_rest(asyncio.get_running_loop().time() + 5.0)

    def _report_exit(self, confirmed: bool) -> None:
        """Print (summary), log and alert what is still open and what protects it."""
        plan = self._plan()
        lines = describe(plan, self._symbol, confirmed=confirmed)
        self.exit_lines = lines
        if not lines:
            _log.info("shutdown: flat, no working orders%s",
                      "" if confirmed else " (last known: the server could not be read)")
            if confirmed:
                return
            lines = ["flat, no working orders (last known: the server could not be read)"]
        for line in lines:
            _log.warning("open at exit: %s", line)
        if self._printer is not None:  # at once: the summary may come later, or never
            self._printer.say("open at exit: " + "\n              ".join(lines))
        config = self.settings.shutdown
        failed = self.supervisor.exit_code not in (None, 0)
        urgent = (failed or not confirmed or bool(plan.unprotected)
                  or (bool(plan.entries) and (config.cancel_entries or config.flatten))
                  or (config.flatten and bool(plan.positions)))
        why = f" ({self.supervisor.exit_reason})" if self.supervisor.exit_reason else ""
        if urgent:
            self.alerts.emit(Alert(Severity.URGENT, "shutdown.leftovers",
                                   f"Trading stopped{why}: positions or orders left open",
                                   "\n".join(lines)))
        else:
            self.alerts.emit(Alert(Severity.ROUTINE, "shutdown.open_positions",
                                   f"Trading stopped{why}: positions left open, protected",
                                   "\n".join(lines)))

    def _forced_exit(self) -> None:
        """A second signal: nothing more is sent; say in one line what is known to be open."""
        w = self._w
        if w is None:
            return
        plan = self._plan()
        parts = [line.split(" (", 1)[0] for line in describe(plan, self._symbol,
                                                             confirmed=True)]
        line = ("exiting at once (second interrupt); nothing more is sent. Open: "
                + ("; ".join(parts) if parts else "flat, no working orders"))
        _log.warning("%s", line)
        if self._printer is not None:
            self._printer.say(line)

    async def _final_summary(self) -> None:
        report = await self.reports.final_report() or self.report("session_end")
        self.summary = report
        dispatcher = self._w.dispatcher if self._w is not None else None
        hooks = dispatcher.stats if dispatcher is not None and dispatcher.measure_hooks else None
        self.summary_text = format_summary(report, self.metrics, self.settings.environment,
                                           self._ran_for or self.metrics.uptime,
                                           self.supervisor.exit_reason, hooks,
                                           self.exit_lines)
        _log.info("final summary\n%s", self.summary_text,
                  extra={"summary": msgspec.to_builtins(report.summary),
                         "metrics": msgspec.to_builtins(self.metrics.snapshot())})

    async def _flush_log(self) -> None:
        writer = self.log_writer
        if writer is not None:
            _log.info("shutdown: flushing the log; closing the sockets next")
            await asyncio.to_thread(writer.flush)

    async def _close_sockets(self) -> None:
        w = self._wired()
        for session in (w.md, w.trading):
            await session.close("shutdown")

    # ------------------------------------------------------------------ reading

    def _tickets(self) -> Iterable[OrderTicket]:
        return self.orders.tickets.values() if self.orders is not None else ()

    def report(self, kind: ReportKind = "manual") -> ReportData:
        """A report of the run so far (not saved, not sent)."""
        return build_report(self.account, self.market, self.metrics, self._tickets(),
                            kind=kind, now_ms=self.clock(), history=self.reports.history)

    def _symbol(self, contract_id: int) -> str:
        spec = self.contracts.get(contract_id)
        return spec.symbol if spec is not None else str(contract_id)

    def status(self) -> StatusSnapshot:
        """The data of the status line, from the read-only views (P&L of the current trade
        date over the run's instruments, carried positions included; unknown P&L shows as
        such, with the server's position)."""
        account_id = self.account_id
        spec = self.contracts.get(self.symbol) if self.symbol else None
        net = 0
        avg = open_pnl = last_price = None
        realized: float | None = 0.0
        if spec is not None:
            quote = self.market.quote(spec.contract_id)
            last_price = None if quote is None else quote.last
        opens: list[float | None] = []
        for contract_id in self.contracts.contract_ids if account_id is not None else ():
            try:
                pnl = self.account.pnl(account_id or 0, contract_id,
                                       self.market.mark_price(contract_id))
            except PnLUnknown:
                realized = None
                opens.append(None)
                if spec is not None and contract_id == spec.contract_id:
                    position = self.account.position(account_id or 0, contract_id)
                    net = 0 if position is None else position.net_pos
                continue
            realized = None if realized is None or pnl.unpriced else (
                realized + pnl.net_realized)
            opens.append(pnl.open)
            if spec is not None and pnl.contract_id == spec.contract_id:
                net, avg = pnl.net_pos, pnl.avg_price
        if opens and all(o is not None for o in opens):
            open_pnl = sum(o or 0.0 for o in opens)
        elif not opens:
            open_pnl = 0.0
        word = self._phase
        if not word and self.dispatcher is not None and self.dispatcher.paused:
            word = "strategy paused"
        if not word and self.orders is not None and self.orders.halted:
            word = f"halted: {self.orders.halted}"
        return StatusSnapshot(
            md_connected=self.md is not None and self.md.ready,
            trading_connected=self.trading is not None and self.trading.ready,
            symbol=self.symbol or "-", last_price=last_price, net_pos=net, avg_price=avg,
            realized=realized, open_pnl=open_pnl,
            working_orders=len(self.account.open_orders(account_id)) if account_id else 0,
            fills=self.metrics.fills, reconnects=self.metrics.total_reconnects, strategy=word)

    def status_line(self) -> str:
        return format_status(self.status())


def _kinds(entities: Iterable[UnknownEntity]) -> str:
    counts: dict[str, int] = {}
    for entity in entities:
        counts[entity.entity_type] = counts.get(entity.entity_type, 0) + 1
    return ", ".join(f"{n} {kind}" for kind, n in sorted(counts.items()))
