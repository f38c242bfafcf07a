"""``python -m bench.dashboard_page --url URL``: one headless dashboard page for the
``full-dash`` client, in a process of its own.

The client under measurement starts it (so the page's Playwright driver never shares the
trading loop), and it opens the page in Debian's Chromium (headless, Playwright), waits until
the page shows the app live and has rendered a pushed snapshot, prints ``READY``, then keeps
the page open until its standard input closes (or ``--timeout``), closes the browser and
prints ``RESULT {"updates": n}``: the snapshots the page rendered.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import sys

CHROMIUM = "/usr/bin/chromium"
READY_TIMEOUT_S = 20.0


def chromium() -> str | None:
    """Debian's Chromium, else one on the ``PATH``; ``None`` when there is none."""
    return CHROMIUM if os.path.exists(CHROMIUM) else shutil.which("chromium")


async def _stdin_closed() -> None:
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    while await reader.read(4096):
        pass


async def view(url: str, timeout_s: float) -> int:
    """Open ``url``, report ``READY``, hold the page until stdin closes; its updates."""
    from playwright.async_api import async_playwright

    executable = chromium()
    if executable is None:
        raise SystemExit("no chromium (Debian: apt-get install chromium)")
    async with asyncio.timeout(timeout_s), async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=executable, headless=True, timeout=READY_TIMEOUT_S * 1000,
            args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"])
        try:
            page = await browser.new_page()
            await page.goto(url, timeout=READY_TIMEOUT_S * 1000)
            await page.wait_for_function(
                "document.getElementById('link').textContent === 'live' "
                "&& Number(document.body.dataset.updates || 0) > 0",
                timeout=READY_TIMEOUT_S * 1000)
            print("READY", flush=True)
            await _stdin_closed()
            updates = int(await page.evaluate("Number(document.body.dataset.updates || 0)"))
        finally:
            await browser.close()
    return updates


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True, help="the page's address, with its token")
    parser.add_argument("--timeout", type=float, default=3600.0,
                        help="close the page after this many seconds at the latest")
    args = parser.parse_args(argv)
    updates = asyncio.run(view(args.url, args.timeout))
    print("RESULT " + json.dumps({"updates": updates}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
