"""props events at Tradovate's worst: sent twice, replayed stale, out of order across frames,
with odd fields (reference §3.2, §5.2, §5.3). Observed on the wire by a plain client."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

import aiohttp
import msgspec
import pytest
from sim_trading_helpers import drain, open_sim, order_body, synced

from tradovate_api.simulator.wire_oddities import FUTURE_FIELDS


def raw_events(texts: list[str]) -> list[dict[str, Any]]:
    """Every props event in raw frames (their JSON, undecoded)."""
    events: list[dict[str, Any]] = []
    for text in texts:
        if text.startswith("a"):
            events.extend(m for m in msgspec.json.decode(text[1:])
                          if isinstance(m, dict) and m.get("e") == "props")
    return events


def flat(events: list[dict[str, Any]]) -> list[tuple[str, str, dict[str, Any]]]:
    """(entityType, eventType, entity) per entity, arrays unrolled."""
    out = []
    for event in events:
        data = event["d"]
        entities = data["entity"] if isinstance(data["entity"], list) else [data["entity"]]
        out.extend((data["entityType"], data["eventType"], e) for e in entities)
    return out


async def raw_frames(ws: Any, seconds: float) -> list[str]:
    texts: list[str] = []
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while (left := deadline - loop.time()) > 0:
        try:
            texts.append(await asyncio.wait_for(ws.recv(), left))
        except TimeoutError:
            break
    return texts


RESTING = {"orderType": "Limit", "price": 1000.0}
"""A buy limit far below the market: its events do not depend on the market."""


async def place_and_watch(http: aiohttp.ClientSession, fault: str | None,
                          seconds: float = 1.0, order: dict[str, Any] | None = None,
                          **arming: Any) -> tuple[list[str], Counter[str]]:
    """Place an order of 2 (a market order unless ``order`` says otherwise) with ``fault``
    armed, on the tidy wire (one event per frame, engine order); the raw frames that
    follow."""
    async with open_sim(awkward_wire=False) as sim:
        me = await synced(sim, http)
        if fault is not None:
            sim.faults.arm(fault, **arming)
        await me.client.send("order/placeorder\n5\n\n" + msgspec.json.encode(
            order_body(me.account, orderQty=2, clOrdId="watched", **(order or {}))).decode())
        texts = await raw_frames(me.client.ws, seconds)
        await me.client.ws.close()
        return texts, sim.faults.fired


async def test_duplicate_events_send_each_event_twice(http: aiohttp.ClientSession) -> None:
    doubled, fired = await place_and_watch(http, "duplicate_events")
    after = raw_events(doubled)
    assert fired["duplicate_events"] * 2 == len(after) > 0
    assert set(Counter(msgspec.json.encode(e) for e in after).values()) == {2}


async def test_replayed_events_resend_a_stale_version(http: aiohttp.ClientSession) -> None:
    texts, fired = await place_and_watch(http, "replayed_events", depth=50)
    assert fired["replayed_events"] >= 1
    seen: dict[tuple[str, int], list[str]] = {}
    for entity_type, _, entity in flat(raw_events(texts)):
        seen.setdefault((entity_type, entity["id"]), []).append(
            msgspec.json.encode(entity).decode())
    # an entity came back in a version older than the one sent just before it
    stale = [versions for versions in seen.values()
             if any(versions[i] in versions[:i - 1] and versions[i] != versions[i - 1]
                    for i in range(2, len(versions)))]
    assert len(stale) >= fired["replayed_events"]


async def test_out_of_order_events_arrive_in_later_frames_reordered(
        http: aiohttp.ClientSession) -> None:
    clean, _ = await place_and_watch(http, None, order=RESTING)
    shuffled, fired = await place_and_watch(http, "out_of_order_events", order=RESTING,
                                            max_hold=0.4)
    engine_order = [(t, e, x["id"]) for t, e, x in flat(raw_events(clean))]
    wire_order = [(t, e, x["id"]) for t, e, x in flat(raw_events(shuffled))]
    assert fired["out_of_order_events"] == len(raw_events(shuffled))
    assert sorted(wire_order) == sorted(engine_order)  # nothing lost ...
    assert wire_order != engine_order  # ... but not in the engine's order
    frames_with_props = [t for t in shuffled if '"e":"props"' in t]
    assert len(frames_with_props) > 1


async def test_odd_fields_in_props_snapshot_and_lists(http: aiohttp.ClientSession) -> None:
    async with open_sim() as sim:
        me = await synced(sim, http)
        sim.faults.arm("odd_fields")
        await me.client.send("order/placeorder\n5\n\n" + msgspec.json.encode(
            order_body(me.account, orderQty=1)).decode())
        entities = flat(raw_events(await raw_frames(me.client.ws, 1.0)))
        fills = [e for t, k, e in entities if t == "fill" and k == "Created"]
        positions = [e for t, _, e in entities if t == "position"]
        accounts_extra = set(FUTURE_FIELDS)
        assert fills
        assert positions
        assert all("finallyPaired" not in f for f in fills)
        assert all("prevPos" not in p for p in positions)
        assert all(accounts_extra & set(e) for _, _, e in entities)
        await me.client.send(f"user/syncrequest\n6\n\n{{\"users\":[{me.user_id}]}}")
        texts = await raw_frames(me.client.ws, 0.5)
        response = next(m for t in texts if t.startswith("a")
                        for m in msgspec.json.decode(t[1:]) if m.get("i") == 6)
        account = response["d"]["accounts"][0]
        assert {"restricted", "futuresDisabled"} <= set(account)
        assert all("prevPos" not in p for p in response["d"]["positions"])
        await me.client.send("fill/list\n7\n\n")
        texts = await raw_frames(me.client.ws, 0.5)
        listed = next(m for t in texts if t.startswith("a")
                      for m in msgspec.json.decode(t[1:]) if m.get("i") == 7)
        assert listed["d"]
        assert all("finallyPaired" not in f for f in listed["d"])
        assert sim.faults.fired["odd_fields"] >= len(entities)
        await me.client.ws.close()


async def test_the_default_wire_carries_the_current_spec_fields_without_any_fault(
        http: aiohttp.ClientSession) -> None:
    """Today's Tradovate sends fields the 2021 schema lacks (reference §5.2), by default: so
    does the simulator's default wire, in events and in the snapshot."""
    async with open_sim() as sim:
        me = await synced(sim, http)
        await me.client.send("order/placeorder\n5\n\n" + msgspec.json.encode(
            order_body(me.account, orderQty=1)).decode())
        entities = flat(raw_events(await raw_frames(me.client.ws, 1.0)))
        fills = [e for t, k, e in entities if t == "fill" and k == "Created"]
        balances = [e for t, _, e in entities if t == "cashBalance"]
        assert fills
        assert balances
        assert all("external" in f for f in fills)
        assert all(isinstance(b["amountSOD"], float) for b in balances)
        assert not [e for _, _, e in entities if set(FUTURE_FIELDS) & set(e)]  # no fault
        await me.client.send(f"user/syncrequest\n6\n\n{{\"users\":[{me.user_id}]}}")
        texts = await raw_frames(me.client.ws, 0.5)
        response = next(m for t in texts if t.startswith("a")
                        for m in msgspec.json.decode(t[1:]) if m.get("i") == 6)
        assert {"restricted", "futuresDisabled"} <= set(response["d"]["accounts"][0])
        assert sim.faults.fired.get("odd_fields", 0) == 0
        await me.client.ws.close()


@pytest.mark.parametrize("omit_required", [True, False])
async def test_odd_fields_can_keep_the_required_fields(http: aiohttp.ClientSession,
                                                       omit_required: bool) -> None:
    texts, _ = await place_and_watch(http, "odd_fields", omit_required=omit_required)
    fills = [e for t, k, e in flat(raw_events(texts)) if t == "fill" and k == "Created"]
    assert fills
    assert all(("finallyPaired" in f) is not omit_required for f in fills)


async def test_event_faults_are_seeded(http: aiohttp.ClientSession) -> None:
    """Same seeds, same decisions: with probability 0.5 the same events are doubled."""
    runs = []
    for _ in range(2):
        texts, fired = await place_and_watch(http, "duplicate_events", order=RESTING,
                                             probability=0.5)
        runs.append((fired["duplicate_events"],
                     [(t, k) for t, k, _ in flat(raw_events(texts))]))
    assert runs[0] == runs[1]
    assert 0 < runs[0][0] < len(runs[0][1])


async def test_messages_decode_for_a_lenient_reader(http: aiohttp.ClientSession) -> None:
    """The decoded view a client gets: every event still arrives as an entity event."""
    async with open_sim() as sim:
        me = await synced(sim, http)
        sim.faults.arm("duplicate_events")
        await me.client.request("order/placeorder", order_body(me.account))
        messages = await drain(me.client, 0.5)
        assert len([m for m in messages if getattr(m, "entity_type", None) == "order"]) >= 2
        await me.client.ws.close()
