"""``tradovate-api replay`` end to end, and the CSV/Parquet exports."""

from __future__ import annotations

import csv
import importlib
from pathlib import Path
from typing import Any

import msgspec
import pyarrow.parquet as pq
import pytest

from tradovate_api.cli import main
from tradovate_api.export import ExportError, export_rows
from tradovate_api.replay.command import parse_speed
from tradovate_api.replay.results import FillRecord
from tradovate_api.replay.synthetic_recording import synthesize


def test_replay_command_writes_the_report_and_exports(tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    rec = tmp_path / "rec"
    synthesize(rec, seconds=30.0, step_ms=50, seed=2)
    out = tmp_path / "out"
    code = main(["replay", str(rec), "--strategy", "replay_strategies:Alternating",
                 "--latency-ms", "4", "--slippage-ticks", "1", "--commission", "2.09",
                 "--output", str(out), "--export", "csv", "--export", "parquet"])
    printed = capsys.readouterr().out
    assert code == 0
    assert "md events" in printed
    assert "max drawdown" in printed
    html = (out / "report.html").read_text()
    assert "<img" in html
    assert (out / "pnl.png").read_bytes().startswith(b"\x89PNG")
    backtest = msgspec.json.decode((out / "backtest.json").read_bytes())
    fills = backtest["fills"]
    assert len(fills) == backtest["summary"]["fills"] > 0
    # One definition of P&L with live: net = realized − commissions, total = net + open.
    summary = backtest["summary"]
    assert summary["net_realized"] == pytest.approx(summary["realized"] - summary["commissions"])
    assert summary["open_pnl"] is not None
    assert summary["total_pnl"] == pytest.approx(summary["net_realized"] + summary["open_pnl"])
    assert f"P&L         net {summary['net_realized']:,.2f} (realized" in printed
    with (out / "fills.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert [int(r["fill_id"]) for r in rows] == [f["fill_id"] for f in fills]
    assert [float(r["price"]) for r in rows] == [f["price"] for f in fills]
    table = pq.read_table(out / "fills.parquet")
    assert table.column("fill_id").to_pylist() == [f["fill_id"] for f in fills]
    trades = pq.read_table(out / "trades.parquet")
    assert trades.num_rows == backtest["summary"]["trades"] + (
        1 if trades.num_rows and trades.column("exit_ms").to_pylist()[-1] is None else 0)
    assert set(trades.column_names) >= {"entry_price", "exit_price", "net", "entry_trigger"}
    decisions = pq.read_table(out / "decisions.parquet")
    assert decisions.column("trigger").to_pylist()[0].startswith("quote ")


def test_replay_command_reports_problems_clearly(tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["replay", str(tmp_path / "nothing.tvmd.zst"), "--strategy",
                 "replay_strategies:Alternating"]) == 1
    assert "no such recording" in capsys.readouterr().err
    rec = tmp_path / "rec"
    synthesize(rec, seconds=1.0)
    assert main(["replay", str(rec), "--strategy", "no_such_module:X"]) == 1
    assert "cannot import" in capsys.readouterr().err
    assert main(["replay", str(rec), "--speed", "fast"]) == 1
    assert "--speed" in capsys.readouterr().err


def test_speed_words_and_factors() -> None:
    assert parse_speed("max") is None
    assert parse_speed("realtime") == 1.0
    assert parse_speed("10x") == 10.0
    assert parse_speed("0.5") == 0.5
    for bad in ("0", "-2", "soon"):
        with pytest.raises(ValueError, match="--speed"):
            parse_speed(bad)


ROWS = [FillRecord(1, 10, 20, 30, "Buy", 1, 5000.25, "2026-11-24T15:00:00.001Z"),
        FillRecord(2, 11, 21, 30, "Sell", 2, 5001.0, "2026-11-24T15:00:00.002Z")]


def test_exports_round_trip_and_refuse_unknown_formats(tmp_path: Path) -> None:
    export_rows(ROWS, tmp_path / "f.csv")
    with (tmp_path / "f.csv").open() as handle:
        assert [r["action"] for r in csv.DictReader(handle)] == ["Buy", "Sell"]
    export_rows(ROWS, tmp_path / "f.parquet")
    assert pq.read_table(tmp_path / "f.parquet").column("qty").to_pylist() == [1, 2]
    export_rows([], tmp_path / "empty.csv", row_type=FillRecord)
    assert (tmp_path / "empty.csv").read_text().startswith("t_ms,fill_id")
    with pytest.raises(ExportError, match="unknown export format"):
        export_rows(ROWS, tmp_path / "f.xlsx")
    with pytest.raises(ExportError, match="row_type"):
        export_rows([], tmp_path / "x.csv")


def test_parquet_without_pyarrow_says_how_to_get_it(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    real = importlib.import_module

    def no_pyarrow(name: str, *args: Any) -> Any:
        if name.startswith("pyarrow"):
            raise ImportError(f"No module named {name!r}")
        return real(name, *args)

    monkeypatch.setattr(importlib, "import_module", no_pyarrow)
    with pytest.raises(ExportError, match="pip install pyarrow"):
        export_rows(ROWS, tmp_path / "f.parquet")
    export_rows(ROWS, tmp_path / "f.csv")  # CSV needs nothing
