"""``tradovate-api sim`` options that override the simulator config are checked like the config
file: a value the config refuses is a one-line error naming the option, and nothing starts."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tradovate_api.errors import ConfigError
from tradovate_api.simulator import SimulatorConfig
from tradovate_api.simulator.config import config_from_mapping, with_overrides


@pytest.mark.parametrize(("options", "error"), [
    (["--steps-per-tick", "-3"], "--steps-per-tick: expected int >= 1"),
    (["--tick-interval", "-0.5"], "--tick-interval: expected float >= 0.0"),
    (["--max-sessions", "0"], "--max-sessions: expected int >= 1"),
    (["--warm-up", "inf"], "--warm-up: must be a finite number, got inf"),
    (["--replay", "recording", "--replay-speed", "inf"],
     "--replay-speed: must be a finite number, got inf"),
])
def test_an_override_the_config_refuses_is_a_one_line_error(options: list[str],
                                                            error: str) -> None:
    try:
        done = subprocess.run(
            [sys.executable, "-m", "tradovate_api.cli", "sim", "--port", "0", "--md-port", "0",
             *options], capture_output=True, text=True, timeout=30, check=False)
    except subprocess.TimeoutExpired:
        pytest.fail(f"sim {' '.join(options)} started instead of refusing the value")
    assert done.returncode == 1
    assert done.stderr.startswith(error)
    assert done.stderr.count("\n") == 1
    assert done.stdout == ""  # no server was started


def test_overrides_are_validated_like_the_config_file() -> None:
    config = config_from_mapping({"seed": 7, "users": [{"name": "alice", "password": "x"}],
                                  "faults": [{"name": "lost_answer", "count": 2}]})
    assert with_overrides(config, {}) == config
    assert with_overrides(config, {"steps_per_tick": 3}) == SimulatorConfig(
        **{**{f: getattr(config, f) for f in config.__struct_fields__}, "steps_per_tick": 3})
    with pytest.raises(ConfigError, match=r"^steps_per_tick: expected int >= 1$"):
        with_overrides(config, {"steps_per_tick": -3})
    with pytest.raises(ConfigError, match=r"^warm_up: must be a finite number, got inf"):
        config_from_mapping({"warm_up": float("inf")})  # (TOML allows inf)
