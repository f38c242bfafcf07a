"""The trading application: one run of ``tradovate-api run``, from start to exit code.

:class:`TradingApp` loads nothing itself (the CLI reads settings and secrets) and owns one
run's lifecycle: on ``sim`` without URL overrides it starts the embedded simulator in-process
(``embedded_simulator``); it builds the stores at construction, then has ``wiring`` log in
(token cached 0600), pick the account, resolve the contracts and build the sessions, the order
manager, the risk manager and the dispatcher, and runs the named tasks of the original design
under the :class:`~tradovate_api.runtime.Supervisor`:

=================  ===========  ====================================================
task               policy       what it does
=================  ===========  ====================================================
md read            reconnect    the market-data socket; its reader is the only
                                writer of the market store
account read       reconnect    the trading socket; its reader is the only writer of
                                the account store (with ``[[logins]]``: one task per
                                login, ``account read NAME``, each writing only its
                                login's accounts)
order outcomes     essential    :class:`~tradovate_api.orders.OutcomeResolver`: settles
                                orders whose answer was lost from the server's
                                order list, after the grace period
token renewal      essential    ``AuthManager.run_renewal`` (one per login)
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
account reader callbacks call the account store's writer (both in ``readers``; one account
reader per login, whose snapshots replace only its login's accounts — ``logins``);
everything else (strategy context, risk, reports, status) gets the read-only views.

Shutdown (first SIGINT/SIGTERM, ``request_shutdown``, ``--duration``, a fatal end) is the
``shutdown`` sequence: halt, unsubscribe, secure the positions and report what is open, final
summary, extra hooks, flush the log, close the sockets. A second signal exits at once (code
130). SIGUSR1 resumes a strategy paused by an exception (:meth:`TradingApp.resume_strategy`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Awaitable, Callable, Coroutine, Iterable, Mapping
from typing import TYPE_CHECKING, TextIO

import msgspec

from ..alerts import Alert, AlertLog, AlertSink, Severity
from ..auth import AuthManager
from ..client import ConnectionOptions, FrameObserver, MarketDataSession, TradingSession
from ..errors import TradovateError
from ..logwriter import LogWriter, setup_logging
from ..market_hours import MarketHours
from ..notify.message import Notification
from ..orders import ContractBook, OrderManager, OrderTicket, OutcomeResolver
from ..orders.copier import CopierService, summary_lines
from ..orders.risk import RiskManager
from ..reports import ReportData, ReportKind, ReportScheduler, ReportSources, build_report
from ..secrets import TradovateCredentials
from ..settings import Endpoints, Settings
from ..stores import (
    AccountView,
    MarketDataView,
    create_account_store,
    create_market_store,
    wall_clock_ms,
)
from ..strategy import Strategy
from ..strategy.dispatch import Dispatcher
from ..strategy.loading import load_strategy
from .accounts import AccountIntents, AccountRun, StrategyRun, intents_by_account
from .busy_poll import BusyPoller
from .changed import Changed
from .copier_wiring import CopierObserver
from .embedded_simulator import front_months, make_embedded_simulator, start_embedded_simulator
from .heap import freeze_startup_heap, thaw
from .log_watch import watch_log
from .logins import LoginRun
from .metrics import RuntimeMetrics
from .observer import AppObserver, fan_out, notify
from .readers import Readers
from .shutdown import ShutdownSequence
from .status import (
    StatusPrinter,
    StatusSnapshot,
    UrgentOnScreen,
    format_status,
    format_summary,
    read_status,
)
from .supervisor import (
    EXIT_FAILURE,
    Policy,
    ShutdownHook,
    ShutdownRequested,
    Supervisor,
    SupervisorOptions,
    TaskFactory,
)
from .wiring import Opened, Wiring, wire

if TYPE_CHECKING:
    from ..simulator import Simulator, SimulatorConfig

_log = logging.getLogger("tradovate_api.runtime.app")

RISK_CHECK_SECONDS = 0.25
"""Cadence of the time-based risk watches (kill-switch file, daily loss as prices move,
protective stops); fills and snapshots are checked as they arrive."""

Submit = Callable[[Notification], object]
"""Where report notifications go (the notification center's ``submit``; must not block)."""


class TradingApp:
    """One run of the settings' strategies on their accounts. ``await run()`` returns the exit
    code (0 clean, 1 failure, 130 forced by a second signal)."""

    def __init__(self, settings: Settings, credentials: TradovateCredentials,
                 strategy: Strategy | None = None, *, alerts: AlertSink | None = None,
                 endpoints: Endpoints | None = None,
                 clock: Callable[[], int] = wall_clock_ms,
                 simulator_config: SimulatorConfig | None = None,
                 duration: float | None = None, status: TextIO | None = None,
                 submit: Submit | None = None, handle_signals: bool = True,
                 supervisor_options: SupervisorOptions | None = None,
                 connection_options: ConnectionOptions | None = None,
                 market_open: Callable[[], Awaitable[float]] | None = None,
                 logins: Mapping[str, TradovateCredentials] | None = None) -> None:
        """``strategy``: the instance to run in the single case (one strategy on one account,
        no ``[[strategies]]``); ``None``: every strategy is loaded from the settings, one
        instance per account it trades. ``endpoints`` overrides the settings' addresses;
        ``status`` gets the live status line; ``submit`` receives report notifications. The
        option arguments replace what the settings give (tests and tools):
        ``supervisor_options``, ``connection_options`` and ``market_open`` (waits for the
        open, returns the seconds waited). ``credentials``: the primary login's; ``logins``:
        each ``[[logins]]`` entry's, by its name (on ``sim`` a missing one is the
        simulator's user named like the login)."""
        self.settings = settings
        self.strategies = _instances(settings, strategy)
        """Per entry of ``settings.strategy_list()``: its instance for each account it
        trades."""
        self.strategy = self.strategies[0][0]
        """The first strategy's first instance (the only one in the single case)."""
        self.alerts: AlertSink = alerts if alerts is not None else AlertLog()
        self._on_screen: UrgentOnScreen | None = None
        if status is not None:
            self.alerts = self._on_screen = UrgentOnScreen(self.alerts, status)
        self.clock = clock
        self.duration = duration
        self._credentials = credentials
        self._logins = dict(logins or {})
        self._status_stream = status
        self._handle_signals = handle_signals
        self._connection_options = connection_options
        self._market_open = market_open or MarketHours(settings.market.calendar).wait_for_open
        self.endpoints = endpoints or settings.endpoints()
        self.simulator: Simulator | None = None
        """The embedded simulator (``sim`` without URL overrides), else ``None``."""
        commissions = dict(settings.trading.commission_per_side)
        if self.endpoints is None:
            named = [a.name for a in settings.accounts if a.name is not None and a.login is None]
            under = {login.name: [a.name for a in settings.accounts if a.name is not None
                                  and a.login == login.name] for login in settings.logins}
            self.simulator, clock = make_embedded_simulator(simulator_config, clock, named,
                                                            under)
            self.clock = clock
            for inst in self.simulator.catalog:
                commissions.setdefault(inst.product.name, inst.commission_per_side)
        self.metrics = RuntimeMetrics()
        market, md_writer = create_market_store(clock_ms=clock)
        account, self._account_writer = create_account_store(commission_per_side=commissions)
        self.market: MarketDataView = market
        self.account: AccountView = account
        self.reports = ReportScheduler(settings.reports, ReportSources(
            self.account, self.market, self.metrics, self._tickets), submit=submit)
        self.supervisor = Supervisor(self.alerts, supervisor_options
                                     or SupervisorOptions.from_settings(settings))
        self._w: Wiring | None = None
        self._opened = Opened()
        self.contracts = ContractBook()
        self.symbol = ""
        """The traded contract."""
        self.log_writer: LogWriter | None = None
        self.started = asyncio.Event()
        """Set once the strategy's ``on_start`` has run."""
        self.summary: ReportData | None = None
        """The final report (set by the shutdown sequence)."""
        self.summary_text = ""
        self.account_changed = Changed()
        """Notified after every account event the reader applied."""
        self.connection_ended = Changed()
        """Notified whenever the md or trading connection has ended (or failed to open)."""
        self._extra_tasks: list[tuple[str, TaskFactory, Policy]] = []
        self._extra_hooks: list[tuple[str, ShutdownHook, bool]] = []
        self._frame_observers: list[FrameObserver] = []
        self._observers: list[AppObserver] = []
        self._readers = Readers(md_writer, self._account_writer, self.metrics,
                                self._observers, self.account_changed, self.alerts)
        self._shutdown: ShutdownSequence | None = None
        self.start_error = ""
        """Why the run could not start (empty when it did)."""
        self._printer: StatusPrinter | None = None
        self._phase = "starting"
        self._ran_for: float | None = None
        """Seconds from start to the beginning of the shutdown sequence."""
        self.busy_poller: BusyPoller | None = None
        """The spinning task's counter, with ``connection.busy_poll``."""
        self.frozen_objects = 0
        """Objects the garbage collector skips during the run (see ``heap.py``)."""

    # ------------------------------------------------------------------ parts (after start)

    def _wired(self) -> Wiring:
        if self._w is None:
            raise RuntimeError("the app has not started")
        return self._w

    @property
    def auth(self) -> AuthManager | None:
        return self._opened.auth

    @property
    def md(self) -> MarketDataSession | None:
        return None if self._w is None else self._w.md

    @property
    def trading(self) -> TradingSession | None:
        return None if self._w is None else self._w.trading

    @property
    def trading_sessions(self) -> tuple[TradingSession, ...]:
        """Every login's trading connection, the primary's first (empty before start)."""
        return () if self._w is None else tuple(login.trading for login in self._w.logins)

    @property
    def copier(self) -> CopierService | None:
        """The trade copier (settings ``[copier]``), once started."""
        return self._w.copier if self._w is not None else None

    @property
    def accounts(self) -> tuple[AccountRun, ...]:
        """The traded accounts (each with its risk and order manager), once started."""
        return () if self._w is None else self._w.accounts

    @property
    def runs(self) -> tuple[StrategyRun, ...]:
        """Every strategy on every account it trades, once started."""
        return () if self._w is None else self._w.runs

    def intents(self) -> Mapping[int, AccountIntents]:
        """Account id → the account's order intents (for what orders on accounts without
        being a strategy: the trade copier)."""
        return intents_by_account(self.accounts)

    @property
    def orders(self) -> OrderManager | None:
        """The first account's order manager (the only one in the single case)."""
        return None if self._w is None else self._w.accounts[0].orders

    @property
    def resolver(self) -> OutcomeResolver | None:
        return None if self._w is None else self._w.accounts[0].resolver

    @property
    def risk(self) -> RiskManager | None:
        """The first account's risk manager."""
        return None if self._w is None else self._w.accounts[0].risk

    @property
    def dispatcher(self) -> Dispatcher | None:
        """The first strategy run's dispatcher (the only one in the single case)."""
        return None if self._w is None else self._w.runs[0].dispatcher

    @property
    def account_id(self) -> int | None:
        """The first account's id."""
        return None if self._w is None else self._w.accounts[0].account_id

    @property
    def exit_lines(self) -> list[str]:
        """What was still open when the run stopped and what protects it (one line per
        position or working order; set by the shutdown sequence)."""
        return [] if self._shutdown is None else self._shutdown.exit_lines

    # ------------------------------------------------------------------ extension points

    def add_task(self, name: str, factory: TaskFactory,
                 policy: Policy = Policy.ESSENTIAL) -> None:
        """Run another supervised task (journal writer, recorder...). Call before ``run``."""
        self._extra_tasks.append((name, factory, policy))

    def add_frame_observer(self, observer: FrameObserver) -> None:
        """Give ``observer`` every raw market-data frame before it is decoded (recording).
        Observers are called in the order added; call before ``run``."""
        self._frame_observers.append(observer)

    def add_observer(self, observer: AppObserver) -> None:
        """Tell ``observer`` what the readers apply (journal, md recorder). Call before
        ``run``."""
        self._observers.append(observer)

    def add_shutdown_hook(self, name: str, hook: ShutdownHook, *, final: bool = False) -> None:
        """Run ``hook`` at shutdown after the final summary, before the log is flushed and
        the sockets are closed; ``final``: even when the shutdown time is used up (closing
        what holds data: the journal, a recording)."""
        self._extra_hooks.append((name, hook, final))

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
            kill_signal = self._handle_signals and self._install_kill_signal()
            resume_signal = self._handle_signals and self._install_resume_signal()
            try:
                code = await self.supervisor.run(handle_signals=self._handle_signals)
            finally:
                loop = asyncio.get_running_loop()
                if kill_signal:
                    loop.remove_signal_handler(signal.SIGUSR2)
                if resume_signal:
                    loop.remove_signal_handler(signal.SIGUSR1)
                for login in self._wired().logins:
                    login.guard.close()
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
        names = ([s.name for s in self.settings.strategies] if self.settings.strategies
                 else [self.strategy.name])
        _log.info("tradovate-api run: environment %s, strategy %s", self.settings.environment,
                  ", ".join(names))

    async def _prepare(self) -> None:
        """Simulator, then the wiring: login, account, contracts, order path, sessions."""
        endpoints = self.endpoints
        if self.simulator is not None:
            endpoints = await start_embedded_simulator(self.simulator)
        assert endpoints is not None
        w = self._w = await wire(
            self.settings, self._credentials, endpoints, self.strategies, alerts=self.alerts,
            clock=self.clock, market=self.market, account=self.account,
            account_writer=self._account_writer, metrics=self.metrics, readers=self._readers,
            frame_observer=fan_out(self._frame_observers),
            connection_options=self._connection_options,
            sim_symbols=None if self.simulator is None else front_months(self.simulator),
            opened=self._opened, logins=self._logins)
        self.contracts = w.contracts
        self.symbol = w.symbols[0]
        if w.copier is not None:
            readers = self._readers
            self._observers.append(CopierObserver(w.copier, lambda: readers.account_event_ns))
        notify(self._observers, "on_prepared", self)
        for run in w.runs:
            _log.info("strategy %s trades %s on account %s", run.name,
                      run.dispatcher.ctx.trading_symbol, run.account.name)
        _log.info("instruments %s", ", ".join(w.symbols))

    def _register(self) -> None:
        sup, w = self.supervisor, self._wired()
        sup.add_task("md read", self._md_read, Policy.RECONNECT)
        for login in w.logins:
            named = f" {login.name}" if login.name else ""
            sup.add_task(f"account read{named}", self._account_reader(login), Policy.RECONNECT)
        sup.add_task("order outcomes", self._resolve_outcomes)
        for login in w.logins:
            sup.add_task(f"token renewal{f' {login.name}' if login.name else ''}",
                         login.auth.run_renewal)
        sup.add_task("log writer", self._watch_log)
        sup.add_task("periodic report", self.reports.run)
        sup.add_task("strategy", self._run_strategy)
        sup.add_task("md refusals", w.subscriptions.retry_refused)
        if self._status_stream is not None:
            self._printer = StatusPrinter(self.status_line, self._status_stream)
            if self._on_screen is not None:
                self._on_screen.show_with(self._printer)
            sup.add_task("status", self._printer.run)
        if self.duration is not None:
            sup.add_task("duration", self._end_after_duration)
        if self.settings.connection.busy_poll:
            self.busy_poller = BusyPoller()
            sup.add_task("busy poll", self.busy_poller.run)
            _log.info("busy-poll mode: the event loop never sleeps (one CPU core at 100%%)")
        for name, factory, policy in self._extra_tasks:
            sup.add_task(name, factory, policy)
        self._shutdown = ShutdownSequence(
            self.settings.shutdown, w, sup, account=self.account,
            account_writer=self._account_writer, account_changed=self.account_changed,
            alerts=self.alerts, printer=self._printer, started=self.started,
            log_writer=self.log_writer, began=self._shutting_down)
        self._shutdown.register(self._final_summary, self._extra_hooks)

    async def _clean_up(self) -> None:
        if self.frozen_objects:
            thaw()
            self.frozen_objects = 0
        if self._printer is not None:
            self._printer.end_line()
        await self._opened.close()
        if self.simulator is not None:
            with contextlib.suppress(Exception):
                await self.simulator.stop()
        writer, self.log_writer = self.log_writer, None
        if writer is not None:
            await asyncio.to_thread(writer.close)

    # ------------------------------------------------------------------ resume

    def resume_strategy(self) -> bool:
        """Resume the strategies paused after one of their hooks raised (also SIGUSR1): each
        first receives the account updates it missed — every fill once, the latest state of
        each order and position — then events as usual. False when none was paused."""
        paused = [run for run in self.runs if run.dispatcher.paused]
        if not paused:
            _log.info("resume requested; no strategy is paused")
            return False
        for run in paused:
            missed = run.dispatcher.missed
            run.dispatcher.resume()
            name = run.strategy.name if len(self.runs) == 1 else run.label
            self.alerts.emit(Alert(Severity.ROUTINE, "strategy.resumed",
                                   f"Strategy {name} resumed",
                                   f"{missed} account updates it missed while paused were "
                                   f"delivered first."))
        return True

    def _install_kill_signal(self) -> bool:
        """SIGUSR2 kills every account (each risk manager halts and flattens its own)."""
        def kill_all() -> None:
            for account in self.accounts:
                account.risk.kill("signal SIGUSR2")
        try:
            asyncio.get_running_loop().add_signal_handler(signal.SIGUSR2, kill_all)
        except (NotImplementedError, RuntimeError, ValueError):
            return False
        return True

    def _install_resume_signal(self) -> bool:
        try:
            asyncio.get_running_loop().add_signal_handler(signal.SIGUSR1, self.resume_strategy)
        except (NotImplementedError, RuntimeError, ValueError):
            return False
        return True

    # ------------------------------------------------------------------ tasks

    async def _md_read(self) -> None:
        try:
            await self._wired().md.run()
        finally:
            self.connection_ended.notify()

    def _account_reader(self, login: LoginRun) -> Callable[[], Awaitable[None]]:
        """The task reading ``login``'s trading connection (the only writer of its accounts
        in the account store)."""
        async def read() -> None:
            try:
                await login.trading.run()
            finally:
                for account in login.accounts:
                    account.orders.on_disconnect()
                self.connection_ended.notify()
        return read

    async def _resolve_outcomes(self) -> None:
        await _together([account.resolver.run() for account in self._wired().accounts])

    async def _watch_log(self) -> None:
        writer = self.log_writer
        assert writer is not None
        await watch_log(writer, self.alerts)

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
        for login in w.logins:
            await login.trading.wait_ready()
        await self.account_changed.until(
            lambda: self.account.synced and all(login.readers.snapshots for login in w.logins))
        await w.subscriptions.subscribe()
        self.frozen_objects = freeze_startup_heap()
        _log.debug("start-up heap frozen: %d objects", self.frozen_objects)
        for run in w.runs:
            run.dispatcher.start()
        self.started.set()
        notify(self._observers, "on_strategy_started")
        self._phase = ""
        _log.info("strategies started: %s", ", ".join(run.label for run in w.runs))
        if self._printer is not None:
            self._printer.show()
        await _together([account.risk.run(RISK_CHECK_SECONDS) for account in w.accounts])

    async def _end_after_duration(self) -> None:
        assert self.duration is not None
        await self.started.wait()
        await asyncio.sleep(self.duration)
        raise ShutdownRequested(f"{self.duration:g}s elapsed")

    # ------------------------------------------------------------------ shutdown hooks

    def _shutting_down(self) -> None:
        self._phase = "shutting down"
        self._ran_for = self.metrics.uptime

    async def _final_summary(self) -> None:
        """The summary is written as soon as the final report is composed: saving it and
        rendering its charts (a child process, seconds on a busy machine) come after, so a
        slow render that runs into the shutdown time limit never costs the summary."""
        await self.reports.final_report(composed=self._summarize)
        if not self.summary_text:  # the final report is off in the settings, or failed
            self._summarize(self.report("session_end"))

    def _summarize(self, report: ReportData) -> None:
        self.summary = report
        dispatcher = self.dispatcher
        hooks = dispatcher.stats if dispatcher is not None and dispatcher.measure_hooks else None
        self.summary_text = format_summary(report, self.metrics, self.settings.environment,
                                           self._ran_for or self.metrics.uptime,
                                           self.supervisor.exit_reason, hooks,
                                           self.exit_lines, self._limits_text())
        copier = self._w.copier if self._w is not None else None
        if copier is not None:
            self.summary_text += "\n" + "\n".join(summary_lines(copier.summary()))
        _log.info("final summary\n%s", self.summary_text,
                  extra={"summary": msgspec.to_builtins(report.summary),
                         "metrics": msgspec.to_builtins(self.metrics.snapshot())})

    # ------------------------------------------------------------------ reading

    def _tickets(self) -> Iterable[OrderTicket]:
        for account in self.accounts:
            yield from account.orders.tickets.values()

    def report(self, kind: ReportKind = "manual") -> ReportData:
        """A report of the run so far (not saved, not sent)."""
        return build_report(self.account, self.market, self.metrics, self._tickets(),
                            kind=kind, now_ms=self.clock(), history=self.reports.history)

    def status(self) -> StatusSnapshot:
        """The data of the status line (``status.read_status``), with a word about the run:
        its phase, a paused strategy or halted orders."""
        word = self._phase
        several = len(self.runs) > 1
        paused = [run.label for run in self.runs if run.dispatcher.paused]
        if not word and paused:
            word = f"paused: {', '.join(paused)}" if several else "strategy paused"
        halted = [(a.name, a.orders.halted) for a in self.accounts if a.orders.halted]
        if not word and halted:
            word = "; ".join(f"halted {name}: {why}" if len(self.accounts) > 1 else
                             f"halted: {why}" for name, why in halted)
        return read_status(self.account, self.market, self.contracts, self.symbol,
                           [(a.account_id, a.name) for a in self.accounts], self.metrics,
                           md_connected=self.md is not None and self.md.ready,
                           trading_connected=self._w is not None and all(
                               login.trading.ready for login in self._w.logins),
                           word=word, limits=self._limits_text())

    def _limits_text(self) -> str:
        """Each account's distances to its trailing level and the exchange's limits (named
        when the run has several accounts)."""
        described = [(a.name, a.risk.describe_limits()) for a in self.accounts]
        if len(described) == 1:
            return described[0][1]
        return "; ".join(f"{name}: {text}" for name, text in described if text)

    def status_line(self) -> str:
        return format_status(self.status())


def _instances(settings: Settings, strategy: Strategy | None) -> list[list[Strategy]]:
    """One instance of each strategy per account it trades: ``strategy`` itself in the single
    case when given, else each loaded from its class."""
    plan = settings.strategy_list()
    if strategy is not None:
        if len(plan) != 1 or len(plan[0].accounts) != 1:
            raise ValueError("a strategy instance is only given for one strategy on one "
                             "account; with [[strategies]] each is loaded from its class")
        return [[strategy]]
    return [[load_strategy(entry.class_) for _ in entry.accounts] for entry in plan]


async def _together(jobs: list[Coroutine[object, object, None]]) -> None:
    """Run one job per account as one task: the first to fail ends the others and raises
    its own exception (what the supervisor reports)."""
    try:
        async with asyncio.TaskGroup() as group:
            for job in jobs:
                group.create_task(job)
    except ExceptionGroup as failed:
        raise failed.exceptions[0] from None
