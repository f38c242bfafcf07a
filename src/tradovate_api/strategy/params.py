"""Typed strategy parameters: a strategy declares them, the settings' ``[strategy]`` table is
checked against them before anything starts, and ``ctx.params`` is the typed value.

A strategy declares its parameters as a class attribute ``Params``: a
:class:`StrategyParams` subclass (a frozen msgspec Struct that rejects unknown keys) with a
type and a default per key; bounds with :data:`Positive`, :data:`PositiveInt`, ... or any
``Annotated[..., msgspec.Meta(...)]``; checks across keys in ``__post_init__`` (raise
``ValueError("key: what is wrong")``). A plain ``@dataclass`` works too. ``tradovate-api
config check`` and ``run`` (and replays) reject a table that does not fit — an unknown key, a
wrong type, a value out of bounds — naming the key (``strategy.window_ms: expected int >= 1``).
A strategy that declares nothing gets the table as a read-only mapping, as before.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from types import MappingProxyType
from typing import Annotated, Any

import msgspec

from ..errors import ConfigError
from ..errors.config_validation import describe_validation_error, key_text, reject_non_finite

Positive = Annotated[float, msgspec.Meta(gt=0)]
"""A number above 0."""
NonNegative = Annotated[float, msgspec.Meta(ge=0)]
"""A number, 0 or above."""
PositiveInt = Annotated[int, msgspec.Meta(ge=1)]
"""A whole number, 1 or above."""
NonNegativeInt = Annotated[int, msgspec.Meta(ge=0)]
"""A whole number, 0 or above."""
Fraction = Annotated[float, msgspec.Meta(ge=0, le=1)]
"""A number from 0 to 1."""


class StrategyParams(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Base of a strategy's ``Params``: immutable, keyword-only, unknown keys rejected."""


def declared_params(strategy: object) -> type[Any] | None:
    """The ``Params`` type a strategy (class or instance) declares, or ``None``."""
    params = getattr(strategy, "Params", None)
    if params is None:
        return None
    if not isinstance(params, type) or not (
            issubclass(params, msgspec.Struct) or dataclasses.is_dataclass(params)):
        raise ConfigError(f"{_name(strategy)}.Params must be a msgspec Struct (subclass "
                          f"StrategyParams) or a dataclass, got {params!r}")
    return params


def strategy_params(strategy: object, raw: Any) -> Any:
    """``raw`` (the ``[strategy]`` table) checked against what ``strategy`` declares: an
    instance of its ``Params``; a read-only mapping when it declares none. Raises
    :class:`ConfigError` naming the key (``strategy.<key>: ...``)."""
    params = declared_params(strategy)
    if params is None:
        if isinstance(raw, MappingProxyType):
            return raw
        return MappingProxyType(dict(raw or {}))
    if isinstance(raw, params):
        return raw
    if not isinstance(raw, Mapping):
        raise ConfigError(f"strategy: expected a table of parameters, got {type(raw).__name__}")
    try:
        reject_non_finite(raw)
    except ConfigError as exc:
        raise ConfigError(f"strategy.{exc}") from None
    known = _keys(params)
    for key in raw:
        if key not in known:
            takes = ", ".join(sorted(known)) or "no parameters"
            raise ConfigError(f"strategy.{key_text(key)}: unknown key (misspelt?) — "
                              f"{_name(strategy)} takes: {takes}")
    try:
        return msgspec.convert(dict(raw), params, strict=True)
    except msgspec.ValidationError as exc:
        raise ConfigError(f"strategy.{describe_validation_error(exc)}") from None


def _keys(params: type[Any]) -> frozenset[str]:
    if issubclass(params, msgspec.Struct):
        return frozenset(f.encode_name for f in msgspec.structs.fields(params))
    return frozenset(f.name for f in dataclasses.fields(params))


def _name(strategy: object) -> str:
    cls = strategy if isinstance(strategy, type) else type(strategy)
    return cls.__name__
