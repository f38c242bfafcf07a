"""The md recording file format.

A recording file is a sequence of independent zstd frames (each with a content checksum),
one per writer flush. Decompressed, the frames form a stream of records::

    u32 little-endian  payload length
    u64 little-endian  receive time, ns since the epoch
    u8                 kind: 0 = md websocket frame, 1 = file header, 2 = note
    payload

A ``FRAME`` payload is the websocket text message exactly as it arrived on the md socket.
The first record of every file is a ``HEADER`` (JSON :class:`RecordingHeader`); ``NOTE``
records (JSON :data:`Note`) carry what the frames alone do not say: contract reference data,
which chart ids belong to which contract, reconnects, when the strategy started. Every file
repeats the reference and live chart notes after its header, so each rotated file replays on
its own.

Chart and connection notes are made by the md reader while it handles a frame (the first
packet of a chart, the first event of a new connection), so they are written just after that
frame but apply to it: a replay applies them before the frame that precedes them. Other notes
apply where they stand.

A process killed mid-write leaves at most one incomplete zstd frame at the end; readers drop
it (that is the "last flush interval" a crash may lose) and report the file as truncated.
"""

from __future__ import annotations

import struct
from typing import TypeAlias

import msgspec

from ..protocol.models import Contract, ContractMaturity, Product

FORMAT_VERSION = 1
SUFFIX = ".tvmd.zst"
"""File name suffix of recordings."""

RECORD = struct.Struct("<IQB")
"""Record header: payload length, receive time (ns), kind."""
FRAME = 0
HEADER = 1
NOTE = 2


class RecordingHeader(msgspec.Struct, frozen=True):
    """First record of every file."""

    format: int
    created_ns: int
    session: str
    """Trading session (CME trade date, ``YYYY-MM-DD``) the file belongs to."""
    label: str = ""
    part: int = 1
    """1 for the first file of a recorder run, then 2, 3... after each rotation."""


class ReferenceNote(msgspec.Struct, frozen=True, tag="reference"):
    """Contract, maturity and product entities of the recorded instruments."""

    contracts: list[Contract] = msgspec.field(default_factory=list)
    maturities: list[ContractMaturity] = msgspec.field(default_factory=list)
    products: list[Product] = msgspec.field(default_factory=list)


class ChartNote(msgspec.Struct, frozen=True, tag="chart"):
    """Packets with either id belong to this contract's chart ``series`` (``""``: ticks).

    ``history_first``: the chart was requested with history, so packets before its ``eoh``
    are history whatever their id (servers send it under the realtime id too, reference
    §4.5-4.8) — as the trading app registers every chart. ``None``: the note does not say
    (recordings of earlier versions, synthetic ones); readers decide from the frames
    (:func:`~.chart_history.mark_history`)."""

    contract_id: int
    historical_id: int
    realtime_id: int | None = None
    series: str = ""
    history_first: bool | None = None


class ConnectionNote(msgspec.Struct, frozen=True, tag="connection"):
    """The md socket (re)connected (``event="connected"``; chart ids restart) or ended."""

    event: str
    number: int = 0


class StrategyNote(msgspec.Struct, frozen=True, tag="strategy"):
    """The live strategy started (``event="started"``): a replay starts it here too."""

    event: str


Note: TypeAlias = ReferenceNote | ChartNote | ConnectionNote | StrategyNote
FRAME_NOTES = (ChartNote, ConnectionNote)
"""Notes that apply to the frame written just before them."""

encode_json = msgspec.json.Encoder().encode
decode_header = msgspec.json.Decoder(RecordingHeader).decode
decode_note = msgspec.json.Decoder(Note).decode


def pack(kind: int, ts_ns: int, payload: bytes) -> bytes:
    return RECORD.pack(len(payload), ts_ns, kind) + payload
