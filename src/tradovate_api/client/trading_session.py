"""The trading (account) session: ``user/syncrequest`` on every connection, then ``props``.

The snapshot answering the sync request is handed to the consumer as a :class:`SyncSnapshot`
*on the reader*, before any ``props`` event that follows it on the wire is dispatched, so an
account store can replace or confirm its state from the snapshot and then apply later changes
in order. Events that arrived while disconnected are in the next snapshot; reconciling them is
the store's job.

The snapshot is decoded leniently (``protocol.decode_sync``): an entity that cannot be read
is reported in ``SyncSnapshot.bad`` instead of costing the whole snapshot, and the consumer
decides whether the snapshot is usable. :meth:`TradingSession.resync` asks for a fresh
snapshot by ending the connection (the supervisor reconnects, the new connection syncs).

``user/syncrequest`` has its own limit (reference §7.1: 300 an hour per IP); over it Tradovate
answers with a penalty ticket (§7.2). That is a wait, not an end: the session waits ``p-time``
on the open connection and sends the identical request again with the ``p-ticket`` — only a
``p-captcha`` ticket, which no program can clear, ends the attempt.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

import msgspec

from ..errors import PenaltyTicket, ProtocolError
from ..protocol.messages import DECODE_ERRORS, BadEntity, Message, decode_sync
from ..protocol.models.sync import SyncMessage, SyncRequest
from .connection import Connection, ConnectionOptions
from .ends import ConnectFailed
from .session import Session
from .tokens import TokenProvider, TokenRejected

_log = logging.getLogger("tradovate_api.client.trading_session")

MAX_SYNC_PENALTIES = 5
"""Penalty tickets honoured for one connection's ``user/syncrequest`` before giving up."""


class SyncSnapshot(msgspec.Struct, frozen=True, gc=False):
    """The full account state as of connection number ``connection`` (1 = first).

    ``bad`` lists the entities that could not be read (``message`` lacks them: the snapshot
    is incomplete); ``repaired`` the optional fields dropped because they could not be
    read (``"position.prevPos"``)."""

    message: SyncMessage
    connection: int
    bad: tuple[BadEntity, ...] = ()
    repaired: tuple[str, ...] = ()


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
        unreadable: list[str] = []

        def deliver(result: Any) -> None:
            if not isinstance(result, msgspec.Raw):
                return
            try:
                decoded = decode_sync(result)
            except DECODE_ERRORS as exc:
                unreadable.append(str(exc))
                return
            self.snapshots += 1
            on_event(SyncSnapshot(decoded.message, number, decoded.bad, decoded.repaired))

        body: Any = self.sync_request
        for penalties in range(MAX_SYNC_PENALTIES + 1):
            try:
                await connection.send_request("user/syncrequest", body,
                                              result_type=msgspec.Raw, on_result=deliver)
            except PenaltyTicket as penalty:
                if penalty.captcha or penalties == MAX_SYNC_PENALTIES:
                    raise
                _log.warning("%s: user/syncrequest penalized; sending it again with the "
                             "ticket in %.1fs", self.name, penalty.seconds)
                await asyncio.sleep(penalty.seconds)
                body = {**msgspec.to_builtins(self.sync_request), "p-ticket": penalty.ticket}
                continue
            except ProtocolError as exc:
                unreadable.append(str(exc))
            break
        if unreadable:
            # Nothing reached the store; the next connection asks again (the supervisor
            # counts this as a failed attempt).
            connection.close_nowait(reason="unreadable snapshot")
            raise ConnectFailed(f"{self.name}: the sync snapshot is unreadable: "
                                f"{unreadable[0]}")

    def resync(self, reason: str) -> bool:
        """End the current connection so that the next one (the supervisor reconnects at
        once) brings a fresh snapshot; False when not connected (the next connection syncs
        anyway)."""
        connection = self.connection
        if connection is None:
            return False
        connection.abort(f"resync: {reason}")
        return True
