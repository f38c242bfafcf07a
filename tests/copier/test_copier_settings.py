"""``[copier]`` errors are one line naming the key, from ``config check`` and ``run`` alike."""

from __future__ import annotations

from typing import Any

import pytest

from tradovate_api.errors import ConfigError
from tradovate_api.settings import settings_from_mapping

ONE = [{"account": "F1"}]


@pytest.mark.parametrize(("copier", "trading", "message"), [
    ({"leader": "L", "followers": [{"account": "L"}]}, {},
     "copier.followers: the leader 'L' cannot follow itself"),
    ({"leader": "L", "followers": [{"account": "F1", "ratio": 0}]}, {},
     "copier.followers[0].ratio: expected float > 0.0"),
    ({"leader": "L", "followers": [{"account": "F1", "ratio": -2.0}]}, {},
     "copier.followers[0].ratio: expected float > 0.0"),
    ({"leader": "L", "followers": [{"account": "F1", "fixed": 0}]}, {},
     "copier.followers[0].fixed: expected int >= 1"),
    ({"leader": "L", "followers": [{"account": "F1", "ratio": 1.0, "fixed": 2}]}, {},
     "copier.followers[0].fixed: give ratio or fixed for 'F1', not both"),
    ({"leader": "L", "followers": []}, {},
     "copier.followers: list at least one follower account"),
    ({"leader": "L", "followers": [{"account": "F1"}, {"account": "F1"}]}, {},
     "copier.followers: listed more than once: F1"),
    ({"leader": "L", "followers": ONE, "copy": "trades"}, {},
     "copier.copy: invalid enum value 'trades'"),
    ({"leader": "L", "followers": ONE, "on_follower_drift": "ignore"}, {},
     "copier.on_follower_drift: invalid enum value 'ignore'"),
    ({"leader": "L", "followers": ONE}, {"account": "F1"},
     "copier.followers: 'F1' is traded by a strategy"),
    ({"leader": "L", "followers": ONE, "source": "strategy"}, {"account": "X"},
     "copier.source: \"strategy\" copies this run's strategies' orders"),
    ({"leader": "L", "followers": [{"account": "F1", "ratio": 1.0, "size": 2}]}, {},
     "copier.followers[0].size: unknown key"),
])
def test_copier_errors_are_one_line(copier: dict[str, Any], trading: dict[str, Any],
                                    message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        settings_from_mapping({"copier": copier, "trading": trading})
    text = str(caught.value)
    assert "\n" not in text
    assert text.startswith(message), text


def test_a_valid_copier_table() -> None:
    copier = settings_from_mapping({"copier": {
        "leader": "L", "followers": [{"account": "F1"}, {"account": "F2", "ratio": 0.5},
                                     {"account": "F3", "fixed": 2}]}}).copier
    assert copier is not None
    assert [(f.account, f.ratio, f.fixed) for f in copier.followers] == [
        ("F1", None, None), ("F2", 0.5, None), ("F3", None, 2)]
    assert (copier.copy, copier.source, copier.on_follower_drift) == (
        "orders", "account", "alert")


def test_a_follower_traded_by_one_of_several_strategies_is_refused() -> None:
    """With ``[[accounts]]``/``[[strategies]]`` every traded account counts, not only the
    first: a strategy's orders on a follower would be taken for drift and closed."""
    with pytest.raises(ConfigError) as caught:
        settings_from_mapping({
            "instruments": ["ESZ6"],
            "accounts": [{"name": "L"}, {"name": "F2"}],
            "strategies": [{"name": "a", "class": "m:A", "accounts": ["L"]},
                           {"name": "b", "class": "m:B", "accounts": ["F2"]}],
            "copier": {"leader": "L", "followers": [{"account": "F1"}, {"account": "F2"}]}})
    assert str(caught.value).startswith(
        "copier.followers: 'F2' is traded by a strategy"), caught.value
