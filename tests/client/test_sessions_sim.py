"""Market-data and trading sessions against the in-process simulator: connect, authorize,
subscribe, sync, and every injected fault a session must notice."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import msgspec
import pytest
from client_helpers import Recorder, sim_token

from tradovate_api.alerts import AlertLog
from tradovate_api.auth import AuthManager
from tradovate_api.client import (
    AuthorizationFailed,
    AuthTokens,
    ConnectionOptions,
    EndKind,
    Feed,
    MarketDataSession,
    RequestTimeout,
    Session,
    SessionEnded,
    SyncSnapshot,
    TradingSession,
)
from tradovate_api.errors import BusinessError, ConnectionLost
from tradovate_api.protocol import ChartEvent, MarketDataEvent
from tradovate_api.protocol.models import Account, ChartDescription, TimeRange
from tradovate_api.secrets import Secret, TradovateCredentials
from tradovate_api.simulator import Simulator, SimulatorConfig
from tradovate_api.simulator.calendar import open_clock
from tradovate_api.simulator.config import EndpointLimit, RateLimits

OPTIONS = ConnectionOptions(heartbeat_interval=0.1, silence_timeout=0.8, open_timeout=2.0,
                            authorize_timeout=2.0, request_timeout=3.0, close_timeout=1.0)
SIM_CONFIG = SimulatorConfig(warm_up=60.0, tick_interval=0.02, heartbeat_interval=0.2,
                             idle_timeout=1.0)


@pytest.fixture
async def sim() -> AsyncIterator[Simulator]:
    async with Simulator(SIM_CONFIG, seed=7, clock=open_clock()) as simulator:
        yield simulator


@pytest.fixture
async def auth(sim: Simulator) -> AsyncIterator[AuthManager]:
    manager = AuthManager(sim.rest_url, TradovateCredentials(name="sim", password=Secret("sim")),
                          alerts=AlertLog(), max_logins_per_hour=10)
    try:
        yield manager
    finally:
        await manager.close()


def front(sim: Simulator, root: str = "ES") -> str:
    return next(i.name for i in sim.catalog if i.product.name == root)


@contextlib.asynccontextmanager
async def running(session: Session) -> AsyncIterator[asyncio.Task[None]]:
    """Run ``session.run()`` once (no supervisor) and close it afterwards."""
    task: asyncio.Task[None] = asyncio.create_task(session.run())
    try:
        yield task
    finally:
        await session.close()
        await asyncio.wait({task}, timeout=3)
        if not task.done():
            task.cancel()
        with contextlib.suppress(BaseException):
            await task


def quotes_for(recorder: Recorder, contract_id: int, start: int = 0) -> list[object]:
    return [q for e in recorder.events[start:] if isinstance(e, MarketDataEvent)
            for q in e.data.quotes if q.contract_id == contract_id]


async def test_md_session_subscribes_and_streams_quotes(sim: Simulator,
                                                        auth: AuthManager) -> None:
    recorder = Recorder()
    session = MarketDataSession(sim.md_url, AuthTokens(auth, market_data=True), recorder,
                                options=OPTIONS)
    symbol = front(sim)
    contract = sim.catalog.by_name(symbol)
    assert contract is not None
    async with running(session):
        await asyncio.wait_for(session.wait_ready(), 3)
        result = await session.subscribe_quote(symbol)
        assert result is not None
        assert result.error_text is None
        await recorder.until(lambda: len(quotes_for(recorder, contract.contract_id)) >= 3)
        assert session.subscriptions == [(Feed.QUOTE, symbol)]
        with pytest.raises(BusinessError):
            await session.subscribe_dom("NOSUCH")
        assert (Feed.DOM, "NOSUCH") not in session.subscriptions


async def test_chart_packets_are_keyed_by_both_ids(sim: Simulator, auth: AuthManager) -> None:
    recorder = Recorder()
    session = MarketDataSession(sim.md_url, AuthTokens(auth, market_data=True), recorder,
                                options=OPTIONS)
    async with running(session):
        await asyncio.wait_for(session.wait_ready(), 3)
        chart = await session.get_chart(front(sim), ChartDescription(
            underlying_type="MinuteBar", element_size=1, element_size_unit="UnderlyingUnits"),
            TimeRange(as_much_as_elements=5))
        assert chart.historical_id is not None
        assert chart.realtime_id is not None
        await recorder.until(lambda: any(p.eoh for e in recorder.of(ChartEvent)
                                         for p in e.data.charts))
        packet_ids = {p.id for e in recorder.of(ChartEvent) for p in e.data.charts}
        assert packet_ids <= set(chart.ids)
        assert all(session.chart_for(i) is chart for i in packet_ids)
        await session.cancel_chart(chart)
        assert session.charts == []
        assert session.chart_for(chart.realtime_id) is None


async def test_heartbeats_keep_an_idle_socket_open(sim: Simulator, auth: AuthManager) -> None:
    """The simulator closes a socket that sent nothing for ``idle_timeout`` (1 s)."""
    session = MarketDataSession(sim.md_url, AuthTokens(auth, market_data=True), Recorder(),
                                options=OPTIONS)
    async with running(session) as task:
        await asyncio.wait_for(session.wait_ready(), 3)
        connection = session.connection
        assert connection is not None
        done, _ = await asyncio.wait({task}, timeout=3 * SIM_CONFIG.idle_timeout)
        assert not done, "the server closed a socket that was sending heartbeats"
        assert connection.stats.heartbeats_sent >= 20


async def test_without_heartbeats_the_server_closes_the_socket(sim: Simulator,
                                                               auth: AuthManager) -> None:
    """Control for the test above: the idle close is real."""
    lazy = ConnectionOptions(heartbeat_interval=60.0, silence_timeout=30.0)
    session = MarketDataSession(sim.md_url, AuthTokens(auth, market_data=True), Recorder(),
                                options=lazy)
    async with running(session) as task:
        await asyncio.wait_for(session.wait_ready(), 3)
        with pytest.raises(SessionEnded) as info:
            await asyncio.wait_for(task, 3 * SIM_CONFIG.idle_timeout)
    assert info.value.end.kind in (EndKind.CLOSE_FRAME, EndKind.DROPPED)


async def test_silent_server_is_detected(sim: Simulator, auth: AuthManager) -> None:
    session = MarketDataSession(sim.md_url, AuthTokens(auth, market_data=True), Recorder(),
                                options=OPTIONS)
    async with running(session) as task:
        await asyncio.wait_for(session.wait_ready(), 3)
        sim.faults.silent = True
        with pytest.raises(SessionEnded) as info:
            await asyncio.wait_for(task, 3)
    assert info.value.end.kind is EndKind.SILENCE


async def test_close_frame_ends_the_session(sim: Simulator, auth: AuthManager) -> None:
    session = MarketDataSession(sim.md_url, AuthTokens(auth, market_data=True), Recorder(),
                                options=OPTIONS)
    async with running(session) as task:
        await asyncio.wait_for(session.wait_ready(), 3)
        await sim.faults.send_close(3000, "Go away!", kind="md")
        with pytest.raises(SessionEnded) as info:
            await asyncio.wait_for(task, 3)
    end = info.value.end
    assert (end.kind, end.code, end.reason) == (EndKind.CLOSE_FRAME, 3000, "Go away!")


async def test_quota_shutdown_is_reported_as_quota(sim: Simulator, auth: AuthManager) -> None:
    info_ = await auth.token()
    assert info_.user_id is not None
    session = TradingSession(sim.ws_url, AuthTokens(auth, market_data=False), Recorder(),
                             user_id=info_.user_id, options=OPTIONS)
    async with running(session) as task:
        await asyncio.wait_for(session.wait_ready(), 3)
        await sim.faults.shutdown("ConnectionQuotaReached", "too many", kind="trading")
        with pytest.raises(SessionEnded) as info:
            await asyncio.wait_for(task, 3)
    assert info.value.end.quota


async def test_trading_session_delivers_the_snapshot_before_props(
        sim: Simulator, auth: AuthManager) -> None:
    token = await auth.token()
    assert token.user_id is not None
    recorder = Recorder()
    session = TradingSession(sim.ws_url, AuthTokens(auth, market_data=False), recorder,
                             user_id=token.user_id, options=OPTIONS)
    async with running(session):
        await asyncio.wait_for(session.wait_ready(), 3)
        snapshots = recorder.of(SyncSnapshot)
        assert len(snapshots) == 1
        assert recorder.events[0] is snapshots[0]
        snapshot = snapshots[0]
        assert snapshot.connection == 1
        assert [u.id for u in snapshot.message.users] == [token.user_id]
        assert snapshot.message.accounts
        accounts = await session.request("account/list", result_type=list[Account])
        assert [a.id for a in accounts] == [a.id for a in snapshot.message.accounts]


async def test_request_times_out_under_delay_and_is_not_retried(
        sim: Simulator, auth: AuthManager) -> None:
    token = await auth.token()
    assert token.user_id is not None
    session = TradingSession(sim.ws_url, AuthTokens(auth, market_data=False), Recorder(),
                             user_id=token.user_id, options=OPTIONS)
    async with running(session):
        await asyncio.wait_for(session.wait_ready(), 3)
        connection = session.connection
        assert connection is not None
        sent_before = connection.stats.requests_sent
        sim.faults.response_delay = 0.5
        with pytest.raises(RequestTimeout):
            await session.request("account/list", result_type=list[Account],
                                  response_timeout=0.1)
        # A second request is answered after the same delay, so by then the late answer
        # to the first has been read (in order) and ignored.
        accounts = await session.request("account/list", result_type=list[Account],
                                         response_timeout=3)
        assert accounts
        assert connection.stats.requests_sent - sent_before == 2
        assert connection.stats.timeouts == 1
        assert connection.stats.unmatched_responses == 1


async def test_drop_resolves_pending_requests_as_connection_lost(
        sim: Simulator, auth: AuthManager) -> None:
    token = await auth.token()
    assert token.user_id is not None
    session = TradingSession(sim.ws_url, AuthTokens(auth, market_data=False), Recorder(),
                             user_id=token.user_id, options=OPTIONS)
    async with running(session) as task:
        await asyncio.wait_for(session.wait_ready(), 3)
        connection = session.connection
        assert connection is not None
        sim.faults.response_delay = 5.0
        pending = connection.send_request("account/list", result_type=list[Account])
        await sim.faults.drop_connections("trading")
        with pytest.raises(ConnectionLost) as info:
            await asyncio.wait_for(pending, 3)
        assert not isinstance(info.value, SessionEnded)
        with pytest.raises(SessionEnded) as ended:
            await asyncio.wait_for(task, 3)
    assert ended.value.end.kind is EndKind.DROPPED


async def test_rejected_token_is_reported_and_the_next_attempt_logs_in(
        sim: Simulator, auth: AuthManager) -> None:
    await auth.token()
    sim.faults.expire_tokens()
    tokens = AuthTokens(auth, market_data=True)
    session = MarketDataSession(sim.md_url, tokens, Recorder(), options=OPTIONS,
                                token_rejected=tokens.rejected)
    with pytest.raises(AuthorizationFailed):
        await asyncio.wait_for(session.run(), 3)
    assert auth.logins == 2  # the manager logged in again after the rejection
    async with running(session):
        await asyncio.wait_for(session.wait_ready(), 3)


async def test_direct_token_provider_works(sim: Simulator) -> None:
    """Sessions need only a callable returning the token, not the auth manager."""
    body = await sim_token(sim.rest_url)

    async def token() -> str:
        return str(body["accessToken"])

    session = MarketDataSession(sim.md_url, token, Recorder(), options=OPTIONS)
    async with running(session):
        await asyncio.wait_for(session.wait_ready(), 3)


@pytest.mark.parametrize("later_logins", [0, 2])
async def test_a_quota_shutdown_after_two_of_our_own_logins_is_not_a_quota_alarm(
        sim: Simulator, auth: AuthManager, later_logins: int) -> None:
    """Tradovate keeps two sessions per user: two logins of ours after this socket authorized
    explain the shutdown. The verdict is taken when the socket ends; logins after that do not
    change it."""
    info_ = await auth.token()
    assert info_.user_id is not None
    logins = [10]
    session = TradingSession(sim.ws_url, AuthTokens(auth, market_data=False), Recorder(),
                             user_id=info_.user_id, options=OPTIONS)
    session.login_count = lambda: logins[0]
    async with running(session) as task:
        await asyncio.wait_for(session.wait_ready(), 3)
        logins[0] += later_logins
        await sim.faults.shutdown("ConnectionQuotaReached", "too many", kind="trading")
        with pytest.raises(SessionEnded) as info:
            await asyncio.wait_for(task, 3)
    end = info.value.end
    assert end.own_logins is (later_logins == 2)
    assert end.quota is (later_logins == 0)
    logins[0] += 5  # later logins: the same verdict
    assert session.last_end == end


async def test_a_penalized_sync_request_is_sent_again_with_its_ticket_after_p_time() -> None:
    """Tradovate allows 300 ``user/syncrequest`` an hour (reference §7.1); over it the answer is
    a penalty ticket (§7.2): wait ``p-time``, send the identical request with the ticket. A
    session that reconnects often meets it, and it must not end the attempt."""
    limits = RateLimits(endpoints=[
        EndpointLimit(endpoint="user/syncrequest", per_hour=1, back_off=0.5,
                      count_success=True)])
    config = msgspec.structs.replace(SIM_CONFIG, limits=limits)
    async with Simulator(config, seed=7, clock=open_clock()) as sim:
        auth = AuthManager(sim.rest_url, TradovateCredentials(name="sim",
                                                              password=Secret("sim")),
                           alerts=AlertLog(), max_logins_per_hour=10)
        try:
            token = await auth.token()
            assert token.user_id is not None
            recorder = Recorder()
            session = TradingSession(sim.ws_url, AuthTokens(auth, market_data=False),
                                     recorder, user_id=token.user_id, options=OPTIONS)
            async with running(session):  # the hour's one sync request
                await asyncio.wait_for(session.wait_ready(), 3)
            async with running(session) as task:  # over the limit: penalized, then honoured
                await asyncio.wait_for(session.wait_ready(2), 5)
                assert not task.done()
            assert [s.connection for s in recorder.of(SyncSnapshot)] == [1, 2]
        finally:
            await auth.close()
