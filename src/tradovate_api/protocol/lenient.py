"""Lenient entity decoding: an odd optional field costs that field, never the entity.

The server may send a field this version does not expect, leave out one it usually sends, or
send one with a type of its own (``"finallyPaired": true``, ``"prevPos": "2"``). A strict
decode would lose the whole ``props`` event — and with it, say, a fill. So when the strict
decode fails, the entity is decoded to plain JSON values and converted again with every
unreadable *optional* field dropped (the model's default takes its place). Only a missing or
unreadable *required* field — the ones money depends on: ids, quantities, prices, statuses —
makes the entity unreadable; the caller keeps it raw (``BadEntity``) and decides what a loss
of that entity type costs (see :data:`MONEY_ENTITY_TYPES`).
"""

from __future__ import annotations

import re
from typing import Any

import msgspec

MONEY_ENTITY_TYPES = frozenset({
    "account", "cashBalance", "command", "commandReport", "contract", "contractMaturity",
    "executionReport", "fill", "fillPair", "order", "orderStrategy", "orderStrategyLink",
    "orderVersion", "position", "product",
})
"""Entity types whose loss makes the account state wrong (orders, fills, positions, cash,
and the reference data P&L is computed with): an unreadable one calls for a fresh snapshot."""

_FIELD_AT = re.compile(r" - at `\$\.([^.\[`]+)")
_MISSING = re.compile(r"missing required field `([^`]+)`")
_MAX_REPAIRS = 64
"""Bound on conversions of one entity (each drops one field; models have fewer fields)."""


_optional: dict[type[Any], frozenset[str]] = {}


def _optional_fields(cls: type[Any]) -> frozenset[str]:
    """Wire names of the fields of ``cls`` that have a default."""
    names = _optional.get(cls)
    if names is None:
        names = _optional[cls] = frozenset(f.encode_name for f in msgspec.structs.fields(cls)
                                           if not f.required)
    return names


def convert_leniently(cls: type[Any], data: Any) -> tuple[Any, tuple[str, ...]]:
    """Convert JSON values ``data`` (an object) into ``cls``, dropping each optional field
    that cannot be read; returns the entity and the wire names of the dropped fields.

    Raises ``msgspec.ValidationError`` when ``data`` is not an object or a required field is
    missing or unreadable."""
    if not isinstance(data, dict):
        raise msgspec.ValidationError(f"Expected `object`, got `{type(data).__name__}`")
    optional = _optional_fields(cls)
    dropped: list[str] = []
    for _ in range(_MAX_REPAIRS):
        try:
            return msgspec.convert(data, cls), tuple(dropped)
        except msgspec.ValidationError as exc:
            text = str(exc)
            if _MISSING.search(text):
                raise
            where = _FIELD_AT.search(text)
            name = where.group(1) if where is not None else None
            if name is None or name not in optional or name not in data:
                raise
            data = {key: value for key, value in data.items() if key != name}
            dropped.append(name)
    raise msgspec.ValidationError("too many unreadable fields")  # pragma: no cover
