"""The trading journal: every order request and response, account event, alert, reconnect
and strategy decision, in SQLite, written off the hot path; read back for restart
reconciliation, ``journal show`` and exports.

:class:`Journal` writes (one per process run), :class:`JournalReader` reads,
:func:`reconcile` / :class:`JournalReconciler` compare the journal with a fresh snapshot.
"""

from __future__ import annotations

from .reader import JournalReader
from .reconcile import (
    JournalReconciler,
    MissedFill,
    OrderChange,
    PositionDifference,
    ReconciliationReport,
    UnacknowledgedRequest,
    reconcile,
)
from .records import (
    AlertRecord,
    ConnectionRecord,
    GapRecord,
    JournalFill,
    JournalOrder,
    JournalPosition,
    JournalState,
    ReconciliationRecord,
    RequestRecord,
    RunInfo,
    TicketEventRecord,
)
from .schema import MIGRATIONS, JournalError, migrate, schema_version
from .writer import Journal, SyncSummary, TicketLike

__all__ = [
    "MIGRATIONS", "AlertRecord", "ConnectionRecord", "GapRecord", "Journal", "JournalError",
    "JournalFill", "JournalOrder", "JournalPosition", "JournalReader", "JournalReconciler",
    "JournalState", "MissedFill", "OrderChange", "PositionDifference", "ReconciliationRecord",
    "ReconciliationReport", "RequestRecord", "RunInfo", "SyncSummary", "TicketEventRecord",
    "TicketLike", "UnacknowledgedRequest", "migrate", "reconcile", "schema_version",
]
