"""What the matching engine reports: entity changes, in the order the server must emit them."""

from __future__ import annotations

from typing import NamedTuple

from ..protocol.models import WireModel


class EntityChange(NamedTuple):
    """One ``props`` event for the user ``user_id`` (the server sends it to that user's
    synced sockets): ``entity_type`` is the wire name (``"order"``, ``"fill"``…),
    ``event_type`` is ``"Created"``, ``"Updated"`` or ``"Deleted"``."""

    user_id: int
    entity_type: str
    event_type: str
    entity: WireModel
