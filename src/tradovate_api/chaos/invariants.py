"""What a chaos run checks, against the simulator's own records (the ground truth).

* every fill the simulator recorded for the account is in the client's account store, equal
  to the server's, and was given to the strategy exactly once; the journal holds every fill
  the store holds (after each fault) and exactly the server's fills (at the end);
* no client order id produced more than one order;
* every order, position and the cash balance equal the server's, and the client's realized
  P&L (from its own FIFO ledger) equals the server's;
* no order ticket stays UNKNOWN longer than the resolver's grace period (plus
  :data:`UNKNOWN_SLACK_SECONDS`) after it was sent;
* after a market-data reconnect every subscription is live again: the registry still holds
  all of them, and the new connection has delivered a quote and a DOM for every contract and
  a packet of every chart (seen through the md frame observer, on that connection).

The account checks are about a moving target (the strategy keeps trading), so they are
evaluated after each account event until they hold, within a bound: "converges" is the
invariant, and a check that never converges is a mismatch.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import defaultdict

from ..client import Feed
from ..journal import Journal, JournalReader
from ..orders.tickets import TicketState
from ..protocol import ChartEvent, MarketDataEvent, Messages, decode_frame
from ..protocol.models import CashBalance, Position
from ..runtime.app import TradingApp
from ..runtime.changed import Changed
from ..simulator import Simulator
from .strategy import ChurnStrategy

_PNL_TOLERANCE = 0.01
"""Money: server and client sum the same float products in different orders."""
UNKNOWN_SLACK_SECONDS = 5.0
"""Time allowed on top of the grace period for the resolver to read the server's order list
and settle an UNKNOWN ticket."""


class Invariants:
    """The checks of one run; :meth:`observe_md` must be the app's md frame observer."""

    def __init__(self, app: TradingApp, sim: Simulator, strategy: ChurnStrategy, *,
                 user_id: int, account_id: int, journal: Journal | None = None) -> None:
        self._app = app
        self._journal = journal
        self._sim = sim
        self._strategy = strategy
        self._user_id = user_id
        self._account_id = account_id
        self._md_seen: dict[int, set[tuple[str, int]]] = defaultdict(set)
        self._md_frame = Changed()
        self.subscriptions: set[tuple[Feed, str | int]] = set()
        """The md subscriptions made at start (set by :meth:`record_subscriptions`)."""

    # ------------------------------------------------------------------ market data

    def observe_md(self, frame: memoryview) -> None:
        """Note which contracts and charts the current md connection delivered."""
        md = self._app.md
        if md is None:
            return
        number = md.connects
        if number not in self._md_seen:
            self._md_seen.clear()  # only the current connection matters (bounded memory)
        seen = self._md_seen[number]
        self._md_frame.notify()
        decoded = decode_frame(frame)
        if not isinstance(decoded, Messages):
            return
        for item in decoded.items:
            if isinstance(item, MarketDataEvent):
                seen.update(("quote", q.contract_id) for q in item.data.quotes)
                seen.update(("dom", d.contract_id) for d in item.data.doms)
            elif isinstance(item, ChartEvent):
                seen.update(("chart", p.id) for p in item.data.charts)

    def record_subscriptions(self) -> None:
        md = self._app.md
        assert md is not None
        self.subscriptions = set(md.subscriptions)

    def md_live(self) -> bool:
        """Every subscription made at start is live on the current md connection."""
        md = self._app.md
        if md is None or not md.ready or set(md.subscriptions) != self.subscriptions:
            return False
        seen = self._md_seen.get(md.connects, set())
        for symbol in self._app.contracts.symbols:
            contract_id = self._app.contracts.contract_id(symbol)
            if ("quote", contract_id) not in seen or ("dom", contract_id) not in seen:
                return False
        return all(len(chart.ids) == 2 and any(("chart", i) in seen for i in chart.ids)
                   for chart in md.charts)

    async def until_md_live(self) -> None:
        """Wait until :meth:`md_live` holds (re-checked on every md frame); callers bound it
        with ``asyncio.timeout``."""
        await self._md_frame.until(self.md_live)

    # ------------------------------------------------------------------ account

    def account_problems(self) -> list[str]:
        """Differences between the client and the simulator right now (empty: none)."""
        truth = self._sim.exchange.sync(self._user_id, [self._account_id])
        view = self._app.account
        problems: list[str] = []
        server_fills = {f.id: f for f in truth.fills}
        client_fills = {f.id: f for f in view.fills()}
        missing = sorted(server_fills.keys() - client_fills.keys())
        if missing:
            problems.append(f"fills missing from the account store: {missing[:10]}")
        extra = sorted(client_fills.keys() - server_fills.keys())
        if extra:
            problems.append(f"fills the server does not have: {extra[:10]}")
        differing = sorted(i for i in server_fills.keys() & client_fills.keys()
                           if server_fills[i] != client_fills[i])
        if differing:
            problems.append(f"fills that differ from the server's: {differing[:10]}")
        delivered = self._strategy.fills
        twice = sorted(i for i, n in delivered.items() if n > 1)
        if twice:
            problems.append(f"fills delivered to the strategy more than once: {twice[:10]}")
        never = sorted(i for i, f in server_fills.items() if f.active and delivered[i] == 0)
        if never:
            problems.append(f"fills never delivered to the strategy: {never[:10]}")
        orders_by_cl_ord_id: dict[str, set[int]] = defaultdict(set)
        for command in truth.commands:
            if command.cl_ord_id and command.command_type == "New":
                orders_by_cl_ord_id[command.cl_ord_id].add(command.order_id)
        doubled = sorted(c for c, orders in orders_by_cl_ord_id.items() if len(orders) > 1)
        if doubled:
            problems.append(f"client order ids that placed more than one order: {doubled}")
        stale = sorted(o.id for o in truth.orders
                       if (state := view.order(o.id)) is None or state.order != o)
        if stale:
            problems.append(f"orders that differ from the server's: {stale[:10]}")
        problems += self._position_problems(truth.positions, truth.cash_balances)
        problems += self._unsettled()
        return problems

    def _unsettled(self) -> list[str]:
        """Tickets still UNKNOWN past the resolver's grace period (plus slack): the account
        data or the server's order list read after the grace settle every lost answer."""
        orders, resolver = self._app.orders, self._app.resolver
        if orders is None or resolver is None:
            return []
        limit = int((resolver.grace + UNKNOWN_SLACK_SECONDS) * 1e9)
        now = time.perf_counter_ns()
        stuck = sorted(t.cl_ord_id for t in orders.tickets.values()
                       if t.state is TicketState.UNKNOWN and now - t.sent_ns > limit)
        return [f"tickets still unknown past the grace period: {stuck[:10]}"] if stuck else []

    def _position_problems(self, positions: list[Position],
                           cash_balances: list[CashBalance]) -> list[str]:
        view = self._app.account
        problems: list[str] = []
        realized = 0.0
        for position in positions:
            mine = view.position(position.account_id, position.contract_id)
            pnl = view.pnl(position.account_id, position.contract_id)
            if mine != position or pnl.net_pos != position.net_pos:
                problems.append(f"position in contract {position.contract_id}: client "
                                f"{pnl.net_pos:+d}, server {position.net_pos:+d}")
            realized += pnl.realized
        for cash in cash_balances:
            if view.cash_balance(cash.account_id) != cash:
                problems.append("cash balance differs from the server's")
            server = cash.realized_pnl or 0.0
            if not math.isclose(realized, server, abs_tol=_PNL_TOLERANCE):
                problems.append(f"realized P&L: client {realized:.2f}, server {server:.2f}")
        return problems

    async def converge(self, limit: float) -> list[str]:
        """Wait (at most ``limit`` seconds, re-checking after each account event) until the
        account checks hold, then check the journal; return what still differs (empty:
        converged)."""
        problems: list[str] = []

        def settled() -> bool:
            nonlocal problems
            problems = self.account_problems()
            return not problems

        try:
            async with asyncio.timeout(limit):
                await self._app.account_changed.until(settled)  # checks at once first
        except TimeoutError:
            return problems
        return await self.journal_problems({f.id for f in self._app.account.fills()})

    async def journal_problems(self, expected: set[int] | None = None) -> list[str]:
        """The journal holds every fill in ``expected`` and none the simulator does not have.
        With ``expected=None`` (after the run, the journal closed by the shutdown) it holds
        exactly the simulator's fills, each active or busted as the server says."""
        journal = self._journal
        if journal is None:
            return []
        if expected is not None and not await asyncio.to_thread(journal.flush, 10.0):
            return [f"the journal did not flush within 10s ({journal.pending} queued)"]
        with JournalReader(journal.path) as reader:
            journaled = reader.fills()
        truth = {f.id: f for f in self._sim.exchange.sync(self._user_id,
                                                          [self._account_id]).fills}
        wanted = set(truth) if expected is None else expected
        problems: list[str] = []
        missing = sorted(wanted - journaled.keys())
        if missing:
            problems.append(f"fills missing from the journal: {missing[:10]}")
        phantom = sorted(journaled.keys() - truth.keys())
        if phantom:
            problems.append(f"journaled fills the server does not have: {phantom[:10]}")
        if expected is None:
            stale = sorted(i for i in truth.keys() & journaled.keys()
                           if truth[i].active != journaled[i].active)
            if stale:
                problems.append(f"journaled fills whose state differs: {stale[:10]}")
        return problems
