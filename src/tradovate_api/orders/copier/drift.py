"""Trades on a follower that the copier did not make: drift.

A follower account is the copier's to trade. A fill there is the copier's when its order's
client order id starts with that follower's order manager's prefix: every order the manager
sends carries one (``clOrdId``, or ``customTag50`` for an order strategy and a liquidation,
which the exchange copies onto the strategy's target and stop orders). Anything else — a
trader clicking in Tradovate's platform on the follower, another program on the login — is
drift: the follower no longer matches the leader. Orders the exchange itself makes
(``admin``: its auto-liquidation of the account) are not drift; the account's own risk
status says why they happened.

Drift is read from fills, not from orders: an order that never fills changes nothing, and by
the time a fill is applied its order's command (which carries the client id) is known.
"""

from __future__ import annotations

from collections.abc import Mapping

import msgspec

from ...stores import AccountView, NewFill
from .ledger import CopyLedger


class Drift(msgspec.Struct, frozen=True, gc=False):
    """A fill on follower ``account_id`` the copier did not cause."""

    account_id: int
    contract_id: int
    action: str
    qty: int
    price: float
    fill_id: int
    order_id: int
    cl_ord_id: str | None


class DriftDetector:
    """Finds drift among the fills of one account event. ``prefixes``: follower account id
    → its order manager's client order id prefix (``<prefix>-`` starts every id it sends)."""

    __slots__ = ("_account", "_ledger", "_prefixes")

    def __init__(self, account: AccountView, ledger: CopyLedger,
                 prefixes: Mapping[int, str]) -> None:
        self._account = account
        self._ledger = ledger
        self._prefixes = {account_id: prefix + "-" for account_id, prefix in prefixes.items()}

    def check(self, fill: NewFill) -> Drift | None:
        """The drift ``fill`` is, if it is on a follower and not the copier's (each fill
        once: a fill seen again after a reconnect is not drift twice)."""
        order = fill.order
        prefix = self._prefixes.get(order.account_id)
        if prefix is None or order.admin:
            return None
        state = self._account.order(order.id)
        cl_ord_id = None if state is None else state.cl_ord_id
        if cl_ord_id is not None and cl_ord_id.startswith(prefix):
            return None
        if not self._ledger.take_drift(fill.fill.id):
            return None
        f = fill.fill
        return Drift(order.account_id, f.contract_id, f.action, f.qty, f.price, f.id,
                     order.id, cl_ord_id)
