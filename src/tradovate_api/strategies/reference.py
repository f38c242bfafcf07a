"""The reference strategy: the original program's DOM-imbalance and time-and-sales pressure
strategy (see docs/strategies.md and the spec it follows)."""

from __future__ import annotations

import msgspec

from ..strategy import Strategy


class ReferenceParams(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Settings ``[strategy]`` of the reference strategy; defaults are the original values."""

    large_trade: float = 400.0
    ts_pressure_threshold: float = 150.0
    dom_threshold: float = 35.0
    window_ms: int = 1000
    trade_close_trigger: float = 500.0
    commission_per_side: float = 2.05
    order_qty: int = 1
    symbol: str | None = None
    instruments: tuple[str, ...] | None = None
    account: str | None = None
    pool_instruments: bool = True
    dom_sign: str = "offers_minus_bids"
    pressure_ratchet: bool = True


class ReferenceStrategy(Strategy):
    """The original program's strategy (skeleton; implemented next)."""
