"""Reading md recordings back: frames with their receive times, plus the notes.

:func:`read_frames` is the simple interface (``(ts_ns, frame_bytes)`` pairs); a
:class:`RecordingReader` also gives the header, the notes in stream order and whether the file
ended in an incomplete (crash-cut) zstd frame, which is dropped.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TypeAlias

import msgspec
import zstandard

from ..errors import TradovateError
from .format import (
    FORMAT_VERSION,
    FRAME,
    FRAME_NOTES,
    HEADER,
    NOTE,
    RECORD,
    SUFFIX,
    Note,
    RecordingHeader,
    decode_header,
    decode_note,
)

_log = logging.getLogger("tradovate_api.recording")
_CHUNK = 1 << 20
_HEADER_SIZE = RECORD.size
_unpack = RECORD.unpack_from


class RecordingError(TradovateError):
    """A file is not a recording, or is damaged beyond its last complete frame."""


Entry: TypeAlias = tuple[int, bytes] | tuple[int, Note]
"""(receive time ns, frame bytes) for a frame, (time, note) for a note."""


class RecordingReader:
    """One recording file. Iterate :meth:`entries` (frames and notes) or :meth:`frames`."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        if not self.path.is_file():
            raise RecordingError(f"{self.path}: no such recording")
        self.header: RecordingHeader | None = None
        self.truncated = False
        """True when the file ended inside a zstd frame (a writer killed mid-write)."""
        self.frame_count = 0

    def _decompressed(self) -> Iterator[bytes]:
        """Decompressed contents of each complete zstd frame, in order."""
        dctx = zstandard.ZstdDecompressor()
        obj = dctx.decompressobj()
        parts: list[bytes] = []
        fed = False
        with self.path.open("rb") as handle:
            while chunk := handle.read(_CHUNK):
                while chunk:
                    fed = True
                    try:
                        parts.append(obj.decompress(chunk))
                    except zstandard.ZstdError as exc:
                        if self.header is None:
                            raise RecordingError(f"{self.path}: not a recording ({exc})") from None
                        raise RecordingError(f"{self.path}: damaged recording: {exc}") from None
                    if not obj.eof:
                        break
                    yield b"".join(parts)
                    parts, fed = [], False
                    chunk = obj.unused_data
                    obj = dctx.decompressobj()
        self.truncated = fed

    def entries(self) -> Iterator[Entry]:
        """Frames and notes in stream order."""
        for block in self._decompressed():
            view = memoryview(block)
            offset, end = 0, len(block)
            while offset < end:
                if end - offset < _HEADER_SIZE:
                    raise RecordingError(f"{self.path}: record header cut at byte {offset}")
                length, ts, kind = _unpack(view, offset)
                start = offset + _HEADER_SIZE
                offset = start + length
                if offset > end:
                    raise RecordingError(f"{self.path}: record cut at byte {start}")
                payload = block[start:offset]
                if kind == FRAME:
                    self.frame_count += 1
                    yield ts, payload
                elif kind == NOTE:
                    try:
                        yield ts, decode_note(payload)
                    except msgspec.DecodeError:  # a newer note kind: skip it
                        continue
                elif kind == HEADER:
                    self._read_header(payload)
        if self.header is None:
            raise RecordingError(f"{self.path}: no header: not a recording or empty")

    def _read_header(self, payload: bytes) -> None:
        try:
            header = decode_header(payload)
        except msgspec.DecodeError as exc:
            raise RecordingError(f"{self.path}: bad header: {exc}") from None
        if header.format > FORMAT_VERSION:
            raise RecordingError(f"{self.path}: recording format {header.format} is newer than "
                                 f"this program reads ({FORMAT_VERSION})")
        self.header = header

    def frames(self) -> Iterator[tuple[int, bytes]]:
        """``(receive time ns, frame bytes)`` of every md frame."""
        for ts, item in self.entries():
            if isinstance(item, bytes):
                yield ts, item


def read_entries(paths: Iterable[str | Path]) -> Iterator[Entry]:
    """The entries of several recordings in order; a crash-cut tail is logged and skipped."""
    for path in paths:
        reader = RecordingReader(path)
        yield from reader.entries()
        if reader.truncated:
            _log.warning("%s ends in an incomplete block (the recorder was killed); its last "
                         "flush interval is missing", path)


def in_effect_order(entries: Iterable[Entry]) -> Iterator[Entry]:
    """Entries in the order they take effect: a chart or connection note, written just after
    the frame whose handling made it, comes before that frame (see :mod:`.format`)."""
    held: Entry | None = None
    for entry in entries:
        item = entry[1]
        if type(item) is bytes:
            if held is not None:
                yield held
            held = entry
        elif held is not None and isinstance(item, FRAME_NOTES):
            yield entry
        else:
            if held is not None:
                yield held
                held = None
            yield entry
    if held is not None:
        yield held


def read_frames(path: str | Path) -> Iterator[tuple[int, bytes]]:
    """``(receive time ns, frame bytes)`` of every md frame of one recording."""
    return RecordingReader(path).frames()


def recording_files(paths: Iterable[str | Path]) -> list[Path]:
    """Files given directly, plus every recording in given directories, in name order
    (names start with the session date and time, so that is time order)."""
    out: list[Path] = []
    for item in paths:
        path = Path(item)
        if path.is_dir():
            out.extend(sorted(p for p in path.iterdir() if p.name.endswith(SUFFIX)))
        else:
            out.append(path)
    return out
