"""RuntimeMetrics (bounded latency ring, session counters, snapshot) and the status line
(in place on a terminal, plain lines otherwise, never raising)."""

from __future__ import annotations

import io
from dataclasses import dataclass

import msgspec
import pytest

from tradovate_api.alerts import Alert, AlertLog, Severity
from tradovate_api.runtime.metrics import MetricsSnapshot, RuntimeMetrics
from tradovate_api.runtime.status import (
    StatusPrinter,
    StatusSnapshot,
    UrgentOnScreen,
    format_status,
)


@dataclass
class FakeSession:
    connects: int = 0
    ready_count: int = 0
    ready: bool = False


def test_latency_ring_keeps_the_newest_samples_in_order() -> None:
    metrics = RuntimeMetrics(latency_capacity=4)
    assert metrics.latency().count == 0
    for ns in (5_000, 1_000, 9_000, 2_000, 7_000, 3_000):
        metrics.record_tick_to_order(ns)
    assert metrics.latency_samples() == (9_000, 2_000, 7_000, 3_000)
    summary = metrics.latency()
    assert summary.count == 4
    assert summary.max_us == 9.0
    assert summary.p50_us in (3.0, 7.0)
    with pytest.raises(ValueError, match="latency_capacity"):
        RuntimeMetrics(latency_capacity=0)


def test_reconnects_come_from_the_sessions_and_the_snapshot_is_json() -> None:
    now = [100.0]
    metrics = RuntimeMetrics(clock=lambda: now[0])
    md, trading = FakeSession(3, 2, True), FakeSession(1, 1, True)
    metrics.track_session("md", md)
    metrics.track_session("trading", trading)
    metrics.fills += 2
    now[0] = 160.5
    assert metrics.uptime == 60.5
    assert metrics.reconnects("md") == 1
    assert metrics.total_reconnects == 1
    md.ready_count = 4
    md.ready = False
    snap = metrics.snapshot()
    assert [(s.name, s.connected, s.reconnects) for s in snap.sessions] == [
        ("md", False, 3), ("trading", True, 0)]
    again = msgspec.json.decode(msgspec.json.encode(snap), type=MetricsSnapshot)
    assert again == snap
    assert again.fills == 2


def snapshot(**changes: object) -> StatusSnapshot:
    values: dict[str, object] = dict(
        md_connected=True, trading_connected=False, symbol="ESZ6", last_price=6851.25,
        net_pos=1, avg_price=6850.75, realized=-4.18, open_pnl=25.0, working_orders=0,
        fills=3, reconnects=2)
    values.update(changes)
    return StatusSnapshot(**values)  # type: ignore[arg-type]


def test_status_line_shows_connections_price_position_pnl_orders() -> None:
    line = format_status(snapshot(), now=0)
    assert "md up, trading DOWN" in line
    assert "ESZ6 6851.25" in line
    assert "pos +1 @ 6850.75" in line
    assert "P&L net -4.18 open +25.00" in line
    assert "0 working, 3 fills" in line
    assert "2 reconnects" in line
    flat = format_status(snapshot(net_pos=0, last_price=None, open_pnl=None,
                                  strategy="paused"), now=0)
    assert "flat" in flat
    assert "ESZ6 -" in flat
    assert "open n/a" in flat
    assert flat.split(" | ")[1] == "paused"  # right after the connections: never cut off


def test_a_halt_is_not_cut_off_by_a_narrow_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "100")
    halted = snapshot(strategy="halted: daily loss -512.50 exceeds max_daily_loss 500")
    out = io.StringIO()
    printer = StatusPrinter(lambda: format_status(halted, now=0), out, tty=True)
    printer.show()
    shown = out.getvalue().removeprefix("\r\x1b[K")
    assert len(shown) == 99  # cut at the terminal's width …
    assert "halted: daily loss -512.50 exceeds max_daily_loss 500 |" in shown  # … after the halt
    assert "reconnects" not in shown


def test_urgent_alerts_are_shown_whole_on_their_own_line() -> None:
    inner = AlertLog()
    out = io.StringIO()
    screen = UrgentOnScreen(inner, out)
    printer = StatusPrinter(lambda: "status", out, tty=True)
    screen.show_with(printer)
    printer.show()
    title = "Trading halted: " + "a reason longer than any terminal is wide " * 4
    screen.emit(Alert(Severity.URGENT, "risk.daily_loss", title, created=0))
    screen.emit(Alert(Severity.ROUTINE, "report.periodic", "Periodic report", created=0))
    assert inner.keys() == ["risk.daily_loss", "report.periodic"]  # every alert still goes on
    lines = out.getvalue().split("\n")
    assert lines[0] == "\r\x1b[Kstatus"  # the in-place line was ended first
    assert lines[1].endswith(f" ALERT {title}")  # whole, however wide
    assert "Periodic report" not in out.getvalue()


def test_a_broken_terminal_never_stops_an_alert() -> None:
    class Broken(io.StringIO):
        def write(self, text: str) -> int:
            raise OSError("terminal gone")

    inner = AlertLog()
    UrgentOnScreen(inner, Broken()).emit(Alert(Severity.URGENT, "risk.x", "t"))
    assert inner.keys() == ["risk.x"]


def test_printer_rewrites_in_place_on_a_terminal() -> None:
    out = io.StringIO()
    lines = iter(["one", "two"])
    printer = StatusPrinter(lambda: next(lines), out, tty=True)
    assert printer.interval <= 0.5
    printer.show()
    printer.show()
    printer.end_line()
    assert out.getvalue() == "\r\x1b[Kone\r\x1b[Ktwo\n"


def test_printer_prints_lines_when_not_a_terminal_and_survives_failures() -> None:
    out = io.StringIO()
    calls = []

    def render() -> str:
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("broken view")
        return f"line {len(calls)}"

    printer = StatusPrinter(render, out)  # StringIO is not a tty
    assert not printer.tty
    assert printer.interval >= 2.0
    for _ in range(3):
        printer.show()
    printer.end_line()
    assert out.getvalue() == "line 1\nline 3\n"
    assert printer.failures == 1
    out.close()
    printer.show()  # closed stream: counted, not raised
    assert printer.failures == 2


def test_in_place_line_is_cut_to_the_terminal_width(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "40")
    out = io.StringIO()
    StatusPrinter(lambda: "x" * 100, out, tty=True).show()
    assert out.getvalue() == "\r\x1b[K" + "x" * 39
