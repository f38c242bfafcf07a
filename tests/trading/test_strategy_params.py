"""Typed strategy parameters: a strategy declares ``Params``; ``config check``, ``run`` and the
dispatcher check ``[strategy]`` against it (unknown keys, wrong types, bounds, cross-key
checks) naming the key, and ``ctx.params`` is the typed value. A strategy declaring nothing
gets the table as a read-only mapping, as before."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest
from trading_helpers import Harness

from tradovate_api.cli import main
from tradovate_api.errors import ConfigError
from tradovate_api.strategies import ReferenceParams, ReferenceStrategy
from tradovate_api.strategy import (
    Positive,
    PositiveInt,
    Strategy,
    StrategyParams,
    strategy_params,
)


class BreakoutParams(StrategyParams, frozen=True):
    lookback_bars: PositiveInt = 20
    entry_offset: Positive = 0.5
    stop: Positive = 4.0
    target: Positive = 8.0
    symbol: str | None = None

    def __post_init__(self) -> None:
        if self.target <= self.stop:
            raise ValueError("target: must be above stop")


class Breakout(Strategy):
    Params = BreakoutParams

    def on_start(self) -> None:
        self.started_with: BreakoutParams = self.ctx.params


@dataclasses.dataclass(frozen=True)
class FadeParams:
    ticks: int = 3
    size: float = 1.0


class Fade(Strategy):
    Params = FadeParams


class Untyped(Strategy):
    def on_start(self) -> None:
        self.every = int(self.ctx.params.get("every", 5))


def test_ctx_params_is_the_typed_value_with_defaults_filled_in() -> None:
    strategy = Breakout()
    h = Harness(strategy, params={"lookback_bars": 30, "stop": 2})
    h.sync()
    h.dispatcher.start()
    assert strategy.started_with == BreakoutParams(lookback_bars=30, stop=2.0)
    assert isinstance(strategy.started_with.stop, float)


@pytest.mark.parametrize(("raw", "message"), [
    ({"lookback": 30}, "strategy.lookback: unknown key (misspelt?) — Breakout takes: "
                       "entry_offset, lookback_bars, stop, symbol, target"),
    ({"lookback_bars": "30"}, "strategy.lookback_bars: expected int, got str"),
    ({"lookback_bars": 2.5}, "strategy.lookback_bars: expected int, got float"),
    ({"lookback_bars": 0}, "strategy.lookback_bars: expected int >= 1"),
    ({"stop": -1}, "strategy.stop: expected float > 0.0"),
    ({"stop": 10}, "strategy.target: must be above stop"),
    ({"entry_offset": float("inf")}, "strategy.entry_offset: must be a finite number"),
    ({"symbol": 7}, "strategy.symbol: expected str | null, got int"),
])
def test_bad_parameters_are_a_config_error_naming_the_key(raw: dict[str, Any],
                                                          message: str) -> None:
    with pytest.raises(ConfigError) as info:
        strategy_params(Breakout, raw)
    assert str(info.value).startswith(message), str(info.value)
    with pytest.raises(ConfigError, match=r"^strategy\."):  # and the dispatcher refuses too
        Harness(Breakout(), params=raw)


def test_a_dataclass_works_as_params_and_unknown_keys_are_refused() -> None:
    assert strategy_params(Fade, {"ticks": 5}) == FadeParams(ticks=5)
    with pytest.raises(ConfigError, match=r"^strategy\.tick: unknown key"):
        strategy_params(Fade, {"tick": 5})
    with pytest.raises(ConfigError, match=r"^strategy\.ticks: expected int, got str"):
        strategy_params(Fade, {"ticks": "5"})


def test_a_strategy_without_params_gets_the_table_read_only() -> None:
    strategy = Untyped()
    h = Harness(strategy, params={"every": 9, "anything": "goes"})
    h.sync()
    h.dispatcher.start()
    assert strategy.every == 9
    with pytest.raises(TypeError):
        h.ctx.params["every"] = 1  # type: ignore[index]


def test_the_reference_strategy_declares_its_params() -> None:
    assert ReferenceStrategy.Params is ReferenceParams
    assert strategy_params(ReferenceStrategy, {}) == ReferenceParams()


# ---------------------------------------------------------------------- the command line


def _settings(tmp_path: Path, strategy_table: str) -> Path:
    path = tmp_path / "settings.toml"
    path.write_text('[trading]\nstrategy = "tradovate_api.strategies.reference:'
                    'ReferenceStrategy"\n[notifications]\nurgent = ["log"]\nroutine = ["log"]\n'
                    f"[strategy]\n{strategy_table}")
    return path


def _cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize(("table", "message"), [
    ('window_ms = "fast"\n', "strategy.window_ms: expected int, got str"),
    ("large_trades = 400\n", "strategy.large_trades: unknown key (misspelt?)"),
    ("order_qty = 0\n", "strategy.order_qty: expected int >= 1"),
    ('dom_sign = "up"\n', "strategy.dom_sign: invalid enum value 'up'"),
])
def test_config_check_refuses_bad_strategy_parameters(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], table: str, message: str) -> None:
    settings = _settings(tmp_path, table)
    code, out, err = _cli(capsys, "config", "check", "--settings", str(settings),
                          "--env-file", "/dev/null")
    assert code == 1
    assert out == ""
    assert err.startswith(f"configuration error: {settings}: {message}"), err
    assert len(err.strip().splitlines()) == 1


def test_config_check_prints_the_typed_parameters(tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    settings = _settings(tmp_path, "order_qty = 2\n")
    code, out, err = _cli(capsys, "config", "check", "--settings", str(settings),
                          "--env-file", "/dev/null")
    assert code == 0, err
    assert "# strategy parameters (ReferenceStrategy.Params, defaults filled in):" in out
    assert '"order_qty": 2' in out
    assert '"window_ms": 1000' in out


def test_config_check_names_a_strategy_that_cannot_be_imported(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    settings = tmp_path / "settings.toml"
    settings.write_text('[trading]\nstrategy = "no_such_module_here:Nope"\n')
    code, _, err = _cli(capsys, "config", "check", "--settings", str(settings),
                        "--env-file", "/dev/null")
    assert code == 1
    assert "trading.strategy: cannot import 'no_such_module_here'" in err


def test_run_refuses_bad_strategy_parameters_before_starting(
        tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # nothing may be written anywhere else
    settings = _settings(tmp_path, 'window_ms = "fast"\n')
    code, _, err = _cli(capsys, "run", "--settings", str(settings), "--env-file", "/dev/null",
                        "--duration", "1")
    assert code == 1
    assert err.strip() == "configuration error: strategy.window_ms: expected int, got str"
    assert not (tmp_path / "state").exists()  # refused before the journal was opened
