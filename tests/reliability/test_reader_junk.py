"""The real reader (picows ``Connection`` inside a ``MarketDataSession``/``TradingSession``,
feeding the real stores) against a loopback server that sends junk: random bytes, invalid
UTF-8, binary frames, mutated valid frames, unknown events and entities, unmatched responses,
floods and huge frames. The reader must survive, count and (boundedly) log what it drops, and
keep delivering every valid frame that follows, in order."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

import msgspec
import pytest
from fuzz_strategies import (
    golden_messages,
    json_values,
    market_message,
    mutated_bytes,
    mutated_json,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from junk_server import Frame, JunkServer, any_token, quote_frame, response

from tradovate_api.client import (
    ConnectFailed,
    ConnectionOptions,
    EndKind,
    MarketDataSession,
    Session,
    SessionEnded,
    SyncSnapshot,
    TradingSession,
)
from tradovate_api.protocol import (
    ChartEvent,
    Close,
    EntityEvent,
    FrameError,
    MarketDataEvent,
    MessageError,
    Messages,
    ShutdownEvent,
    decode_frame,
    encode_messages,
)
from tradovate_api.stores import create_account_store, create_market_store

OPTIONS = ConnectionOptions(heartbeat_interval=0.2, silence_timeout=5.0, open_timeout=2.0,
                            authorize_timeout=2.0, request_timeout=2.0, close_timeout=1.0)
SEQ_CONTRACT = 424_242
"""The contract whose quotes carry the sequence numbers of the valid frames."""
FUZZ = settings(max_examples=40, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                       HealthCheck.function_scoped_fixture])


class Pipeline:
    """What the runtime does with md events: apply them to the store, remember the
    sequence bids, wake the test."""

    def __init__(self) -> None:
        self.view, self.writer = create_market_store()
        self.bids: list[float] = []
        self.changed = asyncio.Event()

    def __call__(self, event: Any) -> None:
        if isinstance(event, MarketDataEvent | ChartEvent):
            self.writer.apply(event)
            if isinstance(event, MarketDataEvent):
                self.bids += [q.entries.bid.price for q in event.data.quotes
                              if q.contract_id == SEQ_CONTRACT and q.entries.bid is not None
                              and q.entries.bid.price is not None]
        self.changed.set()

    async def until_bid(self, bid: float, limit: float = 5.0) -> None:
        async with asyncio.timeout(limit):
            while bid not in self.bids:
                self.changed.clear()
                await self.changed.wait()


@contextlib.asynccontextmanager
async def running(session: Session) -> AsyncIterator[asyncio.Task[None]]:
    task: asyncio.Task[None] = asyncio.create_task(session.run())
    try:
        async with asyncio.timeout(5):
            await session.wait_ready()
        yield task
    finally:
        await session.close()
        await asyncio.wait({task}, timeout=3)
        if not task.done():
            task.cancel()
        with contextlib.suppress(BaseException):
            await task


def _ends_the_connection(payload: bytes) -> bool:
    decoded = decode_frame(payload)
    return isinstance(decoded, Close) or (isinstance(decoded, Messages) and any(
        isinstance(item, ShutdownEvent) for item in decoded.items))


def expected_malformed(frames: list[Frame]) -> int:
    """What the reader must count: every text frame that is not protocol, plus every bad
    message inside an otherwise good frame. Binary frames are ignored, not counted."""
    count = 0
    for payload, text in frames:
        if not text:
            continue
        decoded = decode_frame(payload)
        if isinstance(decoded, FrameError):
            count += 1
        elif isinstance(decoded, Messages):
            count += sum(isinstance(item, MessageError) for item in decoded.items)
    return count


_golden = golden_messages()
_junk_payloads = st.one_of(
    st.binary(max_size=120),
    st.binary(max_size=80).map(lambda b: b"a" + b),
    st.sampled_from(_golden).flatmap(mutated_json).map(lambda m: encode_messages([m])),
    market_message.flatmap(mutated_json).map(lambda m: encode_messages([m])),
    st.sampled_from(_golden).map(lambda m: encode_messages([m])).flatmap(mutated_bytes),
    st.tuples(st.text(min_size=1, max_size=8), json_values).map(
        lambda kv: encode_messages([{"e": kv[0], "d": kv[1]}])),
    st.tuples(st.integers(100, 599), st.integers(1000, 2**31)).map(
        lambda si: response(si[1], si[0], {"x": 1})),
    st.sampled_from([b"\xff\xfe\xfd", b"a[\xc3\x28]", b"h", b"o", b"", b"c", b"c[", b"a",
                     b"a[]", b'a[{"e":"props","d":{"entityType":"order"}}]']),
).filter(lambda payload: not _ends_the_connection(payload))
_junk_frames = st.tuples(_junk_payloads, st.booleans() | st.just(True))


@FUZZ
@given(junk=st.lists(st.lists(_junk_frames, max_size=4), min_size=1, max_size=6))
async def test_md_reader_survives_junk_and_keeps_delivering_in_order(
        junk: list[list[Frame]], server: JunkServer) -> None:
    pipeline = Pipeline()
    session = MarketDataSession(server.url, any_token, pipeline, options=OPTIONS)
    async with running(session):
        await session.subscribe_quote("ESM4")
        connection = session.connection
        assert connection is not None
        sent: list[Frame] = []
        for number, group in enumerate(junk, start=1):
            for frame in group:
                server.outbox.put_nowait(frame)
                sent.append(frame)
            server.outbox.put_nowait((quote_frame(SEQ_CONTRACT, float(number)), True))
        await pipeline.until_bid(float(len(junk)))
        assert pipeline.bids == [float(n) for n in range(1, len(junk) + 1)]
        assert connection.stats.malformed == expected_malformed(sent)
        assert connection.stats.consumer_errors == 0
        assert session.ready, "junk ended the session"
        quote = pipeline.view.quote(SEQ_CONTRACT)
        assert quote is not None
        assert quote.bid == float(len(junk))


async def test_a_junk_flood_is_counted_but_logged_boundedly(
        server: JunkServer, caplog: pytest.LogCaptureFixture) -> None:
    pipeline = Pipeline()
    session = MarketDataSession(server.url, any_token, pipeline, options=OPTIONS)
    with caplog.at_level(logging.WARNING, logger="tradovate_api.client.connection"):
        async with running(session):
            connection = session.connection
            assert connection is not None
            for n in range(3000):
                server.outbox.put_nowait((b"junk-%d" % n, True))
            server.outbox.put_nowait((quote_frame(SEQ_CONTRACT, 1.0), True))
            await pipeline.until_bid(1.0, limit=20)
            assert connection.stats.malformed == 3000
            assert session.ready
    logged = [r for r in caplog.records if "malformed input" in r.getMessage()]
    assert 20 <= len(logged) <= 23, "each bad frame logged (log flood) or none logged"
    assert all("junk-" not in r.getMessage() for r in logged), "raw input echoed into the log"


@pytest.mark.parametrize("payload", [
    b"a[" + b"1," * 2_000_000 + b"1]",
    b"a" + b"[" * 200_000,
    b"a[" + b'{"e":"md","d":{"quotes":[' + b'{"contractId":1},' * 100_000 + b"{}]}}]",
], ids=["4MB-array", "deep-nesting", "100k-bad-quotes"])
async def test_huge_and_deep_frames_are_dropped_not_fatal(payload: bytes,
                                                          server: JunkServer) -> None:
    pipeline = Pipeline()
    session = MarketDataSession(server.url, any_token, pipeline, options=OPTIONS)
    async with running(session):
        connection = session.connection
        assert connection is not None
        server.outbox.put_nowait((payload, True))
        server.outbox.put_nowait((quote_frame(SEQ_CONTRACT, 7.0), True))
        await pipeline.until_bid(7.0, limit=20)
        assert connection.stats.malformed >= 1
        assert session.ready


# ------------------------------------------------------------------------ trading socket

class AccountPipeline:
    def __init__(self) -> None:
        self.view, self.writer = create_account_store()
        self.snapshots = 0
        self.applied = 0
        self.changed = asyncio.Event()

    def __call__(self, event: Any) -> None:
        if isinstance(event, SyncSnapshot):
            self.writer.apply_snapshot(event.message)
            self.snapshots += 1
        elif isinstance(event, EntityEvent):
            self.writer.apply(event)
            self.applied += 1
        self.changed.set()

    async def until(self, applied: int, limit: float = 5.0) -> None:
        async with asyncio.timeout(limit):
            while self.applied < applied:
                self.changed.clear()
                await self.changed.wait()


_SYNC = {"users": [{"id": 7, "name": "alice"}], "accounts": [], "orders": []}
_ORDER = {"id": 1, "accountId": 3, "contractId": 5, "timestamp": "2024-03-01T14:30:00Z",
          "action": "Buy", "ordStatus": "Working", "admin": False}


def _sync_reply(body: Any) -> Any:
    def reply(request: Any) -> bytes:
        if request.endpoint == "user/syncrequest":
            return response(request.request_id, 200, body)
        return response(request.request_id, 200, {})
    return reply


@FUZZ
@given(bad=st.lists(st.just({"e": "props", "d": {"entityType": "order", "eventType": "Updated",
                                                 "entity": _ORDER}}).flatmap(mutated_json),
                    min_size=1, max_size=8))
async def test_trading_reader_applies_valid_entities_around_mutated_ones(
        bad: list[Any], server: JunkServer) -> None:
    server.reply = _sync_reply(_SYNC)
    pipeline = AccountPipeline()
    session = TradingSession(server.url, any_token, pipeline, user_id=7, options=OPTIONS)
    async with running(session):
        connection = session.connection
        assert connection is not None
        assert pipeline.snapshots == 1
        for message in bad:
            server.outbox.put_nowait((encode_messages([message]), True))
        good = {"e": "props", "d": {"entityType": "order", "eventType": "Updated",
                                    "entity": {**_ORDER, "ordStatus": "Filled"}}}
        server.outbox.put_nowait((encode_messages([good]), True))
        expected_entities = sum(isinstance(decode_frame(encode_messages([m])).items[0],
                                           EntityEvent) for m in bad)
        await pipeline.until(expected_entities + 1)
        state = pipeline.view.order(1)
        assert state is not None
        assert state.order.ord_status == "Filled"
        assert session.ready


@pytest.mark.parametrize("body", [[1, 2], "text", None, 42])
async def test_an_unreadable_sync_snapshot_fails_the_attempt_and_never_reaches_the_store(
        body: Any, server: JunkServer) -> None:
    server.reply = _sync_reply(body)
    pipeline = AccountPipeline()
    session = TradingSession(server.url, any_token, pipeline, user_id=7, options=OPTIONS)
    with pytest.raises(ConnectFailed, match="the sync snapshot is unreadable"):
        async with asyncio.timeout(5):
            await session.run()
    assert pipeline.snapshots == 0, "an unreadable snapshot reached the store"


async def test_a_snapshot_with_an_unreadable_entity_is_delivered_with_it_marked(
        server: JunkServer) -> None:
    """One unreadable order costs only itself; the consumer is told (``bad``) and decides
    — the runtime does not apply an incomplete snapshot (tests/app)."""
    server.reply = _sync_reply({**_SYNC, "orders": [{"id": "x"}, _ORDER]})
    snapshots: list[SyncSnapshot] = []
    session = TradingSession(server.url, any_token, snapshots.append, user_id=7,
                             options=OPTIONS)
    async with running(session):
        (snapshot,) = snapshots
        assert [o.id for o in snapshot.message.orders] == [1]
        (bad,) = snapshot.bad
        assert bad.entity_type == "order"
        assert msgspec.json.decode(bad.raw) == {"id": "x"}


async def test_a_frame_over_the_size_limit_ends_the_connection_and_the_next_one_works(
        server: JunkServer) -> None:
    """picows refuses frames over 10 MB (close code 1009): the connection ends (dropped or
    closed), which the supervisor answers with a reconnect; the next connection works."""
    pipeline = Pipeline()
    session = MarketDataSession(server.url, any_token, pipeline, options=OPTIONS)
    first = asyncio.create_task(session.run())
    async with asyncio.timeout(5):
        await session.wait_ready()
    await session.subscribe_quote("ESM4")
    server.outbox.put_nowait((b"a[" + b"1," * 6_000_000 + b"1]", True))
    with pytest.raises(SessionEnded) as ended:
        await asyncio.wait_for(first, 10)
    end = ended.value.end  # picows closes with 1009, or the socket is gone first
    assert end.kind is EndKind.DROPPED or (end.kind is EndKind.CLOSE_FRAME and end.code == 1009)
    async with running(session):
        server.outbox.put_nowait((quote_frame(SEQ_CONTRACT, 9.0), True))
        await pipeline.until_bid(9.0)
        assert [r.endpoint for r in server.requests].count("md/subscribequote") == 2
