"""Fuzzing the configuration inputs: the settings loader (arbitrary TOML-shaped tables and
mutated valid files), the strategy parameters, the simulator config, the ``.env`` parser and
the secrets mapping. The only failure any of them may report is :class:`ConfigError`, an
error never echoes a secret, and accepted settings hold only finite numbers."""

from __future__ import annotations

import math
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import msgspec
import pytest
from fuzz_strategies import mutated_bytes
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tradovate_api.errors import ConfigError
from tradovate_api.secrets import (
    ALL_VARIABLES,
    SECRET_VARIABLES,
    Secrets,
    load_secrets,
    parse_env_file,
    secrets_from_mapping,
)
from tradovate_api.settings import Settings, load_settings, settings_from_mapping
from tradovate_api.simulator import SimulatorConfig
from tradovate_api.simulator.config import config_from_mapping
from tradovate_api.strategies import ReferenceParams, ReferenceStrategy
from tradovate_api.strategy import strategy_params

FUZZ = settings(max_examples=300, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                       HealthCheck.function_scoped_fixture])
EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "settings.toml"
EXAMPLE_TABLE = tomllib.loads(EXAMPLE.read_text())

# Keys of every settings section, so generated tables often hit real fields.
_KEYS = sorted({name for cls in (Settings, *{type(v) for v in msgspec.structs.asdict(
    Settings()).values() if isinstance(v, msgspec.Struct)})
    for name in cls.__struct_fields__} | {"start", "end", "timezone", "trading_hours",
                                          "quiet_hours", "routes", "password", "api_token"})
_toml_scalars = st.one_of(
    st.text(max_size=12), st.integers(-(2**63), 2**63 - 1), st.floats(), st.booleans(),
    st.datetimes(), st.dates(), st.times(),
    st.sampled_from(["sim", "demo", "live", "INFO", "sms", "email", "log", "09:30", "25:00",
                     "America/Chicago", "Mars/Olympus", "a" * 300, "\x00", "../../etc/passwd",
                     "http://example.test/v1", "wss://x.test/v1/websocket", "ws://10.0.0.1/ws",
                     ""]))
_toml_values = st.recursive(
    _toml_scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(
        st.sampled_from(_KEYS) | st.text(max_size=8), inner, max_size=4),
    max_leaves=15)
_tables = st.dictionaries(st.sampled_from(_KEYS) | st.text(max_size=8), _toml_values,
                          max_size=6)


def _edit_table(draw: st.DrawFn, table: dict[str, Any]) -> dict[str, Any]:
    """The example table with one section's key replaced, removed or added."""
    table = {k: dict(v) if isinstance(v, dict) else v for k, v in table.items()}
    section = draw(st.sampled_from(sorted(table)))
    target = table[section] if isinstance(table[section], dict) else table
    key = draw(st.sampled_from(sorted(target) or ["x"]) | st.sampled_from(_KEYS))
    if draw(st.booleans()) and key in target:
        del target[key]
    else:
        target[key] = draw(_toml_values)
    return table


@st.composite
def _edited_example(draw: st.DrawFn) -> dict[str, Any]:
    return _edit_table(draw, EXAMPLE_TABLE)


def outcome(call: Callable[[], Any]) -> Any:
    """What ``call`` returns, or the :class:`ConfigError` it raised (anything else
    propagates and fails the test)."""
    try:
        return call()
    except ConfigError as exc:
        return exc


def _settings_or_config_error(table: Any, base_dir: Path | None = None) -> None:
    result = outcome(lambda: settings_from_mapping(table, base_dir))
    if isinstance(result, ConfigError):
        assert str(result), "a ConfigError must say what is wrong"
        return
    assert isinstance(result, Settings)
    result.endpoints()  # derived values of an accepted file work too
    assert all(math.isfinite(x) for x in _floats(msgspec.to_builtins(result))), \
        "accepted settings hold inf or nan"


def _floats(value: Any) -> list[float]:
    if isinstance(value, float):
        return [value]
    if isinstance(value, dict):
        return [x for item in value.values() for x in _floats(item)]
    if isinstance(value, list | tuple):
        return [x for item in value for x in _floats(item)]
    return []


@FUZZ
@given(table=_tables | _edited_example())
def test_settings_tables_load_or_fail_with_config_error(table: dict[str, Any],
                                                        tmp_path: Path) -> None:
    _settings_or_config_error(table)
    _settings_or_config_error(table, tmp_path)


@FUZZ
@given(data=st.data())
def test_mutated_settings_files_load_or_fail_with_config_error(data: st.DataObject,
                                                               tmp_path: Path) -> None:
    path = tmp_path / "settings.toml"
    path.write_bytes(data.draw(mutated_bytes(EXAMPLE.read_bytes(), max_edits=6)))
    result = outcome(lambda: load_settings(path))
    if isinstance(result, ConfigError):
        assert str(path) in str(result), "file errors name the file"
        return
    assert isinstance(result, Settings)


_PARAM_KEYS = sorted(ReferenceParams.__struct_fields__)


@FUZZ
@given(table=st.dictionaries(st.sampled_from(_PARAM_KEYS) | st.text(max_size=8), _toml_values,
                             max_size=5))
def test_strategy_tables_give_typed_params_or_a_config_error(table: dict[str, Any]) -> None:
    result = outcome(lambda: strategy_params(ReferenceStrategy, table))
    if isinstance(result, ConfigError):
        assert str(result).startswith("strategy"), str(result)
        assert "\n" not in str(result)
        return
    assert isinstance(result, ReferenceParams)
    assert all(math.isfinite(x) for x in _floats(msgspec.to_builtins(result)))


@FUZZ
@given(table=_tables)
def test_simulator_config_tables_load_or_fail_with_config_error(table: dict[str, Any]) -> None:
    assert isinstance(outcome(lambda: config_from_mapping(table)),
                      SimulatorConfig | ConfigError)


# ------------------------------------------------------------------------ secrets

MARKER = "fz\u00a7"
"""Every generated secret value carries this, so the values the secrets module registers for
log masking can never collide with ordinary log text of other tests."""
_secret_values = st.text(max_size=20).map(lambda t: MARKER + t)
_line_junk = st.text(max_size=30) | st.sampled_from([
    "=", "KEY", "export", "export X", "X='unclosed", 'X="unclosed', 'X="a\\', "1X=2",
    "# comment", "   ", "X=a # comment", "X='a'b", "\ufeffX=1", "X\u2028=1"])


@FUZZ
@given(lines=st.lists(st.tuples(st.sampled_from(ALL_VARIABLES), _secret_values) | _line_junk,
                      max_size=8))
def test_env_file_parses_or_fails_without_echoing_values(lines: list[Any],
                                                         tmp_path: Path) -> None:
    path = tmp_path / ".env"
    text = "\n".join(f"{item[0]}={item[1]}" if isinstance(item, tuple) else item
                     for item in lines)
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    values = outcome(lambda: parse_env_file(path))
    if isinstance(values, ConfigError):
        assert MARKER not in str(values), "an env file error echoed a value"
        return
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in values.items())


def _double_quoted(value: str) -> str:
    escaped = (value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
               .replace("\r", "\\r").replace("\t", "\\t"))
    return f'"{escaped}"'


@FUZZ
@given(values=st.dictionaries(st.from_regex(r"\A[A-Z_][A-Z0-9_]{0,12}\Z"),
                              st.text(st.characters(exclude_categories=["Cs"]), max_size=20),
                              max_size=6),
       quoting=st.sampled_from(["double", "single"]))
def test_quoted_env_values_round_trip_exactly(values: dict[str, str], quoting: str,
                                              tmp_path: Path) -> None:
    """Any value (line separators, quotes, ``#``, backslashes, Unicode) written quoted
    comes back exactly — a password must never be silently altered."""
    if quoting == "single":
        values = {k: v for k, v in values.items() if not {"'", "\n", "\r"} & set(v)}
        lines = [f"{k}='{v}'" for k, v in values.items()]
    else:
        lines = [f"{k}={_double_quoted(v)}" for k, v in values.items()]
    path = tmp_path / ".env"
    path.write_text("\n".join(lines), encoding="utf-8")
    assert parse_env_file(path) == values


@FUZZ
@given(values=st.dictionaries(st.sampled_from(ALL_VARIABLES), st.text(max_size=12)
                              | st.sampled_from(["25", "0", "65536", "²", "١٢", "-1", " 587 ",
                                                 "5e2", "0x19"]),
                              max_size=8))
def test_secrets_mapping_builds_or_fails_with_config_error(values: dict[str, str]) -> None:
    values = {k: (MARKER + v if k in SECRET_VARIABLES else v) for k, v in values.items()}
    result = outcome(lambda: secrets_from_mapping(values))
    if isinstance(result, ConfigError):
        assert MARKER not in str(result)
        return
    assert isinstance(result, Secrets)
    port = result.smtp.port
    assert port is None or 0 < port < 65536
    shown = repr(result) + str(result.masked())
    assert MARKER not in shown, "a secret value was shown"


@pytest.mark.parametrize("port", ["²", "١٢", "0", "65536", "-1", "5e2"])
def test_a_port_that_is_not_ascii_digits_in_range_is_a_config_error(port: str,
                                                                    tmp_path: Path) -> None:
    env = tmp_path / ".env"
    env.write_text("")
    with pytest.raises(ConfigError, match="SMTP_PORT"):
        load_secrets(env, environ={"SMTP_PORT": port})


# ------------------------------------------------------------------------ found by fuzzing

def test_a_settings_file_that_is_not_utf8_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "settings.toml"
    path.write_bytes(b'\x80environment = "sim"\n')
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_settings(path)


def test_an_absurdly_long_time_zone_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="unknown time zone"):
        settings_from_mapping({"risk": {"trading_hours": {"start": "08:30", "end": "15:00",
                                                          "timezone": "a" * 300}}})


@pytest.mark.parametrize("separator", ["\x85", "\u2028", "\x0c", "\x1e"])
def test_a_quoted_value_keeps_unicode_line_separators(separator: str, tmp_path: Path) -> None:
    path = tmp_path / ".env"
    path.write_text(f'TRADOVATE_PASSWORD="a{separator}b"\n', encoding="utf-8")
    assert parse_env_file(path) == {"TRADOVATE_PASSWORD": f"a{separator}b"}
