"""``config check`` and ``run`` accept and refuse the same setups, with the same words, before
anything connects: the Tradovate credentials an environment needs, alert channels routed
without their variables (a warning on sim and demo, an error live), a contract name that is
not one (refused before a login is spent on looking it up)."""

from __future__ import annotations

from pathlib import Path

import pytest
from msgspec.structs import replace

from tradovate_api.cli import main
from tradovate_api.errors import ConfigError
from tradovate_api.runtime.preflight import preflight
from tradovate_api.secrets import ALL_VARIABLES, secrets_from_mapping
from tradovate_api.settings import load_settings

CREDENTIALS = {"TRADOVATE_NAME": "alice", "TRADOVATE_PASSWORD": "pw-preflight-1",
               "TRADOVATE_CID": "8", "TRADOVATE_SEC": "sec-preflight-1"}
ALERTS = {"TWILIO_ACCOUNT_SID": "AC1", "TWILIO_AUTH_TOKEN": "tok-preflight-1",
          "TWILIO_FROM_NUMBER": "+15550000001", "TWILIO_TO_NUMBERS": "+15550000002",
          "SMTP_HOST": "127.0.0.1", "ALERT_EMAIL_TO": "trader@example.test"}


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ALL_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)  # run writes nothing anywhere else


def _files(tmp_path: Path, settings: str, secrets: dict[str, str]) -> tuple[Path, Path]:
    (tmp_path / "settings.toml").write_text(settings, encoding="utf-8")
    (tmp_path / "secrets.env").write_text(
        "".join(f"{name}={value}\n" for name, value in secrets.items()), encoding="utf-8")
    return tmp_path / "settings.toml", tmp_path / "secrets.env"


def _cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("environment", ["sim", "demo", "live"])
@pytest.mark.parametrize("alerts", [True, False], ids=["alerts-set", "alerts-unset"])
def test_config_check_says_what_preflight_says(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], environment: str,
        alerts: bool) -> None:
    values = {**CREDENTIALS, **(ALERTS if alerts else {})}
    settings_path, env_path = _files(tmp_path, "", values)
    settings = load_settings(settings_path)
    code, _, err = _cli(capsys, "config", "check", "--settings", str(settings_path),
                        "--env-file", str(env_path), "--env", environment)
    live_without_alerts = environment == "live" and not alerts
    target = replace(settings, environment=environment)
    if live_without_alerts:
        with pytest.raises(ConfigError) as refused:
            preflight(target, secrets_from_mapping(values))
        assert code == 1
        assert err.strip() == f"configuration error: {settings_path}: {refused.value}"
        assert "TWILIO_AUTH_TOKEN" in err
        assert "SMTP_HOST" in err
        return
    checked = preflight(target, secrets_from_mapping(values))
    assert code == 0, err
    assert [line.removeprefix("warning: ") for line in err.splitlines()] == \
        list(checked.warnings)
    assert bool(checked.warnings) is not alerts  # the unset channels are named, not hidden


def test_run_refuses_live_without_its_alert_channels_before_connecting(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    settings_path, env_path = _files(tmp_path, 'environment = "live"\n', CREDENTIALS)
    code, _, check_err = _cli(capsys, "config", "check", "--settings", str(settings_path),
                              "--env-file", str(env_path))
    assert code == 1
    code, out, err = _cli(capsys, "run", "--settings", str(settings_path), "--env-file",
                          str(env_path), "--i-understand-live-trading", "--duration", "1")
    assert code == 1
    assert out == ""
    reason = check_err.strip().removeprefix(f"configuration error: {settings_path}: ")
    assert err.strip() == f"configuration error: {reason}"
    assert not (tmp_path / "state").exists()  # refused before the journal or a login
    assert "pw-preflight-1" not in err + check_err


def test_demo_without_credentials_is_refused_by_both_alike(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    settings_path, env_path = _files(tmp_path, 'environment = "demo"\n', {})
    code, _, check_err = _cli(capsys, "config", "check", "--settings", str(settings_path),
                              "--env-file", str(env_path))
    assert code == 1
    code, _, err = _cli(capsys, "run", "--settings", str(settings_path), "--env-file",
                        str(env_path), "--duration", "1")
    assert code == 1
    assert "required for environment 'demo'" in err
    assert err.strip().removeprefix("configuration error: ") == \
        check_err.strip().removeprefix(f"configuration error: {settings_path}: ")


@pytest.mark.parametrize("symbol", ["ESZ", "esz6", "ES Z6", "Z6"])
def test_a_contract_name_that_is_not_one_is_refused_before_a_login(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], symbol: str) -> None:
    settings_path, env_path = _files(tmp_path, f'instruments = ["ESZ6", "{symbol}"]\n', {})
    for command in (["config", "check"], ["run", "--duration", "1"]):
        code, _out, err = _cli(capsys, *command, "--settings", str(settings_path),
                              "--env-file", str(env_path))
        assert code == 1, command
        assert f"instruments[1]: {symbol!r} is not a futures contract name" in err
        assert len(err.strip().splitlines()) == 1
    assert not (tmp_path / "state").exists()


@pytest.mark.parametrize("symbol", ["ESZ6", "MESH7", "6EZ6", "MNQZ6", "M2KU7", "CLF7"])
def test_real_contract_names_pass(tmp_path: Path, symbol: str) -> None:
    settings_path, _ = _files(tmp_path, f'instruments = ["{symbol}"]\n', {})
    assert load_settings(settings_path).instruments == (symbol,)
