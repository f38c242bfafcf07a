"""The runtime: supervised tasks, reconnect pacing and shutdown."""

from __future__ import annotations

from ..backoff import BackoffPolicy, BreakerPolicy, CircuitBreaker
from .supervisor import (
    EXIT_FAILURE,
    EXIT_FORCED,
    EXIT_OK,
    Action,
    Policy,
    ShutdownRequested,
    Supervisor,
    SupervisorOptions,
    TaskEnd,
    classify_end,
)

__all__ = [
    "EXIT_FAILURE", "EXIT_FORCED", "EXIT_OK", "Action", "BackoffPolicy", "BreakerPolicy",
    "CircuitBreaker", "Policy", "ShutdownRequested", "Supervisor", "SupervisorOptions",
    "TaskEnd", "classify_end",
]
