"""Saved reports: one JSON file per report in the reports directory, written atomically.

A file is written under a temporary name (a dot file, never matched as a report), flushed to
disk and then renamed over its final name, so a reader — ``tradovate-api report``, a person,
a crash at any moment — sees either the whole report or none of it. Names sort by time:
``report-20261124T150600123Z-periodic.json``.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import tempfile
from pathlib import Path

from .data import ReportData, ReportError, decode_report, encode_report

_PATTERN = "report-*.json"


def report_name(data: ReportData, t_ms: int | None = None) -> str:
    moment = dt.datetime.fromtimestamp((data.generated_ms if t_ms is None else t_ms) / 1000,
                                       dt.UTC)
    return (f"report-{moment:%Y%m%dT%H%M%S}{moment.microsecond // 1000:03d}Z-"
            f"{data.kind}.json")


def _fsync_directory(directory: Path) -> None:
    """Make the rename itself durable (not supported on every platform/file system)."""
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


class ReportArchive:
    """The reports directory (created on first save)."""

    def __init__(self, directory: str | Path) -> None:
        self.directory = Path(directory)

    def save(self, data: ReportData) -> Path:
        """Write ``data`` atomically; return its path. A name already taken (two reports in
        the same millisecond) moves to the next free millisecond, keeping the time order."""
        self.directory.mkdir(parents=True, exist_ok=True)
        raw = encode_report(data)
        handle = tempfile.NamedTemporaryFile(  # noqa: SIM115 - closed below, renamed after
            dir=self.directory, prefix=".report-", suffix=".tmp", delete=False)
        temp = Path(handle.name)
        try:
            with handle:
                handle.write(raw)
                handle.flush()
                os.fsync(handle.fileno())
            t_ms = data.generated_ms
            target = self.directory / report_name(data, t_ms)
            for _ in range(1000):
                if not target.exists():
                    break
                t_ms += 1
                target = self.directory / report_name(data, t_ms)
            else:
                raise ReportError(f"{self.directory}: no free report name near {target.name}")
            os.replace(temp, target)
        except BaseException:
            temp.unlink(missing_ok=True)
            raise
        _fsync_directory(self.directory)
        return target

    def paths(self) -> list[Path]:
        """Saved reports, oldest first."""
        if not self.directory.is_dir():
            return []
        return sorted(self.directory.glob(_PATTERN))

    def latest(self) -> Path | None:
        paths = self.paths()
        return paths[-1] if paths else None


def load_report(path: str | Path) -> ReportData:
    """Read a saved report; :class:`ReportError` says which file and why not."""
    file = Path(path)
    try:
        raw = file.read_bytes()
    except OSError as exc:
        raise ReportError(f"{file}: cannot read the report: {exc.strerror}") from None
    return decode_report(raw, str(file))
