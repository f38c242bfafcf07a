"""Entities as today's, a newer or a sloppier Tradovate sends them.

The current spec has fields the 2021 schema lacks (reference §5.2: ``Account.restricted``,
``CashBalance.amountSOD``, ``MarginSnapshot.positionMargin``...), future versions will add
more, optional fields may be absent, and some schema-required fields are not reliably there
(the issue names ``Fill.finallyPaired`` and ``Position.prevPos``). A client must keep every
such entity. :func:`with_current_fields` adds the current spec's fields (what the real server
sends by default: the simulator's awkward wire does too); :func:`oddify` (the ``odd_fields``
fault) adds those, made-up future fields, and drops optional ones, drawing from the fault's
random source.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from typing import Any

CURRENT_SPEC_FIELDS: Mapping[str, Mapping[str, Any]] = {
    "account": {"restricted": False, "closed": False, "evaluationSize": 0,
                "futuresDisabled": False, "swapEnabled": False, "spotMarginEnabled": False,
                "ssfRiskDisclosureAcknowledgment": "2025-01-02T15:04:05.000Z"},
    "marginSnapshot": {"positionMargin": 0.0, "totalUsedFullMargin": 0.0,
                       "openCollateralReq": 0.0},
    "accountRiskStatus": {"maxNetLiq": 0.0, "minNetLiq": 0.0},
    "contract": {"timestamp": "2025-01-02T15:04:05.000Z"},
    "fill": {"external": False},
}
"""Fields of the current spec (reference §5.2, "current additions") by entity type that the
engine's entities lack; values only illustrate the type. (``CashBalance.amountSOD`` is not
here: the engine's cash balances carry their own.)"""

FUTURE_FIELDS: Mapping[str, Any] = {
    "venueFlags": 3,
    "routingInfo": {"venue": "CME", "tags": ["sim", "odd"]},
    "schemaRevision": "2027.1",
    "retiredField": None,
}
"""Made-up fields of a future version: a number, an object, a string and a ``null``."""

OPTIONAL_FIELDS: Mapping[str, tuple[str, ...]] = {
    "fill": ("external",),
    "command": ("senderId", "userSessionId", "isAutomated"),
    "executionReport": ("tradeDate", "avgPx"),
    "cashBalance": ("weekRealizedPnL",),
    "account": ("readonly", "timestamp"),
    "order": ("parentId",),
    "user": ("professional",),
}
"""Optional fields (schema) that may be absent; only ones whose absence loses nothing a
client needs and cannot get elsewhere (a limit order's ``price``, a position's ``netPrice`` and
``prevPrice``, a cash balance's ``realizedPnL`` are never removed)."""

UNRELIABLE_REQUIRED: Mapping[str, tuple[str, ...]] = {
    "fill": ("finallyPaired",),
    "position": ("prevPos",),
}
"""Schema-required fields a client cannot rely on (``omit_required``)."""


def with_current_fields(entity_type: str, data: dict[str, Any]) -> dict[str, Any]:
    """One entity's JSON object with the current spec's fields it lacks (a copy; ``data``
    itself when the entity type has none)."""
    fields = CURRENT_SPEC_FIELDS.get(entity_type)
    if not fields:
        return data
    current = dict(data)
    for key, value in fields.items():
        current.setdefault(key, value)
    return current


def oddify(entity_type: str, data: dict[str, Any], rng: random.Random, *,
           omit_required: bool) -> dict[str, Any]:
    """A copy of one entity's JSON object with extra and missing fields."""
    odd = with_current_fields(entity_type, data)
    if odd is data:
        odd = dict(data)
    future = list(FUTURE_FIELDS.items())
    for key, value in rng.sample(future, k=rng.randint(1, len(future))):
        odd[key] = value
    for key in OPTIONAL_FIELDS.get(entity_type, ()):
        if rng.random() < 0.5:
            odd.pop(key, None)
    if omit_required:
        for key in UNRELIABLE_REQUIRED.get(entity_type, ()):
            odd.pop(key, None)
    return odd
