"""A recording opened for the simulator to serve (``SimulatorConfig.replay_file``).

The simulator stands beside the client on the protocol core and reads no recording format,
so whoever starts one with ``replay_file`` (the ``sim`` command, tests) opens the recording
here and passes it in: the recorded instruments, from the reference notes at the start of
the recording (joined into contracts as the trading side joins them), and the recording's
entries in the order they take effect, reduced to the md frames and the two notes playing
needs (a chart's ids, a reconnection).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

from ..errors import ConfigError
from ..orders.contracts import ContractBook, UnknownContract
from ..protocol.models import Contract, ContractMaturity, Product
from ..recording import (
    ChartNote,
    ConnectionNote,
    ReferenceNote,
    in_effect_order,
    mark_history,
    read_entries,
    recording_files,
)
from ..simulator.recorded import ChartOpened, Reconnected, RecordedEntry, RecordedMarketData


def open_for_simulator(paths: Iterable[str | Path]) -> RecordedMarketData:
    """The recordings in ``paths`` (files, or directories of recordings) for the simulator;
    :class:`ConfigError` (naming ``replay_file``) when there are none or the first lacks the
    reference data of its contracts."""
    given = list(paths)
    files = recording_files(given)
    if not files:
        raise ConfigError(f"replay_file: no recordings in {', '.join(map(str, given))}")
    return RecordedMarketData(_recorded_contracts(files), _entries(files))


def _recorded_contracts(files: Sequence[Path]) -> ContractBook:
    """The contracts named by the reference notes at the start of the recording."""
    contracts: dict[int, Contract] = {}
    maturities: dict[int, ContractMaturity] = {}
    products: dict[int, Product] = {}
    for _, item in read_entries(files[:1]):
        if isinstance(item, ReferenceNote):
            contracts.update((c.id, c) for c in item.contracts)
            maturities.update((m.id, m) for m in item.maturities)
            products.update((p.id, p) for p in item.products)
        elif isinstance(item, bytes):
            break
    if not contracts:
        raise ConfigError(f"replay_file: {files[0]} has no contract reference data")
    try:
        return ContractBook.from_entities(contracts.values(), maturities.values(),
                                          products.values())
    except UnknownContract as exc:
        raise ConfigError(f"replay_file: the recording lacks reference data: {exc}") from None


def _entries(files: Sequence[Path]) -> Iterator[RecordedEntry]:
    """What the simulator plays, read lazily: frames, chart notes (with their history
    decided, :func:`~tradovate_api.recording.mark_history`) and reconnections."""
    for ts, item in mark_history(in_effect_order(read_entries(files))):
        if type(item) is bytes:
            yield ts, item
        elif isinstance(item, ChartNote):
            if item.realtime_id is not None:
                yield ts, ChartOpened(item.realtime_id, item.contract_id,
                                      bool(item.history_first))
        elif isinstance(item, ConnectionNote) and item.event == "connected":
            yield ts, Reconnected()
