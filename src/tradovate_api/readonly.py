"""Attributes set once, by ``__init__``: what makes the views handed to strategies read-only.

A view is only as read-only as its attributes. Were ``view._positions`` assignable, a strategy
could swap the table that the risk check reads on the very view object the risk check holds;
read-only mappings inside would not help. The account, market-data and orders views and the
contract book take this base, so each attribute is written once, when the object is built,
and never reassigned or deleted. Reading costs nothing extra: only writes are checked.
"""

from __future__ import annotations


class SetOnce:
    """A slotted class whose attributes are written by ``__init__`` and never again."""

    __slots__ = ()

    def __setattr__(self, name: str, value: object) -> None:
        if hasattr(self, name):  # each slot is set once, by __init__
            raise AttributeError(f"{type(self).__name__} is read-only")
        object.__setattr__(self, name, value)

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"{type(self).__name__} is read-only")
