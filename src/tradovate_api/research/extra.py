"""The optional ``research`` extra: one check, one message.

``tradovate-api data import`` and ``tradovate-api sweep`` need databento-dbn and
dask[distributed], which the trading install does not carry; without them the commands say in
one line which extra to install instead of failing with a traceback.
"""

from __future__ import annotations

import importlib

from ..errors import TradovateError

EXTRA = "research"
INSTALL_HINT = f"pip install 'tradovate-api[{EXTRA}]'"


class MissingExtra(TradovateError):
    """A research command ran without the ``research`` extra installed."""


def require(*modules: str) -> None:
    """Import ``modules`` (e.g. ``"databento_dbn"``); :class:`MissingExtra` naming the extra
    when one is missing."""
    for name in modules:
        try:
            importlib.import_module(name)
        except ImportError:
            raise MissingExtra(f"{name} is not installed: this command needs the '{EXTRA}' "
                               f"extra ({INSTALL_HINT})") from None
