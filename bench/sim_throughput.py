"""How many market-data messages per second the simulator pushes to one client on loopback.

Starts ``tradovate-api sim`` in a subprocess (so client and server do not share a core),
ticking as fast as it can, subscribes one light ``websockets`` client to quotes and DOM of
every contract and counts the messages inside the ``a[...]`` frames it receives.

    .venv/bin/python bench/sim_throughput.py [--seconds 10] [--steps-per-tick 2] [--feeds Quote]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import sys
import time
import urllib.request

import msgspec
from websockets.asyncio.client import connect

_count_decoder = msgspec.json.Decoder(list[msgspec.Raw])
_URL = re.compile(r"^(\w+)\s+(\S+)$")


async def _start_server(steps_per_tick: int) -> tuple[asyncio.subprocess.Process, dict[str, str]]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tradovate_api.cli", "sim", "--port", "0", "--md-port", "0", "--open",
        "--tick-interval", "0", "--steps-per-tick", str(steps_per_tick), "--warm-up", "0",
        stdout=asyncio.subprocess.PIPE)
    assert proc.stdout is not None
    urls: dict[str, str] = {}
    while len(urls) < 3:
        line = (await asyncio.wait_for(proc.stdout.readline(), 30)).decode().strip()
        match = _URL.match(line)
        if match:
            urls[match[1]] = match[2]
    return proc, urls


def _token(rest_url: str) -> str:
    request = urllib.request.Request(
        f"{rest_url}/auth/accesstokenrequest", method="POST",
        data=json.dumps({"name": "sim", "password": "sim"}).encode(),
        headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as reply:
        return str(json.load(reply)["mdAccessToken"])


async def _measure(md_url: str, token: str, seconds: float,
                   feeds: list[str]) -> tuple[int, int, float]:
    async with connect(md_url, max_size=None, ping_interval=None) as ws:
        await ws.recv()  # "o"
        await ws.send(f"authorize\n1\n\n{token}")
        request_id = 2
        for symbol in ("@ES", "@NQ", "@MES", "@MNQ"):  # the front months, whatever the date
            for endpoint in (f"md/subscribe{feed}" for feed in feeds):
                await ws.send(f'{endpoint}\n{request_id}\n\n{{"symbol":"{symbol}"}}')
                request_id += 1
        messages = frames = 0
        last_heartbeat = start = time.perf_counter()
        end = start + seconds
        while (now := time.perf_counter()) < end:
            data = await ws.recv(decode=False)
            frames += 1
            if data[:1] == b"a":
                messages += len(_count_decoder.decode(data[1:]))
            if now - last_heartbeat > 2.0:
                await ws.send("[]")
                last_heartbeat = now
        return messages, frames, time.perf_counter() - start


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--steps-per-tick", type=int, default=2)
    parser.add_argument("--feeds", default="Quote,DOM", help="comma-separated: Quote,DOM")
    args = parser.parse_args()
    proc, urls = await _start_server(args.steps_per_tick)
    try:
        token = await asyncio.to_thread(_token, urls["REST"])
        messages, frames, elapsed = await _measure(urls["md"], token, args.seconds,
                                                  args.feeds.split(","))
    finally:
        proc.terminate()
        await proc.wait()
    print(f"{messages / elapsed:,.0f} md messages/s ({frames / elapsed:,.0f} frames/s, "
          f"{messages / max(frames, 1):.1f} messages/frame) over {elapsed:.1f} s")


if __name__ == "__main__":
    try:
        import uvloop

        uvloop.run(main())
    except ImportError:
        asyncio.run(main())
