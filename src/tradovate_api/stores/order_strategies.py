"""Order strategies as the account store keeps them: ``orderStrategy`` and
``orderStrategyLink`` entities (the protocol reference §5.2, §6.7).

A multibracket order strategy (``orderStrategy/startorderstrategy``) is an entity of its own;
its orders are tied to it by ``orderStrategyLink`` entities labelled ``Entry``, ``Target`` or
``Stop`` (the labels are undocumented; they are the simulator's). The tables here keep both
kinds as they arrive, in any order (a link that comes before its strategy is kept), and answer
what the order manager and strategies ask: a strategy by id, by the client id its request
carried (``customTag50`` or ``uuid``: how a request whose answer was lost is found again), the
strategy an order belongs to, a strategy's orders by label. Answers are frozen
:class:`StrategyState` records.

Only the account store's writer calls the mutating methods (single writer, like every other
table of the store); views read.
"""

from __future__ import annotations

from typing import Any

import msgspec

from ..protocol.models import OrderStrategy, OrderStrategyLink

STRATEGY_DONE = frozenset({"ExecutionFailed", "ExecutionFinished", "ExecutionInterrupted",
                           "NotEnoughLiquidity", "StoppedByUser"})
"""Statuses after which none of a strategy's orders can trade any more (§5.2).
``InactiveStrategy`` is undocumented and is not taken as done."""
ENTRY, TARGET, STOP = "Entry", "Target", "Stop"


class StrategyState(msgspec.Struct, frozen=True, gc=False):
    """An order strategy with the links to its orders (oldest link first)."""

    strategy: OrderStrategy
    links: tuple[OrderStrategyLink, ...]

    @property
    def id(self) -> int:
        return self.strategy.id

    @property
    def status(self) -> str:
        """``ActiveStrategy`` while it works, then how it ended (``StoppedByUser`` after an
        interrupt, ``ExecutionFailed`` when the entry was rejected, ...)."""
        return self.strategy.status

    @property
    def is_done(self) -> bool:
        """None of its orders can trade any more."""
        return self.strategy.status in STRATEGY_DONE

    def order_ids(self, label: str | None = None) -> tuple[int, ...]:
        """Its orders (with ``label`` only: ``Entry``, ``Target``, ``Stop``), oldest first."""
        if label is None:
            return tuple(link.order_id for link in self.links)
        wanted = label.lower()
        return tuple(link.order_id for link in self.links if link.label.lower() == wanted)

    @property
    def entry_id(self) -> int | None:
        """The entry order, once its link has arrived."""
        entries = self.order_ids(ENTRY)
        return entries[0] if entries else None

    @property
    def bracket_ids(self) -> tuple[int, ...]:
        """The target and stop orders its entry's fills created, oldest first."""
        exits = {TARGET.lower(), STOP.lower()}
        return tuple(link.order_id for link in self.links if link.label.lower() in exits)


class StrategyTables:
    """Every order strategy and link of the account data, indexed (see the module doc)."""

    __slots__ = ("by_client_id", "by_strategy", "links", "states", "strategies",
                 "strategy_of_order")

    def __init__(self) -> None:
        self.strategies: dict[int, OrderStrategy] = {}
        self.links: dict[int, OrderStrategyLink] = {}
        self.by_strategy: dict[int, dict[int, OrderStrategyLink]] = {}
        self.strategy_of_order: dict[int, int] = {}
        self.by_client_id: dict[str, int] = {}
        """``customTag50`` and ``uuid`` → strategy id (the lowest id if two carry one)."""
        self.states: dict[int, StrategyState] = {}
        """The current record of each strategy whose entity arrived."""

    def take(self, other: StrategyTables) -> None:
        """Take over ``other``'s tables in place (a snapshot's): read-only mappings of this
        one's tables (the account view's) stay bound to them."""
        for name in self.__slots__:
            table: dict[Any, Any] = getattr(self, name)
            table.clear()
            table.update(getattr(other, name))

    def clear(self) -> None:
        for table in (self.strategies, self.links, self.by_strategy, self.strategy_of_order,
                      self.by_client_id, self.states):
            table.clear()

    # ------------------------------------------------------------------ writes

    def put_strategy(self, strategy: OrderStrategy) -> int:
        """Keep (or update) a strategy; returns its id."""
        self.strategies[strategy.id] = strategy
        for key in (strategy.custom_tag50, strategy.uuid):
            if key:
                known = self.by_client_id.get(key)
                if known is None or strategy.id <= known:
                    self.by_client_id[key] = strategy.id
        return strategy.id

    def put_link(self, link: OrderStrategyLink) -> int:
        """Keep a link; returns the id of its strategy."""
        previous = self.links.get(link.id)
        if previous is not None and previous.order_strategy_id != link.order_strategy_id:
            self.by_strategy.get(previous.order_strategy_id, {}).pop(link.id, None)
        self.links[link.id] = link
        self.by_strategy.setdefault(link.order_strategy_id, {})[link.id] = link
        self.strategy_of_order[link.order_id] = link.order_strategy_id
        return link.order_strategy_id

    def delete_strategy(self, ident: int) -> int | None:
        """Forget a strategy (its links stay until deleted); returns its id if known."""
        strategy = self.strategies.pop(ident, None)
        self.states.pop(ident, None)
        if strategy is None:
            return None
        for key in (strategy.custom_tag50, strategy.uuid):
            if key and self.by_client_id.get(key) == ident:
                del self.by_client_id[key]
        return ident

    def delete_link(self, ident: int) -> int | None:
        """Forget a link; returns the id of its strategy if known."""
        link = self.links.pop(ident, None)
        if link is None:
            return None
        self.by_strategy.get(link.order_strategy_id, {}).pop(ident, None)
        if self.strategy_of_order.get(link.order_id) == link.order_strategy_id:
            del self.strategy_of_order[link.order_id]
        return link.order_strategy_id

    def refresh(self, strategy_id: int) -> tuple[StrategyState | None, StrategyState | None]:
        """Rebuild one strategy's record after a write: ``(before, after)``."""
        before = self.states.get(strategy_id)
        strategy = self.strategies.get(strategy_id)
        if strategy is None:
            self.states.pop(strategy_id, None)
            return before, None
        links = self.by_strategy.get(strategy_id, {})
        after = StrategyState(strategy, tuple(links[i] for i in sorted(links)))
        self.states[strategy_id] = after
        return before, after

    def refresh_all(self) -> None:
        for strategy_id in list(self.strategies):
            self.refresh(strategy_id)

    # ------------------------------------------------------------------ reads

    def of_order(self, order_id: int) -> StrategyState | None:
        strategy_id = self.strategy_of_order.get(order_id)
        return None if strategy_id is None else self.states.get(strategy_id)

    def of_client_id(self, client_id: str) -> StrategyState | None:
        strategy_id = self.by_client_id.get(client_id)
        return None if strategy_id is None else self.states.get(strategy_id)
