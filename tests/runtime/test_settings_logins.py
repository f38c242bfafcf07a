"""``[[logins]]``: accounts under several logins. Each login's credentials come from its own
variables (never the settings file), are masked like the primary's, and are required off the
simulator; every mistake is one line from both ``config check`` and ``run``, before anything
connects."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from settings_refusal import both_refuse

from tradovate_api.auth.manager import login_cache_path
from tradovate_api.cli import main
from tradovate_api.logwriter import RedactionFilter
from tradovate_api.secrets import ALL_VARIABLES, MASK, load_secrets
from tradovate_api.settings import load_settings

REFERENCE = "tradovate_api.strategies.reference:ReferenceStrategy"
GOOD = f"""
instruments = ["ESZ6", "NQZ6"]

[[logins]]
name = "beta"

[[accounts]]
name = "EVAL1"

[[accounts]]
name = "FUNDED"
login = "beta"

[[strategies]]
name = "fast"
class = "{REFERENCE}"
accounts = ["EVAL1", "FUNDED"]
symbols = ["ESZ6"]
"""


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ALL_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)


def _write(tmp_path: Path, text: str, env: str = "") -> Path:
    path = tmp_path / "settings.toml"
    path.write_text(text, encoding="utf-8")
    (tmp_path / "secrets.env").write_text(env, encoding="utf-8")
    return path


def test_accounts_name_their_login(tmp_path: Path) -> None:
    settings = load_settings(_write(tmp_path, GOOD))
    (beta,) = settings.logins
    assert beta.variables_prefix == "TRADOVATE_BETA_"
    first, funded = settings.account_list()
    assert settings.login_of(first) is None
    assert settings.login_of(funded) == beta
    assert login_cache_path("state/token.json", "beta") == Path("state/token.beta.json")


def test_each_logins_credentials_come_from_its_own_variables_and_are_masked(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    env = tmp_path / "secrets.env"
    env.write_text("TRADOVATE_NAME=alice\nTRADOVATE_PASSWORD=alice-secret-1\n"
                   "TRADOVATE_BETA_NAME=bob\nTRADOVATE_BETA_PASSWORD=bob-secret-22\n"
                   "TRADOVATE_BETA_CID=9\n", encoding="utf-8")
    monkeypatch.setenv("TRADOVATE_BETA_SEC", "bob-app-secret-333")
    secrets = load_secrets(env, login_prefixes=["TRADOVATE_BETA_"])
    beta = secrets.logins["TRADOVATE_BETA_"]
    assert (secrets.tradovate.name, beta.name, beta.cid) == ("alice", "bob", "9")
    assert beta.password is not None
    assert beta.password.reveal() == "bob-secret-22"
    assert beta.sec is not None
    assert beta.sec.reveal() == "bob-app-secret-333"  # the environment, over the file
    shown = secrets.masked()
    assert (shown["TRADOVATE_BETA_NAME"], shown["TRADOVATE_BETA_PASSWORD"],
            shown["TRADOVATE_BETA_SEC"]) == ("bob", MASK, MASK)
    assert shown["TRADOVATE_BETA_DEVICE_ID"] == "(not set)"
    record = logging.LogRecord("x", logging.INFO, __file__, 1,
                               "logged in with bob-secret-22 and bob-app-secret-333", (), None)
    RedactionFilter().filter(record)
    assert record.getMessage() == f"logged in with {MASK} and {MASK}"
    assert secrets.missing_for("demo", ()) == ["TRADOVATE_CID", "TRADOVATE_SEC"]
    bare = load_secrets(env, environ={}, login_prefixes=["TRADOVATE_BETA_"])
    assert bare.missing_for("demo", ()) == ["TRADOVATE_CID", "TRADOVATE_SEC",
                                            "TRADOVATE_BETA_SEC"]


@pytest.mark.parametrize(("change", "expected"), [
    (lambda t: t.replace('login = "beta"', 'login = "gamma"'),
     "accounts[1].login: 'gamma' is not in [[logins]] (beta)"),
    (lambda t: t.replace('[[logins]]\nname = "beta"\n',
                         '[[logins]]\nname = "beta"\n[[logins]]\nname = "beta"\n'),
     "logins[1].name: login 'beta' listed twice"),
    (lambda t: t.replace('[[logins]]\nname = "beta"\n',
                         '[[logins]]\nname = "beta"\n[[logins]]\nname = "gamma"\n'),
     "logins[1]: login 'gamma' has no account in [[accounts]]"),
    (lambda t: t.replace('name = "beta"\n', 'name = "beta"\nenv_prefix = "TRADOVATE_"\n'),
     "logins[0].env_prefix: the prefix TRADOVATE_ is the primary login's"),
    (lambda t: t.replace('name = "beta"\n', 'name = "beta"\nenv_prefix = "beta"\n'),
     "logins[0].env_prefix: 'beta' is not a variable name prefix"),
    (lambda t: t.replace('name = "beta"\n', 'name = "be ta"\n'),
     "logins[0].name: 'be ta' is not a login name"),
    (lambda t: t + '\n[copier]\nleader = "FUNDED"\nfollowers = [{ account = "F1" }]\n',
     "copier: account 'FUNDED' is under login 'beta'; the copier's leader and followers are "
     "accounts of the primary login"),
])
def test_mistakes_are_one_line_from_config_check_and_run(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], change: object,
        expected: str) -> None:
    assert callable(change)
    assert expected in both_refuse(tmp_path, capsys, change(GOOD))


def test_a_login_without_its_credentials_is_refused_off_the_simulator(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _write(tmp_path, 'environment = "demo"\n' + GOOD,
                  env="TRADOVATE_NAME=a\nTRADOVATE_PASSWORD=pw-a1\nTRADOVATE_CID=1\n"
                      "TRADOVATE_SEC=sec-a1\nTRADOVATE_BETA_NAME=b\n")
    for command in (["config", "check"], ["run", "--duration", "1"]):
        code = main([*command, "--settings", str(path), "--env-file",
                     str(tmp_path / "secrets.env")])
        err = capsys.readouterr().err
        assert code == 1, command
        assert ("TRADOVATE_BETA_PASSWORD, TRADOVATE_BETA_CID, TRADOVATE_BETA_SEC "
                "(see docs/configuration.md)") in err, err
