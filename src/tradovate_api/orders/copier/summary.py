"""Leader vs followers at the end of a run (or any time): what each follower copied, what it
refused, its fills, its slippage against the leader's price and its delay.

Read from the copier's ledger and the account store, never on the reader's path. Slippage is
in price points per copied order, signed so that a positive number is worse for the follower
(it bought higher or sold lower than the leader's average fill price); the delay is from the
leader event's arrival to the follower's order on the wire.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence

import msgspec

from ...stores import AccountView
from ..tickets import OrderTicket, TicketState
from .ledger import CopyLedger


class FollowerSummary(msgspec.Struct, frozen=True):
    """One follower's copy record (see the module doc)."""

    account: str
    sent: int
    """Copied requests written on the wire (places, brackets, modifications, cancels)."""
    refused: int
    """Refused before sending (its halt, its risk limits) or rejected by the exchange."""
    filled_orders: int
    """Copied orders with fills, whose leader order has fills too."""
    slippage_points: float | None
    """Mean over ``filled_orders`` (positive: worse than the leader)."""
    delay_ms: float | None
    """Median from the leader event's arrival to this follower's order on the wire."""


def copier_summary(ledger: CopyLedger, account: AccountView,
                   names: Sequence[str]) -> list[FollowerSummary]:
    """A row per follower (``names`` in follower order)."""
    rows = []
    for index, name in enumerate(names):
        sent = refused = 0
        slips: list[float] = []
        delays: list[float] = []
        tickets: list[tuple[int | None, int, OrderTicket | None]] = [
            (r.order_id, r.seen_ns, r.tickets[index]) for r in ledger.orders.values()]
        tickets.extend((s.entry_id, 0, s.tickets[index]) for s in ledger.strategies.values())
        for leader_id, seen_ns, ticket in tickets:
            if ticket is None:
                continue
            if ticket.state in (TicketState.REFUSED, TicketState.REJECTED):
                refused += 1
                continue
            sent += 1
            if seen_ns and ticket.sent_ns:
                delays.append((ticket.sent_ns - seen_ns) / 1e6)
            leader = None if leader_id is None else account.order(leader_id)
            mine = None if ticket.order_id is None else account.order(ticket.order_id)
            if (leader is None or mine is None or leader.avg_fill_price is None
                    or mine.avg_fill_price is None):
                continue
            sign = 1.0 if leader.order.action == "Buy" else -1.0
            slips.append(sign * (mine.avg_fill_price - leader.avg_fill_price))
        rows.append(FollowerSummary(name, sent, refused, len(slips),
                                    statistics.fmean(slips) if slips else None,
                                    statistics.median(delays) if delays else None))
    return rows


def summary_lines(rows: Sequence[FollowerSummary]) -> list[str]:
    """The summary's text: a line per follower."""
    lines = []
    for row in rows:
        slip = "-" if row.slippage_points is None else f"{row.slippage_points:+.2f} pt"
        delay = "-" if row.delay_ms is None else f"{row.delay_ms:.2f} ms"
        lines.append(f"copier {row.account}: {row.sent} copied, {row.refused} refused, "
                     f"{row.filled_orders} filled, slippage {slip}, delay {delay}")
    return lines
