"""Every open websocket of a simulator: props routing, connection limits, mass closing.

``props`` events go to the trading sockets of the change's user that sent
``user/syncrequest``. On the awkward wire changes of one entity type and event type that
happen together leave as one event whose ``entity`` is an array (reference §3.2); on the tidy
wire each change is its own event, in the engine's order.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

import msgspec

from ..protocol import Props, PropsEvent
from .changes import EntityChange
from .session import SocketSession, shutdown_frame
from .session_context import log

if TYPE_CHECKING:
    from .session_context import ServerContext
    from .tokens import AuthSession

_encoder = msgspec.json.Encoder()


def props_messages(changes: Sequence[EntityChange], group: bool) -> list[tuple[str, bytes]]:
    """Encoded ``props`` events of one user's changes, with each event's entity type.

    ``group``: a change joins the latest event of its entity type when that event has the
    same event type, so e.g. the three orders an OSO creates leave as one event whose
    ``entity`` is an array; events of one entity type keep their relative order, while
    events of different types may move relative to each other, as on the real wire.
    """
    runs: list[tuple[str, str, list[EntityChange]]] = []
    latest: dict[str, int] = {}
    for change in changes:
        index = latest.get(change.entity_type) if group else None
        if index is not None and runs[index][1] == change.event_type:
            runs[index][2].append(change)
            continue
        latest[change.entity_type] = len(runs)
        runs.append((change.entity_type, change.event_type, [change]))
    out: list[tuple[str, bytes]] = []
    for entity_type, event_type, run in runs:
        entity = (_encoder.encode(run[0].entity) if len(run) == 1
                  else _encoder.encode([c.entity for c in run]))
        event = PropsEvent(Props(entity_type=entity_type, event_type=event_type,
                                 entity=msgspec.Raw(entity)))
        out.append((entity_type, _encoder.encode(event)))
    return out


class ConnectionRegistry:
    """Open sockets in opening order (oldest first)."""

    def __init__(self, ctx: ServerContext) -> None:
        self._ctx = ctx
        self._sockets: list[SocketSession] = []
        self._synced: dict[SocketSession, tuple[int, frozenset[str] | None]] = {}
        """Trading sockets that sent ``user/syncrequest``: their user and entity filter."""
        self._tasks: set[asyncio.Task[None]] = set()

    def _spawn(self, session: SocketSession, frames: list[bytes]) -> None:
        task = asyncio.create_task(session.close(frames))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def __len__(self) -> int:
        return len(self._sockets)

    def add(self, session: SocketSession) -> None:
        self._sockets.append(session)

    def remove(self, session: SocketSession) -> None:
        if session in self._sockets:
            self._sockets.remove(session)
        self._synced.pop(session, None)

    def synced(self, session: SocketSession, user_id: int,
               entity_types: frozenset[str] | None) -> None:
        """From now on ``user_id``'s changes (of ``entity_types``; None = all) go to it."""
        self._synced[session] = (user_id, entity_types)

    def sockets(self, kind: str = "all") -> list[SocketSession]:
        return [s for s in self._sockets if kind in ("all", s.kind)]

    def authorized(self, session: SocketSession) -> None:
        """A socket just authorized: enforce the per-user connection limit (oldest goes)."""
        limit = self._ctx.config.max_connections
        if not limit:
            return
        mine = [s for s in self._sockets if s.user_id == session.user_id and not s.closing]
        for old in mine[:max(len(mine) - limit, 0)]:
            log.info("%r: connection limit %d reached, closing the oldest", old, limit)
            self._spawn(old, [shutdown_frame("ConnectionQuotaReached")])

    def sessions_ended(self, ended: Iterable[AuthSession]) -> None:
        """Logins pushed out by newer ones: their sockets get ``shutdown`` and close."""
        gone = {id(s) for s in ended}
        for sock in list(self._sockets):
            if sock.token is not None and id(sock.token.session) in gone:
                log.info("%r: session ended by a newer login", sock)
                self._spawn(sock, [shutdown_frame("ConnectionQuotaReached")])

    def route(self, changes: Sequence[EntityChange]) -> None:
        """Send entity changes to their users' synced trading sockets."""
        if not changes:
            return
        by_user: dict[int, list[EntityChange]] = {}
        for change in changes:
            by_user.setdefault(change.user_id, []).append(change)
        group = self._ctx.config.awkward_wire
        for user_id, mine in by_user.items():
            targets = [(sock, wanted) for sock, (uid, wanted) in self._synced.items()
                       if uid == user_id]
            if not targets:
                continue
            messages = props_messages(mine, group)
            for sock, wanted in targets:
                sock.send_many([m for t, m in messages if wanted is None or t in wanted])

    async def close_all(self, kind: str, frames: list[bytes], *, abort: bool) -> int:
        """Close every socket of ``kind`` (after ``frames``, or abruptly)."""
        targets = [s for s in self.sockets(kind) if not s.closing]
        await asyncio.gather(*(s.close(frames, abort=abort) for s in targets))
        return len(targets)
