"""Non-blocking structured logging: the trading loop only enqueues, a thread writes.

``logger.info(...)`` on the event loop costs a record copy and a ``put_nowait`` onto a bounded
queue; when the queue is full the record is dropped and counted rather than blocking. A single
background thread turns records into JSON lines, masks every registered secret, and appends
them to a size-rotated file. File errors (full disk, vanished directory) are counted and
swallowed: logging must never stop trading.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import logging.handlers
import os
import queue
import stat
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import msgspec

from .background import lower_thread_priority
from .secrets import MASK, known_secret_values

_STANDARD_ATTRIBUTES = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime"}
_STOP = object()
_BATCH = 256


def redact(text: str) -> str:
    """``text`` with every registered secret value replaced by ``***``."""
    for value in known_secret_values():
        if value in text:
            text = text.replace(value, MASK)
    return text


class RedactionFilter(logging.Filter):
    """Masks registered secret values in a record's message, traceback and string extras.

    Usable on any handler; the log writer applies it to every record it writes.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if not known_secret_values():
            return True
        message = record.getMessage()
        record.msg, record.args = redact(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        record.exc_info = None
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        for key, value in vars(record).items():
            if key not in _STANDARD_ATTRIBUTES and isinstance(value, str):
                setattr(record, key, redact(value))
        return True


def _encode_fallback(value: Any) -> str:
    return str(value)


_encoder = msgspec.json.Encoder(enc_hook=_encode_fallback)


def format_json_line(record: logging.LogRecord) -> bytes:
    """One record as a JSON object on one line (UTC timestamp with milliseconds)."""
    entry: dict[str, Any] = {
        "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
        "level": record.levelname,
        "logger": record.name,
        "msg": record.getMessage(),
    }
    for key, value in vars(record).items():
        if key not in _STANDARD_ATTRIBUTES and key not in entry:
            entry[key] = value
    if record.exc_text:
        entry["exc"] = record.exc_text
    if record.stack_info:
        entry["stack"] = record.stack_info
    try:
        line = _encoder.encode(entry)
    except (TypeError, ValueError, OverflowError):
        line = _encoder.encode({k: str(v) for k, v in entry.items()})
    # A secret could survive inside a non-string extra; mask the final text too.
    return redact(line.decode()).encode() + b"\n"


class _EnqueueHandler(logging.handlers.QueueHandler):
    """The hot-path handler: render the message, ``put_nowait``, count what does not fit."""

    def __init__(self, records: queue.Queue[Any], writer: LogWriter) -> None:
        super().__init__(records)
        self._writer = writer

    def prepare(self, record: logging.LogRecord) -> logging.LogRecord:
        # Render now: arguments may be mutated by the caller after this returns. The record
        # is changed in place (no copy, to keep the hot path short); other handlers still
        # format it identically, since the message and traceback text are unchanged.
        record.msg, record.args = record.getMessage(), None
        if record.exc_info:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
            record.exc_info = None
        return record

    def enqueue(self, record: logging.LogRecord) -> None:
        try:
            self.queue.put_nowait(record)
        except queue.Full:
            self._writer._count_drop()

    def handleError(self, record: logging.LogRecord) -> None:
        self._writer._count_drop()


class _RotatingFile:
    """Appends bytes to ``path``, rotating to ``path.1`` … ``path.N`` by size.

    Only regular files are rotated (never a device such as ``/dev/full``). After an error the
    file is closed so the next write reopens it, which recovers once space is freed.
    """

    def __init__(self, path: Path, max_bytes: int, backup_count: int) -> None:
        self.path = path
        self.max_bytes = max_bytes
        self.backup_count = backup_count
        self._fd: int | None = None
        self._size = 0
        self._regular = True

    def _open(self) -> int:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        info = os.fstat(fd)
        self._regular = stat.S_ISREG(info.st_mode)
        self._size = info.st_size
        return fd

    def _rotate(self) -> None:
        self.close()
        if self.backup_count == 0:
            os.truncate(self.path, 0)
            return
        for index in range(self.backup_count - 1, 0, -1):
            source = self.path.with_name(f"{self.path.name}.{index}")
            if source.exists():
                os.replace(source, self.path.with_name(f"{self.path.name}.{index + 1}"))
        os.replace(self.path, self.path.with_name(f"{self.path.name}.1"))

    def write(self, lines: list[bytes]) -> None:
        """Append ``lines``, rotating between lines so no file exceeds ``max_bytes`` (unless
        one line alone does). Raises ``OSError``; the caller counts it."""
        try:
            if self._fd is None:
                self._fd = self._open()
            chunk: list[bytes] = []
            pending = 0
            for line in lines:
                if (self._regular and self._size + pending + len(line) > self.max_bytes
                        and self._size + pending > 0):
                    self._write_all(b"".join(chunk))
                    chunk, pending = [], 0
                    self._rotate()
                    self._fd = self._open()
                chunk.append(line)
                pending += len(line)
            self._write_all(b"".join(chunk))
        except OSError:
            self.close()
            raise

    def _write_all(self, data: bytes) -> None:
        assert self._fd is not None
        view = memoryview(data)
        while view:
            written = os.write(self._fd, view)
            if written <= 0:
                raise OSError(errno.EIO, "short write")
            view = view[written:]
            self._size += written

    def close(self) -> None:
        if self._fd is not None:
            fd, self._fd = self._fd, None
            with contextlib.suppress(OSError):
                os.close(fd)


class LogWriter:
    """Owns the queue, the hot-path handler and the writer thread. Counters are for the
    periodic report: ``dropped`` (queue full), ``write_errors`` (failed file writes),
    ``written`` (records in the file)."""

    def __init__(self, path: str | Path, *, max_bytes: int = 20_000_000, backup_count: int = 5,
                 queue_size: int = 10_000) -> None:
        self.path = Path(path)
        self._file = _RotatingFile(self.path, max_bytes, backup_count)
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=queue_size)
        self.handler: logging.Handler = _EnqueueHandler(self._queue, self)
        self._redaction = RedactionFilter()
        self._count_lock = threading.Lock()
        self.dropped = 0
        self.write_errors = 0
        self.written = 0
        self._reported_drops = 0
        self._loggers: list[logging.Logger] = []
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="log-writer", daemon=True)
        self._thread.start()

    def _count_drop(self) -> None:
        with self._count_lock:
            self.dropped += 1

    def attach(self, logger: logging.Logger) -> None:
        """Send ``logger``'s records through this writer."""
        logger.addHandler(self.handler)
        self._loggers.append(logger)

    def _drop_notice(self) -> list[bytes]:
        dropped = self.dropped
        if dropped == self._reported_drops:
            return []
        notice = logging.makeLogRecord({
            "name": "tradovate_api.logwriter", "levelno": logging.WARNING,
            "levelname": "WARNING", "dropped_total": dropped,
            "msg": f"log queue full: {dropped - self._reported_drops} records dropped"})
        self._reported_drops = dropped
        return [format_json_line(notice)]

    def _run(self) -> None:
        lower_thread_priority()
        stopping = False
        while not stopping:
            batch = [self._queue.get()]
            while len(batch) < _BATCH:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            lines: list[bytes] = []
            flushed: list[threading.Event] = []
            for record in batch:
                if record is _STOP:
                    stopping = True
                    continue
                if isinstance(record, threading.Event):
                    flushed.append(record)
                    continue
                try:
                    self._redaction.filter(record)
                    lines.append(format_json_line(record))
                except Exception:  # a broken record must not kill the writer
                    with self._count_lock:
                        self.write_errors += 1
            lines.extend(self._drop_notice())
            if lines:
                try:
                    self._file.write(lines)
                    self.written += len(lines)
                except OSError:
                    with self._count_lock:
                        self.write_errors += 1
            for event in flushed:
                event.set()
        self._file.close()

    def flush(self, timeout: float = 2.0) -> bool:
        """Wait until everything enqueued before this call has been handled (written or
        counted as an error). Not for the trading loop: it blocks up to ``timeout``."""
        deadline = time.monotonic() + timeout
        done = threading.Event()
        try:
            self._queue.put(done, timeout=timeout)
        except queue.Full:
            return False
        return done.wait(max(0.0, deadline - time.monotonic()))

    def close(self, timeout: float = 2.0) -> bool:
        """Detach, write what is queued, stop the thread. ``True`` if everything queued was
        handled within ``timeout`` seconds; never blocks longer than that."""
        deadline = time.monotonic() + timeout
        if not self._closed:
            self._closed = True
            for logger in self._loggers:
                logger.removeHandler(self.handler)
            self._loggers.clear()
            try:
                self._queue.put(_STOP, timeout=max(0.0, deadline - time.monotonic()))
            except queue.Full:
                return False
        self._thread.join(max(0.0, deadline - time.monotonic()))
        return not self._thread.is_alive()


def setup_logging(path: str | Path, level: int | str = "INFO", *, max_bytes: int = 20_000_000,
                  backup_count: int = 5, queue_size: int = 10_000,
                  logger: logging.Logger | None = None) -> LogWriter:
    """Route ``logger`` (default: the root logger) through a new :class:`LogWriter`."""
    target = logger if logger is not None else logging.getLogger()
    target.setLevel(level)
    writer = LogWriter(path, max_bytes=max_bytes, backup_count=backup_count,
                       queue_size=queue_size)
    writer.attach(target)
    return writer
