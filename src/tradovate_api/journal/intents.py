"""The write-ahead file of order intents: every request is on disk before its frame is written.

The SQLite journal is written by a thread, a few milliseconds after the fact; a process killed
in that instant would lose the request it had just sent. So the order manager, right before it
writes a request on the trading socket, calls :meth:`IntentLog.write`: one pre-opened,
append-only file descriptor (mode 0600), one ``write`` system call of one encoded line. When the
call returns the bytes belong to the kernel, and a ``kill -9`` of the process no longer loses
them (``fdatasync`` as well with ``synchronous = "FULL"``: a power cut neither).

The next :class:`~.writer.Journal` to open the file folds every intent whose request the
SQLite journal does not have into ``requests`` (state ``INTENT``: written, perhaps sent, fate
unknown), for restart reconciliation to settle against the server. The file is emptied when the
journal opens (after that fold) and at a clean close; during a run it grows by one line per
request (about 0.5 MB an hour at the 3000-an-hour order budget).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from pathlib import Path

import msgspec

INTENT_STATE = "INTENT"
"""Journal state of a request known only from the write-ahead file: the process died before
the journal recorded what became of it."""
SUFFIX = "-intents"
"""The file sits next to the journal: ``journal.db`` → ``journal.db-intents``."""


class Intent(msgspec.Struct, frozen=True, array_like=True, gc=False):
    """One request about to be sent, as written ahead (a JSON array per line)."""

    run_id: int
    created_ns: int
    cl_ord_id: str
    kind: str
    symbol: str | None
    contract_id: int | None
    action: str | None
    qty: int | None
    order_type: str | None
    price: float | None
    stop_price: float | None
    trigger: str
    order_id: int | None
    account_id: int | None = None
    """The account the request is for (``None`` in files written before accounts were)."""
    source: str = ""
    """The strategy that made it ('' for the framework's own requests)."""


_encode = msgspec.json.Encoder().encode_into
_decode = msgspec.json.Decoder(Intent).decode


def intents_path(journal_path: Path) -> Path:
    return journal_path.with_name(journal_path.name + SUFFIX)


class IntentLog:
    """The append-only intent file of one run (open it once; :meth:`write` on the loop)."""

    def __init__(self, path: Path, *, sync: bool = False) -> None:
        self.path = path
        self.sync = sync
        """``fdatasync`` after each write (``synchronous = "FULL"``)."""
        self._fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o600)
        os.chmod(path, 0o600)
        self._lock = threading.Lock()
        """Writes (the loop) against truncate and close (the thread closing the journal): a
        write must never reach a closed descriptor, whose number may belong to another file
        by then."""
        self._buffer = bytearray()
        self.written = 0
        """Intents written by this run."""

    def write(self, intent: Intent) -> None:
        """Append one intent; raises ``OSError`` if the bytes did not all reach the kernel
        (disk full, file size limit, I/O error)."""
        buffer = self._buffer
        with self._lock:
            if self._fd < 0:
                raise OSError("the intent file is closed")
            try:
                _encode(intent, buffer)
                buffer += b"\n"
                done = os.write(self._fd, buffer)
                if done != len(buffer):
                    # A short write: the end of the line is missing; the reader drops it.
                    raise OSError(f"short write ({done} of {len(buffer)} bytes): disk full?")
                if self.sync:
                    os.fdatasync(self._fd)
            finally:
                buffer.clear()
            self.written += 1

    def truncate(self) -> None:
        """Empty the file (its intents are all in SQLite)."""
        with self._lock:
            if self._fd >= 0:
                os.ftruncate(self._fd, 0)

    def close(self) -> None:
        with self._lock:
            if self._fd >= 0:
                os.close(self._fd)
                self._fd = -1


class IntentFile(msgspec.Struct, frozen=True):
    """What a previous run left in the intent file."""

    intents: tuple[Intent, ...]
    unreadable: int
    """Lines that could not be decoded (a write cut short by a power cut or a full disk)."""


def read_intents(path: Path) -> IntentFile:
    """Every complete intent of the file (none if it does not exist)."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return IntentFile((), 0)
    intents: list[Intent] = []
    unreadable = 0
    for line in _lines(data):
        try:
            intents.append(_decode(line))
        except msgspec.DecodeError:
            unreadable += 1
    return IntentFile(tuple(intents), unreadable)


def _lines(data: bytes) -> Iterator[bytes]:
    """Non-empty lines; a last line without its newline is still tried (a write cut short
    fails to decode and is counted as unreadable)."""
    for line in data.split(b"\n"):
        if line.strip():
            yield line
