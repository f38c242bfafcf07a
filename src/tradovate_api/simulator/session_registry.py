"""Every open websocket of a simulator: props routing, connection limits, mass closing,
and the requests that outlive their socket.

``props`` events go to the trading sockets of the change's user that sent
``user/syncrequest``. On the awkward wire changes of one entity type and event type that
happen together leave as one event whose ``entity`` is an array (reference §3.2); on the tidy
wire each change is its own event, in the engine's order. The event faults act here, per
socket: ``duplicate_events`` sends an event twice, ``replayed_events`` re-sends an earlier
(now stale) event after newer ones, ``out_of_order_events`` holds an event back to a later
frame, ``odd_fields`` changes the entities' fields. When an order of the
``partial_fills_across_reconnect`` fault fills its first part, its user's trading sockets are
cut right after that part's events. The registry knows a socket only as a
:class:`RegisteredSocket` (both socket kinds are one), so the sockets use the registry and the
registry never imports them.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections import deque
from collections.abc import Callable, Coroutine, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

import msgspec

from ..protocol import Props, PropsEvent
from .changes import EntityChange
from .engine_store import entity_id
from .outgoing import shutdown_frame
from .wire_oddities import CURRENT_SPEC_FIELDS, oddify, with_current_fields

if TYPE_CHECKING:
    from .config import SimulatorConfig
    from .engine import Exchange
    from .faults import Faults
    from .tokens import AuthSession, Token

log = logging.getLogger("tradovate_api.simulator")
_encoder = msgspec.json.Encoder()
EVENT_FAULTS = ("duplicate_events", "replayed_events", "out_of_order_events", "odd_fields")
_SPLIT_DROP_DELAY_S = 0.05
"""Time the first part's events get to leave before the socket is cut."""
EntityEncoder = Callable[[str, Any], Any]
"""Turns one entity (with its wire type) into what is encoded for the wire."""


EntityKey = tuple[str, int]
"""(entity type, id)."""


class RegisteredSocket(Protocol):
    """What the registry needs of an open websocket (:class:`~.session.SocketSession`)."""

    @property
    def kind(self) -> str:
        """``"trading"`` or ``"md"``."""
        ...

    @property
    def user_id(self) -> int | None: ...

    @property
    def closing(self) -> bool: ...

    @property
    def token(self) -> Token | None: ...

    def send(self, message: bytes) -> None: ...

    def send_many(self, messages: Sequence[bytes]) -> None: ...

    async def close(self, frames: Sequence[bytes] = (), *, abort: bool = False,
                    code: int = 1000, message: bytes = b"") -> None: ...

    def cut(self) -> None: ...


@dataclass(slots=True)
class _Sent:
    """An event recently sent to a socket: which entities it carried, and whether a newer
    version of one of them has been sent since (then re-sending it is a stale replay)."""

    keys: frozenset[EntityKey]
    message: bytes
    superseded: bool = False


def props_messages(changes: Sequence[EntityChange], group: bool,
                   encode: EntityEncoder | None = None
                   ) -> list[tuple[str, bytes, frozenset[EntityKey]]]:
    """Encoded ``props`` events of one user's changes, with each event's entity type and the
    entities it carries.

    ``group``: a change joins the latest event of its entity type when that event has the
    same event type, so e.g. the three orders an OSO creates leave as one event whose
    ``entity`` is an array; events of one entity type keep their relative order, while
    events of different types may move relative to each other, as on the real wire.
    ``encode`` may change each entity before it is encoded (the ``odd_fields`` fault).
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
    out: list[tuple[str, bytes, frozenset[EntityKey]]] = []
    for entity_type, event_type, run in runs:
        items = [c.entity if encode is None else encode(entity_type, c.entity) for c in run]
        entity = _encoder.encode(items[0] if len(items) == 1 else items)
        event = PropsEvent(Props(entity_type=entity_type, event_type=event_type,
                                 entity=msgspec.Raw(entity)))
        keys = frozenset((entity_type, entity_id(c.entity)) for c in run)
        out.append((entity_type, _encoder.encode(event), keys))
    return out


class ConnectionRegistry:
    """Open sockets in opening order (oldest first)."""

    def __init__(self, config: SimulatorConfig, exchange: Exchange, faults: Faults) -> None:
        self._config = config
        self._exchange = exchange
        self._faults = faults
        self._sockets: list[RegisteredSocket] = []
        self._synced: dict[RegisteredSocket, tuple[int, frozenset[str] | None]] = {}
        """Trading sockets that sent ``user/syncrequest``: their user and entity filter."""
        self._tasks: set[asyncio.Task[None]] = set()
        self._detached: set[asyncio.Task[None]] = set()
        self._recent: dict[RegisteredSocket, deque[_Sent]] = {}
        """Events recently sent to each socket (for ``replayed_events``)."""

    def _spawn(self, session: RegisteredSocket, frames: list[bytes]) -> None:
        task = asyncio.create_task(session.close(frames))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def __len__(self) -> int:
        return len(self._sockets)

    def add(self, session: RegisteredSocket) -> None:
        self._sockets.append(session)

    def remove(self, session: RegisteredSocket) -> None:
        if session in self._sockets:
            self._sockets.remove(session)
        self._synced.pop(session, None)
        self._recent.pop(session, None)

    def detach(self, coro: Coroutine[Any, Any, None]) -> None:
        """Run ``coro`` whatever happens to the socket that started it (a request that
        reached the server executes even if its socket dies); only :meth:`cancel_detached`
        stops it."""
        task = asyncio.get_running_loop().create_task(coro)
        self._detached.add(task)
        task.add_done_callback(self._detached.discard)

    async def cancel_detached(self) -> None:
        """The simulator stops: requests still held are dropped."""
        tasks = list(self._detached)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def synced(self, session: RegisteredSocket, user_id: int,
               entity_types: frozenset[str] | None) -> None:
        """From now on ``user_id``'s changes (of ``entity_types``; None = all) go to it."""
        self._synced[session] = (user_id, entity_types)

    def sockets(self, kind: str = "all") -> list[RegisteredSocket]:
        return [s for s in self._sockets if kind in ("all", s.kind)]

    def authorized(self, session: RegisteredSocket) -> None:
        """A socket just authorized: enforce the per-user connection limit (oldest goes)."""
        limit = self._config.max_connections
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
        if changes:
            self._route(changes)
        for user_id in self._exchange.take_split_fills():
            self._cut_trading(user_id)

    def _route(self, changes: Sequence[EntityChange]) -> None:
        by_user: dict[int, list[EntityChange]] = {}
        for change in changes:
            by_user.setdefault(change.user_id, []).append(change)
        group = self._config.awkward_wire
        faults = self._faults
        disturbed = faults.any_armed(EVENT_FAULTS)
        encode = self._wire_entity if self.reshapes() else None
        for user_id, mine in by_user.items():
            targets = [(sock, wanted) for sock, (uid, wanted) in self._synced.items()
                       if uid == user_id]
            if not targets:
                continue
            messages = props_messages(mine, group, encode)
            for sock, wanted in targets:
                out = [(k, m) for t, m, k in messages if wanted is None or t in wanted]
                sock.send_many(self._disturb(sock, out) if disturbed else [m for _, m in out])

    def reshapes(self) -> bool:
        """Whether entities leave in another shape than the 2021 schema's: the current
        spec's fields on the awkward wire (as the real server sends them), or the
        ``odd_fields`` fault."""
        return self._config.awkward_wire or self._faults.is_armed("odd_fields")

    def wire_builtins(self, entity_type: str, data: Any) -> Any:
        """One entity's JSON object as the wire carries it: as the ``odd_fields`` fault
        sends it when it fires, else with the current spec's fields on the awkward wire."""
        if not isinstance(data, dict):
            return data
        armed = self._faults.fire("odd_fields")
        if armed is not None:
            return oddify(entity_type, data, armed.rng,
                          omit_required=bool(armed.params["omit_required"]))
        return with_current_fields(entity_type, data) if self._config.awkward_wire \
            else data

    def _wire_entity(self, entity_type: str, entity: Any) -> Any:
        if entity_type not in CURRENT_SPEC_FIELDS and not self._faults.is_armed(
                "odd_fields"):
            return entity  # nothing to add: encoded as it is
        return self.wire_builtins(entity_type, msgspec.to_builtins(entity))

    def _disturb(self, sock: RegisteredSocket,
                 messages: list[tuple[frozenset[EntityKey], bytes]]) -> list[bytes]:
        """The event faults on what one socket is about to be sent."""
        faults = self._faults
        out: list[bytes] = []
        for _, message in messages:
            held = faults.fire("out_of_order_events")
            if held is not None:
                delay = held.rng.uniform(0.0, float(held.params["max_hold"]))
                asyncio.get_running_loop().call_later(max(delay, 0.01), sock.send, message)
                continue
            out.append(message)
            if faults.fire("duplicate_events") is not None:
                out.append(message)
        replay = faults.armed.get("replayed_events")
        if replay is not None:
            self._replay(sock, messages, out, replay.rng, int(replay.params["depth"]))
        return out

    def _replay(self, sock: RegisteredSocket, messages: list[tuple[frozenset[EntityKey], bytes]],
                out: list[bytes], rng: random.Random, depth: int) -> None:
        """``replayed_events``: after this batch, re-send an earlier event (of this batch or
        an earlier one) one of whose entities has been sent in a newer version since."""
        recent = self._recent.get(sock)
        if recent is None or recent.maxlen != depth:
            recent = self._recent[sock] = deque(recent or (), maxlen=depth)
        for keys, message in messages:
            for sent in recent:
                if not sent.superseded and sent.keys & keys:
                    sent.superseded = True
            recent.append(_Sent(keys, message))
        stale = [sent.message for sent in recent if sent.superseded]
        if stale and self._faults.fire("replayed_events") is not None:
            out.append(rng.choice(stale))

    def _cut_trading(self, user_id: int) -> None:
        """Cut the user's trading sockets once what is queued had a moment to leave."""
        for sock in self.sockets("trading"):
            if sock.user_id == user_id and not sock.closing:
                log.info("%r: cut between the parts of a partial fill", sock)
                asyncio.get_running_loop().call_later(_SPLIT_DROP_DELAY_S, sock.cut)

    async def close_all(self, kind: str, frames: list[bytes], *, abort: bool) -> int:
        """Close every socket of ``kind`` (after ``frames``, or abruptly)."""
        targets = [s for s in self.sockets(kind) if not s.closing]
        await asyncio.gather(*(s.close(frames, abort=abort) for s in targets))
        return len(targets)
