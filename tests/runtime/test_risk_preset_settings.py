"""Rule presets in the settings: ``[risk.preset.NAME]`` tables, ``risk.preset_file`` and
``risk.use_preset``; a preset with a missing or contradictory rule, a preset named but not
defined, a preset file missing, unreadable or not TOML is one line from ``config check`` and
from ``run`` before anything connects. ``Risk.for_preset`` gives an account's effective limits."""

from __future__ import annotations

from pathlib import Path

import pytest
from settings_refusal import both_refuse

from tradovate_api.errors import ConfigError
from tradovate_api.secrets import ALL_VARIABLES
from tradovate_api.settings import Risk, RulePreset, load_settings, settings_from_mapping

EXAMPLE_PRESETS = Path(__file__).parents[2] / "examples" / "risk-presets.toml"


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ALL_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)


BAD = [
    ('[risk]\nuse_preset = "funded"\n',
     "risk.use_preset: preset 'funded' is not defined (defined: none)"),
    ('[risk]\nuse_preset = "x"\n[risk.preset.eval]\ndaily_loss = 1000\n',
     "risk.use_preset: preset 'x' is not defined (defined: eval)"),
    ('[risk.preset.eval]\ntrailing_mode = "eod"\n',
     "risk.preset.eval.trailing_mode: given without trailing_drawdown"),
    ('[risk.preset.eval]\ntrailing_drawdown = 2000\n',
     'risk.preset.eval.trailing_mode: required with trailing_drawdown ("intraday" or "eod")'),
    ('[risk.preset.eval]\ntrailing_drawdown = 2000\ntrailing_mode = "eod"\n'
     'starting_balance = 50000\ndrawdown_floor = 47000\n',
     "risk.preset.eval.drawdown_floor: 47000 is below the first trailing level "
     "(starting_balance 50000 - trailing_drawdown 2000): the level could never reach it"),
    ('[risk.preset.eval]\ndrawdown_floor = 50000\n',
     "risk.preset.eval.drawdown_floor: given without trailing_drawdown"),
    ('[risk.preset.eval]\nflat_by = "16:30"\n',
     "risk.preset.eval.flat_by: 16:30 is outside the session (the exchange is closed from "
     "16:00 to 17:00 America/Chicago)"),
    ('[risk.preset.eval]\nflat_by = "3pm"\n',
     'risk.preset.eval.flat_by: expected a time as "HH:MM", got \'3pm\''),
    ('[risk.preset.eval]\ndaily_loss = -500\n',
     "risk.preset.eval.daily_loss: expected float > 0.0"),
    ('[risk.preset.eval]\nmax_contracts_per_product = { ES = 0 }\n',
     "risk.preset.eval.max_contracts_per_product.ES: expected int >= 1"),
    ('[risk.preset.eval]\nmax_contracts_per_product = { es = 2 }\n',
     "risk.preset.eval.max_contracts_per_product: 'es' is not a product code (ES, MES, 6E)"),
    ('[risk.preset.eval]\nexchange_margin = 1.5\n',
     "risk.preset.eval.exchange_margin: expected float <= 1.0"),
    ('[risk.preset.eval]\ntrailing_drawdown = 2000\ntrailing_mode = "daily"\n',
     "risk.preset.eval.trailing_mode: invalid enum value 'daily'"),
    ('[risk.preset.eval]\ntrail_drawdown = 2000\n',
     "risk.preset.eval.trail_drawdown: unknown key (misspelt?)"),
]


@pytest.mark.parametrize(("settings", "message"), BAD,
                         ids=[m.split(":")[0] + str(i) for i, (_, m) in enumerate(BAD)])
def test_a_bad_preset_is_one_line_from_config_check_and_run(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], settings: str,
        message: str) -> None:
    line = both_refuse(tmp_path, capsys, settings)
    assert line.endswith(message), line


def test_a_preset_file_missing_unreadable_or_not_toml(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    presets = tmp_path / "presets.toml"
    line = both_refuse(tmp_path, capsys, '[risk]\npreset_file = "presets.toml"\n')
    assert line.endswith(f"risk.preset_file: {presets}: cannot read the preset file: No such "
                         f"file or directory")
    presets.write_text("[preset.eval\n", encoding="utf-8")
    line = both_refuse(tmp_path, capsys, '[risk]\npreset_file = "presets.toml"\n')
    assert f"risk.preset_file: {presets}: not valid TOML: " in line
    presets.write_text("[preset.eval]\ntrailing_mode = \"eod\"\n", encoding="utf-8")
    line = both_refuse(tmp_path, capsys, '[risk]\npreset_file = "presets.toml"\n')
    assert line.endswith(f"risk.preset_file: {presets}: preset.eval.trailing_mode: given "
                         f"without trailing_drawdown")
    presets.write_text("[eval]\ndaily_loss = 1000\n", encoding="utf-8")
    line = both_refuse(tmp_path, capsys, '[risk]\npreset_file = "presets.toml"\n')
    assert line.endswith(f"risk.preset_file: {presets}: eval: unknown key (the file holds "
                         f"only [preset.NAME] tables)")
    presets.write_text("[preset.eval]\ndaily_loss = 1000\n", encoding="utf-8")
    line = both_refuse(tmp_path, capsys, '[risk]\npreset_file = "presets.toml"\n'
                                          '[risk.preset.eval]\ndaily_loss = 900\n')
    assert line.endswith(f"risk.preset.eval: defined both here and in risk.preset_file "
                         f"({presets}); keep one")


def test_preset_file_presets_are_used_relative_to_the_settings_file(tmp_path: Path) -> None:
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "firm.toml").write_text(
        '[preset.eval]\ndaily_loss = 1100\nmax_order_qty = 3\n', encoding="utf-8")
    (tmp_path / "settings.toml").write_text(
        '[risk]\npreset_file = "rules/firm.toml"\nuse_preset = "eval"\n', encoding="utf-8")
    risk = load_settings(tmp_path / "settings.toml").risk
    assert risk.preset_file == str(tmp_path / "rules" / "firm.toml")
    assert risk.rules() == RulePreset(daily_loss=1100.0, max_order_qty=3)
    effective = risk.effective()
    assert (effective.max_daily_loss, effective.max_order_qty, effective.max_position) == \
        (1100.0, 3, 1)


def test_for_preset_gives_each_account_its_limits() -> None:
    risk = settings_from_mapping({"risk": {"max_daily_loss": 400.0, "preset": {
        "eval": {"daily_loss": 1000.0, "max_position": 5, "max_orders_per_second": 4.0},
        "funded": {"max_order_qty": 2}}}}).risk
    evaluation = risk.for_preset("eval")
    assert (evaluation.use_preset, evaluation.max_daily_loss, evaluation.max_position,
            evaluation.max_orders_per_second) == ("eval", 1000.0, 5, 4.0)
    funded = risk.for_preset("funded")
    assert (funded.max_daily_loss, funded.max_order_qty) == (400.0, 2)
    assert risk.for_preset(None).rules() == RulePreset()
    assert funded.for_preset("funded") == funded  # idempotent
    with pytest.raises(ConfigError, match=r"^preset 'eva' is not defined "
                                          r"\(defined: eval, funded\)$"):
        risk.for_preset("eva")
    assert Risk().rules().exchange_margin == 0.1


def test_the_documented_example_presets_load() -> None:
    risk = settings_from_mapping({"risk": {"preset_file": str(EXAMPLE_PRESETS)}}).risk
    assert sorted(risk.preset) == ["eval-50k", "funded-50k"]
    evaluation = risk.preset["eval-50k"]
    assert (evaluation.trailing_drawdown, evaluation.trailing_mode) == (2000.0, "eod")
    funded = risk.preset["funded-50k"]
    assert funded.drawdown_floor == 50_100.0
