"""The ``[trading]`` settings section: strategy reference, account, traded symbol, fees."""

from __future__ import annotations

import pytest

from tradovate_api.errors import ConfigError
from tradovate_api.settings import settings_from_mapping


def test_defaults_trade_the_reference_strategy_on_the_first_instrument() -> None:
    settings = settings_from_mapping({"instruments": ["ESZ6", "NQZ6"]})
    assert settings.trading.strategy == "tradovate_api.strategies.reference:ReferenceStrategy"
    assert settings.trading.account is None
    assert settings.traded_symbol == "ESZ6"
    assert settings_from_mapping({}).traded_symbol is None


def test_symbol_and_fees_are_taken_as_given() -> None:
    settings = settings_from_mapping({"instruments": ["ESZ6", "NQZ6"], "trading": {
        "symbol": "NQZ6", "account": "DEMO1", "strategy": "my_pkg.strats:Breakout",
        "commission_per_side": {"ES": 2.09, "NQ": 2.09}}})
    assert settings.traded_symbol == "NQZ6"
    assert settings.trading.account == "DEMO1"
    assert settings.trading.commission_per_side == {"ES": 2.09, "NQ": 2.09}


@pytest.mark.parametrize(("raw", "message"), [
    ({"trading": {"strategy": "no_colon"}}, "trading.strategy: expected"),
    ({"trading": {"strategy": "pkg:Cls:More"}}, "trading.strategy: expected"),
    ({"instruments": ["NQZ6"], "trading": {"symbol": "ESZ6"}},
     "trading.symbol: 'ESZ6' is not one of instruments"),
    ({"trading": {"account": " "}}, "trading.account: empty"),
    ({"trading": {"commission_per_side": {"ES": -1.0}}}, "trading.commission_per_side"),
    ({"trading": {"acount": "x"}}, "trading.acount: unknown key"),
])
def test_bad_trading_settings_name_the_key(raw: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        settings_from_mapping(raw)
