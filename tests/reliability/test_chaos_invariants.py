"""The chaos soak's invariants catch what they exist for: a duplicate order, an order settled
not placed that exists, an order nobody wrote ahead, a request the journal lost, a position
left without its stop — checked against the simulator's real matching engine, with orders
placed the way the client places them."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import cast

import msgspec
import pytest

from tradovate_api.chaos.client_process import ClientProcess, TicketRecord
from tradovate_api.chaos.exchange_record import ExchangeRecord
from tradovate_api.chaos.invariants import Invariants
from tradovate_api.chaos.naked import ALLOWANCE_SECONDS, NakedWatch, stop_request_excused
from tradovate_api.chaos.one_to_one import JournalIntent, order_problems
from tradovate_api.journal import Journal
from tradovate_api.protocol import EntityEvent
from tradovate_api.protocol.models import PlaceOrder, PlaceOSO, RestrainedOrderVersion
from tradovate_api.simulator import Simulator, SimulatorConfig
from tradovate_api.simulator.calendar import open_clock

GRACE = 2.0


class Exchange:
    """The simulator's exchange (no sockets) with one account, and what the client wrote."""

    def __init__(self) -> None:
        self.sim = Simulator(SimulatorConfig(warm_up=0.0), seed=3, clock=open_clock())
        user = self.sim.exchange.users()[0]
        self.user_id = user.id
        self.account_id = self.sim.exchange.accounts_of(user.id)[0].id
        self.symbol = next(i.name for i in self.sim.catalog if i.product.name == "ES")
        self.contract_id = next(i.contract_id for i in self.sim.catalog
                                if i.name == self.symbol)
        self.record = ExchangeRecord(self.sim, self.user_id, self.account_id)
        self.journal: dict[str, JournalIntent] = {}
        self.witness: dict[str, TicketRecord] = {}

    def place(self, cl: str | None, *, order_type: str = "Limit", action: str = "Buy",
              stop: float | None = None, tag: str | None = None) -> int:
        price = 1000.0 if order_type == "Limit" else None
        result, _ = self.sim.exchange.place_order(self.user_id, PlaceOrder(
            action=action, symbol=self.symbol, order_qty=1, order_type=order_type,
            account_id=self.account_id, cl_ord_id=cl, price=price, stop_price=stop,
            custom_tag50=tag, is_automated=True))
        assert result.order_id is not None, result
        return result.order_id

    def wrote(self, cl: str, kind: str = "place", state: str = "acked") -> None:
        self.journal[cl] = JournalIntent(cl, kind, state)

    def saw(self, cl: str, *states: str, at: float = 100.0, kind: str = "place") -> None:
        record = TicketRecord(cl, kind, 1, cl.endswith("-ps"), self.symbol, intent_at=at)
        record.states = [(at + i, s, "") for i, s in enumerate(states)]
        self.witness[cl] = record

    def problems(self, unwritable: list[tuple[float, float]] | None = None) -> list[str]:
        self.record.update()
        return order_problems(self.record, self.journal, self.witness, unwritable or [])


@pytest.fixture
def ex() -> Exchange:
    return Exchange()


def test_one_order_per_intent_written_ahead_matches(ex: Exchange) -> None:
    ex.place("run-1")
    ex.wrote("run-1")
    ex.saw("run-1", "pending", "acked")
    result, _ = ex.sim.exchange.place_oso(ex.user_id, PlaceOSO(
        action="Buy", symbol=ex.symbol, order_qty=1, order_type="Limit", price=1000.0,
        account_id=ex.account_id, cl_ord_id="run-2", is_automated=True,
        bracket1=RestrainedOrderVersion(action="Sell", order_type="Limit", price=9000.0,
                                        cl_ord_id="run-2-tp"),
        bracket2=RestrainedOrderVersion(action="Sell", order_type="Stop", stop_price=900.0,
                                        cl_ord_id="run-2-sl")))
    assert result.order_id is not None
    ex.wrote("run-2", "oso")
    assert ex.problems() == []


def test_a_second_order_for_one_intent_is_a_duplicate(ex: Exchange) -> None:
    ex.place("run-1")
    ex.place("run-1")
    ex.wrote("run-1")
    [problem] = ex.problems()
    assert "run-1 (place): 2 orders on the exchange" in problem


def test_an_order_of_an_intent_settled_not_placed_is_a_duplicate_in_waiting(
        ex: Exchange) -> None:
    ex.place("run-3")
    ex.wrote("run-3", state="acked")
    ex.saw("run-3", "pending", "unknown", "not_placed", "acked")  # a late execution
    [problem] = ex.problems()
    assert "run-3 (place) was settled not placed" in problem


def test_an_order_of_a_refused_or_rejected_intent_is_a_mismatch(ex: Exchange) -> None:
    ex.place("run-4")
    ex.wrote("run-4", state="refused")
    ex.saw("run-4", "refused")
    ex.place("run-5")
    ex.wrote("run-5", state="rejected")
    problems = ex.problems()
    assert any("run-4 (place) was refused" in p for p in problems), problems
    assert any("run-5 (place) was settled rejected" in p for p in problems), problems


def test_orders_nobody_wrote_ahead_or_without_a_client_id_are_mismatches(ex: Exchange) -> None:
    ex.place("someone-else")
    ex.place(None)
    problems = ex.problems()
    assert any("never wrote ahead: ['someone-else']" in p for p in problems), problems
    assert any("orders without a client id" in p for p in problems), problems
    ex.place(None, tag="liquidation-7")  # a liquidation: its customTag50 is its id
    ex.wrote("liquidation-7", "liquidate")
    assert not any("liquidation-7" in p for p in ex.problems())


def test_a_sent_request_the_journal_lacks_is_a_mismatch_unless_the_disk_was_full(
        ex: Exchange) -> None:
    ex.saw("run-6-ps", "pending", "acked", at=50.0)
    ex.saw("run-7", "refused", at=51.0)  # refused before sending: nothing to journal
    [problem] = ex.problems()
    assert "that it does not have: ['run-6-ps']" in problem
    assert ex.problems(unwritable=[(49.0, 52.0)]) == []


def _sampled(ex: Exchange, *, countable: bool = True, excused: bool = False) -> NakedWatch:
    now = [0.0]
    watch = NakedWatch(ex.sim, ex.user_id, ex.account_id, grace=GRACE,
                       countable=lambda: countable,
                       excused=lambda contract_id, at: excused,
                       clock=lambda: now[0], started=0.0)
    for step in range(40):  # 4 s of samples, 0.1 s apart
        now[0] = step * 0.1
        watch.sample()
    return watch


def test_a_position_without_its_stop_past_the_grace_fails(ex: Exchange) -> None:
    ex.sim.exchange.carry_position(ex.account_id, ex.symbol, prev_pos=1, prev_price=5000.0)
    watch = _sampled(ex)
    [failure] = watch.failures
    assert f"position +1 in contract {ex.contract_id} without its stop" in failure
    assert watch.longest > GRACE + ALLOWANCE_SECONDS


def test_time_the_client_could_not_act_or_was_refused_by_a_fault_is_not_counted(
        ex: Exchange) -> None:
    ex.sim.exchange.carry_position(ex.account_id, ex.symbol, prev_pos=1, prev_price=5000.0)
    assert _sampled(ex, countable=False).failures == []
    assert _sampled(ex, excused=True).failures == []


def test_a_working_closing_side_stop_covers_the_position(ex: Exchange) -> None:
    ex.sim.exchange.carry_position(ex.account_id, ex.symbol, prev_pos=1, prev_price=5000.0)
    book = ex.sim.generator.books[ex.contract_id]
    bid = book.best_bid
    assert bid is not None
    ex.place("run-8-ps", order_type="Stop", action="Sell", stop=bid - 50.0)
    watch = _sampled(ex)
    assert watch.failures == []
    assert watch.uncovered == 0
    ex.place("run-9", order_type="Stop", action="Buy", stop=bid + 50.0)  # opening side
    assert _sampled(ex).failures == []


def _stop_ticket(cl: str, *states: tuple[float, str, str]) -> TicketRecord:
    record = TicketRecord(cl, "place", 1, True, "ESZ6", intent_at=states[0][0])
    record.states = list(states)
    return record


def test_a_stop_request_refused_by_an_injected_fault_is_excused_until_its_retry_is_due() -> None:
    rejected = _stop_ticket("a-1-ps", (10.0, "pending", ""),
                            (10.1, "rejected", "ChaosRejected: Order rejected"))
    assert stop_request_excused([rejected], 10.1 + GRACE, grace=GRACE)
    assert not stop_request_excused([rejected], 10.1 + GRACE + ALLOWANCE_SECONDS + 0.1,
                                    grace=GRACE)
    again = _stop_ticket("a-2-ps", (12.2, "pending", ""),
                         (12.3, "rejected", "ChaosRejected: Order rejected"))
    # the second failure in a row: the client waits twice as long
    assert stop_request_excused([rejected, again], 12.3 + 2 * GRACE, grace=GRACE)
    other = _stop_ticket("a-3-ps", (10.0, "pending", ""),
                         (10.1, "rejected", "InvalidPrice: stop through the market"))
    assert not stop_request_excused([other], 10.2, grace=GRACE)
    lost = _stop_ticket("a-4-ps", (10.0, "pending", ""), (10.5, "unknown", "answer lost"))
    assert stop_request_excused([lost], 30.0, grace=GRACE)
    settled = _stop_ticket("a-5-ps", (10.0, "pending", ""), (10.5, "unknown", "lost"),
                           (21.0, "not_placed", "absent"))
    assert stop_request_excused([settled], 22.0, grace=GRACE)
    assert not stop_request_excused([settled], 21.0 + GRACE + ALLOWANCE_SECONDS + 0.1,
                                    grace=GRACE)



def test_a_stop_request_the_exchange_holds_by_an_injected_delay_is_excused_until_answered(
        ) -> None:
    held = [(9.5, 20.5)]
    waiting = _stop_ticket("a-6-ps", (10.0, "pending", ""))
    assert stop_request_excused([waiting], 19.0, grace=GRACE, held=held)
    assert not stop_request_excused([waiting], 19.0, grace=GRACE)  # no delay: it counts
    late = _stop_ticket("a-7-ps", (21.0, "pending", ""))  # sent after the delay ended
    assert not stop_request_excused([late], 22.0, grace=GRACE, held=held)
    answered = _stop_ticket("a-8-ps", (10.0, "pending", ""), (20.6, "acked", ""))
    assert not stop_request_excused([answered], 21.0, grace=GRACE, held=held)


def test_a_fill_made_since_the_exchanges_last_look_is_no_phantom_a_made_up_one_is(
        ex: Exchange, tmp_path: Path) -> None:
    """The run trades on while the soak checks it: a fill the exchange made after the
    record's last look and the client has journaled since is the exchange's; a journaled
    fill the exchange never made is still reported."""
    ex.record.update()  # the record's last look, before the fill
    ex.place("run-1", order_type="Market")
    [fill] = ex.sim.exchange.sync(ex.user_id, [ex.account_id]).fills
    path = tmp_path / "journal.sqlite"
    journal = Journal(path, label="chaos")
    journal.account_event(EntityEvent("fill", "Created", (fill,)))
    assert journal.close()
    client = cast(ClientProcess, SimpleNamespace(clock_offset=0.0))
    invariants = Invariants(client, ex.record, path, grace=GRACE)
    assert invariants.journal_problems(ex.record.fills.values(), final=False) == []

    journal = Journal(path, label="chaos")
    made_up = msgspec.structs.replace(fill, id=fill.id + 1_000)
    journal.account_event(EntityEvent("fill", "Created", (made_up,)))
    assert journal.close()
    assert invariants.journal_problems(ex.record.fills.values(), final=False) == [
        f"journaled fills the exchange does not have: [{made_up.id}]"]
