"""Order requests whose answer goes wrong (reference §6, §7.3): a request that reached the
server executes whatever happens to its connection; only the answer is lost, late, an error
or unreadable. And the errors that come without execution."""

from __future__ import annotations

import asyncio

import aiohttp
import msgspec
import pytest
from conftest import login, rest
from sim_trading_helpers import (
    commands,
    drain,
    open_sim,
    order_body,
    props_of,
    synced,
    until,
)

from tradovate_api.protocol import FrameError, Messages, Response
from tradovate_api.protocol.models import Account, Order, PlaceOrderResult


async def test_a_held_request_executes_after_its_socket_died(
        http: aiohttp.ClientSession) -> None:
    """DEFAULT: the socket dies while the server holds the request; it still executes and
    the next connection sees it."""
    async with open_sim() as sim:
        first = await synced(sim, http)
        sim.faults.response_delay = 0.5
        await first.client.send(_frame(1, order_body(first.account, clOrdId="held-1")))
        await asyncio.sleep(0.1)  # the request is on the server, held
        await sim.faults.drop_connections("trading")
        assert commands(sim, "held-1") == []  # not yet
        await until(lambda: len(commands(sim, "held-1")) == 1, limit=3.0)
        sim.faults.response_delay = 0.0
        again = await synced(sim, http, first.token)
        (command,) = commands(sim, "held-1")
        assert command.order_id in [o.id for o in again.snapshot.orders]
        await again.client.ws.close()


async def test_a_held_rest_request_executes_after_the_client_gave_up(
        http: aiohttp.ClientSession) -> None:
    async with open_sim() as sim:
        me = await synced(sim, http)
        sim.faults.response_delay = 0.5
        with pytest.raises(TimeoutError):
            await http.post(f"{sim.rest_url}/order/placeorder",
                            json=order_body(me.account, clOrdId="rest-held"),
                            headers={"Authorization": f"Bearer {me.token}"},
                            timeout=aiohttp.ClientTimeout(total=0.1))
        await until(lambda: len(commands(sim, "rest-held")) == 1, limit=3.0)
        await me.client.ws.close()


async def test_lost_answer_executes_then_cuts_the_socket(http: aiohttp.ClientSession) -> None:
    async with open_sim() as sim:
        me = await synced(sim, http)
        sim.faults.arm("lost_answer", count=1)
        await me.client.send(_frame(7, order_body(me.account, clOrdId="lost-1")))
        frames = await me.client.until_closed()
        assert me.client.ws.close_code == 1006  # cut: no close handshake
        assert not [m for f in frames if isinstance(f, Messages) for m in f.items
                    if isinstance(m, Response) and m.i == 7]
        (command,) = commands(sim, "lost-1")
        assert sim.faults.fired["lost_answer"] == 1
        again = await synced(sim, http, me.token)
        assert command.order_id in [o.id for o in again.snapshot.orders]
        await again.client.ws.close()


async def test_lost_answer_over_rest(http: aiohttp.ClientSession) -> None:
    async with open_sim() as sim:
        token = (await login(http, sim))["accessToken"]
        _, accounts = await rest(http, sim, "account/list", token=token)
        sim.faults.arm("lost_answer", count=1)
        body = {**order_body(_account(accounts)), "clOrdId": "lost-rest"}
        with pytest.raises(aiohttp.ClientError):
            await rest(http, sim, "order/placeorder", token=token, body=body)
        assert len(commands(sim, "lost-rest")) == 1


async def test_late_execution_is_missing_from_the_next_snapshot_then_arrives(
        http: aiohttp.ClientSession) -> None:
    async with open_sim() as sim:
        me = await synced(sim, http)
        sim.faults.arm("late_execution", count=1, min_delay=2.0, max_delay=2.0)
        await me.client.send(_frame(3, order_body(me.account, clOrdId="late-1")))
        await me.client.until_closed()
        assert me.client.ws.close_code == 1006
        again = await synced(sim, http, me.token)
        assert commands(sim, "late-1") == []
        assert again.snapshot.commands == [] or all(
            c.cl_ord_id != "late-1" for c in again.snapshot.commands)
        created = await again.client.event(
            lambda m: any(getattr(e, "cl_ord_id", None) == "late-1"
                          for e in getattr(m, "entities", ())), wait=5.0)
        assert created.entity_type == "command"
        assert len(commands(sim, "late-1")) == 1
        await again.client.ws.close()


@pytest.mark.parametrize("answer", ["500", "502", "503", "504", "cut", "html"])
async def test_error_after_execution_over_the_websocket(
        http: aiohttp.ClientSession, answer: str) -> None:
    async with open_sim() as sim:
        me = await synced(sim, http)
        sim.faults.arm("error_after_execution", count=1, answers=(answer,))
        await me.client.send(_frame(11, order_body(me.account, clOrdId="err-" + answer)))
        messages = []
        broken = None
        async with asyncio.timeout(5):
            while broken is None:
                frame = await me.client.frame()
                if isinstance(frame, FrameError):
                    broken = frame
                elif isinstance(frame, Messages):
                    messages.extend(frame.items)
                    broken = next((m for m in frame.items
                                   if isinstance(m, Response) and m.i == 11), None)
        (command,) = commands(sim, "err-" + answer)  # executed all the same
        if answer == "cut":
            assert isinstance(broken, FrameError)
            assert b'"i":11' in broken.data
        else:
            assert isinstance(broken, Response)
            assert broken.s == (200 if answer == "html" else int(answer))
            with pytest.raises((msgspec.ValidationError, msgspec.DecodeError)):
                msgspec.json.decode(broken.d or b"", type=PlaceOrderResult)
        rest_of = await drain(me.client, 0.3)
        orders = props_of(messages + rest_of, "order")
        assert command.order_id in [o.id for o in orders if isinstance(o, Order)]
        await me.client.ws.close()


@pytest.mark.parametrize("answer", ["500", "502", "cut", "html"])
async def test_error_without_execution_over_rest(http: aiohttp.ClientSession,
                                                 answer: str) -> None:
    async with open_sim() as sim:
        token = (await login(http, sim))["accessToken"]
        _, accounts = await rest(http, sim, "account/list", token=token)
        sim.faults.arm("error_without_execution", count=1, answers=(answer,))
        body = {**order_body(_account(accounts)), "clOrdId": "noexec-" + answer}
        async with http.post(f"{sim.rest_url}/order/placeorder", json=body,
                             headers={"Authorization": f"Bearer {token}"}) as reply:
            raw = await reply.read()
            status = reply.status
        assert status == (200 if answer in ("cut", "html") else int(answer))
        with pytest.raises((msgspec.ValidationError, msgspec.DecodeError)):
            msgspec.json.decode(raw, type=PlaceOrderResult)
        assert commands(sim, "noexec-" + answer) == []
        _, placed = await rest(http, sim, "order/placeorder", token=token,
                               body={**body, "clOrdId": "after"})  # count used up
        assert placed["orderId"] > 0


async def test_error_after_execution_over_rest_keeps_the_order(
        http: aiohttp.ClientSession) -> None:
    async with open_sim() as sim:
        token = (await login(http, sim))["accessToken"]
        _, accounts = await rest(http, sim, "account/list", token=token)
        sim.faults.arm("error_after_execution", count=1, answers=("cut",))
        body = {**order_body(_account(accounts)), "clOrdId": "cut-rest"}
        async with http.post(f"{sim.rest_url}/order/placeorder", json=body,
                             headers={"Authorization": f"Bearer {token}"}) as reply:
            raw = await reply.read()
        (command,) = commands(sim, "cut-rest")
        whole = f'{{"orderId":{command.order_id}}}'.encode()
        assert raw
        assert whole.startswith(raw)
        assert raw != whole


async def test_answer_faults_leave_other_endpoints_alone(http: aiohttp.ClientSession) -> None:
    async with open_sim() as sim:
        me = await synced(sim, http)
        sim.faults.arm("error_without_execution")
        sim.faults.arm("lost_answer", endpoints=["order/cancelorder"])
        assert (await me.client.request("account/list")).s == 200
        assert (await me.client.request("auth/me")).s == 200
        assert sim.faults.fired["lost_answer"] == 0
        assert sim.faults.fired["error_without_execution"] == 0
        await me.client.ws.close()


def _frame(request_id: int, body: object) -> str:
    return f"order/placeorder\n{request_id}\n\n{msgspec.json.encode(body).decode()}"


def _account(accounts: list[dict[str, object]]) -> Account:
    return msgspec.convert(accounts[0], Account)


async def test_late_execution_over_rest(http: aiohttp.ClientSession) -> None:
    async with open_sim() as sim:
        token = (await login(http, sim))["accessToken"]
        _, accounts = await rest(http, sim, "account/list", token=token)
        sim.faults.arm("late_execution", count=1, min_delay=0.5, max_delay=0.5)
        body = {**order_body(_account(accounts)), "clOrdId": "late-rest"}
        loop = asyncio.get_running_loop()
        cut = loop.time()
        with pytest.raises(aiohttp.ClientError):
            await rest(http, sim, "order/placeorder", token=token, body=body)
        assert commands(sim, "late-rest") == []
        await until(lambda: len(commands(sim, "late-rest")) == 1, limit=3.0)
        assert loop.time() - cut >= 0.45
