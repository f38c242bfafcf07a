"""The order gate's kept-up-to-date tables agree with a full recount after any events.

Before every order the manager asks which ticket of unknown outcome blocks the contract and
how much is in flight in it. Both used to be scans over every open and watched ticket; they
are now read from tables kept up to date (``TicketIndex``, ``InFlight``). A table that drifts
from the truth is a money bug (a position limit that under-counts, a blocked contract that
is not), so random sequences of placements, answers, lost answers, account events (orders
shown, finished, deleted), snapshots that forget orders, disconnects and resolver verdicts
are run, and after every step both are compared with the scans they replaced.
"""

from __future__ import annotations

import asyncio
from typing import Any

import msgspec
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from trading_helpers import ES, NQ, Harness, ScriptedGateway

from tradovate_api.errors import ConnectionLost, OrderRejected
from tradovate_api.orders import OrderManager, OrderTicket, TicketKind, TicketState
from tradovate_api.protocol import EntityEvent, decode_entities
from tradovate_api.protocol.models import Command, Order, PlaceOrderResult, SyncMessage
from tradovate_api.settings import Risk
from tradovate_api.strategy import Strategy

_ENTERING = {TicketKind.PLACE, TicketKind.OSO, TicketKind.OCO, TicketKind.STRATEGY}
_MONEY = {TicketKind.PLACE, TicketKind.OSO, TicketKind.OCO, TicketKind.MODIFY,
          TicketKind.LIQUIDATE, TicketKind.STRATEGY}
_WIDE = Risk(max_position=1_000_000, max_order_qty=10, max_orders_per_second=1e6,
             max_daily_loss=1e9, max_orders_per_hour=100_000)
_CONTRACTS = (ES, NQ)


class _Idle(Strategy):
    pass


def recount_in_flight(orders: OrderManager, contract_id: int) -> tuple[int, int]:
    """The scan the in-flight counters replaced (every open and watched ticket)."""
    account = orders._account
    buy = sell = 0
    for t in [*orders._open.values(), *orders._watched.values()]:
        if (t.contract_id != contract_id or t.kind not in _ENTERING
                or (t.order_id is not None and account.order(t.order_id) is not None)):
            continue
        if t.action == "Buy":
            buy += t.qty
        else:
            sell += t.qty
    for t in orders._strategies.values():
        if t.contract_id == contract_id and t.order_id is None:
            if t.action == "Buy":
                buy += t.qty
            else:
                sell += t.qty
    return buy, sell


def rescan_blocked(orders: OrderManager, contract_id: int) -> OrderTicket | None:
    """The scan ``blocked`` replaced."""
    for ticket in orders._open.values():
        if (ticket.state is TicketState.UNKNOWN and ticket.contract_id == contract_id
                and ticket.kind in _MONEY):
            return ticket
    return None


_step = st.one_of(
    st.tuples(st.just("place"), st.integers(0, 1), st.booleans(), st.integers(1, 3)),
    st.tuples(st.just("ack"), st.integers(0, 3)),
    st.tuples(st.just("reject"), st.integers(0, 3)),
    st.tuples(st.just("lose"), st.integers(0, 3)),
    st.tuples(st.just("show"), st.integers(0, 3), st.booleans()),
    st.tuples(st.just("finish"), st.integers(0, 3)),
    st.tuples(st.just("delete"), st.integers(0, 3)),
    st.tuples(st.just("snapshot"), st.integers(0, 7)),
    st.tuples(st.just("disconnect"),),
    st.tuples(st.just("absent"), st.integers(0, 3)),
)


class _Run:
    def __init__(self) -> None:
        self.gateway = ScriptedGateway()
        self.h = Harness(_Idle(), risk=_WIDE, symbols=("ESZ6", "NQZ6"), gateway=self.gateway)
        self.orders = self.h.orders
        self.next_order_id = 1000
        self.store: dict[int, tuple[Order, Command]] = {}
        """What the exchange told the account store: order id → (order, its New command)."""
        self.connection = 1

    def _pick(self, index: int, items: list[Any]) -> Any:
        return items[index % len(items)] if items else None

    def _apply(self, entity_type: str, event_type: str, entity: Any) -> None:
        raw = msgspec.json.encode(entity)
        event = EntityEvent(entity_type, event_type, decode_entities(entity_type, raw))
        self.h.dispatcher.account(self.h.account_writer.apply(event))

    def _order_entity(self, ticket: OrderTicket, order_id: int, status: str) -> Order:
        return Order(id=order_id, account_id=self.h.account_id,
                     contract_id=ticket.contract_id, timestamp="2026-11-18T08:26:40.000Z",
                     action=ticket.action, ord_status=status, admin=False)

    def step(self, op: tuple[Any, ...]) -> None:
        name = op[0]
        tickets = [t for t in self.orders.tickets.values() if t.kind is TicketKind.PLACE]
        pending = [(e, b, f) for e, b, f in self.gateway.sent if not f.done()]
        if name == "place":
            contract = _CONTRACTS[op[1]]
            self.orders.place(contract.name, "Buy" if op[2] else "Sell", op[3],
                              order_type="Limit", price=5000.25, trigger="test")
        elif name in ("ack", "reject", "lose"):
            chosen = self._pick(op[1], pending)
            if chosen is None:
                return
            future = chosen[2]
            if name == "ack":
                self.next_order_id += 1
                future.set_result(PlaceOrderResult(order_id=self.next_order_id))
            elif name == "reject":
                future.set_exception(OrderRejected("UnknownReason", "no"))
            else:
                future.set_exception(ConnectionLost("the socket died"))
        elif name == "show":
            ticket = self._pick(op[1], [t for t in tickets if t.state is not TicketState.REFUSED])
            if ticket is None:
                return
            order_id = ticket.order_id
            if order_id is None:
                self.next_order_id += 1
                order_id = self.next_order_id
            order = self._order_entity(ticket, order_id, "Working")
            command = Command(id=order_id, order_id=order_id,
                              timestamp="2026-11-18T08:26:40.000Z", command_type="New",
                              command_status="ExecutionStopped", cl_ord_id=ticket.cl_ord_id,
                              is_automated=True)
            self.store[order_id] = (order, command)
            if op[2]:  # the command first: the order then carries the ticket's clOrdId
                self._apply("command", "Created", command)
            self._apply("order", "Created", order)
        elif name == "finish":
            order_id = self._pick(op[1], sorted(self.store))
            if order_id is None:
                return
            order, command = self.store[order_id]
            done = msgspec.structs.replace(order, ord_status="Canceled")
            self.store[order_id] = (done, command)
            self._apply("order", "Updated", done)
        elif name == "delete":
            order_id = self._pick(op[1], sorted(self.store))
            if order_id is None:
                return
            order, _ = self.store.pop(order_id)
            self._apply("order", "Deleted", order)
        elif name == "snapshot":
            kept = {i: v for n, (i, v) in enumerate(sorted(self.store.items()))
                    if (n + op[1]) % 3}
            self.store = kept
            self.connection += 1
            message = SyncMessage(orders=[o for o, _ in kept.values()],
                                  commands=[c for _, c in kept.values()])
            report = self.h.account_writer.apply_snapshot(
                msgspec.json.decode(msgspec.json.encode(message), type=SyncMessage))
            self.h.dispatcher.sync(report, self.connection)
        elif name == "disconnect":
            self.orders.on_disconnect()
        elif name == "absent":
            unknown = list(self.orders.unknown())
            ticket = self._pick(op[1], unknown)
            if ticket is not None:
                self.orders.settle_absent(ticket, "not in the server's list")

    def check(self) -> None:
        for contract in _CONTRACTS:
            cid = contract.contract_id
            assert self.orders._in_flight(cid) == recount_in_flight(self.orders, cid)
            assert self.orders.blocked(cid) is rescan_blocked(self.orders, cid)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_step, min_size=1, max_size=40))
def test_the_gate_tables_agree_with_a_full_recount(steps: list[tuple[Any, ...]]) -> None:
    async def scenario() -> None:
        run = _Run()
        run.h.start()
        run.check()
        for op in steps:
            run.step(op)
            await asyncio.sleep(0)  # answers reach the manager
            await asyncio.sleep(0)
            run.check()

    asyncio.run(scenario())


def test_a_burst_in_flight_is_counted_without_order_ids() -> None:
    """The common burst: many placements sent, none answered yet; the counters see them
    all (and the scan agrees)."""
    async def scenario() -> None:
        run = _Run()
        run.h.start()
        for _ in range(50):
            run.step(("place", 0, True, 2))
        run.step(("place", 0, False, 1))
        assert run.orders._in_flight(ES.contract_id) == (100, 1)
        run.check()
        run.orders.on_disconnect()
        await asyncio.sleep(0)
        blocker = run.orders.blocked(ES.contract_id)
        assert blocker is not None
        assert blocker is rescan_blocked(run.orders, ES.contract_id)
        assert run.orders.blocked(NQ.contract_id) is None
        run.check()

    asyncio.run(scenario())


def test_an_order_the_store_forgets_is_in_flight_again() -> None:
    """Acknowledged and shown, then deleted (or left out of a snapshot): the store no longer
    shows the order, so the placement counts in flight again, as the scan says."""
    async def scenario(forget: tuple[Any, ...]) -> tuple[int, int]:
        run = _Run()
        run.h.start()
        for op in [("place", 0, True, 2), ("ack", 0), ("show", 0, False)]:
            run.step(op)
            await asyncio.sleep(0)
            run.check()
        assert run.orders._in_flight(ES.contract_id) == (0, 0)
        run.step(forget)
        await asyncio.sleep(0)
        run.check()
        return run.orders._in_flight(ES.contract_id)

    assert asyncio.run(scenario(("delete", 0))) == (2, 0)
    assert asyncio.run(scenario(("snapshot", 0))) == (2, 0)
