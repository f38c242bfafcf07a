"""Trading reports: what happened in a session, as data, charts, HTML and a notification.

:func:`build_report` reads the stores, runtime metrics and order tickets into a
:class:`ReportData`; :func:`render_charts` and :func:`render_html` turn it into PNGs and a
self-contained page; :class:`ReportScheduler` makes one periodically and at the end of the
session, saves its JSON and hands the notification to the notification center.
"""

from __future__ import annotations

from .accounts import AccountPnL, per_account
from .archive import ReportArchive, load_report
from .build import MetricsLike, TicketLike, build_report
from .charts import render_charts
from .data import (
    AccountLine,
    ConnectionLine,
    FillMarker,
    LatencyStats,
    Point,
    PositionLine,
    PriceSeries,
    ReportData,
    ReportError,
    ReportKind,
    StageStats,
    Summary,
    TradeLine,
    decode_report,
    encode_report,
)
from .history import SessionHistory
from .html import render_html
from .latency import latency_breakdown, stage_durations
from .notification import render_text, report_notification
from .scheduler import ReportScheduler, ReportSources

__all__ = [
    "AccountLine",
    "AccountPnL",
    "ConnectionLine",
    "FillMarker",
    "LatencyStats",
    "MetricsLike",
    "Point",
    "PositionLine",
    "PriceSeries",
    "ReportArchive",
    "ReportData",
    "ReportError",
    "ReportKind",
    "ReportScheduler",
    "ReportSources",
    "SessionHistory",
    "StageStats",
    "Summary",
    "TicketLike",
    "TradeLine",
    "build_report",
    "decode_report",
    "encode_report",
    "latency_breakdown",
    "load_report",
    "per_account",
    "render_charts",
    "render_html",
    "render_text",
    "report_notification",
    "stage_durations",
]
