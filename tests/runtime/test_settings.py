"""Settings file loading: defaults, endpoints, path resolution, and errors naming the key;
numbers that make no sense (inf, nan, negative) refused at every float key; a byte order
mark accepted."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import msgspec.inspect as mi
import pytest

from tradovate_api.errors import ConfigError
from tradovate_api.settings import (
    DEFAULT_ENDPOINTS,
    Settings,
    load_settings,
    settings_from_mapping,
)

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "settings.toml"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "settings.toml"
    path.write_text(text)
    return path


def error_of(tmp_path: Path, text: str) -> str:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_settings(path)
    message = str(info.value)
    assert message.startswith(f"{path}: "), message
    return message[len(f"{path}: "):]


def test_example_file_is_valid_and_resolves_paths_next_to_it() -> None:
    settings = load_settings(EXAMPLE)
    assert settings.environment == "sim"
    assert settings.instruments == ("MESZ6",)
    assert settings.strategy["window_ms"] == 1000  # the reference strategy's parameters
    assert settings.journal.cancel_previous_orders is True
    assert settings.notifications.channels_for("report.periodic", urgent=False) == ("log",)
    assert settings.notifications.channels_for("auth.renewal_failed", urgent=True) == (
        "sms", "email")
    assert settings.log.path == str(EXAMPLE.parent / "logs" / "tradovate-api.jsonl")
    assert settings.auth.token_cache == str(EXAMPLE.parent / "state" / "token.json")
    assert settings.risk.kill_switch_file == str(EXAMPLE.parent / "KILL")


def test_empty_file_gives_documented_defaults(tmp_path: Path) -> None:
    settings = load_settings(write(tmp_path, ""))
    assert settings.environment == "sim"
    assert settings.auth.renewal_margin_seconds == 900.0
    assert settings.shutdown.cancel_entries is True
    assert settings.shutdown.flatten is False
    assert (settings.reconnect.breaker_failures, settings.reconnect.breaker_window_seconds,
            settings.reconnect.healthy_after_seconds) == (15, 600.0, 10.0)
    assert settings.endpoints() is None  # the embedded simulator provides its own
    assert settings.waits_for_open is False
    assert settings.log.path == str(tmp_path / "logs" / "tradovate-api.jsonl")


def test_demo_and_live_default_endpoints(tmp_path: Path) -> None:
    demo = load_settings(write(tmp_path, 'environment = "demo"\n'))
    assert demo.endpoints() == DEFAULT_ENDPOINTS["demo"]
    assert demo.endpoints().rest == "https://demo.tradovateapi.com/v1"  # type: ignore[union-attr]
    assert demo.waits_for_open is True
    live = load_settings(write(tmp_path, 'environment = "live"\n'))
    endpoints = live.endpoints()
    assert endpoints is not None
    assert endpoints.trading_ws == "wss://live.tradovateapi.com/v1/websocket"
    assert endpoints.md_ws == "wss://md.tradovateapi.com/v1/websocket"


def test_rest_override_derives_websocket_urls(tmp_path: Path) -> None:
    settings = load_settings(write(tmp_path, 'environment = "sim"\n[urls]\n'
                                             'rest = "http://127.0.0.1:8123/v1"\n'))
    endpoints = settings.endpoints()
    assert endpoints is not None
    assert endpoints.rest == "http://127.0.0.1:8123/v1"
    assert endpoints.trading_ws == "ws://127.0.0.1:8123/v1/websocket"
    assert endpoints.md_ws == "ws://127.0.0.1:8123/v1/websocket"
    only_md = load_settings(write(tmp_path, 'environment = "demo"\n[urls]\n'
                                            'md_ws = "wss://md.example.test/v1/websocket"\n'))
    assert only_md.endpoints() == DEFAULT_ENDPOINTS["demo"].__class__(
        "https://demo.tradovateapi.com/v1", "wss://demo.tradovateapi.com/v1/websocket",
        "wss://md.example.test/v1/websocket")


@pytest.mark.parametrize(("text", "expected"), [
    ('[risk]\nmax_position = "2"\n', "risk.max_position: expected int, got str"),
    ("[risk]\nmax_postion = 2\n", "risk.max_postion: unknown key (misspelt?)"),
    ("[risk]\nmax_position = 0\n", "risk.max_position: expected int >= 1"),
    ('environment = "paper"\n', "environment: invalid enum value 'paper'"),
    ("instrumnets = []\n", "instrumnets: unknown key (misspelt?)"),
    ('instruments = ["ESZ6", 5]\n', "instruments[1]: expected str, got int"),
    ('instruments = ["ESZ6", "ESZ6"]\n', "instruments: listed more than once"),
    ('[risk.trading_hours]\nstart = "08:30"\n',
     "risk.trading_hours.end: required key missing"),
    ('[risk.trading_hours]\nstart = "25:00"\nend = "15:00"\n',
     "risk.trading_hours.start: expected a time as \"HH:MM\", got '25:00'"),
    ('[notifications]\nquiet_hours = {start = "22:00", end = "07:00", timezone = "Mars/Base"}\n',
     "notifications.quiet_hours.timezone: unknown time zone 'Mars/Base'"),
    ('[notifications.routes]\n"auth.renewal_failed" = ["pager"]\n',
     "notifications.routes.auth.renewal_failed[0]: unknown channel 'pager' "
     "(expected one of sms, email, webhook, log)"),
    ("[reconnect]\ninitial_backoff_seconds = 10\nmax_backoff_seconds = 1\n",
     "reconnect.max_backoff_seconds: must not be less than initial_backoff_seconds"),
    ('[urls]\nrest = "ftp://x"\n',
     "urls.rest: expected a URL starting with http:// or https://, got 'ftp://x'"),
    ("[log]\nlevel = 3\n", "log.level: expected str, got int"),
])
def test_errors_name_the_key_path_and_the_file(tmp_path: Path, text: str, expected: str) -> None:
    assert error_of(tmp_path, text) == expected


@pytest.mark.parametrize(("text", "key", "variable"), [
    ('[auth]\npassword = "hunter2"\n', "auth.password", "TRADOVATE_PASSWORD"),
    ('sec = "abc"\n', "sec", "TRADOVATE_SEC"),
    ('[notifications]\ntwilio_auth_token = "x"\n', "notifications.twilio_auth_token",
     "the matching environment variable"),
    ('[strategy]\napi_key = "x"\n', "strategy.api_key", "TRADOVATE_SEC"),
])
def test_secrets_in_the_file_are_rejected_without_echoing_them(
        tmp_path: Path, text: str, key: str, variable: str) -> None:
    message = error_of(tmp_path, text)
    assert message.startswith(f"{key}: looks like a secret")
    assert variable in message
    assert "environment" in message
    assert "hunter2" not in message


def test_toml_syntax_error_and_missing_file(tmp_path: Path) -> None:
    assert error_of(tmp_path, "[risk\n").startswith("not valid TOML:")
    missing = tmp_path / "nope.toml"
    with pytest.raises(ConfigError, match=r"nope\.toml: cannot read the settings file"):
        load_settings(missing)


def test_trading_hours_window_including_wrap_past_midnight(tmp_path: Path) -> None:
    settings = load_settings(write(tmp_path, (
        '[risk.trading_hours]\nstart = "08:30"\nend = "15:00"\n'
        '[notifications.quiet_hours]\nstart = "22:00"\nend = "07:00"\n'
        'timezone = "America/New_York"\n')))
    hours = settings.risk.trading_hours
    assert hours is not None
    # 2026-07-06 is a Monday; Chicago is UTC-5 in July.
    assert hours.contains(datetime(2026, 7, 6, 13, 30, tzinfo=UTC))       # 08:30 CDT
    assert not hours.contains(datetime(2026, 7, 6, 13, 29, tzinfo=UTC))   # 08:29 CDT
    assert not hours.contains(datetime(2026, 7, 6, 20, 0, tzinfo=UTC))    # 15:00 CDT
    quiet = settings.notifications.quiet_hours
    assert quiet is not None
    assert quiet.contains(datetime(2026, 7, 7, 3, 0, tzinfo=UTC))         # 23:00 EDT
    assert quiet.contains(datetime(2026, 7, 7, 10, 59, tzinfo=UTC))       # 06:59 EDT
    assert not quiet.contains(datetime(2026, 7, 7, 11, 0, tzinfo=UTC))    # 07:00 EDT


def test_settings_are_frozen(tmp_path: Path) -> None:
    settings = load_settings(write(tmp_path, ""))
    assert isinstance(settings, Settings)
    with pytest.raises(AttributeError):
        settings.environment = "live"  # type: ignore[misc]


# ---------------------------------------------------------------------- numbers that make no sense


def _float_keys(cls: type, prefix: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], bool]]:
    """Every float key of the settings (by introspection, so a key added later is covered
    too): (path, whether it is a table of floats such as commission_per_side)."""
    found: list[tuple[tuple[str, ...], bool]] = []
    for field in mi.type_info(cls).fields:  # type: ignore[union-attr]
        kinds = field.type.types if isinstance(field.type, mi.UnionType) else (field.type,)
        for kind in kinds:
            if isinstance(kind, mi.FloatType):
                found.append(((*prefix, field.name), False))
            elif isinstance(kind, mi.DictType) and isinstance(kind.value_type, mi.FloatType):
                found.append(((*prefix, field.name), True))
            elif isinstance(kind, mi.StructType):
                found.extend(_float_keys(kind.cls, (*prefix, field.name)))
    return found


FLOAT_KEYS = _float_keys(Settings)


def _table(path: tuple[str, ...], table_of_floats: bool, value: float) -> dict[str, Any]:
    leaf: Any = {"ES": value} if table_of_floats else value
    for key in reversed(path):
        leaf = {key: leaf}
    result: dict[str, Any] = leaf
    return result


def test_the_float_keys_are_all_found() -> None:
    keys = {".".join(path) for path, _ in FLOAT_KEYS}
    assert {"risk.max_daily_loss", "risk.max_orders_per_second", "reconnect.jitter",
            "trading.commission_per_side", "recording.rotate_megabytes"} <= keys
    assert len(keys) >= 25


@pytest.mark.parametrize("value", [math.inf, -math.inf, math.nan, -1.0],
                         ids=["inf", "-inf", "nan", "negative"])
@pytest.mark.parametrize(("path", "table_of_floats"), FLOAT_KEYS,
                         ids=[".".join(p) for p, _ in FLOAT_KEYS])
def test_every_float_key_refuses_infinite_nan_and_negative_values(
        path: tuple[str, ...], table_of_floats: bool, value: float) -> None:
    raw = _table(path, table_of_floats, value)
    with pytest.raises(ConfigError) as info:
        settings_from_mapping(raw)
    message = str(info.value)
    assert message.startswith(".".join(path)), message  # the key is named
    assert "\n" not in message


def test_max_daily_loss_of_inf_is_refused_naming_the_key(tmp_path: Path) -> None:
    assert error_of(tmp_path, "[risk]\nmax_daily_loss = inf\n") == (
        "risk.max_daily_loss: must be a finite number, got inf (for no practical limit, give "
        "a large number)")
    assert error_of(tmp_path, "[risk]\nmax_daily_loss = nan\n").startswith(
        "risk.max_daily_loss: must be a finite number, got nan")
    assert error_of(tmp_path, "[risk]\nmax_daily_loss = -500\n") == (
        "risk.max_daily_loss: expected float > 0.0")


def test_non_finite_numbers_are_refused_in_the_strategy_table_too(tmp_path: Path) -> None:
    assert error_of(tmp_path, "[strategy]\nthreshold = inf\n").startswith(
        "strategy.threshold: must be a finite number")
    assert error_of(tmp_path, "[strategy]\nlevels = [1.0, nan]\n").startswith(
        "strategy.levels[1]: must be a finite number")


def test_a_byte_order_mark_at_the_start_of_the_file_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "settings.toml"
    path.write_bytes(b"\xef\xbb\xbf" + b'environment = "demo"\n[risk]\nmax_position = 2\n')
    settings = load_settings(path)
    assert settings.environment == "demo"
    assert settings.risk.max_position == 2


@pytest.mark.parametrize("value", [True, False])
def test_the_old_cancel_working_orders_key_still_loads_as_cancel_entries(
        tmp_path: Path, value: bool) -> None:
    text = f"[shutdown]\ncancel_working_orders = {str(value).lower()}\n"
    assert load_settings(write(tmp_path, text)).shutdown.cancel_entries is value
    same = text + f"cancel_entries = {str(value).lower()}\n"
    assert load_settings(write(tmp_path, same)).shutdown.cancel_entries is value


def test_the_old_and_the_new_shutdown_key_set_differently_is_an_error(tmp_path: Path) -> None:
    text = "[shutdown]\ncancel_working_orders = false\ncancel_entries = true\n"
    with pytest.raises(ConfigError, match=r"shutdown\.cancel_working_orders: old name of "
                                          r"shutdown\.cancel_entries"):
        load_settings(write(tmp_path, text))
