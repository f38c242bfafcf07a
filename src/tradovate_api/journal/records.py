"""What the journal gives back when read: frozen records of rows, and the state a restart
reconciles against."""

from __future__ import annotations

from collections.abc import Mapping

import msgspec

from .intents import INTENT_STATE

UNACKNOWLEDGED_STATES = frozenset({"PENDING", "UNKNOWN", INTENT_STATE})
"""States of a request that went (or may have gone) on the wire and got no definite answer;
``INTENT``: known only from the write-ahead file (see :mod:`.intents`)."""


class RunInfo(msgspec.Struct, frozen=True):
    """One process run that wrote to the journal; ``ended_ns`` is ``None`` if it crashed."""

    run_id: int
    started_ns: int
    pid: int
    label: str
    ended_ns: int | None
    clean: bool


class RequestRecord(msgspec.Struct, frozen=True):
    """An order ticket (a strategy decision) and its latest state."""

    cl_ord_id: str
    run_id: int
    created_ns: int
    kind: str
    symbol: str | None
    contract_id: int | None
    action: str | None
    qty: int | None
    order_type: str | None
    price: float | None
    stop_price: float | None
    trigger: str
    sent: bool
    state: str
    order_id: int | None
    reason: str | None
    updated_ns: int
    frame_ns: int | None = None
    """The latency stamps (``time.perf_counter_ns()`` of the run that sent it; ``None``: the
    stage did not happen or was not measured), as on ``OrderTicket``: the market-data frame
    arrived, its event decoded, the order method entered, risk passed, the request written,
    answered, its order's first fill applied."""
    decoded_ns: int | None = None
    decided_ns: int | None = None
    checked_ns: int | None = None
    sent_ns: int | None = None
    answered_ns: int | None = None
    filled_ns: int | None = None
    account_id: int | None = None
    """The account the request was for (``None`` in journals written before accounts were
    recorded)."""
    source: str = ""
    """The strategy that made it ('' for the framework's own requests)."""

    @property
    def unacknowledged(self) -> bool:
        """Sent, and neither acknowledged nor known not to have been placed."""
        return self.sent and self.state in UNACKNOWLEDGED_STATES


class TicketEventRecord(msgspec.Struct, frozen=True):
    recorded_ns: int
    cl_ord_id: str
    state: str
    order_id: int | None
    reason: str | None


class JournalOrder(msgspec.Struct, frozen=True):
    order_id: int
    account_id: int
    contract_id: int | None
    action: str
    ord_status: str
    cl_ord_id: str | None
    timestamp: str


class JournalFill(msgspec.Struct, frozen=True):
    """A fill as last journaled; ``source`` is ``event`` (props) or ``sync`` (a snapshot)."""

    fill_id: int
    order_id: int
    contract_id: int
    timestamp: str
    action: str
    qty: int
    price: float
    active: bool
    source: str
    run_id: int


class JournalPosition(msgspec.Struct, frozen=True):
    account_id: int
    contract_id: int
    position_id: int
    net_pos: int
    net_price: float | None
    bought: int
    sold: int
    timestamp: str


class AlertRecord(msgspec.Struct, frozen=True):
    recorded_ns: int
    severity: str
    key: str
    title: str
    body: str


class ConnectionRecord(msgspec.Struct, frozen=True):
    recorded_ns: int
    session: str
    event: str
    detail: str


class ReconciliationRecord(msgspec.Struct, frozen=True):
    run_id: int
    recorded_ns: int
    kind: str
    changed: bool
    body: str
    """The report as JSON."""


class GapRecord(msgspec.Struct, frozen=True):
    run_id: int
    recorded_ns: int
    lost: int
    reason: str


class TrailingRecord(msgspec.Struct, frozen=True):
    """An account's trailing-drawdown high-water as the last run left it."""

    account_id: int
    high_water: float
    mode: str
    """``intraday`` or ``eod``."""
    drawdown: float
    trade_date: str | None
    """``eod``: the trade date (ISO) the high-water last rolled on."""
    recorded_ns: int


class JournalState(msgspec.Struct, frozen=True):
    """What earlier runs left in the journal: the basis of restart reconciliation."""

    runs: tuple[RunInfo, ...]
    unacknowledged: tuple[RequestRecord, ...]
    orders: Mapping[int, JournalOrder]
    fills: Mapping[int, JournalFill]
    positions: Mapping[tuple[int, int], JournalPosition]
    cl_ord_ids: Mapping[str, int]
    """Client order id → order id, from the commands seen."""
    maybe_working: frozenset[str] = frozenset()
    """Client order ids of this app's orders from earlier runs that may still be working
    (see ``JournalReader.maybe_working_cl_ord_ids``): how an order working on the server is
    known to be this app's."""
    trailing: Mapping[int, TrailingRecord] = {}
    """Account id → its trailing-drawdown high-water as earlier runs left it."""

    @property
    def crashed(self) -> bool:
        """The most recent earlier run did not end cleanly."""
        return bool(self.runs) and not self.runs[-1].clean
