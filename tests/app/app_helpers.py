"""Helpers for the TradingApp integration tests: a recording strategy, settings pointing at an
in-process simulator, a running-app context manager, and the account-vs-ledger comparison."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

from tradovate_api.alerts import AlertLog
from tradovate_api.client import ConnectionOptions
from tradovate_api.protocol.models import Position
from tradovate_api.runtime import BackoffPolicy, BreakerPolicy, SupervisorOptions
from tradovate_api.runtime.app import TradingApp
from tradovate_api.secrets import Secret, TradovateCredentials
from tradovate_api.settings import Settings, settings_from_mapping
from tradovate_api.simulator import Simulator
from tradovate_api.stores import DomBook, NewFill, OrderState, QuoteState, TradesAdded
from tradovate_api.strategy import Strategy

OPTIONS = ConnectionOptions(heartbeat_interval=0.1, silence_timeout=1.0, open_timeout=1.0,
                            authorize_timeout=2.0, request_timeout=3.0, close_timeout=1.0)
SUPERVISION = SupervisorOptions(backoff=BackoffPolicy(initial=0.05, maximum=0.3, jitter=0.2),
                                breaker=BreakerPolicy(),
                                shutdown_timeout=6.0, cancel_timeout=1.0)
"""The shipped circuit breaker; only the pacing (back-off, shutdown budget) is shorter, so a
test runs in seconds."""
CREDENTIALS = TradovateCredentials(name="sim", password=Secret("sim"))


class Notifier:
    """Wakes every waiter when something changed."""

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def notify(self) -> None:
        event, self._event = self._event, asyncio.Event()
        event.set()

    async def until(self, predicate: Callable[[], bool], limit: float = 10.0) -> None:
        async with asyncio.timeout(limit):
            while not predicate():
                await self._event.wait()


class Recorder(Strategy):
    """Records every hook call as ``(hook, argument)``."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, Any]] = []
        self.changed = Notifier()

    def _record(self, hook: str, arg: Any = None) -> None:
        self.calls.append((hook, arg))
        self.changed.notify()

    def on_start(self) -> None:
        self._record("start")

    def on_quote(self, quote: QuoteState) -> None:
        self._record("quote", quote)

    def on_dom(self, book: DomBook) -> None:
        self._record("dom", book)

    def on_trade(self, trades: TradesAdded) -> None:
        self._record("trade", trades)

    def on_order(self, order: OrderState) -> None:
        self._record("order", order)

    def on_fill(self, fill: NewFill) -> None:
        self._record("fill", fill)

    def on_position(self, position: Position) -> None:
        self._record("position", position)

    def on_stop(self) -> None:
        self._record("stop")

    def of(self, hook: str, since: int = 0) -> list[Any]:
        return [arg for name, arg in self.calls[since:] if name == hook]

    async def until(self, predicate: Callable[[], bool], limit: float = 10.0) -> None:
        await self.changed.until(predicate, limit)


def front(sim: Simulator, product: str) -> str:
    return next(i.name for i in sim.catalog if i.product.name == product)


def make_settings(sim: Simulator, tmp_path: Path, **sections: Any) -> Settings:
    """Settings for ``sim`` (URL overrides), files under ``tmp_path``, fast timings."""
    raw: dict[str, Any] = {
        "environment": "sim",
        "urls": {"rest": sim.rest_url, "trading_ws": sim.ws_url, "md_ws": sim.md_url},
        "instruments": [front(sim, "ES"), front(sim, "NQ")],
        "log": {"path": str(tmp_path / "app.jsonl")},
        "auth": {"token_cache": str(tmp_path / "token.json")},
        "reports": {"directory": str(tmp_path / "reports")},
        "connection": {"heartbeat_seconds": 0.1, "silence_timeout_seconds": 1.0,
                       "request_timeout_seconds": 3.0},
        "shutdown": {"timeout_seconds": 6.0},
    }
    for key, value in sections.items():
        if isinstance(value, dict) and isinstance(raw.get(key), dict):
            raw[key] = {**raw[key], **value}
        else:
            raw[key] = value
    return settings_from_mapping(raw)


def sim_clock_ms(sim: Simulator) -> Callable[[], int]:
    """The simulator's clock in epoch ms: the client side runs on the same time."""
    return lambda: int(sim.clock() * 1000)


def make_app(sim: Simulator, settings: Settings, strategy: Strategy,
             alerts: AlertLog | None = None, **options: Any) -> TradingApp:
    """A TradingApp against ``sim`` (settings from :func:`make_settings`), on its clock."""
    options.setdefault("connection_options", OPTIONS)
    options.setdefault("supervisor_options", SUPERVISION)
    options.setdefault("clock", sim_clock_ms(sim))
    return TradingApp(settings, CREDENTIALS, strategy, alerts=alerts or AlertLog(),
                      handle_signals=False, **options)


class Run:
    """A running app: its task, and its exit code once it ended."""

    def __init__(self, app: TradingApp, task: asyncio.Task[int]) -> None:
        self.app = app
        self.task = task
        self.code: int | None = None

    async def stop(self, limit: float = 15.0) -> int:
        self.app.request_shutdown("test over")
        self.code = await asyncio.wait_for(self.task, limit)
        return self.code


@contextlib.asynccontextmanager
async def running(app: TradingApp, limit: float = 15.0) -> AsyncIterator[Run]:
    """Start ``app``; yield once its strategy has started; shut it down on exit."""
    run = Run(app, asyncio.create_task(app.run()))
    try:
        started = asyncio.create_task(app.started.wait())
        done, _ = await asyncio.wait({started, run.task}, timeout=limit,
                                     return_when=asyncio.FIRST_COMPLETED)
        started.cancel()
        if run.task in done:
            raise AssertionError(f"the app ended before starting: code {run.task.result()}, "
                                 f"{app.start_error or app.supervisor.exit_reason}")
        if not done:
            raise AssertionError("the app did not start in time")
        yield run
    finally:
        if not run.task.done():
            await run.stop()


def ledger_differences(app: TradingApp, sim: Simulator) -> list[str]:
    """How the app's account store differs from the simulator's own ledger (empty: equal)."""
    account_id = app.account_id
    assert account_id is not None
    user = sim.exchange.account(account_id)
    assert user is not None
    sync = sim.exchange.sync(user.user_id)
    problems = []
    for position in sync.positions:
        mine = app.account.position(position.account_id, position.contract_id)
        if mine != position:
            problems.append(f"position {position.contract_id}: {mine} != {position}")
    for order in sync.orders:
        state = app.account.order(order.id)
        if state is None or state.order != order:
            problems.append(f"order {order.id}: {state and state.order} != {order}")
    server_fills = {f.id for f in sync.fills if f.active}
    my_fills = {f.id for f in app.account.fills() if f.active}
    if server_fills != my_fills:
        problems.append(f"fills {sorted(my_fills)} != {sorted(server_fills)}")
    for cash in sync.cash_balances:
        if app.account.cash_balance(cash.account_id) != cash:
            problems.append(f"cash {app.account.cash_balance(cash.account_id)} != {cash}")
    return problems


async def until_ledger_matches(app: TradingApp, sim: Simulator, limit: float = 10.0) -> None:
    try:
        await asyncio.wait_for(app.account_changed.until(
            lambda: not ledger_differences(app, sim)), limit)
    except TimeoutError:
        raise AssertionError("account store differs from the simulator: "
                             + "; ".join(ledger_differences(app, sim))) from None


class WatchedAlerts(AlertLog):
    """An alert log that wakes waiters on every alert."""

    def __init__(self) -> None:
        super().__init__()
        self.changed = Notifier()

    def emit(self, alert: Any) -> None:
        super().emit(alert)
        self.changed.notify()

    async def until_key(self, key: str, limit: float = 10.0) -> None:
        await self.changed.until(lambda: key in self.keys(), limit)


class SocketGate:
    """A TCP relay on 127.0.0.1 in front of one server port: the app's websockets go through
    it so a test can make them unreachable (``cut``: every relayed connection dropped and new
    ones refused) while REST still reaches the server directly, and reachable again
    (``reopen``, same port)."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.port = 0
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self.accepted = 0

    @property
    def is_open(self) -> bool:
        return self._server is not None

    async def open(self) -> None:
        self._server = await asyncio.start_server(self._relay, "127.0.0.1", self.port,
                                                  reuse_address=True)
        self.port = self._server.sockets[0].getsockname()[1]

    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/v1/websocket"

    async def cut(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.close()
        for writer in list(self._writers):
            writer.transport.abort()
        self._writers.clear()
        if server is not None:
            await server.wait_closed()

    async def reopen(self) -> None:
        await self.open()

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.accepted += 1
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        except OSError:
            writer.transport.abort()
            return
        self._writers.update((writer, up_writer))

        async def pump(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
            try:
                while data := await source.read(65536):
                    sink.write(data)
                    await sink.drain()
            except (ConnectionError, OSError):
                pass
            finally:
                sink.transport.abort()

        await asyncio.gather(pump(reader, up_writer), pump(up_reader, writer))
        self._writers.difference_update((writer, up_writer))


def gated_urls(sim: Simulator, trading: SocketGate, md: SocketGate) -> dict[str, str]:
    """Settings ``[urls]``: REST straight to ``sim``, both websockets through the gates."""
    return {"rest": sim.rest_url, "trading_ws": trading.url(), "md_ws": md.url()}
