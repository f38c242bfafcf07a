"""Secrets: masked Secret type, .env parsing, environment precedence, required variables."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from tradovate_api.errors import ConfigError
from tradovate_api.secrets import (
    Secret,
    known_secret_values,
    load_secrets,
    parse_env_file,
)


def test_secret_never_shows_its_value() -> None:
    secret = Secret("pa55-word-value")
    assert repr(secret) == "Secret('***')"
    assert str(secret) == "***"
    assert f"{secret}" == "***"
    assert f"{secret:>5}" == "  ***"
    assert "%s %r" % (secret, secret) == "*** Secret('***')"  # noqa: UP031
    assert "pa55" not in repr([secret, {"k": secret}])
    assert secret.reveal() == "pa55-word-value"
    assert secret == Secret("pa55-word-value")
    assert secret != Secret("other-value")
    assert "pa55-word-value" in known_secret_values()


def test_secret_in_a_log_message_is_masked_by_formatting(
        caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO):
        logging.getLogger("t").info("password is %s", Secret("zz-top-secret"))
    assert "zz-top-secret" not in caplog.text
    assert "password is ***" in caplog.text


def test_env_file_syntax(tmp_path: Path) -> None:
    env = tmp_path / ".env"
    env.write_text(
        "# comment line\n"
        "\n"
        "TRADOVATE_NAME=alice\n"
        "export TRADOVATE_PASSWORD = \"p#ss \\\"quoted\\\" w\\\\x\"\n"
        "TRADOVATE_SEC='single # not a comment'\n"
        "TRADOVATE_CID=1234   # trailing comment\n"
        "ALERT_EMAIL_TO=a@example.test, b@example.test\n"
        "EMPTY=\n"
        "HASH_IN=abc#def\n"
    )
    assert parse_env_file(env) == {
        "TRADOVATE_NAME": "alice",
        "TRADOVATE_PASSWORD": 'p#ss "quoted" w\\x',
        "TRADOVATE_SEC": "single # not a comment",
        "TRADOVATE_CID": "1234",
        "ALERT_EMAIL_TO": "a@example.test, b@example.test",
        "EMPTY": "",
        "HASH_IN": "abc#def",
    }


@pytest.mark.parametrize("line", ["JUSTTEXT-secretvalue", 'K="unterminated secretvalue',
                                  "1BAD=secretvalue"])
def test_env_file_errors_name_the_line_but_not_its_content(tmp_path: Path, line: str) -> None:
    env = tmp_path / "x.env"
    env.write_text(f"OK=1\n{line}\n")
    with pytest.raises(ConfigError) as info:
        parse_env_file(env)
    assert str(info.value).startswith(f"{env}:2: expected KEY=VALUE")
    assert "secretvalue" not in str(info.value)


def test_a_byte_order_mark_does_not_break_the_first_key(tmp_path: Path) -> None:
    env = tmp_path / ".env"
    env.write_bytes(b"\xef\xbb\xbfTRADOVATE_NAME=alice\nTRADOVATE_CID=8\n")
    assert parse_env_file(env) == {"TRADOVATE_NAME": "alice", "TRADOVATE_CID": "8"}
    secrets = load_secrets(env, environ={})
    assert secrets.tradovate.name == "alice"


def test_environment_overrides_env_file(tmp_path: Path) -> None:
    env = tmp_path / ".env"
    env.write_text("TRADOVATE_NAME=from-file\nTRADOVATE_PASSWORD=file-password\n"
                   "SMTP_PORT=587\nTWILIO_TO_NUMBERS=+15550001,+15550002\n")
    secrets = load_secrets(env, environ={"TRADOVATE_NAME": "from-env", "PATH": "/bin"})
    assert secrets.tradovate.name == "from-env"
    assert secrets.tradovate.password is not None
    assert secrets.tradovate.password.reveal() == "file-password"
    assert secrets.smtp.port == 587
    assert secrets.twilio.to_numbers == ("+15550001", "+15550002")
    assert "file-password" not in repr(secrets)


def test_default_env_file_is_dot_env_in_the_working_directory(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert load_secrets(environ={}).tradovate.name is None
    (tmp_path / ".env").write_text("TRADOVATE_NAME=bob\n")
    assert load_secrets(environ={}).tradovate.name == "bob"
    with pytest.raises(ConfigError, match="cannot read the env file"):
        load_secrets(tmp_path / "missing.env", environ={})


def test_bad_smtp_port_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="SMTP_PORT: expected a TCP port number"):
        load_secrets(Path("/dev/null"), environ={"SMTP_PORT": "smtp"})


def test_missing_variables_depend_on_environment_and_channels() -> None:
    empty = load_secrets(Path("/dev/null"), environ={})
    assert empty.missing_for("sim", []) == []
    assert empty.missing_for("demo", ["log"]) == [
        "TRADOVATE_NAME", "TRADOVATE_PASSWORD", "TRADOVATE_CID", "TRADOVATE_SEC"]
    assert empty.missing_for("sim", ["sms", "email"]) == [
        "TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "TWILIO_FROM_NUMBER", "TWILIO_TO_NUMBERS",
        "SMTP_HOST", "ALERT_EMAIL_TO"]
    full = load_secrets(Path("/dev/null"), environ={
        "TRADOVATE_NAME": "a", "TRADOVATE_PASSWORD": "pw-12345", "TRADOVATE_CID": "8",
        "TRADOVATE_SEC": "sec-12345"})
    assert full.missing_for("live", []) == []


def test_masked_view_shows_every_variable_with_secrets_hidden() -> None:
    secrets = load_secrets(Path("/dev/null"), environ={
        "TRADOVATE_NAME": "alice", "TRADOVATE_PASSWORD": "pw-visible?", "TWILIO_AUTH_TOKEN":
        "tw-token-123", "ALERT_EMAIL_TO": "a@example.test"})
    shown = secrets.masked()
    assert shown["TRADOVATE_NAME"] == "alice"
    assert shown["TRADOVATE_PASSWORD"] == "***"
    assert shown["TWILIO_AUTH_TOKEN"] == "***"
    assert shown["SMTP_PASSWORD"] == "(not set)"
    assert shown["ALERT_EMAIL_TO"] == "a@example.test"
    assert "pw-visible?" not in repr(shown)


def run_config_check(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    from tradovate_api.cli import main

    code = main(["config", "check", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_config_check_prints_effective_configuration_with_secrets_masked(
        tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    settings = tmp_path / "settings.toml"
    settings.write_text('environment = "demo"\n[notifications]\nurgent = ["log"]\n'
                        'routine = ["log"]\n')
    env = tmp_path / "secrets.env"
    env.write_text("TRADOVATE_NAME=alice\nTRADOVATE_PASSWORD=cli-pass-4242\n"
                   "TRADOVATE_CID=8\nTRADOVATE_SEC=cli-sec-4242\n")
    for name in ("TRADOVATE_NAME", "TRADOVATE_PASSWORD", "TRADOVATE_CID", "TRADOVATE_SEC"):
        monkeypatch.delenv(name, raising=False)
    code, out, err = run_config_check(capsys, "--settings", str(settings), "--env-file", str(env))
    assert code == 0, err
    assert '"environment": "demo"' in out
    assert "rest=https://demo.tradovateapi.com/v1" in out
    assert "TRADOVATE_NAME=alice" in out
    assert "TRADOVATE_PASSWORD=***" in out
    assert "TRADOVATE_SEC=***" in out
    assert "cli-pass-4242" not in out + err
    assert "cli-sec-4242" not in out + err


def test_config_check_fails_clearly(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    settings = tmp_path / "settings.toml"
    settings.write_text("[risk]\nmax_position = -1\n")
    code, out, err = run_config_check(capsys, "--settings", str(settings),
                                      "--env-file", "/dev/null")
    assert code == 1
    assert out == ""
    assert err.strip() == f"configuration error: {settings}: risk.max_position: expected int >= 1"

    settings.write_text('environment = "live"\n')
    for name in ("TRADOVATE_NAME", "TRADOVATE_PASSWORD", "TRADOVATE_CID", "TRADOVATE_SEC",
                 "TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "TWILIO_FROM_NUMBER",
                 "TWILIO_TO_NUMBERS", "SMTP_HOST", "ALERT_EMAIL_TO"):
        monkeypatch.delenv(name, raising=False)
    code, _, err = run_config_check(capsys, "--settings", str(settings),
                                    "--env-file", "/dev/null")
    assert code == 1
    assert "required for environment 'live'" in err
    assert "TRADOVATE_PASSWORD" in err
    assert "TWILIO_AUTH_TOKEN" in err
