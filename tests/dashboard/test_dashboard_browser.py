"""The dashboard in a real headless Chromium (Playwright driving Debian's ``chromium``): the
page opens with the token and is refused without it; positions and P&L follow the
simulator's fills, and the sent order's latency by stage shows; the kill switch flattens and the
simulator's own ledger confirms it; with two accounts, each has its buttons, a halted one says
why, and its refusals carry its name."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import msgspec
import pytest
from dashboard_helpers import FAST_MARKET, Served, chromium, served_app
from playwright.async_api import Page, async_playwright, expect

from tradovate_api.orders import TicketState
from tradovate_api.simulator.config import AccountConfig, UserConfig
from tradovate_api.stores import QuoteState
from tradovate_api.strategy import Strategy

TIMEOUT_MS = 15_000


class BuysOnce(Strategy):
    """On its first quote (so the order has a tick-to-order time) buys one contract; the
    protective stop then works beside the position."""

    bought = False

    def on_quote(self, quote: QuoteState) -> None:
        ctx = self.ctx
        symbol = ctx.trading_symbol
        if self.bought or symbol is None or quote.contract_id != ctx.contract_id(symbol):
            return
        self.bought = True
        ctx.buy(symbol, 1, trigger="dashboard test entry")


@pytest.fixture
async def browser_page() -> AsyncIterator[Page]:
    executable = chromium()
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=executable, headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"])
        try:
            page = await browser.new_page(viewport={"width": 1280, "height": 1000})
            page.set_default_timeout(TIMEOUT_MS)
            yield page
        finally:
            await browser.close()


def _sim_state(served: Served) -> tuple[int, int]:
    """The simulator's own view of the traded account: net position in the traded
    contract and working orders."""
    app, sim = served.app, served.sim
    account_id = app.account_id
    assert account_id is not None
    user = sim.exchange.account(account_id)
    assert user is not None
    sync = sim.exchange.sync(user.user_id)
    spec = app.contracts.get(app.symbol)
    assert spec is not None
    net = sum(p.net_pos for p in sync.positions
              if p.account_id == account_id and p.contract_id == spec.contract_id)
    working = sum(1 for o in sync.orders
                  if o.account_id == account_id and o.ord_status == "Working")
    return net, working


async def _updates(page: Page) -> int:
    """Snapshots the page has rendered."""
    return int(await page.evaluate("Number(document.body.dataset.updates || 0)"))


async def _until(predicate: object, limit: float = 10.0) -> None:
    """Poll ``predicate`` (the simulator's state has no event to wait on)."""
    assert callable(predicate)
    async with asyncio.timeout(limit):
        while not predicate():  # noqa: ASYNC110
            await asyncio.sleep(0.05)


async def test_the_page_is_refused_without_the_token(tmp_path: Path,
                                                     browser_page: Page) -> None:
    async with served_app(tmp_path) as served:
        response = await browser_page.goto(served.server.url)
        assert response is not None
        assert response.status == 401
        assert "token is missing" in await browser_page.content()
        response = await browser_page.goto(served.server.url + "?token=wrong")
        assert response is not None
        assert response.status == 403
        opened = await browser_page.evaluate(
            """url => new Promise(done => { const ws = new WebSocket(url);
                 ws.onopen = () => done("open"); ws.onerror = () => done("refused"); })""",
            served.server.url.replace("http", "ws") + "ws")
        assert opened == "refused"


async def test_positions_and_pnl_follow_the_fills_and_the_kill_switch_flattens(
        tmp_path: Path, browser_page: Page) -> None:
    page = browser_page
    async with served_app(tmp_path, BuysOnce()) as served:
        app = served.app
        await _until(lambda: _sim_state(served) == (1, 1))
        response = await page.goto(f"{served.server.url}?token={served.token}")
        assert response is not None
        assert response.status == 200
        assert "token=" not in page.url  # kept in a cookie, out of the address bar
        await expect(page.locator("#link")).to_have_text("live")
        traded = page.locator(f"[data-account='{app.account_id}']")
        position = traded.locator(f"tr[data-symbol='{app.symbol}'] .net-pos")
        await expect(position).to_have_text("+1")
        await expect(traded.locator("tbody.orders tr[data-order]")).to_have_count(1)
        await expect(page.locator("#pnl-open")).not_to_have_text("–")
        await expect(page.locator("#connections")).to_contain_text("up")
        await expect(page.locator("#latency")).to_contain_text("samples")
        # the per-order breakdown: the entry, placed on a quote, went through every stage to
        # the wire and was answered (the protective stop, placed on the fill, has no frame)
        tick_to_order = page.locator("#breakdown tr[data-stage='tick_to_order'] td")
        await expect(tick_to_order.nth(0)).to_have_text("frame → written")
        await expect(tick_to_order.nth(1)).to_have_text("1")
        await expect(page.locator("#breakdown tr[data-stage='ack']")).to_have_count(1)
        await expect(page.locator("#breakdown-note")).to_contain_text("newest 1,000 orders")
        # P&L moves with the market: further pushes arrive without the page asking
        updates = await _updates(page)
        async with asyncio.timeout(10):
            while await _updates(page) <= updates:  # noqa: ASYNC110 (the page's counter)
                await asyncio.sleep(0.1)

        flatten = page.locator("button[data-action='flatten']").first
        await flatten.click()
        await expect(flatten).to_have_text("Confirm: Flatten all?")
        assert _sim_state(served) == (1, 1)  # one click does nothing
        await flatten.click()
        await expect(page.locator("#result")).to_have_attribute("data-ok", "true")
        await _until(lambda: _sim_state(served) == (0, 0))
        await expect(position).to_have_text("0")
        await expect(traded.locator("tbody.orders tr[data-order]")).to_have_count(0)
        await expect(page.locator("#banner")).to_contain_text("New entries halted")
        await expect(page.locator("#alerts")).to_contain_text("dashboard.flatten")
        assert app.orders is not None
        refused = app.orders.place(app.symbol, "Buy", 1, trigger="after the flatten")
        assert "halted from the dashboard" in refused.reason
        await expect(page.locator("#refusals")).to_contain_text("halted from the dashboard")

        shot = tmp_path / "dashboard.png"
        await page.screenshot(path=str(shot), full_page=True)
        assert shot.stat().st_size > 10_000
        print(f"dashboard screenshot: {shot}")

        resume = page.locator("button[data-action='resume']")
        await resume.click()
        await resume.click()
        await expect(page.locator("#result")).to_contain_text("new entries allowed again")
        await expect(page.locator("#banner")).to_have_text("")


async def test_every_traded_account_has_its_buttons_its_halt_and_its_refusals(
        tmp_path: Path, browser_page: Page) -> None:
    page = browser_page
    market = msgspec.structs.replace(FAST_MARKET, users=[UserConfig(
        name="sim", password="sim", accounts=[AccountConfig(name=n) for n in ("EVAL", "FUNDED")])])
    extra: dict[str, object] = {
        "accounts": [{"name": "EVAL"}, {"name": "FUNDED"}],
        "strategies": [{"name": "idle", "class": "dashboard_helpers:Idle",
                        "accounts": ["EVAL", "FUNDED"]}]}
    async with served_app(tmp_path, extra=extra, market=market) as served:
        app = served.app
        ids = {a.name: a.account_id for a in app.accounts}
        funded = next(a for a in app.accounts if a.name == "FUNDED")
        funded.risk.kill("test: FUNDED's limit")
        refused = funded.orders.place(app.symbol, "Buy", 1, trigger="after the halt")
        assert refused.state is TicketState.REFUSED
        response = await page.goto(f"{served.server.url}?token={served.token}")
        assert response is not None
        assert response.status == 200
        for name, account_id in ids.items():
            box = page.locator(f"#accounts > div[data-account='{account_id}']")
            await expect(box.locator("h3")).to_contain_text(f"{name} ({account_id}) — traded")
            await expect(box.locator("button[data-action='flatten']")).to_have_count(1)
        halted = page.locator(f"#accounts > div[data-account='{ids['FUNDED']}'] .halted")
        await expect(halted).to_contain_text("orders halted: test: FUNDED's limit")
        await expect(page.locator(f"#accounts > div[data-account='{ids['EVAL']}'] .halted")
                     ).to_have_count(0)
        await expect(page.locator("#banner")).to_contain_text("FUNDED: test: FUNDED's limit")
        await expect(page.locator("#refusals")).to_contain_text(f"FUNDED: Buy 1 {app.symbol}")
