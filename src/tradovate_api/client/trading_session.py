"""The trading (account) session: ``user/syncrequest`` on every connection, then ``props``.

The snapshot answering the sync request is handed to the consumer as a :class:`SyncSnapshot`
*on the reader*, before any ``props`` event that follows it on the wire is dispatched, so an
account store can replace or confirm its state from the snapshot and then apply later changes
in order. Events that arrived while disconnected are in the next snapshot; reconciling them is
the store's job.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import msgspec

from ..protocol.messages import Message
from ..protocol.models.sync import SyncMessage, SyncRequest
from .connection import Connection, ConnectionOptions
from .session import Session
from .tokens import TokenProvider, TokenRejected


class SyncSnapshot(msgspec.Struct, frozen=True, gc=False):
    """The full account state as of connection number ``connection`` (1 = first)."""

    message: SyncMessage
    connection: int


class TradingSession(Session):
    """The trading socket. ``run()`` is the supervisor's "account read" task. The consumer
    receives a :class:`SyncSnapshot` on each (re)connect, then ``EntityEvent``s."""

    def __init__(self, url: str, token: TokenProvider,
                 on_event: Callable[[Message | SyncSnapshot], None], *,
                 user_id: int, name: str = "trading", options: ConnectionOptions | None = None,
                 token_rejected: TokenRejected | None = None,
                 sync_request: SyncRequest | None = None) -> None:
        super().__init__(url, token, on_event, name=name, options=options,
                         token_rejected=token_rejected)
        self.user_id = user_id
        self.sync_request = sync_request or SyncRequest(users=[user_id])
        """Retail shape by default; partners pass ``splitResponses``/``entityTypes``."""
        self._consumer = on_event
        self.snapshots = 0

    async def _restore(self, connection: Connection) -> None:
        number = self.connects
        on_event = self._consumer

        def deliver(result: Any) -> None:
            if isinstance(result, SyncMessage):
                self.snapshots += 1
                on_event(SyncSnapshot(result, number))

        await connection.send_request("user/syncrequest", self.sync_request,
                                      result_type=SyncMessage, on_result=deliver)
