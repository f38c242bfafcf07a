"""The fault registry: every fault named and documented, armed with checked parameters, drawn
from seeded random sources, counted when it fires; the older switches still work."""

from __future__ import annotations

import asyncio
import re

import pytest

from tradovate_api.cli import main
from tradovate_api.errors import ConfigError
from tradovate_api.simulator import Faults
from tradovate_api.simulator.config import config_from_mapping
from tradovate_api.simulator.fault_catalog import (
    FAULTS,
    ORDER_ENDPOINTS,
    describe_faults,
    fault_params,
    parse_fault_option,
)
from tradovate_api.simulator.faults import SocketKind


class Target:
    """Records what the actions asked the simulator to do."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    async def close_connections(self, kind: SocketKind, frames: list[bytes], *,
                                abort: bool) -> int:
        self.calls.append(f"close {kind} abort={abort}")
        return 1

    def expire_tokens(self) -> int:
        self.calls.append("expire")
        return 1

    async def restart(self) -> None:
        self.calls.append("restart")

    def roll_trade_date(self) -> None:
        self.calls.append("roll")


def faults(seed: int = 1, fault_seed: int = 0) -> Faults:
    return Faults(Target(), lambda: 1_000.0, seed=seed, fault_seed=fault_seed)


def test_every_fault_says_what_it_models_with_a_section_and_has_usable_defaults() -> None:
    assert len(FAULTS) >= 20
    for name, spec in FAULTS.items():
        assert spec.name == name
        assert re.search(r"§\d", spec.models), name
        assert spec.does, name
        assert fault_params(spec, {}) == {p.name: p.default for p in spec.params}
    listing = describe_faults()
    for name in FAULTS:
        assert f"{name}  [" in listing


def test_firing_is_reproducible_from_the_seeds() -> None:
    def draws(seed: int, fault_seed: int) -> list[bool]:
        f = faults(seed, fault_seed)
        f.arm("lost_answer", probability=0.3)
        return [f.fire("lost_answer", "order/placeorder") is not None for _ in range(200)]

    first = draws(5, 0)
    assert first == draws(5, 0)
    assert 30 < sum(first) < 90  # about 30 %
    assert first != draws(5, 1)  # the fault seed changes the draws
    assert first != draws(6, 0)  # so does the simulator seed


def test_count_endpoints_and_fired() -> None:
    f = faults()
    f.arm("error_after_execution", count=2, endpoints=["order/cancelorder"])
    assert f.fire("error_after_execution", "order/placeorder") is None
    assert f.fire("error_after_execution", "order/cancelorder") is not None
    assert f.fire("error_after_execution", "order/cancelorder") is not None
    assert f.fire("error_after_execution", "order/cancelorder") is None  # used up
    assert not f.is_armed("error_after_execution")
    assert f.fired["error_after_execution"] == 2
    f.arm("late_execution")
    assert f.armed["late_execution"].endpoints == ORDER_ENDPOINTS
    assert f.fire("late_execution", "account/list") is None
    assert f.disarm("late_execution") is True
    assert f.disarm("late_execution") is False


@pytest.mark.parametrize(("call", "message"), [
    (lambda f: f.arm("nope"), "unknown fault 'nope'"),
    (lambda f: f.arm("lost_answer", bogus=1), "unknown parameter 'bogus'"),
    (lambda f: f.arm("lost_answer", probability=1.5), "probability must be between 0 and 1"),
    (lambda f: f.arm("lost_answer", count=0), "count must be at least 1"),
    (lambda f: f.arm("duplicate_events", endpoints=["x"]), "only request faults"),
    (lambda f: f.arm("silent", probability=0.5), "a switch is on or off"),
    (lambda f: f.arm("late_execution", min_delay=5, max_delay=1), "min_delay must not exceed"),
    (lambda f: f.arm("error_without_execution", answers=("418",)), "answers must be some of"),
    (lambda f: f.arm("partial_fills_across_reconnect", parts="many"), "expected an integer"),
    (lambda f: f.arm("drop", kind="both"), "kind must be one of"),
])
def test_bad_arming_is_a_clear_error(call: object, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        call(faults())  # type: ignore[operator]


def test_the_older_switches_are_registry_faults() -> None:
    f = faults()
    f.rate_limited = True
    f.rate_limited = True  # already on: not a second activation
    f.silent = True
    f.response_delay = 0.4
    assert (f.rate_limited, f.silent, f.response_delay) == (True, True, 0.4)
    assert set(f.armed) == {"rate_limit", "silent", "response_delay"}
    assert f.fired["rate_limit"] == 1
    f.rate_limited = False
    f.silent = False
    f.response_delay = 0.0
    assert (f.rate_limited, f.silent, f.response_delay) == (False, False, 0.0)
    assert f.armed == {}
    f.reject_orders(2, "TooLate")
    f.reject_orders(1, "TooLate")
    assert f.armed["reject_orders"].remaining == 3
    assert f.order_rejection("order/placeorder") == (
        "TooLate", "Order rejected by simulator fault (TooLate)", False)
    f.penalize(2.0, count=1)
    assert f.is_armed("penalty")
    assert f.check_penalty("auth/accesstokenrequest", {}) is not None
    assert f.fired["penalty"] == 1
    assert not f.is_armed("penalty")


async def test_actions_count_and_repeat_while_armed() -> None:
    target = Target()
    f = Faults(target, lambda: 1_000.0)
    await f.drop_connections("trading")
    f.roll_trade_date()
    assert target.calls == ["close trading abort=True", "roll"]
    assert (f.fired["drop"], f.fired["roll_trade_date"]) == (1, 1)
    f.arm("expire_tokens", every=0.02, count=3)
    async with asyncio.timeout(5):
        while f.fired["expire_tokens"] < 3:  # noqa: ASYNC110 - a counter, no event
            await asyncio.sleep(0.01)
    await asyncio.sleep(0.1)
    assert f.fired["expire_tokens"] == 3  # count reached: it stopped by itself
    assert not f.is_armed("expire_tokens")
    f.arm("close", every=0.02, kind="md")
    await asyncio.sleep(0.1)
    f.disarm("close")
    fired = f.fired["close"]
    assert fired >= 1
    await asyncio.sleep(0.1)
    assert f.fired["close"] == fired
    await f.stop()


def test_fault_option_and_config_parsing() -> None:
    assert parse_fault_option("lost_answer:probability=0.2,count=3") == (
        "lost_answer", {"probability": "0.2", "count": "3"})
    assert parse_fault_option("odd_fields") == ("odd_fields", {})
    with pytest.raises(ValueError, match="expected key=value"):
        parse_fault_option("lost_answer:probability")
    config = config_from_mapping({"fault_seed": 4, "faults": [
        {"name": "lost_answer", "probability": 0.5, "count": 2},
        {"name": "error_after_execution", "params": {"answers": ["500", "cut"]}}]})
    assert [f.name for f in config.faults] == ["lost_answer", "error_after_execution"]
    with pytest.raises(ConfigError, match=r"faults\[0\]: unknown fault 'nope'"):
        config_from_mapping({"faults": [{"name": "nope"}]})
    with pytest.raises(ConfigError, match=r"faults\[0\]: late_execution: max_delay"):
        config_from_mapping({"faults": [{"name": "late_execution",
                                         "params": {"max_delay": "soon"}}]})


def test_cli_lists_faults_and_refuses_bad_ones(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sim", "--list-faults"]) == 0
    assert "late_execution  [request]" in capsys.readouterr().out
    assert main(["sim", "--fault", "drop"]) == 2
    assert "drop: an action needs every=SECONDS" in capsys.readouterr().err
    assert main(["sim", "--fault", "lost_answer:count=x"]) == 2
    assert "lost_answer: count: expected a whole number" in capsys.readouterr().err
