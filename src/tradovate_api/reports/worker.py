"""Charts, HTML and the notification rendered in a child process.

Matplotlib holds the GIL for most of a render (~0.2 s): in a thread of the trading process
that would stall the event loop for tens of milliseconds at a time, a hundred times the
tick-to-order p99. A child process shares no GIL, runs at a lower CPU priority, and cannot
take the trading process down if it crashes or hangs (it is killed then).

The parent sends the report as msgpack on the child's stdin; the child answers with the
notification as msgpack on stdout (:mod:`.child`).
"""

from __future__ import annotations

import asyncio
import contextlib
import sys

import msgspec

from ..notify.message import Notification
from .data import ReportData, ReportError

CHILD_MODULE = "tradovate_api.reports.child"
TIMEOUT_SECONDS = 120.0
"""A render takes well under a second; one this slow is stuck."""


async def render_in_child(data: ReportData) -> Notification:
    """The report's notification, rendered in a child process; :class:`ReportError` if the
    child fails or does not answer within :data:`TIMEOUT_SECONDS`. A timed-out or cancelled
    render kills the child."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", CHILD_MODULE, stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    try:
        async with asyncio.timeout(TIMEOUT_SECONDS):
            out, err = await proc.communicate(msgspec.msgpack.encode(data))
    except TimeoutError:
        raise ReportError(f"report rendering did not finish within {TIMEOUT_SECONDS:g} s"
                          ) from None
    finally:
        if proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            await proc.wait()
    if proc.returncode != 0:
        tail = err.decode(errors="replace").strip().splitlines()[-3:]
        raise ReportError(f"report rendering failed (exit {proc.returncode}): "
                          f"{' | '.join(tail) or 'no message'}")
    try:
        return msgspec.msgpack.decode(out, type=Notification)
    except msgspec.DecodeError as exc:
        raise ReportError(f"report rendering returned garbage: {exc}") from None
