"""The child process of :func:`~tradovate_api.reports.worker.render_in_child`: a report
(msgpack) in on stdin, its notification (msgpack) out on stdout, at a lower CPU priority.
Run as ``python -m tradovate_api.reports.child``; nothing imports this module."""

from __future__ import annotations

import contextlib
import os
import sys

import msgspec

NICENESS = 10
"""How much lower than the trading process the child's CPU priority is (POSIX)."""


def main() -> int:
    if hasattr(os, "nice"):
        with contextlib.suppress(OSError):
            os.nice(NICENESS)
    from .data import ReportData
    from .notification import report_notification

    data = msgspec.msgpack.decode(sys.stdin.buffer.read(), type=ReportData)
    sys.stdout.buffer.write(msgspec.msgpack.encode(report_notification(data)))
    sys.stdout.buffer.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
