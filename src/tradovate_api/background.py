"""Background writer threads (log, journal, md recorder) must never win the CPU from the
event loop: on a 2-core machine a writer waking right after an order competes with the reader
for a core and for the GIL. Each such thread lowers its own scheduling priority when it
starts."""

from __future__ import annotations

import contextlib
import os
import threading

BACKGROUND_NICENESS = 10
"""How much lower than the process a background writer thread runs (Linux ``nice`` steps)."""


def lower_thread_priority(niceness: int = BACKGROUND_NICENESS) -> bool:
    """Lower the calling thread's priority (Linux: ``setpriority`` on the thread id affects
    only that thread). Returns whether it took effect; elsewhere it does nothing."""
    if not hasattr(os, "setpriority"):
        return False
    thread_id = threading.get_native_id()
    with contextlib.suppress(OSError):
        current = os.getpriority(os.PRIO_PROCESS, thread_id)
        os.setpriority(os.PRIO_PROCESS, thread_id, min(19, current + niceness))
        return True
    return False
