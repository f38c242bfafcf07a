"""Chaos soak: the client, in a process of its own, trading against the simulator at the
settings a user runs while faults are injected at random on both sides (``tradovate-api
chaos``); see :mod:`.soak` and docs/reliability.md."""

from __future__ import annotations

from .faults import FAULT_KINDS, FaultRecord, FaultScheduler, FaultTiming
from .soak import (
    ChaosConfig,
    ChaosResult,
    KindResult,
    chaos_settings,
    format_table,
    result_json,
    run_chaos,
)
from .strategy import ChurnStrategy

__all__ = [
    "FAULT_KINDS", "ChaosConfig", "ChaosResult", "ChurnStrategy", "FaultRecord",
    "FaultScheduler", "FaultTiming", "KindResult", "chaos_settings", "format_table",
    "result_json", "run_chaos",
]
