"""The status channel between a chaos run and the client it runs in a child process.

The client trades in a child process so that it can really be killed (``kill -9``) and
restarted; the simulator, the fault scheduler and the invariants stay in the parent. The child
tells the parent what only it can know, one JSON line per message on a pipe (a pipe, not a
file: a full disk must not silence it):

* ``intent`` — an order request about to be written on the socket (sent from the order
  manager's write-ahead hook, *before* the journal's own write and before the frame), so the
  parent holds a witness of every request even when the journal cannot write;
* ``ticket`` — every state a ticket goes through;
* ``fill`` — each fill the strategy was given (``on_fill``);
* ``link`` — the sessions' state whenever it changes (connections, ready, market data live,
  strategy started, the earlier runs' orders dealt with);
* ``started`` — the strategy started, with the fills the store held then (they are history,
  never delivered to this process's strategy);
* ``state`` — the client's account picture, on request;
* ``emitted`` — an alert the parent asked for was raised (and how long ``emit`` took);
* ``exit`` — the exit code and what the shutdown left open.

The parent sends commands on the child's standard input, one per line: ``state N`` (answer
with ``state``), ``alert KEY`` (raise a routine alert), ``lots 2`` / ``lots 1`` (entries of
two lots, or as the strategy draws them), ``halt`` (no new orders).
Times are ``time.monotonic()`` seconds, one clock for every process of the machine.
"""

from __future__ import annotations

import os
from typing import Any

import msgspec


class ChildConfig(msgspec.Struct, frozen=True):
    """What the parent tells one client process (its only argument, as JSON)."""

    settings: dict[str, Any]
    channel_fd: int
    alert_url: str
    clock_offset: float
    """Seconds the simulator's clock is ahead of the wall clock (its market is open)."""
    seed: int
    interval_ms: int


class IntentMsg(msgspec.Struct, tag="intent", frozen=True):
    at: float
    cl: str
    kind: str
    symbol: str
    action: str
    qty: int
    order_type: str
    protective: bool


class TicketMsg(msgspec.Struct, tag="ticket", frozen=True):
    at: float
    cl: str
    kind: str
    state: str
    order_id: int | None
    strategy_id: int | None
    reason: str
    refusal: str
    protective: bool
    symbol: str


class FillMsg(msgspec.Struct, tag="fill", frozen=True):
    at: float
    id: int


class LinkMsg(msgspec.Struct, tag="link", frozen=True):
    """The client's connections as they are now."""

    at: float
    md_connects: int
    md_ready: bool
    md_live: bool
    """Every subscription is live on the current md connection: a quote and a DOM of every
    contract and a packet of every chart arrived on it."""
    trading_connects: int
    trading_ready: bool
    synced: int
    """Snapshots applied (one per trading connection)."""
    started: bool
    cleaned_up: bool
    """The orders earlier runs left working have been dealt with (or there were none)."""


class StartedMsg(msgspec.Struct, tag="started", frozen=True):
    at: float
    fills: list[int]


class ClientFill(msgspec.Struct, array_like=True, frozen=True):
    id: int
    order_id: int
    contract_id: int
    trade_date: str
    action: str
    qty: int
    price: float
    active: bool


class ClientOrder(msgspec.Struct, array_like=True, frozen=True):
    id: int
    status: str
    action: str
    contract_id: int | None
    cl_ord_id: str | None


class ClientPosition(msgspec.Struct, array_like=True, frozen=True):
    account_id: int
    contract_id: int
    net_pos: int
    bought: int
    sold: int
    ledger_net_pos: int
    """The net position of the client's own P&L ledger (carried lots plus the day's fills)."""
    realized: float


class StateMsg(msgspec.Struct, tag="state", frozen=True):
    at: float
    request: int
    trade_date: str | None
    fills: list[ClientFill]
    orders: list[ClientOrder]
    positions: list[ClientPosition]
    cash_amount: float | None
    cash_realized: float | None
    unknown: list[tuple[str, float]]
    """Tickets still UNKNOWN and how long ago their answer was lost (s)."""
    journal_lost: int
    journal_halted: str | None


class EmittedMsg(msgspec.Struct, tag="emitted", frozen=True):
    """An alert the parent asked for was raised; ``seconds``: how long ``emit`` took."""

    at: float
    key: str
    seconds: float


class ExitMsg(msgspec.Struct, tag="exit", frozen=True):
    at: float
    code: int
    lines: list[str]


Message = (IntentMsg | TicketMsg | FillMsg | LinkMsg | StartedMsg | StateMsg | EmittedMsg
           | ExitMsg)

_decoder = msgspec.json.Decoder(Message)
_encoder = msgspec.json.Encoder()


def decode(line: bytes) -> Message:
    """One line of the channel (``msgspec.DecodeError`` if it is not one)."""
    return _decoder.decode(line)


class ChannelWriter:
    """The child's end: whole lines, written at once (the parent drains the pipe)."""

    def __init__(self, fd: int) -> None:
        self._fd = fd
        self.broken = False
        """The parent is gone (the pipe is closed): messages are dropped from then on."""

    def send(self, message: Any) -> None:
        if self.broken:
            return
        data = memoryview(_encoder.encode(message) + b"\n")
        try:
            while data:
                done = os.write(self._fd, data)
                data = data[done:]
        except OSError:  # the parent closed its end: nobody listens any more
            self.broken = True
