"""Risk limits, checked before every order is sent, and the watches that halt trading.

:class:`RiskManager` answers :meth:`RiskManager.check` with a refusal reason (``None``: go)
for each ticket the order manager is about to send: halted (kill switch or daily loss), the
kill switch file, the trading-hours window, max order quantity, max position per contract
counting working orders and requests in flight, max orders per second, max daily loss. Cancels
and liquidations always pass: they only reduce risk. Protective stops are never asked (the
order manager sends them past every limit, sized never to open a position; ADR 0006), but once
working they count like any working order.

A daily loss (realized after commissions plus open P&L of the account's current trade date,
as the account store counts it: the positions carried in at the previous settlement and the
day's fills; the day rolls with the exchange's ``tradeDate`` at the CME session end, not at
local midnight) at or beyond the limit, the kill switch file appearing, or
:meth:`RiskManager.kill` (SIGUSR2, an operator) halts trading for the rest of the run and
flattens everything through the handler the order manager binds. Every breach is an urgent
``risk.<limit>`` alert, at most one per limit per ``alert_interval_ms``, and a log line, at
most one per limit per ``log_interval_ms`` with the number of refusals since the previous one:
a strategy hammering a limit can flood neither the channels nor the log.

When the daily P&L cannot be computed (a traded contract whose value per point is unknown, a
carried position without a price) the check fails closed: new entries are refused with the
reason, while cancels, liquidations and orders that only reduce a position still pass. One
urgent ``risk.daily_loss_unknown`` alert says so (on the first refused entry, or when it has
lasted :data:`PNL_UNKNOWN_GRACE_MS`: the roll's position updates arrive moments after its
cash update); trading resumes by itself once the P&L can be computed again
(``risk.daily_loss_known``, routine).

An account's rule preset (``risk.use_preset``, or the account's own; ``Risk.for_preset``)
adds the prop-firm rules of :mod:`.account_rules`: a trailing drawdown breach halts and
flattens like the daily loss (the alert and the journal carry the balance, high-water, level
and limit), max contracts refuse like ``max_position``, ``flat_by`` refuses entries and
flattens, the last minutes of the session refuse entries. The exchange's own limits of the
account (:mod:`.exchange_limits`) suspend entries (source ``exchange limits``) within the
preset's ``exchange_margin`` of them, or at once while the exchange has the account
liquidate-only or locked. Everything is per instance: one risk manager per account, and a
breach halts that account only.

:meth:`RiskManager.suspend_entries` stops *entries* — orders that could open or increase a
position — in one contract (or all) while the runtime knows its picture is incomplete: a
market-data subscription the server refused after a reconnect, an account event it could not
read. Orders that only reduce a position still pass. :meth:`RiskManager.resume_entries` lifts
it; each suspension has a ``source`` so one cause clearing does not lift another's.
"""

from __future__ import annotations

import asyncio
import logging
import math
import os
import signal
from collections import deque
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from ..alerts import Alert, AlertSink, Severity
from ..market_hours import MarketHours
from ..settings import Risk
from ..stores import AccountView, MarketDataView, PnLUnknown
from .account_rules import AccountRules, account_balance
from .exchange_limits import ExchangeDistances, ExchangeLimits
from .refusals import RefusalLog
from .tickets import OrderTicket, TicketKind

if TYPE_CHECKING:
    from ..stores import OrderState

_log = logging.getLogger("tradovate_api.risk")
_HOUR_MS = 3_600_000

HaltHandler = Callable[[str], None]
"""Called with the reason when trading must stop and positions be flattened."""
FlattenHandler = Callable[[str], None]
"""Called with the reason when orders must be cancelled and positions flattened without a
halt (``flat_by``)."""
EXCHANGE_SOURCE = "exchange limits"
"""The :meth:`RiskManager.suspend_entries` source of the exchange's limits."""
FLATTEN_AGAIN_MS = 5_000
"""Inside the ``flat_by`` window, a position still open this long after the last flatten is
flattened again (a fill that raced the cancels)."""

_EXEMPT = frozenset({TicketKind.CANCEL, TicketKind.LIQUIDATE})
_HELD = "Suspended"
"""Status of an OSO bracket waiting for its entry: it adds no exposure until it works."""
PNL_UNKNOWN_GRACE_MS = 5_000
"""How long the daily P&L may be unknown before the watch alerts (a refused entry alerts at
once): the position updates of a trade-date roll follow its cash update within moments."""


class RiskManager:
    """Pre-trade checks and the daily-loss / kill-switch watches (see the module doc).

    ``clock`` gives epoch milliseconds (inject one for replays). The order manager calls
    :meth:`bind` with the account it trades and its halt handler. ``limits`` are the
    account's (``Risk.for_preset``): its preset's values replace the plain limits they
    name. ``hours``: the exchange calendar of the session rules (default CME equity)."""

    def __init__(self, limits: Risk, account: AccountView, market: MarketDataView,
                 alerts: AlertSink, clock: Callable[[], int], *,
                 account_id: int | None = None, alert_interval_ms: int = 60_000,
                 log_interval_ms: int = 10_000, hours: MarketHours | None = None) -> None:
        limits = limits.effective()
        self.limits = limits
        self.rules = AccountRules(limits.rules(), account, market, clock, hours)
        """The account's preset rules (trailing drawdown, max contracts, session times)."""
        self.exchange = ExchangeLimits(account, limits.rules().exchange_margin)
        """The exchange's limits of the account and the distances to them."""
        self._flattener: FlattenHandler | None = None
        self._flattened_ms: int | None = None
        """When ``flat_by`` last flattened (``None``: not in this window)."""
        self._account = account
        self._market = market
        self._alerts = alerts
        self._clock = clock
        self.account_id = account_id
        self._alert_interval_ms = alert_interval_ms
        self._handler: HaltHandler | None = None
        self._halted: str | None = None
        self._last_alert: dict[str, int] = {}
        self._since_alert: dict[str, int] = {}
        """Refusals per limit since its last alert."""
        self._refusals = RefusalLog(_log, clock, interval_ms=log_interval_ms)
        rate = limits.max_orders_per_second
        self._capacity = max(1.0, rate)
        self._tokens = self._capacity
        self._refilled_ms: int | None = None
        self._hour: deque[int] = deque()
        """When each order of the last hour passed (ms; at most ``max_orders_per_hour``)."""
        self._hours_second = -1
        self._hours_open = True
        self._pnl_unknown: str | None = None
        """Why the daily P&L cannot be computed now (``None``: it can)."""
        self._pnl_unknown_since = 0
        self._pnl_unknown_alerted = False
        self._last_pnl: float | None = 0.0
        """The daily P&L as the last check or evaluation computed it."""
        self._watches: list[Callable[[], None]] = []
        self._suspended: dict[tuple[int | None, str], str] = {}
        """(contract id or ``None`` for all, source) → reason."""
        self.breaches: dict[str, int] = {}
        """Refusals and halts per limit name (for reports)."""

    # ------------------------------------------------------------------ wiring

    def bind(self, account_id: int, on_halt: HaltHandler,
             on_flatten: FlattenHandler | None = None) -> None:
        """The account whose P&L and positions count, who halts and flattens, and who
        flattens without halting (``flat_by``)."""
        self.account_id = account_id
        self._handler = on_halt
        self._flattener = on_flatten

    @property
    def market(self) -> MarketDataView:
        return self._market

    def add_watch(self, watch: Callable[[], None]) -> None:
        """Run ``watch()`` on every :meth:`evaluate` while not halted (e.g. the
        protective-stop invariant); an exception in it is logged, never raised."""
        self._watches.append(watch)

    @property
    def halted(self) -> str | None:
        """Why trading is halted (``None``: it is not). A halt lasts for the run."""
        return self._halted

    def install_signal_handler(self, loop: asyncio.AbstractEventLoop | None = None,
                               signum: int = signal.SIGUSR2) -> bool:
        """Make ``signum`` (default SIGUSR2) call :meth:`kill`; False where signals are not
        available (Windows, not the main thread)."""
        loop = loop or asyncio.get_running_loop()
        try:
            loop.add_signal_handler(signum, self.kill, f"signal {signal.Signals(signum).name}")
        except (NotImplementedError, RuntimeError, ValueError):
            return False
        return True

    # ------------------------------------------------------------------ suspended entries

    def suspend_entries(self, contract_id: int | None, reason: str, source: str = "") -> None:
        """Refuse entries in ``contract_id`` (``None``: every contract) until
        :meth:`resume_entries` with the same ``source``; exits still pass."""
        if (contract_id, source) not in self._suspended:
            _log.warning("risk: entries suspended in %s: %s",
                         "every contract" if contract_id is None else contract_id, reason)
        self._suspended[(contract_id, source)] = reason

    def resume_entries(self, contract_id: int | None, source: str = "") -> None:
        if self._suspended.pop((contract_id, source), None) is not None:
            _log.warning("risk: entries resumed in %s (%s)",
                         "every contract" if contract_id is None else contract_id,
                         source or "suspension lifted")

    def entries_suspended(self, contract_id: int) -> str | None:
        """Why entries in ``contract_id`` are suspended (``None``: they are not)."""
        for (suspended, _source), reason in self._suspended.items():
            if suspended is None or suspended == contract_id:
                return reason
        return None

    # ------------------------------------------------------------------ the check

    def check(self, ticket: OrderTicket, in_flight_buy: int = 0,
              in_flight_sell: int = 0) -> str | None:
        """The reason to refuse ``ticket`` or ``None``. ``in_flight_*`` are quantities of
        requests sent in the ticket's contract that the account store does not show yet. A
        ticket that passes uses one order of the per-second allowance."""
        if ticket.kind in _EXEMPT:
            return None
        if self._halted is not None:
            return f"trading halted: {self._halted}"
        now = self._clock()
        if self._kill_file_present():
            self.kill(f"kill switch file {self.limits.kill_switch_file} exists")
            return f"trading halted: {self._halted}"
        loss = self._daily_loss_breach()
        if loss is not None:
            self._halt("daily_loss", *loss)
            return f"trading halted: {loss[0]}"
        rules = self.rules
        if rules.trailing is not None and self._drawdown_breached():
            return f"trading halted: {self._halted}"
        if self._pnl_unknown is not None and not self._reduces(ticket):
            return self._refuse_pnl_unknown()
        if self.account_id is not None and self.exchange.due(self.account_id):
            self._check_exchange(now)
        limits = self.limits
        if limits.trading_hours is not None and not self._in_hours(now):
            window = limits.trading_hours
            return self._breach("trading_hours", f"outside trading hours {window.start}–"
                                f"{window.end} {window.timezone}", now)
        if ticket.qty > limits.max_order_qty:
            return self._breach("max_order_qty", f"order quantity {ticket.qty} exceeds "
                                f"max_order_qty {limits.max_order_qty}", now)
        if rules.gates_time:
            closing = rules.entry_refusal(now)
            if closing is not None and not self._reduces(ticket):
                return self._breach("flat_by" if rules.in_flat_window(now)
                                    else "session_end", f"{ticket.action} {ticket.qty} "
                                    f"{ticket.symbol} could open or increase a position: "
                                    f"{closing}", now)
        suspended = self._suspended and self.entries_suspended(ticket.contract_id)
        if suspended and not self._reduces(ticket):
            return self._breach("entries_suspended", f"{ticket.action} {ticket.qty} "
                                f"{ticket.symbol} could open or increase a position, and "
                                f"entries in it are suspended: {suspended}", now)
        exposure = self._exposure(ticket, in_flight_buy, in_flight_sell)
        if exposure > limits.max_position:
            return self._breach("max_position", f"{ticket.action} {ticket.qty} {ticket.symbol} "
                                f"could make the position {exposure} (with working orders), "
                                f"over max_position {limits.max_position}", now)
        if rules.counts_contracts:
            refusal = rules.contracts_refusal(ticket, exposure, self.account_id)
            if refusal is not None:
                return self._breach("max_contracts", refusal, now)
        if not self._within_hour(now):
            return self._breach("orders_per_hour", f"more than {limits.max_orders_per_hour} "
                                f"orders in the last hour", now)
        if not self._take_token(now):
            return self._breach("orders_per_second", f"more than "
                                f"{limits.max_orders_per_second:g} orders per second", now)
        self._hour.append(now)
        return None

    def _within_hour(self, now: int) -> bool:
        """Whether another order fits the sliding hour's budget."""
        hour = self._hour
        while hour and hour[0] <= now - _HOUR_MS:
            hour.popleft()
        return len(hour) < self.limits.max_orders_per_hour

    def _exposure(self, ticket: OrderTicket, in_flight_buy: int, in_flight_sell: int) -> int:
        """The largest absolute position on the ticket's side if every working order of that
        side, every request in flight and the ticket itself filled."""
        account_id = self.account_id
        contract_id = ticket.contract_id
        position = (self._account.position(account_id, contract_id)
                    if account_id is not None else None)
        net = 0 if position is None else position.net_pos
        buying = ticket.action == "Buy"
        working = 0
        replaced = 0
        counted: dict[int, int] = {}
        """Order id → remaining counted, to count an OCO pair once (one cancels the other)."""
        for state in self._account.open_orders(account_id, contract_id):
            if state.status == _HELD or (state.order.action == "Buy") != buying:
                continue
            remaining = _remaining(state)
            if ticket.kind is TicketKind.MODIFY and state.id == ticket.order_id:
                replaced = remaining
            sibling = state.order.oco_id
            if sibling is not None and sibling in counted:
                extra = max(remaining - counted[sibling], 0)
                counted[state.id] = remaining
                working += extra
                if state.id == ticket.order_id:
                    replaced = extra
                continue
            counted[state.id] = remaining
            working += remaining
        added = ticket.qty
        if ticket.kind is TicketKind.MODIFY:
            added = max(ticket.qty - _filled(self._account.order(ticket.order_id or 0)), 0)
            working -= replaced
        if buying:
            return net + working + in_flight_buy + added
        return -net + working + in_flight_sell + added

    def _take_token(self, now: int) -> bool:
        rate = self.limits.max_orders_per_second
        last = self._refilled_ms
        if last is not None and now > last:
            self._tokens = min(self._capacity, self._tokens + (now - last) * rate / 1000.0)
        self._refilled_ms = now if last is None or now > last else last
        if self._tokens < 1.0:
            return False
        self._tokens -= 1.0
        return True

    def _in_hours(self, now_ms: int) -> bool:
        second = now_ms // 1000
        if second != self._hours_second:
            window = self.limits.trading_hours
            assert window is not None
            self._hours_open = window.contains(datetime.fromtimestamp(second, UTC))
            self._hours_second = second
        return self._hours_open

    # ------------------------------------------------------------------ watches

    def evaluate(self) -> None:
        """Run the watches once: the kill switch file, the daily loss, then the added ones.
        Call it on fills and periodically (:meth:`run` does); cheap when nothing is wrong."""
        if self._halted is not None:
            return
        if self._kill_file_present():
            self.kill(f"kill switch file {self.limits.kill_switch_file} exists")
            return
        loss = self._daily_loss_breach()
        if loss is not None:
            self._halt("daily_loss", *loss)
            return
        if self.rules.trailing is not None and self._drawdown_breached():
            return
        now = self._clock()
        if self.rules.gates_time:
            self._flatten_by(now)
        self._check_exchange(now)
        if (self._pnl_unknown is not None and not self._pnl_unknown_alerted
                and self._clock() - self._pnl_unknown_since >= PNL_UNKNOWN_GRACE_MS):
            self._alert_pnl_unknown()
        for watch in self._watches:
            try:
                watch()
            except Exception:  # a watch must not take the others (or the reader) down
                _log.exception("risk watch %r failed", watch)

    async def run(self, interval: float = 0.25) -> None:
        """Evaluate every ``interval`` seconds until cancelled (a supervisor task): open P&L
        moves with every quote, so the daily-loss watch cannot wait for the next fill."""
        while True:
            try:
                self.evaluate()
            except Exception:  # the watch must survive anything a store might raise
                _log.exception("risk evaluation failed")
            await asyncio.sleep(interval)

    def daily_pnl(self) -> float | None:
        """Realized P&L after commissions plus open P&L (at the market's mark price) of the
        bound account on its current trade date; open P&L without a mark counts 0. ``None``
        when it cannot be computed (then new entries are refused until it can)."""
        account_id = self.account_id
        if account_id is None:
            return 0.0
        try:
            pnl = self._account.net_pnl(account_id, self._market.mark_price)
        except PnLUnknown as exc:
            self._set_pnl_unknown(str(exc))
            return None
        if self._pnl_unknown is not None:
            self._set_pnl_known()
        return pnl

    def _daily_loss_breach(self) -> tuple[str, str] | None:
        """(reason, the numbers) when the day's loss reached the limit."""
        pnl = self.daily_pnl()
        self._last_pnl = pnl
        limit = self.limits.max_daily_loss
        if pnl is not None and math.isfinite(pnl) and -pnl >= limit:
            return (f"daily loss {-pnl:.2f} reached max_daily_loss {limit:g}",
                    f"daily_pnl={pnl:.2f} limit={limit:.2f}")
        return None

    def _drawdown_breached(self) -> bool:
        """Halt (and say so) when the trailing drawdown is breached."""
        if self.account_id is None:
            return False
        try:
            breach = self.rules.drawdown_breach(self.account_id)
        except PnLUnknown:
            return False  # the daily-loss check has the account fail closed already
        if breach is None:
            return False
        self._halt("trailing_drawdown", *breach)
        return True

    # ------------------------------------------------------------------ session rules

    def _flatten_by(self, now: int) -> None:
        """Inside the ``flat_by`` window: cancel and flatten on entering it, and again
        while a position is left :data:`FLATTEN_AGAIN_MS` after the last time."""
        rules = self.rules
        if not rules.in_flat_window(now):
            self._flattened_ms = None
            return
        last = self._flattened_ms
        if last is not None and (now - last < FLATTEN_AGAIN_MS or not self._holds_any()):
            return
        self._flattened_ms = now
        reason = f"flat_by {rules.rules.flat_by}: cancelling orders and flattening"
        self.breaches["flat_by"] = self.breaches.get("flat_by", 0) + 1
        if last is None:
            _log.warning("risk: %s", reason)
            self._alerts.emit(Alert(Severity.ROUTINE, "risk.flat_by", reason.capitalize(),
                                    "Entries are refused until the session reopens; exits "
                                    "pass."))
        flattener = self._flattener
        if flattener is None:
            _log.error("risk: no flatten handler bound; nothing was flattened")
            return
        try:
            flattener(reason)
        except Exception:  # the watch must not die because flattening failed
            _log.exception("risk: flattening for flat_by failed")

    def _holds_any(self) -> bool:
        account_id = self.account_id
        return any(p.account_id == account_id and p.net_pos
                   for p in self._account.positions.values())

    # ------------------------------------------------------------------ exchange limits

    def _check_exchange(self, now: int) -> None:
        """Measure the distances to the exchange's limits; suspend entries within the
        margin (or while the exchange restricts the account), resume once out of it."""
        account_id = self.account_id
        if account_id is None:
            return
        try:
            balance = account_balance(self._account, account_id, self._market.mark_price)
        except PnLUnknown:
            balance = None
        pnl = self._last_pnl
        reason = self.exchange.update(account_id, balance,
                                      None if pnl is None else -pnl, now)
        suspended = (None, EXCHANGE_SOURCE) in self._suspended
        if reason is not None:
            if not suspended:
                self._alerts.emit(Alert(Severity.URGENT, "risk.exchange_limits",
                                        "Entries stopped: near the exchange's limits",
                                        f"{reason}. Exits still pass; entries resume once "
                                        f"the account is out of the margin."))
            self.suspend_entries(None, reason, EXCHANGE_SOURCE)
        elif suspended:
            self.resume_entries(None, EXCHANGE_SOURCE)

    def describe_limits(self) -> str:
        """The account's distances to its trailing level and to the exchange's limits, for
        the status line and the summary (``dd 1,850 over 48,000 | exch: liq 650``; empty
        when neither applies). Read-only: it measures nothing itself."""
        parts = []
        trailing, balance = self.rules.trailing, self.rules.last_balance
        if trailing is not None and balance is not None:
            parts.append(f"dd {balance - trailing.level:,.0f} over {trailing.level:,.0f}")
        exchange = self.exchange.distances.describe()
        if exchange:
            parts.append(exchange)
        return " | ".join(parts)

    @property
    def exchange_distances(self) -> ExchangeDistances:
        """The distances to the exchange's limits as last measured (read-only)."""
        return self.exchange.distances

    def _set_pnl_unknown(self, reason: str) -> None:
        if self._pnl_unknown is None:
            self._pnl_unknown_since = self._clock()
            _log.warning("risk: daily loss cannot be computed (%s): new entries are refused "
                         "until it can", reason)
        self._pnl_unknown = reason

    def _set_pnl_known(self) -> None:
        reason, alerted = self._pnl_unknown, self._pnl_unknown_alerted
        self._pnl_unknown = None
        self._pnl_unknown_alerted = False
        _log.warning("risk: daily loss can be computed again: new entries are allowed")
        if alerted:
            self._alerts.emit(Alert(Severity.ROUTINE, "risk.daily_loss_known",
                                    "Daily loss known again: new entries allowed",
                                    f"It could not be computed ({reason}); it can now, and the "
                                    "daily loss limit applies again."))

    def _alert_pnl_unknown(self) -> None:
        self._pnl_unknown_alerted = True
        self._alerts.emit(Alert(Severity.URGENT, "risk.daily_loss_unknown",
                                "Daily loss unknown: new entries refused",
                                f"The daily P&L cannot be computed ({self._pnl_unknown}). New "
                                "entries are refused until it can; cancels, liquidations and "
                                "orders that reduce a position still go through. Trading "
                                "resumes by itself once it is known."))

    def _refuse_pnl_unknown(self) -> str:
        limit = "daily_loss_unknown"
        self.breaches[limit] = self.breaches.get(limit, 0) + 1
        reason = f"daily loss unknown ({self._pnl_unknown}): new entries refused"
        self._refusals.note(limit, f"risk: order refused: {reason}")
        if not self._pnl_unknown_alerted:
            self._alert_pnl_unknown()
        return reason

    def _reduces(self, ticket: OrderTicket) -> bool:
        """A placement or modification on the side opposite the bound account's position,
        for no more than the position: filled, it can only bring the position towards flat."""
        if ticket.kind not in (TicketKind.PLACE, TicketKind.MODIFY) or self.account_id is None:
            return False
        position = self._account.position(self.account_id, ticket.contract_id)
        net = 0 if position is None else position.net_pos
        return net != 0 and (ticket.action == "Sell") == (net > 0) and ticket.qty <= abs(net)

    def _kill_file_present(self) -> bool:
        path = self.limits.kill_switch_file
        return path is not None and os.path.exists(path)

    # ------------------------------------------------------------------ halting

    def kill(self, reason: str = "kill switch") -> None:
        """Halt for the rest of the run and flatten now (SIGUSR2, the kill file, an
        operator). Calling it again flattens again."""
        self._halt("kill_switch", reason, force=True)

    def _halt(self, limit: str, reason: str, numbers: str = "", *,
              force: bool = False) -> None:
        """Halt and flatten; ``numbers`` (``balance=... level=...``) go into the log line and
        the alert's body, which the journal records."""
        already = self._halted is not None
        if already and not force:
            return
        if not already:
            self._halted = reason
        self.breaches[limit] = self.breaches.get(limit, 0) + 1
        _log.error("risk: %s: halting and flattening", reason,
                   extra={"limit": limit, "numbers": numbers, "account_id": self.account_id})
        account = "" if self.account_id is None else f" Account {self.account_id}."
        self._alerts.emit(Alert(Severity.URGENT, f"risk.{limit}",
                                f"Trading halted: {reason}",
                                "New orders are refused for the rest of the run; working "
                                "orders are being cancelled and positions flattened." + account
                                + (f"\n{limit}: {numbers}" if numbers else "")))
        self._last_alert[limit] = self._clock()
        handler = self._handler
        if handler is None:
            _log.error("risk: no halt handler bound; nothing was flattened")
            return
        try:
            handler(reason)
        except Exception:  # the watch must not die because flattening failed
            _log.exception("risk: the halt handler failed")

    def _breach(self, limit: str, reason: str, now: int) -> str:
        self.breaches[limit] = self.breaches.get(limit, 0) + 1
        self._refusals.note(limit, f"risk: order refused: {reason}")
        last = self._last_alert.get(limit)
        skipped = self._since_alert.get(limit, 0)
        if last is None or now - last >= self._alert_interval_ms:
            self._last_alert[limit] = now
            self._since_alert[limit] = 0
            more = (f" {skipped} more refusals for this limit since the previous alert."
                    if skipped else "")
            self._alerts.emit(Alert(Severity.URGENT, f"risk.{limit}", f"Order refused: {reason}",
                                    "A risk limit refused an order; further refusals for the "
                                    "same limit are only counted for a while." + more))
        else:
            self._since_alert[limit] = skipped + 1
        return reason


def _remaining(state: OrderState) -> int:
    remaining = state.remaining
    return 0 if remaining is None else max(remaining, 0)


def _filled(state: OrderState | None) -> int:
    return 0 if state is None else state.filled_qty
