"""Packed tick charts ↔ absolute ticks, exactly as Tradovate's tick-chart guide decodes them.

price = (bp + p) × ts, time = bt + t (ms); bid = (bp + b) × ts and ask = (bp + a) × ts only
when the packet has a non-zero ``bs``/``as`` (the official decoder tests the size). Packets
may arrive out of chronological order; callers that need order sort by (timestamp, id).
"""

from __future__ import annotations

from collections.abc import Sequence

from .models.marketdata import ChartPacket, PackedTick, Tick


def unpack_ticks(packet: ChartPacket) -> list[Tick]:
    """Absolute ticks of one packet, in packet order. Bar and ``eoh`` packets give ``[]``."""
    if not packet.tks:
        return []
    if packet.bp is None or packet.bt is None or packet.ts is None:
        raise ValueError(f"tick packet {packet.id} lacks bp/bt/ts")
    bp, bt, ts = packet.bp, packet.bt, packet.ts
    out = []
    for tk in packet.tks:
        price_ticks = bp + tk.p
        bid_price = bid_size = ask_price = ask_size = None
        if tk.bs and tk.b is not None:
            bid_price, bid_size = (bp + tk.b) * ts, tk.bs
        if tk.as_ and tk.a is not None:
            ask_price, ask_size = (bp + tk.a) * ts, tk.as_
        out.append(Tick(tk.id, bt + tk.t, price_ticks, price_ticks * ts, tk.s,
                        bid_price, bid_size, ask_price, ask_size))
    return out


def pack_ticks(packet_id: int, ticks: Sequence[Tick], tick_size: float, trade_date: int,
               source: str = "db") -> ChartPacket:
    """Pack absolute ticks relative to the first one (server side; the inverse of unpacking).

    Bid/ask prices are converted to whole ticks, so they must lie on the tick grid.
    """
    if not ticks:
        raise ValueError("cannot pack an empty tick list")
    bp, bt = ticks[0].price_ticks, ticks[0].timestamp_ms

    def rel(price: float | None) -> int | None:
        return None if price is None else round(price / tick_size) - bp

    tks = [
        PackedTick(id=t.id, t=t.timestamp_ms - bt, p=t.price_ticks - bp, s=t.size,
                   b=rel(t.bid_price), a=rel(t.ask_price), bs=t.bid_size, as_=t.ask_size)
        for t in ticks
    ]
    return ChartPacket(id=packet_id, s=source, td=trade_date, bp=bp, bt=bt, ts=tick_size, tks=tks)
