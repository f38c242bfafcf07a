"""Shared msgspec configuration for every wire model.

Models are frozen (they are shared read-only between tasks), skip the cyclic GC (decoded
JSON is a tree, never a cycle), use camelCase on the wire and snake_case in Python, and omit
absent optional fields when encoded (Tradovate omits them rather than sending ``null``).
Unknown fields are ignored on decode, so new server fields never break a client.
"""

from __future__ import annotations

import msgspec


class WireModel(msgspec.Struct, frozen=True, gc=False, rename="camel", omit_defaults=True,
                kw_only=True):
    """Base class of every Tradovate JSON object."""


class TradeDate(WireModel, frozen=True):
    """Exchange session date as entities carry it: ``{"year":2022,"month":10,"day":25}``."""

    year: int
    month: int
    day: int
