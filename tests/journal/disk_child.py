"""Child process of the full-disk test: a real journal under a real "disk full" condition.

The order path (the real ``OrderManager`` against the simulator's matching engine in-process,
``tests/trading/trading_helpers.Harness``) writes ahead to the journal and journals every
ticket. Then the process limits the size of the files it writes (``RLIMIT_FSIZE``, with
``SIGXFSZ`` ignored, so a write beyond the limit fails with ``EFBIG`` exactly as one on a full
disk fails with ``ENOSPC``: SQLite reports ``database or disk is full``), tries to trade and
journals records it can no longer store, lifts the limit, and trades again. It prints one
``RESULT <json>`` line with what it saw; the test reads the journal file afterwards.
"""

from __future__ import annotations

import asyncio
import json
import resource
import signal
import sys

from trading_helpers import Harness

from tradovate_api.alerts import AlertLog
from tradovate_api.journal import Journal
from tradovate_api.orders import OrderTicket
from tradovate_api.strategy import Strategy

RECORDS = 400
"""Records journaled while the disk is full (besides the tickets)."""


async def main(path: str) -> dict[str, object]:
    h = Harness(Strategy())
    alerts = AlertLog()
    journal = Journal(path, alerts=alerts, probe_seconds=0.1)
    journal.bind_loop(asyncio.get_running_loop())
    outage_tickets = 0
    outage = False

    def count(_: OrderTicket) -> None:
        nonlocal outage_tickets
        outage_tickets += outage

    h.orders.add_listener(journal.ticket)
    h.orders.add_listener(count)
    h.orders.set_before_send(journal.before_send)
    h.set_book("ESZ6", [(4999.75, 10)], [(5000.0, 10)])
    h.sync()
    resting = h.orders.place("ESZ6", "Buy", 1, order_type="Limit", price=4990.0,
                             trigger="rests below the market")
    await h.settle()
    journal.connection("md", "before the disk filled")
    assert journal.flush()

    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, (1, hard))  # the disk is full from here
    outage = True
    ahead = h.orders.place("ESZ6", "Buy", 1, order_type="Limit", price=4990.0,
                           trigger="cannot be written ahead")
    for i in range(RECORDS):
        journal.connection("md", f"while full {i}")
    assert journal.flush()  # every record of the outage has been tried (and lost)
    halted = journal.halted
    refused = h.orders.place("ESZ6", "Buy", 1, order_type="Limit", price=4990.0,
                             trigger="refused while the journal cannot write")
    cancel = h.orders.cancel(resting, trigger="cancels still go out")
    await h.settle()
    assert journal.flush()
    outage = False
    lost_during = journal.lost
    resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))  # space again

    for _ in range(200):  # the idle writer records the gap on its own (bounded: 10 s)
        if journal.halted is None:
            break
        await asyncio.sleep(0.05)
    resumed = journal.halted is None
    after = h.orders.place("ESZ6", "Buy", 1, order_type="Limit", price=4989.0,
                           trigger="after the disk has room")
    await h.settle()
    journal.connection("md", "after the disk had room")
    assert journal.close()
    await asyncio.sleep(0)  # alerts from the writer thread
    resting_state = h.account.order(resting.order_id or 0)
    return {
        "ahead": [ahead.state, ahead.reason], "halted": halted,
        "refused": [refused.state, refused.reason], "cancel": [cancel.state, cancel.reason],
        "resting_status": None if resting_state is None else resting_state.status,
        "resumed": resumed, "after": [after.state, after.reason],
        "lost": journal.lost, "lost_during": lost_during,
        "expected_lost": RECORDS + outage_tickets,
        "alerts": [[str(a.severity), a.key] for a in alerts.recent],
        "after_cl_ord_id": after.cl_ord_id, "refused_cl_ord_id": refused.cl_ord_id,
        "ahead_cl_ord_id": ahead.cl_ord_id,
    }


if __name__ == "__main__":
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails, never kills
    print("RESULT", json.dumps(asyncio.run(main(sys.argv[1]))), flush=True)
