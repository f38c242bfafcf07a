"""An account's prop-firm rules (a :class:`~tradovate_api.settings.RulePreset`), enforced.

The risk manager of one account owns one :class:`AccountRules`; nothing here is shared
between accounts, so one account's breach never touches another's. The rules are the ones a
prop firm holds an evaluation or funded account to, beyond the plain limits of ``[risk]``:

* a **trailing drawdown** (:class:`TrailingDrawdown`): the account is halted and flattened
  once its balance including open P&L falls to ``high-water - trailing_drawdown``. The
  high-water is the highest balance including open P&L (``intraday``) or the highest
  end-of-day balance, taken at the trade-date roll (``eod``); the level stops rising at
  ``drawdown_floor``;
* **max contracts**, in total and per product, counting working orders and requests in
  flight the way ``max_position`` does per contract;
* **flat by** a time of day in the exchange's time zone: from then until the next session
  opens entries are refused and the account flattened;
* **no new positions** in the last minutes before the session closes (exits pass).

Times come from the risk manager's clock (epoch ms) and the exchange calendar
(:class:`~tradovate_api.market_hours.MarketHours`); both are converted once per second (or
once per session) and cached, so the order path pays a comparison.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import UTC, datetime, time
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from ..market_hours import MarketHours
from ..settings import EXCHANGE_TIMEZONE, GLOBEX_OPEN, RulePreset
from ..stores import AccountView, MarketDataView
from .tickets import OrderTicket

if TYPE_CHECKING:
    import datetime as dt

_HELD = "Suspended"
_MINUTE_MS = 60_000


def account_balance(account: AccountView, account_id: int,
                    mark: Callable[[int], float | None]) -> float | None:
    """The account's cash balance plus its open P&L at ``mark`` (``None``: no cash balance
    yet). Raises :class:`~tradovate_api.stores.PnLUnknown` while open P&L is unknown."""
    cash = account.cash_balance(account_id)
    if cash is None:
        return None
    return cash.amount + account.open_pnl(account_id, mark)


class TrailingDrawdown:
    """A trailing drawdown level: ``min(high_water - drawdown, floor)``.

    :meth:`observe` feeds it the balance including open P&L; ``intraday`` raises the
    high-water to every balance seen, ``eod`` only to the end-of-day balance handed to
    :meth:`end_of_day` at the trade-date roll. The first high-water is ``start`` or the
    first balance seen, whichever is higher."""

    __slots__ = ("drawdown", "floor", "high_water", "intraday", "trade_date")

    def __init__(self, drawdown: float, *, intraday: bool, floor: float | None = None,
                 start: float | None = None) -> None:
        self.drawdown = drawdown
        self.intraday = intraday
        self.floor = math.inf if floor is None else floor
        self.high_water = -math.inf if start is None else start
        self.trade_date: dt.date | None = None
        """The account's trade date at the last :meth:`roll`."""

    @property
    def level(self) -> float:
        """The balance at or below which the drawdown is breached."""
        return min(self.high_water - self.drawdown, self.floor)

    def observe(self, balance: float) -> float:
        """Take ``balance`` (including open P&L); returns the distance above the level."""
        if self.high_water == -math.inf or (self.intraday and balance > self.high_water):
            self.high_water = balance
        return balance - self.level

    @property
    def mode(self) -> str:
        """``intraday`` or ``eod`` (the settings' ``trailing_mode``)."""
        return "intraday" if self.intraday else "eod"

    def restore(self, high_water: float, trade_date: dt.date | None) -> bool:
        """Take the high-water an earlier run left: it never lowers the current one. ``eod``:
        also the trade date that run last rolled on, so that this run's first roll counts
        the day that ended in between. Returns whether the high-water rose."""
        rose = high_water > self.high_water
        if rose:
            self.high_water = high_water
        if not self.intraday and self.trade_date is None:
            self.trade_date = trade_date
        return rose

    def end_of_day(self, balance: float) -> None:
        """The balance a trading day ended with (``eod``: it may raise the high-water)."""
        if balance > self.high_water:
            self.high_water = balance

    def roll(self, account: AccountView, account_id: int, balance: float) -> None:
        """``eod``: when the account's trade date has rolled since the last call, the day's
        end balance (the new day's start-of-day cash, else ``balance``) goes to
        :meth:`end_of_day`."""
        if self.intraday:
            return
        day = account.trade_date(account_id)
        if day != self.trade_date:
            if self.trade_date is not None:
                cash = account.cash_balance(account_id)
                sod = None if cash is None else cash.amount_sod
                self.end_of_day(balance if sod is None else sod)
            self.trade_date = day


class AccountRules:
    """The preset rules of one account (see the module doc). ``clock`` gives epoch ms."""

    def __init__(self, rules: RulePreset, account: AccountView, market: MarketDataView,
                 clock: Callable[[], int], hours: MarketHours | None = None) -> None:
        self.rules = rules
        self._account = account
        self._market = market
        self._clock = clock
        self._hours = hours or MarketHours()
        self.trailing: TrailingDrawdown | None = None
        if rules.trailing_drawdown is not None:
            self.trailing = TrailingDrawdown(
                rules.trailing_drawdown, intraday=rules.trailing_mode == "intraday",
                floor=rules.drawdown_floor, start=rules.starting_balance)
        self.counts_contracts = (rules.max_contracts is not None
                                 or bool(rules.max_contracts_per_product))
        self.gates_time = (rules.flat_by is not None
                           or rules.no_new_positions_last_minutes is not None)
        self._zone = ZoneInfo(EXCHANGE_TIMEZONE)
        self._flat_by: time | None = rules.flat_by_time()
        self._second = -1
        self._time_refusal: str | None = None
        self._flat_window = False
        self._session: tuple[int, int] = (0, 0)
        """(start, end) ms of the cached trading period, or of the closed gap."""
        self._session_open = False
        self.last_balance: float | None = None

    # ------------------------------------------------------------------ trailing drawdown

    def drawdown_breach(self, account_id: int) -> tuple[str, str] | None:
        """(reason, the numbers) when the balance including open P&L is at or below the
        trailing level; updates the high-water. ``None`` also while the balance is unknown
        (the daily-loss check refuses entries then)."""
        trailing = self.trailing
        if trailing is None:
            return None
        balance = account_balance(self._account, account_id, self._market.mark_price)
        if balance is None:
            return None
        self.last_balance = balance
        trailing.roll(self._account, account_id, balance)
        distance = trailing.observe(balance)
        if distance > 0:
            return None
        floor = "" if math.isinf(trailing.floor) else f", floor {trailing.floor:,.2f}"
        reason = (f"trailing drawdown: balance {balance:,.2f} (open P&L included) at or below "
                  f"the level {trailing.level:,.2f} (high-water {trailing.high_water:,.2f} - "
                  f"trailing_drawdown {trailing.drawdown:,.2f}{floor})")
        numbers = (f"balance={balance:.2f} high_water={trailing.high_water:.2f} "
                   f"level={trailing.level:.2f} limit={trailing.drawdown:.2f} "
                   f"mode={self.rules.trailing_mode}"
                   + ("" if math.isinf(trailing.floor) else f" floor={trailing.floor:.2f}"))
        return reason, numbers

    # ------------------------------------------------------------------ max contracts

    def contracts_refusal(self, ticket: OrderTicket, exposure: int,
                          account_id: int | None) -> str | None:
        """Why ``ticket`` would break max contracts (``None``: it would not). ``exposure``
        is the ticket's contract's largest position if it and every working order and
        request in flight on its side filled (what ``max_position`` checks); the other
        contracts count their larger side with working orders."""
        if account_id is None:
            return None
        rules = self.rules
        product = self._product(ticket.contract_id)
        product_limit = rules.max_contracts_per_product.get(product)
        total_limit = rules.max_contracts
        if product_limit is None and total_limit is None:
            return None
        total = in_product = exposure
        for contract_id, held in self._other_exposures(account_id, ticket.contract_id):
            total += held
            if product_limit is not None and self._product(contract_id) == product:
                in_product += held
        if product_limit is not None and in_product > product_limit:
            return (f"{ticket.action} {ticket.qty} {ticket.symbol} could make {in_product} "
                    f"{product} contracts (with working orders), over "
                    f"max_contracts_per_product {product} = {product_limit}")
        if total_limit is not None and total > total_limit:
            return (f"{ticket.action} {ticket.qty} {ticket.symbol} could make {total} "
                    f"contracts in all (with working orders), over max_contracts "
                    f"{total_limit}")
        return None

    def _product(self, contract_id: int) -> str:
        product = self._account.product_of(contract_id)
        if product is not None:
            return product.name
        contract = self._account.contract(contract_id)
        return "" if contract is None else contract.name[:-2]

    def _other_exposures(self, account_id: int, skip: int) -> list[tuple[int, int]]:
        """(contract, larger side with working orders) of the account's other contracts
        holding a position or a working order."""
        buys: dict[int, int] = {}
        sells: dict[int, int] = {}
        for state in self._account.open_orders(account_id):
            contract_id = state.order.contract_id
            if contract_id is None or contract_id == skip or state.status == _HELD:
                continue
            side = buys if state.order.action == "Buy" else sells
            remaining = state.remaining
            if remaining:
                if state.order.oco_id is not None:  # one of an OCO pair fills, not both
                    side[contract_id] = max(side.get(contract_id, 0), remaining)
                else:
                    side[contract_id] = side.get(contract_id, 0) + remaining
        nets: dict[int, int] = {}
        for position in self._account.positions.values():
            if (position.account_id == account_id and position.contract_id != skip
                    and position.net_pos):
                nets[position.contract_id] = position.net_pos
        return [(cid, max(nets.get(cid, 0) + buys.get(cid, 0),
                          -nets.get(cid, 0) + sells.get(cid, 0), 0))
                for cid in nets.keys() | buys.keys() | sells.keys()]

    # ------------------------------------------------------------------ time of day

    def entry_refusal(self, now_ms: int) -> str | None:
        """Why entries are refused at ``now_ms`` (flat_by reached, or the last minutes of
        the session); ``None``: they are not."""
        if not self.gates_time:
            return None
        second = now_ms // 1000
        if second != self._second:
            self._second = second
            self._time_refusal = self._refusal_at(now_ms)
        return self._time_refusal

    def in_flat_window(self, now_ms: int) -> bool:
        """Whether ``now_ms`` is between ``flat_by`` and the next session open."""
        self.entry_refusal(now_ms)
        return self._flat_window

    def _refusal_at(self, now_ms: int) -> str | None:
        self._flat_window = False
        flat_by = self._flat_by
        if flat_by is not None:
            local = datetime.fromtimestamp(now_ms / 1000, self._zone).time()
            reopen = GLOBEX_OPEN
            inside = (flat_by <= local < reopen if flat_by <= reopen
                      else local >= flat_by or local < reopen)
            if inside:
                self._flat_window = True
                return (f"flat_by {self.rules.flat_by} {EXCHANGE_TIMEZONE} reached: no "
                        f"entries until the session reopens at {reopen:%H:%M}")
        minutes = self.rules.no_new_positions_last_minutes
        if minutes is not None:
            close = self._session_close(now_ms)
            if close is not None and close - now_ms <= minutes * _MINUTE_MS:
                at = datetime.fromtimestamp(close / 1000, self._zone)
                return (f"no new positions in the last {minutes} minutes of the session "
                        f"(it closes at {at:%H:%M} {EXCHANGE_TIMEZONE})")
        return None

    def _session_close(self, now_ms: int) -> int | None:
        """When the session holding ``now_ms`` closes (epoch ms; ``None``: closed now)."""
        start, end = self._session
        if not start <= now_ms < end:
            at = datetime.fromtimestamp(now_ms / 1000, UTC)
            period = self._hours.period_at(at)
            if period is None:
                self._session_open = False
                start, end = now_ms, int(self._hours.next_open(at).timestamp() * 1000)
            else:
                self._session_open = True
                start = int(period[0].timestamp() * 1000)
                end = int(period[1].timestamp() * 1000)
            self._session = (start, end)
        return end if self._session_open else None
