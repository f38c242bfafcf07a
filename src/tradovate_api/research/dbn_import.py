"""``tradovate-api data import``: a DBN file (trades, MBP-1 or MBP-10) → an md recording.

The output is the project's own recording format (:mod:`tradovate_api.recording`): the
frames and notes of :class:`~.dbn_convert.DbnConverter` — Tradovate md messages exactly as
the md socket sends them, with the reference and chart notes a live recording carries — so
an imported file replays, serves the simulator (``sim --replay``) and sweeps like any
recording we made ourselves. A conversion that fails part-way removes what it wrote: half a
file must not be replayed as the whole. (Replaying the DBN file directly, without a
recording, is :mod:`.dbn_replay`; docs/performance.md compares the two.)
"""

from __future__ import annotations

from collections.abc import Iterable
from itertools import chain
from pathlib import Path

from ..protocol import encode_messages
from ..recording import ChartNote, MdRecorder
from .dbn_convert import ConversionSummary, DbnConverter
from .dbn_file import DbnFileError
from .symbols import SymbolMap

_FLUSH_FRAMES = 20_000
"""Frames handed to the recorder's writer thread before waiting for it (bounded memory)."""


def _remove(files: Iterable[Path]) -> None:
    for path in files:
        path.unlink(missing_ok=True)


def import_dbn(source: str | Path, out_dir: str | Path,
               symbols: SymbolMap | None = None) -> ConversionSummary:
    """Convert ``source`` into a recording under ``out_dir``."""
    converter = DbnConverter(source, symbols)
    entries = converter.entries()
    first = next(entries, None)  # the file's header and schema are checked before any write
    recorder = MdRecorder(out_dir, label=converter.source.name.split(".")[0],
                          flush_interval=0.05, clock_ns=lambda: first[0] if first else 0)
    try:
        frames = 0
        for ts, item in chain([first] if first is not None else [], entries):
            if isinstance(item, list):
                recorder.frame_at(ts, encode_messages(item))
                frames += 1
                if frames % _FLUSH_FRAMES == 0:
                    recorder.flush(60.0)
            elif isinstance(item, ChartNote):
                recorder.chart(item.contract_id, item.historical_id, item.realtime_id,
                               item.series, history_first=item.history_first)
            else:
                recorder.reference(item.contracts, item.maturities, item.products)
    except BaseException:
        recorder.close(60.0)
        _remove(recorder.files)
        raise
    if not recorder.close(60.0) or recorder.dropped or recorder.errors:
        _remove(recorder.files)
        raise DbnFileError(f"{out_dir}: the recording could not be written completely "
                           f"(dropped {recorder.dropped}, errors {recorder.errors})")
    if not converter.summary.records:
        _remove(recorder.files)
        raise DbnFileError(f"{source}: no {converter.summary.schema} records: nothing to "
                           f"backtest")
    converter.summary.files = [str(path) for path in recorder.files]
    return converter.summary
