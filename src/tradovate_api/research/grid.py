"""The parameter space of a sweep, read from a TOML file (``--grid params.toml``)::

    [sweep]
    mode = "grid"            # every combination; "random": `samples` of them, seeded
    samples = 16
    seed = 1
    heatmap = ["large_trade", "dom_threshold"]   # default: the first two swept parameters
    top = 5                  # equity curves drawn in the report

    [params]                 # swept: a list of values, or a range {min, max, step}
    large_trade = [20.0, 30.0, 40.0]
    dom_threshold = {min = 5.0, max = 15.0, step = 5.0}

    [fixed]                  # the same in every run (over the settings' [strategy])
    pressure_ratchet = false

    [walk_forward]           # optional: sessions before `split` in-sample, the rest out
    split = "2026-11-25"

    [costs]                  # optional: override the settings' costs for the sweep
    latency_ms = 5.0
    slippage_ticks = 1
    commission_per_side = 2.09

Combinations are numbered in the grid's own order (the first parameter varies slowest), so
a run's number names the same parameters whichever machine ran it; random search draws
numbers without replacement from a seeded generator, so the same file draws the same runs.
"""

from __future__ import annotations

import datetime as dt
import math
import random
import tomllib
from pathlib import Path
from typing import Any, Literal

import msgspec

from ..errors import ConfigError

ParamValue = bool | int | float | str
_MAX_RANGE_VALUES = 10_000


class _Range(msgspec.Struct, forbid_unknown_fields=True):
    min: float
    max: float
    step: float


class SweepOptions(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    mode: Literal["grid", "random"] = "grid"
    samples: int | None = None
    seed: int = 1
    heatmap: list[str] | None = None
    top: int = 5


class WalkForward(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    split: dt.date
    """Sessions (trade dates) before this date are in-sample, the rest out-of-sample."""


class CostOverrides(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    latency_ms: float | None = None
    slippage_ticks: int | None = None
    commission_per_side: float | None = None


class _GridFile(msgspec.Struct, forbid_unknown_fields=True):
    params: dict[str, list[ParamValue] | _Range]
    sweep: SweepOptions = msgspec.field(default_factory=SweepOptions)
    fixed: dict[str, Any] = msgspec.field(default_factory=dict)
    walk_forward: WalkForward | None = None
    costs: CostOverrides = msgspec.field(default_factory=CostOverrides)


class SweepSpec(msgspec.Struct, frozen=True):
    """A parsed grid file: the swept values (in file order), options, fixed parameters."""

    values: dict[str, list[ParamValue]]
    options: SweepOptions = SweepOptions()
    fixed: dict[str, Any] = msgspec.field(default_factory=dict)
    walk_forward: WalkForward | None = None
    costs: CostOverrides = CostOverrides()

    @property
    def size(self) -> int:
        """Combinations in the full grid."""
        return math.prod(len(v) for v in self.values.values())

    @property
    def heatmap_axes(self) -> tuple[str, str] | None:
        chosen = self.options.heatmap or list(self.values)[:2]
        return (chosen[0], chosen[1]) if len(chosen) >= 2 else None

    def combination(self, number: int) -> dict[str, ParamValue]:
        """The grid's ``number``-th combination (the last parameter varies fastest)."""
        out: dict[str, ParamValue] = {}
        for name, values in reversed(self.values.items()):
            number, pick = divmod(number, len(values))
            out[name] = values[pick]
        return dict(reversed(out.items()))

    def numbers(self) -> list[int]:
        """The combinations to run: all (grid) or a seeded sample (random), ascending."""
        if self.options.mode == "grid":
            return list(range(self.size))
        samples = min(self.options.samples or 0, self.size)
        return sorted(random.Random(self.options.seed).sample(range(self.size), samples))


def _expand(name: str, spec: list[ParamValue] | _Range) -> list[ParamValue]:
    if isinstance(spec, list):
        if not spec:
            raise ConfigError(f"params.{name}: give at least one value")
        if len(set(map(repr, spec))) != len(spec):
            raise ConfigError(f"params.{name}: values repeat")
        return spec
    if not (spec.step > 0 and spec.max >= spec.min):
        raise ConfigError(f"params.{name}: needs step > 0 and max >= min")
    count = math.floor((spec.max - spec.min) / spec.step + 1e-9) + 1
    if count > _MAX_RANGE_VALUES:
        raise ConfigError(f"params.{name}: {count} values; at most {_MAX_RANGE_VALUES}")
    return [round(spec.min + i * spec.step, 12) for i in range(count)]


def parse_grid(text: str, source: str = "grid") -> SweepSpec:
    """A :class:`SweepSpec` from TOML text; :class:`ConfigError` naming ``source`` and the
    bad key otherwise."""
    try:
        raw = msgspec.convert(tomllib.loads(text), _GridFile)
    except (tomllib.TOMLDecodeError, msgspec.ValidationError) as exc:
        raise ConfigError(f"{source}: {exc}") from None
    if not raw.params:
        raise ConfigError(f"{source}: [params] names no parameter to sweep")
    try:
        values = {name: _expand(name, spec) for name, spec in raw.params.items()}
    except ConfigError as exc:
        raise ConfigError(f"{source}: {exc}") from None
    clash = sorted(set(values) & set(raw.fixed))
    if clash:
        raise ConfigError(f"{source}: {', '.join(clash)} both swept and fixed")
    options = raw.sweep
    if options.mode == "random" and not (options.samples and options.samples > 0):
        raise ConfigError(f"{source}: sweep.mode random needs sweep.samples > 0")
    if options.top < 1:
        raise ConfigError(f"{source}: sweep.top must be at least 1")
    for axis in options.heatmap or []:
        if axis not in values:
            raise ConfigError(f"{source}: sweep.heatmap: {axis!r} is not a swept parameter")
    if options.heatmap is not None and len(options.heatmap) != 2:
        raise ConfigError(f"{source}: sweep.heatmap names two swept parameters")
    return SweepSpec(values, options, raw.fixed, raw.walk_forward, raw.costs)


def load_grid(path: str | Path) -> SweepSpec:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"--grid {path}: {exc.strerror or exc}") from None
    return parse_grid(text, str(path))
