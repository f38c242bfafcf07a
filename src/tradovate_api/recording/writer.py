"""The md recorder: raw md frames with their receive time into zstd files, off the hot path.

:meth:`MdRecorder.frame` is called on the md reader for every websocket message. It takes the
time, copies the bytes (the socket library reuses its buffer) and appends to a deque — no
encoding, compression or I/O. A thread wakes every ``flush_interval`` seconds, packs what
arrived into records, compresses them into one zstd frame and writes it, so a process killed
with ``kill -9`` loses at most the last interval. Files rotate when the trading session
changes (and optionally at a size), each new file starting with the reference data and the
live chart ids, so it replays on its own.

If the writer falls behind by ``max_pending`` frames, new frames are dropped and counted
(memory stays bounded); a write error is logged and counted and the recorder stops writing.
Recording never interrupts trading.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import os
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import IO, Any

import zstandard

from ..background import lower_thread_priority
from ..protocol.models import Contract, ContractMaturity, Product
from .format import (
    FORMAT_VERSION,
    FRAME,
    HEADER,
    NOTE,
    SUFFIX,
    ChartNote,
    ConnectionNote,
    Note,
    RecordingHeader,
    ReferenceNote,
    StrategyNote,
    encode_json,
    pack,
)
from .sessions import next_boundary_ns, trade_date

_log = logging.getLogger("tradovate_api.recording")


class MdRecorder:
    """Records md frames into ``directory``; one instance per process run."""

    def __init__(self, directory: str | Path, *, label: str = "", flush_interval: float = 0.25,
                 level: int = 3, max_pending: int = 1_000_000, rotate_bytes: int | None = None,
                 clock_ns: Callable[[], int] = time.time_ns) -> None:
        if flush_interval <= 0:
            raise ValueError("flush_interval must be positive")
        if max_pending < 1:
            raise ValueError("max_pending must be positive")
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.label = label
        self.flush_interval = flush_interval
        self.rotate_bytes = rotate_bytes
        self._clock = clock_ns
        self._compressor = zstandard.ZstdCompressor(level=level, write_checksum=True)
        self._pending: deque[tuple[int, int, Any]] = deque()
        self._max_pending = max_pending
        self.frames = 0
        """Frames accepted from the reader."""
        self.dropped = 0
        """Frames lost because the writer was ``max_pending`` frames behind."""
        self.errors = 0
        self.bytes_in = 0
        """Uncompressed record bytes written."""
        self.bytes_out = 0
        """Compressed bytes written."""
        self.files: list[Path] = []
        self._file: IO[bytes] | None = None
        self._file_bytes = 0
        self._session = ""
        self._boundary_ns = 0
        self._reference: dict[str, dict[int, Any]] = {"contracts": {}, "maturities": {},
                                                      "products": {}}
        self._charts: dict[int, ChartNote] = {}
        self._wake = threading.Event()
        self._flushed = threading.Condition()
        self._flush_seq = 0
        self._done_seq = 0
        self._stop = False
        self._broken = False
        self._thread = threading.Thread(target=self._run, name="md recorder", daemon=True)
        self._thread.start()

    # ------------------------------------------------------------------ hot path

    def frame(self, data: bytes | bytearray | memoryview) -> None:
        """A md websocket message just arrived (call on the reader, before decoding)."""
        if len(self._pending) >= self._max_pending:
            self.dropped += 1
            return
        self._pending.append((FRAME, self._clock(), bytes(data)))
        self.frames += 1

    def frame_at(self, ts_ns: int, data: bytes | bytearray | memoryview) -> None:
        """A frame with an explicit receive time (tests, converters)."""
        if len(self._pending) >= self._max_pending:
            self.dropped += 1
            return
        self._pending.append((FRAME, ts_ns, bytes(data)))
        self.frames += 1

    # ------------------------------------------------------------------ notes

    def reference(self, contracts: Iterable[Contract] = (),
                  maturities: Iterable[ContractMaturity] = (),
                  products: Iterable[Product] = ()) -> None:
        """Contract/maturity/product entities of recorded instruments (for replay's tick
        sizes, values per point and symbols)."""
        self._note(ReferenceNote(list(contracts), list(maturities), list(products)))

    def chart(self, contract_id: int, historical_id: int, realtime_id: int | None = None,
              series: str = "", *, history_first: bool | None = None) -> None:
        """Packets of these chart ids belong to ``contract_id`` (``series`` ``""``: ticks);
        ``history_first``: packets before the chart's ``eoh`` are history whatever their id
        (``None``: not said, see :class:`~.format.ChartNote`)."""
        self._note(ChartNote(contract_id, historical_id, realtime_id, series, history_first))

    def connection(self, event: str, number: int = 0) -> None:
        """The md socket connected (``"connected"``: chart ids start over) or ended."""
        self._note(ConnectionNote(event, number))

    def strategy(self, event: str) -> None:
        """The strategy ``"started"`` (a replay starts it at this point of the stream)."""
        self._note(StrategyNote(event))

    def _note(self, note: Note) -> None:
        self._pending.append((NOTE, self._clock(), note))

    # ------------------------------------------------------------------ control

    @property
    def pending(self) -> int:
        return len(self._pending)

    def flush(self, timeout: float = 5.0) -> bool:
        """Block until everything appended so far is written (shutdown and tests)."""
        with self._flushed:
            self._flush_seq += 1
            target = self._flush_seq
        self._wake.set()
        deadline = time.monotonic() + timeout
        with self._flushed:
            while self._done_seq < target and self._thread.is_alive():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._flushed.wait(remaining)
            return self._done_seq >= target

    def close(self, timeout: float = 5.0) -> bool:
        """Write what is pending, close the file and stop the thread."""
        self._stop = True
        self._wake.set()
        self._thread.join(timeout)
        return not self._thread.is_alive()

    # ------------------------------------------------------------------ writer thread

    def _run(self) -> None:
        lower_thread_priority()
        while True:
            self._wake.wait(self.flush_interval)
            self._wake.clear()
            with self._flushed:
                seq = self._flush_seq
            stop = self._stop
            self._write_pending()
            with self._flushed:
                self._done_seq = seq
                self._flushed.notify_all()
            if stop:
                break
        self._close_file()

    def _write_pending(self) -> None:
        pending = self._pending
        chunks: list[bytes] = []
        while pending:
            kind, ts, payload = pending.popleft()
            if kind == FRAME:
                if ts >= self._boundary_ns or self._file is None:
                    chunks = self._maybe_rotate(ts, chunks)
                chunks.append(pack(FRAME, ts, payload))
                continue
            self._remember(payload)
            if self._file is not None:  # else the first file's preamble carries it
                chunks.append(pack(NOTE, ts, encode_json(payload)))
        self._write(chunks)
        if self.rotate_bytes is not None and self._file_bytes >= self.rotate_bytes:
            self._open_next(self._clock())

    def _remember(self, note: Note) -> None:
        """Keep what a new file must repeat."""
        if isinstance(note, ReferenceNote):
            for key, items in (("contracts", note.contracts), ("maturities", note.maturities),
                               ("products", note.products)):
                for item in items:
                    self._reference[key][item.id] = item
        elif isinstance(note, ChartNote):
            self._charts[note.historical_id] = note
        elif note.event == "connected":
            self._charts.clear()

    def _maybe_rotate(self, ts: int, chunks: list[bytes]) -> list[bytes]:
        """Open the first file, or a new one when ``ts`` is in a new session; returns the
        chunk list to continue with (the old one is written to the old file)."""
        if self._file is not None:
            self._boundary_ns = next_boundary_ns(ts)
            if trade_date(ts).isoformat() == self._session:
                return chunks
            self._write(chunks)
            chunks = []
        self._open_next(ts)
        return chunks

    def _open_next(self, ts: int) -> None:
        self._close_file()
        if self._broken:
            return
        session = trade_date(ts).isoformat()
        self._session = session
        self._boundary_ns = next_boundary_ns(ts)
        stamp = dt.datetime.fromtimestamp(ts / 1e9, tz=dt.UTC).strftime("%H%M%S")
        base = f"md-{session.replace('-', '')}-{stamp}"
        path = self.directory / f"{base}{SUFFIX}"
        for n in range(2, 1000):
            if not path.exists():
                break
            path = self.directory / f"{base}_{n:03d}{SUFFIX}"  # sorts after {base}.
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            self._file = os.fdopen(fd, "wb")
        except OSError as exc:
            self._fail(exc)
            return
        self.files.append(path)
        self._file_bytes = 0
        header = RecordingHeader(FORMAT_VERSION, ts, session, self.label, len(self.files))
        chunks = [pack(HEADER, ts, encode_json(header))]
        ref = self._reference
        if any(ref.values()):
            note = ReferenceNote(list(ref["contracts"].values()),
                                 list(ref["maturities"].values()),
                                 list(ref["products"].values()))
            chunks.append(pack(NOTE, ts, encode_json(note)))
        chunks.extend(pack(NOTE, ts, encode_json(c)) for c in self._charts.values())
        self._write(chunks)

    def _write(self, chunks: list[bytes]) -> None:
        if not chunks or self._file is None:
            return
        raw = b"".join(chunks)
        data = self._compressor.compress(raw)
        try:
            self._file.write(data)
            self._file.flush()
        except OSError as exc:
            self._fail(exc)
            return
        self.bytes_in += len(raw)
        self.bytes_out += len(data)
        self._file_bytes += len(data)

    def _fail(self, exc: OSError) -> None:
        self.errors += 1
        self._broken = True
        _log.error("md recording stopped: %s", exc)
        self._close_file()

    def _close_file(self) -> None:
        file, self._file = self._file, None
        if file is not None:
            with contextlib.suppress(OSError):
                file.close()
