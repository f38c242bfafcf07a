"""Background writer threads run at a lower priority than the event loop's thread."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from tradovate_api.background import BACKGROUND_NICENESS, lower_thread_priority
from tradovate_api.journal import Journal
from tradovate_api.logwriter import LogWriter

pytestmark = pytest.mark.skipif(not hasattr(os, "setpriority"), reason="POSIX only")


def _priority_of(thread: threading.Thread) -> int:
    assert thread.native_id is not None
    return os.getpriority(os.PRIO_PROCESS, thread.native_id)


def test_lowers_only_the_calling_thread() -> None:
    main = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    seen: list[tuple[bool, int]] = []

    def body() -> None:
        took = lower_thread_priority()
        seen.append((took, os.getpriority(os.PRIO_PROCESS, threading.get_native_id())))

    worker = threading.Thread(target=body)
    worker.start()
    worker.join(5)
    assert seen == [(True, min(19, main + BACKGROUND_NICENESS))]
    assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) == main


def _named(name: str) -> threading.Thread:
    return next(t for t in threading.enumerate() if t.name == name)


def test_journal_and_log_writers_run_below_the_loop(tmp_path: Path) -> None:
    main = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    expected = min(19, main + BACKGROUND_NICENESS)
    journal = Journal(tmp_path / "journal.db")
    log = LogWriter(tmp_path / "log.jsonl")
    try:
        assert journal.flush(5)  # the writer has started (and lowered itself) by now
        assert log.flush(5)
        assert _priority_of(_named("journal writer")) == expected
        assert _priority_of(_named("log-writer")) == expected
    finally:
        journal.close()
        log.close()
