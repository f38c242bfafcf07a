"""Reading a DBN file (plain or zstd) record by record with databento-dbn's own decoder.

The file is fed to :class:`databento_dbn.DBNDecoder` in chunks, so a file of any size streams
in bounded memory. What the decoder cannot say on its own becomes a one-line
:class:`DbnFileError`: a file that is not DBN, and a truncated file — bytes left in the
decoder after the last complete record, or an unfinished zstd frame, which a download or copy
cut short leaves behind. Compression is told by the zstd magic number, not the file name.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ..errors import TradovateError

CHUNK_BYTES = 1 << 20
DBN_SUFFIXES = (".dbn", ".dbn.zst")
"""How DBN files are named (Databento downloads: ``*.dbn.zst``)."""
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"


class DbnFileError(TradovateError):
    """A DBN file that cannot be backtested as it is (the message says why, in one line)."""


def is_dbn(path: str | Path) -> bool:
    """Whether ``path`` is named as a DBN file."""
    return str(path).endswith(DBN_SUFFIXES)


def _plain_chunks(path: Path) -> Iterator[bytes]:
    """The file's bytes, zstd frames decompressed (a DBN ``.zst`` may hold several); a zstd
    frame cut short is :class:`DbnFileError` (zstandard's reader would end silently)."""
    import zstandard

    with path.open("rb") as file:
        first = file.read(CHUNK_BYTES)
        if not first.startswith(ZSTD_MAGIC):
            while first:
                yield first
                first = file.read(CHUNK_BYTES)
            return
        decompressor = zstandard.ZstdDecompressor()
        frame = decompressor.decompressobj()
        pending, started = first, False
        while pending:
            try:
                out = frame.decompress(pending)
            except zstandard.ZstdError as exc:
                raise DbnFileError(f"{path}: corrupt zstd data ({exc})") from None
            started = True
            if out:
                yield out
            if frame.eof:
                pending, started = frame.unused_data, False
                frame = decompressor.decompressobj()
                if pending:
                    continue
            pending = file.read(CHUNK_BYTES)
        if started and not frame.eof:
            raise DbnFileError(f"{path}: truncated: the last zstd frame is incomplete; the "
                               f"file was cut short")


def read_dbn(path: str | Path) -> Iterator[Any]:
    """The file's :class:`databento_dbn.Metadata`, then its records in file order."""
    import databento_dbn

    path = Path(path)
    if not path.is_file():
        raise DbnFileError(f"{path}: no such file")
    decoder = databento_dbn.DBNDecoder()
    count = 0
    for chunk in _plain_chunks(path):
        try:
            items = decoder.write_and_decode(chunk)
        except databento_dbn.DBNError as exc:
            raise DbnFileError(f"{path}: not a readable DBN file ({exc})") from None
        count += len(items)
        yield from items
    try:
        rest = len(decoder.buffer())
    except databento_dbn.DBNError as exc:
        raise DbnFileError(f"{path}: truncated ({exc})") from None
    if not count:
        raise DbnFileError(f"{path}: empty or truncated: no complete DBN header")
    if rest:
        raise DbnFileError(f"{path}: truncated: {rest} bytes after the last complete record "
                           f"({count - 1:,} records read); the file was cut short")
