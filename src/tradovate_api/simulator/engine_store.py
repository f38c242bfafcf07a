"""The engine's entity tables: every user-data entity by type and id, with its owner.

Each stored entity remembers the user and the account it belongs to, so list/item/deps and
the sync snapshot only ever show a user their own data (and optionally only some accounts).
Entities of an earlier trade date (fills, finished orders...) are *archived*: still found by
id (``item``), no longer listed (``list``, ``deps``, the sync snapshot).
"""

from __future__ import annotations

from typing import Protocol, TypeVar, cast

from ..protocol.models import WireModel

T = TypeVar("T", bound=WireModel)

USER_DATA_TYPES = (
    "account", "accountRiskStatus", "marginSnapshot", "userAccountAutoLiq", "cashBalance",
    "position", "fillPair", "order", "command", "commandReport", "executionReport",
    "orderVersion", "fill", "orderStrategy", "orderStrategyLink",
)
"""Entity types the engine owns (the catalog's types come from the instrument catalog)."""

DEPS_FIELD: dict[str, str] = {
    "account": "user_id",
    "accountRiskStatus": "id",
    "marginSnapshot": "id",
    "userAccountAutoLiq": "id",
    "cashBalance": "account_id",
    "position": "account_id",
    "order": "account_id",
    "orderVersion": "order_id",
    "fill": "order_id",
    "command": "order_id",
    "commandReport": "command_id",
    "executionReport": "command_id",
    "fillPair": "position_id",
    "orderStrategy": "account_id",
    "orderStrategyLink": "order_strategy_id",
    "contractMaturity": "product_id",
    "contract": "contract_maturity_id",
    "product": "exchange_id",
}
"""``<entity>/deps?masterid=N``: the field of the detail entity that holds the master's id
(reference §1.3 master→detail table; account-keyed risk entities share the account's id)."""


class _Identified(Protocol):
    @property
    def id(self) -> int: ...


def entity_id(entity: WireModel) -> int:
    """The ``id`` every Tradovate entity has."""
    return cast(_Identified, entity).id


class EntityStore:
    """Insertion-ordered tables of user data; replacing an entity keeps its place."""

    def __init__(self) -> None:
        self._tables: dict[str, dict[int, WireModel]] = {name: {} for name in USER_DATA_TYPES}
        self._owners: dict[tuple[str, int], tuple[int, int]] = {}
        self._archived: set[tuple[str, int]] = set()

    def put(self, entity_type: str, entity: WireModel, user_id: int, account_id: int) -> None:
        ident = entity_id(entity)
        self._tables[entity_type][ident] = entity
        self._owners[(entity_type, ident)] = (user_id, account_id)

    def get(self, entity_type: str, ident: int, user_id: int) -> WireModel | None:
        """The entity if it exists and belongs to ``user_id``."""
        owner = self._owners.get((entity_type, ident))
        if owner is None or owner[0] != user_id:
            return None
        return self._tables[entity_type][ident]

    def archive(self, entity_type: str, ident: int) -> None:
        """Keep the entity for ``get`` but leave it out of every listing."""
        if (entity_type, ident) in self._owners:
            self._archived.add((entity_type, ident))

    def archived(self, entity_type: str, ident: int) -> bool:
        return (entity_type, ident) in self._archived

    def listed(self, entity_type: str) -> list[WireModel]:
        """Every listed (not archived) entity of a type, whoever owns it."""
        archived = self._archived
        return [e for i, e in self._tables[entity_type].items()
                if (entity_type, i) not in archived]

    def of_user(self, entity_type: str, user_id: int,
                account_ids: frozenset[int] | None = None) -> list[WireModel]:
        """The listed entities of a type owned by the user, optionally only of some
        accounts."""
        found: list[WireModel] = []
        archived = self._archived
        for ident, entity in self._tables[entity_type].items():
            if (entity_type, ident) in archived:
                continue
            owner_user, owner_account = self._owners[(entity_type, ident)]
            if owner_user == user_id and (account_ids is None or owner_account in account_ids):
                found.append(entity)
        return found

    def typed(self, entity_type: str, cls: type[T], user_id: int,
              account_ids: frozenset[int] | None = None) -> list[T]:
        """:meth:`of_user` narrowed to the model class stored under that type."""
        return [e for e in self.of_user(entity_type, user_id, account_ids) if isinstance(e, cls)]
