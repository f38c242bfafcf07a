"""The sweep's grid file: values, ranges, numbering, seeded random search, errors."""

from __future__ import annotations

import pytest

from tradovate_api.errors import ConfigError
from tradovate_api.research.grid import parse_grid

GRID = """
[params]
a = [1, 2, 3]
b = {min = 0.5, max = 1.5, step = 0.5}
c = ["x", "y"]
"""


def test_grid_numbers_every_combination_last_parameter_fastest() -> None:
    spec = parse_grid(GRID)
    assert spec.values == {"a": [1, 2, 3], "b": [0.5, 1.0, 1.5], "c": ["x", "y"]}
    assert spec.size == 18
    assert spec.numbers() == list(range(18))
    assert spec.combination(0) == {"a": 1, "b": 0.5, "c": "x"}
    assert spec.combination(1) == {"a": 1, "b": 0.5, "c": "y"}
    assert spec.combination(17) == {"a": 3, "b": 1.5, "c": "y"}
    combos = {tuple(spec.combination(n).values()) for n in spec.numbers()}
    assert len(combos) == 18
    assert spec.heatmap_axes == ("a", "b")


def test_random_search_is_seeded_and_without_repeats() -> None:
    text = GRID + "[sweep]\nmode = 'random'\nsamples = 5\nseed = 7\n"
    first, again = parse_grid(text).numbers(), parse_grid(text).numbers()
    assert first == again
    assert len(set(first)) == 5
    assert first == sorted(first)
    other = parse_grid(text.replace("seed = 7", "seed = 8")).numbers()
    assert other != first
    assert len(parse_grid(text.replace("samples = 5", "samples = 99")).numbers()) == 18


@pytest.mark.parametrize(("text", "message"), [
    ("[params]\n", "names no parameter"),
    ("[params]\na = []\n", "params.a: give at least one value"),
    ("[params]\na = [1, 1]\n", "params.a: values repeat"),
    ("[params]\na = {min = 2, max = 1, step = 1}\n", "params.a: needs step > 0"),
    ("[params]\na = [1]\n[fixed]\na = 2\n", "a both swept and fixed"),
    ("[params]\na = [1]\n[sweep]\nmode = 'random'\n", "needs sweep.samples"),
    ("[params]\na = [1]\nb = [2]\n[sweep]\nheatmap = ['a', 'z']\n", "'z' is not a swept"),
    ("[params]\na = [1]\n[costs]\nlatency = 3\n", "unknown field"),
    ("[params]\na = [1]\n[walk_forward]\nsplit = 'soon'\n", "split"),
    ("params = 3", "params"),
])
def test_bad_grid_files_name_the_key(text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_grid(text, "g.toml")
