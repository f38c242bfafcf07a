"""The limits the exchange holds for an account, and how far the account is from each.

Tradovate keeps each account's own auto-liquidation settings (``userAccountAutoLiq``: daily
loss to liquidate-only and to liquidation, trailing max drawdown with its limit and mode, a
flatten time) and its risk standing (``accountRiskStatus``: liquidate-only, locked). The
account store keeps both live from user sync. A prop firm sets them; when the account crosses
one the exchange liquidates it — the app must act first. :class:`ExchangeLimits` measures the
distance to each (:class:`ExchangeDistances`, read-only, for the status line and the
summary) and says when entries must stop: within ``exchange_margin`` (a fraction of the
limit) of a loss limit, within the flatten lead of the flatten time, or at once while the
account is liquidate-only or locked. Exits always pass (the risk manager suspends entries
only).

The exchange's trailing high-water is not on the wire; it is tracked here from the balance
including open P&L (``RealTime``) or at each trade-date roll (``EOD``), starting at the first
balance seen — so after a restart it may be lower than the exchange's, which the margin
absorbs only partly: set the preset's own ``trailing_drawdown`` too (docs/risk-presets.md).
"""

from __future__ import annotations

import math
from datetime import datetime

import msgspec

from ..protocol.models import AccountRiskStatus, UserAccountAutoLiq
from ..stores import AccountView
from .account_rules import TrailingDrawdown

FLATTEN_LEAD_MS = 5 * 60_000
"""Entries stop this long before the exchange's ``flattenTimestamp``."""
_RESTRICTING = frozenset({"AgreedOnLiqOnlyModeByAutoLiq", "AgreedOnLiquidationByAutoLiq",
                          "LiquidateImmediately", "LiquidateOnlyModeImmediately",
                          "LockTradingImmediately"})
"""``accountRiskStatus.adminAction`` values that leave the account unable to open positions."""


class ExchangeDistances(msgspec.Struct, frozen=True, gc=False):
    """How far the account is from each limit the exchange holds for it (money; ``None``:
    that limit is not set). A distance at or below 0 means the exchange acts."""

    daily_loss_liq_only: float | None = None
    """Until liquidate-only for the day (``dailyLossLiqOnly``)."""
    daily_loss_auto_liq: float | None = None
    """Until liquidation for the day (``dailyLossAutoLiq``)."""
    trailing_drawdown: float | None = None
    """Until the trailing max drawdown's level (``trailingMaxDrawdown``)."""
    trailing_level: float | None = None
    """That level (a balance, open P&L included)."""
    flatten_in_seconds: float | None = None
    """Until the exchange flattens the account (``flattenTimestamp``)."""
    restricted: str | None = None
    """The account's standing when it is liquidate-only or locked."""

    def describe(self) -> str:
        """``exch: loss 1,234 / liq 2,000 / trail 900 (level 48,100)`` (empty: no limit)."""
        parts = []
        if self.restricted is not None:
            parts.append(self.restricted)
        for label, value in (("liq-only", self.daily_loss_liq_only),
                             ("liq", self.daily_loss_auto_liq),
                             ("trail", self.trailing_drawdown)):
            if value is not None:
                parts.append(f"{label} {value:,.0f}")
        if self.flatten_in_seconds is not None:
            parts.append(f"flatten in {self.flatten_in_seconds / 60:.0f}m")
        return ("exch: " + ", ".join(parts)) if parts else ""


NO_DISTANCES = ExchangeDistances()


class ExchangeLimits:
    """Distances to the exchange's limits of one account, and whether entries must stop."""

    def __init__(self, account: AccountView, margin: float) -> None:
        self._account = account
        self.margin = margin
        self.distances = NO_DISTANCES
        self._settings: UserAccountAutoLiq | None = None
        self._status: AccountRiskStatus | None = None
        self._limited = False
        """Whether the settings hold a limit (``False``: only the standing can stop entries)."""
        self._trailing: TrailingDrawdown | None = None

    def due(self, account_id: int) -> bool:
        """Whether the order path must measure again: the exchange holds a limit of the
        account, or its settings or standing changed since :meth:`update` saw them. Two
        dictionary reads: an account without limits pays nothing more per order."""
        account = self._account
        return (self._limited
                or account.entity("userAccountAutoLiq", account_id) is not self._settings
                or account.entity("accountRiskStatus", account_id) is not self._status)

    def update(self, account_id: int, balance: float | None, day_loss: float | None,
               now_ms: int) -> str | None:
        """Measure again with the balance including open P&L and the day's loss (``None``:
        unknown); returns why entries must stop now (``None``: they need not)."""
        account = self._account
        status: AccountRiskStatus | None = account.entity("accountRiskStatus", account_id)
        settings: UserAccountAutoLiq | None = account.entity("userAccountAutoLiq", account_id)
        restricted = _restriction(status)
        self._status = status
        if settings is not self._settings:
            self._settings = settings
            self._limited = settings is not None and any(
                limit is not None for limit in (
                    settings.daily_loss_liq_only, settings.daily_loss_auto_liq,
                    settings.trailing_max_drawdown, settings.flatten_timestamp))
            self._follow(settings)
        if settings is None:
            self.distances = (NO_DISTANCES if restricted is None
                              else ExchangeDistances(restricted=restricted))
            return None if restricted is None else f"the exchange has the account {restricted}"
        cash = account.cash_balance(account_id)
        if cash is not None and cash.amount_sod is not None and balance is not None:
            day_loss = cash.amount_sod - balance
        reasons: list[str] = []
        liq_only = self._to_limit("daily loss liquidate-only", settings.daily_loss_liq_only,
                                  day_loss, reasons)
        auto_liq = self._to_limit("daily loss auto-liquidation", settings.daily_loss_auto_liq,
                                  day_loss, reasons)
        trailing = self._trailing
        trail = level = None
        if trailing is not None and balance is not None:
            trailing.roll(self._account, account_id, balance)
            trail, level = trailing.observe(balance), trailing.level
            if trail <= self.margin * trailing.drawdown:
                reasons.append(f"balance {balance:,.2f} is {trail:,.2f} above the exchange's "
                               f"trailing max drawdown level {level:,.2f}, within "
                               f"{self.margin:.0%} of trailingMaxDrawdown "
                               f"{trailing.drawdown:,.2f}")
        flatten_in = _seconds_until(settings.flatten_timestamp, now_ms)
        if flatten_in is not None and flatten_in * 1000 <= FLATTEN_LEAD_MS and flatten_in > -60:
            reasons.append(f"the exchange flattens the account at {settings.flatten_timestamp}")
        if restricted is not None:
            reasons.append(f"the exchange has the account {restricted}")
        self.distances = ExchangeDistances(liq_only, auto_liq, trail, level, flatten_in,
                                           restricted)
        return "; ".join(reasons) if reasons else None

    def _follow(self, settings: UserAccountAutoLiq | None) -> None:
        """A new ``userAccountAutoLiq``: keep the high-water when the drawdown is the same."""
        if settings is None or settings.trailing_max_drawdown is None:
            self._trailing = None
            return
        old = self._trailing
        intraday = settings.trailing_max_drawdown_mode != "EOD"
        trailing = TrailingDrawdown(settings.trailing_max_drawdown, intraday=intraday,
                                    floor=settings.trailing_max_drawdown_limit)
        if old is not None and old.intraday == intraday:
            trailing.high_water = old.high_water
            trailing.trade_date = old.trade_date
        self._trailing = trailing

    def _to_limit(self, name: str, limit: float | None, day_loss: float | None,
                  reasons: list[str]) -> float | None:
        if limit is None or day_loss is None or not math.isfinite(day_loss):
            return None
        distance = limit - day_loss
        if distance <= self.margin * limit:
            reasons.append(f"day's loss {day_loss:,.2f} is {distance:,.2f} from the exchange's "
                           f"{name} at {limit:,.2f}, within {self.margin:.0%} of it")
        return distance


def _restriction(status: AccountRiskStatus | None) -> str | None:
    if status is None:
        return None
    action = status.admin_action
    if action in _RESTRICTING:
        return "locked" if action == "LockTradingImmediately" else f"liquidate-only ({action})"
    if status.liquidate_only is not None or status.user_triggered_liq_only:
        return "liquidate-only"
    return None


def _seconds_until(stamp: str | None, now_ms: int) -> float | None:
    if not stamp:
        return None
    try:
        at = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    except ValueError:
        return None
    if at.tzinfo is None:
        return None
    return at.timestamp() - now_ms / 1000
