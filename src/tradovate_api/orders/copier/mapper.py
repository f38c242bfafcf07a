"""A leader's account change → what every follower must do (an :class:`Intent`).

The mapper reads the changes the account store returns for one ``props`` event (or the
orders a reconnect's snapshot changed) and decides, once per exchange id (:mod:`.ledger`):

``orders`` mode (the default) — the leader's orders are mirrored:

* a leader order seen for the first time with its version → **PLACE** the same type, side and
  prices (an order first seen already ``Filled`` → a Market order: its price is gone);
* a later version with another quantity, price or stop price → **MODIFY**;
* the order ``Canceled`` or ``Expired`` → **CANCEL**;
* a new leader order strategy (a bracket: entry, target and stop) → **BRACKET**: the same
  strategy on each follower, its brackets sized like the entry; the leader's strategy
  interrupted → **INTERRUPT** the followers'. The strategy's entry is mirrored by the
  followers' strategies (its modifications and cancel go to their entries); its targets and
  stops, created by the exchange on each fill, are the followers' own.

``fills`` mode — each leader fill → **FILL**: a Market order for the follower's share of the
leader's cumulative fill of that order.

Not copied (skipped, with the reason kept): an order that is a leg of a bracket (it has a
parent: the bracket is copied whole), an order of an order strategy, the app's protective stop,
an order the exchange itself made (``admin``: its auto-liquidation acts on the leader's own
limits), an order type the order manager does not place (``UNSUPPORTED``: alerted), an order
rejected or cancelled before it was seen working, and, with ``source = "strategy"``, orders
the run's strategy did not place.

Every check is a dict lookup or an attribute read: this runs on the account reader for every
event, before the first follower order is written.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from enum import Enum

import msgspec

from ...stores import AccountChange, AccountView, NewFill, OrderState, StrategyState
from ..order_strategy import StrategyBracket, read_params
from ..tickets import PROTECTIVE_SUFFIX
from .ledger import CopyLedger, LeaderOrder, LeaderStrategy

COPIED_TYPES = frozenset({"Market", "Limit", "Stop", "StopLimit"})
"""Order types the order manager places (others are alerted, not copied)."""
_GONE = frozenset({"Canceled", "Expired"})
_DEAD = frozenset({"Rejected", "Canceled", "Expired"})
_INTERRUPTED = "StoppedByUser"


class IntentKind(Enum):
    PLACE = "place"
    MODIFY = "modify"
    CANCEL = "cancel"
    BRACKET = "bracket"
    INTERRUPT = "interrupt"
    FILL = "fill"
    UNSUPPORTED = "unsupported"


class Intent(msgspec.Struct, frozen=True, gc=False):
    """One thing every follower must do for a leader change. ``order`` is the ledger's record
    of the leader order it concerns (PLACE, MODIFY, CANCEL, FILL), ``strategy`` of the leader
    strategy (BRACKET, INTERRUPT); ``qty`` is the leader's quantity (FILL: its cumulative
    fill), sized per follower by the service."""

    kind: IntentKind
    leader_id: int
    contract_id: int
    action: str = ""
    qty: int = 0
    order_type: str = ""
    price: float | None = None
    stop_price: float | None = None
    order: LeaderOrder | None = None
    strategy: LeaderStrategy | None = None
    brackets: tuple[StrategyBracket, ...] = ()
    reason: str = ""


_NOTHING: tuple[Intent, ...] = ()


class LeaderMapper:
    """Maps the leader's account changes to intents (see the module doc). ``leader_id`` is
    the leader account; ``mode`` ``"orders"`` or ``"fills"``; ``own_prefix``, with
    ``source = "strategy"``, the client order id prefix of the run's order manager (only its
    orders are copied); ``clock`` gives ``perf_counter_ns`` (the event's arrival)."""

    __slots__ = ("_account", "_fills", "_leader", "_ledger", "_own_prefix", "_unlinked")

    def __init__(self, leader_id: int, account: AccountView, ledger: CopyLedger, *,
                 mode: str = "orders", own_prefix: str | None = None) -> None:
        if mode not in ("orders", "fills"):
            raise ValueError(f"mode must be 'orders' or 'fills', got {mode!r}")
        self._leader = leader_id
        self._account = account
        self._ledger = ledger
        self._fills = mode == "fills"
        self._own_prefix = None if own_prefix is None else own_prefix + "-"
        self._unlinked: dict[int, LeaderStrategy] = {}
        """Leader strategies whose entry order is not known yet."""

    @property
    def leader_id(self) -> int:
        return self._leader

    def on_changes(self, changes: Iterable[AccountChange], seen_ns: int) -> Sequence[Intent]:
        """Intents for one applied ``props`` event (empty for most events: no allocation);
        ``seen_ns``: when the event arrived (``perf_counter_ns``)."""
        out: list[Intent] | None = None
        leader = self._leader
        fills = self._fills
        for change in changes:
            kind = type(change)
            if kind is OrderState:
                if fills or change.order.account_id != leader:  # type: ignore[union-attr]
                    continue
                intent = self._order(change, seen_ns)  # type: ignore[arg-type]
            elif kind is StrategyState:
                if fills or change.strategy.account_id != leader:  # type: ignore[union-attr]
                    continue
                intent = self._strategy(change)  # type: ignore[arg-type]
            elif kind is NewFill and fills:
                if change.order.account_id != leader:  # type: ignore[union-attr]
                    continue
                intent = self._fill(change, seen_ns)  # type: ignore[arg-type]
            else:
                continue
            if intent is not None:
                if out is None:
                    out = [intent]
                else:
                    out.append(intent)
        return _NOTHING if out is None else out

    # ------------------------------------------------------------------ orders

    def _order(self, state: OrderState, seen_ns: int) -> Intent | None:
        ledger = self._ledger
        order_id = state.order.id
        record = ledger.orders.get(order_id)
        if record is not None:
            return self._known(state, record)
        if order_id in ledger.skipped:
            return None
        version = state.version
        if version is None:
            return None  # its quantity and prices come with the version: wait for it
        reason = self._skip_reason(state)
        if reason is not None:
            ledger.skip(order_id, reason)
            return None
        strategy = self._strategy_of(state)
        if strategy is not None:  # mirrored by the followers' strategies
            record = ledger.add_order(order_id, contract_id=strategy.contract_id,
                                      qty=version.order_qty, price=version.price,
                                      stop_price=version.stop_price, version_id=version.id,
                                      seen_ns=seen_ns)
            record.tickets = strategy.tickets  # their tickets' order ids are the entries
            strategy.entry_id = order_id
            return None
        order_type = version.order_type
        if order_type not in COPIED_TYPES:
            ledger.skip(order_id, f"order type {order_type} is not copied")
            return Intent(IntentKind.UNSUPPORTED, order_id, state.order.contract_id or 0,
                          action=state.order.action, qty=version.order_qty,
                          order_type=order_type,
                          reason=f"order type {order_type} is not copied")
        filled = state.status == "Filled"
        record = ledger.add_order(order_id, contract_id=state.order.contract_id or 0,
                                  qty=version.order_qty, price=version.price,
                                  stop_price=version.stop_price, version_id=version.id,
                                  seen_ns=seen_ns)
        return Intent(IntentKind.PLACE, order_id, record.contract_id,
                      action=state.order.action, qty=version.order_qty,
                      order_type="Market" if filled else order_type,
                      price=None if filled else version.price,
                      stop_price=None if filled else version.stop_price, order=record)

    def _skip_reason(self, state: OrderState) -> str | None:
        order = state.order
        if state.status in _DEAD and state.filled_qty == 0:
            return f"{state.status} before it was seen working"
        if order.parent_id is not None:
            return f"a leg of order {order.parent_id}'s bracket"
        if order.admin:
            return "placed by the exchange (admin)"
        cl_ord_id = state.cl_ord_id or ""
        if cl_ord_id.endswith(PROTECTIVE_SUFFIX):
            return "the app's protective stop"
        if self._own_prefix is not None and not cl_ord_id.startswith(self._own_prefix):
            return "not placed by this run's strategy (copier.source = \"strategy\")"
        if not self._fills:
            owner = self._account.strategy_of_order(order.id)
            if owner is not None and (owner.id not in self._ledger.strategies
                                      or owner.entry_id not in (None, order.id)):
                return f"an order of order strategy {owner.id} (copied with it, or not)"
        return None

    def _strategy_of(self, state: OrderState) -> LeaderStrategy | None:
        """The leader strategy whose entry this order is: its link says so, or (the link
        comes after the order) an unlinked strategy in its contract and side."""
        owner = self._account.strategy_of_order(state.order.id)
        if owner is not None:
            found = self._ledger.strategies.get(owner.id)
            if found is not None:
                self._unlinked.pop(owner.id, None)
            return found
        for strategy_id, strategy in self._unlinked.items():
            if (strategy.contract_id == state.order.contract_id
                    and strategy.action == state.order.action):
                del self._unlinked[strategy_id]
                return strategy
        return None

    def _known(self, state: OrderState, record: LeaderOrder) -> Intent | None:
        """A mirrored leader order changed: a cancel or a new version to mirror."""
        order_id = state.order.id
        if state.status in _GONE:
            if record.cancelled:
                return None
            record.cancelled = True
            return Intent(IntentKind.CANCEL, order_id, record.contract_id, order=record)
        version = state.version
        if state.is_done or version is None or version.id == record.version_id:
            return None
        record.version_id = version.id
        if (version.order_qty == record.qty and version.price == record.price
                and version.stop_price == record.stop_price):
            return None
        record.qty = version.order_qty
        record.price = version.price
        record.stop_price = version.stop_price
        return Intent(IntentKind.MODIFY, order_id, record.contract_id,
                      action=state.order.action, qty=version.order_qty,
                      order_type=version.order_type, price=version.price,
                      stop_price=version.stop_price, order=record)

    # ------------------------------------------------------------------ order strategies

    def _strategy(self, state: StrategyState) -> Intent | None:
        ledger = self._ledger
        entity = state.strategy
        record = ledger.strategies.get(entity.id)
        if record is not None:
            if entity.status == _INTERRUPTED and not record.interrupted:
                record.interrupted = True
                return Intent(IntentKind.INTERRUPT, entity.id, record.contract_id,
                              strategy=record)
            return None
        entry_id = state.entry_id
        record = ledger.add_strategy(entity.id, contract_id=entity.contract_id,
                                     action=entity.action, entry_id=entry_id)
        if state.is_done:
            return None
        if entry_id is not None and entry_id in ledger.orders:
            return Intent(IntentKind.UNSUPPORTED, entity.id, entity.contract_id,
                          action=entity.action, reason=f"order strategy {entity.id}'s entry "
                          f"{entry_id} arrived first and was copied as a plain order")
        request = read_params(entity.params)
        if request is None:
            return Intent(IntentKind.UNSUPPORTED, entity.id, entity.contract_id,
                          action=entity.action, reason=f"order strategy {entity.id}'s "
                          "params cannot be read")
        if request.order_type not in COPIED_TYPES:
            return Intent(IntentKind.UNSUPPORTED, entity.id, entity.contract_id,
                          action=entity.action, reason=f"order strategy {entity.id}'s entry "
                          f"type {request.order_type} is not copied")
        if entry_id is None:
            self._unlinked[entity.id] = record
        return Intent(IntentKind.BRACKET, entity.id, entity.contract_id, action=entity.action,
                      qty=request.qty, order_type=request.order_type, price=request.price,
                      stop_price=request.stop_price, strategy=record,
                      brackets=request.brackets)

    # ------------------------------------------------------------------ fills mode

    def _fill(self, change: NewFill, seen_ns: int) -> Intent | None:
        ledger = self._ledger
        fill = change.fill
        if not fill.active or not ledger.take_fill(fill.id):
            return None
        order = change.order
        if order.id in ledger.skipped:
            return None
        record = ledger.orders.get(order.id)
        if record is None:
            state = self._account.order(order.id)
            reason = None if state is None else self._skip_reason(state)
            if reason is not None and not reason.startswith("a leg"):
                ledger.skip(order.id, reason)
                return None
            record = ledger.add_order(order.id, contract_id=fill.contract_id, qty=fill.qty,
                                      price=None, stop_price=None, version_id=None,
                                      seen_ns=seen_ns)
        record.filled += fill.qty
        record.seen_ns = seen_ns
        return Intent(IntentKind.FILL, order.id, fill.contract_id, action=fill.action,
                      qty=record.filled, order_type="Market", order=record)

