"""Who may use the dashboard: the token check, the bind rule, the settings of the section."""

from __future__ import annotations

from pathlib import Path

import pytest

from tradovate_api.dashboard import check_bind, make_access
from tradovate_api.errors import ConfigError
from tradovate_api.secrets import Secret, known_secret_values, load_secrets
from tradovate_api.settings import DashboardSettings, settings_from_mapping

FIXED = Secret("a-fixed-token-of-some-length")


def test_the_token_is_required_exactly() -> None:
    access = make_access(DashboardSettings(), FIXED)
    assert access.allows("a-fixed-token-of-some-length")
    for wrong in (None, "", "a-fixed-token-of-some-lengtH", "a-fixed-token-of-some-length "):
        assert not access.allows(wrong)


def test_a_random_token_per_run_registered_with_the_log_redaction() -> None:
    first = make_access(DashboardSettings(), None)
    second = make_access(DashboardSettings(), None)
    token = first.token.reveal()
    assert len(token) >= 40
    assert token != second.token.reveal()
    assert token in known_secret_values()
    assert str(first.token) == "***"
    assert first.tls is None


def test_loopback_binds_need_no_fixed_token() -> None:
    for host in ("127.0.0.1", "localhost", "::1"):
        check_bind(DashboardSettings(host=host), None)


def test_a_non_loopback_bind_without_a_fixed_token_and_tls_is_refused_in_one_line() -> None:
    with pytest.raises(ConfigError) as caught:
        make_access(DashboardSettings(host="0.0.0.0"), None)
    message = str(caught.value)
    assert "\n" not in message
    assert "DASHBOARD_TOKEN" in message
    assert "TLS" in message
    with pytest.raises(ConfigError, match=r"needs TLS \(dashboard.cert_file"):
        make_access(DashboardSettings(host="192.168.1.5"), FIXED)
    with pytest.raises(ConfigError, match=r"needs a fixed token \(DASHBOARD_TOKEN\)$"):
        check_bind(DashboardSettings(host="192.168.1.5", cert_file="c.pem", key_file="k.pem"),
                   None)


def test_a_non_loopback_bind_with_a_fixed_token_and_tls_is_served(tmp_path: Path) -> None:
    trustme = pytest.importorskip("trustme")
    ca = trustme.CA()
    cert = ca.issue_cert("dashboard.example")
    cert.private_key_and_cert_chain_pem.write_to_path(str(tmp_path / "chain.pem"))
    settings = DashboardSettings(host="0.0.0.0", cert_file=str(tmp_path / "chain.pem"),
                                 key_file=str(tmp_path / "chain.pem"))
    access = make_access(settings, FIXED)
    assert access.tls is not None


def test_an_unreadable_certificate_is_a_config_error(tmp_path: Path) -> None:
    settings = DashboardSettings(cert_file=str(tmp_path / "missing.pem"),
                                 key_file=str(tmp_path / "missing.pem"))
    with pytest.raises(ConfigError, match="cannot load the TLS certificate"):
        make_access(settings, None)


def test_a_short_fixed_token_is_refused() -> None:
    with pytest.raises(ConfigError, match="DASHBOARD_TOKEN: too short"):
        check_bind(DashboardSettings(), Secret("short-one"))


def test_the_fixed_token_comes_from_the_environment_never_the_settings_file() -> None:
    secrets = load_secrets(environ={"DASHBOARD_TOKEN": "from-the-environment-123"})
    assert secrets.dashboard.token is not None
    assert secrets.masked()["DASHBOARD_TOKEN"] == "***"
    with pytest.raises(ConfigError, match=r"dashboard\.token: looks like a secret"):
        settings_from_mapping({"dashboard": {"token": "x" * 20}})


def test_the_section_checks_its_tls_pair_and_resolves_paths(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cert_file, key_file: give both"):
        settings_from_mapping({"dashboard": {"cert_file": "c.pem"}})
    settings = settings_from_mapping({"dashboard": {"cert_file": "c.pem", "key_file": "k.pem"}},
                                     tmp_path)
    assert settings.dashboard.cert_file == str(tmp_path / "c.pem")
    assert settings.dashboard.address_file == str(tmp_path / "state" / "dashboard.json")
    assert settings_from_mapping({}).dashboard.host == "127.0.0.1"
