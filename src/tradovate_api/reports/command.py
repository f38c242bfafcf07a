"""``tradovate-api report``: render a saved report (by default the newest) to an HTML file."""

from __future__ import annotations

import os
from pathlib import Path

from ..settings import Reports, load_settings
from .archive import ReportArchive, load_report
from .data import ReportError
from .html import render_html

DEFAULT_SETTINGS = "settings.toml"


def reports_directory(settings_path: str | None) -> Path:
    """The reports directory of the settings file; without ``--settings``, that of
    ``./settings.toml`` if it exists, else the default (``./reports``)."""
    if settings_path is None and not Path(DEFAULT_SETTINGS).exists():
        return Path(Reports().directory)
    return Path(load_settings(settings_path or DEFAULT_SETTINGS).reports.directory)


def render_report_file(settings_path: str | None = None, input_path: str | None = None,
                       output_path: str | None = None) -> tuple[Path, Path]:
    """Render ``input_path`` (default: the newest saved report) to ``output_path`` (default:
    the same name with ``.html``); return (input, output). :class:`ReportError` or
    :class:`~tradovate_api.errors.ConfigError` say what is wrong."""
    if input_path is not None:
        source = Path(input_path)
    else:
        directory = reports_directory(settings_path)
        latest = ReportArchive(directory).latest()
        if latest is None:
            raise ReportError(f"{directory}: no saved reports (a running strategy saves one "
                              f"after [reports] first_after_minutes, and one when it stops)")
        source = latest
    page = render_html(load_report(source))
    target = Path(output_path) if output_path is not None else source.with_suffix(".html")
    temp = target.with_name(f".{target.name}.tmp")
    try:
        temp.write_text(page, encoding="utf-8")
        os.replace(temp, target)
    except OSError as exc:
        temp.unlink(missing_ok=True)
        raise ReportError(f"{target}: cannot write the HTML report: {exc.strerror}") from None
    return source, target
