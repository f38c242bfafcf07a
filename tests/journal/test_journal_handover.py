"""Records put on the event loop reach the writer thread when the loop's callback is done.

An account event is journaled and then, in the same callback, acted on: the copier sends
twenty followers' orders, the protective stop goes out after a fill. Handing the event's
record to the writer thread at once woke that thread in the middle of the callback; it then
took the GIL when the order path released it for the write-ahead ``write`` and the order
waited for it (the copier's first follower order: ~300 µs in a third of the leader's events).
The records are staged and handed over by one ``call_soon``; nothing is lost or reordered,
whichever thread flushes or closes the journal.
"""

from __future__ import annotations

import asyncio
import queue
import sqlite3
from pathlib import Path

from tradovate_api.journal import Journal


def _connections(path: Path) -> list[tuple[str, str]]:
    with sqlite3.connect(path) as conn:
        return conn.execute("SELECT session, event FROM connections ORDER BY id").fetchall()


class _NotingQueue:
    """The writer's queue, noting where the loop was whenever a record is given to it."""

    def __init__(self, inner: queue.SimpleQueue[object], where: list[str],
                 label: list[str]) -> None:
        self._inner, self._where, self._label = inner, where, label

    def put(self, item: object) -> None:
        self._where.append(self._label[0])
        self._inner.put(item)

    def qsize(self) -> int:
        return self._inner.qsize()


def _watched(path: Path, where: list[str], label: list[str]) -> Journal:
    """A journal (opened on the running loop) whose writer's queue notes where the loop was."""
    journal = Journal(path, linger=0.0)
    journal._queue = _NotingQueue(journal._queue, where, label)  # type: ignore[assignment]
    return journal


def test_records_put_in_a_loop_callback_reach_the_writer_after_it(tmp_path: Path) -> None:
    path = tmp_path / "journal.db"
    where: list[str] = []
    label = ["outside"]

    async def main() -> int:
        journal = _watched(path, where, label)
        pending: list[int] = []

        def callback() -> None:  # an account event journaled, then the orders it causes
            label[0] = "in the callback"
            journal.connection("trading", "event 1")
            journal.connection("trading", "event 2")
            pending.append(journal.pending)
            label[0] = "after it"

        asyncio.get_running_loop().call_soon(callback)
        await asyncio.sleep(0)  # the loop runs the callback, which schedules the hand-over
        await asyncio.sleep(0)  # the loop runs the hand-over
        label[0] = "at close"  # a record handed over only by close would say so
        assert await asyncio.to_thread(journal.close)
        return pending[0]

    assert asyncio.run(main()) == 2, "staged records count as pending"
    assert where[:2] == ["after it", "after it"], (
        f"the writer thread was handed records {where[:2]}")
    assert _connections(path) == [("trading", "event 1"), ("trading", "event 2")]


def test_closing_from_another_thread_writes_what_is_still_staged_in_order(
        tmp_path: Path) -> None:
    path = tmp_path / "journal.db"

    async def main() -> None:
        journal = Journal(path, linger=0.0)
        for n in range(5):
            journal.connection("md", f"staged {n}")
        # The shutdown closes the journal in a thread while the hand-over is still scheduled.
        assert await asyncio.to_thread(journal.close)
        journal.connection("md", "after close")  # ignored, as before

    asyncio.run(main())
    assert _connections(path) == [("md", f"staged {n}") for n in range(5)]


def test_flush_on_the_loop_includes_the_staged_records(tmp_path: Path) -> None:
    path = tmp_path / "journal.db"

    async def main() -> int:
        journal = Journal(path, linger=0.0)
        journal.connection("md", "connected")
        assert journal.flush()  # on the loop's thread, before the hand-over ran
        written = journal.written
        assert await asyncio.to_thread(journal.close)
        return written

    assert asyncio.run(main()) == 1


def test_records_from_another_thread_go_straight_to_the_writer(tmp_path: Path) -> None:
    path = tmp_path / "journal.db"
    where: list[str] = []
    label = ["in the thread"]

    async def main() -> None:
        journal = _watched(path, where, label)
        await asyncio.to_thread(journal.connection, "md", "from a thread")
        label[0] = "later"
        assert await asyncio.to_thread(journal.close)

    asyncio.run(main())
    assert where[0] == "in the thread"
    assert _connections(path) == [("md", "from a thread")]
