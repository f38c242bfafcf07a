"""Wiring an :class:`~tradovate_api.recording.writer.MdRecorder` into a :class:`.app.TradingApp`.

It lives with the app, not the recording format, so that recording never imports the runtime.

The recorder gets every raw md frame (the md session's frame observer, before decoding) and
the notes a replay needs: the contracts traded, which chart ids belong to which contract, md
reconnects, and when the strategy started. It is closed at shutdown.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from ..recording.writer import MdRecorder
from .observer import AppObserver, PreparedApp

if TYPE_CHECKING:
    from .app import TradingApp

CLOSE_TIMEOUT = 5.0


class RecorderObserver(AppObserver):
    """The app's md reader → recording notes."""

    def __init__(self, recorder: MdRecorder) -> None:
        self.recorder = recorder

    def on_prepared(self, app: PreparedApp) -> None:
        specs = list(app.contracts)
        self.recorder.reference([s.contract for s in specs], [s.maturity for s in specs],
                                [s.product for s in specs])

    def on_md_connection(self, number: int) -> None:
        self.recorder.connection("connected", number)

    def on_chart(self, contract_id: int, historical_id: int, realtime_id: int | None) -> None:
        # The app requests every chart with history and keeps what comes before its eoh as
        # history whatever the packets' id (``TradingApp._map_charts``): a replay must too.
        self.recorder.chart(contract_id, historical_id, realtime_id, history_first=True)

    def on_strategy_started(self) -> None:
        self.recorder.strategy("started")


def attach_recorder(app: TradingApp, recorder: MdRecorder) -> RecorderObserver:
    """Record ``app``'s market data (call before ``app.run()``)."""
    app.add_frame_observer(recorder.frame)
    observer = RecorderObserver(recorder)
    app.add_observer(observer)

    async def close() -> None:
        await asyncio.to_thread(recorder.close, CLOSE_TIMEOUT)

    app.add_shutdown_hook("close md recording", close, final=True)
    return observer
