"""The cost of writing each order request ahead (``Journal.before_send``) on the order path.

The order manager calls ``before_send`` synchronously right before the request's frame is
written: one ``os.write`` of one encoded line to the pre-opened intent file (and an
``fdatasync`` with ``synchronous = "FULL"``). This times that call on the machine's disk, per
request, against the ticket's journal hand-over (``Journal.ticket``: encoded and appended to
the writer process's pipe buffer, which the order path already paid) for scale. It also times
the alternative to the ``write`` system call that was considered for the intent: the same
encoded line copied into a pre-opened ``MAP_SHARED`` mapping of a file (what survives a
``kill -9`` as the page cache does; ``msync`` of the touched page for ``FULL``). Each variant
is timed in every round in turn so machine load hits them alike; the figures are the median
and the 99th percentile of all calls.

Run: ``.venv/bin/python bench/journal_bench.py [--calls 5000] [--rounds 5]``.
Writes ``bench/results/journal.json``.
"""

from __future__ import annotations

import argparse
import json
import mmap
import os
import platform
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import msgspec

from bench.stats import percentile
from tradovate_api.journal import Intent, Journal
from tradovate_api.orders.tickets import OrderTicket, TicketKind


def _ticket(n: int) -> OrderTicket:
    return OrderTicket(cl_ord_id=f"19a3f2c4e1-{n}", kind=TicketKind.PLACE, symbol="ESZ6",
                       contract_id=3001, action="Buy", qty=1, order_type="Limit",
                       price=5000.25, trigger="net volume +212 in 1 s")


def _time_calls(call: Callable[[OrderTicket], Any], calls: int, start: int) -> list[int]:
    out = []
    clock = time.perf_counter_ns
    for n in range(start, start + calls):
        ticket = _ticket(n)
        began = clock()
        call(ticket)
        out.append(clock() - began)
    return out


class MappedIntents:
    """The considered alternative: intents copied into a pre-opened shared file mapping."""

    def __init__(self, path: Path, *, sync: bool, size: int = 64 << 20) -> None:
        self._fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        os.ftruncate(self._fd, size)
        self._map = mmap.mmap(self._fd, size, mmap.MAP_SHARED)
        self._at = 0
        self._sync = sync
        self._buffer = bytearray()
        self._encode = msgspec.json.Encoder().encode_into

    def before_send(self, ticket: OrderTicket) -> None:
        buffer = self._buffer
        self._encode(Intent(1, time.time_ns(), ticket.cl_ord_id, "PLACE", ticket.symbol,
                            ticket.contract_id, "Buy", ticket.qty, ticket.order_type,
                            ticket.price, ticket.stop_price, ticket.trigger, None), buffer)
        buffer += b"\n"
        at, end = self._at, self._at + len(buffer)
        self._map[at:end] = buffer
        if self._sync:
            page = at - at % mmap.PAGESIZE
            self._map.flush(page, end - page)
        self._at = end
        buffer.clear()

    def close(self) -> None:
        self._map.close()
        os.close(self._fd)


def run(calls: int, rounds: int, directory: Path) -> dict[str, Any]:
    journals = {
        "before_send (NORMAL)": Journal(directory / "normal.db", synchronous="NORMAL"),
        "before_send (FULL, fdatasync)": Journal(directory / "full.db", synchronous="FULL"),
        "ticket enqueue (for scale)": Journal(directory / "enqueue.db"),
    }
    mapped = {"mmap intent (considered, NORMAL)": MappedIntents(directory / "m1", sync=False),
              "mmap intent (considered, FULL, msync)": MappedIntents(directory / "m2",
                                                                     sync=True)}
    samples: dict[str, list[int]] = {name: [] for name in [*journals, *mapped]}
    for round_ in range(rounds):
        for name, journal in journals.items():
            call = journal.ticket if name.startswith("ticket") else journal.before_send
            samples[name] += _time_calls(call, calls, round_ * calls)
        for name, intents in mapped.items():
            samples[name] += _time_calls(intents.before_send, calls, round_ * calls)
    for journal in journals.values():
        journal.close()
    for intents in mapped.values():
        intents.close()
    results = {}
    for name, values in samples.items():
        results[name] = {"median_us": statistics.median(values) / 1000,
                         "p99_us": percentile(values, 0.99) / 1000,
                         "calls": len(values)}
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=5000, help="calls per variant and round")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--dir", default=None, help="where the journals go (default: a "
                                                    "temporary directory in the checkout)")
    args = parser.parse_args()
    here = Path(__file__).resolve().parent
    with tempfile.TemporaryDirectory(dir=args.dir or here) as tmp:
        results = run(args.calls, args.rounds, Path(tmp))
    for name, figures in results.items():
        print(f"{name:32} median {figures['median_us']:7.1f} µs   p99 "
              f"{figures['p99_us']:8.1f} µs   ({figures['calls']} calls)")
    out = here / "results" / "journal.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps({"machine": platform.platform(), "python": platform.python_version(),
                               "results": results}, indent=2) + "\n")
    print(f"written {out}")


if __name__ == "__main__":
    main()
