"""Messages carried inside ``a[...]`` frames, and their single-pass decoder.

A message is either a response ``{"s":..,"i":..,"d":..}`` to a request, or an event
``{"e":kind,"d":..}``. The hot path (market data) decodes a whole frame in one msgspec pass
into tagged event Structs. A frame that contains a response, an unknown event kind or a
message that fails validation is decoded again message by message, so one bad message is
reported as a :class:`MessageError` while its neighbours still arrive.

Entities (``props`` events, the ``user/syncrequest`` snapshot) are decoded leniently (see
:mod:`.lenient`): an unreadable optional field is dropped, an array is decoded element by
element when one element fails, and an entity that still cannot be read is kept raw as a
:class:`BadEntity` beside its readable neighbours, for the consumer to act on.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeAlias

import msgspec

from .lenient import convert_leniently
from .models import ENTITY_CLASSES, ENTITY_TYPES, Entity
from .models.marketdata import ChartData, MarketData
from .models.sync import SyncMessage

DECODE_ERRORS = (msgspec.DecodeError, msgspec.ValidationError, RecursionError)
"""What decoding untrusted JSON can raise (absurdly deep nesting gives ``RecursionError``)."""


_NO_BODY = msgspec.Raw()


class Response(msgspec.Struct, frozen=True, gc=False, omit_defaults=True):
    """A response to request ``i`` with status ``s``; ``d`` is kept raw until the requester,
    who knows the expected type, decodes it (see :mod:`.correlation`). An absent ``d`` is an
    empty ``Raw``.

    Encodes back to the wire shape, so servers build responses with it too.
    """

    s: int
    i: int | str | None = None
    d: msgspec.Raw = _NO_BODY

    def __post_init__(self) -> None:
        # ``omit_defaults`` only recognises the default object itself; any other empty Raw
        # would encode as ``"d":}`` (invalid JSON), so swap it for the default.
        if not self.d and self.d is not _NO_BODY:
            msgspec.structs.force_setattr(self, "d", _NO_BODY)

    @property
    def body(self) -> bytes | None:
        """The raw JSON of ``d``, or ``None`` when the response has no ``d``."""
        return bytes(self.d) if self.d else None

    @property
    def request_id(self) -> int | str | None:
        return self.i

    @property
    def status(self) -> int:
        return self.s


class MarketDataEvent(msgspec.Struct, tag_field="e", tag="md", frozen=True, gc=False):
    """``e: "md"``: quotes, DOMs and histograms."""

    data: MarketData = msgspec.field(name="d")


class ChartEvent(msgspec.Struct, tag_field="e", tag="chart", frozen=True, gc=False):
    """``e: "chart"``: bar packets, packed tick packets and end-of-history marks."""

    data: ChartData = msgspec.field(name="d")


class Shutdown(msgspec.Struct, rename="camel", frozen=True, gc=False, omit_defaults=True):
    reason_code: str
    reason: str | None = None


class ShutdownEvent(msgspec.Struct, tag_field="e", tag="shutdown", frozen=True, gc=False):
    """``e: "shutdown"``: the server is about to close (maintenance, connection quota)."""

    data: Shutdown = msgspec.field(name="d")


class Props(msgspec.Struct, rename="camel", frozen=True, gc=False):
    """The ``d`` of a ``props`` event with the entity (object or array) still raw."""

    entity_type: str
    event_type: str
    entity: msgspec.Raw


class PropsEvent(msgspec.Struct, tag_field="e", tag="props", frozen=True, gc=False):
    """Wire form of an entity change; decoders turn it into an :class:`EntityEvent`."""

    data: Props = msgspec.field(name="d")


class ClockWire(msgspec.Struct, tag_field="e", tag="clock", frozen=True, gc=False):
    """Wire form of a replay clock event: ``d`` is a JSON *string*."""

    data: str = msgspec.field(name="d")


class UnknownEntity(msgspec.Struct, frozen=True, gc=False):
    """An entity of a type this version does not model, kept as its raw JSON."""

    entity_type: str
    raw: bytes

    def to_builtins(self) -> Any:
        return msgspec.json.decode(self.raw)


class BadEntity(UnknownEntity, frozen=True, gc=False):
    """An entity of a known type that could not be read even leniently (a required field
    missing or unreadable), kept as its raw JSON with the reason. Consumers that skip
    :class:`UnknownEntity` skip it too; the runtime resyncs when its type carries money."""

    reason: str = ""


class EntityEvent(msgspec.Struct, frozen=True, gc=False):
    """An entity Created/Updated/Deleted, decoded to its typed model.

    ``entities`` has one element when the wire carried a single object. ``repaired`` names
    the optional fields (``"fill.finallyPaired"``) dropped because they could not be read.
    """

    entity_type: str
    event_type: str
    entities: tuple[Entity | UnknownEntity, ...]
    repaired: tuple[str, ...] = ()

    @property
    def bad(self) -> tuple[BadEntity, ...]:
        """The entities that could not be read."""
        return tuple(e for e in self.entities if type(e) is BadEntity)


class ClockEvent(msgspec.Struct, frozen=True, gc=False):
    """Replay clock: ``time`` is the replay time, ``speed`` in percent (0 = paused)."""

    time: str
    speed: float


class _Clock(msgspec.Struct):
    t: str
    s: float = 0.0


class UnknownEvent(msgspec.Struct, frozen=True, gc=False):
    """An event kind this version does not know, kept raw."""

    kind: str
    data: bytes


class MessageError(msgspec.Struct, frozen=True, gc=False):
    """One message of a frame could not be decoded; ``raw`` is its JSON."""

    reason: str
    raw: bytes


Message: TypeAlias = (
    Response | MarketDataEvent | ChartEvent | EntityEvent | ClockEvent | ShutdownEvent
    | UnknownEvent | MessageError
)

_Wire = MarketDataEvent | ChartEvent | PropsEvent | ClockWire | ShutdownEvent
_fast_decoder = msgspec.json.Decoder(list[_Wire])


class _Envelope(msgspec.Struct):
    e: str | None = None
    s: int | None = None
    i: int | str | None = None
    d: msgspec.Raw = msgspec.Raw()


_envelopes_decoder = msgspec.json.Decoder(list[msgspec.Raw])
_envelope_decoder = msgspec.json.Decoder(_Envelope)
_clock_decoder = msgspec.json.Decoder(_Clock)
_str_decoder = msgspec.json.Decoder(str)
_payload_decoders: dict[str, Callable[[msgspec.Raw], Any]] = {
    "md": msgspec.json.Decoder(MarketData).decode,
    "chart": msgspec.json.Decoder(ChartData).decode,
    "props": msgspec.json.Decoder(Props).decode,
    "shutdown": msgspec.json.Decoder(Shutdown).decode,
    "clock": _str_decoder.decode,
}


def decode_entities(entity_type: str, raw: bytes | msgspec.Raw) -> tuple[Entity | UnknownEntity,
                                                                          ...]:
    """Decode a ``props`` entity (one object or an array) into typed models.

    Unknown entity types are kept as :class:`UnknownEntity`, never dropped; a known entity
    that cannot be read even leniently becomes a :class:`BadEntity` beside its neighbours.
    Raises ``msgspec.DecodeError`` only when ``raw`` is not JSON at all.
    """
    return _decode_entities(entity_type, raw)[0]


def _decode_entities(entity_type: str, raw: bytes | msgspec.Raw
                     ) -> tuple[tuple[Entity | UnknownEntity, ...], tuple[str, ...]]:
    """The entities and the ``entityType.field`` names of the optional fields dropped."""
    data = bytes(raw)
    is_array = data.lstrip()[:1] == b"["
    decoders = ENTITY_TYPES.get(entity_type)
    if decoders is None:
        parts = _envelopes_decoder.decode(data) if is_array else [data]
        return tuple(UnknownEntity(entity_type, bytes(p)) for p in parts), ()
    try:
        if is_array:
            return tuple(decoders[1].decode(data)), ()
        return (decoders[0].decode(data),), ()
    except msgspec.ValidationError:
        pass  # one odd field or element: decode each element leniently below
    parts = _envelopes_decoder.decode(data) if is_array else [msgspec.Raw(data)]
    entities: list[Entity | UnknownEntity] = []
    repaired: list[str] = []
    for part in parts:
        entity, dropped = decode_entity(entity_type, part)
        entities.append(entity)
        repaired.extend(f"{entity_type}.{name}" for name in dropped)
    return tuple(entities), tuple(repaired)


def decode_entity(entity_type: str, raw: bytes | msgspec.Raw
                  ) -> tuple[Entity | UnknownEntity, tuple[str, ...]]:
    """One entity of a known type, leniently: the model (and the optional fields dropped),
    or a :class:`BadEntity` with the reason."""
    data = bytes(raw)
    cls = ENTITY_CLASSES[entity_type]
    try:
        return ENTITY_TYPES[entity_type][0].decode(data), ()
    except DECODE_ERRORS:
        pass
    try:
        entity, dropped = convert_leniently(cls, msgspec.json.decode(data))
    except DECODE_ERRORS as exc:
        return BadEntity(entity_type, data, str(exc)), ()
    return entity, dropped


class SyncDecoded(msgspec.Struct, frozen=True, gc=False):
    """A ``user/syncrequest`` snapshot decoded leniently: ``message`` holds every entity
    that could be read; ``bad`` the ones that could not; ``repaired`` the optional fields
    dropped (``"position.prevPos"``)."""

    message: SyncMessage
    bad: tuple[BadEntity, ...] = ()
    repaired: tuple[str, ...] = ()


_sync_decoder = msgspec.json.Decoder(SyncMessage)
_sync_groups_decoder = msgspec.json.Decoder(dict[str, msgspec.Raw])
_SYNC_GROUPS: tuple[tuple[str, str, str], ...] = tuple(
    (field.name, field.encode_name, next(name for name, cls in ENTITY_CLASSES.items()
                                         if cls is field.type.__args__[0]))
    for field in msgspec.structs.fields(SyncMessage))
"""(attribute, wire name, entity type) of every entity list of a snapshot."""


def decode_sync(body: bytes | msgspec.Raw) -> SyncDecoded:
    """Decode a snapshot so that one unreadable entity costs only itself. Raises one of
    :data:`DECODE_ERRORS` when ``body`` is not a JSON object (or a group is not an array
    of objects at all)."""
    data = bytes(body)
    try:
        return SyncDecoded(_sync_decoder.decode(data))
    except msgspec.ValidationError:
        pass
    groups = _sync_groups_decoder.decode(data)
    lists: dict[str, list[Any]] = {}
    bad: list[BadEntity] = []
    repaired: list[str] = []
    for attribute, wire, entity_type in _SYNC_GROUPS:
        raw = groups.get(wire)
        if raw is None or bytes(raw).strip() == b"null":
            continue
        if bytes(raw).lstrip()[:1] != b"[":
            bad.append(BadEntity(entity_type, bytes(raw), f"{wire}: expected an array"))
            continue
        decoded, dropped = _decode_entities(entity_type, raw)
        lists[attribute] = [e for e in decoded if not isinstance(e, UnknownEntity)]
        bad.extend(e for e in decoded if type(e) is BadEntity)
        repaired.extend(dropped)
    return SyncDecoded(SyncMessage(**lists), tuple(bad), tuple(repaired))


def _entity_event(props: Props) -> EntityEvent:
    entities, repaired = _decode_entities(props.entity_type, props.entity)
    return EntityEvent(props.entity_type, props.event_type, entities, repaired)


def _clock_event(text: str) -> ClockEvent:
    clock = _clock_decoder.decode(text)
    return ClockEvent(clock.t, clock.s)


def _decode_one(raw: msgspec.Raw) -> Message:
    try:
        env = _envelope_decoder.decode(raw)
        if env.e is None:
            if env.s is None:
                return MessageError("message has neither 'e' nor 's'", bytes(raw))
            # ``copy`` detaches ``d`` from the input buffer: a memoryview from the websocket
            # library is reused once its callback returns, and responses may be kept longer.
            return Response(s=env.s, i=env.i, d=env.d.copy())
        decode = _payload_decoders.get(env.e)
        if decode is None:
            return UnknownEvent(env.e, bytes(env.d))
        if not env.d:
            return MessageError(f"event {env.e!r} has no 'd'", bytes(raw))
        payload = decode(env.d)
        if env.e == "md":
            return MarketDataEvent(payload)
        if env.e == "chart":
            return ChartEvent(payload)
        if env.e == "props":
            return _entity_event(payload)
        if env.e == "shutdown":
            return ShutdownEvent(payload)
        return _clock_event(payload)
    except DECODE_ERRORS as exc:
        return MessageError(str(exc), bytes(raw))


def decode_messages(payload: bytes | memoryview) -> list[Message]:
    """Decode the JSON array of an ``a`` frame into typed messages.

    Raises one of :data:`DECODE_ERRORS` only if ``payload`` is not a JSON array at all;
    every per-message problem becomes a :class:`MessageError` element instead.
    """
    try:
        wires = _fast_decoder.decode(payload)
    except DECODE_ERRORS:
        return [_decode_one(raw) for raw in _envelopes_decoder.decode(payload)]
    messages: list[Message] = wires  # type: ignore[assignment]
    for index, wire in enumerate(wires):
        kind = type(wire)
        if kind is PropsEvent or kind is ClockWire:
            try:
                messages[index] = (_entity_event(wire.data) if kind is PropsEvent  # type: ignore[arg-type]
                                   else _clock_event(wire.data))  # type: ignore[arg-type]
            except DECODE_ERRORS as exc:
                messages[index] = MessageError(str(exc), msgspec.json.encode(wire))
    return messages
