"""The trading journal: every order request and response, account event, alert, reconnect
and strategy decision, in SQLite, written off the hot path; read back for restart
reconciliation, ``journal show`` and exports.

:class:`Journal` writes (one per process run), :class:`JournalReader` reads,
:func:`reconcile` / :class:`JournalReconciler` compare the journal with a fresh snapshot,
:class:`IntentLog` is the write-ahead file each request reaches before it is sent.
"""

from __future__ import annotations

from .intents import INTENT_STATE, Intent, IntentLog, read_intents
from .opening import DamagedJournal, FoldedIntents
from .reader import JournalReader
from .reconcile import (
    JournalReconciler,
    MissedFill,
    MissingOrder,
    OrderChange,
    PositionDifference,
    ReconciliationReport,
    UnacknowledgedRequest,
    WorkingOrder,
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
    TrailingRecord,
)
from .schema import MIGRATIONS, JournalError, migrate, schema_version
from .writer import Journal, SyncSummary, TicketLike

__all__ = [
    "INTENT_STATE", "MIGRATIONS", "AlertRecord", "ConnectionRecord", "DamagedJournal",
    "FoldedIntents", "GapRecord", "Intent", "IntentLog", "Journal", "JournalError",
    "JournalFill", "JournalOrder", "JournalPosition", "JournalReader", "JournalReconciler",
    "JournalState", "MissedFill", "MissingOrder", "OrderChange", "PositionDifference",
    "ReconciliationRecord", "ReconciliationReport", "RequestRecord", "RunInfo", "SyncSummary",
    "TicketEventRecord", "TicketLike", "TrailingRecord", "UnacknowledgedRequest",
    "WorkingOrder", "migrate", "read_intents", "reconcile", "schema_version",
]
