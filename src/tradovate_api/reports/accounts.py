"""P&L per account, from a report's position lines.

A run that trades several accounts reports its totals and, beside them, each account's own
figures (the summary's ``per account`` lines, the HTML report's table): one computation for
both, over the saved report alone, so a report rendered later says the same.
"""

from __future__ import annotations

import msgspec

from .data import ReportData


class AccountPnL(msgspec.Struct, frozen=True):
    """One account's figures over the report's trade dates."""

    account_id: int
    name: str
    net_realized: float
    """Realized P&L after commissions, every trade date of the report."""
    open_pnl: float | None
    """Open P&L of the current trade date (``None`` while a position has no price)."""
    positions: tuple[tuple[str, int], ...]
    """Symbol and net position of each contract held now."""


def per_account(report: ReportData) -> list[AccountPnL]:
    """Each account the report's positions cover, by id; empty when they cover fewer than
    two (the totals are then that account's)."""
    ids = sorted({p.account_id for p in report.positions})
    if len(ids) < 2:
        return []
    names = {a.id: a.name for a in report.accounts}
    result = []
    for account_id in ids:
        mine = [p for p in report.positions if p.account_id == account_id]
        current = [p for p in mine if not p.settled]
        opens = [p.open_pnl for p in current]
        result.append(AccountPnL(
            account_id, names.get(account_id, str(account_id)),
            sum(p.net_realized for p in mine),
            None if any(o is None for o in opens) else sum(o or 0.0 for o in opens),
            tuple((p.symbol, p.net_pos) for p in current if p.net_pos)))
    return result
