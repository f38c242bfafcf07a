"""The garbage collector during a run: the start-up heap is frozen, so collections skip it.

Start-up leaves tens of thousands of long-lived objects behind (imported modules, settings,
contract tables, the stores). CPython's oldest-generation collection walks every tracked
object, a pause of 10-20 ms in the middle of trading whenever it runs. Just before the
strategy starts, :func:`freeze_startup_heap` collects once and moves everything alive into the
permanent generation that collections never walk; :func:`thaw` gives it back when the run
ends, so a process that runs several apps one after another (a test suite, a notebook) does
not keep their garbage for ever.
"""

from __future__ import annotations

import gc


def freeze_startup_heap() -> int:
    """Collect, then freeze what is left; returns how many objects were frozen."""
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()


def thaw() -> None:
    """Return frozen objects to the collector (the oldest generation)."""
    gc.unfreeze()
