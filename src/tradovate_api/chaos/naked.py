"""Naked positions, watched on the exchange itself: every open position must have working
stops on its closing side covering it, within the protective-stop grace time.

:class:`NakedWatch` samples the simulator (the ground truth, not the client's picture) every
:data:`SAMPLE_SECONDS`. A position is *uncovered* while the unfilled quantity of its working
closing-side stop orders (Stop, StopLimit, TrailingStop; a bracket leg still held by its
entry does not count) is below its size. An uncovered *episode* lasts until it is covered or
flat again; a flip to the other side starts a new one. An episode fails when its **counted**
time exceeds ``protective_stop_grace_seconds`` + :data:`ALLOWANCE_SECONDS`.

Counted is the time during which the client could have placed the stop. Not counted:

* while the market does not trade (a maintenance window: placements are refused);
* while the client has no ready trading connection: between a ``kill -9`` and the next
  process's first snapshot, and during reconnects (the client keeps protective stops only on
  the live socket, ADR 0006; after a drop it learns the position from the next snapshot);
* while the exchange sends the client nothing (the ``silence`` fault): a fill made then reaches
  the client only after it has declared the socket dead (``connection.silence_timeout_seconds``)
  and reconnected, and an order strategy interrupted as its entry fills leaves the position
  without its bracket until then.

* while the exchange has refused the client's own protective-stop request for the contract
  *by an injected fault* — rejected (``order rejection``), answered 429 (``rate limit 429``) —
  until the client's next attempt is due by its documented backoff (``grace × 2ⁿ`` after the
  n-th failure in a row, ADR 0006) plus the allowance; while the exchange holds that request
  (sent while the ``response delay`` fault held every request: neither answered nor executed
  until the client's time-out); and while that request's answer was lost (its outcome
  UNKNOWN: a second stop could double the cover and open a position when both trigger), until
  the server's order list settles it and the retry is due.

Everything else counts — including a position opened by an order the dead process left
working, a stop the restarted process cancelled, and a stop request refused for any reason
the run did not inject. The allowance covers what the grace time does not: the client starts
its grace when it *learns* of the position (the fill's event, up to half a second late under
the ``out_of_order_events`` fault), checks every 0.25 s (the risk watch), and the request's
round trip, all on a loaded 2-core machine.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from ..protocol.models import Position
from ..simulator import Simulator
from .client_process import TicketRecord

SAMPLE_SECONDS = 0.15
ALLOWANCE_SECONDS = 1.5
"""On top of the grace time (see the module doc)."""
STOP_TYPES = frozenset({"Stop", "StopLimit", "TrailingStop", "TrailingStopLimit"})
MAX_BACKOFF_SECONDS = 60.0
"""The client's longest wait between protective-stop attempts (ADR 0006)."""
INJECTED_REFUSALS = ("ChaosRejected", "status 429", "status 423")
"""What the ``reason`` of a protective stop refused by an injected fault contains."""


def stop_request_excused(tickets: Iterable[TicketRecord], now: float, *, grace: float,
                         held: Iterable[tuple[float, float]] = ()) -> bool:
    """Whether the latest protective-stop request among ``tickets`` (one contract, one
    client process) was refused, lost or held by an injected fault and the client's next
    attempt is not due yet (see the module doc). ``held`` are the (monotonic) windows in which
    the exchange held every request's answer and execution (``response delay``)."""
    requests = sorted((t for t in tickets if t.protective and t.kind in ("place", "modify")
                       and t.states), key=lambda t: t.states[0][0])
    if not requests:
        return False
    last = requests[-1]
    if last.state == "unknown" or (last.state == "pending" and last.was("unknown")):
        return True
    sent = last.intent_at
    if last.state == "pending" and sent is not None and any(
            start <= sent <= end for start, end in held):
        return True
    failures = 0
    for ticket in reversed(requests):
        if not _injected_failure(ticket):
            break
        failures += 1
    if failures == 0:
        return False
    wait = min(max(grace, 1.0) * 2.0 ** (failures - 1), MAX_BACKOFF_SECONDS)
    return now <= last.states[-1][0] + wait + ALLOWANCE_SECONDS


def _injected_failure(ticket: TicketRecord) -> bool:
    if ticket.state == "not_placed":
        return ticket.was("unknown")
    return ticket.state == "rejected" and any(
        mark in reason for _, state, reason in ticket.states if state == "rejected"
        for mark in INJECTED_REFUSALS)


@dataclass(slots=True)
class Episode:
    """One position uncovered on the exchange."""

    contract_id: int
    net_pos: int
    began: float
    last: float
    counted: float = 0.0
    failed: bool = False


class NakedWatch:
    """Samples the exchange's positions and working stops of one account (see the module
    doc). ``countable()`` says whether the client could act now, ``excused(contract_id,
    now)`` whether an injected fault on its stop request holds it back in that contract."""

    def __init__(self, sim: Simulator, user_id: int, account_id: int, *, grace: float,
                 countable: Callable[[], bool],
                 excused: Callable[[int, float], bool] = lambda contract_id, now: False,
                 clock: Callable[[], float] = time.monotonic,
                 started: float | None = None) -> None:
        self._sim = sim
        self._user_id = user_id
        self._account_id = account_id
        self.limit = grace + ALLOWANCE_SECONDS
        self._countable = countable
        self._excused = excused
        self._clock = clock
        self._started = clock() if started is None else started
        self.episodes: dict[int, Episode] = {}
        self.failures: list[str] = []
        self.uncovered = 0
        """Episodes seen (each position uncovered at least one sample)."""
        self.longest = 0.0
        """Longest counted time of an episode (s)."""
        self.samples = 0

    def naked(self) -> dict[int, tuple[int, int]]:
        """Contract → (position, quantity its working closing-side stops cover), for the
        account's uncovered positions on the exchange now."""
        exchange = self._sim.exchange
        nets = {p.contract_id: p.net_pos for p in exchange.entities("position", self._user_id)
                if isinstance(p, Position) and p.account_id == self._account_id
                and p.net_pos != 0}
        if not nets:
            return {}
        covered: dict[int, int] = dict.fromkeys(nets, 0)
        for order, version, remaining in exchange.working_orders(self._account_id):
            net = nets.get(order.contract_id or 0)
            if net is None or version.order_type not in STOP_TYPES:
                continue
            if order.action == ("Sell" if net > 0 else "Buy"):
                covered[order.contract_id or 0] += remaining
        return {c: (net, covered[c]) for c, net in nets.items() if covered[c] < abs(net)}

    def sample(self) -> None:
        now = self._clock()
        self.samples += 1
        naked = self.naked()
        countable = self._countable()
        for contract_id, ended in list(self.episodes.items()):
            found = naked.get(contract_id)
            if found is None or (found[0] > 0) != (ended.net_pos > 0):
                del self.episodes[contract_id]  # covered, flat, or flipped (a new one below)
        for contract_id, (net, covered) in naked.items():
            episode = self.episodes.get(contract_id)
            if episode is None:
                self.uncovered += 1
                self.episodes[contract_id] = Episode(contract_id, net, now, now)
                continue
            if countable and not self._excused(contract_id, now):
                episode.counted += now - episode.last
            episode.last = now
            episode.net_pos = net
            self.longest = max(self.longest, episode.counted)
            if episode.counted > self.limit and not episode.failed:
                episode.failed = True
                self.failures.append(
                    f"position {net:+d} in contract {contract_id} without its stop (stops "
                    f"cover {covered}) for {episode.counted:.1f}s the client could act, "
                    f"{now - episode.began:.1f}s in all, from {episode.began - self._started:.1f}s "
                    f"into the run (limit {self.limit:g}s)")

    async def run(self) -> None:
        """Sample until cancelled."""
        while True:
            self.sample()
            await asyncio.sleep(SAMPLE_SECONDS)
