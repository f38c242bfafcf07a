"""The journal and the md recorder of a run, as the settings' ``[journal]`` and
``[recording]`` sections ask."""

from __future__ import annotations

from ..alerts import AlertSink
from ..journal.writer import Journal
from ..recording.writer import MdRecorder
from ..settings import Settings
from .app import TradingApp
from .journal_attach import JournalAlerts, JournalObserver, attach_journal
from .recording_attach import attach_recorder


class Persistence:
    """Open before the app is built (so the app's alert sink can journal every alert), then
    :meth:`attach` to it."""

    def __init__(self, settings: Settings, *, label: str = "") -> None:
        self.settings = settings
        js, rs = settings.journal, settings.recording
        self.journal = Journal(js.path, queue_size=js.queue_size, synchronous=js.synchronous,
                               label=label) if js.enabled else None
        self.recorder = MdRecorder(
            rs.directory, label=label, flush_interval=rs.flush_seconds, level=rs.level,
            max_pending=rs.max_pending_frames,
            rotate_bytes=None if rs.rotate_megabytes is None
            else int(rs.rotate_megabytes * 1_000_000)) if rs.enabled else None
        self.journal_observer: JournalObserver | None = None
        """Set by :meth:`attach`; its ``reconciler.restart`` is the restart report."""

    def alerts(self, sink: AlertSink) -> AlertSink:
        """``sink``, journaling every alert when the journal is on."""
        return sink if self.journal is None else JournalAlerts(sink, self.journal)

    def attach(self, app: TradingApp) -> None:
        if self.journal is not None:
            self.journal_observer = attach_journal(
                app, self.journal,
                cancel_previous_orders=self.settings.journal.cancel_previous_orders)
        if self.recorder is not None:
            attach_recorder(app, self.recorder)
