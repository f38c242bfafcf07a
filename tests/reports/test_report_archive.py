"""Saved reports: atomic writes (never a half-written report), time order, clear errors."""

from __future__ import annotations

import os
from pathlib import Path

import msgspec
import pytest
from report_session import Session

from tradovate_api.reports import ReportArchive, ReportData, ReportError, build_report, load_report


def _data(played: Session, **changes: object) -> ReportData:
    data = build_report(played.account, played.market, None, played.tickets,
                        now_ms=played.now_ms)
    return msgspec.structs.replace(data, **changes)


def test_save_then_load_gives_the_same_report(played: Session, tmp_path: Path) -> None:
    archive = ReportArchive(tmp_path / "nested" / "reports")
    data = _data(played)
    path = archive.save(data)
    assert path.name == "report-20261124T150600000Z-periodic.json"
    assert load_report(path) == data
    assert sorted(p.name for p in path.parent.iterdir()) == [path.name]  # no temp left


def test_latest_is_the_newest_by_time_and_same_millisecond_names_stay_ordered(
        played: Session, tmp_path: Path) -> None:
    archive = ReportArchive(tmp_path)
    assert archive.latest() is None
    base = played.now_ms
    later = archive.save(_data(played, generated_ms=base + 7_200_000))
    first = archive.save(_data(played, generated_ms=base))
    again = archive.save(_data(played, generated_ms=base))  # same millisecond
    end = archive.save(_data(played, generated_ms=base + 7_200_000, kind="session_end"))
    assert again.name == "report-20261124T150600001Z-periodic.json"
    assert archive.paths() == [first, again, later, end]
    assert archive.latest() == end
    assert load_report(again).generated_ms == base


def test_a_failed_write_leaves_no_report_and_no_temp_file(
        played: Session, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    archive = ReportArchive(tmp_path)
    good = archive.save(_data(played))

    def crash(src: object, dst: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError, match="No space"):
        archive.save(_data(played, generated_ms=played.now_ms + 1000))
    assert sorted(tmp_path.iterdir()) == [good]
    assert archive.latest() == good


def test_readers_never_see_a_partial_file(played: Session, tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """At the moment of the rename the temp file is complete, and until then it is a dot
    file that ``latest()`` does not return."""
    archive = ReportArchive(tmp_path)
    data = _data(played)
    seen: list[tuple[Path | None, bytes]] = []
    real_replace = os.replace

    def observe(src: str, dst: str) -> None:
        seen.append((archive.latest(), Path(src).read_bytes()))
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", observe)
    path = archive.save(data)
    ((latest_before, temp_bytes),) = seen
    assert latest_before is None
    assert temp_bytes == path.read_bytes()


@pytest.mark.parametrize(("content", "message"), [
    (b"", "not a valid report"),
    (b'{"kind": "periodic"', "not a valid report"),
    (b"[1, 2]", "not a valid report"),
    (b'{"kind": "weekly", "generated_ms": 1}', "not a valid report"),
])
def test_bad_files_give_a_report_error_naming_the_file(tmp_path: Path, content: bytes,
                                                        message: str) -> None:
    path = tmp_path / "report-x.json"
    path.write_bytes(content)
    with pytest.raises(ReportError, match=message) as info:
        load_report(path)
    assert str(path) in str(info.value)


def test_other_schema_versions_are_refused(played: Session, tmp_path: Path) -> None:
    path = ReportArchive(tmp_path).save(_data(played, schema=99))
    with pytest.raises(ReportError, match="schema 99 is not supported"):
        load_report(path)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ReportError, match="cannot read the report"):
        load_report(tmp_path / "nope.json")
