"""Token renewal in a running app (ADR 0002), against a simulator issuing 3-second tokens:
renewals happen before expiry without a login, without a reconnect and without a gap in
market data; sockets authorized with the login's token keep working after it expired on the
server; sockets opened after a renewal authorize with a renewed token."""

from __future__ import annotations

import asyncio
import itertools
from datetime import UTC, datetime
from pathlib import Path

import msgspec
import pytest
from app_helpers import Recorder, make_app, make_settings, running
from conftest import FAST_MARKET

from tradovate_api.client import RestClient
from tradovate_api.errors import Unauthorized
from tradovate_api.protocol.models import Account
from tradovate_api.simulator import Simulator
from tradovate_api.simulator.calendar import open_clock
from tradovate_api.stores import QuoteState

LIFETIME = 3.0
MARGIN = 1.5


class Timed(Recorder):
    """Also notes when each quote arrived (loop time)."""

    def __init__(self) -> None:
        super().__init__()
        self.quote_times: list[float] = []

    def on_quote(self, quote: QuoteState) -> None:
        self.quote_times.append(asyncio.get_running_loop().time())
        super().on_quote(quote)


async def test_renewal_before_expiry_keeps_sockets_and_data_and_new_sockets_use_it(
        tmp_path: Path) -> None:
    config = msgspec.structs.replace(FAST_MARKET, token_lifetime=LIFETIME)
    async with Simulator(config, seed=5, clock=open_clock()) as sim:
        strategy = Timed()
        settings = make_settings(sim, tmp_path, auth={"renewal_margin_seconds": MARGIN})
        app = make_app(sim, settings, strategy)
        async with running(app):
            auth, md, trading = app.auth, app.md, app.trading
            assert auth is not None
            assert md is not None
            assert trading is not None
            login = auth.current
            assert login is not None
            login_tokens = {login.access_token.reveal(), login.md_access_token.reveal()}
            loop = asyncio.get_running_loop()
            started = loop.time()
            while auth.renewals < 3:
                before = auth.current
                renewed = await asyncio.wait_for(auth.wait_for_new_token(before), LIFETIME)
                assert before is not None
                # renewed ahead of the previous token's expiry, by about the margin
                now = datetime.fromtimestamp(sim.clock(), UTC)
                left = (before.expires_at - now).total_seconds()
                assert 0 < left <= MARGIN + 0.5
                assert renewed.expires_at > before.expires_at
            assert auth.logins == 1
            # The login's tokens have expired on the server by now ...
            assert all(sim.tokens.valid(value) is None for value in login_tokens)
            # ... yet the sockets authorized with them were never re-opened, and they work:
            assert md.ready_count == 1
            assert trading.ready_count == 1
            assert app.supervisor.restarts == {name: 0 for name in app.supervisor.restarts}
            accounts = await trading.request("account/list", result_type=list[Account])
            assert [a.id for a in accounts] == [app.account_id]
            mark = len(strategy.quote_times)
            await strategy.until(lambda: len(strategy.quote_times) > mark + 5)
            # No gap in market data across the renewals and the old token's expiry.
            times = [t for t in strategy.quote_times if t >= started]
            gaps = [b - a for a, b in itertools.pairwise(times)]
            assert times[-1] - times[0] > LIFETIME
            assert max(gaps) < 0.5

            # REST with the login's token is now refused: only a renewed token can work.
            async def old_token() -> str:
                return login.access_token.reveal()

            old_rest = RestClient(sim.rest_url, old_token)
            try:
                with pytest.raises(Unauthorized):
                    await old_rest.request("account/list", result_type=list[Account])
            finally:
                await old_rest.close()

            # New sockets (after a drop) authorize with a renewed token, no login needed.
            await sim.faults.drop_connections()
            await asyncio.wait_for(md.wait_ready(2), 10)
            await asyncio.wait_for(trading.wait_ready(2), 10)
            used = [c.token.value for c in sim.connections if c.token is not None]
            assert len(used) == 2
            assert not set(used) & login_tokens
            assert auth.logins == 1
