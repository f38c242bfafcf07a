"""Freezing the start-up heap: frozen objects are skipped by collections until thawed."""

from __future__ import annotations

import gc

from tradovate_api.runtime.heap import freeze_startup_heap, thaw


def test_freeze_moves_the_live_heap_out_of_the_collector_until_thawed() -> None:
    class Cycle:
        def __init__(self) -> None:
            self.me = self

    assert gc.get_freeze_count() == 0
    survivor = [1, 2, 3]
    Cycle()  # garbage with a cycle: the freeze's own collection removes it
    try:
        frozen = freeze_startup_heap()
        assert frozen > 1_000  # the interpreter's modules at least
        assert gc.get_freeze_count() > 1_000
        assert not any(type(o) is Cycle for o in gc.get_objects())
        assert all(o is not survivor for o in gc.get_objects())  # frozen, out of gen 0-2
    finally:
        thaw()
    assert gc.get_freeze_count() == 0
    assert any(o is survivor for o in gc.get_objects())
