"""Chaos soak: the full runtime trading against the simulator while faults are injected at
random (``tradovate-api chaos``); see :mod:`.soak` and docs/reliability.md."""

from __future__ import annotations

from .faults import FAULT_KINDS, FaultRecord, FaultScheduler, FaultTiming
from .invariants import Invariants
from .receiver import AlertReceiver
from .soak import ChaosConfig, ChaosResult, chaos_settings, format_table, result_json, run_chaos
from .strategy import ChurnStrategy

__all__ = [
    "FAULT_KINDS", "AlertReceiver", "ChaosConfig", "ChaosResult", "ChurnStrategy",
    "FaultRecord", "FaultScheduler", "FaultTiming", "Invariants", "chaos_settings",
    "format_table", "result_json", "run_chaos",
]
