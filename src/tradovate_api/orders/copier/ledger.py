"""What the copier has copied, keyed by the exchange's ids: the idempotency of the copier.

Tradovate may deliver a leader's event twice — a ``props`` event duplicated, an older version
replayed after newer ones, the whole account again in the ``user/syncrequest`` snapshot after a
reconnect — and the copier must act once. So every decision is recorded under the id the
exchange gave the thing decided on, never under anything of ours: a leader **order** (placed
once per follower; each of its versions, by version id, modified once; cancelled once), a
leader **order strategy** (started once per follower), a leader **fill** (``fills`` mode:
copied once) and a follower's fill taken for **drift** (handled once). A leader order not to be
copied (a bracket's leg, an order the run found already working...) is recorded as skipped
with the reason, so that its later versions are not reconsidered.

The ledger lives as long as the run: a reconnect keeps it. After a restart it starts empty;
the copier then skips everything its first snapshot shows on the leader (see
:meth:`~.service.CopierService.on_sync`) and relinks the follower orders an earlier run
placed, which carry their leader order's id in their ``text`` (:func:`copy_text`).

Single-threaded like the stores: only the account reader (through the copier) writes it.
"""

from __future__ import annotations

from ..tickets import OrderTicket

COPY_TEXT = "copy "
"""Prefix of the ``text`` of every order the copier places, followed by the leader's order
id (``copy 4711``; ``text`` is kept on the order's version by the exchange)."""


def copy_text(leader_order_id: int) -> str:
    return f"{COPY_TEXT}{leader_order_id}"


def leader_of_text(text: str | None) -> int | None:
    """The leader order id a copied order's ``text`` names, else ``None``."""
    if text is None or not text.startswith(COPY_TEXT):
        return None
    digits = text[len(COPY_TEXT):]
    return int(digits) if digits.isdigit() else None


class LeaderOrder:
    """A leader order the copier mirrors: the follower tickets placing it (by follower
    index; ``None`` where nothing was sent), follower order ids known without a ticket
    (relinked after a restart), the last version mirrored and whether its cancel went out."""

    __slots__ = ("cancelled", "contract_id", "filled", "order_id", "order_ids", "price", "qty",
                 "seen_ns", "sent", "stop_price", "strategy_id", "tickets", "version_id")

    def __init__(self, order_id: int, followers: int, *, contract_id: int, qty: int,
                 price: float | None, stop_price: float | None, version_id: int | None,
                 seen_ns: int, strategy_id: int | None = None) -> None:
        self.order_id = order_id
        self.tickets: list[OrderTicket | None] = [None] * followers
        self.order_ids: list[int | None] = [None] * followers
        self.sent: list[int] = [0] * followers
        """``fills`` mode: contracts sent per follower for this order so far."""
        self.contract_id = contract_id
        self.qty = qty
        self.price = price
        self.stop_price = stop_price
        self.version_id = version_id
        self.seen_ns = seen_ns
        """``perf_counter_ns`` when the leader event that made the copier act arrived."""
        self.strategy_id = strategy_id
        """The leader order strategy whose entry this is (copied as that strategy)."""
        self.cancelled = False
        self.filled = 0
        """``fills`` mode: the leader's quantity filled so far (fills seen once each)."""

    def follower_order(self, index: int) -> int | None:
        """The follower's order mirroring this one, once known."""
        order_id = self.order_ids[index]
        if order_id is not None:
            return order_id
        ticket = self.tickets[index]
        return None if ticket is None else ticket.order_id


class LeaderStrategy:
    """A leader order strategy: the follower STRATEGY tickets (``None`` where none was
    sent), the entry order once linked, and whether the followers' were interrupted."""

    __slots__ = ("action", "contract_id", "entry_id", "interrupted", "tickets")

    def __init__(self, followers: int, *, contract_id: int, action: str,
                 entry_id: int | None) -> None:
        self.tickets: list[OrderTicket | None] = [None] * followers
        self.contract_id = contract_id
        self.action = action
        self.entry_id = entry_id
        self.interrupted = False


class CopyLedger:
    """The copier's decisions by exchange id (see the module doc). ``followers``: how many
    followers each record holds a slot for."""

    __slots__ = ("_drift", "_fills", "followers", "orders", "skipped", "strategies")

    def __init__(self, followers: int) -> None:
        self.followers = followers
        self.orders: dict[int, LeaderOrder] = {}
        """Leader orders mirrored, by leader order id."""
        self.skipped: dict[int, str] = {}
        """Leader orders not to copy, by id, with the reason."""
        self.strategies: dict[int, LeaderStrategy] = {}
        """Leader order strategies seen, by id (copied or not: ``tickets`` say)."""
        self._fills: set[int] = set()
        self._drift: set[int] = set()

    def add_order(self, order_id: int, *, contract_id: int, qty: int, price: float | None,
                  stop_price: float | None, version_id: int | None, seen_ns: int,
                  strategy_id: int | None = None) -> LeaderOrder:
        record = LeaderOrder(order_id, self.followers, contract_id=contract_id, qty=qty,
                             price=price, stop_price=stop_price, version_id=version_id,
                             seen_ns=seen_ns, strategy_id=strategy_id)
        self.orders[order_id] = record
        return record

    def skip(self, order_id: int, reason: str) -> None:
        self.skipped[order_id] = reason

    def add_strategy(self, strategy_id: int, *, contract_id: int, action: str,
                     entry_id: int | None) -> LeaderStrategy:
        record = LeaderStrategy(self.followers, contract_id=contract_id, action=action,
                                entry_id=entry_id)
        self.strategies[strategy_id] = record
        return record

    def take_fill(self, fill_id: int) -> bool:
        """True the first time a leader fill id is taken (``fills`` mode)."""
        if fill_id in self._fills:
            return False
        self._fills.add(fill_id)
        return True

    def take_drift(self, fill_id: int) -> bool:
        """True the first time a follower fill id is taken for drift."""
        if fill_id in self._drift:
            return False
        self._drift.add(fill_id)
        return True
