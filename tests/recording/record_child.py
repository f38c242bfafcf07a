"""Child process for the kill -9 test: records numbered frames for ever, announcing on stdout
how many are known written (after each ``flush``)."""

from __future__ import annotations

import sys
import time

from tradovate_api.recording import MdRecorder


def main() -> None:
    recorder = MdRecorder(sys.argv[1], flush_interval=0.05)
    n = 0
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        for _ in range(50):
            recorder.frame(b'a[{"e":"md","d":{"seq":%d}}]' % n)
            n += 1
        if n % 500 == 0:
            recorder.flush()
            print(n, flush=True)
        time.sleep(0.001)


if __name__ == "__main__":
    main()
