"""``[[accounts]]`` and ``[[strategies]]``: the single case is the list of one, and every
mistake is one line from both ``config check`` and ``run``, before anything connects."""

from __future__ import annotations

from pathlib import Path

import pytest
from settings_refusal import both_refuse

from tradovate_api.cli import main
from tradovate_api.secrets import ALL_VARIABLES
from tradovate_api.settings import AccountSettings, StrategySettings, load_settings

REFERENCE = "tradovate_api.strategies.reference:ReferenceStrategy"
GOOD = f"""
instruments = ["ESZ6", "NQZ6"]

[[accounts]]
name = "EVAL1"

[[accounts]]
name = "EVAL2"

[[accounts]]
id = 7

[[strategies]]
name = "fast"
class = "{REFERENCE}"
accounts = ["EVAL1", "EVAL2"]
symbols = ["ESZ6"]
params = {{ order_qty = 300 }}

[[strategies]]
name = "slow"
class = "{REFERENCE}"
accounts = ["7"]
symbols = ["NQZ6"]
"""


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ALL_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "settings.toml"
    path.write_text(text, encoding="utf-8")
    (tmp_path / "secrets.env").write_text("", encoding="utf-8")
    return path


def test_without_the_lists_the_single_case_is_a_list_of_one(tmp_path: Path) -> None:
    settings = load_settings(_write(tmp_path, 'instruments = ["ESZ6", "NQZ6"]\n[trading]\n'
                                              'account = "EVAL1"\nsymbol = "NQZ6"\n'))
    assert settings.account_list() == (AccountSettings(name="EVAL1"),)
    assert settings.strategy_list() == (StrategySettings(
        name="ReferenceStrategy", class_=REFERENCE, accounts=("EVAL1",), symbols=("NQZ6",)),)


def test_listed_accounts_and_strategies(tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    path = _write(tmp_path, GOOD)
    settings = load_settings(path)
    assert [a.key for a in settings.account_list()] == ["EVAL1", "EVAL2", "7"]
    fast, slow = settings.strategy_list()
    assert (fast.name, fast.accounts, fast.symbols) == ("fast", ("EVAL1", "EVAL2"), ("ESZ6",))
    assert slow.params == {}
    assert main(["config", "check", "--settings", str(path), "--env-file",
                 str(tmp_path / "secrets.env")]) == 0
    out = capsys.readouterr().out
    assert "# strategy parameters (fast: ReferenceStrategy.Params" in out
    assert '"order_qty": 300' in out


@pytest.mark.parametrize(("change", "expected"), [
    (lambda t: t.replace('accounts = ["7"]', 'accounts = ["GHOST"]'),
     "strategies[1].accounts: 'GHOST' is not in [[accounts]] (7, EVAL1, EVAL2)"),
    (lambda t: t.replace('name = "EVAL2"', 'name = "EVAL1"'),
     "accounts[1]: account 'EVAL1' listed twice"),
    (lambda t: t.replace('name = "slow"', 'name = "fast"'),
     "strategies[1].name: strategy name 'fast' used twice"),
    (lambda t: t.replace('symbols = ["NQZ6"]', 'symbols = ["MESZ6"]'),
     "strategies[1].symbols: 'MESZ6' is not one of instruments (ESZ6, NQZ6)"),
    (lambda t: t.replace('accounts = ["7"]', 'accounts = ["EVAL2"]')
     .replace('symbols = ["NQZ6"]', 'symbols = ["ESZ6"]'),
     "strategies[1]: strategy 'slow' trades ESZ6 on account 'EVAL2' like strategy 'fast'; "
     "two strategies on one account and contract may trade against each other: set "
     "allow_shared = true on both to allow it"),
    (lambda t: t.replace('[[accounts]]\nid = 7\n', '[[accounts]]\npreset = "firm"\n'),
     "accounts[2]: give the account's name or id"),
    (lambda t: t.replace('name = "EVAL2"', 'name = "EVAL2"\npreset = "firm"'),
     "accounts[1].preset: preset 'firm' is not defined (defined: none)"),
    (lambda t: t + '\n[trading]\naccount = "EVAL1"\n',
     "trading.account: not used with [[strategies]]"),
    (lambda t: t.replace("order_qty = 300", "order_qty = -1"),
     "strategies[0].params.order_qty: expected int >= 1"),
    (lambda t: t.replace("order_qty = 300", "large_trade_qtty = 300"),
     "strategies[0].params.large_trade_qtty: unknown key (misspelt?)"),
    (lambda t: t.replace(f'class = "{REFERENCE}"\naccounts = ["7"]',
                         'class = "no_such_module:Nope"\naccounts = ["7"]'),
     "strategies[1].class: cannot import 'no_such_module'"),
    (lambda t: t.split("[[strategies]]")[0],
     "strategies: [[accounts]] and [[strategies]] go together; list the strategies too"),
])
def test_mistakes_are_one_line_from_config_check_and_run(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], change: object,
        expected: str) -> None:
    assert callable(change)
    assert expected in both_refuse(tmp_path, capsys, change(GOOD))


def test_sharing_an_account_and_contract_is_allowed_when_both_say_so(tmp_path: Path) -> None:
    text = (GOOD.replace('accounts = ["7"]', 'accounts = ["EVAL2"]\nallow_shared = true')
            .replace('symbols = ["NQZ6"]', 'symbols = ["ESZ6"]')
            .replace('symbols = ["ESZ6"]\nparams', 'symbols = ["ESZ6"]\nallow_shared = true\n'
                                                  'params'))
    settings = load_settings(_write(tmp_path, text))
    assert [s.allow_shared for s in settings.strategy_list()] == [True, True]
