"""How report numbers and times are written, the same in the HTML page and the text body."""

from __future__ import annotations

import datetime as dt

DASH = "—"
"""Shown for a value that is not known (no mark, nothing closed yet)."""


def money(value: float | None, *, signed: bool = True) -> str:
    """``+1,234.50`` / ``-58.20`` (``signed=False``: no ``+``)."""
    if value is None:
        return DASH
    rounded = round(value, 2) + 0.0  # -0.0 → 0.0
    return f"{rounded:+,.2f}" if signed else f"{rounded:,.2f}"


def price(value: float | None) -> str:
    return DASH if value is None else f"{value:,.2f}"


def percent(value: float | None) -> str:
    return DASH if value is None else f"{value * 100:.1f}%"


def clock(t_ms: int | None) -> str:
    """``15:01:00`` (UTC)."""
    if t_ms is None:
        return DASH
    return dt.datetime.fromtimestamp(t_ms / 1000, dt.UTC).strftime("%H:%M:%S")


def stamp(t_ms: int | None) -> str:
    """``2026-11-24 15:01:00 UTC``."""
    if t_ms is None:
        return DASH
    return dt.datetime.fromtimestamp(t_ms / 1000, dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def duration(seconds: float | None) -> str:
    """``2h 05m 09s`` / ``5m 09s`` / ``9s``."""
    if seconds is None:
        return DASH
    whole = int(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h {minutes:02d}m {secs:02d}s"
    return f"{minutes}m {secs:02d}s" if minutes else f"{secs}s"


def micros(value: float) -> str:
    """``850 µs`` / ``1.25 ms``."""
    return f"{value:,.0f} µs" if value < 1000 else f"{value / 1000:,.2f} ms"


def trade_day(trade_date: str, settled: bool) -> str:
    """``2026-11-24`` / ``2026-11-23 (settled)`` for an earlier trade date."""
    if not trade_date:
        return DASH
    return f"{trade_date} (settled)" if settled else trade_date


def carried(prev_pos: int, prev_price: float | None) -> str:
    """``+2 @ 4,800.00`` carried in from the previous trade date; ``+2 @ no price``."""
    if not prev_pos:
        return DASH
    return f"{prev_pos:+d} @ " + ("no price" if prev_price is None else price(prev_price))


def trigger(text: str) -> str:
    """A strategy's reason for an order, for reading: each JSON object in it becomes
    ``key value`` pairs (numbers without trailing zeros), the rest is kept as written —
    ``Large Trade {"price":20000.25,"size":450.0,"side":"Buy"}`` reads
    ``Large Trade (price 20000.25, size 450, side Buy)``. The journal keeps the raw text."""
    out: list[str] = []
    at = 0
    while (start := text.find("{", at)) >= 0:
        end = _object_end(text, start)
        if end < 0:
            break
        shown = _pairs(text[start:end])
        out.append(text[at:start])
        out.append(text[start:end] if shown is None else shown)
        at = end
    out.append(text[at:])
    return "".join(out)


def _object_end(text: str, start: int) -> int:
    """The index after the ``}`` closing the object opened at ``start`` (-1: none)."""
    depth, quoted, escaped = 0, False, False
    for index in range(start, len(text)):
        char = text[index]
        if quoted:
            escaped = not escaped and char == "\\"
            quoted = escaped or char != '"'
        elif char == '"':
            quoted = True
        elif char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
            if depth == 0:
                return index + 1
    return -1


def _pairs(candidate: str) -> str | None:
    import msgspec

    try:
        value = msgspec.json.decode(candidate)
    except msgspec.DecodeError:
        return None
    if not isinstance(value, dict):
        return None
    return "(" + ", ".join(f"{key} {_scalar(item)}" for key, item in value.items()) + ")"


def _scalar(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.12g}"
    if isinstance(value, dict | list):
        import msgspec

        return msgspec.json.encode(value).decode()
    return str(value)
