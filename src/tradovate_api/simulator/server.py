"""The simulator process: two aiohttp servers, the market ticker, and their shared state.

Mirroring Tradovate's host split, the first port serves REST under ``/v1/...`` and the trading
websocket at ``/v1/websocket``; the md port serves the market-data websocket at
``/v1/websocket``. A ticker task steps the market generator every ``tick_interval`` while the
market trades (by the simulator's clock and :mod:`.calendar`), pushes the md events to
subscribers, lets the exchange match resting orders and routes the resulting entity changes;
when a maintenance window begins it sends every socket a ``shutdown`` event and closes it.
:meth:`Simulator.restart` drops every connection and listens again on the same ports with all
state (accounts, orders, tokens, market) kept.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import random
import time
from collections.abc import Callable
from types import TracebackType

import msgspec
from aiohttp import web

from ..errors import ConfigError
from .config import AccountConfig, SimulatorConfig, auto_liq_entity, build_instruments
from .engine import Exchange
from .faults import Faults, SocketKind
from .hours import MarketSchedule
from .instruments import InstrumentCatalog, reference_entities
from .limits import RequestLimits
from .marketgen import MarketGenerator
from .md_hub import MarketDataHub
from .md_session import MarketDataSession
from .outgoing import shutdown_frame
from .recorded import RecordedMarket, RecordedMarketData, recorded_instruments
from .rest_auth import AuthEndpoints, Login
from .rest_endpoints import Endpoints
from .rest_http import RestHandler
from .session_context import ServerContext
from .session_registry import ConnectionRegistry, RegisteredSocket
from .session_trading import TradingSession
from .tokens import TokenStore

log = logging.getLogger("tradovate_api.simulator")
_MAX_FRAME = 1 << 20
_SHUTDOWN_TIMEOUT_S = 1.0
DEFAULT_BALANCE = 50_000.0


class Simulator:
    """A local Tradovate: ``async with Simulator() as sim:`` then use ``sim.rest_url``,
    ``sim.ws_url`` and ``sim.md_url``. Ports 0 pick free ports. ``clock`` (epoch seconds)
    decides trading hours, maintenance windows, token expiry and every timestamp; tests that
    need an open market pass :func:`.calendar.open_clock`. With ``replay_file`` the caller
    opens the recording and passes it as ``recorded``
    (:func:`tradovate_api.replay.simulator_recording.open_for_simulator`): the simulator reads
    no recording files itself."""

    def __init__(self, config: SimulatorConfig | None = None, *, host: str = "127.0.0.1",
                 port: int = 0, md_port: int = 0, seed: int | None = None,
                 clock: Callable[[], float] = time.time, today: dt.date | None = None,
                 recorded: RecordedMarketData | None = None) -> None:
        config = config if config is not None else SimulatorConfig()
        if seed is not None:
            config = msgspec.structs.replace(config, seed=seed)
        self.config = config
        self.host = host
        self._port = port
        self._md_port = md_port
        self._clock = clock
        now_ms = int(clock() * 1000)
        if config.replay_file is not None and recorded is None:
            raise ConfigError("replay_file: the simulator reads no recordings itself; open it "
                              "with tradovate_api.replay.simulator_recording.open_for_simulator "
                              "and pass it as recorded=")
        if recorded is not None:
            self.catalog = recorded_instruments(recorded.contracts, today or dt.date.today())
            self.generator: MarketGenerator = RecordedMarket(
                self.catalog, recorded.entries, now_ms=now_ms, speed=config.replay_speed)
        else:
            self.catalog = InstrumentCatalog(build_instruments(config,
                                                              today or dt.date.today()))
            warm_ms = int(config.warm_up * 1000)
            self.generator = MarketGenerator(
                self.catalog, seed=config.seed, now_ms=now_ms - warm_ms,
                large_print_probability=config.large_print_probability,
                large_print_size=config.large_print_size)
            if warm_ms:
                self.generator.warm_up(now_ms, warm_ms, 1000)
        awkward = config.awkward_wire
        self.schedule = MarketSchedule(clock, market_hours=config.market_hours,
                                       maintenance=config.maintenance)
        self.exchange = Exchange(self.catalog, self.generator.books, clock,
                                 rng=random.Random(config.seed) if awkward else None,
                                 reference=reference_entities(),
                                 session_open=self.schedule.trading)
        self._chart_rng = random.Random(config.seed + 1) if awkward else None
        self.tokens = TokenStore(clock, config.token_lifetime, config.max_sessions)
        self.faults = Faults(self, clock, seed=config.seed, fault_seed=config.fault_seed)
        self.exchange.set_rejection_source(self.faults.order_rejection)
        self.limits = RequestLimits(config.limits, clock)
        registry = ConnectionRegistry(config, self.exchange, self.faults)
        auth = AuthEndpoints(config, self._add_users(), self.tokens, self.exchange, registry,
                             clock)
        self._ctx = ServerContext(
            config=config, catalog=self.catalog, generator=self.generator, tokens=self.tokens,
            faults=self.faults, limits=self.limits, schedule=self.schedule, registry=registry,
            hub=MarketDataHub(self.generator),
            endpoints=Endpoints(auth, self.exchange, self.catalog, self.limits, self.faults,
                                registry))
        self._runners: list[web.AppRunner] = []
        self._ticker: asyncio.Task[None] | None = None
        self._in_maintenance = False

    def _add_users(self) -> dict[str, Login]:
        logins: dict[str, Login] = {}
        for spec in self.config.users:
            user = self.exchange.add_user(spec.name, spec.email)
            accounts = spec.accounts
            if accounts is None:
                accounts = [AccountConfig(name=f"DEMO{user.id}", balance=DEFAULT_BALANCE)]
            for account in accounts:
                added = self.exchange.add_account(user.id, account.name, account.balance,
                                                  auto_liq_entity(account.auto_liq))
                for position in account.positions:
                    try:
                        self.exchange.carry_position(added.id, position.symbol,
                                                     position.prev_pos, position.prev_price)
                    except KeyError as exc:
                        raise ConfigError(f"users.{spec.name}.accounts.{account.name}."
                                          f"positions: {exc.args[0]}") from None
            logins[spec.name] = Login(user.id, spec.password)
        return logins

    # ----------------------------------------------------------------- addresses

    @property
    def port(self) -> int:
        return self._port

    @property
    def md_port(self) -> int:
        return self._md_port

    @property
    def rest_url(self) -> str:
        return f"http://{self.host}:{self._port}/v1"

    @property
    def ws_url(self) -> str:
        return f"ws://{self.host}:{self._port}/v1/websocket"

    @property
    def md_url(self) -> str:
        return f"ws://{self.host}:{self._md_port}/v1/websocket"

    @property
    def clock(self) -> Callable[[], float]:
        """The simulator's clock (epoch seconds); give the client side the same one."""
        return self._clock

    @property
    def connections(self) -> list[RegisteredSocket]:
        """Open websocket sessions, oldest first."""
        return self._ctx.registry.sockets()

    # ----------------------------------------------------------------- life cycle

    async def __aenter__(self) -> Simulator:
        await self.start()
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, tb: TracebackType | None) -> None:
        await self.stop()

    async def start(self) -> None:
        """Listen on both ports, start the market ticker and arm the configured faults."""
        for index, fault in enumerate(self.config.faults):
            try:
                self.faults.arm(fault.name, probability=fault.probability, count=fault.count,
                                endpoints=fault.endpoints, **fault.params)
            except ValueError as exc:
                raise ConfigError(f"faults[{index}]: {exc}") from None
        await self._listen()
        self._ticker = asyncio.create_task(self._tick_loop())

    async def stop(self) -> None:
        """Close every connection and both servers."""
        if self._ticker is not None:
            self._ticker.cancel()
            await asyncio.gather(self._ticker, return_exceptions=True)
            self._ticker = None
        await self.faults.stop()
        await self._ctx.registry.cancel_detached()
        await self._unlisten()

    async def restart(self) -> None:
        """Drop every connection and listen again on the same ports; all state stays."""
        log.info("restarting (state kept)")
        await self._unlisten()
        await self._listen()

    async def _listen(self) -> None:
        trading = web.Application()
        trading.router.add_get("/v1/websocket", self._trading_socket)
        trading.router.add_route("*", "/v1/{endpoint:.+}", RestHandler(self._ctx).handle)
        md = web.Application()
        md.router.add_get("/v1/websocket", self._md_socket)
        ports = []
        for app, port in ((trading, self._port), (md, self._md_port)):
            runner = web.AppRunner(app, access_log=None, handle_signals=False,
                                   shutdown_timeout=_SHUTDOWN_TIMEOUT_S)
            await runner.setup()
            site = web.TCPSite(runner, self.host, port, reuse_address=True)
            await site.start()
            self._runners.append(runner)
            ports.append(runner.addresses[0][1])
        self._port, self._md_port = ports

    async def _unlisten(self) -> None:
        await self._ctx.registry.close_all("all", [], abort=True)
        runners, self._runners = self._runners, []
        for runner in runners:
            await runner.cleanup()

    # ----------------------------------------------------------------- websockets

    async def _accept(self, request: web.Request) -> tuple[web.WebSocketResponse, str]:
        ws = web.WebSocketResponse(max_msg_size=_MAX_FRAME, autoping=True)
        await ws.prepare(request)
        return ws, request.remote or "?"

    def _down(self) -> web.Response | None:
        """503 with an empty body while a maintenance window is on (§7.3, §7.4)."""
        if self.schedule.in_maintenance():
            return web.Response(status=503, body=b"")
        return None

    async def _trading_socket(self, request: web.Request) -> web.StreamResponse:
        down = self._down()
        if down is not None:
            return down
        ws, peer = await self._accept(request)
        await TradingSession(self._ctx, ws, request.transport, peer).run()
        return ws

    async def _md_socket(self, request: web.Request) -> web.StreamResponse:
        down = self._down()
        if down is not None:
            return down
        ws, peer = await self._accept(request)
        rng = (random.Random(self._chart_rng.random()) if self._chart_rng is not None
               else None)
        await MarketDataSession(self._ctx, ws, request.transport, peer, rng).run()
        return ws

    # ----------------------------------------------------------------- market

    def step(self) -> None:
        """One market step: md to subscribers, fills of resting orders to their users.
        Outside trading hours nothing moves (subscribers keep the last snapshot)."""
        if not self.schedule.trading():
            return
        update = self.generator.step(int(self._clock() * 1000))
        self._ctx.hub.publish(update)
        self._ctx.registry.route(self.exchange.on_market(update))

    async def _tick_loop(self) -> None:
        interval = self.config.tick_interval
        steps = self.config.steps_per_tick
        while True:
            await asyncio.sleep(interval)
            try:
                await self._check_maintenance()
                for _ in range(steps):
                    self.step()
            except Exception:
                log.exception("market step failed")

    async def _check_maintenance(self) -> None:
        """At the start of a maintenance window every socket is told and closed."""
        down = self.schedule.in_maintenance()
        if down and not self._in_maintenance:
            log.info("maintenance window: closing every connection")
            await self._ctx.registry.close_all("all", [shutdown_frame("Maintenance")],
                                               abort=False)
        self._in_maintenance = down

    async def maintenance(self, seconds: float) -> int:
        """Open a maintenance window now for ``seconds`` (the clock is not touched): every
        socket gets a ``shutdown`` event ``Maintenance`` and is closed, and until the window
        ends REST requests and websocket upgrades are answered 503. Returns the number of
        sockets closed."""
        self.schedule.force_maintenance(seconds)
        self._in_maintenance = True
        log.info("maintenance window for %.1f s: closing every connection", seconds)
        return await self._ctx.registry.close_all("all", [shutdown_frame("Maintenance")],
                                                  abort=False)

    # ----------------------------------------------------------------- fault target

    async def close_connections(self, kind: SocketKind, frames: list[bytes], *,
                                abort: bool) -> int:
        return await self._ctx.registry.close_all(kind, frames, abort=abort)

    def expire_tokens(self) -> int:
        return self.tokens.expire_all()

    def roll_trade_date(self) -> None:
        self._ctx.registry.route(self.exchange.roll_trade_date())
