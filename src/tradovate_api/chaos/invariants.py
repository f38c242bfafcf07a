"""What a chaos run checks about the account, against the simulator's own records (the ground
truth), with the client's picture read from its process (:mod:`.channel`) and its journal.

After every fault, until they hold (re-checked every :data:`POLL_SECONDS`, within a bound —
"converges" is the invariant; a check that never converges is a mismatch):

* every fill of the exchange's current trade date is in the client's account store and equal
  to the exchange's (order, contract, time, side, quantity, price, active); the store has none
  the exchange does not;
* every order the exchange lists is in the store with the exchange's status;
* every position equals the exchange's (net, bought, sold), and so does the position of the
  client's own P&L ledger; the cash balance equals the exchange's, and the realized P&L of the
  ledgers (carried lots at the settlement, the day's fills FIFO) equals the exchange's;
* each fill made while the current client process's strategy runs was given to it exactly once
  (fills it found in the store when it started are history, never given); no fill twice;
* no ticket stays UNKNOWN longer than the grace period (``risk.unknown_order_grace_seconds``)
  plus :data:`UNKNOWN_SLACK_SECONDS` after its answer was lost.

Then, within :data:`JOURNAL_LAG_SECONDS`: the journal holds every fill the store holds (fills
lost to a full disk excepted: they fall in a window the disk was full and the journal recorded
the gap), and the exchange's orders match the client's intents one to one
(:mod:`.one_to_one`).
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path

from ..journal import JournalReader
from ..journal.schema import JournalError
from ..protocol.models import Fill, SyncMessage
from .channel import ClientFill, StateMsg
from .client_process import ClientProcess
from .exchange_record import ExchangeRecord
from .one_to_one import journal_intents, order_problems

POLL_SECONDS = 0.3
JOURNAL_LAG_SECONDS = 5.0
"""How long the journal may take to hold what the store holds."""
_MONEY_TOLERANCE = 0.01
"""Money: server and client sum the same float products in different orders."""
UNKNOWN_SLACK_SECONDS = 5.0
"""Time allowed on top of the grace period for the resolver to read the server's order list
and settle an UNKNOWN ticket."""


def _day(fill: Fill) -> str:
    d = fill.trade_date
    return f"{d.year:04d}-{d.month:02d}-{d.day:02d}"


def _projection(fill: Fill) -> ClientFill:
    return ClientFill(fill.id, fill.order_id, fill.contract_id, _day(fill), fill.action,
                      fill.qty, fill.price, fill.active)


def fill_epoch(fill: Fill) -> float:
    """A fill's exchange time, in epoch seconds of the simulator's clock."""
    return datetime.fromisoformat(fill.timestamp.replace("Z", "+00:00")).timestamp()


class Invariants:
    """The account checks of one run (see the module doc)."""

    def __init__(self, client: ClientProcess, record: ExchangeRecord, journal_path: Path, *,
                 grace: float) -> None:
        self._client = client
        self._record = record
        self._journal = journal_path
        self._grace = grace
        self.unwritable: list[tuple[float, float]] = []
        """(monotonic) times the client's disk was full, for :mod:`.one_to_one`."""
        self.unwritable_exchange: list[tuple[float, float]] = []
        """The same windows in the simulator's clock (epoch seconds), for fills."""
        self.held: list[tuple[float, float]] = []
        """(monotonic) times the exchange held every request (``response delay``; the last
        one open-ended while it lasts), for :mod:`.naked`."""

    # ------------------------------------------------------------------ the account

    async def account_problems(self) -> list[str]:
        """Differences between the client and the exchange right now (empty: none)."""
        try:
            state = await self._client.state()
        except (ConnectionError, TimeoutError) as exc:
            return [f"the client did not answer a state request: {exc or type(exc).__name__}"]
        truth = self._record.update()
        return (self._fill_problems(state, truth) + self._order_problems(state, truth)
                + self._position_problems(state, truth) + self._unsettled(state))

    def _fill_problems(self, state: StateMsg, truth: SyncMessage) -> list[str]:
        problems: list[str] = []
        server = {f.id: _projection(f) for f in truth.fills}
        today = self._record.trade_date()
        client = {f.id: f for f in state.fills if f.trade_date == today}
        missing = sorted(server.keys() - client.keys())
        if missing:
            problems.append(f"fills missing from the account store: {missing[:10]}")
        extra = sorted(client.keys() - server.keys())
        if extra:
            problems.append(f"fills the exchange does not have: {extra[:10]}")
        differing = sorted(i for i in server.keys() & client.keys() if server[i] != client[i])
        if differing:
            problems.append(f"fills that differ from the exchange's: {differing[:10]}")
        life = self._client.life
        if life is not None and life.strategy_started_at is not None:
            delivered = life.delivered
            twice = sorted(i for i, n in delivered.items() if n > 1)
            if twice:
                problems.append(f"fills given to the strategy more than once: {twice[:10]}")
            history = sorted(i for i in life.history if delivered[i])
            if history:
                problems.append(f"fills of before the strategy started given to it: "
                                f"{history[:10]}")
            never = sorted(i for i, f in server.items()
                           if f.active and i not in life.history and not delivered[i])
            if never:
                problems.append(f"fills never given to the strategy: {never[:10]}")
        return problems

    def _order_problems(self, state: StateMsg, truth: SyncMessage) -> list[str]:
        client = {o.id: o for o in state.orders}
        missing = sorted(o.id for o in truth.orders if o.id not in client)
        differing = sorted(o.id for o in truth.orders
                           if o.id in client and client[o.id].status != o.ord_status)
        problems = []
        if missing:
            problems.append(f"orders missing from the account store: {missing[:10]}")
        if differing:
            detail = ", ".join(f"{i}: client {client[i].status}, exchange "
                               f"{next(o.ord_status for o in truth.orders if o.id == i)}"
                               for i in differing[:5])
            problems.append(f"orders whose status differs from the exchange's: {detail}")
        return problems

    def _position_problems(self, state: StateMsg, truth: SyncMessage) -> list[str]:
        problems: list[str] = []
        client = {(p.account_id, p.contract_id): p for p in state.positions}
        realized = 0.0
        for position in truth.positions:
            mine = client.get((position.account_id, position.contract_id))
            if mine is None:
                if position.net_pos or position.bought or position.sold:
                    problems.append(f"position in contract {position.contract_id} missing "
                                    f"from the account store")
                continue
            if (mine.net_pos, mine.bought, mine.sold) != (
                    position.net_pos, position.bought, position.sold):
                problems.append(f"position in contract {position.contract_id}: client "
                                f"{mine.net_pos:+d} ({mine.bought} bought, {mine.sold} sold), "
                                f"exchange {position.net_pos:+d} ({position.bought} bought, "
                                f"{position.sold} sold)")
            if mine.ledger_net_pos != position.net_pos:
                problems.append(f"P&L ledger of contract {position.contract_id}: "
                                f"{mine.ledger_net_pos:+d}, exchange {position.net_pos:+d}")
            realized += mine.realized
        cash = self._record.cash(truth)
        if cash is not None:
            if state.cash_amount is None or not math.isclose(
                    state.cash_amount, cash.amount, abs_tol=_MONEY_TOLERANCE):
                problems.append(f"cash balance: client {state.cash_amount}, exchange "
                                f"{cash.amount:.2f}")
            server = cash.realized_pnl or 0.0
            if not math.isclose(realized, server, abs_tol=_MONEY_TOLERANCE):
                problems.append(f"realized P&L: client ledgers {realized:.2f}, exchange "
                                f"{server:.2f}")
        return problems

    def _unsettled(self, state: StateMsg) -> list[str]:
        limit = self._grace + UNKNOWN_SLACK_SECONDS
        stuck = sorted(cl for cl, age in state.unknown if age > limit)
        return [f"tickets still unknown {limit:g}s after their answer was lost: {stuck[:10]}"] \
            if stuck else []

    def unknown_tickets(self) -> list[str]:
        """Tickets of the running client whose outcome is unknown now (from the channel)."""
        life = self._client.life
        if life is None:
            return []
        return sorted(t.cl for t in self._client.tickets.values()
                      if t.life == life.number and t.state == "unknown")

    async def converge(self, limit: float, *, settled: bool = False) -> list[str]:
        """Wait (at most ``limit`` seconds) until the account checks hold — with
        ``settled``, also until no ticket is UNKNOWN — then check the journal and the orders
        one to one; what still differs (empty: converged)."""
        deadline = time.monotonic() + limit
        while True:
            problems = await self.account_problems()
            if settled and not problems:
                unknown = self.unknown_tickets()
                if unknown:
                    problems = [f"tickets still unknown: {unknown[:10]}"]
            if not problems or time.monotonic() >= deadline:
                break
            await asyncio.sleep(POLL_SECONDS)
        if problems:
            return problems
        # The journal's writer commits a few milliseconds after the store (more on a loaded
        # machine, and a snapshot's fills all at once): it converges too, within its bound.
        deadline = time.monotonic() + JOURNAL_LAG_SECONDS
        while True:
            problems = (self.journal_problems(self._record.fills.values(), final=False)
                        + self.order_problems())
            if not problems or time.monotonic() >= deadline:
                return problems
            await asyncio.sleep(POLL_SECONDS)

    # ------------------------------------------------------------------ journal and intents

    def order_problems(self) -> list[str]:
        try:
            journaled = journal_intents(self._journal)
        except JournalError as exc:
            return [f"the journal cannot be read: {exc}"]
        return order_problems(self._record, journaled, self._client.tickets, self.unwritable)

    def _lost_to_full_disk(self, fill: Fill) -> bool:
        when = fill_epoch(fill)
        return any(start <= when <= end for start, end in self.unwritable_exchange)

    def journal_problems(self, fills: Iterable[Fill], *, final: bool) -> list[str]:
        """The journal holds ``fills`` (those older than a second: the writer lags by
        milliseconds) and none the exchange does not have; with ``final`` (the client has
        exited) every fill of the run, each active or busted as the exchange says.

        The exchange is read again first: the run trades on while it is checked, and a fill
        made since the record's last look, journaled by now, is the exchange's, not a phantom
        (the record is read before the journal, so whatever the journal has by then the
        exchange had before)."""
        self._record.update()
        try:
            with JournalReader(self._journal) as reader:
                journaled = reader.fills()
        except JournalError as exc:
            return [f"the journal cannot be read: {exc}"]
        now = time.time() + self._client.clock_offset
        wanted = {f.id: f for f in fills if final or fill_epoch(f) < now - 1.0}
        missing = sorted(i for i, f in wanted.items()
                         if i not in journaled and not self._lost_to_full_disk(f))
        problems: list[str] = []
        if missing:
            problems.append(f"fills missing from the journal: {missing[:10]}")
        phantom = sorted(journaled.keys() - self._record.fills.keys())
        if phantom:
            problems.append(f"journaled fills the exchange does not have: {phantom[:10]}")
        if final:
            stale = sorted(i for i in wanted.keys() & journaled.keys()
                           if wanted[i].active != journaled[i].active)
            if stale:
                problems.append(f"journaled fills whose state differs: {stale[:10]}")
        return problems

    def lost_to_full_disk(self) -> int:
        """Fills of the run the journal does not have because the disk was full then."""
        try:
            with JournalReader(self._journal) as reader:
                journaled = reader.fills()
        except JournalError:
            return 0
        return sum(1 for f in self._record.fills.values()
                   if f.id not in journaled and self._lost_to_full_disk(f))

    def gaps_of_current_run(self) -> int:
        """Records lost by the journal's newest run, as its gap rows say."""
        try:
            with JournalReader(self._journal) as reader:
                runs = reader.runs()
                if not runs:
                    return 0
                newest = runs[-1].run_id
                return sum(g.lost for g in reader.gaps() if g.run_id == newest)
        except JournalError:
            return -1

    def unsettled_requests(self) -> list[str]:
        """Requests the journal still counts as sent and never answered (after the run)."""
        try:
            with JournalReader(self._journal) as reader:
                open_requests = reader.unacknowledged()
        except JournalError as exc:
            return [f"the journal cannot be read: {exc}"]
        return [f"{r.cl_ord_id} ({r.kind}, run {r.run_id}): {r.state}" for r in open_requests]
