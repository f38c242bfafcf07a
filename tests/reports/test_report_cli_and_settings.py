"""``tradovate-api report`` and the ``[reports]`` settings section."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import msgspec
import pytest
from report_session import Session

from tradovate_api.cli import main
from tradovate_api.errors import ConfigError
from tradovate_api.reports import ReportArchive, build_report
from tradovate_api.settings import Reports, load_settings, settings_from_mapping


def _save(played: Session, directory: Path, **changes: object) -> Path:
    data = build_report(played.account, played.market, None, played.tickets,
                        now_ms=played.now_ms)
    return ReportArchive(directory).save(msgspec.structs.replace(data, **changes))


def test_renders_the_newest_report_of_the_settings_directory(
        played: Session, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    settings = tmp_path / "settings.toml"
    settings.write_text('[reports]\ndirectory = "out/reports"\n', encoding="utf-8")
    directory = tmp_path / "out" / "reports"
    _save(played, directory)
    newest = _save(played, directory, generated_ms=played.now_ms + 60_000, kind="session_end")
    assert main(["report", "--settings", str(settings)]) == 0
    html = newest.with_suffix(".html")
    assert capsys.readouterr().out.strip() == f"report: {newest} -> {html}"
    page = html.read_text(encoding="utf-8")
    assert "<title>End-of-session report · 2026-11-24 15:07:00 UTC</title>" in page
    assert page.count("data:image/png;base64,") == 2


def test_without_settings_uses_reports_in_the_current_directory(
        played: Session, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    saved = _save(played, tmp_path / "reports")
    output = tmp_path / "mine.html"
    assert main(["report", "--output", str(output)]) == 0
    assert output.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert not saved.with_suffix(".html").exists()


def test_the_console_script_runs(played: Session, tmp_path: Path) -> None:
    saved = _save(played, tmp_path)
    script = Path(sys.executable).with_name("tradovate-api")
    done = subprocess.run([str(script), "report", "--input", str(saved)], capture_output=True,
                          text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert saved.with_suffix(".html").stat().st_size > 20_000


@pytest.mark.parametrize(("setup", "args", "message"), [
    ("empty", [], "no saved reports"),
    ("garbage", ["--input", "{dir}/report-bad.json"], "not a valid report"),
    ("none", ["--input", "{dir}/missing.json"], "cannot read the report"),
    ("settings", ["--settings", "{dir}/settings.toml"], "reports.every_minutes"),
    ("none", ["--settings", "{dir}/nope.toml"], "cannot read the settings file"),
    ("report", ["--output", "{dir}/no/such/dir/out.html"], "cannot write the HTML report"),
])
def test_errors_are_one_clear_line_and_exit_1(
        played: Session, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str], setup: str, args: list[str], message: str) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "reports").mkdir()
    if setup == "garbage":
        (tmp_path / "report-bad.json").write_text("{\"kind\": 3}", encoding="utf-8")
    if setup == "settings":
        (tmp_path / "settings.toml").write_text("[reports]\nevery_minutes = 0\n",
                                                encoding="utf-8")
    if setup == "report":
        _save(played, tmp_path / "reports")
    assert main(["report", *[a.format(dir=tmp_path) for a in args]]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("report error: ")
    assert message in captured.err
    assert captured.err.count("\n") == 1


def test_reports_section_defaults_and_paths(tmp_path: Path) -> None:
    assert Reports() == Reports(enabled=True, first_after_minutes=30.0, every_minutes=120.0,
                                end_of_session=True, directory="reports", sample_seconds=60.0)
    file = tmp_path / "settings.toml"
    file.write_text("[reports]\nfirst_after_minutes = 5\nevery_minutes = 60\n"
                    "directory = \"state/reports\"\n", encoding="utf-8")
    reports = load_settings(file).reports
    assert (reports.first_after_minutes, reports.every_minutes) == (5.0, 60.0)
    assert reports.directory == str(tmp_path / "state" / "reports")
    absolute = settings_from_mapping({"reports": {"directory": "/var/reports"}}, tmp_path)
    assert absolute.reports.directory == "/var/reports"


@pytest.mark.parametrize(("table", "message"), [
    ({"every_minutes": 0.5}, "reports.every_minutes: expected float >= 1.0"),
    ({"first_after_minutes": -1}, "reports.first_after_minutes: expected float >= 0.0"),
    ({"sample_seconds": 0}, "reports.sample_seconds: expected float >= 1.0"),
    ({"directory": "  "}, "reports.directory: empty"),
    ({"every_minute": 60}, "reports.every_minute: unknown key"),
    ({"enabled": "yes"}, "reports.enabled: expected bool, got str"),
])
def test_reports_section_rejects_bad_values(table: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError) as info:
        settings_from_mapping({"reports": table})
    assert str(info.value).startswith(message)
