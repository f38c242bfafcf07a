"""A backtest on an imported DBN file: the replay's fills, P&L and report on a book whose
every price is known, so the expected numbers are computed by hand."""

from __future__ import annotations

from pathlib import Path

import pytest
from dbn_files import mbp1, write

from tradovate_api.cli import main
from tradovate_api.recording import recording_files
from tradovate_api.replay import ReplayConfig, run_replay
from tradovate_api.research.dbn_import import import_dbn
from tradovate_api.stores import NewFill, QuoteState
from tradovate_api.strategy import Strategy


class BuyThenSell(Strategy):
    """Buys 1 at the first quote, sells 1 at the first quote 100 ms later."""

    def on_start(self) -> None:
        self.started_ms = self.ctx.now_ms()
        self.bought = self.sold = False
        self.fills: list[tuple[str, float]] = []

    def on_quote(self, quote: QuoteState) -> None:
        symbol = self.ctx.trading_symbol
        assert symbol is not None
        if not self.bought:
            self.bought = True
            self.ctx.buy(symbol, 1, trigger="first quote")
        elif not self.sold and self.ctx.now_ms() >= self.started_ms + 100:
            self.sold = True
            self.ctx.sell(symbol, 1, trigger="100 ms later")

    def on_fill(self, fill: NewFill) -> None:
        self.fills.append((fill.fill.action, fill.fill.price))


def _book(tmp_path: Path) -> Path:
    """ES: 6850.00 / 6850.25 at start, the market moves up to 6851.00 / 6851.25 at 150 ms."""
    records = [mbp1(1, 6850.00, 6850.25, sequence=1),
               mbp1(50, 6850.25, 6850.50, sequence=2),
               mbp1(150, 6851.00, 6851.25, sequence=3),
               mbp1(300, 6851.00, 6851.25, sequence=4),
               mbp1(400, 6851.00, 6851.50, sequence=5)]
    source = write(tmp_path / "es.dbn", "mbp-1", records)
    import_dbn(source, tmp_path / "rec")
    return tmp_path / "rec"


@pytest.mark.parametrize(("slippage", "buy", "sell"), [(0, 6850.25, 6851.00),
                                                       (1, 6850.50, 6850.75)])
async def test_fills_and_pnl_computed_by_hand(tmp_path: Path, slippage: int, buy: float,
                                              sell: float) -> None:
    strategy = BuyThenSell()
    config = ReplayConfig(slippage_ticks=slippage, commissions={"ES": 2.0})
    result = await run_replay(recording_files([_book(tmp_path)]), strategy, config)
    # market buy at the recorded offer (+ slippage), market sell at the bid 150 ms in
    # (− slippage); ES is worth $50 a point; 2.00 per contract per side
    assert strategy.fills == [("Buy", buy), ("Sell", sell)]
    assert [(f.action, f.price) for f in result.fills] == [("Buy", buy), ("Sell", sell)]
    realized = (sell - buy) * 50.0
    summary = result.summary
    assert summary.realized == pytest.approx(realized)
    assert summary.commissions == pytest.approx(4.0)
    assert summary.net_realized == pytest.approx(realized - 4.0)
    assert summary.trades == 1
    assert summary.total_pnl == pytest.approx(realized - 4.0)


def test_the_replay_command_reports_an_imported_file(tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    recording = _book(tmp_path)
    out = tmp_path / "bt"
    code = main(["replay", str(recording), "--strategy", f"{__name__}:BuyThenSell",
                 "--commission", "2", "--output", str(out), "--no-charts"])
    assert code == 0
    printed = capsys.readouterr().out
    assert "fills 2, closed trades 1" in printed
    assert "net 33.50 (realized 37.50, commissions 4.00)" in printed
    assert (out / "report.html").is_file()
