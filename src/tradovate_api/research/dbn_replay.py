"""Replaying DBN files directly, without importing them into a recording first.

The converter's frames go to the replay as decoded :class:`~tradovate_api.protocol.Messages`
(the md messages a recording would hold, minus their JSON round trip), with the same
reference and chart notes; from there the replay runs its usual decode-free path: market
store, dispatcher, strategy, simulated execution. Same messages, same backtest as replaying
the imported recording (``tests/research/test_dbn_replay.py`` holds the two equal); which is
faster is measured in docs/performance.md ("DBN: import or read directly").
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

from ..protocol import Messages
from ..replay.engine import ReplayEntry
from .dbn_convert import DbnConverter
from .symbols import SymbolMap


def dbn_entries(files: Sequence[str | Path],
                symbols: SymbolMap | None = None) -> Iterator[ReplayEntry]:
    """The replay entries of DBN ``files``, one after the other (each starts with its own
    reference note, as each rotated recording file does)."""
    for path in files:
        for ts, item in DbnConverter(path, symbols).entries():
            if isinstance(item, list):
                yield ts, Messages(item)  # type: ignore[arg-type]
            else:
                yield ts, item
