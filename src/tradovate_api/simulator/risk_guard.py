"""The exchange's own post-trade risk of one account: its auto-liquidation settings, the
high-water mark of its net liquidation value, and what the account may still do.

Tradovate enforces an account's ``userAccountAutoLiq`` limits itself (reference §5.2
``UserAccountAutoLiq``, ``AccountRiskStatus``): a day's loss past ``dailyLossLiqOnly`` puts the
account in liquidate-only mode (exits only), a day's loss past ``dailyLossAutoLiq`` or a net
liquidation value at or below the trailing drawdown level liquidates it (orders canceled,
positions flattened by the exchange) and locks it. This module only decides; the engine
(:class:`~.engine.Exchange`) measures the account and acts. Kept apart so the decision rules
can be read (and tested) without the matching engine around them.

Inferences (the reference gives the fields, not their arithmetic; docs/simulator.md says
where each comes from): the day's loss is the start-of-day cash (``amountSOD``) less the net
liquidation value now (cash plus open P&L at the simulator's marks, commissions included);
the trailing level is the high-water mark less ``trailingMaxDrawdown``, never above
``trailingMaxDrawdownLimit``; reaching a limit is crossing it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import Enum

from ..protocol.models import AccountRiskStatus, UserAccountAutoLiq


class Standing(Enum):
    """What the exchange lets an account do."""

    NORMAL = "normal"
    LIQUIDATE_ONLY = "liquidateOnly"
    """Orders that reduce a position only (``LiquidationOnly`` refusals)."""
    LOCKED = "locked"
    """No new orders at all (``TradingLocked`` refusals)."""


class Breach(Enum):
    """What an account just crossed."""

    FLATTEN_TIME = "flattenTimestamp"
    DAILY_LOSS_LIQ_ONLY = "dailyLossLiqOnly"
    DAILY_LOSS_AUTO_LIQ = "dailyLossAutoLiq"
    TRAILING_DRAWDOWN = "trailingMaxDrawdown"

    @property
    def liquidates(self) -> bool:
        return self is not Breach.DAILY_LOSS_LIQ_ONLY

    @property
    def locks(self) -> bool:
        return self in (Breach.DAILY_LOSS_AUTO_LIQ, Breach.TRAILING_DRAWDOWN)


def _epoch(stamp: str | None) -> float | None:
    if stamp is None:
        return None
    return dt.datetime.fromisoformat(stamp).timestamp()


@dataclass(slots=True, eq=False)
class AccountGuard:
    """One account's settings, high-water mark and standing."""

    settings: UserAccountAutoLiq
    status: AccountRiskStatus
    high_water: float
    """Highest net liquidation value seen (RealTime) or settled at a close (EOD)."""
    standing: Standing = Standing.NORMAL
    permanent: bool = False
    """Locked by the trailing drawdown: no trade date unlocks it (inference: a failed
    drawdown is final; the conservative choice)."""
    flatten_at: float | None = None
    """Epoch seconds of a pending ``flattenTimestamp`` (cleared once done)."""

    def __post_init__(self) -> None:
        self.flatten_at = _epoch(self.settings.flatten_timestamp)

    def replace_settings(self, settings: UserAccountAutoLiq) -> None:
        """New settings (``userAccountAutoLiq/update``); a new flatten time is armed."""
        if settings.flatten_timestamp != self.settings.flatten_timestamp:
            self.flatten_at = _epoch(settings.flatten_timestamp)
        self.settings = settings

    @property
    def watched(self) -> bool:
        """Whether anything here can trigger (so the account must be measured)."""
        s = self.settings
        if self.standing is Standing.LOCKED:
            return False
        return (s.daily_loss_liq_only is not None or s.daily_loss_auto_liq is not None
                or s.trailing_max_drawdown is not None or self.flatten_at is not None)

    @property
    def realtime(self) -> bool:
        return self.settings.trailing_max_drawdown_mode != "EOD"

    def liquidation_level(self) -> float | None:
        """The net liquidation value at which the trailing drawdown liquidates."""
        drawdown = self.settings.trailing_max_drawdown
        if drawdown is None:
            return None
        level = self.high_water - drawdown
        floor = self.settings.trailing_max_drawdown_limit
        return level if floor is None else min(level, floor)

    def check(self, net_liq: float, start_of_day: float, now: float) -> Breach | None:
        """The most severe limit crossed now (RealTime: the high-water mark first follows
        ``net_liq``)."""
        if self.realtime and net_liq > self.high_water:
            self.high_water = net_liq
        s = self.settings
        level = self.liquidation_level()
        if level is not None and net_liq <= level:
            return Breach.TRAILING_DRAWDOWN
        loss = start_of_day - net_liq
        if s.daily_loss_auto_liq is not None and loss >= s.daily_loss_auto_liq:
            return Breach.DAILY_LOSS_AUTO_LIQ
        if self.flatten_at is not None and now >= self.flatten_at:
            return Breach.FLATTEN_TIME
        if (s.daily_loss_liq_only is not None and loss >= s.daily_loss_liq_only
                and self.standing is Standing.NORMAL):
            return Breach.DAILY_LOSS_LIQ_ONLY
        return None

    def settle(self, closing_value: float) -> bool:
        """A session closed with the account worth ``closing_value`` (the trade date rolls):
        EOD moves the high-water mark; a daily lock or liquidate-only mode ends unless
        ``doNotUnlock``. Whether the standing went back to normal."""
        if not self.realtime and closing_value > self.high_water:
            self.high_water = closing_value
        if (self.standing is Standing.NORMAL or self.permanent
                or self.settings.do_not_unlock):
            return False
        self.standing = Standing.NORMAL
        return True

    def refusal(self, net_pos: int, is_buy: bool, qty: int) -> tuple[str, str] | None:
        """Why an order for ``qty`` (``is_buy``) is refused with the account at ``net_pos``
        in that contract, or ``None``."""
        if self.standing is Standing.LOCKED:
            return ("TradingLocked", f"Trading is locked for account {self.settings.id} "
                                     f"(auto-liquidation)")
        if self.standing is Standing.LIQUIDATE_ONLY:
            reduces = (net_pos < 0 and qty <= -net_pos) if is_buy else \
                (net_pos > 0 and qty <= net_pos)
            if not reduces:
                return ("LiquidationOnly", f"Account {self.settings.id} is in liquidate-only "
                                           f"mode: only orders that reduce a position")
        return None
