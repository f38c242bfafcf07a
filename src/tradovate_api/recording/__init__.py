"""Market-data recording: raw md frames with receive times in zstd files, rotated by trading
session, cheap enough to leave on; read back for replay.

:class:`MdRecorder` writes (see :mod:`.format` for the file layout), :class:`RecordingReader`
and :func:`read_frames` read.
"""

from __future__ import annotations

from .chart_history import mark_history
from .format import (
    FORMAT_VERSION,
    FRAME_NOTES,
    SUFFIX,
    ChartNote,
    ConnectionNote,
    Note,
    RecordingHeader,
    ReferenceNote,
    StrategyNote,
)
from .reader import (
    Entry,
    RecordingError,
    RecordingReader,
    in_effect_order,
    read_entries,
    read_frames,
    recording_files,
)
from .writer import MdRecorder

__all__ = [
    "FORMAT_VERSION",
    "FRAME_NOTES",
    "SUFFIX",
    "ChartNote",
    "ConnectionNote",
    "Entry",
    "MdRecorder",
    "Note",
    "RecordingError",
    "RecordingHeader",
    "RecordingReader",
    "ReferenceNote",
    "StrategyNote",
    "in_effect_order",
    "mark_history",
    "read_entries",
    "read_frames",
    "recording_files",
]
