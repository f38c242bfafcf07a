"""What every benchmark client shares: its command line, its counters and its ``RESULT`` line.

A client connects ``<url>/md`` and ``<url>/trading``, authorizes both, subscribes quotes and
DOMs of :data:`bench.wire.CONTRACTS`, a tick chart of each, and *last* the probe contract's
quote (the feeder starts once that arrives). On a probe quote it sends a limit
``order/placeorder`` at the probe's bid. When the feeder closes the md socket the client
prints ``RESULT <json>`` with its counters and exits.
"""

from __future__ import annotations

import argparse
import json
import resource
import time
from typing import Any


class Counters:
    """Counted on the reader from the first probe the client answers (the feeder counts from
    that probe too): ``data_frames`` are frames with at least one md entry (every feeder
    frame is one message), ``events`` the entries (quotes, DOMs, tick packets) applied. CPU
    and wall time are measured over the same span."""

    __slots__ = ("counting", "cpu_first", "cpu_last", "data_frames", "events", "orders",
                 "wall_first", "wall_last")

    def __init__(self) -> None:
        self.counting = False
        self.data_frames = 0
        self.events = 0
        self.orders = 0
        self.cpu_first = 0.0
        self.wall_first = 0.0
        self.cpu_last: float | None = None
        self.wall_last: float | None = None

    def order(self) -> None:
        """An order was sent; the first one starts the counting."""
        self.orders += 1
        if not self.counting:
            self.counting = True
            self.cpu_first = time.process_time()
            self.wall_first = time.perf_counter()

    def frame(self, events: int) -> None:
        """One data frame with ``events`` entries arrived and was applied."""
        if self.counting:
            self.data_frames += 1
            self.events += events

    def stop(self) -> None:
        """The counted span ends now (else at :meth:`finish`): what the client does between
        the two, such as closing a browser page, is not counted."""
        self.cpu_last = time.process_time()
        self.wall_last = time.perf_counter()

    def finish(self, **extra: Any) -> None:
        """Print the ``RESULT`` line."""
        counted = self.counting
        cpu_last = time.process_time() if self.cpu_last is None else self.cpu_last
        wall_last = time.perf_counter() if self.wall_last is None else self.wall_last
        result = {"data_frames": self.data_frames, "events": self.events, "orders": self.orders,
                  "cpu_s": cpu_last - self.cpu_first if counted else 0.0,
                  "wall_s": wall_last - self.wall_first if counted else 0.0,
                  "max_rss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, **extra}
        print("RESULT " + json.dumps(result), flush=True)


def parse_args(description: str, argv: list[str] | None = None, *,
               full_options: bool = False) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--url", required=True, help="feeder base URL, e.g. ws://127.0.0.1:9000")
    parser.add_argument("--rest", default=None, help="feeder REST base, e.g. http://...:9001/v1")
    parser.add_argument("--timeout", type=float, default=3600.0,
                        help="give up after this many seconds")
    if full_options:
        parser.add_argument("--busy-poll", action="store_true",
                            help="switch on the framework's busy-poll mode")
        parser.add_argument("--dashboard", action="store_true",
                            help="serve the dashboard with one headless page open on it")
    return parser.parse_args(argv)
